// SPDX-License-Identifier: MIT
/*
 * The decisions table: insert happens with alerts (alerts.c); here listing,
 * streaming to bouncers, expiry and counting.
 */
#include "db/db_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/gotime.h"
#include "common/log.h"
#include "common/vec.h"

/* DECISION_COLS */
static const struct db_fields decision_table = {
	sizeof(struct cs_decision),
	{
		DB_FIELD(struct cs_decision, id, DBF_INT),
		DB_FIELD(struct cs_decision, created_at, DBF_INT),
		DB_FIELD(struct cs_decision, until, DBF_INT),
		DB_FIELD(struct cs_decision, scenario, DBF_TEXT),
		DB_FIELD(struct cs_decision, type, DBF_TEXT),
		DB_FIELD(struct cs_decision, scope, DBF_TEXT),
		DB_FIELD(struct cs_decision, value, DBF_TEXT),
		DB_FIELD(struct cs_decision, origin, DBF_TEXT),
		DB_FIELD(struct cs_decision, simulated, DBF_BOOL),
		DB_FIELD(struct cs_decision, alert_id, DBF_INT),
	},
};

/* arg: the int64_t now the remaining duration is computed from */
static void decision_from_row(struct dbstmt *s, void *elem, void *arg)
{
	struct cs_decision *d = elem;

	db_fields_read(s, d, &decision_table);
	d->duration = d->until - *(const int64_t *)arg;
}

int collect_decisions(struct cs_db *db, struct dbstmt *s, int64_t now,
			     struct cs_decision **out, size_t *n)
{
	void *v = NULL;
	int err = db_rows(db, s, sizeof(**out), decision_from_row, &now, &v, n);

	if (err) {
		cs_decisions_free(v, *n);
		v = NULL;
		*n = 0;
	}
	*out = v;
	return err;
}

void cs_decision_clear(struct cs_decision *d)
{
	db_fields_clear(&decision_table, d);
}

size_t cs_decision_heap(const struct cs_decision *d)
{
	return db_fields_heap(&decision_table, d);
}

void cs_decisions_free(struct cs_decision *v, size_t n)
{
	db_fields_free(&decision_table, v, n);
}

int cs_db_decisions_count_active(struct cs_db *db, int64_t now, cs_db_count_cb cb, void *ctx)
{
	return count_groups(db, ST_ACTIVE_COUNT, now, 3, cb, ctx);
}

/* ---- decisions ---------------------------------------------------------------- */

static int run_decision_query(struct cs_db *db, struct qb *q, int64_t now,
			      struct cs_decision **out, size_t *n)
{
	struct dbstmt *s = NULL;
	int err = qb_prepare(db, q, &s);

	if (!err)
		err = collect_decisions(db, s, now, out, n);
	db_finalize(s);
	return err;
}

/*
 * When an ip/range filter is present the until comparison is written `+d.until`
 * so that the planner drives the query from the range lookups, not from the
 * until index (which matches every active row).
 */
int cs_db_decisions_active(struct cs_db *db, const struct cs_dfilter *f, int64_t now,
			   struct cs_decision **out, size_t *n)
{
	struct qb q = { 0 };
	int err;

	*out = NULL;
	*n = 0;
	qb_add(&q, "SELECT " DECISION_COLS " FROM decisions d WHERE %sd.until >= ?",
	       f->has_range ? "+" : "");
	qb_int(&q, now);
	dfilter_cond(&q, f);
	err = txn_begin_read(db);
	if (!err)
		err = txn_end(db, run_decision_query(db, &q, now, out, n));
	qb_free(&q);
	return err;
}

/* Borrowed view of the current row (valid until the next step). */
static void decision_view(struct dbstmt *s, struct cs_decision *d, int64_t now)
{
	d->id = col_int(s, 0);
	d->created_at = col_int(s, 1);
	d->until = col_int(s, 2);
	d->duration = d->until - now;
	d->scenario = (char *)col_str(s, 3);
	d->type = (char *)col_str(s, 4);
	d->scope = (char *)col_str(s, 5);
	d->value = (char *)col_str(s, 6);
	d->origin = (char *)col_str(s, 7);
	d->simulated = col_int(s, 8);
	d->alert_id = col_int(s, 9);
}

static int each_decision(struct cs_db *db, struct qb *q, int64_t now, bool deleted,
			 cs_db_decision_cb cb, void *ctx)
{
	struct dbstmt *s = NULL;
	int rc, err = qb_prepare(db, q, &s);

	while (!err && (rc = db_step(s)) == DB_ROW) {
		struct cs_decision d;

		decision_view(s, &d, now);
		err = cb(ctx, deleted, &d);
	}
	if (!err && s && rc != DB_DONE)
		err = sql_err(db, rc);
	db_finalize(s);
	return err;
}

