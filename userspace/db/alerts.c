// SPDX-License-Identifier: MIT
/*
 * The alerts table with its events, meta and decisions children.
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

/*
 * ALERT_COLS but its last, the machine (a join that may find none). The same
 * table frees a decoded alert: its strings are these, the machine and the uuid.
 */
static const struct db_fields alert_table = {
	sizeof(struct cs_alert),
	{
		DB_FIELD(struct cs_alert, id, DBF_INT),
		DB_FIELD(struct cs_alert, created_at, DBF_INT),
		DB_FIELD(struct cs_alert, scenario, DBF_TEXT),
		DB_FIELD(struct cs_alert, message, DBF_TEXT),
		DB_FIELD(struct cs_alert, events_count, DBF_INT),
		DB_FIELD(struct cs_alert, start_at, DBF_INT),
		DB_FIELD(struct cs_alert, stop_at, DBF_INT),
		DB_FIELD(struct cs_alert, src_ip, DBF_TEXT),
		DB_FIELD(struct cs_alert, src_range, DBF_TEXT),
		DB_FIELD(struct cs_alert, src_as_number, DBF_TEXT),
		DB_FIELD(struct cs_alert, src_as_name, DBF_TEXT),
		DB_FIELD(struct cs_alert, src_cn, DBF_TEXT),
		DB_FIELD(struct cs_alert, src_latitude, DBF_DOUBLE),
		DB_FIELD(struct cs_alert, src_longitude, DBF_DOUBLE),
		DB_FIELD(struct cs_alert, src_scope, DBF_TEXT),
		DB_FIELD(struct cs_alert, src_value, DBF_TEXT),
		DB_FIELD(struct cs_alert, capacity, DBF_INT),
		DB_FIELD(struct cs_alert, leakspeed, DBF_TEXT),
		DB_FIELD(struct cs_alert, scenario_version, DBF_TEXT),
		DB_FIELD(struct cs_alert, scenario_hash, DBF_TEXT),
		DB_FIELD(struct cs_alert, simulated, DBF_BOOL),
	},
};

void cs_alert_free(struct cs_alert *a)
{
	if (!a)
		return;
	free(a->machine_id);
	free(a->uuid);
	for (size_t i = 0; a->events && i < a->n_events; i++)
		free(a->events[i].meta_json);
	free(a->events);
	for (size_t i = 0; a->meta && i < a->n_meta; i++) {
		free(a->meta[i].key);
		free(a->meta[i].value);
	}
	free(a->meta);
	if (a->decisions_borrowed)
		free(a->decisions);
	else
		cs_decisions_free(a->decisions, a->n_decisions);
	db_fields_clear(&alert_table, a);
	free(a);
}

void cs_alerts_free(struct cs_alert **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cs_alert_free(v[i]);
	free(v);
}

/* ---- alerts ------------------------------------------------------------------- */

/*
 * Decisions go in DECISION_ROWS to a statement: one execution keeps its index
 * cursors open across the rows, so keys that arrive in order (an imported list:
 * addresses, one until, one alert) are appended without a descent from the
 * root of every index for every row.
 *
 * Rows that differ only by their address (an import: one duration, reason,
 * type, scope and origin) go through a second form of the statement whose
 * shared columns are bound once for all its rows: binding is a tenth of the
 * writer's time, and eight of the fourteen columns are the same.
 */
#define DECISION_ROWS 128
#define DECISION_COLS_N 14
#define SHARED_COLS_N 8 /* now, until, scenario, type, scope, origin, simulated, alert */
#define OWN_COLS_N 6	/* start_ip, end_ip, start_suffix, end_suffix, ip_size, value */

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* The row's own columns from base + 1 on: its range and value. */
static int bind_address(struct dbstmt *s, int base, const struct cs_decision *d)
{
	struct cs_range r = { 0 };

	if (scope_is_addr(d->scope) && value_range(d->value, &r))
		return -EINVAL;
	bind_int(s, base + 1, r.start_ip);
	bind_int(s, base + 2, r.end_ip);
	bind_int(s, base + 3, r.start_suffix);
	bind_int(s, base + 4, r.end_suffix);
	bind_int(s, base + 5, r.ip_size);
	bind_text(s, base + 6, or_empty(d->value));
	return 0;
}

