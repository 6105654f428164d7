#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make run`: the whole system on this machine with the embedded default (SQLite,
# local configuration under $RUN_DIR):
#   crowdsec               detector + Local API on 127.0.0.1:8080, with the hub
#                          collections and acquisition `cscli setup` picks for this machine
#   crowdsec-xdp-bouncer   the decision stream into XDP on RUN_IFACE (default: the
#                          interface of the default route), nftables if XDP can't attach
# It runs in the foreground; Ctrl-C stops both and removes the data plane.
# It cannot lock the operator out: loopback and this machine's own addresses are
# never banned (the bouncer's lock-out guard), and the ban list starts empty.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-$here/build}
RUN_DIR=${RUN_DIR:-/var/lib/crowdsec-xdp}
LISTEN=${LISTEN:-127.0.0.1:8080}
E=$RUN_DIR/etc

# Hub content, as a CrowdSec user gets it: `cscli setup` detects this machine's
# services and installs their hub collections from HUB_URL (default: cscli's, the
# public hub) into $E/hub. When the hub cannot be reached, say so and fall back to our
# own scenarios (scenarios/crowdsec-xdp) and patterns (config/patterns); parsers then
# come from HUB_DIR (a hub checkout), an earlier download in $E/hub, or hub content
# already on this machine where CrowdSec keeps it (RUN_SYSTEM_HUBS; an installed
# crowdsec's hub_dir, a packaged copy): content only, no daemon of theirs runs.
# SETUP_FLAGS passes flags to `cscli setup unattended` (--ignore linux, ...);
# RUN_DRY=1 stops once the configuration is checked (crowdsec -t).
HUB_URL=${HUB_URL:-}
HUB_DATA_URL=${HUB_DATA_URL:-${HUB_URL:+$HUB_URL/data}}
SETUP_FLAGS=${SETUP_FLAGS:-}
hub=${HUB_DIR:-}
RUN_SYSTEM_HUBS=${RUN_SYSTEM_HUBS-/etc/crowdsec/hub /usr/share/crowdsec/hub}
data=$RUN_DIR/data

iface=${RUN_IFACE:-}
[ -n "$iface" ] || iface=$(ip -o route show default 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n1)
[ -n "$iface" ] || iface=$(ip -o link show up | awk -F': ' '$2 != "lo" {print $2; exit}' | cut -d@ -f1)

mkdir -p "$E/parsers/s00-raw" "$E/parsers/s01-parse" "$E/parsers/s02-enrich" \
	"$E/scenarios" "$E/postoverflows" "$E/hub" "$E/patterns" "$E/acquis.d" "$RUN_DIR/data"
for f in "$here"/config/patterns/*; do
	case $f in *.md) ;; *) [ -e "$E/patterns/${f##*/}" ] || cp "$f" "$E/patterns/" ;; esac
done
# our local parsers (config/parsers/README.md), hub or not: always the current ones
for f in "$here"/config/parsers/*/*.yaml; do s=${f%/*}; cp "$f" "$E/parsers/${s##*/}/"; done

cat >"$E/config.yaml" <<YAML
common:
  log_level: info
config_paths:
  config_dir: $E/
  data_dir: $data/
  simulation_path: $E/simulation.yaml
  hub_dir: $E/hub/
  index_path: $E/hub/.index.json
  pattern_dir: $E/patterns/
crowdsec_service:
  acquisition_path: $E/acquis.yaml
  acquisition_dir: $E/acquis.d
db_config:
  type: sqlite
  db_path: $RUN_DIR/data/crowdsec.db
api:
  client:
    credentials_path: $E/local_api_credentials.yaml
  server:
    listen_uri: $LISTEN
    profiles_path: $E/profiles.yaml
prometheus:
  enabled: true
  listen_addr: 127.0.0.1
  listen_port: 6060
YAML
[ -z "$HUB_URL" ] || printf 'cscli:\n  hub_url: %s\n  hub_data_url: %s\n' "$HUB_URL" "$HUB_DATA_URL" >>"$E/config.yaml"
printf 'simulation: off\n' >"$E/simulation.yaml"
cp "$here/config/profiles.yaml" "$E/profiles.yaml"
CSCLI="$B/cscli -c $E/config.yaml"
: >"$E/acquis.yaml"
if $CSCLI hub update >"$RUN_DIR/hub-update.log" 2>&1; then
	echo "make run: cscli setup: detecting services, installing their hub collections"
	# shellcheck disable=SC2086 # SETUP_FLAGS is a list of flags
	$CSCLI setup unattended $SETUP_FLAGS ||
		echo "make run: cscli setup unattended failed: running with what it installed" >&2
