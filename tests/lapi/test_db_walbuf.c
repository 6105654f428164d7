// SPDX-License-Identifier: MIT
/*
 * The write connection's VFS (db/lite_walbuf.c) gathers a commit's WAL frames
 * into one write: every commit must still be in the WAL file when COMMIT
 * returns. Checked after each commit, of 1 row to several MiB (past the unix
 * VFS's 128 KiB write limit and the gathering bound), with transactions that
 * spill pages to the WAL before they commit or roll back, and across WAL
 * restarts: another connection sees the rows at once, and a copy of the files
 * as they are then (what kill -9 of the writer leaves) recovers them all.
 * And a rolled-back transaction's frames are never written: another writer on
 * the same file (cscli, the sqlite3 tool) commits at their offsets next.
 * Also with psow=0, where synchronous=FULL splits a commit's last write.
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db_int.h"
#include "../lib/sql_fixture.h"
#include "../lib/test.h"

static char dir[] = "/tmp/cs-test-walbuf-XXXXXX";

static long long count_rows(sqlite3 *h)
{
	return t_sql_int(h, "SELECT COUNT(*) FROM t");
}

static bool copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t k = 0;
	bool ok = in >= 0 && out >= 0;

	while (ok && (k = read(in, buf, sizeof(buf))) > 0)
		ok = write(out, buf, (size_t)k) == k;
	ok = ok && k == 0;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ok;
}

/* The rows a copy of the database and its WAL holds, as SQLite recovers it. */
static long long rows_in_copy(const char *path)
{
	char from[320], to[320], copy[280];
	sqlite3 *h = NULL;
	long long n = -1;

	snprintf(copy, sizeof(copy), "%s/copy.db", dir);
	snprintf(to, sizeof(to), "%s-wal", copy);
	snprintf(from, sizeof(from), "%s-wal", path);
	unlink(to);
	snprintf(to, sizeof(to), "%s-shm", copy);
	unlink(to);
	snprintf(to, sizeof(to), "%s-wal", copy);
	if (!copy_file(path, copy) || !copy_file(from, to))
		return -1;
	if (sqlite3_open_v2(copy, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK)
		n = count_rows(h);
	sqlite3_close(h);
	return n;
}

static bool insert_rows(sqlite3 *h, int n, int size)
{
	sqlite3_stmt *s = NULL;
	bool ok = sqlite3_prepare_v2(h, "INSERT INTO t (b) VALUES (randomblob(?))", -1, &s,
				     NULL) == SQLITE_OK;

	for (int i = 0; ok && i < n; i++) {
		ok = sqlite3_bind_int(s, 1, size) == SQLITE_OK && sqlite3_step(s) == SQLITE_DONE;
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	return ok;
}

/*
 * Whether h's WAL is the VFS's wrapper: its methods are not those of the WAL
 * of plain, a connection on the default VFS.
 */
static bool wal_wrapped(sqlite3 *h, sqlite3 *plain)
{
	sqlite3_file *wal = NULL, *plain_wal = NULL;

	return sqlite3_file_control(h, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) == SQLITE_OK &&
	       sqlite3_file_control(plain, "main", SQLITE_FCNTL_JOURNAL_POINTER, &plain_wal) ==
		       SQLITE_OK &&
	       wal && plain_wal && wal->pMethods && plain_wal->pMethods &&
	       wal->pMethods != plain_wal->pMethods;
}

static const char *first_text(sqlite3 *h, const char *sql, char *out, size_t size)
{
	sqlite3_stmt *s = NULL;

	snprintf(out, size, "(%s)", sqlite3_errmsg(h));
	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		snprintf(out, size, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return out;
}

/*
 * The LAPI's connection (db_open_unmigrated: the VFS and its rollback hook)
 * rolls back a transaction that spilled into a truncated WAL; a connection on
 * the default VFS then commits, writing its frames where the dead ones were;
 * the LAPI's connection reads them and the database is whole.
 */
static void two_writers(void)
{
	char path[300], text[200];
	struct cs_db *db = NULL;
	sqlite3 *a, *b = NULL;

	snprintf(path, sizeof(path), "%s/two.db", dir);
	if (!ASSERT_OK(db_open_unmigrated(path, &db), "open the LAPI's connection"))
		return;
	a = db->conns[0].h;
	if (!ASSERT_EQ(sqlite3_exec(a, "PRAGMA synchronous = NORMAL; PRAGMA cache_size = 10;"
				       " CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB);"
				       " INSERT INTO t (b) VALUES (x'00')",
				    NULL, NULL, NULL),
		       SQLITE_OK, "a table, a cache small enough to spill") ||
	    !ASSERT_EQ(sqlite3_open_v2(path, &b, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK,
		       "a second writer on the default VFS") ||
	    !ASSERT_EQ(sqlite3_exec(b, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL), SQLITE_OK,
		       "it does not checkpoint"))
		goto out;
	ASSERT_EQ(sqlite3_wal_checkpoint_v2(a, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
		  SQLITE_OK, "checkpoint, the WAL truncated");
	ASSERT_TRUE(sqlite3_exec(a, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
			    insert_rows(a, 400, 1000) &&
			    sqlite3_exec(a, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK,
		    "a spilled transaction rolls back");
	ASSERT_TRUE(sqlite3_exec(b, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
			    insert_rows(b, 50, 1000) &&
			    sqlite3_exec(b, "COMMIT", NULL, NULL, NULL) == SQLITE_OK,
		    "the other writer commits 50 rows");
	ASSERT_EQ(count_rows(a), 51, "the LAPI's connection reads them all");
	ASSERT_EQ(count_rows(b), 51, "the other writer still reads them all");
	ASSERT_STREQ(first_text(a, "PRAGMA integrity_check", text, sizeof(text)), "ok",
		     "integrity_check: ok");
	ASSERT_EQ(rows_in_copy(path), 51, "the files hold them (kill -9)");
out:
	sqlite3_close(b);
	cs_db_close(db);
}

/*
 * Without powersafe overwrite, synchronous=FULL pads each commit to a sector
 * and splits the write that crosses it: what follows the sync must be in the
 * file when COMMIT returns, or a reader on the default VFS reads a short WAL.
 */
static void psow_off(const char *vfs)
{
	char uri[320], text[200], name[80];
	sqlite3 *w = NULL, *r = NULL;

	snprintf(uri, sizeof(uri), "file:%s/psow.db?psow=0", dir);
	if (!ASSERT_EQ(sqlite3_open_v2(uri, &w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
						       SQLITE_OPEN_URI, vfs),
		       SQLITE_OK, "psow=0: open the writer through the VFS") ||
	    !ASSERT_EQ(sqlite3_exec(w, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
				       " PRAGMA wal_autocheckpoint = 0;"
				       " CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)",
				    NULL, NULL, NULL),
		       SQLITE_OK, "psow=0: WAL, synchronous=FULL") ||
	    !ASSERT_EQ(sqlite3_open_v2(uri, &r, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL),
		       SQLITE_OK, "psow=0: a reader on the default VFS"))
		goto out;
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "psow=0: commit %d, the reader's quick_check", i);
		if (!ASSERT_TRUE(insert_rows(w, 1, 100 + i * 37), "psow=0: a commit"))
			break;
		ASSERT_STREQ(first_text(r, "PRAGMA quick_check", text, sizeof(text)), "ok", name);
	}
	ASSERT_EQ(count_rows(r), 12, "psow=0: the reader sees every commit");
	ASSERT_TRUE(!wal_wrapped(w, r), "psow=0: the WAL is the default VFS's own");
out:
	sqlite3_close(r);
	sqlite3_close(w);
}

int main(void)
{
	/* rows per transaction and their size: 1 frame to past the 1 MiB bound */
	static const int rows[] = { 1, 3, 40, 10, 400, 1, 800, 2 };
	static const int size[] = { 100, 3000, 3000, 100, 3000, 100, 3000, 100 };
	const char *vfs = lite_walbuf_vfs();
	sqlite3 *w = NULL, *r = NULL;
	char path[300];
	long long want = 0;

	if (t_scratch_dir(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/cs.db", dir);
	if (!ASSERT_TRUE(vfs != NULL, "the VFS is registered"))
		goto out;
	if (!ASSERT_EQ(sqlite3_open_v2(path, &w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
		       SQLITE_OK, "open the writer through it") ||
	    !ASSERT_EQ(sqlite3_exec(w, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
				       " PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = 20;"
				       " CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)",
				    NULL, NULL, NULL),
		       SQLITE_OK, "WAL, a cache small enough to spill") ||
	    !ASSERT_EQ(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK,
		       "a reader on the default VFS"))
		goto out;
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			char name[80];

			snprintf(name, sizeof(name), "round %d, %d rows of %d bytes", round, rows[i],
				 size[i]);
			if (!ASSERT_TRUE(sqlite3_exec(w, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
						 insert_rows(w, rows[i], size[i]) &&
						 sqlite3_exec(w, "COMMIT", NULL, NULL, NULL) == SQLITE_OK,
					 name))
				goto out;
			want += rows[i];
			ASSERT_EQ(count_rows(r), want, "another connection sees the commit at once");
			ASSERT_EQ(rows_in_copy(path), want, "the files hold it (kill -9)");
			ASSERT_EQ(count_rows(w), want, "the writer reads it back");
			ASSERT_TRUE(wal_wrapped(w, r), "the WAL is gathered");
		}
		/* a spilled transaction rolled back leaves nothing */
		ASSERT_TRUE(sqlite3_exec(w, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
				    insert_rows(w, 300, 3000) &&
				    sqlite3_exec(w, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK,
			    "a spilled transaction rolls back");
		ASSERT_EQ(count_rows(r), want, "the reader: nothing of it");
		ASSERT_EQ(count_rows(w), want, "the writer: nothing of it");
		ASSERT_EQ(rows_in_copy(path), want, "the files: nothing of it");
		/* the next round writes the WAL from its start again */
		ASSERT_EQ(sqlite3_wal_checkpoint_v2(w, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
			  SQLITE_OK, "checkpoint, the WAL truncated");
	}
	{
		sqlite3_stmt *s = NULL;

		ASSERT_TRUE(sqlite3_prepare_v2(w, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
				    sqlite3_step(s) == SQLITE_ROW &&
				    !strcmp((const char *)sqlite3_column_text(s, 0), "ok"),
			    "integrity_check: ok");
		sqlite3_finalize(s);
	}
	two_writers();
	psow_off(vfs);
out:
	sqlite3_close(r);
	sqlite3_close(w);
	return TEST_SUMMARY();
}
