/* SPDX-License-Identifier: MIT */
/*
 * A record described once. A struct whose fields are read from a config file,
 * copied and freed lists them in one table ({ key, offset, kind }); the table
 * then drives each field-by-field job, so adding a field is one row and a
 * loader, a copy and a free can no longer disagree about which strings the
 * struct owns.
 *
 *   static const struct rec_field src_fields[] = {
 *           REC_ROW(struct src, "name", name, REC_STR),
 *           REC_LIST(struct src, "filenames", filenames, nfilenames),
 *           REC_ROW(struct src, "force_inotify", force_inotify, REC_BOOL),
 *           REC_ROW(struct src, NULL, file, REC_STR),        owned, not a config key
 *   };
 *   static const struct rec_schema src_schema = REC_SCHEMA(src_fields);
 *
 *   err = rec_yaml_set(&w, &src_schema, sc, key, node);  -ENOENT: not a key of the table
 *   err = rec_copy(&src_schema, &dst, &src);             deep copy of what it owns
 *   rec_free(&src_schema, sc);                           frees what it owns, NULL fine
 *
 * What the table does not describe (nested records, labels, enums) stays with
 * the record's own code.
 */
#ifndef CS_RECORD_H
#define CS_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/ywalk.h"

enum rec_kind {
	REC_STR,  /* char *, owned (NULL = unset) */
	REC_STRV, /* char ** with its size_t count at count_off, owned (common/strv.h) */
	REC_BOOL, /* bool */
};

struct rec_field {
	const char *key;  /* the config key (a dotted path for rec_json_read); NULL: owned only */
	size_t off;	  /* offsetof the member */
	enum rec_kind kind;
	size_t count_off; /* REC_STRV: offsetof its count */
	const char *dflt; /* REC_STR: rec_json_read's value when the key is absent */
};

struct rec_schema {
	const struct rec_field *fields;
	size_t n;
};

/*
 * Table rows: a member of struct T read from key (NULL: owned, not read), a
 * list with its count, a string with a default.
 */
#define REC_ROW(T, key, member, kind) { (key), offsetof(T, member), (kind), 0, NULL }
#define REC_LIST(T, key, member, count)                                                  \
	{ (key), offsetof(T, member), REC_STRV, offsetof(T, count), NULL }
#define REC_STR_OR(T, key, member, dflt) { (key), offsetof(T, member), REC_STR, 0, (dflt) }
#define REC_SCHEMA(arr) { (arr), sizeof(arr) / sizeof((arr)[0]) }

/* The row named key, or NULL. */
const struct rec_field *rec_find(const struct rec_schema *s, const char *key);

/* The char * a REC_STR row describes in rec (const or not, as strchr does). */
static inline char **rec_str(const struct rec_field *f, const void *rec)
{
	return (char **)((char *)rec + f->off);
}

/*
 * Sets the row named key from a YAML node (ywalk's typed getters, so errors
 * name the place): a scalar (null: NULL), a list of scalars appended to the
 * list (null: nothing), a YAML boolean. A string set twice keeps the last.
 * 0, -ENOENT (no such row: the caller's own key or an unknown one), -EINVAL
 * (w->err filled) or -ENOMEM.
 */
int rec_yaml_set(struct ywalk *w, const struct rec_schema *s, void *rec, const char *key,
		 const yaml_node_t *v);

/*
 * Reads each keyed REC_STR row from a yamljson tree (dotted paths), or its
 * dflt when absent; rows without either stay NULL. 0 or -ENOMEM.
 */
int rec_json_read(const struct rec_schema *s, void *rec, json_t *root);

/*
 * dst's owned members become copies of src's (dst's other bytes are left as
 * the caller set them, usually *dst = *src first). On -ENOMEM, what was copied
 * is freed and every owned member of dst is NULL.
 */
int rec_copy(const struct rec_schema *s, void *dst, const void *src);

/* Frees every owned member and sets it NULL (counts 0); rec NULL is fine. */
void rec_free(const struct rec_schema *s, void *rec);

/*
 * rec_free, then every other byte of the size-byte record zeroed: a config
 * struct's _clear (rec NULL is fine).
 */
void rec_clear(const struct rec_schema *s, void *rec, size_t size);

#endif /* CS_RECORD_H */
