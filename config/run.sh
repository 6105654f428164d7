#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make run` at this stage: put the XDP data plane on one interface (RUN_IFACE, or
# the interface of the default route) with an empty ban list, and show its state.
# It cannot lock the operator out: the ban list starts empty, and loopback and this
# machine's own addresses are refused by `ban` unless --force is given.
set -eu
B=${BUILD:-build}/crowdsec-xdp-bouncer
iface=${RUN_IFACE:-}
[ -n "$iface" ] || iface=$(ip -o route show default 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n1)
[ -n "$iface" ] || iface=$(ip -o link show up | awk -F': ' '$2 != "lo" {print $2; exit}' | cut -d@ -f1)
if [ -z "$iface" ]; then
	echo "make run: no interface to attach to (set RUN_IFACE=...)" >&2
	exit 1
fi
"$B" xdp attach "$iface"
"$B" xdp status
cat <<MSG

The data plane is attached to $iface and stays there after this command.
  $B ban 198.18.7.7 --duration 4h      drop a source
  $B list | stats                       inspect (or: bpftool map dump pinned /sys/fs/bpf/crowdsec/cs_hosts_v4)
  $B unban 198.18.7.7
  $B xdp uninstall                      remove everything
MSG
