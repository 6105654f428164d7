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

size_t cs_alert_heap(const struct cs_alert *a)
{
	size_t n = db_heap_block(sizeof(*a)) + db_fields_heap(&alert_table, a) +
		   db_text_heap(a->machine_id) + db_text_heap(a->uuid);

	if (a->n_events)
		n += db_heap_block(a->n_events * sizeof(*a->events));
	for (size_t i = 0; a->events && i < a->n_events; i++)
		n += db_text_heap(a->events[i].meta_json);
	if (a->n_meta)
		n += db_heap_block(a->n_meta * sizeof(*a->meta));
	for (size_t i = 0; a->meta && i < a->n_meta; i++)
		n += db_text_heap(a->meta[i].key) + db_text_heap(a->meta[i].value);
	if (a->n_decisions)
		n += db_heap_block(a->n_decisions * sizeof(*a->decisions));
	for (size_t i = 0; !a->decisions_borrowed && a->decisions && i < a->n_decisions; i++)
		n += cs_decision_heap(&a->decisions[i]);
	return n;
}

void cs_alerts_free(struct cs_alert **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cs_alert_free(v[i]);
	free(v);
}

/* ---- alerts ------------------------------------------------------------------- */

/*
 * Rows go many to a statement: one execution keeps its index cursors open
 * across the rows, so keys that arrive in order (an imported list: addresses,
 * one until, one alert; a group's alerts: ids, one created_at) are appended
 * without a descent from the root of every index for every row, and the
 * statement's fixed costs (its start, the sqlite_sequence row of the
 * AUTOINCREMENT table, a cursor on the table and on each of its indexes, its
 * end) are paid once for many rows. Past a kind's large statement, the rest
 * goes in statements of exactly its size (SMALL_ROWS at most): at 1 alert per
 * POST a group holds what the connections pushed during the last commit (~5-10
 * alerts), and one statement per table instead of 4+4+1+1 alerts and 8+1+1
 * decisions took 15% of the writer's instructions per alert at groups of 10,
 * 25% at 5 (docs/BENCHMARKS.md). Only the sizes used get prepared.
 *
 * Rows that differ only by their address (an import: one duration, reason,
 * type, scope and origin) go through a second form of the decision statement
 * whose shared columns are bound once for all its rows: binding is a tenth of
 * the writer's time, and eight of the fourteen columns are the same.
 */
#define ALERT_ROWS 64
#define ALERT_OWN_COLS_N 21 /* the alert's columns after ?1, the time it is stored */
#define DECISION_ROWS 128
#define DECISION_COLS_N 14
#define SHARED_COLS_N 8 /* now, until, scenario, type, scope, origin, simulated, alert */
#define OWN_COLS_N 6	/* start_ip, end_ip, start_suffix, end_suffix, ip_size, value */

/* The many-row statements: their kinds, and the row counts each is prepared for. */
enum many_kind {
	MANY_ALERTS,
	MANY_DECISIONS,
	MANY_DECISIONS_SHARED,
	MANY_EVENTS,
	MANY_META,
	MANY__KINDS
};
#define CHILD_ROWS 128 /* events or meta rows to a statement */
#define SMALL_ROWS 16	/* the largest of the statements of exactly the rows left */
/* slot 0: the kind's large statement; slot r - 1: r rows, 2 <= r <= SMALL_ROWS */
#define MANY_SIZES SMALL_ROWS
static const size_t many_large[MANY__KINDS] = {
	[MANY_ALERTS] = ALERT_ROWS,
	[MANY_DECISIONS] = DECISION_ROWS,
	[MANY_DECISIONS_SHARED] = DECISION_ROWS, /* only this one: imports */
	[MANY_EVENTS] = CHILD_ROWS,
	[MANY_META] = CHILD_ROWS,
};
_Static_assert(MANY__KINDS * MANY_SIZES <= DB_MANY_STMTS, "db_conn.many[] holds them all");

static size_t many_rows(enum many_kind kind, int slot)
{
	return slot ? (size_t)slot + 1 : many_large[kind];
}

/*
 * The rows of kind's next statement when left remain (its slot in *slot): the
 * large statement's, else SMALL_ROWS, else all that are left; 1: a one-row
 * statement of db.c.
 */
