#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Our LAPI as a member of a crowd: api.server.online_client in config.yaml,
# `cscli capi register --url` / `cscli capi status`, signals of non-simulated,
# untainted alerts pushed in batches, the blocklist pulled (startup, then
# deltas) into origin CAPI decisions that the bouncers' stream carries, and a
# central that is down changes nothing locally (queued signals arrive later).
# Intervals are shortened here (push 1 s, pull 2 s; defaults 10 s and 1 min).
set -u
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lapi/lapi_lib.sh"
. "$(dirname "$0")/central_lib.sh"
BUILD=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}

lapi_setup member 18850 sqlite3
CENTRAL=$BUILD/crowdsec-central
CPORT=$(free_port 18900)
CU=http://127.0.0.1:$CPORT
CPID=
LAPI_ON_EXIT+=('[ -n "$CPID" ] && kill $CPID 2>/dev/null')
check "central starts" central_start
ADMIN="$CENTRAL -c $T/central.yaml"

lapi_profiles
lapi_config "$T/config.yaml" "    online_client:
      credentials_path: $T/online_api_credentials.yaml
      push_interval: 1s
      pull_interval: 2s"
printf 'config_paths:\n  config_dir: %s/etc/\n  hub_dir: %s/\n' "$T" "$HUB" >>"$T/config.yaml"
mkdir -p "$T/etc/scenarios"
printf 'type: leaky\nname: crowdsecurity/ssh-bf\nfilter: "true"\n' >"$T/etc/scenarios/ssh-bf.yaml"

check "cscli capi register --url" $CSCLI capi register --url "$CU/"
check "credentials written" grep -q "^url: $CU/" "$T/online_api_credentials.yaml"
LOGIN=$(sed -n 's/^login: //p' "$T/online_api_credentials.yaml")
check_eq "a 48-character login" "${#LOGIN}" 48
check "cscli capi status" sh -c "$CSCLI capi status 2>&1 | grep -q 'successfully interact with Central API'"

# a listing the crowd made before the member starts
X=198.18.70.7
list_by_consensus $X

check "cscli machines add" $CSCLI machines add m1 -p machinepassword1 -f "$T/local_api_credentials.yaml"
KEY=$($CSCLI -oraw bouncers add b1 2>/dev/null)
check "LAPI (member) starts" lapi_start
stream() { curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions/stream$1"; }
has() { # STREAM_JSON IP new|deleted
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]) or {}
sys.exit(0 if any(x["value"]==sys.argv[2] and x["origin"]=="CAPI" for x in (d.get(sys.argv[3]) or [])) else 1)' "$1" "$2" "$3"
}
for _ in $(seq 300); do has "$(stream '?startup=true')" $X new && break; sleep 0.1; done
check "startup pull: $X reaches the bouncer as a CAPI decision" has "$(stream '?startup=true')" $X new
stream '?startup=true' >/dev/null # the bouncer is now in sync

# signals: one shared alert, one simulated, one tainted
MTOKEN=$(lapi_token m1)
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
alert() { # IP SIMULATED VERSION [HASH]
	printf '{"capacity":5,"decisions":null,"events":[],"events_count":6,"leakspeed":"10s","message":"secret log line","remediation":true,"scenario":"crowdsecurity/ssh-bf","scenario_hash":"%s","scenario_version":"%s","simulated":%s,"source":{"ip":"%s","scope":"Ip","value":"%s"},"start_at":"%s","stop_at":"%s"}' \
		"${4:-h}" "$3" "$2" "$1" "$1" "$now" "$now"
}
A=198.18.71.1 B=198.18.71.2 C=198.18.71.3
req POST /v1/alerts -H "Authorization: Bearer $MTOKEN" -d "[$(alert $B true 0.1),$(alert $C false '?'),$(alert $A false 0.1)]"
check_eq "alerts stored locally" "$CODE" 201
for _ in $(seq 300); do $ADMIN explain $A | grep -q "$LOGIN" && break; sleep 0.1; done
check "the shared alert's signal reached the central" sh -c "$ADMIN explain $A | grep -q '$LOGIN'"
check "a simulated alert is not shared" sh -c "$ADMIN explain $B | grep -q 'window: 0 reporter'"
check "a tainted scenario is not shared" sh -c "$ADMIN explain $C | grep -q 'window: 0 reporter'"

# our detector stamps the file's digest, not the version: the hub index gives it
DIGEST=$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["scenarios"]["crowdsecurity/ssh-bf"]["versions"]; print(v[sorted(v)[-1]]["digest"])' "$HUB/.index.json" 2>/dev/null)
if [ -n "$DIGEST" ]; then
	E=198.18.71.4 F=198.18.71.5
	req POST /v1/alerts -H "Authorization: Bearer $MTOKEN" -d "[$(alert $F false '' 0000),$(alert $E false '' "$DIGEST")]"
	for _ in $(seq 300); do $ADMIN explain $E | grep -q "$LOGIN" && break; sleep 0.1; done
	check "a hub scenario without a version: versioned from the hub index, shared" \
		sh -c "$ADMIN explain $E | grep -q '$LOGIN'"
	check "a modified (unknown digest) scenario is not shared" \
		sh -c "$ADMIN explain $F | grep -q 'window: 0 reporter'"
else
	skip "no hub index at $HUB" 2
fi

# deltas: a new listing arrives, a listing that ends is deleted
Y=198.18.72.2
list_by_consensus $Y
check "central: X on the safe list now" $ADMIN safe add 198.18.70.0/24 "test"
got_new= got_del=
for _ in $(seq 300); do
	s=$(stream '')
	has "$s" $Y new && got_new=1
	has "$s" $X deleted && got_del=1
	[ -n "$got_new" ] && [ -n "$got_del" ] && break
	sleep 0.1
done
check "delta pull: $Y added for the bouncer" [ -n "$got_new" ]
check "delta pull: $X deleted for the bouncer" [ -n "$got_del" ]

# the central goes away: nothing changes locally, signals wait
kill "$CPID"; wait "$CPID" 2>/dev/null; CPID=
D=198.18.73.3
req POST /v1/alerts -H "Authorization: Bearer $MTOKEN" -d "[$(alert $D false 0.1)]"
check_eq "alerts still stored with the central down" "$CODE" 201
for _ in $(seq 300); do grep -q 'capi: .*retrying' "$T/lapi.log" && break; sleep 0.1; done
check "the member saw the central down" grep -q 'capi: .*retrying' "$T/lapi.log"
check "CAPI decisions kept with the central down" has "$(stream '?startup=true')" $Y new
"$CENTRAL" -c "$T/central.yaml" >>"$T/central.log" 2>&1 &
CPID=$!
for _ in $(seq 300); do $ADMIN explain $D 2>/dev/null | grep -q "$LOGIN" && break; sleep 0.1; done
check "the signal queued while it was down arrives when it is back" sh -c "$ADMIN explain $D | grep -q '$LOGIN'"
check "no log line leaves the member" sh -c "! sqlite3 $T/central.db .dump | grep -q 'secret log line'"
summary
