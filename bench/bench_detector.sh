#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The detector on every core, and its live buckets per GiB (BENCH=detector).
# 1. `crowdsec -dsn file://LOG -type T -stdout-alerts` with 1 and with N worker
#    threads (-workers; N = CPUs), beside Debian's CrowdSec 1.4.6 on the same
#    generated log and the same hub files (Debian's enabled collections; the peer
#    pushes its alerts to a LAPI of its own, not in its figures): lines per
#    CPU-second, wall lines/s, peak RSS, and the speed-up of N workers over 1.
#    Sizes: SSHD_LINES (300000), NGINX_LINES (30000). Our runs last well under a
#    second, so one descheduling moves them by a third: each is run RUNS times (3)
#    and the one with the least CPU time is shown; the peer's take minutes each
#    and are run once. Then, ours only, the same with a longer nginx log
#    (LONG_NGINX_LINES, 300000; empty: skipped): a 30k-line replay is ~0.2 s, a
#    quarter of it start-up, which N workers do not share out.
# 2. bucket_mem: the bucket engine alone (one thread, replay, default limits) with
#    SOURCES distinct addresses in crowdsecurity/ssh-bf, each one event short of
#    overflowing, then its last event: live instances, overflows, evictions, peak
#    RSS. Then a flood of FLOOD_SOURCES unique sources, one event each: memory
#    stays bounded, evictions counted. Sizes: MEM_SOURCES ("100000 1000000"),
#    FLOOD_SOURCES (10000000); empty: skipped.
# 3. E2E_SOURCES (empty: skipped; 1000000 for the issue's figure, a 0.5 GB log):
#    the same, end to end: a syslog sshd log of E2E_SOURCES sources with 6 failed
#    passwords each (round r at second r: the 6th overflows), replayed by
#    `crowdsec -workers N` with the hub's parsers and only crowdsecurity/ssh-bf:
#    alerts (one per source expected), evictions, peak RSS.
set -u
[ "$(id -u)" = 0 ] || { echo "bench_detector: needs root (the peer's configuration)"; exit 0; }
SSHD_LINES=${SSHD_LINES:-300000} NGINX_LINES=${NGINX_LINES:-30000}
MEM_SOURCES=${MEM_SOURCES-100000 1000000} FLOOD_SOURCES=${FLOOD_SOURCES-10000000}
E2E_SOURCES=${E2E_SOURCES:-}
LONG_NGINX_LINES=${LONG_NGINX_LINES-300000}
N=$(nproc)
PEERS=$SHARED_DIR/bench/peers
. "$(dirname "$0")/detector_lib.sh"
W=$(mktemp -d)
LP=
trap '[ -n "$LP" ] && kill "$LP" 2>/dev/null; rm -rf "$W"' EXIT
python3 "$SHARED_DIR/bench/logs/genlogs" --kind sshd --lines "$SSHD_LINES" --seed 1 -o "$W/sshd.log" --quiet
python3 "$SHARED_DIR/bench/logs/genlogs" --kind nginx --lines "$NGINX_LINES" --seed 1 -o "$W/nginx.log" --quiet
[ -n "$LONG_NGINX_LINES" ] && python3 "$SHARED_DIR/bench/logs/genlogs" --kind nginx \
	--lines "$LONG_NGINX_LINES" --seed 1 -o "$W/nginx-long.log" --quiet

detector_config "$W" 28490

measure() {	# measure CMD...: "wall cpu rss_mib exit" of CMD (GNU time)
	/usr/bin/time -f "%e %U %S %M %x" -o "$W/time" "$@" >/dev/null 2>"$W/err"
	awk '{ printf "%.2f %.2f %.0f %s\n", $1, $2 + $3, $4 / 1024, $5 }' "$W/time"
}

best() {	# best CMD...: measure's line of the run with the least CPU of RUNS (a failed run wins: it is shown)
	local i
	for i in $(seq "${RUNS:-3}"); do measure "$@"; done |
		sort -k4,4nr -k2,2n | head -1
}

row() {	# row NAME LINES WALL CPU RSS EXIT
	if [ "$6" != 0 ]; then
		echo "| $1 | exit $6 | - | - | - | - |"
		return
	fi
	awk -v name="$1" -v n="$2" -v w="$3" -v c="$4" -v r="$5" 'BEGIN {
		printf "| %s | %.0f | %.0f | %s | %s | %s |\n", name, n / (c > 0 ? c : 1), n / (w > 0 ? w : 1), c, w, r }'
}

