#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The full daemon tails an sshd log with the hub's parsers and ssh-bf: the
# detector's Prometheus series (CrowdSec's names and labels) count what it read,
# parsed and poured, and `cscli metrics` reads them back. The profile's
# notifications (CrowdSec's notification files) reach a local HTTP receiver and a
# file, while a receiver that never answers is cut by its timeout.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lapi_lib.sh"

lapi_setup observ 18600 curl
HUB=$SHARED_DIR/hub
[ -d "$HUB/parsers" ] || { skip "hub missing" 1; summary; exit 0; }
PPORT=$(free_port $((PORT + 1)))
mkdir -p "$T"/data "$T"/parsers/s00-raw "$T"/parsers/s01-parse "$T"/parsers/s02-enrich "$T"/scenarios "$T"/patterns
cp -r "$HUB/patterns/." "$T/patterns/"
cp "$HUB/parsers/s00-raw/crowdsecurity/syslog-logs.yaml" "$T/parsers/s00-raw/"
cp "$HUB/parsers/s01-parse/crowdsecurity/sshd-logs.yaml" "$T/parsers/s01-parse/"
cp "$HUB/parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml" "$T/parsers/s02-enrich/"
cp "$HUB/scenarios/crowdsecurity/ssh-bf.yaml" "$T/scenarios/"
printf 'filenames:\n  - %s\nlabels:\n  type: syslog\n' "$T/auth.log" >"$T/acquis.yaml"
: >"$T/auth.log"
printf 'simulation: off\nexclusions: []\n' >"$T/simulation.yaml"
lapi_config "$T/config.yaml" "" "config_paths:
  config_dir: $T/
  data_dir: $T/data/
  simulation_path: $T/simulation.yaml
  notification_dir: $T/notifications/
crowdsec_service:
  acquisition_path: $T/acquis.yaml
prometheus:
  enabled: true
  level: full
  listen_addr: 127.0.0.1
  listen_port: $PPORT"
RPORT=$(free_port $((PORT + 20)))
HPORT=$(free_port $((RPORT + 1)))
mkdir -p "$T/notifications"
cat >"$T/notifications/http.yaml" <<YAML
type: http
name: http_default
log_level: info
format: |
  {{.|toJson}}
url: http://127.0.0.1:$RPORT/hook
method: POST
headers:
  Content-Type: application/json
  X-Test: observ
YAML
cat >"$T/notifications/file.yaml" <<YAML
type: file
name: file_default
format: |
  {{range . -}}
  {{.Scenario}} {{.Source.IP}} {{len .Decisions}} {{(index .Decisions 0).Type}}
  {{end -}}
log_path: $T/notified.log
---
type: http
name: hang_default
format: "{{.|toJson}}"
url: http://127.0.0.1:$HPORT/
timeout: 1s
max_retry: 1
YAML
cat >"$T/notifications/slack.yaml" <<YAML
type: splunk
name: splunk_default
format: "{{range .}}{{.Scenario}}{{end}}"
url: http://127.0.0.1:9/
YAML
lapi_profiles "notifications:
 - hang_default
 - http_default
 - file_default"
python3 - "$RPORT" "$T/received" <<'PY' &
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        with open(out, "ab") as f:
            f.write(self.path.encode() + b" " + (self.headers.get("X-Test") or "").encode() + b" " + body + b"\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
LAPI_ON_EXIT+=("kill $! 2>/dev/null")
# accepts and never answers
python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); c=[]; [c.append(s.accept()) for _ in range(8)]; time.sleep(60)' "$HPORT" &
LAPI_ON_EXIT+=("kill $! 2>/dev/null")
for p in "$RPORT" "$HPORT"; do
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done
"$CROWDSEC" -c "$T/config.yaml" >"$T/daemon.log" 2>&1 &
PID=$!
wait_http "$URL/health" || { fail "daemon healthy"; cat "$T/daemon.log" >&2; summary; exit 1; }
$CSCLI machines add --auto -f "$T/local_api_credentials.yaml" >/dev/null 2>&1
for i in $(seq 8); do
	printf '%s edge sshd[99]: Failed password for root from 198.18.91.9 port 4%04d ssh2\n' \
		"$(date '+%b %e %H:%M:%S')" "$i"
