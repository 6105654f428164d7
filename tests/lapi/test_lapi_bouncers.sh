#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Debian's real bouncers against our LAPI, unmodified: crowdsec-custom-bouncer
# 0.0.15 (startup + delta pulls, script called with add/del), and
# crowdsec-firewall-bouncer 0.0.25 in an isolated network namespace (root only;
# nftables set elements). Skips what is not installed.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/fw_bouncer.sh"

lapi_setup bouncers 18471 curl
if ! command -v crowdsec-custom-bouncer >/dev/null; then
	skip "crowdsec-custom-bouncer not installed (apt-get install crowdsec-custom-bouncer)" 6
	summary
	exit 0
fi
BPID=
LAPI_ON_EXIT=('[ -n "$BPID" ] && kill "$BPID" 2>/dev/null')
lapi_config "$T/config.yaml"
$CSCLI machines add m1 -p machinepassword1 2>/dev/null
KEY=$($CSCLI -oraw bouncers add custom 2>/dev/null)
lapi_start

cat >"$T/script.sh" <<EOS
#!/bin/sh
echo "\$1 \$2 \$3" >>"$T/calls.txt"
EOS
chmod +x "$T/script.sh"
cat >"$T/custom.yaml" <<EOB
bin_path: $T/script.sh
feed_via_stdin: false
total_retries: 0
scenarios_containing: []
scenarios_not_containing: []
origins: []
piddir: $T/
update_frequency: 1s
cache_retention_duration: 1s
daemonize: false
log_mode: stdout
log_dir: $T/
log_level: info
api_url: $URL/
api_key: $KEY
prometheus:
  enabled: false
EOB
$CSCLI decisions add -i 198.18.0.1 -d 1h 2>/dev/null
$CSCLI decisions add -r 2001:db8:1::/48 -d 1h 2>/dev/null
crowdsec-custom-bouncer -c "$T/custom.yaml" >"$T/bouncer.log" 2>&1 &
BPID=$!
wait_for() { for _ in $(seq 240); do grep -q "$1" "$T/calls.txt" 2>/dev/null && return 0; sleep 0.25; done; return 1; }
check "startup pull: add 198.18.0.1" wait_for '^add 198.18.0.1 3[0-9][0-9][0-9]$'
check "startup pull: add v6 range" wait_for '^add 2001:db8:1::/48 '
$CSCLI decisions add -r 198.18.1.0/24 -d 2h 2>/dev/null
check "delta pull: new range" wait_for '^add 198.18.1.0/24 7[0-9][0-9][0-9]$'
$CSCLI decisions delete -i 198.18.0.1 2>/dev/null
check "delta pull: deletion" wait_for '^del 198.18.0.1 '
check "bouncer registered its user agent" bash -c \
	"$CSCLI bouncers list -o raw | grep -q '^custom,127.0.0.1,validated,.*,crowdsec-custom-bouncer,-,api-key$'"
check "bouncer still running" kill -0 "$BPID"
kill "$BPID" 2>/dev/null
wait "$BPID" 2>/dev/null
BPID=

# firewall bouncer: root, nft and a private network namespace holding both a
# second LAPI and the bouncer, so the host's nftables are never touched.
NS=csfw$$
if [ "$(id -u)" != 0 ] || ! command -v crowdsec-firewall-bouncer >/dev/null ||
	! command -v nft >/dev/null || ! ip netns add "$NS" 2>/dev/null; then
	skip "firewall bouncer: needs root, nft, crowdsec-firewall-bouncer and netns" 3
else
	FWKEY=$($CSCLI -oraw bouncers add fw 2>/dev/null)
	fw_bouncer_config "$T/fw.yaml" "$T" "$URL/" "$FWKEY" 1s stdout true
	kill "$PID"
	wait "$PID" 2>/dev/null
	PID=
	cat >"$T/ns.sh" <<EOF3
ip link set lo up
"$CROWDSEC" -no-cs -c "$T/config.yaml" >>"$T/lapi-ns.log" 2>&1 &
L=\$!
for _ in \$(seq 50); do curl -sf "$URL/health" >/dev/null && break; sleep 0.1; done
crowdsec-firewall-bouncer -c "$T/fw.yaml" >"$T/fw.log" 2>&1 &
B=\$!
ok=0
for _ in \$(seq 60); do
	nft list ruleset 2>/dev/null | grep -q '198.18.1.0' && nft list ruleset | grep -q '2001:db8:1::' && ok=1 && break
	sleep 0.25
done
echo "elements=\$ok"
kill -0 \$B && echo "alive=1"
kill \$B; wait \$B
sleep 0.3
nft list table ip crowdsec >/dev/null 2>&1 || echo "cleaned=1"
kill \$L; wait \$L
EOF3
	ip netns exec "$NS" bash "$T/ns.sh" >"$T/ns.out" 2>&1
	ip netns del "$NS"
	check "firewall bouncer put ranges into its nftables sets" grep -q 'elements=1' "$T/ns.out"
	check "firewall bouncer stayed up" grep -q 'alive=1' "$T/ns.out"
	check "host nftables untouched" bash -c "! nft list table ip crowdsec >/dev/null 2>&1"
fi
summary
