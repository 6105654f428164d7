#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Local API with N active decisions (default 1,000,000), ours (`crowdsec -no-cs`)
# beside Debian's CrowdSec 1.4.6 LAPI (`crowdsec -no-cs`), same data, same run, one
# after the other on 127.0.0.1 (nothing else of ours running):
#  (0) `cscli decisions import` of N (ours) and PEER_IMPORT_N (1.4.6, default 100000:
#      it needs ~160 s for 1M) CSV lines into a fresh LAPI on an empty database; then our
#      LAPI's start on a database that is already ours (N stored): to listening, and to
#      stream answers (a HEAD startup pull returns once the in-memory index is loaded);
#      Our start is also timed to /health answering, and its CPU (user + system) to
#      stream answers ready (what the machine's load does not inflate), from the stream
#      index's snapshot a clean stop saves, and without it (read from SQLite);
#  (a) GET /v1/decisions/stream?startup=true: curl time_total, bytes, decisions in the
#      answer, the LAPI's VmRSS before and its peak during the pull (50 ms sampling);
#  (a') STARTUP_CONC (100) bouncers (the KEYS_N keys) pull the startup answer at the same
#      time: wall time to the last answer, complete answers (200, curl exit code 0, the
#      size of (a) within 3 bytes per decision: the remaining durations differ by a few
#      bytes from pull to pull, times 1M), the others listed, the LAPI's peak VmRSS (ours only: 1.4.6 peaks ~1.5 GiB for one such pull);
#  (b) delta pulls (GET /v1/decisions/stream?) from 100 connections rotating over 100
#      bouncer API keys, wrk, WINDOW s (20): pulls/s and latency. On a machine shared
#      with other sessions the kernel's autogroup scheduling gives each session an equal
#      share of the CPU, so the LAPI and wrk get 2 cores / (sessions busy): p99 there
#      measures the neighbours (100 ms and more), not the LAPI (~5-10 ms alone);
#      then an open loop at OPEN_RATE pulls/s (20000), same connections and keys, WINDOW s
#      (bench/http_pacer.c): each pull timed from its intended send time, so a stall
#      counts for every pull it delays (wrk's closed loop counts it once);
#  (c) alert ingest: POST /v1/alerts with a machine JWT, BATCH 1 and 50 agent-shaped
#      alerts per request (the peers' lapi-alerts.lua; the default profile bans each
#      source 4h), 10 connections, WINDOW s: alerts/s answered 201 and alerts stored, the
#      LAPI's CPU per alert stored (wrk runs on the same cores: the figure that travels);
#      again with INGEST_WIDE connections (default 50; 0: not run);
#  (e) expiry among N stored (ours only: a 1.4.6 delta pull at 1M takes ~20 s): EXPIRE_N
#      (1000) decisions of 5 s imported with cscli, a bouncer pulling deltas every 0.1 s:
#      ms from their end to all of them in a delta's deleted list, and the LAPI's CPU
#      over the window (no scan of the N per pull or per second).
# Loading for (a)-(c): one CrowdSec 1.4.6 SQLite database with N bans (one alert, like
# `cscli decisions import`) is written directly with sqlite3 (lapi_lib.sh); 1.4.6 serves a
# copy as is (the startup pull count checks it) and our LAPI imports another copy on first
# open, is stopped and started again on it. PEER_N (default N) caps the peer.
# Knobs: JOURNAL (1; 0: our alert journal off), N, PEER_N, PEER_IMPORT_N (100000), WINDOW (20), CONNS (100), KEYS_N (100),
# INGEST_WIDE (50), OPEN_RATE (20000; 0: not run), PEER (1; 0: ours alone), STARTUP_CONC (100; 0: not run), EXPIRE_N (1000; 0: not run),
# SECTIONS ("0 a b c e": the sections run, e.g. SECTIONS=b for the delta pulls alone).
set -u
[ "$(id -u)" = 0 ] || { echo "bench_lapi: needs root"; exit 0; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lapi_lib.sh"
SECTIONS=" ${SECTIONS:-0 a b c e} "
section() { [[ "$SECTIONS" == *" $1 "* ]]; }
INGEST_WIDE=${INGEST_WIDE:-50} OPEN_RATE=${OPEN_RATE:-20000} STARTUP_CONC=${STARTUP_CONC:-100} EXPIRE_N=${EXPIRE_N:-1000}
N=${N:-1000000} PEER_N=${PEER_N:-$N} PEER_IMPORT_N=${PEER_IMPORT_N:-100000} WINDOW=${WINDOW:-20} CONNS=${CONNS:-100} KEYS_N=${KEYS_N:-100}
# ports of this run (other sessions' benchmarks may run beside it): each in use is refused
OPORT=${OPORT:-$((30000 + $$ % 500 * 4))}
PPORT=${PPORT:-$((OPORT + 2))}
port_free() { ! bash -c "echo >/dev/tcp/127.0.0.1/$1" 2>/dev/null || { echo "(port $1 in use: set OPORT/PPORT)"; return 1; }; }
PEERS=$SHARED_DIR/bench/peers
for c in wrk sqlite3 curl jq; do command -v $c >/dev/null || { echo "bench_lapi: $c missing (make test-deps)"; exit 0; }; done
W=$(mktemp -d /tmp/bench-lapi.XXXXXX)
LP= SP=
cleanup() {
	[ -n "$SP" ] && kill "$SP" 2>/dev/null
	[ -n "$LP" ] && kill "$LP" 2>/dev/null && { sleep 1; kill -9 "$LP" 2>/dev/null; }
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
have_peer=${PEER:-1}	# PEER=0: ours alone (a quick check; the bench's figures stand beside the peer's)
command -v crowdsec >/dev/null && [ -x /usr/bin/cscli ] || have_peer=0

gen_keys "$W/keys" "$KEYS_N"
gen_keys "$W/startkey" 1
cat "$W/keys" "$W/startkey" >"$W/allkeys"
t0=$(date +%s.%N)
gen_go_db "$W/go.db" "$N" "$W/allkeys" || { echo "bench_lapi: cannot write the database"; exit 0; }
gen_s=$(echo "$(date +%s.%N) - $t0" | bc)
if [ "$PEER_N" != "$N" ]; then gen_go_db "$W/go-peer.db" "$PEER_N" "$W/allkeys"; else ln "$W/go.db" "$W/go-peer.db"; fi

# the two configurations
mkdir -p "$W/ours" "$W/peer/data"
cp "$W/go.db" "$W/ours/crowdsec.db"
our_lapi_config "$W/ours" "$OPORT"
# JOURNAL=0: ours without the alert journal (every push waits for its COMMIT): before/after
[ "${JOURNAL:-1}" = 0 ] && sed -i 's/^db_config:$/db_config:\n  alert_journal: false/' "$W/ours/config.yaml"
P=$W/peer
crowdsec_config "$P" "$PPORT" "  type: sqlite
  db_path: $P/data/crowdsec.db
  use_wal: true"
cp /etc/crowdsec/profiles.yaml "$P/" 2>/dev/null || cp "$here/../config/profiles.yaml" "$P/"
cp "$W/go-peer.db" "$P/data/crowdsec.db"
PW=benchpassword-$$-lapi
[ $have_peer = 1 ] && cscli -c "$P/config.yaml" machines add bench -p "$PW" -f "$P/creds.yaml" --force >/dev/null 2>&1

declare -A R   # results: R[side.key]

run_side() {	# run_side ours|peer PORT CMD...
	local side=$1 port=$2 t db
	shift 2
	db=$W/$side/crowdsec.db; [ "$side" = peer ] && db=$P/data/crowdsec.db
	port_free "$port" || return
	t=$(date +%s.%N)
	"$@" >"$W/$side.log" 2>&1 &
	LP=$!
	if ! wait_tcp "$port" 900; then echo "($side LAPI did not start: $(tail -n 3 "$W/$side.log"))"; kill "$LP"; LP=; return; fi
	R[$side.start]=$(echo "$(date +%s.%N) - $t" | bc)
	if [ "$side" = ours ]; then	# the machine, once the database is ours (imported)
		"$BUILD/cscli" -c "$W/ours/config.yaml" machines add bench -p "$PW" >/dev/null 2>&1
	fi
	if [ "$side" = ours ] && ! section 0; then	# the in-memory index loaded, nothing timed
		# restarted as (0) does: (a)'s VmRSS is then a start's, not the first open's import's
		kill "$LP"; wait "$LP" 2>/dev/null
		"$@" >>"$W/$side.log" 2>&1 &
		LP=$!
		wait_tcp "$port" 60 || { echo "(ours did not restart)"; kill "$LP"; LP=; return; }
		curl -s -o /dev/null -I -H "X-Api-Key: $(cat "$W/startkey")" "http://127.0.0.1:$port/v1/decisions/stream?startup=true"
	elif [ "$side" = ours ]; then
		# then the start that matters: on a database already ours (1M stored); first
		# without the stream index's snapshot (as after a kill -9 that changed decisions)
		R[ours.first]=${R[ours.start]}
		kill "$LP"; wait "$LP" 2>/dev/null
		rm -f "$db.stream"
		t=$(date +%s.%N)
		"$@" >>"$W/$side.log" 2>&1 &
		LP=$!
		wait_tcp "$port" 60 || { echo "(ours did not restart)"; kill "$LP"; LP=; return; }
		curl -s -o /dev/null -I -H "X-Api-Key: $(cat "$W/startkey")" "http://127.0.0.1:$port/v1/decisions/stream?startup=true"
		R[ours.readyfull]=$(echo "$(date +%s.%N) - $t" | bc)
		R[ours.readyfullcpu]=$(cpu_s "$LP")
		kill "$LP"; wait "$LP" 2>/dev/null	# a clean stop: the snapshot is saved
		t=$(date +%s.%N)
		"$@" >>"$W/$side.log" 2>&1 &
		LP=$!
		wait_tcp "$port" 60 || { echo "(ours did not restart)"; kill "$LP"; LP=; return; }
		R[ours.start]=$(echo "$(date +%s.%N) - $t" | bc)
		for _ in $(seq 600); do curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.02; done
		R[ours.health]=$(echo "$(date +%s.%N) - $t" | bc)
		# stream answers wait for the in-memory index: a HEAD startup pull returns once it is loaded
		curl -s -o /dev/null -I -H "X-Api-Key: $(cat "$W/startkey")" "http://127.0.0.1:$port/v1/decisions/stream?startup=true"
		R[ours.ready]=$(echo "$(date +%s.%N) - $t" | bc)
		R[ours.readycpu]=$(cpu_s "$LP")
	fi
	sleep 1
	section a && run_a "$side" "$port"
	section b && run_b "$side" "$port"
	[ "$side" = ours ] && [ "$EXPIRE_N" != 0 ] && section e && expiry "$port"
	section c && run_c "$side" "$port" "$db"
	kill "$LP"; wait "$LP" 2>/dev/null; LP=
}

# run_a ours|peer PORT: (a) startup pull, then (a') for ours
run_a() {
	local side=$1 port=$2 t b h n before
	before=$(awk '/^VmRSS/{print $2}' /proc/$LP/status)
	peak_rss "$W/$side.peak" "$LP" & SP=$!
	read -r t b h < <(curl -s -o "$W/$side.startup" -w '%{time_total} %{size_download} %{http_code}\n' \
		-H "X-Api-Key: $(cat "$W/startkey")" "http://127.0.0.1:$port/v1/decisions/stream?startup=true")
	sleep 0.2; kill "$SP" 2>/dev/null; wait "$SP" 2>/dev/null; SP=
	n=$(grep -o '"value":' "$W/$side.startup" | wc -l)
	R[$side.a]="$t | $b | $h | $n | $(mib "$before") | $(mib "$(cat "$W/$side.peak")")"
	rm -f "$W/$side.startup"
	[ "$side" = ours ] && [ "$STARTUP_CONC" != 0 ] && startup_many "$port" "$b"
}

# run_b ours|peer PORT: (b) delta pulls
run_b() {
	local side=$1 port=$2 o rps non p50 p99
	o=$W/$side.delta
	KEYS=$W/keys wrk -t2 -c"$CONNS" -d"${WINDOW}s" --timeout 30s --latency -s "$here/lapi-delta.lua" \
		"http://127.0.0.1:$port" >"$o" 2>&1
	rps=$(awk '/^Requests\/sec/{print $2}' "$o"); non=$(awk '/Non-2xx/{print $NF}' "$o")
	p50=$(awk '$1=="50%"{print $2}' "$o"); p99=$(awk '$1=="99%"{print $2}' "$o")
	R[$side.b]="${rps:--} | ${p50:--} | ${p99:--} | ${non:-0}"
	R[$side.brps]=${rps:-0}
	[ "$OPEN_RATE" != 0 ] || return 0
	# offered 20000/s sent S/s answered A/s p50 X ms p99 Y ms p99.9 Z ms max M ms non2xx N errors E unanswered U
	"$BUILD/bench/http_pacer" "$port" "/v1/decisions/stream?" "$W/keys" "$CONNS" "$OPEN_RATE" "$WINDOW" \
		>"$o.open" 2>&1
	R[$side.bopen]=$(awk '$1=="offered" {printf "%s | %s ms | %s ms | %s ms | %s/%s/%s", $6, $8, $11, $14, $20, $22, $24}' "$o.open")
	[ -n "${R[$side.bopen]}" ] || R[$side.bopen]="- | - | - | - | $(head -c 100 "$o.open")"
}

# run_c ours|peer PORT DB: (c) alert ingest
run_c() {
	local side=$1 port=$2 db=$3 o rps non p50 na0 na1 t0 t1 conns k batch tok
	tok=$(curl -s -X POST -H 'Content-Type: application/json' \
		-d "{\"machine_id\":\"bench\",\"password\":\"$PW\",\"scenarios\":[]}" \
		"http://127.0.0.1:$port/v1/watchers/login" | jq -r .token 2>/dev/null)
	for conns in 10 $INGEST_WIDE; do
	[ "$conns" = 0 ] && continue
	for batch in 1 50; do
		k=$batch; [ "$conns" = 10 ] || k=$batch.$conns	# the 10-connection rows keep their keys
		o=$W/$side.alerts$k
		na0=$(sqlite3 "$db" 'PRAGMA busy_timeout = 10000; SELECT COUNT(*) FROM alerts' 2>/dev/null | tail -n1)
		t0=$(awk '{ print $14 + $15 }' "/proc/$LP/stat")	# the LAPI's user + system ticks
		TOKEN=$tok BATCH=$batch NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ) wrk -t2 -c"$conns" -d"${WINDOW}s" \
			--timeout 30s --latency -s "$PEERS/lapi-alerts.lua" "http://127.0.0.1:$port" >"$o" 2>&1
		sleep 2
		t1=$(awk '{ print $14 + $15 }' "/proc/$LP/stat")
		na1=$(sqlite3 "$db" 'PRAGMA busy_timeout = 10000; SELECT COUNT(*) FROM alerts' 2>/dev/null | tail -n1)
		rps=$(awk '/^Requests\/sec/{print $2}' "$o"); non=$(awk '/Non-2xx/{print $NF}' "$o")
		p50=$(awk '$1=="50%"{print $2}' "$o")
		# answered 201: requests minus non-2xx, times the batch, over the window
		# and the LAPI's CPU (user + system, wrk shares the cores) per alert stored
		R[$side.c$k]=$(awk -v o="$o" -v b="$batch" -v w="$WINDOW" -v a0="${na0:-0}" -v a1="${na1:-0}" -v p="${p50:--}" \
			-v c="$(( ${t1:-0} - ${t0:-0} ))" -v hz="$(getconf CLK_TCK)" '
			/requests in/ { r = $1 } /Non-2xx/ { x = $NF }
			END { printf "%.0f | %.0f | %s | %d | %s", (r - x) * b / w, (a1 - a0) / w, p, x + 0,
				(a1 > a0 ? sprintf("%.0f", c / hz * 1e6 / (a1 - a0)) : "-") }' "$o")
		R[$side.c${k}n]=$(awk -v b="$batch" -v w="$WINDOW" '/requests in/ { r = $1 } /Non-2xx/ { x = $NF } END { printf "%.0f", (r - x) * b / w }' "$o")
		grep -q 'first non-201' "$o" && R[$side.c${k}err]=$(grep -m1 'first non-201' "$o" | cut -c1-160)
	done
	done
}

cpu_s() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }	# user + system s

# startup_many PORT BYTES: STARTUP_CONC startup pulls at once, one key each (round robin
# over $W/keys); R[ours.many]. Complete: 200, curl's exit code 0 (a chunked answer cut
# short is not), and the size of (a) within 3 bytes per decision: every decision's
# remaining duration is rendered per pull, and the N decisions share one until, so a pull
# differs from (a) by N times the length difference of one Go duration text (a fraction
# with fewer digits, 2 characters, is 2 MB at 1M); a missing decision is ~100 bytes, so
# more than ~3 % missing fails (the former 10 % bound let 100,000 of 1M go missing)
many_ok='$1 == 200 && $3 == 0 && $2 >= b - 3 * n && $2 <= b + 3 * n'
startup_many() {
	local port=$1 bytes=$2 t i k ok pk pids=()
	peak_rss "$W/many.peak" "$LP" & SP=$!
	t=$(date +%s.%N)
	for i in $(seq "$STARTUP_CONC"); do
		k=$(sed -n "$(( (i - 1) % KEYS_N + 1 ))p" "$W/keys")
		curl -s -o /dev/null -w '%{http_code} %{size_download} %{exitcode} %{time_starttransfer}\n' --max-time 900 -H "X-Api-Key: $k" \
			"http://127.0.0.1:$port/v1/decisions/stream?startup=true" >"$W/many.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	t=$(echo "$(date +%s.%N) - $t" | bc)
	kill "$SP" 2>/dev/null; wait "$SP" 2>/dev/null; SP=
	# the remaining durations are rendered per pull: sizes differ by a few bytes
	ok=$(cat "$W"/many.[0-9]* | awk -v b="$bytes" -v n="$N" "$many_ok" | wc -l)
	pk=$(cat "$W/many.peak")
	# the others: HTTP code, bytes, curl's exit code (52: empty reply, 56: cut), s to the first byte
	R[ours.manyfail]=$(cat "$W"/many.[0-9]* | awk -v b="$bytes" -v n="$N" "!($many_ok)" | sort | uniq -c | head -5 | tr '\n' ';')
	rm -f "$W"/many.*
	R[ours.many]="$STARTUP_CONC | $t | $ok | $(mib "$pk")"
}

# expiry PORT: EXPIRE_N decisions of 5 s among the N, a bouncer pulling deltas every 0.1 s;
# R[ours.e]: ms from the last one's end (its `until` in the database) to all of them in
# the deleted lists, the LAPI's CPU over the window
expiry() {
	local port=$1 d=$W/exp k t0 t1 c0 c1 i got=0 ms=- end
	mkdir -p "$d"
	k=$(sed -n 1p "$W/keys")
	"$BUILD/cscli" -c "$W/ours/config.yaml" machines add expiry --auto -f "$W/ours/creds.yaml" --force >/dev/null 2>&1
	awk -v n="$EXPIRE_N" 'BEGIN { print "duration,scope,value,reason,type"
		for (i = 0; i < n; i++) printf "5s,ip,198.18.%d.%d,bench-expiry,ban\n", i / 256, i % 256 }' >"$d/exp.csv"
	curl -s -o /dev/null -H "X-Api-Key: $k" "http://127.0.0.1:$port/v1/decisions/stream?"
	c0=$(cpu_s "$LP"); t0=$(date +%s%N)
	"$BUILD/cscli" -c "$W/ours/config.yaml" decisions import -i "$d/exp.csv" >"$d/imp.log" 2>&1
	end=$(sqlite3 "$W/ours/crowdsec.db" "PRAGMA busy_timeout = 10000; SELECT MAX(until) FROM decisions WHERE scenario = 'bench-expiry'" | tail -n1)
	: >"$d/deleted"
	for i in $(seq 300); do	# 30 s
		curl -s -o "$d/pull" -H "X-Api-Key: $k" "http://127.0.0.1:$port/v1/decisions/stream?"
		t1=$(date +%s%N)	# the answer is in: what follows is the script's own work
		jq -r '.deleted // [] | .[].value' "$d/pull" 2>/dev/null | grep '^198\.18\.' >>"$d/deleted"
		got=$(sort -u "$d/deleted" | wc -l)
		[ "$got" -ge "$EXPIRE_N" ] && { ms=$(( (t1 - ${end:-0}) / 1000000 )); break; }
		sleep 0.1
	done
	c1=$(cpu_s "$LP")
	R[ours.e]="$EXPIRE_N | $got | $ms | $(echo "$c1 - $c0" | bc) | $(( ($(date +%s%N) - t0) / 1000000000 ))"
}

