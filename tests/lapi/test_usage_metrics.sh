#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# POST /v1/usage-metrics (CrowdSec 1.6.3+) and `cscli metrics show bouncers`, with
# upstream's own cases (test/bats/08_metrics_bouncer.bats): errors naming the
# field, the aggregation (counters summed over time, gauges last, ip types
# summed, origins totalled) and the table. A machine reports as a log processor.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup usagem 19000 curl python3 jq
lapi_config "$T/config.yaml"
lapi_profiles
lapi_start || { fail "LAPI starts"; cat "$T/lapi.log" >&2; summary; exit 1; }
KEY=$($CSCLI bouncers add testbouncer -o raw 2>/dev/null)
post() { # post BODY [AUTH_HEADER]: sets CODE and BODY
	req POST /v1/usage-metrics -H "${2:-X-Api-Key: $KEY}" --data "$1"
}
msg() { jq -r .message <<<"$BODY"; }

out=$($CSCLI metrics show bouncers 2>&1)
check_eq "show bouncers with none: upstream's message" "$out" "No bouncer metrics found."
check "metrics list names the bouncers section" bash -c "$CSCLI metrics list | grep -q '^ *bouncers'"

post '{"remediation_components":[],"log_processors":[]}'
check_eq "empty payload: 400" "$CODE" 400
check_eq "empty payload: message" "$(msg)" "Missing remediation component data"
post '{"remediation_components":[{"version":"v1.0"}],"log_processors":[]}'
check_eq "missing field: 422" "$CODE" 422
check_eq "missing field: named by path" "$(msg)" "validation failure list:
remediation_components.0.utc_startup_timestamp in body is required"
post '{"remediation_components":[{"version":"v1.0","utc_startup_timestamp":"2021-09-01T00:00:00Z"}]}'
check_eq "wrong type: 400" "$CODE" 400
check_eq "wrong type: Go's message" "$(msg)" \
	"json: cannot unmarshal string into Go struct field AllMetrics.remediation_components.utc_startup_timestamp of type int64"
post '{"remediation_components":[{"version":"v1.0","utc_startup_timestamp":1707399316,"metrics":[{"meta":{}}]}]}'
check_eq "missing nested fields: 422" "$CODE" 422
check_eq "missing nested fields: every one named" "$(msg)" "validation failure list:
remediation_components.0.metrics.0.items in body is required
remediation_components.0.metrics.0.meta.utc_now_timestamp in body is required
remediation_components.0.metrics.0.meta.window_size_seconds in body is required"
post "{\"remediation_components\":[{\"version\":\"$(printf 'v%.0s' $(seq 300))\",\"utc_startup_timestamp\":1}]}"
check_eq "a string past 255: 422 naming it" "$(msg)" "validation failure list:
remediation_components.0.version in body should be at most 255 chars long"
post '{"remediation_components":[{"version":"v1","utc_startup_timestamp":1},{"version":"v1","utc_startup_timestamp":1}]}'
check_eq "two components: refused" "$(msg)" "Payload has more than one remediation component"
post '[1,2]'
check_eq "not an object: 400" "$CODE" 400
post '{"remediation_components":[{"version":"v1.0","utc_startup_timestamp":1707399316}]}' "X-Api-Key: nope"
check_eq "bad key: 403" "$CODE" 403
req POST /v1/usage-metrics --data '{}'
check_eq "no credentials: 403" "$CODE" 403
big=$(python3 -c 'print("{\"remediation_components\":[{\"version\":\"" + "x" * 70000 + "\"}]}")')
post "$big"
check_eq "a body past the bound: 413" "$CODE" 413

post '{"remediation_components":[{"version":"v1.0","utc_startup_timestamp":1707399316,"feature_flags":["huey","dewey","louie"],"os":{"name":"Multics","version":"MR12.5"}}],"log_processors":[]}'
check_eq "good payload: 201" "$CODE" 201
check_eq "os and feature flags kept on the bouncer's row" \
	"$(lapi_sql "SELECT os || ' ' || featureflags FROM bouncers WHERE name = 'testbouncer'")" \
	"Multics/MR12.5 huey,dewey,louie"

base='{"version":"v1.0","utc_startup_timestamp":1707399316}'
rc() { # rc METRICS_JSON [TYPE]: one remediation component's payload
	jq -c --argjson m "$1" --arg t "${2:-}" '.metrics = $m | if $t != "" then .type = $t else . end |
		{remediation_components: [.], log_processors: []}' <<<"$base"
}
post "$(rc '[{"meta":{"utc_now_timestamp":1707399316,"window_size_seconds":600},"items":[
	{"name":"foo","unit":"pound","value":3.1415926},
	{"name":"foo","unit":"pound","value":2.7182818},
	{"name":"foo","unit":"dogyear","value":2.7182818}]}]')"
check_eq "metrics payload: 201" "$CODE" 201
check_eq "-o json: truncated, summed, no origin" "$($CSCLI metrics show bouncers -o json | jq -c .)" \
	'{"bouncers":{"testbouncer":{"":{"foo":{"dogyear":2,"pound":5}}}}}'
