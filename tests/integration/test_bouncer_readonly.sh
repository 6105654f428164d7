#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Read-only commands of crowdsec-xdp-bouncer change nothing: on a pin directory
# that does not exist, `xdp status` says "not installed" and neither it, `list`,
# `stats` nor `xdp detach` creates the directory or any map there.
. "$(dirname "$0")/../lib/harness.sh"
need_root "bouncer read-only commands" 24

B=$BUILD/crowdsec-xdp-bouncer
PIN=/sys/fs/bpf/crowdsec-rotest-$$
TR=$(mktemp)
cleanup() { "$B" --pin-dir "$PIN" xdp uninstall >/dev/null 2>&1; rmdir "$PIN" 2>/dev/null; rm -f "$TR"; }
trap cleanup EXIT INT TERM
bx() { "$B" --pin-dir "$PIN" "$@"; }

out=$(bx xdp status 2>&1); rc=$?
check_eq "status on nothing: exit 0" "$rc" 0
check "status on nothing: not installed" grep -q '^not installed' <<<"$out"
check "status created no pin directory" test ! -e "$PIN"
check_eq "status -o json: installed false" "$(bx xdp status -o json | jq .installed)" false
check_eq "list on nothing: empty" "$(bx list -o json | jq length)" 0
check "list created no pin directory" test ! -e "$PIN"
bx stats >/dev/null; check_eq "stats on nothing: exit 0" $? 0
check "stats created no pin directory" test ! -e "$PIN"
bx xdp detach lo >/dev/null 2>&1; check_eq "detach on nothing: not attached (3)" $? 3
check "detach created no pin directory" test ! -e "$PIN"
# an existing but empty directory is not an installation either, and stays empty
mkdir "$PIN"
check "status on an empty directory: not installed" grep -q '^not installed' <<<"$(bx xdp status)"
check_eq "the empty directory stays empty" "$(ls -A "$PIN" | wc -l)" 0
rmdir "$PIN"
# once something is installed, status sees it
bx ban 198.18.7.1 >/dev/null
check_eq "after a ban: installed" "$(bx xdp status -o json | jq .entries.ipv4_hosts)" 1
check_eq "after a ban: listed" "$(bx list -o json | jq length)" 1
# reading loads no program (a load is verified: ~0.5 s of CPU at 1M entries) and
# writes no map: only lookups and pin opens go through bpf(2)
for c in "xdp status" "list" "stats"; do
	# shellcheck disable=SC2086
	strace -f -qq -e trace=bpf -o "$TR" "$B" --pin-dir "$PIN" $c >/dev/null 2>&1
	calls=$(grep -o 'bpf(BPF_[A-Z_]*' "$TR" | sort -u | tr '\n' ' ')
	check "$c: its bpf(2) calls were traced" test -n "$calls"
	check "$c loads no program ($calls)" bash -c "! grep -q BPF_PROG_LOAD <<<'$calls'"
	check "$c writes no map" bash -c "! grep -Eq 'BPF_MAP_(UPDATE|DELETE)' <<<'$calls'"
done
check_eq "status still sees the ban" "$(bx xdp status -o json | jq .entries.ipv4_hosts)" 1
summary
