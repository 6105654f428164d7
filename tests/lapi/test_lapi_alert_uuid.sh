#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Exactly once across LAPI restarts: an agent that sends a batch again (its
# acknowledgement lost) gets the ids already stored for its alerts' uuids, before
# and after the LAPI restarted (the database's unique (machine, uuid), not only the
# in-memory dedupe); the same uuid from another machine, or another uuid, is a new
# alert. On PostgreSQL too (test_lapi_pg.sh; replicas: test_lapi_pg_replicas.sh).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup alertuuid 18720 curl python3
lapi_profiles
lapi_config "$T/config.yaml"
lapi_start || { fail "LAPI did not start: $(tail -3 "$T/lapi.log")"; summary; exit 1; }
$CSCLI machines add m1 -p machinepassword1 -f "$T/local_api_credentials.yaml" >/dev/null 2>&1
$CSCLI machines add m2 -p machinepassword2 -f "$T/m2.yaml" >/dev/null 2>&1

token() { curl -s -X POST "$URL/v1/watchers/login" -d "{\"machine_id\":\"$1\",\"password\":\"$2\"}" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
# push TOKEN UUID IP: the ids the LAPI answers, or the status when not 201
push() {
	local ts
	ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	req POST /v1/alerts -H "Authorization: Bearer $1" -d \
		"[{\"uuid\":\"$2\",\"capacity\":5,\"decisions\":null,\"events\":[],\"events_count\":6,\"leakspeed\":\"10s\",\"message\":\"t\",\"remediation\":true,\"scenario\":\"crowdsecurity/ssh-bf\",\"scenario_hash\":\"h\",\"scenario_version\":\"0.1\",\"simulated\":false,\"source\":{\"ip\":\"$3\",\"scope\":\"Ip\",\"value\":\"$3\"},\"start_at\":\"$ts\",\"stop_at\":\"$ts\"}]"
	[ "$CODE" = 201 ] && echo "$BODY" || echo "status $CODE"
}
stored() { lapi_sql "SELECT count(*) FROM alerts WHERE source_value = '$1'"; }
bans() { lapi_sql "SELECT count(*) FROM decisions WHERE value = '$1'"; }

U=0b5c3a1e-7f7e-4c53-9d2c-$$
T1=$(token m1 machinepassword1)
first=$(push "$T1" "$U-a" 198.18.81.1)
check "first push stored" grep -q '^\["[0-9]*"\]$' <<<"$first"
check_eq "sent again: the same id" "$(push "$T1" "$U-a" 198.18.81.1)" "$first"

kill "$PID"
wait "$PID" 2>/dev/null
lapi_start || { fail "LAPI did not restart: $(tail -3 "$T/lapi.log")"; summary; exit 1; }
T1=$(token m1 machinepassword1)
check_eq "sent again after a LAPI restart: the same id" "$(push "$T1" "$U-a" 198.18.81.1)" "$first"
check_eq "stored once" "$(stored 198.18.81.1)" 1
check_eq "its decision stored once" "$(bans 198.18.81.1)" 1

other=$(push "$T1" "$U-b" 198.18.81.1)
check "another uuid is another alert" test "$other" != "$first" -a "${other#status}" = "$other"
T2=$(token m2 machinepassword2)
theirs=$(push "$T2" "$U-a" 198.18.81.1)
check "the same uuid from another machine is its own alert" \
	test "$theirs" != "$first" -a "${theirs#status}" = "$theirs"
check_eq "three alerts in all" "$(stored 198.18.81.1)" 3
check_eq "alerts without a uuid are stored each time" \
	"$(push "$T1" "" 198.18.81.2 >/dev/null; push "$T1" "" 198.18.81.2 >/dev/null; stored 198.18.81.2)" 2
summary
