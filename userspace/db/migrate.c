// SPDX-License-Identifier: MIT
/*
 * Schema migrations (db/schema.h), run once at open.
 */
#include "db/db_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "db/schema_pg.h"

int db_migrate(struct cs_db *db, const char *const *migrations, size_t n)
{
	sqlite3_stmt *s = NULL;
	int version = 0, rc;
	char *msg = NULL;

	sqlite3 *h = db_conn(db)->h;

	if (sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return sql_err(db, sqlite3_errcode(h));
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version > (int)n) {
		log_error("database schema version %d is newer than this program (%zu)", version, n);
		return -EPROTO;
	}
	if (version == 0 && is_go_database(db)) {
		/* the import creates schema version 1; later migrations follow as usual */
		int err = import_go_database(db, migrations[0]);

		if (err)
			return err;
		version = 1;
	}
	for (size_t i = (size_t)version; i < n; i++) {
		char *sql;

		if (asprintf(&sql, "BEGIN IMMEDIATE; %s PRAGMA user_version = %zu; COMMIT;",
			     migrations[i], i + 1) < 0)
			return -ENOMEM;
		rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
		free(sql);
		if (rc != SQLITE_OK) {
			log_error("database migration %zu failed: %s", i + 1, msg ? msg : "?");
			sqlite3_free(msg);
			sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
			return -EIO;
		}
		log_info("database migrated to schema version %zu", i + 1);
	}
	return 0;
}

/*
 * One transaction under an advisory lock: replicas starting together migrate
 * once, the others wait and find the schema current. PostgreSQL's DDL is
 * transactional, so a failed migration leaves the previous version whole.
 */
int pg_migrate(struct cs_db *db)
{
	const size_t n = sizeof(db_migrations_pg) / sizeof(db_migrations_pg[0]);
	struct dbstmt *s = NULL;
	int64_t version = -1;
	int err;

	err = db_exec(db, "BEGIN; SELECT pg_advisory_xact_lock(7700, 0);"
			  " CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);");
	if (!err)
		err = db_prepare(db, "SELECT version FROM schema_version", &s);
	if (!err) {
		int rc = db_step(s);

		if (rc == DB_ROW)
			version = col_int(s, 0);
		else if (rc < 0)
			err = rc;
		db_finalize(s);
	}
	if (!err && version < 0) {
		err = db_exec(db, "INSERT INTO schema_version VALUES (0)");
		version = 0;
	}
	if (!err && version > (int64_t)n) {
		log_error("database schema version %lld is newer than this program (%zu)",
			  (long long)version, n);
		err = -EPROTO;
	}
	for (size_t i = (size_t)(version < 0 ? 0 : version); !err && i < n; i++) {
		char *sql;

		if (asprintf(&sql, "%s; UPDATE schema_version SET version = %zu;",
			     db_migrations_pg[i], i + 1) < 0) {
			err = -ENOMEM;
			break;
		}
		err = db_exec(db, sql);
		free(sql);
		if (err)
			log_error("database migration %zu failed", i + 1);
		else
			log_info("database migrated to schema version %zu", i + 1);
	}
	if (db_exec(db, err ? "ROLLBACK" : "COMMIT") && !err)
		err = -EIO;
	return err;
}
