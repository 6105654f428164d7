# SPDX-License-Identifier: MIT
# The LAPI hooks of tests/lib/bouncer_e2e.sh for our own LAPI (crowdsec -no-cs in the
# victim netns, its database in $TMPD/cs) and cscli (cscli_ours), with a machine
# registered. Source after bouncer_e2e.sh.
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