# import_side ours|peer COUNT: a fresh LAPI on an empty database, then `cscli decisions import`
# of the first COUNT lines of the CSV (wall time of the command, decisions then in a startup pull)
import_side() {
	local side=$1 count=$2 d=$W/imp-$1 port t key cli
	mkdir -p "$d/data"
	port=$((OPORT + 1)); [ "$side" = ours ] || port=$((PPORT + 1))
	port_free "$port" || return
	if [ "$side" = ours ]; then
		cli=("$BUILD/cscli" -c "$d/config.yaml")
		our_lapi_config "$d" "$port"
		"$BUILD/crowdsec" -c "$d/config.yaml" -no-cs >"$d/lapi.log" 2>&1 &
	else
		cli=(cscli -c "$d/config.yaml")
		sed -e "s#$P/#$d/#g" -e "s#127.0.0.1:$PPORT#127.0.0.1:$port#" "$P/config.yaml" >"$d/config.yaml"
		cp "$P/simulation.yaml" "$P/profiles.yaml" "$d/"; mkdir -p "$d/hub"; echo '{}' >"$d/hub/.index.json"
		crowdsec -c "$d/config.yaml" -no-cs >"$d/lapi.log" 2>&1 &
	fi
	LP=$!
	wait_tcp "$port" 60 || { echo "($side import LAPI did not start)"; kill "$LP"; LP=; return; }
	"${cli[@]}" machines add imp --auto -f "$d/creds.yaml" --force >/dev/null 2>&1
	head -n $((count + 1)) "$W/bans.csv" >"$d/bans.csv"
	t=$(date +%s.%N)
	"${cli[@]}" decisions import -i "$d/bans.csv" >"$d/import.log" 2>&1 || echo "($side import failed: $(tail -n 1 "$d/import.log" | cut -c1-120))"
	t=$(echo "$(date +%s.%N) - $t" | bc)
	key=$("${cli[@]}" bouncers add impcheck -o raw 2>/dev/null | tail -n 1)
	n=$(curl -s -H "X-Api-Key: $key" "http://127.0.0.1:$port/v1/decisions/stream?startup=true" | grep -o '"value":' | wc -l)
	R[$side.imp]="$count | $t | $(awk -v c="$count" -v t="$t" 'BEGIN { printf "%.0f", c / t }') | $n"
	kill "$LP"; wait "$LP" 2>/dev/null; LP=
}
section 0 && python3 -c "
import ipaddress
b = int(ipaddress.IPv4Address('100.64.0.0'))
with open('$W/bans.csv', 'w') as f:
    f.write('duration,scope,value,reason,type\n')
    for i in range($N): f.write('4h,ip,%s,bench-import,ban\n' % ipaddress.IPv4Address(b + i))
