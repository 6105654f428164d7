#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Debian's CrowdSec 1.4.6, unmodified, as a member of our crowd: its
# online_api_credentials.yaml points at crowdsec-central. `cscli capi status`
# logs in; the daemon (LAPI + agent) pulls the community blocklist at start
# (a listing our consensus made from three other reporters) and stores it as
# origin CAPI decisions; it pushes the signal of an attack it detects itself
# (first push after 30 +/- 15 s, as 1.4.6 schedules it) and sends its metrics.
# 1.4.6's `cscli capi register` has the CAPI URL built in, so the registration
# is the same POST /v2/watchers it sends, made here with curl.
set -u
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lapi/lapi_lib.sh"
. "$(dirname "$0")/central_lib.sh"
BUILD=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}

MKCONF=$SHARED_DIR/bench/peers/mkconf.sh
if [ ! -x /usr/bin/crowdsec ] || [ ! -x /usr/bin/cscli ] || [ ! -r "$MKCONF" ] ||
	[ ! -d /etc/crowdsec/scenarios ] || ! command -v sqlite3 >/dev/null; then
	skip "Debian crowdsec 1.4.6, its hub, sqlite3 or $MKCONF missing" 1
	summary
	exit 0
fi
central_setup cs146 18750
check "central starts" central_start
ADMIN="$CENTRAL -c $T/central.yaml"

# the listing the member should receive: three reporters, three networks
X=198.18.60.6
list_by_consensus $X
check "consensus listed $X" sh -c "$ADMIN explain $X | grep -q 'is listed'"

# the member: 1.4.6's own configuration, LAPI on a free port
LPORT=$(free_port 18800)
C=$T/conf/etc
sh "$MKCONF" "$T/conf" "$LPORT" >/dev/null 2>&1
check "1.4.6 configuration made" test -s "$C/local_api_credentials.yaml"
LOGIN=$(head -c 4000 /dev/urandom | tr -dc 'a-z0-9' | head -c 48)
creq POST /v2/watchers 4 -d "{\"machine_id\":\"$LOGIN\",\"password\":\"member-password\"}"
check_eq "member registered (POST /v2/watchers)" "$CODE" 200
printf 'url: %s/\nlogin: %s\npassword: member-password\n' "$CU" "$LOGIN" >"$C/online_api_credentials.yaml"
python3 - "$C/config.yaml" "$C/online_api_credentials.yaml" "$T/auth.log" <<'PY'
import sys
p, cred, log = sys.argv[1:]
s = open(p).read()
s = s.replace("  server:\n", "  server:\n    online_client:\n      credentials_path: %s\n" % cred, 1)
s = s[:s.index("prometheus:")] + "prometheus:\n  enabled: false\n"
open(p, "w").write(s)
open(p.replace("config.yaml", "acquis.yaml"), "w").write(
    "filenames:\n  - %s\nlabels:\n  type: syslog\n" % log)
PY
: >"$T/auth.log"

/usr/bin/cscli -c "$C/config.yaml" capi status >"$T/capi-status.out" 2>&1
check "1.4.6 cscli capi status logs in to our server" \
	grep -q "successfully interact with Central API" "$T/capi-status.out"

/usr/bin/crowdsec -c "$C/config.yaml" >"$T/crowdsec146.out" 2>&1 &
MPID=$!
CENTRAL_ON_EXIT+=("kill $MPID 2>/dev/null")
DB=$T/conf/data/crowdsec.db
capi_count() { sqlite3 "$DB" "SELECT COUNT(*) FROM decisions WHERE origin='CAPI' AND value='$X'" 2>/dev/null; }
for _ in $(seq 300); do [ "$(capi_count)" = 1 ] && break; sleep 0.2; done
check_eq "1.4.6 pulled the blocklist at start: $X as a CAPI decision" "$(capi_count)" 1

# an attack the member detects itself: its signal is pushed to us
A=198.18.61.7
wait_http "http://127.0.0.1:$LPORT/health"
for _ in $(seq 50); do grep -q 'Starting processing data' "$T/crowdsec146.out" "$T/conf/log/"* 2>/dev/null && break; sleep 0.2; done
attack() {
	local now i
	now=$(date +%s)
	for i in $(seq 12); do
		printf '%s vm sshd[1234]: Failed password for invalid user admin from %s port %d ssh2\n' \
			"$(date -d "@$((now - 12 + i))" '+%b %e %H:%M:%S')" "$A" $((40000 + i))
	done >>"$T/auth.log"
}
# the file acquisition tails from the end once it is set up: attack until it sees it
for _ in $(seq 20); do
	attack
	for _ in $(seq 10); do
		[ "$(sqlite3 "$DB" "SELECT COUNT(*) FROM alerts WHERE source_ip='$A'" 2>/dev/null)" -gt 0 ] 2>/dev/null && break 2
		sleep 0.1
	done
done
check "1.4.6 detected the attack on $A" test "$(sqlite3 "$DB" "SELECT COUNT(*) FROM alerts WHERE source_ip='$A'")" -gt 0
for _ in $(seq 450); do $ADMIN explain $A 2>/dev/null | grep -q "$LOGIN" && break; sleep 0.2; done
check "1.4.6 pushed its signal for $A (within 90 s)" sh -c "$ADMIN explain $A | grep -q '$LOGIN'"
for _ in $(seq 300); do grep -q "metrics from $LOGIN" "$T/central.log" && break; sleep 0.2; done
check "1.4.6 sent its metrics" grep -q "metrics from $LOGIN" "$T/central.log"
check "no request of 1.4.6 was refused" sh -c "! grep -E 'level=(error|fatal).*(capi|CAPI|Central API)' $T/conf/log/crowdsec.log"
summary
