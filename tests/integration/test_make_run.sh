#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# config/run.sh (make run) up to its configuration check (RUN_DRY=1), without
# Debian's crowdsec package: with a reachable hub (a mirror of $SHARED_DIR/hub)
# `cscli setup` installs the detected services' collections and acquisition; with an
# unreachable hub it says so and falls back to our scenarios, and with no parsers
# anywhere it stops with a clear message.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/harness.sh"
. "$here/../lapi/lapi_lib.sh"
. "$here/../lib/hub_mirror.sh"
need_hub 15
T=$(mktemp -d /tmp/test_make_run.XXXXXX)
hp=
cleanup() { [ -n "$hp" ] && kill "$hp" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
# the hub plus the GeoLite2 data the linux collection needs (test databases)
hub_mirror "$T/m" || { fail "hub mirror (mkmmdb)"; summary; exit 1; }
port=$(free_port $((18900 + RANDOM % 90)))
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$T/m" >/dev/null 2>&1 &
hp=$!
wait_http "http://127.0.0.1:$port/.index.json"
dead=http://127.0.0.1:$(free_port $((19000 + RANDOM % 90)))
run() { env RUN_DRY=1 BUILD="$BUILD" LISTEN=127.0.0.1:1 "$@" timeout 120 bash "$REPO_DIR/config/run.sh" 2>&1; }

out=$(run RUN_DIR="$T/a" HUB_URL="http://127.0.0.1:$port"); rc=$?
check_eq "with a hub: configuration OK" "$rc" 0
[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -5 >&2
check "with a hub: cscli setup ran" grep -q 'cscli setup' <<<"$out"
check "with a hub: a detected service's collection installed" \
	bash -c "ls '$T/a/etc/collections/' | grep -q ."
check "with a hub: acquisition written by setup" bash -c "ls '$T/a/etc/acquis.d/' | grep -q '^setup\\.'"
check_eq "with a hub: the hub's scenarios, none of ours" "$(find "$T/a/etc/scenarios" -lname "$REPO_DIR/scenarios/*" | wc -l)" 0
check "with a hub: our local sshd parser beside the hub's (config/parsers)" \
	cmp -s "$REPO_DIR/config/parsers/s02-enrich/crowdsec-xdp-sshd-source.yaml" \
	"$T/a/etc/parsers/s02-enrich/crowdsec-xdp-sshd-source.yaml"
# what make run needs of it: in the pipeline setup built (linux: syslog, sshd-logs,
# enrichers), a user name spelling an address does not make that address the source
out=$("$BUILD/cscli" -c "$T/a/etc/config.yaml" explain --type syslog -v --log \
	'Dec  5 05:00:00 host sshd[123]: Failed password for invalid user x from 198.18.0.1 port 22 ssh2 from 198.18.0.9 port 4242 ssh2' 2>&1)
check "with a hub: the source is the address sshd wrote last (our parser, after the hub's)" \
	grep -q 'update evt.Meta.source_ip : 198.18.0.1 -> 198.18.0.9' <<<"$out"

out=$(run RUN_DIR="$T/b" HUB_URL="$dead" HUB_DIR="$HUB"); rc=$?
check_eq "hub unreachable, HUB_DIR parsers: configuration OK" "$rc" 0
check "hub unreachable: says so" grep -q 'hub cannot be reached' <<<"$out"
check_eq "hub unreachable: our 9 scenarios" "$(ls "$T/b/etc/scenarios" | wc -l)" 9
check "hub unreachable: our local sshd parser too" \
	test -f "$T/b/etc/parsers/s02-enrich/crowdsec-xdp-sshd-source.yaml"

out=$(run RUN_DIR="$T/c" HUB_URL="$dead" RUN_SYSTEM_HUBS=); rc=$?
check_eq "no hub, no parsers: fails" "$rc" 1
check "no hub, no parsers: says what to do" grep -q 'set HUB_DIR' <<<"$out"

# hub content already on the machine (a copy where CrowdSec keeps it) serves offline
mkdir -p "$T/sys"; cp -r "$HUB/parsers" "$T/sys/"
out=$(run RUN_DIR="$T/d" HUB_URL="$dead" RUN_SYSTEM_HUBS="$T/none $T/sys"); rc=$?
check_eq "hub unreachable, parsers on the machine: configuration OK" "$rc" 0
check "hub unreachable: names where the parsers came from" grep -q "parsers from $T/sys" <<<"$out"
summary
