# SPDX-License-Identifier: MIT
# The peer bouncer, Debian's crowdsec-firewall-bouncer, as test_lapi_bouncers.sh and
# bench_bouncer.sh run it (sourced).

# fw_bouncer_config FILE DIR API_URL API_KEY UPDATE_FREQUENCY LOG_MODE IPV6: its
# configuration in nftables mode (tables crowdsec and crowdsec6, sets
# crowdsec-blacklists and crowdsec6-blacklists), pid and logs in DIR, IPv6 when
# IPV6 is true, no Prometheus.
fw_bouncer_config() {
	local no6=true
	[ "$7" = true ] && no6=false
	cat >"$1" <<YAML
mode: nftables
pid_dir: $2/
update_frequency: $5
daemonize: false
log_mode: $6
log_dir: $2/
log_level: info
api_url: $3
api_key: $4
disable_ipv6: $no6
deny_action: DROP
deny_log: false
supported_decisions_types:
  - ban
blacklists_ipv4: crowdsec-blacklists
blacklists_ipv6: crowdsec6-blacklists
nftables:
  ipv4:
    enabled: true
    set-only: false
    table: crowdsec
    chain: crowdsec-chain
  ipv6:
    enabled: $7
    set-only: false
    table: crowdsec6
    chain: crowdsec6-chain
prometheus:
  enabled: false
YAML
}
