#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make deb`: the built programs as a Debian package, $BUILD/crowdsec-xdp_VERSION_ARCH.deb
# ($DEB_OUT/... when set).
# The project's layout keeps packaging under config/debian; dpkg-buildpackage wants a
# debian/ directory at the top of a source tree, so one is assembled in $BUILD/deb-src.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
B=${BUILD:-$here/build}
version=${DEB_VERSION:-0.1.0}
out=${DEB_OUT:-$B}
s=$out/deb-src/crowdsec-xdp-$version
rm -rf "$out/deb-src"
mkdir -p "$s/debian"
cp "$here"/config/debian/{control,rules,postinst,prerm,postrm} "$s/debian/"
cat >"$s/debian/changelog" <<CL
crowdsec-xdp ($version) unstable; urgency=medium

  * Built from $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo "a source tree").

 -- crowdsec-xdp developers <root@localhost>  $(date -R)
CL
printf 'Upstream-Name: crowdsec-xdp\nLicense: MIT\n' >"$s/debian/copyright"
(cd "$s" && TOP="$here" BUILD="$B" dpkg-buildpackage -b -us -uc --no-sign -d >"$out/deb-src/build.log" 2>&1) || {
	tail -30 "$out/deb-src/build.log" >&2
	exit 1
}
mv "$out"/deb-src/crowdsec-xdp_*.deb "$out/"
rm -rf "$s"
ls "$out"/crowdsec-xdp_"$version"_*.deb
