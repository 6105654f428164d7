#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One contract suite, two engines: the LAPI tests that run on SQLite run again on
# PostgreSQL (LAPI_DB=postgresql, lapi_lib.sh), against a private server started
# here (tests/lib/pg.sh: initdb + pg_ctl as an unprivileged user, unix socket
# only) and removed at exit. Each file's failures are ours: its count is checked.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/pg.sh"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${BUILD:=$here/../../build}"
[ -x "$BUILD/crowdsec" ] || { skip "crowdsec not built" 1; summary; exit 0; }
trap pg_cleanup EXIT
pg_start || { skip "$PG_WHY" 1; summary; exit 0; }
export PG_BIN PG_DIR PG_SOCK PG_PORT PG_USER BUILD LAPI_DB=postgresql

# the storage contract (ranges, IPv6 containment, pagination, the stream) in C
pg_createdb cs_contract_db
CS_TEST_PG_CONNINFO="host=$PG_SOCK port=$PG_PORT user=$PG_USER dbname=cs_contract_db" \
	run_on_pg "$BUILD/tests/lapi/test_lapi_db"
pg_createdb cs_bulk_db
CS_TEST_PG_CONNINFO="host=$PG_SOCK port=$PG_PORT user=$PG_USER dbname=cs_bulk_db" \
	run_on_pg "$BUILD/tests/lapi/test_db_bulk_insert"
# the HTTP contract, the real bouncers, allowlists, imports, TLS auth, usage metrics
for t in test_lapi_http.sh test_lapi_bouncers.sh test_lapi_allowlists.sh test_lapi_decisions_import.sh \
	test_lapi_tls.sh test_usage_metrics.sh test_lapi_alert_uuid.sh; do
	run_on_pg bash "$here/$t"
done
summary
