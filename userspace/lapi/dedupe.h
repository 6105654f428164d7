/* SPDX-License-Identifier: MIT */
/*
 * Alerts already stored, by (machine, uuid): an agent that did not hear the
 * acknowledgement of a batch (the connection broke after the LAPI stored it)
 * sends the batch again, and each alert that carries a uuid is then answered
 * with the id it already has instead of being stored twice.
 *
 * Bounded: the most recent `cap` alerts are remembered (a FIFO); an agent
 * retries within minutes, far inside that window. In memory, the fast path: a
 * retry that crosses a LAPI restart, or reaches another replica, is recognised
 * by the database (alerts' unique (machine, uuid), cs_db_alerts_insert()).
 * Thread-safe.
 */
#ifndef CS_LAPI_DEDUPE_H
#define CS_LAPI_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

struct alert_dedupe;

int alert_dedupe_new(size_t cap, struct alert_dedupe **out);
void alert_dedupe_free(struct alert_dedupe *d);
/* The id stored for this machine's alert uuid, or 0. */
int64_t alert_dedupe_get(struct alert_dedupe *d, const char *machine, const char *uuid);
/* Remember it (the oldest entry goes when full). 0 or -ENOMEM. */
int alert_dedupe_put(struct alert_dedupe *d, const char *machine, const char *uuid, int64_t id);
/*
 * One step for a writer that must not give one uuid two ids: the id already
 * remembered for it, else id, remembered now (0: out of memory, nothing done).
 */
int64_t alert_dedupe_claim(struct alert_dedupe *d, const char *machine, const char *uuid,
			   int64_t id);

#endif /* CS_LAPI_DEDUPE_H */
