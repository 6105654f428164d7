#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The daemons under valgrind (memcheck): no invalid access and no definite leak
# in (1) a crowdsec replay storing its alerts through the in-process LAPI, (2) the
# LAPI serving a bouncer and cscli, (3) crowdsec-xdp-bouncer (applier and its
# forked fetcher) applying and expiring decisions. bpf(2) attribute noise is
# suppressed (tests/valgrind.supp).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lapi/lapi_lib.sh"
command -v valgrind >/dev/null || skip_all "valgrind not installed (make test-deps installs it)" 7
need_root "valgrind daemons test (XDP)" 7
if ldd "$BUILD/crowdsec" | grep -q libasan; then
	skip "a sanitizer build (ASan and valgrind exclude each other): run it on the plain build" 7
	summary; exit 0
fi
need_hub 7
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
PORT=$(free_port 18600)	# the replay listens outside the netns
NS=csvg$(( $$ % 100000 ))
VG=(valgrind --quiet --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite
	--error-exitcode=99 --suppressions="$ROOT/tests/valgrind.supp" --log-file="$T/vg.%p")
LP= BP=
cleanup() {
	[ -n "$BP" ] && kill -TERM "$BP" 2>/dev/null && wait "$BP" 2>/dev/null
	[ -n "$LP" ] && kill -TERM "$LP" 2>/dev/null && wait "$LP" 2>/dev/null
	"$BUILD/crowdsec-xdp-bouncer" --pin-dir "/sys/fs/bpf/$NS" xdp uninstall >/dev/null 2>&1
	ip netns del "$NS" 2>/dev/null
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM

E=$T/etc
mkdir -p "$T/data"
cs_etc "$E" parsers/s00-raw/crowdsecurity/syslog-logs.yaml parsers/s01-parse/crowdsecurity/sshd-logs.yaml \
	parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml "$ROOT/scenarios/crowdsec-xdp/ssh-bf.yaml"
cs_config "$E" "$T/data" "127.0.0.1:$PORT"
python3 "$SHARED_DIR/bench/logs/genlogs" --kind sshd --lines 2000 --seed 3 -o "$T/sshd.log" --quiet

# 1. replay into the in-process LAPI
"${VG[@]}" "$BUILD/crowdsec" -c "$E/config.yaml" -dsn "file://$T/sshd.log" -type syslog >/dev/null 2>&1
rc=$?
alerts=$(sqlite3 "$T/data/crowdsec.db" 'select count(*) from alerts' 2>/dev/null)
check "replay ran under valgrind and stored alerts ($alerts)" test "${alerts:-0}" -gt 0
check_eq "replay: no memory error, no definite leak" "$rc" 0

# 2. the LAPI daemon (in a netns, so the bouncer below can attach to its veth)
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip link add "${NS}a" netns "$NS" type veth peer name "${NS}b" netns "$NS"
ip netns exec "$NS" ip link set "${NS}a" up; ip netns exec "$NS" ip link set "${NS}b" up
CSCLI=("$BUILD/cscli" -c "$E/config.yaml")
"${CSCLI[@]}" machines add vg --auto --force -f "$E/local_api_credentials.yaml" >/dev/null 2>&1
KEY=$("${CSCLI[@]}" -o raw bouncers add vgbouncer 2>/dev/null)
nsenter --net=/run/netns/$NS "${VG[@]}" "$BUILD/crowdsec" -c "$E/config.yaml" -no-cs >/dev/null 2>&1 &
LP=$!
for _ in $(seq 300); do nsenter --net=/run/netns/$NS curl -fs "127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
# replayed decisions expire relative to the log's time (1.4.6 does the same): add live ones
nsenter --net=/run/netns/$NS "${CSCLI[@]}" decisions add --ip 198.18.9.8 --duration 1h >/dev/null 2>&1
nsenter --net=/run/netns/$NS "${CSCLI[@]}" decisions add --range 198.18.10.0/24 --duration 1h >/dev/null 2>&1
got=$(nsenter --net=/run/netns/$NS curl -s -H "X-Api-Key: $KEY" "127.0.0.1:$PORT/v1/decisions/stream?startup=true" | jq '.new | length')
check_eq "LAPI under valgrind serves the stream" "$got" 2

# 3. the bouncer against it
xdp_bouncer_config "$T/bouncer.yaml" "$PORT" "$KEY" "${NS}b" "/sys/fs/bpf/$NS"
nsenter --net=/run/netns/$NS "${VG[@]}" "$BUILD/crowdsec-xdp-bouncer" -c "$T/bouncer.yaml" >/dev/null 2>&1 &
BP=$!
for _ in $(seq 300); do
	n=$("$BUILD/crowdsec-xdp-bouncer" --pin-dir "/sys/fs/bpf/$NS" xdp status -o json 2>/dev/null |
		jq '(.entries.ipv4_hosts // 0) + (.entries.ipv4_ranges // 0)')
	[ "${n:-0}" -ge 2 ] && break
	sleep 0.2
done
check_eq "bouncer under valgrind applied the startup set" "$n" 2
nsenter --net=/run/netns/$NS "${CSCLI[@]}" decisions add --ip 198.18.9.9 --duration 2s >/dev/null 2>&1
sleep 6	# a pull applies it, the expiry timer removes it
kill -TERM "$BP"; wait "$BP"; rc_b=$?; BP=
kill -TERM "$LP"; wait "$LP"; rc_l=$?; LP=
check_eq "LAPI: no memory error, no definite leak" "$rc_l" 0
check_eq "bouncer: no memory error, no definite leak" "$rc_b" 0
check "fetcher child: no memory error, no definite leak" bash -c "! grep -l 'ERROR SUMMARY: [1-9]' $T/vg.* >/dev/null"
grep -h -A6 "ERROR SUMMARY: [1-9]\|definitely lost: [1-9]" "$T"/vg.* 2>/dev/null | head -30 >&2
summary
