# SPDX-License-Identifier: MIT
# Helpers of the crowdsec-central tests (source after tests/lib/harness.sh and
# tests/lapi/lapi_lib.sh). Reporters send from distinct loopback /24s
# (127.0.N.1): every 127/8 address is ours on lo, and each is its own network.

# central_setup NAME PORT_BASE: CENTRAL, CPORT, CURL_BASE (CU), T and the exit trap
central_setup() {
	CENTRAL=$BUILD/crowdsec-central
	[ -x "$CENTRAL" ] || skip_all "crowdsec-central missing" 1
	CPORT=$(free_port "$2")
	CU=http://127.0.0.1:$CPORT
	T=$(mktemp -d "/tmp/cs-central-$1.XXXXXX")
	CPID=
	CENTRAL_ON_EXIT=()
	trap central_cleanup EXIT
}

central_cleanup() {
	local c
	for c in "${CENTRAL_ON_EXIT[@]}"; do eval "$c"; done
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null
	wait 2>/dev/null
	[ -n "${CENTRAL_TEST_KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}

# central_start [central.yaml lines]: the server on CPORT with its db in $T, or
# where CENTRAL_DB_CONFIG (db_config lines: test_central_pg.sh) points
central_start() {
	printf 'listen_uri: 127.0.0.1:%s\ndb_path: %s/central.db\nlog_level: info\n%s\n%s\n' \
		"$CPORT" "$T" "${1:-}" "${CENTRAL_DB_CONFIG:-}" >"$T/central.yaml"
	"$CENTRAL" -c "$T/central.yaml" >>"$T/central.log" 2>&1 &
	CPID=$!
	wait_http "$CU/health"
}

# creq METHOD PATH FROM [curl args]: a request from 127.0.FROM.1; sets CODE, BODY
creq() {
	local m=$1 p=$2 from=$3
	shift 3
	CODE=$(curl -sg -A crowdsec/test --interface "127.0.$from.1" -o "$T/body" \
		-w '%{http_code}' -X "$m" "$CU$p" "$@")
	BODY=$(cat "$T/body")
}

# reporter ID FROM [SCENARIOS_JSON]: registers and logs in; TOKEN is its JWT
reporter() {
	creq POST /v2/watchers "$2" -d "{\"machine_id\":\"$1\",\"password\":\"pw-$1\"}"
	creq POST /v2/watchers/login "$2" -d "{\"machine_id\":\"$1\",\"password\":\"pw-$1\",\"scenarios\":${3:-[\"crowdsecurity/ssh-bf\"]}}"
	TOKEN=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("token",""))' "$BODY" 2>/dev/null)
}

# signal IP [SCENARIO] [TRUST] [HASH] [VERSION]: one signal as CrowdSec 1.4.6 sends it
signal() {
	printf '{"scenario":"%s","scenario_hash":"%s","scenario_version":"%s","scenario_trust":"%s","message":"Ip %s performed %s","machine_id":"m","created_at":"2026-01-01T00:00:00Z","start_at":"2026-01-01T00:00:00Z","stop_at":"2026-01-01T00:00:05Z","source":{"scope":"Ip","value":"%s","ip":"%s","as_name":"x","cn":"FR"}}' \
		"${2:-crowdsecurity/ssh-bf}" "${4-abc123}" "${5-0.2}" "${3:-certified}" "$1" \
		"${2:-crowdsecurity/ssh-bf}" "$1" "$1"
}

# list_by_consensus IP: three reporters (seed1..3) from three /24s report IP
list_by_consensus() {
	local i
	for i in 1 2 3; do
		reporter "seed$i" "$i"
		creq POST /v2/signals "$i" -H "Authorization: Bearer $TOKEN" -d "[$(signal "$1")]"
	done
}
