#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make deps`: install, from Debian's packages, what building and running need (the
# tests' and benchmarks' extras, peers included, come from config/test-deps.sh).
# Idempotent: prints nothing and changes nothing when all is there.
set -eu
BUILD_PKGS="build-essential clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libyaml-dev
libpcre2-dev libvectorscan-dev libsqlite3-dev libpq-dev libmicrohttpd-dev libjansson-dev
libcurl4-openssl-dev
libnftables-dev libnftnl-dev libmnl-dev libxml2-dev libssl-dev libcrypt-dev libmaxminddb-dev libgnutls28-dev pkg-config
libxdp-dev"
# What make run uses at run time: nft for the fallback data plane, ip, curl (libnftnl11
# and libmnl0 come with nftables and the -dev packages).
RUN_PKGS="nftables iproute2 curl"
# shellcheck disable=SC2086 # package lists
exec "$(dirname "$0")/apt-install.sh" "make deps" $BUILD_PKGS $RUN_PKGS
