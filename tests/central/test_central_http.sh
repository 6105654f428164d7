#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# crowdsec-central over HTTP: the CAPI subset a LAPI uses (register, login,
# signals, v2 and v3 decision streams, metrics), consensus end to end (three
# reporters from three networks), untainted hub scenarios only, reports that
# cannot remove a listing, the admin commands, and hostile input (field-naming
# errors, JSON depth, batch and body bounds, bad tokens).
set -u
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lapi/lapi_lib.sh"
. "$(dirname "$0")/central_lib.sh"
BUILD=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}

central_setup http 18700
check "server starts" central_start
ADMIN="$CENTRAL -c $T/central.yaml"

reporter r1 1; T1=$TOKEN
check_eq "register + login (v2)" "$CODE" 200
reporter r2 2; T2=$TOKEN
reporter r3 3; T3=$TOKEN
creq POST /v2/watchers 1 -d '{"machine_id":"r1","password":"x"}'
check_eq "register twice: 403" "$CODE" 403
creq POST /v2/watchers/login 1 -d '{"machine_id":"r1","password":"wrong"}'
check_eq "bad password: 401" "$CODE" 401

# consensus over HTTP: two reporters do not list, the third (third /24) does
A=198.18.40.1
for i in 1 2; do
	eval "tok=\$T$i"
	creq POST /v2/signals "$i" -H "Authorization: Bearer $tok" -d "[$(signal $A)]"
	check_eq "signal from r$i accepted" "$CODE" 200
done
creq GET '/v2/decisions/stream?startup=true' 1 -H "Authorization: Bearer $T1"
check_eq "two reports: nothing listed" "$BODY" '{"deleted":[],"new":[]}'
creq POST /v2/signals 3 -H "Authorization: Bearer $T3" -d "[$(signal $A)]"
creq GET '/v2/decisions/stream?startup=true' 1 -H "Authorization: Bearer $T1"
check "third reporter lists it (v2: origin CAPI, scope Ip, ban)" python3 -c '
import json,sys; d=json.loads(sys.argv[1])["new"]
assert len(d)==1 and d[0]["value"]==sys.argv[2] and d[0]["origin"]=="CAPI" and d[0]["scope"]=="Ip" and d[0]["type"]=="ban" and d[0]["scenario"]=="crowdsecurity/ssh-bf", d
' "$BODY" $A
creq GET '/v3/decisions/stream?startup=true' 2 -H "Authorization: Bearer $T2"
check "v3 stream groups by scenario" python3 -c '
import json,sys; d=json.loads(sys.argv[1])
assert d["new"][0]["scenario"]=="crowdsecurity/ssh-bf" and d["new"][0]["decisions"][0]["value"]==sys.argv[2] and "links" in d, d
' "$BODY" $A

# tailored: a member that runs only http scenarios does not get an ssh listing
reporter web 9 '["crowdsecurity/http-probing"]'; TW=$TOKEN
creq GET '/v2/decisions/stream?startup=true' 9 -H "Authorization: Bearer $TW"
check_eq "tailored to the member's scenarios" "$BODY" '{"deleted":[],"new":[]}'

# untainted hub scenarios only
B=198.18.41.1
for i in 1 2 3; do
	eval "tok=\$T$i"
	case $i in
	1) s=$(signal $B crowdsecurity/ssh-bf tainted) ;;
	2) s=$(signal $B my-local-scenario custom "") ;;
	3) s=$(signal $B crowdsecurity/ssh-bf certified abc "?") ;;
	esac
	creq POST /v2/signals "$i" -H "Authorization: Bearer $tok" -d "[$s]"
done
check "tainted, custom and unversioned reports do not count" \
	sh -c "$ADMIN explain $B | grep -q 'window: 0 reporter'"

# a scenario name goes into every member's answer: only hub names (author/name) count
Q=198.18.43.1
for i in 1 2 3; do
	eval "tok=\$T$i"
	creq POST /v2/signals "$i" -H "Authorization: Bearer $tok" -d "[$(signal $Q 'crowdsecurity/x\"},{\"value')]"
done
check "a scenario name that is no hub name does not count" \
	sh -c "$ADMIN explain $Q | grep -q 'window: 0 reporter'"

# reporting cannot remove a listing
creq POST /v3/decisions/delete 1 -H "Authorization: Bearer $T1" -d "[{\"decisions\":[\"$A\"]}]"
check_eq "decisions/delete is accepted" "$CODE" 200
creq GET '/v2/decisions/stream?startup=true' 1 -H "Authorization: Bearer $T1"
check "and removes nothing" grep -q "$A" "$T/body"

