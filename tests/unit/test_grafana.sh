#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Grafana dashboard (config/grafana/crowdsec-xdp.json) is valid JSON that
# Grafana imports (panels with a position and Prometheus targets), every series
# it queries is one we export, and every series we export has a panel. What we
# export is read from the three places that name the families: the detector's
# registry, the LAPI's metrics and the bouncer's page.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dash=$root/config/grafana/crowdsec-xdp.json
exported=$(grep -ohE '"cs_[a-z0-9_]+' "$root/userspace/metrics/registry.c" "$root/userspace/lapi/metrics.c" \
	"$root/userspace/bouncer/fetcher.c" | tr -d '"' | sort -u)
check "exported families found in the sources" test "$(wc -l <<<"$exported")" -ge 30
check "valid JSON, a Grafana dashboard" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["title"] and d["uid"] and d["schemaVersion"] >= 30, "header"
assert d["panels"], "panels"
ids = [p["id"] for p in d["panels"]]
assert len(ids) == len(set(ids)), "panel ids unique"
for p in d["panels"]:
    g = p["gridPos"]
    assert all(k in g for k in ("x", "y", "w", "h")) and g["x"] + g["w"] <= 24, p["title"]
    assert p["targets"] and all(t["expr"] and t["refId"] for t in p["targets"]), p["title"]
    assert p["datasource"]["type"] == "prometheus", p["title"]
' "$dash"
queried=$(python3 -c '
import json, re, sys
d = json.load(open(sys.argv[1]))
names = set()
for p in d["panels"]:
    for t in p["targets"]:
        names |= set(re.findall(r"\bcs_[a-z0-9_]+", t["expr"]))
print("\n".join(sorted(names)))
' "$dash")
unknown=
for q in $queried; do
	base=$q
	grep -qx "$q" <<<"$exported" || base=$(sed -E 's/_(bucket|sum|count)$//' <<<"$q")
	grep -qx "$base" <<<"$exported" || unknown+=" $q"
done
check_eq "every queried series is one we export" "${unknown# }" ""
missing=
for e in $exported; do
	grep -qE "^${e}(_bucket|_sum|_count)?$" <<<"$queried" || missing+=" $e"
done
check_eq "every exported series has a panel" "${missing# }" ""
summary
