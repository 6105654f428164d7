#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Parse throughput on one core: generated sshd and nginx logs through the hub
# parsers, ours (build/bench/parse_bench) beside Debian's CrowdSec 1.4.6 replaying
# the same file (`crowdsec -dsn file://LOG -type T -no-api`, GOMAXPROCS=1, pinned
# to one CPU, its scenarios removed so it parses only). Same parser files for both
# (Debian's enabled set). LINES (default 100000) per log.
set -u
[ "$(id -u)" = 0 ] || { echo "bench_parse: needs root (crowdsec's config dirs)"; exit 0; }
LINES=${LINES:-100000}
PEERS=$SHARED_DIR/bench/peers
work=$(mktemp -d)
trap 'kill $lp 2>/dev/null; rm -rf "$work"' EXIT
lp=
python3 "$SHARED_DIR/bench/logs/genlogs" --kind sshd --lines "$LINES" --seed 1 -o "$work/sshd.log" --quiet
python3 "$SHARED_DIR/bench/logs/genlogs" --kind nginx --lines "$LINES" --seed 1 -o "$work/nginx.log" --quiet

# Our side reads the same parser files CrowdSec has enabled, from its hub.
hub=$work/hub
mkdir -p "$hub"
cp -rL /etc/crowdsec/parsers "$hub/parsers-enabled"
mkdir -p "$hub/parsers/s00-raw/crowdsecurity" "$hub/parsers/s01-parse/crowdsecurity" \
	"$hub/parsers/s02-enrich/crowdsecurity"
for f in "$hub"/parsers-enabled/*/*.yaml; do
	st=$(basename "$(dirname "$f")")
	cp "$f" "$hub/parsers/$st/crowdsecurity/"
done
cp -r "$SHARED_DIR/hub/patterns" "$SHARED_DIR/hub/data" "$hub/"

have_cs=0
if command -v crowdsec >/dev/null && [ -d /etc/crowdsec/parsers ]; then
	sh "$PEERS/mkconf.sh" "$work/cs" 28490 >/dev/null 2>&1 && have_cs=1
	rm -rf "$work/cs/etc/scenarios" "$work/cs/etc/postoverflows"
	mkdir -p "$work/cs/etc/scenarios" "$work/cs/etc/postoverflows"
	crowdsec -c "$work/cs/etc/lapi.yaml" -no-cs >"$work/lapi.out" 2>&1 & lp=$!
	for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/28490) 2>/dev/null && break; sleep 0.1; done
fi

echo "| log | lines | ours lines/s (1 core) | ours CPU s | ours peak RSS MiB | crowdsec 1.4.6 lines/s (1 core) | its CPU s | its peak RSS MiB | ratio |"
echo "|---|---|---|---|---|---|---|---|---|"
for kind in sshd nginx; do
	type=$([ $kind = sshd ] && echo syslog || echo nginx)
	read -r n kept secs rate cpu rss < <(taskset -c 1 "$BUILD/bench/parse_bench" "$hub" "$type" "$work/$kind.log")
	cs="-" cscpu="-" csrss="-" ratio="-"
	if [ $have_cs = 1 ]; then
		GOMAXPROCS=1 taskset -c 1 /usr/bin/time -v -o "$work/time.txt" crowdsec -c "$work/cs/etc/config.yaml" \
			-dsn "file://$work/$kind.log" -type "$type" -no-api >"$work/agent.out" 2>&1
		wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i]; print w }' "$work/time.txt")
		cscpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$work/time.txt")
		csrss=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$work/time.txt")
		cs=$(awk -v n="$n" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')
		ratio=$(awk -v a="$rate" -v b="$cs" 'BEGIN { printf "%.1fx", a / b }')
	fi
	echo "| $kind | $n | $rate | $cpu | $((rss / 1024)) | $cs | $cscpu | $csrss | $ratio |"
done
