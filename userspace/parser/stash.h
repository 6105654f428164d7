/* SPDX-License-Identifier: MIT */
/*
 * Named key/value caches written by parser `stash:` entries and read back by
 * the GetFromStash() helper (hub-format.md 3.8). Each cache has a size bound
 * (least recently written entry evicted first) and a per-entry TTL.
 * Thread-safe: one lock per store.
 */
#ifndef CS_STASH_H
#define CS_STASH_H

#include <stddef.h>
#include <stdint.h>

struct cs_stash_store;

int cs_stash_store_new(struct cs_stash_store **out);
void cs_stash_store_free(struct cs_stash_store *s);
/* Creates cache `name` on first use with `size` entries max. 0 or -ENOMEM. */
int cs_stash_set(struct cs_stash_store *s, const char *name, size_t size, int64_t ttl_ns,
		 const char *key, const char *val);
/* *val is a malloc'ed copy. -ENOENT if absent or expired. */
int cs_stash_get(struct cs_stash_store *s, const char *name, const char *key, char **val);

#endif /* CS_STASH_H */
