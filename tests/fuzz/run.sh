#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make fuzz`: every harness for FUZZ_SECONDS (default 60) each, one after the
# other. FUZZ=name[,name] picks some. Findings and logs: build-fuzz/findings/.
set -u
. "$(dirname "$0")/fuzz_lib.sh"
secs=${FUZZ_SECONDS:-60}
bad=0
for h in $(fuzz_harnesses); do
	case ",${FUZZ:-$h}," in *",$h,"*) ;; *) continue ;; esac
	printf '%-18s %ss ... ' "$h" "$secs"
	if fuzz_one "$h" "$secs"; then
		grep -aEo 'stat::number_of_executed_units: *[0-9]+' "$FUZZ_BUILD/findings/$h/log" |
			awk '{print $2 " runs, no finding"}'
	else
		bad=$((bad + 1))
		echo "FINDING: see $FUZZ_BUILD/findings/$h/ (log and crash-* reproducer:"
		echo "  $FUZZ_BUILD/fuzz_$h $FUZZ_BUILD/findings/$h/crash-...)"
		grep -a -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' \
			"$FUZZ_BUILD/findings/$h/log"
	fi
done
[ "$bad" -eq 0 ]
