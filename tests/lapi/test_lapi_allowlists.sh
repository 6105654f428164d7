#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Allowlists (CrowdSec 1.6.6+) end to end: cscli allowlists create|add|remove|
# list|inspect|check|delete, the LAPI routes /v1/allowlists[/NAME],
# /v1/allowlists/check/{ip|range} and the bulk check, and the rule: an allowlisted
# IP or range gets no decision from cscli decisions add, from an agent's alert
# (profiles) or from an alert carrying decisions; adding an entry expires the
# decisions it covers, and a bouncer's stream lists them as deleted.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup allowlists 18560 curl python3
lapi_config "$T/config.yaml" '    trusted_ips: ["127.0.0.1", "::1"]'
lapi_profiles
lapi_start || { fail "LAPI did not start"; summary; exit 1; }
cs() { "$BUILD/cscli" -c "$T/config.yaml" "$@"; }
cs machines add tester --auto -f "$T/local_api_credentials.yaml" >/dev/null 2>&1
KEY=$(cs bouncers add b1 -o raw 2>/dev/null | tail -1)
TOKEN=$(lapi_token tester)
auth=(-H "Authorization: Bearer $TOKEN")

# a decision on 198.18.9.9 and one on 198.18.10.0/24 exist before any allowlist
check "decision before the allowlist" cs decisions add --ip 198.18.9.9 --duration 1h
check "range decision before the allowlist" cs decisions add --range 198.18.10.0/24 --duration 1h
check "decision outside any allowlist" cs decisions add --ip 198.18.11.1 --duration 1h
stream=$(curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions/stream?startup=true")
check "bouncer got the three" python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["new"])==3, d' <<<"$stream"

# ---- create / add ----------------------------------------------------------------------------
out=$(cs allowlists create mylist -d "test list" 2>&1)
check "create" grep -q "allowlist 'mylist' created successfully" <<<"$out"
out=$(cs allowlists create mylist -d "again" 2>&1); rc=$?
check "create twice: error" sh -c '[ $0 -ne 0 ] && grep -q "already exists"' $rc <<<"$out"
out=$(cs allowlists create nodesc 2>&1); rc=$?
check "create without -d: error" [ $rc -ne 0 ]
out=$(cs allowlists add mylist 198.18.9.9 198.18.10.0/24 -d "office" 2>&1)
check "add two values" grep -q "added 2 values to allowlist mylist" <<<"$out"
check "add expires the decisions they cover" grep -q "2 decisions deleted by allowlists" <<<"$out"
out=$(cs allowlists add mylist 198.18.9.9 2>&1)
check "add again: nothing new" grep -q "no new values" <<<"$out"
out=$(cs allowlists add mylist not-an-ip 2>&1); rc=$?
check "add a non-address: error naming it" sh -c '[ $0 -ne 0 ] && grep -q "not-an-ip" ' $rc <<<"$out"
out=$(cs allowlists add nolist 198.18.1.1 2>&1); rc=$?
check "add to a missing list: error" sh -c '[ $0 -ne 0 ] && grep -q "not found"' $rc <<<"$out"

# the bouncer sees the covered decisions as deleted, the other one stays
delta=$(curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions/stream")
check "stream: covered decisions deleted" python3 -c '
import json,sys; d=json.load(sys.stdin)
deleted=sorted(x["value"] for x in (d["deleted"] or []))
assert deleted==["198.18.10.0/24","198.18.9.9"], d' <<<"$delta"
check "the uncovered decision is still active" sh -c "\"$BUILD/cscli\" -c \"$T/config.yaml\" decisions list -o json | grep -q 198.18.11.1"

# ---- check / list / inspect --------------------------------------------------------------------
out=$(cs allowlists check 198.18.9.9 198.18.10.77 198.18.12.1 2>&1)
check "check an IP" grep -q "198.18.9.9 is allowlisted by item 198.18.9.9 from mylist (office)" <<<"$out"
check "check an IP inside a range" grep -q "198.18.10.77 is allowlisted by item 198.18.10.0/24 from mylist" <<<"$out"
check "check an IP outside" grep -q "198.18.12.1 is not allowlisted" <<<"$out"
code=$(curl -s -o "$T/b" -w '%{http_code}' "${auth[@]}" "$URL/v1/allowlists/check/198.18.10.0/16")
check "check a range containing an item (LAPI)" sh -c '[ "$0" = 200 ] && grep -q "\"allowlisted\": *true" "$1"' "$code" "$T/b"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "${auth[@]}" "$URL/v1/allowlists/check/198.18.9.9")
check_eq "HEAD check: 200 when allowlisted" "$code" 200
code=$(curl -s -o /dev/null -w '%{http_code}' -I "${auth[@]}" "$URL/v1/allowlists/check/198.18.12.1")
check_eq "HEAD check: 204 when not" "$code" 204
code=$(curl -s -o "$T/b" -w '%{http_code}' "${auth[@]}" "$URL/v1/allowlists/check/garbage")
check_eq "check garbage: 400" "$code" 400
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/allowlists")
check_eq "list without a token: 401" "$code" 401
out=$(curl -s "${auth[@]}" -X POST "$URL/v1/allowlists/check" -d '{"targets":["198.18.9.9","198.18.12.1"]}')
check "bulk check" python3 -c '
import json,sys; d=json.load(sys.stdin)
assert [r["target"] for r in d["results"]]==["198.18.9.9"], d' <<<"$out"
code=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" -X POST "$URL/v1/allowlists/check" -d '{"targets":[]}')
check_eq "bulk check with no target: 400" "$code" 400
out=$(cs allowlists list -o json)
check "list -o json" python3 -c '
import json,sys; d=json.load(sys.stdin)
assert d[0]["name"]=="mylist" and len(d[0]["items"])==2 and d[0]["description"]=="test list", d' <<<"$out"
check "list human" sh -c "\"$BUILD/cscli\" -c \"$T/config.yaml\" allowlists list | grep -q 'mylist.*test list'"
out=$(cs allowlists inspect mylist -o raw)
check "inspect raw" grep -q '^mylist,test list,198.18.10.0/24,office,never,' <<<"$out"
out=$(cs allowlists inspect nolist 2>&1); rc=$?
check "inspect a missing list: error" sh -c '[ $0 -ne 0 ] && grep -q "not found"' $rc <<<"$out"

