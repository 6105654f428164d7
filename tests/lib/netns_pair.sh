# SPDX-License-Identifier: MIT
# Two network namespaces joined by a veth pair, for data-plane tests (source it
# after harness.sh). The caller sets NSG/IG (generator side) and NSV/IV (victim
# side, where the bouncer runs), then calls
#   netns_pair "G_ADDR/LEN..." "V_ADDR/LEN..."
# Addresses with a ':' are IPv6 (no DAD). Returns non-zero when anything is not
# in place: links up, every address of each side a permanent neighbour of the other.

inv() { nsenter --net=/run/netns/$NSV "$@"; }	# victim netns, host mounts (bpffs)
ing() { nsenter --net=/run/netns/$NSG "$@"; }

# replies SRC DST COUNT: how many echo replies came back
replies() {
	local fam=-4
	[[ $2 == *:* ]] && fam=-6
	ing ping $fam -n -q -c "$3" -i 0.05 -W 1 -I "$1" "$2" 2>/dev/null |
		sed -n 's/.* \([0-9]*\) received.*/\1/p'
}

# wait_for SECONDS CMD...: poll until CMD succeeds; prints the time it took
wait_for() {
	local limit=$1 t0 now
	shift
	t0=$(date +%s%N)
	while :; do
		"$@" && { now=$(date +%s%N); echo $(( (now - t0) / 1000000 )); return 0; }
		now=$(date +%s%N)
		(( (now - t0) / 1000000000 >= limit )) && return 1
		sleep 0.05
	done
}

# `ip -n`, not /sys: nsenter --net keeps the caller's sysfs, where these links do not exist
link_mac() { ip -n "$1" -o link show dev "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
addr_add() {
	if [[ $3 == *:* ]]; then ip -n "$1" -6 addr add "$3" dev "$2" nodad
	else ip -n "$1" addr add "$3" dev "$2"; fi
}
link_up() { ip -n "$1" -o link show dev "$2" | grep -q 'state UP'; }

netns_pair() {
	local a mac_g mac_v
	ip netns add "$NSG" && ip netns add "$NSV" || return 1
	ip link add "$IG" netns "$NSG" type veth peer name "$IV" netns "$NSV" || return 1
	ip -n "$NSG" link set lo up && ip -n "$NSV" link set lo up || return 1
	for a in $1; do addr_add "$NSG" "$IG" "$a" || return 1; done
	for a in $2; do addr_add "$NSV" "$IV" "$a" || return 1; done
	ip -n "$NSG" link set "$IG" up && ip -n "$NSV" link set "$IV" up || return 1
	# Static neighbours. The peer resolves an address with a solicitation whose
	# source is that of the packet that triggered it; when that source is banned,
	# XDP drops the solicitation (every packet from a banned source is dropped, ND
	# included) and the unbanned sources' packets queued behind it stall.
	mac_g=$(link_mac "$NSG" "$IG") mac_v=$(link_mac "$NSV" "$IV")
	[ -n "$mac_g" ] && [ -n "$mac_v" ] || { echo "netns_pair: no MAC for $IG/$IV" >&2; return 1; }
	for a in $1; do
		ip -n "$NSV" neigh replace "${a%/*}" lladdr "$mac_g" dev "$IV" nud permanent || return 1
	done
	for a in $2; do
		ip -n "$NSG" neigh replace "${a%/*}" lladdr "$mac_v" dev "$IG" nud permanent || return 1
	done
	wait_for 10 link_up "$NSG" "$IG" >/dev/null && wait_for 10 link_up "$NSV" "$IV" >/dev/null
}
