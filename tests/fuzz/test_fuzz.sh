#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The fuzz tier of `make test`: builds the libFuzzer harnesses (clang, ASan +
# UBSan, build-fuzz/) and runs each one briefly (FUZZ_TEST_SECONDS, default 3;
# FUZZ_TEST_JOBS of them at once) over its committed seed corpus, crash reproducers of past findings included:
# a regression shows up here. `make fuzz` is the long run.
set -u
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fuzz_lib.sh"
root=$(cd "$FUZZ_DIR/../.." && pwd)
secs=${FUZZ_TEST_SECONDS:-3}

if ! command -v "${FUZZ_CC:-clang}" >/dev/null; then
	skip "fuzz tier: no clang (config/deps.sh installs it)" "$(fuzz_harnesses | wc -l)"
	summary
	exit 0
fi
if ! make -C "$root" -s -j"$(nproc)" fuzz-build >"${TMPDIR:-/tmp}/fuzz-build.$$.log" 2>&1; then
	cat "${TMPDIR:-/tmp}/fuzz-build.$$.log" >&2
	rm -f "${TMPDIR:-/tmp}/fuzz-build.$$.log"
	fail "fuzz harnesses build (clang, libFuzzer)"
	summary
	exit 1
fi
rm -f "${TMPDIR:-/tmp}/fuzz-build.$$.log"
pass "fuzz harnesses build (clang, libFuzzer)"
# FUZZ_TEST_JOBS harnesses at once (default: one per CPU), reported in order
jobs=${FUZZ_TEST_JOBS:-$(nproc)}
harnesses=($(fuzz_harnesses))
pids=()
report() { # I: harness I's verdict, once it ends
	local h=${harnesses[$1]}
	if wait "${pids[$1]}"; then
		pass "fuzz_$h: seeds and ${secs}s of fuzzing"
	else
		fail "fuzz_$h: finding in $FUZZ_BUILD/findings/$h/"
		grep -a -m3 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' \
			"$FUZZ_BUILD/findings/$h/log" >&2
	fi
}
for i in "${!harnesses[@]}"; do
	[ "$i" -ge "$jobs" ] && report $((i - jobs))
	fuzz_one "${harnesses[$i]}" "$secs" &
	pids[$i]=$!
done
for ((i = ${#harnesses[@]} - jobs; i < ${#harnesses[@]}; i++)); do
	[ "$i" -ge 0 ] && report "$i"
done
summary
