// SPDX-License-Identifier: MIT
/*
 * The stream index: every Ip/Range decision row held in memory so that
 * /v1/decisions/stream answers never touch SQLite (db.h, "stream index").
 *
 * Layout (about 100 bytes a decision):
 *  - rows[]: one per decision row, in id order (ids only grow, so appending
 *    keeps the order; rebuilds load ORDER BY id). Each row is also the change
 *    log entry: rows created after a bouncer's last pull are the tail of the
 *    array (binary search on created_at while it is non-decreasing).
 *  - groups[]: one per (value, type, scope), the unit of 1.4.6's "longest
 *    decision wins" de-duplication, with a list of its rows; found by hash.
 *  - buckets: rows by the second of their `until`, so the decisions that
 *    expired or were deleted in a pull's window are found without a scan.
 *  - scenario/origin/type strings are interned; values live in an arena.
 *
 * Consistency with SQLite: writers (holding the db mutex) apply their rows
 * after COMMIT; while a write is in flight, pulls record a last_pull just
 * before its stamp, and writes stamp after every last_pull already handed out,
 * so a row is never created "before" a pull that could not see it.
 * Hard deletes (alerts deleted, flush) mark the index stale; the next pull
 * rebuilds it from SQLite. So do changes by other processes (cscli allowlists
 * expire decisions directly): a trigger counts decision rows updated or
 * deleted (decisions_epoch); a pull that sees another connection committed
 * (PRAGMA data_version) compares that count with the one the index matches.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/fdio.h"
#include "common/gotime.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/vec.h"
#include "db/db_int.h"

#define NIL UINT32_MAX
#define ARENA_BLOCK (1u << 20)
#define FULL_SCAN_WINDOW (30LL * 86400) /* seconds; wider windows scan every row */

enum { SCOPE_IP, SCOPE_RANGE };
enum { ST_NONE, ST_LOADING, ST_READY, ST_FAILED };

struct srow {
	int64_t id, created_at, until;
	uint32_t group, next; /* next row of the same group */
	uint32_t scenario, origin;
	uint8_t simulated;
};

struct sgroup {
	const char *value;
	uint32_t type, head;
	uint8_t scope;
};

struct sbucket {
	int64_t sec; /* INT64_MIN: free slot */
	uint32_t *rows;
	size_t n, cap;
};

struct intern {
	char **s;
	uint32_t n;
	size_t cap;
	uint64_t *slots;
	size_t nslots;
};

/* A row's strings, each with the id its field had in the previous row (NIL: none yet). */
enum { HINT_TYPE, HINT_SCENARIO, HINT_ORIGIN, HINT__N };

struct stream_index {
	pthread_rwlock_t lock;
	pthread_mutex_t state_lock;
	pthread_cond_t state_cond;
	int state;
	bool stale;
	bool from_snapshot; /* the last load started from the saved snapshot */
	uint64_t generation;
	struct srow *rows;
	size_t nrows, caprows;
	bool created_sorted;
	struct sgroup *groups;
	size_t ngroups, capgroups;
	uint64_t *gslots;
	size_t ngslots;
	struct sbucket *buckets;
	size_t nbuckets, nbslots;
	struct intern strs;
	uint32_t hint[HINT__N]; /* consecutive rows repeat their strings */
	struct cs_arena values;	  /* the groups' values, in blocks of ARENA_BLOCK */
	int64_t inflight;	  /* created_at stamp of the write in flight, 0 if none */
	int64_t epoch;		  /* decisions_epoch the index matches */
	int64_t epoch_pending;	  /* the epoch the write in flight leaves */
	_Atomic int64_t ext_version; /* data_version at the last external check */
	_Atomic int64_t issued;	  /* largest last_pull handed out */
	/* PostgreSQL: the replicas' shared change sequence (pg_sync()) */
	int64_t hard;		  /* decisions_epoch.hard the index matches */
	int64_t synced_at;	  /* every row created up to here is in the index */
	bool need_sync;		  /* our own write committed: learn it before answering */
	pthread_mutex_t sync_lock; /* one sync at a time (the pool runs pulls in parallel) */
	pthread_mutex_t load_lock; /* one rebuild at a time */
};

/* ---- hashing, interning, arena ---------------------------------------------------- */


/*
 * Hash tables of linear-probed slots over entries 0..n-1, each slot the entry
 * and the low half of its hash: a probe reads the entry (a cache miss of its
 * own) only when the hashes match, and regrowth never reads the entries.
 */
#define SLOT_FREE UINT64_MAX

static uint64_t slot_make(uint64_t hash, uint32_t i)
{
	return hash << 32 | i; /* i < NIL: never SLOT_FREE */
}

static uint32_t slot_hash(uint64_t slot)
{
	return (uint32_t)(slot >> 32);
}

static uint32_t slot_entry(uint64_t slot)
{
	return (uint32_t)slot;
}

/* Grown to twice *nslots (first when empty). */
static int slots_grow(uint64_t **slots, size_t *nslots, size_t first)
{
	size_t ns = *nslots ? *nslots * 2 : first;
	uint64_t *v = malloc(ns * sizeof(*v));

	if (!v)
		return -ENOMEM;
	memset(v, 0xff, ns * sizeof(*v));
	for (size_t i = 0; i < *nslots; i++) {
		size_t h;

		if ((*slots)[i] == SLOT_FREE)
			continue;
		for (h = slot_hash((*slots)[i]) & (ns - 1); v[h] != SLOT_FREE; h = (h + 1) & (ns - 1))
			;
		v[h] = (*slots)[i];
	}
	free(*slots);
	*slots = v;
	*nslots = ns;
	return 0;
}

static uint32_t intern(struct intern *t, const char *s, uint32_t *hint)
{
	size_t h;

	if (!s)
		s = "";
	uint32_t hash;

	if (*hint < t->n && !strcmp(t->s[*hint], s))
		return *hint;
	if ((t->n + 1) * 2 > t->nslots && slots_grow(&t->slots, &t->nslots, 64))
		return NIL;
	hash = (uint32_t)cs_hash_str(s);
	for (h = hash & (t->nslots - 1); t->slots[h] != SLOT_FREE; h = (h + 1) & (t->nslots - 1)) {
		if (slot_hash(t->slots[h]) == hash && !strcmp(t->s[slot_entry(t->slots[h])], s))
			return *hint = slot_entry(t->slots[h]);
	}
	if (t->n >= NIL - 1 || vec_reserve((void **)&t->s, &t->cap, t->n, sizeof(*t->s), 64))
		return NIL;
	t->s[t->n] = strdup(s);
	if (!t->s[t->n])
		return NIL;
	t->slots[h] = slot_make(hash, t->n);
	return *hint = t->n++;
}

