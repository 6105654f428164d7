// SPDX-License-Identifier: MIT
/*
 * LAPI storage (SQLite or PostgreSQL); see db.h for the contract. No SQL lives
 * outside this directory. User-supplied values are always bound, never spliced; the only
 * generated SQL text is structure (filter clauses) and integers computed here.
 */
#include "db/db_int.h"

#include <pthread.h>
#include <stdarg.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/vec.h"
#include "db/schema.h"

/*
 * Inserts whose new id is wanted: RETURNING on PostgreSQL; SQLite answers
 * last_insert_rowid() instead (_NORET), as RETURNING costs it a temporary
 * table per execution. An alert's conflict inserts nothing: its owner's uuid is there.
 */
#define ALERT_INSERT_VALUES                                                                \
	"?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"                    \
	" ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) ON CONFLICT DO NOTHING"
#define ALERT_INSERT_SQL ALERT_INSERT_HEAD "(" ALERT_INSERT_VALUES
/* SQLite: the id given last (alerts.c, bind_alert() then the id) */
#define ALERT_INSERT_ID_SQL "INSERT" ALERT_INSERT_ID_INTO "(?23, " ALERT_INSERT_VALUES
/* parameters in alerts.c's bind_decision() order: the columns rows may share, then the address */
#define DECISION_INSERT_VALUES "?1, ?1, ?2, ?3, ?4, ?9, ?10, ?11, ?12, ?13, ?5, ?14, ?6, ?7, ?8)"
#define DECISION_INSERT_SQL DECISION_INSERT_HEAD "(" DECISION_INSERT_VALUES
#define DECISION_INSERT_ID_SQL "INSERT" DECISION_INSERT_ID_INTO "(?15, " DECISION_INSERT_VALUES

