#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The LAPI's per-connection memory (server.c, LAPI_CONN_MEMORY) bounds a request's
# line and headers: a ~6 KiB header (a long token or cookie behind a proxy) still gets
# its normal answer, a 9 KiB one gets 431 (Request Header Fields Too Large), not a
# dropped connection or a crash, and the LAPI keeps answering.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup hdrsize 19400 curl
lapi_config "$T/config.yaml"
KEY=$($CSCLI -oraw bouncers add hb 2>/dev/null)
check "LAPI starts" lapi_start
pad() { head -c "$1" /dev/zero | tr '\0' a; }
pull() { curl -s -o /dev/null -w '%{http_code}' --max-time 20 -H "X-Api-Key: $KEY" \
	${1:+-H "X-Pad: $(pad "$1")"} "$URL/v1/decisions/stream?startup=true"; }
check_eq "a pull without padding" "$(pull '')" 200
check_eq "a 6 KiB header: the normal answer" "$(pull 6144)" 200
check_eq "a 9 KiB header: 431" "$(pull 9216)" 431
check_eq "and the next pull is answered" "$(pull '')" 200
summary
