#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The three programs are built hardened (Makefile): position-independent (ELF
# type DYN), full RELRO (BIND_NOW), stack protector (__stack_chk_fail) and
# FORTIFY_SOURCE (__*_chk calls). Sanitizer builds keep all but FORTIFY.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

if ! command -v readelf >/dev/null || ! command -v nm >/dev/null; then
	skip "readelf or nm missing" 12
	summary
	exit 0
fi
san=0
case $BUILD in *-san) san=1 ;; esac
for b in crowdsec cscli crowdsec-xdp-bouncer; do
	f=$BUILD/$b
	if [ ! -x "$f" ]; then
		skip "$b not built" 4
		continue
	fi
	check "$b is PIE (ELF type DYN)" bash -c "readelf -h '$f' | grep -q 'Type:.*DYN'"
	check "$b has full RELRO (BIND_NOW)" bash -c "readelf -d '$f' | grep -qE 'BIND_NOW|FLAGS.*NOW'"
	check "$b has the stack protector" bash -c "nm -D '$f' | grep -q '__stack_chk_fail'"
	if [ $san = 1 ]; then
		skip "$b FORTIFY_SOURCE: not used under sanitizers" 1
	else
		check "$b has FORTIFY_SOURCE calls" bash -c "nm -D '$f' | grep -qE '__[a-z]+_chk@'"
	fi
done
summary
