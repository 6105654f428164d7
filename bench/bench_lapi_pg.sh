#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Local API on PostgreSQL beside SQLite, in one run: ours (`crowdsec -no-cs`) on
# SQLite, ours on PostgreSQL, two of ours on the same PostgreSQL (replicas), and
# Debian's CrowdSec 1.4.6 LAPI on the same PostgreSQL server (db_config.type:
# postgres, its own database). The server is private to the run (tests/lib/pg.sh:
# initdb + pg_ctl in a temporary directory, unix socket, fsync on); both LAPIs get
# max_open_conns: 10 (the ingest's connections).
# Per side, on a fresh database:
#  (0) `cscli decisions import` of N (ours, default 100000) or PEER_IMPORT_N (1.4.6,
#      default 10000) CSV bans through the LAPI: wall s, decisions/s;
#  (a) GET /v1/decisions/stream?startup=true: wall s, decisions in the answer;
#  (b) delta pulls, CONNS (100) connections over KEYS_N (100) bouncer keys, WINDOW s
#      (10), wrk: pulls/s, p50, p99 (replicas: CONNS/2 on each, pulls/s summed);
#  (c) alert ingest, POST /v1/alerts one alert per request, 10 connections, WINDOW s:
#      alerts/s answered 201 (replicas: 5 connections on each).
# Knobs: N, PEER_IMPORT_N, WINDOW, CONNS, KEYS_N.
set -u
[ "$(id -u)" = 0 ] || { echo "bench_lapi_pg: needs root"; exit 0; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lapi_lib.sh"
. "$here/../tests/lib/pg.sh"
N=${N:-100000} PEER_IMPORT_N=${PEER_IMPORT_N:-10000} WINDOW=${WINDOW:-10} CONNS=${CONNS:-100} KEYS_N=${KEYS_N:-100}
PORT0=${PORT0:-28801}
PEERS=$SHARED_DIR/bench/peers
for c in wrk curl jq; do command -v $c >/dev/null || { echo "bench_lapi_pg: $c missing (make test-deps)"; exit 0; }; done
W=$(mktemp -d /tmp/bench-lapi-pg.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	pg_cleanup
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
PG_FSYNC=on pg_start || { echo "bench_lapi_pg: $PG_WHY"; exit 0; }
have_peer=1
command -v crowdsec >/dev/null && [ -x /usr/bin/cscli ] || have_peer=0
gen_keys "$W/keys" "$KEYS_N"
python3 -c "
import ipaddress
b = int(ipaddress.IPv4Address('100.64.0.0'))
with open('$W/bans.csv', 'w') as f:
    f.write('duration,scope,value,reason,type\n')
    for i in range($N): f.write('4h,ip,%s,bench-import,ban\n' % ipaddress.IPv4Address(b + i))
"
PW=benchpassword-$$-pg
declare -A R

# side_config DIR PORT sqlite|postgresql|peer DBNAME
side_config() {
	local db
	case $3 in
	sqlite) db="  type: sqlite
  db_path: $1/data/crowdsec.db" ;;
	*) db="  type: $([ "$3" = peer ] && echo postgres || echo postgresql)
  host: $PG_SOCK
  port: $PG_PORT
  user: $PG_USER
  password: bench
  db_name: $4
  sslmode: disable
  max_open_conns: 10" ;;
	esac
	crowdsec_config "$1" "$2" "$db" "$here/../config/profiles.yaml"
}

# wrk_sum OUT...: pulls/s summed, p50 and p99 of the first
wrk_sum() {
	awk '/^Requests\/sec/ { s += $2 } END { printf "%.0f", s }' "$@"
	printf ' | %s | %s' "$(awk '$1=="50%"{print $2; exit}' "$1")" "$(awk '$1=="99%"{print $2; exit}' "$1")"
}

