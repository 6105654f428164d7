#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# crowdsec-central's engine (bench/central_bench.c, in process, SQLite): signals
# ingested per second in batches of 50 (CrowdSec 1.4.6's size) from REPORTERS
# reporters; a blocklist of N listings (default 1,000,000) and a member's startup pull
# of it; a delta pull with nothing new; MEMBERS (10,000) members each pulling a delta.
# There is no peer: CrowdSec's central API is a closed service.
# Knobs: N, SIGNALS (200000), REPORTERS (3000), MEMBERS (10000).
set -u
N=${N:-1000000} SIGNALS=${SIGNALS:-200000} REPORTERS=${REPORTERS:-3000} MEMBERS=${MEMBERS:-10000}
B=$BUILD/bench/central_bench
[ -x "$B" ] || { echo "bench_central: $B missing (make)"; exit 0; }
W=$(mktemp -d /tmp/bench-central.XXXXXX)
trap 'rm -rf "$W"' EXIT
echo "| figure | ours | target | peer |"
echo "|---|---|---|---|"
"$B" "$W" "$N" "$SIGNALS" "$REPORTERS" "$MEMBERS" | while read -r k v rest; do
	case $k in
	ingest_rate) echo "| signals ingested (batches of 50) | $v $rest | >= 50,000/s | none (closed CAPI) |" ;;
	startup_pull) echo "| startup pull of the blocklist | $v $rest | - | none |" ;;
	delta_pull_empty) echo "| delta pull, nothing new | $v $rest | <= 1 ms | none |" ;;
	members_delta_rate) echo "| $MEMBERS members, one delta pull each | $v $rest | - | none |" ;;
	*) echo "| $k | $v $rest | | |" ;;
	esac
done
