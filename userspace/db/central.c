// SPDX-License-Identifier: MIT
/*
 * The crowd's tables; see central.h. Statements are prepared once per store and
 * run with the db's lock held (cs_db_central_begin): the consensus reads what
 * the same transaction wrote.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/vec.h"
#include "db/central.h"
#include "db/db_int.h"

/*
 * One schema, two spellings (I: a 64-bit integer, R: a double, SERIAL: the
 * signal id). SQLite has no index of signals by IP: there one server judges
 * from its memory (central/index.h) and an index written at random for every
 * signal was most of a batch's cost; PostgreSQL's servers judge from SQL.
 */
#define CENTRAL_SCHEMA(I, R, SERIAL, BY_IP)                                                \
	"CREATE TABLE IF NOT EXISTS central_reporters ("                                   \
	" id TEXT PRIMARY KEY, net TEXT NOT NULL DEFAULT '', trust " R " NOT NULL,"        \
	" confirmed " I " NOT NULL DEFAULT 0, contradicted " I " NOT NULL DEFAULT 0,"      \
	" unconfirmed " I " NOT NULL DEFAULT 0, blocked " I " NOT NULL DEFAULT 0,"         \
	" tokens " R " NOT NULL DEFAULT 0, tokens_at " I " NOT NULL DEFAULT 0,"            \
	" created_at " I " NOT NULL DEFAULT 0, last_pull " I " NOT NULL DEFAULT 0);"       \
	"CREATE TABLE IF NOT EXISTS central_signals ("                                     \
	" id " SERIAL ", reporter TEXT NOT NULL, ip TEXT NOT NULL,"                        \
	" scenario TEXT NOT NULL, scenario_hash TEXT NOT NULL, scenario_version TEXT NOT NULL," \
	" start_at " I " NOT NULL, stop_at " I " NOT NULL, created_at " I " NOT NULL,"     \
	" state " I " NOT NULL DEFAULT 0);"                                                \
	BY_IP                                                                              \
	"CREATE INDEX IF NOT EXISTS central_signals_created ON central_signals (created_at);" \
	"CREATE INDEX IF NOT EXISTS central_signals_pending ON central_signals (created_at)" \
	" WHERE state = 0;"                                                                \
	"CREATE TABLE IF NOT EXISTS central_listings ("                                    \
	" ip TEXT PRIMARY KEY, scenarios TEXT NOT NULL, listed_at " I " NOT NULL,"         \
	" updated_at " I " NOT NULL, until " I " NOT NULL);"                               \
	"CREATE INDEX IF NOT EXISTS central_listings_updated ON central_listings (updated_at);" \
	"CREATE INDEX IF NOT EXISTS central_listings_until ON central_listings (until);"   \
	"CREATE TABLE IF NOT EXISTS central_safe ("                                        \
	" range TEXT PRIMARY KEY, comment TEXT NOT NULL DEFAULT '',"                       \
	" created_at " I " NOT NULL);"                                                     \
	"CREATE TABLE IF NOT EXISTS central_generation (id " I " PRIMARY KEY,"             \
	" gen " I " NOT NULL);"                                                            \
	"INSERT INTO central_generation (id, gen) VALUES (1, 0) ON CONFLICT DO NOTHING;"

static const char central_schema_lite[] =
	CENTRAL_SCHEMA("INTEGER", "REAL", "INTEGER PRIMARY KEY",
		       "DROP INDEX IF EXISTS central_signals_ip;");
/* under an advisory lock: servers starting together create it once */
static const char central_schema_pg[] =
	"BEGIN; SELECT pg_advisory_xact_lock(7700, 21);"
	CENTRAL_SCHEMA("BIGINT", "DOUBLE PRECISION", "BIGSERIAL PRIMARY KEY",
		       "CREATE INDEX IF NOT EXISTS central_signals_ip ON central_signals"
		       " (ip, created_at);")
	"COMMIT;";