static void intern_free(struct intern *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static const char *arena_dup(struct stream_index *x, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (n > ARENA_BLOCK)
		return NULL;
	p = cs_arena_alloc(&x->values, n);
	if (p)
		memcpy(p, s, n);
	return p;
}

/* ---- groups and buckets ------------------------------------------------------------ */

/* Values are addresses and names attackers choose: the seeded hash (common/hash). */
static uint64_t group_hash(const char *value, uint32_t type, uint8_t scope)
{
	uint64_t kind = (uint64_t)type << 8 | scope;

	return cs_hash2(value, strlen(value), &kind, sizeof(kind));
}

/* hash: group_hash()'s low half */
static uint32_t group_get(struct stream_index *x, const char *value, uint32_t type,
			  uint8_t scope, uint32_t hash)
{
	size_t h;

	if ((x->ngroups + 1) * 2 > x->ngslots && slots_grow(&x->gslots, &x->ngslots, 1024))
		return NIL;
	for (h = hash & (x->ngslots - 1); x->gslots[h] != SLOT_FREE; h = (h + 1) & (x->ngslots - 1)) {
		const struct sgroup *g;

		if (slot_hash(x->gslots[h]) != hash)
			continue;
		g = &x->groups[slot_entry(x->gslots[h])];
		if (g->type == type && g->scope == scope && !strcmp(g->value, value))
			return slot_entry(x->gslots[h]);
	}
	if (vec_reserve((void **)&x->groups, &x->capgroups, x->ngroups, sizeof(*x->groups), 1024))
		return NIL;
	x->groups[x->ngroups] = (struct sgroup){ .value = arena_dup(x, value), .type = type,
						 .head = NIL, .scope = scope };
	if (!x->groups[x->ngroups].value)
		return NIL;
	x->gslots[h] = slot_make(hash, (uint32_t)x->ngroups);
	return (uint32_t)x->ngroups++;
}

static int64_t sec_of(int64_t t)
{
	return t >= 0 ? t / NSEC_PER_SEC : -((-t + NSEC_PER_SEC - 1) / NSEC_PER_SEC);
}

static struct sbucket *bucket_find(struct stream_index *x, int64_t sec)
{
	if (!x->nbslots)
		return NULL;
	for (size_t h = ((uint64_t)sec * 0x9e3779b97f4a7c15ULL >> 20) & (x->nbslots - 1);
	     x->buckets[h].sec != INT64_MIN; h = (h + 1) & (x->nbslots - 1))
		if (x->buckets[h].sec == sec)
			return &x->buckets[h];
	return NULL;
}

static int buckets_grow(struct stream_index *x)
{
	size_t ns = x->nbslots ? x->nbslots * 2 : 256;
	struct sbucket *b = malloc(ns * sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < ns; i++)
		b[i].sec = INT64_MIN;
	for (size_t i = 0; i < x->nbslots; i++) {
		if (x->buckets[i].sec == INT64_MIN)
			continue;
		size_t h = ((uint64_t)x->buckets[i].sec * 0x9e3779b97f4a7c15ULL >> 20) & (ns - 1);

		while (b[h].sec != INT64_MIN)
			h = (h + 1) & (ns - 1);
		b[h] = x->buckets[i];
	}
	free(x->buckets);
	x->buckets = b;
	x->nbslots = ns;
	return 0;
}

static int bucket_add(struct stream_index *x, int64_t until, uint32_t row)
{
	int64_t sec = sec_of(until);
	struct sbucket *b = bucket_find(x, sec);

	if (!b) {
		size_t h;

		if ((x->nbuckets + 1) * 2 > x->nbslots && buckets_grow(x))
			return -ENOMEM;
		for (h = ((uint64_t)sec * 0x9e3779b97f4a7c15ULL >> 20) & (x->nbslots - 1);
		     x->buckets[h].sec != INT64_MIN; h = (h + 1) & (x->nbslots - 1))
			;
		b = &x->buckets[h];
		*b = (struct sbucket){ .sec = sec };
		x->nbuckets++;
	}
	if (vec_reserve((void **)&b->rows, &b->cap, b->n, sizeof(*b->rows), 4))
		return -ENOMEM;
	b->rows[b->n++] = row;
	return 0;
}

/* ---- rows ------------------------------------------------------------------------- */

static int scope_code(const char *scope)
{
	if (scope && !strcmp(scope, "Ip"))
		return SCOPE_IP;
	if (scope && !strcmp(scope, "Range"))
		return SCOPE_RANGE;
	return -1;
}

static const char *const scope_names[] = { "Ip", "Range" };

/* A row on its way in: its strings interned, its group's hash known. */
struct row_in {
	int64_t id, created_at, until;
	const char *value;
	uint32_t type, scenario, origin, hash;
	uint8_t scope, simulated;
};

/*
 * Rows staged before any is inserted: each group lookup starts with a cache
 * miss in a table of millions of slots, so the slots of a batch are fetched
 * together (prefetched while the next rows are staged).
 */
#define ROW_BATCH 16

static int row_stage(struct stream_index *x, struct row_in *in, const char *scenario,
		     const char *type, const char *origin)
{
	in->type = intern(&x->strs, type, &x->hint[HINT_TYPE]);
	in->scenario = intern(&x->strs, scenario, &x->hint[HINT_SCENARIO]);
	in->origin = intern(&x->strs, origin, &x->hint[HINT_ORIGIN]);
	if (in->type == NIL || in->scenario == NIL || in->origin == NIL)
		return -ENOMEM;
	if (!in->value)
		in->value = "";
	in->hash = (uint32_t)group_hash(in->value, in->type, in->scope);
	if (x->ngslots) /* a hint: the table may grow before the row goes in */
		__builtin_prefetch(&x->gslots[in->hash & (x->ngslots - 1)]);
	return 0;
}

static int row_insert(struct stream_index *x, const struct row_in *in)
{
	uint32_t g = group_get(x, in->value, in->type, in->scope, in->hash), r;

	if (g == NIL || x->nrows >= NIL - 1)
		return -ENOMEM;
	if (vec_reserve((void **)&x->rows, &x->caprows, x->nrows, sizeof(*x->rows), 4096))
		return -ENOMEM;
	if (x->nrows && (in->id <= x->rows[x->nrows - 1].id))
		return -ERANGE; /* ids only grow: anything else means the index is out of step */
	if (x->nrows && in->created_at < x->rows[x->nrows - 1].created_at)
		x->created_sorted = false;
	r = (uint32_t)x->nrows;
	x->rows[r] = (struct srow){ .id = in->id, .created_at = in->created_at, .until = in->until,
				    .group = g, .next = x->groups[g].head, .scenario = in->scenario,
				    .origin = in->origin, .simulated = in->simulated };
	x->groups[g].head = r;
	x->nrows++;
	return bucket_add(x, in->until, r);
}

static int rows_insert(struct stream_index *x, const struct row_in *v, size_t n)
{
	int err = 0;

	for (size_t i = 0; i < n && !err; i++)
		err = row_insert(x, &v[i]);
	return err;
}

static uint32_t row_by_id(const struct stream_index *x, int64_t id)
{
	size_t lo = 0, hi = x->nrows;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->rows[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x->nrows && x->rows[lo].id == id ? (uint32_t)lo : NIL;
}

/* 1.4.6's winner of a group: the longest until, then the highest id. */
static uint32_t group_winner(const struct stream_index *x, uint32_t g)
{
	uint32_t best = NIL;

	for (uint32_t r = x->groups[g].head; r != NIL; r = x->rows[r].next)
		if (best == NIL || x->rows[r].until > x->rows[best].until ||
		    (x->rows[r].until == x->rows[best].until && x->rows[r].id > x->rows[best].id))
			best = r;
	return best;
}

static void index_clear(struct stream_index *x)
{
	free(x->rows);
	free(x->groups);
	free(x->gslots);
	for (size_t i = 0; i < x->nbslots; i++)
		if (x->buckets[i].sec != INT64_MIN)
			free(x->buckets[i].rows);
	free(x->buckets);
	intern_free(&x->strs);
	memset(x->hint, 0xff, sizeof(x->hint));
	cs_arena_free(&x->values);
	x->rows = NULL;
	x->groups = NULL;
	x->gslots = NULL;
	x->buckets = NULL;
	x->nrows = x->caprows = x->ngroups = x->capgroups = x->ngslots = 0;
	x->nbuckets = x->nbslots = 0;
	x->created_sorted = true;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

int stream_index_new(struct cs_db *db)
{
	struct stream_index *x = calloc(1, sizeof(*x));
	pthread_rwlockattr_t a;

	if (!x)
		return -ENOMEM;
	x->values = (struct cs_arena){ .first = ARENA_BLOCK, .max = ARENA_BLOCK };
	/* 20k pulls/s must not starve the writer that applies a commit */
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&x->lock, &a);
	pthread_rwlockattr_destroy(&a);
	pthread_mutex_init(&x->state_lock, NULL);
	pthread_mutex_init(&x->sync_lock, NULL);
	pthread_mutex_init(&x->load_lock, NULL);
	pthread_cond_init(&x->state_cond, NULL);
	x->created_sorted = true;
	memset(x->hint, 0xff, sizeof(x->hint));
	db->stream = x;
	return 0;
}

void stream_index_free(struct cs_db *db)
{
	struct stream_index *x = db->stream;

	if (!x)
		return;
	index_clear(x);
	pthread_rwlock_destroy(&x->lock);
	pthread_mutex_destroy(&x->state_lock);
	pthread_mutex_destroy(&x->sync_lock);
	pthread_mutex_destroy(&x->load_lock);
	pthread_cond_destroy(&x->state_cond);
	free(x);
	db->stream = NULL;
}

static void set_state(struct stream_index *x, int st)
{
	pthread_mutex_lock(&x->state_lock);
	x->state = st;
	pthread_cond_broadcast(&x->state_cond);
	pthread_mutex_unlock(&x->state_lock);
}

static int read_epoch(struct cs_db *db, int64_t *n)
{
	struct dbstmt *s = stmt(db, ST_DECISIONS_EPOCH);
	int rc = s ? db_step(s) : -EIO;

	if (rc == DB_ROW)
		*n = col_int(s, 0);
	if (s)
		db_reset(s);
	return rc == DB_ROW ? 0 : -EIO;
}

#define DECISION_ROW_COLS "id, created_at, until, scenario, type, scope, value, origin, simulated"

/* a staged row's value is copied (the next step frees SQLite's); longer ones go alone */
#define STAGED_VALUE_MAX 64

/* Rows of s (DECISION_ROW_COLS) into the index: new ones appended, known ones updated. */
static int merge_rows(struct stream_index *x, struct dbstmt *s)
{
	struct row_in batch[ROW_BATCH];
	char values[ROW_BATCH][STAGED_VALUE_MAX];
	size_t n = 0;
	int rc, err = 0;

	while (!err && (rc = db_step(s)) == DB_ROW) {
		int64_t id = col_int(s, 0);
		/* a load appends every row: only a row the index may hold is looked up */
		uint32_t r = x->nrows && id <= x->rows[x->nrows - 1].id ? row_by_id(x, id) : NIL;
		const char *value = col_str(s, 6);
		size_t len = value ? strlen(value) : 0;
		struct row_in *in = &batch[n];

		if (r != NIL || len >= STAGED_VALUE_MAX) {
			err = rows_insert(x, batch, n); /* in id order */
			n = 0;
			in = &batch[0];
		}
		if (err)
			break;
		if (r != NIL) { /* soft-deleted or extended since */
			x->rows[r].until = col_int(s, 2);
			err = bucket_add(x, x->rows[r].until, r);
			continue;
		}
		*in = (struct row_in){ .id = id, .created_at = col_int(s, 1), .until = col_int(s, 2),
				       .scope = (uint8_t)scope_code(col_str(s, 5)),
				       .simulated = col_int(s, 8) != 0 };
		if (len < STAGED_VALUE_MAX && value) {
			memcpy(values[n], value, len + 1);
			in->value = values[n];
		} else {
			in->value = value;
		}
		err = row_stage(x, in, col_str(s, 3), col_str(s, 4), col_str(s, 7));
		if (!err && (len >= STAGED_VALUE_MAX || ++n == ROW_BATCH)) {
			err = rows_insert(x, batch, len >= STAGED_VALUE_MAX ? 1 : n);
			n = 0;
		}
	}
	if (!err)
		err = rows_insert(x, batch, n);
	if (!err && rc != DB_DONE)
		err = sql_err(NULL, rc);
	return err;
}

/*
 * PostgreSQL: the caller's read transaction is one snapshot (REPEATABLE READ),
 * so the counters and the rows agree.
 */
static int load_rows_pg(struct cs_db *db, struct stream_index *x)
{
	struct dbstmt *s = NULL;
	int err = db_prepare(db, "SELECT n, hard FROM decisions_epoch", &s);

	if (!err) {
		err = db_step(s) == DB_ROW ? 0 : -EIO;
		if (!err) {
			x->epoch = col_int(s, 0);
			x->hard = col_int(s, 1);
		}
		db_finalize(s);
		s = NULL;
	}
	if (!err)
		err = db_prepare(db, "SELECT " DECISION_ROW_COLS " FROM decisions"
				     " WHERE scope IN ('Ip', 'Range') ORDER BY id", &s);
	if (!err)
		err = merge_rows(x, s);
	db_finalize(s);
	x->need_sync = true; /* the snapshot is not a sync: the first pull makes one */
	return err;
}

/*
 * A load is two threads: one steps SQLite through the rows and copies them
 * into chunks, the loading thread builds the index from the chunk before
 * (SQLite's scan is ~3/4 of a load, the index the rest: on two cores they
 * overlap). Two chunks alternate.
 */
#define LOAD_CHUNK 4096

enum { LS_SCENARIO, LS_TYPE, LS_VALUE, LS_ORIGIN, LS__N };

struct load_row {
	int64_t id, created_at, until;
	size_t str[LS__N]; /* offsets in the chunk's text */
	uint8_t scope, simulated;
};

struct load_chunk {
	struct load_row row[LOAD_CHUNK];
	size_t n;
	char *text;
	size_t len, cap;
	bool full; /* filled by the reader, not built yet */
};

struct load_pipe {
	struct dbstmt *s;
	struct load_chunk chunk[2];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int last;   /* the chunk that ends the rows, once read (-1 before) */
	int err;    /* the reader's */
	bool stop;  /* the builder failed: the reader ends */
};

static int chunk_text(struct load_chunk *c, const char *s, size_t *off)
{
	size_t n = strlen(s ? s : "") + 1;

	if (vec_reserve((void **)&c->text, &c->cap, c->len + n - 1, 1, 1 << 16))
		return -ENOMEM;
	memcpy(c->text + c->len, s ? s : "", n);
	*off = c->len;
	c->len += n;
	return 0;
}

static void *load_reader(void *arg)
{
	struct load_pipe *p = arg;
	int rc = DB_ROW, err = 0;

	for (int k = 0; rc == DB_ROW && !err; k ^= 1) {
		struct load_chunk *c = &p->chunk[k];

		bool stop;

		pthread_mutex_lock(&p->lock);
		while (c->full && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		stop = p->stop;
		pthread_mutex_unlock(&p->lock);
		if (stop)
			break;
		c->n = c->len = 0;
		while (!err && c->n < LOAD_CHUNK && (rc = db_step(p->s)) == DB_ROW) {
			struct load_row *r = &c->row[c->n++];
			static const int cols[LS__N] = { 3, 4, 6, 7 };

			*r = (struct load_row){ .id = col_int(p->s, 0), .created_at = col_int(p->s, 1),
						.until = col_int(p->s, 2),
						.scope = (uint8_t)scope_code(col_str(p->s, 5)),
						.simulated = col_int(p->s, 8) != 0 };
			for (int f = 0; f < LS__N && !err; f++)
				err = chunk_text(c, col_str(p->s, cols[f]), &r->str[f]);
		}
		if (!err && rc != DB_ROW && rc != DB_DONE)
			err = sql_err(NULL, rc);
		pthread_mutex_lock(&p->lock);
		c->full = true;
		if (rc != DB_ROW || err) {
			p->last = k;
			p->err = err;
		}
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

static int build_chunk(struct stream_index *x, const struct load_chunk *c)
{
	struct row_in batch[ROW_BATCH];
	size_t nb = 0;
	int err = 0;

	for (size_t i = 0; i < c->n && !err; i++) {
		const struct load_row *r = &c->row[i];

		batch[nb] = (struct row_in){ .id = r->id, .created_at = r->created_at,
					     .until = r->until, .value = c->text + r->str[LS_VALUE],
					     .scope = r->scope, .simulated = r->simulated };
		err = row_stage(x, &batch[nb], c->text + r->str[LS_SCENARIO],
				c->text + r->str[LS_TYPE], c->text + r->str[LS_ORIGIN]);
		if (!err && ++nb == ROW_BATCH) {
			err = rows_insert(x, batch, nb);
			nb = 0;
		}
	}
	return err ? err : rows_insert(x, batch, nb);
}

/* The rows of s (DECISION_ROW_COLS) into an empty index, read and built side by side. */
static int load_piped(struct stream_index *x, struct dbstmt *s)
{
	struct load_pipe *p = calloc(1, sizeof(*p));
	pthread_t reader;
	int err = 0, done = 0;

	if (!p)
		return -ENOMEM;
	p->s = s;
	p->last = -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (pthread_create(&reader, NULL, load_reader, p)) {
		err = merge_rows(x, s); /* no thread: one after the other */
		goto out;
	}
	for (int k = 0; !done; k ^= 1) {
		struct load_chunk *c = &p->chunk[k];

		pthread_mutex_lock(&p->lock);
		while (!c->full)
			pthread_cond_wait(&p->cond, &p->lock);
		done = p->last == k;
		pthread_mutex_unlock(&p->lock);
		err = build_chunk(x, c);
		pthread_mutex_lock(&p->lock);
		c->full = false;
		p->stop = err != 0;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		if (err)
			break;
	}
	pthread_join(reader, NULL);
	if (!err)
		err = p->err;
out:
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->chunk[0].text);
	free(p->chunk[1].text);
	free(p);
	return err;
}

/* ---- snapshot: the index saved at a clean stop, so that a start skips SQLite's scan ---- */

/*
 * A snapshot stands for the database it was taken from, in the state it had then,
 * plus the rows appended since:
 *  - decisions_epoch counts every update of a decision's until and every delete:
 *    an equal count means no row the snapshot holds changed or went since;
 *  - ids only grow (AUTOINCREMENT): the rows added since are those after its last
 *    id, read from SQLite at load;
 *  - another database put in place while we were stopped is told by rows sampled
 *    across the snapshot, read back by id (created_at and until are nanoseconds).
 * Anything else (absent, torn, another build's layout, a sample that differs) is a
 * full load. It is written at a clean stop only: after kill -9 the previous one
 * stays, and the checks above decide whether it still stands.
 */
#define SNAP_MAGIC "csxstrx1"
#define SNAP_SAMPLES 64

struct snap_head {
	char magic[8];
	uint32_t row_size, group_size; /* this build's layout */
	int64_t epoch;
	uint64_t nrows, ngroups, nstrs, strbytes, valbytes;
	uint8_t created_sorted;
};

struct snap_group {
	uint32_t type, head;
	uint8_t scope;
};

/* The snapshot beside the database file (NULL: in-memory database, PostgreSQL). */
static char *snap_path(struct cs_db *db)
{
	const char *p;
	char *out;

	if (db->be->is_pg)
		return NULL;
	p = sqlite3_db_filename(db->conns[0].h, "main");
	if (!p || !*p || asprintf(&out, "%s.stream", p) < 0)
		return NULL;
	return out;
}

/* Records written field by field over zeroes: their padding is never uninitialised memory. */
#define SNAP_ROWS_AT_ONCE 4096

static int snap_write_rows(const struct stream_index *x, FILE *f)
{
	struct srow *buf = calloc(SNAP_ROWS_AT_ONCE, sizeof(*buf));

	if (!buf)
		return -ENOMEM;
	for (size_t r0 = 0; r0 < x->nrows; r0 += SNAP_ROWS_AT_ONCE) {
		size_t n = x->nrows - r0 < SNAP_ROWS_AT_ONCE ? x->nrows - r0 : SNAP_ROWS_AT_ONCE;

		for (size_t i = 0; i < n; i++) {
			const struct srow *w = &x->rows[r0 + i];

			buf[i].id = w->id;
			buf[i].created_at = w->created_at;
			buf[i].until = w->until;
			buf[i].group = w->group;
			buf[i].next = w->next;
			buf[i].scenario = w->scenario;
			buf[i].origin = w->origin;
			buf[i].simulated = w->simulated;
		}
		fwrite(buf, sizeof(*buf), n, f);
	}
	free(buf);
	return 0;
}

static int snap_write(const struct stream_index *x, const char *path)
{
	struct snap_head h;
	char tmp[PATH_MAX];
	FILE *f;
	int fd, err = 0;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, SNAP_MAGIC, sizeof(h.magic));
	h.row_size = sizeof(struct srow);
	h.group_size = sizeof(struct snap_group);
	h.epoch = x->epoch;
	h.nrows = x->nrows;
	h.ngroups = x->ngroups;
	h.nstrs = x->strs.n;
	h.created_sorted = x->created_sorted;
	for (uint32_t i = 0; i < x->strs.n; i++)
		h.strbytes += strlen(x->strs.s[i]) + 1;
	for (size_t g = 0; g < x->ngroups; g++)
		h.valbytes += strlen(x->groups[g].value) + 1;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	/* the rows name IPs: owner-only from creation; a leftover .tmp keeps no wider mode */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		goto out;
	}
	fwrite(&h, sizeof(h), 1, f);
	for (uint32_t i = 0; i < x->strs.n; i++)
		fwrite(x->strs.s[i], strlen(x->strs.s[i]) + 1, 1, f);
	for (size_t g = 0; g < x->ngroups; g++)
		fwrite(x->groups[g].value, strlen(x->groups[g].value) + 1, 1, f);
	for (size_t g = 0; g < x->ngroups; g++) {
		struct snap_group sg;

		memset(&sg, 0, sizeof(sg));
		sg.type = x->groups[g].type;
		sg.head = x->groups[g].head;
		sg.scope = x->groups[g].scope;
		fwrite(&sg, sizeof(sg), 1, f);
	}
	err = snap_write_rows(x, f);
	/* durable before it replaces the previous one: a torn file is never renamed in */
	if (!err && (fflush(f) || ferror(f) || fsync(fileno(f))))
		err = -EIO;
	if (fclose(f) && !err)
		err = -EIO;
	if (!err && rename(tmp, path))
		err = -errno;
out:
	if (err)
		unlink(tmp);
	return err;
}

int cs_db_stream_save(struct cs_db *db)
{
	struct stream_index *x = db->stream;
	char *path = x ? snap_path(db) : NULL;
	int64_t epoch = 0;
	int64_t t0 = gotime_now();
	int err;

	if (!path)
		return 0;
	err = txn_begin_read(db); /* nothing of ours commits meanwhile */
	if (err) {
		free(path);
		return err;
	}
	pthread_rwlock_rdlock(&x->lock);
	if (x->state != ST_READY || x->stale || x->inflight || read_epoch(db, &epoch) ||
	    epoch != x->epoch) {
		unlink(path); /* not in step with the database: the next start reads SQLite */
		err = 0;
	} else {
		err = snap_write(x, path);
		if (err)
			log_warn("stream index: cannot save %s: %s", path, strerror(-err));
		else
			log_info("stream index: saved in %.2f s", (double)(gotime_now() - t0) / 1e9);
	}
	pthread_rwlock_unlock(&x->lock);
	txn_end(db, 0);
	free(path);
	return err;
}

/* The header's sizes against this build and the file's length (no overflow). */
static bool snap_head_ok(const struct snap_head *h, int64_t epoch, uint64_t file_size)
{
	uint64_t left = file_size - sizeof(*h);

	if (memcmp(h->magic, SNAP_MAGIC, sizeof(h->magic)) || h->row_size != sizeof(struct srow) ||
	    h->group_size != sizeof(struct snap_group) || h->epoch != epoch ||
	    h->nrows >= NIL || h->ngroups >= NIL || h->nstrs >= NIL)
		return false;
	if (h->strbytes > left || h->valbytes > left - h->strbytes)
		return false;
	left -= h->strbytes + h->valbytes;
	if (h->ngroups > left / sizeof(struct snap_group))
		return false;
	left -= h->ngroups * sizeof(struct snap_group);
	return h->nrows <= left / sizeof(struct srow) && left == h->nrows * sizeof(struct srow);
}

/* NUL-terminated strings from blob[0..len) into ptrs[0..n): every one, nothing left over. */
static bool snap_split(char *blob, size_t len, size_t n, void (*put)(void *, size_t, char *),
		       void *arg)
{
	size_t off = 0, i = 0;

	while (i < n && off < len) {
		char *end = memchr(blob + off, 0, len - off);

		if (!end)
			return false;
		put(arg, i++, blob + off);
		off = (size_t)(end - blob) + 1;
	}
	return i == n && off == len;
}

struct snap_strs {
	struct stream_index *x;
	bool ok;
};

static void put_str(void *arg, size_t i, char *s)
{
	struct snap_strs *c = arg;
	uint32_t hint = NIL;

	if (c->ok && intern(&c->x->strs, s, &hint) != i)
		c->ok = false; /* a repeated string: not a snapshot of ours */
}

static void put_value(void *arg, size_t i, char *s)
{
	((struct stream_index *)arg)->groups[i].value = s;
}

/*
 * The groups' and rows' links exactly as row_append leaves them, ids increasing,
 * created_sorted true to the rows: the index may trust them. Each row's next is
 * the previous row of its group and each head its group's last row, so every
 * chain visits its own rows once, in decreasing order: a corrupt chain would make
 * group_winner loop under the index lock. One pass; -EINVAL when anything differs.
 */
static int snap_links_check(const struct stream_index *x, uint8_t created_sorted)
{
	uint32_t *last = malloc((x->ngroups + 1) * sizeof(*last));
	int err = 0;

	if (!last)
		return -ENOMEM;
	memset(last, 0xff, (x->ngroups + 1) * sizeof(*last)); /* NIL */
	if (created_sorted > 1)
		err = -EINVAL;
	for (size_t g = 0; !err && g < x->ngroups; g++)
		if (x->groups[g].type >= x->strs.n || x->groups[g].scope > SCOPE_RANGE)
			err = -EINVAL;
	for (size_t r = 0; !err && r < x->nrows; r++) {
		const struct srow *w = &x->rows[r];

		if (w->group >= x->ngroups || w->next != last[w->group] ||
		    w->scenario >= x->strs.n || w->origin >= x->strs.n ||
		    (r && w->id <= x->rows[r - 1].id) ||
		    (created_sorted && r && w->created_at < x->rows[r - 1].created_at))
			err = -EINVAL;
		else
			last[w->group] = (uint32_t)r;
	}
	for (size_t g = 0; !err && g < x->ngroups; g++)
		if (x->groups[g].head != last[g])
			err = -EINVAL;
	free(last);
	return err;
}

static int snap_hash_groups(struct stream_index *x)
{
	size_t ns = 1024;

	while (ns < (x->ngroups + 1) * 2)
		ns *= 2;
	x->gslots = malloc(ns * sizeof(*x->gslots));
	if (!x->gslots)
		return -ENOMEM;
	memset(x->gslots, 0xff, ns * sizeof(*x->gslots));
	x->ngslots = ns;
	/* a cache miss per slot: those of a batch are fetched together (row_stage()) */
	for (size_t g0 = 0; g0 < x->ngroups; g0 += ROW_BATCH) {
		uint32_t hash[ROW_BATCH];
		size_t n = x->ngroups - g0 < ROW_BATCH ? x->ngroups - g0 : ROW_BATCH;

		for (size_t i = 0; i < n; i++) {
			const struct sgroup *gr = &x->groups[g0 + i];

			hash[i] = (uint32_t)group_hash(gr->value, gr->type, gr->scope);
			__builtin_prefetch(&x->gslots[hash[i] & (ns - 1)]);
		}
		for (size_t i = 0; i < n; i++) {
			size_t h;

			for (h = hash[i] & (ns - 1); x->gslots[h] != SLOT_FREE; h = (h + 1) & (ns - 1))
				;
			x->gslots[h] = slot_make(hash[i], (uint32_t)(g0 + i));
		}
	}
	return 0;
}

/* Rows sampled across the snapshot, read back from the database by id: the same? */
static int snap_matches(struct stream_index *x, struct cs_db *scan)
{
	struct dbstmt *s = NULL;
	int err = db_prepare(scan, "SELECT created_at, until, value, type, scope FROM decisions"
				   " WHERE id = ?", &s);

	for (size_t k = 0; !err && x->nrows && k < SNAP_SAMPLES; k++) {
		const struct srow *r = &x->rows[k * (x->nrows - 1) / (SNAP_SAMPLES - 1)];
		const struct sgroup *g = &x->groups[r->group];

		bind_int(s, 1, r->id);
		if (db_step(s) != DB_ROW || col_int(s, 0) != r->created_at || col_int(s, 1) != r->until ||
		    strcmp(col_str(s, 2) ? col_str(s, 2) : "", g->value) ||
		    strcmp(col_str(s, 3) ? col_str(s, 3) : "", x->strs.s[g->type]) ||
		    scope_code(col_str(s, 4)) != g->scope)
			err = -ESTALE;
		db_reset(s);
	}
	db_finalize(s);
	return err;
}

/*
 * The snapshot at path into an empty index whose epoch is the database's; 0 when
 * it stands (then *last_id is its last row's id), else -errno and the index is
 * left for the caller to clear.
 */
static int snap_load(struct stream_index *x, struct cs_db *scan, const char *path,
		     int64_t *last_id)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct snap_head h;
	struct snap_group *sg = NULL;
	struct snap_strs strs = { .x = x, .ok = true };
	char *text = NULL, *vals = NULL; /* vals: in the arena */
	struct stat st;
	int err;

	if (fd < 0)
		return -errno;
	err = fstat(fd, &st) || (uint64_t)st.st_size < sizeof(h) ? -EINVAL : cs_read_all(fd, &h, sizeof(h));
	if (!err && !snap_head_ok(&h, x->epoch, (uint64_t)st.st_size))
		err = -EINVAL;
	if (!err) {
		text = malloc(h.strbytes + 1);
		vals = cs_arena_alloc(&x->values, h.valbytes + 1);
		sg = malloc(h.ngroups * sizeof(*sg) + 1);
		x->groups = calloc(h.ngroups + 1, sizeof(*x->groups));
		x->rows = malloc(h.nrows * sizeof(*x->rows) + 1);
		if (!text || !vals || !sg || !x->groups || !x->rows)
			err = -ENOMEM;
	}
	if (!err) {
		x->capgroups = h.ngroups + 1;
		x->caprows = h.nrows;
		err = cs_read_all(fd, text, h.strbytes);
	}
	if (!err)
		err = cs_read_all(fd, vals, h.valbytes);
	if (!err)
		err = cs_read_all(fd, sg, h.ngroups * sizeof(*sg));
	if (!err)
		err = cs_read_all(fd, x->rows, h.nrows * sizeof(*x->rows));
	if (!err && (!snap_split(text, h.strbytes, h.nstrs, put_str, &strs) || !strs.ok ||
		     !snap_split(vals, h.valbytes, h.ngroups, put_value, x)))
		err = -EINVAL;
	if (!err) {
		for (size_t g = 0; g < h.ngroups; g++) {
			x->groups[g].type = sg[g].type;
			x->groups[g].head = sg[g].head;
			x->groups[g].scope = sg[g].scope;
		}
		x->ngroups = h.ngroups;
		x->nrows = h.nrows;
		x->created_sorted = h.created_sorted;
		err = snap_links_check(x, h.created_sorted);
	}
	if (!err)
		err = snap_hash_groups(x);
	for (size_t r = 0; !err && r < x->nrows; r++)
		err = bucket_add(x, x->rows[r].until, (uint32_t)r);
	if (!err)
		err = snap_matches(x, scan);
	if (!err)
		*last_id = x->nrows ? x->rows[x->nrows - 1].id : 0;
	close(fd);
	free(text);
	free(sg);
	return err;
}

/*
 * Called with the db mutex held, so nothing of ours commits meanwhile; rows and
 * epoch are read in one snapshot, so another process's commit is either in both
 * or in neither. The scan runs on a connection of its own with a small page
 * cache: a million rows read once must not stay in the main handle's cache (the
 * LAPI's memory bound).
 */
static int load_rows_lite(struct cs_db *db, struct stream_index *x)
{
	sqlite3 *main_h = db_conn(db)->h;
	const char *path = sqlite3_db_filename(main_h, "main");
	struct db_conn conn = { 0 };
	struct cs_db scan = { .be = &db_lite, .conns = &conn, .nconns = 1 };
	struct dbstmt *s = NULL;
	sqlite3 *h = NULL;
	char *snap = snap_path(db);
	int64_t last_id = 0;
	int err = 0;

	if (!path || !*path) /* in-memory database: the main handle is the only view */
		h = main_h;
	else if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
		 SQLITE_OK) {
		log_error("stream index: cannot open %s: %s", path, h ? sqlite3_errmsg(h) : "?");
		sqlite3_close(h);
		free(snap);
		return -EIO;
	}
	conn.h = h;
	conn.db = &scan;
	err = db_exec(&scan, h == main_h ? "BEGIN" : "PRAGMA cache_size = -2048;"
				 " PRAGMA mmap_size = 0; BEGIN");
	if (!err)
		err = read_epoch(&scan, &x->epoch);
	x->from_snapshot = !err && snap && !snap_load(x, &scan, snap, &last_id);
	if (x->from_snapshot) { /* and the rows appended since */
		err = db_prepare(&scan, "SELECT " DECISION_ROW_COLS " FROM decisions"
					" WHERE id > ? AND scope IN ('Ip', 'Range') ORDER BY id", &s);
		if (!err) {
			bind_int(s, 1, last_id);
			err = merge_rows(x, s);
		}
	} else if (!err) {
		index_clear(x); /* what a refused snapshot left */
		err = db_prepare(&scan, "SELECT " DECISION_ROW_COLS " FROM decisions"
					" WHERE scope IN ('Ip', 'Range') ORDER BY id", &s);
		if (!err)
			err = load_piped(x, s);
	}
	if (err)
		log_error("stream index: %s", sqlite3_errmsg(h));
	free(snap);
	db_finalize(s);
	db_exec(&scan, "COMMIT");
	for (int i = 0; i < ST__MAX; i++)
		db_finalize(conn.st[i]);
	if (h != main_h)
		sqlite3_close(h);
	return err;
}

