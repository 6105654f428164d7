/* SPDX-License-Identifier: MIT */
/*
 * Private to db/: the handle, the prepared-statement table and the helpers the
 * per-table files share (transactions, row decoding, the query builder).
 * Nothing outside userspace/db/ includes this; the contract is db.h.
 */
#ifndef CS_DB_INT_H
#define CS_DB_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "db/db.h"

enum stmt_id {
	ST_BEGIN,
	ST_BEGIN_READ,
	ST_BEGIN_LAZY,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_MACHINE_INSERT,
	ST_MACHINE_FORCE,
	ST_MACHINE_GET,
	ST_MACHINE_LOGIN,
	ST_MACHINE_HEARTBEAT,
	ST_MACHINE_VALIDATE,
	ST_MACHINE_DELETE,
	ST_MACHINE_LIST,
	ST_MACHINE_PENDING,
	ST_BOUNCER_INSERT,
	ST_BOUNCER_BY_KEY,
	ST_BOUNCER_BY_NAME,
	ST_BOUNCER_INSERT_TLS,
	ST_MACHINE_INSERT_TLS,
	ST_BOUNCER_SEEN,
	ST_BOUNCER_LAST_PULL,
	ST_BOUNCER_DELETE,
	ST_BOUNCER_LIST,
	ST_ALERT_INSERT,
	ST_ALERT_INSERT_NORET,
	ST_ALERT_BY_UUID,
	ST_EVENT_INSERT,
	ST_META_INSERT,
	ST_DECISION_INSERT,
	ST_DECISION_INSERT_NORET,
	ST_MACHINE_ROWID,
	ST_ALERT_DECISIONS,
	ST_ALERT_EVENTS,
	ST_ALERT_META,
	ST_ALERT_DELETE,
	ST_DECISION_EXPIRE_ID,
	ST_ALERTS_COUNT,
	ST_ACTIVE_COUNT,
	ST_DATA_VERSION,
	ST_DECISIONS_EPOCH,
	ST_BOUNCERS_EPOCH,
	ST_ALLOWLISTS_ALL,
	ST_ALLOWLIST_ITEMS_LIVE,
	ST_ID_SEQ,
	ST_JOURNAL_GET,
	ST_JOURNAL_SET,
	ST_RECENT_UUIDS,
	ST__MAX,
};

#define MACHINE_COLS                                                                       \
	"id, created_at, updated_at, last_push, last_heartbeat, machine_id, password,"     \
	" ip_address, scenarios, version, is_validated, status, auth_type"
#define BOUNCER_COLS                                                                       \
	"id, created_at, updated_at, name, api_key, revoked, ip_address, type, version,"  \
	" until, last_pull, auth_type"
#define DECISION_COLS                                                                      \
	"d.id, d.created_at, d.until, d.scenario, d.type, d.scope, d.value, d.origin,"    \
	" d.simulated, d.alert_decisions"
#define ALERT_COLS                                                                         \
	"a.id, a.created_at, a.scenario, a.message, a.events_count, a.started_at,"        \
	" a.stopped_at, a.source_ip, a.source_range, a.source_as_number, a.source_as_name," \
	" a.source_country, a.source_latitude, a.source_longitude, a.source_scope,"      \
	" a.source_value, a.capacity, a.leak_speed, a.scenario_version, a.scenario_hash,"  \
	" a.simulated, m.machine_id"

struct stream_index;
struct db_conn;

/*
 * The two storage engines behind one statement interface: SQLite (lite.c, the
 * embedded default) and PostgreSQL through libpq (pg.c). SQL is written once,
 * in the dialect both accept (?N / ? parameters, ON CONFLICT, RETURNING, row
 * values); pg.c rewrites parameters to $N. Schemas and migrations differ
 * (schema.h, schema_pg.h).
 */
struct dbstmt {
	const struct db_backend *be;
	/* kept by its connection for the connection's life (stmt(), alerts.c's many[]):
	 * PostgreSQL prepares it on the server once instead of at every execution */
	bool kept;
};

enum { DB_DONE = 0, DB_ROW = 1 };

