#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The sanitizer tier: the daemon set built with ASan + UBSan (build-san/, as
# `make SANITIZE=address,undefined` builds it; reused when $BUILD is that build)
# under a realistic load, failing on any sanitizer report (leaks included):
#  1. crowdsec replays genlogs sshd and nginx logs through the hub's linux and
#     nginx collections into its in-process LAPI;
#  2. crowdsec live (detector + LAPI) tails logs that receive attacks, while
#     cscli adds, lists and deletes decisions, machines and bouncers;
#  3. as root: the XDP bouncer (applier + fetcher) pulls from that LAPI in a
#     netns and applies, expires and removes decisions.
# Reports go to files (log_path); each daemon must also exit 0 on SIGTERM.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lapi/lapi_lib.sh"
. "$(dirname "$0")/../lib/hub_config.sh"
need_hub 12
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SSHD_LINES=${SSHD_LINES:-6000} NGINX_LINES=${NGINX_LINES:-4000}

if ldd "$BUILD/crowdsec" 2>/dev/null | grep -q libasan; then
	SAN=$BUILD
else
	SAN=$ROOT/build-san
	# BUILD comes from the environment of `make test`: name ours on the command line,
	# relative as `make SANITIZE=...` names it (its dependency files say build-san/...)
	if make -C "$ROOT" -s -j"$(nproc)" SANITIZE=address,undefined BUILD=build-san \
		build-san/crowdsec build-san/cscli build-san/crowdsec-xdp-bouncer \
		>"${TMPDIR:-/tmp}/san-build.$$" 2>&1; then
		pass "ASan+UBSan build of crowdsec, cscli, crowdsec-xdp-bouncer"
	else
		cat "${TMPDIR:-/tmp}/san-build.$$" >&2
		fail "ASan+UBSan build"
		rm -f "${TMPDIR:-/tmp}/san-build.$$"
		summary; exit 1
	fi
	rm -f "${TMPDIR:-/tmp}/san-build.$$"
fi

T=$(mktemp -d)
R=$T/reports
mkdir -p "$R"
chmod 1777 "$R"	# the bouncer's fetcher runs as nobody
export ASAN_OPTIONS="log_path=$R/asan:detect_leaks=1:exitcode=66"
export UBSAN_OPTIONS="log_path=$R/ubsan:print_stacktrace=1:halt_on_error=1"
NS= CP= BP=
PORT=$(free_port 18300)	# the replays listen outside the netns
if [ "$(id -u)" = 0 ]; then
	NS=cssan$(( $$ % 100000 ))
	IN_NS=(nsenter --net=/run/netns/$NS)
else
	IN_NS=()
