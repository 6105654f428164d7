#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The LAPI over HTTP on loopback, against the 1.4.6 contract: auth, decision
# stream (startup, delta, expiry, soft delete, filters, null vs []), ip-in-range
# queries, bad input and SQL metacharacters, limits, metrics, cscli outputs, and
# durability of acknowledged decisions across kill -9.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup http 18461 curl $([ "${LAPI_DB:-sqlite}" = sqlite ] && echo sqlite3)
PPORT=${LAPI_TEST_PROM_PORT:-$(free_port $((PORT + 1)))}

# the db path through an environment variable (expanded by the config loader)
LAPI_DB_PATH='${CS_TEST_DIR}/crowdsec.db' lapi_config "$T/config.yaml" "    trusted_ips:
      - 127.0.0.1
      - \"::1\"
    max_body_bytes: 262144" "prometheus:
  enabled: true
  listen_addr: 127.0.0.1
  listen_port: $PPORT"
export CS_TEST_DIR=$T
lapi_profiles "duration_expr: Sprintf('%dh', (GetDecisionsCount(Alert.GetValue()) + 1) * 4)"

start() { lapi_start; }

jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>/dev/null; }
now_rfc() { date -u +%Y-%m-%dT%H:%M:%SZ; }
alert_json() { # SCOPE VALUE [remediation] [scenario]
	local ts
	ts=$(now_rfc)
	printf '[{"capacity":5,"decisions":null,"events":[{"meta":[{"key":"source_ip","value":"%s"}],"timestamp":"%s"}],"events_count":6,"labels":null,"leakspeed":"10s","message":"test","remediation":%s,"scenario":"%s","scenario_hash":"h","scenario_version":"0.1","simulated":false,"source":{"ip":"%s","scope":"%s","value":"%s"},"start_at":"%s","stop_at":"%s"}]' \
		"$2" "$ts" "${3:-true}" "${4:-crowdsecurity/ssh-bf}" "$2" "$1" "$2" "$ts" "$ts"
}
alert_count() { lapi_sql 'SELECT COUNT(*) FROM alerts'; }
decision_count() { lapi_sql 'SELECT COUNT(*) FROM decisions'; }

# ---- setup through cscli (direct DB) -----------------------------------------------
check "cscli machines add" $CSCLI machines add m1 -p machinepassword1 -f "$T/local_api_credentials.yaml"
KEY=$($CSCLI -oraw bouncers add b1 2>/dev/null)
check_eq "bouncers add -o raw prints the bare 32-hex key" "$(printf %s "$KEY" | grep -cE '^[0-9a-f]{32}$')" 1
KEY2=$($CSCLI -oraw bouncers add b2 -k "b2-chosen-key")
check_eq "bouncers add -k keeps the key" "$KEY2" "b2-chosen-key"
check "key stored hashed (sha512 hex), never in clear" \
	test "$(lapi_sql "SELECT length(api_key) FROM bouncers WHERE name='b1'")" = 128
if [ "${LAPI_DB:-sqlite}" = sqlite ]; then
	check "no clear key in the db file" bash -c "! grep -q '$KEY' '$T/crowdsec.db'"
else
	check "no clear key in the database" test "$(lapi_sql "SELECT COUNT(*) FROM bouncers WHERE api_key = '$KEY'")" = 0
fi
$CSCLI bouncers add b1 >/dev/null 2>&1
check_eq "duplicate bouncer exits 1" "$?" 1
check_eq "raw list header" "$($CSCLI bouncers list -o raw | head -1)" \
	"name,ip,revoked,last_pull,type,version,auth_type"

check "LAPI starts" start

# ---- health, router -------------------------------------------------------------------
req GET /health
check_eq "health" "$CODE $BODY" '200 {"status":"up"}'
req GET /v1/nonexistent
check_eq "unknown route 404 empty" "$CODE:$BODY" "404:"
req PUT /v1/decisions
check_eq "wrong method 405 empty" "$CODE:$BODY" "405:"
req GET /v1/decisions/ -H "X-Api-Key: $KEY"
check_eq "trailing slash redirects" "$CODE" 301

# ---- authentication ---------------------------------------------------------------------
req GET /v1/decisions
check_eq "no api key" "$CODE $BODY" '403 {"message":"access forbidden"}'
req GET /v1/decisions/stream?startup=true -H "X-Api-Key: wrong"
check_eq "wrong api key" "$CODE $BODY" '403 {"message":"access forbidden"}'
check_eq "failed bouncer auth touched nothing" \
	"$(lapi_sql "SELECT ip_address FROM bouncers WHERE name='b1'")" ""
