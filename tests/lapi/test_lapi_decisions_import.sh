#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `cscli decisions import` (CrowdSec's command) against our LAPI: csv, json and values
# input, file or stdin, the flags' defaults (4h, Ip, manual, ban) and overrides, --batch
# splitting into one alert per batch, origin cscli-import, the errors CrowdSec gives; a
# body above 1 MiB goes through the LAPI's scanner path (bad values refused, nothing
# stored); imported decisions reach a bouncer's startup and delta pulls and their
# deletion reaches the delta.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup dimport 18461 "$BUILD/cscli" jq python3
lapi_config "$T/config.yaml" "    use_forwarded_for_headers: true
    max_body_bytes: 2000000"
lapi_profiles
lapi_start || { fail "LAPI did not start"; summary; exit 1; }
CSCLI=$BUILD/cscli
PORT=${PORT:?}
cs() { "$CSCLI" -c "$T/config.yaml" "$@"; }
check_fail() { local n=$1; shift; if "$@" >/dev/null 2>&1; then fail "$n"; else pass "$n"; fi; }
alert_names() { cs decisions list --all -o json 2>/dev/null | jq -r '.[].scenario'; }
cs machines add --auto -f "$T/local_api_credentials.yaml" >/dev/null 2>&1
KEY=$(cs bouncers add imp -o raw 2>/dev/null)
pull() { curl -s -H "X-Api-Key: $KEY" "http://127.0.0.1:$PORT/v1/decisions/stream$1"; }
pull '?startup=true' >/dev/null
list() { cs decisions list --all -o json 2>/dev/null; }

printf 'duration,scope,value,reason,type\n4h,ip,198.18.0.1,list-a,ban\n1h,range,198.18.1.0/24,,captcha\n' >"$T/a.csv"
check "csv import" cs decisions import -i "$T/a.csv"
D=$(pull '')
check_eq "delta sees both" "$(jq '.new | length' <<<"$D")" 2
check_eq "scope normalised, reason kept" \
	"$(jq -r '.new[] | select(.value=="198.18.0.1") | .scope + " " + .scenario + " " + .type + " " + .origin' <<<"$D")" \
	"Ip list-a ban cscli-import"
check_eq "empty reason takes --reason's default" \
	"$(jq -r '.new[] | select(.value=="198.18.1.0/24") | .scope + " " + .scenario + " " + .type' <<<"$D")" \
	"Range manual captcha"
check "csv duration used" grep -qE '"duration":"(59m|1h0m)' <<<"$(jq -c '.new[] | select(.value=="198.18.1.0/24")' <<<"$D")"
check_eq "one alert named after the file" "$(alert_names)" "import $T/a.csv: 2 IPs"

printf '[{"value":"198.18.0.2"},{"value":"198.18.0.3","duration":"2h","type":"captcha"}]' >"$T/b.json"
check "json import with flags" cs decisions import -i "$T/b.json" --duration 30m --reason my-list --type throttle
D=$(pull '')
check_eq "json: defaults from the flags" \
	"$(jq -r '.new[] | select(.value=="198.18.0.2") | .type + " " + .scenario' <<<"$D")" "throttle my-list"
check_eq "json: item fields win" "$(jq -r '.new[] | select(.value=="198.18.0.3") | .type' <<<"$D")" "captcha"

printf '198.18.0.10\n 198.18.0.11 \n198.18.0.12\n' | cs decisions import -i - --format values --batch 2 >"$T/v.log" 2>&1
check_eq "values from stdin, batch 2 -> two alerts" "$(alert_names | grep -c '^import stdin')" 2
check_eq "values trimmed" "$(pull '' | jq -r '[.new[].value] | sort | join(",")')" "198.18.0.10,198.18.0.11,198.18.0.12"

