# SPDX-License-Identifier: MIT
# Shared by bench_lapi.sh and bench_bouncer.sh (sourced): a CrowdSec 1.4.6 SQLite database
# with N active IPv4 bans written directly with sqlite3 (the 1.4.6 schema from the spec
# captures), which 1.4.6 serves as is and our LAPI imports on first open.

SCHEMA=${SCHEMA:-$SHARED_DIR/spec/captures/sqlite-schema-1.4.6.sql}

# our_lapi_config DIR PORT: DIR/config.yaml for our LAPI on DIR/crowdsec.db (credentials
# DIR/creds.yaml, the project's profiles, no Prometheus)
our_lapi_config() {
	cat >"$1/config.yaml" <<YAML
common:
  log_level: warning
api:
  client:
    credentials_path: $1/creds.yaml
  server:
    listen_uri: 127.0.0.1:$2
    profiles_path: $here/../config/profiles.yaml
db_config:
  db_path: $1/crowdsec.db
prometheus:
  enabled: false
YAML
}

# crowdsec_config DIR PORT DB_YAML [PROFILES]: DIR/config.yaml in CrowdSec 1.4.6's layout
# (what its crowdsec and cscli need: simulation, an empty hub index) for a LAPI on
# 127.0.0.1:PORT with the db_config lines DB_YAML (indented by two spaces)
crowdsec_config() {
	local d=$1
	mkdir -p "$d/data" "$d/hub"
	cat >"$d/config.yaml" <<YAML
common:
  daemonize: false
  log_media: file
  log_dir: $d/
  log_level: warning
config_paths:
  config_dir: $d/
  data_dir: $d/data/
  simulation_path: $d/simulation.yaml
  hub_dir: $d/hub/
  index_path: $d/hub/.index.json
db_config:
$3
api:
  client:
    credentials_path: $d/creds.yaml
  server:
    log_level: warning
    listen_uri: 127.0.0.1:$2
    profiles_path: ${4:-$d/profiles.yaml}
prometheus:
  enabled: false
YAML
	printf 'simulation: off\n' >"$d/simulation.yaml"
	echo '{}' >"$d/hub/.index.json"
}

# go_ts [DATE-ARGS]: a timestamp as 1.4.6 (ent + mattn/go-sqlite3) stores it
go_ts() { date -u "$@" '+%Y-%m-%d %H:%M:%S+00:00'; }

# gen_go_db FILE N [BOUNCER-KEYS-FILE]: N bans (4h, origin cscli, one alert carrying them,
# like `cscli decisions import`) on 100.64.0.0 + i; a bouncer per key in the file
# (api_key = sha512 hex, last_pull after the decisions, so a delta is empty).
gen_go_db() {
	local db=$1 n=$2 keys=${3:-} now until lp i=0 k
	now=$(go_ts); until=$(go_ts -d '+4 hour')
	rm -f "$db"
	grep -v '^--' "$SCHEMA" | grep -v sqlite_sequence | sqlite3 "$db" || return 1
	sqlite3 "$db" <<EOS || return 1
PRAGMA synchronous = OFF;
BEGIN;
INSERT INTO alerts (id, created_at, updated_at, scenario, bucket_id, message, events_count,
 started_at, stopped_at, source_ip, source_range, source_scope, source_value, capacity, leak_speed,
 scenario_version, scenario_hash, simulated, machine_alerts)
 VALUES (1, '$now', '$now', 'import bench', '', 'bench: $n decisions', 1, '$now', '$now',
 '', '', 'cscli-import', '', 0, '0', '', '', 0, NULL);
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < $n - 1)
INSERT INTO decisions (created_at, updated_at, until, scenario, type, start_ip, end_ip, start_suffix,
 end_suffix, ip_size, scope, value, origin, simulated, alert_decisions)
 SELECT '$now', '$now', '$until', 'import bench', 'ban', ip - 9223372036854775807,
  ip - 9223372036854775807, -9223372036854775807, -9223372036854775807, 4, 'Ip',
  printf('%d.%d.%d.%d', ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255), 'cscli', 0, 1
 FROM (SELECT 1681915904 + i AS ip FROM s);
COMMIT;
EOS
	[ -n "$keys" ] || return 0
	sleep 1.1
	lp=$(go_ts)
	{
		echo "BEGIN;"
		while read -r k; do
			i=$((i + 1))
			echo "INSERT INTO bouncers (created_at, updated_at, name, api_key, revoked, ip_address, type, version, last_pull, auth_type) VALUES ('$lp', '$lp', 'bench-$i', '$(printf %s "$k" | sha512sum | cut -d' ' -f1)', 0, '', '', '', '$lp', 'api-key');"
		done <"$keys"
		echo "COMMIT;"
	} | sqlite3 "$db"
}

# gen_keys FILE COUNT: COUNT random API keys
gen_keys() { local i; for i in $(seq "$2"); do head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; echo; done >"$1"; }

# peak_rss OUTFILE PID...: the largest sum of VmRSS (kB) of the PIDs (and, for each, its
# children), sampled every 50 ms into OUTFILE, until the first PID is gone.
peak_rss() {
	local o=$1 m=0 r p c; shift
	echo 0 >"$o"
	while [ -e "/proc/$1/status" ]; do
		r=0
		for p in "$@" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
			c=$(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null)
			r=$((r + ${c:-0}))
		done
		[ "$r" -gt "$m" ] && m=$r && echo "$m" >"$o"
		sleep 0.05
	done
}

# wait_tcp PORT SECONDS [NETNS]: until something listens on 127.0.0.1:PORT
wait_tcp() {
	local i pre=()
	[ -n "${3:-}" ] && pre=(nsenter --net=/run/netns/"$3")
	for i in $(seq $(( $2 * 10 ))); do
		"${pre[@]}" bash -c "echo >/dev/tcp/127.0.0.1/$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

mib() { awk -v k="${1:-0}" 'BEGIN { printf "%.0f", k / 1024 }'; }
