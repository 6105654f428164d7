#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The bouncers with N decisions (default 1,000,000) in OUR Local API, in a network
# namespace of this script's own (LAPI on its loopback, a veth pair for XDP):
#  1. load: time from bouncer start until all N entries are in the data plane, and the
#     bouncer's peak RSS: crowdsec-xdp-bouncer (XDP on the veth, `xdp status -o json`
#     polled every 0.2 s; both our processes: applier + fetcher child), then the same
#     in its nftables fallback (timed by its log line "full state in the data plane",
#     then checked with an `nft get element` of the last address: listing a set of 1M
#     takes nft minutes, a get about one), then restarted on the tables it kept (its
#     first full state replaces the host set's content in one transaction, timed the
#     same way), beside Debian's crowdsec-firewall-bouncer 0.0.25 in nftables mode
#     (every POLL s (1): `nft get element` of the last address of the database, then
#     the elements of the set counted as the peers' lapi-fwbouncer.sh does, each
#     listing cut at 60 s; given up after MAXS s (300));
#     then ours restarted on its own pins (a resync of N that changes nothing);
#  2. reaction: from `cscli decisions add --ip X` to X in the data plane (bpftool map
#     lookup / nft get element, polled every 20 ms), REACT times (10), median, and from
#     cscli's return (the decision stored: cscli's login and POST left out):
#     ours with its default update_frequency (200ms; at N stored, and on a small
#     LAPI), the firewall bouncer with its default 10s (on the small LAPI:
#     REACT_BASE decisions, 1000);
#  3. expiry: EXPIRE (5) decisions of 15 s (`cscli decisions add --duration 15s`: longer
#     than the firewall bouncer's 10 s period, so that it holds them first), from
#     each one's end (its `until` in the LAPI's database) to its entry gone from the data
#     plane (polled every 20 ms), median: ours at N stored, the firewall bouncer on the
#     small LAPI (its set elements carry the timeout: the kernel drops them on time).
#     Ours also drops on time in the fast path (each map entry carries its expiry): the
#     figure is the entry leaving the map (the fetcher's expiry pass, at most one a second).
# The namespace (and the nft tables, pins and processes in it) is removed at the end.
set -u
[ "$(id -u)" = 0 ] || { echo "bench_bouncer: needs root"; exit 0; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lapi_lib.sh"
. "$here/../tests/lib/fw_bouncer.sh"
N=${N:-1000000} MAXS=${MAXS:-300} POLL=${POLL:-1} REACT=${REACT:-10} REACT_BASE=${REACT_BASE:-1000} EXPIRE=${EXPIRE:-5}
B=$BUILD/crowdsec-xdp-bouncer
ID=$$ NS=bbench$$ IF=bbx$$ IFP=bby$$ PORT=28731
PIN=/sys/fs/bpf/crowdsec-bbench-$$
W=$(mktemp -d /tmp/bench-bouncer.XXXXXX)
LP= BP= SP=
have_fw=1; command -v crowdsec-firewall-bouncer >/dev/null || have_fw=0
for c in sqlite3 bpftool nft; do command -v $c >/dev/null || { echo "bench_bouncer: $c missing"; exit 0; }; done

inns() { nsenter --net=/run/netns/"$NS" "$@"; }
stop_pid() { [ -n "$1" ] && kill "$1" 2>/dev/null && { for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done; kill -9 "$1" 2>/dev/null; }; wait "$1" 2>/dev/null; }
cleanup() {
	stop_pid "$SP"; stop_pid "$BP"; stop_pid "$LP"
	"$B" --pin-dir "$PIN" xdp uninstall >/dev/null 2>&1
	ip netns del "$NS" 2>/dev/null	# takes the veth and the nft tables in it along
	rm -rf "$PIN" "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$NS" || { echo "bench_bouncer: cannot create a namespace"; exit 0; }
inns ip link set lo up
inns ip link add "$IF" type veth peer name "$IFP"
inns ip addr add 198.18.0.2/24 dev "$IF"
inns ip link set "$IF" up; inns ip link set "$IFP" up

gen_keys "$W/keys" 2	# line 1: ours, line 2: the firewall bouncer
KO=$(sed -n 1p "$W/keys") KF=$(sed -n 2p "$W/keys")
t0=$(date +%s.%N)
gen_go_db "$W/go.db" "$N" "$W/keys" || { echo "bench_bouncer: cannot write the database"; exit 0; }
gen_go_db "$W/small.db" "$REACT_BASE" "$W/keys"
gen_s=$(echo "$(date +%s.%N) - $t0" | bc)
PW=benchpassword-$$-bouncer

lapi_up() {	# lapi_up DBFILE: our LAPI in the namespace on a copy of DBFILE (imported on open)
	stop_pid "$LP"; LP=
	rm -rf "$W/lapi"; mkdir -p "$W/lapi"
	cp "$1" "$W/lapi/crowdsec.db"
	our_lapi_config "$W/lapi" "$PORT"
	# not through inns: a backgrounded function is a subshell, and $! would be its pid
	nsenter --net=/run/netns/"$NS" "$BUILD/crowdsec" -c "$W/lapi/config.yaml" -no-cs >"$W/lapi.log" 2>&1 &
	LP=$!
	wait_tcp "$PORT" 600 "$NS" || { echo "(LAPI did not start: $(tail -n 3 "$W/lapi.log"))"; return 1; }
	"$BUILD/cscli" -c "$W/lapi/config.yaml" machines add bench -p "$PW" -f "$W/lapi/creds.yaml" >/dev/null 2>&1
}
cscli_add() { inns "$BUILD/cscli" -c "$W/lapi/config.yaml" decisions add --ip "$1" --duration 1h >/dev/null 2>&1; }

xdp_up() {	# start our bouncer (default update_frequency) [MODE [KEEP]]; sets BP
	cat >"$W/xdp.yaml" <<YAML
api_url: http://127.0.0.1:$PORT/
api_key: $KO
mode: ${1:-xdp}
interfaces: [$IF]
pin_path: $PIN
keep_on_stop: ${2:-false}
log_level: info
nftables:
  table_ipv4: cxdp
  table_ipv6: cxdp6
prometheus:
  enabled: false
YAML
	nsenter --net=/run/netns/"$NS" "$B" -c "$W/xdp.yaml" >>"$W/xdp.log" 2>&1 &
	BP=$!
}
xdp_count() { "$B" --pin-dir "$PIN" xdp status -o json 2>/dev/null | jq -r '.entries.ipv4_hosts' 2>/dev/null; }
xdp_has() { local a; IFS=. read -ra a <<<"$1"; bpftool map lookup pinned "$PIN/cs_hosts_v4" key "${a[@]}" >/dev/null 2>&1; }

fw_up() {
	fw_bouncer_config "$W/fw.yaml" "$W" "http://127.0.0.1:$PORT/" "$KF" 10s file false
	nsenter --net=/run/netns/"$NS" crowdsec-firewall-bouncer -c "$W/fw.yaml" >"$W/fw.out" 2>&1 &
	BP=$!
}
# Listing a set of 1M elements takes nft tens of seconds: poll for the last address
# the database holds (cheap), and count the whole set once it is there.
last_ip=$(( 1681915904 + N - 1 ))
last_ip=$(( last_ip >> 24 )).$(( (last_ip >> 16) & 255 )).$(( (last_ip >> 8) & 255 )).$(( last_ip & 255 ))
list_count() { timeout "${3:-60}" nsenter --net=/run/netns/"$NS" nft list set ip "$1" "$2" 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+' | wc -l; }
set_count() {	# set_count TABLE SET
	inns nft get element ip "$1" "$2" "{ $last_ip }" >/dev/null 2>&1 || { echo 0; return; }
	list_count "$1" "$2"
}
fw_count() { set_count crowdsec crowdsec-blacklists; }
# Ours says when the full state is in (with 1M elements, an nft listing takes minutes
# and even `nft get element` ~a minute): that line; the last address is checked after.
nft_count() { [ "$(grep -c 'full state in the data plane' "$W/xdp.log")" -gt "$nft_seen" ] && echo "$N" || echo 0; }
fw_has() { inns nft get element ip crowdsec crowdsec-blacklists "{ $1 }" >/dev/null 2>&1; }

# load SIDE POLL_S: runs in this shell (sets BP, SP); writes to $W/SIDE.res "seconds count peak_sum_kB hwm_parent_kB hwm_child_kB"
load() {
	local side=$1 poll=$2 t0 c=0 t1= child hp hc
	t0=$(date +%s.%N)
	date -u +%T.%3N >"$W/$side.t0"
	case $side in
	xdp) xdp_up ;;
	resync) xdp_up xdp true ;;
	nft | nftre) xdp_up nftables true ;;
	*) fw_up ;;
	esac
	peak_rss "$W/$side.peak" "$BP" & SP=$!
	while kill -0 "$BP" 2>/dev/null; do
		case $side in
		xdp | resync) c=$(xdp_count) ;;
		nft | nftre) c=$(nft_count) ;;
		*) c=$(fw_count) ;;
		esac
		c=${c:-0}; [ "$c" = null ] && c=0
		if [ "$c" -ge "$N" ]; then t1=$(date +%s.%N); break; fi
		[ "$(echo "$(date +%s.%N) - $t0 > $MAXS" | bc)" = 1 ] && break
		sleep "$poll"
	done
	child=$(cat /proc/"$BP"/task/*/children 2>/dev/null | awk '{print $1}')
	hp=$(awk '/^VmHWM/{print $2}' /proc/"$BP"/status 2>/dev/null)
	hc=$( [ -n "$child" ] && awk '/^VmHWM/{print $2}' /proc/"$child"/status 2>/dev/null)
	sleep 0.1
	local secs=-; [ -n "$t1" ] && secs=$(echo "$t1 - $t0" | bc)
	echo "$secs $c $(cat "$W/$side.peak") ${hp:-0} ${hc:--}" >"$W/$side.res"
}

# react SIDE PREFIX PERIOD_S: REACT adds of PREFIX.1.. , prints the ms from before cscli ran
# and from its return (the decision stored), one add a line, sorted (or "timeout")
react() {
	local side=$1 pre=$2 period=$3 i ip t0 t1 t
	for i in $(seq "$REACT"); do
		ip=$pre.$i
		t0=$(date +%s%N)
		cscli_add "$ip"
		t1=$(date +%s%N)
		t=timeout
		for _ in $(seq 1500); do	# 30 s
			if { [ "$side" = xdp ] && xdp_has "$ip"; } || { [ "$side" = fw ] && fw_has "$ip"; }; then
				t=$(( ($(date +%s%N) - t0) / 1000000 ))" "$(( ($(date +%s%N) - t1) / 1000000 )); break
			fi
			sleep 0.02
		done
		echo "$t"
		# the next add at a random phase of the bouncer's poll period
		sleep "$(awk -v p="$period" -v r="$RANDOM" 'BEGIN { printf "%.3f", p * r / 32768 }')"
	done | sort -n
}
# expiry SIDE PREFIX: EXPIRE decisions of 15 s on PREFIX.1.., added one after the other and
# watched together (each call a lookup: the resolution is one round over them); for each,
# once seen in the data plane, the ms from its until to its entry gone, sorted
# ("timeout": never seen, or not gone within 45 s)
expiry() {
	local side=$1 pre=$2 i ip t0 now has left
	local -a until seen gone
	for i in $(seq "$EXPIRE"); do
		inns "$BUILD/cscli" -c "$W/lapi/config.yaml" decisions add --ip "$pre.$i" --duration 15s >/dev/null 2>&1
		until[i]=$(sqlite3 "$W/lapi/crowdsec.db" "PRAGMA busy_timeout = 10000; SELECT MAX(until) FROM decisions WHERE value = '$pre.$i'" | tail -n1)
		seen[i]=0 gone[i]=timeout
	done
	t0=$(date +%s)
	while [ $(( $(date +%s) - t0 )) -lt 45 ]; do
		left=0
		for i in $(seq "$EXPIRE"); do
			[ "${gone[i]}" = timeout ] || continue
			ip=$pre.$i has=0
			if [ "$side" = xdp ]; then xdp_has "$ip" && has=1; else fw_has "$ip" && has=1; fi
			now=$(date +%s%N)
			if [ $has = 1 ]; then seen[i]=1; left=1
			elif [ "${seen[i]}" = 1 ]; then gone[i]=$(( (now - ${until[i]:-0}) / 1000000 ))
			else left=1; fi
		done
		[ $left = 0 ] && break
		sleep 0.02
	done
	for i in $(seq "$EXPIRE"); do echo "${gone[i]}"; done | sort -n
}
median() { sort -n -k"${1:-1},${1:-1}" | awk -v c="${1:-1}" '{ v[NR] = $c } END { if (NR == 0 || v[int((NR + 1) / 2)] == "timeout") print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
span() { sort -n -k"${1:-1},${1:-1}" | awk -v c="${1:-1}" 'NR == 1 { a = $c } { b = $c } END { print a "–" b }'; }

la0=$(cut -d' ' -f1-3 /proc/loadavg)
lapi_up "$W/go.db" || exit 0
load xdp 0.2; read -r xs xc xpk xhp xhc <"$W/xdp.res"
xdp_mode=$(inns ip link show "$IF" | grep -o 'xdp[a-z]*' | head -n1)
"$B" --pin-dir "$PIN" xdp status -o json >"$W/status.json" 2>/dev/null
cscli_add 100.200.0.250	# warm-up (the first cscli login)
react xdp 100.200.1 0.2 >"$W/react-xdp-N"
expiry xdp 100.200.4 >"$W/expire-xdp-N"
stop_pid "$SP"; SP=; stop_pid "$BP"; BP=
# restart on the pins a run left: the resync of N writes only what changed
load resync 0.2
for _ in $(seq 1500); do [ "$(grep -c 'startup pull applied' "$W/xdp.log")" -ge 2 ] && break; sleep 0.2; done
rs_line=$(grep 'startup pull applied' "$W/xdp.log" | tail -n1 | sed 's/.*msg="//; s/"$//')
read -r rss _ _ _ _ <"$W/resync.res"
stop_pid "$SP"; SP=; rspk=$(cat "$W/resync.peak")
stop_pid "$BP"; BP=
"$B" --pin-dir "$PIN" xdp uninstall >/dev/null 2>&1
# our nftables fallback
nft_seen=$(grep -c 'full state in the data plane' "$W/xdp.log")
load nft 0.2; read -r ns nc npk nhp nhc <"$W/nft.res"
inns nft get element ip cxdp cxdp-blacklists "{ $last_ip }" >/dev/null 2>&1 || nc="0 (last address missing)"
stop_pid "$SP"; SP=; stop_pid "$BP"; BP=
# restarted on the tables it kept
nft_seen=$(grep -c 'full state in the data plane' "$W/xdp.log")
load nftre 0.2; read -r nrs _ nrpk nrhp nrhc <"$W/nftre.res"
stop_pid "$SP"; SP=; stop_pid "$BP"; BP=
inns nft delete table ip cxdp 2>/dev/null; inns nft delete table ip6 cxdp6 2>/dev/null
fs=- fc=0 fpk=0 fhp=0
if [ $have_fw = 1 ]; then
	load fw "$POLL"; read -r fs fc fpk fhp _ <"$W/fw.res"
	stop_pid "$SP"; SP=; stop_pid "$BP"; BP=
	inns nft delete table ip crowdsec 2>/dev/null
fi
# reaction on a small LAPI (the firewall bouncer does not finish a 1M load in MAXS)
lapi_up "$W/small.db" || exit 0
cscli_add 100.200.0.250
xdp_up; for _ in $(seq 100); do [ "$(xdp_count)" -ge "$REACT_BASE" ] 2>/dev/null && break; sleep 0.1; done
react xdp 100.200.2 0.2 >"$W/react-xdp-small"
stop_pid "$BP"; BP=
"$B" --pin-dir "$PIN" xdp uninstall >/dev/null 2>&1
if [ $have_fw = 1 ]; then
	fw_up; for _ in $(seq 300); do [ "$(list_count crowdsec crowdsec-blacklists)" -ge "$REACT_BASE" ] && break; sleep 0.1; done
	react fw 100.200.3 10 >"$W/react-fw-small"
	expiry fw 100.200.5 >"$W/expire-fw-small"
	stop_pid "$BP"; BP=
fi

echo "Decisions: $N IPv4 bans in our LAPI (database written with sqlite3 in $gen_s s, imported on open), in namespace $NS; loadavg before $la0, after $(cut -d' ' -f1-3 /proc/loadavg). Ours attached in ${xdp_mode:-?} mode on a veth."
echo
echo "### load: bouncer start to all $N entries in the data plane"
echo "| bouncer | entries seen | seconds to all | peak RSS MiB (sampled, sum) | VmHWM MiB applier / fetcher |"
echo "|---|---|---|---|---|"
echo "| crowdsec-xdp-bouncer (XDP, ours) | $xc | $([ "$xs" = - ] && echo "not reached in $MAXS s" || echo "$xs") | $(mib "$xpk") | $(mib "$xhp") / $(mib "$xhc") |"
echo "| crowdsec-xdp-bouncer (nftables fallback, ours) | $nc | $([ "$ns" = - ] && echo "not reached in $MAXS s" || echo "$ns") | $(mib "$npk") | $(mib "$nhp") / $(mib "$nhc") |"
[ $have_fw = 1 ] && echo "| crowdsec-firewall-bouncer 0.0.25 (nftables) | $fc | $([ "$fs" = - ] && echo "not reached in $MAXS s" || echo "$fs") | $(mib "$fpk") | $(mib "$fhp") (one process) |"
echo
echo "### reaction: \`cscli decisions add\` to the entry in the data plane, ms ($REACT adds)"
echo "| bouncer | update_frequency | decisions stored | median | min–max | median from cscli's return (decision stored) | min–max |"
echo "|---|---|---|---|---|---|---|"
for r in "crowdsec-xdp-bouncer (ours)|200ms (default)|$N|react-xdp-N" "crowdsec-xdp-bouncer (ours)|200ms (default)|$REACT_BASE|react-xdp-small" \
	"crowdsec-firewall-bouncer 0.0.25|10s (default)|$REACT_BASE|react-fw-small"; do
	IFS='|' read -r who per n f <<<"$r"
	[ -s "$W/$f" ] || continue
	echo "| $who | $per | $n | $(median 1 <"$W/$f") | $(span 1 <"$W/$f") | $(median 2 <"$W/$f") | $(span 2 <"$W/$f") |"
done
echo
echo "### expiry: a decision of 15 s, from its end to its entry gone from the data plane, ms ($EXPIRE decisions)"
echo "| bouncer | decisions stored | median | min–max |"
echo "|---|---|---|---|"
echo "| crowdsec-xdp-bouncer (ours; the fast path stops dropping at the end itself) | $N | $(median <"$W/expire-xdp-N") | $(span <"$W/expire-xdp-N") |"
[ $have_fw = 1 ] && echo "| crowdsec-firewall-bouncer 0.0.25 (nftables element timeout) | $REACT_BASE | $(median <"$W/expire-fw-small") | $(span <"$W/expire-fw-small") |"
echo
echo "### restart: ours on the pins of a previous run ($N entries in place, LAPI unchanged)"
echo "entries in place after ${rss} s (none removed meanwhile); peak RSS $(mib "$rspk") MiB; the resync said: $rs_line"
echo
echo "### restart: ours in its nftables fallback on the tables it kept ($N hosts dropping meanwhile)"
echo "the full state in place of the host set's content (one transaction) after $([ "$nrs" = - ] && echo "more than $MAXS" || echo "$nrs") s; peak RSS $(mib "$nrpk") MiB (sampled, sum), VmHWM $(mib "$nrhp") / $(mib "$nrhc") MiB applier / fetcher"
echo
echo "(adds spaced by a random fraction of the bouncer's period; ms include our cscli's own run, the same for both. The firewall bouncer's load count includes the $((REACT + 1)) reaction bans added before it started.)"
echo
echo "Ours started at $(cat "$W/xdp.t0") UTC; its log:"
grep -E 'attached|startup pull applied' "$W/xdp.log" | head -n 2 | sed 's/^/    /'
exit 0
