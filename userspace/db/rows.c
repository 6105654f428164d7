// SPDX-License-Identifier: MIT
/*
 * Row mapping: a struct described once by its columns (db_int.h, struct
 * db_field) is read from a result row, bound to a statement, cleared and freed
 * by the same code for every table and both engines.
 */
#include "db/db_int.h"

#include <stdlib.h>
#include <string.h>

/* Column i exists: the table ends at its first DBF_END or at DB_MAX_FIELDS. */
static bool has_col(const struct db_fields *t, size_t i)
{
	return i < DB_MAX_FIELDS && t->f[i].type != DBF_END;
}

size_t db_fields_read(struct dbstmt *s, void *elem, const struct db_fields *t)
{
	char *base = elem;
	size_t i;

	for (i = 0; has_col(t, i); i++) {
		void *at = base + t->f[i].off;
		int col = (int)i;

		switch (t->f[i].type) {
		case DBF_INT:
			*(int64_t *)at = col_int(s, col);
			break;
		case DBF_LONG:
			*(long *)at = (long)col_int(s, col);
			break;
		case DBF_BOOL:
			*(bool *)at = col_int(s, col) != 0;
			break;
		case DBF_DOUBLE:
			*(double *)at = col_double(s, col);
			break;
		case DBF_TEXT:
			*(char **)at = col_text(s, col);
			break;
		case DBF_END:
			break;
		}
	}
	return (int)i;
}

void db_fields_row(struct dbstmt *s, void *elem, void *arg)
{
	(void)db_fields_read(s, elem, arg);
}

void db_fields_bind(struct dbstmt *s, const void *elem, const struct db_fields *t)
{
	const char *base = elem;

	for (size_t i = 0; has_col(t, i); i++) {
		const void *at = base + t->f[i].off;
		int param = (int)i + 1;
		int64_t v;

		if (t->f[i].type == DBF_TEXT) {
			const char *text = *(char *const *)at;

			bind_text(s, param, text ? text : "");
			continue;
		}
		if (t->f[i].type == DBF_DOUBLE) {
			bind_double(s, param, *(const double *)at);
			continue;
		}
		/* the integer kinds: one 64-bit column */
		if (t->f[i].type == DBF_LONG)
			v = *(const long *)at;
		else if (t->f[i].type == DBF_BOOL)
			v = *(const bool *)at;
		else
			v = *(const int64_t *)at;
		bind_int(s, param, v);
	}
}

void db_fields_clear(const struct db_fields *t, void *elem)
{
	if (!elem)
		return;
	for (size_t i = 0; has_col(t, i); i++)
		if (t->f[i].type == DBF_TEXT)
			free(*(char **)((char *)elem + t->f[i].off));
	memset(elem, 0, t->size);
}

size_t db_heap_block(size_t n)
{
	size_t b = (n + 8 + 15) & ~(size_t)15;

	return b < 32 ? 32 : b;
}

size_t db_text_heap(const char *s)
{
	return s ? db_heap_block(strlen(s) + 1) : 0;
}

size_t db_fields_heap(const struct db_fields *t, const void *elem)
{
	size_t n = 0;

	for (size_t i = 0; has_col(t, i); i++)
		if (t->f[i].type == DBF_TEXT)
			n += db_text_heap(*(char *const *)((const char *)elem + t->f[i].off));
	return n;
}

void db_fields_free(const struct db_fields *t, void *v, size_t count)
{
	for (size_t i = 0; v && i < count; i++)
		db_fields_clear(t, (char *)v + i * t->size);
	free(v);
}

int db_fields_rows(struct cs_db *db, struct dbstmt *s, const struct db_fields *t, void **out,
		   size_t *n)
{
	return db_rows(db, s, t->size, db_fields_row, (void *)t, out, n);
}

int db_fields_by_key(struct cs_db *db, enum stmt_id id, const char *key,
		     const struct db_fields *t, void *elem)
{
	struct dbstmt *s = stmt(db, id);

	bind_text(s, 1, key);
	return db_row(db, s, db_fields_row, elem, (void *)t);
}

int db_fields_list(struct cs_db *db, enum stmt_id id, const struct db_fields *t, void **out,
		   size_t *n)
{
	void *v = NULL;
	int err = txn_begin_read(db);

	*out = NULL;
	*n = 0;
	if (err)
		return err;
	err = txn_end(db, db_fields_rows(db, stmt(db, id), t, &v, n));
	if (err) {
		db_fields_free(t, v, *n);
		*n = 0;
		return err;
	}
	*out = v;
	return 0;
}
