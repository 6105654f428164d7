#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TLS client-certificate authentication (CrowdSec 1.4.6 api.server.tls): a CA, a
# server certificate and client certificates made with openssl; bouncers and agents
# authenticated by certificate alone ("<CN>@<ip>" records created on first use),
# refusals (wrong OU, unknown CA, expired, revoked, wrong auth type) that create
# nothing, client_verification modes, allowed-OU lists, and our bouncer pulling the
# stream with a client certificate (root: in its own network namespace).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup tls 18461 curl openssl $([ "${LAPI_DB:-sqlite}" = sqlite ] && echo sqlite3)
URL=https://127.0.0.1:$PORT
BPID= NS=
LAPI_ON_EXIT=('[ -n "$BPID" ] && kill "$BPID" 2>/dev/null' '[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null')

# ---- PKI -----------------------------------------------------------------------------------------
P=$T/pki
. "$(dirname "${BASH_SOURCE[0]}")/../lib/pki.sh"
if ! { pki_init "$P" && pki_ca ca && pki_ca rogue-ca &&
	pki_cert server /CN=127.0.0.1 serverAuth ca 30 subjectAltName=IP:127.0.0.1 &&
	pki_cert bouncer "/OU=bouncer-ou/CN=bouncer1" clientAuth &&
	pki_cert bouncer2 "/OU=bouncer-ou/CN=bouncer2" clientAuth &&
	pki_cert agent "/O=org/OU=agent-ou/CN=agent1" clientAuth &&
	pki_cert agent2 "/OU=agent-ou/CN=agent2" clientAuth &&
	pki_cert ops "/OU=ops/CN=opsagent" clientAuth &&
	pki_cert badou "/OU=other-ou/CN=intruder" clientAuth &&
	pki_cert rogue "/OU=bouncer-ou/CN=rogue" clientAuth rogue-ca &&
	pki_cert expired "/OU=bouncer-ou/CN=old" clientAuth ca -1 &&
	pki_cert revoked "/OU=bouncer-ou/CN=gone" clientAuth &&
	pki_cert xdp "/OU=bouncer-ou/CN=xdpbouncer" clientAuth &&
	pki_revoke revoked; }; then
	skip "openssl cannot make the test PKI" 1
	summary
	exit 0
fi

# ---- LAPI with client certificates -----------------------------------------------------------
write_config() { # FILE [extra tls lines]
	lapi_config "$1" "    tls:
      cert_file: $P/server.pem
      key_file: $P/server.key
      ca_cert_path: $P/ca.pem
      crl_path: $P/crl.pem
${2:-}"
}
write_config "$T/config.yaml" "      client_verification: VerifyClientCertIfGiven"
lapi_profiles
start_lapi() { lapi_run "$@"; } # CONFIG [netns]
stop_lapi() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=; }
start_lapi "$T/config.yaml"
wait_http "$URL/health" || { fail "LAPI did not start"; cat "$T/lapi.log" >&2; summary; exit 1; }

# req METHOD PATH [CERT|-] [curl args...]
req() {
	local m=$1 p=$2 c=${3:--}
	shift 3
	local cargs=() mflag=(-X "$m")
	[ "$c" != - ] && cargs=(--cert "$P/$c.pem" --key "$P/$c.key")
	[ "$m" = HEAD ] && mflag=(-I)
	CODE=$(curl -sg --cacert "$P/ca.pem" -o "$T/body" -w '%{http_code}' "${mflag[@]}" "${cargs[@]}" \
		-A "${UA:-crowdsec-test/v1.0}" "$URL$p" "$@")
	BODY=$(cat "$T/body" 2>/dev/null)
}
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>/dev/null; }
sql() { lapi_sql "$1"; }
nbouncers() { sql "SELECT COUNT(*) FROM bouncers"; }
nmachines() { sql "SELECT COUNT(*) FROM machines"; }
alert_json() { # VALUE
	local ts
	ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	printf '[{"capacity":5,"decisions":null,"events":[{"meta":[{"key":"source_ip","value":"%s"}],"timestamp":"%s"}],"events_count":6,"labels":null,"leakspeed":"10s","message":"test","remediation":true,"scenario":"crowdsecurity/ssh-bf","scenario_hash":"h","scenario_version":"0.1","simulated":false,"source":{"ip":"%s","scope":"Ip","value":"%s"},"start_at":"%s","stop_at":"%s"}]' \
		"$1" "$ts" "$1" "$1" "$ts" "$ts"
}

req GET /health -
check_eq "HTTPS health without a client certificate" "$CODE $BODY" '200 {"status":"up"}'

# ---- bouncer certificate, no API key --------------------------------------------------------------
req GET "/v1/decisions/stream?startup=true" bouncer
check_eq "stream with a bouncer certificate and no key" "$CODE $BODY" '200 {"deleted":null,"new":null}'
check_eq "bouncer <CN>@<ip> created, auth_type tls" \
	"$(sql "SELECT name, auth_type, ip_address, type, version FROM bouncers")" \
	"bouncer1@127.0.0.1|tls|127.0.0.1|crowdsec-test|v1.0"
