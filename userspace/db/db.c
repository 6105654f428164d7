// SPDX-License-Identifier: MIT
/*
 * SQLite storage for the LAPI; see db.h for the contract. No SQL lives outside
 * this directory. User-supplied values are always bound, never spliced; the only
 * generated SQL text is structure (filter clauses) and integers computed here.
 */
#include "db/db.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/gotime.h"
#include "common/log.h"
#include "db/schema.h"

#define DB_BUSY_TIMEOUT_MS 5000

enum stmt_id {
	ST_BEGIN,
	ST_BEGIN_READ,
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
	ST_EVENT_INSERT,
	ST_META_INSERT,
	ST_DECISION_INSERT,
	ST_MACHINE_ROWID,
	ST_ALERT_DECISIONS,
	ST_ALERT_EVENTS,
	ST_ALERT_META,
	ST_ALERT_DELETE,
	ST_DECISION_EXPIRE_ID,
	ST_ALERTS_COUNT,
	ST_ACTIVE_COUNT,
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

static const char *const stmt_sql[ST__MAX] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_MACHINE_INSERT] = "INSERT INTO machines (created_at, updated_at, last_push,"
			      " last_heartbeat, machine_id, password, ip_address, is_validated)"
			      " VALUES (?1, ?1, ?1, NULL, ?2, ?3, ?4, ?5)",
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
	[ST_BOUNCER_INSERT] = "INSERT INTO bouncers (created_at, updated_at, name, api_key,"
			      " last_pull) VALUES (?1, ?1, ?2, ?3, ?1)",
	[ST_BOUNCER_BY_KEY] = "SELECT " BOUNCER_COLS " FROM bouncers WHERE api_key = ?"
			      " AND auth_type = 'api-key'",
	[ST_BOUNCER_BY_NAME] = "SELECT " BOUNCER_COLS " FROM bouncers WHERE name = ?",
	[ST_BOUNCER_INSERT_TLS] = "INSERT OR IGNORE INTO bouncers (created_at, updated_at, name,"
				  " api_key, ip_address, last_pull, auth_type)"
				  " VALUES (?1, ?1, ?2, ?3, ?4, ?1, 'tls')",
	[ST_MACHINE_INSERT_TLS] = "INSERT OR IGNORE INTO machines (created_at, updated_at,"
				  " last_push, last_heartbeat, machine_id, password, ip_address,"
				  " is_validated, auth_type) VALUES (?1, ?1, ?1, NULL, ?2, ?3, '', 1,"
				  " 'tls')",
	[ST_BOUNCER_SEEN] = "UPDATE bouncers SET ip_address = ?2, type = ?3, version = ?4,"
			    " updated_at = ?5 WHERE id = ?1 AND (ip_address != ?2 OR type != ?3"
			    " OR version != ?4)",
	[ST_BOUNCER_LAST_PULL] = "UPDATE bouncers SET last_pull = ?2 WHERE id = ?1",
	[ST_BOUNCER_DELETE] = "DELETE FROM bouncers WHERE name = ?",
	[ST_BOUNCER_LIST] = "SELECT " BOUNCER_COLS " FROM bouncers ORDER BY id",
	[ST_ALERT_INSERT] =
		"INSERT INTO alerts (created_at, updated_at, scenario, message, events_count,"
		" started_at, stopped_at, source_ip, source_range, source_as_number,"
		" source_as_name, source_country, source_latitude, source_longitude,"
		" source_scope, source_value, capacity, leak_speed, scenario_version,"
		" scenario_hash, simulated, machine_alerts) VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6,"
		" ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
	[ST_EVENT_INSERT] = "INSERT INTO events (created_at, updated_at, time, serialized,"
			    " alert_events) VALUES (?1, ?1, ?2, ?3, ?4)",
	[ST_META_INSERT] = "INSERT INTO meta (created_at, updated_at, key, value, alert_metas)"
			   " VALUES (?1, ?1, ?2, ?3, ?4)",
	[ST_DECISION_INSERT] =
		"INSERT INTO decisions (created_at, updated_at, until, scenario, type, start_ip,"
		" end_ip, start_suffix, end_suffix, ip_size, scope, value, origin, simulated,"
		" alert_decisions) VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
		" ?12, ?13, ?14)",
	[ST_MACHINE_ROWID] = "SELECT id FROM machines WHERE machine_id = ?",
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
};

struct cs_db {
	sqlite3 *h;
	pthread_mutex_t lock;
	sqlite3_stmt *st[ST__MAX];
};

/* ---- small helpers ---------------------------------------------------------- */

static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

static char *col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return strdup(t ? (const char *)t : "");
}

static int sql_err(struct cs_db *db, int rc)
{
	if (rc == SQLITE_CONSTRAINT)
		return -EEXIST;
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return -EBUSY;
	if (rc == SQLITE_NOMEM)
		return -ENOMEM;
	log_error("sqlite: %s (%d)", sqlite3_errmsg(db->h), rc);
	return -EIO;
}

