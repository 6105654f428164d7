# SPDX-License-Identifier: MIT
# Helpers shared by the LAPI shell tests (source after tests/lib/harness.sh).

# free_port BASE: the first loopback port in BASE..BASE+199 that nobody listens on,
# so parallel helpers' test servers on 18xxx do not collide with ours. Shifted by
# 1000 per TEST_LANE (tests/run.sh): tests running beside each other probe
# disjoint ranges, so none takes a port another picked and has not bound yet.
free_port() {
	local p base=$(($1 + 1000 * ${TEST_LANE:-0}))
	for p in $(seq "$base" $((base + 199))); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "$base"
}

# wait_http URL: up to 60 s for the server to answer (a first start on PostgreSQL
# runs every migration; the CI box may be loaded)
wait_http() {
	local _
	for _ in $(seq 600); do
		curl -skf "$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# lapi_setup NAME PORT_BASE [TOOL...]: skip the whole test (exit 0) unless the
# crowdsec binary and every TOOL are there. Then: CROWDSEC, PORT (free, from
# PORT_BASE), URL, T (a temp dir, kept with LAPI_TEST_KEEP), CSCLI (cscli on
# $T/config.yaml), PID (the LAPI's, see lapi_start) and the exit trap: it runs
# the commands of LAPI_ON_EXIT (an array the test may fill), kills the LAPI and
# removes T.
lapi_setup() {
	local name=$1 base=$2 t
	shift 2
	CROWDSEC=$BUILD/crowdsec
	for t in "$CROWDSEC" "$@"; do
		[ -x "$t" ] || command -v "$t" >/dev/null || { skip "$t missing" 1; summary; exit 0; }
	done
	PORT=${LAPI_TEST_PORT:-$(free_port "$base")}
	URL=http://127.0.0.1:$PORT
	T=$(mktemp -d "/tmp/cs-lapi-$name.XXXXXX")
	PID=
	LAPI_ON_EXIT=()
	trap lapi_cleanup EXIT
	if [ "${LAPI_DB:-sqlite}" = postgresql ]; then
		# the caller's server (tests/lapi/test_lapi_pg.sh exports PG_*), else one of our
		# own, removed by lapi_cleanup whatever the test puts in LAPI_ON_EXIT
		# (LAPI_DB=postgresql bash tests/lapi/test_x.sh); a database per test
		. "$(dirname "${BASH_SOURCE[0]}")/../lib/pg.sh"
		if [ -z "${PG_SOCK:-}" ]; then
			pg_start || { LAPI_OWN_PG=1; skip "$PG_WHY" 1; summary; exit 0; }
			LAPI_OWN_PG=1
		fi
		LAPI_PG_DB="cs_${name//[^a-zA-Z0-9]/_}_$$"
		pg_createdb "$LAPI_PG_DB" || { skip "no PostgreSQL database for $name" 1; summary; exit 0; }
	fi
	ln -s "$BUILD/cscli" "$T/cscli"
	CSCLI="$T/cscli -c $T/config.yaml"
}

# lapi_pg_setup NAME PORT_BASE [TOOL...]: lapi_setup for a test that needs a PostgreSQL
# of its own (tests/lib/pg.sh, removed at exit: keep LAPI_ON_EXIT's entries, append to
# it): LAPI_DB=postgresql. Skips the test when PostgreSQL is not installed.
lapi_pg_setup() {
	. "$(dirname "${BASH_SOURCE[0]}")/../lib/pg.sh"
	LAPI_DB=postgresql
	pg_start || { skip "$PG_WHY" 1; summary; exit 0; }
	lapi_setup "$@"
	LAPI_ON_EXIT=(pg_cleanup)
}

lapi_cleanup() {
	local c
	for c in "${LAPI_ON_EXIT[@]}"; do eval "$c"; done
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	wait 2>/dev/null
	[ -n "${LAPI_OWN_PG:-}" ] && pg_cleanup
	[ -n "${LAPI_TEST_KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}

# lapi_db_config: the db_config section, SQLite in $T (LAPI_DB_PATH overrides the
# path) or, with LAPI_DB=postgresql, the test's PostgreSQL database (lapi_setup)
lapi_db_config() {
	if [ "${LAPI_DB:-sqlite}" = postgresql ]; then
		printf 'db_config:\n  type: postgresql\n  host: %s\n  port: %s\n  user: %s\n  db_name: %s\n  sslmode: disable\n' \
			"$PG_SOCK" "$PG_PORT" "$PG_USER" "$LAPI_PG_DB"
	else
		printf 'db_config:\n  type: sqlite\n  db_path: %s\n' "${LAPI_DB_PATH:-$T/crowdsec.db}"
	fi
}

# lapi_sql SQL: one query on the LAPI's database, whichever engine it is
lapi_sql() {
	if [ "${LAPI_DB:-sqlite}" = postgresql ]; then
		pg_psql "$LAPI_PG_DB" "$1"
	else
		sqlite3 "$T/crowdsec.db" "$1"
	fi
}

# lapi_config FILE [SERVER_LINES] [TOP_LINES]: the usual test configuration
# (lapi_db_config, credentials $T/local_api_credentials.yaml, profiles
# $T/profiles.yaml, no Prometheus unless TOP_LINES has a prometheus: section);
# SERVER_LINES go under api.server (indented by four spaces).
lapi_config() {
	cat >"$1" <<EOC
common:
  log_level: info
api:
  client:
    credentials_path: $T/local_api_credentials.yaml
  server:
    listen_uri: 127.0.0.1:$PORT
    profiles_path: $T/profiles.yaml
${2:-}
$(lapi_db_config)
${3:-prometheus:
  enabled: false}
EOC
}

# lapi_profiles [EXTRA_LINE]: the default Ip remediation profile in $T/profiles.yaml
lapi_profiles() {
	cat >"$T/profiles.yaml" <<EOP
name: default_ip_remediation
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
 - type: ban
   duration: 4h
${1:-}
on_success: break
EOP
}

# lapi_run CONFIG [NETNS]: crowdsec -no-cs in the background (PID), logging to $T/lapi.log
lapi_run() {
	if [ -n "${2:-}" ]; then
		nsenter --net="/run/netns/$2" "$CROWDSEC" -no-cs -c "$1" >>"$T/lapi.log" 2>&1 &
	else
		"$CROWDSEC" -no-cs -c "$1" >>"$T/lapi.log" 2>&1 &
	fi
	PID=$!
}

# lapi_start: lapi_run $T/config.yaml, then up to 5 s for /health to answer
lapi_start() {
	lapi_run "$T/config.yaml" && wait_http "$URL/health"
}

# req METHOD PATH [curl args]: sets CODE, BODY, HDRS
req() {
	local m=$1 p=$2
	shift 2
	CODE=$(curl -sg -o "$T/body" -D "$T/hdrs" -w '%{http_code}' -X "$m" "$URL$p" "$@")
	BODY=$(cat "$T/body")
	HDRS=$(cat "$T/hdrs")
}

# lapi_token MACHINE: a machine JWT for the credentials in $T/local_api_credentials.yaml
# (written by `cscli machines add MACHINE --auto -f ...`)
lapi_token() {
	local pw
	pw=$(sed -n 's/^password: //p' "$T/local_api_credentials.yaml")
	curl -s -X POST "$URL/v1/watchers/login" -d "{\"machine_id\":\"$1\",\"password\":\"$pw\"}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
