#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cscli hub / collections / parsers / scenarios against a hub mirror of
# $SHARED_DIR/hub (its real .index.json) served on 127.0.0.1 by a python http.server
# this test starts: update, install with dependencies and data, list, taint,
# upgrade, remove/purge, dry-run, and the failures that must leave nothing behind
# (digest mismatch, server down, truncated download, bad index, unknown item,
# wrong type, no hub_dir). Also cscli explain on the installed parsers.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/harness.sh"
. "$here/../lapi/lapi_lib.sh"
. "$here/../lib/hub_mirror.sh"
CSCLI=$BUILD/cscli
HUB=${SHARED_DIR:-}/hub
if [ -z "${SHARED_DIR:-}" ] || [ ! -f "$HUB/.index.json" ]; then
	skip "no hub mirror (SHARED_DIR unset or without hub/.index.json)"
	summary
	exit 0
fi
command -v python3 >/dev/null || skip_all "python3 missing"

T=$(mktemp -d /tmp/test_cscli_hub.XXXXXX)
pids=()
cleanup() {
	# serve runs in $(...): its servers' pids come back through a file
	for p in "${pids[@]}" $(cat "$T/server.pids" 2>/dev/null); do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# serve DIR -> port: a static server on a free loopback port, waited for
serve() {
	local dir=$1 port
	port=$(free_port $((18700 + RANDOM % 200)))
	python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >/dev/null 2>&1 &
	echo $! >>"$T/server.pids"
	wait_http "http://127.0.0.1:$port/" || { echo "server on $port did not start" >&2; return 1; }
	echo "$port"
}

# The mirror: the shared hub plus GeoLite2 test databases
M=$T/mirror
hub_mirror "$M" || { fail "hub mirror (mkmmdb)"; summary; exit 1; }
port=$(serve "$M") || { fail "hub mirror server"; summary; exit 1; }

# conf DIR URL [DATA_URL]: a CrowdSec config.yaml using DIR and the hub at URL
conf() {
	local d=$1 url=$2 data=${3:-$2/data}
	mkdir -p "$d/data"
	cat >"$d/config.yaml" <<YAML
config_paths:
  config_dir: $d/
  data_dir: $d/data/
  hub_dir: $d/hub/
  index_path: $d/hub/.index.json
cscli:
  output: human
  hub_url: $url
  hub_data_url: $data
YAML
}
D=$T/etc
conf "$D" "http://127.0.0.1:$port"
cs() { "$CSCLI" -c "$D/config.yaml" "$@"; }
qcs() { cs "$@" >/dev/null 2>&1; }
# snapshot DIR: every path with its link target or content hash, to prove "nothing changed"
snapshot() {
	(cd "$1" && find . \( -path ./hub/.index.json -o -path ./config.yaml -o -name .cscli.lock \) -prune -o -print0 | sort -z |
		xargs -0 -I{} sh -c 'if [ -L "{}" ]; then echo "{} -> $(readlink "{}")"; elif [ -f "{}" ]; then echo "{} $(sha256sum <"{}" | cut -c1-16)"; else echo "{}"; fi')
}

# ---- update -----------------------------------------------------------------------------
out=$(cs collections list 2>&1); rc=$?
check "before update: non-zero exit" [ $rc -ne 0 ]
check "before update: says to run hub update" grep -q "cscli hub update" <<<"$out"
check "hub update" qcs hub update
check "index written" cmp -s "$D/hub/.index.json" "$HUB/.index.json"
check_eq "second update: up to date" "$(cs hub update 2>&1 | grep -c 'up to date')" 1

# ---- install with dependencies and data --------------------------------------------------
out=$(cs collections install crowdsecurity/nginx --dry-run 2>&1)
check "dry-run prints the plan" grep -q "crowdsecurity/nginx-logs" <<<"$out"
check "dry-run installs nothing" [ ! -e "$D/collections/nginx.yaml" ] && [ ! -e "$D/hub/collections" ]
out=$(cs collections install crowdsecurity/nginx 2>&1)
check "install crowdsecurity/nginx" [ $? -eq 0 ]
check "reload hint" grep -q "systemctl reload crowdsec" <<<"$out"
check "parser enabled as a link into the hub copy" \
	[ "$(readlink "$D/parsers/s01-parse/nginx-logs.yaml")" = "$D/hub/parsers/s01-parse/crowdsecurity/nginx-logs.yaml" ]
check "sub-collection enabled" [ -L "$D/collections/base-http-scenarios.yaml" ]
check "scenario of a sub-sub-collection enabled" [ -L "$D/scenarios/CVE-2022-26134.yaml" ]
check "context enabled" [ -L "$D/contexts/http_base.yaml" ]
check "data file from hub_data_url" cmp -s "$D/data/http_path_traversal.txt" "$HUB/data/http_path_traversal.txt"
check "every enabled file matches the shared hub" sh -c "
	for l in $D/parsers/*/*.yaml $D/scenarios/*.yaml $D/collections/*.yaml; do
		t=\$(readlink -f \"\$l\"); cmp -s \"\$t\" \"$HUB/\${t#$D/hub/}\" || exit 1; done"
check "no temporary file left" [ -z "$(find "$D" -name '.*cscli*' ! -name .cscli.lock)" ]
json=$(cs collections list -o json)
check "list -o json: nginx enabled" python3 -c '
import json,sys; d=json.load(sys.stdin)
it=[i for i in d["collections"] if i["name"]=="crowdsecurity/nginx"][0]
assert it["status"]=="enabled" and it["local_version"]=="0.3", it' <<<"$json"
check "list human: a table with the path" sh -c "cs() { \"$CSCLI\" -c \"$D/config.yaml\" \"\$@\"; }; cs parsers list | grep -q 'nginx-logs.*enabled.*s01-parse/nginx-logs.yaml'"
check "list raw: CSV header" sh -c "\"$CSCLI\" -c \"$D/config.yaml\" -o raw scenarios list | head -1 | grep -qx 'name,status,version,description'"
out=$(cs collections install crowdsecurity/nginx 2>&1)
check "install again: nothing to do" grep -q "Nothing to install or remove" <<<"$out"

out=$(cs collections install crowdsecurity/linux 2>&1)
check "install crowdsecurity/linux" [ $? -eq 0 ]
check "linux: syslog parser in s00-raw" [ -L "$D/parsers/s00-raw/syslog-logs.yaml" ]
check "linux: postoverflow in its stage" [ -L "$D/postoverflows/s01-whitelist/cdn-whitelist.yaml" ]
check "linux: ssh-bf" [ -L "$D/scenarios/ssh-bf.yaml" ]
check "linux: GeoLite2 data" [ -s "$D/data/GeoLite2-City.mmdb" ] && [ -s "$D/data/GeoLite2-ASN.mmdb" ]
check "linux: whitelist data" cmp -s "$D/data/cloudflare_ips.txt" "$HUB/data/cloudflare_ips.txt"

# ---- one cscli at a time ------------------------------------------------------------------------
if command -v flock >/dev/null; then
	# held until released below, whatever the machine's load; cscli must not
	# inherit fd 9, or closing ours would not release the lock
	exec 9>"$D/hub/.cscli.lock"
	flock 9
	cs collections list >"$T/locked.out" 2>&1 9>&- &
	lk=$!
	pids+=("$lk")
	check "a second cscli says it waits for the hub lock" \
		wait_until 30 grep -qs "another cscli is changing the hub.*waiting" "$T/locked.out"
	check "it has not listed while the lock is held" sh -c '! grep -q crowdsecurity/nginx "$0"' "$T/locked.out"
	exec 9>&-
	wait "$lk"
	check_eq "once the lock is released, it works: exit code" "$?" 0
	check "once the lock is released, it lists the collections" grep -q "crowdsecurity/nginx" "$T/locked.out"
fi

# ---- inspect ---------------------------------------------------------------------------------
check "inspect -o json" sh -c "\"$CSCLI\" -c \"$D/config.yaml\" -o json scenarios inspect crowdsecurity/ssh-bf |
	python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"installed\"] and not d[\"tainted\"] and \"crowdsecurity/sshd\" in d[\"belongs_to_collections\"]'"
check "inspect human (YAML)" sh -c "\"$CSCLI\" -c \"$D/config.yaml\" scenarios inspect crowdsecurity/ssh-bf | grep -q '^installed: true'"

# ---- explain ----------------------------------------------------------------------------------
out=$(cs explain --log '198.18.7.7 - - [04/Dec/2026:10:00:00 +0000] "GET /.env HTTP/1.1" 404 12 "-" "curl/8"' --type nginx 2>&1)
check "explain: s01-parse nginx-logs succeeded" grep -q "🟢 crowdsecurity/nginx-logs" <<<"$out"
check "explain: parser success" grep -q "parser success" <<<"$out"
check "explain: poured into http-probing" grep -q "🟢 crowdsecurity/http-probing" <<<"$out"
out=$(cs explain -v --log 'Dec  4 10:00:00 host sshd[12]: Failed password for root from 198.18.3.4 port 22 ssh2' --type syslog 2>&1)
check "explain -v: sshd-logs succeeded" grep -q "🟢 crowdsecurity/sshd-logs" <<<"$out"
check "explain -v: the field it set" grep -q "create evt.Meta.source_ip : 198.18.3.4" <<<"$out"
check "explain: ssh-bf reached" grep -q "crowdsecurity/ssh-bf" <<<"$out"
out=$(cs explain --log 'garbage line' --type nginx 2>&1)
check "explain: a line no parser takes is a parser failure" grep -q "parser failure" <<<"$out"
out=$(cs explain --log x 2>&1); rc=$?
check "explain without --type: usage error" [ $rc -eq 2 ]

# ---- taint -------------------------------------------------------------------------------------
echo "# local edit" >>"$(readlink -f "$D/scenarios/http-probing.yaml")"
out=$(cs collections inspect crowdsecurity/nginx --diff 2>&1)
check "inspect --diff: the edit, member by member" grep -q '^-# local edit' <<<"$out"
json=$(cs scenarios list -o json)
check "edited scenario is tainted" python3 -c '
import json,sys; d=json.load(sys.stdin)
it=[i for i in d["scenarios"] if i["name"]=="crowdsecurity/http-probing"][0]
assert "tainted" in it["status"], it' <<<"$json"
check "taint spreads to the collection" sh -c "\"$CSCLI\" -c \"$D/config.yaml\" -o raw collections list | grep -q '^crowdsecurity/nginx,\"enabled,tainted\"'"
out=$(cs scenarios remove crowdsecurity/http-probing --force 2>&1)
check "remove a tainted item needs --force and works with it" [ ! -e "$D/scenarios/http-probing.yaml" ]
check "install --force restores the hub's version" qcs scenarios install crowdsecurity/http-probing --force
check "not tainted after --force" sh -c "\"$CSCLI\" -c \"$D/config.yaml\" -o raw scenarios list crowdsecurity/http-probing | grep -q '^crowdsecurity/http-probing,enabled,'"

# ---- local item ----------------------------------------------------------------------------------
printf 'name: me/custom\ntype: trigger\nfilter: "1 == 2"\n' >"$D/scenarios/custom.yaml"
check "a local file is a local item" sh -c "\"$CSCLI\" -c \"$D/config.yaml\" -o raw scenarios list | grep -q '^me/custom,\"enabled,local\"'"
rm "$D/scenarios/custom.yaml"

# ---- failures leave the previous state ----------------------------------------------------------------
before=$(snapshot "$D")
# install_fails WHAT HUB_URL PATTERN: with the hub at HUB_URL, installing a collection
# fails, its output matches PATTERN (grep -i) and nothing changed
install_fails() {
	sed -i "s#hub_url: .*#hub_url: $2#" "$D/config.yaml"
	out=$(cs collections install crowdsecurity/apache2 2>&1); rc=$?
	check "$1: non-zero exit" [ $rc -ne 0 ]
	check "$1: says why" grep -qi "$3" <<<"$out"
	check_eq "$1: nothing changed" "$(snapshot "$D")" "$before"
}
B=$T/bad; mkdir -p "$B"; cp -r "$HUB/." "$B/"
echo "# changed" >>"$B/parsers/s01-parse/crowdsecurity/apache2-logs.yaml"
install_fails "digest mismatch" "http://127.0.0.1:$(serve "$B")" \
	"parsers:crowdsecurity/apache2-logs: hash mismatch"
install_fails "server down" "http://127.0.0.1:1" "127.0.0.1:1.*onnect"
out=$(cs hub update 2>&1); rc=$?
check "hub update with the server down fails" [ $rc -ne 0 ]
check "hub update failure keeps the index" cmp -s "$D/hub/.index.json" "$HUB/.index.json"
# truncated download: a server that announces more bytes than it sends
tport=$(free_port $((18900 + RANDOM % 90)))
python3 - "$tport" "$HUB" <<'PY' >/dev/null 2>&1 &
import http.server, sys, os
hub = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        p = os.path.join(hub, self.path.lstrip("/"))
        if not os.path.isfile(p):
            self.send_response(404); self.end_headers(); return
        body = open(p, "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # every item is cut short: the client must notice
        self.wfile.write(body if p.endswith(".index.json") else body[: len(body) // 2])
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
pids+=($!)
wait_http "http://127.0.0.1:$tport/.index.json"
install_fails "truncated download" "http://127.0.0.1:$tport" "truncated\|partial"
# a data file that does not download (404 from hub_data_url)
sed -i "s#hub_url: http://127.0.0.1:$tport#hub_url: http://127.0.0.1:$port#; s#hub_data_url: .*#hub_data_url: http://127.0.0.1:$port/nodata#" "$D/config.yaml"
rm -f "$D/data/backdoors.txt"
out=$(cs scenarios remove crowdsecurity/http-backdoors-attempts --force --purge >/dev/null 2>&1; cs scenarios install crowdsecurity/http-backdoors-attempts 2>&1); rc=$?
check "data file 404: non-zero exit naming the file" sh -c '[ $0 -ne 0 ] && grep -q "backdoors.txt.*404"' $rc <<<"$out"
check "data file 404: the scenario stays disabled" [ ! -e "$D/scenarios/http-backdoors-attempts.yaml" ]
sed -i "s#hub_data_url: .*#hub_data_url: http://127.0.0.1:$port/data#" "$D/config.yaml"
check "and installs once the data is there" qcs scenarios install crowdsecurity/http-backdoors-attempts
before=$(snapshot "$D")

# a full disk: the data directory on a 32 KiB tmpfs (private mount namespace)
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	F=$T/full; conf "$F" "http://127.0.0.1:$port"
	cp "$D/hub/.index.json" "$T/index.copy"; mkdir -p "$F/hub"; cp "$T/index.copy" "$F/hub/.index.json"
	fbefore=$(snapshot "$F")
	out=$(unshare -m bash -c "mount -t tmpfs -o size=32k tmpfs '$F/data' && '$CSCLI' -c '$F/config.yaml' collections install crowdsecurity/nginx" 2>&1); rc=$?
	check "full disk: non-zero exit" [ $rc -ne 0 ]
	check "full disk: says so" grep -qi "no space left" <<<"$out"
	check_eq "full disk: nothing changed" "$(snapshot "$F")" "$fbefore"
else
	skip "full disk: needs root and unshare" 3
fi

# ---- bad input ----------------------------------------------------------------------------------------
out=$(cs collections install crowdsecurity/nginxx 2>&1); rc=$?
check "unknown item: exit 1, suggestion" sh -c '[ $0 -eq 1 ] && grep -q "can.t find .crowdsecurity/nginxx. in collections, did you mean .crowdsecurity/nginx." ' $rc <<<"$out"
out=$(cs parsers install crowdsecurity/nginx 2>&1); rc=$?
check "wrong type: exit 1, names the right type" sh -c '[ $0 -eq 1 ] && grep -q "is a collection"' $rc <<<"$out"
check_eq "bad input: nothing changed" "$(snapshot "$D")" "$before"
E=$T/etc2; conf "$E" "http://127.0.0.1:$port"; sed -i '/hub_dir/d; /index_path/d' "$E/config.yaml"
out=$("$CSCLI" -c "$E/config.yaml" hub update 2>&1); rc=$?
check "no hub_dir: clear error" sh -c '[ $0 -ne 0 ] && grep -q "hub_dir is not set"' $rc <<<"$out"
N=$T/notjson; mkdir -p "$N"; echo 'not json' >"$N/.index.json"; nport=$(serve "$N")
E=$T/etc3; conf "$E" "http://127.0.0.1:$nport"
out=$("$CSCLI" -c "$E/config.yaml" hub update 2>&1); rc=$?
check "index not JSON: refused" sh -c '[ $0 -ne 0 ] && grep -q "not a valid hub index"' $rc <<<"$out"
check "index not JSON: not written" [ ! -e "$E/hub/.index.json" ]
echo '{"parsers": {"a/b": {"version": "1.0"}}}' >"$N/.index.json"
out=$("$CSCLI" -c "$E/config.yaml" hub update 2>&1); rc=$?
check "index of the wrong shape: refused naming the item" sh -c '[ $0 -ne 0 ] && grep -q "parsers:a/b has no valid download path"' $rc <<<"$out"
echo '["x"]' >"$N/.index.json"
out=$("$CSCLI" -c "$E/config.yaml" hub update 2>&1); rc=$?
check "index that is a list: refused" sh -c '[ $0 -ne 0 ] && grep -q "not a JSON object"' $rc <<<"$out"

# ---- upgrade -------------------------------------------------------------------------------------------
# make the installed nginx collection an old version: its hub copy holds 0.2's content? We have no
# old content, so fake an index whose latest nginx-logs is a new version with the current digest.
cp "$D/hub/.index.json" "$T/index.saved"
python3 - "$D/hub/.index.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p))
it = d["parsers"]["crowdsecurity/nginx-logs"]
cur = it["versions"][it["version"]]["digest"]
it["versions"]["0.1"]["digest"] = cur      # the installed file is "0.1" ...
it["versions"][it["version"]]["digest"] = "0" * 64
json.dump(d, open(p, "w"))
PY
check "outdated item shows update-available" sh -c "\"$CSCLI\" -c \"$D/config.yaml\" -o raw parsers list crowdsecurity/nginx-logs | grep -q 'update-available'"
out=$(cs parsers upgrade crowdsecurity/nginx-logs 2>&1); rc=$?
check "upgrade to a version the mirror does not match: refused" [ $rc -ne 0 ]
check "refused upgrade keeps the old file" cmp -s "$(readlink -f "$D/parsers/s01-parse/nginx-logs.yaml")" "$HUB/parsers/s01-parse/crowdsecurity/nginx-logs.yaml"
cp "$T/index.saved" "$D/hub/.index.json"
echo "# old" >>"$D/hub/parsers/s01-parse/crowdsecurity/nginx-logs.yaml"
out=$(cs parsers upgrade crowdsecurity/nginx-logs --force 2>&1)
check "upgrade --force replaces a modified copy" cmp -s "$D/hub/parsers/s01-parse/crowdsecurity/nginx-logs.yaml" "$HUB/parsers/s01-parse/crowdsecurity/nginx-logs.yaml"
out=$(cs hub upgrade 2>&1)
check "hub upgrade with everything current" [ $? -eq 0 ]
out=$(cs hub list 2>&1)
check "hub list" grep -q "COLLECTIONS" <<<"$out"

# ---- remove ---------------------------------------------------------------------------------------------
out=$(cs parsers remove crowdsecurity/sshd-logs 2>&1)
check "remove of a collection member needs --force" sh -c 'grep -q "belongs to collections" && [ -L "$0" ]' "$D/parsers/s01-parse/sshd-logs.yaml" <<<"$out"
check "remove collection" qcs collections remove crowdsecurity/nginx
check "its own members are disabled" [ ! -e "$D/parsers/s01-parse/nginx-logs.yaml" ] && [ ! -e "$D/scenarios/http-probing.yaml" ]
check "members other collections need stay" [ -L "$D/parsers/s02-enrich/dateparse-enrich.yaml" ]
check "hub copy kept without --purge" [ -f "$D/hub/parsers/s01-parse/crowdsecurity/nginx-logs.yaml" ]
check "remove --purge" qcs collections remove crowdsecurity/linux --purge
check "purge deletes the hub copy" [ ! -e "$D/hub/scenarios/crowdsecurity/ssh-bf.yaml" ] && [ ! -e "$D/scenarios/ssh-bf.yaml" ]
check "remove --all" qcs scenarios remove --all
check_eq "no scenario left" "$(ls "$D/scenarios" | wc -l)" 0

summary
