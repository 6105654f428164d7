/* SPDX-License-Identifier: MIT */
/*
 * For the tests that look into an SQLite database themselves (header only: the
 * other tests do not call SQLite): one-value reads, and the database at an old
 * schema version that a migration test upgrades.
 *
 *   long long n = t_sql_int(h, "SELECT COUNT(*) FROM decisions");   -1: no row
 *   char *s = t_sql_text(h, "SELECT ...");                          NULL: no row
 *   err = t_db_at_version(dir, path, sizeof(path), 6, &db);         then migrate to 7
 */
#ifndef CS_TEST_SQL_FIXTURE_H
#define CS_TEST_SQL_FIXTURE_H

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_int.h"
#include "db/schema.h"
#include "test.h"

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

/*
 * A new database at schema version `version` in the program's scratch directory
 * dir (t_scratch_dir's template, filled in), its file
 * DIR/crowdsec.db in path. 0, -errno, or -ENOENT when db_migrations has no later
 * version to upgrade to.
 */
static inline int t_db_at_version(char *dir, char *path, size_t pathlen, int version,
				  struct cs_db **db)
{
	int err;

	*db = NULL;
	if ((size_t)version >= sizeof(db_migrations) / sizeof(db_migrations[0]))
		return -ENOENT;
	if (t_scratch_dir(dir))
		return -EIO;
	snprintf(path, pathlen, "%s/crowdsec.db", dir);
	err = db_open_unmigrated(path, db);
	return err ? err : db_migrate(*db, db_migrations, (size_t)version);
}

#endif /* CS_TEST_SQL_FIXTURE_H */
