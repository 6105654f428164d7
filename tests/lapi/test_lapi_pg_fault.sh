#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# PostgreSQL restarted while alerts are being ingested: our agent (crowdsec -no-api,
# tailing an sshd log) pushes to a LAPI on a private PostgreSQL (tests/lib/pg.sh);
# brute forces come before, during and after the outage. While the server is down
# /health says the database is unreachable (503); the agent keeps what the LAPI did
# not acknowledge (its outbox) and delivers it later; the LAPI reconnects by itself; at the end
# every attack has its alert and ban, none twice.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

[ -d "${HUB:-}/parsers" ] || { skip "hub not found (SHARED_DIR)" 1; summary; exit 0; }
lapi_pg_setup pgfault 18660 curl
APID=
LAPI_ON_EXIT+=('[ -n "$APID" ] && kill "$APID" 2>/dev/null')
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
lapi_config "$T/config.yaml"
lapi_profiles
lapi_start || { fail "LAPI on PostgreSQL did not start: $(tail -3 "$T/lapi.log")"; summary; exit 1; }
$CSCLI machines add agent1 --auto -f "$T/agent-creds.yaml" >/dev/null 2>&1

A=$T/agent
mkdir -p "$A/data"
cs_etc "$A" parsers/s00-raw/crowdsecurity/syslog-logs.yaml parsers/s01-parse/crowdsecurity/sshd-logs.yaml \
	parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml "$ROOT/scenarios/crowdsec-xdp/ssh-bf.yaml"
printf 'filenames:\n  - %s\nlabels:\n  type: syslog\n' "$T/ssh.log" >"$A/acquis.yaml"
cs_config "$A" "$A/data" 127.0.0.1:0 info "crowdsec_service:
  acquisition_path: $A/acquis.yaml"
sed -i "s|credentials_path: .*|credentials_path: $T/agent-creds.yaml|" "$A/config.yaml"
: >"$T/ssh.log"
"$BUILD/crowdsec" -c "$A/config.yaml" -no-api >"$T/agent.log" 2>&1 &
APID=$!

# attack N: six failed logins from 198.18.78.N (the scenario's capacity is 5)
attack() {
	local i
	for i in $(seq 6); do
		printf '%s vm sshd[1234]: Failed password for invalid user admin from 198.18.78.%d port %d ssh2\n' \
			"$(date '+%b %e %H:%M:%S')" "$1" $((40000 + i))
	done >>"$T/ssh.log"
}
# until [SECONDS] CMD...: poll CMD every 0.2 s, bounded
until_ok() {
	local n=$(($1 * 5))
	shift
	while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.2; n=$((n - 1)); done
	return 1
}
alerts_for() { lapi_sql "SELECT COUNT(DISTINCT source_value) FROM alerts WHERE source_value LIKE '198.18.78.%'" 2>/dev/null; }
have_alerts() { [ "$(alerts_for)" = "$1" ]; }
health() { curl -s -m 5 -o /dev/null -w "%{http_code}" "$URL/health"; }
health_up() { [ "$(health)" = 200 ]; }

# the agent tails the log from its end: lines written before it is ready would be skipped
until_ok 30 grep -q "detector ready" "$T/agent.log"
for n in 1 2 3; do attack $n; done
check "before the outage: 3 alerts stored" until_ok 20 have_alerts 3

pg_stop
check_eq "/health says the database is down" "$(health)" 503
check "/health names the database" bash -c "curl -s '$URL/health' | grep -q 'database unreachable'"
for n in 4 5 6; do attack $n; done
check "the LAPI does not acknowledge them, the agent will retry" \
	until_ok 20 grep -q "LAPI answered HTTP 500 to alerts, will retry" "$T/agent.log"
pg_ctl_start || fail "PostgreSQL did not start again: $PG_WHY"
check "/health is up again (the LAPI reconnected)" until_ok 30 health_up
for n in 7 8 9; do attack $n; done
check "after the outage: all 9 attacks have their alert" until_ok 30 have_alerts 9
check_eq "no attack stored twice" \
	"$(lapi_sql "SELECT COUNT(*) FROM alerts WHERE source_value LIKE '198.18.78.%'")" 9
K=$($CSCLI -oraw bouncers add fb 2>/dev/null)
check_eq "each has its ban in the stream" "$(curl -s -H "X-Api-Key: $K" "$URL/v1/decisions/stream?startup=true" |
	python3 -c 'import json,sys; print(len([d for d in json.load(sys.stdin)["new"] or [] if d["value"].startswith("198.18.78.")]))')" 9
summary
