#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The crowdsec daemon stops promptly on SIGTERM while a source spins: a
# journalctl that never stops writing (a fake one on PATH, `yes` behind it), a
# log file a writer keeps appending to, and a -dsn replay of a large file. Each
# time the detector is first seen busy (its CPU time grows), then SIGTERM: it
# exits 0 within STOP_BOUND seconds, its journalctl child gone with it. Waits
# are polls with bounds, never fixed sleeps.
. "$(dirname "$0")/../lib/harness.sh"
need_hub 12
STOP_BOUND=${STOP_BOUND:-10}
T=$(mktemp -d)
CP= WP=
cleanup() {
	[ -n "$CP" ] && kill -KILL "$CP" 2>/dev/null
	[ -n "$WP" ] && kill -KILL "$WP" 2>/dev/null
	[ -s "$T/journalctl.pid" ] && kill -KILL "$(cat "$T/journalctl.pid")" 2>/dev/null
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM

mkdir -p "$T/logs" "$T/bin"
cs_detector_etc "$T" || { fail "configuration"; summary; exit 1; }
LINE='Dec  4 10:00:01 bastion sshd[1]: Failed password for root from 198.18.0.9 port 22 ssh2'
# the endless source: bounded all the same (60 s), in case nothing reads it
cat >"$T/bin/journalctl" <<SH
#!/bin/sh
echo \$\$ >"$T/journalctl.pid"
exec timeout 60 yes '$LINE'
SH
chmod +x "$T/bin/journalctl"

# cpu_ticks PID: user + system clock ticks the process has used
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# busy PID: within 30 s the process used at least 0.3 s of CPU (it is reading)
busy() {
	local i
	for i in $(seq 300); do
		[ "$(cpu_ticks "$1")" -ge 30 ] && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# gone PID SECONDS: the process has ended within SECONDS
gone() {
	local i
	for i in $(seq $(($2 * 20))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}
# stop NAME: SIGTERM to the daemon, which must exit 0 within STOP_BOUND
stop() {
	local t0 t1 rc
	t0=$(date +%s%N)
	kill -TERM "$CP"
	if gone "$CP" "$STOP_BOUND"; then
		t1=$(date +%s%N)
		wait "$CP"; rc=$?
		pass "$1: stopped $(((t1 - t0) / 1000000)) ms after SIGTERM (bound ${STOP_BOUND} s)"
		check_eq "$1: exit status" "$rc" 0
	else
		fail "$1: still running ${STOP_BOUND} s after SIGTERM"
		kill -KILL "$CP" 2>/dev/null; wait "$CP" 2>/dev/null
		fail "$1: exit status (killed)"
	fi
	CP=
}

# 1. journalctl that never stops writing
printf 'source: journalctl\njournalctl_filter:\n  - _SYSTEMD_UNIT=ssh.service\nlabels:\n  type: syslog\n' \
	>"$E/acquis.yaml"
PATH=$T/bin:$PATH "$BUILD/crowdsec" -c "$E/config.yaml" >/dev/null 2>"$T/journal.log" &
CP=$!
check "journalctl source: the detector is busy reading" busy "$CP"
check "journalctl source: the fake journalctl runs" test -s "$T/journalctl.pid"
stop "journalctl source"
check "journalctl source: its journalctl is gone too" gone "$(cat "$T/journalctl.pid" 2>/dev/null || echo 0)" "$STOP_BOUND"
# a full pipe made journalctl's writes fail (EAGAIN) when its end was non-blocking
check "journalctl source: journalctl never died while the detector was slower" \
	bash -c "! grep -q 'journalctl exited' '$T/journal.log'"

# 2. a log file a writer keeps appending to (bounded: 60 s or 2M lines)
printf 'filenames:\n  - %s/logs/auth.log\nlabels:\n  type: syslog\n' "$T" >"$E/acquis.yaml"
: >"$T/logs/auth.log"
"$BUILD/crowdsec" -c "$E/config.yaml" >/dev/null 2>"$T/file.log" &
CP=$!
timeout 60 python3 -c '
import sys
line = (sys.argv[2] + "\n").encode() * 1000
with open(sys.argv[1], "ab", buffering=0) as f:
    for _ in range(2000):
        f.write(line)
' "$T/logs/auth.log" "$LINE" &
WP=$!
check "growing file: the detector is busy reading" busy "$CP"
stop "growing file"
kill "$WP" 2>/dev/null; wait "$WP" 2>/dev/null; WP=

# 3. a -dsn replay of a large file (1M lines)
python3 -c '
import sys
line = (sys.argv[2] + "\n").encode() * 1000
with open(sys.argv[1], "wb") as f:
    for _ in range(1000):
        f.write(line)
' "$T/logs/big.log" "$LINE"
"$BUILD/crowdsec" -c "$E/config.yaml" -dsn "file://$T/logs/big.log" -type syslog \
	>/dev/null 2>"$T/replay.log" &
CP=$!
if busy "$CP"; then
	pass "replay: the detector is busy reading"
	stop "replay"
else
	# a machine fast enough to finish 1M lines before 0.3 s of CPU: nothing to stop
	wait "$CP"; CP=
	skip "replay: over before it was seen busy" 3
fi
summary
