#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the log-injection corpus of test_log_injection.sh: sshd (syslog) and nginx
access lines in which attackers put hostile bytes where a log keeps what they send
(fail2ban CVE-2013-7176/7177, CVE-2021-32749 style): another address after
"from", a fake line past the 64 KiB cut, NUL bytes, ANSI/OSC escapes, invalid UTF-8.

usage: logs_injection.py DIR   -> DIR/auth.log, DIR/access.log, DIR/expect
DIR/expect lists "attacker IP" (must be alerted and decided) and "innocent IP"
(named in hostile text only: must never get an alert or a decision)."""
import os
import sys

out = sys.argv[1]
auth, access, expect = [], [], []
t = [0]


def bsd():
    t[0] += 1
    return b"Dec  4 10:%02d:%02d" % (t[0] // 60 % 60, t[0] % 60)


def clf():
    t[0] += 1
    return b"04/Dec/2024:10:%02d:%02d +0000" % (t[0] // 60 % 60, t[0] % 60)


def ssh(msg):
    auth.append(bsd() + b" bastion sshd[%d]: " % (1000 + len(auth)) + msg)


def web(ip, request, ua=b"Mozilla/5.0", status=b"404"):
    access.append(ip + b" - - [" + clf() + b'] "GET ' + request + b' HTTP/1.1" ' + status +
                  b' 153 "-" "' + ua + b'"')


def fake_ssh(ip):	# a complete, valid-looking failed login of `ip`
    return bsd() + b" bastion sshd[1]: Failed password for root from " + ip + b" port 22 ssh2"


# 1. fail2ban CVE-2013-7176: a user name that reads "from <other address>".
#    OpenSSH logs the name as sent (control bytes escaped, spaces kept).
A1, V1 = b"198.18.0.50", b"198.18.0.1"
for i in range(8):
    ssh(b"Failed password for invalid user x from " + V1 + b" port 22 ssh2 from " + A1 +
        b" port %d ssh2" % (40000 + i))
    ssh(b"Invalid user y from " + V1 + b" from " + A1 + b" port %d" % (41000 + i))
# The hub's sshd patterns (SSHD_USER_FAIL, SSHD_INVALID_USER) are not anchored: a
# regex finds "x from 198.18.0.1 port 22 ssh2" inside the user name first, in
# CrowdSec (Go regexp) as here; our local parser (config/parsers) takes the
# address from the end of the line.
expect += [b"innocent " + V1, b"attacker " + A1]

# 2. a line longer than the 64 KiB cut whose tail is a whole fake line: the cut
#    drops the rest of the line, it never becomes a line of its own
A2, V2 = b"198.18.0.51", b"198.18.0.2"
for i in range(8):
    ssh(b"Failed password for invalid user admin from " + A2 + b" port %d ssh2 " % (42000 + i) +
        b"A" * (64 * 1024 - 40) + fake_ssh(V2) + b" " + fake_ssh(V2))
    ssh(b"Failed password for invalid user admin from " + A2 + b" port %d ssh2" % (43000 + i))
expect += [b"innocent " + V2, b"attacker " + A2]

# 3. NUL bytes: nothing after a NUL may be taken for the start of a line, and a
#    NUL must not end the line early for the real address either
A3, V3 = b"198.18.0.52", b"198.18.0.3"
for i in range(8):
    ssh(b"Failed password for invalid user a\x00b from " + V3 + b" port 22 ssh2\x00" + fake_ssh(V3))
    ssh(b"Failed password for invalid user root from " + A3 + b" port %d ssh2\x00" % (44000 + i) +
        fake_ssh(V3))
expect += [b"innocent " + V3, b"attacker " + A3]

# 4. terminal escapes and invalid UTF-8 in what the alert carries (user agent,
#    path, user name): the alert must still be stored, decided, never dropped
A4 = b"198.18.0.60"
for i in range(40):
    web(A4, b"/admin%d.php?q=\xff\xfe\x1b]0;owned\x07" % i,
        ua=b"sqlmap/1.0\xff \x1b[31mred\x1b[0m \xc3\x28 \xed\xa0\x80")
expect += [b"attacker " + A4]
A5 = b"2001:db8::60"
for i in range(8):
    ssh(b"Failed password for invalid user r\xffoot\x1b[2J from " + A5 + b" port %d ssh2" % (45000 + i))
    ssh(b"Failed password for invalid user root from " + A5 + b" port %d ssh2" % (46000 + i))
expect += [b"attacker " + A5]

# 5. nginx: quotes arrive escaped (\x22): a request or user agent that spells out
#    a whole log line of another address
A6, V6 = b"198.18.0.61", b"198.18.0.4"
for i in range(40):
    forged = V6 + b" - - [" + clf() + b"] \\x22GET /wp-login.php HTTP/1.1\\x22 404 1"
    web(A6, b"/p%d/" % i + forged.replace(b" ", b"%20"), ua=b"\\x22 " + forged)
expect += [b"innocent " + V6, b"attacker " + A6]

# 6. an innocent address alone in hostile text, nothing else
V7 = b"198.18.0.5"
for i in range(10):
    ssh(b"Connection closed by authenticating user \x1b[1m" + V7 + b"\x1b[0m 198.18.0.62 port 1 [preauth]")
expect += [b"innocent " + V7]

os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "auth.log"), "wb") as f:
    f.write(b"\n".join(auth) + b"\n")
with open(os.path.join(out, "access.log"), "wb") as f:
    f.write(b"\n".join(access) + b"\n")
with open(os.path.join(out, "expect"), "wb") as f:
    f.write(b"\n".join(expect) + b"\n")
