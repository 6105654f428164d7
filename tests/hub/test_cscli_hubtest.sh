#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `cscli hubtest run` as upstream's: from a hub checkout (tests in .tests/), with
# --all, with test names, with --hub DIR from elsewhere; no default path of ours.
. "$(dirname "$0")/../lib/harness.sh"
CSCLI=$BUILD/cscli
[ -d "$HUB/parsers" ] || { skip "hub not found (SHARED_DIR)" 9; summary; exit 0; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# a small checkout: the hub's items, two test folders under .tests/
co=$T/hub
mkdir -p "$co/.tests"
for d in parsers patterns data scenarios postoverflows; do ln -s "$HUB/$d" "$co/$d"; done
for t in sshd-logs ssh-bf; do ln -s "$HUB/tests/$t" "$co/.tests/$t"; done

out=$(cd "$co" && "$CSCLI" hubtest run --all 2>&1); rc=$?
check_eq "run --all in a checkout exits 0" "$rc" 0
check "run --all runs the parser test" grep -q '^PASS sshd-logs' <<<"$out"
check "run --all runs the scenario test" grep -q '^PASS ssh-bf' <<<"$out"

out=$(cd "$co" && "$CSCLI" hubtest run ssh-bf 2>&1); rc=$?
check_eq "run NAME exits 0" "$rc" 0
check "run NAME runs only that test" bash -c '! grep -q sshd-logs <<<"$1" && grep -q "^PASS ssh-bf" <<<"$1"' _ "$out"

out=$(cd "$T" && "$CSCLI" hubtest run --hub "$co" --all 2>&1); rc=$?
check_eq "run --hub DIR --all from elsewhere exits 0" "$rc" 0

# not a checkout (no .tests, no tests): an error naming the place, not another hub
out=$(cd "$T" && "$CSCLI" hubtest run --all 2>&1); rc=$?
check "outside a checkout it fails" test "$rc" -ne 0
check "outside a checkout it names ./.tests or ./tests" grep -q '\./tests\|\./\.tests' <<<"$out"

out=$(cd "$co" && "$CSCLI" hubtest run 2>&1); rc=$?
check "run without --all or a name is an error" test "$rc" -ne 0
summary
