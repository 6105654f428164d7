// SPDX-License-Identifier: MIT
/*
 * Migration 7 (db/schema.h, DECISIONS_ADDR): one index, decisions_addr, serves
 * what decisions_triple and decisions_range served. A database written at
 * version 6 is upgraded; afterwards a value finds every decision with that
 * value whatever its scope (an address scope, whose range the value gives, or
 * another, whose range is none: a Username may look like an address), the
 * longest decision per (value, type, scope) wins in the stream, containment
 * still answers, and none of these lookups scans the table.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/gotime.h"
#include "common/log.h"
#include "common/ipaddr.h"
#include "db/db_int.h"
#include "db/schema.h"
#include "../lib/alert_fixture.h"
#include "../lib/sql_fixture.h"
#include "../lib/test.h"

#define S NSEC_PER_SEC
#define T0 (1795590000LL * S)
#define H (3600 * S)

static const struct {
	const char *scope, *value, *type;
	int64_t duration;
} rows[] = {
	{ "Ip", "198.18.0.5", "ban", 4 * H },	    /* the longest of the two: the stream's */
	{ "Ip", "198.18.0.5", "ban", 1 * H },
	{ "Username", "198.18.0.5", "ban", 2 * H }, /* not an address: no range */
	{ "Range", "198.18.1.0/24", "ban", 3 * H },
	{ "Country", "FR", "captcha", 5 * H },
	{ "Ip", "2001:db8::1", "ban", 6 * H },
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* Each row its own alert (the two 198.18.0.5 bans stay two decisions). */
static int store_rows(struct cs_db *db)
{
	struct cs_alert *a[NROWS] = { 0 };
	int64_t ids[NROWS];
	int err = 0;

	for (size_t i = 0; i < NROWS && !err; i++) {
		struct cs_decision *d;

		if (!(a[i] = t_alert_new("addr test", T0, 1))) {
			err = -1;
			break;
		}
		d = a[i]->decisions;
		d->scope = strdup(rows[i].scope);
		d->value = strdup(rows[i].value);
		d->type = strdup(rows[i].type);
		d->origin = strdup("cscli");
		d->scenario = strdup("addr test");
		d->duration = rows[i].duration;
	}
	if (!err)
		err = cs_db_alerts_insert(db, a, NROWS, NULL, T0, ids);
	for (size_t i = 0; i < NROWS; i++)
		cs_alert_free(a[i]);
	return err;
}

static size_t active_with_value(struct cs_db *db, const char *value)
{
	struct cs_dfilter f = { .value = value, .no_dedup = true };
	struct cs_decision *v = NULL;
	size_t n = 0;

	if (cs_db_decisions_active(db, &f, T0, &v, &n))
		return (size_t)-1;
	cs_decisions_free(v, n);
	return n;
}

/* The plan of "SELECT ... WHERE <what the filter adds>" mentions no SCAN of decisions. */
static void no_scan(struct cs_db *db, const struct cs_dfilter *f, bool dedup, const char *what)
{
	struct qb q = { 0 };
	sqlite3_stmt *s = NULL;
	char *sql = NULL, name[160];
	bool scan = false, seen = false;

	qb_add(&q, "SELECT d.id FROM decisions d WHERE +d.until > 0");
	dfilter_cond(&q, f);
	if (dedup)
		dedup_cond(&q);
	if (q.err || !q.sql.buf || asprintf(&sql, "EXPLAIN QUERY PLAN %s", q.sql.buf) < 0)
		sql = NULL;
	if (sql && sqlite3_prepare_v2(db->conns[0].h, sql, -1, &s, NULL) == SQLITE_OK)
		while (sqlite3_step(s) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(s, 3);

			seen = true;
			if (detail && !strncmp(detail, "SCAN", 4))
				scan = true;
		}
	snprintf(name, sizeof(name), "%s: planned through an index, no scan", what);
	ASSERT_TRUE(seen && !scan, name);
	sqlite3_finalize(s);
	free(sql);
	qb_free(&q);
}