check_eq "table: a title wrapped to the table, totals only" "$($CSCLI metrics show bouncers)" \
"+--------------------------+
| Bouncer Metrics (testbou |
| ncer) since 2024-02-08 1 |
| 3:35:16 +0000 UTC        |
+--------+-----------------+
| Origin |       foo       |
|        | dogyear | pound |
+--------+---------+-------+
|  Total |       2 |     5 |
+--------+---------+-------+"

items() { # lines "NAME UNIT VALUE IP_TYPE ORIGIN" -> a JSON list of metric items
	jq -Rsc 'split("\n") | map(select(length > 0) | split(" ") |
		{name: .[0], unit: .[1], value: (.[2] | tonumber), labels: {ip_type: .[3], origin: .[4]}})'
}
window() { # window UTC_NOW ITEMS_JSON
	jq -nc --argjson t "$1" --argjson i "$2" '[{meta: {utc_now_timestamp: $t, window_size_seconds: 600}, items: $i}]'
}
post "$(rc "$(window 1707399916 "$(items <<'EOI'
active_decisions ip 500 ipv4 lists:firehol_voipbl
active_decisions ip 1 ipv6 cscli
dropped byte 3800 ipv4 CAPI
dropped byte 0 ipv4 cscli
dropped byte 1034 ipv4 lists:firehol_cruzit_web_attacks
dropped byte 3847 ipv4 lists:firehol_voipbl
dropped byte 380 ipv6 cscli
dropped packet 100 ipv4 CAPI
dropped packet 10 ipv4 cscli
dropped packet 23 ipv4 lists:firehol_cruzit_web_attacks
dropped packet 58 ipv4 lists:firehol_voipbl
dropped packet 0 ipv4 lists:anotherlist
dropped byte 0 ipv4 lists:anotherlist
dropped packet 0 ipv6 cscli
EOI
)")" crowdsec-firewall-bouncer)"
post "$(rc "$(window 1707450000 "$(printf '%s\n' 'active_decisions ip 250 ipv4 lists:firehol_voipbl' \
	'active_decisions ip 10 ipv6 cscli' | items)")" crowdsec-firewall-bouncer)"
check_eq "-o json: gauges keep their last value, counters add up" \
	"$($CSCLI metrics show bouncers -o json | jq -c '.bouncers.testbouncer | {cscli, "lists:firehol_voipbl"}')" \
	'{"cscli":{"active_decisions":{"ip":10},"dropped":{"byte":380,"packet":10}},"lists:firehol_voipbl":{"active_decisions":{"ip":250},"dropped":{"byte":3847,"packet":58}}}'
check_eq "table: upstream's layout" "$($CSCLI metrics show bouncers)" \
"+-----------------------------------------------------------------------------------------+
| Bouncer Metrics (testbouncer) since 2024-02-08 13:35:16 +0000 UTC                       |
+----------------------------------+------------------+-----------------+-----------------+
| Origin                           | active_decisions |     dropped     |       foo       |
|                                  |        IPs       | bytes | packets | dogyear | pound |
+----------------------------------+------------------+-------+---------+---------+-------+
| CAPI (community blocklist)       |                - | 3.80k |     100 |       - |     - |
| cscli (manual decisions)         |               10 |   380 |      10 |       - |     - |
| lists:anotherlist                |                - |     0 |       0 |       - |     - |
| lists:firehol_cruzit_web_attacks |                - | 1.03k |      23 |       - |     - |
| lists:firehol_voipbl             |              250 | 3.85k |      58 |       - |     - |
+----------------------------------+------------------+-------+---------+---------+-------+
|                            Total |              260 | 9.06k |     191 |       2 |     5 |
+----------------------------------+------------------+-------+---------+---------+-------+"
check "--no-unit: the real numbers" bash -c "$CSCLI metrics show bouncers --no-unit | grep -q '|  3800 |     100 |'"
check "show bouncers needs no Prometheus (this LAPI has it off)" bash -c \
	"! $CSCLI metrics show lapi >/dev/null 2>&1 && $CSCLI metrics show bouncers -o raw | grep -q testbouncer"

# a log processor (machine JWT) reports too; its row keeps its version and os
$CSCLI machines add lp1 --auto -f "$T/local_api_credentials.yaml" >/dev/null 2>&1
TOKEN=$(lapi_token lp1)
post '{"log_processors":[{"version":"v1.6.3","utc_startup_timestamp":1707399316,"os":{"name":"debian","version":"12"},"hub_items":{},"datasources":{"file":2}}]}' "Authorization: Bearer $TOKEN"
check_eq "log processor: 201" "$CODE" 201
check_eq "log processor: stored as LP" "$(lapi_sql "SELECT generated_type || ' ' || generated_by FROM metrics WHERE generated_type = 'LP'")" "LP lp1"
post '{"log_processors":[{"version":"v1.6.3","utc_startup_timestamp":1707399316}]}' "Authorization: Bearer $TOKEN"
check_eq "log processor without hub_items: 422" "$(msg)" "validation failure list:
log_processors.0.hub_items in body is required
log_processors.0.datasources in body is required"
post '{"remediation_components":[]}' "Authorization: Bearer $TOKEN"
check_eq "log processor without its data: 400" "$(msg)" "Missing log processor data"
summary
