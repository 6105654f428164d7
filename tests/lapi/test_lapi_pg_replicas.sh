#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two LAPIs (crowdsec -no-cs) on one PostgreSQL (a private server, tests/lib/pg.sh):
# a decision added through A is in the stream of a bouncer pulling from B within one
# pull period, a deletion through B reaches A's stream, and a bouncer that moves
# between A and B at every pull while both take alerts gets every decision exactly
# once (the replicas share a change sequence: db/stream.c, pg_sync()).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

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
summary
