#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# crowdsec-xdp-bouncer beside another XDP program on one interface (xdp-filter, from
# Debian's xdp-tools), through libxdp's dispatcher: ours joins it at its priority,
# drops its bans and passes the rest on, xdp-filter's own rules still apply, a
# re-attach under a 100 packet/s stream from a banned source lets nothing through
# (attach the new program, then remove the old one), and a detach leaves xdp-filter
# in place. Where the kernel refuses libxdp's dispatcher (it loads the other programs
# as extension programs; some kernels refuse those), libxdp loads xdp-filter alone:
# the test then checks what our bouncer does there (refuses to share, or with
# --dispatcher always attaches alone as usual) and skips the rest, saying why.
# Also the configuration keys xdp_dispatcher and xdp_priority.
set -u
. "$(dirname "$0")/../lib/harness.sh"
NCHECKS=14
need_root "libxdp coexistence" $NCHECKS
for t in xdp-filter xdp-loader ping; do
	command -v "$t" >/dev/null || skip_all "$t missing (make test-deps: xdp-tools)" $NCHECKS
done
. "$(dirname "$0")/../lib/netns_pair.sh"

B=$BUILD/crowdsec-xdp-bouncer
ID=$(($$ % 100000))
NSG=clxg$ID NSV=clxv$ID IG=clxg$ID IV=clxv$ID
PIN=/sys/fs/bpf/cs-libxdp-$ID
T=$(mktemp -d /tmp/test_xdp_libxdp.XXXXXX)
cleanup() {
	# inside the namespace: the dispatcher's pins name the interface by index
	inv "$B" --pin-dir "$PIN" xdp uninstall >/dev/null 2>&1
	inv xdp-filter unload "$IV" >/dev/null 2>&1
	ip netns del "$NSG" 2>/dev/null
	ip netns del "$NSV" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# ---- configuration ---------------------------------------------------------------
conf() {
	printf 'api_url: http://127.0.0.1:1/\napi_key: k\ninterfaces: [lo]\n%s\n' "$1" >"$T/b.yaml"
	"$B" -c "$T/b.yaml" -t 2>&1
}
check "config: xdp_dispatcher and xdp_priority accepted" \
	bash -c "$(declare -f conf); B=$B T=$T; conf 'xdp_dispatcher: always
xdp_priority: 5' | grep -q 'configuration OK'"
out=$(conf 'xdp_priority: 0')
check "config: xdp_priority out of range names the line" grep -q 'b.yaml:4' <<<"$out"
out=$(conf 'xdp_dispatcher: sometimes')
check "config: a bad xdp_dispatcher names the key" grep -q 'xdp_dispatcher: expected auto, always or never' <<<"$out"

netns_pair "198.18.0.1/24 198.18.0.3/24 198.18.0.4/24" "198.18.0.2/24" || { fail "netns setup"; summary; exit 1; }
bx() { inv "$B" --pin-dir "$PIN" "$@"; }
ours_in_dispatcher() { inv xdp-loader status "$IV" 2>/dev/null | grep -c 'xdp_crowdsec'; }

# ---- does libxdp run its dispatcher here? ------------------------------------------
inv xdp-filter load -v "$IV" >"$T/filter.log" 2>&1
if ! inv xdp-loader status "$IV" 2>/dev/null | grep -q xdp_dispatcher; then
	why=$(sed -n 's/.*Compatibility check for dispatcher program failed: //p' "$T/filter.log" | head -n1)
	bx xdp attach "$IV" >"$T/attach.log" 2>&1
	check_eq "a lone (non-dispatcher) program: xdp attach refuses (exit 7)" "$?" 7
	check "a lone program: says another program holds the interface" \
		grep -q 'another XDP program is attached' "$T/attach.log"
	inv xdp-filter unload "$IV" >/dev/null 2>&1
	bx xdp attach "$IV" --dispatcher always >"$T/attach.log" 2>&1
	check_eq "--dispatcher always without a usable dispatcher: attached alone" "$?" 0
	check "--dispatcher always without a usable dispatcher: says so" \
		grep -q "dispatcher cannot run here" "$T/attach.log"
	check "... through our own bpf_link" bash -c "$(declare -f bx inv); B=$B PIN=$PIN NSV=$NSV; bx xdp status | grep -q '(bpf_link)'"
	bx ban 198.18.0.1 >/dev/null
	check_eq "... and it filters" "$(replies 198.18.0.1 198.18.0.2 2)/$(replies 198.18.0.3 198.18.0.2 2)" 0/2
	skip "libxdp cannot run its dispatcher on this kernel (${why:-see xdp-filter load -v}): coexistence not tested" \
		$((NCHECKS - T_PASS - T_FAIL - T_SKIP))
	summary
	exit
fi

# ---- ours and xdp-filter in one dispatcher --------------------------------------------
bx xdp attach "$IV" --priority 10 >"$T/attach.log" 2>&1
check_eq "attach beside xdp-filter: exit 0" "$?" 0
check "status says: through libxdp's dispatcher" bash -c "$(declare -f bx inv); B=$B PIN=$PIN NSV=$NSV; bx xdp status | grep -q 'libxdp dispatcher'"
check_eq "xdp-loader lists ours beside xdp-filter" "$(ours_in_dispatcher)" 1
bx ban 198.18.0.1 >/dev/null
inv xdp-filter ip 198.18.0.4 -m src >/dev/null
check_eq "our ban drops" "$(replies 198.18.0.1 198.18.0.2 2)" 0
check_eq "xdp-filter's rule still drops (ours passed the packet on)" "$(replies 198.18.0.4 198.18.0.2 2)" 0
check_eq "others pass both" "$(replies 198.18.0.3 198.18.0.2 2)" 2

# re-attach five times under a stream from the banned source
ing ping -n -q -c 400 -i 0.01 -W 1 -I 198.18.0.1 198.18.0.2 >"$T/stream" 2>&1 &
pp=$!
for _ in 1 2 3 4 5; do bx xdp attach "$IV" --priority 10 >>"$T/attach.log" 2>&1 || fail "re-attach"; done
wait $pp
check_eq "re-attach x5 under a stream: no banned packet through" \
	"$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T/stream")" 0
check_eq "re-attach leaves one program of ours in the dispatcher" "$(ours_in_dispatcher)" 1

bx xdp detach "$IV" >/dev/null
check_eq "detach: ours gone from the dispatcher" "$(ours_in_dispatcher)" 0
check_eq "detach: xdp-filter still drops" "$(replies 198.18.0.4 198.18.0.2 2)" 0
check_eq "detach: our ban no longer applies" "$(replies 198.18.0.1 198.18.0.2 2)" 2
summary
