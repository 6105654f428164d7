/* SPDX-License-Identifier: MIT */
/*
 * The stash (hub-format.md 3.8): named caches of strings, written by parser
 * `stash:` entries and SetInStash(), read by GetFromStash(). One per parser
 * instance (the parser owns it, expr reaches it through the environment), so
 * two detectors in one process never see each other's values.
 * Each cache holds at most `size` entries (the oldest write goes first) and
 * each entry has its own TTL. Thread-safe: one lock per stash.
 */
#ifndef CS_STASH_H
#define CS_STASH_H

#include <stddef.h>
#include <stdint.h>

#define CS_STASH_DEFAULT_SIZE 100 /* CrowdSec's default `size:` */
#define CS_STASH_MAX_CACHES 1024  /* cache names may come from expressions */

struct cs_stash;

int cs_stash_new(struct cs_stash **out);
void cs_stash_free(struct cs_stash *s);
/*
 * Sets key in cache `name`, created on first use with `size` entries max
 * (0: CS_STASH_DEFAULT_SIZE); ttl_ns <= 0: no expiry. 0, -ENOMEM, or -ENOSPC
 * past CS_STASH_MAX_CACHES caches.
 */
int cs_stash_set(struct cs_stash *s, const char *name, size_t size, int64_t ttl_ns,
		 const char *key, const char *val);
/* *val is a malloc'ed copy. -ENOENT if absent or expired. */
int cs_stash_get(struct cs_stash *s, const char *name, const char *key, char **val);

#endif /* CS_STASH_H */
