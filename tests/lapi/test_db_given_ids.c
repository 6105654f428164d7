// SPDX-License-Identifier: MIT
/*
 * SQLite's alert and decision ids come from counters of the handle
 * (cs_db_alert_ids_take()), so that the LAPI's journal can answer with an
 * alert's id before it is stored: an alert inserted later with ids_given keeps
 * exactly those ids, ordinary inserts meanwhile never take one of the reserved
 * ids, the counters resume above what is stored after a reopen, and
 * cs_db_alerts_insert_journaled() stores the journal's position in the same
 * transaction as its alerts (schema version 9's alert_journal: one row, from
 * (0, 0)), or nothing of either when the transaction fails.
 */
#include <errno.h>
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

/* An alert with n Ip bans on 198.18.<tag>.1..n */
static struct cs_alert *alert_with(int tag, size_t n, const char *value_override)
{
	struct cs_alert *a = t_alert_new("ids test", T0, n);

	for (size_t j = 0; a && j < n; j++) {
		struct cs_decision *d = &a->decisions[j];
		char ip[32];

		snprintf(ip, sizeof(ip), "198.18.%d.%zu", tag, j + 1);
		d->scope = strdup("Ip");
		d->value = strdup(value_override ? value_override : ip);
		d->type = strdup("ban");
		d->origin = strdup("crowdsec");
		d->scenario = strdup("ids test");
		d->duration = 3600 * NSEC_PER_SEC;
	}
	return a;
}

static long long sql_int(struct cs_db *db, const char *sql)
{
	return t_sql_int(db->conns[0].h, sql);
}

int main(void)
{
	static char dir[] = "/tmp/cs-db-ids.XXXXXX";
	char path[64];
	const size_t nmig = sizeof(db_migrations) / sizeof(db_migrations[0]);
	struct cs_alert *a[4] = { 0 }, *given = NULL, *bad = NULL;
	int64_t ids[4], a0 = 0, d0 = 0, gen = -1, pos = -1, id = 0;
	struct cs_db *db = NULL;

	log_set_level(LOG_LVL_ERROR);
	if (!ASSERT_OK(t_db_at_version(dir, path, sizeof(path), 8, &db), "a database at version 8"))
		goto out;
	ASSERT_OK(db_migrate(db, db_migrations, nmig), "migrated to the last version");
	ASSERT_EQ(sql_int(db, "PRAGMA user_version"), 9, "at version 9");
	ASSERT_EQ(sql_int(db, "SELECT COUNT(*) FROM alert_journal"), 1, "alert_journal: one row");
	ASSERT_OK(cs_db_journal_get(db, &gen, &pos), "journal position read");
	ASSERT_EQ(gen, 0, "generation 0 at first");
	ASSERT_EQ(pos, 0, "position 0 at first");

	ASSERT_EQ(cs_db_alert_ids_take(db, 1, 1, &a0, &d0), -EAGAIN, "no ids before init");
	ASSERT_OK(cs_db_alert_ids_init(db), "ids init on an empty database");
	ASSERT_OK(cs_db_alert_ids_take(db, 2, 3, &a0, &d0), "2 alert and 3 decision ids taken");
	ASSERT_EQ(a0, 1, "the first alert id is 1");
	ASSERT_EQ(d0, 1, "the first decision id is 1");

	/* an ordinary insert meanwhile goes above the reserved ids */
	a[0] = alert_with(1, 2, NULL);
	a[0]->machine_id = NULL;
	ASSERT_OK(cs_db_alerts_insert(db, a, 1, NULL, T0, ids), "an ordinary insert");
	ASSERT_EQ(ids[0], 3, "its id follows the reserved ones");
	ASSERT_EQ(sql_int(db, "SELECT MIN(id) FROM decisions"), 4, "its decisions too");

	/* the reserved ones, stored later with their journal position */
	given = alert_with(2, 3, NULL);
	given->ids_given = true;
	given->id = a0 + 1;
	for (size_t j = 0; j < 3; j++)
		given->decisions[j].id = d0 + (int64_t)j;
	ASSERT_OK(cs_db_alerts_insert_journaled(db, &given, 1, T0, &id, 0, 4242),
		  "an alert with given ids, journaled");
	ASSERT_EQ(id, a0 + 1, "stored under its given id");
	ASSERT_EQ(sql_int(db, "SELECT COUNT(*) FROM decisions WHERE alert_decisions = 2 AND id IN (1, 2, 3)"
			      " AND value LIKE '198.18.2.%'"),
		  3, "its decisions under their given ids");
	ASSERT_OK(cs_db_journal_get(db, &gen, &pos), "journal position read back");
	ASSERT_EQ(pos, 4242, "position stored with the alerts");

	/* a failed transaction stores neither the alert nor the position */
	bad = alert_with(3, 1, "not-an-address");
	bad->ids_given = true;
	bad->id = 1;
	bad->decisions[0].id = 9000;
	ASSERT_TRUE(cs_db_alerts_insert_journaled(db, &bad, 1, T0, &id, 1, 9999) != 0,
		    "a refused group fails");
	ASSERT_OK(cs_db_journal_get(db, &gen, &pos), "journal position read after the failure");
	ASSERT_EQ(gen * 100000 + pos, 4242, "the position did not move");
	ASSERT_EQ(sql_int(db, "SELECT COUNT(*) FROM alerts"), 2, "nothing of the refused group stayed");

	/* an id taken twice is refused, not merged */
	a[1] = alert_with(4, 1, NULL);
	a[1]->ids_given = true;
	a[1]->id = 3; /* the ordinary insert's */
	a[1]->decisions[0].id = 8000;
	ASSERT_TRUE(cs_db_alerts_insert(db, &a[1], 1, NULL, T0, ids) != 0, "a used alert id is refused");
	ASSERT_EQ(sql_int(db, "SELECT COUNT(*) FROM decisions WHERE id = 8000"), 0,
		  "nothing of it stored");

	/* reopened: the counters resume above every id stored */
	cs_db_close(db);
	db = NULL;
	if (!ASSERT_OK(cs_db_open(path, &db), "reopened"))
		goto out;
	ASSERT_OK(cs_db_alert_ids_init(db), "ids init after reopening");
	ASSERT_OK(cs_db_alert_ids_take(db, 1, 1, &a0, &d0), "ids taken after reopening");
	ASSERT_EQ(a0, 4, "the next alert id is above the stored ones");
	ASSERT_EQ(d0, 6, "the next decision id is above the stored ones");
	a[2] = alert_with(5, 1, NULL);
	ASSERT_OK(cs_db_alerts_insert(db, &a[2], 1, NULL, T0, ids), "an ordinary insert after");
	ASSERT_EQ(ids[0], 5, "above the id taken");

out:
	for (size_t i = 0; i < 4; i++)
		cs_alert_free(a[i]);
	cs_alert_free(given);
	cs_alert_free(bad);
	cs_db_close(db);
	return TEST_SUMMARY();
}