/* The columns rows may share, from base + 1 on, in SHARED_COLS_N's order. */
static void bind_shared(struct dbstmt *s, int base, const struct cs_alert *a,
			const struct cs_decision *d, int64_t now, int64_t alert_id)
{
	bind_int(s, base + 1, now);
	bind_int(s, base + 2, gotime_deadline(a->stop_at, d->duration));
	bind_text(s, base + 3, or_empty(d->scenario));
	bind_text(s, base + 4, or_empty(d->type));
	bind_text(s, base + 5, or_empty(d->scope));
	bind_text(s, base + 6, or_empty(d->origin));
	bind_int(s, base + 7, d->simulated || a->simulated);
	bind_int(s, base + 8, alert_id);
}

static int bind_decision(struct dbstmt *s, int base, const struct cs_alert *a,
			 const struct cs_decision *d, int64_t now, int64_t alert_id)
{
	bind_shared(s, base, a, d, now, alert_id);
	return bind_address(s, base + SHARED_COLS_N, d);
}

/* The shared columns of d[0..n) are the same (NULL and "" alike, as bound). */
static bool rows_share(const struct cs_decision *d, size_t n)
{
	for (size_t k = 1; k < n; k++)
		if (d[k].duration != d[0].duration || d[k].simulated != d[0].simulated ||
		    strcmp(or_empty(d[k].scenario), or_empty(d[0].scenario)) ||
		    strcmp(or_empty(d[k].type), or_empty(d[0].type)) ||
		    strcmp(or_empty(d[k].scope), or_empty(d[0].scope)) ||
		    strcmp(or_empty(d[k].origin), or_empty(d[0].origin)))
			return false;
	return true;
}

/*
 * The DECISION_ROWS-row INSERT, prepared on first use (per connection): each
 * row with parameters of its own, or (shared) the first SHARED_COLS_N for all.
 */
static struct dbstmt *decisions_many(struct cs_db *db, bool shared)
{
	struct db_conn *c = db_conn(db);
	struct dbstmt **kept = shared ? &c->decisions_shared : &c->decisions_many;
	FILE *f;
	char *sql = NULL;
	size_t len = 0;

	if (*kept) {
		db_reset(*kept);
		return *kept;
	}
	f = open_memstream(&sql, &len);
	if (!f)
		return NULL;
	fputs("INSERT INTO decisions (created_at, updated_at, until, scenario, type, start_ip,"
	      " end_ip, start_suffix, end_suffix, ip_size, scope, value, origin, simulated,"
	      " alert_decisions) VALUES ",
	      f);
	for (int k = 0; k < DECISION_ROWS; k++) {
		int b = shared ? 0 : k * DECISION_COLS_N; /* the shared columns */
		int o = shared ? SHARED_COLS_N + k * OWN_COLS_N : b + SHARED_COLS_N;

		fprintf(f, "%s(?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d)",
			k ? ", " : "", b + 1, b + 1, b + 2, b + 3, b + 4, o + 1, o + 2, o + 3, o + 4,
			o + 5, b + 5, o + 6, b + 6, b + 7, b + 8);
	}
	/* RETURNING costs a sixth of the insert: SQLite's ids are known without it */
	if (!db->be->last_insert_id)
		fputs(" RETURNING id", f);
	if (fclose(f) || db_prepare(db, sql, kept))
		*kept = NULL;
	else
		(*kept)->kept = true;
	free(sql);
	return *kept;
}