ours() {	# ours KIND TYPE LOG LABEL: our rows, 1 and N workers, and the speed-up
	local n w1 c1 r1 x1 wn cn rn xn
	n=$(wc -l < "$3")
	read -r w1 c1 r1 x1 < <(best "$BUILD/crowdsec" -c "$O/etc/config.yaml" -dsn "file://$3" \
		-type "$2" -stdout-alerts -workers 1)
	row "$1 ($n lines$4): ours, 1 worker" "$n" "$w1" "$c1" "$r1" "$x1"
	read -r wn cn rn xn < <(best "$BUILD/crowdsec" -c "$O/etc/config.yaml" -dsn "file://$3" \
		-type "$2" -stdout-alerts -workers "$N")
	row "$1$4: ours, $N workers (x$(awk -v a="$w1" -v b="$wn" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }') wall)" \
		"$n" "$wn" "$cn" "$rn" "$xn"
}

echo "Replay, $N CPUs (ours: the least CPU of ${RUNS:-3} runs; figures on a shared machine are noisy: compare within a run)."
echo
echo "| run | lines per CPU-second | wall lines/s | CPU s | wall s | peak RSS MiB |"
echo "|---|---|---|---|---|---|"
for kind in sshd nginx; do
	type=$([ $kind = nginx ] && echo nginx || echo syslog)
	n=$(wc -l < "$W/$kind.log")
	ours "$kind" "$type" "$W/$kind.log" ""
	if [ $have_cs = 1 ]; then
		crowdsec -c "$W/cs/etc/lapi.yaml" -no-cs >"$W/lapi.out" 2>&1 & LP=$!
		for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/28490) 2>/dev/null && break; sleep 0.1; done
		read -r wp cp rp xp < <(measure crowdsec -c "$W/cs/etc/config.yaml" -dsn "file://$W/$kind.log" \
			-type "$type" -no-api)
		kill "$LP" 2>/dev/null; wait "$LP" 2>/dev/null; LP=
		row "$kind: crowdsec 1.4.6" "$n" "$wp" "$cp" "$rp" "$xp"
	fi
done
# a longer replay, ours only (the peer would take tens of minutes): the speed-up
# of N workers with start-up a small part of the run
[ -n "$LONG_NGINX_LINES" ] && ours nginx nginx "$W/nginx-long.log" ", longer log, no 1.4.6 run"

echo
echo "Live buckets (crowdsecurity/ssh-bf, the engine alone, default limits: max_buckets 1250000)."
echo
echo "| sources | events | live, one event short | overflows | evicted | peak RSS MiB | seconds |"
echo "|---|---|---|---|---|---|---|"
sc=$SHARED_DIR/hub/scenarios/crowdsecurity/ssh-bf.yaml
for n in $MEM_SOURCES; do
	"$BUILD/bench/bucket_mem" "$sc" "$n" | awk '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }'
done
for n in $FLOOD_SOURCES; do
	"$BUILD/bench/bucket_mem" "$sc" "$n" -flood |
		awk '{ printf "| %s (flood, 1 event each) | %s | %s live | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }'
done

for n in $E2E_SOURCES; do
	# rounds of one line per source: each source is one event short after 5 rounds
	awk -v n="$n" 'BEGIN { for (r = 0; r < 6; r++) for (i = 0; i < n; i++) {
		s = r; m = 0; h = 0
		if (i < 131072) ip = sprintf("198.%d.%d.%d", 18 + int(i / 65536), int(i / 256) % 256, i % 256)
		else ip = sprintf("2001:db8::%x:%x", int(i / 65536), i % 65536)
		printf "Mar  2 %02d:%02d:%02d bastion sshd[%d]: Failed password for root from %s port 22 ssh2\n", h, m, s, 1000 + i % 30000, ip } }' >"$W/e2e.log"
	E=$W/e2e
	mkdir -p "$E/etc/scenarios"
	cp -r "$O/etc/parsers" "$O/etc/patterns" "$E/etc/"
	awk '/^---/ { exit } { print }' "$SHARED_DIR/hub/scenarios/crowdsecurity/ssh-bf.yaml" >"$E/etc/scenarios/ssh-bf.yaml"
	printf 'config_paths:\n  config_dir: %s/etc/\n  data_dir: %s/data/\napi:\n  server:\n    enable: false\ncommon:\n  log_level: info\n' "$E" "$O" >"$E/etc/config.yaml"
	/usr/bin/time -f "%e %U %S %M %x" -o "$W/time" "$BUILD/crowdsec" -c "$E/etc/config.yaml" \
		-dsn "file://$W/e2e.log" -type syslog -stdout-alerts -workers "$N" >"$W/e2e.out" 2>"$W/e2e.err"
	echo
	echo "End to end: $n sources x 6 failed passwords ($(wc -l <"$W/e2e.log") lines), crowdsecurity/ssh-bf only, $N workers:"
	awk '{ printf "wall %s s, CPU %.2f s, peak RSS %.0f MiB, exit %s; ", $1, $2 + $3, $4 / 1024, $5 }' "$W/time"
	echo "$(wc -l <"$W/e2e.out") alerts; $(grep -o '[0-9]* live buckets, [0-9]* evicted' "$W/e2e.err")"
done
