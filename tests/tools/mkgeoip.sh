#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Write the test GeoIP databases (geoip/README.md) into DIR:
#   GeoLite2-City.mmdb, GeoLite2-ASN.mmdb, GeoLite2-Test-City.mmdb, GeoLite2-Test-ASN.mmdb
# e.g. for `cscli hubtest run --all --geoip-dir DIR` in a hub checkout.
set -e
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
tools=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
python3 "$tools/mkmmdb.py" "$1/GeoLite2-City.mmdb" GeoLite2-City "$tools/geoip/city.json"
python3 "$tools/mkmmdb.py" "$1/GeoLite2-ASN.mmdb" GeoLite2-ASN "$tools/geoip/asn.json"
python3 "$tools/mkmmdb.py" "$1/GeoLite2-Test-City.mmdb" GeoLite2-City "$tools/geoip/test-city.json"
python3 "$tools/mkmmdb.py" "$1/GeoLite2-Test-ASN.mmdb" GeoLite2-ASN "$tools/geoip/test-asn.json"
