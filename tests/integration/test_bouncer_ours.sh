#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# crowdsec-xdp-bouncer against our own Local API (crowdsec -no-cs) and cscli: the
# end-to-end scenario of tests/lib/bouncer_e2e.sh, plus `cscli bouncers list`
# showing the bouncer's version and last pull.
. "$(dirname "$0")/../lib/harness.sh"
need_root "bouncer e2e vs our LAPI" 61
. "$(dirname "$0")/../lib/bouncer_e2e.sh"
trap e2e_cleanup EXIT INT TERM

CS=$TMPD/cs
mkdir -p "$CS/etc" "$CS/data"
cs_config "$CS/etc" "$CS/data" "127.0.0.1:$LAPI_PORT"
cscli_ours() { inv "$BUILD/cscli" -c "$CS/etc/config.yaml" "$@" 2>>"$TMPD/cscli.log"; }

LAPI_PID=
lapi_start() {
	nsenter --net=/run/netns/$NSV "$BUILD/crowdsec" -c "$CS/etc/config.yaml" -no-cs >>"$TMPD/lapi.log" 2>&1 &
	LAPI_PID=$!
	wait_for 20 inv bash -c "echo > /dev/tcp/127.0.0.1/$LAPI_PORT" >/dev/null 2>&1
}
lapi_stop() { [ -n "$LAPI_PID" ] && kill -KILL "$LAPI_PID" 2>/dev/null; wait "$LAPI_PID" 2>/dev/null; LAPI_PID=; }
lapi_bouncer_key() { cscli_ours -o raw bouncers add "xdp-e2e-$ID"; }
lapi_add() { cscli_ours decisions add "$@" >/dev/null; }
lapi_del_ip() {
	if [[ $1 == */* ]]; then cscli_ours decisions delete --range "$1" >/dev/null
	else cscli_ours decisions delete --ip "$1" >/dev/null; fi
}
lapi_del_all() { cscli_ours decisions delete --all >/dev/null; }
lapi_del_id() { cscli_ours decisions delete --id "$1" >/dev/null; }
lapi_ids() { cscli_ours decisions list -o json | jq -r --arg v "$1" '.[]?.decisions[]? | select(.value == $v) | .id'; }

"$BUILD/cscli" -c "$CS/etc/config.yaml" machines add e2e --auto --force \
	-f "$CS/etc/local_api_credentials.yaml" >/dev/null 2>>"$TMPD/cscli.log"
e2e_run
# the LAPI knows who pulled: version from the User-Agent, last pull time
lapi_start
bl=$(cscli_ours bouncers list -o json)
check "cscli bouncers list: our version" bash -c "jq -e '.[] | select(.name == \"xdp-e2e-$ID\") | .version | test(\"v0.1\")' <<<'$bl' >/dev/null"
check "cscli bouncers list: last pull recorded" bash -c "jq -e '.[] | select(.name == \"xdp-e2e-$ID\") | .last_pull | length > 0' <<<'$bl' >/dev/null"
lapi_stop
e2e_guard_run
summary
