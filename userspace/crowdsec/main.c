// SPDX-License-Identifier: MIT
/*
 * crowdsec: composition root. For now it runs the Local API only (as
 * `crowdsec -no-cs`): read config.yaml, start the LAPI, wait for SIGINT/SIGTERM,
 * stop. Everything else lives in the library (lapi/lapi.h). Invoked through a
 * link named "cscli", it is cscli (cscli/cscli.h).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "lapi/lapi.h"
#include "profiles/profiles.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: crowdsec [-c CONFIG] [-t] [-no-cs] [-debug|-info|-warning|-error]\n");
}

int main(int argc, char **argv)
{
	const char *conf = "/etc/crowdsec/config.yaml";
	struct cs_lapi_config cfg;
	struct cs_lapi *lapi = NULL;
	bool test_only = false, level_set = false;
	char err[1024];
	sigset_t set;
	int sig, ret;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] == '-' && a[1] == '-')
			a++;
		if (!strcmp(a, "-c") && i + 1 < argc)
			conf = argv[++i];
		else if (!strcmp(a, "-t"))
			test_only = true;
		else if (!strcmp(a, "-no-cs"))
			; /* the detector is not built into this binary yet */
		else if (!strcmp(a, "-debug") || !strcmp(a, "-trace") || !strcmp(a, "-info") ||
			 !strcmp(a, "-warning") || !strcmp(a, "-error")) {
			log_set_level(log_level_parse(a + 1));
			level_set = true;
		}
		else if (!strcmp(a, "-h") || !strcmp(a, "-help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	ret = cs_lapi_config_load(conf, &cfg, err, sizeof(err));
	if (ret) {
		log_msg(LOG_LVL_FATAL, "%s", err);
		return 1;
	}
	if (!level_set && cfg.log_level && log_level_parse(cfg.log_level) >= 0)
		log_set_level(log_level_parse(cfg.log_level));
	if (test_only) {
		struct cs_profiles *p = NULL;

		ret = cfg.profiles_path && access(cfg.profiles_path, F_OK) == 0
			      ? cs_profiles_load(cfg.profiles_path, &p, err, sizeof(err))
			      : 0;
		cs_profiles_free(p);
		cs_lapi_config_clear(&cfg);
		if (ret) {
			log_msg(LOG_LVL_FATAL, "%s", err);
			return 1;
		}
		printf("configuration OK\n");
		return 0;
	}
	if (!cfg.enable) {
		log_msg(LOG_LVL_FATAL, "api.server.enable is false: nothing to run");
		cs_lapi_config_clear(&cfg);
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread starts */
	signal(SIGPIPE, SIG_IGN);
	ret = cs_lapi_start(&cfg, &lapi);
	cs_lapi_config_clear(&cfg);
	if (ret) {
		log_msg(LOG_LVL_FATAL, "cannot start the Local API: %s", strerror(-ret));
		return 1;
	}
	sigwait(&set, &sig);
	log_info("signal %d received, shutting down", sig);
	cs_lapi_stop(lapi);
	return 0;
}