check_fail "stdin needs --format" bash -c "echo 198.18.0.1 | '$CSCLI' -c '$T/config.yaml' decisions import -i -"
"$CSCLI" -c "$T/config.yaml" decisions import -i - <<<"x" >"$T/e1.log" 2>&1
check "message names the missing format" grep -q 'please provide a format with --format flag' "$T/e1.log"
printf 'value,duration\n,4h\n' >"$T/c.csv"
check_fail "empty value refused" cs decisions import -i "$T/c.csv"
cs decisions import -i "$T/c.csv" >"$T/e2.log" 2>&1
check "item named" grep -q "item 0: missing 'value'" "$T/e2.log"
printf 'value\n198.18.0.1,x\n' >"$T/d.csv"
check_fail "ragged csv refused" cs decisions import -i "$T/d.csv"
printf 'not-an-ip\n' >"$T/bad.txt"
check_fail "bad ip refused before anything is sent" cs decisions import -i "$T/bad.txt" --format values
cs decisions import -i "$T/bad.txt" --format values >"$T/e3.log" 2>&1
check "the item is named" grep -q "item 0: invalid addr/range not-an-ip" "$T/e3.log"
printf 'value,duration\n198.18.7.7,4x\n' >"$T/dur.csv"
check_fail "bad duration refused" cs decisions import -i "$T/dur.csv"
check_fail "unknown format" cs decisions import -i "$T/bad.txt" --format xml

# A refused input is reported at once: the senders' login (started beside the
# parsing) is abandoned, not awaited, when the LAPI accepts TCP but never answers
# (the client's timeout is 120 s). The listener only listens: the kernel completes
# the connections, nothing reads them.
MUTE_PORT=$(free_port 18661)
python3 -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
time.sleep(300)' "$MUTE_PORT" &
MUTE_PID=$!
LAPI_ON_EXIT+=('kill "$MUTE_PID" 2>/dev/null')
sed "s|^url: .*|url: http://127.0.0.1:$MUTE_PORT|" "$T/local_api_credentials.yaml" >"$T/mute_creds.yaml"
sed "s|credentials_path: .*|credentials_path: $T/mute_creds.yaml|" "$T/config.yaml" >"$T/mute.yaml"
wait_until 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MUTE_PORT" 2>/dev/null
"$CSCLI" -c "$T/mute.yaml" decisions import -i "$T/bad.txt" --format values >"$T/e4.log" 2>&1 &
IMP_PID=$!
import_done() { ! kill -0 "$IMP_PID" 2>/dev/null; }
if wait_until 20 import_done; then
	wait "$IMP_PID"
	check_eq "bad input with a mute LAPI: refused quickly" "$?" 1
	check "and the item is named" grep -q "item 0: invalid addr/range not-an-ip" "$T/e4.log"
else
	kill "$IMP_PID" 2>/dev/null
	fail "bad input with a mute LAPI: cscli still waits after 20 s"
	fail "and the item is named"
fi

