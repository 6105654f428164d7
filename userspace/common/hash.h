/* SPDX-License-Identifier: MIT */
/*
 * The one hash for tables keyed by strings that come from outside (log fields,
 * group-by keys, stash keys, data-file lines): a keyed multiply-mix hash (the
 * wyhash family Go's runtime uses for its maps) under a process-wide key drawn
 * from getrandom() on first use, so a log writer cannot precompute keys that
 * collide. Tests that need stable buckets set the key themselves.
 *
 * Also a seeded string -> pointer map (struct cs_hmap) for tables that need
 * no insertion order (strmap.h keeps one, and hashes through this file too).
 */
#ifndef CS_HASH_H
#define CS_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

uint64_t cs_hash(const void *data, size_t len);
/* cs_hash over two pieces, as if concatenated with a separator no string holds. */
uint64_t cs_hash2(const void *a, size_t alen, const void *b, size_t blen);
static inline uint64_t cs_hash_str(const char *s)
{
	return cs_hash(s, strlen(s));
}
/* Replace the process key (tests, before any table is built). */
void cs_hash_set_key(uint64_t k0, uint64_t k1);

/*
 * The chains of a table whose nodes live in the caller's own structures (the
 * buckets and blackholes of bucket/, cs_hmap's entries): a node embeds a
 * struct cs_hlink and keeps its full hash there, so a table grows without
 * hashing any key again. Lookups walk cs_htab_chain() themselves: only the
 * caller knows what a key is.
 */
struct cs_hlink {
	struct cs_hlink *next;
	uint64_t hash;
};

struct cs_htab {
	struct cs_hlink **slot;
	size_t nslots; /* a power of two; 0 before the first cs_htab_grow() */
};

/* The node that embeds link L as its MEMBER. */
#define cs_hlink_entry(l, type, member) ((type *)((char *)(l) - offsetof(type, member)))

/* The chain a hash falls in (nslots > 0). */
static inline struct cs_hlink **cs_htab_chain(const struct cs_htab *t, uint64_t hash)
{
	return &t->slot[hash & (t->nslots - 1)];
}
/* Links l, of hash HASH, at the head of its chain (nslots > 0). */
void cs_htab_insert(struct cs_htab *t, struct cs_hlink *l, uint64_t hash);
/* Unlinks l from its chain; a link that is not in the table is left alone. */
void cs_htab_unlink(struct cs_htab *t, struct cs_hlink *l);
/* Twice the slots (FIRST when there are none), every link moved: 0, or -ENOMEM with t unchanged. */
int cs_htab_grow(struct cs_htab *t, size_t first);
/* Frees the slots (not the nodes). */
void cs_htab_fini(struct cs_htab *t);

/*
 * String -> pointer map, chained, seeded. Keys are copied; values are the
 * caller's (cs_hmap_free calls free_val on each when not NULL). Lookups by
 * (key, len) so keys may hold NUL bytes.
 */
struct cs_hmap;

struct cs_hmap *cs_hmap_new(void);
void cs_hmap_free(struct cs_hmap *m, void (*free_val)(void *));
void *cs_hmap_get(const struct cs_hmap *m, const char *key, size_t len);
/* Sets key to val; *old (optional) gets the value replaced, or NULL. 0 or -ENOMEM. */
int cs_hmap_put(struct cs_hmap *m, const char *key, size_t len, void *val, void **old);
/* Removes key; returns its value (NULL when absent). */
void *cs_hmap_del(struct cs_hmap *m, const char *key, size_t len);
size_t cs_hmap_count(const struct cs_hmap *m);
/*
 * Calls fn on every entry (in no particular order). fn returns 0 to go on,
 * CS_HMAP_DROP to remove the entry (fn has dealt with its value), or a
 * negative errno to stop the walk with it.
 */
#define CS_HMAP_DROP 1
int cs_hmap_each(struct cs_hmap *m, int (*fn)(const char *key, size_t len, void *val, void *arg),
		 void *arg);

#endif /* CS_HASH_H */