static const char *const stmt_sql[ST__MAX] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN",
	[ST_BEGIN_LAZY] = "BEGIN IMMEDIATE; -- lazy",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_MACHINE_INSERT] = "INSERT INTO machines (created_at, updated_at, last_push,"
			      " last_heartbeat, machine_id, password, ip_address, is_validated)"
			      " VALUES (?1, ?1, ?1, NULL, ?2, ?3, ?4, ?5)"
			      " ON CONFLICT (machine_id) DO NOTHING",
	[ST_MACHINE_FORCE] = "UPDATE machines SET password = ?3, is_validated = ?5,"
			     " updated_at = ?1 WHERE machine_id = ?2",
	[ST_MACHINE_GET] = "SELECT " MACHINE_COLS " FROM machines WHERE machine_id = ?",
	[ST_MACHINE_LOGIN] = "UPDATE machines SET ip_address = ?2, version = ?3,"
			     " scenarios = CASE WHEN ?4 = '' THEN scenarios ELSE ?4 END,"
			     " updated_at = ?5 WHERE machine_id = ?1",
	[ST_MACHINE_HEARTBEAT] = "UPDATE machines SET last_heartbeat = ?2, updated_at = ?2"
				 " WHERE machine_id = ?1",
	[ST_MACHINE_VALIDATE] = "UPDATE machines SET is_validated = 1, updated_at = ?2"
				" WHERE machine_id = ?1",
	[ST_MACHINE_DELETE] = "DELETE FROM machines WHERE machine_id = ?",
	[ST_MACHINE_LIST] = "SELECT " MACHINE_COLS " FROM machines ORDER BY id",
	[ST_MACHINE_PENDING] = "SELECT COUNT(*) FROM machines WHERE is_validated = 0",
	[ST_BOUNCER_INSERT] = "INSERT INTO bouncers (created_at, updated_at, name, api_key,"
			      " last_pull) VALUES (?1, ?1, ?2, ?3, ?1)",
	[ST_BOUNCER_BY_KEY] = "SELECT " BOUNCER_COLS " FROM bouncers WHERE api_key = ?"
			      " AND auth_type = 'api-key'",
	[ST_BOUNCER_BY_NAME] = "SELECT " BOUNCER_COLS " FROM bouncers WHERE name = ?",
	[ST_BOUNCER_INSERT_TLS] = "INSERT INTO bouncers (created_at, updated_at, name,"
				  " api_key, ip_address, last_pull, auth_type)"
				  " VALUES (?1, ?1, ?2, ?3, ?4, ?1, 'tls') ON CONFLICT DO NOTHING",
	[ST_MACHINE_INSERT_TLS] = "INSERT INTO machines (created_at, updated_at,"
				  " last_push, last_heartbeat, machine_id, password, ip_address,"
				  " is_validated, auth_type) VALUES (?1, ?1, ?1, NULL, ?2, ?3, '', 1,"
				  " 'tls') ON CONFLICT DO NOTHING",
	[ST_BOUNCER_SEEN] = "UPDATE bouncers SET ip_address = ?2, type = ?3, version = ?4,"
			    " updated_at = ?5 WHERE id = ?1 AND (ip_address != ?2 OR type != ?3"
			    " OR version != ?4)",
	/* never back: a replica's late write must not undo another's newer pull */
	[ST_BOUNCER_LAST_PULL] = "UPDATE bouncers SET last_pull = ?2 WHERE id = ?1"
				 " AND last_pull < ?2",
	[ST_BOUNCER_DELETE] = "DELETE FROM bouncers WHERE name = ?",
	[ST_BOUNCER_LIST] = "SELECT " BOUNCER_COLS " FROM bouncers ORDER BY id",
	[ST_ALERT_INSERT] = ALERT_INSERT_SQL " RETURNING id",
	[ST_ALERT_INSERT_NORET] = ALERT_INSERT_ID_SQL, /* SQLite only */
	[ST_ALERT_BY_UUID] = "SELECT id FROM alerts WHERE machine_alerts = ? AND uuid = ?",
	[ST_EVENT_INSERT] = EVENT_INSERT_HEAD "(?1, ?1, ?2, ?3, ?4)",
	[ST_META_INSERT] = META_INSERT_HEAD "(?1, ?1, ?2, ?3, ?4)",
	[ST_DECISION_INSERT] = DECISION_INSERT_SQL " RETURNING id",
	[ST_DECISION_INSERT_NORET] = DECISION_INSERT_ID_SQL, /* SQLite only */
	[ST_MACHINE_ROWID] = "SELECT id, is_validated FROM machines WHERE machine_id = ?",
	[ST_ALERT_DECISIONS] = "SELECT " DECISION_COLS " FROM decisions d"
			       " WHERE d.alert_decisions = ? ORDER BY d.id",
	[ST_ALERT_EVENTS] = "SELECT time, serialized FROM events WHERE alert_events = ?"
			    " ORDER BY id",
	[ST_ALERT_META] = "SELECT key, value FROM meta WHERE alert_metas = ? ORDER BY id",
	[ST_ALERT_DELETE] = "DELETE FROM alerts WHERE id = ?",
	[ST_DECISION_EXPIRE_ID] = "UPDATE decisions SET until = ?2, updated_at = ?2 WHERE id = ?1",
	[ST_ALERTS_COUNT] = "SELECT a.scenario, COUNT(*) FROM alerts a WHERE EXISTS (SELECT 1"
			    " FROM decisions d WHERE d.alert_decisions = a.id AND d.origin IN"
			    " ('crowdsec', 'cscli')) GROUP BY a.scenario",
	[ST_ACTIVE_COUNT] = "SELECT scenario, origin, type, COUNT(*) FROM decisions"
			    " WHERE until > ? GROUP BY scenario, origin, type",
	[ST_DATA_VERSION] = "PRAGMA data_version",
	[ST_DECISIONS_EPOCH] = "SELECT n FROM decisions_epoch",
	[ST_BOUNCERS_EPOCH] = "SELECT n FROM bouncers_epoch", /* PostgreSQL only */
	/* allowlists.c: read for every alert pushed (the LAPI's filter), so kept prepared */
	[ST_ALLOWLISTS_ALL] = "SELECT id, name, description, allowlist_id, from_console,"
			      " created_at, updated_at FROM allowlists ORDER BY name",
	[ST_ALLOWLIST_ITEMS_LIVE] = "SELECT value, comment, created_at, expires_at"
				    " FROM allowlist_items i WHERE allowlist_id = ? AND"
				    " (i.expires_at IS NULL OR i.expires_at >= ?) ORDER BY id",
	/* SQLite: AUTOINCREMENT's high-water marks, which given ids must stay above */
	[ST_ID_SEQ] = "SELECT name, seq FROM sqlite_sequence WHERE name IN ('alerts', 'decisions')",
	[ST_JOURNAL_GET] = "SELECT generation, position FROM alert_journal",
	[ST_JOURNAL_SET] = "UPDATE alert_journal SET generation = ?, position = ?",
	[ST_RECENT_UUIDS] = "SELECT m.machine_id, a.uuid, a.id FROM (SELECT id, uuid, machine_alerts"
			    " FROM alerts WHERE uuid IS NOT NULL ORDER BY id DESC LIMIT ?) a"
			    " JOIN machines m ON m.id = a.machine_alerts ORDER BY a.id",
};

