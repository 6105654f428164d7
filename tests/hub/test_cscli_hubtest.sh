#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `cscli hubtest run` as upstream's: from a hub checkout (tests in .tests/), with
# --all, with test names, with --hub DIR from elsewhere; no default path of ours.
. "$(dirname "$0")/../lib/harness.sh"
CSCLI=$BUILD/cscli
need_hub 32
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# a small checkout: the hub's items, two test folders under .tests/
co=$T/hub
mkdir -p "$co/.tests"
for d in parsers patterns data scenarios postoverflows; do ln -s "$HUB/$d" "$co/$d"; done
for t in sshd-logs ssh-bf; do ln -s "$HUB/tests/$t" "$co/.tests/$t"; done
ln -s "$HUB/.index.json" "$co/.index.json"

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

# the hub's CI runs `cscli hubtest run --all --clean --max-jobs 8`
out=$(cd "$co" && "$CSCLI" hubtest run --all --clean --max-jobs 8 2>&1); rc=$?
check "the hub CI's flags are accepted" bash -c '[ "$1" -eq 0 ] && grep -q "^PASS ssh-bf" <<<"$2"' _ "$rc" "$out"
out=$(cd /tmp && "$CSCLI" hubtest run --hub="$co" --max-jobs=8 ssh-bf 2>&1); rc=$?
check "pflag's --flag=value forms" bash -c '[ "$1" -eq 0 ] && grep -q "^PASS ssh-bf" <<<"$2"' _ "$rc" "$out"
out=$(cd "$co" && "$CSCLI" hubtest run --all --max-jobs many 2>&1); rc=$?
check "--max-jobs wants a number" bash -c '[ "$1" -ne 0 ] && grep -q -- "--max-jobs" <<<"$2"' _ "$rc" "$out"
out=$(cd "$co" && "$CSCLI" hubtest run --appsec --all 2>&1); rc=$?
check "--appsec is refused, saying so" bash -c '[ "$1" -ne 0 ] && grep -q "AppSec tests" <<<"$2"' _ "$rc" "$out"

# create: the folder upstream writes, for the author to fill
out=$(cd "$co" && "$CSCLI" hubtest create my-test --type nginx -p crowdsecurity/nginx-logs \
	-s crowdsecurity/http-probing 2>&1); rc=$?
check_eq "create exits 0" "$rc" 0
for f in my-test.log parser.assert scenario.assert config.yaml; do
	check "create writes $f" test -f "$co/.tests/my-test/$f"
done
check "create names the log file to fill" grep -q "Log file .*my-test.log (please fill it with logs)" <<<"$out"
cfg=$(python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' \
	"$co/.tests/my-test/config.yaml" 2>&1)
check_eq "create: parsers asked for, then syslog-logs and dateparse-enrich" \
	"$(jq -c .parsers <<<"$cfg" 2>&1)" \
	'["crowdsecurity/nginx-logs","crowdsecurity/syslog-logs","crowdsecurity/dateparse-enrich"]'
check_eq "create: scenarios, postoverflows, log" "$(jq -c '[.scenarios, .postoverflows, .log_file, .log_type, .ignore_parsers]' <<<"$cfg" 2>&1)" \
	'[["crowdsecurity/http-probing"],[""],"my-test.log","nginx",false]'
out=$(cd "$co" && "$CSCLI" hubtest run my-test 2>&1); rc=$?
check "a new test runs (its empty asserts are skipped)" grep -q "SKIP my-test: empty parser.assert" <<<"$out"
out=$(cd "$co" && "$CSCLI" hubtest create my-test --type nginx 2>&1); rc=$?
check "create refuses an existing test" bash -c '[ "$1" -ne 0 ] && grep -q "already exists" <<<"$2"' _ "$rc" "$out"
out=$(cd "$co" && "$CSCLI" hubtest create other-test 2>&1); rc=$?
check "create without --type is an error naming it" bash -c '[ "$1" -ne 0 ] && grep -q -- "--type" <<<"$2"' _ "$rc" "$out"
check "create without --type writes nothing" test ! -e "$co/.tests/other-test"
rm -rf "$co/.tests/my-test"

# coverage: the index's items that some test asserts on
out=$(cd "$co" && "$CSCLI" hubtest coverage 2>&1); rc=$?
check_eq "coverage exits 0" "$rc" 0
check "coverage: sshd-logs is tested (by sshd-logs)" grep -Eq '^crowdsecurity/sshd-logs +✅ +1$' <<<"$out"
check "coverage: ssh-bf is tested (by ssh-bf)" grep -Eq '^crowdsecurity/ssh-bf +✅ +1$' <<<"$out"
check "coverage: nginx-logs is not" grep -Eq '^crowdsecurity/nginx-logs +❌ +0$' <<<"$out"
check "coverage: the totals" grep -Eq '^PARSERS +: [0-9]+% of coverage$' <<<"$out"
np=$(jq '.parsers | length' "$HUB/.index.json")
out=$(cd "$co" && "$CSCLI" hubtest coverage --parsers --percent 2>&1)
tested=$(cd "$co" && "$CSCLI" hubtest coverage --parsers -o json | jq '[.[] | select(.TestsCount > 0)] | length')
check_eq "coverage --parsers --percent: tested over all parsers" "$out" \
	"parsers=$(python3 -c "print(round(100 * $tested / $np))")%"
check "coverage -o json: a tested parser counted" bash -c \
	'"$1" hubtest coverage --hub "$2" --parsers -o json | jq -e ".[] | select(.Name == \"crowdsecurity/sshd-logs\") | .TestsCount == 1" >/dev/null' _ "$CSCLI" "$co"
out=$(cd "$T" && "$CSCLI" hubtest coverage 2>&1); rc=$?
check "coverage outside a hub names the missing index" bash -c '[ "$1" -ne 0 ] && grep -q ".index.json" <<<"$2"' _ "$rc" "$out"
summary