enum cst {
	C_REPORTER_GET,
	C_REPORTER_PUT,
	C_REPORTER_LIST,
	C_SIGNAL_ADD,
	C_SUPPORT,
	C_WINDOW,
	C_GEN_GET,
	C_GEN_BUMP,
	C_LISTING_GET,
	C_LISTING_PUT,
	C_LIVE,
	C_LIVE_SINCE,
	C_ENDED,
	C_SAFE_LIST,
	C_SAFE_ADD,
	C_SAFE_DEL,
	C__MAX,
};

/* The records' columns, as the statements below list them (SELECT) and bind them (?1..?n). */
#define REPORTER_COLS                                                                      \
	"id, net, trust, confirmed, contradicted, unconfirmed, blocked, tokens, tokens_at,"  \
	" created_at, last_pull"

static const struct db_fields reporter_table = {
	sizeof(struct cs_central_reporter),
	{
		DB_FIELD(struct cs_central_reporter, id, DBF_TEXT),
		DB_FIELD(struct cs_central_reporter, net, DBF_TEXT),
		DB_FIELD(struct cs_central_reporter, trust, DBF_DOUBLE),
		DB_FIELD(struct cs_central_reporter, confirmed, DBF_LONG),
		DB_FIELD(struct cs_central_reporter, contradicted, DBF_LONG),
		DB_FIELD(struct cs_central_reporter, unconfirmed, DBF_LONG),
		DB_FIELD(struct cs_central_reporter, blocked, DBF_BOOL),
		DB_FIELD(struct cs_central_reporter, tokens, DBF_DOUBLE),
		DB_FIELD(struct cs_central_reporter, tokens_at, DBF_INT),
		DB_FIELD(struct cs_central_reporter, created_at, DBF_INT),
		DB_FIELD(struct cs_central_reporter, last_pull, DBF_INT),
	},
};

#define LISTING_COLS "ip, scenarios, listed_at, updated_at, until"

static const struct db_fields listing_table = {
	sizeof(struct cs_central_listing),
	{
		DB_FIELD(struct cs_central_listing, ip, DBF_TEXT),
		DB_FIELD(struct cs_central_listing, scenarios, DBF_TEXT),
		DB_FIELD(struct cs_central_listing, listed_at, DBF_INT),
		DB_FIELD(struct cs_central_listing, updated_at, DBF_INT),
		DB_FIELD(struct cs_central_listing, until, DBF_INT),
	},
};

