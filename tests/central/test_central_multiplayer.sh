#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The multiplayer test of issue 21, all real processes in network namespaces on one
# bridge: a crowdsec-central and five members, each our crowdsec (detector + LAPI,
# online_client on the central) and crowdsec-xdp-bouncer on its link. An attacker
# brute-forces three members (their sshd's log lines, written as sshd would); the
# consensus lists it and the two other members drop its packets in XDP before it
# ever touched them. Printed: the time from the third member's attack to both drops.
# Then 1,000 reporters registered from one /24 report a bystander: never listed,
# never dropped. Intervals are shortened (push 1 s, pull 1 s; defaults 10 s, 1 min).
set -u
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lapi/lapi_lib.sh"
BUILD=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
need_root multiplayer
need_hub

ID=$(( $$ % 100000 ))
T=$(mktemp -d "/tmp/cs-multi.XXXXXX")
SW=csw$ID CEN=cce$ID ATT=cat$ID SYB=csy$ID
M=(x cm1$ID cm2$ID cm3$ID cm4$ID cm5$ID)
CP=8090 LP=8080
PIDS=()
cleanup() {
	local p i
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	# children the daemons forked (the bouncers' fetchers): this run's paths only
	for p in $(pgrep -f "$T/"); do kill -TERM "$p" 2>/dev/null; done
	for i in 1 2 3 4 5; do "$BUILD/crowdsec-xdp-bouncer" --pin-dir "/sys/fs/bpf/cs-multi-$ID-$i" xdp uninstall >/dev/null 2>&1; done
	for n in "$SW" "$CEN" "$ATT" "$SYB" "${M[@]:1}"; do ip netns del "$n" 2>/dev/null; done
	[ -n "${KEEP_TMP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT
in_ns() { local n=$1; shift; nsenter --net="/run/netns/$n" "$@"; }

# one bridge, a veth per namespace; every member in its own /24
ip netns add "$SW" && ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up || { fail "bridge"; summary; exit 1; }
k=0
join() { # NS ADDR/LEN...
	local n=$1 a
	shift
	k=$((k + 1))
	ip netns add "$n" && ip link add "v$k-$ID" netns "$n" type veth peer name "p$k-$ID" netns "$SW" &&
		ip -n "$SW" link set "p$k-$ID" master br0 up && ip -n "$n" link set lo up &&
		ip -n "$n" link set "v$k-$ID" up || return 1
	for a in "$@"; do ip -n "$n" addr add "$a" dev "v$k-$ID" || return 1; done
}
ok=1
join "$CEN" 198.18.200.1/16 || ok=
join "$ATT" 198.18.66.66/16 || ok=
for i in 1 2 3 4 5; do join "${M[$i]}" "198.18.$i.2/16" || ok=; done
# the sybils: 250 addresses of one /24
join "$SYB" $(for j in $(seq 1 250); do echo "198.18.77.$j/16"; done) || ok=
check "namespaces on one bridge" [ -n "$ok" ]
wait_for() { local i; for i in $(seq $(( $1 * 20 ))); do "${@:2}" && return 0; sleep 0.05; done; return 1; }
ping1() { in_ns "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1; }
check "the members reach the central" wait_for 10 ping1 "${M[5]}" 198.18.200.1

printf 'listen_uri: 198.18.200.1:%s\ndb_path: %s/central.db\nlog_level: info\n' "$CP" "$T" >"$T/central.yaml"
# not through in_ns: a backgrounded function is a subshell, $! would not be the daemon
nsenter --net="/run/netns/$CEN" "$BUILD/crowdsec-central" -c "$T/central.yaml" >"$T/central.log" 2>&1 &
PIDS+=($!)
check "central up" wait_for 10 in_ns "$CEN" curl -sf "http://198.18.200.1:$CP/health" -o /dev/null
ADMIN="$BUILD/crowdsec-central -c $T/central.yaml"

member_up() { # I
	local i=$1 d=$T/m$1 n=${M[$1]}
	mkdir -p "$d"
	cs_etc "$d/etc" parsers/s00-raw/crowdsecurity/syslog-logs.yaml parsers/s01-parse/crowdsecurity/sshd-logs.yaml \
		parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml scenarios/crowdsecurity/ssh-bf.yaml || return 1
	cs_config "$d/etc" "$d" "127.0.0.1:$LP" info "prometheus:
  enabled: false" || return 1
	python3 - "$d/etc/config.yaml" "$d" "$HUB" <<'PY' || return 1
import sys
p, d, hub = sys.argv[1:]
s = open(p).read()
s = s.replace("  server:\n", "  server:\n    online_client:\n      credentials_path: %s/online.yaml\n      push_interval: 1s\n      pull_interval: 1s\n" % d, 1)
s = s.replace("config_paths:\n", "config_paths:\n  hub_dir: %s/\n" % hub, 1)
s += "crowdsec_service:\n  acquisition_path: %s/etc/acquis.yaml\n" % d
open(p, "w").write(s)
PY
	printf 'filenames:\n  - %s/auth.log\nlabels:\n  type: syslog\n' "$d" >"$d/etc/acquis.yaml"
	: >"$d/auth.log"
	in_ns "$n" "$BUILD/cscli" -c "$d/etc/config.yaml" capi register --url "http://198.18.200.1:$CP/" >/dev/null 2>&1 || return 1
	KEY=$("$BUILD/cscli" -c "$d/etc/config.yaml" -oraw bouncers add b 2>/dev/null) || return 1
	nsenter --net="/run/netns/$n" "$BUILD/crowdsec" -c "$d/etc/config.yaml" >"$d/crowdsec.log" 2>&1 &
	PIDS+=($!)
	cat >"$d/bouncer.yaml" <<YAML
api_url: http://127.0.0.1:$LP/
api_key: $KEY
update_frequency: 200ms
mode: xdp
interfaces: [v$((i + 2))-$ID]
pin_path: /sys/fs/bpf/cs-multi-$ID-$i
log_level: info
prometheus:
  enabled: false
YAML
	wait_for 20 in_ns "$n" curl -sf "http://127.0.0.1:$LP/health" -o /dev/null || return 1
	nsenter --net="/run/netns/$n" "$BUILD/crowdsec-xdp-bouncer" -c "$d/bouncer.yaml" >"$d/bouncer.log" 2>&1 &
	PIDS+=($!)
	wait_for 20 grep -q "startup pull applied" "$d/bouncer.log"
}
for i in 1 2 3 4 5; do check "member $i up (crowdsec, capi register, XDP bouncer)" member_up $i; done
check "before: member 4 answers a clean peer" ping1 "${M[1]}" 198.18.4.2

banned() { # I IP: in member I's XDP map
	"$BUILD/crowdsec-xdp-bouncer" --pin-dir "/sys/fs/bpf/cs-multi-$ID-$1" list -o json 2>/dev/null | grep -q "\"$2"
}
attack() { # I: ten failed logins from the attacker in member I's sshd log
	local j
	for j in $(seq 10); do
		printf '%s m%s sshd[%d]: Failed password for root from 198.18.66.66 port %d ssh2\n' \
			"$(date '+%b %e %H:%M:%S')" "$1" $((2000 + j)) $((50000 + j))
	done >>"$T/m$1/auth.log"
}
attack 1
attack 2
wait_for 20 sh -c "$ADMIN explain 198.18.66.66 | grep -q 'window: 2 reporter'"
check "two reports reached the central" sh -c "$ADMIN explain 198.18.66.66 | grep -q 'window: 2 reporter'"
check "two members alone do not list it" sh -c "$ADMIN explain 198.18.66.66 | grep -q 'is not listed'"
t0=$(date +%s%N)
attack 3
wait_for 60 banned 4 198.18.66.66 && wait_for 60 banned 5 198.18.66.66
t1=$(date +%s%N)
check "members 4 and 5 hold the attacker in XDP" sh -c "$(declare -f banned); ID=$ID BUILD=$BUILD; banned 4 198.18.66.66 && banned 5 198.18.66.66"
echo "third member's attack -> drop on members 4 and 5: $(( (t1 - t0) / 1000000 )) ms (push 1 s, pull 1 s, bouncer 200 ms)"
check "the attacker's first packets to member 4 are dropped" sh -c "! nsenter --net=/run/netns/$ATT ping -n -q -c 2 -W 1 198.18.4.2 >/dev/null"
check "and to member 5" sh -c "! nsenter --net=/run/netns/$ATT ping -n -q -c 2 -W 1 198.18.5.2 >/dev/null"
check "a clean peer still reaches member 4" ping1 "${M[1]}" 198.18.4.2
check "member 4's copy is of origin CAPI" grep -q 'CAPI' <("$BUILD/crowdsec-xdp-bouncer" --pin-dir "/sys/fs/bpf/cs-multi-$ID-4" list -o json)

# 1,000 reporters from one /24 report a bystander
BY=198.18.88.88
sybil() { # J: four reporters from 198.18.77.J
	local j=$1 r tok
	for r in 1 2 3 4; do
		in_ns "$SYB" curl -s -A crowdsec/sybil --interface "198.18.77.$j" -X POST "http://198.18.200.1:$CP/v2/watchers" \
			-d "{\"machine_id\":\"sybil-$j-$r\",\"password\":\"pw\"}" >/dev/null
		tok=$(in_ns "$SYB" curl -s -A crowdsec/sybil --interface "198.18.77.$j" -X POST "http://198.18.200.1:$CP/v2/watchers/login" \
			-d "{\"machine_id\":\"sybil-$j-$r\",\"password\":\"pw\",\"scenarios\":[\"crowdsecurity/ssh-bf\"]}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
		in_ns "$SYB" curl -s -A crowdsec/sybil --interface "198.18.77.$j" -H "Authorization: Bearer $tok" \
			-X POST "http://198.18.200.1:$CP/v2/signals" -d "[{\"scenario\":\"crowdsecurity/ssh-bf\",\"scenario_hash\":\"h\",\"scenario_version\":\"0.3\",\"scenario_trust\":\"certified\",\"message\":\"\",\"source\":{\"scope\":\"Ip\",\"value\":\"$BY\"},\"start_at\":\"2026-01-01T00:00:00Z\",\"stop_at\":\"2026-01-01T00:00:01Z\"}]" >/dev/null
	done
}
batch=()
for j in $(seq 1 250); do
	sybil "$j" &
	batch+=($!)
	if [ ${#batch[@]} = 8 ] || [ "$j" = 250 ]; then wait "${batch[@]}"; batch=(); fi
done
check_eq "1,000 sybil reporters reported the bystander" \
	"$($ADMIN explain $BY | sed -n 's/^window: \([0-9]*\) reporter.*/\1/p')" 1000
check "the bystander is not listed (one network)" sh -c "$ADMIN explain $BY | grep -q 'is not listed'"
check "no member holds the bystander" sh -c "$(declare -f banned); ID=$ID BUILD=$BUILD; ! banned 4 $BY && ! banned 5 $BY"
summary
