# SPDX-License-Identifier: MIT
# End-to-end scenario for crowdsec-xdp-bouncer, shared by the tests that run it
# against different LAPIs (ours, Debian's crowdsec 1.4.6). Source it after
# harness.sh, define the LAPI hooks, then call e2e_run:
#   lapi_start           start the LAPI inside the victim netns ($NSV) on 127.0.0.1:$LAPI_PORT
#   lapi_stop            stop it (kill, not clean: it is also the "LAPI died" case)
#   lapi_bouncer_key     print a fresh bouncer API key
#   lapi_add ARGS...     cscli-style: --ip X | --range R, [--duration D]
#   lapi_del_ip VALUE    delete every decision on VALUE
#   lapi_del_id ID       delete one decision
#   lapi_ids VALUE       print the ids of the active decisions on VALUE, one per line
# Traffic: pings between two namespaces over a veth pair (198.18.0.0/15, 2001:db8::/32;
# tests/lib/netns_pair.sh).
. "$(dirname "${BASH_SOURCE[0]}")/netns_pair.sh"

B=$BUILD/crowdsec-xdp-bouncer
ID=$(( $$ % 100000 ))
NSG=cseg$ID NSV=csev$ID IG=cseg$ID IV=csev$ID
PIN=/sys/fs/bpf/crowdsec-e2e-$ID
TMPD=$(mktemp -d)
LAPI_PORT=${LAPI_PORT:-18$(( ID % 900 + 100 ))}
BOUNCER_PID=

e2e_cleanup() {
	[ -n "$BOUNCER_PID" ] && kill -TERM "$BOUNCER_PID" 2>/dev/null && wait "$BOUNCER_PID" 2>/dev/null
	lapi_stop >/dev/null 2>&1
	"$B" --pin-dir "$PIN" xdp uninstall >/dev/null 2>&1
	"$B" --pin-dir "$PIN-other" xdp uninstall >/dev/null 2>&1
	ip netns del "$NSG" 2>/dev/null
	ip netns del "$NSV" 2>/dev/null	# takes the nft tables in it along
	[ -n "${KEEP_TMP:-}" ] && echo "kept $TMPD" || rm -rf "$TMPD"
	return 0
}

# the bouncer's LAPI pulls so far, by result (ok|failed), from its metrics
pulls() {
	inv curl -s "127.0.0.1:60${ID: -3}/metrics" 2>/dev/null |
		sed -n "s/^cs_xdp_bouncer_lapi_pulls_total{result=\"$1\"} //p"
}
pulls_reach() { [ "$(pulls "$1")" -ge "$2" ] 2>/dev/null; }
# pulled [RESULT]: wait until the bouncer has finished two more pulls (ok by default):
# the second one started after anything the caller changed before
pulled() {
	local r=${1:-ok} n
	n=$(pulls "$r")
	wait_for 10 pulls_reach "$r" $(( ${n:-0} + 2 )) >/dev/null
}
dropped() { [ "$(replies "$1" "$2" 1)" = 0 ]; }
passes() { [ "$(replies "$1" "$2" 1)" = 1 ]; }

e2e_netns() {
	netns_pair "198.18.0.1/24 198.18.0.3/24 198.18.0.4/24 198.18.1.5/24 2001:db8:1::1/64 2001:db8:1::3/64" \
		"198.18.0.2/24 2001:db8:1::2/64" || return 1
	inv ip route add 198.18.1.0/24 dev "$IV"
}

# bouncer_config MODE [extra yaml]
bouncer_config() {
	cat > "$TMPD/bouncer.yaml" <<YAML
api_url: http://127.0.0.1:$LAPI_PORT/
api_key: $BOUNCER_KEY
update_frequency: 200ms
mode: $1
interfaces: [$IV]
pin_path: $PIN
log_level: info
nftables:
  table_ipv4: cse$ID
  table_ipv6: cse6$ID
prometheus:
  enabled: true
  listen_addr: 127.0.0.1
  listen_port: 60${ID: -3}
$2
YAML
}

