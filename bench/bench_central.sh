#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# crowdsec-central's engine (bench/central_bench.c, in process, SQLite): signals
# ingested per second in batches of 50 (CrowdSec 1.4.6's size) from REPORTERS
# reporters; a blocklist of N listings (default 1,000,000) and a member's startup pull
# of it; a delta pull with nothing new; MEMBERS (10,000) members each pulling a delta.
# Then the same database served by crowdsec-central: a member's startup pull over
# HTTP (curl: time, bytes) and an empty delta (curl time_total).
# There is no peer: CrowdSec's central API is a closed service.
# Knobs: N, SIGNALS (200000), REPORTERS (3000), MEMBERS (10000).
set -u
N=${N:-1000000} SIGNALS=${SIGNALS:-200000} REPORTERS=${REPORTERS:-3000} MEMBERS=${MEMBERS:-10000}
B=$BUILD/bench/central_bench
[ -x "$B" ] || { echo "bench_central: $B missing (make)"; exit 0; }
W=$(mktemp -d /tmp/bench-central.XXXXXX)
CPID=
trap '[ -n "$CPID" ] && kill $CPID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
echo "| figure | ours | target | peer |"
echo "|---|---|---|---|"
"$B" "$W" "$N" "$SIGNALS" "$REPORTERS" "$MEMBERS" | while read -r k v rest; do
	case $k in
	ingest_rate) echo "| signals ingested (batches of 50) | $v $rest | >= 50,000/s | none (closed CAPI) |" ;;
	ingest_rate_cpu) echo "| signals ingested per CPU second (busy machines) | $v $rest | - | none |" ;;
	startup_pull) echo "| startup pull of the blocklist | $v $rest | - | none |" ;;
	delta_pull_empty) echo "| delta pull, nothing new | $v $rest | <= 1 ms | none |" ;;
	members_delta_rate) echo "| $MEMBERS members, one delta pull each | $v $rest | - | none |" ;;
	*) echo "| $k | $v $rest | | |" ;;
	esac
done

# over HTTP
PORT=${CPORT:-28790}
"$BUILD/crowdsec-central" -db "$W/central.db" -listen "127.0.0.1:$PORT" >"$W/central.log" 2>&1 &
CPID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
U=http://127.0.0.1:$PORT
curl -s -A crowdsec/bench -X POST "$U/v2/watchers" -d '{"machine_id":"benchmember","password":"benchpassword"}' >/dev/null
TOK=$(curl -s -A crowdsec/bench -X POST "$U/v2/watchers/login" \
	-d '{"machine_id":"benchmember","password":"benchpassword","scenarios":["crowdsecurity/ssh-bf"]}' |
	sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
r=$(curl -s -o "$W/startup.json" -w '%{time_total} %{size_download}' -H "Authorization: Bearer $TOK" "$U/v2/decisions/stream?startup=true")
echo "| startup pull over HTTP (v2) | ${r% *} s, $(( ${r#* } / 1048576 )) MiB, $(grep -o '"value"' "$W/startup.json" | wc -l) entries | - | none |"
r=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $TOK" "$U/v2/decisions/stream")
r=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $TOK" "$U/v2/decisions/stream")
echo "| empty delta over HTTP (curl, new connection) | $(echo "$r * 1000" | bc) ms | <= 1 ms | none |"
