// SPDX-License-Identifier: MIT
/*
 * Migration 8 (db/schema.h, FOREIGN_KEYS_DEFERRED): the foreign keys of alerts,
 * decisions, events and meta are checked at COMMIT, so that the writer's
 * many-row INSERTs need no statement journal. A database written at version 7
 * is upgraded in place: every row stays, the file passes integrity_check, a
 * connection that loaded the old schema before the upgrade sees the new one,
 * an orphan row fails its COMMIT (not its INSERT) and leaves nothing, and
 * deleting an alert still takes its children at once.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/log.h"
#include "db/db_int.h"
#include "db/schema.h"
#include "../lib/alert_fixture.h"
#include "../lib/sql_fixture.h"
#include "../lib/test.h"

#define T0 (1795590000LL * NSEC_PER_SEC)
#define NALERTS 12 /* many-row statements of several sizes, and single rows */

/* NALERTS alerts, each with 2 decisions, 2 events and 1 meta, in one group. */
static int store_alerts(struct cs_db *db, int64_t *ids)
{
	struct cs_alert *a[NALERTS] = { 0 };
	int err = 0;

	for (size_t i = 0; i < NALERTS && !err; i++) {
		if (!(a[i] = t_alert_new("fk test", T0, 2))) {
			err = -1;
			break;
		}
		for (size_t j = 0; j < 2; j++) {
			struct cs_decision *d = &a[i]->decisions[j];
			char ip[32];

			snprintf(ip, sizeof(ip), "198.18.%zu.%zu", i, j + 1);
			d->scope = strdup("Ip");
			d->value = strdup(ip);
			d->type = strdup("ban");
			d->origin = strdup("crowdsec");
			d->scenario = strdup("fk test");
			d->duration = 3600 * NSEC_PER_SEC;
		}
		a[i]->events = calloc(2, sizeof(*a[i]->events));
		a[i]->meta = calloc(1, sizeof(*a[i]->meta));
		if (!a[i]->events || !a[i]->meta) {
			err = -1;
			break;
		}
		a[i]->n_events = 2;
		a[i]->events[0].timestamp = T0;
		a[i]->events[0].meta_json = strdup("[]");
		a[i]->events[1].timestamp = T0 + 1;
		a[i]->events[1].meta_json = strdup("[]");
		a[i]->n_meta = 1;
		a[i]->meta[0].key = strdup("k");
		a[i]->meta[0].value = strdup("v");
	}
	if (!err)
		err = cs_db_alerts_insert(db, a, NALERTS, NULL, T0, ids);
	for (size_t i = 0; i < NALERTS; i++)
		cs_alert_free(a[i]);
	return err;
}

/* The rows of the four tables, as one number per table: alerts, decisions, events, meta. */
static void counts(sqlite3 *h, long long *c)
{
	c[0] = t_sql_int(h, "SELECT COUNT(*) FROM alerts");
	c[1] = t_sql_int(h, "SELECT COUNT(*) FROM decisions");
	c[2] = t_sql_int(h, "SELECT COUNT(*) FROM events");
	c[3] = t_sql_int(h, "SELECT COUNT(*) FROM meta");
}

/*
 * On h: an orphan decision inserted in a transaction is accepted by its INSERT
 * and refused by the COMMIT (deferred); rolled back, nothing stays.
 */