static int load_rows(struct cs_db *db, struct stream_index *x)
{
	return db->be->is_pg ? load_rows_pg(db, x) : load_rows_lite(db, x);
}

int cs_db_stream_load(struct cs_db *db)
{
	struct stream_index *x = db->stream;
	int64_t t0 = gotime_now();
	int err;

	if (!x)
		return -EINVAL;
	pthread_mutex_lock(&x->load_lock);
	/* SQLite: writers wait, nothing commits between load and READY; PostgreSQL:
	 * what commits meanwhile is merged by the next sync */
	err = txn_begin_read(db);
	if (err) {
		pthread_mutex_unlock(&x->load_lock);
		return err;
	}
	if (x->state == ST_READY && !x->stale) { /* another puller rebuilt it meanwhile */
		txn_end(db, 0);
		pthread_mutex_unlock(&x->load_lock);
		return 0;
	}
	set_state(x, ST_LOADING);
	pthread_rwlock_wrlock(&x->lock);
	index_clear(x);
	err = load_rows(db, x);
	x->generation++;
	x->stale = false;
	pthread_rwlock_unlock(&x->lock);
	if (err) {
		log_error("stream index: load failed (%d); streams are answered from SQLite", err);
		pthread_rwlock_wrlock(&x->lock);
		index_clear(x);
		pthread_rwlock_unlock(&x->lock);
	} else {
		log_info("stream index: %zu decisions, %zu groups in %.2f s%s", x->nrows, x->ngroups,
			 (double)(gotime_now() - t0) / 1e9,
			 x->from_snapshot ? " (the snapshot of the last stop, then SQLite's new rows)" : "");
	}
	set_state(x, err ? ST_FAILED : ST_READY);
	txn_end(db, 0);
	pthread_mutex_unlock(&x->load_lock);
	return err;
}

