# SPDX-License-Identifier: MIT
# A hub mirror for the tests that install hub content through cscli (source it after
# harness.sh, which sets HUB).

# hub_mirror DIR: DIR becomes a mirror of $HUB (its real .index.json and items, linked)
# plus GeoLite2 test databases in DIR/data: geoip-enrich's data files are published
# beside the hub, not in it, and crowdsecurity/linux needs them. Serve DIR over HTTP
# and point cscli.hub_url at it, cscli.hub_data_url at its data/.
hub_mirror() {
	local m=$1 e f tools
	tools=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)
	mkdir -p "$m/data" || return 1
	for e in "$HUB"/* "$HUB/.index.json"; do
		[ "$e" = "$HUB/data" ] || ln -s "$e" "$m/$(basename "$e")" || return 1
	done
	for f in "$HUB"/data/*; do ln -s "$f" "$m/data/" || return 1; done
	python3 "$tools/mkmmdb.py" "$m/data/GeoLite2-City.mmdb" GeoLite2-City "$tools/geoip/city.json" &&
		python3 "$tools/mkmmdb.py" "$m/data/GeoLite2-ASN.mmdb" GeoLite2-ASN "$tools/geoip/asn.json"
}
