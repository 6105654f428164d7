// SPDX-License-Identifier: MIT
/*
 * Row mapping: a struct described once by its columns (db_int.h, struct
 * db_field) is read from a result row, cleared and freed by the same code for
 * every table and both engines.
 */
#include "db/db_int.h"

#include <stdlib.h>
#include <string.h>

void db_fields_read(struct dbstmt *s, void *elem, const struct db_field *f, size_t n)
{
	char *base = elem;

	for (size_t i = 0; i < n; i++) {
		void *at = base + f[i].off;

		switch (f[i].type) {
		case DBF_INT:
			*(int64_t *)at = col_int(s, (int)i);
			break;
		case DBF_BOOL:
			*(bool *)at = col_int(s, (int)i) != 0;
			break;
		case DBF_TEXT:
			*(char **)at = col_text(s, (int)i);
			break;
		}
	}
}

void db_fields_row(struct dbstmt *s, void *elem, void *arg)
{
	const struct db_fields *t = arg;

	db_fields_read(s, elem, t->f, t->n);
}

void db_fields_clear(void *elem, size_t size, const struct db_field *f, size_t n)
{
	if (!elem)
		return;
	for (size_t i = 0; i < n; i++)
		if (f[i].type == DBF_TEXT)
			free(*(char **)((char *)elem + f[i].off));
	memset(elem, 0, size);
}

void db_rows_free(void *v, size_t count, size_t size, const struct db_field *f, size_t n)
{
	for (size_t i = 0; v && i < count; i++)
		db_fields_clear((char *)v + i * size, size, f, n);
	free(v);
}