done >>"$T/auth.log"
printf 'not a syslog line\n' >>"$T/auth.log"
# The daemon reads, parses and pours asynchronously: scrape until one scrape
# shows every expected value (the 9th line may still be unread when ssh-bf
# overflows; the pours summed for the acquisition row below must be final),
# then check each from that scrape so a failure names its value.
M=
scrape_complete() {
	local s="source=\"$T/auth.log\"" st="source=\"$T/auth.log\",type=\"file\""
	M=$(curl -s "http://127.0.0.1:$PPORT/metrics")
	grep -q "^cs_filesource_hits_total{$s} 9$" <<<"$M" &&
		grep -q "^cs_parser_hits_total{$st} 9$" <<<"$M" &&
		grep -q "^cs_parser_hits_ok_total{$st} 8$" <<<"$M" &&
		grep -q "^cs_parser_hits_ko_total{$st} 1$" <<<"$M" &&
		grep -q "^cs_node_hits_ok_total{$st,name=\"crowdsecurity/sshd-logs\"} 8$" <<<"$M" &&
		grep -q '^cs_bucket_overflowed_total{name="crowdsecurity/ssh-bf"} 1$' <<<"$M" &&
		grep -q '^cs_bucket_created_total{name="crowdsecurity/ssh-bf"} [1-9]' <<<"$M" &&
		grep -q "^cs_bucket_poured_total{$st,name=\"crowdsecurity/ssh-bf\"} 8$" <<<"$M" &&
		grep -q "^cs_bucket_poured_total{$st,name=\"crowdsecurity/ssh-bf_user-enum\"} 1$" <<<"$M" &&
		grep -q "^cs_parsing_time_seconds_count{type=\"file\",$s} 9$" <<<"$M" &&
		grep -q '^cs_scenario_cpu_seconds_total{name="crowdsecurity/ssh-bf"} [0-9.]*$' <<<"$M"
}
wait_until 30 scrape_complete
check_eq "file hits by source" "$(grep "^cs_filesource_hits_total{source=\"$T/auth.log\"}" <<<"$M" | awk '{print $2}')" 9
check_eq "parser hits by source and type" \
	"$(grep "^cs_parser_hits_total{source=\"$T/auth.log\",type=\"file\"}" <<<"$M" | awk '{print $2}')" 9
check_eq "parser ok" "$(grep "^cs_parser_hits_ok_total{source=\"$T/auth.log\",type=\"file\"}" <<<"$M" | awk '{print $2}')" 8
check_eq "parser ko" "$(grep "^cs_parser_hits_ko_total{source=\"$T/auth.log\",type=\"file\"}" <<<"$M" | awk '{print $2}')" 1
check_eq "node hits of sshd-logs" \
	"$(grep "^cs_node_hits_ok_total{source=\"$T/auth.log\",type=\"file\",name=\"crowdsecurity/sshd-logs\"}" <<<"$M" | awk '{print $2}')" 8
check_eq "ssh-bf overflowed once" "$(grep '^cs_bucket_overflowed_total{name="crowdsecurity/ssh-bf"}' <<<"$M" | awk '{print $2}')" 1
check "ssh-bf instances created" grep -q '^cs_bucket_created_total{name="crowdsecurity/ssh-bf"} [1-9]' <<<"$M"
check "poured by source, type and scenario" \
	grep -q "^cs_bucket_poured_total{source=\"$T/auth.log\",type=\"file\",name=\"crowdsecurity/ssh-bf\"} [1-9]" <<<"$M"
check "parsing time histogram" grep -q "^cs_parsing_time_seconds_count{type=\"file\",source=\"$T/auth.log\"} 9$" <<<"$M"
check "per-scenario time series (sampled)" grep -q '^cs_scenario_cpu_seconds_total{name="crowdsecurity/ssh-bf"} [0-9.]*$' <<<"$M"
check "LAPI series still there" grep -q '^cs_lapi_route_requests_total' <<<"$M"

