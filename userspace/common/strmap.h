/* SPDX-License-Identifier: MIT */
/*
 * A string -> string map that keeps insertion order (so dumps and tests are
 * deterministic) and stores values with an explicit length: log fields may
 * carry NUL bytes or invalid UTF-8 and must come out exactly as they went in.
 * Every stored value is also NUL-terminated for the common C-string use.
 * Ownership: the map copies keys and values; pointers returned by the getters
 * stay valid until that key is set again, deleted, or the map is freed.
 */
#ifndef CS_STRMAP_H
#define CS_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strmap;

/*
 * A key name known when the configuration loads (a grok capture, a static's
 * target, evt.Meta.x in an expression), interned once per process: its hash
 * is computed once, and maps tell its entries apart by the key's pointer, not
 * by comparing text. Any other name (a JSON key, a name built at run time) is
 * hashed and compared as text; both ways meet in one index and always agree,
 * whichever was used to set an entry. Keys live as long as the process.
 * strmap_key_intern: the key of name (the same pointer for the same name), or
 * NULL when there is no room (STRMAP_KEYS_MAX names, or ENOMEM): then use the
 * name-based calls.
 */
struct strmap_key {
	const char *name;
	size_t len;
	uint32_t hash;
};

#define STRMAP_KEYS_MAX 4096

const struct strmap_key *strmap_key_intern(const char *name);
/* The key of name if it was interned, NULL otherwise (never interns). */
const struct strmap_key *strmap_key_find(const char *name);

struct strmap *strmap_new(void);
void strmap_free(struct strmap *m);
/* Deep copy; NULL on allocation failure (or if m is NULL). */
struct strmap *strmap_dup(const struct strmap *m);
void strmap_clear(struct strmap *m);

/* 0 or -ENOMEM. */
int strmap_set(struct strmap *m, const char *key, const char *val);
int strmap_setn(struct strmap *m, const char *key, const char *val, size_t len);
/* strmap_setn/strmap_getn by an interned key. */
int strmap_setk(struct strmap *m, const struct strmap_key *k, const char *val, size_t len);
const char *strmap_getk(const struct strmap *m, const struct strmap_key *k, size_t *len);
/* NULL when absent. */
const char *strmap_get(const struct strmap *m, const char *key);
const char *strmap_getn(const struct strmap *m, const char *key, size_t *len);
bool strmap_has(const struct strmap *m, const char *key);
/* 0, or -ENOENT when absent. */
int strmap_del(struct strmap *m, const char *key);
size_t strmap_count(const struct strmap *m);

/*
 * A number that changes with every change of the map and that no other map
 * ever has (0 for NULL): whoever keeps values read from a map (the expression
 * evaluator) knows they are still current when the version is the same.
 */
uint64_t strmap_version(const struct strmap *m);

/* Entry i (0 <= i < count) in insertion order; false past the end. */
bool strmap_at(const struct strmap *m, size_t i, const char **key, const char **val,
	       size_t *len);

#endif /* CS_STRMAP_H */
