#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# crowdsec-xdp-bouncer's manual commands on a private pin directory: documented
# exit codes, errors that name the bad value (and file:line), nothing half-applied
# when a map fills up, and uninstall leaving nothing behind.
. "$(dirname "$0")/../lib/harness.sh"
need_root "bouncer CLI test" 31

B=$BUILD/crowdsec-xdp-bouncer
PIN=/sys/fs/bpf/crowdsec-clitest-$$
TMPD=$(mktemp -d)
cleanup() { "$B" --pin-dir "$PIN" xdp uninstall >/dev/null 2>&1; rm -rf "$TMPD"; }
trap cleanup EXIT INT TERM
bx() { "$B" --pin-dir "$PIN" "$@"; }

bx >/dev/null 2>&1; check_eq "no command: usage" $? 2
bx frobnicate >/dev/null 2>&1; check_eq "unknown command: usage" $? 2
bx ban >/dev/null 2>&1; check_eq "ban without prefix: usage" $? 2
bx ban 198.18.0.1 --duration soon >/dev/null 2>&1; check_eq "bad duration: usage" $? 2
bx ban 198.18.0.1 --origin martians >/dev/null 2>&1; check_eq "bad origin: usage" $? 2
err=$(bx ban 198.18.0.1/24 2>&1); rc=$?
check_eq "host bits: usage" $rc 2
check "host bits: error names the value" grep -q "'198.18.0.1/24'" <<<"$err"
err=$(bx ban 198.18.0.0/33 2>&1); check "bad length named" grep -q "198.18.0.0/33" <<<"$err"
printf '198.18.0.0/24\n\n# comment\n198.18.1.300\n' > "$TMPD/list"
err=$(bx ban --file "$TMPD/list" 2>&1); rc=$?
check_eq "bad line in file: usage" $rc 2
check "bad line in file: file:line named" grep -q "$TMPD/list:4: '198.18.1.300'" <<<"$err"
check_eq "nothing applied after a bad line" "$(bx list -o json | jq length)" 0
# past the lists' first growth, lines are still counted right
{ seq -f '198.18.2.%g' 1 79; echo 198.18.2.300; } > "$TMPD/long"
err=$(bx ban --file "$TMPD/long" 2>&1)
check "bad line 80 of a long file named" grep -q "$TMPD/long:80: '198.18.2.300'" <<<"$err"

# Capacity 3 hosts per family: banning 5 fails as a whole and leaves the old state.
# (Capacity is fixed when the pins are created, so start from none.)
bx xdp uninstall >/dev/null
bx ban 198.18.0.1 --max-hosts 3 --duration 1h --origin crowdsec --id 42 >/dev/null
check_eq "capacity as loaded" "$(bx xdp status -o json | jq .capacity.hosts_per_family)" 3
bx ban 198.18.0.1 198.18.0.2 198.18.0.3 198.18.0.4 198.18.0.5 >/dev/null 2>&1
check_eq "full map: exit 4" $? 4
check_eq "full map: only the old entry remains" "$(bx list -o json | jq -c '[.[].prefix]')" '["198.18.0.1/32"]'
check_eq "full map: old entry kept its origin" "$(bx list -o json | jq -r '.[0].origin')" crowdsec
check_eq "full map: old entry kept its id" "$(bx list -o json | jq -r '.[0].decision_id')" 42
bx ban 198.18.0.2 198.18.0.3 >/dev/null; check_eq "fills up to capacity" $? 0

bx unban 198.18.0.9 >/dev/null 2>&1; check_eq "unban of absent prefix: exit 6" $? 6
bx unban 198.18.0.2 >/dev/null; check_eq "unban present: exit 0" $? 0
check_eq "three v4 hosts, then two" "$(bx xdp status -o json | jq .entries.ipv4_hosts)" 2

bx ban 2001:db8::/48 2001:db8::1 >/dev/null
st=$(bx xdp status -o json)
check_eq "v6 range counted" "$(jq .entries.ipv6_ranges <<<"$st")" 1
check_eq "v6 host counted" "$(jq .entries.ipv6_hosts <<<"$st")" 1
check_eq "stats has every counter" "$(bx stats -o json | jq 'keys | length')" 10

bx xdp detach nosuch0 >/dev/null 2>&1; check_eq "detach unknown interface: exit 3" $? 3
bx xdp uninstall >/dev/null; check_eq "uninstall ok" $? 0
check "uninstall removed the pin dir" test ! -e "$PIN"
bx xdp uninstall >/dev/null; check_eq "uninstall twice is fine" $? 0
# nftables names go into nft commands: a bad one is a configuration error naming the key
printf 'api_url: http://127.0.0.1:1/\napi_key: k\nmode: nftables\nnftables:\n  table_ipv4: "cs; flush ruleset"\n' >"$TMPD/nft.yaml"
err=$("$B" -c "$TMPD/nft.yaml" -t 2>&1); rc=$?
check_eq "bad nftables table name: refused" $rc 2
check "bad nftables table name: key and value named" grep -q "nftables.table_ipv4: 'cs; flush ruleset'" <<<"$err"
printf 'api_url: http://127.0.0.1:1/\napi_key: k\nmode: nftables\nnftables:\n  table_ipv4: cs_v4.test-1\n' >"$TMPD/nft.yaml"
check "a good nftables table name passes" "$B" -c "$TMPD/nft.yaml" -t
summary
