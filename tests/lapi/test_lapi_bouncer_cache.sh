#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The LAPI keeps API-key bouncers in memory (bouncer_cache.c) for as long as no other
# process commits to the database, past its 1 s TTL: a bouncer deleted, or re-added
# with another key, by cscli (which writes the database directly) must still lose
# access at the next pull, however long its entry has been cached.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup bcache 18681 curl
lapi_config "$T/config.yaml"
# debug: bouncer_cache.c logs each database read of a bouncer
sed -i 's/^  log_level: info$/  log_level: debug/' "$T/config.yaml"
K1=$($CSCLI -oraw bouncers add b1 2>/dev/null)
K2=$($CSCLI -oraw bouncers add b2 2>/dev/null)
check "LAPI starts" lapi_start
pull() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "X-Api-Key: $1" "$URL/v1/decisions/stream?startup=true"; }
check_eq "b1 pulls" "$(pull "$K1")" 200
check_eq "b2 pulls" "$(pull "$K2")" 200
# the line is logged before the answer is sent: it is in the log once pull returns
reads() { grep -c 'bouncer cache: b1 read from the database' "$T/lapi.log"; }
r0=$(reads)
check "b1's first pull read it from the database ($r0 read)" test "$r0" -ge 1
# past the TTL, with no commit by another process: the entries are still good
t0=$(date +%s%N) codes=
while [ $(( $(date +%s%N) - t0 )) -lt 1300000000 ]; do
	codes="$codes$(pull "$K1") "
	sleep 0.2
done
check "b1 pulls for 1.3 s ($codes)" test -z "${codes//200 /}"
check_eq "b1 pulls for 1.3 s from its cached entry: database reads" "$(( $(reads) - r0 ))" 0
$CSCLI bouncers delete b1 >/dev/null 2>&1
check_eq "b1 deleted by cscli: refused at the next pull" "$(pull "$K1")" 403
$CSCLI bouncers delete b2 >/dev/null 2>&1
K3=$($CSCLI -oraw bouncers add b2 2>/dev/null)
check_eq "b2 re-added: its old key is refused" "$(pull "$K2")" 403
check_eq "b2 re-added: its new key pulls" "$(pull "$K3")" 200
summary
