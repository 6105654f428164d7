# SPDX-License-Identifier: MIT
"""A central API that serves canned answers, for the member tests: login gives
a token, the startup stream is the file given, a delta is empty, signals and
metrics are accepted. Loopback only.

    python3 fake_capi.py PORT STARTUP_ANSWER_FILE

A startup answer file named *.err is served as an HTTP 503 error page.
"""
import http.server
import json
import sys

PORT, STARTUP = int(sys.argv[1]), sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            self.send(200, b"{}")
        elif self.path.startswith("/v2/decisions/stream"):
            if "startup=true" in self.path:
                with open(STARTUP, "rb") as f:
                    self.send(503 if STARTUP.endswith(".err") else 200, f.read())
            else:
                self.send(200, b'{"deleted":[],"new":[]}')
        else:
            self.send(404, b'{"message":"not found"}')

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/watchers/login"):
            self.send(200, json.dumps({"code": 200, "expire": "2099-01-01T00:00:00Z",
                                       "token": "fake-token"}).encode())
        else:
            self.send(200, b'{"message":"OK"}')

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
