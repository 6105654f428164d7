// SPDX-License-Identifier: MIT
/*
 * The SQLite engine behind db_int.h's statement interface: a thin shell over
 * sqlite3_stmt (the SQL is already SQLite's dialect).
 */
#include "db/db_int.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/worker.h"
#include "db/schema.h"

struct lite_stmt {
	struct dbstmt base;
	sqlite3_stmt *s;
	struct cs_db *db;
};

#define LS(x) ((struct lite_stmt *)(x))

static int lite_err(struct cs_db *db, int rc)
{
	if (rc == SQLITE_CONSTRAINT)
		return -EEXIST;
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return -EBUSY;
	if (rc == SQLITE_NOMEM)
		return -ENOMEM;
	log_error("sqlite: %s (%d)", sqlite3_errmsg(db_conn(db)->h), rc);
	return -EIO;
}

static int lite_prepare(struct cs_db *db, const char *sql, struct dbstmt **out)
{
	struct lite_stmt *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l)
		return -ENOMEM;
	/* statements are few and reused: keep them out of the lookaside pool */
	if (sqlite3_prepare_v3(db_conn(db)->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &l->s, NULL) !=
	    SQLITE_OK) {
		log_error("sqlite prepare: %s in %.200s", sqlite3_errmsg(db_conn(db)->h), sql);
		free(l);
		return -EIO;
	}
	l->base.be = &db_lite;
	l->db = db;
	*out = &l->base;
	return 0;
}

static void lite_finalize(struct dbstmt *s)
{
	sqlite3_finalize(LS(s)->s);
	free(s);
}

static void lite_reset(struct dbstmt *s)
{
	sqlite3_reset(LS(s)->s);
}

static void lite_clear_bindings(struct dbstmt *s)
{
	sqlite3_clear_bindings(LS(s)->s);
}

static void lite_bind_int(struct dbstmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(LS(s)->s, i, v);
}

static void lite_bind_double(struct dbstmt *s, int i, double v)
{
	sqlite3_bind_double(LS(s)->s, i, v);
}

static void lite_bind_text(struct dbstmt *s, int i, const char *v)
{
	sqlite3_bind_text(LS(s)->s, i, v ? v : "", -1, SQLITE_STATIC);
}

static void lite_bind_null(struct dbstmt *s, int i)
{
	sqlite3_bind_null(LS(s)->s, i);
}

static int lite_step(struct dbstmt *s)
{
	int rc = sqlite3_step(LS(s)->s);

	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	return lite_err(LS(s)->db, rc);
}

static int64_t lite_col_int(struct dbstmt *s, int i)
{
	return sqlite3_column_int64(LS(s)->s, i);
}

static double lite_col_double(struct dbstmt *s, int i)
{
	return sqlite3_column_double(LS(s)->s, i);
}

static const char *lite_col_str(struct dbstmt *s, int i)
{
	return (const char *)sqlite3_column_text(LS(s)->s, i);
}

static int64_t lite_changes(struct cs_db *db)
{
	return sqlite3_changes(db_conn(db)->h);
}

static int64_t lite_last_insert_id(struct cs_db *db)
{
	return sqlite3_last_insert_rowid(db_conn(db)->h);
}

static int lite_exec(struct cs_db *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db_conn(db)->h, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_error("sqlite: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return rc == SQLITE_CONSTRAINT ? -EEXIST : -EIO;
	}
	return 0;
}

/*
 * The main connection's page cache. Bulk writes (an import, a blocklist) touch
 * index pages all over a 1M-decision table (~150 MB of indexes): 64 MiB keeps
 * them off pread (a 1M import of random addresses: 20 s of writer CPU with it,
 * 32 s with 8 MiB). Everything else, alert ingest above all, appends at the right
 * edge of each b-tree and needs a few hundred pages; there a large cache costs:
 * when a commit's b-tree balance renumbers pages (through the pending-byte page
 * number, beyond the end of a database under 1 GiB), SQLite's end of transaction
 * truncates the cache by walking every cached page (pcache1TruncateUnsafe), a
 * cache miss each: ~11% of the group-commit writer's CPU at 50 alerts per POST
 * with 64 MiB full of recently written pages.
 */
