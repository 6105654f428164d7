#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# apt-install.sh WHO PKG...: install, from Debian's packages, those of PKG that are
# missing (config/deps.sh, config/test-deps.sh). Prints nothing and changes nothing
# when all are there.
set -eu
who=$1
shift
missing=
for p in "$@"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "$who: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # a list of package names
apt-get install -y -qq --no-install-recommends $missing || {
	dpkg --configure -a
	apt-get install -y -qq --no-install-recommends $missing
}
