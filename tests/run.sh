#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Suite runner: runs each test program given on the command line, TEST_JOBS at a
# time (default 2; TEST_JOBS=1 runs them one after the other), started in the order
# given (the Makefile names the long ones first, so that none ends the run alone).
# Each program's output is held until it ends, then shown whole under "=== NAME"
# with its "--- NAME: N passed, N failed, N skipped (Ts)" line; the total closes
# the run. A program that exits non-zero, or ends without that line, counts as one
# failure. A script with a "# suite: alone" line runs with no other test beside it.
# Tests that run beside each other get distinct TEST_LANE numbers (0, 1, ...):
# free_port (tests/lapi/lapi_lib.sh) probes a port range of the lane's own, so two
# tests never pick the same port between probing it and listening on it.
# Exit status: 0 only when nothing failed.
set -u
jobs=${TEST_JOBS:-2}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || jobs=1
tp=0 tf=0 ts=0
failed=()
tests=("$@")
out=$(mktemp -d "${TMPDIR:-/tmp}/suite.XXXXXX") || exit 1
declare -A idx_of=()	# running test's pid -> its index in tests
lane_of=() start_of=() lane_busy=()
running=0 alone=0

stop_all() {
	local p
	for p in "${!idx_of[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait
	# what the interrupted tests printed so far: a CI timeout shows where they hung
	for p in "${!idx_of[@]}"; do
		echo "=== ${tests[${idx_of[$p]}]} (interrupted)"
		cat "$out/${idx_of[$p]}" 2>/dev/null
	done
	rm -rf "$out"
	exit 130
}
trap stop_all INT TERM

alone() { [[ $1 == *.sh ]] && grep -q '^# suite: alone' "$1" 2>/dev/null; }

# start I: test I in the background on a free lane, its output to $out/I
start() {
	local i=$1 t=${tests[$1]} lane=0
	while [ "${lane_busy[$lane]:-0}" = 1 ]; do lane=$((lane + 1)); done
	lane_busy[$lane]=1
	lane_of[$i]=$lane
	start_of[$i]=$SECONDS
	# A background job would inherit SIGINT/SIGQUIT ignored; tests signal their daemons.
	if [[ $t == *.sh ]]; then
		TEST_LANE=$lane env --default-signal=INT,QUIT bash "$t" >"$out/$i" 2>&1 </dev/null &
	else
		TEST_LANE=$lane env --default-signal=INT,QUIT "$t" >"$out/$i" 2>&1 </dev/null &
	fi
	idx_of[$!]=$i
	running=$((running + 1))
}

# reap: wait for any running test to end, then show it whole and count it
reap() {
	local pid rc i t line p f s
	wait -n -p pid "${!idx_of[@]}"
	rc=$?
	i=${idx_of[$pid]}
	unset "idx_of[$pid]"
	running=$((running - 1))
	lane_busy[${lane_of[$i]}]=0
	alone=0
	t=${tests[$i]}
	echo "=== $t"
	cat "$out/$i"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out/$i" | tail -n 1)
	rm -f "$out/$i"
	if [ -z "$line" ]; then
		echo "--- $t: exit $rc and no summary line: counted as 1 failure"
		tf=$((tf + 1)); failed+=("$t"); return
	fi
	read -r p _ f _ s _ <<<"$line"
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "--- $t: exit $rc with no failed test: counted as 1 failure"
		tf=$((tf + 1))
	fi
	{ [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; } && failed+=("$t")
	echo "--- $t: $line ($((SECONDS - start_of[i]))s)"
}

for i in "${!tests[@]}"; do
	a=0
	alone "${tests[$i]}" && a=1
	while [ "$running" -gt 0 ] && { [ "$running" -ge "$jobs" ] || [ "$alone" = 1 ] || [ "$a" = 1 ]; }; do
		reap
	done
	start "$i"
	alone=$a
done
while [ "$running" -gt 0 ]; do reap; done
rm -rf "$out"
echo
[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[@]}"
echo "TOTAL: $tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ]