static sqlite3_stmt *stmt(struct cs_db *db, enum stmt_id id)
{
	sqlite3_stmt *s = db->st[id];

	if (!s) {
		if (sqlite3_prepare_v3(db->h, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s,
				       NULL) != SQLITE_OK) {
			log_error("sqlite prepare: %s", sqlite3_errmsg(db->h));
			return NULL;
		}
		db->st[id] = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* Run a statement that returns no rows. */
static int exec_stmt(struct cs_db *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sql_err(db, rc);
}

static int txn_begin(struct cs_db *db)
{
	pthread_mutex_lock(&db->lock);
	int err = exec_stmt(db, stmt(db, ST_BEGIN));

	if (err)
		pthread_mutex_unlock(&db->lock);
	return err;
}

/*
 * Read-only operations take a deferred (WAL snapshot) transaction: another
 * process writing (cscli bouncers add) is not blocked by a long stream query.
 */
static int txn_begin_read(struct cs_db *db)
{
	pthread_mutex_lock(&db->lock);
	int err = exec_stmt(db, stmt(db, ST_BEGIN_READ));

	if (err)
		pthread_mutex_unlock(&db->lock);
	return err;
}

/* Commit on err == 0, roll back otherwise; releases the lock; returns err or commit's. */
static int txn_end(struct cs_db *db, int err)
{
	if (!err)
		err = exec_stmt(db, stmt(db, ST_COMMIT));
	if (err)
		exec_stmt(db, stmt(db, ST_ROLLBACK));
	pthread_mutex_unlock(&db->lock);
	return err;
}

const char *cs_db_errmsg(struct cs_db *db)
{
	return db ? sqlite3_errmsg(db->h) : "no database";
}

/* ---- open / close ------------------------------------------------------------ */

/* ---- import of a database written by Go CrowdSec 1.4.6 (ent schema) ------------- */

static bool is_go_database(struct cs_db *db)
{
	sqlite3_stmt *s = NULL;
	bool found = false;

	if (sqlite3_prepare_v2(db->h,
			       "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'machines'",
			       -1, &s, NULL) == SQLITE_OK)
		found = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return found;
}

/* cs_ts(text): ent's "2026-11-25 07:48:58.379359153+00:00" -> ns (NULL -> 0) */
static void sql_cs_ts(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *t = sqlite3_value_text(argv[0]);
	char buf[64];
	int64_t ns = 0;

	if (t && strlen((const char *)t) < sizeof(buf)) {
		strcpy(buf, (const char *)t);
		if (strlen(buf) > 10 && buf[10] == ' ')
			buf[10] = 'T';
		if (gotime_parse_rfc3339(buf, &ns))
			ns = 0;
	}
	sqlite3_result_int64(ctx, ns);
}

/*
 * Keep everything the Go LAPI stored: rename its tables, create ours, copy with
 * timestamps converted, drop the old ones, all in one transaction. Bouncer keys
 * (SHA-512 hex) and machine passwords (bcrypt, see common/pwhash.c) keep working.
 */
static int import_go_database(struct cs_db *db)
{
	static const char *const tables[] = { "machines", "bouncers", "alerts",
					      "decisions", "events",   "meta" };
	char *sql = NULL, *msg = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&sql, &len);
	int rc;

	if (!f)
		return -ENOMEM;
	fputs("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE;", f);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		fprintf(f, "ALTER TABLE %s RENAME TO go_%s;", tables[i], tables[i]);
	/* their indexes keep their names and would clash with nothing, drop them with the tables */
	fputs(db_migrations[0], f);
	fputs("INSERT INTO machines (id, created_at, updated_at, last_push, last_heartbeat,"
	      " machine_id, password, ip_address, scenarios, version, is_validated, status,"
	      " auth_type) SELECT id, cs_ts(created_at), cs_ts(updated_at), cs_ts(last_push),"
	      " cs_ts(last_heartbeat), machine_id, password, ip_address, ifnull(scenarios, ''),"
	      " ifnull(version, ''), is_validated, ifnull(status, ''), auth_type FROM go_machines;"
	      "INSERT INTO bouncers (id, created_at, updated_at, name, api_key, revoked, ip_address,"
	      " type, version, until, last_pull, auth_type) SELECT id, cs_ts(created_at),"
	      " cs_ts(updated_at), name, api_key, revoked, ifnull(ip_address, ''), ifnull(type, ''),"
	      " ifnull(version, ''), cs_ts(until), cs_ts(last_pull), auth_type FROM go_bouncers;"
	      "INSERT INTO alerts (id, created_at, updated_at, scenario, bucket_id, message,"
	      " events_count, started_at, stopped_at, source_ip, source_range, source_as_number,"
	      " source_as_name, source_country, source_latitude, source_longitude, source_scope,"
	      " source_value, capacity, leak_speed, scenario_version, scenario_hash, simulated,"
	      " machine_alerts) SELECT id, cs_ts(created_at), cs_ts(updated_at), scenario,"
	      " ifnull(bucket_id, ''), ifnull(message, ''), ifnull(events_count, 0),"
	      " cs_ts(started_at), cs_ts(stopped_at), ifnull(source_ip, ''),"
	      " ifnull(source_range, ''), ifnull(source_as_number, ''), ifnull(source_as_name, ''),"
	      " ifnull(source_country, ''), ifnull(source_latitude, 0), ifnull(source_longitude, 0),"
	      " ifnull(source_scope, ''), ifnull(source_value, ''), ifnull(capacity, 0),"
	      " ifnull(leak_speed, ''), ifnull(scenario_version, ''), ifnull(scenario_hash, ''),"
	      " simulated, machine_alerts FROM go_alerts;"
	      "INSERT INTO decisions (id, created_at, updated_at, until, scenario, type, start_ip,"
	      " end_ip, start_suffix, end_suffix, ip_size, scope, value, origin, simulated,"
	      " alert_decisions) SELECT id, cs_ts(created_at), cs_ts(updated_at), cs_ts(until),"
	      " scenario, type, ifnull(start_ip, 0), ifnull(end_ip, 0), ifnull(start_suffix, 0),"
	      " ifnull(end_suffix, 0), ifnull(ip_size, 0), scope, value, origin, simulated,"
	      " alert_decisions FROM go_decisions;"
	      "INSERT INTO events (id, created_at, updated_at, time, serialized, alert_events)"
	      " SELECT id, cs_ts(created_at), cs_ts(updated_at), cs_ts(time), serialized,"
	      " alert_events FROM go_events;"
	      "INSERT INTO meta (id, created_at, updated_at, key, value, alert_metas) SELECT id,"
	      " cs_ts(created_at), cs_ts(updated_at), key, value, alert_metas FROM go_meta;",
	      f);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		fprintf(f, "DROP TABLE go_%s;", tables[i]);
	fputs("PRAGMA user_version = 1; COMMIT; PRAGMA foreign_keys = ON;", f);
	if (fclose(f)) {
		free(sql);
		return -ENOMEM;
	}
	sqlite3_create_function(db->h, "cs_ts", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				sql_cs_ts, NULL, NULL);
	rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
	free(sql);
	if (rc != SQLITE_OK) {
		log_error("import of the CrowdSec (Go) database failed: %s", msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_exec(db->h, "ROLLBACK; PRAGMA foreign_keys = ON;", NULL, NULL, NULL);
		return -EIO;
	}
	log_warn("imported a CrowdSec (Go) database: bouncer keys and machine passwords (bcrypt)"
		 " are kept");
	return 0;
}

static int migrate(struct cs_db *db)
{
	size_t n = sizeof(db_migrations) / sizeof(db_migrations[0]);
	sqlite3_stmt *s = NULL;
	int version = 0, rc;
	char *msg = NULL;

	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return sql_err(db, sqlite3_errcode(db->h));
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version > (int)n) {
		log_error("database schema version %d is newer than this program (%zu)", version, n);
		return -EPROTO;
	}
	if (version == 0 && is_go_database(db))
		return import_go_database(db);
	for (size_t i = (size_t)version; i < n; i++) {
		char *sql;

		if (asprintf(&sql, "BEGIN IMMEDIATE; %s PRAGMA user_version = %zu; COMMIT;",
			     db_migrations[i], i + 1) < 0)
			return -ENOMEM;
		rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
		free(sql);
		if (rc != SQLITE_OK) {
			log_error("database migration %zu failed: %s", i + 1, msg ? msg : "?");
			sqlite3_free(msg);
			sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
			return -EIO;
		}
		log_info("database migrated to schema version %zu", i + 1);
	}
	return 0;
}

int cs_db_open(const char *path, struct cs_db **out)
{
	struct cs_db *db = calloc(1, sizeof(*db));
	char *msg = NULL;
	int err = 0;

	*out = NULL;
	if (!db)
		return -ENOMEM;
	pthread_mutex_init(&db->lock, NULL);
	if (sqlite3_open_v2(path, &db->h,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		log_error("cannot open database %s: %s", path,
			  db->h ? sqlite3_errmsg(db->h) : "out of memory");
		err = -EIO;
		goto out;
	}
	sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
	/*
	 * WAL: readers (cscli) never block the writer. synchronous=FULL: a commit is
	 * on disk before we answer, so an acknowledged decision survives kill -9 and
	 * power loss alike.
	 */
	if (sqlite3_exec(db->h,
			 "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			 " PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
			 /* a 1M-decision table has ~150 MB of indexes: a 64 MiB page cache
			  * and mmap reads keep bulk imports and stream scans off pread/pwrite */
			 " PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456;",
			 NULL, NULL, &msg) != SQLITE_OK) {
		log_error("cannot configure database %s: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		err = -EIO;
		goto out;
	}
	err = migrate(db);
out:
	if (err)
		cs_db_close(db);
	else
		*out = db;
	return err;
}

void cs_db_close(struct cs_db *db)
{
	if (!db)
		return;
	for (int i = 0; i < ST__MAX; i++)
		sqlite3_finalize(db->st[i]);
	sqlite3_close(db->h);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

/* ---- ranges ------------------------------------------------------------------ */

/* Order-preserving u64 -> i64, clamped at the top like CrowdSec 1.4.6. */
static int64_t u2i(uint64_t u)
{
	const uint64_t half = 0x7fffffffffffffffULL;

	if (u == UINT64_MAX)
		return INT64_MAX;
	if (u >= half)
		return (int64_t)(u - half);
	return -(int64_t)(half - u);
}

static void range_encode(struct cs_range *r, int fam, uint64_t hi, uint64_t lo, int plen)
{
	uint64_t ehi = hi, elo = lo;

	r->plen = plen;
	if (fam == AF_INET) {
		uint32_t mask = plen ? 0xffffffffU << (32 - plen) : 0;

		lo &= mask;
		elo = lo | ~mask;
		elo &= 0xffffffffU;
		r->ip_size = 4;
		r->start_ip = u2i(lo);
		r->end_ip = u2i(elo);
		r->start_suffix = r->end_suffix = u2i(0);
		return;
	}
	if (plen <= 64) {
		uint64_t m = plen ? ~0ULL << (64 - plen) : 0;

		hi &= m;
		ehi = hi | ~m;
		lo = 0;
		elo = ~0ULL;
	} else {
		uint64_t m = ~0ULL << (128 - plen);

		lo &= m;
		ehi = hi;
		elo = lo | ~m;
	}
	r->ip_size = 16;
	r->start_ip = u2i(hi);
	r->start_suffix = u2i(lo);
	r->end_ip = u2i(ehi);
	r->end_suffix = u2i(elo);
}

void cs_range_encode(const struct cs_prefix *p, struct cs_range *out)
{
	uint64_t hi = 0, lo = 0;

	memset(out, 0, sizeof(*out));
	if (p->family == AF_INET) {
		lo = (uint64_t)p->addr[0] << 24 | (uint64_t)p->addr[1] << 16 |
		     (uint64_t)p->addr[2] << 8 | p->addr[3];
	} else {
		for (int i = 0; i < 8; i++) {
			hi = hi << 8 | p->addr[i];
			lo = lo << 8 | p->addr[8 + i];
		}
	}
	range_encode(out, p->family, hi, lo, p->plen);
}

/* An Ip/Range decision's value, as the LAPI takes it (host bits masked). */
static int value_range(const char *value, struct cs_range *out)
{
	struct cs_prefix p;
	int err = cs_prefix_parse(value, CS_PREFIX_MASK, &p);

	if (err)
		return err;
	cs_range_encode(&p, out);
	return 0;
}

static bool scope_is_addr(const char *scope)
{
	return scope && (!strcasecmp(scope, "ip") || !strcasecmp(scope, "range"));
}

/* ---- query builder ---------------------------------------------------------- */

struct qbind {
	bool is_text;
	int64_t i;
	const char *s;
};

struct qb {
	char *sql;
	size_t len, cap;
	struct qbind *b;
	int nb, bcap;
	int err;
};

static void qb_add(struct qb *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void qb_add(struct qb *q, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (q->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(q->sql + q->len, q->cap - q->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			q->err = -EINVAL;
			return;
		}
		if (q->len + n < q->cap)
			break;
		size_t nc = (q->cap ? q->cap * 2 : 1024) + n;
		char *p = realloc(q->sql, nc);

		if (!p) {
			q->err = -ENOMEM;
			return;
		}
		q->sql = p;
		q->cap = nc;
	}
	q->len += n;
}

static void qb_bind(struct qb *q, bool is_text, int64_t i, const char *s)
{
	if (q->err)
		return;
	if (q->nb == q->bcap) {
		int nc = q->bcap ? q->bcap * 2 : 16;
		struct qbind *p = realloc(q->b, nc * sizeof(*p));

		if (!p) {
			q->err = -ENOMEM;
			return;
		}
		q->b = p;
		q->bcap = nc;
	}
	q->b[q->nb++] = (struct qbind){ is_text, i, s };
}

#define qb_int(q, v) qb_bind((q), false, (v), NULL)
#define qb_text(q, v) qb_bind((q), true, 0, (v))

static void qb_free(struct qb *q)
{
	free(q->sql);
	free(q->b);
}

static int qb_prepare(struct cs_db *db, struct qb *q, sqlite3_stmt **out)
{
	sqlite3_stmt *s;

	*out = NULL;
	if (q->err)
		return q->err;
	if (sqlite3_prepare_v2(db->h, q->sql, -1, &s, NULL) != SQLITE_OK) {
		log_error("sqlite prepare: %s in %.200s", sqlite3_errmsg(db->h), q->sql);
		return -EIO;
	}
	for (int i = 0; i < q->nb; i++) {
		if (q->b[i].is_text)
			sqlite3_bind_text(s, i + 1, q->b[i].s, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(s, i + 1, q->b[i].i);
	}
	*out = s;
	return 0;
}

static void qb_in_list(struct qb *q, const char *col, char **v, size_t n)
{
	qb_add(q, " AND %s IN (", col);
	for (size_t i = 0; i < n; i++) {
		qb_add(q, "%s?", i ? ", " : "");
		qb_text(q, v[i]);
	}
	qb_add(q, ")");
}

/*
 * Range condition on decisions alias `a`. contains=true: the decision holds
 * the query range. Every Ip/Range decision is a CIDR, so a decision holding
 * address q is one of the networks of q (one per prefix length): we look those
 * up exactly in decisions_range (33 or 129 index probes) instead of scanning
 * all rows with start <= q. contains=false: the decision lies inside the query
 * range, an index range scan on (ip_size, start_ip, start_suffix).
 */
static void range_cond(struct qb *q, const char *a, const struct cs_prefix *p, bool contains)
{
	struct cs_range r;

	if (!contains) {
		cs_range_encode(p, &r);
		/* start <= end is implied; stating it bounds the index range scan */
		qb_add(q,
		       " AND %s.ip_size = ? AND (%s.start_ip, %s.start_suffix) >= (?, ?)"
		       " AND (%s.start_ip, %s.start_suffix) <= (?, ?)"
		       " AND (%s.end_ip, %s.end_suffix) <= (?, ?)",
		       a, a, a, a, a, a, a);
		qb_int(q, r.ip_size);
		qb_int(q, r.start_ip);
		qb_int(q, r.start_suffix);
		qb_int(q, r.end_ip);
		qb_int(q, r.end_suffix);
		qb_int(q, r.end_ip);
		qb_int(q, r.end_suffix);
		return;
	}
	qb_add(q, " AND %s.id IN (", a);
	for (int len = 0; len <= p->plen; len++) {
		struct cs_prefix net = *p;

		cs_prefix_set_len(&net, len);
		cs_range_encode(&net, &r);
		qb_add(q,
		       "%sSELECT id FROM decisions WHERE ip_size = %d AND start_ip = %lld"
		       " AND start_suffix = %lld AND end_ip = %lld AND end_suffix = %lld",
		       len ? " UNION ALL " : "", r.ip_size, (long long)r.start_ip,
		       (long long)r.start_suffix, (long long)r.end_ip, (long long)r.end_suffix);
	}
	qb_add(q, ")");
}

static void dfilter_cond(struct qb *q, const struct cs_dfilter *f)
{
	if (f->n_scopes)
		qb_in_list(q, "d.scope", f->scopes, f->n_scopes);
	if (f->n_origins)
		qb_in_list(q, "d.origin", f->origins, f->n_origins);
	if (f->n_sc_contains) {
		qb_add(q, " AND (");
		for (size_t i = 0; i < f->n_sc_contains; i++) {
			qb_add(q, "%sinstr(lower(d.scenario), lower(?)) > 0", i ? " OR " : "");
			qb_text(q, f->sc_contains[i]);
		}
		qb_add(q, ")");
	}
	for (size_t i = 0; i < f->n_sc_not_contains; i++) {
		qb_add(q, " AND instr(lower(d.scenario), lower(?)) = 0");
		qb_text(q, f->sc_not_contains[i]);
	}
	if (f->value) {
		qb_add(q, " AND d.value = ?");
		qb_text(q, f->value);
	}
	if (f->type) {
		qb_add(q, " AND d.type = ?");
		qb_text(q, f->type);
	}
	if (f->scenario) {
		qb_add(q, " AND d.scenario = ?");
		qb_text(q, f->scenario);
	}
	if (!f->include_simulated)
		qb_add(q, " AND d.simulated = 0");
	if (f->has_range)
		range_cond(q, "d", &f->range, f->contains);
}

/* "Longest decision wins" per (value, type, scope), over the whole table. */
static void dedup_cond(struct qb *q)
{
	qb_add(q, " AND d.id = (SELECT d2.id FROM decisions d2 WHERE d2.value = d.value"
		  " AND d2.type = d.type AND d2.scope = d.scope"
		  " ORDER BY d2.until DESC, d2.id DESC LIMIT 1)");
}

static void decision_from_row(sqlite3_stmt *s, struct cs_decision *d, int64_t now)
{
	d->id = sqlite3_column_int64(s, 0);
	d->created_at = sqlite3_column_int64(s, 1);
	d->until = sqlite3_column_int64(s, 2);
	d->duration = d->until - now;
	d->scenario = col_text(s, 3);
	d->type = col_text(s, 4);
	d->scope = col_text(s, 5);
	d->value = col_text(s, 6);
	d->origin = col_text(s, 7);
	d->simulated = sqlite3_column_int(s, 8);
	d->alert_id = sqlite3_column_int64(s, 9);
}

static int collect_decisions(struct cs_db *db, sqlite3_stmt *s, int64_t now,
			     struct cs_decision **out, size_t *n)
{
	struct cs_decision *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc, err = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct cs_decision *p = realloc(v, nc * sizeof(*p));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			v = p;
			cap = nc;
		}
		decision_from_row(s, &v[cnt++], now);
	}
	if (!err && rc != SQLITE_DONE)
		err = sql_err(db, rc);
	if (err) {
		cs_decisions_free(v, cnt);
		v = NULL;
		cnt = 0;
	}
	*out = v;
	*n = cnt;
	return err;
}

/* ---- struct lifetimes ----------------------------------------------------------- */

void cs_decision_clear(struct cs_decision *d)
{
	if (!d)
		return;
	free(d->scenario);
	free(d->type);
	free(d->scope);
	free(d->value);
	free(d->origin);
	memset(d, 0, sizeof(*d));
}

void cs_decisions_free(struct cs_decision *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cs_decision_clear(&v[i]);
	free(v);
}

void cs_alert_free(struct cs_alert *a)
{
	if (!a)
		return;
	free(a->machine_id);
	free(a->scenario);
	free(a->scenario_hash);
	free(a->scenario_version);
	free(a->message);
	free(a->leakspeed);
	free(a->src_scope);
	free(a->src_value);
	free(a->src_ip);
	free(a->src_range);
	free(a->src_as_number);
	free(a->src_as_name);
	free(a->src_cn);
	for (size_t i = 0; a->events && i < a->n_events; i++)
		free(a->events[i].meta_json);
	free(a->events);
	for (size_t i = 0; a->meta && i < a->n_meta; i++) {
		free(a->meta[i].key);
		free(a->meta[i].value);
	}
	free(a->meta);
	cs_decisions_free(a->decisions, a->n_decisions);
	free(a);
}

void cs_alerts_free(struct cs_alert **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cs_alert_free(v[i]);
	free(v);
}

void cs_machine_clear(struct cs_machine *m)
{
	if (!m)
		return;
	free(m->machine_id);
	free(m->password);
	free(m->ip_address);
	free(m->scenarios);
	free(m->version);
	free(m->status);
	free(m->auth_type);
	memset(m, 0, sizeof(*m));
}

void cs_machines_free(struct cs_machine *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cs_machine_clear(&v[i]);
	free(v);
}

void cs_bouncer_clear(struct cs_bouncer *b)
{
	if (!b)
		return;
	free(b->name);
	free(b->api_key);
	free(b->ip_address);
	free(b->type);
	free(b->version);
	free(b->auth_type);
	memset(b, 0, sizeof(*b));
}

void cs_bouncers_free(struct cs_bouncer *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cs_bouncer_clear(&v[i]);
	free(v);
}

/* ---- machines ----------------------------------------------------------------- */

static void machine_from_row(sqlite3_stmt *s, struct cs_machine *m)
{
	m->id = sqlite3_column_int64(s, 0);
	m->created_at = sqlite3_column_int64(s, 1);
	m->updated_at = sqlite3_column_int64(s, 2);
	m->last_push = sqlite3_column_int64(s, 3);
	m->last_heartbeat = sqlite3_column_int64(s, 4);
	m->machine_id = col_text(s, 5);
	m->password = col_text(s, 6);
	m->ip_address = col_text(s, 7);
	m->scenarios = col_text(s, 8);
	m->version = col_text(s, 9);
	m->is_validated = sqlite3_column_int(s, 10);
	m->status = col_text(s, 11);
	m->auth_type = col_text(s, 12);
}

int cs_db_machine_add(struct cs_db *db, const char *machine_id, const char *pwhash,
		      const char *ip, bool validated, bool force, int64_t now)
{
	sqlite3_stmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = stmt(db, ST_MACHINE_INSERT);
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, machine_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, ip ? ip : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, validated);
	err = exec_stmt(db, s);
	if (err == -EEXIST && force) {
		s = stmt(db, ST_MACHINE_FORCE);
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_text(s, 2, machine_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, pwhash, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 5, validated);
		err = exec_stmt(db, s);
	}
	return txn_end(db, err);
}

/*
 * TLS client-certificate machine (1.4.6: "<CN>@<ip>", validated, auth_type tls, a random
 * password nobody knows): created on first login. -EPERM if the id exists with another
 * auth type.
 */
int cs_db_machine_tls(struct cs_db *db, const char *machine_id, const char *pwhash, int64_t now,
		      bool *created)
{
	sqlite3_stmt *s;
	int rc, err = txn_begin(db);

	*created = false;
	if (err)
		return err;
	s = stmt(db, ST_MACHINE_INSERT_TLS);
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, machine_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, pwhash, -1, SQLITE_STATIC);
	err = exec_stmt(db, s);
	if (!err)
		*created = sqlite3_changes(db->h) > 0;
	if (!err) {
		s = stmt(db, ST_MACHINE_GET);
		sqlite3_bind_text(s, 1, machine_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			err = rc == SQLITE_DONE ? -ENOENT : sql_err(db, rc);
		else if (strcmp((const char *)sqlite3_column_text(s, 12), "tls"))
			err = -EPERM;
		sqlite3_reset(s);
	}
	return txn_end(db, err);
}

int cs_db_machine_get(struct cs_db *db, const char *machine_id, struct cs_machine *out)
{
	sqlite3_stmt *s;
	int rc, err = txn_begin_read(db);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	s = stmt(db, ST_MACHINE_GET);
	sqlite3_bind_text(s, 1, machine_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		machine_from_row(s, out);
	else
		err = rc == SQLITE_DONE ? -ENOENT : sql_err(db, rc);
	sqlite3_reset(s);
	return txn_end(db, err);
}

static int run_changes(struct cs_db *db, sqlite3_stmt *s)
{
	int err = exec_stmt(db, s);

	if (!err && sqlite3_changes(db->h) == 0)
		err = -ENOENT;
	return err;
}

int cs_db_machine_login(struct cs_db *db, const char *machine_id, const char *ip,
			const char *version, const char *scenarios, int64_t now)
{
	sqlite3_stmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = stmt(db, ST_MACHINE_LOGIN);
	sqlite3_bind_text(s, 1, machine_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, ip ? ip : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, version ? version : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, scenarios ? scenarios : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, now);
	return txn_end(db, run_changes(db, s));
}

int cs_db_machine_heartbeat(struct cs_db *db, const char *machine_id, int64_t now)
{
	sqlite3_stmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = stmt(db, ST_MACHINE_HEARTBEAT);
	sqlite3_bind_text(s, 1, machine_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	return txn_end(db, run_changes(db, s));
}

int cs_db_machine_validate(struct cs_db *db, const char *machine_id, int64_t now)
{
	sqlite3_stmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = stmt(db, ST_MACHINE_VALIDATE);
	sqlite3_bind_text(s, 1, machine_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	return txn_end(db, run_changes(db, s));
}

int cs_db_machine_delete(struct cs_db *db, const char *machine_id)
{
	sqlite3_stmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = stmt(db, ST_MACHINE_DELETE);
	sqlite3_bind_text(s, 1, machine_id, -1, SQLITE_STATIC);
	return txn_end(db, run_changes(db, s));
}

int cs_db_machine_list(struct cs_db *db, struct cs_machine **out, size_t *n)
{
	struct cs_machine *v = NULL;
	size_t cnt = 0, cap = 0;
	sqlite3_stmt *s;
	int rc, err = txn_begin_read(db);

	*out = NULL;
	*n = 0;
	if (err)
		return err;
	s = stmt(db, ST_MACHINE_LIST);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct cs_machine *p = realloc(v, nc * sizeof(*p));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			v = p;
			cap = nc;
		}
		machine_from_row(s, &v[cnt++]);
	}
	if (!err && rc != SQLITE_DONE)
		err = sql_err(db, rc);
	sqlite3_reset(s);
	err = txn_end(db, err);
	if (err) {
		cs_machines_free(v, cnt);
		return err;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- bouncers ----------------------------------------------------------------- */

static void bouncer_from_row(sqlite3_stmt *s, struct cs_bouncer *b)
{
	b->id = sqlite3_column_int64(s, 0);
	b->created_at = sqlite3_column_int64(s, 1);
	b->updated_at = sqlite3_column_int64(s, 2);
	b->name = col_text(s, 3);
	b->api_key = col_text(s, 4);
	b->revoked = sqlite3_column_int(s, 5);
	b->ip_address = col_text(s, 6);
	b->type = col_text(s, 7);
	b->version = col_text(s, 8);
	b->until = sqlite3_column_int64(s, 9);
	b->last_pull = sqlite3_column_int64(s, 10);
	b->auth_type = col_text(s, 11);
}

int cs_db_bouncer_add(struct cs_db *db, const char *name, const char *key_hash, int64_t now)
{
	sqlite3_stmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = stmt(db, ST_BOUNCER_INSERT);
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, key_hash, -1, SQLITE_STATIC);
	return txn_end(db, exec_stmt(db, s));
}

/*
 * TLS client-certificate bouncer (1.4.6: "<CN>@<ip>", auth_type tls, the hash of a random
 * key nobody knows): created on first use. -EPERM if the name exists with another auth type.
 */
int cs_db_bouncer_tls(struct cs_db *db, const char *name, const char *key_hash, const char *ip,
		      int64_t now, struct cs_bouncer *out, bool *created)
{
	sqlite3_stmt *s;
	int rc, err = txn_begin(db);

	memset(out, 0, sizeof(*out));
	*created = false;
	if (err)
		return err;
	s = stmt(db, ST_BOUNCER_INSERT_TLS);
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, key_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, ip ? ip : "", -1, SQLITE_STATIC);
	err = exec_stmt(db, s);
	if (!err)
		*created = sqlite3_changes(db->h) > 0;
	if (!err) {
		s = stmt(db, ST_BOUNCER_BY_NAME);
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			bouncer_from_row(s, out);
		else
			err = rc == SQLITE_DONE ? -ENOENT : sql_err(db, rc);
		sqlite3_reset(s);
		if (!err && strcmp(out->auth_type, "tls")) {
			cs_bouncer_clear(out);
			err = -EPERM;
		}
	}
	return txn_end(db, err);
}

int cs_db_bouncer_by_key(struct cs_db *db, const char *key_hash, struct cs_bouncer *out)
{
	sqlite3_stmt *s;
	int rc, err = txn_begin_read(db);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	s = stmt(db, ST_BOUNCER_BY_KEY);
	sqlite3_bind_text(s, 1, key_hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		bouncer_from_row(s, out);
	else
		err = rc == SQLITE_DONE ? -ENOENT : sql_err(db, rc);
	sqlite3_reset(s);
	return txn_end(db, err);
}

int cs_db_bouncer_seen(struct cs_db *db, int64_t id, const char *ip, const char *type,
		       const char *version, int64_t now)
{
	sqlite3_stmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = stmt(db, ST_BOUNCER_SEEN);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, ip ? ip : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, type ? type : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, version ? version : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, now);
	return txn_end(db, exec_stmt(db, s));
}

int cs_db_bouncer_set_last_pull(struct cs_db *db, int64_t id, int64_t t)
{
	sqlite3_stmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = stmt(db, ST_BOUNCER_LAST_PULL);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, t);
	return txn_end(db, exec_stmt(db, s));
}

int cs_db_bouncer_delete(struct cs_db *db, const char *name)
{
	sqlite3_stmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = stmt(db, ST_BOUNCER_DELETE);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	return txn_end(db, run_changes(db, s));
}

int cs_db_bouncer_list(struct cs_db *db, struct cs_bouncer **out, size_t *n)
{
	struct cs_bouncer *v = NULL;
	size_t cnt = 0, cap = 0;
	sqlite3_stmt *s;
	int rc, err = txn_begin_read(db);

	*out = NULL;
	*n = 0;
	if (err)
		return err;
	s = stmt(db, ST_BOUNCER_LIST);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct cs_bouncer *p = realloc(v, nc * sizeof(*p));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			v = p;
			cap = nc;
		}
		bouncer_from_row(s, &v[cnt++]);
	}
	if (!err && rc != SQLITE_DONE)
		err = sql_err(db, rc);
	sqlite3_reset(s);
	err = txn_end(db, err);
	if (err) {
		cs_bouncers_free(v, cnt);
		return err;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- alerts ------------------------------------------------------------------- */

static int insert_one_alert(struct cs_db *db, const struct cs_alert *a, int64_t machine_row,
			    int64_t now, int64_t *id)
{
	sqlite3_stmt *s = stmt(db, ST_ALERT_INSERT);
	int err;

	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, a->scenario ? a->scenario : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, a->message ? a->message : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, a->events_count);
	sqlite3_bind_int64(s, 5, a->start_at);
	sqlite3_bind_int64(s, 6, a->stop_at);
	sqlite3_bind_text(s, 7, a->src_ip ? a->src_ip : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, a->src_range ? a->src_range : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, a->src_as_number ? a->src_as_number : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 10, a->src_as_name ? a->src_as_name : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 11, a->src_cn ? a->src_cn : "", -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 12, a->src_latitude);
	sqlite3_bind_double(s, 13, a->src_longitude);
	sqlite3_bind_text(s, 14, a->src_scope ? a->src_scope : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 15, a->src_value ? a->src_value : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 16, a->capacity);
	sqlite3_bind_text(s, 17, a->leakspeed ? a->leakspeed : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 18, a->scenario_version ? a->scenario_version : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(s, 19, a->scenario_hash ? a->scenario_hash : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 20, a->simulated);
	if (machine_row > 0)
		sqlite3_bind_int64(s, 21, machine_row);
	else
		sqlite3_bind_null(s, 21);
	err = exec_stmt(db, s);
	if (err)
		return err;
	*id = sqlite3_last_insert_rowid(db->h);

	for (size_t i = 0; i < a->n_events; i++) {
		s = stmt(db, ST_EVENT_INSERT);
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_int64(s, 2, a->events[i].timestamp);
		sqlite3_bind_text(s, 3, a->events[i].meta_json ? a->events[i].meta_json : "null",
				  -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, *id);
		if ((err = exec_stmt(db, s)))
			return err;
	}
	for (size_t i = 0; i < a->n_meta; i++) {
		s = stmt(db, ST_META_INSERT);
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_text(s, 2, a->meta[i].key ? a->meta[i].key : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, a->meta[i].value ? a->meta[i].value : "", -1,
				  SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, *id);
		if ((err = exec_stmt(db, s)))
			return err;
	}
	for (size_t i = 0; i < a->n_decisions; i++) {
		const struct cs_decision *d = &a->decisions[i];
		struct cs_range r = { 0 };

		if (scope_is_addr(d->scope) && value_range(d->value, &r))
			return -EINVAL;
		s = stmt(db, ST_DECISION_INSERT);
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_int64(s, 2, a->stop_at + d->duration);
		sqlite3_bind_text(s, 3, d->scenario ? d->scenario : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, d->type ? d->type : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, r.start_ip);
		sqlite3_bind_int64(s, 6, r.end_ip);
		sqlite3_bind_int64(s, 7, r.start_suffix);
		sqlite3_bind_int64(s, 8, r.end_suffix);
		sqlite3_bind_int(s, 9, r.ip_size);
		sqlite3_bind_text(s, 10, d->scope ? d->scope : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 11, d->value ? d->value : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 12, d->origin ? d->origin : "", -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 13, d->simulated || a->simulated);
		sqlite3_bind_int64(s, 14, *id);
		if ((err = exec_stmt(db, s)))
			return err;
	}
	return 0;
}

int cs_db_alerts_insert(struct cs_db *db, struct cs_alert *const *alerts, size_t n,
			const char *machine_id, int64_t now, int64_t *ids)
{
	int64_t machine_row = 0;
	sqlite3_stmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		const char *owner = machine_id ? machine_id : alerts[i]->machine_id;

		machine_row = 0;
		if (owner) {
			s = stmt(db, ST_MACHINE_ROWID);
			sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
			if (sqlite3_step(s) == SQLITE_ROW)
				machine_row = sqlite3_column_int64(s, 0);
			sqlite3_reset(s);
		}
		err = insert_one_alert(db, alerts[i], machine_row, now, &ids[i]);
	}
	return txn_end(db, err);
}

static void afilter_cond(struct qb *q, const struct cs_afilter *f, int64_t now)
{
	if (f->scope) {
		const char *sc = f->scope;

		if (!strcasecmp(sc, "ip"))
			sc = "Ip";
		else if (!strcasecmp(sc, "range"))
			sc = "Range";
		qb_add(q, " AND a.source_scope = ?");
		qb_text(q, sc);
	}
	if (f->value) {
		qb_add(q, " AND a.source_value = ?");
		qb_text(q, f->value);
	}
	if (f->scenario) {
		qb_add(q, " AND EXISTS (SELECT 1 FROM decisions d WHERE d.alert_decisions = a.id"
			  " AND d.scenario = ?)");
		qb_text(q, f->scenario);
	}
	if (f->has_range) {
		qb_add(q, " AND EXISTS (SELECT 1 FROM decisions d WHERE d.alert_decisions = a.id");
		range_cond(q, "d", &f->range, f->contains);
		qb_add(q, ")");
	}
	if (f->has_since) {
		qb_add(q, " AND a.started_at >= ?");
		qb_int(q, f->since);
	}
	if (f->has_until) {
		qb_add(q, " AND a.started_at <= ?");
		qb_int(q, f->until);
	}
	if (f->has_created_before) {
		qb_add(q, " AND a.created_at <= ?");
		qb_int(q, f->created_before);
	}
	if (f->decision_type) {
		qb_add(q, " AND EXISTS (SELECT 1 FROM decisions d WHERE d.alert_decisions = a.id"
			  " AND d.type = ?)");
		qb_text(q, f->decision_type);
	}
	if (f->origin) {
		qb_add(q, " AND EXISTS (SELECT 1 FROM decisions d WHERE d.alert_decisions = a.id"
			  " AND d.origin = ?)");
		qb_text(q, f->origin);
	}
	if (f->exclude_capi)
		qb_add(q, " AND EXISTS (SELECT 1 FROM decisions d WHERE d.alert_decisions = a.id"
			  " AND d.origin IN ('crowdsec', 'cscli'))");
	if (f->has_active_decision == 1) {
		qb_add(q, " AND EXISTS (SELECT 1 FROM decisions d WHERE d.alert_decisions = a.id"
			  " AND d.until >= ?)");
		qb_int(q, now);
	} else if (f->has_active_decision == 0) {
		qb_add(q, " AND NOT EXISTS (SELECT 1 FROM decisions d"
			  " WHERE d.alert_decisions = a.id)");
	}
	if (f->exclude_simulated)
		qb_add(q, " AND a.simulated = 0");
}

static int load_alert_children(struct cs_db *db, struct cs_alert *a, int64_t now)
{
	sqlite3_stmt *s;
	size_t cap;
	int rc, err;

	s = stmt(db, ST_ALERT_DECISIONS);
	sqlite3_bind_int64(s, 1, a->id);
	err = collect_decisions(db, s, now, &a->decisions, &a->n_decisions);
	sqlite3_reset(s);
	if (err)
		return err;

	s = stmt(db, ST_ALERT_EVENTS);
	sqlite3_bind_int64(s, 1, a->id);
	cap = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (a->n_events == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct cs_alert_event *p = realloc(a->events, nc * sizeof(*p));

			if (!p) {
				sqlite3_reset(s);
				return -ENOMEM;
			}
			a->events = p;
			cap = nc;
		}
		a->events[a->n_events].timestamp = sqlite3_column_int64(s, 0);
		a->events[a->n_events++].meta_json = col_text(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sql_err(db, rc);

	s = stmt(db, ST_ALERT_META);
	sqlite3_bind_int64(s, 1, a->id);
	cap = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (a->n_meta == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct cs_meta *p = realloc(a->meta, nc * sizeof(*p));

			if (!p) {
				sqlite3_reset(s);
				return -ENOMEM;
			}
			a->meta = p;
			cap = nc;
		}
		a->meta[a->n_meta].key = col_text(s, 0);
		a->meta[a->n_meta++].value = col_text(s, 1);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : sql_err(db, rc);
}

static struct cs_alert *alert_from_row(sqlite3_stmt *s)
{
	struct cs_alert *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->id = sqlite3_column_int64(s, 0);
	a->created_at = sqlite3_column_int64(s, 1);
	a->scenario = col_text(s, 2);
	a->message = col_text(s, 3);
	a->events_count = sqlite3_column_int64(s, 4);
	a->start_at = sqlite3_column_int64(s, 5);
	a->stop_at = sqlite3_column_int64(s, 6);
	a->src_ip = col_text(s, 7);
	a->src_range = col_text(s, 8);
	a->src_as_number = col_text(s, 9);
	a->src_as_name = col_text(s, 10);
	a->src_cn = col_text(s, 11);
	a->src_latitude = sqlite3_column_double(s, 12);
	a->src_longitude = sqlite3_column_double(s, 13);
	a->src_scope = col_text(s, 14);
	a->src_value = col_text(s, 15);
	a->capacity = sqlite3_column_int64(s, 16);
	a->leakspeed = col_text(s, 17);
	a->scenario_version = col_text(s, 18);
	a->scenario_hash = col_text(s, 19);
	a->simulated = sqlite3_column_int(s, 20);
	a->machine_id = sqlite3_column_type(s, 21) == SQLITE_NULL ? xstrdup("N/A") : col_text(s, 21);
	return a;
}

int cs_db_alerts_search(struct cs_db *db, const struct cs_afilter *f, int64_t now,
			struct cs_alert ***out, size_t *n)
{
	struct cs_alert **v = NULL;
	size_t cnt = 0, cap = 0;
	struct qb q = { 0 };
	sqlite3_stmt *s = NULL;
	int rc, err;

	*out = NULL;
	*n = 0;
	qb_add(&q, "SELECT " ALERT_COLS " FROM alerts a LEFT JOIN machines m"
		   " ON m.id = a.machine_alerts WHERE 1");
	afilter_cond(&q, f, now);
	qb_add(&q, f->sort_asc ? " ORDER BY a.created_at ASC, a.id ASC"
			       : " ORDER BY a.created_at DESC, a.id DESC");
	if (f->limit > 0)
		qb_add(&q, " LIMIT %ld", f->limit);
	err = txn_begin_read(db);
	if (err)
		goto out;
	err = qb_prepare(db, &q, &s);
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct cs_alert **p = realloc(v, nc * sizeof(*p));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			v = p;
			cap = nc;
		}
		v[cnt] = alert_from_row(s);
		if (!v[cnt]) {
			err = -ENOMEM;
			break;
		}
		err = load_alert_children(db, v[cnt++], now);
	}
	if (!err && s && rc != SQLITE_DONE)
		err = sql_err(db, rc);
	sqlite3_finalize(s);
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
	sqlite3_stmt *s = NULL;
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
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			a = alert_from_row(s);
			err = a ? load_alert_children(db, a, now) : -ENOMEM;
		} else {
			err = rc == SQLITE_DONE ? -ENOENT : sql_err(db, rc);
		}
	}
	sqlite3_finalize(s);
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
	sqlite3_stmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = stmt(db, ST_ALERT_DELETE);
	sqlite3_bind_int64(s, 1, id);
	return txn_end(db, run_changes(db, s));
}