#define CACHE_BULK "-65536"
#define CACHE_SMALL "-8192"

static void lite_bulk_cache(struct cs_db *db, bool bulk)
{
	if (db->cache_small != bulk)
		return; /* the size asked already */
	if (!lite_exec(db, bulk ? "PRAGMA cache_size = " CACHE_BULK
				: "PRAGMA cache_size = " CACHE_SMALL))
		db->cache_small = !bulk;
}

static const char *lite_errmsg(struct cs_db *db)
{
	return sqlite3_errmsg(db_conn(db)->h);
}

#define DB_BUSY_TIMEOUT_MS 5000

/*
 * SQLite's automatic checkpoint runs inside the commit that crosses its
 * threshold: the request that committed waits while the WAL is copied into
 * the database and both are synced (two fifths of a large commit). Here the commit
 * only wakes a thread that checkpoints on its own connection, PASSIVE (never
 * blocking the writer or readers). A commit is durable once in the WAL, so
 * nothing acknowledged depends on the checkpoint.
 */
#define CHECKPOINT_FRAMES 1000 /* SQLite's default wal_autocheckpoint */
/*
 * Under a steady stream of commits (alert ingest) that thread never catches
 * up: a checkpoint restarts the log only if it copied every frame, and
 * commits append while it copies, so the log grew by the whole of every
 * commit (700 MB in 8 s of 1-alert pushes) and every commit wrote to new file
 * blocks. Past this size the committing thread copies the log itself, between
 * its commits (nothing is appended meanwhile), once the thread's copy in
 * progress is over, and the next commit starts the log over, in blocks the
 * file and the page cache already have. The size is large (~256 MB at 4 KiB
 * pages) because the copy then delays the writer: at 4,000 frames a 1M-decision
 * import took 5.8-6.7 s instead of 4.5 s. cs_db_sqlite_wal_bound() changes it.
 */
#define CHECKPOINT_SYNC_FRAMES (64 * CHECKPOINT_FRAMES)

struct lite_checkpointer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_cond_t idle; /* copying went false */
	bool pending, stop;
	bool copying; /* the thread checkpoints */
	bool running; /* the thread waits for work (else commits checkpoint themselves) */
	bool started; /* the thread is to be joined */
	char *path;
};

static void *checkpointer_main(void *arg)
{
	struct lite_checkpointer *k = arg;
	sqlite3 *h = NULL;

	pthread_setname_np(pthread_self(), "sqlite-ckpt"); /* else its creator's name */
	if (sqlite3_open_v2(k->path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		log_error("checkpoint: cannot open %s: %s (checkpoints stay in the commits)",
			  k->path, h ? sqlite3_errmsg(h) : "out of memory");
		sqlite3_close(h);
		pthread_mutex_lock(&k->lock);
		k->running = false;
		pthread_mutex_unlock(&k->lock);
		return NULL;
	}
	sqlite3_busy_timeout(h, DB_BUSY_TIMEOUT_MS);
	/* a connection learns the WAL only when it reads the database */
	sqlite3_exec(h, "PRAGMA synchronous = FULL; PRAGMA journal_mode", NULL, NULL, NULL);
	pthread_mutex_lock(&k->lock);
	for (;;) {
		while (!k->pending && !k->stop)
			pthread_cond_wait(&k->wake, &k->lock);
		if (k->stop)
			break;
		k->pending = false;
		k->copying = true;
		pthread_mutex_unlock(&k->lock);
		sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&k->lock);
		k->copying = false;
		pthread_cond_broadcast(&k->idle);
	}
	pthread_mutex_unlock(&k->lock);
	sqlite3_close(h);
	return NULL;
}

