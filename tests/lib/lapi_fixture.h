/* SPDX-License-Identifier: MIT */
/*
 * An in-process LAPI for the C tests (header only: the tests that do not run
 * one do not link the LAPI): the default configuration with its SQLite
 * database in a directory of the test's, the default profiles and no
 * Prometheus listener, started on the first free loopback port of a range
 * (other test servers may hold some).
 *
 *   t_lapi_config(&cfg, dir);            then adjust cfg
 *   err = t_lapi_start(&cfg, 18491, 100, &l, &port);
 */
#ifndef CS_TEST_LAPI_FIXTURE_H
#define CS_TEST_LAPI_FIXTURE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "lapi/lapi.h"
#include "test.h"

/* 0, or -ENOMEM (cfg is still cleared by cs_lapi_config_clear). */
static inline int t_lapi_config(struct cs_lapi_config *cfg, const char *dir)
{
	cs_lapi_config_defaults(cfg);
	free(cfg->db_path);
	if (asprintf(&cfg->db_path, "%s/cs.db", dir) < 0)
		cfg->db_path = NULL;
	free(cfg->profiles_path);
	cfg->profiles_path = NULL;
	cfg->prometheus_enabled = false;
	return cfg->db_path ? 0 : -ENOMEM;
}

/*
 * cs_lapi_start on 127.0.0.1:first (shifted by the test's lane, t_lane_port),
 * then the next port while it is in use, count at most.
 */
static inline int t_lapi_start(struct cs_lapi_config *cfg, int first, int count,
			       struct cs_lapi **out, int *port)
{
	int err = -EADDRINUSE;

	first = t_lane_port(first);
	for (int p = first; p < first + count && err == -EADDRINUSE; p++) {
		free(cfg->listen_uri);
		if (asprintf(&cfg->listen_uri, "127.0.0.1:%d", p) < 0)
			cfg->listen_uri = NULL;
		err = cs_lapi_start(cfg, out);
		*port = p;
	}
	return err;
}

#endif /* CS_TEST_LAPI_FIXTURE_H */
