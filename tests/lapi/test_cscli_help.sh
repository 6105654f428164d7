#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `--help` at every cscli level prints the verbs or the flags and exits 0, with
# no configuration file needed; a missing or unknown verb is a usage error (2).
. "$(dirname "$0")/../lib/harness.sh"
CSCLI=$BUILD/cscli
cs() { "$CSCLI" -c /nonexistent/config.yaml "$@"; }

# object: its verbs
for spec in "alerts:list inspect delete" "decisions:list add delete" "bouncers:add list delete" \
	    "machines:add list delete validate" "lapi:status"; do
	obj=${spec%%:*} verbs=${spec#*:}
	for h in --help -h help; do
		out=$(cs "$obj" $h 2>&1); rc=$?
		check_eq "cscli $obj $h exits 0" "$rc" 0
	done
	out=$(cs "$obj" --help 2>&1)
	for v in $verbs; do
		check "cscli $obj --help lists $v" grep -qE "^  $v " <<<"$out"
		vout=$(cs "$obj" "$v" --help 2>&1); rc=$?
		check_eq "cscli $obj $v --help exits 0" "$rc" 0
		check "cscli $obj $v --help shows its usage" grep -q "cscli $obj $v" <<<"$vout"
	done
	cs "$obj" >/dev/null 2>&1
	check_eq "cscli $obj without a verb: usage error" $? 2
	cs "$obj" frobnicate >/dev/null 2>&1
	check_eq "cscli $obj frobnicate: usage error" $? 2
done
# the flags of a verb
out=$(cs decisions add --help)
for f in --ip --range --duration --value --scope --reason --type; do
	check "decisions add --help shows $f" grep -q -- "$f" <<<"$out"
done
out=$(cs decisions list -h)
check "decisions list -h shows --contained" grep -q -- --contained <<<"$out"
# help does not run the verb: no configuration, no LAPI contacted
out=$(cs decisions delete --all --help 2>&1); rc=$?
check_eq "delete --all --help only prints help" "$rc" 0
check "delete --all --help names no config error" bash -c '! grep -q "configuration" <<<"$1"' _ "$out"
out=$("$CSCLI" --help); rc=$?
check_eq "cscli --help exits 0" "$rc" 0
check "cscli --help lists alerts" grep -q '^  alerts ' <<<"$out"
check_eq "hubtest --help exits 0" "$(cs hubtest --help >/dev/null 2>&1; echo $?)" 0
summary
