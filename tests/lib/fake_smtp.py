#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A tiny SMTP receiver for the notification tests, on 127.0.0.1 only:
#   fake_smtp.py PORT OUT_JSONL [CERT KEY]
# With CERT/KEY it offers STARTTLS and refuses AUTH and MAIL before it (so a
# client that skipped STARTTLS fails). AUTH PLAIN and LOGIN are accepted with any
# credentials, recorded with the envelope and the DATA in one JSON line per mail.
import base64, json, socket, ssl, sys, threading

port, out = int(sys.argv[1]), sys.argv[2]
ctx = None
if len(sys.argv) > 4:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])


def serve(conn):
    conn.settimeout(10)
    f = conn.makefile("rb")
    tls, mail = False, {"rcpt": []}

    def send(line):
        conn.sendall(line.encode() + b"\r\n")

    def readline():
        return f.readline(65536).decode("utf-8", "replace").rstrip("\r\n")

    send("220 fake ESMTP")
    while True:
        line = readline()
        if not line:
            return
        verb = line.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            mail["helo"] = line.split(" ", 1)[1] if " " in line else ""
            ext = ["AUTH PLAIN LOGIN"]
            if ctx and not tls:
                ext = ["STARTTLS"]
            send("250-fake")
            for e in ext[:-1]:
                send("250-" + e)
            send("250 " + ext[-1])
        elif verb == "STARTTLS" and ctx and not tls:
            send("220 go ahead")
            conn = ctx.wrap_socket(conn, server_side=True)
            f = conn.makefile("rb")
            tls = True
        elif ctx and not tls and verb in ("AUTH", "MAIL"):
            send("530 must issue STARTTLS first")
        elif verb == "AUTH":
            parts = line.split(" ")
            if parts[1].upper() == "PLAIN":
                resp = parts[2] if len(parts) > 2 else (send("334 "), readline())[1]
                _, user, pw = base64.b64decode(resp).decode().split("\0")
            else:
                send("334 VXNlcm5hbWU6")
                user = base64.b64decode(readline()).decode()
                send("334 UGFzc3dvcmQ6")
                pw = base64.b64decode(readline()).decode()
            mail["auth"] = [parts[1].upper(), user, pw]
            send("235 ok")
        elif verb == "MAIL":
            mail["from"] = line.split(":", 1)[1].strip()
            send("250 ok")
        elif verb == "RCPT":
            mail["rcpt"].append(line.split(":", 1)[1].strip())
            send("250 ok")
        elif verb == "DATA":
            send("354 go")
            data = b""
            while True:
                l = f.readline(1 << 20)
                if not l or l == b".\r\n":
                    break
                data += l[1:] if l.startswith(b"..") else l
            mail["tls"] = tls
            mail["data"] = data.decode("utf-8", "replace")
            with open(out, "a") as o:
                o.write(json.dumps(mail) + "\n")
            mail = {"rcpt": [], "helo": mail.get("helo")}
            send("250 queued")
        elif verb == "QUIT":
            send("221 bye")
            return
        else:
            send("250 ok")


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=lambda c=c: (serve(c), c.close()), daemon=True).start()
