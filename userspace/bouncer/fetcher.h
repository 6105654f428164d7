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
 * Walks one stream answer item by item (exported for tests): fn gets every element
 * of "new" (which = STREAM_NEW) and "deleted", and a non-zero return stops the walk.
 * -EBADMSG, with why filled, if the answer is not a stream answer.
 */
struct json_t;
enum { STREAM_NEW = 0, STREAM_DELETED = 1 };
typedef int (*stream_item_fn)(int which, size_t idx, struct json_t *item, void *arg);
int fetcher_walk_stream(const char *body, size_t len, stream_item_fn fn, void *arg, char *why,
			size_t whylen);
/* Validates a whole answer: every item must be a decision. */
int fetcher_parse_stream(const char *body, size_t len, char *why, size_t whylen);

/*
 * The prefix a decision of this scope and value bans: 0, -ENOENT for a scope the
 * bouncer does not enforce (only Ip and Range), or a cs_prefix_parse error (an Ip
 * with a length is -EINVAL). Host bits of a Range are masked, as CrowdSec's are.
 */
struct cs_prefix;
int fetcher_decision_prefix(const char *scope, const char *value, struct cs_prefix *p);

#define BOUNCER_VERSION "v0.1.0"
#define BOUNCER_USER_AGENT "crowdsec-xdp-bouncer/" BOUNCER_VERSION

#endif /* CS_BOUNCER_FETCHER_H */