bouncer_start() {
	# not through inv: a backgrounded function is a subshell, and $! would be its pid
	# the log is appended to across restarts: wait for this run's line, not an earlier one
	local seen
	seen=$(grep -c "startup pull applied\|LAPI pull failed" "$TMPD/bouncer.log" 2>/dev/null)
	nsenter --net=/run/netns/$NSV "$B" -c "$TMPD/bouncer.yaml" >>"$TMPD/bouncer.log" 2>&1 &
	BOUNCER_PID=$!
	wait_for 20 bash -c "[ \$(grep -c 'startup pull applied\|LAPI pull failed' '$TMPD/bouncer.log') -gt ${seen:-0} ]" >/dev/null
}

bouncer_stop() {
	[ -n "$BOUNCER_PID" ] || return 0
	kill -TERM "$BOUNCER_PID" 2>/dev/null
	wait "$BOUNCER_PID" 2>/dev/null
	BOUNCER_PID=
}

e2e_run() {
	local ms ids id got before after

	e2e_netns || { fail "netns setup"; return; }
	lapi_start || { fail "LAPI start"; return; }
	BOUNCER_KEY=$(lapi_bouncer_key)
	check "bouncer key issued" test -n "$BOUNCER_KEY"
	bouncer_config xdp
	bouncer_start
	check "bouncer started (xdp)" kill -0 "$BOUNCER_PID"
	check "fetcher runs unprivileged" bash -c "ps -o user= --ppid $BOUNCER_PID | grep -q nobody"
	check_eq "clean source passes" "$(replies 198.18.0.1 198.18.0.2 2)" 2

	lapi_add --ip 198.18.0.1 --duration 1h
	ms=$(wait_for 10 dropped 198.18.0.1 198.18.0.2) && pass "ban reaches the data plane (${ms} ms incl. ping)" || fail "ban applied"
	check_eq "banned source dropped" "$(replies 198.18.0.1 198.18.0.2 3)" 0
	check_eq "other source passes" "$(replies 198.18.0.3 198.18.0.2 3)" 3

	# two decisions on one address: deleting one keeps the drop
	lapi_add --ip 198.18.0.1 --duration 2h
	pulled
	ids=$(lapi_ids 198.18.0.1 | head -n1)
	lapi_del_id "$ids"
	check "overlap: the bouncer pulled after the deletion" pulled
	check_eq "overlap: one of two deleted, still dropped" "$(replies 198.18.0.1 198.18.0.2 2)" 0
	lapi_del_ip 198.18.0.1
	ms=$(wait_for 10 passes 198.18.0.1 198.18.0.2) && pass "unban reaches the data plane (${ms} ms)" || fail "unban applied"

	# ranges, and a host inside a banned range when its own decision goes
	lapi_add --range 198.18.1.0/24 --duration 1h
	lapi_add --ip 198.18.1.5 --duration 1h
	wait_for 10 dropped 198.18.1.5 198.18.0.2 >/dev/null
	for id in $(lapi_ids 198.18.1.5); do lapi_del_id "$id"; done
	check "own unban: the bouncer pulled after it" pulled
	check_eq "host in banned range stays dropped after its own unban" "$(replies 198.18.1.5 198.18.0.2 2)" 0
	lapi_del_ip 198.18.1.0/24
	wait_for 10 passes 198.18.1.5 198.18.0.2 >/dev/null
	check_eq "range unban restores" "$(replies 198.18.1.5 198.18.0.2 2)" 2

	# a range given with host bits is stored as given and enforced masked (198.18.1.4/31),
	# as CrowdSec's bouncers do (net.ParseCIDR)
	lapi_add --range 198.18.1.5/31 --duration 1h
	ms=$(wait_for 10 dropped 198.18.1.5 198.18.0.2) && pass "range with host bits enforced (${ms} ms)" || fail "range with host bits enforced"
	check_eq "range with host bits: others pass" "$(replies 198.18.0.3 198.18.0.2 2)" 2
	lapi_del_ip 198.18.1.5/31
	wait_for 10 passes 198.18.1.5 198.18.0.2 >/dev/null
	check_eq "range with host bits: unban restores" "$(replies 198.18.1.5 198.18.0.2 2)" 2

	lapi_add --ip 2001:db8:1::1 --duration 1h
	wait_for 10 dropped 2001:db8:1::1 2001:db8:1::2 >/dev/null
	check_eq "IPv6 ban" "$(replies 2001:db8:1::1 2001:db8:1::2 2)" 0
	check_eq "IPv6 other passes" "$(replies 2001:db8:1::3 2001:db8:1::2 2)" 2

	# expiry
	lapi_add --ip 198.18.0.3 --duration 3s
	wait_for 10 dropped 198.18.0.3 198.18.0.2 >/dev/null
	check_eq "short ban applied" "$(replies 198.18.0.3 198.18.0.2 1)" 0
	ms=$(wait_for 15 passes 198.18.0.3 198.18.0.2) && pass "expired ban lifted (${ms} ms after applied)" || fail "expiry"

	# restart under a stream: no banned packet through
	lapi_add --ip 198.18.0.1 --duration 1h
	wait_for 10 dropped 198.18.0.1 198.18.0.2 >/dev/null
	# the stream runs until the new bouncer has applied its startup pull (bounded by
	# -w), so it spans the whole restart however long that takes
	# nsenter execs ping, so $! is ping itself: a background job ignores SIGINT, but
	# ping sets its own handler (it prints its count and exits); a function would not
	nsenter --net=/run/netns/$NSG ping -n -q -i 0.01 -w 120 -I 198.18.0.1 198.18.0.2 \
		>"$TMPD/stream" 2>&1 &
	local pp=$!
	sleep 0.5
	bouncer_stop
	bouncer_start
	kill -INT $pp 2>/dev/null
	wait $pp
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMPD/stream")
	check_eq "restart: no banned packet through" "$got" 0
	check "restart: reused pins and resynced" grep -q "startup pull applied" "$TMPD/bouncer.log"
	# the state did not change across the restart: the resync writes nothing
	check "restart: resync writes only what changed (nothing)" bash -c "grep 'startup pull applied' '$TMPD/bouncer.log' | tail -n1 | grep -q ' 0 written, 0 removed'"

	# LAPI down: state kept, outage logged once, recovery logged, expiry still works
	lapi_add --ip 198.18.0.4 --duration 4s
	wait_for 10 dropped 198.18.0.4 198.18.0.2 >/dev/null
	lapi_stop
	check "LAPI down: the bouncer's pulls fail" pulled failed
	check_eq "LAPI down: bans kept" "$(replies 198.18.0.1 198.18.0.2 2)" 0
	check_eq "LAPI down: outage logged once" "$(grep -c 'LAPI pull failed' "$TMPD/bouncer.log")" 1
	ms=$(wait_for 15 passes 198.18.0.4 198.18.0.2) && pass "LAPI down: expiry still lifts the ban (${ms} ms)" || fail "expiry while LAPI down"
	lapi_start
	lapi_add --ip 198.18.0.3 --duration 1h
	ms=$(wait_for 40 dropped 198.18.0.3 198.18.0.2) && pass "LAPI back: new ban applied (${ms} ms)" || fail "after LAPI restart"
	check "LAPI back: recovery logged" grep -q "LAPI reachable again" "$TMPD/bouncer.log"

	# the fetcher dies: the applier starts another, which must still switch to `user`
	# (the applier has dropped its capabilities by then); bans stay, new ones arrive
	local fpid
	fpid=$(ps -o pid= --ppid "$BOUNCER_PID" | tr -d ' ' | head -n1)
	kill -KILL "$fpid"
	wait_for 20 bash -c "ps -o pid=,user= --ppid $BOUNCER_PID | awk '\$1 != $fpid && \$2 == \"nobody\"' | grep -q ." >/dev/null
	check "fetcher killed: another one runs unprivileged" \
		bash -c "ps -o pid=,user= --ppid $BOUNCER_PID | awk '\$1 != $fpid && \$2 == \"nobody\"' | grep -q ."
	check "fetcher killed: the applier said so" grep -q "fetcher exited" "$TMPD/bouncer.log"
	check_eq "fetcher killed: bans stay" "$(replies 198.18.0.3 198.18.0.2 2)" 0
	lapi_add --ip 198.18.0.4 --duration 1h
	ms=$(wait_for 20 dropped 198.18.0.4 198.18.0.2) && pass "fetcher killed: a new ban applied (${ms} ms)" ||
		fail "a new ban after the fetcher's restart"
	lapi_del_ip 198.18.0.4
	wait_for 10 passes 198.18.0.4 198.18.0.2 >/dev/null

	before=$(curl -s "127.0.0.1:60${ID: -3}/metrics" 2>/dev/null)
	metrics=$(inv curl -s "127.0.0.1:60${ID: -3}/metrics")
	check "metrics: drops by origin" grep -q 'cs_xdp_bouncer_dropped_packets{origin="cscli"} [1-9]' <<<"$metrics"
	check "metrics: attach mode" grep -q "cs_xdp_bouncer_attach_mode{interface=\"$IV\",mode=\"native\"} 1" <<<"$metrics"
	check "metrics: active decisions" grep -q 'cs_xdp_bouncer_active_decisions{origin="cscli",type="ban"} [1-9]' <<<"$metrics"

	bouncer_stop
	check_eq "stop keeps filtering" "$(replies 198.18.0.1 198.18.0.2 2)" 0
	inv "$B" -c "$TMPD/bouncer.yaml" --uninstall >/dev/null
	check "uninstall: no pins" test ! -e "$PIN"
	check "uninstall: no XDP on the interface" bash -c "! nsenter --net=/run/netns/$NSV ip link show $IV | grep -q xdp"
	check_eq "uninstall: traffic flows" "$(replies 198.18.0.1 198.18.0.2 2)" 2

	# auto mode falls back to nftables when XDP cannot attach (someone else's link)
	inv "$B" --pin-dir "$PIN-other" xdp attach "$IV" >/dev/null
	bouncer_config auto "keep_on_stop: true"	# kept for the restart below
	: >"$TMPD/bouncer.log"
	bouncer_start
	check "auto: fell back to nftables" grep -q "falling back to nftables" "$TMPD/bouncer.log"
	inv "$B" --pin-dir "$PIN-other" xdp uninstall >/dev/null
	check "nft: own tables created" bash -c "nsenter --net=/run/netns/$NSV nft list tables | grep -q 'table ip cse$ID'"
	wait_for 10 dropped 198.18.0.1 198.18.0.2 >/dev/null
	check_eq "nft: banned source dropped" "$(replies 198.18.0.1 198.18.0.2 2)" 0
	check_eq "nft: other source passes" "$(replies 198.18.0.4 198.18.0.2 2)" 2
	lapi_add --range 198.18.1.0/24 --duration 1h
	wait_for 10 dropped 198.18.1.5 198.18.0.2 >/dev/null
	check_eq "nft: range ban" "$(replies 198.18.1.5 198.18.0.2 2)" 0
	lapi_del_ip 198.18.0.1
	wait_for 10 passes 198.18.0.1 198.18.0.2 >/dev/null
	check_eq "nft: unban" "$(replies 198.18.0.1 198.18.0.2 2)" 2
	# restart on the tables kept, under a stream: the hosts stay in place and the first
	# full pull replaces them in one transaction: no banned packet through
	lapi_add --ip 198.18.0.3 --duration 1h
	wait_for 10 dropped 198.18.0.3 198.18.0.2 >/dev/null
	nsenter --net=/run/netns/$NSG ping -n -q -i 0.01 -w 120 -I 198.18.0.3 198.18.0.2 \
		>"$TMPD/stream" 2>&1 &
	pp=$!
	sleep 0.5
	bouncer_stop
	before=$(grep -c 'full state in the data plane' "$TMPD/bouncer.log")
	bouncer_config nftables "keep_on_stop: false"
	bouncer_start
	# the stream goes on until the full state has replaced the host sets
	ms=$(wait_for 20 bash -c "[ \$(grep -c 'full state in the data plane' '$TMPD/bouncer.log') -gt $before ]") &&
		pass "nft restart: full state in place (${ms} ms)" || fail "nft restart: no full state"
	kill -INT $pp 2>/dev/null
	wait $pp
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMPD/stream")
	check_eq "nft restart: no banned packet through" "$got" 0
	check "nft restart: the range listed back" grep -qE "[1-9][0-9]* ranges kept from before" "$TMPD/bouncer.log"
	check_eq "nft restart: host set replaced, the banned host still dropped" "$(replies 198.18.0.3 198.18.0.2 2)" 0
	check_eq "nft restart: range still dropped" "$(replies 198.18.1.5 198.18.0.2 2)" 0
	check_eq "nft restart: unbanned source passes" "$(replies 198.18.0.1 198.18.0.2 2)" 2
	bouncer_stop
	check "nft: keep_on_stop false removes its tables" bash -c "! nsenter --net=/run/netns/$NSV nft list tables | grep -q 'cse$ID'"
	lapi_stop
}

