#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Slow-connection denial of service (issue 12 item 5): idle half-sent requests from
# many loopback source addresses fill more than the LAPI's connection limit, and a
# bouncer that authenticated before still pulls its decisions (the reserve), while
# a connection that never finishes its request headers is cut (header deadline).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup slow 18861 curl python3
APID=
LAPI_ON_EXIT=('[ -n "$APID" ] && kill "$APID" 2>/dev/null')
lapi_config "$T/config.yaml" "    max_connections: 120"
KEY=$($CSCLI -oraw bouncers add b1 2>/dev/null)
check "LAPI starts" lapi_start
pull() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "X-Api-Key: $KEY" "$URL/v1/decisions/stream?startup=true"; }
check_eq "bouncer pull before the attack" "$(pull)" 200
# a second process cannot bind the same port (no SO_REUSEPORT: it would get a share
# of the connections, credentials included)
sed "s|$T/crowdsec.db|$T/other.db|" "$T/config.yaml" >"$T/other.yaml"
timeout 10 "$CROWDSEC" -no-cs -c "$T/other.yaml" >>"$T/lapi.log" 2>&1
check "a second LAPI on the same port fails to start" test $? != 0 -a $? != 124

# The attacker: 300 connections (the limit is 120) from 127.0.0.2-9, each a request
# cut before the end of its headers, reopened as soon as the LAPI drops one; for at
# most 40 s or until told to stop. The LAPI refuses the excess at once, so on a quiet
# machine the refused ones reopen tens of thousands of times a second: the count
# bound is high enough that the attack outlives the checks.
cat >"$T/attack.py" <<'EOPY'
import os, selectors, socket, sys, time
port, n, stop_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sel = selectors.DefaultSelector()
opened = 0
def open_one(i):
    global opened
    s = socket.socket()
    s.setblocking(False)
    try:
        s.bind(("127.0.0.%d" % (2 + i % 8), 0))
        s.connect_ex(("127.0.0.1", port))
    except OSError:
        s.close()
        return
    sel.register(s, selectors.EVENT_WRITE, i)
    opened += 1
for i in range(n):
    open_one(i)
end = time.time() + 40
while time.time() < end and not os.path.exists(stop_file) and opened < 5000000:
    for key, ev in sel.select(timeout=0.2):
        s, i = key.fileobj, key.data
        if ev & selectors.EVENT_WRITE:
            try:
                s.send(b"GET /v1/decisions/stream HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                sel.modify(s, selectors.EVENT_READ, i)
                continue
            except OSError:
                pass
        else:
            try:
                if s.recv(4096):
                    continue
            except OSError:
                pass
        sel.unregister(s)
        s.close()
        open_one(i)
print(opened)
EOPY
python3 "$T/attack.py" "$PORT" 300 "$T/stop" >"$T/attack.out" 2>&1 &
APID=$!
# wait until the attack holds the table: 90 connections (120 less the reserve)
for _ in $(seq 200); do
	[ "$(ss -Htn state established "( dport = :$PORT )" 2>/dev/null | wc -l)" -ge 90 ] && break
	sleep 0.05
done
codes=
for _ in 1 2 3; do
	codes="$codes $(pull)"
done
check_eq "bouncer pulls during the attack (300 half-sent requests, limit 120)" "$codes" " 200 200 200"
check_eq "an unknown client is not given the reserve" \
	"$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 --interface 127.0.0.20 "$URL/health")" 000
check "the attack was still running during the checks" kill -0 "$APID"
touch "$T/stop"
wait "$APID" 2>/dev/null
APID=
check "attacker connections were cut and reopened (header deadline)" \
	test "$(cat "$T/attack.out" 2>/dev/null || echo 0)" -gt 300
# one connection that trickles a header byte a second is cut after the deadline
python3 - "$PORT" >"$T/trickle.out" 2>&1 <<'EOPY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.send(b"GET /health HTTP/1.1\r\nHost: x\r\n")
t0 = time.time()
while time.time() - t0 < 25:
    try:
        s.send(b"X")
        s.settimeout(1)
        if s.recv(100) == b"":
            break
    except socket.timeout:
        continue
    except OSError:
        break
print(int(time.time() - t0))
EOPY
t=$(cat "$T/trickle.out")
check "a request trickling its headers is cut within the deadline (${t}s)" test "${t:-99}" -lt 20
check_eq "bouncer pull after the attack" "$(pull)" 200
summary