/* ---- writers (db mutex held) ---------------------------------------------------------- */

static bool active(const struct cs_db *db)
{
	return db->stream && db->stream->state == ST_READY;
}

/*
 * PostgreSQL: take the replicas' change sequence (its row lock serializes every
 * writer of decisions until COMMIT, so sequence order is commit order and ids
 * grow with it), and stamp after every last_pull any replica handed out.
 */
static int64_t pg_write_begin(struct cs_db *db, int64_t now)
{
	struct dbstmt *s = NULL;
	int64_t issued = 0;

	if (!db_prepare(db, "UPDATE decisions_epoch SET n = n + 1"
			    " RETURNING set_config('cs.seq', n::text, true), issued", &s) &&
	    db_step(s) == DB_ROW)
		issued = col_int(s, 1);
	db_finalize(s);
	return now <= issued ? issued + 1 : now;
}

int64_t stream_write_begin(struct cs_db *db, int64_t now)
{
	struct stream_index *x = db->stream;
	int64_t issued;

	int64_t epoch = 0;

	/* several writers at once on PostgreSQL's pool: the sync bounds stamps (pg_sync()) */
	if (db->be->is_pg)
		return pg_write_begin(db, now);
	if (!active(db))
		return now;
	/* inside our transaction: a difference is someone else's change */
	if (read_epoch(db, &epoch))
		epoch = x->epoch + 1;
	pthread_rwlock_wrlock(&x->lock);
	if (epoch != x->epoch)
		x->stale = true;
	x->epoch_pending = epoch;
	issued = atomic_load(&x->issued);
	if (now <= issued)
		now = issued + 1;
	x->inflight = now;
	pthread_rwlock_unlock(&x->lock);
	return now;
}