static void orphan_refused_at_commit(sqlite3 *h, const char *who)
{
	char name[160];
	long long before = t_sql_int(h, "SELECT COUNT(*) FROM decisions");
	int rc_insert, rc_commit;

	sqlite3_exec(h, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	rc_insert = sqlite3_exec(h, "INSERT INTO decisions (created_at, updated_at, until, scenario,"
				    " type, scope, value, origin, alert_decisions) VALUES (1, 1, 2,"
				    " 's', 'ban', 'Ip', '198.18.9.9', 'cscli', 999999)",
				 NULL, NULL, NULL);
	rc_commit = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
	if (rc_commit != SQLITE_OK)
		sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	snprintf(name, sizeof(name), "%s: the orphan's INSERT is accepted (checked at COMMIT)", who);
	ASSERT_EQ(rc_insert, SQLITE_OK, name);
	snprintf(name, sizeof(name), "%s: its COMMIT is refused (foreign key)", who);
	ASSERT_EQ(rc_commit & 0xff, SQLITE_CONSTRAINT, name);
	snprintf(name, sizeof(name), "%s: nothing of it stays", who);
	ASSERT_EQ(t_sql_int(h, "SELECT COUNT(*) FROM decisions"), before, name);
}

int main(void)
{
	static char dir[] = "/tmp/cs-db-fk.XXXXXX";
	char path[64];
	const size_t nmig = sizeof(db_migrations) / sizeof(db_migrations[0]);
	long long before[4], after[4];
	int64_t ids[NALERTS];
	struct cs_db *db = NULL;
	sqlite3 *other = NULL;

	log_set_level(LOG_LVL_ERROR);
	/* this test upgrades from 7 to 8 */
	if (!ASSERT_OK(t_db_at_version(dir, path, sizeof(path), 7, &db),
		       "a new database at schema version 7, migration 8 exists"))
		goto out;
	ASSERT_OK(store_alerts(db, ids), "alerts with decisions, events and meta stored at version 7");
	counts(db->conns[0].h, before);
	ASSERT_EQ(before[1], 2 * NALERTS, "their decisions stored");

	/* a connection that has read the version 7 schema before the upgrade */
	ASSERT_EQ(sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK,
		  "a second connection");
	ASSERT_EQ(t_sql_int(other, "SELECT COUNT(*) FROM alerts"), NALERTS,
		  "the second connection loaded the schema");

	ASSERT_OK(db_migrate(db, db_migrations, 8), "upgraded to version 8");
	ASSERT_EQ(t_sql_int(db->conns[0].h, "PRAGMA user_version"), 8, "at version 8");
	ASSERT_EQ(t_sql_int(db->conns[0].h,
			    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN"
			    " ('alerts', 'decisions', 'events', 'meta') AND sql LIKE"
			    " '%REFERENCES%DEFERRABLE INITIALLY DEFERRED%'"),
		  4, "the four tables' foreign keys deferred");
	ASSERT_EQ(t_sql_int(db->conns[0].h, "SELECT COUNT(*) FROM sqlite_master WHERE name ="
					    " 'schema_cookie_moved'"),
		  0, "no table left by the migration");
	{
		sqlite3_stmt *s = NULL;
		const char *ok = NULL;

		if (sqlite3_prepare_v2(db->conns[0].h, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
		    sqlite3_step(s) == SQLITE_ROW)
			ok = (const char *)sqlite3_column_text(s, 0);
		ASSERT_STREQ(ok ? ok : "", "ok", "integrity_check after the schema edit");
		sqlite3_finalize(s);
	}
	counts(db->conns[0].h, after);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(after[i], before[i], "every row kept");

	orphan_refused_at_commit(db->conns[0].h, "the migrating connection");
	orphan_refused_at_commit(other, "a connection opened before the upgrade");

	/* the writer's path after the upgrade: many rows to a statement, then the cascade */
	ASSERT_OK(db_migrate(db, db_migrations, nmig), "upgraded to the last version");
	ASSERT_OK(store_alerts(db, ids), "the same group stored after the upgrade");
	counts(db->conns[0].h, after);
	ASSERT_EQ(after[0], 2 * NALERTS, "alerts stored");
	ASSERT_EQ(after[1], 4 * NALERTS, "decisions stored");
	ASSERT_EQ(after[2], 4 * NALERTS, "events stored");
	ASSERT_EQ(after[3], 2 * NALERTS, "meta stored");
	ASSERT_EQ(t_sql_int(db->conns[0].h, "SELECT COUNT(*) FROM decisions d JOIN alerts a ON"
					    " a.id = d.alert_decisions"),
		  4 * NALERTS, "every decision on a stored alert");
	ASSERT_OK(cs_db_alert_delete(db, ids[0]), "an alert deleted");
	counts(db->conns[0].h, after);
	ASSERT_EQ(after[1], 4 * NALERTS - 2, "its decisions went with it at once");
	ASSERT_EQ(after[2], 4 * NALERTS - 2, "its events went with it at once");
	ASSERT_EQ(after[3], 2 * NALERTS - 1, "its meta went with it at once");

out:
	sqlite3_close(other);
	cs_db_close(db);
	return TEST_SUMMARY();
}
