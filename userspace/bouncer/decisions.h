/* SPDX-License-Identifier: MIT */
/*
 * The bouncer's model of the decision stream: for each prefix, every active ban
 * decision the LAPI told us about. The data plane holds one entry per prefix (the
 * decision that lasts longest), so overlaps are exact: deleting one of two
 * decisions on an address keeps the drop, with the survivor's expiry and origin.
 *
 * Compact: a prefix with its decision is one 40-byte record in a dense array (plus
 * a 4-byte index slot or two, and a 12-byte expiry item), no heap object per
 * decision; only a prefix with several decisions has a small array of its own. A
 * million bans cost ~60 MB.
 *
 * Resynchronisation touches only what changed: the prefixes the data plane already
 * holds are entered with dmodel_applied() ("applied only": no decision yet, the
 * value in the data plane). A decision that arrives for such a prefix with the
 * same id and origin (and an expiry within DMODEL_EXPIRY_SLACK_NS) reports
 * nothing; dmodel_end_resync() reports the removal of those no decision claimed.
 *
 * Pure bookkeeping, no I/O and no clock: callers pass times (CLOCK_BOOTTIME ns).
 * Each mutation reports the prefix's new effective state through a callback, which
 * is what gets written to the data plane. Single-threaded.
 */
#ifndef CS_BOUNCER_DECISIONS_H
#define CS_BOUNCER_DECISIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"

/* Expiries are recomputed from a remaining duration at each pull, and a LAPI computes
 * those when it starts answering, which for a big answer can be seconds after the
 * request (a first pull builds its index): the same decision seen again lands within
 * this of the expiry it got first. A ban lifting up to that much earlier or later
 * is worth not rewriting a million entries at each restart. */
#define DMODEL_EXPIRY_SLACK_NS (60ULL * 1000000000ULL)
/* Decisions kept per prefix at most (more are ignored, and counted). */
#define DMODEL_MAX_PER_PREFIX 4096
/* Prefixes at most (the index has 24 bits for them): -ENOSPC beyond. */
#define DMODEL_MAX_PREFIXES ((1U << 24) - 3)

struct dmodel;

struct deffect {
	struct cs_prefix prefix;
	bool present;	  /* false: the prefix has no live decision left: remove it */
	uint64_t expires; /* of the longest-lived decision */
	uint64_t id;	  /* its decision id */
	uint8_t origin;	  /* its origin (enum cs_origin) */
};

typedef void (*deffect_fn)(const struct deffect *e, void *arg);

int dmodel_new(struct dmodel **out);
void dmodel_free(struct dmodel *m);

/* A decision from `new`. Re-adding a known id updates it. -ENOMEM, -E2BIG past
 * DMODEL_MAX_PER_PREFIX decisions on one prefix, -ENOSPC past DMODEL_MAX_PREFIXES. */
int dmodel_add(struct dmodel *m, const struct cs_prefix *p, uint64_t id, uint64_t expires,
	       uint8_t origin, deffect_fn fn, void *arg);
/* A decision from `deleted`; an unknown id is ignored (deletions are re-sent). */
int dmodel_del(struct dmodel *m, const struct cs_prefix *p, uint64_t id, deffect_fn fn, void *arg);
/* Drops every decision with expires <= now (and applied-only entries past theirs).
 * Visits only what is due (a heap of expiries), not the whole model; returns how
 * many expiries it looked at. */
size_t dmodel_expire(struct dmodel *m, uint64_t now, deffect_fn fn, void *arg);
/* Calls fn with the effective state of every prefix (present ones only). */
void dmodel_for_each(const struct dmodel *m, deffect_fn fn, void *arg);
/* Forgets everything, reporting nothing. */
void dmodel_clear(struct dmodel *m);
/* Forgets p and all its decisions, reporting nothing. */
void dmodel_forget(struct dmodel *m, const struct cs_prefix *p);

/* The data plane holds p with this value (a dump at start): applied only. id 0
 * means unknown (nftables keeps no id): any decision within the slack matches. */
int dmodel_applied(struct dmodel *m, const struct cs_prefix *p, uint64_t id, uint64_t expires,
		   uint8_t origin);
/* A full state follows: every prefix becomes applied only, with its effective value. */
void dmodel_begin_resync(struct dmodel *m);
/* The full state is in: applied-only prefixes are removed and reported absent. */
void dmodel_end_resync(struct dmodel *m, deffect_fn fn, void *arg);

bool dmodel_has(const struct dmodel *m, const struct cs_prefix *p);
size_t dmodel_prefixes(const struct dmodel *m);
size_t dmodel_decisions(const struct dmodel *m);
/* No decision expires before this (UINT64_MAX: none expires); it may be earlier than
 * the earliest. */
uint64_t dmodel_next_expiry(const struct dmodel *m);

#endif /* CS_BOUNCER_DECISIONS_H */
