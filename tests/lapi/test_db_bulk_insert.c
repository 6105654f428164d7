// SPDX-License-Identifier: MIT
/*
 * The multi-row decision INSERT in its two forms (db/alerts.c): rows that
 * share every column but the address bind the shared ones once; a group with
 * one row that differs (duration, type, scope, origin, reason, simulated)
 * binds every row's own. Each stored decision must carry its own values
 * either way, and a bad address anywhere refuses the whole alert.
 *
 * A group of alerts (the LAPI's group commit) goes many alerts and many
 * decisions to a statement: each alert must get its own id, children and
 * decisions whatever the statement sizes it was cut into; an alert whose
 * owner's uuid is stored (before, or earlier in the same group, in the same
 * chunk or another) is not stored again and gets the stored one's id.
 *
 * SQLite: a steady stream of small commits keeps its write-ahead log bounded
 * (db/lite.c: past a bound the committing thread checkpoints itself).
 */
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/gotime.h"
#include "common/log.h"
#include "db/db.h"
#include "../lib/alert_fixture.h"
#include "../lib/test.h"

#define S NSEC_PER_SEC
#define T0 (1795590000LL * S)
#define N 300 /* two groups of 128 and 44 rows one by one */

static struct cs_alert *mk_alert(size_t n, int odd_field, size_t odd_row)
{
	struct cs_alert *a = t_alert_new("import test", T0, n);
	char v[64];

	for (size_t i = 0; i < n; i++) {
		struct cs_decision *d = &a->decisions[i];
		bool odd = i == odd_row;

		snprintf(v, sizeof(v), "198.18.%zu.%zu", i / 250, i % 250 + 1);
		d->value = strdup(v);
		d->scope = strdup(odd && odd_field == 1 ? "Range" : "Ip");
		if (odd && odd_field == 1) {
			snprintf(v, sizeof(v), "198.19.%zu.0/24", i % 250);
			free(d->value);
			d->value = strdup(v);
		}
		if (odd && odd_field == 6) {
			free(d->value);
			d->value = strdup("not-an-address");
		}
		d->type = strdup(odd && odd_field == 2 ? "captcha" : "ban");
		d->origin = strdup(odd && odd_field == 3 ? "cscli" : "cscli-import");
		d->scenario = strdup(odd && odd_field == 4 ? "other list" : "my list");
		d->duration = (odd && odd_field == 5 ? 2 : 4) * 3600 * S;
		d->simulated = odd && odd_field == 7;
	}
	return a;
}

/* Every stored decision of alert id against what mk_alert gave row by row. */
static void check_stored(struct cs_db *db, int64_t id, int odd_field, size_t odd_row,
			 const char *what)
{
	struct cs_alert *got = NULL, *want = mk_alert(N, odd_field, odd_row);
	char name[160];
	size_t bad = 0;

	snprintf(name, sizeof(name), "%s: alert read back", what);
	if (!ASSERT_OK(cs_db_alert_get(db, id, T0, &got), name))
		goto out;
	snprintf(name, sizeof(name), "%s: %d decisions stored", what, N);
	ASSERT_EQ(got->n_decisions, N, name);
	for (size_t i = 0; i < got->n_decisions && i < N; i++) {
		const struct cs_decision *g = &got->decisions[i];
		const struct cs_decision *w = NULL;

		/* read back in id order, the order they were given */
		w = &want->decisions[i];
		if (strcmp(g->value, w->value) || strcmp(g->scope, w->scope) ||
		    strcmp(g->type, w->type) || strcmp(g->origin, w->origin) ||
		    strcmp(g->scenario, w->scenario) || g->until != T0 + w->duration ||
		    g->simulated != w->simulated)
			bad++;
	}
	snprintf(name, sizeof(name), "%s: each row carries its own values", what);
	ASSERT_EQ(bad, 0, name);
out:
	cs_alert_free(got);
	cs_alert_free(want);
}

#define GROUP 150 /* statements of 64, 64, 16, 4 and one alerts, less the repeated ones */

static const char *group_owner(size_t i)
{
	return (i / 20) % 2 ? "m2" : "m1"; /* runs of one owner, as pushes come */
}

