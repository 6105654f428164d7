#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The crowdsec daemon live, tailing files: a brute force written across a rename
# rotation, a copytruncate, a file that appears later under the glob and a line
# written in two pieces; every line is read exactly once (the daemon's own count
# at exit) and every attacker is alerted. Then SIGHUP: a broken scenario is refused
# and the old configuration keeps running; a fixed one is taken. -t names the
# broken file and line; the reload reads an edited data file again (a whitelist on
# File()). Alerts go to stdout as JSON (-stdout-alerts).
. "$(dirname "$0")/../lib/harness.sh"
need_hub 15
T=$(mktemp -d)
CP=
cleanup() { [ -n "$CP" ] && kill -KILL "$CP" 2>/dev/null; [ -n "${KEEP_TMP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT INT TERM

mkdir -p "$T/logs"
cs_detector_etc "$T" || { fail "configuration"; summary; exit 1; }
printf 'filenames:\n  - %s/logs/*.log\nlabels:\n  type: syslog\n' "$T" > "$E/acquis.yaml"
# a whitelist read from a data file: edited later, read again by the reload
echo 198.18.0.17 > "$T/wl.txt"
cat > "$E/parsers/s02-enrich/t-data-wl.yaml" <<YAML
name: t/data-wl
data:
  - dest_file: wl.txt
    type: string
whitelist:
  reason: listed in wl.txt
  expression:
    - evt.Meta.source_ip in File('wl.txt')
YAML

LINES=0
# fails FILE IP N: N failed ssh logins from IP, stamped now
fails() {
	for i in $(seq "$3"); do
		printf '%s bastion sshd[%d]: Failed password for root from %s port %d ssh2\n' \
			"$(date '+%b %e %H:%M:%S')" $((1000 + i)) "$2" $((40000 + i)) >> "$1"
		LINES=$((LINES + 1))
	done
}
alerted() { grep -q "\"value\":\"$1\"" "$T/alerts.jsonl"; }

: > "$T/logs/auth.log"
"$BUILD/crowdsec" -c "$E/config.yaml" -stdout-alerts >"$T/alerts.jsonl" 2>"$T/crowdsec.log" &
CP=$!
wait_for_log() { for _ in $(seq 100); do grep -q "$1" "$T/crowdsec.log" && return 0; sleep 0.1; done; return 1; }
check "daemon started" wait_for_log "detector ready"
sleep 0.5

fails "$T/logs/auth.log" 198.18.0.11 3
mv "$T/logs/auth.log" "$T/logs/auth.log.1"	# rotation by rename; the writer goes on...
fails "$T/logs/auth.log.1" 198.18.0.11 1	# ...in the old file for a moment
fails "$T/logs/auth.log" 198.18.0.11 4		# then in the new one
# capacity 5: the sixth line overflows, so the alert proves every one of them was read
fails "$T/logs/app.log" 198.18.0.12 6
# the truncation below must come after the tailer read these lines
for _ in $(seq 300); do alerted 198.18.0.12 && break; sleep 0.1; done
cp "$T/logs/app.log" "$T/app.copy"; : > "$T/logs/app.log"	# copytruncate
fails "$T/logs/app.log" 198.18.0.13 8
fails "$T/logs/late.log" 198.18.0.14 8	# appears after start, matches the glob
# a line in two pieces, then the rest of a brute force
stamp=$(date '+%b %e %H:%M:%S')
printf '%s bastion sshd[77]: Failed password for root from 198.18.0.15' "$stamp" >> "$T/logs/late.log"
sleep 1.2
printf ' port 5555 ssh2\n' >> "$T/logs/late.log"
LINES=$((LINES + 1))
fails "$T/logs/late.log" 198.18.0.15 7
for ip in 198.18.0.11 198.18.0.12 198.18.0.13 198.18.0.14 198.18.0.15; do
	for _ in $(seq 300); do alerted $ip && break; sleep 0.1; done
	check "alert for $ip" alerted $ip
done

# whitelisted through the data file: no alert (the next attacker's alert says it was read)
fails "$T/logs/app.log" 198.18.0.17 8
fails "$T/logs/app.log" 198.18.0.18 8
for _ in $(seq 300); do alerted 198.18.0.18 && break; sleep 0.1; done
check "data-file whitelist applies" bash -c "$(declare -f alerted); T=$T; alerted 198.18.0.18 && ! alerted 198.18.0.17"
echo 198.18.0.99 > "$T/wl.txt"	# edited: .17 no longer listed, seen after the reload

# SIGHUP with a broken scenario: refused, still running
printf 'type: leaky\nname: t/broken\nfilter: "evt.Meta.x =="\ncapacity: 1\nleakspeed: 1s\n' > "$E/scenarios/broken.yaml"
"$BUILD/crowdsec" -c "$E/config.yaml" -t >"$T/t.out" 2>&1
check "-t names the broken file and line" grep -q "broken.yaml:3" "$T/t.out"
kill -HUP "$CP"
check "broken reload refused, old configuration kept" wait_for_log "reload failed"
check "still running" kill -0 "$CP"
rm "$E/scenarios/broken.yaml"
kill -HUP "$CP"
check "good reload taken" wait_for_log "reload done"
fails "$T/logs/late.log" 198.18.0.16 8	# read by the reloaded detector, same acquisition
for _ in $(seq 300); do alerted 198.18.0.16 && break; sleep 0.1; done
check "detection after reload" alerted 198.18.0.16
fails "$T/logs/late.log" 198.18.0.17 8
for _ in $(seq 300); do alerted 198.18.0.17 && break; sleep 0.1; done
check "reload read the edited data file again" alerted 198.18.0.17

kill -TERM "$CP"; wait "$CP"; rc=$?; CP=
check_eq "clean exit on SIGTERM" "$rc" 0
read_n=$(sed -n 's/.*msg="\([0-9]*\) lines read.*/\1/p' "$T/crowdsec.log" | tail -n1)
check_eq "every line read exactly once" "$read_n" "$LINES"
summary
