# SPDX-License-Identifier: MIT
# Running the libFuzzer harnesses (sourced by run.sh and test_fuzz.sh).
# fuzz_one NAME SECONDS: replays NAME's committed seeds, then fuzzes for SECONDS
# on a scratch copy of them (the repository's corpus is never written).
# Findings land in $FUZZ_BUILD/findings/NAME/ with the fuzzer's log; returns
# non-zero on a crash, a leak, a sanitizer report or a slow unit.
FUZZ_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FUZZ_BUILD=${FUZZ_BUILD:-$FUZZ_DIR/../../build-fuzz}

fuzz_harnesses() {
	local f
	for f in "$FUZZ_DIR"/fuzz_*.c; do
		f=${f##*/fuzz_}
		echo "${f%.c}"
	done
}

fuzz_one() {
	local name=$1 secs=$2 bin=$FUZZ_BUILD/fuzz_$1 seeds=$FUZZ_DIR/corpus/$1
	local out=$FUZZ_BUILD/findings/$1 work
	mkdir -p "$out"
	work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz_$1.XXXXXX") || return 1
	cp -r "$seeds"/. "$work"/ 2>/dev/null
	# ASAN/UBSAN options: fail hard, no symbolizer noise missing from the box.
	ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$bin" "$work" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$out/" \
		>"$out/log" 2>&1
	local rc=$?
	rm -rf "$work"
	return $rc
}