static const char *const central_sql[C__MAX] = {
	[C_REPORTER_GET] = "SELECT " REPORTER_COLS " FROM central_reporters WHERE id = ?1",
	[C_REPORTER_PUT] = "INSERT INTO central_reporters (" REPORTER_COLS
			   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
			   " ON CONFLICT (id) DO UPDATE SET net = excluded.net,"
			   " trust = excluded.trust, confirmed = excluded.confirmed,"
			   " contradicted = excluded.contradicted,"
			   " unconfirmed = excluded.unconfirmed, blocked = excluded.blocked,"
			   " tokens = excluded.tokens, tokens_at = excluded.tokens_at,"
			   " created_at = excluded.created_at, last_pull = excluded.last_pull",
	[C_REPORTER_LIST] = "SELECT " REPORTER_COLS " FROM central_reporters ORDER BY id",
	[C_SIGNAL_ADD] = "INSERT INTO central_signals (reporter, ip, scenario, scenario_hash,"
			 " scenario_version, start_at, stop_at, created_at, state)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	/* one row per reporter: a reporter counts once however often it reports */
	[C_SUPPORT] = "SELECT s.reporter, COALESCE(r.net, ''), COALESCE(r.trust, 0),"
		      " COALESCE(r.blocked, 0), MAX(s.created_at), MAX(s.scenario),"
		      " MAX(CASE WHEN s.state = 0 AND s.created_at > ?3 THEN 1 ELSE 0 END)"
		      " FROM central_signals s LEFT JOIN central_reporters r ON r.id = s.reporter"
		      " WHERE s.ip = ?1 AND s.created_at >= ?2"
		      " GROUP BY s.reporter, r.net, r.trust, r.blocked",
	/* the window's reports by (ip, reporter); pending: one came after the IP's
	 * last listing (or there is none) and was not late */
	[C_WINDOW] = "SELECT s.ip, s.reporter, MAX(s.created_at), MAX(s.scenario),"
		     " MAX(CASE WHEN s.state = 0 AND s.created_at > COALESCE(l.listed_at, 0)"
		     " THEN 1 ELSE 0 END)"
		     " FROM central_signals s LEFT JOIN central_listings l ON l.ip = s.ip"
		     " WHERE s.created_at >= ?1 GROUP BY s.ip, s.reporter",
	[C_GEN_GET] = "SELECT gen FROM central_generation WHERE id = 1",
	[C_GEN_BUMP] = "UPDATE central_generation SET gen = gen + 1 WHERE id = 1",
	[C_LISTING_GET] = "SELECT " LISTING_COLS " FROM central_listings WHERE ip = ?1",
	[C_LISTING_PUT] = "INSERT INTO central_listings (" LISTING_COLS
			  ") VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (ip) DO UPDATE SET"
			  " scenarios = excluded.scenarios, listed_at = excluded.listed_at,"
			  " updated_at = excluded.updated_at, until = excluded.until",
	/* startup: by until; delta: by updated_at (the unary + keeps the planner off
	 * the until index, which would walk every live listing for an empty delta) */
	[C_LIVE] = "SELECT " LISTING_COLS " FROM central_listings WHERE until > ?1",
	[C_LIVE_SINCE] = "SELECT " LISTING_COLS " FROM central_listings WHERE updated_at > ?2"
			 " AND +until > ?1",
	[C_ENDED] = "SELECT " LISTING_COLS " FROM central_listings WHERE until > ?1"
		    " AND until <= ?2",
	[C_SAFE_LIST] = "SELECT range, comment FROM central_safe ORDER BY range",
	[C_SAFE_ADD] = "INSERT INTO central_safe (range, comment, created_at) VALUES (?1, ?2, ?3)",
	[C_SAFE_DEL] = "DELETE FROM central_safe WHERE range = ?1",
};

struct cs_central_store {
	struct cs_db *db;
	struct dbstmt *st[C__MAX];
};

int cs_db_central_open(struct cs_db *db, struct cs_central_store **out)
{
	struct cs_central_store *st = calloc(1, sizeof(*st));
	int err = 0;

	*out = NULL;
	if (!st)
		return -ENOMEM;
	st->db = db;
	db_hold(db);
	/*
	 * Signals are statistics and listings are re-derived from them: on SQLite the
	 * crowd's handle commits without an fsync each (WAL, synchronous=NORMAL: a power
	 * cut may lose the last commits, never corrupt), which is what lets a batch of
	 * signals cost what its statements cost.
	 */
	if (!db->be->is_pg && db_exec(db, "PRAGMA synchronous = NORMAL"))
		err = -EIO;
	if (!err && db_exec(db, db->be->is_pg ? central_schema_pg : central_schema_lite)) {
		log_error("central schema: cannot be created: %s", db->be->errmsg(db));
		if (db->be->is_pg)
			db_exec(db, "ROLLBACK");
		err = -EIO;
	}
	for (int i = 0; !err && i < C__MAX; i++)
		err = db_prepare(db, central_sql[i], &st->st[i]);
	db_release(db);
	if (err) {
		cs_db_central_close(st);
		return err;
	}
	*out = st;
	return 0;
}

void cs_db_central_close(struct cs_central_store *st)
{
	if (!st)
		return;
	for (int i = 0; i < C__MAX; i++)
		db_finalize(st->st[i]);
	free(st);
}

int cs_db_central_begin(struct cs_central_store *st)
{
	return txn_begin(st->db);
}