/* The group's alert i: i % 3 decisions (none, one, two), every fifth with events and
 * a meta, uuids on some; 11, 12 and 100 repeat the uuid of 10, 40 that of an earlier
 * group's alert, 25 that of 4 from another owner (a new alert). */
/* every fifth alert's events: one, and 140 for alert 50 (statements of 128, 8 and one) */
static size_t group_events(size_t i)
{
	return i % 5 ? 0 : i == 50 ? 140 : 1;
}

static struct cs_alert *group_alert(size_t i, const char *bad_value)
{
	struct cs_alert *a;
	char v[64];

	snprintf(v, sizeof(v), "group %zu", i);
	a = t_alert_new(v, T0, i % 3);
	a->message = strdup(v);
	a->machine_id = strdup(group_owner(i));
	snprintf(v, sizeof(v), "198.18.200.%zu", i);
	a->src_value = strdup(v);
	if (i % 2 == 0 || i == 11 || i == 25 || i == 100) {
		size_t u = i == 11 || i == 100 ? 10 : i == 25 ? 4 : i;

		snprintf(v, sizeof(v), "uuid-%zu", u);
		a->uuid = strdup(i == 40 ? "uuid-before" : v);
	}
	if (i == 12 || i == 100) { /* 10's uuid and owner, with their other fields */
		free(a->machine_id);
		a->machine_id = strdup(group_owner(10));
		free(a->uuid);
		a->uuid = strdup("uuid-10");
	}
	if (i % 5 == 0) {
		a->n_events = group_events(i);
		a->events = calloc(a->n_events, sizeof(*a->events));
		for (size_t j = 0; j < a->n_events; j++) {
			a->events[j].timestamp = T0 + (int64_t)(i * 1000 + j);
			a->events[j].meta_json = strdup("[]");
		}
		a->meta = calloc(1, sizeof(*a->meta));
		a->n_meta = 1;
		a->meta[0].key = strdup("n");
		snprintf(v, sizeof(v), "%zu", i);
		a->meta[0].value = strdup(v);
	}
	for (size_t j = 0; j < a->n_decisions; j++) {
		struct cs_decision *d = &a->decisions[j];

		snprintf(v, sizeof(v), "198.19.%zu.%zu", j, i);
		d->value = strdup(i == 140 && bad_value ? bad_value : v);
		d->scope = strdup("Ip");
		d->type = strdup("ban");
		d->origin = strdup("crowdsec");
		d->scenario = strdup(a->scenario);
		d->duration = (int64_t)(i + 1) * S;
	}
	return a;
}

static bool group_repeat(size_t i)
{
	return i == 11 || i == 12 || i == 100 || i == 40;
}

