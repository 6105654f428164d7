#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `cscli hubtest run` and the GeoIP databases a test's parsers name, as upstream
# (which downloads each parser's data: source_url -> dest_file): the hub's
# geoip-enrich reads GeoLite2-City.mmdb, a test's copy pointing at CrowdSec's
# GeoLite2-Test-City.mmdb reads that one under the same dest_file (hub tests
# geoip-enrich, magento-ccs-*). The same address is in Australia in the one
# set and in France in the other (tests/tools/geoip). A missing database
# skips the test, naming the file.
. "$(dirname "$0")/../lib/harness.sh"
CSCLI=$BUILD/cscli
TOOLS=$(cd "$(dirname "$0")/../tools" && pwd)
need_hub 13
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
co=$T/hub
mkdir -p "$co/.tests" "$co/data" "$T/tmp"
for d in parsers patterns scenarios postoverflows; do ln -s "$HUB/$d" "$co/$d"; done
ln -s "$HUB/.index.json" "$co/.index.json"
"$TOOLS/mkgeoip.sh" "$T/geo" >/dev/null 2>&1 || { fail "mkgeoip.sh"; summary; exit 1; }
mkdir -p "$T/geo-hub-only"
cp "$T/geo/GeoLite2-City.mmdb" "$T/geo/GeoLite2-ASN.mmdb" "$T/geo-hub-only/"

# one test per database set, the same log line
newtest() { # name parser-item assert-lines...
	local t=$co/.tests/$1 item=$2
	shift 2
	mkdir -p "$t"
	printf '%s\n' 'Feb 12 14:10:21 sd-126005 sshd[16378]: Invalid user pascal from 1.2.3.4 port 53502' >"$t/ssh.log"
	printf 'parsers:\n- crowdsecurity/syslog-logs\n- crowdsecurity/sshd-logs\n- %s\n- crowdsecurity/dateparse-enrich\nscenarios:\n- ""\nlog_file: ssh.log\nlog_type: syslog\n' \
		"$item" >"$t/config.yaml"
	printf '%s\n' "$@" >"$t/parser.assert"
}
r='results["s02-enrich"]["crowdsecurity/geoip-enrich"][0].Evt.Meta'
newtest geo-hub-db crowdsecurity/geoip-enrich "$r[\"IsoCode\"] == \"AU\"" "$r[\"IsInEU\"] == \"false\""
local_item=./.tests/geo-test-db/parsers/s02-enrich/crowdsecurity/geoip-enrich.yaml
newtest geo-test-db "$local_item" "$r[\"IsoCode\"] == \"FR\"" "$r[\"IsInEU\"] == \"true\"" \
	"$r[\"ASNNumber\"] == \"4242\"" "$r[\"ASNOrg\"] == \"Crowdsec\"" "$r[\"SourceRange\"] == \"1.2.3.0/24\""
mkdir -p "$(dirname "$co/$local_item")"
sed 's#/GeoLite2-\(City\|ASN\)\.mmdb$#/GeoLite2-Test-\1.mmdb#' \
	"$HUB/parsers/s02-enrich/crowdsecurity/geoip-enrich.yaml" >"$co/$local_item"
check "the test's parser names the test databases" grep -q 'source_url: .*/GeoLite2-Test-City.mmdb' "$co/$local_item"

out=$(cd "$co" && TMPDIR=$T/tmp "$CSCLI" hubtest run --all --geoip-dir "$T/geo" 2>&1); rc=$?
check_eq "both sets at hand: exit 0" "$rc" 0
check "the hub's geoip-enrich reads GeoLite2-City.mmdb (AU)" grep -q '^PASS geo-hub-db' <<<"$out"
check "the test's copy reads GeoLite2-Test-City/ASN.mmdb (FR, AS4242, its range)" grep -q '^PASS geo-test-db' <<<"$out"
check_eq "the private data directory is gone afterwards" "$(ls -A "$T/tmp")" ""

# the same checkout, the other way round: the asserts do fail on the wrong set
mv "$co/.tests/geo-hub-db/parser.assert" "$T/hub.assert"
cp "$co/.tests/geo-test-db/parser.assert" "$co/.tests/geo-hub-db/parser.assert"
out=$(cd "$co" && TMPDIR=$T/tmp "$CSCLI" hubtest run geo-hub-db --geoip-dir "$T/geo" 2>&1); rc=$?
check "the hub's geoip-enrich does not read the test set" bash -c '[ "$1" -ne 0 ] && grep -q "^FAIL geo-hub-db" <<<"$2"' _ "$rc" "$out"
mv "$T/hub.assert" "$co/.tests/geo-hub-db/parser.assert"

out=$(cd "$co" && TMPDIR=$T/tmp "$CSCLI" hubtest run --all --geoip-dir "$T/geo-hub-only" 2>&1); rc=$?
check_eq "only the GeoLite2 set: exit 0" "$rc" 0
check "only the GeoLite2 set: the hub parser's test passes" grep -q '^PASS geo-hub-db' <<<"$out"
check "only the GeoLite2 set: the other skips, naming the file" \
	grep -q '^SKIP geo-test-db: needs GeoLite2-Test-City.mmdb' <<<"$out"

out=$(cd "$co" && TMPDIR=$T/tmp "$CSCLI" hubtest run --all 2>&1); rc=$?
check_eq "no database: exit 0" "$rc" 0
check "no database: skipped, naming the file and where it was looked for" \
	grep -q '^SKIP geo-hub-db: needs GeoLite2-City.mmdb .*not in \./data' <<<"$out"
check "no database: the test set is named too" grep -q '^SKIP geo-test-db: needs GeoLite2-Test-City.mmdb' <<<"$out"
check_eq "nothing left in TMPDIR" "$(ls -A "$T/tmp")" ""
summary