int cs_db_decisions_stream_each(struct cs_db *db, const struct cs_dfilter *f, bool startup,
				int64_t last_pull, int64_t now, int64_t bouncer_id,
				cs_db_decision_cb cb, void *ctx)
{
	struct qb qn = { 0 }, qd = { 0 };
	const char *plus = f->has_range ? "+" : "";
	int err;

	/* delta: drive from decisions_created_at (few rows), never from until (all active) */
	qb_add(&qn, "SELECT " DECISION_COLS " FROM decisions d WHERE %sd.until > ?",
	       startup ? plus : "+");
	qb_int(&qn, now);
	if (!startup) {
		qb_add(&qn, " AND d.created_at > ?");
		qb_int(&qn, last_pull);
	}
	dfilter_cond(&qn, f);
	if (!f->no_dedup)
		dedup_cond(&qn);

	qb_add(&qd, "SELECT " DECISION_COLS " FROM decisions d WHERE %sd.until < ?", plus);
	qb_int(&qd, now);
	if (!startup) {
		/* 1.4.6 keeps a 2 s overlap so a deletion racing a pull is not lost. */
		qb_add(&qd, " AND %sd.until > ?", plus);
		qb_int(&qd, last_pull - 2 * NSEC_PER_SEC);
	}
	dfilter_cond(&qd, f);
	if (!f->no_dedup)
		dedup_cond(&qd);

	err = txn_begin(db);
	if (err)
		goto out;
	err = each_decision(db, &qd, now, true, cb, ctx);
	if (!err)
		err = each_decision(db, &qn, now, false, cb, ctx);
	if (!err && bouncer_id > 0) {
		struct dbstmt *s = stmt(db, ST_BOUNCER_LAST_PULL);

		bind_int(s, 1, bouncer_id);
		bind_int(s, 2, now);
		err = exec_stmt(db, s);
	}
	err = txn_end(db, err);
out:
	qb_free(&qn);
	qb_free(&qd);
	return err;
}

struct collect {
	struct cs_decision *v[2];
	size_t n[2], cap[2];
};

static int collect_cb(void *ctx, bool deleted, const struct cs_decision *d)
{
	struct collect *c = ctx;
	int k = deleted;
	struct cs_decision *e;

	if (vec_reserve((void **)&c->v[k], &c->cap[k], c->n[k], sizeof(*e), 16))
		return -ENOMEM;
	e = &c->v[k][c->n[k]++];
	*e = *d;
	e->scenario = xstrdup(d->scenario);
	e->type = xstrdup(d->type);
	e->scope = xstrdup(d->scope);
	e->value = xstrdup(d->value);
	e->origin = xstrdup(d->origin);
	return 0;
}

int cs_db_decisions_stream(struct cs_db *db, const struct cs_dfilter *f, bool startup,
			   int64_t last_pull, int64_t now, int64_t bouncer_id,
			   struct cs_decision **new_out, size_t *n_new, struct cs_decision **del_out,
			   size_t *n_del)
{
	struct collect c = { 0 };
	int err = cs_db_decisions_stream_each(db, f, startup, last_pull, now, bouncer_id,
					      collect_cb, &c);

	if (err) {
		cs_decisions_free(c.v[0], c.n[0]);
		cs_decisions_free(c.v[1], c.n[1]);
		memset(&c, 0, sizeof(c));
	}
	*new_out = c.v[0];
	*n_new = c.n[0];
	*del_out = c.v[1];
	*n_del = c.n[1];
	return err;
}

int cs_db_decisions_expire(struct cs_db *db, const struct cs_dfilter *f, int64_t now, long *n)
{
	struct qb q = { 0 };
	struct dbstmt *s = NULL;
	int64_t *ids = NULL, stamp;
	size_t cap = 0;
	int err, rc = DB_DONE;

	*n = 0;
	err = txn_begin(db);
	if (err)
		return err;
	/* deleted "now", stamped after every last_pull already handed out (stream.c) */
	stamp = stream_write_begin(db, now);
	qb_add(&q, "UPDATE decisions SET until = ?, updated_at = ? WHERE id IN"
		   " (SELECT d.id FROM decisions d WHERE %sd.until > ?",
	       f->has_range ? "+" : "");
	qb_int(&q, stamp);
	qb_int(&q, stamp);
	qb_int(&q, now);
	dfilter_cond(&q, f);
	qb_add(&q, ") RETURNING id");
	err = qb_prepare(db, &q, &s);
	while (!err && (rc = db_step(s)) == DB_ROW) {
		if (vec_reserve((void **)&ids, &cap, (size_t)*n, sizeof(*ids), 64)) {
			err = -ENOMEM;
			break;
		}
		ids[(*n)++] = col_int(s, 0);
	}
	if (!err && rc != DB_DONE)
		err = sql_err(db, rc);
	db_finalize(s);
	if (!err)
		stream_write_epoch(db);
	err = txn_finish(db, err);
	if (!err)
		stream_apply_expire(db, ids, (size_t)*n, stamp);
	else
		stream_write_end(db);
	txn_unlock(db);
	if (err)
		*n = 0;
	free(ids);
	qb_free(&q);
	return err;
}

int cs_db_decision_expire_id(struct cs_db *db, int64_t id, int64_t now)
{
	struct dbstmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	now = stream_write_begin(db, now);
	s = stmt(db, ST_DECISION_EXPIRE_ID);
	bind_int(s, 1, id);
	bind_int(s, 2, now);
	err = run_changes(db, s);
	if (!err)
		stream_write_epoch(db);
	err = txn_finish(db, err);
	if (!err)
		stream_apply_expire(db, &id, 1, now);
	else
		stream_write_end(db);
	txn_unlock(db);
	return err;
}

int cs_db_decisions_count_ip(struct cs_db *db, const char *value, int64_t since, long *n)
{
	struct cs_dfilter f = { .include_simulated = true, .has_range = true, .contains = true };
	struct qb q = { 0 };
	struct dbstmt *s = NULL;
	int err;

	*n = 0;
	if (cs_addr_parse(value, &f.range))
		return 0; /* not an address: no decision can contain it */
	qb_add(&q, "SELECT COUNT(*) FROM decisions d WHERE +d.created_at >= ?");
	qb_int(&q, since);
	dfilter_cond(&q, &f);
	err = txn_begin_read(db);
	if (err)
		goto out;
	err = qb_prepare(db, &q, &s);
	if (!err) {
		int rc = db_step(s);

		if (rc == DB_ROW)
			*n = (long)col_int(s, 0);
		else
			err = sql_err(db, rc);
	}
	db_finalize(s);
	err = txn_end(db, err);
out:
	qb_free(&q);
	return err;
}
