// SPDX-License-Identifier: MIT
/*
 * The multi-row decision INSERT in its two forms (db/alerts.c): rows that
 * share every column but the address bind the shared ones once; a group with
 * one row that differs (duration, type, scope, origin, reason, simulated)
 * binds every row's own. Each stored decision must carry its own values
 * either way, and a bad address anywhere refuses the whole alert.
 */
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

int main(void)
{
	char dir[] = "/tmp/cs-test-bulk-XXXXXX", path[300], cmd[400];
	static const char *const field[] = { "none",	 "scope", "type",      "origin",
					     "scenario", "duration", "bad address", "simulated" };
	struct cs_db *db = NULL;

	log_set_level(LOG_LVL_ERROR);
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/cs.db", dir);
	if (ASSERT_OK(cs_db_connect(path, getenv("CS_TEST_PG_CONNINFO"), 0, &db), "open")) {
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
	}
	cs_db_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "cleanup failed\n");
	return TEST_SUMMARY();
}
