#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two LAPIs (crowdsec -no-cs) on one PostgreSQL (a private server, tests/lib/pg.sh):
# a decision added through A is in the stream of a bouncer pulling from B within one
# pull period, a deletion through B reaches A's stream, and a bouncer that moves
# between A and B at every pull while both take alerts gets every decision exactly
# once (the replicas share a change sequence: db/stream.c, pg_sync()). Pulls with
# nothing new cost no per-pull query on either replica (a replica reads the
# bouncers' change counter at most every 100 ms) (lapi/bouncer_cache.c: counted by
# pg_stat_statements, and answered while PostgreSQL is down); a deleted bouncer is
# refused by both soon after; an alert sent again to the other replica is stored once.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/pg.sh"

# the statements the LAPIs run, counted by the server as they complete
[ -e "$(pg_bin)/../lib/pg_stat_statements.so" ] && PG_OPTS="-c shared_preload_libraries=pg_stat_statements"
lapi_pg_setup pgrepl 18680 curl python3
PIDB=
LAPI_ON_EXIT+=('[ -n "$PIDB" ] && kill "$PIDB" 2>/dev/null')
lapi_config "$T/config.yaml"
lapi_profiles
# one JWT secret for the replicas (CrowdSec's CS_LAPI_SECRET): a token from A works on B
export CS_LAPI_SECRET=replica-secret-$$-0123456789abcdef0123456789abcdef0123456789abcdef
PORTB=$(free_port $((PORT + 1)))
URLB=http://127.0.0.1:$PORTB
sed "s/127.0.0.1:$PORT\$/127.0.0.1:$PORTB/" "$T/config.yaml" >"$T/configb.yaml"
lapi_start || { fail "LAPI A did not start: $(tail -3 "$T/lapi.log")"; summary; exit 1; }
"$CROWDSEC" -no-cs -c "$T/configb.yaml" >>"$T/lapib.log" 2>&1 &
PIDB=$!
check "LAPI B on the same database" wait_http "$URLB/health"
$CSCLI machines add m1 -p machinepassword1 -f "$T/local_api_credentials.yaml" >/dev/null 2>&1
KEY=$($CSCLI -oraw bouncers add mover 2>/dev/null)