/* ---- small helpers ---------------------------------------------------------- */

char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

char *col_text(struct dbstmt *s, int i)
{
	const char *t = col_str(s, i);

	return strdup(t ? t : "");
}

int sql_err(struct cs_db *db, int rc)
{
	(void)db;
	return rc < 0 ? rc : -EIO;
}

struct dbstmt *stmt(struct cs_db *db, enum stmt_id id)
{
	struct db_conn *c = db_conn(db);
	struct dbstmt *s = c->st[id];

	if (!s) {
		if (db_prepare(db, stmt_sql[id], &s))
			return NULL;
		s->kept = true;
		c->st[id] = s;
	}
	db_reset(s);
	db_clear_bindings(s);
	return s;
}

/* Run a statement that returns no rows. */
int exec_stmt(struct cs_db *db, struct dbstmt *s)
{
	int rc;

	if (!s)
		return -EIO;
	rc = db_step(s);
	db_reset(s);
	return rc >= 0 ? 0 : sql_err(db, rc);
}

int db_exec_int(struct cs_db *db, const char *sql, int64_t a, long *changed)
{
	struct dbstmt *s;
	int err = db_prepare(db, sql, &s);

	if (err)
		return err;
	bind_int(s, 1, a);
	err = exec_stmt(db, s);
	if (!err && changed)
		*changed += db_changes(db);
	db_finalize(s);
	return err;
}

bool db_cluster_job(struct cs_db *db, const char *job)
{
	struct dbstmt *s = NULL;
	bool mine = true;

	if (!db->be->is_pg)
		return true;
	if (!db_prepare(db, "SELECT pg_try_advisory_xact_lock(7700, hashtext(?))", &s)) {
		bind_text(s, 1, job);
		mine = db_step(s) == DB_ROW && col_int(s, 0);
	}
	db_finalize(s);
	return mine;
}

static __thread struct db_conn *held;

struct db_conn *db_conn(struct cs_db *db)
{
	return held && held->db == db ? held : &db->conns[0];
}

struct db_conn *db_hold(struct cs_db *db)
{
	size_t start = atomic_fetch_add(&db->next_conn, 1);
	struct db_conn *c = NULL;

	for (size_t i = 0; i < db->nconns && !c; i++) {
		struct db_conn *t = &db->conns[(start + i) % db->nconns];

		if (!pthread_mutex_trylock(&t->lock))
			c = t;
	}
	if (!c) { /* all busy: queue on one */
		c = &db->conns[start % db->nconns];
		pthread_mutex_lock(&c->lock);
	}
	held = c;
	return c;
}

void db_release(struct cs_db *db)
{
	struct db_conn *c = db_conn(db);

	if (c == held)
		held = NULL;
	pthread_mutex_unlock(&c->lock);
}

static int txn_begin_as(struct cs_db *db, enum stmt_id id)
{
	int err;

	db_hold(db);
	err = exec_stmt(db, stmt(db, id));
	if (err)
		db_release(db);
	return err;
}

int txn_begin(struct cs_db *db)
{
	return txn_begin_as(db, ST_BEGIN);
}

int txn_begin_lazy(struct cs_db *db)
{
	return txn_begin_as(db, ST_BEGIN_LAZY);
}