int cs_db_alerts_delete(struct cs_db *db, const struct cs_afilter *f, int64_t now, long *n)
{
	struct qb q = { 0 };
	sqlite3_stmt *s = NULL;
	int err;

	*n = 0;
	qb_add(&q, "DELETE FROM alerts WHERE id IN (SELECT a.id FROM alerts a WHERE 1");
	afilter_cond(&q, f, now);
	qb_add(&q, ")");
	err = txn_begin(db);
	if (err)
		goto out;
	err = qb_prepare(db, &q, &s);
	if (!err)
		err = exec_stmt(db, s);
	if (!err)
		*n = sqlite3_changes(db->h);
	sqlite3_finalize(s);
	err = txn_end(db, err);
out:
	qb_free(&q);
	return err;
}

static int count_groups(struct cs_db *db, enum stmt_id id, int64_t now, int nkeys,
			cs_db_count_cb cb, void *ctx)
{
	sqlite3_stmt *s;
	int rc, err = txn_begin_read(db);

	if (err)
		return err;
	s = stmt(db, id);
	if (id == ST_ACTIVE_COUNT)
		sqlite3_bind_int64(s, 1, now);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *k[3] = { NULL, NULL, NULL };

		for (int i = 0; i < nkeys; i++)
			k[i] = (const char *)sqlite3_column_text(s, i);
		cb(ctx, k[0], k[1], k[2], (long)sqlite3_column_int64(s, nkeys));
	}
	if (rc != SQLITE_DONE)
		err = sql_err(db, rc);
	sqlite3_reset(s);
	return txn_end(db, err);
}

