# SPDX-License-Identifier: MIT
# A crowdsec configuration on the hub's collections, for tests (source it after
# harness.sh). hub_config DIR LISTEN COLLECTION...: $DIR/etc holds the parsers,
# scenarios and postoverflows of the collections (tests/lib/hub_install.py), the
# project's profiles.yaml and config.yaml: data and the sqlite db in $DIR/data,
# the LAPI on LISTEN (host:port), credentials in $DIR/etc, acquisition from
# $DIR/etc/acquis.yaml (the caller writes it when it tails files). Sets E=$DIR/etc.
hub_config() {
	local dir=$1 listen=$2 root
	shift 2
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	E=$dir/etc
	python3 "$root/tests/lib/hub_install.py" "$HUB" "$E" "$dir/data" "$@" || return 1
	cs_config "$E" "$dir/data" "$listen" info "crowdsec_service:
  acquisition_path: $E/acquis.yaml"
}
