#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A detector that cannot start says why: the fatal line names the missing or
# empty parsers directory, once, without a doubled slash from config_dir's own.
. "$(dirname "$0")/../lib/harness.sh"
need_hub 6
T=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"' EXIT INT TERM

cs_detector_etc "$T" || { fail "detector configuration"; summary; }
printf 'Dec  5 10:00:00 host sshd[1]: Failed password for root from 198.18.0.1 port 22 ssh2\n' >"$T/one.log"
replay() { timeout 60 "$BUILD/crowdsec" -c "$E/config.yaml" -no-api -dsn "file://$T/one.log" -type syslog \
	-stdout-alerts >/dev/null 2>"$T/err"; }

replay
check "control: the complete configuration starts" test $? -eq 0

mv "$E/parsers" "$E/parsers.off"
replay
check "a missing parsers directory fails the start" test $? -ne 0
check "the fatal line names the directory and the cause" \
	grep -q "level=fatal msg=\"$E/parsers: No such file or directory\"" "$T/err"
check "no doubled slash in the path" sh -c "! grep -q '//parsers' '$T/err'"

mkdir "$E/parsers"
replay
check "an empty parsers directory fails the start" test $? -ne 0
check "the fatal line says no parser is installed" \
	grep -q "level=fatal msg=\"$E/parsers: no parser installed\"" "$T/err"
summary
