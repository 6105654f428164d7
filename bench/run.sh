#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench`: every bench/bench_*.sh in turn (or those named in BENCH="xdp parse"),
# each printing our figures beside the peer's, measured in the same run.
# Benchmarks are not tests: they assert nothing and print tables (markdown).
set -u
here=$(cd "$(dirname "$0")" && pwd)
export BUILD=${BUILD:-$here/../build}
# the shared data (hub, log generator, peers): the Makefile owns SHARED_DIR
export SHARED_DIR=${SHARED_DIR:-$(make -s --no-print-directory -C "$here/.." shared-dir)}
sel=${BENCH:-}
for b in "$here"/bench_*.sh; do
	name=$(basename "$b" .sh); name=${name#bench_}
	if [ -n "$sel" ] && [[ " $sel " != *" $name "* ]]; then continue; fi
	echo "## bench: $name ($(date -u +%FT%TZ))"
	bash "$b" || echo "(bench $name exited $?)"
	echo
done
