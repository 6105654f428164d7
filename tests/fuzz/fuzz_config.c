// SPDX-License-Identifier: MIT
/*
 * The daemon's own configuration files, one input read by each loader in turn:
 * config.yaml as the LAPI reads it (api.server, db_config, profiles path, TLS,
 * trusted IPs) and as the hub reads it (config_paths, cscli), a
 * local_api_credentials.yaml as the LAPI client (the detector's push, cscli) opens
 * it, and simulation.yaml. No loader touches the network.
 */
#include "fuzz.h"

#include "agent/agent.h"
#include "common/strv.h"
#include "hub/hub.h"
#include "lapi/lapi.h"
#include "lapiclient/lapiclient.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_lapi_config lc;
	struct hub_config hc = { 0 };
	static const struct lapi_client_opts co = { .user_agent = "fuzz", .timeout_s = 1 };
	struct lapi_client *cl = NULL;
	char path[64], err[1024], **names = NULL;
	bool global;
	int fd;

	fuzz_quiet();
	fd = fuzz_file(data, size, path, sizeof(path));
	cs_lapi_config_load(path, &lc, err, sizeof(err));
	cs_lapi_config_clear(&lc);
	hub_config_load(path, &hc, err, sizeof(err));
	hub_config_clear(&hc);
	if (!lapi_client_open(path, &co, &cl, err, sizeof(err)))
		lapi_client_free(cl);
	if (!cs_simulation_load(path, &names, &global, err, sizeof(err))) {
		size_t n = 0;

		while (names && names[n])
			n++;
		strv_free(names, n);
	}
	close(fd);
	return 0;
}
