#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cscli setup on a fake machine (--root: log files and /proc; --units-file: the
# unit files systemctl would list): detection by log file, process and unit,
# --force/--ignore, the setup file (json/yaml), validate, install-acquisition,
# and unattended (hub collections from a mirror of $SHARED_DIR/hub + acquisition).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/harness.sh"
. "$here/../lapi/lapi_lib.sh"
CSCLI=$BUILD/cscli
command -v python3 >/dev/null || skip_all "python3 missing"
T=$(mktemp -d /tmp/test_cscli_setup.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

R=$T/root
mkdir -p "$R/var/log/nginx" "$R/proc/4242" "$R/proc/77" "$T/etc"
: >"$R/var/log/nginx/access.log"
echo mysqld >"$R/proc/4242/comm"
echo bash >"$R/proc/77/comm"
printf 'postfix.service enabled enabled\nfoo.service disabled enabled\n' >"$T/units"
cat >"$T/etc/config.yaml" <<YAML
config_paths:
  config_dir: $T/etc/
  data_dir: $T/etc/data/
  hub_dir: $T/etc/hub/
crowdsec_service:
  acquisition_dir: $T/etc/acquis.d
YAML
cs() { "$CSCLI" -c "$T/etc/config.yaml" "$@"; }
fake=(--root "$R" --units-file "$T/units")

json=$(cs setup detect "${fake[@]}")
check "detect prints a setup file" python3 -c 'import json,sys; json.load(sys.stdin)["setup"]' <<<"$json"
svcs=$(python3 -c 'import json,sys; print(" ".join(e["detected_service"] for e in json.load(sys.stdin)["setup"]))' <<<"$json")
check_eq "detected: linux always, nginx by its logs, mysql by its process, postfix by its unit" "$svcs" "linux nginx mysql postfix"
check "nginx: file acquisition, type nginx" python3 -c '
import json,sys; e=[x for x in json.load(sys.stdin)["setup"] if x["detected_service"]=="nginx"][0]
assert e["install"]["collections"]==["crowdsecurity/nginx"]
assert e["datasource"]=={"source":"file","filenames":["/var/log/nginx/*.log"],"labels":{"type":"nginx"}}, e' <<<"$json"
check "postfix without a log file: the journal" python3 -c '
import json,sys; e=[x for x in json.load(sys.stdin)["setup"] if x["detected_service"]=="postfix"][0]
assert e["datasource"]["source"]=="journalctl" and e["datasource"]["journalctl_filter"]==["_SYSTEMD_UNIT=postfix.service"], e' <<<"$json"
svcs=$(cs setup detect "${fake[@]}" --ignore mysql,postfix --force haproxy | python3 -c 'import json,sys; print(" ".join(e["detected_service"] for e in json.load(sys.stdin)["setup"]))')
check_eq "--ignore and --force" "$svcs" "linux nginx haproxy"
out=$(cs setup detect "${fake[@]}" --force nosuch 2>&1); rc=$?
check "--force of an unknown service: error" sh -c '[ $0 -ne 0 ] && grep -q "unknown service .nosuch."' $rc <<<"$out"
check "--list-supported-services" sh -c "\"$CSCLI\" setup detect --list-supported-services | grep -qx sshd"
cs setup detect "${fake[@]}" --yaml >"$T/setup.yaml"
check "--yaml is YAML of the same plan" python3 -c '
import yaml; d=yaml.safe_load(open("'"$T"'/setup.yaml"))
assert [e["detected_service"] for e in d["setup"]]==["linux","nginx","mysql","postfix"], d'
check "validate a detected file" cs setup validate "$T/setup.yaml"
printf 'setup:\n  - install: {collections: [1]}\n' >"$T/bad.yaml"
out=$(cs setup validate "$T/bad.yaml" 2>&1); rc=$?
check "validate a bad file: error naming the entry" sh -c '[ $0 -ne 0 ] && grep -q "setup\[0\]"' $rc <<<"$out"
out=$(cs setup install-acquisition "$T/setup.yaml" --dry-run)
check "install-acquisition --dry-run writes nothing" sh -c '[ ! -e "$0/etc/acquis.d" ] && grep -q "would write"' "$T" <<<"$out"
check "install-acquisition" sh -c "\"$CSCLI\" -c \"$T/etc/config.yaml\" setup install-acquisition \"$T/setup.yaml\" >/dev/null"
check "acquisition files are CrowdSec acquisition documents" python3 -c '
import yaml
n=yaml.safe_load(open("'"$T"'/etc/acquis.d/setup.nginx.yaml"))
assert n=={"source":"file","filenames":["/var/log/nginx/*.log"],"labels":{"type":"nginx"}}, n
p=yaml.safe_load(open("'"$T"'/etc/acquis.d/setup.postfix.yaml"))
assert p["source"]=="journalctl" and p["labels"]["type"]=="syslog", p'
out=$(cs setup </dev/null "${fake[@]}" 2>&1)
check "setup without --yes on a pipe: shows the plan" grep -q "Detected services" <<<"$out"
check "setup without --yes on a pipe: says how to apply" grep -q "cscli setup --yes" <<<"$out"
check "setup without --yes on a pipe: applies nothing" [ ! -e "$T/etc/hub/.index.json" ]

# unattended against a hub mirror (no linux: its GeoLite2 data is not in the mirror)
if [ -n "${SHARED_DIR:-}" ] && [ -f "$SHARED_DIR/hub/.index.json" ]; then
	port=$(free_port $((18800 + RANDOM % 90)))
	python3 -m http.server "$port" --bind 127.0.0.1 --directory "$SHARED_DIR/hub" >/dev/null 2>&1 &
	pids+=($!)
	wait_http "http://127.0.0.1:$port/.index.json"
	printf 'cscli:\n  hub_url: http://127.0.0.1:%s\n  hub_data_url: http://127.0.0.1:%s/data\n' "$port" "$port" >>"$T/etc/config.yaml"
	rm -rf "$T/etc/acquis.d"
	out=$(cs setup unattended "${fake[@]}" --ignore linux,mysql,postfix 2>&1); rc=$?
	check "unattended: exit 0" [ $rc -eq 0 ]
	check "unattended: fetched the index" [ -s "$T/etc/hub/.index.json" ]
	check "unattended: nginx collection enabled" [ -L "$T/etc/collections/nginx.yaml" ] && [ -L "$T/etc/parsers/s01-parse/nginx-logs.yaml" ]
	check "unattended: acquisition written" [ -s "$T/etc/acquis.d/setup.nginx.yaml" ]
	out=$(cs setup unattended "${fake[@]}" --ignore linux,mysql,postfix 2>&1)
	check "unattended again: nothing to install" grep -q "Nothing to install or remove" <<<"$out"
else
	skip "unattended: no hub mirror (SHARED_DIR)" 5
fi
check "setup --help" sh -c "\"$CSCLI\" setup --help | grep -q install-hub"

summary
