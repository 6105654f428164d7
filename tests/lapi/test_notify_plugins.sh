#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CrowdSec's slack and email notification plugins against local fake servers (an
# HTTP receiver for the webhook, an SMTP receiver with STARTTLS and AUTH), and
# notifications only for alerts a profile decided: a profile whose filter does not
# match, and an alert no profile takes, notify nobody.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup notifyp 18800 curl python3 openssl
SPORT=$(free_port $((PORT + 30)))
MPORT=$(free_port $((SPORT + 1)))
TPORT=$(free_port $((MPORT + 1)))
lapi_config "$T/config.yaml" "" "config_paths:
  notification_dir: $T/notifications/
prometheus:
  enabled: false"
mkdir -p "$T/notifications"
cat >"$T/notifications/slack.yaml" <<YAML
type: slack
name: slack_default
log_level: info
format: |
  {{range . -}}
  {{\$alert := . -}}
  {{range .Decisions -}}
  {{if \$alert.Source.Cn -}}
  :flag-{{\$alert.Source.Cn}}: {{.Value}} will get {{.Type}} for next {{.Duration}} for triggering {{.Scenario}}{{end}}
  {{if not \$alert.Source.Cn -}}
  :pirate_flag: {{.Value}} will get {{.Type}} for next {{.Duration}} for triggering {{.Scenario}}{{end}}
  {{end -}}
  {{end -}}
webhook: http://127.0.0.1:$SPORT/services/T0/B0/x
channel: "#alerts"
username: crowdsec
YAML
cat >"$T/notifications/email.yaml" <<YAML
type: email
name: email_default
timeout: 10s
format: |
  <html><body>
  {{range . -}}
    {{\$alert := . -}}
    {{range .Decisions -}}
      <p>{{.Value}} will get <b>{{.Type}}</b> for triggering <b>{{.Scenario}}</b> on machine <b>{{\$alert.MachineID}}</b>.</p>
    {{end -}}
  {{end -}}
  </body></html>
smtp_host: 127.0.0.1
smtp_port: $MPORT
smtp_username: ops
smtp_password: s3cret
auth_type: plain
sender_name: "CrowdSec"
sender_email: crowdsec@example.org
email_subject: "CrowdSec Notification"
receiver_emails:
 - a@example.org
 - b@example.org
encryption_type: starttls
skip_tls_verification: true
helo_host: edge.example.org
---
type: email
name: email_plain
format: "{{range .}}{{.Source.IP}}{{end}}"
smtp_host: 127.0.0.1
smtp_port: $TPORT
auth_type: login
smtp_username: u
smtp_password: p
encryption_type: none
email_subject: "Ban é"
receiver_emails: [c@example.org]
---
type: file
name: never_file
format: "{{range .}}{{.Source.IP}}{{end}}"
log_path: $T/never.log
YAML
lapi_profiles "notifications:
 - slack_default
 - email_default
 - email_plain"
{ printf 'name: not_this_one\nfilters:\n - Alert.GetScenario() == "test/other"\ndecisions:\n'
  printf ' - type: captcha\n   duration: 1h\nnotifications:\n - never_file\non_success: break\n---\n'
  cat "$T/profiles.yaml"; } >"$T/profiles.tmp" && mv "$T/profiles.tmp" "$T/profiles.yaml"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
	-keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1
python3 - "$SPORT" "$T/slack" <<'PY' &
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
        body = self.rfile.read(n)
        with open(out, "ab") as f:
            f.write(self.path.encode() + b" " + (self.headers.get("Content-Type") or "").encode() + b" " + body + b"\n")
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
LAPI_ON_EXIT+=("kill $! 2>/dev/null")
python3 "$(dirname "${BASH_SOURCE[0]}")/../lib/fake_smtp.py" "$MPORT" "$T/mail" "$T/cert.pem" "$T/key.pem" &
LAPI_ON_EXIT+=("kill $! 2>/dev/null")
python3 "$(dirname "${BASH_SOURCE[0]}")/../lib/fake_smtp.py" "$TPORT" "$T/mail_plain" &
LAPI_ON_EXIT+=("kill $! 2>/dev/null")
for p in "$SPORT" "$MPORT" "$TPORT"; do
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done
lapi_start || { fail "LAPI starts"; cat "$T/lapi.log" >&2; summary; exit 1; }
$CSCLI machines add tester --auto -f "$T/local_api_credentials.yaml" >/dev/null 2>&1
auth=(-H "Authorization: Bearer $(lapi_token tester)")
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
alert() { # alert SCENARIO SOURCE_IP REMEDIATION
	printf '[{"scenario":"%s","scenario_hash":"","scenario_version":"","message":"m","events_count":1,"start_at":"%s","stop_at":"%s","capacity":1,"leakspeed":"1s","simulated":false,"remediation":%s,"events":[],"source":{"scope":"Ip","value":"%s","ip":"%s"},"decisions":[]}]' \
		"$1" "$now" "$now" "$3" "$2" "$2"
}
code=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" -X POST "$URL/v1/alerts" -d "$(alert test/nodecision 198.18.77.2 false)")
check_eq "an alert no profile takes: stored" "$code" 201
code=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" -X POST "$URL/v1/alerts" -d "$(alert crowdsecurity/ssh-bf 198.18.77.1 true)")
check_eq "an alert the ban profile takes: stored" "$code" 201

