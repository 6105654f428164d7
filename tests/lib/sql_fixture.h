/* SPDX-License-Identifier: MIT */
/*
 * One-value reads for the tests that look into an SQLite database themselves
 * (header only: the other tests do not call SQLite).
 *
 *   long long n = t_sql_int(h, "SELECT COUNT(*) FROM decisions");   -1: no row
 *   char *s = t_sql_text(h, "SELECT ...");                          NULL: no row
 */
#ifndef CS_TEST_SQL_FIXTURE_H
#define CS_TEST_SQL_FIXTURE_H

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* The first column of sql's first row as a number, -1 if there is none. */
static inline long long t_sql_int(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *s = NULL;
	long long n = -1;

	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* The first column of sql's first row as text (the caller frees it), NULL if none. */
static inline char *t_sql_text(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *s = NULL;
	char *v = NULL;

	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_text(s, 0))
		v = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return v;
}

#endif /* CS_TEST_SQL_FIXTURE_H */