/*
 * Read-only operations take a deferred (WAL snapshot) transaction: another
 * process writing (cscli bouncers add) is not blocked by a long stream query.
 */
int txn_begin_read(struct cs_db *db)
{
	struct db_conn *c = db_hold(db);
	int err;

	/*
	 * PostgreSQL: each statement reads a committed state of its own (saving two
	 * round trips); readers of several statements tolerate a commit in between
	 * (the stream index re-merges what it reads twice).
	 */
	if (db->be->is_pg) {
		c->autocommit = true;
		return 0;
	}
	err = exec_stmt(db, stmt(db, ST_BEGIN_READ));
	if (err)
		db_release(db);
	return err;
}

int txn_begin_read_committed(struct cs_db *db)
{
	struct db_conn *c = &db->conns[0];
	int err;

	if (db->be->is_pg)
		return txn_begin_read(db);
	if (pthread_mutex_trylock(&c->lock)) {
		c = &db->side;
		pthread_mutex_lock(&c->lock);
		if (!c->h && (db->side_failed || lite_open_side(db))) {
			/* no side connection: wait for the write */
			db->side_failed = true;
			pthread_mutex_unlock(&c->lock);
			c = &db->conns[0];
			pthread_mutex_lock(&c->lock);
		}
	}
	held = c;
	err = exec_stmt(db, stmt(db, ST_BEGIN_READ));
	if (err)
		db_release(db);
	return err;
}

int txn_finish(struct cs_db *db, int err)
{
	struct db_conn *c = db_conn(db);

	if (c->autocommit) {
		c->autocommit = false;
		return err;
	}
	if (!err)
		err = exec_stmt(db, stmt(db, ST_COMMIT));
	if (err)
		exec_stmt(db, stmt(db, ST_ROLLBACK));
	return err;
}

void txn_unlock(struct cs_db *db)
{
	db_release(db);
}

/* Commit on err == 0, roll back otherwise; releases the lock; returns err or commit's. */
int txn_end(struct cs_db *db, int err)
{
	err = txn_finish(db, err);
	txn_unlock(db);
	return err;
}

const char *cs_db_errmsg(struct cs_db *db)
{
	return db ? db->be->errmsg(db) : "no database";
}

int run_changes(struct cs_db *db, struct dbstmt *s)
{
	int err = exec_stmt(db, s);

	if (!err && db_changes(db) == 0)
		err = -ENOENT;
	return err;
}

int db_write(struct cs_db *db, enum stmt_id id, bool need_change, const char *types, ...)
{
	struct dbstmt *s;
	va_list ap;
	int err = 0;

	if (db->be->is_pg) { /* one statement is atomic by itself: no BEGIN/COMMIT round trips */
		db_hold(db)->autocommit = true;
	} else if ((err = txn_begin(db))) {
		return err;
	}
	s = stmt(db, id);
	va_start(ap, types);
	for (int i = 0; types[i]; i++) {
		if (types[i] == 't') {
			const char *t = va_arg(ap, const char *);

			bind_text(s, i + 1, t ? t : "");
		} else {
			bind_int(s, i + 1, va_arg(ap, int64_t));
		}
	}
	va_end(ap);
	return txn_end(db, need_change ? run_changes(db, s) : exec_stmt(db, s));
}

int db_rows(struct cs_db *db, struct dbstmt *s, size_t size, db_row_fn row, void *arg,
	    void **out, size_t *n)
{
	char *v = NULL;
	size_t cap = 0;
	int rc, err = 0;

	*n = 0;
	while ((rc = db_step(s)) == DB_ROW) {
		if (vec_reserve((void **)&v, &cap, *n, size, 16)) {
			err = -ENOMEM;
			break;
		}
		memset(v + *n * size, 0, size); /* what the row function does not set */
		row(s, v + (*n)++ * size, arg);
	}
	if (!err && rc != DB_DONE)
		err = sql_err(db, rc);
	db_reset(s);
	*out = v;
	return err;
}

