#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installation: `make install`/`uninstall` into a DESTDIR (programs, units, man pages,
# completion, CrowdSec's /etc/crowdsec layout, an operator's file never overwritten),
# the installed configuration working (cscli registers a machine and a bouncer,
# crowdsec -t passes once the hub's parsers are in), `make deb`'s package contents,
# and dpkg -i / reinstall / -r / -P of that package. The live dpkg part runs in a
# chroot over an overlay of / in a private mount namespace: Debian's crowdsec (a test
# peer other tests use) is replaced only inside it, the machine is left as it was.
. "$(dirname "$0")/../lib/harness.sh"
t=$(mktemp -d /tmp/test_install.XXXXXX)
trap 'rm -rf "$t"' EXIT
r=$t/dest

# ---- make install into a DESTDIR ------------------------------------------------
BUILD=$BUILD PREFIX=/usr DESTDIR=$r "$REPO_DIR/config/install.sh" install >"$t/install.log" 2>&1
check "install.sh install succeeds" [ $? = 0 ]
for p in crowdsec cscli crowdsec-xdp-bouncer; do check "program $p installed" [ -x "$r/usr/bin/$p" ]; done
for u in crowdsec crowdsec-xdp-bouncer; do
	f=$r/usr/lib/systemd/system/$u.service
	check "$u.service names the installed program" grep -q "^ExecStart=/usr/bin/$u " "$f"
	for k in CapabilityBoundingSet= ProtectSystem=strict NoNewPrivileges=yes 'ExecReload=/bin/kill -HUP'; do
		check "$u.service has $k" grep -q "^$k" "$f"
	done
done
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$t/units"
	for u in crowdsec crowdsec-xdp-bouncer; do
		sed "s|=/usr/bin/|=$r/usr/bin/|" "$r/usr/lib/systemd/system/$u.service" >"$t/units/$u.service"
	done
	check "systemd-analyze verify: the units are clean" \
		bash -c "[ -z \"\$(systemd-analyze verify '$t'/units/*.service 2>&1)\" ]"
else
	skip "systemd-analyze not installed"
fi
check "no CAP_SYS_ADMIN for the bouncer" bash -c "! grep -q '^CapabilityBoundingSet=.*CAP_SYS_ADMIN' '$r/usr/lib/systemd/system/crowdsec-xdp-bouncer.service'"
# the bouncer's unit gives it enough: load, attach and ban under exactly its bounding
# set (a veth in a private network namespace, pins in a per-run directory)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$r/usr/lib/systemd/system/crowdsec-xdp-bouncer.service" |
		tr ' ' '\n' | sed -n 's/^CAP_\(.*\)/+\L\1/p' | paste -sd,)
	pin=/sys/fs/bpf/test_install_$$
	sp="setpriv --bounding-set=-all,$caps --inh-caps=-all --no-new-privs $BUILD/crowdsec-xdp-bouncer --pin-dir $pin"
	out=$(timeout 60 unshare -n sh -c "ip link add v0 type veth peer name v1 && ip link set v0 up &&
		$sp xdp attach v0 --mode generic && $sp ban 198.18.3.3 --duration 1m && echo CAPS-OK;
		$BUILD/crowdsec-xdp-bouncer --pin-dir $pin xdp uninstall" 2>&1)
	check "the bouncer's unit capabilities ($caps) load, attach and ban" grep -q CAPS-OK <<<"$out"
	[ -d "$pin" ] && rm -rf "$pin"
else
	skip "bouncer capabilities: needs root and setpriv"
fi
for m in man8/crowdsec.8 man8/crowdsec-xdp-bouncer.8 man1/cscli.1; do
	check "man page $m renders without warnings" bash -c "[ -z \"\$(groff -man -Tutf8 -ww -z '$r/usr/share/man/$m' 2>&1)\" ]"
done
check "bash completion for cscli" grep -q 'complete .*cscli' "$r/usr/share/bash-completion/completions/cscli"
for f in config.yaml profiles.yaml acquis.yaml simulation.yaml local_api_credentials.yaml \
	bouncers/crowdsec-xdp-bouncer.yaml patterns/ssh parsers/s02-enrich/crowdsec-xdp-sshd-source.yaml; do
	check "/etc/crowdsec/$f" [ -f "$r/etc/crowdsec/$f" ]
done
for d in acquis.d parsers scenarios postoverflows hub; do check "/etc/crowdsec/$d/" [ -d "$r/etc/crowdsec/$d" ]; done
check "/var/lib/crowdsec/data" [ -d "$r/var/lib/crowdsec/data" ]
check_eq "secrets are private" "$(stat -c %a "$r/etc/crowdsec/local_api_credentials.yaml" "$r/etc/crowdsec/bouncers/crowdsec-xdp-bouncer.yaml" | sort -u)" 600

# an operator's file is never overwritten, a missing one comes back
echo '# mine' >>"$r/etc/crowdsec/profiles.yaml"
rm "$r/etc/crowdsec/simulation.yaml"
BUILD=$BUILD PREFIX=/usr DESTDIR=$r "$REPO_DIR/config/install.sh" install >>"$t/install.log" 2>&1
check "reinstall keeps an edited file" grep -q '^# mine' "$r/etc/crowdsec/profiles.yaml"
check "reinstall restores a missing file" [ -f "$r/etc/crowdsec/simulation.yaml" ]

# the installed configuration works (paths moved under the DESTDIR)
c=$r/etc/crowdsec/config.yaml
sed -i "s|/etc/crowdsec|$r/etc/crowdsec|g; s|/var/lib/crowdsec|$r/var/lib/crowdsec|g" "$c"
check "cscli machines add --auto on the installed config" \
	"$r/usr/bin/cscli" -c "$c" machines add --auto --force -f "$r/etc/crowdsec/local_api_credentials.yaml"
check "credentials written" grep -q '^login: ' "$r/etc/crowdsec/local_api_credentials.yaml"
key=$("$r/usr/bin/cscli" -c "$c" -o raw bouncers add crowdsec-xdp-bouncer 2>/dev/null)
check "cscli bouncers add gives a key" [ -n "$key" ]
if [ -d "$HUB/parsers" ]; then
	for p in s00-raw/crowdsecurity/syslog-logs s01-parse/crowdsecurity/sshd-logs; do
		ln -s "$HUB/parsers/$p.yaml" "$r/etc/crowdsec/parsers/${p%%/*}/"
	done
	check "crowdsec -t passes on the installed config with hub parsers" "$r/usr/bin/crowdsec" -c "$c" -t
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
		caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$r/usr/lib/systemd/system/crowdsec.service" |
			tr ' ' '\n' | sed -n 's/^CAP_\(.*\)/+\L\1/p' | paste -sd,)
		check "crowdsec -t under its unit's bounding set ($caps)" \
			setpriv --bounding-set=-all,"$caps" --inh-caps=-all --no-new-privs "$r/usr/bin/crowdsec" -c "$c" -t
	else
		skip "crowdsec under its unit's capabilities: needs root and setpriv"
	fi
