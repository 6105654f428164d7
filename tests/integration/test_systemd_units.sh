#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package under a real systemd. PID 1 here is not systemd, so systemd-nspawn
# boots this machine's own system from an overlay of / (the overlay's upper layer is a
# tmpfs in a private mount namespace: nothing of the machine changes), with its own
# network namespace (a veth, host0 inside) and the host's bpffs bound in for the pins.
# There: dpkg -i replacing Debian's crowdsec (a test peer installed on this machine)
# leaves our units in place and no stale daemon running, the hub collections come from
# a mirror, systemd starts crowdsec (reload = SIGHUP) and crowdsec-xdp-bouncer (XDP on
# host0) inside their sandboxes (capability sets checked), a decision reaches the data
# plane, an upgrade restarts both, dpkg -r stops them, dpkg -P removes the configuration.
set -u
. "$(dirname "$0")/../lib/harness.sh"
. "$REPO_DIR/tests/lib/hub_mirror.sh"
NCHECKS=20
need_root "the package under systemd" $NCHECKS
need_tools $NCHECKS systemd-nspawn dpkg-buildpackage dh unshare
need_hub $NCHECKS
[ -d /sys/fs/bpf ] || skip_all "no bpffs at /sys/fs/bpf" $NCHECKS

ID=$(($$ % 100000))
PIN=/sys/fs/bpf/cs-systemd-$ID
# not under /tmp: the container gets its own /tmp; made before the overlay is mounted,
# since files written under an overlay's lower layer afterwards need not show through
W=$(mktemp -d /var/tmp/test_systemd_units.XXXXXX)
TPID=
cleanup() {
	if [ -n "$TPID" ]; then
		kill -TERM "$TPID" 2>/dev/null # timeout passes it on: nspawn powers the container off
		for _ in $(seq 100); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$TPID" 2>/dev/null
		wait "$TPID" 2>/dev/null
	fi
	rm -rf "$PIN"
	[ "$T_FAIL" -gt 0 ] && tail -n 12 "$W"/*.journal >&2 2>/dev/null
	[ -n "${KEEP_TMP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT INT TERM

BUILD=$BUILD DEB_OUT=$W "$REPO_DIR/config/debian/build.sh" >"$W/deb.log" 2>&1
deb=$(ls "$W"/crowdsec-xdp_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { fail "make deb (see the log)"; tail -5 "$W/deb.log"; summary; exit 1; }
hub_mirror "$W/mirror" || { fail "hub mirror"; summary; exit 1; }
peer=$(dpkg-query -W -f='${Status}' crowdsec 2>/dev/null)

# ---- boot -------------------------------------------------------------------------
mkdir -p "$W/o"
cat >"$W/boot.sh" <<'SH'
o=$1 machine=$2
mount -t tmpfs tmpfs "$o" && mkdir "$o/up" "$o/work" "$o/root" &&
	mount -t overlay overlay -o "lowerdir=/,upperdir=$o/up,workdir=$o/work" "$o/root" || exit 1
# Debian's crowdsec (installed here as a test peer) starts on a fresh database, as on
# a machine that runs it, not on whatever other tests left in this machine's
rm -f "$o/root/var/lib/crowdsec/data/crowdsec.db" "$o/root/var/lib/crowdsec/data/crowdsec.db-"*
# host0 gets no address: network-online.target would wait two minutes for it
ln -sf /dev/null "$o/root/etc/systemd/system/systemd-networkd-wait-online.service"
# no systemd outside: no machined to register with, no unit to move into. The
# bouncer's calls (bpf, perf_event_open) added to nspawn's system call filter, its
# capabilities to the container's set.
exec timeout 600 systemd-nspawn -q -D "$o/root" -M "$machine" --register=no --keep-unit \
	--network-veth --console=pipe --bind=/sys/fs/bpf --capability=CAP_BPF,CAP_PERFMON \
	--system-call-filter='bpf perf_event_open' -b
SH
unshare -m --propagation private sh "$W/boot.sh" "$W/o" "cssd$ID" >"$W/boot.log" 2>&1 &
TPID=$!
init_pid() { local n; n=$(pgrep -P "$TPID" -x systemd-nspawn) && INIT=$(pgrep -P "$n" -x systemd); }
INIT=
wait_until 30 init_pid
[ -n "$INIT" ] || { fail "systemd-nspawn did not boot"; cat "$W/boot.log"; summary; exit 1; }
ic() { nsenter -t "$INIT" -a "$@"; }
booted() {
	state=$(nsenter -t "$INIT" -a systemctl is-system-running 2>/dev/null)
	[ "$state" = running ] || [ "$state" = degraded ]
}
state=
wait_until 90 booted
check "systemd booted in the container ($state)" booted

# ---- install, replacing Debian's crowdsec ------------------------------------------
# its machine registered in its fresh database, as its package does on install
[[ $peer == *"ok installed"* ]] &&
	ic cscli machines add --auto --force -f /etc/crowdsec/local_api_credentials.yaml >/dev/null 2>&1
dpkg_in() { ic sh -c "DEBIAN_FRONTEND=noninteractive dpkg --force-confold --force-confdef $* </dev/null"; }
dpkg_in -i "$deb" >"$W/dpkg-i.log" 2>&1
check_eq "dpkg -i" "$?" 0
check "our crowdsec.service is in place (not deleted with the replaced package's)" \
	bash -c "nsenter -t $INIT -a systemctl cat crowdsec.service 2>/dev/null | grep -q 'CrowdSec (C)'"
both() { ic systemctl "$1" -q crowdsec.service && ic systemctl "$1" -q crowdsec-xdp-bouncer.service; }
check "both units enabled" both is-enabled
# nothing of the replaced package left running under our unit's name
running_ours() {
	local p
	p=$(ic systemctl show -P MainPID crowdsec.service)
	[ "${p:-0}" = 0 ] || [ "$(ic readlink "/proc/$p/exe")" = /usr/bin/crowdsec ]
}
check "crowdsec.service runs our program or nothing (no stale daemon)" running_ours
check "postinst tried the hub (offline: says so)" grep -q 'hub cannot be reached' "$W/dpkg-i.log"
if [[ $peer == *"ok installed"* ]]; then
	check "postinst removed the replaced package's vanished hub items, saying so" \
		grep -q 'enabled hub items whose files went with the replaced package' "$W/dpkg-i.log"
else
	skip "Debian's crowdsec not installed here: nothing replaced"
fi

# ---- the hub, then systemd starts crowdsec ------------------------------------------
ic systemd-run -q --unit=hub-mirror /usr/bin/python3 -m http.server 8081 --bind 127.0.0.1 \
	--directory "$W/mirror"
wait_until 10 ic curl -sf -o /dev/null http://127.0.0.1:8081/.index.json
ic sed -i 's#^cscli:#cscli:\n  hub_url: http://127.0.0.1:8081\n  hub_data_url: http://127.0.0.1:8081/data#' \
	/etc/crowdsec/config.yaml
check "cscli installs the collections from the mirror" bash -c "nsenter -t $INIT -a cscli hub update >/dev/null 2>&1 &&
	nsenter -t $INIT -a cscli collections install crowdsecurity/linux crowdsecurity/nginx >/dev/null 2>&1"
journal() { ic journalctl -u "$1" --no-pager -o cat 2>/dev/null; }
ic systemctl start crowdsec.service
check "systemctl start crowdsec: running, detector ready" \
	wait_until 60 bash -c "nsenter -t $INIT -a journalctl -u crowdsec --no-pager -o cat | grep -q 'detector ready'"
cpid=$(ic systemctl show -P MainPID crowdsec.service)
check_eq "crowdsec's capabilities: the bounding set's (DAC_READ_SEARCH)" \
	"$(ic sed -n 's/^CapBnd:\t//p' "/proc/$cpid/status")" 0000000000000004
check_eq "crowdsec: no new privileges" "$(ic sed -n 's/^NoNewPrivs:\t//p' "/proc/$cpid/status")" 1
ic systemctl reload crowdsec.service
check "systemctl reload crowdsec: SIGHUP, the detector rebuilt" \
	wait_until 60 bash -c "nsenter -t $INIT -a journalctl -u crowdsec --no-pager -o cat | grep -q 'reload done'"

# ---- the bouncer on host0 ----------------------------------------------------------
ic sed -i -e 's#^interfaces: .*#interfaces: [host0]#' -e "s#^pin_path: .*#pin_path: $PIN#" \
	-e 's#^mode: .*#mode: xdp#' /etc/crowdsec/bouncers/crowdsec-xdp-bouncer.yaml
ic ip link set host0 up
ic systemctl restart crowdsec-xdp-bouncer.service
check "systemctl start crowdsec-xdp-bouncer: XDP on host0, first pull applied" \
	wait_until 30 bash -c "nsenter -t $INIT -a journalctl -u crowdsec-xdp-bouncer --no-pager -o cat | grep -q 'startup pull applied'"
# NET_ADMIN (12), KILL (5) and BPF (39): what the applier keeps once its fetcher runs
applier_caps() {
	local p
	p=$(ic systemctl show -P MainPID crowdsec-xdp-bouncer.service)
	caps=$(ic sed -n 's/^CapEff:\t//p' "/proc/$p/status")
	[ "$caps" = 0000008000001020 ]
}
caps=
wait_until 10 applier_caps
check_eq "the bouncer's applier keeps NET_ADMIN, KILL and BPF only" "$caps" 0000008000001020
in_map() { ic crowdsec-xdp-bouncer --pin-dir "$PIN" list 2>/dev/null | grep -q '198.18.77.7'; }
ic cscli decisions add -i 198.18.77.7 -d 1h >/dev/null 2>&1
check "a decision reaches the data plane" wait_until 15 in_map
journal crowdsec-xdp-bouncer >"$W/bouncer.journal"

# ---- upgrade, remove, purge ---------------------------------------------------------
dpkg_in -i "$deb" >"$W/dpkg-u.log" 2>&1
check_eq "upgrade (dpkg -i again)" "$?" 0
check "upgrade: both services running again" \
	wait_until 30 both is-active
check "upgrade: the ban is still in the data plane" in_map
dpkg_in -r crowdsec-xdp >"$W/dpkg-r.log" 2>&1
check "dpkg -r stops both" bash -c "! nsenter -t $INIT -a systemctl is-active -q crowdsec.service &&
	! nsenter -t $INIT -a systemctl is-active -q crowdsec-xdp-bouncer.service"
journal crowdsec >"$W/crowdsec.journal"
dpkg_in -P crowdsec-xdp >"$W/dpkg-p.log" 2>&1
check "dpkg -P removes the configuration" bash -c "! nsenter -t $INIT -a test -e /etc/crowdsec/config.yaml"
summary
