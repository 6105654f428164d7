#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make install` / `make uninstall`: the three programs under $PREFIX, the systemd
# units, man pages and bash completion, and CrowdSec's configuration layout in
# /etc/crowdsec (an existing file is never overwritten: it is the operator's). Data in
# /var/lib/crowdsec/data. uninstall removes what install put outside /etc and
# /var/lib (configuration and data are the operator's: `dpkg -P` or rm -r removes them).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-$here/build}
PREFIX=${PREFIX:-/usr/local}
D=${DESTDIR:-}
BIN=$PREFIX/bin
MAN=$PREFIX/share/man
# systemd reads units from /usr/lib/systemd/system and /usr/local/lib/systemd/system;
# the package names Debian's path (config/debian/rules)
UNITS=${SYSTEMD_UNIT_DIR:-$PREFIX/lib/systemd/system}
COMPL=$PREFIX/share/bash-completion/completions
SHARE=$PREFIX/share/crowdsec-xdp
ETC=/etc/crowdsec
PROGS="crowdsec cscli crowdsec-xdp-bouncer crowdsec-central"

# install FILE to DEST with MODE unless DEST exists (configuration)
keep() { [ -e "$D$2" ] || install -D -m "$3" "$1" "$D$2"; }

case ${1:-install} in
install)
	for p in $PROGS; do install -D -m 0755 "$B/$p" "$D$BIN/$p"; done
	for u in crowdsec crowdsec-xdp-bouncer; do
		mkdir -p "$D$UNITS"
		sed "s|@BINDIR@|$BIN|g" "$here/config/systemd/$u.service" >"$D$UNITS/$u.service"
		chmod 0644 "$D$UNITS/$u.service"
	done
	install -D -m 0644 "$here/config/man/crowdsec.8" "$D$MAN/man8/crowdsec.8"
	install -D -m 0644 "$here/config/man/crowdsec-xdp-bouncer.8" "$D$MAN/man8/crowdsec-xdp-bouncer.8"
	install -D -m 0644 "$here/config/man/cscli.1" "$D$MAN/man1/cscli.1"
	install -D -m 0644 "$here/config/man/crowdsec-central.8" "$D$MAN/man8/crowdsec-central.8"
	mkdir -p "$D$COMPL"
	"$B/cscli" completion bash >"$D$COMPL/cscli"
	# Our scenarios: the fallback when no hub can be reached (cscli hub update).
	for s in "$here"/scenarios/crowdsec-xdp/*.yaml; do install -D -m 0644 "$s" "$D$SHARE/scenarios/${s##*/}"; done

	for d in acquis.d parsers/s00-raw parsers/s01-parse parsers/s02-enrich scenarios \
		postoverflows/s01-whitelist hub patterns bouncers; do
		mkdir -p "$D$ETC/$d"
	done
	keep "$here/config/crowdsec/config.yaml" "$ETC/config.yaml" 0644
	keep "$here/config/crowdsec/acquis.yaml" "$ETC/acquis.yaml" 0644
	keep "$here/config/crowdsec/simulation.yaml" "$ETC/simulation.yaml" 0644
	keep "$here/config/profiles.yaml" "$ETC/profiles.yaml" 0644
	install -D -m 0644 "$here/config/crowdsec-xdp-bouncer.yaml" "$D$SHARE/crowdsec-xdp-bouncer.yaml"
	install -D -m 0644 "$here/config/grafana/crowdsec-xdp.json" "$D$SHARE/grafana/crowdsec-xdp.json"
	# Secrets are per machine: a package's postinst writes them (PACKAGE=1), so they
	# are not conffiles.
	if [ -z "${PACKAGE:-}" ]; then
		[ -e "$D$ETC/local_api_credentials.yaml" ] ||
			install -m 0600 /dev/null "$D$ETC/local_api_credentials.yaml"
		keep "$here/config/crowdsec-xdp-bouncer.yaml" "$ETC/bouncers/crowdsec-xdp-bouncer.yaml" 0600
	fi
	for f in "$here"/config/patterns/*; do
		case $f in *.md) continue ;; esac
		keep "$f" "$ETC/patterns/${f##*/}" 0644
	done
	# Our local parsers (hub format, beside the hub's: config/parsers/README.md)
	for f in "$here"/config/parsers/*/*.yaml; do
		s=${f%/*}
		keep "$f" "$ETC/parsers/${s##*/}/${f##*/}" 0644
	done
	install -d -m 0750 "$D/var/lib/crowdsec" "$D/var/lib/crowdsec/data"
	;;
uninstall)
	for p in $PROGS; do rm -f "$D$BIN/$p"; done
	rm -f "$D$UNITS/crowdsec.service" "$D$UNITS/crowdsec-xdp-bouncer.service" \
		"$D$MAN/man8/crowdsec.8" "$D$MAN/man8/crowdsec-xdp-bouncer.8" "$D$MAN/man1/cscli.1" \
		"$D$MAN/man8/crowdsec-central.8" "$D$COMPL/cscli"
	rm -rf "$D$SHARE"
	;;
*) echo "usage: $0 install|uninstall" >&2; exit 2 ;;
esac