# allowlisted values get no decision, on both paths (small body, scanner body)
cs allowlists create al -d "import test" >/dev/null 2>&1
cs allowlists add al 198.18.5.5 198.19.200.0/24 >/dev/null 2>&1
printf '198.18.5.5\n198.18.5.6\n' | cs decisions import -i - --format values >/dev/null 2>&1
check_eq "allowlisted value dropped, the other kept" "$(pull '' | jq -r '[.new[].value] | join(",")')" "198.18.5.6"
python3 -c "
for i in range(30000): print('198.19.%d.%d' % (200 + i // 256 % 2, i % 256))" >"$T/al.txt"
check "bulk import with allowlisted values" cs decisions import -i "$T/al.txt" --format values
check_eq "only the values outside the allowlist arrive" "$(pull '' | jq -r '[.new[].value] | unique | length')" 256

# above 1 MiB the LAPI takes its scanner path: 40k decisions, one of them invalid
python3 -c "
print('198.19.300.1')
for i in range(40000): print('198.19.%d.%d' % (i // 256, i % 256))" >"$T/big.txt"
n0=$(list | jq '[.[].decisions | length] | add // 0')
check_fail "a bad value anywhere: nothing sent" cs decisions import -i "$T/big.txt" --format values
check_eq "nothing stored from it" "$(list | jq '[.[].decisions | length] | add // 0')" "$n0"
# the LAPI's scanner path itself (bodies over 1 MiB), straight to POST /v1/alerts
login=$(awk '/^login:/{print $2}' "$T/local_api_credentials.yaml")
pw=$(awk '/^password:/{print $2}' "$T/local_api_credentials.yaml")
TOK=$(curl -s -X POST -d "{\"machine_id\":\"$login\",\"password\":\"$pw\",\"scenarios\":[]}" "$URL/v1/watchers/login" | jq -r .token)
bulk() {	# bulk FILE BADNESS: 12000 decisions, one of them spoiled as BADNESS says
	python3 - "$2" >"$1" <<'PY'
import json, sys, time
bad = sys.argv[1]
now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
ds = [{"duration": "1h", "origin": "cscli-import", "scenario": "bulk", "scope": "Ip", "type": "ban",
       "value": "198.19.%d.%d" % (100 + i // 256, i % 256)} for i in range(12000)]
if bad == "value": ds[7000]["value"] = "198.19.300.1"
if bad == "missing": del ds[7000]["type"]
if bad == "type": ds[7000]["type"] = 5
a = {"capacity": 0, "decisions": ds, "events": [], "events_count": 1, "leakspeed": "", "message": "",
     "scenario": "bulk", "scenario_hash": "", "scenario_version": "", "simulated": False,
     "source": {"scope": "", "value": ""}, "start_at": now, "stop_at": now}
out = json.dumps([a])
print(out if bad != "truncated" else out[:-100])
PY
}
post() { curl -s -o "$T/post.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOK" --data-binary @"$1" "$URL/v1/alerts"; }
n0=$(list | jq '[.[].decisions | length] | add // 0')
bulk "$T/b1.json" value
check_eq "bulk body, bad value: 400" "$(post "$T/b1.json") $(jq -r .message "$T/post.out")" \
	"400 invalid addr/range 198.19.300.1 : invalid address: invalid ip address / range"
bulk "$T/b2.json" missing
check_eq "bulk body, missing field: 400 naming it" "$(post "$T/b2.json") $(jq -r .message "$T/post.out")" \
	"400 validation failure list:
0.decisions.7000.type in body is required"
bulk "$T/b3.json" type
check_eq "bulk body, wrong type: 400" "$(post "$T/b3.json") $(jq -r .message "$T/post.out")" \
	"400 json: cannot unmarshal number into Go struct field Decision.type of type string"
bulk "$T/b4.json" truncated
check_eq "bulk body, truncated JSON: 400" "$(post "$T/b4.json")" 400
check_eq "nothing stored from them" "$(list | jq '[.[].decisions | length] | add // 0')" "$n0"
bulk "$T/b5.json" none
check_eq "bulk body, good: 201" "$(post "$T/b5.json")" 201
check_eq "its 12000 decisions stored" "$(list | jq '[.[].decisions | length] | add // 0')" "$((n0 + 12000))"
pull '' >/dev/null

tail -n 40000 "$T/big.txt" >"$T/big2.txt"
check "bulk body imported" cs decisions import -i "$T/big2.txt" --format values
check "cut into alerts under the LAPI's body limit (2 MB here)" \
	test "$(alert_names | grep -c "^import $T/big2.txt: ")" -ge 3
check_eq "delta carries the 40k" "$(pull '' | jq '.new | length')" 40000
check_eq "startup carries everything" "$(pull '?startup=true' | jq '.new | length')" 40264
# gzip when asked, except on loopback (where it only costs CPU)
curl -s -D "$T/h1" -o "$T/plain.json" -H "Accept-Encoding: gzip" -H "X-Api-Key: $KEY" "$URL/v1/decisions/stream?startup=true"
check "loopback client: not compressed" bash -c "! grep -qi '^content-encoding' '$T/h1'"
curl -s -D "$T/h2" -o "$T/gz.bin" -H "Accept-Encoding: gzip" -H "X-Forwarded-For: 198.18.0.9" \
	-H "X-Api-Key: $KEY" "$URL/v1/decisions/stream?startup=true"
check "remote client: gzip" grep -qi '^content-encoding: gzip' "$T/h2"
check "gzip much smaller" test "$(stat -c %s "$T/gz.bin")" -lt $(($(stat -c %s "$T/plain.json") / 4))
check_eq "same decisions once inflated" "$(gzip -dc "$T/gz.bin" | jq -c '[.new[].value] | sort | length')" \
	"$(jq -c '[.new[].value] | sort | length' "$T/plain.json")"
check "inflated JSON intact" bash -c "gzip -dc '$T/gz.bin' | jq -e '.deleted == null and (.new | length) > 40000' >/dev/null"
S=$(curl -s -H "X-Api-Key: $KEY" -X GET "http://127.0.0.1:$PORT/v1/decisions?ip=198.19.10.10")
check "live query finds an imported one" grep -q '"origin":"cscli-import"' <<<"$S"
cs decisions delete --ip 198.19.10.10 >/dev/null 2>&1
check_eq "its deletion reaches the delta" "$(pull '' | jq -r '[.deleted[].value] | join(",")')" "198.19.10.10"
check_eq "and nothing is new" "$(pull '' | jq -c .new)" null
summary