req POST /v1/watchers/login -d '{"machine_id":"m1","password":"wrong"}'
check_eq "wrong password" "$CODE $BODY" '401 {"code":401,"message":"incorrect Username or Password"}'
check "401 carries Www-Authenticate" grep -qi '^Www-Authenticate: JWT realm=Crowdsec API local' "$T/hdrs"
req POST /v1/watchers/login -d '{"machine_id":"nosuch","password":"x"}'
check_eq "unknown machine" "$CODE $BODY" '401 {"code":401,"message":"ent: machine not found"}'
req POST /v1/watchers/login -A nouseragent -d '{"machine_id":"m1","password":"machinepassword1"}'
check_eq "UA without slash refused" "$CODE" 401
req POST /v1/watchers/login -d '{"machine_id":"m1"}'
check_eq "missing password" "$CODE $BODY" '401 {"code":401,"message":"input format error"}'
req POST /v1/watchers -d '{"machine_id":"selfreg","password":"selfregpassword"}'
check_eq "self registration 201 empty" "$CODE:$BODY" "201:"
req POST /v1/watchers -d '{"machine_id":"selfreg","password":"selfregpassword"}'
check_eq "registration twice" "$CODE $BODY" "403 {\"message\":\"user 'selfreg': user already exist\"}"
req POST /v1/watchers/login -d '{"machine_id":"selfreg","password":"selfregpassword"}'
check_eq "unvalidated machine cannot log in" "$BODY" '{"code":401,"message":"machine selfreg not validated"}'
req POST /v1/watchers/login -A "crowdsec/v1.4.6-test" \
	-d '{"machine_id":"m1","password":"machinepassword1","scenarios":["a/b","c/d"]}'
check_eq "login ok" "$CODE" 200
TOKEN=$(printf %s "$BODY" | jq_ 'd["token"]')
check "expire is RFC3339 Z" bash -c "printf %s '$BODY' | grep -qE '\"expire\":\"[0-9-]{10}T[0-9:]{8}Z\"'"
check_eq "login stored version and scenarios" \
	"$(lapi_sql "SELECT version||'|'||scenarios FROM machines WHERE machine_id='m1'")" \
	"v1.4.6-test|a/b,c/d"