int cs_db_central_end(struct cs_central_store *st, int err)
{
	return txn_end(st->db, err);
}

int cs_db_central_finish(struct cs_central_store *st, int err)
{
	return txn_finish(st->db, err);
}

void cs_db_central_unlock(struct cs_central_store *st)
{
	txn_unlock(st->db);
}

static struct dbstmt *cst(struct cs_central_store *st, enum cst id)
{
	db_reset(st->st[id]);
	db_clear_bindings(st->st[id]);
	return st->st[id];
}

static void bind_str(struct dbstmt *s, int i, const char *v)
{
	bind_text(s, i, v ? v : "");
}

/* ---- reporters ---- */

void cs_central_reporter_clear(struct cs_central_reporter *r)
{
	db_fields_clear(&reporter_table, r);
}

void cs_central_reporters_free(struct cs_central_reporter *v, size_t n)
{
	db_fields_free(&reporter_table, v, n);
}

/* The row of statement id for one text key into out (zeroed first). */
static int row_by_key(struct cs_central_store *st, enum cst id, const char *key,
		      const struct db_fields *t, void *out)
{
	struct dbstmt *s = cst(st, id);

	memset(out, 0, t->size);
	bind_str(s, 1, key);
	return db_row(st->db, s, db_fields_row, out, (void *)t);
}

/* A record's statement whose parameters ?1..?n are its columns (an upsert). */
static int put_row(struct cs_central_store *st, enum cst id, const struct db_fields *t,
		   const void *elem)
{
	struct dbstmt *s = cst(st, id);

	db_fields_bind(s, elem, t);
	return exec_stmt(st->db, s);
}

int cs_db_central_reporter_get(struct cs_central_store *st, const char *id,
			       struct cs_central_reporter *out)
{
	return row_by_key(st, C_REPORTER_GET, id, &reporter_table, out);
}

int cs_db_central_reporter_put(struct cs_central_store *st, const struct cs_central_reporter *r)
{
	return put_row(st, C_REPORTER_PUT, &reporter_table, r);
}

int cs_db_central_reporter_list(struct cs_central_store *st, struct cs_central_reporter **out,
				size_t *n)
{
	return db_fields_rows(st->db, cst(st, C_REPORTER_LIST), &reporter_table, (void **)out, n);
}

/* ---- signals ---- */

int cs_db_central_signal_add(struct cs_central_store *st, const char *reporter,
			     const struct cs_central_signal *sg, int64_t now,
			     enum cs_central_signal_state state)
{
	struct dbstmt *s = cst(st, C_SIGNAL_ADD);

	bind_str(s, 1, reporter);
	bind_str(s, 2, sg->ip);
	bind_str(s, 3, sg->scenario);
	bind_str(s, 4, sg->scenario_hash);
	bind_str(s, 5, sg->scenario_version);
	bind_int(s, 6, sg->start_at);
	bind_int(s, 7, sg->stop_at);
	bind_int(s, 8, now);
	bind_int(s, 9, (int)state);
	return exec_stmt(st->db, s);
}

/* C_SUPPORT's columns */
static const struct db_fields support_table = {
	sizeof(struct cs_central_support),
	{
		DB_FIELD(struct cs_central_support, reporter, DBF_TEXT),
		DB_FIELD(struct cs_central_support, net, DBF_TEXT),
		DB_FIELD(struct cs_central_support, trust, DBF_DOUBLE),
		DB_FIELD(struct cs_central_support, blocked, DBF_BOOL),
		DB_FIELD(struct cs_central_support, last_at, DBF_INT),
		DB_FIELD(struct cs_central_support, scenario, DBF_TEXT),
		DB_FIELD(struct cs_central_support, pending, DBF_BOOL),
	},
};

void cs_central_supports_free(struct cs_central_support *v, size_t n)
{
	db_fields_free(&support_table, v, n);
}