# ---- no new decision on an allowlisted value ------------------------------------------------------
out=$(cs decisions add --ip 198.18.9.9 --duration 1h 2>&1); rc=$?
check "cscli decisions add on an allowlisted IP: refused" sh -c '[ $0 -ne 0 ] && grep -q "is allowlisted"' $rc <<<"$out"
cs decisions add --ip 198.18.10.5 >/dev/null 2>&1
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
alert() { # alert SOURCE_IP [DECISIONS_JSON]
	printf '[{"scenario":"test/x","scenario_hash":"","scenario_version":"","message":"m","events_count":1,"start_at":"%s","stop_at":"%s","capacity":1,"leakspeed":"1s","simulated":false,"remediation":true,"events":[],"source":{"scope":"Ip","value":"%s","ip":"%s"},"decisions":%s}]' \
		"$now" "$now" "$1" "$1" "${2:-[]}"
}
code=$(curl -s -o "$T/b" -w '%{http_code}' "${auth[@]}" -X POST "$URL/v1/alerts" -d "$(alert 198.18.9.9)")
check_eq "an agent's alert on an allowlisted source: accepted" "$code" 201
code=$(curl -s -o "$T/b" -w '%{http_code}' "${auth[@]}" -X POST "$URL/v1/alerts" \
	-d "$(alert 198.18.10.6 '[{"duration":"1h","origin":"cscli","scenario":"s","scope":"Ip","type":"ban","value":"198.18.10.6"}]')")
check_eq "an alert carrying a decision on an allowlisted IP: accepted" "$code" 201
code=$(curl -s -o "$T/b" -w '%{http_code}' "${auth[@]}" -X POST "$URL/v1/alerts" -d "$(alert 198.18.13.13)")
check_eq "an agent's alert elsewhere: accepted" "$code" 201
list=$(cs decisions list -o json)
check "no decision on any allowlisted value" python3 -c '
import json,sys; d=json.load(sys.stdin) or []
vals=[x["value"] for a in d for x in a.get("decisions") or []]
assert not [v for v in vals if v.startswith("198.18.9.") or v.startswith("198.18.10.")], vals
assert "198.18.13.13" in vals and "198.18.11.1" in vals, vals' <<<"$list"
check "the dropped alert is logged" grep -q "198.18.9.9 is allowlisted" "$T/lapi.log"

printf '198.18.9.9\n198.18.10.200\n198.18.15.15\n' | cs decisions import -i - --format values >/dev/null 2>&1
list=$(cs decisions list -o json)
check "import: the allowlisted values get no decision, the other one does" python3 -c '
import json,sys; d=json.load(sys.stdin) or []
vals=[x["value"] for a in d for x in a.get("decisions") or []]
assert "198.18.15.15" in vals and "198.18.9.9" not in vals and "198.18.10.200" not in vals, vals' <<<"$list"

# ---- remove / expiry / delete ------------------------------------------------------------------------
out=$(cs allowlists remove mylist 198.18.9.9 2>&1)
check "remove a value" grep -q "removed 1 values from allowlist mylist" <<<"$out"
check "removed value can get a decision again" cs decisions add --ip 198.18.9.9 --duration 1h
out=$(cs allowlists add mylist 198.18.14.14 -e 1s 2>&1)
check "add with an expiration" grep -q "added 1 values" <<<"$out"
for _ in $(seq 40); do cs allowlists check 198.18.14.14 2>/dev/null | grep -q "not allowlisted" && break; sleep 0.1; done
check "an expired item no longer allowlists" sh -c "\"$BUILD/cscli\" -c \"$T/config.yaml\" allowlists check 198.18.14.14 | grep -q 'not allowlisted'"
out=$(cs allowlists add mylist 198.18.1.1 -e bogus 2>&1); rc=$?
check "bad expiration: error" [ $rc -ne 0 ]
out=$(cs allowlists delete mylist 2>&1)
check "delete" grep -q "allowlist 'mylist' deleted successfully" <<<"$out"
check "after delete the range can get decisions" cs decisions add --ip 198.18.10.5 --duration 1h
out=$(cs allowlists delete mylist 2>&1); rc=$?
check "delete a missing list: error" [ $rc -ne 0 ]
check "allowlists --help" sh -c "\"$BUILD/cscli\" allowlists --help | grep -q create"

summary
