#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The XDP data plane beside nftables (and the shared reference LPM dropper):
#  1. micro: BPF_PROG_TEST_RUN ns/packet and 1M insert/remove (build/bench/xdp_bench);
#  2. drop rate on a veth pair: $SHARED_DIR/bench/drop/run.sh with our bouncer plugged
#     into its BOUNCER_* hooks, nftables (crowdsec-firewall-bouncer layout) and the
#     reference LPM dropper measured in the same run, same traffic, same ban set;
#     xdp-dropall (drops every frame unread) is the pipe's floor, xdp-parsedrop
#     (reads the source address, then drops: no lookup) that of any program that
#     looks at the packet;
#  3. the same at the largest size with floods from many sources (FLOODS=0 skips):
#     every address of 198.18.0.0/15 (131,072 banned sources, IPv4), 1M distinct
#     banned IPv6 sources, and a mixed IPv4 flood (10 % of the 131,072 sources banned).
#     The generator walks its source block in a multiplicative permutation (so
#     consecutive packets hit unrelated entries); we only widen the block
#     (--src-bits, 16 in the harness) and write the matching ban files.
# Knobs: SIZES (default "1000 1000000"), DURATION (5), REPS (1), NSRC (1000),
# DROP=0 to skip the veth part, FLOODS=0 to skip part 3.
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
# The harness floods from a 2^16 block; many-source floods need a wider one.
sed -i 's/--src-bits 16/--src-bits ${SRC_BITS:-16}/' "$work/run.sh"
grep -q 'SRC_BITS' "$work/run.sh" || FLOODS=0

# drop LABEL [env...]: one harness run, its table printed under LABEL
drop() {
	local label=$1 out=$work/out-$2
	shift 2
	echo "#### $label"
	env OUT="$out" DURATION="${DURATION:-5}" REPS="${REPS:-1}" WARMUP=1 BENCH_LOCK= "$@" \
		"$work/run.sh" drop > "$work/log-${out##*/}" 2>&1
	OUT=$out "$work/run.sh" table 2>/dev/null | sed -n '/method/,$p'
	echo
}

# bans N NSRC BITS PROTO SHARE FILE: the generator's first NSRC sources of its 2^BITS
# block, one in SHARE of them banned, then filler bans (random /32s or /128s that no
# packet comes from) up to N; never the victim's own /30.
bans() {
	local v6=(); [ "$4" = 6 ] && v6=(--v6)
	"$work/refctl" gen $(( $1 + $2 )) "$2" --src-bits "$3" "${v6[@]}" |
		awk -v k="$2" -v s="$5" 'NR > k || (NR - 1) % s == 0' |
		grep -v '^198\.19\.0\.[0-3]/' | head -n "$1" > "$6"
}

echo "### drop rate on veth (victim ns/pkt = CPU per flood packet; lower is better)"
drop "1000 sources, all banned (IPv4)" base SIZES="${SIZES:-1000 1000000}" \
	NSRC="${NSRC:-1000}" METHODS="${METHODS:-none xdp-dropall xdp-parsedrop nft-input ref-xdp bouncer}"

if [ "${FLOODS:-1}" = 1 ]; then
	n=${SIZES:-1000 1000000}; n=${n##* }
	meth=${FLOOD_METHODS:-xdp-dropall xdp-parsedrop nft-input ref-xdp bouncer}
	mkdir -p "$work/out-v4all" "$work/out-v6all" "$work/out-v4mix"
	bans "$n" 131072 17 4 1 "$work/out-v4all/bans-$n-v4-b1.txt"
	bans "$n" 1000000 20 6 1 "$work/out-v6all/bans-$n-v6-b1.txt"
	bans "$n" 131072 17 4 10 "$work/out-v4mix/bans-$n-v4-b1.txt"
	drop "131,072 distinct sources (all of 198.18.0.0/15), all banned, N=$n (IPv4)" v4all \
		SIZES="$n" NSRC=131072 SRC_BITS=17 METHODS="$meth"
	drop "1,000,000 distinct sources, all banned, N=$n (IPv6)" v6all \
		SIZES="$n" NSRC=1000000 SRC_BITS=20 PROTO=6 METHODS="$meth"
	drop "mixed: 131,072 sources, 10 % banned (90 % of packets pass), N=$n (IPv4)" v4mix \
		SIZES="$n" NSRC=131072 SRC_BITS=17 METHODS="none $meth"
fi
"$B" --pin-dir $pin xdp uninstall >/dev/null 2>&1
exit 0