static size_t many_pick(enum many_kind kind, size_t left, int *slot)
{
	size_t rows = left >= many_large[kind] ? many_large[kind] : left > SMALL_ROWS ? SMALL_ROWS : left;

	*slot = rows == many_large[kind] || rows < 2 ? 0 : (int)rows - 1;
	return rows;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/*
 * The alert's columns after the time it is stored, from base + 1 on
 * (ALERT_OWN_COLS_N); SQLite: then its id (given_ids()).
 */
static void bind_alert(struct dbstmt *s, int base, const struct cs_alert *a, int64_t machine_row,
		       int64_t id)
{
	bind_text(s, base + 1, or_empty(a->scenario));
	bind_text(s, base + 2, or_empty(a->message));
	bind_int(s, base + 3, a->events_count);
	bind_int(s, base + 4, a->start_at);
	bind_int(s, base + 5, a->stop_at);
	bind_text(s, base + 6, or_empty(a->src_ip));
	bind_text(s, base + 7, or_empty(a->src_range));
	bind_text(s, base + 8, or_empty(a->src_as_number));
	bind_text(s, base + 9, or_empty(a->src_as_name));
	bind_text(s, base + 10, or_empty(a->src_cn));
	bind_double(s, base + 11, a->src_latitude);
	bind_double(s, base + 12, a->src_longitude);
	bind_text(s, base + 13, or_empty(a->src_scope));
	bind_text(s, base + 14, or_empty(a->src_value));
	bind_int(s, base + 15, a->capacity);
	bind_text(s, base + 16, or_empty(a->leakspeed));
	bind_text(s, base + 17, or_empty(a->scenario_version));
	bind_text(s, base + 18, or_empty(a->scenario_hash));
	bind_int(s, base + 19, a->simulated);
	if (machine_row > 0)
		bind_int(s, base + 20, machine_row);
	else
		bind_null(s, base + 20);
	if (a->uuid && *a->uuid)
		bind_text(s, base + 21, a->uuid);
	else
		bind_null(s, base + 21);
	if (id > 0)
		bind_int(s, base + ALERT_OWN_COLS_N + 1, id);
}

/* The row's own columns from base + 1 on: its range and value; SQLite: then its id. */
static int bind_address(struct dbstmt *s, int base, const struct cs_decision *d, int64_t id)
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
	if (id > 0)
		bind_int(s, base + OWN_COLS_N + 1, id);
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
			 const struct cs_decision *d, int64_t now, int64_t alert_id, int64_t id)
{
	bind_shared(s, base, a, d, now, alert_id);
	return bind_address(s, base + SHARED_COLS_N, d, id);
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
 * SQLite: alerts and decisions are inserted with their ids, taken beforehand
 * from db->next_alert_id and next_decision_id (cs_db_alert_ids_take(), or the
 * insert itself), so that the LAPI's journal can answer with ids before they
 * are stored. PostgreSQL: its sequences number them (RETURNING).
 */
static bool given_ids(const struct cs_db *db)
{
	return db->be->last_insert_id != NULL;
}

/*
 * The many-row INSERT of kind for many_rows(kind, size) rows, prepared on first
 * use (per connection). Decisions: each row with parameters of its own, or
 * (shared) the first SHARED_COLS_N for all; alerts: ?1 for all, then their own.
 */
static struct dbstmt *many_stmt(struct cs_db *db, enum many_kind kind, int size)
{
	struct db_conn *c = db_conn(db);
	struct dbstmt **kept = &c->many[kind * MANY_SIZES + size];
	bool shared = kind == MANY_DECISIONS_SHARED, with_id = given_ids(db);
	size_t rows = many_rows(kind, size);
	int dcols = DECISION_COLS_N + with_id, ocols = OWN_COLS_N + with_id;
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
	/*
	 * SQLite: OR FAIL, so that no row's constraint (NOT NULL) may abort the
	 * statement halfway and SQLite keeps no statement journal (a copy of every
	 * page the statement first writes) to undo its first rows: an error rolls
	 * the whole group back anyway (txn_finish()). The foreign keys, the other
	 * halfway abort, are checked at COMMIT (schema.h, FOREIGN_KEYS_DEFERRED).
	 */
	fputs(db->be->is_pg ? "INSERT" : "INSERT OR FAIL", f);
	fputs(kind == MANY_ALERTS   ? ALERT_INSERT_ID_INTO /* SQLite only */
	      : kind == MANY_EVENTS ? EVENT_INSERT_INTO
	      : kind == MANY_META   ? META_INSERT_INTO
	      : with_id		    ? DECISION_INSERT_ID_INTO
				    : DECISION_INSERT_INTO,
	      f);
	for (int k = 0; k < (int)rows; k++) {
		int b = shared ? 0 : k * dcols; /* the shared columns */
		int o = shared ? SHARED_COLS_N + k * ocols : b + SHARED_COLS_N;

		if (kind == MANY_EVENTS || kind == MANY_META) { /* ?1 is the time stored */
			fprintf(f, "%s(?1, ?1, ?%d, ?%d, ?%d)", k ? ", " : "", 2 + 3 * k, 3 + 3 * k,
				4 + 3 * k);
			continue;
		}
		if (kind == MANY_ALERTS) { /* the id after the row's own columns */
			int base = 1 + k * (ALERT_OWN_COLS_N + 1);

			fprintf(f, "%s(?%d, ?1, ?1", k ? ", " : "", base + ALERT_OWN_COLS_N + 1);
			for (int j = 1; j <= ALERT_OWN_COLS_N; j++)
				fprintf(f, ", ?%d", base + j);
			fputc(')', f);
			continue;
		}
		fputs(k ? ", (" : "(", f);
		if (with_id)
			fprintf(f, "?%d, ", o + OWN_COLS_N + 1);
		fprintf(f, "?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d)",
			b + 1, b + 1, b + 2, b + 3, b + 4, o + 1, o + 2, o + 3, o + 4, o + 5, b + 5,
			o + 6, b + 6, b + 7, b + 8);
	}
	if (kind == MANY_ALERTS) /* only where ids are known without RETURNING (SQLite) */
		fputs(" ON CONFLICT DO NOTHING", f);
	/* RETURNING costs a sixth of the insert: SQLite's ids are given */
	else if (!with_id && kind != MANY_EVENTS && kind != MANY_META)
		fputs(" RETURNING id", f);
	if (fclose(f) || db_prepare(db, sql, kept))
		*kept = NULL;
	else
		(*kept)->kept = true;
	free(sql);
	return *kept;
}

/*
 * Runs s, a (many-row) INSERT of rows rows just bound, and gives the new ids in
 * the order of its VALUES rows: RETURNING's, or (SQLite) leaves the given ones.
 * Every row must be inserted.
 */
static int run_rows(struct cs_db *db, struct dbstmt *s, size_t rows, int64_t *const *out)
{
	size_t k;
	int rc;

	for (k = 0; (rc = db_step(s)) == DB_ROW; k++)
		if (k < rows)
			*out[k] = col_int(s, 0);
	if (rc == DB_DONE && k == 0 && given_ids(db) && db_changes(db) == (int64_t)rows)
		k = rows;
	db_reset(s);
	if (rows > 1) /* a kept statement keeps no pointer into the alerts */
		db_clear_bindings(s);
	if (rc != DB_DONE)
		return sql_err(db, rc);
	if (k != rows) {
		log_error("storing alerts: %zu rows of %zu inserted", k, rows);
		return -EIO;
	}
	return 0;
}

/* The decisions of one alert with id alert_id; their ids in out[]. */
static int insert_decisions_of(struct cs_db *db, const struct cs_alert *a, int64_t now,
			       int64_t alert_id, int64_t *out)
{
	bool by_rowid = given_ids(db); /* SQLite: no RETURNING (db.c) */
	int64_t *outs[DECISION_ROWS];
	int err = 0;

	for (size_t i = 0; i < a->n_decisions && !err;) {
		/* whole groups through the many-row statement, the rest one by one */
		size_t rows = a->n_decisions - i >= DECISION_ROWS ? DECISION_ROWS : 1;
		bool shared = rows > 1 && rows_share(&a->decisions[i], rows);
		struct dbstmt *s = rows > 1  ? many_stmt(db, shared ? MANY_DECISIONS_SHARED : MANY_DECISIONS, 0)
				   : by_rowid ? stmt(db, ST_DECISION_INSERT_NORET)
					      : stmt(db, ST_DECISION_INSERT);

		if (!s)
			return -EIO;
		if (shared)
			bind_shared(s, 0, a, &a->decisions[i], now, alert_id);
		for (size_t k = 0; k < rows && !err; k++) {
			outs[k] = &out[i + k];
			err = shared ? bind_address(s, SHARED_COLS_N + (int)k * (OWN_COLS_N + by_rowid),
						    &a->decisions[i + k], by_rowid ? out[i + k] : 0)
				     : bind_decision(s, (int)k * (DECISION_COLS_N + by_rowid), a,
						     &a->decisions[i + k], now, alert_id,
						     by_rowid ? out[i + k] : 0);
		}
		if (err) {
			db_reset(s);
			db_clear_bindings(s);
			return err;
		}
		err = run_rows(db, s, rows, outs);
		i += rows;
	}
	return err;
}

static int insert_children(struct cs_db *db, const struct cs_alert *a, int64_t now, int64_t id)
{
	struct dbstmt *s;
	int err;

	for (size_t i = 0; i < a->n_events; i++) {
		s = stmt(db, ST_EVENT_INSERT);
		bind_int(s, 1, now);
		bind_int(s, 2, a->events[i].timestamp);
		bind_text(s, 3, a->events[i].meta_json ? a->events[i].meta_json : "null");
		bind_int(s, 4, id);
		if ((err = exec_stmt(db, s)))
			return err;
	}
	for (size_t i = 0; i < a->n_meta; i++) {
		s = stmt(db, ST_META_INSERT);
		bind_int(s, 1, now);
		bind_text(s, 2, or_empty(a->meta[i].key));
		bind_text(s, 3, or_empty(a->meta[i].value));
		bind_int(s, 4, id);
		if ((err = exec_stmt(db, s)))
			return err;
	}
	return 0;
}

/* 1 with its id when the owner machine_row stored uuid already, 0, -errno */
static int stored_uuid(struct cs_db *db, int64_t machine_row, const char *uuid, int64_t *id)
{
	struct dbstmt *s = stmt(db, ST_ALERT_BY_UUID);
	int rc;

	if (!s)
		return -EIO;
	bind_int(s, 1, machine_row);
	bind_text(s, 2, uuid);
	rc = db_step(s);
	if (rc == DB_ROW)
		*id = col_int(s, 0);
	db_reset(s);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : sql_err(db, rc);
}

/* PostgreSQL: 0, 1 when the owner's uuid was stored already (nothing inserted), -errno */
static int insert_one_alert(struct cs_db *db, const struct cs_alert *a, int64_t machine_row,
			    int64_t now, int64_t *id, int64_t *decision_ids)
{
	struct dbstmt *s = stmt(db, ST_ALERT_INSERT);
	int err;

	if (!s) /* the table is not ours (a Go CrowdSec rewrote it): said by the prepare */
		return -EIO;
	bind_int(s, 1, now);
	bind_alert(s, 1, a, machine_row, 0);
	err = db_step(s);
	if (err == DB_ROW)
		*id = col_int(s, 0);
	db_reset(s);
	if (err == DB_DONE && machine_row > 0 && a->uuid && *a->uuid) {
		err = stored_uuid(db, machine_row, a->uuid, id);
		return err ? err : -EIO; /* neither inserted nor there */
	}
	if (err != DB_ROW)
		return sql_err(db, err);
	err = insert_children(db, a, now, *id);
	return err ? err : insert_decisions_of(db, a, now, *id, decision_ids);
}

/* The owner's uuid is among a[ix[0..m)]'s (the same owner's): its index there, else -1. */
static long uuid_among(struct cs_alert *const *a, const int64_t *machine_row, const size_t *ix,
		       size_t m, size_t i)
{
	for (size_t j = 0; j < m; j++)
		if (machine_row[ix[j]] == machine_row[i] && a[ix[j]]->uuid &&
		    !strcmp(a[ix[j]]->uuid, a[i]->uuid))
			return (long)j;
	return -1;
}

/*
 * The decisions of a group's alerts, rows of several alerts to a statement:
 * staged, then run when DECISION_ROWS are (or at the end, in the largest counts
 * that fit).
 */
struct staged_decisions {
	size_t n;
	const struct cs_alert *a[DECISION_ROWS];
	const struct cs_decision *d[DECISION_ROWS];
	int64_t alert_id[DECISION_ROWS];
	int64_t *out[DECISION_ROWS];
};

static int staged_run(struct cs_db *db, struct staged_decisions *sd, int64_t now)
{
	int err = 0;

	for (size_t i = 0; i < sd->n && !err;) {
		int size = 0;
		size_t rows = many_pick(MANY_DECISIONS, sd->n - i, &size);
		struct dbstmt *s = rows > 1 ? many_stmt(db, MANY_DECISIONS, size)
					    : stmt(db, ST_DECISION_INSERT_NORET);

		if (!s)
			return -EIO;
		for (size_t k = 0; k < rows && !err; k++) /* SQLite: each with its id */
			err = bind_decision(s, (int)k * (DECISION_COLS_N + 1), sd->a[i + k], sd->d[i + k],
					    now, sd->alert_id[i + k], *sd->out[i + k]);
		if (err) {
			db_reset(s);
			db_clear_bindings(s);
			break;
		}
		err = run_rows(db, s, rows, &sd->out[i]);
		i += rows;
	}
	sd->n = 0;
	return err;
}

static int stage_decisions(struct cs_db *db, struct staged_decisions *sd, const struct cs_alert *a,
			   int64_t alert_id, int64_t now, int64_t *out)
{
	int err = 0;

	if (a->n_decisions >= DECISION_ROWS) /* an import: its own statements, maybe shared */
		return (err = staged_run(db, sd, now)) ? err
						      : insert_decisions_of(db, a, now, alert_id, out);
	for (size_t j = 0; j < a->n_decisions && !err; j++) {
		sd->a[sd->n] = a;
		sd->d[sd->n] = &a->decisions[j];
		sd->alert_id[sd->n] = alert_id;
		sd->out[sd->n] = &out[j];
		if (++sd->n == DECISION_ROWS)
			err = staged_run(db, sd, now);
	}
	return err;
}

/* The events and meta of a group's alerts, CHILD_ROWS of one kind to a statement. */
struct staged_children {
	size_t n[2]; /* events, meta */
	const struct cs_alert_event *event[CHILD_ROWS];
	const struct cs_meta *meta[CHILD_ROWS];
	int64_t alert_id[2][CHILD_ROWS];
};

static int children_run(struct cs_db *db, struct staged_children *sc, bool meta, int64_t now)
{
	enum many_kind kind = meta ? MANY_META : MANY_EVENTS;
	size_t n = sc->n[meta];
	int err = 0;

	for (size_t i = 0, rows; i < n && !err; i += rows) {
		int size = 0;
		struct dbstmt *s;

		rows = many_pick(kind, n - i, &size);
		s = rows > 1 ? many_stmt(db, kind, size)
			     : stmt(db, meta ? ST_META_INSERT : ST_EVENT_INSERT);
		if (!s)
			return -EIO;
		bind_int(s, 1, now);
		for (size_t k = 0; k < rows; k++) {
			int b = 1 + 3 * (int)k;

			if (meta) {
				bind_text(s, b + 1, or_empty(sc->meta[i + k]->key));
				bind_text(s, b + 2, or_empty(sc->meta[i + k]->value));
			} else {
				bind_int(s, b + 1, sc->event[i + k]->timestamp);
				bind_text(s, b + 2, sc->event[i + k]->meta_json ? sc->event[i + k]->meta_json
										: "null");
			}
			bind_int(s, b + 3, sc->alert_id[meta][i + k]);
		}
		err = exec_stmt(db, s);
		if (rows > 1) /* a kept statement keeps no pointer into the alerts */
			db_clear_bindings(s);
	}
	sc->n[meta] = 0;
	return err;
}

static int stage_children(struct cs_db *db, struct staged_children *sc, const struct cs_alert *a,
			  int64_t alert_id, int64_t now)
{
	int err = 0;

	for (size_t i = 0; i < a->n_events && !err; i++) {
		sc->event[sc->n[0]] = &a->events[i];
		sc->alert_id[0][sc->n[0]] = alert_id;
		if (++sc->n[0] == CHILD_ROWS)
			err = children_run(db, sc, false, now);
	}
	for (size_t i = 0; i < a->n_meta && !err; i++) {
		sc->meta[sc->n[1]] = &a->meta[i];
		sc->alert_id[1][sc->n[1]] = alert_id;
		if (++sc->n[1] == CHILD_ROWS)
			err = children_run(db, sc, true, now);
	}
	return err;
}

/* The first of n ids from the counter (SQLite). */
static int64_t take_ids(_Atomic int64_t *next, size_t n)
{
	return atomic_fetch_add(next, (int64_t)n);
}

/* The counter brought above high (an id some other writer used), never down. */
static void raise_ids(_Atomic int64_t *next, int64_t high)
{
	int64_t cur = atomic_load(next);

	while (cur <= high && !atomic_compare_exchange_weak(next, &cur, high + 1))
		;
}

/*
 * Inside a write transaction (SQLite): the counters above every id stored,
 * whoever stored it (AUTOINCREMENT keeps the largest in sqlite_sequence, given
 * ids included), and above the ones taken but not stored yet (they only rise).
 */
static int sync_ids(struct cs_db *db)
{
	struct dbstmt *s = stmt(db, ST_ID_SEQ);
	int rc;

	if (!s)
		return -EIO;
	while ((rc = db_step(s)) == DB_ROW)
		raise_ids(strcmp(col_str(s, 0), "alerts") ? &db->next_decision_id : &db->next_alert_id,
			  col_int(s, 1));
	db_reset(s);
	if (rc != DB_DONE)
		return sql_err(db, rc);
	raise_ids(&db->next_alert_id, 0); /* ids start at 1 */
	raise_ids(&db->next_decision_id, 0);
	atomic_store(&db->ids_synced, true);
	return 0;
}

int cs_db_alert_ids_init(struct cs_db *db)
{
	int err;

	if (!given_ids(db))
		return -EOPNOTSUPP;
	err = txn_begin(db);
	return err ? err : txn_end(db, sync_ids(db));
}

int cs_db_alert_ids_take(struct cs_db *db, size_t nalerts, size_t ndecisions, int64_t *alert0,
			 int64_t *decision0)
{
	if (!given_ids(db))
		return -EOPNOTSUPP;
	if (!atomic_load(&db->ids_synced))
		return -EAGAIN;
	*alert0 = take_ids(&db->next_alert_id, nalerts);
	*decision0 = take_ids(&db->next_decision_id, ndecisions);
	return 0;
}

struct uuid_walk {
	cs_db_uuid_cb fn;
	void *ctx;
};

static int uuid_row(struct dbstmt *s, void *arg)
{
	struct uuid_walk *w = arg;

	w->fn(w->ctx, col_str(s, 0), col_str(s, 1), col_int(s, 2));
	return 0;
}

int cs_db_alerts_recent_uuids(struct cs_db *db, long max, cs_db_uuid_cb fn, void *ctx)
{
	struct uuid_walk w = { fn, ctx };
	struct dbstmt *s;
	int err = txn_begin_read(db);

	if (err)
		return err;
	s = stmt(db, ST_RECENT_UUIDS);
	if (!s) {
		err = -EIO;
	} else {
		bind_int(s, 1, max);
		err = db_each(db, s, uuid_row, &w);
	}
	return txn_end(db, err);
}

int cs_db_journal_get(struct cs_db *db, int64_t *generation, int64_t *position)
{
	struct dbstmt *s;
	int err, rc;

	if (!given_ids(db))
		return -EOPNOTSUPP;
	err = txn_begin_read(db);
	if (err)
		return err;
	s = stmt(db, ST_JOURNAL_GET);
	rc = s ? db_step(s) : -EIO;
	if (rc == DB_ROW) {
		*generation = col_int(s, 0);
		*position = col_int(s, 1);
	}
	if (s)
		db_reset(s);
	err = rc == DB_ROW ? 0 : rc == DB_DONE ? -ENOENT : s ? sql_err(db, rc) : -EIO;
	return txn_end(db, err);
}

/*
 * SQLite: the alerts of a group ALERT_ROWS to a statement, then their events,
 * meta and decisions, many rows to a statement too. The alerts inserted are
 * known beforehand (an alert whose owner stored its uuid, before or earlier in
 * the group, is not), so a statement inserts all its rows and their ids follow
 * from the last one.
 */
static int insert_grouped(struct cs_db *db, struct cs_alert *const *alerts, size_t n,
			  const int64_t *machine_row, int64_t now, int64_t *ids,
			  int64_t *decision_ids)
{
	struct staged_decisions *sd = malloc(sizeof(*sd));
	struct staged_children *sc = malloc(sizeof(*sc));
	size_t ix[ALERT_ROWS], i = 0, k = 0;
	int err = sd && sc ? 0 : -ENOMEM;

	if (sd)
		sd->n = 0;
	if (sc)
		sc->n[0] = sc->n[1] = 0;
	while (i < n && !err) {
		size_t first = i, m = 0;

		for (; i < n && m < ALERT_ROWS && !err; i++) {
			struct cs_alert *a = alerts[i];
			long j;

			a->stored_before = false;
			if (machine_row[i] > 0 && a->uuid && *a->uuid) {
				err = stored_uuid(db, machine_row[i], a->uuid, &ids[i]);
				if (err) { /* 1: stored by an earlier group */
					a->stored_before = err == 1;
					err = err == 1 ? 0 : err;
					continue;
				}
				if ((j = uuid_among(alerts, machine_row, ix, m, i)) >= 0) {
					a->stored_before = true;
					ids[i] = -1 - (int64_t)ix[j]; /* the one stored, until its id is known */
					continue;
				}
			}
			ids[i] = a->ids_given ? a->id : take_ids(&db->next_alert_id, 1);
			ix[m++] = i;
		}
		for (size_t r = 0, rows; r < m && !err; r += rows) {
			int size = 0;
			struct dbstmt *s;
			int64_t *outs[ALERT_ROWS];

			rows = many_pick(MANY_ALERTS, m - r, &size);
			s = rows > 1 ? many_stmt(db, MANY_ALERTS, size) : stmt(db, ST_ALERT_INSERT_NORET);
			if (!s) /* the table is not ours (a Go CrowdSec rewrote it): said by the prepare */
				err = -EIO;
			else
				bind_int(s, 1, now);
			for (size_t q = 0; s && q < rows; q++) {
				bind_alert(s, 1 + (int)q * (ALERT_OWN_COLS_N + 1), alerts[ix[r + q]],
					   machine_row[ix[r + q]], ids[ix[r + q]]);
				outs[q] = &ids[ix[r + q]];
			}
			if (s)
				err = run_rows(db, s, rows, outs);
		}
		for (size_t q = first; q < i && !err; q++) {
			const struct cs_alert *a = alerts[q];

			if (a->stored_before && ids[q] < 0) /* twice in the group */
				ids[q] = ids[-ids[q] - 1];
			if (!a->stored_before) {
				for (size_t j = 0; j < a->n_decisions; j++)
					decision_ids[k + j] = a->ids_given ? a->decisions[j].id
									   : take_ids(&db->next_decision_id, 1);
				err = stage_children(db, sc, a, ids[q], now);
				if (!err)
					err = stage_decisions(db, sd, a, ids[q], now, decision_ids + k);
			}
			k += a->n_decisions;
		}
	}
	if (!err)
		err = staged_run(db, sd, now);
	if (!err)
		err = children_run(db, sc, false, now);
	if (!err)
		err = children_run(db, sc, true, now);
	free(sd);
	free(sc);
	return err;
}

/*
 * The page cache for this write (db/lite.c: large for bulk writes, small for the
 * rest): large while an alert of an import's size (DECISION_ROWS decisions or
 * more, as stage_decisions() tells one) went by in the last 2 s, so that the
 * small writes between an import's bodies do not shrink it each time.
 */
static void bulk_cache(struct cs_db *db, struct cs_alert *const *alerts, size_t n, int64_t now)
{
	if (!db->be->bulk_cache)
		return;
	for (size_t i = 0; i < n; i++)
		if (alerts[i]->n_decisions >= DECISION_ROWS) {
			db->bulk_until = now + 2 * NSEC_PER_SEC;
			break;
		}
	db->be->bulk_cache(db, now < db->bulk_until);
}

/* journal: NULL, or {generation, position} to store with the alerts (SQLite) */
static int alerts_insert(struct cs_db *db, struct cs_alert *const *alerts, size_t n,
			 const char *machine_id, int64_t now, int64_t *ids, const int64_t *journal)
{
	int64_t *machine_row, *decision_ids;
	const char *last_owner = NULL;
	bool owner_validated = false, vouch;
	uint32_t mark = 0;
	size_t nd = 0, k = 0;
	struct dbstmt *s;
	int err;

	for (size_t i = 0; i < n; i++)
		nd += alerts[i]->n_decisions;
	decision_ids = malloc((nd + 1) * sizeof(*decision_ids));
	machine_row = malloc((n + 1) * sizeof(*machine_row));
	if (!decision_ids || !machine_row) {
		free(decision_ids);
		free(machine_row);
		return -ENOMEM;
	}
	err = txn_begin(db);
	if (err) {
		free(decision_ids);
		free(machine_row);
		return err;
	}
	lite_map_wal_index(db);
	vouch = !cs_db_change_mark(db, &mark); /* inside the write lock: nobody else commits */
	now = stream_write_begin(db, now);
	bulk_cache(db, alerts, n, now);
	for (size_t i = 0; i < n && !err; i++) {
		const char *owner = machine_id ? machine_id : alerts[i]->machine_id;

		/* a group from one agent looks its owner up once */
		if (i > 0 && owner && last_owner && !strcmp(owner, last_owner)) {
			machine_row[i] = machine_row[i - 1];
		} else {
			machine_row[i] = 0;
			owner_validated = false;
			if (owner && !(s = stmt(db, ST_MACHINE_ROWID))) {
				err = -EIO;
			} else if (owner) {
				int rc;

				bind_text(s, 1, owner);
				rc = db_step(s);
				if (rc == DB_ROW) {
					machine_row[i] = col_int(s, 0);
					owner_validated = col_int(s, 1) != 0;
				}
				db_reset(s);
				/* a failed lookup is the database's error, not a gone owner (401) */
				if (rc != DB_ROW && rc != DB_DONE)
					err = sql_err(db, rc);
			}
			last_owner = owner;
		}
		/* the push's authentication, at the moment it is stored (the LAPI skips
		 * the machine's row per request: this lookup was made anyway) */
		if (!err && alerts[i]->owner_must_be_validated &&
		    (!machine_row[i] || !owner_validated))
			err = -EACCES;
	}
	if (!err && given_ids(db))
		err = sync_ids(db);
	if (!err && given_ids(db)) {
		err = insert_grouped(db, alerts, n, machine_row, now, ids, decision_ids);
		if (!err && journal) {
			s = stmt(db, ST_JOURNAL_SET);
			if (!s) {
				err = -EIO;
			} else {
				bind_int(s, 1, journal[0]);
				bind_int(s, 2, journal[1]);
				err = exec_stmt(db, s);
			}
		}
	} else if (!err) {
		for (size_t i = 0; i < n && !err; i++) {
			err = insert_one_alert(db, alerts[i], machine_row[i], now, &ids[i],
					       decision_ids + k);
			alerts[i]->stored_before = err == 1;
			if (err == 1)
				err = 0;
			k += alerts[i]->n_decisions;
		}
	}
	err = txn_finish(db, err);
	/* a commit that wrote rows moved the change counter by one (no allowlist among them) */
	for (size_t i = 0; !err && vouch && i < n; i++)
		if (!alerts[i]->stored_before) {
			db_vouch_own_commit(db, mark);
			break;
		}
	if (!err)
		stream_apply_alerts(db, alerts, n, decision_ids, now);
	else
		stream_write_end(db);
	txn_unlock(db);
	free(decision_ids);
	free(machine_row);
	return err;
}

int cs_db_alerts_insert(struct cs_db *db, struct cs_alert *const *alerts, size_t n,
			const char *machine_id, int64_t now, int64_t *ids)
{
	return alerts_insert(db, alerts, n, machine_id, now, ids, NULL);
}

int cs_db_alerts_insert_journaled(struct cs_db *db, struct cs_alert *const *alerts, size_t n,
				  int64_t now, int64_t *ids, int64_t generation, int64_t position)
{
	const int64_t journal[2] = { generation, position };

	if (!given_ids(db))
		return -EOPNOTSUPP;
	return alerts_insert(db, alerts, n, NULL, now, ids, journal);
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