/* sqlite3_wal_hook: after every commit, in the committing thread */
static int checkpoint_hook(void *arg, sqlite3 *h, const char *schema, int frames)
{
	struct cs_db *db = arg;
	struct lite_checkpointer *k = db->ckpt;
	bool running;

	(void)schema;
	if (frames < CHECKPOINT_FRAMES)
		return SQLITE_OK;
	if (frames >= (db->wal_sync_frames ? db->wal_sync_frames : CHECKPOINT_SYNC_FRAMES)) {
		if (k) { /* two checkpoints at once: the second would only be refused */
			pthread_mutex_lock(&k->lock);
			while (k->copying)
				pthread_cond_wait(&k->idle, &k->lock);
			pthread_mutex_unlock(&k->lock);
		}
		sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		return SQLITE_OK;
	}
	if (!k) {
		const char *path = sqlite3_db_filename(h, "main");

		k = calloc(1, sizeof(*k));
		if (!k || !path || !*path || !(k->path = strdup(path))) {
			free(k);
			sqlite3_wal_checkpoint(h, NULL); /* as SQLite would have */
			return SQLITE_OK;
		}
		pthread_mutex_init(&k->lock, NULL);
		pthread_cond_init(&k->wake, NULL);
		pthread_cond_init(&k->idle, NULL);
		db->ckpt = k;
		k->running = k->started = !pthread_create(&k->thread, NULL, checkpointer_main, k);
	}
	pthread_mutex_lock(&k->lock);
	running = k->running;
	if (running) {
		k->pending = true;
		pthread_cond_signal(&k->wake);
	}
	pthread_mutex_unlock(&k->lock);
	if (!running)
		sqlite3_wal_checkpoint(h, NULL);
	return SQLITE_OK;
}

static void checkpointer_free(struct lite_checkpointer *k)
{
	if (!k)
		return;
	if (k->started)
		cs_worker_stop(&k->lock, &k->wake, &k->stop, k->thread);
	pthread_cond_destroy(&k->idle);
	pthread_cond_destroy(&k->wake);
	pthread_mutex_destroy(&k->lock);
	free(k->path);
	free(k);
}

/* sqlite3_rollback_hook: the only one on the write connection */
static void rollback_hook(void *h)
{
	lite_walbuf_discard(h);
}

int lite_open(struct cs_db *db, const char *path)
{
	sqlite3 *h = NULL;
	int rc = sqlite3_open_v2(path, &h,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 lite_walbuf_vfs()); /* the one connection that writes the WAL */

	db->conns[0].h = h;
	if (rc != SQLITE_OK) {
		log_error("cannot open database %s: %s", path, h ? sqlite3_errmsg(h) : "out of memory");
		return -EIO;
	}
	sqlite3_busy_timeout(h, DB_BUSY_TIMEOUT_MS);
	if (*path && strcmp(path, ":memory:") && asprintf(&db->wal_path, "%s-wal", path) < 0)
		db->wal_path = NULL; /* no fast path: every check queries */
	/*
	 * WAL: readers (cscli) never block the writer. synchronous=FULL until the
	 * LAPI applies db_config.sqlite_synchronous (NORMAL by default, as CrowdSec:
	 * see userspace/lapi/README.md, "Durability of a commit").
	 */
	if (lite_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			  " PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
			  /* the bulk size (lite_bulk_cache) until the first small write: an
			   * import at first open runs with it; no mmap: mapped pages count in
			   * the LAPI's RSS, and streams are answered from memory (stream.c) */
			  " PRAGMA cache_size = " CACHE_BULK ";")) {
		log_error("cannot configure database %s", path);
		return -EIO;
	}
	sqlite3_wal_hook(h, checkpoint_hook, db); /* replaces the automatic checkpoint */
	sqlite3_rollback_hook(h, rollback_hook, h);
	return 0;
}

int lite_open_side(struct cs_db *db)
{
	/* set when conns[0] opened, read-only since (it may be in use by another thread) */
	const char *path = sqlite3_db_filename(db->conns[0].h, "main");
	sqlite3 *h = NULL;

	if (!path || !*path)
		return -EOPNOTSUPP;
	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		log_warn("cannot open database %s read-only beside the writer (%s): lookups wait "
			 "for writes", path, h ? sqlite3_errmsg(h) : "out of memory");
		sqlite3_close(h);
		return -EIO;
	}
	sqlite3_busy_timeout(h, DB_BUSY_TIMEOUT_MS);
	db->side.h = h;
	return 0;
}

/*
 * Every commit, ours or another process's, adds one to the wal-index header's
 * change counter and writes the WAL file: while the counter (else the file's
 * size and mtime) stays, nobody committed and the answer is the last one, for
 * the price of a memory read (else a stat()) instead of a read transaction
 * (file locks) on every pull. The stat's path walk was ~5 % of a delta pull.
 */