static void check_group(struct cs_db *db)
{
	struct cs_alert *v[GROUP], *before = group_alert(40, NULL);
	int64_t ids[GROUP], before_id = 0;
	size_t bad = 0, bad_children = 0, shared_ids = 0, i;
	long count0 = 0, count1 = 0;

	if (!ASSERT_OK(cs_db_machine_add(db, "m1", "x", "", true, false, T0), "machine m1") ||
	    !ASSERT_OK(cs_db_machine_add(db, "m2", "x", "", true, false, T0), "machine m2"))
		return;
	free(before->uuid);
	before->uuid = strdup("uuid-before");
	ASSERT_OK(cs_db_alerts_insert(db, &before, 1, NULL, T0, &before_id), "an earlier group");

	/* a bad address in the group: nothing of it stored */
	for (i = 0; i < GROUP; i++)
		v[i] = group_alert(i, "not-an-address");
	ASSERT_OK(cs_db_decisions_count_ip(db, "198.19.0.1", 0, &count0), "count before");
	ASSERT_EQ(cs_db_alerts_insert(db, v, GROUP, NULL, T0, ids), -EINVAL,
		  "a bad address refuses the group");
	ASSERT_OK(cs_db_decisions_count_ip(db, "198.19.0.1", 0, &count1), "count after");
	ASSERT_EQ(count1, count0, "nothing of the refused group stored");
	for (i = 0; i < GROUP; i++)
		cs_alert_free(v[i]);

	for (i = 0; i < GROUP; i++)
		v[i] = group_alert(i, NULL);
	if (!ASSERT_OK(cs_db_alerts_insert(db, v, GROUP, NULL, T0, ids), "a group of 150 alerts"))
		goto out;
	ASSERT_EQ(ids[40], before_id, "stored by an earlier group: that id");
	ASSERT_TRUE(v[40]->stored_before, "stored by an earlier group: said so");
	ASSERT_EQ(ids[11], ids[10], "twice in a statement: the first one's id");
	ASSERT_EQ(ids[12], ids[10], "three times: the first one's id");
	ASSERT_EQ(ids[100], ids[10], "in a later statement: the first one's id");
	ASSERT_TRUE(v[11]->stored_before && v[12]->stored_before && v[100]->stored_before,
		    "repeated in the group: said stored before");
	ASSERT_TRUE(!v[25]->stored_before && ids[25] != ids[4], "another owner's same uuid: a new alert");
	for (i = 0; i < GROUP; i++) {
		struct cs_alert *got = NULL;
		char want[64];

		if (group_repeat(i))
			continue;
		if (v[i]->stored_before || cs_db_alert_get(db, ids[i], T0, &got)) {
			bad++;
			continue;
		}
		snprintf(want, sizeof(want), "group %zu", i);
		if (strcmp(got->scenario, want) || strcmp(got->machine_id, group_owner(i)) ||
		    got->n_decisions != i % 3)
			bad++;
		for (size_t j = 0; j < got->n_decisions && j < i % 3; j++) {
			snprintf(want, sizeof(want), "198.19.%zu.%zu", j, i);
			if (strcmp(got->decisions[j].value, want) ||
			    got->decisions[j].until != T0 + (int64_t)(i + 1) * S ||
			    got->decisions[j].alert_id != ids[i])
				bad++;
		}
		if (got->n_events != group_events(i) || got->n_meta != (i % 5 == 0))
			bad_children++;
		for (size_t j = 0; j < got->n_events; j++)
			if (got->events[j].timestamp != T0 + (int64_t)(i * 1000 + j))
				bad_children++;
		cs_alert_free(got);
	}
	ASSERT_EQ(bad, 0, "each alert of the group read back with its own fields and decisions");
	ASSERT_EQ(bad_children, 0, "each alert of the group with its own events and meta");
	for (i = 0; i < GROUP; i++)
		for (size_t j = 0; j < i; j++)
			if (!group_repeat(i) && !group_repeat(j) && ids[i] == ids[j])
				shared_ids++;
	ASSERT_EQ(shared_ids, 0, "the 146 alerts stored have ids of their own");
out:
	for (i = 0; i < GROUP; i++)
		cs_alert_free(v[i]);
	cs_alert_free(before);
}

/*
 * Groups of 1 to SMALL_MAX alerts (1 alert per POST: a few a group), which go
 * in statements of exactly their size: alert i of a group of n has i % 3 + 1
 * decisions, events on odd ones, a uuid on even ones; the last repeats the
 * first's uuid when n >= 3 (screened out inside a statement of that size).
 */
#define SMALL_MAX 18

static struct cs_alert *small_alert(size_t n, size_t i, const char *bad_value)
{
	struct cs_alert *a;
	char v[64];

	snprintf(v, sizeof(v), "small %zu %zu", n, i);
	a = t_alert_new(v, T0, i % 3 + 1);
	a->machine_id = strdup("m1");
	snprintf(v, sizeof(v), "small-%zu-%zu", n, n >= 3 && i == n - 1 ? 0 : i);
	if (i % 2 == 0 || (n >= 3 && i == n - 1))
		a->uuid = strdup(v);
	if (i % 2) {
		a->n_events = 2;
		a->events = calloc(2, sizeof(*a->events));
		for (size_t j = 0; j < 2; j++) {
			a->events[j].timestamp = T0 + (int64_t)(n * 1000 + i * 10 + j);
			a->events[j].meta_json = strdup("[]");
		}
	}
	for (size_t j = 0; j < a->n_decisions; j++) {
		struct cs_decision *d = &a->decisions[j];

		snprintf(v, sizeof(v), "198.18.%zu.%zu", 100 + n, i * 3 + j + 1);
		d->value = strdup(bad_value && i == n - 2 ? bad_value : v);
		d->scope = strdup("Ip");
		d->type = strdup("ban");
		d->origin = strdup("crowdsec");
		d->scenario = strdup(a->scenario);
		d->duration = (int64_t)(n * 100 + i + 1) * S;
	}
	return a;
}

