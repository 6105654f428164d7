#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# crowdsec-xdp-bouncer reports its usage metrics (CrowdSec 1.6.3+) to our LAPI:
# the packets and bytes it dropped, by origin of the ban, and its active
# decisions; `cscli metrics show bouncers` shows them. The LAPI's dashboard, in
# headless Chromium, shows the drops and deletes the ban: the data plane loses it.
# A LAPI without the route (404) is not asked again and the bouncer keeps pulling.
. "$(dirname "$0")/../lib/harness.sh"
need_root "bouncer usage metrics" 13
. "$(dirname "$0")/../lib/bouncer_e2e.sh"
CHROME=
trap '[ -n "$CHROME" ] && kill -- -"$CHROME" 2>/dev/null; e2e_cleanup' EXIT INT TERM

. "$(dirname "$0")/../lib/bouncer_ours.sh"

cscli_packets() { # the packets dropped for origin $1 as cscli sums them (empty: none yet)
	cscli_ours metrics show bouncers -o json | jq -r --arg b "xdp-usage-$ID" --arg o "$1" \
		'.bouncers[$b][$o].dropped.packet // empty'
}
waits() { wait_for "$@" >/dev/null; }
reported() { [ "$(cscli_packets cscli)" -ge "$1" ] 2>/dev/null; }

sed -i 's|^    listen_uri: .*|&\n    dashboard: true|' "$CS/etc/config.yaml"
e2e_netns || { fail "netns setup"; summary; exit 1; }
lapi_start || { fail "LAPI start"; summary; exit 1; }
BOUNCER_KEY=$(cscli_ours -o raw bouncers add "xdp-usage-$ID")
bouncer_config xdp "metrics_interval: 1s"
bouncer_start
check "bouncer started" kill -0 "$BOUNCER_PID"
cscli_ours decisions add --ip 198.18.0.1 --duration 1h >/dev/null
check "ban applied" waits 10 dropped 198.18.0.1 198.18.0.2
check_eq "three more pings dropped" "$(replies 198.18.0.1 198.18.0.2 3)" 0
check "usage metrics reach the LAPI: the drops by origin" waits 20 reported 4
check_eq "nothing dropped for other origins" "$(cscli_packets CAPI)" 0
active_one() {
	cscli_ours metrics show bouncers -o json |
		jq -e --arg b "xdp-usage-$ID" '.bouncers[$b].cscli.active_decisions.ip == 1' >/dev/null
}
check "active decisions reported (a gauge: one ban)" active_one
out=$(cscli_ours metrics show bouncers)
check "table: the bouncer's row for manual decisions" grep -q "^| cscli (manual decisions) *| *1 |" <<<"$out"
check "the bouncer's os recorded" test -n "$(sqlite3 "$CS/data/crowdsec.db" "SELECT os FROM bouncers WHERE name = 'xdp-usage-$ID'")"

# the dashboard (headless Chromium in the victim netns) deletes the ban
PY=
for p in python3 /usr/bin/python3; do "$p" -c 'import websocket' 2>/dev/null && { PY=$p; break; }; done
if command -v chromium >/dev/null && [ -n "$PY" ]; then
	# its own process group: the chromium wrapper script and every child of the browser go
	nsenter --net=/run/netns/$NSV setsid chromium --headless=new --no-sandbox --disable-gpu --no-first-run --remote-debugging-port=9$((ID % 900 + 100)) \
		--remote-allow-origins='*' --user-data-dir="$TMPD/chrome" about:blank >"$TMPD/chrome.log" 2>&1 &
	CHROME=$!
	pw=$(sed -n 's/^password: //p' "$CS/etc/local_api_credentials.yaml")
	PYTHONPATH="$(cd "$(dirname "$0")/../lib" && pwd)" timeout 90 nsenter --net=/run/netns/$NSV "$PY" - \
		9$((ID % 900 + 100)) "http://127.0.0.1:$LAPI_PORT" "$pw" >"$TMPD/ui.json" 2>"$TMPD/ui.err" <<'PY'
import json, sys
from cdp import Page
port, url, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
p = Page(port)
p.goto(url + "/dashboard/login")
p.wait("document.readyState === 'complete' && !!document.getElementById('machine')")
p.js("document.getElementById('machine').value = 'e2e'; document.getElementById('password').value = %s;"
     "document.getElementById('login').click(); true" % json.dumps(pw))
p.wait("location.pathname === '/dashboard' && !!document.body.dataset.loaded")
drops = p.js("[...document.querySelectorAll('#drops tr')].slice(1).map(r => r.dataset.row)")
p.js("[...document.querySelectorAll('#decisions tr')].find(r => (r.dataset.row || '').includes('198.18.0.1')).querySelector('button').click(); true")
p.wait("document.getElementById('n-decisions').textContent === '0'")
print(json.dumps({"drops": drops}))
PY
	kill -- -"$CHROME" 2>/dev/null
	check "dashboard: the bouncer's drops for manual decisions" grep -q '"cscli|[1-9]' "$TMPD/ui.json" || cat "$TMPD/ui.err" >&2
	check "dashboard: the deleted ban leaves the data plane" waits 10 passes 198.18.0.1 198.18.0.2
else
	skip "chromium or python3-websocket missing: no dashboard part" 2
fi

# a LAPI that does not know the route: the bouncer says so once and keeps pulling
bouncer_stop
lapi_stop
nsenter --net=/run/netns/$NSV python3 - "$LAPI_PORT" "$TMPD/old_lapi.log" <<'PY' &
import http.server, sys
port, log = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"new":null,"deleted":null}'
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
        open(log, "a").write("GET\n")
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
        open(log, "a").write("POST\n")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
OLD=$!
wait_for 10 inv bash -c "echo > /dev/tcp/127.0.0.1/$LAPI_PORT" >/dev/null 2>&1
: >"$TMPD/bouncer.log"
bouncer_start
check "404: said once" waits 15 grep -q "does not take usage metrics" "$TMPD/bouncer.log"
n=$(grep -c POST "$TMPD/old_lapi.log")
g=$(grep -c GET "$TMPD/old_lapi.log")
check "404: still pulling" waits 10 bash -c "[ \$(grep -c GET '$TMPD/old_lapi.log') -gt $g ]"
# three seconds of pulls (15 at 200 ms) hold two more 1 s intervals: no new POST in them
g=$(grep -c GET "$TMPD/old_lapi.log")
waits 20 bash -c "[ \$(grep -c GET '$TMPD/old_lapi.log') -gt $((g + 15)) ]"
check_eq "404: not asked again" "$(grep -c POST "$TMPD/old_lapi.log")" "$n"
bouncer_stop
kill "$OLD" 2>/dev/null
summary
