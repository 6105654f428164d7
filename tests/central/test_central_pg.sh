#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# crowdsec-central on PostgreSQL (central.yaml's db_config, CrowdSec's keys),
# against a private server (tests/lib/pg.sh): the consensus contract in C, the
# HTTP contract (test_central_http.sh), then two servers sharing one database
# serve one crowd: reports sent to either count together, and a member pulls
# the listing from the server that did not make it.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/pg.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lapi/lapi_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/central_lib.sh"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${BUILD:=$here/../../build}"
[ -x "$BUILD/crowdsec-central" ] || skip_all "crowdsec-central not built" 1

central_setup pg 18990
CENTRAL_ON_EXIT+=(pg_cleanup)
pg_start || skip_all "$PG_WHY" 1
export PG_BIN PG_DIR PG_SOCK PG_PORT PG_USER BUILD

# the consensus contract: one database per test (cs_central_N)
for n in $(seq 0 19); do pg_createdb "cs_central_$n" || break; done
CS_TEST_PG_CONNINFO="host=$PG_SOCK port=$PG_PORT user=$PG_USER" \
	run_on_pg "$BUILD/tests/central/test_central_consensus"

db_config() {
	printf 'db_config:\n  type: postgresql\n  host: %s\n  port: %s\n  user: %s\n  db_name: %s\n' \
		"$PG_SOCK" "$PG_PORT" "$PG_USER" "$1"
}

# the HTTP contract
pg_createdb cs_central_http
CENTRAL_DB_CONFIG=$(db_config cs_central_http) run_on_pg bash "$here/test_central_http.sh"
check "signal rows keep only ip, scenario, hash, version, times, reporter" test \
	"$(pg_psql cs_central_http "SELECT string_agg(column_name, ',' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_name = 'central_signals'")" = \
	"id,reporter,ip,scenario,scenario_hash,scenario_version,start_at,stop_at,created_at,state"

# two servers, one crowd
pg_createdb cs_central_shared
CENTRAL_DB_CONFIG=$(db_config cs_central_shared)
check "server A starts" central_start
PORT_B=$(free_port 18995)
sed "s/127.0.0.1:$CPORT/127.0.0.1:$PORT_B/" "$T/central.yaml" >"$T/central-b.yaml"
"$CENTRAL" -c "$T/central-b.yaml" >>"$T/central-b.log" 2>&1 &
BPID=$!
CENTRAL_ON_EXIT+=("kill $BPID 2>/dev/null")
check "server B starts" wait_http "http://127.0.0.1:$PORT_B/health"
CU_A=$CU CU_B=http://127.0.0.1:$PORT_B
X=198.18.70.7
for i in 1 2 3; do
	# reporters 1 and 3 go to A, 2 to B (a load balancer's choice)
	if [ "$i" = 2 ]; then CU=$CU_B; else CU=$CU_A; fi
	reporter "shared$i" "$i"
	creq POST /v2/signals "$i" -H "Authorization: Bearer $TOKEN" -d "[$(signal $X)]"
	check_eq "signal $i accepted" "$CODE" 200
done
CU=$CU_B
reporter member 9 '["crowdsecurity/ssh-bf"]'
creq GET '/v2/decisions/stream?startup=true' 9 -H "Authorization: Bearer $TOKEN"
check "reports sent to two servers count together; the other server serves the listing" \
	grep -q "\"value\":\"$X\"" <<<"$BODY"
summary