fi
cleanup() {
	[ -n "$BP" ] && kill -TERM "$BP" 2>/dev/null && wait "$BP" 2>/dev/null
	[ -n "$CP" ] && kill -TERM "$CP" 2>/dev/null && wait "$CP" 2>/dev/null
	if [ -n "$NS" ]; then
		"$SAN/crowdsec-xdp-bouncer" --pin-dir "/sys/fs/bpf/$NS" xdp uninstall >/dev/null 2>&1
		ip netns del "$NS" 2>/dev/null
	fi
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM
reports() { ls "$R" 2>/dev/null | wc -l; }
show_reports() { for f in "$R"/*; do [ -f "$f" ] && head -40 "$f" >&2; done; }

hub_config "$T" "127.0.0.1:$PORT" crowdsecurity/linux crowdsecurity/nginx ||
	{ fail "hub install"; summary; exit 1; }
mkdir -p "$T/logs"
printf 'filenames:\n  - %s/logs/auth.log\nlabels:\n  type: syslog\n---\nfilenames:\n  - %s/logs/access.log\nlabels:\n  type: nginx\n' \
	"$T" "$T" > "$E/acquis.yaml"
GEN=$SHARED_DIR/bench/logs/genlogs
python3 "$GEN" --kind sshd --lines "$SSHD_LINES" --seed 11 -o "$T/sshd.log" --quiet
python3 "$GEN" --kind nginx --lines "$NGINX_LINES" --seed 11 -o "$T/nginx.log" --quiet

# 1. replays into the in-process LAPI
for kind in sshd nginx; do
	type=$([ $kind = sshd ] && echo syslog || echo nginx)
	"$SAN/crowdsec" -c "$E/config.yaml" -dsn "file://$T/$kind.log" -type "$type" \
		>"$T/replay-$kind.out" 2>&1
	check_eq "replay $kind ($(wc -l <"$T/$kind.log") lines): exit status" "$?" 0
done
alerts=$(sqlite3 "$T/data/crowdsec.db" 'select count(*) from alerts' 2>/dev/null)
check "replays stored alerts (${alerts:-0})" test "${alerts:-0}" -gt 10
check_eq "replays: no sanitizer report" "$(reports)" 0

# 2. the live daemon: detector + LAPI
if [ -n "$NS" ]; then
	ip netns add "$NS"
	ip netns exec "$NS" ip link set lo up
	ip link add "${NS}a" netns "$NS" type veth peer name "${NS}b" netns "$NS"
	ip netns exec "$NS" ip link set "${NS}a" up
	ip netns exec "$NS" ip link set "${NS}b" up
fi
CSCLI=("${IN_NS[@]}" "$SAN/cscli" -c "$E/config.yaml")
"${CSCLI[@]}" machines add santest --auto --force -f "$E/local_api_credentials.yaml" >/dev/null 2>&1
KEY=$("${CSCLI[@]}" -o raw bouncers add sanbouncer 2>/dev/null)
: > "$T/logs/auth.log"; : > "$T/logs/access.log"
"${IN_NS[@]}" "$SAN/crowdsec" -c "$E/config.yaml" >"$T/live.out" 2>&1 &
CP=$!
up=0
for _ in $(seq 300); do
	"${IN_NS[@]}" curl -fs "127.0.0.1:$PORT/health" >/dev/null 2>&1 &&
		grep -q "detector ready" "$T/live.out" && { up=1; break; }
	sleep 0.1
done
check_eq "live crowdsec (detector + LAPI) answers and tails" "$up" 1

# attacks written live: ssh brute forces and nginx probing, stamped now
now_bsd() { date '+%b %e %H:%M:%S'; }
now_clf() { date '+%d/%b/%Y:%H:%M:%S %z'; }
for i in $(seq 8); do
	for ip in 198.18.1.1 198.18.1.2 2001:db8::1:1; do
		printf '%s bastion sshd[%d]: Failed password for root from %s port %d ssh2\n' \
			"$(now_bsd)" $((500 + i)) "$ip" $((40000 + i)) >> "$T/logs/auth.log"
	done
done
for i in $(seq 30); do
	printf '198.18.2.1 - - [%s] "GET /admin%d.php HTTP/1.1" 404 153 "-" "Mozilla/5.0"\n' \
		"$(now_clf)" "$i" >> "$T/logs/access.log"
done
# cscli load meanwhile
for i in $(seq 20); do
	"${CSCLI[@]}" decisions add --ip "198.18.3.$i" --duration 1h --reason "san $i" >/dev/null 2>&1
done
"${CSCLI[@]}" decisions add --range 198.18.4.0/24 --duration 1h >/dev/null 2>&1
"${CSCLI[@]}" decisions add --ip 2001:db8::3:1 --duration 1h >/dev/null 2>&1
"${CSCLI[@]}" decisions add --ip 198.18.5.1 --duration 3s >/dev/null 2>&1
for _ in $(seq 3); do
	"${CSCLI[@]}" decisions list -o json >/dev/null 2>&1
	"${CSCLI[@]}" alerts list -o json >/dev/null 2>&1
done
"${CSCLI[@]}" decisions delete --ip 198.18.3.20 >/dev/null 2>&1
"${CSCLI[@]}" bouncers list >/dev/null 2>&1
"${CSCLI[@]}" machines list >/dev/null 2>&1
live_alerted() {
	"${CSCLI[@]}" decisions list -o json 2>/dev/null |
		jq -e --arg v "$1" '[.[]? | .decisions[]? | select(.value == $v)] | length > 0' >/dev/null
}
for ip in 198.18.1.1 2001:db8::1:1 198.18.2.1; do
	ok=0
	for _ in $(seq 100); do live_alerted "$ip" && { ok=1; break; }; sleep 0.2; done
	check_eq "live attack from $ip decided" "$ok" 1
done
check "cscli decision for 198.18.3.1 listed" live_alerted 198.18.3.1

# 3. the bouncer (root: XDP in the netns)
if [ -n "$NS" ]; then
	xdp_bouncer_config "$T/bouncer.yaml" "$PORT" "$KEY" "${NS}b" "/sys/fs/bpf/$NS" 200ms
	"${IN_NS[@]}" "$SAN/crowdsec-xdp-bouncer" -c "$T/bouncer.yaml" >"$T/bouncer.out" 2>&1 &
	BP=$!
	entries() {
		"$SAN/crowdsec-xdp-bouncer" --pin-dir "/sys/fs/bpf/$NS" xdp status -o json 2>/dev/null |
			jq '(.entries.ipv4_hosts // 0) + (.entries.ipv4_ranges // 0) + (.entries.ipv6_hosts // 0)'
	}
	n=0
	for _ in $(seq 150); do n=$(entries); [ "${n:-0}" -ge 22 ] && break; sleep 0.2; done
	check "bouncer applied the LAPI's decisions (${n:-0} entries)" test "${n:-0}" -ge 22
	"${CSCLI[@]}" decisions delete --ip 198.18.3.1 >/dev/null 2>&1
	for i in $(seq 21 40); do
		"${CSCLI[@]}" decisions add --ip "198.18.3.$i" --duration 2s >/dev/null 2>&1
	done
	sleep 4	# deltas applied, then the 2 s decisions expire in the bouncer
	kill -TERM "$BP"; wait "$BP"; rc=$?; BP=
	check_eq "bouncer exits 0 on SIGTERM" "$rc" 0
else
	skip "bouncer under ASan: needs root (XDP, netns)" 2
fi
kill -TERM "$CP"; wait "$CP"; rc=$?; CP=
check_eq "live crowdsec exits 0 on SIGTERM" "$rc" 0
check_eq "no sanitizer report from any process" "$(reports)" 0
show_reports
summary
