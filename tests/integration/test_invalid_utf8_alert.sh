#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An attacker chooses the bytes of a log line: three nginx lines whose user agent
# ends in an invalid UTF-8 byte still raise crowdsecurity/http-bad-user-agent
# (the alert used to be dropped when the meta value went into JSON), and the
# alert carries the byte as U+FFFD, as CrowdSec's Go encoder does.
. "$(dirname "$0")/../lib/harness.sh"
need_hub 3
T=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"' EXIT INT TERM

E=$T/etc
mkdir -p "$T/data"
cs_etc "$E" parsers/s00-raw/crowdsecurity/syslog-logs.yaml parsers/s01-parse/crowdsecurity/nginx-logs.yaml \
	parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml parsers/s02-enrich/crowdsecurity/http-logs.yaml \
	scenarios/crowdsecurity/http-bad-user-agent.yaml
ln -s "$HUB/data/bad_user_agents.regex.txt" "$T/data/"
cat > "$E/config.yaml" <<YAML
common:
  log_level: info
config_paths:
  config_dir: $E/
  data_dir: $T/data/
api:
  server:
    enable: false
YAML

run() { # UA: alerts (JSON lines) on stdout
	local i
	for i in 1 2 3; do
		printf '198.18.44.4 - - [04/Dec/2026:10:00:0%d +0000] "GET / HTTP/1.1" 200 12 "-" "%s"\n' "$i" "$1"
	done >"$T/ua.log"
	timeout 60 "$BUILD/crowdsec" -c "$E/config.yaml" -no-api -dsn "file://$T/ua.log" -type nginx \
		-stdout-alerts 2>"$T/err"
}
n=$(run 'Mozilla/5.00 (Nikto/2.1.6)' | grep -c 'bad-user-agent')
check "control: the plain user agent raises the alert" test "$n" -ge 1
run $'Mozilla/5.00 (Nikto/2.1.6)\xff' >"$T/alerts"
check "an invalid UTF-8 byte in the user agent still raises the alert" grep -q 'bad-user-agent' "$T/alerts"
check "the byte is carried as U+FFFD" grep -q $'Nikto/2.1.6)\xef\xbf\xbd\|Nikto/2.1.6)\\\\ufffd' "$T/alerts"
summary