int db_each(struct cs_db *db, struct dbstmt *s, int (*fn)(struct dbstmt *s, void *arg), void *arg)
{
	int rc = DB_DONE, ret = 0;

	while (!ret && (rc = db_step(s)) == DB_ROW)
		ret = fn(s, arg);
	if (!ret && rc != DB_DONE)
		ret = sql_err(db, rc);
	db_reset(s);
	return ret;
}

int db_row(struct cs_db *db, struct dbstmt *s, db_row_fn row, void *elem, void *arg)
{
	int rc = db_step(s), err = 0;

	if (rc == DB_ROW)
		row(s, elem, arg);
	else
		err = rc == DB_DONE ? -ENOENT : sql_err(db, rc);
	db_reset(s);
	return err;
}

int db_exec_query(struct cs_db *db, struct qb *q, long *n)
{
	struct dbstmt *s = NULL;
	int err;

	*n = 0;
	err = txn_begin(db);
	if (err)
		return err;
	err = qb_prepare(db, q, &s);
	if (!err)
		err = exec_stmt(db, s);
	if (!err)
		*n = db_changes(db);
	db_finalize(s);
	return txn_end(db, err);
}

int count_groups(struct cs_db *db, enum stmt_id id, int64_t now, int nkeys,
			cs_db_count_cb cb, void *ctx)
{
	struct dbstmt *s;
	int rc, err = txn_begin_read(db);

	if (err)
		return err;
	s = stmt(db, id);
	if (id == ST_ACTIVE_COUNT)
		bind_int(s, 1, now);
	while ((rc = db_step(s)) == DB_ROW) {
		const char *k[3] = { NULL, NULL, NULL };

		for (int i = 0; i < nkeys; i++)
			k[i] = col_str(s, i);
		cb(ctx, k[0], k[1], k[2], (long)col_int(s, nkeys));
	}
	if (rc != DB_DONE)
		err = sql_err(db, rc);
	db_reset(s);
	return txn_end(db, err);
}

/* ---- open / close ------------------------------------------------------------ */

static int db_alloc(const struct db_backend *be, size_t nconns, struct cs_db **out)
{
	struct cs_db *db = calloc(1, sizeof(*db));
	int err;

	*out = NULL;
	if (!db || !(db->conns = calloc(nconns, sizeof(*db->conns)))) {
		free(db);
		return -ENOMEM;
	}
	db->be = be;
	db->nconns = nconns;
	db->side.db = db;
	pthread_mutex_init(&db->side.lock, NULL);
	for (size_t i = 0; i < nconns; i++) {
		db->conns[i].db = db;
		pthread_mutex_init(&db->conns[i].lock, NULL);
	}
	err = stream_index_new(db);
	if (err) {
		cs_db_close(db);
		return err;
	}
	*out = db;
	return 0;
}

int db_open_unmigrated(const char *path, struct cs_db **out)
{
	int err = db_alloc(&db_lite, 1, out);

	if (!err && (err = lite_open(*out, path))) {
		cs_db_close(*out);
		*out = NULL;
	}
	return err;
}

/* The wal-index header's iChange (its third 32-bit word): every commit, by any process,
 * adds one. */
int cs_db_change_mark(struct cs_db *db, uint32_t *mark)
{
	volatile const uint32_t *hdr = __atomic_load_n(&db->wal_index, __ATOMIC_ACQUIRE);

	if (!hdr)
		return -EOPNOTSUPP;
	*mark = __atomic_load_n(&hdr[2], __ATOMIC_ACQUIRE);
	return 0;
}

void cs_db_stamp(struct cs_db *db, uint32_t mark)
{
	atomic_store(&db->stamp, (1ULL << 32) | mark);
}

bool cs_db_unchanged(struct cs_db *db)
{
	uint64_t st = atomic_load(&db->stamp);
	uint32_t now;

	return (st >> 32) && !cs_db_change_mark(db, &now) && now == (uint32_t)st;
}

void db_vouch_own_commit(struct cs_db *db, uint32_t before)
{
	uint64_t expect = (1ULL << 32) | before;

	/* only if the stamp was current before it: the commit is then the only one since */
	atomic_compare_exchange_strong(&db->stamp, &expect, (1ULL << 32) | (uint32_t)(before + 1));
}