/* 0, 1 when the owner's uuid was stored already (nothing inserted), -errno */
static int insert_one_alert(struct cs_db *db, const struct cs_alert *a, int64_t machine_row,
			    int64_t now, int64_t *id, int64_t *decision_ids)
{
	bool by_rowid = db->be->last_insert_id != NULL; /* SQLite: no RETURNING (db.c) */
	struct dbstmt *s = stmt(db, by_rowid ? ST_ALERT_INSERT_NORET : ST_ALERT_INSERT);
	int err;

	if (!s) /* the table is not ours (a Go CrowdSec rewrote it): said by the prepare */
		return -EIO;
	bind_int(s, 1, now);
	bind_text(s, 2, a->scenario ? a->scenario : "");
	bind_text(s, 3, a->message ? a->message : "");
	bind_int(s, 4, a->events_count);
	bind_int(s, 5, a->start_at);
	bind_int(s, 6, a->stop_at);
	bind_text(s, 7, a->src_ip ? a->src_ip : "");
	bind_text(s, 8, a->src_range ? a->src_range : "");
	bind_text(s, 9, a->src_as_number ? a->src_as_number : "");
	bind_text(s, 10, a->src_as_name ? a->src_as_name : "");
	bind_text(s, 11, a->src_cn ? a->src_cn : "");
	bind_double(s, 12, a->src_latitude);
	bind_double(s, 13, a->src_longitude);
	bind_text(s, 14, a->src_scope ? a->src_scope : "");
	bind_text(s, 15, a->src_value ? a->src_value : "");
	bind_int(s, 16, a->capacity);
	bind_text(s, 17, a->leakspeed ? a->leakspeed : "");
	bind_text(s, 18, a->scenario_version ? a->scenario_version : "");
	bind_text(s, 19, a->scenario_hash ? a->scenario_hash : "");
	bind_int(s, 20, a->simulated);
	if (machine_row > 0)
		bind_int(s, 21, machine_row);
	else
		bind_null(s, 21);
	if (a->uuid && *a->uuid)
		bind_text(s, 22, a->uuid);
	else
		bind_null(s, 22);
	err = db_step(s);
	if (err == DB_ROW)
		*id = col_int(s, 0);
	else if (err == DB_DONE && by_rowid && db_changes(db) > 0)
		*id = db->be->last_insert_id(db), err = DB_ROW;
	db_reset(s);
	if (err == DB_DONE && machine_row > 0 && a->uuid && *a->uuid) {
		s = stmt(db, ST_ALERT_BY_UUID);
		bind_int(s, 1, machine_row);
		bind_text(s, 2, a->uuid);
		err = db_step(s);
		if (err == DB_ROW)
			*id = col_int(s, 0);
		db_reset(s);
		return err == DB_ROW ? 1 : sql_err(db, err);
	}
	if (err != DB_ROW)
		return sql_err(db, err);

	for (size_t i = 0; i < a->n_events; i++) {
		s = stmt(db, ST_EVENT_INSERT);
		bind_int(s, 1, now);
		bind_int(s, 2, a->events[i].timestamp);
		bind_text(s, 3, a->events[i].meta_json ? a->events[i].meta_json : "null");
		bind_int(s, 4, *id);
		if ((err = exec_stmt(db, s)))
			return err;
	}
	for (size_t i = 0; i < a->n_meta; i++) {
		s = stmt(db, ST_META_INSERT);
		bind_int(s, 1, now);
		bind_text(s, 2, a->meta[i].key ? a->meta[i].key : "");
		bind_text(s, 3, a->meta[i].value ? a->meta[i].value : "");
		bind_int(s, 4, *id);
		if ((err = exec_stmt(db, s)))
			return err;
	}
	for (size_t i = 0; i < a->n_decisions;) {
		/* whole groups through the multi-row statement, the rest one by one */
		size_t k, rows = a->n_decisions - i >= DECISION_ROWS ? DECISION_ROWS : 1;
		bool shared = rows > 1 && rows_share(&a->decisions[i], rows);
		int rc = DB_DONE;

		s = rows > 1	 ? decisions_many(db, shared)
		    : by_rowid ? stmt(db, ST_DECISION_INSERT_NORET)
			       : stmt(db, ST_DECISION_INSERT);
		if (!s)
			return -EIO;
		if (shared)
			bind_shared(s, 0, a, &a->decisions[i], now, *id);
		err = 0;
		for (k = 0; k < rows && !err; k++)
			err = shared ? bind_address(s, SHARED_COLS_N + (int)k * OWN_COLS_N,
						    &a->decisions[i + k])
				     : bind_decision(s, (int)k * DECISION_COLS_N, a,
						     &a->decisions[i + k], now, *id);
		/* RETURNING gives the ids in the order of the VALUES rows */
		for (k = 0; !err && (rc = db_step(s)) == DB_ROW; k++)
			if (k < rows)
				decision_ids[i + k] = col_int(s, 0);
		if (!err && rc == DB_DONE && k == 0 && by_rowid) {
			int64_t last = db->be->last_insert_id(db);

			for (k = 0; k < rows; k++)
				decision_ids[i + k] = last - (int64_t)(rows - 1 - k);
		}
		if (!err && (rc != DB_DONE || k != rows))
			err = sql_err(db, rc);
		db_reset(s);
		if (rows > 1) /* the shared statement keeps no pointer into this alert */
			db_clear_bindings(s);
		if (err)
			return err;
		i += rows;
	}
	return 0;
}

