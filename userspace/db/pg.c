// SPDX-License-Identifier: MIT
/*
 * The PostgreSQL engine behind db_int.h's statement interface, on libpq.
 * Statements run with text parameters, types inferred by the server: the ones
 * a connection keeps (dbstmt.kept) are prepared on the server at first use and
 * again after a reset, the others run with PQexecParams. A connection found
 * broken outside a transaction is reset before the next statement, and the
 * statement that met the break fails (-ENOTCONN) for its caller to report or
 * retry. Every statement is a round trip to another process: reads and
 * single-statement writes run without BEGIN/COMMIT (autocommit, db.c).
 */
#include "db/db_int.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"

#define PG_MAX_PARAMS 4096
#define TEXTOID 25 /* pg_type.h's, which libpq-fe.h does not carry */

enum { PG_PLAIN, PG_BEGIN, PG_END };

struct pg_stmt {
	struct dbstmt base;
	struct cs_db *db;
	char *sql;
	int kind;
	int nparams;
	char **vals;
	Oid *types; /* text for the parameters the SQL skips (the server cannot infer them) */
	PGresult *res;
	int row, nrows;
	/* kept statements: the server's name, on which session */
	char name[24];
	PGconn *prepared_on;
	uint64_t prepared_resets;
};

#define PS(x) ((struct pg_stmt *)(x))

static PGconn *conn(struct cs_db *db)
{
	return db_conn(db)->h;
}

/*
 * SQLite's parameters (?N, ?) as PostgreSQL's ($N); literals are left alone.
 * The read transaction becomes a snapshot (SQLite's deferred BEGIN in WAL mode
 * reads one snapshot too); BEGIN IMMEDIATE a plain one.
 */
static int translate(const char *sql, char **out, int *nparams, int *kind, uint8_t *used)
{
	struct sbuf b = { 0 };
	int bare = 0, max = 0;
	bool quoted = false;

	*kind = PG_PLAIN;
	if (!strcmp(sql, "BEGIN IMMEDIATE")) {
		*kind = PG_BEGIN;
		sql = "BEGIN";
	} else if (!strcmp(sql, "BEGIN IMMEDIATE; -- lazy")) { /* txn_begin_lazy() */
		*kind = PG_BEGIN;
		sql = "BEGIN; SET LOCAL synchronous_commit = off";
	} else if (!strcmp(sql, "BEGIN")) {
		*kind = PG_BEGIN;
		sql = "BEGIN ISOLATION LEVEL REPEATABLE READ";
	} else if (!strcmp(sql, "COMMIT") || !strcmp(sql, "ROLLBACK")) {
		*kind = PG_END;
	}
	for (const char *p = sql; *p; p++) {
		if (*p == '\'')
			quoted = !quoted;
		if (quoted || *p != '?') {
			sb_putc(&b, *p);
			continue;
		}
		if (p[1] >= '0' && p[1] <= '9') {
			char *end;
			long n = strtol(p + 1, &end, 10);

			if (n < 1 || n > PG_MAX_PARAMS)
				break;
			sb_printf(&b, "$%ld", n);
			used[n - 1] = 1;
			if (n > max)
				max = (int)n;
			p = end - 1;
		} else {
			if (bare >= PG_MAX_PARAMS)
				break;
			sb_printf(&b, "$%d", ++bare);
			used[bare - 1] = 1;
			if (bare > max)
				max = bare;
		}
	}
	if (b.err || max > PG_MAX_PARAMS) {
		sb_free(&b);
		return -ENOMEM;
	}
	*nparams = max;
	*out = sb_take(&b, NULL);
	return *out ? 0 : -ENOMEM;
}

static int pg_prepare(struct cs_db *db, const char *sql, struct dbstmt **out)
{
	struct pg_stmt *p = calloc(1, sizeof(*p));
	uint8_t used[PG_MAX_PARAMS] = { 0 };
	int err;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	err = translate(sql, &p->sql, &p->nparams, &p->kind, used);
	if (!err && p->nparams && (!(p->vals = calloc((size_t)p->nparams, sizeof(char *))) ||
				   !(p->types = calloc((size_t)p->nparams, sizeof(Oid)))))
		err = -ENOMEM;
	for (int i = 0; !err && i < p->nparams; i++)
		p->types[i] = used[i] ? 0 : TEXTOID;
	if (err) {
		free(p->vals);
		free(p->sql);
		free(p);
		return err;
	}
	p->base.be = &db_pg;
	p->db = db;
	*out = &p->base;
	return 0;
}