# a delta with nothing new (a second delta pull: past the slack it is empty)
creq POST /v2/metrics/ 1 -H "Authorization: Bearer $T1" -d '{"machines":[{"name":"x"}],"bouncers":[]}'
check_eq "metrics accepted (1.4.6 path with the slash)" "$CODE" 200
creq POST /v3/metrics 1 -H "Authorization: Bearer $T1" -d '{"machines":[]}'
check "metrics: missing field named" sh -c "[ $CODE = 400 ] && echo '$BODY' | grep -q bouncers"

# hostile input: errors name the field and the index
creq POST /v2/signals 1 -H "Authorization: Bearer $T1" -d '[{"scenario":"a/b"}]'
check "missing field named" sh -c "[ $CODE = 400 ] && grep -q 'signal 0: scenario_hash: required' $T/body"
creq POST /v2/signals 1 -H "Authorization: Bearer $T1" -d "[$(signal 1.2.3.4),{\"scenario\":\"a/b\",\"scenario_hash\":\"h\",\"scenario_version\":\"1\",\"source\":{\"scope\":\"Ip\"}}]"
check "nested field named with its index" sh -c "[ $CODE = 400 ] && grep -q 'signal 1: source.value' $T/body"
creq POST /v2/signals 1 -H "Authorization: Bearer $T1" -d "[$(signal 1.2.3.4 | sed 's/"start_at":"[^"]*"/"start_at":"yesterday"/')]"
check "bad time named" sh -c "[ $CODE = 400 ] && grep -q 'start_at' $T/body"
creq POST /v2/signals 1 -H "Authorization: Bearer $T1" -d "$(python3 -c 'print("["*100 + "]"*100)')"
check "JSON depth bounded" sh -c "[ $CODE = 400 ] && grep -q 'too deep' $T/body"
creq POST /v2/signals 1 -H "Authorization: Bearer $T1" -d "[$(python3 -c 'print(",".join(["{}"]*1001))')]"
check "batch size bounded" sh -c "[ $CODE = 400 ] && grep -q 'at most 1000' $T/body"
creq POST /v2/signals 1 -H "Authorization: Bearer $T1" -d '{"not":"an array"}'
check_eq "not an array: 400" "$CODE" 400
creq POST /v2/signals 1 -H "Authorization: Bearer $T1" -H 'Content-Length: 99999999' -d '[]'
check_eq "body too large: 413" "$CODE" 413
creq POST /v2/signals 1 -H "Authorization: Bearer nope" -d '[]'
check_eq "bad token: 401" "$CODE" 401
creq POST /v2/watchers 1 -d '{"machine_id":"a b","password":"x"}'
check "bad machine_id named" sh -c "[ $CODE = 400 ] && grep -q machine_id $T/body"
creq GET /v1/decisions/stream 1
check_eq "no LAPI routes here" "$CODE" 404

# admin: block a reporter, safe list, explain
check "reporters list shows trust" sh -c "$ADMIN reporters list | grep -E '^r1 .*0\.50 .* ok'"
check "block" $ADMIN reporters block r1
creq POST /v2/signals 1 -H "Authorization: Bearer $T1" -d "[$(signal 198.18.42.1)]"
check_eq "a blocked reporter is refused" "$CODE" 403
check "safe add ends the listing" $ADMIN safe add 198.18.40.0/24 "test range"
check "explain says safe" sh -c "$ADMIN explain $A | grep -q 'safe list'"
creq GET '/v2/decisions/stream?startup=true' 2 -H "Authorization: Bearer $T2"
check_eq "no longer listed" "$BODY" '{"deleted":[],"new":[]}'
check "safe add with host bits refused" sh -c "! $ADMIN safe add 198.18.40.1/24 2>&1"
check "status" sh -c "$ADMIN status | grep -q 'listed: 0'"
# on PostgreSQL, test_central_pg.sh checks the same columns itself
if [ -z "${CENTRAL_DB_CONFIG:-}" ]; then
check "a signal row keeps only ip, scenario, hash, version, times, reporter" python3 -c '
import sqlite3,sys; db=sqlite3.connect(sys.argv[1])
cols=[r[1] for r in db.execute("PRAGMA table_info(central_signals)")]
assert cols==["id","reporter","ip","scenario","scenario_hash","scenario_version","start_at","stop_at","created_at","state"], cols
dump="\n".join(db.iterdump()); assert "performed" not in dump
' "$T/central.db"
fi

summary
