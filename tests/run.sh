#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Suite runner: runs each test program given on the command line, shows its output,
# reads its closing "N passed, N failed, N skipped" line and prints the total.
# A program that exits non-zero, or ends without that line, counts as one failure.
# Exit status: 0 only when nothing failed.
set -u
tp=0 tf=0 ts=0
failed=()
for t in "$@"; do
	echo "=== $t"
	out=$(mktemp)
	start=$(date +%s)
	if [[ $t == *.sh ]]; then bash "$t" 2>&1 | tee "$out"; rc=${PIPESTATUS[0]}
	else "$t" 2>&1 | tee "$out"; rc=${PIPESTATUS[0]}; fi
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n 1)
	rm -f "$out"
	if [ -z "$line" ]; then
		echo "--- $t: exit $rc and no summary line: counted as 1 failure"
		tf=$((tf + 1)); failed+=("$t"); continue
	fi
	read -r p _ f _ s _ <<<"$line"
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "--- $t: exit $rc with no failed test: counted as 1 failure"
		tf=$((tf + 1))
	fi
	{ [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; } && failed+=("$t")
	echo "--- $t: $line ($(( $(date +%s) - start ))s)"
done
echo
[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[@]}"
echo "TOTAL: $tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ]
