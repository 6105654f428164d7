// SPDX-License-Identifier: MIT
/* Field tables driving a record's decode, copy and free (see record.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/record.h"
#include "common/strv.h"
#include "common/yamljson.h"

static char ***strv_at(const struct rec_field *f, const void *rec)
{
	return (char ***)((char *)rec + f->off);
}

static size_t *count_at(const struct rec_field *f, const void *rec)
{
	return (size_t *)((char *)rec + f->count_off);
}

const struct rec_field *rec_find(const struct rec_schema *s, const char *key)
{
	for (size_t i = 0; key && i < s->n; i++)
		if (s->fields[i].key && !strcmp(s->fields[i].key, key))
			return &s->fields[i];
	return NULL;
}

int rec_yaml_set(struct ywalk *w, const struct rec_schema *s, void *rec, const char *key,
		 const yaml_node_t *v)
{
	const struct rec_field *f = rec_find(s, key);
	char *str = NULL;
	int err;

	if (!f)
		return -ENOENT;
	switch (f->kind) {
	case REC_STR:
		err = ywalk_scalar(v) && ywalk_is_null(v) ? 0 : ywalk_str(w, v, key, &str);
		if (!err) {
			free(*rec_str(f, rec));
			*rec_str(f, rec) = str;
		}
		return err;
	case REC_STRV:
		return ywalk_strv(w, v, key, strv_at(f, rec), count_at(f, rec));
	case REC_BOOL:
		return ywalk_bool(w, v, key, (bool *)((char *)rec + f->off));
	}
	return -EINVAL;
}

int rec_json_read(const struct rec_schema *s, void *rec, json_t *root)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct rec_field *f = &s->fields[i];
		const char *v;

		if (f->kind != REC_STR || !f->key)
			continue;
		v = yamljson_get_str(root, f->key, f->dflt);
		if (!v)
			continue;
		free(*rec_str(f, rec));
		*rec_str(f, rec) = strdup(v);
		if (!*rec_str(f, rec))
			return -ENOMEM;
	}
	return 0;
}

static int copy_strv(char ***dst, char *const *src, size_t n)
{
	*dst = n ? calloc(n, sizeof(**dst)) : NULL;
	if (n && !*dst)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!((*dst)[i] = strdup(src[i])))
			return -ENOMEM; /* the rest are NULL: strv_free takes them */
	return 0;
}

int rec_copy(const struct rec_schema *s, void *dst, const void *src)
{
	int err = 0;

	/* Owned members first become NULL, so a failure frees only copies. */
	for (size_t i = 0; i < s->n; i++)
		if (s->fields[i].kind == REC_STR || s->fields[i].kind == REC_STRV)
			*rec_str(&s->fields[i], dst) = NULL;
	for (size_t i = 0; !err && i < s->n; i++) {
		const struct rec_field *f = &s->fields[i];

		if (f->kind == REC_STR) {
			/* read only on a string row: a bool row's offset is no pointer */
			const char *from = *rec_str(f, src);

			err = from && !(*rec_str(f, dst) = strdup(from)) ? -ENOMEM : 0;
		} else if (f->kind == REC_STRV) {
			size_t n = *count_at(f, src);

			*count_at(f, dst) = n;
			err = copy_strv(strv_at(f, dst), *strv_at(f, src), n);
		}
	}
	if (err)
		rec_free(s, dst);
	return err;
}

void rec_free(const struct rec_schema *s, void *rec)
{
	for (size_t i = 0; rec && i < s->n; i++) {
		const struct rec_field *f = &s->fields[i];

		if (f->kind == REC_STR) {
			free(*rec_str(f, rec));
			*rec_str(f, rec) = NULL;
		} else if (f->kind == REC_STRV) {
			strv_free(*strv_at(f, rec), *count_at(f, rec));
			*strv_at(f, rec) = NULL;
			*count_at(f, rec) = 0;
		}
	}
}

void rec_clear(const struct rec_schema *s, void *rec, size_t size)
{
	if (!rec)
		return;
	rec_free(s, rec);
	memset(rec, 0, size);
}