int main(void)
{
	static char dir[] = "/tmp/cs-db-addr.XXXXXX";
	char path[64], *names;
	const size_t nmig = sizeof(db_migrations) / sizeof(db_migrations[0]);
	struct cs_decision *nv = NULL, *dv = NULL;
	size_t nn = 0, nd = 0, ip4 = 0, user = 0;
	struct cs_dfilter all = { .include_simulated = true };
	struct cs_db *db = NULL;

	log_set_level(LOG_LVL_ERROR);
	/* this test upgrades from 6 to 7 */
	if (!ASSERT_OK(t_db_at_version(dir, path, sizeof(path), 6, &db),
		       "a new database at schema version 6, migration 7 exists"))
		goto out;
	ASSERT_OK(store_rows(db), "decisions stored at version 6");
	ASSERT_OK(db_migrate(db, db_migrations, 7), "upgraded to version 7");
	ASSERT_EQ(t_sql_int(db->conns[0].h, "PRAGMA user_version"), 7, "at version 7");
	names = t_sql_text(db->conns[0].h,
			   "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE"
			   " type = 'index' AND tbl_name = 'decisions' ORDER BY name)");
	ASSERT_STREQ(names ? names : "", "decisions_addr,decisions_alert,decisions_created_at,decisions_until",
		      "decisions_triple and decisions_range merged into decisions_addr");
	free(names);
	ASSERT_EQ(t_sql_int(db->conns[0].h, "SELECT COUNT(*) FROM decisions"), NROWS,
		  "every decision kept");
	/* what follows is the code of today on the schema of today */
	ASSERT_OK(db_migrate(db, db_migrations, nmig), "upgraded to the last version");

	ASSERT_EQ(active_with_value(db, "198.18.0.5"), 3, "an address value: both Ip bans and the Username");
	ASSERT_EQ(active_with_value(db, "FR"), 1, "a value that is no address: the Country");
	ASSERT_EQ(active_with_value(db, "2001:db8::1"), 1, "an IPv6 value");
	ASSERT_EQ(active_with_value(db, "198.18.1.0/24"), 1, "a range value");
	ASSERT_EQ(active_with_value(db, "198.18.1.7"), 0, "a value inside a range is not that value");

	/* a decision stored after the upgrade joins the same lookups */
	ASSERT_OK(store_rows(db), "the same decisions stored again after the upgrade");
	ASSERT_EQ(active_with_value(db, "198.18.0.5"), 6, "old and new rows found by value");

	ASSERT_OK(cs_db_decisions_stream(db, &all, true, 0, T0, 0, &nv, &nn, &dv, &nd),
		  "startup stream");
	for (size_t i = 0; i < nn; i++) {
		if (!strcmp(nv[i].value, "198.18.0.5") && !strcmp(nv[i].scope, "Ip")) {
			ip4++;
			ASSERT_EQ(nv[i].until, T0 + 4 * H, "the longest Ip ban of 198.18.0.5 wins");
		}
		if (!strcmp(nv[i].scope, "Username"))
			user++;
	}
	ASSERT_EQ(ip4, 1, "one Ip decision per (value, type, scope)");
	ASSERT_EQ(user, 1, "the Username of the same value is its own group");
	ASSERT_EQ(nn, 5, "startup: one decision per (value, type, scope)");
	cs_decisions_free(nv, nn);
	cs_decisions_free(dv, nd);

	{
		struct cs_dfilter contains = { .has_range = true, .contains = true };
		struct cs_decision *v = NULL;
		size_t n = 0;

		ASSERT_OK(cs_prefix_parse("198.18.1.7", CS_PREFIX_MASK, &contains.range), "parse an address");
		ASSERT_OK(cs_db_decisions_active(db, &contains, T0, &v, &n), "containment query");
		ASSERT_EQ(n, 2, "the /24 holding 198.18.1.7 (stored twice) found by containment");
		cs_decisions_free(v, n);
	}

	no_scan(db, &(struct cs_dfilter){ .value = "198.18.0.5" }, false, "an address value");
	no_scan(db, &(struct cs_dfilter){ .value = "FR" }, false, "a value that is no address");
	no_scan(db, &(struct cs_dfilter){ .value = "198.18.0.5" }, true, "a value, deduplicated");

out:
	cs_db_close(db);
	return TEST_SUMMARY();
}