else
	skip "hub not found (SHARED_DIR): crowdsec -t on the installed config"
fi

PREFIX=/usr DESTDIR=$r "$REPO_DIR/config/install.sh" uninstall >>"$t/install.log" 2>&1
check "uninstall removes the programs, units and man pages" \
	bash -c "[ -z \"\$(find '$r/usr' -type f)\" ]"
check "uninstall keeps the configuration" [ -f "$r/etc/crowdsec/config.yaml" ]

# ---- make deb --------------------------------------------------------------------
if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null; then
	skip "dpkg-dev/debhelper not installed (make test-deps installs them)" 22
	summary; exit
fi
BUILD=$BUILD DEB_OUT=$t "$REPO_DIR/config/debian/build.sh" >"$t/deb.log" 2>&1
deb=$(ls "$t"/crowdsec-xdp_*.deb 2>/dev/null | head -1)
check "make deb builds a package" [ -n "$deb" ]
[ -n "$deb" ] || { summary; exit; }
dpkg -c "$deb" >"$t/contents"
for f in ./usr/bin/crowdsec ./usr/bin/cscli ./usr/bin/crowdsec-xdp-bouncer \
	./lib/systemd/system/crowdsec.service ./etc/crowdsec/config.yaml; do
	check "the .deb holds $f" grep -q " $f\$" "$t/contents"
done
check "the .deb declares its relation to Debian's crowdsec" \
	bash -c "dpkg -f '$deb' Conflicts Replaces Provides | grep -c ': crowdsec\$' | grep -qx 3"
check "secrets are not conffiles (postinst writes them)" \
	bash -c "! dpkg -c '$deb' | grep -q 'local_api_credentials\|bouncers/crowdsec-xdp-bouncer.yaml'"

# ---- dpkg -i / -r / -P, in an overlay of / -----------------------------------------
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	skip "dpkg -i/-r/-P: needs root (a private mount namespace)" 14
	summary; exit
