/* SPDX-License-Identifier: MIT */
/*
 * The agent's client of a remote Local API (crowdsec -no-api, or an agent on another
 * machine): logs in with local_api_credentials.yaml (machine id + password, or a
 * TLS client certificate, -> JWT) and pushes alerts with POST /v1/alerts, logging
 * in again when the token expires (the HTTP client is userspace/lapiclient, shared
 * with cscli).
 *
 * Delivery is decoupled from detection: lapi_push_alerts() puts the batch in an
 * outbox (userspace/agent/outbox: on disk when a spool directory is given) and a
 * delivery thread sends it, retrying with backoff while the LAPI is unreachable or
 * answers 5xx, until it is acknowledged. Each alert gets a uuid when queued, so a
 * batch sent again after a lost acknowledgement is stored once by a LAPI that
 * deduplicates on it (ours does).
 */
#ifndef CS_AGENT_LAPI_PUSH_H
#define CS_AGENT_LAPI_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct lapi_push_opts {
	const char *credentials_path;
	const char *spool_dir;	/* NULL: the outbox is in memory only */
	size_t max_batches;	/* 0: 10,000 */
	size_t max_bytes;	/* 0: 64 MiB */
	int max_backoff_ms;	/* 0: 30 s */
};

struct lapi_push_stats {
	uint64_t delivered;	/* alerts acknowledged by the LAPI */
	uint64_t rejected;	/* alerts the LAPI refused for good (4xx) */
	uint64_t dropped;	/* batches dropped because the outbox was full */
	uint64_t retries;	/* failed attempts that will be retried */
	uint64_t recovered;	/* batches found in the spool at start */
	size_t pending;		/* batches waiting */
};

struct lapi_push;

/* Reads the credentials, opens the outbox, starts the delivery thread. err gets
 * "file: message". */
int lapi_push_new(const struct lapi_push_opts *o, struct lapi_push **out, char *err,
		  size_t errlen);
/* Stops the thread; what is still spooled is sent by the next start. */
void lapi_push_free(struct lapi_push *p);
/* Queue the alerts (borrowed; a uuid is added to each that has none). 0, or -errno
 * when the batch could not be spooled (it is then held in memory). */
int lapi_push_alerts(struct lapi_push *p, json_t *alerts);
/*
 * The same in two steps: the body (a uuid added to each alert that has none;
 * thread-safe, so the detector's workers render where they build the alerts;
 * NULL: out of memory), then queued (0 or -errno as above).
 */
char *lapi_push_render(json_t *alerts, size_t *len);
int lapi_push_body(struct lapi_push *p, const char *body, size_t len);
/* Wait until the outbox is empty: 0, or -ETIMEDOUT after timeout_ms. */
int lapi_push_drain(struct lapi_push *p, int timeout_ms);
void lapi_push_get_stats(struct lapi_push *p, struct lapi_push_stats *st);

#endif /* CS_AGENT_LAPI_PUSH_H */
