#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Log injection (fail2ban's CVEs): logs where attackers write other addresses,
# fake lines past the 64 KiB cut, NUL bytes, terminal escapes and invalid UTF-8
# into what gets logged (logs_injection.py writes them), replayed by crowdsec
# through the hub's linux and nginx collections into its LAPI. Nobody is banned
# wrongly: an address that only appears inside hostile text gets no alert and no
# decision. No alert is lost: every real attacker is alerted and decided. The hub's
# sshd patterns are unanchored: the user-name case (fail2ban CVE-2013-7176) needs
# our local parser, installed here as make install / make run install it.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/hub_config.sh"
need_hub 20
T=$(mktemp -d)
cleanup() { [ -n "${KEEP_TMP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT INT TERM

# the LAPI in-process only (replays): it listens on no port
hub_config "$T" "127.0.0.1:0" crowdsecurity/linux crowdsecurity/nginx ||
	{ fail "hub install"; summary; exit 1; }
for f in "$(dirname "$0")"/../../config/parsers/*/*.yaml; do s=${f%/*}; cp "$f" "$E/parsers/${s##*/}/"; done
python3 "$(dirname "$0")/logs_injection.py" "$T/logs"
for f in auth:syslog access:nginx; do
	"$BUILD/crowdsec" -c "$E/config.yaml" -dsn "file://$T/logs/${f%%:*}.log" -type "${f#*:}" \
		>"$T/${f%%:*}.out" 2>&1
	check_eq "replay of the hostile ${f%%:*}.log" "$?" 0
done
db() { sqlite3 "$T/data/crowdsec.db" "$1"; }
alerts_of() { db "select count(*) from alerts where source_value = '$1'"; }
decisions_of() { db "select count(*) from decisions where value = '$1'"; }
while read -r kind ip; do
	case $kind in
	attacker)
		check "attacker $ip alerted ($(alerts_of "$ip"))" test "$(alerts_of "$ip")" -gt 0
		check "attacker $ip decided ($(decisions_of "$ip"))" test "$(decisions_of "$ip")" -gt 0
		;;
	innocent)
		check_eq "innocent $ip: no alert" "$(alerts_of "$ip")" 0
		check_eq "innocent $ip: no decision" "$(decisions_of "$ip")" 0
		;;
	esac
done <"$T/logs/expect"
# nothing else was decided: every decision names one of the attackers
others=$(db "select distinct value from decisions" |
	grep -vxF -f <(awk '$1 == "attacker" {print $2}' "$T/logs/expect"))
check_eq "no decision on any other address" "$others" ""
summary