struct db_backend {
	const char *name;
	bool is_pg;
	int (*prepare)(struct cs_db *db, const char *sql, struct dbstmt **out);
	void (*finalize)(struct dbstmt *s);
	/* back to before the first step; the bindings stay */
	void (*reset)(struct dbstmt *s);
	void (*clear_bindings)(struct dbstmt *s);
	/* text is borrowed until the statement is reset or finalized (NULL binds "") */
	void (*bind_int)(struct dbstmt *s, int i, int64_t v);
	void (*bind_double)(struct dbstmt *s, int i, double v);
	void (*bind_text)(struct dbstmt *s, int i, const char *v);
	void (*bind_null)(struct dbstmt *s, int i);
	/* DB_ROW, DB_DONE or -errno (-EEXIST: a constraint, -EBUSY, -ENOTCONN, -EIO) */
	int (*step)(struct dbstmt *s);
	int64_t (*col_int)(struct dbstmt *s, int i);
	double (*col_double)(struct dbstmt *s, int i);
	/* NULL for SQL NULL; valid until the next step */
	const char *(*col_str)(struct dbstmt *s, int i);
	/* rows changed by the statement run last on this handle */
	int64_t (*changes)(struct cs_db *db);
	/*
	 * The id of the row inserted last on this handle; a multi-row INSERT into a
	 * table with AUTOINCREMENT, inside the one write transaction, gives its rows
	 * consecutive ids. NULL: ids come back with RETURNING only (PostgreSQL's
	 * sequences may interleave concurrent transactions).
	 */
	int64_t (*last_insert_id)(struct cs_db *db);
	/* statements without parameters or rows, ';'-separated */
	int (*exec)(struct cs_db *db, const char *sql);
	const char *(*errmsg)(struct cs_db *db);
	int (*migrate)(struct cs_db *db);
	/* cs_db_external_version(); NULL: not offered */
	int (*external_version)(struct cs_db *db, int64_t *version);
	/* the write connection's page cache sized for bulk writes or not; NULL: nothing to size */
	void (*bulk_cache)(struct cs_db *db, bool bulk);
	void (*close)(struct db_conn *c);
};

/*
 * The operations both engines have, each named after its engine (lite_step,
 * pg_step): a backend's table lists them with DB_BACKEND_OPS(lite) and adds
 * those only its engine offers.
 */
#define DB_BACKEND_OPS(engine)                                                               \
	.prepare = engine##_prepare, .finalize = engine##_finalize, .reset = engine##_reset, \
	.clear_bindings = engine##_clear_bindings, .bind_int = engine##_bind_int,            \
	.bind_double = engine##_bind_double, .bind_text = engine##_bind_text,                \
	.bind_null = engine##_bind_null, .step = engine##_step, .col_int = engine##_col_int, \
	.col_double = engine##_col_double, .col_str = engine##_col_str,                      \
	.changes = engine##_changes, .exec = engine##_exec, .errmsg = engine##_errmsg,       \
	.migrate = engine##_migrate, .close = engine##_close

extern const struct db_backend db_lite, db_pg;

static inline int db_prepare(struct cs_db *db, const char *sql, struct dbstmt **out);
static inline void db_finalize(struct dbstmt *s)
{
	if (s)
		s->be->finalize(s);
}
static inline void db_reset(struct dbstmt *s) { s->be->reset(s); }
static inline void db_clear_bindings(struct dbstmt *s) { s->be->clear_bindings(s); }
static inline void bind_int(struct dbstmt *s, int i, int64_t v) { s->be->bind_int(s, i, v); }
static inline void bind_double(struct dbstmt *s, int i, double v) { s->be->bind_double(s, i, v); }
static inline void bind_text(struct dbstmt *s, int i, const char *v) { s->be->bind_text(s, i, v); }
static inline void bind_null(struct dbstmt *s, int i) { s->be->bind_null(s, i); }
static inline int db_step(struct dbstmt *s) { return s->be->step(s); }
static inline int64_t col_int(struct dbstmt *s, int i) { return s->be->col_int(s, i); }
static inline double col_double(struct dbstmt *s, int i) { return s->be->col_double(s, i); }
static inline const char *col_str(struct dbstmt *s, int i) { return s->be->col_str(s, i); }