int cs_db_alerts_count(struct cs_db *db, cs_db_count_cb cb, void *ctx)
{
	return count_groups(db, ST_ALERTS_COUNT, 0, 1, cb, ctx);
}

int cs_db_decisions_count_active(struct cs_db *db, int64_t now, cs_db_count_cb cb, void *ctx)
{
	return count_groups(db, ST_ACTIVE_COUNT, now, 3, cb, ctx);
}

/* ---- decisions ---------------------------------------------------------------- */

static int run_decision_query(struct cs_db *db, struct qb *q, int64_t now,
			      struct cs_decision **out, size_t *n)
{
	sqlite3_stmt *s = NULL;
	int err = qb_prepare(db, q, &s);

	if (!err)
		err = collect_decisions(db, s, now, out, n);
	sqlite3_finalize(s);
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
static void decision_view(sqlite3_stmt *s, struct cs_decision *d, int64_t now)
{
	d->id = sqlite3_column_int64(s, 0);
	d->created_at = sqlite3_column_int64(s, 1);
	d->until = sqlite3_column_int64(s, 2);
	d->duration = d->until - now;
	d->scenario = (char *)sqlite3_column_text(s, 3);
	d->type = (char *)sqlite3_column_text(s, 4);
	d->scope = (char *)sqlite3_column_text(s, 5);
	d->value = (char *)sqlite3_column_text(s, 6);
	d->origin = (char *)sqlite3_column_text(s, 7);
	d->simulated = sqlite3_column_int(s, 8);
	d->alert_id = sqlite3_column_int64(s, 9);
}

static int each_decision(struct cs_db *db, struct qb *q, int64_t now, bool deleted,
			 cs_db_decision_cb cb, void *ctx)
{
	sqlite3_stmt *s = NULL;
	int rc, err = qb_prepare(db, q, &s);

	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cs_decision d;

		decision_view(s, &d, now);
		err = cb(ctx, deleted, &d);
	}
	if (!err && s && rc != SQLITE_DONE)
		err = sql_err(db, rc);
	sqlite3_finalize(s);
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
		sqlite3_stmt *s = stmt(db, ST_BOUNCER_LAST_PULL);

