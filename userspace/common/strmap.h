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

struct strmap *strmap_new(void);
void strmap_free(struct strmap *m);
/* Deep copy; NULL on allocation failure (or if m is NULL). */
struct strmap *strmap_dup(const struct strmap *m);
void strmap_clear(struct strmap *m);

/* 0 or -ENOMEM. */
int strmap_set(struct strmap *m, const char *key, const char *val);
int strmap_setn(struct strmap *m, const char *key, const char *val, size_t len);
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
