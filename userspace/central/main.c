// SPDX-License-Identifier: MIT
/*
 * crowdsec-central: the crowd's central API server and its admin commands.
 *
 *   crowdsec-central [-c central.yaml] [-db PATH] [-listen ADDR:PORT] [serve]
 *
 * central.yaml's db_config (CrowdSec's keys) selects PostgreSQL.
 *   crowdsec-central [-c ...] reporters list|block ID|unblock ID
 *   crowdsec-central [-c ...] safe list|add RANGE [COMMENT]|remove RANGE
 *   crowdsec-central [-c ...] explain IP | purge | status
 *
 * The server is the LAPI's HTTP server with the CAPI route table (central/api.c);
 * signals past retention are purged every hour and at start.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "central/central.h"
#include "common/gotime.h"
#include "common/log.h"
#include "lapi/lapi.h"

#define PURGE_PERIOD_SEC 3600
#define CENTRAL_MAX_BODY (4u << 20) /* 1000 signals of a few KiB */

static void usage(FILE *f)
{
	fprintf(f, "Usage: crowdsec-central [-c central.yaml] [-db PATH] [-listen ADDR:PORT]"
		   " [-debug] [COMMAND...]\n"
		   "commands: serve (default) | reporters list|block ID|unblock ID |\n"
		   "          safe list|add RANGE [COMMENT]|remove RANGE | explain IP | purge | status\n");
}

static void replace(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
}

static int serve(struct central *c, const struct central_config *cc)
{
	struct cs_lapi_config lc;
	struct cs_lapi *l = NULL;
	sigset_t set;
	int sig = 0, ret;
	long n;

	cs_lapi_config_defaults(&lc);
	replace(&lc.listen_uri, cc->listen_uri);
	replace(&lc.db_path, cc->db_path);
	if (cc->db_conninfo)
		replace(&lc.db_conninfo, cc->db_conninfo);
	lc.db_max_conns = cc->db_max_conns;
	free(lc.profiles_path); /* no alerts here: the default profiles are never used */
	lc.profiles_path = NULL;
	lc.prometheus_enabled = false;
	lc.max_body = CENTRAL_MAX_BODY;
	central_api_routes(&lc, c);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* the server's threads inherit it */
	ret = lc.listen_uri && lc.db_path && (!cc->db_conninfo || lc.db_conninfo)
		      ? cs_lapi_start(&lc, &l)
		      : -ENOMEM;
	cs_lapi_config_clear(&lc);
	if (ret)
		return 1;
	log_info("crowdsec-central serving the CAPI on %s", cc->listen_uri);
	while (sig != SIGINT && sig != SIGTERM) {
		struct timespec ts = { .tv_sec = PURGE_PERIOD_SEC };

		if (!central_purge(c, gotime_now(), &n) && n)
			log_info("purge: %ld signal(s) past retention deleted", n);
		sig = sigtimedwait(&set, NULL, &ts);
	}
	log_info("stopping");
	cs_lapi_stop(l);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = NULL, *db = NULL, *listen = NULL;
	struct central_config cc;
	struct central *c = NULL;
	char err[1024] = "";
	bool debug = false;
	int i, ret;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-debug")) {
			debug = true;
		} else if (i + 1 < argc && !strcmp(argv[i], "-c")) {
			config = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "-db")) {
			db = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "-listen")) {
			listen = argv[++i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (central_config_load(config, &cc, err, sizeof(err))) {
		fprintf(stderr, "crowdsec-central: %s\n", err);
		central_config_clear(&cc);
		return 1;
	}
	if (db)
		replace(&cc.db_path, db);
	if (listen)
		replace(&cc.listen_uri, listen);
	ret = log_level_parse(debug ? "debug" : cc.log_level);
	if (ret >= 0)
		log_set_level((enum log_level)ret);
	if (!cc.db_path || !cc.listen_uri || central_open(cc.db_path, cc.db_conninfo, cc.db_max_conns, &cc.rules, &c)) {
		central_config_clear(&cc);
		return 1;
	}
	if (cc.geoip_dir && central_set_geoip(c, cc.geoip_dir))
		log_warn("geoip_dir %s: no GeoLite2-ASN.mmdb: networks are /24 and /48",
			 cc.geoip_dir);
	if (i == argc || !strcmp(argv[i], "serve"))
		ret = serve(c, &cc);
	else
		ret = central_admin(c, argc - i, argv + i);
	central_close(c);
	central_config_clear(&cc);
	return ret;
}