else
	why=$(sed -n 's/.*msg="\(.*\)"$/\1/p' "$RUN_DIR/hub-update.log" | tail -n1)
	echo "make run: the hub cannot be reached (${why:-cscli hub update failed}):" \
		"falling back to our scenarios (scenarios/crowdsec-xdp) and config/patterns" >&2
	for h in "$E/hub" $RUN_SYSTEM_HUBS; do
		[ -n "$hub" ] || { [ -d "$h/parsers/s01-parse" ] && hub=$h; }
	done
	if [ -z "$hub" ]; then
		echo "make run: no parsers either: set HUB_DIR to a hub checkout" >&2
		exit 1
	fi
	echo "make run: parsers from $hub" >&2
	link() { [ -e "$1" ] && ln -sfn "$1" "$2"; return 0; }
	link "$hub/parsers/s00-raw/crowdsecurity/syslog-logs.yaml" "$E/parsers/s00-raw/"
	for p in sshd-logs nginx-logs; do link "$hub/parsers/s01-parse/crowdsecurity/$p.yaml" "$E/parsers/s01-parse/"; done
	for p in dateparse-enrich http-logs whitelists; do
		link "$hub/parsers/s02-enrich/crowdsecurity/$p.yaml" "$E/parsers/s02-enrich/"
	done
	for s in "$here"/scenarios/crowdsec-xdp/*.yaml; do ln -sfn "$s" "$E/scenarios/"; done
	for f in "$hub"/data/*; do [ -e "$f" ] && ln -sfn "$f" "$data/"; done
	for f in /var/log/auth.log /var/log/secure; do
		[ -e "$f" ] && printf -- '---\nfilenames:\n  - %s\nlabels:\n  type: syslog\n' "$f" >>"$E/acquis.yaml"
	done
	printf -- '---\nfilenames:\n  - /var/log/nginx/*.log\nlabels:\n  type: nginx\n' >>"$E/acquis.yaml"
fi

[ -s "$E/local_api_credentials.yaml" ] ||
	$CSCLI machines add local --auto --force -f "$E/local_api_credentials.yaml" >/dev/null
"$B/crowdsec" -c "$E/config.yaml" -t
[ -z "${RUN_DRY:-}" ] || exit 0

"$B/crowdsec" -c "$E/config.yaml" &
cs=$!
bouncer_pid=
stop() {
	trap - INT TERM EXIT
	[ -n "$bouncer_pid" ] && kill -TERM "$bouncer_pid" 2>/dev/null && wait "$bouncer_pid" 2>/dev/null
	kill -TERM "$cs" 2>/dev/null && wait "$cs" 2>/dev/null
	"$B/crowdsec-xdp-bouncer" -c "$E/bouncer.yaml" --uninstall >/dev/null 2>&1 || true
	echo "stopped; the data plane is removed"
}
trap stop INT TERM EXIT
for _ in $(seq 100); do curl -fs "http://$LISTEN/health" >/dev/null 2>&1 && break; sleep 0.1; done

$CSCLI bouncers delete crowdsec-xdp-bouncer >/dev/null 2>&1 || true
key=$($CSCLI -o raw bouncers add crowdsec-xdp-bouncer)
cat >"$E/bouncer.yaml" <<YAML
api_url: http://$LISTEN/
api_key: $key
update_frequency: 1s
mode: auto
interfaces: [$iface]
keep_on_stop: false
prometheus:
  enabled: true
  listen_addr: 127.0.0.1
  listen_port: 60603
YAML
chmod 600 "$E/bouncer.yaml"
"$B/crowdsec-xdp-bouncer" -c "$E/bouncer.yaml" &
bouncer_pid=$!
sleep 1
cat <<MSG

crowdsec (detector + LAPI on $LISTEN) and crowdsec-xdp-bouncer (on $iface) are running.
  $CSCLI decisions add --ip 198.18.7.7 --duration 4h   ban by hand
  $CSCLI decisions list
  $B/crowdsec-xdp-bouncer --pin-dir /sys/fs/bpf/crowdsec stats
  bpftool map dump pinned /sys/fs/bpf/crowdsec/cs_hosts_v4
  curl -s 127.0.0.1:60603/metrics
Ctrl-C stops both.
MSG
wait "$cs"