req GET "/v1/decisions" bouncer
check_eq "second request with the certificate: same bouncer" "$CODE $(nbouncers)" "200 1"
req HEAD "/v1/decisions/stream" bouncer
check_eq "HEAD stream with the certificate" "$CODE" 200

# ---- agent certificate: login without a password, then JWT ---------------------------------------
req POST /v1/watchers/login agent -d '{"scenarios":["crowdsecurity/ssh-bf"]}'
TOKEN=$(printf %s "$BODY" | jq_ 'd["token"]')
check_eq "login with an agent certificate" "$CODE $(printf %s "$BODY" | jq_ 'd["code"]')" "200 200"
check_eq "machine <CN>@<ip> created: validated, auth_type tls, scenarios" \
	"$(sql "SELECT machine_id, is_validated, auth_type, ip_address, scenarios, version FROM machines")" \
	"agent1@127.0.0.1|1|tls|127.0.0.1|crowdsecurity/ssh-bf|v1.0"
req POST /v1/alerts - -H "Authorization: Bearer $TOKEN" -d "$(alert_json 198.51.100.7)"
check_eq "the certificate's token pushes an alert" "$CODE" 201
req GET /v1/heartbeat - -H "Authorization: Bearer $TOKEN"
check_eq "heartbeat with that token" "$CODE" 200
req POST /v1/watchers/login agent -d '{"scenarios":[]}'
check_eq "second certificate login: same machine" "$CODE $(nmachines)" "200 1"
check_eq "machine owns the alert" \
	"$(sql "SELECT m.machine_id FROM alerts a JOIN machines m ON a.machine_alerts = m.id")" \
	"agent1@127.0.0.1"
req GET "/v1/decisions/stream" bouncer
check_eq "the bouncer certificate sees the new decision" \
	"$CODE $(printf %s "$BODY" | jq_ '[x["value"] for x in d["new"]]')" "200 ['198.51.100.7']"
req POST /v1/watchers/login agent
check_eq "certificate login without a body: 401" "$CODE" 401

# ---- refusals: 403 and nothing created -------------------------------------------------------------
B0=$(nbouncers) M0=$(nmachines)
req GET /v1/decisions/stream badou
check_eq "wrong OU on the stream: 403" "$CODE $BODY" '403 {"message":"access forbidden"}'
req POST /v1/watchers/login badou -d '{}'
check_eq "wrong OU on login: 403" "$CODE $BODY" '403 {"message":"access forbidden"}'
req GET /v1/decisions/stream agent
check_eq "agent certificate on a bouncer route: 403" "$CODE" 403
req POST /v1/watchers/login bouncer -d '{}'
check_eq "bouncer certificate on login: 403" "$CODE" 403
req GET /v1/decisions/stream rogue
check_eq "certificate from an unknown CA: 403" "$CODE $BODY" '403 {"message":"access forbidden"}'
req POST /v1/watchers/login rogue -d '{}'
check_eq "unknown CA on login: 403" "$CODE" 403
req GET /v1/decisions/stream expired
check_eq "expired certificate: 403" "$CODE $BODY" '403 {"message":"access forbidden"}'
req GET /v1/decisions/stream revoked
check_eq "revoked certificate (crl_path): 403" "$CODE $BODY" '403 {"message":"access forbidden"}'
check_eq "refusals created no bouncer and no machine" "$(nbouncers) $(nmachines)" "$B0 $M0"
check "refusals logged with the reason" grep -q "doesn't match expected OU" "$T/lapi.log"

# ---- API keys and passwords still work; a certificate cannot take over their records -------------
KEY=$($CSCLI -oraw bouncers add keyed 2>/dev/null)
req GET /v1/decisions - -H "X-Api-Key: $KEY"
check_eq "API key without a certificate" "$CODE" 200
req GET /v1/decisions badou -H "X-Api-Key: $KEY"
check_eq "a presented certificate wins over the API key (1.4.6)" "$CODE" 403
sql "UPDATE bouncers SET api_key = (SELECT api_key FROM bouncers WHERE name = 'keyed') WHERE name = 'bouncer1@127.0.0.1'; DELETE FROM bouncers WHERE name = 'keyed'"
# a replica's cached bouncers follow a database edit within ~100 ms (bouncer_cache.c)
for _ in $(seq 100); do req GET /v1/decisions - -H "X-Api-Key: $KEY"; [ "$CODE" = 403 ] && break; sleep 0.1; done
check_eq "the key of a TLS bouncer is refused" "$CODE" 403
$CSCLI bouncers add bouncer2@127.0.0.1 >/dev/null 2>&1
req GET /v1/decisions bouncer2
check_eq "certificate for an API-key bouncer of that name: 403" "$CODE" 403
$CSCLI machines add m1 -p machinepassword1 >/dev/null 2>&1
req POST /v1/watchers/login - -d '{"machine_id":"m1","password":"machinepassword1"}'
check_eq "password login without a certificate" "$CODE" 200
$CSCLI machines add agent2@127.0.0.1 -p machinepassword2 >/dev/null 2>&1
req POST /v1/watchers/login agent2 -d '{}'
check_eq "certificate for a password machine: 401" "$CODE $(printf %s "$BODY" | jq_ 'd["message"]')" \
	"401 machine agent2@127.0.0.1 attempted to auth with TLS cert but it is configured to use password"
