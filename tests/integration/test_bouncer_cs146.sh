#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# crowdsec-xdp-bouncer against Debian's CrowdSec 1.4.6 Local API, unmodified:
# the end-to-end scenario of tests/lib/bouncer_e2e.sh with decisions made by
# Debian's own cscli.
. "$(dirname "$0")/../lib/harness.sh"
need_root "bouncer e2e vs crowdsec 1.4.6" 33
if ! command -v crowdsec >/dev/null || ! [ -x /usr/bin/cscli ]; then
	skip "Debian's crowdsec 1.4.6 is not installed (make test-deps installs it)" 30
	summary; exit 0
fi
. "$(dirname "$0")/../lib/bouncer_e2e.sh"
trap e2e_cleanup EXIT INT TERM

CS=$TMPD/cs
mkdir -p "$CS/data" "$CS/etc"
cat > "$CS/etc/config.yaml" <<YAML
common:
  daemonize: false
  log_media: stdout
  log_level: warning
config_paths:
  config_dir: $CS/etc/
  data_dir: $CS/data/
  simulation_path: $CS/etc/simulation.yaml
  hub_dir: $CS/hub/
  index_path: $CS/hub/.index.json
db_config:
  type: sqlite
  db_path: $CS/data/crowdsec.db
  use_wal: true
api:
  client:
    credentials_path: $CS/etc/local_api_credentials.yaml
  server:
    listen_uri: 127.0.0.1:$LAPI_PORT
    profiles_path: $CS/etc/profiles.yaml
prometheus:
  enabled: false
YAML
printf 'simulation: off\n' > "$CS/etc/simulation.yaml"
cp /etc/crowdsec/profiles.yaml "$CS/etc/"
mkdir -p "$CS/hub"; echo '{}' > "$CS/hub/.index.json"
cscli146() { inv /usr/bin/cscli -c "$CS/etc/config.yaml" --branch master "$@" 2>>"$TMPD/cscli.log"; }

LAPI_PID=
lapi_start() {
	nsenter --net=/run/netns/$NSV crowdsec -c "$CS/etc/config.yaml" -no-cs >>"$TMPD/lapi.log" 2>&1 &
	LAPI_PID=$!
	wait_for 20 inv bash -c "echo > /dev/tcp/127.0.0.1/$LAPI_PORT" >/dev/null 2>&1
}
lapi_stop() { [ -n "$LAPI_PID" ] && kill -KILL "$LAPI_PID" 2>/dev/null; wait "$LAPI_PID" 2>/dev/null; LAPI_PID=; }
lapi_bouncer_key() { cscli146 -oraw bouncers add "xdp-e2e-$ID"; }
lapi_add() { cscli146 decisions add "$@" >/dev/null; }
lapi_del_ip() {
	if [[ $1 == */* ]]; then cscli146 decisions delete --range "$1" >/dev/null
	else cscli146 decisions delete --ip "$1" >/dev/null; fi
}
lapi_del_id() { cscli146 decisions delete --id "$1" >/dev/null; }
lapi_ids() { cscli146 decisions list -o json | jq -r --arg v "$1" '.[]?.decisions[]? | select(.value == $v) | .id'; }

/usr/bin/cscli -c "$CS/etc/config.yaml" --branch master machines add e2e --auto --force \
	-f "$CS/etc/local_api_credentials.yaml" >/dev/null 2>>"$TMPD/cscli.log"
e2e_run
summary