/*
 * The alert, decision, event and meta INSERTs up to their VALUES rows: db.c's
 * one-row ones, alerts.c's many-row ones. _INTO is the same without its verb.
 */
#define ALERT_INSERT_HEAD "INSERT" ALERT_INSERT_INTO
#define DECISION_INSERT_HEAD "INSERT" DECISION_INSERT_INTO
#define EVENT_INSERT_HEAD "INSERT" EVENT_INSERT_INTO
#define META_INSERT_HEAD "INSERT" META_INSERT_INTO
#define ALERT_INSERT_INTO " INTO alerts (" ALERT_INSERT_COLS
/* SQLite: the ids are given (cs_db_alert_ids_take(), cs_db_alerts_insert()) */
#define ALERT_INSERT_ID_INTO " INTO alerts (id, " ALERT_INSERT_COLS
#define ALERT_INSERT_COLS                                                                  \
	"created_at, updated_at, scenario, message, events_count,"                         \
	" started_at, stopped_at, source_ip, source_range, source_as_number,"              \
	" source_as_name, source_country, source_latitude, source_longitude,"              \
	" source_scope, source_value, capacity, leak_speed, scenario_version,"             \
	" scenario_hash, simulated, machine_alerts, uuid) VALUES "
#define DECISION_INSERT_INTO " INTO decisions (" DECISION_INSERT_COLS
#define DECISION_INSERT_ID_INTO " INTO decisions (id, " DECISION_INSERT_COLS
#define DECISION_INSERT_COLS                                                               \
	"created_at, updated_at, until, scenario, type, start_ip,"                         \
	" end_ip, start_suffix, end_suffix, ip_size, scope, value, origin, simulated,"     \
	" alert_decisions) VALUES "
#define EVENT_INSERT_INTO " INTO events (created_at, updated_at, time, serialized, alert_events) VALUES "
#define META_INSERT_INTO " INTO meta (created_at, updated_at, key, value, alert_metas) VALUES "

/*
 * One connection of the handle, with what belongs to it: prepared statements
 * and the state of its transaction. SQLite has one; PostgreSQL a pool
 * (db_config.max_open_conns), so that requests overlap their round trips and
 * share the server's commit flushes.
 */
#define DB_MANY_STMTS 80 /* alerts.c: kinds of multi-row INSERT times their row counts */

struct db_conn {
	struct cs_db *db;
	void *h; /* sqlite3 * or PGconn * */
	pthread_mutex_t lock;
	struct dbstmt *st[ST__MAX];
	struct dbstmt *many[DB_MANY_STMTS]; /* alerts.c: its multi-row INSERTs, by kind and rows */
	int64_t changes;	       /* pg.c: rows the last statement changed */
	bool in_txn;		       /* pg.c: a failed connection is reset only outside one */
	uint64_t resets;	       /* pg.c: server-side statements die with a reset */
	bool autocommit;	       /* db.c: held for statements without BEGIN */
};

struct cs_db {
	const struct db_backend *be;
	struct db_conn *conns;
	size_t nconns;
	_Atomic size_t next_conn;
	struct stream_index *stream; /* stream.c */
	/* cs_db_external_version(): the wal-index change counter, else the WAL file, as
	 * last seen, and data_version then */
	char *wal_path;
	struct timespec wal_mtime;
	long long wal_size;
	uint32_t version_mark;
	int64_t data_version;
	bool have_version;
	/* cs_db_change_mark(): the wal-index header as conns[0]'s SQLite maps it (NULL:
	 * none), and the stamp cs_db_unchanged() compares its change counter with */
	volatile const uint32_t *wal_index;
	_Atomic uint64_t stamp; /* bit 32: set; low 32 bits: the counter value */
	struct lite_checkpointer *ckpt; /* lite.c */
	int wal_sync_frames; /* lite.c: 0 = its default; cs_db_sqlite_wal_bound() */
	unsigned long wal_syncs; /* lite.c: cs_db_sqlite_wal_sync() calls done (tests) */
	bool cache_small;      /* lite.c: the main connection's page cache is the small one */
	/* alerts.c: the cache stays large until then (a bulk write's time + 2 s) */
	int64_t bulk_until;
	/* alerts.c, SQLite: the next alert and decision ids (cs_db_alert_ids_take()), never
	 * below sqlite_sequence's (ids_synced: read once at least) */
	_Atomic int64_t next_alert_id, next_decision_id;
	_Atomic bool ids_synced;
	/* SQLite: a read-only connection beside conns[0], opened on first use (txn_begin_read_committed) */
	struct db_conn side;
	bool side_failed; /* it could not be opened: said once, not tried again (under side.lock) */
};

