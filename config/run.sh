#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make run`: the whole system on this machine with the embedded default (SQLite,
# local configuration under $RUN_DIR):
#   crowdsec               detector + Local API on 127.0.0.1:8080, reading the system's
#                          auth and nginx logs (those that exist)
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

# Hub content: HUB_DIR (a hub checkout), else the one Debian's crowdsec
# package installed (make deps installs it).
hub=${HUB_DIR:-}
for h in /var/lib/crowdsec/hub /usr/share/crowdsec/hub; do
	[ -z "$hub" ] && [ -d "$h/parsers" ] && hub=$(cd "$h" && pwd)
done
[ -n "$hub" ] || { echo "make run: no hub content found (set HUB_DIR)" >&2; exit 1; }
data=$hub/data
[ -d "$data" ] || data=/usr/share/crowdsec/data

iface=${RUN_IFACE:-}
[ -n "$iface" ] || iface=$(ip -o route show default 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n1)
[ -n "$iface" ] || iface=$(ip -o link show up | awk -F': ' '$2 != "lo" {print $2; exit}' | cut -d@ -f1)

mkdir -p "$E/parsers/s00-raw" "$E/parsers/s01-parse" "$E/parsers/s02-enrich" \
	"$E/scenarios" "$E/postoverflows" "$RUN_DIR/data"
link() { [ -e "$1" ] && ln -sfn "$1" "$2"; return 0; }
link "$hub/parsers/s00-raw/crowdsecurity/syslog-logs.yaml" "$E/parsers/s00-raw/"
for p in sshd-logs nginx-logs; do link "$hub/parsers/s01-parse/crowdsecurity/$p.yaml" "$E/parsers/s01-parse/"; done
for p in dateparse-enrich http-logs whitelists; do
	link "$hub/parsers/s02-enrich/crowdsecurity/$p.yaml" "$E/parsers/s02-enrich/"
done
for s in "$here"/scenarios/crowdsec-xdp/*.yaml; do ln -sfn "$s" "$E/scenarios/"; done
ln -sfn "$hub/patterns" "$E/patterns"

cat >"$E/config.yaml" <<YAML
common:
  log_level: info
config_paths:
  config_dir: $E/
  data_dir: $data/
  simulation_path: $E/simulation.yaml
crowdsec_service:
  acquisition_path: $E/acquis.yaml
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
printf 'simulation: off\n' >"$E/simulation.yaml"
cp "$here/config/profiles.yaml" "$E/profiles.yaml"
: >"$E/acquis.yaml"
for f in /var/log/auth.log /var/log/secure; do
	[ -e "$f" ] && printf -- '---\nfilenames:\n  - %s\nlabels:\n  type: syslog\n' "$f" >>"$E/acquis.yaml"
done
printf -- '---\nfilenames:\n  - /var/log/nginx/*.log\nlabels:\n  type: nginx\n' >>"$E/acquis.yaml"

CSCLI="$B/cscli -c $E/config.yaml"
[ -s "$E/local_api_credentials.yaml" ] ||
	$CSCLI machines add local --auto --force -f "$E/local_api_credentials.yaml" >/dev/null
"$B/crowdsec" -c "$E/config.yaml" -t

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
