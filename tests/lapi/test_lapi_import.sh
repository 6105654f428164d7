#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A database written by Go CrowdSec 1.4.6 (schema from spec/captures) is imported
# on first open: bouncer keys keep working, decisions keep their ranges, alerts and
# machines are kept; the timestamps come across.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup import 18499 sqlite3
SCHEMA=$SHARED_DIR/spec/captures/sqlite-schema-1.4.6.sql
[ -r "$SCHEMA" ] || { skip "the 1.4.6 schema capture missing (SHARED_DIR)" 1; summary; exit 0; }

until_ts=$(date -u -d '+1 hour' '+%Y-%m-%d %H:%M:%S')
grep -v '^--' "$SCHEMA" | grep -v 'sqlite_sequence' | sqlite3 "$T/crowdsec.db"
# a bouncer whose key is "testkey" (sha512 hex), a machine, an alert with a Range decision
sqlite3 "$T/crowdsec.db" <<EOS
INSERT INTO machines (id, created_at, updated_at, last_push, last_heartbeat, machine_id, password, ip_address, scenarios, version, is_validated, status, auth_type)
 VALUES (1, '2026-11-25 07:48:58.673853748+00:00', '2026-11-25 07:48:58.673854249+00:00', NULL, NULL, 'gom', '\$2a\$05\$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', '127.0.0.1', 'crowdsecurity/ssh-bf', 'v1.4.6', 1, NULL, 'password');
INSERT INTO bouncers (id, created_at, updated_at, name, api_key, revoked, ip_address, type, version, until, last_pull, auth_type)
 VALUES (1, '2026-11-25 07:47:05.680253461+00:00', '2026-11-25 07:47:05.680253461+00:00', 'gob', '$(printf %s testkey | sha512sum | cut -d' ' -f1)', 0, '127.0.0.1', 'curl', '7.88.1', NULL, '2026-11-25 07:47:05.679595471+00:00', 'api-key');
INSERT INTO alerts (id, created_at, updated_at, scenario, bucket_id, message, events_count, started_at, stopped_at, source_ip, source_range, source_scope, source_value, capacity, leak_speed, scenario_version, scenario_hash, simulated, machine_alerts)
 VALUES (16, '2026-11-25 07:48:58.477469219+00:00', '2026-11-25 07:48:58.477469219+00:00', 'manual', '', 'manual', 1, '2026-11-25 07:48:58+00:00', '2026-11-25 07:48:58+00:00', '198.18.1.0/24', '', 'Range', '198.18.1.0/24', 0, '0', '', '', 0, 1);
INSERT INTO decisions (id, created_at, updated_at, until, scenario, type, start_ip, end_ip, start_suffix, end_suffix, ip_size, scope, value, origin, simulated, alert_decisions)
 VALUES (16, '2026-11-25 07:48:58.473406883+00:00', '2026-11-25 07:48:58.473406883+00:00', '$until_ts+00:00', 'manual', 'ban', -9223372033531707135, -9223372033531706880, -9223372036854775807, -9223372036854775807, 4, 'Range', '198.18.1.0/24', 'cscli', 0, 16);
INSERT INTO events (id, created_at, updated_at, time, serialized, alert_events)
 VALUES (1, '2026-11-25 07:48:58+00:00', '2026-11-25 07:48:58+00:00', '2026-11-25 07:48:58+00:00', '[{"key":"source_ip","value":"198.18.1.1"}]', 16);
EOS
lapi_config "$T/config.yaml"
lapi_profiles
lapi_start
check "import announced" grep -q 'imported a CrowdSec (Go) database' "$T/lapi.log"
check_eq "schema now ours (every migration ran)" "$(sqlite3 "$T/crowdsec.db" 'PRAGMA user_version')" 9
check_eq "the alerts' owner and uuid in one index" "$(sqlite3 "$T/crowdsec.db" \
	"SELECT group_concat(name) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'alerts' AND name LIKE 'alerts_%'")" \
	"alerts_created_at,alerts_machine_uuid"
check_eq "the decisions' address and value in one index" "$(sqlite3 "$T/crowdsec.db" \
	"SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'decisions' ORDER BY name)")" \
	"decisions_addr,decisions_alert,decisions_created_at,decisions_until"
B=$(curl -s -H "X-Api-Key: testkey" "http://127.0.0.1:$PORT/v1/decisions?ip=198.18.1.77")
check "Go bouncer key works, Range decision found by containment" \
	grep -q '"id":16,"origin":"cscli","scenario":"manual","scope":"Range","type":"ban","value":"198.18.1.0/24"' <<<"$B"
check "remaining duration computed from the Go timestamp" grep -qE '"duration":"(59m|1h0m)' <<<"$B"
check_eq "timestamps converted" "$(sqlite3 "$T/crowdsec.db" 'SELECT created_at FROM alerts WHERE id=16')" \
	1795592938477469219
check_eq "events kept" "$(sqlite3 "$T/crowdsec.db" 'SELECT COUNT(*) FROM events')" 1
check_eq "machines kept" "$(sqlite3 "$T/crowdsec.db" "SELECT machine_id FROM machines")" gom
check_eq "Go machine logs in with its bcrypt password" "$(curl -s -o /dev/null -w '%{http_code}' \
	-X POST "http://127.0.0.1:$PORT/v1/watchers/login" -d '{"machine_id":"gom","password":"U*U"}')" 200
check_eq "no leftover Go tables" "$(sqlite3 "$T/crowdsec.db" "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'go_%'")" 0
summary
