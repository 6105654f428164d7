#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Our LAPI as a member reads the community blocklist as it arrives, stored a
# batch at a time (lapi/capi.c): a startup list of 25,000 entries (more than
# two batches; no entry ids, as a central sends them; one bad entry skipped) is
# stored whole; a startup list cut short changes nothing that was there; the
# next startup list replaces the old one. The central is a fake serving canned
# answers (tests/central/fake_capi.py) so that the list's size and shape are ours.
set -u
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lapi/lapi_lib.sh"
BUILD=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}

lapi_setup member-pull 18600 python3
FPORT=$(free_port 18650)
FPID=
LAPI_ON_EXIT+=('[ -n "$FPID" ] && kill $FPID 2>/dev/null')

# answer FILE N [CUT]: a v2 startup answer of N entries 198.18.(i/250).(i%250+1)
# plus one bad entry; CUT: only the first half of the bytes
answer() {
	python3 - "$1" "$2" "${3:-}" <<'EOF'
import json, sys
path, n, cut = sys.argv[1], int(sys.argv[2]), sys.argv[3]
new = [{"duration": "23h59m58s", "origin": "CAPI", "scenario": "crowdsecurity/ssh-bf",
        "scope": "Ip", "type": "ban", "value": "198.18.%d.%d" % (i // 250, i % 250 + 1)}
       for i in range(n)]
new.insert(n // 2, {"duration": "1h", "origin": "CAPI", "scenario": "x", "scope": "Ip",
                    "type": "ban", "value": "not-an-ip"})
body = json.dumps({"deleted": [], "new": new}).encode()
open(path, "wb").write(body[: len(body) // 2] if cut else body)
EOF
}

# fake_start FILE: the fake central serving FILE as the startup answer
fake_start() {
	[ -n "$FPID" ] && kill "$FPID" 2>/dev/null && wait "$FPID" 2>/dev/null
	python3 "$(dirname "$0")/fake_capi.py" "$FPORT" "$1" >>"$T/fake.log" 2>&1 &
	FPID=$!
	wait_http "http://127.0.0.1:$FPORT/health"
}

printf 'url: http://127.0.0.1:%s/\nlogin: member\npassword: memberpassword\n' "$FPORT" \
	>"$T/online_api_credentials.yaml"
lapi_profiles
lapi_config "$T/config.yaml" "    online_client:
      credentials_path: $T/online_api_credentials.yaml
      push_interval: 1s
      pull_interval: 1h"
check "cscli machines add" $CSCLI machines add m1 -p machinepassword1 -f "$T/local_api_credentials.yaml"
KEY=$($CSCLI -oraw bouncers add b1 2>/dev/null)
# capi_count [IP]: the CAPI decisions the bouncers' startup stream carries (on IP)
capi_count() {
	curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions/stream?startup=true" | python3 -c '
import json, sys
d = json.load(sys.stdin) or {}
print(sum(1 for x in (d.get("new") or []) if x["origin"] == "CAPI" and (len(sys.argv) < 2 or x["value"] == sys.argv[1])))' "$@"
}
# count_is N [IP]: capi_count says N
count_is() { [ "$(capi_count "${@:2}")" = "$1" ]; }
# restart_until TEXT: the member restarted (a startup pull), until its log says PATTERN
restart_until() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	: >"$T/lapi.log"
	lapi_start || return 1
	wait_until 60 grep -qF "$1" "$T/lapi.log"
}

answer "$T/big.json" 25000
check "fake central starts" fake_start "$T/big.json"
check "the member pulls a 25,000-entry startup list" \
	restart_until 'capi: community blocklist startup: +25000/-0 (some entries skipped)'
check "all of it reaches the bouncers" wait_until 20 count_is 25000
check "the bad entry is named and skipped" grep -q 'blocklist entry 12500 skipped: bad value' "$T/lapi.log"

answer "$T/cut.json" 100 cut
check "fake central serves a cut answer" fake_start "$T/cut.json"
check "a startup list cut short is refused" restart_until 'capi: the blocklist answer:'
check "and changes nothing that was there" count_is 25000

answer "$T/small.json" 3
check "fake central serves a 3-entry list" fake_start "$T/small.json"
check "the next startup list is read" restart_until 'capi: community blocklist startup: +3/-0'
check "and replaces the old one" wait_until 20 count_is 3
check "an entry of both lists is kept" count_is 1 198.18.0.1

# an error page longer than what the client keeps of it (4 KiB) is still an
# answer: the member says the status, not that the central is unreachable
python3 -c 'print("<html>" + "x" * 10000 + "</html>")' >"$T/long.err"
check "fake central serves a 10 kB error page" fake_start "$T/long.err"
check "the member names the refusal" restart_until 'GET /v2/decisions/stream: HTTP 503'
check "and does not call the central unreachable" sh -c "! grep -q retrying $T/lapi.log"
check "and keeps what it had" wait_until 20 count_is 3
summary