for _ in $(seq 100); do [ -s "$T/notified.log" ] && grep -q 198.18.91.9 "$T/received" 2>/dev/null && break; sleep 0.1; done
check "http notification: the alert list as JSON, to the configured url with the headers" \
	python3 -c 'import json,sys; l=open(sys.argv[1]).read().split("\n")[0]; p,h,b=l.split(" ",2); a=json.loads(b); assert p=="/hook" and h=="observ" and a[0]["source"]["ip"]=="198.18.91.9" and a[0]["decisions"][0]["type"]=="ban" and a[0]["id"]>0, l' "$T/received"
check_eq "file notification: the format's text" "$(cat "$T/notified.log" 2>/dev/null)" "crowdsecurity/ssh-bf 198.18.91.9 1 ban"
check "the hanging receiver was cut by its timeout and retried" bash -c "for _ in \$(seq 100); do grep -q 'hang_default: giving up after 2' '$T/daemon.log' && exit 0; sleep 0.1; done; exit 1"

J=$($CSCLI metrics -o json 2>"$T/err")
check_eq "cscli metrics -o json: acquisition row" \
	"$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["acquisition"]["file:"+sys.argv[2]])' "$J" "$T/auth.log" 2>&1)" \
	"{'reads': 9, 'parsed': 8, 'unparsed': 1, 'pour': $(grep "^cs_bucket_poured_total{source=\"$T/auth.log\"" <<<"$M" | awk '{s += $2} END {print s}')}"
check_eq "cscli metrics -o json: scenario row" \
	"$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["scenarios"]["crowdsecurity/ssh-bf"]["overflow"])' "$J" 2>&1)" 1
check "cscli metrics -o json: parser row" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["parsers"]["crowdsecurity/sshd-logs"]["parsed"] == 8' "$J"
check "cscli metrics -o json: Local API routes" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert sum(n for r in d["lapi"].values() for n in r.values()) >= 1' "$J"
H=$($CSCLI metrics 2>&1)
check "cscli metrics: tables" grep -q "Acquisition Metrics:" <<<"$H"
check "cscli metrics: the source's row" grep -q "| file:$T/auth.log *| 9 *| 8 *| 1 " <<<"$H"
check "cscli metrics: the scenario table" grep -q "Scenario Metrics:" <<<"$H"
check "cscli metrics list names the sections" bash -c "$CSCLI metrics list | grep -q 'lapi-bouncer'"
S=$($CSCLI metrics show scenarios -o json)
check_eq "cscli metrics show SECTION keeps only it" \
	"$(python3 -c 'import json,sys; print(sorted(json.loads(sys.argv[1])))' "$S")" "['scenarios']"
$CSCLI metrics show nosuch >/dev/null 2>"$T/err"
check_eq "unknown section refused" "$?" 1
check "unknown section named" grep -q "nosuch" "$T/err"
check "cscli metrics --help" bash -c "$CSCLI metrics --help | grep -q 'Available Commands'"
check "cscli metrics show --help" bash -c "$CSCLI metrics show --help | grep -q 'Show selected metrics'"
$CSCLI metrics -u "http://127.0.0.1:$(free_port 18900)/metrics" >/dev/null 2>"$T/err"
check_eq "endpoint down: error exit" "$?" 1

# a format that does not parse stops the start, naming file:line; so does a profile
# naming a notification of a type we do not deliver
kill "$PID"; wait "$PID" 2>/dev/null; PID=
printf 'type: file\nname: bad\nlog_path: /dev/null\nformat: |\n  ok\n  {{range .}}{{nosuch .}}{{end}}\n' >"$T/notifications/bad.yaml"
lapi_profiles "notifications:
 - bad"
timeout 20 "$CROWDSEC" -c "$T/config.yaml" >"$T/bad1.log" 2>&1
rc=$?
check "bad format refused at start" test $rc -ne 0 -a $rc -ne 124
check "the error names file:line" grep -q "$T/notifications/bad.yaml:6: function \"nosuch\" not defined" "$T/bad1.log"
rm "$T/notifications/bad.yaml"
lapi_profiles "notifications:
 - splunk_default"
timeout 20 "$CROWDSEC" -c "$T/config.yaml" >"$T/bad.log" 2>&1
check "unsupported plugin type refused" grep -q "type 'splunk' is not supported" "$T/bad.log"
summary
