/* SPDX-License-Identifier: MIT */
/*
 * The unprivileged half of the bouncer (see privsep.h): pulls the LAPI decision
 * stream, keeps the decision model, expires decisions on time, tells the applier
 * what to set and clear, and serves Prometheus metrics.
 */
#ifndef CS_BOUNCER_FETCHER_H
#define CS_BOUNCER_FETCHER_H

#include <stdbool.h>
#include <stddef.h>

#include "bouncer/config.h"

/* Runs until the applier closes the socket or SIGTERM; returns an exit code.
 * plane_empty: the data plane is known to start empty, so the fetcher does not ask
 * the applier to list it before its first pull (which would wait for the applier
 * to have opened it). */
int fetcher_main(const struct bouncer_config *cfg, int sock, bool plane_empty);

/* Checks a whole stream answer (see stream.h): 0 or -EBADMSG with why filled. */
int fetcher_parse_stream(const char *body, size_t len, char *why, size_t whylen);

/*
 * The prefix a decision of this scope and value bans: 0, -ENOENT for a scope the
 * bouncer does not enforce (only Ip and Range; an Ip with a length is none of
 * them), or a cs_prefix_parse error. Host bits of a Range are masked, as CrowdSec's are.
 */
struct cs_prefix;
int fetcher_decision_prefix(const char *scope, const char *value, struct cs_prefix *p);

#define BOUNCER_VERSION "v0.1.0"
#define BOUNCER_USER_AGENT "crowdsec-xdp-bouncer/" BOUNCER_VERSION

#endif /* CS_BOUNCER_FETCHER_H */