for _ in $(seq 100); do
	[ -s "$T/slack" ] && [ -s "$T/mail" ] && [ -s "$T/mail_plain" ] && break
	sleep 0.1
done
check "slack: one JSON message to the webhook, text from the format, channel and username" python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
path, ctype, body = lines[0].split(" ", 2)
m = json.loads(body)
assert path == "/services/T0/B0/x" and ctype == "application/json", lines
assert m["channel"] == "#alerts" and m["username"] == "crowdsec" and "icon_url" not in m, m
assert m["text"].strip() == ":pirate_flag: 198.18.77.1 will get ban for next 4h0m0s for triggering crowdsecurity/ssh-bf", m
' "$T/slack"
check "email (STARTTLS, AUTH PLAIN): envelope, headers and the HTML body" python3 -c '
import email, json, sys
from email import policy
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
m = json.loads(lines[0])
assert m["tls"] and m["auth"] == ["PLAIN", "ops", "s3cret"], m
assert m["helo"] == "edge.example.org", m
assert m["from"] == "<crowdsec@example.org>" and m["rcpt"] == ["<a@example.org>", "<b@example.org>"], m
msg = email.message_from_string(m["data"], policy=policy.default)
assert msg["Subject"] == "CrowdSec Notification" and "crowdsec@example.org" in msg["From"], dict(msg)
assert "a@example.org" in msg["To"] and "b@example.org" in msg["To"], dict(msg)
assert msg.get_content_type() == "text/html", msg.get_content_type()
body = msg.get_content()
assert "<p>198.18.77.1 will get <b>ban</b> for triggering <b>crowdsecurity/ssh-bf</b> on machine <b>tester</b>.</p>" in body, body
' "$T/mail"
check "email (no TLS, AUTH LOGIN, non-ASCII subject)" python3 -c '
import email, json, sys
from email import policy
m = json.loads(open(sys.argv[1]).read().splitlines()[0])
assert not m["tls"] and m["auth"] == ["LOGIN", "u", "p"], m
msg = email.message_from_string(m["data"], policy=policy.default)
assert msg["Subject"] == "Ban é", msg["Subject"]
assert msg.get_content().strip() == "198.18.77.1", msg.get_content()
' "$T/mail_plain"
check "a profile whose filter did not match notifies nothing" test ! -e "$T/never.log"
check_eq "the alert no profile took notified nobody" "$(grep -c 198.18.77.2 "$T/slack" "$T/mail" "$T/mail_plain" | awk -F: '{s += $2} END {print s}')" 0

# ---- bad configurations: the load fails naming the file and the field --------------------------
kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=
bad() { # bad NAME YAML EXPECTED_MESSAGE
	rm -f "$T"/notifications/*.yaml
	printf '%s\n' "$2" >"$T/notifications/bad.yaml"
	printf 'name: p\nfilters:\n - true\nnotifications:\n - n\non_success: break\n' >"$T/profiles.yaml"
	out=$(timeout 20 "$CROWDSEC" -no-cs -c "$T/config.yaml" 2>&1)
	check "$1" grep -qF "$T/notifications/bad.yaml: $3" <<<"$out" || echo "$out" >&2
}
bad "email without smtp_host" 'type: email
name: n
format: x
receiver_emails: [a@b.c]' "email notification 'n': smtp_host"
bad "email receiver with a newline" 'type: email
name: n
format: x
smtp_host: h
receiver_emails: ["a@b.c\r\nRCPT TO:<x@y>"]' "email notification 'n': receiver_emails"
bad "email: unknown encryption" 'type: email
name: n
format: x
smtp_host: h
encryption_type: tls13
receiver_emails: [a@b.c]' "email notification 'n': encryption_type"
bad "slack without a webhook" 'type: slack
name: n
format: x' "slack notification 'n': webhook"
summary