void stream_write_epoch(struct cs_db *db)
{
	int64_t epoch;

	if (!active(db) || db->be->is_pg)
		return;
	if (read_epoch(db, &epoch))
		epoch = -1; /* unknown: the next check reloads */
	pthread_rwlock_wrlock(&db->stream->lock);
	db->stream->epoch_pending = epoch;
	pthread_rwlock_unlock(&db->stream->lock);
}

void stream_write_end(struct cs_db *db)
{
	if (!active(db))
		return;
	pthread_rwlock_wrlock(&db->stream->lock);
	db->stream->inflight = 0;
	pthread_rwlock_unlock(&db->stream->lock);
}

/* A failure here leaves the index behind SQLite: it is rebuilt at the next pull. */
static void apply_failed(struct stream_index *x, int err)
{
	log_error("stream index: update failed (%d), rebuilding at the next pull", err);
	x->stale = true;
}

/*
 * PostgreSQL: our own commit is learnt like the other replicas' (pg_sync(), in
 * change-sequence order, which keeps rows[] in id order), before the next answer.
 */
static bool pg_learn_later(struct cs_db *db)
{
	if (!db->be->is_pg)
		return false;
	stream_write_end(db);
	db->stream->need_sync = true;
	return true;
}

void stream_apply_alerts(struct cs_db *db, struct cs_alert *const *alerts, size_t n,
			 const int64_t *decision_ids, int64_t created_at)
{
	struct stream_index *x = db->stream;
	struct row_in batch[ROW_BATCH];
	size_t k = 0, nb = 0;
	int err = 0;

	if (!active(db) || pg_learn_later(db))
		return;
	pthread_rwlock_wrlock(&x->lock);
	for (size_t i = 0; i < n && !err; i++) {
		const struct cs_alert *a = alerts[i];

		if (a->stored_before) { /* nothing of it inserted */
			k += a->n_decisions;
			continue;
		}
		for (size_t j = 0; j < a->n_decisions && !err; j++, k++) {
			const struct cs_decision *d = &a->decisions[j];
			int sc = scope_code(d->scope);

			if (sc < 0)
				continue;
			batch[nb] = (struct row_in){ .id = decision_ids[k], .created_at = created_at,
						     .until = gotime_deadline(a->stop_at, d->duration),
						     .value = d->value, .scope = (uint8_t)sc,
						     .simulated = d->simulated || a->simulated };
			err = row_stage(x, &batch[nb], d->scenario, d->type, d->origin);
			if (!err && ++nb == ROW_BATCH) {
				err = rows_insert(x, batch, nb);
				nb = 0;
			}
		}
	}
	if (!err)
		err = rows_insert(x, batch, nb);
	if (err)
		apply_failed(x, err);
	x->inflight = 0;
	pthread_rwlock_unlock(&x->lock);
}