static void pg_reset(struct dbstmt *s)
{
	PQclear(PS(s)->res);
	PS(s)->res = NULL;
	PS(s)->row = PS(s)->nrows = 0;
}

static void pg_clear_bindings(struct dbstmt *s)
{
	for (int i = 0; i < PS(s)->nparams; i++) {
		free(PS(s)->vals[i]);
		PS(s)->vals[i] = NULL;
	}
}

static void pg_finalize(struct dbstmt *s)
{
	pg_reset(s);
	pg_clear_bindings(s);
	free(PS(s)->vals);
	free(PS(s)->types);
	free(PS(s)->sql);
	free(s);
}

/* A value out of range or unallocatable binds NULL: the statement then fails visibly. */
static void set_param(struct dbstmt *s, int i, char *v)
{
	if (i < 1 || i > PS(s)->nparams) {
		free(v);
		return;
	}
	free(PS(s)->vals[i - 1]);
	PS(s)->vals[i - 1] = v;
}

static void pg_bind_int(struct dbstmt *s, int i, int64_t v)
{
	char *t = NULL;

	if (asprintf(&t, "%lld", (long long)v) < 0)
		t = NULL;
	set_param(s, i, t);
}

static void pg_bind_double(struct dbstmt *s, int i, double v)
{
	char *t = NULL;

	if (asprintf(&t, "%.17g", v) < 0)
		t = NULL;
	set_param(s, i, t);
}

static void pg_bind_text(struct dbstmt *s, int i, const char *v)
{
	set_param(s, i, strdup(v ? v : ""));
}

static void pg_bind_null(struct dbstmt *s, int i)
{
	set_param(s, i, NULL);
}

static int pg_result_err(struct cs_db *db, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(conn(db)) != CONNECTION_OK) {
		log_error("postgresql: connection lost: %s", PQerrorMessage(conn(db)));
		return -ENOTCONN;
	}
	if (state && !strncmp(state, "23", 2))
		return -EEXIST; /* integrity constraint */
	if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01") ||
		      !strcmp(state, "55P03")))
		return -EBUSY;
	log_error("postgresql: %s", res ? PQresultErrorMessage(res) : PQerrorMessage(conn(db)));
	return -EIO;
}

/* Outside a transaction a broken connection is reset: nothing half-done is lost. */
static void reconnect(struct cs_db *db)
{
	if (PQstatus(conn(db)) == CONNECTION_OK || db_conn(db)->in_txn)
		return;
	PQreset(conn(db));
	db_conn(db)->resets++; /* the session's prepared statements are gone */
	if (PQstatus(conn(db)) == CONNECTION_OK)
		log_info("postgresql: reconnected");
}

/*
 * A kept statement's server-side twin on this session, made if it is not
 * there: NULL when it is, else the failed PREPARE's result (for pg_step's
 * error path), which the statement keeps.
 */
static PGresult *server_prepare(struct pg_stmt *p, struct db_conn *c)
{
	static _Atomic unsigned long names;
	PGresult *r;

	if (p->prepared_on == c->h && p->prepared_resets == c->resets)
		return NULL;
	snprintf(p->name, sizeof(p->name), "cs%lu", atomic_fetch_add(&names, 1));
	r = PQprepare(c->h, p->name, p->sql, p->nparams, p->types);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
		return r ? r : PQmakeEmptyPGresult(c->h, PGRES_FATAL_ERROR);
	PQclear(r);
	p->prepared_on = c->h;
	p->prepared_resets = c->resets;
	return NULL;
}