/*
 * The connection this thread holds on db (db_hold()), else the first: the only
 * one while the handle opens and closes, and SQLite's only one.
 */
struct db_conn *db_conn(struct cs_db *db);
/* A connection of db for this thread (a free one first), locked until db_release(). */
struct db_conn *db_hold(struct cs_db *db);
void db_release(struct cs_db *db);

static inline int db_prepare(struct cs_db *db, const char *sql, struct dbstmt **out)
{
	return db->be->prepare(db, sql, out);
}
static inline int64_t db_changes(struct cs_db *db) { return db->be->changes(db); }
static inline int db_exec(struct cs_db *db, const char *sql) { return db->be->exec(db, sql); }

/*
 * rows.c: a record described once, by its columns in the order its SELECT
 * lists them: read from a row, bound as a statement's parameters ?1..?n,
 * cleared (texts freed, zeroed) and freed as arrays by the same code for every
 * table and both engines.
 *
 *   static const struct db_fields thing_table = {
 *           sizeof(struct thing),
 *           { DB_FIELD(struct thing, id, DBF_INT), DB_FIELD(struct thing, name, DBF_TEXT) },
 *   };
 */
enum db_ftype {
	DBF_END,    /* after the last column (the zeroed rest of the array) */
	DBF_INT,    /* int64_t */
	DBF_LONG,   /* long (counters the caller prints as such) */
	DBF_BOOL,   /* bool: any non-zero column is true */
	DBF_DOUBLE, /* double */
	DBF_TEXT,   /* char *, owned: a NULL column reads as "", a NULL binds as "" */
};
struct db_field {
	size_t off;
	enum db_ftype type;
};
#define DB_FIELD(st, member, type) { offsetof(st, member), type }
#define DB_MAX_FIELDS 24 /* a longer table does not compile (excess elements) */
struct db_fields {
	size_t size; /* of the record */
	struct db_field f[DB_MAX_FIELDS];
};
/* Reads the columns 0..n-1 into elem; returns n (the next column's index). */
size_t db_fields_read(struct dbstmt *s, void *elem, const struct db_fields *t);
/* A db_row_fn: arg is the struct db_fields of elem's type. */
void db_fields_row(struct dbstmt *s, void *elem, void *arg);
void db_fields_bind(struct dbstmt *s, const void *elem, const struct db_fields *t);
/* Frees the record's texts and zeroes it; accepts NULL. */
void db_fields_clear(const struct db_fields *t, void *elem);
/* The heap a text takes (db_heap_block of its length and NUL; 0 for NULL). */
size_t db_text_heap(const char *s);
/* The heap the record's texts take (db_text_heap of each). */
size_t db_fields_heap(const struct db_fields *t, const void *elem);
/* count records in one array, then the array; accepts NULL. */
void db_fields_free(const struct db_fields *t, void *v, size_t count);
/* Every row of s as an array of records (db_rows). */
int db_fields_rows(struct cs_db *db, struct dbstmt *s, const struct db_fields *t, void **out,
		   size_t *n);
/* db_fields_rows of statement id in a read transaction; on error *out is NULL, *n 0. */
int db_fields_list(struct cs_db *db, enum stmt_id id, const struct db_fields *t, void **out,
		   size_t *n);
/*
 * The first row of statement id for the text key ?1, inside the caller's
 * transaction, into elem (a record of t); -ENOENT when there is none.
 */