token() { curl -s -X POST "$1/v1/watchers/login" -d '{"machine_id":"m1","password":"machinepassword1"}' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
TA=$(token "$URL") TB=$(token "$URLB")
check_eq "a machine token from A is good on B (CS_LAPI_SECRET)" \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TA" "$URLB/v1/heartbeat")" 200
pull() { curl -s -H "X-Api-Key: $KEY" "$1/v1/decisions/stream?startup=${2:-false}"; }
# in_stream URL new|deleted VALUE: within 2 s (20 pulls, 0.1 s apart)
in_stream() {
	local i
	for i in $(seq 20); do
		pull "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(x["value"] == sys.argv[2] for x in d[sys.argv[1]] or []) else 1)' "$2" "$3" && return 0
		sleep 0.1
	done
	return 1
}
alert() { # URL TOKEN IP: an alert the profile turns into a ban
	local ts
	ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$1/v1/alerts" -d \
		"[{\"capacity\":5,\"decisions\":null,\"events\":[],\"events_count\":6,\"leakspeed\":\"10s\",\"message\":\"t\",\"remediation\":true,\"scenario\":\"crowdsecurity/ssh-bf\",\"scenario_hash\":\"h\",\"scenario_version\":\"0.1\",\"simulated\":false,\"source\":{\"ip\":\"$3\",\"scope\":\"Ip\",\"value\":\"$3\"},\"start_at\":\"$ts\",\"stop_at\":\"$ts\"}]"
}

pull "$URLB" true >/dev/null
$CSCLI decisions add --ip 198.18.79.1 --duration 1h >/dev/null 2>&1
check "added through A: in B's stream within 2 s" in_stream "$URLB" new 198.18.79.1
curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $TB" "$URLB/v1/decisions?ip=198.18.79.1"
check "deleted through B: in A's deleted within 2 s" in_stream "$URL" deleted 198.18.79.1

# the bouncer alternates A and B at every pull while alerts go to both
pull "$URL" true >"$T/pulls.json"
echo >>"$T/pulls.json"
(
	for n in $(seq 2 61); do
		if [ $((n % 2)) = 0 ]; then alert "$URL" "$TA" "198.18.79.$n"; else alert "$URLB" "$TB" "198.18.79.$n"; fi
		echo
	done >"$T/pushed"
) &
W=$!
for i in $(seq 600); do # bounded: 600 pulls at most
	if [ $((i % 2)) = 0 ]; then pull "$URL"; else pull "$URLB"; fi >>"$T/pulls.json"
	echo >>"$T/pulls.json"
	kill -0 $W 2>/dev/null || { [ -n "${done_at:-}" ] || done_at=$i; [ $((i - done_at)) -ge 6 ] && break; }
	sleep 0.05
done
wait $W
check_eq "60 alerts acknowledged (201)" "$(grep -c '^201$' "$T/pushed")" 60
read -r got dup missing < <(python3 - "$T/pulls.json" <<'PY'
import json, sys
seen = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    for d in json.loads(line).get("new") or []:
        if d["value"].startswith("198.18.79.") and d["value"] != "198.18.79.1":
            seen[d["value"]] = seen.get(d["value"], 0) + 1
want = {"198.18.79.%d" % n for n in range(2, 62)}
print(len(seen), sum(1 for v in seen.values() if v > 1), len(want - set(seen)))
PY
)
check_eq "moving bouncer: every decision received" "$missing" 0
check_eq "moving bouncer: none twice" "$dup" 0
check_eq "moving bouncer: 60 distinct" "$got" 60

# ---- exactly once across replicas: a batch sent again to the other replica is stored once -------
ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ualert="[{\"uuid\":\"7d1f0c2a-replicas-$$\",\"capacity\":5,\"decisions\":null,\"events\":[],\"events_count\":6,\"leakspeed\":\"10s\",\"message\":\"t\",\"remediation\":true,\"scenario\":\"crowdsecurity/ssh-bf\",\"scenario_hash\":\"h\",\"scenario_version\":\"0.1\",\"simulated\":false,\"source\":{\"ip\":\"198.18.79.150\",\"scope\":\"Ip\",\"value\":\"198.18.79.150\"},\"start_at\":\"$ts\",\"stop_at\":\"$ts\"}]"
ida=$(curl -s -H "Authorization: Bearer $TA" "$URL/v1/alerts" -d "$ualert")
idb=$(curl -s -H "Authorization: Bearer $TB" "$URLB/v1/alerts" -d "$ualert")
check "a uuid alert stored through A" grep -q '^\["[0-9]*"\]$' <<<"$ida"
check_eq "sent again through B: A's id" "$idb" "$ida"
check_eq "stored once" "$(lapi_sql "SELECT count(*) FROM alerts WHERE source_value = '198.18.79.150'")" 1

# ---- a pull with nothing new costs no query, on either replica -----------------------------------
EMPTY='{"deleted":null,"new":null}'
quiet() { # both replicas have nothing new for the bouncer (the deletion window is 2 s)
	[ "$(pull "$URL")" = "$EMPTY" ] && [ "$(pull "$URLB")" = "$EMPTY" ]
}
check "nothing new for the bouncer on A and B" wait_until 20 quiet
# N pulls, half on each replica: URL... for one curl each (a keep-alive connection)
pulls() {
	local i a=() b=()
	for i in $(seq "$1"); do
		a+=("$URL/v1/decisions/stream?startup=false")
		b+=("$URLB/v1/decisions/stream?startup=false")
	done
	curl -s -H "X-Api-Key: $KEY" -w '\n' "${a[@]}"
	curl -s -H "X-Api-Key: $KEY" -w '\n' "${b[@]}"
}
# calls of the statements matching LIKE $1 since the reset
calls() {
	pg_psql "$LAPI_PG_DB" "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '$1'"
}
if [ -n "${PG_OPTS:-}" ] && pg_psql "$LAPI_PG_DB" "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null 2>&1; then
	pg_psql "$LAPI_PG_DB" "SELECT pg_stat_statements_reset()" >/dev/null
	t0=$(date +%s)
	pulls 100 >"$T/quiet.txt"
	secs=$(($(date +%s) - t0 + 1))
	check_eq "200 pulls with nothing new: all empty" "$(grep -cxF "$EMPTY" "$T/quiet.txt")" 200
	check_eq "200 pulls with nothing new: no bouncer lookup" "$(calls '%FROM bouncers WHERE api_key%')" 0
	# the batch of last_pulls each replica writes every 2 s (lapi/bouncer_cache.c) at most
	n=$(calls '%SET last_pull%')
	check "200 pulls with nothing new in ${secs}s: $n last_pull writes, at most $((secs + 4))" \
		test "$n" -le $((secs + 4))
else
	skip "pg_stat_statements not available: pulls not counted" 3
fi

# ---- and needs no database: answered from memory while PostgreSQL is down ------------------------
pg_stop
check_eq "PostgreSQL down: a pull with nothing new on A" "$(pull "$URL")" "$EMPTY"
check_eq "PostgreSQL down: a pull with nothing new on B" "$(pull "$URLB")" "$EMPTY"
pg_ctl_start
check "PostgreSQL back: A says healthy" wait_until 20 curl -sf -o /dev/null "$URL/health"
check "PostgreSQL back: B says healthy" wait_until 20 curl -sf -o /dev/null "$URLB/health"
$CSCLI decisions add --ip 198.18.79.200 --duration 1h >/dev/null 2>&1
check "after the restart: added through A, in B's stream within 2 s" in_stream "$URLB" new 198.18.79.200

# ---- a deleted bouncer is refused by both replicas soon after ------------------------------------
refused() { [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Api-Key: $KEY" "$1/v1/decisions/stream")" = 403 ]; }
$CSCLI bouncers delete mover >/dev/null 2>&1
check "deleted bouncer: refused by A within 5 s" wait_until 5 refused "$URL"
check "deleted bouncer: refused by B within 5 s" wait_until 5 refused "$URLB"
summary
