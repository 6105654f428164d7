#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Profiles see the pushing machine: a filter on Alert.MachineID gives a decision for
# the usual agent body (the fast decoder's path) posted by that machine, and none
# for the same body from another machine (CrowdSec sets MachineID before profiles).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup profmachine 18760 curl python3 sqlite3
cat >"$T/profiles.yaml" <<EOP
name: by_machine
filters:
 - Alert.MachineID == "m1"
decisions:
 - type: ban
   duration: 4h
on_success: break
EOP
lapi_config "$T/config.yaml"
lapi_start || { fail "LAPI did not start: $(tail -3 "$T/lapi.log")"; summary; exit 1; }
# each machine's token while its credentials are the file's
for m in m1 m2; do
	$CSCLI machines add "$m" --auto -f "$T/local_api_credentials.yaml" >/dev/null 2>&1
	printf -v "TOKEN_$m" '%s' "$(lapi_token "$m")"
done

# push TOKEN IP: the status of an agent's usual one-alert body (the fast decoder's)
push() {
	local ts
	ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	cat >"$T/alert.json" <<EOA
[{"capacity":5,"decisions":null,"events":[{"meta":[{"key":"source_ip","value":"$2"}],"timestamp":"$ts"}],
  "events_count":6,"leakspeed":"10s","message":"t","remediation":true,
  "scenario":"crowdsecurity/ssh-bf","scenario_hash":"h","scenario_version":"0.1","simulated":false,
  "source":{"ip":"$2","scope":"Ip","value":"$2"},"start_at":"$ts","stop_at":"$ts"}]
EOA
	req POST /v1/alerts -H "Authorization: Bearer $1" --data-binary "@$T/alert.json"
	echo "$CODE"
}
bans() { lapi_sql "SELECT count(*) FROM decisions WHERE value = '$1'"; }

check_eq "m1's alert stored" "$(push "$TOKEN_m1" 198.18.82.1)" 201
check_eq "the profile on Alert.MachineID gave m1's alert a decision" "$(bans 198.18.82.1)" 1
check_eq "m2's alert stored" "$(push "$TOKEN_m2" 198.18.82.2)" 201
check_eq "no decision for another machine's alert" "$(bans 198.18.82.2)" 0
check_eq "the alert records its machine" \
	"$(lapi_sql "SELECT count(*) FROM alerts a JOIN machines m ON a.machine_alerts = m.id WHERE m.machine_id = 'm1' AND a.source_value = '198.18.82.1'")" 1
summary