# side NAME KIND DB CMD CLI: start (one LAPI, or two for kind replicas), import, pulls, ingest
side() {
	local name=$1 kind=$2 dbn=$3 d=$W/$1 port=$PORT0 portb cli lapi t n key tok k i urls=() o p
	shift 3
	PORT0=$((PORT0 + 10))
	portb=$((port + 1))
	case $kind in sqlite) side_config "$d" "$port" sqlite ;; peer) side_config "$d" "$port" peer "$dbn" ;;
	*) side_config "$d" "$port" postgresql "$dbn" ;; esac
	[ "$kind" = sqlite ] || pg_createdb "$dbn" || { echo "($name: no database)"; return; }
	if [ "$kind" = peer ]; then lapi=(crowdsec); cli=(cscli -c "$d/config.yaml"); else
		lapi=("$BUILD/crowdsec"); cli=("$BUILD/cscli" -c "$d/config.yaml"); fi
	"${lapi[@]}" -c "$d/config.yaml" -no-cs >"$d/lapi.log" 2>&1 &
	PIDS+=($!)
	wait_tcp "$port" 120 || { echo "($name did not start: $(tail -n 2 "$d/lapi.log" | cut -c1-200))"; return; }
	urls=("http://127.0.0.1:$port")
	if [ "$kind" = replicas ]; then
		sed "s/127.0.0.1:$port\$/127.0.0.1:$portb/" "$d/config.yaml" >"$d/configb.yaml"
		"${lapi[@]}" -c "$d/configb.yaml" -no-cs >"$d/lapib.log" 2>&1 &
		PIDS+=($!)
		wait_tcp "$portb" 120 || { echo "($name B did not start)"; return; }
		urls+=("http://127.0.0.1:$portb")
	fi
	"${cli[@]}" machines add bench -p "$PW" -f "$d/creds.yaml" --force >/dev/null 2>&1
	# (0) import
	n=$N; [ "$kind" = peer ] && n=$PEER_IMPORT_N
	head -n $((n + 1)) "$W/bans.csv" >"$d/bans.csv"
	t=$(date +%s.%N)
	"${cli[@]}" decisions import -i "$d/bans.csv" >"$d/import.log" 2>&1 || echo "($name import failed: $(tail -n 1 "$d/import.log" | cut -c1-120))"
	t=$(echo "$(date +%s.%N) - $t" | bc)
	R[$name.imp]="$n | $t | $(awk -v c="$n" -v t="$t" 'BEGIN { printf "%.0f", c / t }')"
	i=0
	while read -r k; do
		i=$((i + 1))
		"${cli[@]}" bouncers add "bench-$i" --key "$k" >/dev/null 2>&1
	done <"$W/keys"
	key=$(head -n 1 "$W/keys")
	# (a) startup pull, from the last LAPI (B for replicas: it learnt A's import)
	read -r t < <(curl -s -o "$d/startup" -w '%{time_total}\n' -H "X-Api-Key: $key" \
		"${urls[-1]}/v1/decisions/stream?startup=true")
	R[$name.a]="$t | $(grep -o '"value":' "$d/startup" | wc -l)"
	rm -f "$d/startup"
	# (b) delta pulls, the connections split over the LAPIs
	o=()
	for i in "${!urls[@]}"; do
		KEYS=$W/keys wrk -t2 -c$((CONNS / ${#urls[@]})) -d"${WINDOW}s" --timeout 30s --latency \
			-s "$here/lapi-delta.lua" "${urls[$i]}" >"$d/delta$i" 2>&1 &
		o+=("$d/delta$i")
	done
	wait_jobs_wrk
	R[$name.b]=$(wrk_sum "${o[@]}")
	# (c) ingest, one alert per POST
	o=()
	for i in "${!urls[@]}"; do # each LAPI signs its own tokens: a login on each
		tok=$(curl -s -X POST -d "{\"machine_id\":\"bench\",\"password\":\"$PW\",\"scenarios\":[]}" \
			"${urls[$i]}/v1/watchers/login" | jq -r .token 2>/dev/null)
		TOKEN=$tok BATCH=1 NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ) wrk -t2 -c$((10 / ${#urls[@]})) \
			-d"${WINDOW}s" --timeout 30s --latency -s "$PEERS/lapi-alerts.lua" "${urls[$i]}" \
			>"$d/ingest$i" 2>&1 &
		o+=("$d/ingest$i")
	done
	wait_jobs_wrk
	R[$name.c]=$(awk -v w="$WINDOW" '/requests in/ { r += $1 } /Non-2xx/ { x += $NF }
		END { printf "%.0f | %d", (r - x) / w, x }' "${o[@]}")
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	PIDS=()
}
# the wrk runs of a step (not the LAPIs, which are PIDS)
wait_jobs_wrk() { local j; for j in $(jobs -p); do [[ " ${PIDS[*]} " == *" $j "* ]] || wait "$j"; done; }

side sqlite sqlite -
side pg postgresql cs_ours
side replicas replicas cs_replicas
[ $have_peer = 1 ] && side peer peer cs_peer

echo "Ours with $N decisions imported, crowdsec 1.4.6 with $PEER_IMPORT_N; PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}') private to the run (fsync on), on this machine; loadavg $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| LAPI | import: decisions | wall s | decisions/s | startup pull s | decisions in it | delta pulls/s | p50 | p99 | ingest alerts/s (201) | non-2xx |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
row() { echo "| $1 | ${R[$2.imp]:-- | - | -} | ${R[$2.a]:-- | -} | ${R[$2.b]:-- | - | -} | ${R[$2.c]:-- | -} |"; }
row "ours, SQLite" sqlite
row "ours, PostgreSQL" pg
row "ours, 2 replicas on PostgreSQL" replicas
row "crowdsec 1.4.6, PostgreSQL" peer
exit 0
