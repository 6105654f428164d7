#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The LAPI's web dashboard (api.server.dashboard) in headless Chromium driven by the
# test: nothing without a machine's token (401), log in with the machine's
# credentials, see the numbers the test created (alerts, sources with country and
# AS, decisions by origin, drops a bouncer reported), open an alert's events, delete
# a decision and see the LAPI's bouncer stream lose it. Screenshots are kept in
# $TEST_ARTIFACTS (default $BUILD/artifacts)/dashboard/.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup dashboard 19200 curl jq chromium python3
PY=
for p in python3 /usr/bin/python3; do "$p" -c 'import websocket' 2>/dev/null && { PY=$p; break; }; done
[ -n "$PY" ] || { skip "python3-websocket missing" 1; summary; exit 0; }
ART=${TEST_ARTIFACTS:-$BUILD/artifacts}/dashboard
mkdir -p "$ART"
lapi_config "$T/config.yaml" "    dashboard: true"
lapi_profiles
lapi_start || { fail "LAPI starts"; cat "$T/lapi.log" >&2; summary; exit 1; }

req GET /dashboard
check_eq "the dashboard without a token: 401" "$CODE" 401
check "... and nothing of the page" bash -c "! grep -qi '<html' <<<'$BODY'"
req GET /dashboard/data
check_eq "its data without a token: 401" "$CODE" 401
req GET /dashboard/app.js
check_eq "its script without a token: 401" "$CODE" 401
req GET /dashboard/data -H "Cookie: jwt=forged.token.here"
check_eq "a forged cookie: 401" "$CODE" 401
req GET /dashboard/login
check_eq "the login page is open" "$CODE" 200
check "pages forbid framing and foreign code" bash -c "grep -qi \"^content-security-policy: default-src 'self';.*frame-ancestors 'none'\" <<<\"\$0\" && grep -qi '^x-frame-options: DENY' <<<\"\$0\"" "$HDRS"

$CSCLI machines add tester --password 'Dash-Board-Pass-1' -f "$T/local_api_credentials.yaml" >/dev/null 2>&1
TOKEN=$(lapi_token tester)
KEY=$($CSCLI bouncers add dash-bouncer -o raw 2>/dev/null)
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
alert() { # alert SCENARIO IP
	printf '[{"scenario":"%s","scenario_hash":"","scenario_version":"","message":"m","events_count":1,"start_at":"%s","stop_at":"%s","capacity":1,"leakspeed":"1s","simulated":false,"remediation":true,"events":[{"timestamp":"%s","meta":[{"key":"log_type","value":"ssh_failed-auth"},{"key":"source_ip","value":"%s"}]}],"source":{"scope":"Ip","value":"%s","ip":"%s","cn":"FR","as_name":"TestNet","as_number":"64500"},"decisions":[]}]' \
		"$1" "$now" "$now" "$now" "$2" "$2" "$2"
}
for a in "test/ssh-bf 198.18.50.1" "test/ssh-bf 198.18.50.2" "test/http-probing 198.18.50.3"; do
	set -- $a
	curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -X POST "$URL/v1/alerts" -d "$(alert "$1" "$2")"
done
curl -s -o /dev/null -H "X-Api-Key: $KEY" -X POST "$URL/v1/usage-metrics" -d "{\"remediation_components\":[{\"version\":\"v1\",\"utc_startup_timestamp\":1,\"metrics\":[{\"meta\":{\"utc_now_timestamp\":$(date +%s),\"window_size_seconds\":60},\"items\":[{\"name\":\"dropped\",\"unit\":\"packet\",\"value\":42,\"labels\":{\"origin\":\"crowdsec\"}},{\"name\":\"dropped\",\"unit\":\"byte\",\"value\":4200,\"labels\":{\"origin\":\"crowdsec\"}}]}]}]}"
curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions/stream?startup=true" >/dev/null