int cs_db_central_support(struct cs_central_store *st, const char *ip, int64_t since,
			  int64_t pending_after, struct cs_central_support **out, size_t *n)
{
	struct dbstmt *s = cst(st, C_SUPPORT);

	bind_str(s, 1, ip);
	bind_int(s, 2, since);
	bind_int(s, 3, pending_after);
	return db_fields_rows(st->db, s, &support_table, (void **)out, n);
}

struct window_walk {
	cs_central_window_cb cb;
	void *ctx;
};

static int window_row(struct dbstmt *s, void *arg)
{
	const struct window_walk *w = arg;
	const char *ip = col_str(s, 0), *reporter = col_str(s, 1);

	if (!ip || !reporter)
		return 0;
	return w->cb(ip, reporter, col_int(s, 2), col_str(s, 3), col_int(s, 4) != 0, w->ctx);
}

int cs_db_central_window(struct cs_central_store *st, int64_t since, cs_central_window_cb cb,
			 void *ctx)
{
	struct dbstmt *s = cst(st, C_WINDOW);
	struct window_walk w = { cb, ctx };

	bind_int(s, 1, since);
	return db_each(st->db, s, window_row, &w);
}

int cs_db_central_generation(struct cs_central_store *st, int64_t *gen)
{
	struct dbstmt *s = cst(st, C_GEN_GET);
	int rc = db_step(s);

	*gen = rc == DB_ROW ? col_int(s, 0) : 0;
	db_reset(s);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? -ENOENT : sql_err(st->db, rc);
}

int cs_db_central_bump(struct cs_central_store *st)
{
	return exec_stmt(st->db, cst(st, C_GEN_BUMP));
}

/* ---- listings ---- */

void cs_central_listing_clear(struct cs_central_listing *l)
{
	db_fields_clear(&listing_table, l);
}

int cs_db_central_listing_get(struct cs_central_store *st, const char *ip,
			      struct cs_central_listing *out)
{
	return row_by_key(st, C_LISTING_GET, ip, &listing_table, out);
}

int cs_db_central_listing_put(struct cs_central_store *st, const struct cs_central_listing *l)
{
	return put_row(st, C_LISTING_PUT, &listing_table, l);
}

struct listing_walk {
	cs_central_listing_cb cb;
	void *ctx;
};

/* The row's text is borrowed for the callback: a startup pull of a large list
 * never holds it whole. */
static int listing_row(struct dbstmt *s, void *arg)
{
	const struct listing_walk *w = arg;
	struct cs_central_listing l = {
		.ip = (char *)col_str(s, 0),
		.scenarios = (char *)col_str(s, 1),
		.listed_at = col_int(s, 2),
		.updated_at = col_int(s, 3),
		.until = col_int(s, 4),
	};

	if (!l.ip || !l.scenarios)
		return 0;
	return w->cb(&l, w->ctx);
}

static int listings_walk(struct cs_central_store *st, struct dbstmt *s, cs_central_listing_cb cb,
			 void *ctx)
{
	struct listing_walk w = { cb, ctx };

	return db_each(st->db, s, listing_row, &w);
}

int cs_db_central_listings_live(struct cs_central_store *st, int64_t live_after,
				int64_t updated_after, cs_central_listing_cb cb, void *ctx)
{
	struct dbstmt *s = cst(st, updated_after == INT64_MIN ? C_LIVE : C_LIVE_SINCE);

	bind_int(s, 1, live_after);
	if (updated_after != INT64_MIN)
		bind_int(s, 2, updated_after);
	return listings_walk(st, s, cb, ctx);
}

int cs_db_central_listings_ended(struct cs_central_store *st, int64_t after, int64_t until,
				 cs_central_listing_cb cb, void *ctx)
{
	struct dbstmt *s = cst(st, C_ENDED);

	bind_int(s, 1, after);
	bind_int(s, 2, until);
	return listings_walk(st, s, cb, ctx);
}

/* ---- safe list ---- */

void cs_central_safe_free(struct cs_central_safe *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].range);
		free(v[i].comment);
	}
	free(v);
}

