#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An agent on another host: crowdsec -no-api in its own network namespace pushes
# to a LAPI in another one over TLS, authenticated by a client certificate alone.
# While the LAPI is down the agent keeps its alerts in the outbox on disk, keeps
# them across its own restart, and delivers each exactly once when the LAPI is
# back; a batch whose acknowledgement is lost on the way is stored once too.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lapi/lapi_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/pki.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root for network namespaces" 1
lapi_setup remote 18720 curl sqlite3 openssl ip python3
need_hub
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NL=csrl$$ NA=csra$$ APID= XPID=
LIP=198.18.61.1 AIP=198.18.61.2
LAPI_ON_EXIT+=('[ -n "$APID" ] && kill "$APID" 2>/dev/null' '[ -n "$XPID" ] && kill "$XPID" 2>/dev/null'
	"ip netns del $NL 2>/dev/null" "ip netns del $NA 2>/dev/null")
ip netns add $NL && ip netns add $NA &&
	ip link add rl$$ netns $NL type veth peer name ra$$ netns $NA &&
	ip -n $NL addr add $LIP/24 dev rl$$ && ip -n $NA addr add $AIP/24 dev ra$$ &&
	ip -n $NL link set rl$$ up && ip -n $NA link set ra$$ up &&
	ip -n $NL link set lo up && ip -n $NA link set lo up ||
	{ fail "network namespaces"; summary; exit 1; }

pki_init "$T/pki" && pki_ca ca &&
	pki_cert server /CN=$LIP serverAuth ca 30 subjectAltName=IP:$LIP &&
	pki_cert edge "/OU=agent-ou/CN=edge1" clientAuth ||
	skip_all "openssl cannot make the test PKI" 1

# ---- the LAPI host --------------------------------------------------------------------------------
URL=https://$LIP:$PORT
lapi_config "$T/config.yaml" "    tls:
      cert_file: $PKI/server.pem
      key_file: $PKI/server.key
      ca_cert_path: $PKI/ca.pem
      client_verification: VerifyClientCertIfGiven
      agents_allowed_ou: [agent-ou]"
sed -i "s|listen_uri: .*|listen_uri: $LIP:$PORT|" "$T/config.yaml"
lapi_profiles
health() { ip netns exec $NL curl -sf --cacert "$PKI/ca.pem" "$URL/health" >/dev/null 2>&1; }
start_lapi() { lapi_run "$T/config.yaml" $NL && wait_until 20 health; }
stop_lapi() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=; }
start_lapi || { fail "LAPI did not start"; cat "$T/lapi.log" >&2; summary; exit 1; }
nalerts() { sqlite3 "$T/crowdsec.db" "SELECT COUNT(*) FROM alerts WHERE source_value = '$1'" 2>/dev/null; }
has_alerts() { [ "$(nalerts "$1")" -ge "${2:-1}" ] 2>/dev/null; }

# ---- the agent host: ssh-bf over a live sshd log, credentials = a client certificate ---------------
A=$T/agent
mkdir -p "$A/data"
cs_etc "$A" parsers/s00-raw/crowdsecurity/syslog-logs.yaml parsers/s01-parse/crowdsecurity/sshd-logs.yaml \
	parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml "$ROOT/scenarios/crowdsec-xdp/ssh-bf.yaml"
cs_config "$A" "$A/data" 127.0.0.1:0 info "crowdsec_service:
  acquisition_path: $A/acquis.yaml"
printf 'filenames:\n  - %s\nlabels:\n  type: syslog\n' "$T/ssh.log" >"$A/acquis.yaml"
: >"$T/ssh.log"
creds() { # URL
	printf 'url: %s/\nca_cert_path: %s\ncert_path: %s\nkey_path: %s\n' "$1" "$PKI/ca.pem" \
		"$PKI/edge.pem" "$PKI/edge.key" >"$A/local_api_credentials.yaml"
}
creds "$URL"
ready_after() { [ "$(grep -c "detector ready" "$T/agent.log" 2>/dev/null)" -gt "$1" ]; }
# the file source starts at the end of the log, so attacks wait until it is open
start_agent() {
	local before
	before=$(grep -c "detector ready" "$T/agent.log" 2>/dev/null)
	ip netns exec $NA "$CROWDSEC" -c "$A/config.yaml" -no-api >>"$T/agent.log" 2>&1 &
	APID=$!
	wait_until 30 ready_after "${before:-0}"
}
stop_agent() { kill "$APID" 2>/dev/null; wait "$APID" 2>/dev/null; APID=; }
attack() { # IP: a brute force written now
	local i
	for i in $(seq 8); do
		printf '%s edge sshd[99]: Failed password for invalid user admin from %s port %d ssh2\n' \
			"$(date '+%b %e %H:%M:%S')" "$1" $((40000 + i))
	done >>"$T/ssh.log"
}
spooled() { ls "$A/data/agent-outbox/"*.json >/dev/null 2>&1; }
start_agent