# e2e_guard_run: after e2e_run (the namespaces exist, the LAPI is stopped):
#  - the unprivileged fetcher holds none of the applier's fds (BPF maps, program,
#    BTF, links, the signalfd, the netlink socket, the pin directory);
#  - an address the machine gets after the bouncer started is refused by the guard;
#  - a full host map keeps out only the hosts that do not fit (the range and IPv6
#    bans of the same pull go in), counts the failures, says so once, retries.
fetcher_pid() { ps -o pid= --ppid "$BOUNCER_PID" | tr -d ' ' | head -n1; }
# foreign_fds PID: the fds of PID that are not stdio, sockets or pipes, one a line
foreign_fds() {
	local fd t
	for fd in /proc/"$1"/fd/*; do
		t=$(readlink "$fd") || continue
		case "${fd##*/}:$t" in
		0:* | 1:* | 2:* | *:socket:* | *:pipe:* | *:anon_inode:\[eventpoll\] | *:anon_inode:\[eventfd\]) ;;
		*) echo "${fd##*/} -> $t" ;;
		esac
	done
}
in_map() { "$B" --pin-dir "$PIN" list -o json 2>/dev/null | jq -e --arg p "$1" '[.[]? | select(.prefix == $p)] | length > 0' >/dev/null; }
not_in_map() { ! in_map "$1"; }
hosts_in_map() { local n=0 a; for a in "$@"; do in_map "$a" && n=$((n + 1)); done; echo $n; }
all_in_map() { [ "$(hosts_in_map "$@")" = $# ]; }

e2e_guard_run() {
	local fp bad ms i a

	inv "$B" -c "$TMPD/bouncer.yaml" --uninstall >/dev/null 2>&1
	lapi_start || { fail "LAPI start (guard)"; return; }
	bouncer_config xdp "max_hosts: 3
keep_on_stop: false"
	: >"$TMPD/bouncer.log"
	bouncer_start
	fp=$(fetcher_pid)
	check "fetcher found" test -n "$fp"
	bad=$(foreign_fds "$fp")
	check_eq "fetcher holds no fd of the applier" "$bad" ""
	check "fetcher's fds exclude BPF objects" bash -c "! ls -l /proc/$fp/fd | grep -qE 'bpf-map|bpf-prog|bpf_link|bpf-link|btf|signalfd'"
	check "fetcher maps no BPF map into memory" bash -c "! grep -q 'anon_inode:bpf' /proc/$fp/maps"

	# an address added after start
	inv ip addr add 198.18.0.77/32 dev "$IV"
	lapi_add --ip 198.18.0.77 --duration 1h
	ms=$(wait_for 10 grep -q "not banning 198.18.0.77" "$TMPD/bouncer.log") &&
		pass "guard: address added after start refused (${ms} ms)" || fail "guard: address added after start"
	check "guard: not in the map" not_in_map 198.18.0.77/32
	lapi_del_ip 198.18.0.77

	# a restart after a handful of changes writes only those
	bouncer_stop
	lapi_add --ip 198.18.0.21 --duration 1h
	lapi_del_ip 198.18.0.3
	bouncer_start
	wait_for 20 bash -c "[ \$(grep -c 'startup pull applied' '$TMPD/bouncer.log') -ge 2 ]" >/dev/null
	check "restart after two changes: one written, one removed" bash -c "grep 'startup pull applied' '$TMPD/bouncer.log' | tail -n1 | grep -q ' 1 written, 1 removed'"
	check "restart after two changes: the new ban is in" in_map 198.18.0.21/32
	check "restart after two changes: the deleted one is out" not_in_map 198.18.0.3/32

	# a full host map (3 hosts) with 5 hosts, a range and an IPv6 host in one pull
	lapi_del_all	# what e2e_run left: the map starts empty
	wait_for 10 bash -c "[ \"\$($B --pin-dir $PIN xdp status -o json | jq '.entries.ipv4_hosts')\" = 0 ]" >/dev/null
	for i in 11 12 13 14 15; do lapi_add --ip 198.18.0.$i --duration 1h; done
	lapi_add --range 198.18.5.0/24 --duration 1h
	lapi_add --ip 2001:db8:1::3 --duration 1h
	ms=$(wait_for 15 in_map 198.18.5.0/24) && pass "full host map: range of the same pull applied (${ms} ms)" || fail "full host map: range"
	# added after the range by a separate cscli call: a pull may fall between the two
	wait_for 15 in_map 2001:db8:1::3/128 >/dev/null &&
		pass "full host map: IPv6 host applied beside it" || fail "full host map: IPv6 host applied beside it"
	wait_for 10 bash -c "nsenter --net=/run/netns/$NSV curl -s 127.0.0.1:60${ID: -3}/metrics | grep -q 'cs_xdp_bouncer_apply_failures_total [1-9]'" >/dev/null &&
		pass "full host map: failures counted in the metrics" || fail "full host map: metric"
	sleep 2.5	# a couple of retries
	check_eq "full host map: said once" "$(grep -c 'could not be applied' "$TMPD/bouncer.log")" 1
	check_eq "full host map: as many hosts as fit" "$(hosts_in_map 198.18.0.1{1..5}/32)" 3
	# room again: the hosts left out go in with a retry
	local fitted=()
	for i in 11 12 13 14 15; do in_map 198.18.0.$i/32 && fitted+=("198.18.0.$i"); done
	for a in "${fitted[@]}"; do lapi_del_ip "$a"; done
	two_left_in() { [ "$(hosts_in_map 198.18.0.1{1..5}/32)" = 2 ]; }
	ms=$(wait_for 40 two_left_in) &&
		pass "full host map: left-out hosts applied once there is room (${ms} ms)" ||
		fail "full host map: retry ($(hosts_in_map 198.18.0.1{1..5}/32) of 2)"
	# the message follows the map write: wait for it rather than race it
	wait_for 10 grep -q "every ban is applied again" "$TMPD/bouncer.log" >/dev/null &&
		pass "full host map: recovery said" || fail "full host map: recovery said"
	bouncer_stop
	lapi_stop
}
