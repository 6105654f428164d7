#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The detector's worker threads: the same sshd and nginx logs replayed with 1, 2
# and 4 workers (-workers, and crowdsec_service.detector_workers) give the same
# alerts, byte for byte and in the same order (event time), whatever the number
# of bucket shards; reprocessed overflows cross shards (ban-defcon-drop_range and
# a local scenario take ssh-bf's) and the conditional ssh-time-based-bf keeps full
# events.
. "$(dirname "$0")/../lib/harness.sh"
BUILD=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM

python3 "$SHARED_DIR/bench/logs/genlogs" --kind sshd --lines 20000 --seed 3 -o "$T/sshd.log" --quiet &&
	python3 "$SHARED_DIR/bench/logs/genlogs" --kind nginx --lines 5000 --seed 3 -o "$T/nginx.log" --quiet ||
	{ fail "genlogs"; summary; exit 1; }
cs_etc "$T/etc" parsers/s00-raw/crowdsecurity/syslog-logs.yaml \
	parsers/s01-parse/crowdsecurity/sshd-logs.yaml parsers/s01-parse/crowdsecurity/nginx-logs.yaml \
	parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml parsers/s02-enrich/crowdsecurity/http-logs.yaml \
	scenarios/crowdsecurity/ssh-bf.yaml scenarios/crowdsecurity/ssh-slow-bf.yaml \
	scenarios/crowdsecurity/ssh-time-based-bf.yaml scenarios/crowdsecurity/ban-defcon-drop_range.yaml \
	scenarios/crowdsecurity/http-probing.yaml scenarios/crowdsecurity/http-crawl-non_statics.yaml \
	scenarios/crowdsecurity/http-generic-bf.yaml || { fail "config"; summary; exit 1; }
# overflows of any scenario with remediation, per scenario: many sources, poured across shards
cat >"$T/etc/scenarios/repeat.yaml" <<'YAML'
type: leaky
name: test/remediated-repeat
description: "overflows of one scenario, again and again"
filter: "evt.GetType() == 'overflow' && evt.Overflow.Alert.Remediation == true"
groupby: evt.Overflow.Alert.Scenario
capacity: 3
leakspeed: 1h
blackhole: 1m
labels:
  remediation: true
YAML
mkdir -p "$T/data"
cs_config "$T/etc" "$T/data" 127.0.0.1:1 info

replay() {	# replay KIND WORKERS|"" OUT: alerts to OUT.jsonl, log to OUT.err
	local type=syslog flag=()
	[ "$1" = nginx ] && type=nginx
	[ -n "$2" ] && flag=(-workers "$2")
	timeout 600 "$BUILD/crowdsec" -c "$T/etc/config.yaml" -dsn "file://$T/$1.log" -type "$type" \
		-stdout-alerts "${flag[@]}" >"$3.jsonl" 2>"$3.err"
}

for kind in sshd nginx; do
	for w in 1 2 4; do
		replay $kind $w "$T/$kind-$w" || fail "$kind, $w workers: exit $?"
	done
	n=$(wc -l <"$T/$kind-1.jsonl")
	check "$kind: alerts with 1 worker ($n)" [ "$n" -gt 0 ]
	check "$kind: 1 worker said so" grep -q "1 worker(s)" "$T/$kind-1.err"
	for w in 2 4; do
		check "$kind: $w workers give the same $n alerts in the same order" \
			cmp -s "$T/$kind-1.jsonl" "$T/$kind-$w.jsonl"
	done
	check "$kind: alerts ordered by event time" python3 -c '
import json, sys
t = [json.loads(l)["stop_at"] for l in open(sys.argv[1])]
sys.exit(t != sorted(t))' "$T/$kind-2.jsonl"
	check "$kind: end-of-run line counts evictions" grep -q "live buckets, 0 evicted" "$T/$kind-4.err"
done
n=$(grep -c '"scenario":"test/remediated-repeat"' "$T/sshd-1.jsonl")
check "reprocessed overflows poured again ($n alerts of test/remediated-repeat)" [ "$n" -gt 0 ]

# the config key, and its default (one per CPU)
printf 'crowdsec_service:\n  detector_workers: 3\n' >>"$T/etc/config.yaml"
replay sshd "" "$T/sshd-key"
check "crowdsec_service.detector_workers: 3 workers" grep -q "3 worker(s)" "$T/sshd-key.err"
check "crowdsec_service.detector_workers: same alerts" cmp -s "$T/sshd-1.jsonl" "$T/sshd-key.jsonl"
printf 'crowdsec_service:\n  detector_workers: 0\n' >>"$T/etc/config.yaml"
"$BUILD/crowdsec" -c "$T/etc/config.yaml" -dsn "file://$T/sshd.log" -type syslog -stdout-alerts \
	>/dev/null 2>"$T/bad.err"
check "detector_workers: 0 is refused, naming the key" grep -q "detector_workers" "$T/bad.err"
summary