CPORT=$(free_port $((PORT + 50)))
setsid chromium --headless=new --no-sandbox --disable-gpu --no-first-run --disable-extensions \
	--remote-debugging-port="$CPORT" --remote-allow-origins='*' --user-data-dir="$T/chrome" \
	--window-size=1400,1800 about:blank >"$T/chrome.log" 2>&1 &
# its own process group: the chromium wrapper script and every child of the browser go
LAPI_ON_EXIT+=("kill -- -$! 2>/dev/null")
PYTHONPATH="$(dirname "${BASH_SOURCE[0]}")/../lib" timeout 120 "$PY" - "$CPORT" "$URL" "$ART" >"$T/ui.json" 2>"$T/ui.err" <<'PY'
import json, sys
from cdp import Page

port, url, art = int(sys.argv[1]), sys.argv[2], sys.argv[3]
p = Page(port)
out = {}
p.goto(url + "/dashboard/login")
p.wait("document.readyState === 'complete' && !!document.getElementById('machine')")
p.js("""document.getElementById('machine').value = 'tester';
document.getElementById('password').value = 'Dash-Board-Pass-1';
document.getElementById('login').click(); true""")
try:
    p.wait("location.pathname === '/dashboard' && !!document.body.dataset.loaded")
except TimeoutError:
    sys.stderr.write("page: %s\nerrors: %s\n" % (p.js("location.href + ' | ' + document.body.innerText.slice(0, 500)"), p.errors))
    raise
rows = lambda t: p.js("[...document.querySelectorAll('#%s tr')].slice(1).map(r => r.dataset.row)" % t)
text = lambda i: p.js("document.getElementById('%s').textContent" % i)
out["machine"] = text("machine")
out["alerts"] = text("n-alerts")
out["decisions"] = text("n-decisions")
out["scenarios"] = rows("scenarios")
out["sources"] = rows("sources")
out["by_origin"] = rows("by-origin")
out["drops"] = rows("drops")
p.shot(art + "/1-overview.png")
p.js("document.querySelector('[id^=alert-]').click(); true")
p.wait("document.querySelectorAll('#events tr').length > 1")
out["events"] = rows("events")
p.js("[...document.querySelectorAll('#decisions tr')].find(r => (r.dataset.row || '').includes('198.18.50.2')).querySelector('button').click(); true")
p.wait("document.getElementById('n-decisions').textContent === '2'")
out["decisions_after"] = text("n-decisions")
out["decision_rows_after"] = rows("decisions")
p.shot(art + "/2-after-delete.png")
print(json.dumps(out))
PY
check "the browser session ran" test -s "$T/ui.json" || cat "$T/ui.err" >&2
UI=$(cat "$T/ui.json" 2>/dev/null)
q() { jq -r "$1" <<<"$UI" 2>/dev/null; }
check_eq "logged in as the machine" "$(q .machine)" tester
check_eq "the alerts the test created" "$(q .alerts)" 3
check_eq "their active decisions" "$(q .decisions)" 3
check_eq "top scenarios" "$(q '.scenarios | join(",")')" "test/ssh-bf|2,test/http-probing|1"
check "top sources with country and AS" grep -q '198.18.50.1|FR|64500 TestNet|1' <<<"$(q '.sources | join(",")')"
check_eq "decisions by origin and type" "$(q '.by_origin | join(",")')" "crowdsec|ban|3"
check_eq "drops per origin reported by the bouncer" "$(q '.drops | join(",")')" "crowdsec|42|4200"
check "the alert's events" grep -q 'log_type=ssh_failed-auth' <<<"$(q '.events | join(",")')"
check_eq "after a delete: one decision less" "$(q .decisions_after)" 2
check "the deleted decision is gone from the page" bash -c "! grep -q 198.18.50.2 <<<'$(q '.decision_rows_after | join(",")')'"
check "the LAPI's stream tells the bouncer" bash -c \
	"curl -s -H 'X-Api-Key: $KEY' '$URL/v1/decisions/stream' | jq -e '[.deleted[]?.value] | index(\"198.18.50.2\")' >/dev/null"
check "screenshots kept" test -s "$ART/1-overview.png" -a -s "$ART/2-after-delete.png"
summary
