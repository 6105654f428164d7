// SPDX-License-Identifier: MIT
/*
 * Schema migrations: a database written by Go CrowdSec 1.4.6 is imported into
 * schema version 1 and then takes every later migration, like a database of
 * ours at version 1 would (the import must not stop the migration loop).
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "db/db_int.h"
#include "db/schema.h"
#include "../lib/sql_fixture.h"
#include "../lib/test.h"

/* The 1.4.6 schema capture, minus comments and sqlite_sequence (sqlite makes it). */
static int make_go_database(sqlite3 *h, const char *schema_path)
{
	FILE *f = fopen(schema_path, "r");
	char *sql = NULL, *line = NULL;
	size_t len = 0, cap = 0;
	FILE *out;
	int rc;

	if (!f)
		return -errno;
	out = open_memstream(&sql, &len);
	while (out && getline(&line, &cap, f) >= 0)
		if (strncmp(line, "--", 2) && !strstr(line, "sqlite_sequence"))
			fputs(line, out);
	fclose(f);
	free(line);
	if (!out)
		return -ENOMEM;
	fputs("INSERT INTO machines (id, created_at, updated_at, machine_id, password,"
	      " ip_address, scenarios, version, is_validated, auth_type) VALUES (1,"
	      " '2026-11-25 07:48:58.673853748+00:00', '2026-11-25 07:48:58.673853748+00:00',"
	      " 'gom', 'x', '127.0.0.1', '', 'v1.4.6', 1, 'password');",
	      out);
	fclose(out);
	rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	free(sql);
	return rc == SQLITE_OK ? 0 : -EIO;
}

int main(void)
{
	/* the real schema, then one later migration standing for any that ships after it */
	const char *const migrations[] = { db_migrations[0],
					   "CREATE TABLE later_migration (x INTEGER);" };
	const char *schema = t_shared("spec/captures/sqlite-schema-1.4.6.sql");
	char dir[] = "/tmp/cs-db-migrate.XXXXXX", go[64], ours[64];
	struct cs_db *db = NULL;

	log_set_level(LOG_LVL_ERROR);
	if (access(schema, R_OK)) {
		TEST_SKIP(4, "no 1.4.6 schema capture (SHARED_DIR)");
		return TEST_SUMMARY();
	}
	if (!mkdtemp(dir))
		return 1;
	snprintf(go, sizeof(go), "%s/go.db", dir);
	snprintf(ours, sizeof(ours), "%s/ours.db", dir);

	/* Go database: import, then the later migration */
	if (ASSERT_OK(db_open_unmigrated(go, &db), "open the Go database")) {
		ASSERT_OK(make_go_database(db->conns[0].h, schema), "write a 1.4.6 database");
		ASSERT_OK(db_migrate(db, migrations, 2), "import and migrate");
		ASSERT_EQ(t_sql_int(db->conns[0].h, "PRAGMA user_version"), 2, "imported database at version 2");
		ASSERT_EQ(t_sql_int(db->conns[0].h, "SELECT COUNT(*) FROM sqlite_master WHERE name ="
					   " 'later_migration'"),
			  1, "the migration after the import ran");
		ASSERT_EQ(t_sql_int(db->conns[0].h, "SELECT COUNT(*) FROM machines WHERE machine_id = 'gom'"),
			  1, "the Go machine was imported");
		cs_db_close(db);
		db = NULL;
	}
	/* control: a new database of ours takes the same path */
	if (ASSERT_OK(db_open_unmigrated(ours, &db), "open a new database")) {
		ASSERT_OK(db_migrate(db, migrations, 2), "migrate a new database");
		ASSERT_EQ(t_sql_int(db->conns[0].h, "PRAGMA user_version"), 2, "new database at version 2");
		cs_db_close(db);
	}
	for (const char *const *p = (const char *const[]){ go, ours, NULL }; *p; p++) {
		char side[80];

		unlink(*p);
		snprintf(side, sizeof(side), "%s-wal", *p);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", *p);
		unlink(side);
	}
	rmdir(dir);
	return TEST_SUMMARY();
}