"
if section 0; then
	import_side ours "$N"
	[ $have_peer = 1 ] && import_side peer "$PEER_IMPORT_N"
fi

run_side ours "$OPORT" "$BUILD/crowdsec" -c "$W/ours/config.yaml" -no-cs
[ $have_peer = 1 ] && run_side peer "$PPORT" crowdsec -c "$P/config.yaml" -no-cs

pn=$N; [ "$PEER_N" != "$N" ] && pn="$PEER_N (capped by PEER_N; ours $N)"
echo "Decisions: ours $N, crowdsec 1.4.6 $pn. One SQLite database written with sqlite3 in ${gen_s} s (1.4.6 schema); loadavg $(cut -d' ' -f1-3 /proc/loadavg)."
if section 0; then
echo
echo "### cscli decisions import (CSV, fresh LAPI, empty database)"
echo "| side | decisions | wall s | decisions/s | decisions in a startup pull after |"
echo "|---|---|---|---|---|"
echo "| ours | ${R[ours.imp]:-- | - | - | -} |"
echo "| crowdsec 1.4.6 | ${R[peer.imp]:-- | - | - | -} |"
echo
echo "### loading and start"
echo "| | ours | crowdsec 1.4.6 |"
echo "|---|---|---|"
echo "| first open of the 1.4.6 database, s | ${R[ours.first]:--} (import into our schema) | ${R[peer.start]:--} (as written) |"
echo "| LAPI start to listening, 1M stored, s | ${R[ours.start]:--} | ${R[peer.start]:--} |"
echo "| LAPI start to /health up, s | ${R[ours.health]:--} | ${R[peer.start]:--} |"
echo "| LAPI start to stream answers ready, s | ${R[ours.ready]:--} (in-memory index loaded from the last stop's snapshot; CPU ${R[ours.readycpu]:--} s) | ${R[peer.start]:--} |"
echo "| the same without the snapshot (after a kill -9 that changed decisions), s | ${R[ours.readyfull]:--} (index read from SQLite; CPU ${R[ours.readyfullcpu]:--} s) | |"
fi
if section a; then
echo
echo "### (a) startup pull: GET /v1/decisions/stream?startup=true (fresh LAPI process)"
echo "| LAPI | decisions stored | wall s | bytes | HTTP | decisions in answer | VmRSS before MiB | peak VmRSS MiB |"
echo "|---|---|---|---|---|---|---|---|"
echo "| ours | $N | ${R[ours.a]:--} |"
echo "| crowdsec 1.4.6 | $PEER_N | ${R[peer.a]:-- | - | - | - | - | -} |"
if [ "$STARTUP_CONC" != 0 ]; then
	echo
	echo "### (a') $STARTUP_CONC bouncers pull the startup answer at the same time (ours; 1.4.6 not run: one such pull peaks at ~1.5 GiB)"
	echo "| LAPI | pulls | wall s to the last answer | complete answers | peak VmRSS MiB |"
	echo "|---|---|---|---|---|"
	echo "| ours | ${R[ours.many]:-- | - | - | -} |"
	[ -n "${R[ours.manyfail]:-}" ] && echo "incomplete (count, HTTP code, bytes, curl exit code, s to first byte): ${R[ours.manyfail]}"