int cs_db_alerts_insert(struct cs_db *db, struct cs_alert *const *alerts, size_t n,
			const char *machine_id, int64_t now, int64_t *ids)
{
	int64_t machine_row = 0, *decision_ids;
	const char *last_owner = NULL;
	size_t nd = 0, k = 0;
	struct dbstmt *s;
	int err;

	for (size_t i = 0; i < n; i++)
		nd += alerts[i]->n_decisions;
	decision_ids = malloc((nd + 1) * sizeof(*decision_ids));
	if (!decision_ids)
		return -ENOMEM;
	err = txn_begin(db);
	if (err) {
		free(decision_ids);
		return err;
	}
	now = stream_write_begin(db, now);
	for (size_t i = 0; i < n && !err; i++) {
		const char *owner = machine_id ? machine_id : alerts[i]->machine_id;

		/* a group from one agent looks its owner up once */
		if (!owner || !last_owner || strcmp(owner, last_owner)) {
			machine_row = 0;
			if (owner) {
				s = stmt(db, ST_MACHINE_ROWID);
				bind_text(s, 1, owner);
				if (db_step(s) == DB_ROW)
					machine_row = col_int(s, 0);
				db_reset(s);
			}
		}
		last_owner = owner;
		err = insert_one_alert(db, alerts[i], machine_row, now, &ids[i], decision_ids + k);
		alerts[i]->stored_before = err == 1;
		if (err == 1)
			err = 0;
		k += alerts[i]->n_decisions;
	}
	err = txn_finish(db, err);
	if (!err)
		stream_apply_alerts(db, alerts, n, decision_ids, now);
	else
		stream_write_end(db);
	txn_unlock(db);
	free(decision_ids);
	return err;
}

static const struct db_fields event_table = {
	sizeof(struct cs_alert_event),
	{
		DB_FIELD(struct cs_alert_event, timestamp, DBF_INT),
		DB_FIELD(struct cs_alert_event, meta_json, DBF_TEXT),
	},
};
static const struct db_fields meta_table = {
	sizeof(struct cs_meta),
	{
		DB_FIELD(struct cs_meta, key, DBF_TEXT),
		DB_FIELD(struct cs_meta, value, DBF_TEXT),
	},
};

static int load_alert_children(struct cs_db *db, struct cs_alert *a, int64_t now)
{
	struct dbstmt *s;
	void *v = NULL;
	int err;

	s = stmt(db, ST_ALERT_DECISIONS);
	bind_int(s, 1, a->id);
	err = collect_decisions(db, s, now, &a->decisions, &a->n_decisions);
	db_reset(s);
	if (err)
		return err;

	s = stmt(db, ST_ALERT_EVENTS);
	bind_int(s, 1, a->id);
	err = db_fields_rows(db, s, &event_table, &v, &a->n_events);
	a->events = v; /* what was read, on error too: cs_alert_free() frees it */
	if (err)
		return err;
	s = stmt(db, ST_ALERT_META);
	bind_int(s, 1, a->id);
	err = db_fields_rows(db, s, &meta_table, &v, &a->n_meta);
	a->meta = v;
	return err;
}

static struct cs_alert *alert_from_row(struct dbstmt *s)
{
	struct cs_alert *a = calloc(1, sizeof(*a));
	int machine_col;

	if (!a)
		return NULL;
	machine_col = (int)db_fields_read(s, a, &alert_table);
	a->machine_id = !col_str(s, machine_col) ? xstrdup("N/A") : col_text(s, machine_col);
	return a;
}

int cs_db_alerts_search(struct cs_db *db, const struct cs_afilter *f, int64_t now,
			struct cs_alert ***out, size_t *n)
{
	struct cs_alert **v = NULL;
	size_t cnt = 0, cap = 0;
	struct qb q = { 0 };
	struct dbstmt *s = NULL;
	int rc, err;

