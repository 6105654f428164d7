# SPDX-License-Identifier: MIT
# Shell side of the test harness (source it). Same contract as tests/lib/test.h:
# pass/fail/skip counters and a closing "N passed, N failed, N skipped" line.
T_PASS=0 T_FAIL=0 T_SKIP=0

pass() { T_PASS=$((T_PASS + 1)); echo "ok   $*"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL $*" >&2; }
skip() { T_SKIP=$((T_SKIP + ${2:-1})); echo "SKIP $1" >&2; }

# check NAME CMD...: pass if CMD succeeds
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }
# check_eq NAME GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}

summary() {
	echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	[ "$T_FAIL" -eq 0 ]
}

# wait_until SECONDS CMD...: poll CMD (every 0.2 s) until it succeeds, at most SECONDS
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}

# skip_all WHY [NCHECKS]: the test cannot run here; count its NCHECKS checks
# skipped and end it
skip_all() {
	skip "$1" "${2:-1}"
	summary
	exit 0
}

need_root() {
	[ "$(id -u)" = 0 ] || skip_all "$1: needs root (CAP_BPF, CAP_NET_ADMIN)" "${2:-1}"
}

# need_tools NCHECKS TOOL...: skip_all unless every TOOL is on PATH
need_tools() {
	local n=$1 t
	shift
	for t; do
		command -v "$t" >/dev/null || skip_all "$t missing (make test-deps)" "$n"
	done
}

# The source tree this harness belongs to.
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# The shared test data (hub/, spec/, bench/): only through $SHARED_DIR, which
# the Makefile owns (exported by make test; asked from the Makefile when a test
# runs by hand).
SHARED_DIR=${SHARED_DIR:-$(make -s --no-print-directory -C "$REPO_DIR" shared-dir 2>/dev/null)}
export SHARED_DIR
HUB=$SHARED_DIR/hub

# need_hub [NCHECKS]: skip_all without the shared hub mirror
need_hub() {
	[ -d "$HUB/parsers" ] && [ -f "$HUB/.index.json" ] || skip_all "hub not found (SHARED_DIR)" "${1:-1}"
}

# cs_etc ETC ITEM...: a crowdsec configuration directory with the hub's patterns
# and each ITEM (a hub path such as parsers/s01-parse/crowdsecurity/sshd-logs.yaml,
# or a file) linked under ETC/parsers/<stage>/ or ETC/scenarios/.
cs_etc() {
	local e=$1 it src dst
	shift
	mkdir -p "$e" && ln -s "$HUB/patterns" "$e/patterns" || return 1
	for it in "$@"; do
		src=$it
		[ -e "$src" ] || src=$HUB/$it
		case $it in
		parsers/*) dst=$e/$(dirname "$(dirname "$it")") ;;
		*) dst=$e/scenarios ;;
		esac
		mkdir -p "$dst" && ln -s "$src" "$dst/" || return 1
	done
}

# cs_detector_etc DIR: DIR/etc (E) for a crowdsec detector without LAPI on the hub's
# syslog and sshd parsers and our ssh-bf scenario, data in DIR, acquisition from
# DIR/etc/acquis.yaml (the caller writes it).
cs_detector_etc() {
	E=$1/etc
	cs_etc "$E" parsers/s00-raw/crowdsecurity/syslog-logs.yaml \
		parsers/s01-parse/crowdsecurity/sshd-logs.yaml \
		parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml \
		"$REPO_DIR/scenarios/crowdsec-xdp/ssh-bf.yaml" || return 1
	cat >"$E/config.yaml" <<YAML
common:
  log_level: info
config_paths:
  config_dir: $E/
  data_dir: $1/
crowdsec_service:
  acquisition_path: $E/acquis.yaml
api:
  server:
    enable: false
YAML
}

# cs_config ETC DATA LISTEN [LEVEL] [EXTRA]: ETC/config.yaml for the crowdsec
# daemon (config dir ETC, data and sqlite in DATA, the LAPI on LISTEN with the
# project's profiles copied to ETC, log level LEVEL, default warning); EXTRA is
# top-level YAML appended as is. Prometheus listens on a port the kernel picks
# unless EXTRA has a prometheus: section (tests run beside each other: 6060 is
# anyone's).
cs_config() {
	local prom=$'prometheus:\n  listen_addr: 127.0.0.1\n  listen_port: 0'
	[[ ${5:-} == *prometheus:* ]] && prom=
	cp "$REPO_DIR/config/profiles.yaml" "$1/" || return 1
	cat >"$1/config.yaml" <<YAML
common:
  log_level: ${4:-warning}
config_paths:
  config_dir: $1/
  data_dir: $2/
db_config:
  type: sqlite
  db_path: $2/crowdsec.db
api:
  client:
    credentials_path: $1/local_api_credentials.yaml
  server:
    listen_uri: $3
    profiles_path: $1/profiles.yaml
${5:-}
$prom
YAML
}

# xdp_bouncer_config FILE LAPI_PORT KEY IFACE PIN_DIR [FREQUENCY]: a crowdsec-xdp-bouncer
# configuration in XDP mode on IFACE against the LAPI on 127.0.0.1:LAPI_PORT, its
# pins removed when it stops
xdp_bouncer_config() {
	cat >"$1" <<YAML
api_url: http://127.0.0.1:$2/
api_key: $3
update_frequency: ${6:-500ms}
mode: xdp
interfaces: [$4]
pin_path: $5
keep_on_stop: false
YAML
}

BUILD=${BUILD:-$REPO_DIR/build}