static int pg_step(struct dbstmt *s)
{
	struct pg_stmt *p = PS(s);
	struct db_conn *c = db_conn(p->db);
	ExecStatusType st;

	if (p->res)
		return ++p->row < p->nrows ? DB_ROW : DB_DONE;
	if (p->kind == PG_BEGIN || !c->in_txn) /* autocommit statements too */
		reconnect(p->db);
	/* the simple protocol runs several statements (a BEGIN and its SET) in one trip */
	if (p->kind == PG_BEGIN)
		p->res = PQexec(c->h, p->sql);
	else if (!s->kept || p->kind != PG_PLAIN)
		p->res = PQexecParams(c->h, p->sql, p->nparams, p->types,
				      (const char *const *)p->vals, NULL, NULL, 0);
	else if (!(p->res = server_prepare(p, c)))
		p->res = PQexecPrepared(c->h, p->name, p->nparams, (const char *const *)p->vals,
					NULL, NULL, 0);
	st = p->res ? PQresultStatus(p->res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		int err = pg_result_err(p->db, p->res);

		pg_reset(s);
		if (p->kind != PG_PLAIN) /* a failed BEGIN opened nothing, a failed END closed it */
			c->in_txn = false;
		return err;
	}
	if (p->kind != PG_PLAIN)
		c->in_txn = p->kind == PG_BEGIN;
	c->changes = strtoll(PQcmdTuples(p->res), NULL, 10);
	p->nrows = st == PGRES_TUPLES_OK ? PQntuples(p->res) : 0;
	p->row = 0;
	return p->nrows ? DB_ROW : DB_DONE;
}

static const char *pg_col_str(struct dbstmt *s, int i)
{
	struct pg_stmt *p = PS(s);

	if (!p->res || p->row >= p->nrows || i >= PQnfields(p->res) ||
	    PQgetisnull(p->res, p->row, i))
		return NULL;
	return PQgetvalue(p->res, p->row, i);
}

static int64_t pg_col_int(struct dbstmt *s, int i)
{
	const char *v = pg_col_str(s, i);

	if (!v)
		return 0;
	if (*v == 't' || *v == 'f') /* boolean results (comparisons, advisory locks) */
		return *v == 't';
	return strtoll(v, NULL, 10);
}

static double pg_col_double(struct dbstmt *s, int i)
{
	const char *v = pg_col_str(s, i);

	return v ? strtod(v, NULL) : 0;
}

static int64_t pg_changes(struct cs_db *db)
{
	return db_conn(db)->changes;
}

static int pg_exec(struct cs_db *db, const char *sql)
{
	PGresult *res;
	int err = 0;

	reconnect(db);
	res = PQexec(conn(db), sql);
	if (!res || (PQresultStatus(res) != PGRES_COMMAND_OK &&
		     PQresultStatus(res) != PGRES_TUPLES_OK))
		err = pg_result_err(db, res);
	PQclear(res);
	return err;
}

static const char *pg_errmsg(struct cs_db *db)
{
	return PQerrorMessage(conn(db));
}

static void pg_close(struct db_conn *c)
{
	PQfinish(c->h);
	c->h = NULL;
}

static void pg_notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("postgresql: %s", msg);
}

int pg_open(struct cs_db *db, const char *conninfo)
{
	for (size_t i = 0; i < db->nconns; i++) {
		PGconn *c = PQconnectdb(conninfo);

		db->conns[i].h = c;
		if (!c)
			return -ENOMEM;
		if (PQstatus(c) != CONNECTION_OK) {
			log_error("cannot connect to PostgreSQL: %s", PQerrorMessage(c));
			return -ECONNREFUSED;
		}
		PQsetNoticeProcessor(c, pg_notice, NULL);
	}
	return 0;
}

const struct db_backend db_pg = {
	.name = "postgresql",
	.is_pg = true,
	DB_BACKEND_OPS(pg),
};

/* key='value' with libpq's escapes (backslash, quote) */
static void conninfo_add(struct sbuf *b, const char *key, const char *v)
{
	if (!v || !*v)
		return;
	sb_printf(b, "%s%s='", b->len ? " " : "", key);
	for (; *v; v++) {
		if (*v == '\'' || *v == '\\')
			sb_putc(b, '\\');
		sb_putc(b, *v);
	}
	sb_putc(b, '\'');
}

int cs_db_pg_conninfo(const char *host, const char *port, const char *user,
		      const char *password, const char *db_name, const char *sslmode, char **out)
{
	struct sbuf b = { 0 };

	conninfo_add(&b, "host", host);
	conninfo_add(&b, "port", port);
	conninfo_add(&b, "user", user);
	conninfo_add(&b, "password", password);
	conninfo_add(&b, "dbname", db_name);
	conninfo_add(&b, "sslmode", sslmode);
	/* a LAPI must not hang at start on an unreachable server */
	conninfo_add(&b, "connect_timeout", "10");
	conninfo_add(&b, "application_name", "crowdsec");
	*out = sb_take(&b, NULL);
	return *out ? 0 : -ENOMEM;
}
