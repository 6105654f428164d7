#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The XDP data plane with real packets: two network namespaces joined by a veth
# pair, the program attached (native mode) on the victim side, pings from banned
# and clean sources on the generator side. Covers ban/unban, ranges, IPv6, the
# lock-out guard, a program swap under a packet stream (no banned packet may get
# through), filter rebuilds under a packet stream (likewise), maps that bpftool
# prints readably, the IPv6 host index, the range index (also on pins without
# one, as ABI 3 left them), an index reused from its pin emptied before a rebuild, detach keeping the state, and uninstall
# removing every pin.
# Everything it creates is removed on exit, failure included.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/netns_pair.sh"
need_root "XDP netns test" 30

B=$BUILD/crowdsec-xdp-bouncer
ID=$(( $$ % 100000 ))
NSG=csxg$ID NSV=csxv$ID
PIN=/sys/fs/bpf/crowdsec-test-$ID
TMPD=$(mktemp -d)
IG=csxg$ID IV=csxv$ID

cleanup() {
	"$B" --pin-dir "$PIN" xdp uninstall >/dev/null 2>&1
	ip netns del "$NSG" 2>/dev/null
	ip netns del "$NSV" 2>/dev/null
	rm -rf "$PIN" "$TMPD" 2>/dev/null
	return 0
}
trap cleanup EXIT INT TERM

