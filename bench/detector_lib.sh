# SPDX-License-Identifier: MIT
# Shared by bench_detector.sh and bench_replay.sh (sourced): our detector's
# configuration on the same hub files as the peer, so both parse and bucket alike.

# detector_config WORK PORT: the peer's configuration in WORK/cs on PORT (have_cs=1
# when CrowdSec 1.4.6 is installed and configured), ours in WORK/ours (O) with the
# peer's parsers, scenarios and data files; without the peer, the shared hub's sshd
# and nginx collections. The patterns always come from the shared hub.
detector_config() {
	local w=$1 f
	have_cs=0
	if command -v crowdsec >/dev/null && sh "$PEERS/mkconf.sh" "$w/cs" "$2" >/dev/null 2>&1; then
		have_cs=1
	fi
	O=$w/ours
	mkdir -p "$O/etc" "$O/data"
	if [ $have_cs = 1 ]; then
		cp -rL "$w/cs/etc/parsers" "$w/cs/etc/scenarios" "$w/cs/etc/postoverflows" "$O/etc/"
		cp "$w/cs/data/"*.txt "$w/cs/data/"*.regex "$O/data/" 2>/dev/null
	else
		echo "(CrowdSec 1.4.6 is not installed: \`make test-deps\`; ours runs on the shared hub's sshd and nginx collections)"
		for f in parsers/s00-raw/crowdsecurity/syslog-logs.yaml parsers/s01-parse/crowdsecurity/sshd-logs.yaml \
			parsers/s01-parse/crowdsecurity/nginx-logs.yaml parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml \
			parsers/s02-enrich/crowdsecurity/http-logs.yaml; do
			mkdir -p "$O/etc/$(dirname "$(dirname "$f")")"
			cp "$SHARED_DIR/hub/$f" "$O/etc/$(dirname "$(dirname "$f")")/"
		done
		mkdir -p "$O/etc/scenarios"
		cp "$SHARED_DIR"/hub/scenarios/crowdsecurity/{ssh-bf,ssh-slow-bf,http-probing,http-crawl-non_statics}.yaml "$O/etc/scenarios/"
	fi
	cp -r "$SHARED_DIR/hub/patterns" "$O/etc/"
	printf 'config_paths:\n  config_dir: %s/etc/\n  data_dir: %s/data/\napi:\n  server:\n    enable: false\ncommon:\n  log_level: warning\n' "$O" "$O" > "$O/etc/config.yaml"
}