void stream_apply_expire(struct cs_db *db, const int64_t *ids, size_t n, int64_t until)
{
	struct stream_index *x = db->stream;
	int err = 0;

	if (!active(db) || pg_learn_later(db))
		return;
	pthread_rwlock_wrlock(&x->lock);
	for (size_t i = 0; i < n && !err; i++) {
		uint32_t r = row_by_id(x, ids[i]);

		if (r == NIL)
			continue; /* not an Ip/Range decision */
		x->rows[r].until = until;
		err = bucket_add(x, until, r);
	}
	if (err)
		apply_failed(x, err);
	x->epoch = x->epoch_pending;
	x->inflight = 0;
	pthread_rwlock_unlock(&x->lock);
}

bool cs_db_stream_from_snapshot(struct cs_db *db)
{
	return db->stream && db->stream->from_snapshot;
}

void stream_mark_stale(struct cs_db *db)
{
	if (!active(db))
		return;
	pthread_rwlock_wrlock(&db->stream->lock);
	db->stream->stale = true;
	pthread_rwlock_unlock(&db->stream->lock);
}

/* ---- readers -------------------------------------------------------------------------- */

struct cs_db_stream {
	struct cs_db *db;
	uint64_t generation;
	bool startup;
	int64_t last_pull, now;
	int64_t max_created; /* PostgreSQL: the stamp; rows learnt after it wait for the next pull */
	bool scope_ok[2];
	uint32_t *origins; /* interned ids; NULL: any origin */
	size_t n_origins;
	bool any_origin_unknown;
	bool include_simulated;
	bool every_row;	   /* dedup=false: every decision, not one per value */
	int phase;	   /* 0: deleted, 1: new, 2: done */
	size_t pos;	   /* groups (startup) or candidate index (delta) */
	uint32_t *cand[2]; /* delta candidates: deleted, new */
	size_t ncand[2], capcand[2];
};

