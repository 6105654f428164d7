#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make test-deps` (pulled by `make test` and `make bench`): what only the tests and
# the benchmarks need, on top of `make deps` - tools, and CrowdSec's own (Go) packages
# that run beside ours as peers. `make run` never installs these.
# Idempotent: prints nothing and changes nothing when all is there.
set -eu
# libclang-rt-14-dev: libFuzzer and the clang sanitizer runtimes (tests/fuzz, make fuzz);
# python3-yaml: tests/lib/hub_install.py; debhelper, dpkg-dev, fakeroot: make deb
# (tests/integration/test_install.sh); postgresql: the server the PostgreSQL tests start
# privately (tests/lib/pg.sh: initdb + pg_ctl in a temporary directory); strace:
# test_bouncer_readonly.sh checks which bpf(2) calls the read-only commands make
TEST_PKGS="nftables iproute2 iputils-ping ethtool tcpdump jq curl sqlite3 valgrind time openssl wrk
libclang-rt-14-dev python3-yaml debhelper dpkg-dev fakeroot postgresql strace"
# The tutorial's victim services and scanner (tests/integration/test_seed_tutorial.sh);
# the test runs its own nginx and sshd inside a network namespace.
TEST_PKGS="$TEST_PKGS nginx-light openssh-server openssh-client wapiti"
# The dashboard test drives headless Chromium over DevTools (tests/lib/cdp.py)
TEST_PKGS="$TEST_PKGS chromium python3-websocket"
# xdp-filter and xdp-loader: another libxdp program beside ours (test_xdp_libxdp.sh);
# systemd-nspawn: the package under a real systemd (test_systemd_units.sh)
TEST_PKGS="$TEST_PKGS xdp-tools systemd-container"
# The peers the tests and benchmarks run beside ours.
PEER_PKGS="crowdsec crowdsec-firewall-bouncer crowdsec-custom-bouncer"

# crowdsec's post-install registers with CrowdSec's online service unless this file is
# non-empty; there is no network here, so give it one first (bench/peers/RESULTS.md).
if ! dpkg-query -W -f='${Status}\n' crowdsec 2>/dev/null | grep -q '^install ok installed'; then
	mkdir -p /etc/crowdsec
	[ -s /etc/crowdsec/online_api_credentials.yaml ] ||
		echo '# CAPI registration skipped: offline machine' >/etc/crowdsec/online_api_credentials.yaml
fi
# shellcheck disable=SC2086 # package lists
exec "$(dirname "$0")/apt-install.sh" "make test-deps" $TEST_PKGS $PEER_PKGS
