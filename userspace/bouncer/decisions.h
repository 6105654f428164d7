/* SPDX-License-Identifier: MIT */
/*
 * The bouncer's model of the decision stream: for each prefix, every active ban
 * decision the LAPI told us about. The data plane holds one entry per prefix (the
 * decision that lasts longest), so overlaps are exact: deleting one of two
 * decisions on an address keeps the drop, with the survivor's expiry and origin.
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

/* A decision from `new`. Re-adding a known id updates it. */
int dmodel_add(struct dmodel *m, const struct cs_prefix *p, uint64_t id, uint64_t expires,
	       uint8_t origin, deffect_fn fn, void *arg);
/* A decision from `deleted`; an unknown id is ignored (deletions are re-sent). */
int dmodel_del(struct dmodel *m, const struct cs_prefix *p, uint64_t id, deffect_fn fn, void *arg);
/* Drops every decision with expires <= now. */
void dmodel_expire(struct dmodel *m, uint64_t now, deffect_fn fn, void *arg);
/* Calls fn with the effective state of every prefix (present ones only). */
void dmodel_for_each(const struct dmodel *m, deffect_fn fn, void *arg);
/* Forgets everything (before a full resynchronisation), reporting nothing. */
void dmodel_clear(struct dmodel *m);

bool dmodel_has(const struct dmodel *m, const struct cs_prefix *p);
size_t dmodel_prefixes(const struct dmodel *m);
size_t dmodel_decisions(const struct dmodel *m);
/* The earliest expiry among all decisions, or UINT64_MAX. */
uint64_t dmodel_next_expiry(const struct dmodel *m);

#endif /* CS_BOUNCER_DECISIONS_H */