static bool filter_supported(const struct cs_dfilter *f)
{
	if (f->n_sc_contains || f->n_sc_not_contains || f->value || f->type || f->scenario ||
	    f->has_range || !f->n_scopes)
		return false;
	for (size_t i = 0; i < f->n_scopes; i++)
		if (scope_code(f->scopes[i]) < 0)
			return false;
	return true;
}

static int cand_add(struct cs_db_stream *st, int k, uint32_t r)
{
	if (vec_reserve((void **)&st->cand[k], &st->capcand[k], st->ncand[k], sizeof(uint32_t), 64))
		return -ENOMEM;
	st->cand[k][st->ncand[k]++] = r;
	return 0;
}

static bool in_delete_window(const struct cs_db_stream *st, int64_t until)
{
	return until < st->now && until > st->last_pull - 2 * NSEC_PER_SEC;
}

/* Delta candidates: rows created after last_pull; rows whose until falls in the window. */
static int collect_candidates(struct cs_db_stream *st, struct stream_index *x)
{
	int64_t lo = sec_of(st->last_pull - 2 * NSEC_PER_SEC), hi = sec_of(st->now);
	size_t first = 0;
	int err = 0;

	if (x->created_sorted) {
		size_t l = 0, h = x->nrows;

		while (l < h) {
			size_t mid = l + (h - l) / 2;

			if (x->rows[mid].created_at <= st->last_pull)
				l = mid + 1;
			else
				h = mid;
		}
		first = l;
	}
	for (size_t r = first; r < x->nrows && !err; r++)
		if (x->rows[r].created_at > st->last_pull)
			err = cand_add(st, 1, (uint32_t)r);
	if (hi - lo > FULL_SCAN_WINDOW || (size_t)(hi - lo) > x->nbuckets) {
		/* a long-absent bouncer: walk what exists instead of every second */
		for (size_t b = 0; b < x->nbslots && !err; b++) {
			const struct sbucket *bk = &x->buckets[b];

			if (bk->sec == INT64_MIN || bk->sec < lo || bk->sec > hi)
				continue;
			for (uint32_t i = 0; i < bk->n && !err; i++)
				if (sec_of(x->rows[bk->rows[i]].until) == bk->sec &&
				    in_delete_window(st, x->rows[bk->rows[i]].until))
					err = cand_add(st, 0, bk->rows[i]);
		}
		return err;
	}
	for (int64_t s = lo; s <= hi && !err; s++) {
		const struct sbucket *bk = bucket_find(x, s);

		for (uint32_t i = 0; bk && i < bk->n && !err; i++)
			if (sec_of(x->rows[bk->rows[i]].until) == s &&
			    in_delete_window(st, x->rows[bk->rows[i]].until))
				err = cand_add(st, 0, bk->rows[i]);
	}
	return err;
}

/*
 * PostgreSQL: learn what the other replicas (and our own writes) committed
 * since the last sync, at most every PG_SYNC_PERIOD. The sync records its start
 * time as handed out (decisions_epoch.issued) before reading: every writer
 * after it stamps later, every writer before it has committed (it held the row
 * lock our UPDATE waits for), so each row created up to synced_at is in the
 * index and pulls may hand out last_pull up to there.
 */
#define PG_SYNC_PERIOD (NSEC_PER_SEC / 10)

static bool pg_synced_recently(const struct stream_index *x, int64_t t)
{
	return !x->need_sync && t >= x->synced_at && t - x->synced_at < PG_SYNC_PERIOD;
}

static void pg_sync(struct cs_db *db)
{
	struct stream_index *x = db->stream;
	int64_t t = gotime_now(), n = 0, hard = 0;
	struct dbstmt *s = NULL;
	int err;

	if (pg_synced_recently(x, t) || pthread_mutex_trylock(&x->sync_lock))
		return; /* recent enough, or another puller is syncing: its stamp bound holds */
	if (txn_begin_lazy(db)) {
		pthread_mutex_unlock(&x->sync_lock);
		return;
	}
	t = gotime_now();
	err = db_prepare(db, "UPDATE decisions_epoch SET issued = GREATEST(issued, ?)"
			     " RETURNING n, hard", &s);
	if (!err) {
		bind_int(s, 1, t);
		err = db_step(s) == DB_ROW ? 0 : -EIO;
		if (!err) {
			n = col_int(s, 0);
			hard = col_int(s, 1);
		}
		db_finalize(s);
		s = NULL;
	}
	if (!err && hard != x->hard) {
		pthread_rwlock_wrlock(&x->lock);
		x->stale = true; /* rows were deleted: only a reload knows which */
		pthread_rwlock_unlock(&x->lock);
	} else if (!err && n != x->epoch) {
		err = db_prepare(db, "SELECT " DECISION_ROW_COLS " FROM decisions WHERE seq > ?"
				     " AND scope IN ('Ip', 'Range') ORDER BY id", &s);
		if (!err) {
			bind_int(s, 1, x->epoch);
			pthread_rwlock_wrlock(&x->lock);
			err = merge_rows(x, s);
			if (err)
				apply_failed(x, err);
			x->epoch = n;
			pthread_rwlock_unlock(&x->lock);
			db_finalize(s);
		}
	}
	err = txn_end(db, err);
	if (!err) {
		x->synced_at = t;
		x->need_sync = false;
	}
	pthread_mutex_unlock(&x->sync_lock);
}