		sqlite3_bind_int64(s, 1, bouncer_id);
		sqlite3_bind_int64(s, 2, now);
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

	if (c->n[k] == c->cap[k]) {
		size_t nc = c->cap[k] ? c->cap[k] * 2 : 16;
		struct cs_decision *p = realloc(c->v[k], nc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->v[k] = p;
		c->cap[k] = nc;
	}
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
	sqlite3_stmt *s = NULL;
	int err;

	*n = 0;
	qb_add(&q, "UPDATE decisions SET until = ?, updated_at = ? WHERE id IN"
		   " (SELECT d.id FROM decisions d WHERE %sd.until > ?",
	       f->has_range ? "+" : "");
	qb_int(&q, now);
	qb_int(&q, now);
	qb_int(&q, now);
	dfilter_cond(&q, f);
	qb_add(&q, ")");
	err = txn_begin(db);
	if (err)
		goto out;
	err = qb_prepare(db, &q, &s);
	if (!err)
		err = exec_stmt(db, s);
	if (!err)
		*n = sqlite3_changes(db->h);
	sqlite3_finalize(s);
	err = txn_end(db, err);
out:
	qb_free(&q);
	return err;
}

int cs_db_decision_expire_id(struct cs_db *db, int64_t id, int64_t now)
{
	sqlite3_stmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = stmt(db, ST_DECISION_EXPIRE_ID);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	return txn_end(db, run_changes(db, s));
}

int cs_db_decisions_count_ip(struct cs_db *db, const char *value, int64_t since, long *n)
{
	struct cs_dfilter f = { .include_simulated = true, .has_range = true, .contains = true };
	struct qb q = { 0 };
	sqlite3_stmt *s = NULL;
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
		int rc = sqlite3_step(s);

		if (rc == SQLITE_ROW)
			*n = (long)sqlite3_column_int64(s, 0);
		else
			err = sql_err(db, rc);
	}
	sqlite3_finalize(s);
	err = txn_end(db, err);
out:
	qb_free(&q);
	return err;
}

