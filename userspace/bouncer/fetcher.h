/* SPDX-License-Identifier: MIT */
/*
 * The unprivileged half of the bouncer (see privsep.h): pulls the LAPI decision
 * stream, keeps the decision model, expires decisions on time, tells the applier
 * what to set and clear, and serves Prometheus metrics.
 */
#ifndef CS_BOUNCER_FETCHER_H
#define CS_BOUNCER_FETCHER_H

#include "bouncer/config.h"

/* Runs until the applier closes the socket or SIGTERM; returns an exit code. */
int fetcher_main(const struct bouncer_config *cfg, int sock);

/*
 * Parses one stream answer (exported for tests). Fills *out_json with the parsed
 * document on success; -EBADMSG if it is not a stream answer.
 */
struct json_t;
int fetcher_parse_stream(const char *body, size_t len, struct json_t **out_json, char *why,
			 size_t whylen);

#define BOUNCER_VERSION "v0.1.0"
#define BOUNCER_USER_AGENT "crowdsec-xdp-bouncer/" BOUNCER_VERSION

#endif /* CS_BOUNCER_FETCHER_H */
