#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A headless Chromium driven over the DevTools protocol (python3-websocket), for
# the dashboard test: evaluate JavaScript in the page, wait for a condition
# (bounded), take screenshots.
import base64, json, time, urllib.request

import websocket


class Page:
    def __init__(self, port, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                pages = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=2))
                url = [p for p in pages if p.get("type") == "page"][0]["webSocketDebuggerUrl"]
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.ws = websocket.create_connection(url, timeout=timeout, suppress_origin=True)
        self.n = 0
        self.errors = []  # the page's uncaught exceptions, for the test's report
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("method") == "Runtime.exceptionThrown":
                self.errors.append(m["params"]["exceptionDetails"].get("exception", {}).get("description", "?"))
            if m.get("id") == self.n:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError("%s: %s" % (expr, r["exceptionDetails"]))
        return r.get("result", {}).get("value")

    def wait(self, expr, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                v = self.js(expr)
                if v:
                    return v
            except RuntimeError:
                pass  # the page is navigating
            time.sleep(0.1)
        raise TimeoutError(expr)

    def goto(self, url):
        self.call("Page.navigate", url=url)

    def shot(self, path):
        open(path, "wb").write(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