int cs_db_flush(struct cs_db *db, int64_t before, long max_items, long *n)
{
	sqlite3_stmt *s = NULL;
	int err;

	*n = 0;
	err = txn_begin(db);
	if (err)
		return err;
	if (before > 0) {
		if (sqlite3_prepare_v2(db->h, "DELETE FROM alerts WHERE created_at < ?", -1, &s,
				       NULL) != SQLITE_OK) {
			err = sql_err(db, sqlite3_errcode(db->h));
			goto out;
		}
		sqlite3_bind_int64(s, 1, before);
		err = exec_stmt(db, s);
		*n += err ? 0 : sqlite3_changes(db->h);
		sqlite3_finalize(s);
		s = NULL;
	}
	if (!err && max_items > 0) {
		if (sqlite3_prepare_v2(db->h,
				       "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts"
				       " ORDER BY id DESC LIMIT -1 OFFSET ?)",
				       -1, &s, NULL) != SQLITE_OK) {
			err = sql_err(db, sqlite3_errcode(db->h));
			goto out;
		}
		sqlite3_bind_int64(s, 1, max_items);
		err = exec_stmt(db, s);
		*n += err ? 0 : sqlite3_changes(db->h);
		sqlite3_finalize(s);
	}
out:
	return txn_end(db, err);
}