	*out = NULL;
	*n = 0;
	qb_add(&q, "SELECT " ALERT_COLS " FROM alerts a LEFT JOIN machines m"
		   " ON m.id = a.machine_alerts WHERE TRUE");
	afilter_cond(&q, f, now);
	qb_add(&q, f->sort_asc ? " ORDER BY a.created_at ASC, a.id ASC"
			       : " ORDER BY a.created_at DESC, a.id DESC");
	if (f->limit > 0)
		qb_add(&q, " LIMIT %ld", f->limit);
	err = txn_begin_read(db);
	if (err)
		goto out;
	err = qb_prepare(db, &q, &s);
	while (!err && (rc = db_step(s)) == DB_ROW) {
		if (vec_reserve((void **)&v, &cap, cnt, sizeof(*v), 16)) {
			err = -ENOMEM;
			break;
		}
		v[cnt] = alert_from_row(s);
		if (!v[cnt]) {
			err = -ENOMEM;
			break;
		}
		err = load_alert_children(db, v[cnt++], now);
	}
	if (!err && s && rc != DB_DONE)
		err = sql_err(db, rc);
	db_finalize(s);
	err = txn_end(db, err);
out:
	qb_free(&q);
	if (err) {
		cs_alerts_free(v, cnt);
		return err;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int cs_db_alert_get(struct cs_db *db, int64_t id, int64_t now, struct cs_alert **out)
{
	struct qb q = { 0 };
	struct dbstmt *s = NULL;
	struct cs_alert *a = NULL;
	int rc, err;

	*out = NULL;
	qb_add(&q, "SELECT " ALERT_COLS " FROM alerts a LEFT JOIN machines m"
		   " ON m.id = a.machine_alerts WHERE a.id = ?");
	qb_int(&q, id);
	err = txn_begin_read(db);
	if (err)
		goto out;
	err = qb_prepare(db, &q, &s);
	if (!err) {
		rc = db_step(s);
		if (rc == DB_ROW) {
			a = alert_from_row(s);
			err = a ? load_alert_children(db, a, now) : -ENOMEM;
		} else {
			err = rc == DB_DONE ? -ENOENT : sql_err(db, rc);
		}
	}
	db_finalize(s);
	err = txn_end(db, err);
out:
	qb_free(&q);
	if (err)
		cs_alert_free(a);
	else
		*out = a;
	return err;
}

int cs_db_alert_delete(struct cs_db *db, int64_t id)
{
	struct dbstmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = stmt(db, ST_ALERT_DELETE);
	bind_int(s, 1, id);
	err = run_changes(db, s);
	if (!err) /* its decisions went with it (cascade) */
		stream_mark_stale(db);
	return txn_end(db, err);
}

int cs_db_alerts_delete(struct cs_db *db, const struct cs_afilter *f, int64_t now, long *n)
{
	struct qb q = { 0 };
	int err;

	qb_add(&q, "DELETE FROM alerts WHERE id IN (SELECT a.id FROM alerts a WHERE TRUE");
	afilter_cond(&q, f, now);
	qb_add(&q, ")");
	err = db_exec_query(db, &q, n);
	if (!err && *n) /* their decisions went with them (cascade) */
		stream_mark_stale(db);
	qb_free(&q);
	return err;
}

int cs_db_alerts_count(struct cs_db *db, cs_db_count_cb cb, void *ctx)
{
	return count_groups(db, ST_ALERTS_COUNT, 0, 1, cb, ctx);
}

int cs_db_flush(struct cs_db *db, int64_t before, long max_items, long *n)
{
	int err;

	*n = 0;
	err = txn_begin(db);
	if (err)
		return err;
	if (!db_cluster_job(db, "flush")) /* another replica runs it */
		return txn_end(db, 0);
	if (before > 0)
		err = db_exec_int(db, "DELETE FROM alerts WHERE created_at < ?", before, n);
	/* the (max_items + 1)-th newest and older */
	if (!err && max_items > 0)
		err = db_exec_int(db, "DELETE FROM alerts WHERE id <= (SELECT id FROM alerts"
				      " ORDER BY id DESC LIMIT 1 OFFSET ?)", max_items, n);
	if (*n)
		stream_mark_stale(db);
	return txn_end(db, err);
}