int db_fields_by_key(struct cs_db *db, enum stmt_id id, const char *key,
		     const struct db_fields *t, void *elem);

/* db.c: statements, errors, transactions */
char *xstrdup(const char *s);
char *col_text(struct dbstmt *s, int i);
/* A step's rc that was not the outcome expected: as -errno. */
int sql_err(struct cs_db *db, int rc);
struct dbstmt *stmt(struct cs_db *db, enum stmt_id id);
/* Run a statement that returns no rows. */
int exec_stmt(struct cs_db *db, struct dbstmt *s);
/*
 * A statement used once, with the one integer parameter a: prepared, run and
 * finalized inside the caller's transaction; *changed (when given) grows by the
 * rows it changed.
 */
int db_exec_int(struct cs_db *db, const char *sql, int64_t a, long *changed);
/* exec_stmt, -ENOENT when no row changed */
int run_changes(struct cs_db *db, struct dbstmt *s);
/*
 * Inside a write transaction: may this process run the housekeeping `job` now?
 * Always on SQLite; on PostgreSQL the replica that holds the job's advisory
 * lock (until the transaction ends) does, the others skip.
 */
bool db_cluster_job(struct cs_db *db, const char *job);
int txn_begin(struct cs_db *db);
int txn_begin_read(struct cs_db *db);
/*
 * A read of the last committed state that never waits for this process's own
 * write in progress: on SQLite, while conns[0] is held (a bulk import holds it
 * for the whole of its transaction), through db->side. For short lookups whose
 * callers may not stall behind a write (request authentication, the allowlists
 * an alert push is filtered through).
 */
int txn_begin_read_committed(struct cs_db *db);
/*
 * A write transaction whose loss in a database crash costs nothing but work
 * (bookkeeping such as last_pull): PostgreSQL commits it without waiting for
 * the disk. On SQLite, txn_begin().
 */
int txn_begin_lazy(struct cs_db *db);
/* Commit on err == 0, roll back otherwise; releases the lock; returns err or commit's. */
int txn_end(struct cs_db *db, int err);
/* txn_end in two steps, for work that must follow the commit under the lock. */
int txn_finish(struct cs_db *db, int err);
void txn_unlock(struct cs_db *db);
/*
 * One prepared statement in its own write transaction, parameters bound in
 * order as `types` says: 't' const char * (NULL binds ""), 'i' int64_t.
 * need_change: -ENOENT when no row changed.
 */
int db_write(struct cs_db *db, enum stmt_id id, bool need_change, const char *types, ...);
/*
 * fn(s, arg) on each row of s until it returns non-zero (then returned); a
 * failed step as -errno. s is reset. Rows are read in place: a large result is
 * never held whole.
 */
int db_each(struct cs_db *db, struct dbstmt *s, int (*fn)(struct dbstmt *s, void *arg), void *arg);
/* Fills one row's element: elem points at the struct, arg is the caller's. */
typedef void (*db_row_fn)(struct dbstmt *s, void *elem, void *arg);
/*
 * Step s to its end, one element of `size` bytes per row. *out gets the array
 * (malloc'ed) and *n the rows filled, on error too: the caller frees them.
 */
int db_rows(struct cs_db *db, struct dbstmt *s, size_t size, db_row_fn row, void *arg,
	    void **out, size_t *n);
/* The first row of s into elem; -ENOENT when there is none. */
int db_row(struct cs_db *db, struct dbstmt *s, db_row_fn row, void *elem, void *arg);
struct qb;
/* Run a built UPDATE/DELETE in a write transaction; *n rows changed. Does not free q. */
int db_exec_query(struct cs_db *db, struct qb *q, long *n);
int count_groups(struct cs_db *db, enum stmt_id id, int64_t now, int nkeys, cs_db_count_cb cb,
		 void *ctx);

