#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Our agent (crowdsec -no-api) pushes to our LAPI through the shared LAPI client
# (userspace/lapiclient): it logs in with the credentials cscli wrote, replays an
# sshd brute force, and the LAPI stores the alert with the profile's ban; with a
# wrong password the agent says the login was refused and stores nothing.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup push 18640 curl sqlite3
[ -d "$HUB/parsers" ] || { skip "hub not found (SHARED_DIR)" 5; summary; exit 0; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
lapi_config "$T/config.yaml"
lapi_profiles
lapi_start || { fail "LAPI did not start"; summary; exit 1; }
$CSCLI machines add agent1 --auto -f "$T/agent-creds.yaml" >/dev/null 2>&1
KEY=$($CSCLI -oraw bouncers add b1 2>/dev/null)

# the agent: sshd parsers and our ssh-bf, the LAPI client on $T/agent-creds.yaml
A=$T/agent
mkdir -p "$A/data"
cs_etc "$A" parsers/s00-raw/crowdsecurity/syslog-logs.yaml parsers/s01-parse/crowdsecurity/sshd-logs.yaml \
	parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml "$ROOT/scenarios/crowdsec-xdp/ssh-bf.yaml"
cs_config "$A" "$A/data" 127.0.0.1:0
sed -i "s|credentials_path: .*|credentials_path: $T/agent-creds.yaml|" "$A/config.yaml"
now=$(date +%s)
for i in $(seq 12); do
	printf '%s vm sshd[1234]: Failed password for invalid user admin from 198.18.77.7 port %d ssh2\n' \
		"$(date -d "@$((now - 20 + i))" '+%b %e %H:%M:%S')" $((40000 + i))
done >"$T/ssh.log"
timeout 60 "$BUILD/crowdsec" -c "$A/config.yaml" -no-api -dsn "file://$T/ssh.log" -type syslog \
	>"$T/agent.log" 2>&1
check_eq "agent replay exits 0" "$?" 0
B=$(curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=198.18.77.7")
check "pushed alert got the profile's ban" grep -q '"value":"198.18.77.7"' <<<"$B"
check_eq "alert stored with the agent as owner" "$(sqlite3 "$T/crowdsec.db" \
	"SELECT DISTINCT m.machine_id FROM alerts a JOIN machines m ON m.id = a.machine_alerts")" agent1

# a wrong password: refused, said so, nothing stored
sed -i 's/^password: .*/password: wrongwrongwrong/' "$T/agent-creds.yaml"
sed -i 's/198.18.77.7/198.18.77.8/' "$T/ssh.log"
timeout 60 "$BUILD/crowdsec" -c "$A/config.yaml" -no-api -dsn "file://$T/ssh.log" -type syslog \
	>"$T/agent2.log" 2>&1
check "wrong password: login refused in the log" grep -q 'login as agent1 refused (HTTP 401)' "$T/agent2.log"
B=$(curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=198.18.77.8")
check "wrong password: nothing stored" bash -c '! grep -q 198.18.77.8 <<<"$1"' _ "$B"
summary
