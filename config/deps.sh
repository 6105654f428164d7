#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make deps`: install, from Debian's packages, what building and running need (the
# tests' and benchmarks' extras, peers included, come from config/test-deps.sh).
# Idempotent: prints nothing and changes nothing when all is there.
set -eu
BUILD_PKGS="build-essential clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libyaml-dev
libpcre2-dev libsqlite3-dev libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev
libnftables-dev libxml2-dev libssl-dev libcrypt-dev libmaxminddb-dev libgnutls28-dev pkg-config"
# What make run uses at run time: nft for the fallback data plane, ip, curl.
RUN_PKGS="nftables iproute2 curl"

missing=
for p in $BUILD_PKGS $RUN_PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "make deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing || {
	dpkg --configure -a
	apt-get install -y -qq --no-install-recommends $missing
}