static void check_small_groups(struct cs_db *db)
{
	size_t bad = 0, bad_repeat = 0, shared_ids = 0;
	struct cs_alert *v[SMALL_MAX];
	int64_t ids[SMALL_MAX];
	long count0 = 0, count1 = 0;

	/*
	 * A bad address in the last alert stored of a group of 7: nothing of it
	 * stored. The alerts statement runs before the decisions' bind refuses the
	 * address, so a group not rolled back would leave its alert rows: its
	 * first alert's uuid (one the loop below never uses) would then read as
	 * stored before.
	 */
	for (size_t i = 0; i < 7; i++) {
		v[i] = small_alert(7, i, "not-an-address");
		if (v[i]->uuid) /* "small-7-N" -> "refusd-7-N" */
			memcpy(v[i]->uuid, "refusd", 6);
	}
	ASSERT_OK(cs_db_decisions_count_ip(db, "198.18.107.1", 0, &count0), "small: count before");
	ASSERT_EQ(cs_db_alerts_insert(db, v, 7, NULL, T0, ids), -EINVAL,
		  "small: a bad address refuses the group of 7");
	ASSERT_OK(cs_db_decisions_count_ip(db, "198.18.107.1", 0, &count1), "small: count after");
	ASSERT_EQ(count1, count0, "small: no decision of the refused group stored");
	for (size_t i = 0; i < 7; i++)
		cs_alert_free(v[i]);
	v[0] = small_alert(7, 0, NULL);
	memcpy(v[0]->uuid, "refusd", 6);
	ASSERT_OK(cs_db_alerts_insert(db, v, 1, NULL, T0, ids), "small: the refused group's first alert alone");
	ASSERT_TRUE(!v[0]->stored_before, "small: no alert row of the refused group stored");
	cs_alert_free(v[0]);

	for (size_t n = 1; n <= SMALL_MAX; n++) {
		size_t stored = n >= 3 ? n - 1 : n;

		for (size_t i = 0; i < n; i++)
			v[i] = small_alert(n, i, NULL);
		if (cs_db_alerts_insert(db, v, n, NULL, T0, ids)) {
			bad++;
		} else {
			for (size_t i = 0; i < stored; i++) {
				struct cs_alert *got = NULL;
				char want[64];

				if (v[i]->stored_before || cs_db_alert_get(db, ids[i], T0, &got)) {
					bad++;
					continue;
				}
				snprintf(want, sizeof(want), "small %zu %zu", n, i);
				if (strcmp(got->scenario, want) || got->n_decisions != i % 3 + 1 ||
				    got->n_events != (i % 2 ? 2 : 0))
					bad++;
				for (size_t j = 0; j < got->n_decisions && j < i % 3 + 1; j++) {
					snprintf(want, sizeof(want), "198.18.%zu.%zu", 100 + n, i * 3 + j + 1);
					if (strcmp(got->decisions[j].value, want) ||
					    got->decisions[j].alert_id != ids[i] ||
					    got->decisions[j].until != T0 + (int64_t)(n * 100 + i + 1) * S)
						bad++;
				}
				for (size_t j = 0; j < got->n_events; j++)
					if (got->events[j].timestamp != T0 + (int64_t)(n * 1000 + i * 10 + j))
						bad++;
				for (size_t j = 0; j < i; j++)
					shared_ids += ids[j] == ids[i];
				cs_alert_free(got);
			}
			if (n >= 3 && (!v[n - 1]->stored_before || ids[n - 1] != ids[0]))
				bad_repeat++;
		}
		for (size_t i = 0; i < n; i++)
			cs_alert_free(v[i]);
	}
	ASSERT_EQ(bad, 0, "small groups of 1 to 18: each alert with its own fields, decisions, events");
	ASSERT_EQ(shared_ids, 0, "small groups: each alert stored has an id of its own");
	ASSERT_EQ(bad_repeat, 0, "small groups: a repeated uuid gets the first one's id");
}

#define WAL_COMMITS 2500

