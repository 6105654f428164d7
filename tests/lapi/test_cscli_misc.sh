#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cscli alerts inspect -d / flush, simulation enable|disable|status over
# simulation.yaml, config show [--key], version, completion bash|zsh.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup cscli-misc 18620 curl python3
lapi_config "$T/config.yaml" '    trusted_ips: ["127.0.0.1", "::1"]' "prometheus:
  enabled: false
config_paths:
  config_dir: $T/
  data_dir: $T/data/
  simulation_path: $T/simulation.yaml
  hub_dir: $T/hub/"
lapi_start || { fail "LAPI did not start"; summary; exit 1; }
cs() { "$BUILD/cscli" -c "$T/config.yaml" "$@"; }
qcs() { cs "$@" >/dev/null 2>&1; }
cs machines add tester --auto -f "$T/local_api_credentials.yaml" >/dev/null 2>&1
TOKEN=$(lapi_token tester)

# ---- alerts inspect -d, flush ----------------------------------------------------------------
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
body=$(printf '[{"scenario":"test/bf","scenario_hash":"","scenario_version":"","message":"m","events_count":1,"start_at":"%s","stop_at":"%s","capacity":1,"leakspeed":"1s","simulated":false,"remediation":true,"source":{"scope":"Ip","value":"198.18.20.1","ip":"198.18.20.1"},"meta":[{"key":"target_user","value":"[\\"root\\",\\"admin\\"]"}],"events":[{"timestamp":"%s","meta":[{"key":"log_type","value":"ssh_failed-auth"},{"key":"source_ip","value":"198.18.20.1"}]}]}]' "$now" "$now" "$now")
ids=$(curl -s -H "Authorization: Bearer $TOKEN" -X POST "$URL/v1/alerts" -d "$body")
id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0])' <<<"$ids")
out=$(cs alerts inspect "$id" -d 2>&1)
check "inspect -d: context" sh -c 'grep -q "Context" && true' <<<"$out"
check "inspect -d: context values, one row each" sh -c 'grep -c "target_user" | grep -qx 2' <<<"$out"
check "inspect -d: events with their meta" grep -q "ssh_failed-auth" <<<"$out"
out=$(cs alerts inspect "$id" 2>&1)
check "inspect without -d: no events" sh -c '! grep -q "^ - Events  :"' <<<"$out"
for i in 1 2 3; do curl -s -H "Authorization: Bearer $TOKEN" -X POST "$URL/v1/alerts" -d "${body//198.18.20.1/198.18.20.$((i + 1))}" >/dev/null; done
check "alerts flush --max-items 1" qcs alerts flush --max-items 1
n=$(cs alerts list -o json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin) or []))')
check_eq "one alert left" "$n" 1
out=$(cs alerts flush --max-age nonsense 2>&1); rc=$?
check "flush with a bad --max-age: error" [ $rc -ne 0 ]

# ---- simulation ---------------------------------------------------------------------------------
out=$(cs simulation status)
check "status without a file: disabled" grep -q "global simulation: disabled" <<<"$out"
check "enable one scenario" qcs simulation enable crowdsecurity/ssh-bf
check "written to simulation.yaml" python3 -c '
import yaml; d=yaml.safe_load(open("'"$T"'/simulation.yaml"))
assert d["simulation"] is False and d["exclusions"]==["crowdsecurity/ssh-bf"], d'
out=$(cs simulation status)
check "status lists it" grep -q "  - crowdsecurity/ssh-bf" <<<"$out"
out=$(cs simulation enable --global)
check "enable --global" grep -q "global simulation: enabled" <<<"$out"
check "global clears exclusions" python3 -c '
import yaml; d=yaml.safe_load(open("'"$T"'/simulation.yaml"))
assert d["simulation"] is True and not d.get("exclusions"), d'
cs simulation disable crowdsecurity/ssh-bf >/dev/null
out=$(cs simulation status)
check "disable one in global mode: listed as not in simulation" grep -q "Scenarios not in simulation mode" <<<"$out"
out=$(cs simulation disable --global)
check "disable --global" grep -q "global simulation: disabled" <<<"$out"
out=$(cs simulation enable 2>&1); rc=$?
check "enable without argument: usage" [ $rc -eq 2 ]

# ---- config show, version, completion ---------------------------------------------------------------
check_eq "config show --key (file path)" "$(cs config show --key api.server.listen_uri)" "127.0.0.1:$PORT"
check_eq "config show --key (Go names)" "$(cs config show --key Config.API.Server.ListenURI)" "127.0.0.1:$PORT"
check_eq "config show --key DbConfig.DbPath" "$(cs config show --key DbConfig.DbPath)" "$T/crowdsec.db"
out=$(cs config show --key nope.nope 2>&1); rc=$?
check "config show unknown key: error" [ $rc -ne 0 ]
check "config show -o json" sh -c "\"$BUILD/cscli\" -c \"$T/config.yaml\" -o json config show | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"db_config\"][\"type\"]==\"sqlite\"'"
check "config show human" sh -c "\"$BUILD/cscli\" -c \"$T/config.yaml\" config show | grep -q 'Listen URL *: 127.0.0.1'"
check "version" sh -c "\"$BUILD/cscli\" version | grep -q '^version: '"
check "completion bash parses" sh -c "\"$BUILD/cscli\" completion bash | bash -n"
check "completion bash knows the hub verbs" sh -c "\"$BUILD/cscli\" completion bash | grep -q 'collections) COMPREPLY=(\$(compgen -W \"install'"
check "completion zsh" sh -c "\"$BUILD/cscli\" completion zsh | grep -q '^#compdef cscli'"
out=$("$BUILD/cscli" completion fish 2>&1); rc=$?
check "completion of an unknown shell: usage" [ $rc -eq 2 ]
for o in simulation config allowlists explain hub collections; do
	check "$o --help" sh -c "\"$BUILD/cscli\" $o --help >/dev/null"
done

summary