fi
before=$(find /etc/crowdsec /var/lib/crowdsec /usr/bin/crowdsec /usr/bin/cscli -printf '%p %s %T@\n' 2>/dev/null | md5sum)
peer=$(dpkg-query -W -f='${Status}' crowdsec 2>/dev/null)
cp "$deb" "$t/pkg.deb"
cat >"$t/inside.sh" <<'IN'
# runs chrooted in the overlay: prints facts the test checks
D="dpkg --force-confold --force-confdef"
$D -i /pkg.deb >/dpkg-i.log 2>&1 </dev/null; echo "install_rc=$?"
echo "status=$(dpkg-query -W -f='${Status}' crowdsec-xdp 2>/dev/null)"
echo "peer=$(dpkg-query -W -f='${Status}' crowdsec 2>/dev/null)"
cscli version 2>&1 | grep -q -- '-c' && echo ours=yes
echo "login=$(sed -n 's/^login: //p' /etc/crowdsec/local_api_credentials.yaml)"
l=$(sed -n 's/^login: //p' /etc/crowdsec/local_api_credentials.yaml)
[ -n "$l" ] && cscli -o json machines list 2>/dev/null | grep -q "\"$l\"" && echo machine_registered=yes
grep -q '^api_key: [0-9a-f]\{16,\}' /etc/crowdsec/bouncers/crowdsec-xdp-bouncer.yaml && echo bouncer_key=yes
cscli -o json bouncers list 2>/dev/null | grep -q '"crowdsec-xdp-bouncer' && echo bouncer_registered=yes
$D -i /pkg.deb >>/dpkg-i.log 2>&1 </dev/null; echo "reinstall_rc=$?"
echo "login2=$(sed -n 's/^login: //p' /etc/crowdsec/local_api_credentials.yaml)"
dpkg -r crowdsec-xdp >/dpkg-r.log 2>&1; echo "remove_rc=$?"
[ -e /usr/bin/crowdsec-xdp-bouncer ] || echo removed_programs=yes
[ -f /etc/crowdsec/config.yaml ] && echo kept_config=yes
dpkg -P crowdsec-xdp >/dpkg-p.log 2>&1; echo "purge_rc=$?"
[ -e /etc/crowdsec/config.yaml ] || [ -e /var/lib/crowdsec/data ] || echo purged=yes
echo "final=$(dpkg-query -W -f='${Status}' crowdsec-xdp 2>/dev/null || echo gone)"
# after the purge this is a machine without any crowdsec: a true first install
$D -i /pkg.deb >>/dpkg-i.log 2>&1 </dev/null; echo "fresh_rc=$?"
l=$(sed -n 's/^login: //p' /etc/crowdsec/local_api_credentials.yaml)
echo "fresh_login=$l"
[ -n "$l" ] && cscli -o json machines list 2>/dev/null | grep -q "\"$l\"" && echo fresh_machine=yes
grep -q '^api_key: [0-9a-f]\{16,\}' /etc/crowdsec/bouncers/crowdsec-xdp-bouncer.yaml && echo fresh_key=yes
[ "$(stat -c %a /etc/crowdsec/local_api_credentials.yaml /etc/crowdsec/bouncers/crowdsec-xdp-bouncer.yaml | sort -u)" = 600 ] && echo fresh_private=yes
IN
o=$t/ovl
mkdir -p "$o"
out=$(timeout 300 unshare -m --propagation private sh -c "
	mount -t tmpfs tmpfs '$o' && mkdir '$o/up' '$o/work' '$o/root' &&
	mount -t overlay overlay -o 'lowerdir=/,upperdir=$o/up,workdir=$o/work' '$o/root' &&
	mount --bind /proc '$o/root/proc' && mount --bind /dev '$o/root/dev' &&
	mount -t tmpfs tmpfs '$o/root/run' && mount -t tmpfs tmpfs '$o/root/tmp' &&
	cp '$t/pkg.deb' '$t/inside.sh' '$o/root/' &&
	chroot '$o/root' sh /inside.sh; cp '$o/root/dpkg-i.log' '$o/root/dpkg-r.log' '$o/root/dpkg-p.log' '$t/' 2>/dev/null" 2>&1)
v() { printf '%s\n' "$out" | sed -n "s/^$1=//p" | head -1; }
check_eq "dpkg -i (replacing Debian's crowdsec)" "$(v install_rc)" 0
[ "$(v install_rc)" = 0 ] || sed -n 1,30p "$t/dpkg-i.log" >&2
check_eq "package installed" "$(v status)" "install ok installed"
check "Debian's crowdsec removed by the Conflicts/Replaces" [ "$(v peer)" != "install ok installed" ]
check_eq "postinst registered the machine" "$(v machine_registered)" yes
check_eq "postinst wrote the bouncer's key" "$(v bouncer_key)" yes
check_eq "the bouncer is known to the LAPI" "$(v bouncer_registered)" yes
check_eq "reinstall (upgrade path) succeeds" "$(v reinstall_rc)" 0
check_eq "reinstall keeps the machine's credentials" "$(v login2)" "$(v login)"
check_eq "dpkg -r" "$(v remove_rc)/$(v removed_programs)/$(v kept_config)" 0/yes/yes
check_eq "dpkg -P removes /etc/crowdsec and /var/lib/crowdsec" "$(v purge_rc)/$(v purged)" 0/yes
check_eq "first install on a clean machine" "$(v fresh_rc)/$(v fresh_machine)/$(v fresh_key)/$(v fresh_private)" 0/yes/yes/yes
check "first install: new credentials" [ -n "$(v fresh_login)" ] && [ "$(v fresh_login)" != "$(v login)" ]
after=$(find /etc/crowdsec /var/lib/crowdsec /usr/bin/crowdsec /usr/bin/cscli -printf '%p %s %T@\n' 2>/dev/null | md5sum)
check_eq "this machine is left as it was" "$after" "$before"
check_eq "the peer crowdsec is still installed here" "$(dpkg-query -W -f='${Status}' crowdsec 2>/dev/null)" "$peer"
summary
