#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# crowdsec-central's engine (bench/central_bench.c, in process, SQLite): signals
# ingested per second in batches of 50 (CrowdSec 1.4.6's size) from REPORTERS
# reporters; a blocklist of N listings (default 1,000,000) and a member's startup pull
# of it; a delta pull with nothing new; MEMBERS (10,000) members each pulling a delta.
# Then the same database served by crowdsec-central: a member's startup pull over
# HTTP (curl: time, bytes) and an empty delta (curl time_total).
# Then a member (our LAPI, online_client) pulling that whole list at its start: the
# time until it is stored and the member's peak RSS (the list is read as it arrives).
# There is no peer: CrowdSec's central API is a closed service.
# Knobs: N, SIGNALS (200000), REPORTERS (3000), MEMBERS (10000).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lapi_lib.sh"
N=${N:-1000000} SIGNALS=${SIGNALS:-200000} REPORTERS=${REPORTERS:-3000} MEMBERS=${MEMBERS:-10000}
B=$BUILD/bench/central_bench
[ -x "$B" ] || { echo "bench_central: $B missing (make)"; exit 0; }
W=$(mktemp -d /tmp/bench-central.XXXXXX)
CPID=
MPID=
trap '[ -n "$CPID" ] && kill $CPID 2>/dev/null; [ -n "$MPID" ] && kill $MPID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
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

# a member pulling the whole list at start
M=$W/member
MPORT=$((PORT + 1))
mkdir -p "$M/etc/scenarios"
printf 'type: leaky\nname: crowdsecurity/ssh-bf\nfilter: "true"\n' >"$M/etc/scenarios/ssh-bf.yaml"
curl -s -A crowdsec/bench -X POST "$U/v2/watchers" -d '{"machine_id":"benchlapi","password":"benchlapipassword"}' >/dev/null
printf 'url: %s/\nlogin: benchlapi\npassword: benchlapipassword\n' "$U" >"$M/online.yaml"
cat >"$M/config.yaml" <<YAML
common:
  log_level: info
config_paths:
  config_dir: $M/etc/
api:
  client:
    credentials_path: $M/creds.yaml
  server:
    listen_uri: 127.0.0.1:$MPORT
    profiles_path: $here/../config/profiles.yaml
    online_client:
      credentials_path: $M/online.yaml
      pull_interval: 1h
db_config:
  db_path: $M/crowdsec.db
prometheus:
  enabled: false
YAML
t0=$(date +%s.%N)
"$BUILD/crowdsec" -no-cs -c "$M/config.yaml" >"$M/lapi.log" 2>&1 &
MPID=$!
peak_rss "$M/rss" "$MPID" &
RSSPID=$!
# "startup: +N" once stored; "startup (cut short)" is a failed pull, reported as 0 entries
for _ in $(seq 6000); do grep -q 'community blocklist startup' "$M/lapi.log" && break; sleep 0.1; done
t1=$(date +%s.%N)
got=$(sed -n 's/.*community blocklist startup: +\([0-9]*\).*/\1/p' "$M/lapi.log" | head -1)
kill "$MPID" 2>/dev/null
wait "$MPID" 2>/dev/null
MPID=
wait "$RSSPID"
echo "| a member's startup pull, stored (our LAPI) | $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s, ${got:-0} entries, peak RSS $(mib "$(cat "$M/rss")") MiB | - | none |"