bx() { inv "$B" --pin-dir "$PIN" "$@"; }
cfg_field() { bpftool map dump pinned "$PIN/cs_filter_cfg" | tr -d ' \n' | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

netns_pair "198.18.0.1/24 198.18.0.3/24 198.18.1.5/24 2001:db8:1::1/64 2001:db8:1::3/64 2001:db8:2::5/64" \
	"198.18.0.2/24 2001:db8:1::2/64" || { fail "netns setup"; summary; exit 1; }
inv ip route add 198.18.1.0/24 dev "$IV"
inv ip -6 route add 2001:db8:2::/64 dev "$IV"
ing ip route add 198.18.0.2/32 dev "$IG" 2>/dev/null

# Small maps, so the negative filter is small and a few thousand unbans rebuild it.
out=$(bx xdp attach "$IV" --max-hosts 4096 --max-ranges 256)
check_eq "attach reports native mode" "$out" "$IV: attached (native mode)"
net_id=$(inv bpftool net show dev "$IV" | sed -n 's/.* driver id \([0-9]*\).*/\1/p')
check "bpftool net shows it in driver mode (id $net_id)" test -n "$net_id"
check "bpftool names the attached program" bash -c "bpftool prog show id $net_id | grep -q xdp_crowdsec"
check "program pinned and named" bash -c "bpftool prog show pinned $PIN/prog_xdp_crowdsec | grep -q xdp_crowdsec"

check_eq "clean v4 source passes" "$(replies 198.18.0.1 198.18.0.2 3)" 3
check_eq "clean v6 source passes" "$(replies 2001:db8:1::1 2001:db8:1::2 3)" 3

bx ban 198.18.0.1 >/dev/null
check_eq "banned v4 host dropped" "$(replies 198.18.0.1 198.18.0.2 3)" 0
check_eq "other v4 host still passes" "$(replies 198.18.0.3 198.18.0.2 3)" 3
drops=$(bx stats -o json | jq '.drop_cscli.packets')
check "drops attributed to cscli ($drops)" test "$drops" -ge 3
check "bpftool dump is readable (BTF)" bash -c "bpftool map dump pinned $PIN/cs_hosts_v4 | grep -q '\"expires_ns\"'"
dump=$(bpftool map dump pinned "$PIN/cs_hosts_v4" | tr -d ' \n')
check "bpftool prints the address as bytes" grep -q '"addr":\[198,18,0,1\]' <<<"$dump"
check "bpftool prints the origin by name" grep -q '"origin":"CS_ORIGIN_CSCLI"' <<<"$dump"
check "bpftool prints the decision type by name" grep -q '"type":"CS_TYPE_BAN"' <<<"$dump"

bx unban 198.18.0.1 >/dev/null
check_eq "unban restores" "$(replies 198.18.0.1 198.18.0.2 3)" 3

bx ban 198.18.1.0/24 >/dev/null
check_eq "host inside banned /24 dropped" "$(replies 198.18.1.5 198.18.0.2 3)" 0
check "the /24 is in the IPv4 range index" \
	grep -q '\[198,18,1,0\]' <<<"$(bpftool map dump pinned "$PIN/cs_range_index" | tr -d ' \n')"
check "the program reads the IPv4 range index (log2_range_buckets set)" \
	test "$(cfg_field log2_range_buckets)" -gt 0
check_eq "host outside the /24 passes" "$(replies 198.18.0.3 198.18.0.2 3)" 3
bx ban 198.18.1.5 >/dev/null; bx unban 198.18.1.5 >/dev/null
check_eq "host still dropped by its range after its own ban goes" "$(replies 198.18.1.5 198.18.0.2 3)" 0
bx unban 198.18.1.0/24 >/dev/null
check_eq "range unban restores" "$(replies 198.18.1.5 198.18.0.2 3)" 3

bx ban 2001:db8:1::1 >/dev/null
check_eq "banned v6 host dropped" "$(replies 2001:db8:1::1 2001:db8:1::2 3)" 0
check_eq "other v6 host passes" "$(replies 2001:db8:1::3 2001:db8:1::2 3)" 3
# the IPv6 host is in the host index the program reads (bpf/bouncer_maps.h), and
# both the ban list and the index print addresses as bytes
a6='\[32,1,13,184,0,1,0,0,0,0,0,0,0,0,0,1\]'
check "bpftool prints the IPv6 host key as bytes" \
	grep -q "\"addr\":$a6" <<<"$(bpftool map dump pinned "$PIN/cs_hosts_v6" | tr -d ' \n')"
check "the IPv6 host is in the IPv6 host index" \
	grep -q "$a6" <<<"$(bpftool map dump pinned "$PIN/cs_host_index6" | tr -d ' \n')"
check "the program reads the IPv6 host index (log2_host6_buckets set)" \
	test "$(cfg_field log2_host6_buckets)" -gt 0
bx ban 2001:db8:2::/64 >/dev/null
check_eq "v6 host inside banned /64 dropped" "$(replies 2001:db8:2::5 2001:db8:1::2 3)" 0
bx unban 2001:db8:1::1 2001:db8:2::/64 >/dev/null
check_eq "v6 unban restores" "$(replies 2001:db8:2::5 2001:db8:1::2 3)" 3

# lock-out guard: the victim's own addresses and loopback
bx ban 198.18.0.0/24 >/dev/null 2>&1; check_eq "ban covering own address refused" $? 5
bx ban 2001:db8:1::2 >/dev/null 2>&1; check_eq "ban of own v6 address refused" $? 5
bx ban 127.0.0.1 >/dev/null 2>&1; check_eq "ban of loopback refused" $? 5
bx ban 198.18.0.1/24 >/dev/null 2>&1; check_eq "host bits set refused" $? 2
bx xdp attach nosuch0 >/dev/null 2>&1; check_eq "unknown interface" $? 3
check_eq "refusals changed nothing" "$(bx list -o json | jq length)" 0

# Swap the program five times under a 200 pps stream from a banned source.
bx ban 198.18.0.1 >/dev/null
old_id=$(bpftool prog show pinned "$PIN/prog_xdp_crowdsec" | sed -n 's/^\([0-9]*\):.*/\1/p')
before=$(bx stats -o json | jq '.drop_cscli.packets')
ing ping -n -q -c 600 -i 0.005 -W 1 -I 198.18.0.1 198.18.0.2 >"$TMPD/ping" 2>&1 &
pp=$!
ing ping -n -q -c 200 -i 0.015 -W 1 -I 198.18.0.3 198.18.0.2 >"$TMPD/ping2" 2>&1 &
pp2=$!
swaps=0
for _ in 1 2 3 4 5; do
	sleep 0.4
	bx xdp attach "$IV" >/dev/null && swaps=$((swaps + 1))
done
wait $pp; wait $pp2
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMPD/ping")
got2=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMPD/ping2")
rm -f "$TMPD/ping" "$TMPD/ping2"
after=$(bx stats -o json | jq '.drop_cscli.packets')
new_id=$(bpftool prog show pinned "$PIN/prog_xdp_crowdsec" | sed -n 's/^\([0-9]*\):.*/\1/p')
check_eq "five program swaps" "$swaps" 5
check "a new program is attached ($old_id -> $new_id)" test "$new_id" != "$old_id"
check_eq "no banned packet through during the swaps" "$got" 0
check "all 600 banned packets dropped ($((after - before)))" test $((after - before)) -ge 600
check_eq "clean stream unaffected by the swaps" "$got2" 200

# Rebuild the negative filter (several thousand unbans) under streams from a banned
# host and from a host inside a banned /24: no banned packet may get through.
bx ban 198.18.1.0/24 >/dev/null
for i in $(seq 0 999); do
	echo "198.19.$((200 + i / 256)).$((i % 256))"
	printf '2001:db8:ff00::%x\n' "$i"
done >"$TMPD/fill"
rebuilds0=$(cfg_field rebuilds)
ing ping -n -q -c 400 -i 0.01 -W 1 -I 198.18.0.1 198.18.0.2 >"$TMPD/ping" 2>&1 &
pp=$!
ing ping -n -q -c 400 -i 0.01 -W 1 -I 198.18.1.5 198.18.0.2 >"$TMPD/ping2" 2>&1 &
pp2=$!
rounds=0
for _ in 1 2 3; do
	bx ban --file "$TMPD/fill" >/dev/null && bx unban --file "$TMPD/fill" >/dev/null &&
		rounds=$((rounds + 1))
done
wait $pp; wait $pp2
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMPD/ping")
got2=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMPD/ping2")
rebuilds1=$(cfg_field rebuilds)
check_eq "three rounds of 2000 bans and unbans" "$rounds" 3
check "the filter was rebuilt ($rebuilds0 -> $rebuilds1)" test "$rebuilds1" -gt "$rebuilds0"
check_eq "no banned host packet through during the rebuilds" "$got" 0
check_eq "no packet from the banned /24 through during the rebuilds" "$got2" 0
check_eq "clean source passes after the rebuilds" "$(replies 198.18.0.3 198.18.0.2 3)" 3
bx unban 198.18.1.0/24 >/dev/null

# A lost index pin is rebuilt from the ban list when the program is loaded again.
rm -f "$PIN/cs_host_index"
bx xdp attach "$IV" >/dev/null
check "host index pinned again" test -e "$PIN/cs_host_index"
check_eq "banned host dropped through the rebuilt index" "$(replies 198.18.0.1 198.18.0.2 2)" 0
# Pins of ABI 3 have no range indexes: adopted, the indexes created and filled.
bx ban 198.18.1.0/24 >/dev/null
rm -f "$PIN/cs_range_index" "$PIN/cs_range_index6"
bx xdp attach "$IV" >/dev/null
check "range indexes pinned on adoption" test -e "$PIN/cs_range_index" -a -e "$PIN/cs_range_index6"
check "the /24 indexed again" \
	grep -q '\[198,18,1,0\]' <<<"$(bpftool map dump pinned "$PIN/cs_range_index" | tr -d ' \n')"
check_eq "banned range dropped after the adoption" "$(replies 198.18.1.5 198.18.0.2 2)" 0
bx unban 198.18.1.0/24 >/dev/null
# An index reused from its pin is emptied before the rebuild (one just created is
# zero already, and is not touched): what left the ban list meanwhile must not stay.
bx ban 198.18.0.3 >/dev/null
rm -f "$PIN/cs_range_index"
inv bpftool map delete pinned "$PIN/cs_hosts_v4" key 198 18 0 1
bx xdp attach "$IV" >/dev/null
bpftool map dump pinned "$PIN/cs_host_index" 2>/dev/null | tr -d ' \n' >"$TMPD/hidx" &&
	test -s "$TMPD/hidx" || fail "dump of the reused host index"
check "the reused host index holds the host still banned" grep -q '\[198,18,0,3\]' "$TMPD/hidx"
check "the reused host index forgot the host gone from the list" \
	bash -c "! grep -q '\[198,18,0,1\]' '$TMPD/hidx'"
check_eq "that host passes" "$(replies 198.18.0.1 198.18.0.2 2)" 2
bx unban 198.18.0.3 >/dev/null
bx ban 198.18.0.1 >/dev/null

# detach keeps the state; attach again resumes it
bx xdp detach "$IV" >/dev/null
check_eq "detached: banned source passes" "$(replies 198.18.0.1 198.18.0.2 2)" 2
check "ban list survives detach" test -e "$PIN/cs_hosts_v4"
check_eq "ban still listed" "$(bx list -o json | jq -r '.[0].prefix')" "198.18.0.1/32"
bx xdp attach "$IV" >/dev/null
check_eq "re-attached: dropped again" "$(replies 198.18.0.1 198.18.0.2 2)" 0

# generic mode on request
bx xdp detach "$IV" >/dev/null
out=$(bx xdp attach "$IV" --mode generic)
check_eq "generic mode on request" "$out" "$IV: attached (generic mode)"
check_eq "generic mode drops too" "$(replies 198.18.0.1 198.18.0.2 2)" 0

bx xdp uninstall >/dev/null
check "uninstall removes every pin" test ! -e "$PIN"
check "uninstall detaches" bash -c "! nsenter --net=/run/netns/$NSV ip link show $IV | grep -q xdp"
check_eq "after uninstall traffic flows" "$(replies 198.18.0.1 198.18.0.2 2)" 2

summary