static void safe_row(struct dbstmt *s, void *elem, void *arg)
{
	struct cs_central_safe *r = elem;

	r->range = col_text(s, 0);
	r->comment = col_text(s, 1);
}

int cs_db_central_safe_list(struct cs_central_store *st, struct cs_central_safe **out, size_t *n)
{
	return db_rows(st->db, cst(st, C_SAFE_LIST), sizeof(**out), safe_row, NULL, (void **)out,
		       n);
}

int cs_db_central_safe_add(struct cs_central_store *st, const char *range, const char *comment,
			   int64_t now)
{
	struct dbstmt *s = cst(st, C_SAFE_ADD);

	bind_str(s, 1, range);
	bind_str(s, 2, comment);
	bind_int(s, 3, now);
	return exec_stmt(st->db, s);
}

int cs_db_central_safe_remove(struct cs_central_store *st, const char *range)
{
	struct dbstmt *s = cst(st, C_SAFE_DEL);

	bind_str(s, 1, range);
	return run_changes(st->db, s);
}

/* ---- housekeeping ---- */

/*
 * A report is confirmed when its IP was listed at or after it (listings keep
 * their listed_at until they are purged, long after the window), so nothing is
 * written per report when a listing is made.
 */
#define UNCONFIRMED_SQL                                                                    \
	"NOT EXISTS (SELECT 1 FROM central_listings l WHERE l.ip = central_signals.ip"    \
	" AND l.listed_at >= central_signals.created_at)"

int cs_db_central_purge(struct cs_central_store *st, int64_t judge_before,
			int64_t signals_before, int64_t listings_before, cs_central_judged_cb cb,
			void *ctx, long *deleted)
{
	struct dbstmt *s;
	int rc, err = 0;

	*deleted = 0;
	if ((err = db_prepare(st->db,
			      "SELECT reporter, COUNT(*) FROM central_signals WHERE state = 0"
			      " AND created_at < ?1 AND " UNCONFIRMED_SQL " GROUP BY reporter", &s)))
		return err;
	bind_int(s, 1, judge_before);
	while ((rc = db_step(s)) == DB_ROW)
		if (cb)
			cb(col_str(s, 0), (long)col_int(s, 1),
			   ctx);
	if (rc != DB_DONE)
		err = sql_err(st->db, rc);
	db_finalize(s);
	if (!err)
		err = db_exec_int(st->db, "UPDATE central_signals SET state = CASE WHEN " UNCONFIRMED_SQL
					  " THEN 2 ELSE 1 END WHERE state = 0 AND created_at < ?1",
				  judge_before, NULL);
	if (!err)
		err = db_exec_int(st->db, "DELETE FROM central_signals WHERE created_at < ?1",
				  signals_before, deleted);
	if (!err)
		err = db_exec_int(st->db, "DELETE FROM central_listings WHERE until < ?1",
				  listings_before, NULL);
	if (!err)
		err = cs_db_central_bump(st);
	return err;
}

static int count_of(struct cs_central_store *st, const char *sql, int64_t now, long *n)
{
	struct dbstmt *s;
	int rc;

	*n = 0;
	if ((rc = db_prepare(st->db, sql, &s)))
		return rc;
	if (strstr(sql, "?1"))
		bind_int(s, 1, now);
	rc = db_step(s);
	if (rc == DB_ROW)
		*n = (long)col_int(s, 0);
	db_finalize(s);
	return rc == DB_ROW ? 0 : sql_err(st->db, rc);
}

int cs_db_central_counts(struct cs_central_store *st, int64_t now, long *reporters, long *signals,
			 long *listed)
{
	int err = count_of(st, "SELECT COUNT(*) FROM central_reporters", now, reporters);

	if (!err)
		err = count_of(st, "SELECT COUNT(*) FROM central_signals", now, signals);
	if (!err)
		err = count_of(st, "SELECT COUNT(*) FROM central_listings WHERE until > ?1", now,
			       listed);
	return err;
}
