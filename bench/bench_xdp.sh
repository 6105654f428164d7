#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The XDP data plane beside nftables (and the shared reference LPM dropper):
#  1. micro: BPF_PROG_TEST_RUN ns/packet and 1M insert/remove (build/bench/xdp_bench);
#  2. drop rate on a veth pair: $SHARED_DIR/bench/drop/run.sh with our bouncer plugged
#     into its BOUNCER_* hooks, nftables (crowdsec-firewall-bouncer layout) and the
#     reference LPM dropper measured in the same run, same traffic, same ban set.
# Knobs: SIZES (default "1000 1000000"), DURATION (5), REPS (1), NSRC (1000),
# DROP=0 to skip the veth part.
set -u
[ "$(id -u)" = 0 ] || { echo "bench_xdp: needs root"; exit 0; }
B=$BUILD/crowdsec-xdp-bouncer

echo "### micro (BPF_PROG_TEST_RUN; N prefixes; 'cold' = one run per distinct source)"
"$BUILD/bench/xdp_bench" "${MICRO_SIZES:-3}"
echo

[ "${DROP:-1}" = 1 ] || exit 0
[ -d "$SHARED_DIR/bench/drop" ] || { echo "no $SHARED_DIR/bench/drop: drop-rate part skipped"; exit 0; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$SHARED_DIR/bench/drop/." "$work/" && chmod -R u+w "$work"
make -s -C "$work" >/dev/null 2>&1 || { echo "cannot build the drop harness"; exit 0; }
pin=/sys/fs/bpf/crowdsec-bench
export BOUNCER_BAN="$B --pin-dir $pin xdp attach \$IFACE >/dev/null && $B --pin-dir $pin ban --file \$BAN_FILE"
export BOUNCER_STOP="$B --pin-dir $pin xdp uninstall"
export BOUNCER_READY_S=1
echo "### drop rate on veth (victim ns/pkt = CPU per flood packet; lower is better)"
OUT=$work/out SIZES=${SIZES:-"1000 1000000"} DURATION=${DURATION:-5} REPS=${REPS:-1} \
	WARMUP=1 NSRC=${NSRC:-1000} METHODS=${METHODS:-"none nft-input ref-xdp bouncer"} \
	BENCH_LOCK= "$work/run.sh" drop > "$work/log" 2>&1
OUT=$work/out "$work/run.sh" table 2>/dev/null | sed -n '/method/,$p'
"$B" --pin-dir $pin xdp uninstall >/dev/null 2>&1
exit 0
