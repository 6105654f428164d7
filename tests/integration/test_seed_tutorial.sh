#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CrowdSec's getting-started tutorial, automated in network namespaces:
#  victim     Debian's nginx serving a page, sshd, our crowdsec (detector + LAPI, the
#             shipped config.yaml) with the hub collections crowdsecurity/linux and
#             crowdsecurity/nginx installed by cscli from a local hub mirror, the
#             private ranges whitelisted as the wizard does (the hub's whitelists, and
#             the test's own 198.18.0.0/16; the attacker is in 198.19.0.0/16), and
#             crowdsec-xdp-bouncer on both of its links;
#  attacker   wapiti (Debian's) scans the site;
#  bystander  curl every 100 ms throughout, which must never miss.
# As the tutorial shows: the scan's scenarios in `cscli alerts list`, `cscli alerts
# inspect -d` with its events, the ban in `cscli decisions list`, the attacker's curl
# timing out, `cscli metrics` with acquisition/parser/bucket lines, then `cscli
# decisions delete -i` and the attacker's curl working again. Once with the XDP data
# plane, once in nftables mode (the attacker on a fresh address: the first scan's
# buckets are blackholed). Prints the time from the first scan request to the first
# dropped packet (the attacker pings the victim every 20 ms meanwhile).
set -u
. "$(dirname "$0")/../lib/harness.sh"
. "$REPO_DIR/tests/lib/hub_mirror.sh"
NCHECKS=41
need_root "the tutorial" $NCHECKS
need_hub $NCHECKS
need_tools $NCHECKS nginx /usr/sbin/sshd wapiti curl python3 nft ping