req POST /v1/watchers/login - -d '{"machine_id":"agent1@127.0.0.1","password":"x"}'
check_eq "password login on a TLS machine: 401" "$CODE" 401

# ---- RequireAndVerifyClientCert, custom allowed OUs ----------------------------------------------
stop_lapi
write_config "$T/req.yaml" "      client_verification: RequireAndVerifyClientCert
      agents_allowed_ou: [ops, other-ops]
      bouncers_allowed_ou:
        - bouncer-ou"
start_lapi "$T/req.yaml"
for _ in $(seq 50); do curl -s --cacert "$P/ca.pem" --cert "$P/bouncer.pem" --key "$P/bouncer.key" \
	"$URL/health" >/dev/null && break; sleep 0.1; done
req GET /health -
check_eq "RequireAndVerifyClientCert: no certificate, no answer" "$CODE" 000
req GET /v1/decisions bouncer
check_eq "RequireAndVerifyClientCert: bouncer certificate" "$CODE" 200
req POST /v1/watchers/login agent -d '{}'
check_eq "agent-ou no longer allowed for agents" "$CODE" 403
req POST /v1/watchers/login ops -d '{}'
check_eq "OU from agents_allowed_ou" "$CODE $(sql "SELECT auth_type FROM machines WHERE machine_id = 'opsagent@127.0.0.1'")" "200 tls"

# ---- NoClientCert: certificates are not asked for ---------------------------------------------------
stop_lapi
write_config "$T/nocert.yaml" "      client_verification: NoClientCert"
start_lapi "$T/nocert.yaml"
wait_http "$URL/health"
req GET /v1/decisions bouncer
check_eq "NoClientCert: a certificate alone is not enough" "$CODE" 403
stop_lapi
write_config "$T/badmode.yaml" "      client_verification: MaybeClientCert"
"$CROWDSEC" -no-cs -c "$T/badmode.yaml" >"$T/badmode.log" 2>&1
check_eq "unknown client_verification refused at start" "$?:$(grep -c "unknown TLS client_verification value: MaybeClientCert" "$T/badmode.log")" "1:1"

# ---- our bouncer with a client certificate (root: LAPI and bouncer in a private netns) -------------
B=$BUILD/crowdsec-xdp-bouncer
if [ "$(id -u)" != 0 ] || [ ! -x "$B" ] || ! command -v nft >/dev/null; then
	skip "crowdsec-xdp-bouncer with a client certificate: needs root, nft and the bouncer" 4
elif ! ip netns add "cstls$$" 2>/dev/null; then
	skip "crowdsec-xdp-bouncer with a client certificate: no network namespaces" 4
else
	NS=cstls$$
	ip -n "$NS" link set lo up
	chmod 755 "$T" "$P"
	chmod 644 "$P"/*.key
	start_lapi "$T/config.yaml" "$NS"
	for _ in $(seq 50); do
		nsenter --net=/run/netns/$NS curl -s --cacert "$P/ca.pem" "$URL/health" >/dev/null && break
		sleep 0.1
	done
	cat >"$T/bouncer.yaml" <<EOB
api_url: $URL/
cert_path: $P/xdp.pem
key_path: $P/xdp.key
ca_cert_path: $P/ca.pem
update_frequency: 200ms
mode: nftables
interfaces: [lo]
log_level: info
nftables:
  table_ipv4: cstls4
  table_ipv6: cstls6
prometheus:
  enabled: false
EOB
	nsenter --net=/run/netns/$NS "$B" -c "$T/bouncer.yaml" >>"$T/bouncer.log" 2>&1 &
	BPID=$!
	for _ in $(seq 100); do
		grep -qs "startup pull applied\|LAPI pull failed" "$T/bouncer.log" && break
		sleep 0.1
	done
	check "bouncer: startup pull with its certificate" grep -q "startup pull applied" "$T/bouncer.log"
	check_eq "bouncer record xdpbouncer@127.0.0.1 (tls, our user agent)" \
		"$(sql "SELECT auth_type, type FROM bouncers WHERE name = 'xdpbouncer@127.0.0.1'")" \
		"tls|crowdsec-xdp-bouncer"
	check "bouncer: the decision is in its nftables set" bash -c \
		"for _ in \$(seq 50); do nsenter --net=/run/netns/$NS nft list table ip cstls4 2>/dev/null | grep -q 198.51.100.7 && exit 0; sleep 0.1; done; exit 1"
	kill "$BPID"
	wait "$BPID"
	check_eq "bouncer: clean stop" "$?" 0
	BPID=
	stop_lapi
fi
[ -n "${LAPI_TEST_VERBOSE:-}" ] && cat "$T/lapi.log" "$T/bouncer.log" 2>/dev/null >&2
summary