/* Another process committed: did it touch decision rows? (trylock: never wait) */
static void check_external(struct cs_db *db)
{
	struct stream_index *x = db->stream;
	int64_t v, epoch;
	struct dbstmt *s;

	if (db->be->is_pg) {
		pg_sync(db);
		return;
	}

	if (cs_db_external_version(db, &v) || v == atomic_load(&x->ext_version) ||
	    pthread_mutex_trylock(&db->conns[0].lock))
		return;
	s = stmt(db, ST_DECISIONS_EPOCH);
	if (s && db_step(s) == DB_ROW) {
		epoch = col_int(s, 0);
		pthread_rwlock_wrlock(&x->lock);
		if (epoch != x->epoch)
			x->stale = true;
		pthread_rwlock_unlock(&x->lock);
		atomic_store(&x->ext_version, v);
	}
	if (s)
		db_reset(s);
	pthread_mutex_unlock(&db->conns[0].lock);
}

static int wait_ready(struct cs_db *db)
{
	struct stream_index *x = db->stream;
	int st;

	if (!x)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&x->state_lock);
	while (x->state == ST_LOADING)
		pthread_cond_wait(&x->state_cond, &x->state_lock);
	st = x->state;
	pthread_mutex_unlock(&x->state_lock);
	if (st != ST_READY)
		return -EOPNOTSUPP;
	check_external(db);
	if (!x->stale)
		return 0;
	/* hard deletes happened: rebuild from the database (the first puller does) */
	if (cs_db_stream_load(db))
		return -EOPNOTSUPP;
	if (db->be->is_pg)
		pg_sync(db);
	return 0;
}

void cs_db_stream_end(struct cs_db_stream *st)
{
	if (!st)
		return;
	free(st->origins);
	free(st->cand[0]);
	free(st->cand[1]);
	free(st);
}

int cs_db_stream_begin(struct cs_db *db, const struct cs_dfilter *f, bool startup,
		       int64_t last_pull, int64_t now, struct cs_db_stream **out, int64_t *stamp)
{
	struct stream_index *x = db->stream;
	struct cs_db_stream *st;
	int64_t inflight, issued;
	int err;

	*out = NULL;
	if (!filter_supported(f))
		return -EOPNOTSUPP;
	err = wait_ready(db);
	if (err)
		return err;
	st = calloc(1, sizeof(*st));
	if (!st || (f->n_origins && !(st->origins = calloc(f->n_origins, sizeof(uint32_t))))) {
		cs_db_stream_end(st);
		return -ENOMEM;
	}
	st->db = db;
	st->startup = startup;
	st->last_pull = last_pull;
	st->now = now;
	st->include_simulated = f->include_simulated;
	st->every_row = f->no_dedup;
	for (size_t i = 0; i < f->n_scopes; i++)
		st->scope_ok[scope_code(f->scopes[i])] = true;
	pthread_rwlock_rdlock(&x->lock);
	st->generation = x->generation;
	for (size_t i = 0; i < f->n_origins; i++) {
		/* a lookup, not an insert: a filter must not grow the table */
		uint32_t id = NIL;

		for (uint32_t k = 0; k < x->strs.n && id == NIL; k++)
			if (!strcmp(x->strs.s[k], f->origins[i]))
				id = k;
		st->origins[st->n_origins++] = id;
	}
	/* the next pull must still see a write that is not applied yet */
	inflight = x->inflight;
	*stamp = inflight && inflight <= now ? inflight - 1 : now;
	if (db->be->is_pg && x->synced_at < *stamp) /* rows up to synced_at only are known */
		*stamp = x->synced_at;
	/* a sync running beside this pull may add later rows: the next pull sends them */
	st->max_created = db->be->is_pg ? *stamp : INT64_MAX;
	issued = atomic_load(&x->issued);
	while (issued < *stamp && !atomic_compare_exchange_weak(&x->issued, &issued, *stamp))
		;
	err = startup ? 0 : collect_candidates(st, x);
	pthread_rwlock_unlock(&x->lock);
	if (err) {
		cs_db_stream_end(st);
		return err;
	}
	*out = st;
	return 0;
}

static bool row_passes(const struct cs_db_stream *st, const struct stream_index *x,
		       const struct srow *r)
{
	if (!st->scope_ok[x->groups[r->group].scope] || (r->simulated && !st->include_simulated))
		return false;
	if (!st->origins)
		return true;
	for (size_t i = 0; i < st->n_origins; i++)
		if (st->origins[i] == r->origin)
			return true;
	return false;
}

static int emit(struct cs_db_stream *st, struct stream_index *x, uint32_t r, bool deleted,
		cs_db_decision_cb cb, void *ctx)
{
	const struct srow *row = &x->rows[r];
	const struct sgroup *g = &x->groups[row->group];
	struct cs_decision d = {
		.id = row->id,
		.created_at = row->created_at,
		.until = row->until,
		.duration = row->until - st->now,
		.scenario = x->strs.s[row->scenario],
		.type = x->strs.s[g->type],
		.scope = (char *)scope_names[g->scope],
		.value = (char *)g->value,
		.origin = x->strs.s[row->origin],
		.simulated = row->simulated,
	};

	return cb(ctx, deleted, &d);
}

int cs_db_stream_next(struct cs_db_stream *st, size_t max, cs_db_decision_cb cb, void *ctx)
{
	struct stream_index *x = st->db->stream;
	size_t emitted = 0, scanned = 0;
	int err = 0;

	pthread_rwlock_rdlock(&x->lock);
	if (x->generation != st->generation) {
		pthread_rwlock_unlock(&x->lock);
		return -ESTALE;
	}
	while (st->phase < 2 && emitted < max && scanned < max * 8 && !err) {
		bool deleted = st->phase == 0;
		size_t end = !st->startup ? st->ncand[st->phase] : st->every_row ? x->nrows : x->ngroups;
		uint32_t r, w;

		if (st->pos >= end) {
			st->phase++;
			st->pos = 0;
			continue;
		}
		scanned++;
		if (st->startup) {
			r = st->every_row ? (uint32_t)st->pos++ : group_winner(x, (uint32_t)st->pos++);
			if (r == NIL || (deleted ? x->rows[r].until >= st->now
						 : x->rows[r].until <= st->now ||
							   x->rows[r].created_at > st->max_created))
				continue;
		} else {
			r = st->cand[st->phase][st->pos++];
			w = st->every_row ? r : group_winner(x, x->rows[r].group);
			if (w != r)
				continue;
			if (deleted ? !in_delete_window(st, x->rows[r].until)
				    : x->rows[r].until <= st->now || x->rows[r].created_at <= st->last_pull ||
					      x->rows[r].created_at > st->max_created)
				continue;
		}
		if (!row_passes(st, x, &x->rows[r]))
			continue;
		err = emit(st, x, r, deleted, cb, ctx);
		emitted++;
	}
	pthread_rwlock_unlock(&x->lock);
	return err ? err : st->phase < 2;
}