int cs_db_external_version(struct cs_db *db, int64_t *version)
{
	return db->be->external_version ? db->be->external_version(db, version) : -EOPNOTSUPP;
}

#define DB_PG_CONNS_DEFAULT 4
#define DB_PG_CONNS_MAX 32

int cs_db_connect(const char *path, const char *pg_conninfo, long max_conns, struct cs_db **out)
{
	int err;

	if (max_conns <= 0)
		max_conns = DB_PG_CONNS_DEFAULT;
	if (max_conns > DB_PG_CONNS_MAX)
		max_conns = DB_PG_CONNS_MAX;
	if (!pg_conninfo)
		err = db_open_unmigrated(path, out);
	else if (!(err = db_alloc(&db_pg, (size_t)max_conns, out)))
		err = pg_open(*out, pg_conninfo);
	if (!err)
		err = (*out)->be->migrate(*out);
	if (err) {
		cs_db_close(*out);
		*out = NULL;
	}
	return err;
}

int cs_db_open(const char *path, struct cs_db **out)
{
	return cs_db_connect(path, NULL, 1, out);
}

int cs_db_cluster_claim(struct cs_db *db, const char *job, int64_t now, int64_t every)
{
	struct dbstmt *s = NULL;
	int err, rc = DB_DONE;

	if (!db->be->is_pg)
		return 1;
	err = txn_begin(db);
	if (err)
		return err;
	err = db_prepare(db, "INSERT INTO cluster_jobs VALUES (?1, ?2) ON CONFLICT (name)"
			     " DO UPDATE SET last_run = ?2 WHERE cluster_jobs.last_run <= ?3"
			     " RETURNING 1", &s);
	if (!err) {
		bind_text(s, 1, job);
		bind_int(s, 2, now);
		bind_int(s, 3, now - every);
		rc = db_step(s);
		err = rc < 0 ? rc : 0;
		db_finalize(s);
	}
	err = txn_end(db, err);
	return err ? err : rc == DB_ROW;
}

int cs_db_ping(struct cs_db *db)
{
	struct dbstmt *s = NULL;
	/* never behind the stream index's load or a bulk import holding the main handle */
	int err = txn_begin_read_committed(db);

	if (err)
		return err;
	err = db_prepare(db, "SELECT 1", &s); /* a broken PostgreSQL connection is reset here */
	if (!err)
		err = db_step(s) == DB_ROW ? 0 : -EIO;
	db_finalize(s);
	return txn_end(db, err);
}

bool cs_db_is_pg(const struct cs_db *db)
{
	return db->be->is_pg;
}

int cs_db_sqlite_synchronous(struct cs_db *db, bool full)
{
	int err;

	if (db->be->is_pg)
		return 0;
	db_hold(db);
	err = db_exec(db, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
	db_release(db);
	return err ? -EIO : 0;
}

void cs_db_sqlite_wal_bound(struct cs_db *db, int frames)
{
	db->wal_sync_frames = frames > 0 ? frames : 0;
}

long cs_db_sqlite_cache_kib(struct cs_db *db)
{
	struct dbstmt *s = NULL;
	long kib = 0;

	if (db->be->is_pg)
		return 0;
	db_hold(db);
	if (!db_prepare(db, "PRAGMA cache_size", &s) && db_step(s) == DB_ROW)
		kib = -(long)col_int(s, 0); /* negative: KiB, as lite.c sets it */
	db_finalize(s);
	db_release(db);
	return kib;
}

void cs_db_close(struct cs_db *db)
{
	if (!db)
		return;
	/* the side first: SQLite checkpoints the WAL away as its last connection closes */
	for (size_t k = 0; k <= db->nconns; k++) {
		struct db_conn *c = k ? &db->conns[k - 1] : &db->side;

		for (int i = 0; i < ST__MAX; i++)
			db_finalize(c->st[i]);
		for (int i = 0; i < DB_MANY_STMTS; i++)
			db_finalize(c->many[i]);
		if (c->h)
			db->be->close(c);
		pthread_mutex_destroy(&c->lock);
	}
	stream_index_free(db);
	free(db->wal_path);
	free(db->conns);
	free(db);
}
