/* SPDX-License-Identifier: MIT */
/*
 * The agent's outbox: batches of alerts that the Local API has not acknowledged
 * yet. With a spool directory, each batch is a file written and fsynced before
 * outbox_put() returns, so an agent restarted while its LAPI is away loses
 * nothing; without one the outbox lives in memory only.
 *
 * Bounded: at most max_batches batches and max_bytes bytes. When full, the oldest
 * batch is dropped and counted: detection never waits for delivery.
 *
 * One producer and one consumer (lapi_push's delivery thread), serialised by the
 * caller's lock: the outbox itself is not thread-safe.
 */
#ifndef CS_AGENT_OUTBOX_H
#define CS_AGENT_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct outbox_opts {
	const char *dir;	/* spool directory (created 0700), or NULL: memory only */
	size_t max_batches;
	size_t max_bytes;
};

struct outbox_stats {
	size_t batches, bytes;	/* waiting now */
	uint64_t dropped;	/* batches dropped because the outbox was full */
	uint64_t recovered;	/* batches found in the spool at open */
};

struct outbox;

/*
 * Open the outbox and take in what an earlier run left in the spool (oldest
 * first; unreadable or half-written files are removed). 0, -ENOMEM, or -errno
 * from the spool directory with err saying which path.
 */
int outbox_open(const struct outbox_opts *o, struct outbox **out, char *err, size_t errlen);
void outbox_free(struct outbox *ob);

/* Append a batch (the JSON text, copied). 0, -ENOMEM, -EMSGSIZE (larger than max_bytes),
 * -errno from the spool write (the batch is then kept in memory only). */
int outbox_put(struct outbox *ob, const char *body, size_t len);
/*
 * The oldest batch, borrowed until the next put or pop (copy it before the lock is
 * released); NULL when empty. *seq names it for outbox_pop().
 */
const char *outbox_peek(struct outbox *ob, size_t *len, uint64_t *seq);
/* Remove batch seq (acknowledged, or refused for good) unless a put dropped it already. */
void outbox_pop(struct outbox *ob, uint64_t seq);
bool outbox_empty(const struct outbox *ob);
void outbox_get_stats(const struct outbox *ob, struct outbox_stats *st);

#endif /* CS_AGENT_OUTBOX_H */