static int lite_external_version(struct cs_db *db, int64_t *version)
{
	struct stat st;
	struct dbstmt *s;
	bool have_stat = false, have_mark, same;
	uint32_t mark = 0;
	int rc;

	if (pthread_mutex_trylock(&db->conns[0].lock))
		return -EBUSY;
	have_mark = !cs_db_change_mark(db, &mark);
	if (!have_mark)
		have_stat = db->wal_path && !stat(db->wal_path, &st);
	same = have_mark ? mark == db->version_mark
			 : have_stat && st.st_size == db->wal_size &&
				   st.st_mtim.tv_sec == db->wal_mtime.tv_sec &&
				   st.st_mtim.tv_nsec == db->wal_mtime.tv_nsec;
	if (db->have_version && same) {
		*version = db->data_version;
		pthread_mutex_unlock(&db->conns[0].lock);
		return 0;
	}
	s = stmt(db, ST_DATA_VERSION);
	rc = s ? db_step(s) : -EIO;
	if (rc == DB_ROW) {
		*version = db->data_version = col_int(s, 0);
		/* the mark or stat from before the query: a commit in between is seen next time */
		db->have_version = have_mark || have_stat;
		db->version_mark = mark;
		if (have_stat) {
			db->wal_size = st.st_size;
			db->wal_mtime = st.st_mtim;
		}
	}
	if (s)
		db_reset(s);
	if (!have_mark) { /* after a change only: not in WAL mode, it would ask on every pull */
		lite_map_wal_index(db);
		if (db->wal_index)
			db->have_version = false; /* the next pull reads the mark it compares */
	}
	pthread_mutex_unlock(&db->conns[0].lock);
	return rc == DB_ROW ? 0 : -EIO;
}

static int lite_migrate(struct cs_db *db)
{
	return db_migrate(db, db_migrations, sizeof(db_migrations) / sizeof(db_migrations[0]));
}

void lite_map_wal_index(struct cs_db *db)
{
	sqlite3 *h = db->conns[0].h;
	sqlite3_file *f = NULL;
	volatile void *p = NULL;
	sqlite3_stmt *s = NULL;
	bool wal = false;

	if (db->be != &db_lite || db->wal_index || !h || !db->wal_path)
		return;
	/* mapping the index of a database not in WAL mode would create one */
	if (sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		wal = !strcmp((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	if (!wal ||
	    sqlite3_file_control(h, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f ||
	    !f->pMethods || f->pMethods->iVersion < 2 || !f->pMethods->xShmMap)
		return;
	/* region 0 (the header) stays mapped until conns[0] closes (lite_close) */
	if (f->pMethods->xShmMap(f, 0, 32 * 1024, 0, &p) == SQLITE_OK && p)
		__atomic_store_n(&db->wal_index, (volatile const uint32_t *)p, __ATOMIC_RELEASE);
}

static void lite_close(struct db_conn *c)
{
	if (c == &c->db->conns[0])
		__atomic_store_n(&c->db->wal_index, NULL, __ATOMIC_RELEASE);
	checkpointer_free(c->db->ckpt); /* before the last connection's own checkpoint */
	c->db->ckpt = NULL;
	sqlite3_close(c->h);
	c->h = NULL;
}

const struct db_backend db_lite = {
	.name = "sqlite",
	DB_BACKEND_OPS(lite),
	.last_insert_id = lite_last_insert_id,
	.external_version = lite_external_version,
	.bulk_cache = lite_bulk_cache,
};

int cs_db_sqlite_wal_sync(struct cs_db *db)
{
	sqlite3_file *wal = NULL;
	struct db_conn *c;
	int rc;

	if (db->be->is_pg)
		return 0;
	c = db_hold(db);
	/* the WAL's own handle (the walbuf VFS writes out what it gathered first) */
	rc = sqlite3_file_control(c->h, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
	if (rc == SQLITE_OK && wal && wal->pMethods)
		rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
	if (rc == SQLITE_OK)
		db->wal_syncs++;
	db_release(db);
	return rc == SQLITE_OK ? 0 : -EIO;
}