fi
fi
if section b; then
echo
echo "### (b) delta pulls: $CONNS connections, $KEYS_N bouncer keys, ${WINDOW} s (wrk -t2)"
echo "| LAPI | decisions stored | pulls/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|---|"
echo "| ours | $N | ${R[ours.b]:--} |"
echo "| crowdsec 1.4.6 | $PEER_N | ${R[peer.b]:-- | - | - | -} |"
[ -n "${R[peer.brps]:-}" ] && awk -v a="${R[ours.brps]}" -v b="${R[peer.brps]}" 'BEGIN { if (b > 0) printf "\nratio ours/peer: %.0fx\n", a / b }'
if [ "$OPEN_RATE" != 0 ]; then
	echo
	echo "### (b) open loop: $OPEN_RATE pulls/s offered over $CONNS connections, ${WINDOW} s (bench/http_pacer: latency from each pull's intended send time)"
	echo "| LAPI | answered/s | p50 | p99 | p99.9 | non-2xx/errors/unanswered |"
	echo "|---|---|---|---|---|---|"
	echo "| ours | ${R[ours.bopen]:-- | - | - | - | -} |"
	echo "| crowdsec 1.4.6 | ${R[peer.bopen]:-- | - | - | - | -} |"
fi
fi
if section c; then
echo
echo "### (c) alert ingest: POST /v1/alerts, machine JWT, 10 connections, ${WINDOW} s (default profile: one 4h ban per alert)"
echo "| LAPI | alerts per POST | alerts/s answered 201 | alerts/s stored | p50 latency | non-2xx answers | LAPI CPU us/alert stored |"
echo "|---|---|---|---|---|---|---|"
for b in 1 50; do
	echo "| ours | $b | ${R[ours.c$b]:-- | - | - | - | -} |"
	echo "| crowdsec 1.4.6 | $b | ${R[peer.c$b]:-- | - | - | - | -} |"