ID=$(($$ % 100000))
NSV=ctv$ID NSA=cta$ID NSB=ctb$ID
VA=ctva$ID AA=ctaa$ID VB=ctvb$ID BB=ctbb$ID
V_A=198.19.66.1 V_B=198.18.66.1 BYST=198.18.66.10
PIN=/sys/fs/bpf/cs-tutorial-$ID
T=$(mktemp -d /tmp/test_tutorial.XXXXXX)
chmod 755 "$T" # nginx's workers read the site as www-data
E=$T/etc D=$T/data L=$T/log
B=$BUILD/crowdsec-xdp-bouncer
pids=()
BOUNCER=
cleanup() {
	local p
	[ -n "$BOUNCER" ] && kill -TERM "$BOUNCER" 2>/dev/null && wait "$BOUNCER" 2>/dev/null
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$B" --pin-dir "$PIN" xdp uninstall >/dev/null 2>&1
	if [ "$T_FAIL" -gt 0 ]; then
		for p in crowdsec.log bouncer.log cscli.log wapiti-xdp.log wapiti-nftables.log; do
			[ -s "$T/$p" ] && { echo "--- $p" && tail -n 15 "$T/$p"; } >&2
		done
	fi
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
	ip netns del "$NSV" 2>/dev/null # its links, and nft tables, go with it
	[ -n "${KEEP_TMP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT INT TERM

# (a process started in the background through these functions would be a subshell,
# and $! its pid: background ones use nsenter directly)
inv() { nsenter --net="/run/netns/$NSV" "$@"; }
ina() { nsenter --net="/run/netns/$NSA" "$@"; }
inb() { nsenter --net="/run/netns/$NSB" "$@"; }
now_ms() { date +%s%3N; }

# ---- the three namespaces: attacker and bystander each on a link of the victim ----
netns() {
	ip netns add "$NSV" && ip netns add "$NSA" && ip netns add "$NSB" &&
		ip link add "$AA" netns "$NSA" type veth peer name "$VA" netns "$NSV" &&
		ip link add "$BB" netns "$NSB" type veth peer name "$VB" netns "$NSV" &&
		ip -n "$NSV" addr add $V_A/24 dev "$VA" && ip -n "$NSV" addr add $V_B/24 dev "$VB" &&
		ip -n "$NSA" addr add 198.19.66.10/24 dev "$AA" && ip -n "$NSB" addr add $BYST/24 dev "$BB" &&
		for ns in "$NSV" "$NSA" "$NSB"; do ip -n "$ns" link set lo up || return 1; done &&
		ip -n "$NSV" link set "$VA" up && ip -n "$NSV" link set "$VB" up &&
		ip -n "$NSA" link set "$AA" up && ip -n "$NSB" link set "$BB" up
}
netns || { fail "network namespaces"; summary; exit 1; }

# ---- the victim's services ------------------------------------------------------
mkdir -p "$L/nginx" "$T/www/app" "$T/nginx" "$E" "$D"
cat >"$T/www/index.html" <<'HTML'
<html><body><h1>victim</h1>
<a href="/app/search.html?q=shoes&page=1">search</a> <a href="/app/about.html">about</a>
<form action="/app/login.html" method="get"><input name="user"><input name="pass"></form>
</body></html>
HTML
cp "$T/www/index.html" "$T/www/app/search.html"
cp "$T/www/index.html" "$T/www/app/login.html"
echo '<html><body>about</body></html>' >"$T/www/app/about.html"
# first.log: when each request came, to the millisecond (the combined log has seconds)
cat >"$T/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $L/nginx/error.log;
events { worker_connections 512; }
http {
	log_format msec '\$msec \$remote_addr';
	access_log $L/nginx/access.log combined;
	access_log $T/nginx/first.log msec;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	server {
		listen 80;
		root $T/www;
		index index.html;
	}
}
NGINX
nsenter --net="/run/netns/$NSV" nginx -e "$L/nginx/error.log" -c "$T/nginx/nginx.conf" -g 'daemon off;' >>"$T/nginx.out" 2>&1 &
pids+=($!)
# sshd logs through syslog on a real machine; here its stderr is stamped as syslog
# writes it. /run/sshd (its privilege separation directory) in a private /run.
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh_host_key" </dev/null
stamp() { while IFS= read -r l; do printf '%s victim sshd[%s]: %s\n' "$(date '+%b %e %H:%M:%S')" "$1" "$l"; done; }
nsenter --net="/run/netns/$NSV" unshare -m --propagation private sh -c 'mount -t tmpfs none /run && mkdir -m 755 /run/sshd && exec "$@"' sshd \
	/usr/sbin/sshd -D -e -o "HostKey=$T/ssh_host_key" -o PidFile=none -o UsePAM=no \
	2> >(stamp $ID >>"$L/auth.log") &
pids+=($!)

# ---- crowdsec as installed: the shipped configuration, paths moved under $T ---------
sed -e "s#/etc/crowdsec/#$E/#g; s#/var/lib/crowdsec/data/#$D/#g" \
	-e "s#^cscli:#cscli:\n  hub_url: http://127.0.0.1:8081\n  hub_data_url: http://127.0.0.1:8081/data#" \
	"$REPO_DIR/config/crowdsec/config.yaml" >"$E/config.yaml"
cp "$REPO_DIR/config/crowdsec/simulation.yaml" "$REPO_DIR/config/profiles.yaml" "$E/"
mkdir -p "$E/patterns" "$E/acquis.d"
for f in "$REPO_DIR"/config/patterns/*; do case $f in *.md) ;; *) cp -r "$f" "$E/patterns/" ;; esac; done
cat >"$E/acquis.yaml" <<YAML
filenames:
  - $L/nginx/*.log
labels:
  type: nginx
---
filenames:
  - $L/auth.log
labels:
  type: syslog
YAML
CSCLI="$BUILD/cscli -c $E/config.yaml"
cs() { inv $CSCLI "$@" 2>>"$T/cscli.log"; }

# the hub mirror, inside the victim's namespace (its loopback is its own: no port to share)
hub_mirror "$T/mirror" || { fail "hub mirror"; summary; exit 1; }
nsenter --net="/run/netns/$NSV" python3 -m http.server 8081 --bind 127.0.0.1 --directory "$T/mirror" >/dev/null 2>&1 &
pids+=($!)
wait_until 10 inv curl -sf -o /dev/null http://127.0.0.1:8081/.index.json
check "cscli hub update from the mirror" cs hub update
check "cscli collections install crowdsecurity/linux crowdsecurity/nginx" \
	cs collections install crowdsecurity/linux crowdsecurity/nginx >>"$T/cscli.log"
# the wizard's whitelist of private ranges, and the test's own range beside it
cs parsers install crowdsecurity/whitelists >/dev/null
cat >"$E/parsers/s02-enrich/tutorial-whitelist.yaml" <<YAML
name: tutorial/whitelist
description: the test's private range (the bystander); the attacker is in 198.19.0.0/16
whitelist:
  reason: test network
  cidr:
    - 198.18.0.0/16
YAML
installed=$(cs collections list -o raw)
check "collections installed and enabled" bash -c "grep -q 'crowdsecurity/nginx,enabled' <<<'$installed' &&
	grep -q 'crowdsecurity/linux,enabled' <<<'$installed'"
cs machines add tutorial --auto --force -f "$E/local_api_credentials.yaml" >/dev/null
check "crowdsec -t accepts the configuration" inv "$BUILD/crowdsec" -c "$E/config.yaml" -t >"$T/crowdsec-t.log" 2>&1
nsenter --net="/run/netns/$NSV" "$BUILD/crowdsec" -c "$E/config.yaml" >>"$T/crowdsec.log" 2>&1 &
CS_PID=$!
pids+=($CS_PID)
# the LAPI answers first; the detector then loads the hub's 60 scenarios and its files
check "crowdsec (detector + LAPI) up" wait_until 60 bash -c "grep -q 'detector ready' '$T/crowdsec.log' &&
	nsenter --net=/run/netns/$NSV curl -sf -o /dev/null http://127.0.0.1:8080/health"
check "nginx serves the page" wait_until 10 inv curl -sf -o /dev/null http://$V_A/
check "sshd listens" wait_until 10 inv bash -c 'exec 3<>/dev/tcp/127.0.0.1/22'
KEY=$(cs -o raw bouncers add tutorial-bouncer)

# ---- the bystander: curl every 100 ms (at most 3000: 5 minutes), a connection each ---
# one line per request: its HTTP code, 000 when it missed
nsenter --net="/run/netns/$NSB" stdbuf -oL curl -s -o /dev/null -m 3 --rate 10/s -H 'Connection: close' \
	-w '%{http_code}\n' "http://$V_B/?n=[1-3000]" >"$T/bystander" 2>/dev/null &
pids+=($!)
# and a login attempt on sshd: the tutorial's other service, read through syslog
inb ssh -n -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o ConnectTimeout=5 root@$V_B true >/dev/null 2>&1

# ---- the bouncer, then the scan -----------------------------------------------------
bouncer_start() { # MODE
	cat >"$T/bouncer.yaml" <<YAML
api_url: http://127.0.0.1:8080/
api_key: $KEY
update_frequency: 200ms
mode: $1
interfaces: [$VA, $VB]
pin_path: $PIN
keep_on_stop: false
log_level: info
prometheus:
  enabled: false
YAML
	: >"$T/bouncer.log"
	nsenter --net="/run/netns/$NSV" "$B" -c "$T/bouncer.yaml" >>"$T/bouncer.log" 2>&1 &
	BOUNCER=$!
	wait_until 20 grep -q "startup pull applied" "$T/bouncer.log"
}
bouncer_stop() {
	kill -TERM "$BOUNCER" 2>/dev/null
	wait "$BOUNCER" 2>/dev/null
	BOUNCER=
}
attacker_curl() { ina curl -s -o /dev/null -m "${1:-2}" http://$V_A/; }
attacker_times_out() { ! attacker_curl 1; }
banned() { cs decisions list -o json | grep -q "\"value\": *\"$1\""; }
bystander_ok() { [ "$(grep -vc '^200$' "$T/bystander")" = 0 ]; }

# tutorial MODE ATTACKER: one scan from ATTACKER, the ban, cscli's views, the unban
tutorial() {
	local mode=$1 a=$2 wp pp first drop id n0 seen
	bouncer_start "$mode" && pass "$mode: bouncer started" || { fail "$mode: bouncer start"; return; }
	check "$mode: the attacker's curl works before the scan" attacker_curl
	n0=$(wc -l <"$T/bystander")
	seen=$(wc -l <"$T/nginx/first.log")
	# the attacker's ping every 20 ms: its first unanswered echo is the first drop
	nsenter --net="/run/netns/$NSA" ping -n -D -O -i 0.02 -W 1 -c 6000 $V_A >"$T/ping.$mode" 2>&1 &
	pp=$!
	pids+=($pp)
	# wapiti, bounded: a few modules, short timeouts, a scan-time cap; its session
	# and report under $T (HOME), no bug reports sent
	HOME=$T/home-$mode nsenter --net="/run/netns/$NSA" timeout 120 wapiti -u "http://$V_A/" --flush-session --no-bugreport \
		-m nikto,backup,htaccess,file,sql,xss -d 2 -t 2 --max-scan-time 90 -v 0 \
		-o "$T/wapiti-$mode" >"$T/wapiti-$mode.log" 2>&1 &
	wp=$!
	pids+=($wp)
	check "$mode: the scan is banned (cscli decisions list)" wait_until 90 banned "$a"
	check "$mode: the attacker's curl times out" wait_until 10 attacker_times_out
	kill -TERM "$wp" 2>/dev/null
	kill -INT "$pp" 2>/dev/null
	wait "$pp" "$wp" 2>/dev/null
	first=$(awk -v a="$a" -v n="$seen" 'NR > n && $2 == a { printf "%.0f\n", $1 * 1000; exit }' "$T/nginx/first.log")
	# "[epoch.us] no answer yet for icmp_seq=N" comes at the next send: 20 ms late
	drop=$(sed -n 's/^\[\([0-9]*\)\.\([0-9]\{3\}\).*no answer yet.*/\1\2/p' "$T/ping.$mode" | head -n1)
	if [ -n "$first" ] && [ -n "$drop" ]; then
		pass "$mode: first scan request to first dropped packet: $((drop - 20 - first)) ms"
	else
		fail "$mode: time to first drop (first request '$first', first drop '$drop')"
	fi

	# what the tutorial shows
	local alerts ins dec met
	alerts=$(cs alerts list)
	check "$mode: cscli alerts list names the attacker and an http scenario" \
		bash -c "grep '$a' <<<'$alerts' | grep -q 'crowdsecurity/http-'"
	printf '%s\n' "$alerts" | sed -n '1,12p'
	id=$(cs alerts list -o json | jq -r --arg a "$a" '[.[] | select(.source.value == $a)][0].id')
	ins=$(cs alerts inspect -d "$id")
	check "$mode: cscli alerts inspect -d shows the alert's events" \
		bash -c "grep -q ' - Events  :' <<<'$ins' && grep -q 'http_path' <<<'$ins' && grep -q '$a' <<<'$ins'"
	dec=$(cs decisions list)
	check "$mode: cscli decisions list shows the ban" bash -c "grep 'Ip:$a' <<<'$dec' | grep -q ban"
	printf '%s\n' "$dec"
	met=$(cs metrics)
	check "$mode: cscli metrics: acquisition of the nginx log" bash -c "grep -A12 'Acquisition Metrics' <<<'$met' | grep -q 'file:.*/nginx/acc'"
	check "$mode: cscli metrics: the nginx parser" bash -c "grep -A30 'Parser Metrics' <<<'$met' | grep -q 'crowdsecurity/nginx-logs'"
	check "$mode: cscli metrics: an http scenario's bucket" bash -c "grep -A30 'Scenario Metrics' <<<'$met' | grep -q 'crowdsecurity/http-'"
	check "$mode: the attacker's curl still times out" attacker_times_out
	check "$mode: the bystander kept working while the attacker was banned" \
		test "$(wc -l <"$T/bystander")" -gt "$n0"

	cs decisions delete -i "$a" >/dev/null
	check "$mode: after cscli decisions delete -i, the attacker's curl works again" wait_until 10 attacker_curl
	bouncer_stop
}

tutorial xdp 198.19.66.10
check "xdp: the bouncer's stop took XDP off both links" bash -c "! ip -n $NSV link show | grep -q xdp"
# nftables: the attacker comes back from a fresh address
ip -n "$NSA" addr del 198.19.66.10/24 dev "$AA"
ip -n "$NSA" addr add 198.19.66.11/24 dev "$AA"
tutorial nftables 198.19.66.11
check "nftables: the bouncer removed its tables" bash -c "! nsenter --net=/run/netns/$NSV nft list tables | grep -q crowdsec"

check "the bystander never missed a request ($(wc -l <"$T/bystander") requests)" bystander_ok
met=$(cs metrics)
check "cscli metrics: sshd's log read" bash -c "grep -A12 'Acquisition Metrics' <<<'$met' | grep -q 'file:.*/auth.log'"
check "cscli metrics: sshd's lines parsed" bash -c "grep -A30 'Parser Metrics' <<<'$met' | grep -q 'crowdsecurity/sshd-logs'"
check "crowdsec still running" kill -0 "$CS_PID"
summary