AUTH=(-H "Authorization: Bearer $TOKEN")
before=$(alert_count)
req POST /v1/alerts -d "$(alert_json Ip 198.18.50.1)"
check_eq "no token" "$CODE $BODY" '401 {"code":401,"message":"cookie token is empty"}'
# The signature's tenth character from the end changed: its 6 bits are all the
# MAC's (the last character's low 2 bits are not: "xx" in place of the last two
# could decode to the same MAC, about once in 1,024 tokens).
c=${TOKEN: -10:1}
BAD_TOKEN=${TOKEN:0:${#TOKEN}-10}$([ "$c" = A ] && echo B || echo A)${TOKEN: -9}
req POST /v1/alerts -H "Authorization: Bearer $BAD_TOKEN" -d "$(alert_json Ip 198.18.50.1)"
check_eq "tampered token" "$CODE" 401
# a token verified once is remembered by its connection: another one on the same connection
# (no new connect) is verified anew
check_eq "one connection: good, tampered, good token" "$(curl -s -o /dev/null -w '%{http_code} %{num_connects}\n' \
	"$URL/v1/heartbeat" "${AUTH[@]}" --next -s -o /dev/null -w '%{http_code} %{num_connects}\n' \
	-H "Authorization: Bearer $BAD_TOKEN" "$URL/v1/heartbeat" --next -s -o /dev/null \
	-w '%{http_code}\n' "${AUTH[@]}" "$URL/v1/heartbeat" | tr '\n' ' ')" "200 1 401 0 200 "
req GET /v1/alerts -H "X-Api-Key: $KEY"
check_eq "api key on a machine route" "$CODE $BODY" '401 {"code":401,"message":"cookie token is empty"}'
req GET /v1/decisions "${AUTH[@]}"
check_eq "jwt on a bouncer route" "$CODE $BODY" '403 {"message":"access forbidden"}'
check_eq "rejected requests stored nothing" "$(alert_count)" "$before"
req GET /v1/heartbeat "${AUTH[@]}"
check_eq "heartbeat 200 empty" "$CODE:$BODY" "200:"
req GET /v1/refresh_token "${AUTH[@]}"
check_eq "refresh_token issues a token" "$CODE $(printf %s "$BODY" | jq_ 'd["code"], len(d["token"]) > 100')" "200 200 True"
check "heartbeat recorded" test -n "$(lapi_sql "SELECT last_heartbeat FROM machines WHERE machine_id='m1'")"

# ---- stream: startup, agent alert through profiles, delta ------------------------------
B1=(-H "X-Api-Key: $KEY" -A "crowdsec-firewall-bouncer/-")
req GET "/v1/decisions/stream?startup=true" "${B1[@]}"
check_eq "empty startup stream" "$CODE $BODY" '200 {"deleted":null,"new":null}'
check_eq "bouncer type/version from UA" \
	"$(lapi_sql "SELECT type||'|'||version||'|'||ip_address FROM bouncers WHERE name='b1'")" \
	"crowdsec-firewall-bouncer|-|127.0.0.1"
req POST /v1/alerts "${AUTH[@]}" -d "$(alert_json Ip 198.18.9.9)"
check_eq "agent alert accepted" "$CODE $BODY" '201 ["1"]'
req POST /v1/alerts "${AUTH[@]}" -d "$(alert_json Ip 198.18.9.10 false)"
check_eq "alert without remediation accepted" "$CODE" 201
req GET "/v1/decisions/stream" "${B1[@]}"
check_eq "delta: profile ban only" "$(printf %s "$BODY" | jq_ '[(x["value"],x["origin"],x["type"],x["scope"]) for x in d["new"]]')" \
	"[('198.18.9.9', 'crowdsec', 'ban', 'Ip')]"
check "4h countdown duration" bash -c "printf %s '$BODY' | grep -qE '\"duration\":\"3h59m5[0-9](\\.[0-9]+)?s\"'"
req GET "/v1/decisions/stream" "${B1[@]}"
check_eq "next delta is empty" "$BODY" '{"deleted":null,"new":null}'
req POST /v1/alerts "${AUTH[@]}" -d "$(alert_json Ip 198.18.9.9)"
req GET "/v1/decisions/stream" "${B1[@]}"
check "repeat offender: duration_expr with GetDecisionsCount gives 8h" bash -c "printf %s '$BODY' | grep -qE '\"duration\":\"7h59m5[0-9]'"

check "cscli decisions add ip" $CSCLI decisions add -i 198.18.0.1 -d 1h -R "test ban"
check "cscli decisions add range" $CSCLI decisions add -r 198.18.1.0/24
check "cscli decisions add v6 range" $CSCLI decisions add -r 2001:db8:1::/48 -d 2h
check "cscli decisions add username" $CSCLI decisions add --scope username -v bob
check "cscli decisions add short" $CSCLI decisions add -i 198.18.7.7 -d 2s
$CSCLI decisions add -i notanip 2>"$T/err"
check_eq "cscli rejects bad ip (exit 1)" "$?" 1
check "bad ip message" grep -q "notanip isn't a valid ip" "$T/err"
req GET "/v1/decisions/stream" "${B1[@]}"
check_eq "delta: the 4 ip/range decisions, not the username one" \
	"$(printf %s "$BODY" | jq_ 'sorted(x["value"] for x in d["new"])')" \
	"['198.18.0.1', '198.18.1.0/24', '198.18.7.7', '2001:db8:1::/48']"
check_eq "cscli origin and reason" \
	"$(printf %s "$BODY" | jq_ '[x["scenario"] for x in d["new"] if x["value"]=="198.18.0.1"][0] + "|" + [x["origin"] for x in d["new"] if x["value"]=="198.18.0.1"][0]')" \
	"test ban|cscli"
sleep 2.5
req GET "/v1/decisions/stream" "${B1[@]}"
check_eq "expiry appears in deleted" "$(printf %s "$BODY" | jq_ '[x["value"] for x in d["deleted"] or []]')" "['198.18.7.7']"
check "deleted duration is negative" bash -c "printf %s '$BODY' | grep -q '\"duration\":\"-'"
check_eq "delta new is null" "$(printf %s "$BODY" | jq_ 'd["new"]')" "None"

# ---- queries by ip/range ---------------------------------------------------------------
req GET "/v1/decisions?ip=198.18.1.77" "${B1[@]}"
check_eq "ip inside a /24 range" "$(printf %s "$BODY" | jq_ '[x["value"] for x in d]')" "['198.18.1.0/24']"
req GET "/v1/decisions?ip=2001:db8:1::5" "${B1[@]}"
check_eq "v6 ip inside a /48" "$(printf %s "$BODY" | jq_ '[x["value"] for x in d]')" "['2001:db8:1::/48']"
req GET "/v1/decisions?range=198.18.0.0/16&contains=false" "${B1[@]}"
check_eq "decisions inside a /16 (GET does not de-duplicate)" "$(printf %s "$BODY" | jq_ 'sorted(x["value"] for x in d)')" \
	"['198.18.0.1', '198.18.1.0/24', '198.18.9.9', '198.18.9.9']"
req GET "/v1/decisions?ip=203.0.113.1" "${B1[@]}"
check_eq "no match is null, not []" "$CODE $BODY" "200 null"
req GET "/v1/decisions?scopes=username" "${B1[@]}"
check_eq "scopes filter (case-insensitive list)" "$(printf %s "$BODY" | jq_ '[x["value"] for x in d]')" "['bob']"
req HEAD "/v1/decisions" "${B1[@]}"
check_eq "HEAD decisions" "$CODE" 200

# ---- stream filters ----------------------------------------------------------------------
B2=(-H "X-Api-Key: $KEY2" -A "crowdsec-custom-bouncer/-")
req GET "/v1/decisions/stream?startup=true&origins=crowdsec" "${B2[@]}"
check_eq "origins filter" "$(printf %s "$BODY" | jq_ '[x["value"] for x in d["new"]]')" "['198.18.9.9']"
req GET "/v1/decisions/stream?startup=true&origins=crowdsec%2Ccscli&scenarios_containing=SSH%2Chttp" "${B2[@]}"
check_eq "scenarios_containing (any word, case-insensitive)" "$(printf %s "$BODY" | jq_ '[x["value"] for x in d["new"]]')" "['198.18.9.9']"
req GET "/v1/decisions/stream?startup=true&scenarios_not_containing=ssh" "${B2[@]}"
check_eq "scenarios_not_containing" "$(printf %s "$BODY" | jq_ 'sorted(x["value"] for x in d["new"])')" \
	"['198.18.0.1', '198.18.1.0/24', '2001:db8:1::/48']"
req GET "/v1/decisions/stream?startup=true&scopes=ip,range,username" "${B2[@]}"
check_eq "scopes on the stream" "$(printf %s "$BODY" | jq_ 'len(d["new"])')" 5
check_eq "stream bytes are compact sorted JSON" "$(printf %s "$BODY" | jq_ 'json.dumps(d, separators=(",", ":"), sort_keys=True, ensure_ascii=False)')" "$BODY"
check_eq "startup lists expired as deleted" "$(printf %s "$BODY" | jq_ '[x["value"] for x in d["deleted"]]')" "['198.18.7.7']"

# ---- soft delete through cscli --------------------------------------------------------------
$CSCLI decisions delete -i 198.18.0.1 2>"$T/err"
check "cscli delete reports the count" grep -q '1 decision(s) deleted' "$T/err"
req GET "/v1/decisions/stream" "${B1[@]}"
check_eq "soft delete reported in deleted" "$(printf %s "$BODY" | jq_ '"198.18.0.1" in [x["value"] for x in d["deleted"] or []]')" "True"
$CSCLI decisions delete 2>/dev/null >/dev/null
check_eq "delete without filter exits 1" "$?" 1
$CSCLI decisions delete --id 99999 2>"$T/err"
check_eq "delete unknown id exits 1" "$?" 1
check "unknown id message" grep -q "decision with id '99999' doesn't exist" "$T/err"
check_eq "decisions list raw header" "$($CSCLI decisions list -o raw | head -1)" \
	"id,source,ip,reason,action,country,as,events_count,expiration,simulated,alert_id"
check_eq "decisions list json null" "$($CSCLI decisions list -i 203.0.113.9 -o json)" "null"
check "decisions list human table" bash -c "$CSCLI decisions list | grep -q 'Range:198.18.1.0/24'"
check_eq "human empty" "$($CSCLI decisions list -i 203.0.113.9)" "No active decisions"

# ---- cscli alerts / lapi ----------------------------------------------------------------------
check_eq "alerts list raw header" "$($CSCLI alerts list -o raw | head -1)" \
	"id,scope,value,reason,country,as,decisions,created_at"
check "alerts list human" bash -c "$CSCLI alerts list | grep -q '| Ip:198.18.9.9 .*| ban:1 '"
check "alerts inspect" bash -c "$CSCLI alerts inspect 1 | grep -q '^ - ID         : 1$'"
$CSCLI alerts inspect 99999 2>"$T/err" >/dev/null
check_eq "alerts inspect unknown exits 1" "$?" 1
check "alerts inspect unknown message" grep -q "can't find alert with id 99999: API error: object not found" "$T/err"
$CSCLI alerts delete --scenario nosuch 2>"$T/err"
check "alerts delete by filter" grep -q '0 alert(s) deleted' "$T/err"
$CSCLI lapi status 2>"$T/err"
check "lapi status" grep -q 'You can successfully interact with Local API (LAPI)' "$T/err"

# ---- alerts API ----------------------------------------------------------------------------
req GET "/v1/alerts?has_active_decision=true&include_capi=false&limit=100" "${AUTH[@]}"
check_eq "alerts search" "$CODE" 200
check "alert rendering uses Go time.String()" bash -c "printf %s '$BODY' | grep -qE '\"start_at\":\"[0-9-]{10} [0-9:]{8} \\+0000 UTC\"'"
req GET "/v1/alerts/1" "${AUTH[@]}"
check_eq "alert by id" "$(printf %s "$BODY" | jq_ 'd["id"], d["machine_id"], d["events"][0]["meta"][0]["key"]')" "1 m1 source_ip"
req GET "/v1/alerts/abc" "${AUTH[@]}"
check_eq "alert id not integer" "$CODE $BODY" '400 {"message":"alert_id must be valid integer"}'
req GET "/v1/alerts/99999" "${AUTH[@]}"
check_eq "alert not found" "$CODE $BODY" '404 {"message":"object not found"}'
req GET "/v1/alerts?bogus=1" "${AUTH[@]}"
check_eq "unknown alert filter" "$CODE $BODY" "400 {\"message\":\"Filter parameter 'bogus' is unknown (=1): invalid filter\"}"
req GET "/v1/alerts?scenario=nosuch" "${AUTH[@]}"
check_eq "no alert is null" "$BODY" "null"
req DELETE "/v1/decisions/abc" "${AUTH[@]}"
check_eq "decision id not integer" "$CODE" 400
req DELETE "/v1/decisions?bogus=1" "${AUTH[@]}"
check_eq "unknown delete filter" "$CODE $BODY" "400 {\"message\":\"'bogus' doesn't exist: invalid filter\"}"

# ---- bad input stores nothing -------------------------------------------------------------
before=$(alert_count) dbefore=$(decision_count)
req POST /v1/alerts "${AUTH[@]}" -d '[{"capacity":5,'
check_eq "malformed JSON is 400 + message" "$CODE $(printf %s "$BODY" | jq_ '"message" in d')" "400 True"
req POST /v1/alerts "${AUTH[@]}" -d '{"not":"an array"}'
check_eq "object instead of array" "$CODE" 400
req POST /v1/alerts "${AUTH[@]}" -d '[{"scenario":"x"}]'
check_eq "missing fields" "$CODE" 400
check "validation list" bash -c "printf %s '$BODY' | grep -q 'validation failure list:\\\\n0.capacity in body is required'"
req POST /v1/alerts "${AUTH[@]}" -d "$(alert_json Ip 198.18.60.1 | sed 's/"capacity":5/"capacity":"5"/')"
check_eq "wrong type" "$CODE" 400
GOOD=$(alert_json Ip 198.18.61.1)
BAD=$(alert_json Ip 198.18.61.2 | sed 's/"decisions":null/"decisions":[{"duration":"1h","origin":"cscli","scenario":"s","scope":"Ip","type":"ban","value":"999.1.1.1"}]/')
req POST /v1/alerts "${AUTH[@]}" -d "[${GOOD:1:${#GOOD}-2},${BAD:1:${#BAD}-2}]"
check_eq "bad ip in a decision: whole batch refused" "$CODE" 400
req POST /v1/alerts "${AUTH[@]}" -d "$(alert_json Ip 'not-an-ip')"
check_eq "bad ip in a profile decision" "$CODE" 400
req POST /v1/alerts "${AUTH[@]}" -d "$(python3 -c 'print("["*100 + "]"*100)')"
check_eq "JSON depth bounded" "$CODE" 400
python3 -c 'print("[" + ",".join(["\"" + "x"*1000 + "\""]*400) + "]")' >"$T/big.json"
# the LAPI answers these from the headers, before reading the body, and closes; curl must
# wait for that answer (Expect: 100-continue, a long wait) rather than send the body, or
# the close resets an upload in flight and curl reports 000. Without the header curl
# uploads at once, and on a loaded box the reset wins the race. A '100 Continue' in the
# headers would mean the LAPI asked for the body it should refuse unread.
EARLY=(-H 'Expect: 100-continue' --expect100-timeout 60)
req POST /v1/alerts "${AUTH[@]}" "${EARLY[@]}" --data-binary @"$T/big.json"
check_eq "body size capped (413)" "$CODE" 413
check "  and refused unread (no 100 Continue)" bash -c "! grep -q '^HTTP/1.1 100' '$T/hdrs'"
req POST /v1/watchers "${EARLY[@]}" --data-binary @"$T/big.json"
check_eq "unauthenticated routes have a small cap (64 KiB)" "$CODE" 413
check "  and refused unread (no 100 Continue)" bash -c "! grep -q '^HTTP/1.1 100' '$T/hdrs'"
req POST /v1/alerts -H "Authorization: Bearer bad.token.here" "${EARLY[@]}" --data-binary @"$T/big.json"
check_eq "bad token refused before the body is read" "$CODE" 401
check "  and refused unread (no 100 Continue)" bash -c "! grep -q '^HTTP/1.1 100' '$T/hdrs'"
head -c 20000000 /dev/zero | tr '\0' ' ' >"$T/huge.json"
req POST /v1/alerts "${AUTH[@]}" -H "Transfer-Encoding: chunked" --data-binary @"$T/huge.json"
# the server answers 413 mid-upload and closes; curl may only see the reset
check "chunked upload cut short (413 or reset)" bash -c "case $CODE in 413|100|000) exit 0;; *) exit 1;; esac"
check "server healthy after an oversized upload" curl -sf "$URL/health" -o /dev/null
rm -f "$T/huge.json"
check_eq "nothing stored by bad input" "$(alert_count)/$(decision_count)" "$before/$dbefore"
req GET "/v1/decisions?ip=notanip" "${B1[@]}"
check_eq "bad ip filter" "$CODE" 400
req GET "/v1/decisions?range=198.18.0.0/99" "${B1[@]}"
check_eq "bad range filter" "$CODE" 400

# ---- SQL metacharacters are data -----------------------------------------------------------
req GET "/v1/decisions?value=%27%20OR%201%3D1%20--" "${B1[@]}"
check_eq "quote in a filter value matches nothing" "$CODE $BODY" "200 null"
req GET "/v1/decisions?ip=1.2.3.4%27%20OR%20%271%27%3D%271" "${B1[@]}"
check_eq "injection in ip is a bad ip" "$CODE" 400
req GET "/v1/decisions?scopes=Ip%27)%20OR%20(%271&type=ban%22;%20DROP%20TABLE%20decisions;--" "${B1[@]}"
check_eq "injection in lists/type" "$CODE $BODY" "200 null"
check "cscli stores a hostile reason verbatim" $CSCLI decisions add --scope username -v "x'; DROP TABLE decisions;--" -R "r'); DELETE FROM alerts;--"
req GET "/v1/decisions?scopes=username&value=x%27;%20DROP%20TABLE%20decisions;--" "${B1[@]}"
check_eq "hostile value round-trips" "$(printf %s "$BODY" | jq_ 'd[0]["value"]')" "x'; DROP TABLE decisions;--"
check "tables intact" test "$(decision_count)" -gt 5

# ---- trusted-IP alert deletion ---------------------------------------------------------------
req DELETE "/v1/alerts?scenario=nosuch" "${AUTH[@]}"
check_eq "delete alerts by filter (none)" "$CODE $BODY" '200 {"nbDeleted":"0"}'
req DELETE "/v1/alerts/2" "${AUTH[@]}"
check_eq "delete one alert" "$CODE $BODY" '200 {"nbDeleted":"1"}'

# ---- concurrency: bouncers pulling while machines push -----------------------------------
seq 40 | xargs -P 20 -I{} curl -s -o /dev/null -w '%{http_code}\n' -H "X-Api-Key: $KEY" \
	"$URL/v1/decisions/stream?startup=true" >"$T/par1" &
seq 30 | xargs -P 10 -I{} sh -c "curl -s -o /dev/null -w '%{http_code}\n' \
	-H 'Authorization: Bearer $TOKEN' -d '$(alert_json Ip 198.18.80.1)' $URL/v1/alerts" >"$T/par2"
wait %% 2>/dev/null
wait $! 2>/dev/null
check_eq "40 parallel stream pulls all 200" "$(grep -c '^200$' "$T/par1")" 40
check_eq "30 parallel alert pushes all 201" "$(grep -c '^201$' "$T/par2")" 30
check_eq "30 alerts stored" "$(lapi_sql "SELECT COUNT(*) FROM alerts WHERE source_value='198.18.80.1'")" 30

# a deleted machine's small pushes (row read where they are stored) are not counted
check "cscli machines add gone1" $CSCLI machines add gone1 -p gonepassword1 -f /dev/null
req POST /v1/watchers/login -d '{"machine_id":"gone1","password":"gonepassword1"}'
GONE_TOKEN=$(printf %s "$BODY" | jq_ 'd["token"]')
check "cscli machines delete gone1" $CSCLI machines delete gone1
req POST /v1/alerts -H "Authorization: Bearer $GONE_TOKEN" -d "$(alert_json Ip 198.18.80.2)"
check_eq "deleted machine's push: 401" "$CODE" 401
req POST /v1/alerts -H "Authorization: Bearer $GONE_TOKEN" -d '[{"scenario'
check_eq "deleted machine's malformed push: 401" "$CODE" 401

# ---- metrics ------------------------------------------------------------------------------------
M=$(curl -s "http://127.0.0.1:$PPORT/metrics")
check "a deleted machine's pushes not counted" bash -c '! grep -q "machine=\"gone1\"" <<<"$1"' _ "$M"
check "route counter" grep -q 'cs_lapi_route_requests_total{method="GET",route="/v1/decisions/stream"}' <<<"$M"
check "bouncer counter" grep -q 'cs_lapi_bouncer_requests_total{bouncer="b1",method="GET",route="/v1/decisions/stream"}' <<<"$M"
check "machine counter" grep -q 'cs_lapi_machine_requests_total{machine="m1",method="POST",route="/v1/alerts"}' <<<"$M"
check "decisions ko counter" grep -q 'cs_lapi_decisions_ko_total{bouncer="b1"}' <<<"$M"
check "decisions ok counter" grep -q 'cs_lapi_decisions_ok_total{bouncer="b1"}' <<<"$M"
check "active decisions gauge" grep -q 'cs_active_decisions{action="ban",origin="crowdsec",reason="crowdsecurity/ssh-bf"} 32' <<<"$M"
check "alerts gauge" grep -q 'cs_alerts{reason="crowdsecurity/ssh-bf"}' <<<"$M"
check "histogram" grep -q 'cs_lapi_request_duration_seconds_bucket{endpoint="/health",method="GET",le="0.005"}' <<<"$M"
check "cs_info" grep -q '^cs_info{version=' <<<"$M"

# ---- durability: an acknowledged decision survives kill -9 ------------------------------------
check "decision acknowledged" $CSCLI decisions add -i 198.18.99.99 -d 1h
{ kill -9 "$PID" && wait "$PID"; } 2>/dev/null
PID=
check "LAPI restarts on the same database" start
req GET "/v1/decisions?ip=198.18.99.99" "${B1[@]}"
check_eq "decision survived kill -9" "$(printf %s "$BODY" | jq_ '[x["value"] for x in d]')" "['198.18.99.99']"
req GET /v1/heartbeat "${AUTH[@]}"
check_eq "tokens do not survive a restart (new secret)" "$CODE" 401
[ "${LAPI_DB:-sqlite}" = sqlite ] && check "integrity" test "$(lapi_sql 'PRAGMA integrity_check')" = ok
# CrowdSec's WAL setting (synchronous=NORMAL) unless db_config.sqlite_synchronous: full
[ "${LAPI_DB:-sqlite}" = sqlite ] && check "commits at synchronous=NORMAL, said at start" \
	grep -q "SQLite commits: synchronous=NORMAL" "$T/lapi.log"
sed 's|^db_config:|db_config:\n  sqlite_synchronous: sometimes|' "$T/config.yaml" >"$T/badsync.yaml"
"$CROWDSEC" -no-cs -c "$T/badsync.yaml" >"$T/badsync.log" 2>&1
check_eq "unknown sqlite_synchronous refused at start" \
	"$?:$(grep -c "db_config.sqlite_synchronous: 'sometimes' is not normal or full" "$T/badsync.log")" "1:1"

# ---- HTTPS when api.server.tls.cert_file and key_file are set ------------------------------
if command -v openssl >/dev/null && openssl req -x509 -newkey rsa:2048 -nodes -days 1 \
	-subj /CN=127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1; then
	kill "$PID"
	wait "$PID"
	PID=
	sed -e "s|^  server:|  server:\n    tls:\n      cert_file: $T/cert.pem\n      key_file: $T/key.pem|" \
		-e "s|^  client:|  client:\n    insecure_skip_verify: true|" "$T/config.yaml" >"$T/tls.yaml"
	sed -i "s|^url: http://|url: https://|" "$T/local_api_credentials.yaml"
	"$CROWDSEC" -no-cs -c "$T/tls.yaml" >>"$T/lapi.log" 2>&1 &
	PID=$!
	for _ in $(seq 50); do curl -skf "https://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
	check_eq "HTTPS health" "$(curl -sk "https://127.0.0.1:$PORT/health")" '{"status":"up"}'
	check_eq "HTTPS stream with the API key" \
		"$(curl -sk -H "X-Api-Key: $KEY" "https://127.0.0.1:$PORT/v1/decisions?ip=198.18.99.99" | jq_ 'd[0]["value"]')" \
		"198.18.99.99"
	check "no TLS 1.1" bash -c "! curl -sk --tls-max 1.1 https://127.0.0.1:$PORT/health >/dev/null 2>&1"
	check "plain HTTP refused on the TLS port" bash -c "! curl -sf http://127.0.0.1:$PORT/health >/dev/null 2>&1"
	check "cscli over HTTPS (insecure_skip_verify)" $T/cscli -c "$T/tls.yaml" decisions add -i 198.18.98.98
else
	skip "openssl cannot make a test certificate" 5
fi

# ---- X-Forwarded-For from a trusted proxy (use_forwarded_for_headers) ------------------------
kill "$PID"
wait "$PID"
sed -e "s|^  server:|  server:\n    use_forwarded_for_headers: true\n    trusted_proxies:\n      - 127.0.0.0/8|" \
	"$T/config.yaml" >"$T/xff.yaml"
sed -i "s|^url: https://|url: http://|" "$T/local_api_credentials.yaml"
"$CROWDSEC" -no-cs -c "$T/xff.yaml" >>"$T/lapi.log" 2>&1 &
PID=$!
for _ in $(seq 50); do curl -sf "$URL/health" >/dev/null && break; sleep 0.1; done
TOKEN=$($T/cscli -c "$T/xff.yaml" lapi status >/dev/null 2>&1; curl -s -X POST "$URL/v1/watchers/login" \
	-d '{"machine_id":"m1","password":"machinepassword1"}' | jq_ 'd["token"]')
AUTH=(-H "Authorization: Bearer $TOKEN")
req DELETE "/v1/alerts?scenario=nosuch" "${AUTH[@]}" -H "X-Forwarded-For: 203.0.113.5, 127.0.0.1"
check_eq "client IP from X-Forwarded-For gates alert deletion" "$CODE $BODY" \
	'403 {"message":"access forbidden from this IP (203.0.113.5)"}'
req DELETE "/v1/alerts?scenario=nosuch" "${AUTH[@]}" -H "X-Forwarded-For: 127.0.0.1"
check_eq "forwarded loopback client allowed" "$CODE" 200

# ---- clean shutdown ------------------------------------------------------------------------------
kill "$PID"
wait "$PID"
check_eq "SIGTERM exits 0" "$?" 0
PID=
$CSCLI bouncers delete nosuch 2>/dev/null
check_eq "bouncers delete unknown exits 1" "$?" 1
check "bouncers delete" $CSCLI bouncers delete b2
summary
