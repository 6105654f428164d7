/* SPDX-License-Identifier: MIT */
/*
 * crowdsec-xdp-bouncer.yaml, in the style of CrowdSec's firewall bouncer. Every
 * error names the file and line (and the key); unknown keys are errors, because a
 * misspelt option silently ignored is a firewall that does not do what its
 * operator thinks.
 */
#ifndef CS_BOUNCER_CONFIG_H
#define CS_BOUNCER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bouncer/xdp_loader.h"

enum bouncer_mode { BOUNCER_MODE_AUTO = 0, BOUNCER_MODE_XDP, BOUNCER_MODE_NFTABLES };

#define BCFG_MAX_LIST 32

struct bcfg_list {
	char *v[BCFG_MAX_LIST];
	int n;
};

struct bouncer_config {
	char *path;
	char *api_url;	 /* with a trailing slash */
	char *api_key;
	char *cert_path, *key_path, *ca_cert_path;
	bool insecure_skip_verify;
	int64_t update_frequency_ns;
	int64_t metrics_interval_ns; /* usage metrics to the LAPI; 0: never */
	enum bouncer_mode mode;
	struct bcfg_list interfaces;
	enum xdp_attach_mode xdp_mode;
	enum xdp_dispatcher_use xdp_dispatcher; /* libxdp's dispatcher: auto, always, never */
	uint32_t xdp_priority;			/* in the dispatcher; 0: XDP_MP_DEFAULT_PRIO */
	bool ipv4, ipv6;
	struct bcfg_list origins, scopes, scenarios_containing, scenarios_not_containing;
	struct bcfg_list decision_types;
	char *pin_path;
	uint32_t max_hosts, max_ranges;
	int log_level;
	bool metrics_enabled;
	char *metrics_addr;
	int metrics_port;
	char *nft_table4, *nft_table6, *nft_chain;
	int nft_priority;
	char *user;	 /* the unprivileged half runs as this user */
	bool keep_on_stop;
	bool dry_run;
};

/*
 * Fills cfg from the file; on error, err (if given) holds "file:line: message"
 * and cfg holds nothing to free.
 */
int bouncer_config_load(const char *path, struct bouncer_config *cfg, char *err, size_t errlen);
void bouncer_config_free(struct bouncer_config *cfg);

#endif /* CS_BOUNCER_CONFIG_H */