done
for k in ours.c1err ours.c50err peer.c1err peer.c50err; do [ -n "${R[$k]:-}" ] && echo "${k%%.*}: ${R[$k]}"; done
if [ "$INGEST_WIDE" != 0 ]; then
	echo
	echo "### (c') alert ingest as (c), $INGEST_WIDE connections"
	echo "| LAPI | alerts per POST | alerts/s answered 201 | alerts/s stored | p50 latency | non-2xx answers | LAPI CPU us/alert stored |"
	echo "|---|---|---|---|---|---|---|"
	for b in 1 50; do
		echo "| ours | $b | ${R[ours.c$b.$INGEST_WIDE]:-- | - | - | - | -} |"
		echo "| crowdsec 1.4.6 | $b | ${R[peer.c$b.$INGEST_WIDE]:-- | - | - | - | -} |"
	done
	for s in ours peer; do for b in 1 50; do
		[ -n "${R[$s.c$b.${INGEST_WIDE}err]:-}" ] && echo "$s: ${R[$s.c$b.${INGEST_WIDE}err]}"
	done; done
fi
fi
if [ "$EXPIRE_N" != 0 ] && section e; then
	echo
	echo "### (e) expiry among $N stored: decisions of 5 s, a bouncer pulling deltas every 0.1 s (ours; a 1.4.6 delta pull at this size takes ~20 s)"
	echo "| LAPI | decisions of 5 s | in the deleted lists | ms after the last one's end to all of them (pulls every 0.1 s) | LAPI CPU s over the window | window s |"
	echo "|---|---|---|---|---|---|"
	echo "| ours | ${R[ours.e]:-- | - | - | - | -} |"
fi
exit 0
