#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Install hub collections into a test config dir, as `cscli collections install`
lays them out: <dest>/parsers/<stage>/<name>.yaml, scenarios/, postoverflows/
(symlinks into the hub), the data files they name copied into <data>, patterns/.

usage: hub_install.py HUB DEST_CONFIG_DIR DATA_DIR COLLECTION...
"""
import glob
import os
import shutil
import sys

import yaml


def main():
    hub, dest, data, colls = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    seen, items = set(), {"parsers": set(), "scenarios": set(), "postoverflows": set()}

    def collection(name):
        if name in seen:
            return
        seen.add(name)
        with open(os.path.join(hub, "collections", name + ".yaml")) as f:
            c = yaml.safe_load(f)
        for kind in items:
            items[kind].update(c.get(kind) or [])
        for sub in c.get("collections") or []:
            collection(sub)

    for c in colls:
        collection(c)
    os.makedirs(data, exist_ok=True)
    for kind, names in items.items():
        for name in sorted(names):
            author, short = name.split("/", 1)
            if kind == "scenarios":
                found = glob.glob(os.path.join(hub, kind, author, short + ".yaml"))
            else:
                found = glob.glob(os.path.join(hub, kind, "*", author, short + ".yaml"))
            if not found:
                sys.exit("hub_install: %s %s not in the hub" % (kind, name))
            src = found[0]
            sub = kind if kind == "scenarios" else os.path.join(kind, src.split(os.sep)[-3])
            os.makedirs(os.path.join(dest, sub), exist_ok=True)
            link = os.path.join(dest, sub, short + ".yaml")
            if not os.path.lexists(link):
                os.symlink(src, link)
            with open(src) as f:
                for doc in yaml.safe_load_all(f):
                    for d in (doc or {}).get("data") or []:
                        have = os.path.join(hub, "data", d.get("dest_file", ""))
                        if d.get("dest_file") and os.path.isfile(have):
                            shutil.copy(have, data)
    if not os.path.lexists(os.path.join(dest, "patterns")):
        os.symlink(os.path.join(hub, "patterns"), os.path.join(dest, "patterns"))


if __name__ == "__main__":
    main()