attack 198.18.77.1
check "TLS agent: alert delivered" wait_until 60 has_alerts 198.18.77.1
check_eq "TLS agent: the machine is the certificate's" \
	"$(sqlite3 "$T/crowdsec.db" "SELECT m.machine_id FROM alerts a JOIN machines m ON m.id = a.machine_alerts WHERE a.source_value = '198.18.77.1'")" \
	"edge1@$AIP"
check "TLS agent: nothing left in the outbox" wait_until 10 bash -c "! ls '$A/data/agent-outbox/'*.json >/dev/null 2>&1"

# ---- the LAPI goes away; the agent keeps the alert on disk, even across its own restart ------------
stop_lapi
attack 198.18.77.2
check "LAPI down: the alert waits in the spool" wait_until 60 spooled
check "LAPI down: the agent retries" wait_until 30 grep -q "Couldn't connect\|Could not connect\|Connection refused" "$T/agent.log"
stop_agent
check "agent stopped: the alert is still spooled" spooled
start_agent
check "agent restarted: it says it found the spooled batch" \
	wait_until 30 grep -q "from an earlier run to deliver" "$T/agent.log"
start_lapi || fail "LAPI did not restart"
check "LAPI back: the spooled alert is delivered" wait_until 60 has_alerts 198.18.77.2
check "LAPI back: the spool empties" wait_until 20 bash -c "! ls '$A/data/agent-outbox/'*.json >/dev/null 2>&1"
check_eq "LAPI back: stored exactly once" "$(nalerts 198.18.77.2)" 1

# ---- an acknowledgement lost on the way: the batch is sent again, stored once ---------------------
# A proxy in the agent's namespace forwards the first POST /v1/alerts to the LAPI
# and then cuts the connection before the answer reaches the agent.
XPORT=$((PORT + 1))
cat >"$T/proxy.py" <<'EOP'
import socket, ssl, sys, threading
lport, host, port, ca, cert, key, marker, pcert, pkey, lhost = sys.argv[1:11]
srv = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
srv.load_cert_chain(pcert, pkey)
cli = ssl.create_default_context(cafile=ca)
cli.load_cert_chain(cert, key)
cli.check_hostname = False
cut = [False]
def read_msg(f):
    """one HTTP message (head + Content-Length body) from a file object, or None"""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = f.readline(65536)
        if not line:
            return None
        head += line
    n = 0
    for h in head.split(b"\r\n"):
        if h.lower().startswith(b"content-length:"):
            n = int(h.split(b":", 1)[1])
    return head + (f.read(n) if n else b"")
def handle(c):
    try:
        c = srv.wrap_socket(c, server_side=True)
        cf = c.makefile("rb")
        u = cli.wrap_socket(socket.create_connection((host, int(port)), timeout=20))
        uf = u.makefile("rb")
        while True:
            req = read_msg(cf)
            if req is None:
                break
            u.sendall(req)
            resp = read_msg(uf)
            if resp is None:
                break
            if req.startswith(b"POST /v1/alerts") and not cut[0]:
                cut[0] = True  # stored by the LAPI; the agent never hears it
                open(marker, "w").write("cut\n")
                break
            c.sendall(resp)
    except (OSError, ValueError):
        pass
    finally:
        c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((lhost, int(lport)))
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
EOP
pki_cert proxy /CN=$AIP serverAuth ca 30 subjectAltName=IP:$AIP || fail "proxy certificate"
ip netns exec $NA python3 "$T/proxy.py" $XPORT $LIP $PORT "$PKI/ca.pem" "$PKI/edge.pem" "$PKI/edge.key" \
	"$T/cut" "$PKI/proxy.pem" "$PKI/proxy.key" $AIP >"$T/proxy.log" 2>&1 &
XPID=$!
stop_agent
creds "https://$AIP:$XPORT"
start_agent
attack 198.18.77.3
check "lost acknowledgement: the proxy cut one answer" wait_until 60 test -s "$T/cut"
check "lost acknowledgement: the alert is stored" wait_until 60 has_alerts 198.18.77.3
check "lost acknowledgement: the agent sends it again until acknowledged" \
	wait_until 30 bash -c "! ls '$A/data/agent-outbox/'*.json >/dev/null 2>&1"
check_eq "lost acknowledgement: stored exactly once" "$(nalerts 198.18.77.3)" 1
stop_agent
summary
