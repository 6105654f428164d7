#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Debian's crowdsec 1.4.6 agent (-no-api) pushes its alerts to our LAPI,
# unmodified: it logs in with the credentials our cscli wrote, replays an sshd
# log, and its ssh-bf / ssh-slow-bf overflows become alerts with profile bans
# that a bouncer then pulls. Skips when the agent or its hub is not installed.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup agent 18495 sqlite3
MKCONF=$SHARED_DIR/bench/peers/mkconf.sh
if [ ! -x /usr/bin/crowdsec ] || [ ! -r "$MKCONF" ] || [ ! -d /etc/crowdsec/scenarios ]; then
	skip "Debian crowdsec agent, its hub or $MKCONF missing" 1
	summary
	exit 0
fi
C=$T/conf/etc
# the agent's private configuration (Debian hub selection), LAPI on our port;
# its Go-created database is replaced by ours
sh "$MKCONF" "$T/conf" "$PORT" >/dev/null 2>&1
rm -f "$T"/conf/data/crowdsec.db* "$T"/conf/data/pristine.db
# the agent opens a database of its own as on another host: Go's ent migration
# rewrites tables it finds (it would drop columns of ours, such as alerts.uuid)
sed -i "s|db_path: .*|db_path: $T/conf/data/agent.db|" "$C/config.yaml"
check "our cscli writes the agent's credentials" \
	"$T/cscli" -c "$C/lapi.yaml" machines add agentm -p agentpassword123 -f "$C/local_api_credentials.yaml"
KEY=$("$T/cscli" -c "$C/lapi.yaml" -oraw bouncers add b 2>/dev/null)
lapi_run "$C/lapi.yaml"
wait_http "http://127.0.0.1:$PORT/health"

now=$(date +%s)
for i in $(seq 12); do
	printf '%s vm sshd[1234]: Failed password for invalid user admin from 198.18.9.9 port %d ssh2\n' \
		"$(date -d "@$((now - 20 + i))" '+%b %e %H:%M:%S')" $((40000 + i))
done >"$T/ssh.log"
timeout 120 /usr/bin/crowdsec -c "$C/config.yaml" -no-api -dsn "file://$T/ssh.log" -type syslog \
	>"$T/agent.out" 2>&1
check_eq "agent replay exits 0" "$?" 0
check "agent found the overflows" grep -q "performed 'crowdsecurity/ssh-bf'" "$T/agent.out"
check_eq "alerts stored with the agent as owner" \
	"$(sqlite3 "$T/conf/data/crowdsec.db" "SELECT group_concat(a.scenario || '@' || m.machine_id, ' ') FROM (SELECT * FROM alerts ORDER BY scenario) a JOIN machines m ON m.id = a.machine_alerts")" \
	"crowdsecurity/ssh-bf@agentm crowdsecurity/ssh-slow-bf@agentm"
check_eq "agent login recorded its version" \
	"$(sqlite3 "$T/conf/data/crowdsec.db" "SELECT version LIKE 'v1.4.6%' FROM machines WHERE machine_id='agentm'")" 1
check "agent events and meta stored" test "$(sqlite3 "$T/conf/data/crowdsec.db" \
	"SELECT COUNT(*) FROM events WHERE serialized LIKE '%source_ip%198.18.9.9%'")" -gt 5
B=$(curl -s -H "X-Api-Key: $KEY" "http://127.0.0.1:$PORT/v1/decisions/stream?startup=true")
check_eq "profile ban streamed once (longest-decision dedup)" \
	"$(printf %s "$B" | python3 -c 'import json,sys; d=json.load(sys.stdin); print([(x["value"],x["origin"],x["type"]) for x in d["new"]])')" \
	"[('198.18.9.9', 'crowdsec', 'ban')]"
summary