/* db.c: the handle configured (WAL, pragmas), no migration run (tests drive db_migrate) */
int db_open_unmigrated(const char *path, struct cs_db **out);
/* lite.c / pg.c: connect db (allocated, be set) to its engine */
int lite_open(struct cs_db *db, const char *path);
/* lite_walbuf.c: the VFS that writes a commit's WAL frames at once (NULL: the default) */
const char *lite_walbuf_vfs(void);
/* drops what a rolled-back transaction left gathered: h's rollback hook */
struct sqlite3;
void lite_walbuf_discard(struct sqlite3 *h);
/* db->side's handle: conns[0]'s file, read-only; -EOPNOTSUPP for an in-memory database */
int lite_open_side(struct cs_db *db);
/*
 * After a commit of this process's that wrote rows to no table a stamped cache
 * holds (cs_db_alerts_insert): `before` is the change counter read inside that
 * write transaction. The stamp follows the commit if it was current at `before`.
 */
void db_vouch_own_commit(struct cs_db *db, uint32_t before);
/* conns[0] held: maps the wal-index header for cs_db_change_mark() (no-op when done, not WAL) */
void lite_map_wal_index(struct cs_db *db);
int pg_open(struct cs_db *db, const char *conninfo);

/*
 * migrate.c: bring the database to version n (migrations[i] goes from i to
 * i + 1), importing a Go CrowdSec 1.4.6 database first (import_go.c: it
 * creates schema version 1 from migrations[0] and copies everything over).
 */
int db_migrate(struct cs_db *db, const char *const *migrations, size_t n);
/* The same on PostgreSQL (schema_pg.h), under an advisory lock: replicas start together. */
int pg_migrate(struct cs_db *db);
bool is_go_database(struct cs_db *db);
int import_go_database(struct cs_db *db, const char *schema_v1);

/* range.c */
/* An Ip/Range decision's value, as the LAPI takes it (host bits masked): 0 or -errno. */
int value_range(const char *value, struct cs_range *out);
/*
 * Binds a range at parameters first .. first + 4 in the tables' column order:
 * start_ip, end_ip, start_suffix, end_suffix, ip_size.
 */
void bind_range(struct dbstmt *s, int first, const struct cs_range *r);
bool scope_is_addr(const char *scope);

/* query.c: SQL text grown piecewise, values bound in order at prepare */
struct qbind {
	bool is_text;
	int64_t i;
	const char *s;
};

struct qb {
	struct sbuf sql;
	struct qbind *b;
	size_t nb, bcap;
	int err;
};

void qb_add(struct qb *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qb_bind(struct qb *q, bool is_text, int64_t i, const char *s);
#define qb_int(q, v) qb_bind((q), false, (v), NULL)
#define qb_text(q, v) qb_bind((q), true, 0, (v))
void qb_free(struct qb *q);
int qb_prepare(struct cs_db *db, struct qb *q, struct dbstmt **out);
void dfilter_cond(struct qb *q, const struct cs_dfilter *f);
/* "Longest decision wins" per (value, type, scope), over the whole table. */
void dedup_cond(struct qb *q);
void afilter_cond(struct qb *q, const struct cs_afilter *f, int64_t now);

/*
 * stream.c: the in-memory stream index. Writers call these with the db mutex
 * held: stream_write_begin() returns the stamp to store (created_at, or the
 * until of a soft delete), then after COMMIT one apply (or stream_write_end()
 * when the transaction failed). Hard deletes mark the index stale.
 */
int stream_index_new(struct cs_db *db);
void stream_index_free(struct cs_db *db);
int64_t stream_write_begin(struct cs_db *db, int64_t now);
/* Before COMMIT of a write that updated decision rows: the epoch it leaves. */
void stream_write_epoch(struct cs_db *db);
void stream_write_end(struct cs_db *db);
void stream_apply_alerts(struct cs_db *db, struct cs_alert *const *alerts, size_t n,
			 const int64_t *decision_ids, int64_t created_at);
void stream_apply_expire(struct cs_db *db, const int64_t *ids, size_t n, int64_t until);
void stream_mark_stale(struct cs_db *db);

/* decisions.c */
int collect_decisions(struct cs_db *db, struct dbstmt *s, int64_t now, struct cs_decision **out,
		      size_t *n);

#endif
