#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end replay (parse + scenarios): `crowdsec -dsn file://LOG -type T` of ours
# beside Debian's CrowdSec 1.4.6 on the same generated logs and the same hub files
# (Debian's enabled collections), both unpinned on the machine's 2 cores; the peer
# pushes its alerts to a LAPI of its own (not in its figures), ours prints them to
# /dev/null (-stdout-alerts). Agent process only: wall, CPU, peak RSS (time -v).
# Then a flood of unique sources (flood.py: every line a new IPv4 address), where
# memory must stay bounded: the peer is stopped at FLOOD_PEER_TIMEOUT seconds.
# Sizes: SSHD_LINES (1000000), NGINX_LINES (50000; CrowdSec runs ~440 lines/s on
# nginx), FLOOD_LINES (1000000).
set -u
[ "$(id -u)" = 0 ] || { echo "bench_replay: needs root"; exit 0; }
SSHD_LINES=${SSHD_LINES:-1000000} NGINX_LINES=${NGINX_LINES:-50000} FLOOD_LINES=${FLOOD_LINES:-1000000}
FLOOD_PEER_TIMEOUT=${FLOOD_PEER_TIMEOUT:-90}
PEERS=$SHARED_DIR/bench/peers
. "$(dirname "$0")/detector_lib.sh"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
python3 "$SHARED_DIR/bench/logs/genlogs" --kind sshd --lines "$SSHD_LINES" --seed 1 -o "$W/sshd.log" --quiet
python3 "$SHARED_DIR/bench/logs/genlogs" --kind nginx --lines "$NGINX_LINES" --seed 1 -o "$W/nginx.log" --quiet
python3 "$PEERS/flood.py" --lines "$FLOOD_LINES" > "$W/flood.log"

detector_config "$W" 28470

timed() {	# timed OUTFILE CMD...: runs CMD under time -v; prints "wall cpu rss_mib exit"
	local out=$1; shift
	/usr/bin/time -v -o "$out" "$@" >/dev/null 2>"$out.err"
	awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
		/User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { r = $2 }
		/Exit status/ { x = $2 } /terminated by signal/ { n = split($0, q, " "); x = "sig" q[n] }
		END { printf "%.2f %.2f %.0f %s\n", w, u + s, r / 1024, x }' "$out"
}

capped() {	# capped SECONDS CMD...: "wall cpu peak_rss_mib exit" sampled from /proc
	local cap=$1 pid t0 hwm=0 cpu=0 x=0 tck
	shift
	tck=$(getconf CLK_TCK)
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status 2>/dev/null || echo "$hwm")
		cpu=$(awk -v t="$tck" '{ printf "%.2f", ($14 + $15) / t }' /proc/$pid/stat 2>/dev/null || echo "$cpu")
		if awk -v a="$(date +%s.%N)" -v b="$t0" -v c="$cap" 'BEGIN { exit !(a - b >= c) }'; then
			kill -KILL "$pid"; x=killed
			break
		fi
		sleep 0.2
	done
	wait "$pid" 2>/dev/null; [ "$x" = killed ] || x=$?
	awk -v a="$(date +%s.%N)" -v b="$t0" -v c="$cpu" -v r="${hwm:-0}" -v x="$x" \
		'BEGIN { printf "%.2f %s %.0f %s\n", a - b, c, r / 1024, x }'
}

echo "| log | lines | ours lines/s | ours CPU s | ours peak RSS MiB | crowdsec 1.4.6 lines/s | its CPU s | its peak RSS MiB | speed ratio | RSS ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for kind in sshd nginx flood; do
	type=$([ $kind = nginx ] && echo nginx || echo syslog)
	n=$(wc -l < "$W/$kind.log")
	read -r w c r x < <(timed "$W/ours-$kind.time" "$BUILD/crowdsec" -c "$O/etc/config.yaml" \
		-dsn "file://$W/$kind.log" -type "$type" -stdout-alerts)
	ours_rate=$(awk -v n="$n" -v w="$w" 'BEGIN { printf "%.0f", n / w }')
	peer="- | - | -" ratio="-" rratio="-"
	if [ $have_cs = 1 ]; then
		crowdsec -c "$W/cs/etc/lapi.yaml" -no-cs >"$W/lapi.out" 2>&1 & lp=$!
		for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/28470) 2>/dev/null && break; sleep 0.1; done
		if [ $kind = flood ]; then
			# It may not finish: run it in the background, sample its memory and
			# CPU from /proc, kill it at the cap (time -v around `timeout` would
			# report the wrapper, not crowdsec).
			read -r pw pc pr px < <(capped "$FLOOD_PEER_TIMEOUT" crowdsec -c "$W/cs/etc/config.yaml" \
				-dsn "file://$W/$kind.log" -type "$type" -no-api)
		else
			read -r pw pc pr px < <(timed "$W/cs-$kind.time" crowdsec -c "$W/cs/etc/config.yaml" \
				-dsn "file://$W/$kind.log" -type "$type" -no-api)
		fi
		kill "$lp" 2>/dev/null; wait "$lp" 2>/dev/null
		if [ "$px" = 0 ]; then
			prate=$(awk -v n="$n" -v w="$pw" 'BEGIN { printf "%.0f", n / w }')
			ratio=$(awk -v a="$ours_rate" -v b="$prate" 'BEGIN { printf "%.1fx", a / b }')
		else
			prate="did not finish ($px after ${pw} s)"
		fi
		rratio=$(awk -v a="$r" -v b="$pr" 'BEGIN { printf "1/%.1f", b / (a ? a : 1) }')
		peer="$prate | $pc | $pr"
	fi
	echo "| $kind | $n | $ours_rate | $c | $r | $peer | $ratio | $rratio |"
done