static void check_wal_bounded(struct cs_db *db, const char *path)
{
	char wal[320];
	struct stat st;
	off_t biggest = 0;
	size_t failed = 0;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	ASSERT_OK(cs_db_sqlite_synchronous(db, false), "synchronous=NORMAL, as the LAPI");
	/* the default bound (~256 MB) would take this test minutes to reach */
	cs_db_sqlite_wal_bound(db, 4000);
	for (size_t c = 0; c < WAL_COMMITS; c++) {
		struct cs_alert *v[4];
		int64_t ids[4];

		for (size_t i = 0; i < 4; i++) {
			v[i] = group_alert(1, NULL);
			free(v[i]->decisions[0].value);
			v[i]->decisions[0].value = malloc(32);
			snprintf(v[i]->decisions[0].value, 32, "198.%zu.%zu.%zu", 18 + c % 2,
				 c / 2 % 250, i + 1);
		}
		failed += cs_db_alerts_insert(db, v, 4, NULL, T0, ids) != 0;
		for (size_t i = 0; i < 4; i++)
			cs_alert_free(v[i]);
		if (!stat(wal, &st) && st.st_size > biggest)
			biggest = st.st_size;
	}
	ASSERT_EQ(failed, 0, "a stream of small commits stored");
	/* every commit appends ~10 pages: unbounded, the log would reach ~100 MB */
	ASSERT_TRUE(biggest > 0 && biggest < 40 * 1024 * 1024, "the log stays bounded");
}

/*
 * The write connection's page cache (db/lite.c): large from the open (a first
 * open's import), small from the first write without an import-sized alert,
 * large again for one, and for 2 s after it (an import's bodies come one after
 * the other), then small. Times are the writes' own (now).
 */
static void check_cache_sizes(struct cs_db *db)
{
	static const struct {
		int64_t at;
		size_t decisions;
		long kib;
		const char *what;
	} steps[] = {
		{ T0 + 10 * S, 1, 8192, "cache: small after a write of one decision" },
		{ T0 + 20 * S, 128, 65536, "cache: large for an alert of 128 decisions" },
		{ T0 + 21 * S, 1, 65536, "cache: still large 1 s after it" },
		{ T0 + 23 * S, 1, 8192, "cache: small again 3 s after it" },
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct cs_alert *a = mk_alert(steps[i].decisions, 0, 0);
		int64_t id = 0;

		ASSERT_OK(cs_db_alerts_insert(db, &a, 1, NULL, steps[i].at, &id), steps[i].what);
		ASSERT_EQ(cs_db_sqlite_cache_kib(db), steps[i].kib, steps[i].what);
		cs_alert_free(a);
	}
}

int main(void)
{
	static char dir[] = "/tmp/cs-test-bulk-XXXXXX";
	char path[300];
	static const char *const field[] = { "none",	 "scope", "type",      "origin",
					     "scenario", "duration", "bad address", "simulated" };
	struct cs_db *db = NULL;

	log_set_level(LOG_LVL_ERROR);
	if (t_scratch_dir(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/cs.db", dir);
	if (ASSERT_OK(cs_db_connect(path, getenv("CS_TEST_PG_CONNINFO"), 0, &db), "open")) {
		if (!getenv("CS_TEST_PG_CONNINFO"))
			ASSERT_EQ(cs_db_sqlite_cache_kib(db), 65536, "cache: large from the open");
		/* the odd row in the first group, the second, and among the rows one by one */
		static const size_t rows[] = { 0, 127, 200, 290 };

		for (int fld = 0; fld < 8; fld++) {
			for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
				struct cs_alert *a = mk_alert(N, fld, rows[r]);
				int64_t id = 0;
				char what[96];
				int err = cs_db_alerts_insert(db, &a, 1, NULL, T0, &id);

				snprintf(what, sizeof(what), "%s differs in row %zu", field[fld],
					 rows[r]);
				if (fld == 6)
					ASSERT_EQ(err, -EINVAL, what);
				else if (ASSERT_OK(err, what))
					check_stored(db, id, fld, rows[r], what);
				cs_alert_free(a);
				if (!fld)
					break; /* every row alike: once */
			}
		}
		check_group(db);
		check_small_groups(db);
		if (!getenv("CS_TEST_PG_CONNINFO")) {
			check_wal_bounded(db, path);
			check_cache_sizes(db);
		}
	}
	cs_db_close(db);
	return TEST_SUMMARY();
}
