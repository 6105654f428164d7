// SPDX-License-Identifier: MIT
/*
 * API-key bouncers in memory, so a pull with nothing new costs no database
 * access at all:
 *  - the bouncer found by its key hash is reused until another process
 *    (cscli, which writes bouncers to the database directly) commits; while
 *    the database handle is busy and cannot be asked, for BCACHE_TTL since the
 *    last time it could;
 *  - last_pull lives here and is written back in one transaction every
 *    BCACHE_FLUSH_SEC and at stop. A crash loses at most that much bookkeeping:
 *    the bouncer's next delta then starts earlier, which re-sends decisions it
 *    has (harmless), never skips one.
 * On PostgreSQL other LAPIs serve the same bouncers (a bouncer may pull from
 * any replica), and a pull with nothing new still costs no query:
 *  - the entries stay good until cs_db_bouncers_epoch() moves (a bouncer
 *    deleted, re-keyed, revoked), which one puller asks at most every
 *    BCACHE_PG_CHECK, or for BCACHE_PG_TTL;
 *  - an empty answer's last_pull waits here for the batch: a replica that
 *    starts from the older one in the database finds nothing in between either.
 *    An answer that carries decisions is checked against the database's
 *    last_pull first (bcache_recheck(): another replica may have sent them)
 *    and its own is written at once, so that the next replica knows.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/condwait.h"
#include "common/gotime.h"
#include "common/log.h"
#include "common/pwhash.h"
#include "common/worker.h"
#include "lapi/lapi_int.h"

#define BCACHE_TTL (1 * NSEC_PER_SEC)
#define BCACHE_PG_CHECK (NSEC_PER_SEC / 10)
#define BCACHE_PG_TTL (30 * NSEC_PER_SEC) /* the seen-at columns the epoch ignores */
#define BCACHE_FLUSH_SEC 2
#define BCACHE_MAX 65536 /* bouncers kept; beyond, lookups go to the database */

struct bentry {
	char hash[APIKEY_HASH_LEN];
	struct cs_bouncer b;
	int64_t checked;
	bool dirty; /* last_pull not written yet */
};

struct bouncer_cache {
	pthread_mutex_t lock;
	struct bentry **slots; /* open addressing on the key hash */
	size_t nslots, n;
	int64_t version; /* the db's external version (PostgreSQL: bouncers epoch) checked at */
	uint64_t gen;	 /* entries invalidated this many times */
	_Atomic int64_t pg_checked_at;
	pthread_mutex_t pg_lock; /* one epoch query at a time */
	pthread_t thread;
	bool running, stopping;
	pthread_cond_t cond;
};

static size_t slot_of(const struct bouncer_cache *c, const char *hash)
{
	uint64_t h = 0;

	/* the key hash is SHA-512 hex: its first 16 digits are already uniform */
	for (int i = 0; i < 16 && hash[i]; i++)
		h = h << 4 | (uint64_t)(hash[i] <= '9' ? hash[i] - '0' : (hash[i] | 32) - 'a' + 10);
	return h & (c->nslots - 1);
}

static struct bentry **find(struct bouncer_cache *c, const char *hash)
{
	size_t i = slot_of(c, hash);

	while (c->slots[i] && strcmp(c->slots[i]->hash, hash))
		i = (i + 1) & (c->nslots - 1);
	return &c->slots[i];
}

static int copy_bouncer(const struct cs_bouncer *src, struct cs_bouncer *dst)
{
	*dst = *src;
	dst->name = strdup(src->name ? src->name : "");
	dst->api_key = strdup(src->api_key ? src->api_key : "");
	dst->ip_address = strdup(src->ip_address ? src->ip_address : "");
	dst->type = strdup(src->type ? src->type : "");
	dst->version = strdup(src->version ? src->version : "");
	dst->auth_type = strdup(src->auth_type ? src->auth_type : "");
	if (!dst->name || !dst->api_key || !dst->ip_address || !dst->type || !dst->version ||
	    !dst->auth_type) {
		cs_bouncer_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

/* Remove the entry at *pp and re-seat the probe chain after it. */
static void remove_at(struct bouncer_cache *c, struct bentry **pp)
{
	size_t i = (size_t)(pp - c->slots);

	cs_bouncer_clear(&(*pp)->b);
	free(*pp);
	*pp = NULL;
	c->n--;
	for (i = (i + 1) & (c->nslots - 1); c->slots[i]; i = (i + 1) & (c->nslots - 1)) {
		struct bentry *e = c->slots[i];

		c->slots[i] = NULL;
		*find(c, e->hash) = e;
	}
}

/*
 * PostgreSQL: the bouncers epoch, asked by one puller at most every
 * BCACHE_PG_CHECK; -EAGAIN when it is not this caller's turn.
 */
static int pg_epoch(struct bouncer_cache *c, struct cs_db *db, int64_t now, int64_t *epoch)
{
	int err;

	if (now - atomic_load(&c->pg_checked_at) < BCACHE_PG_CHECK ||
	    pthread_mutex_trylock(&c->pg_lock))
		return -EAGAIN;
	atomic_store(&c->pg_checked_at, now); /* a failing database is not asked at every pull */
	err = cs_db_bouncers_epoch(db, epoch);
	pthread_mutex_unlock(&c->pg_lock);
	return err;
}

int bcache_get(struct cs_lapi *l, const char *hash, struct cs_bouncer *out)
{
	struct bouncer_cache *c = l->bcache;
	struct cs_bouncer fresh;
	int64_t now = gotime_now();
	bool pg = cs_db_is_pg(l->db);
	int64_t ttl = pg ? BCACHE_PG_TTL : BCACHE_TTL;
	struct bentry **pp, *e;
	int64_t version;
	uint64_t gen;
	bool current;
	int err;

	err = pg ? pg_epoch(c, l->db, now, &version) : cs_db_external_version(l->db, &version);
	pthread_mutex_lock(&c->lock);
	if (!err && version != c->version) { /* someone else wrote: check everyone again */
		for (size_t i = 0; i < c->nslots; i++)
			if (c->slots[i])
				c->slots[i]->checked = INT64_MIN / 2;
		c->version = version;
		c->gen++;
	}
	pp = find(c, hash);
	/* checked <= 0: invalidated. SQLite, the version just read unchanged: the
	 * entry is as good as the database's row, and reading it again every TTL
	 * would queue the pullers behind the db mutex (a commit holds it) once a
	 * second. PostgreSQL re-reads after its TTL: the epoch misses seen-at columns. */
	current = !err && !pg;
	if (*pp && (*pp)->checked > 0 && (current || now - (*pp)->checked < ttl)) {
		if (current)
			(*pp)->checked = now;
		err = copy_bouncer(&(*pp)->b, out);
		pthread_mutex_unlock(&c->lock);
		return err;
	}
	gen = c->gen;
	pthread_mutex_unlock(&c->lock);
	err = cs_db_bouncer_by_key(l->db, hash, &fresh);
	/* tests count these lines: a pull answered from the cache logs none */
	if (!err)
		log_debug("bouncer cache: %s read from the database", fresh.name);
	pthread_mutex_lock(&c->lock);
	pp = find(c, hash);
	if (err) {
		if (*pp && err == -ENOENT)
			remove_at(c, pp);
		pthread_mutex_unlock(&c->lock);
		return err;
	}
	if (*pp) { /* the pulls recorded here are newer than what was written */
		e = *pp;
		if (e->b.last_pull > fresh.last_pull)
			fresh.last_pull = e->b.last_pull;
		cs_bouncer_clear(&e->b);
	} else if (c->n < BCACHE_MAX) {
		e = calloc(1, sizeof(*e));
		if (e) {
			memcpy(e->hash, hash, sizeof(e->hash));
			*pp = e;
			c->n++;
		}
	} else {
		e = NULL;
	}
	if (e) {
		e->b = fresh;
		/* invalidated while we read: this answer may predate the change */
		e->checked = gen == c->gen ? now : INT64_MIN / 2;
		err = copy_bouncer(&e->b, out);
	} else {
		*out = fresh;
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

int bcache_recheck(struct cs_lapi *l, struct cs_bouncer *b)
{
	struct bouncer_cache *c = l->bcache;
	struct cs_bouncer fresh;
	struct bentry **pp;
	int err;

	if (!cs_db_is_pg(l->db) || !b->api_key || strcmp(b->auth_type, "api-key"))
		return 0;
	err = cs_db_bouncer_by_key(l->db, b->api_key, &fresh);
	if (err)
		return err;
	err = fresh.id == b->id && fresh.last_pull > b->last_pull;
	if (err) {
		b->last_pull = fresh.last_pull;
		pthread_mutex_lock(&c->lock);
		pp = find(c, b->api_key);
		if (*pp && (*pp)->b.id == b->id && (*pp)->b.last_pull < fresh.last_pull)
			(*pp)->b.last_pull = fresh.last_pull;
		pthread_mutex_unlock(&c->lock);
	}
	cs_bouncer_clear(&fresh);
	return err;
}

void bcache_seen(struct cs_lapi *l, const char *hash, const char *ip, const char *type,
		 const char *version)
{
	struct bouncer_cache *c = l->bcache;
	struct bentry **pp;

	pthread_mutex_lock(&c->lock);
	pp = find(c, hash);
	if (*pp) {
		char *a = strdup(ip), *b = strdup(type), *v = strdup(version);

		if (a && b && v) {
			free((*pp)->b.ip_address);
			free((*pp)->b.type);
			free((*pp)->b.version);
			(*pp)->b.ip_address = a;
			(*pp)->b.type = b;
			(*pp)->b.version = v;
		} else {
			free(a);
			free(b);
			free(v);
			(*pp)->checked = 0; /* look it up again next time */
		}
	}
	pthread_mutex_unlock(&c->lock);
}

void bcache_pulled(struct cs_lapi *l, const struct cs_bouncer *b, int64_t stamp, bool delivered)
{
	struct bouncer_cache *c = l->bcache;
	bool now = delivered && cs_db_is_pg(l->db);
	struct bentry **pp;

	pthread_mutex_lock(&c->lock);
	pp = find(c, b->api_key ? b->api_key : "");
	if (*pp && (*pp)->b.id == b->id) {
		if ((*pp)->b.last_pull < stamp)
			(*pp)->b.last_pull = stamp;
		if (!now) {
			(*pp)->dirty = true;
			pthread_mutex_unlock(&c->lock);
			return;
		}
	}
	pthread_mutex_unlock(&c->lock);
	/* delivered on PostgreSQL, or not cached (TLS bouncers) */
	cs_db_bouncer_set_last_pull(l->db, b->id, stamp);
}

int bcache_flush(struct cs_lapi *l)
{
	struct bouncer_cache *c = l->bcache;
	int64_t *ids, *ts;
	size_t n = 0;
	int err = 0;

	pthread_mutex_lock(&c->lock);
	ids = malloc((c->n + 1) * sizeof(*ids));
	ts = malloc((c->n + 1) * sizeof(*ts));
	for (size_t i = 0; ids && ts && i < c->nslots; i++) {
		if (c->slots[i] && c->slots[i]->dirty) {
			ids[n] = c->slots[i]->b.id;
			ts[n++] = c->slots[i]->b.last_pull;
			c->slots[i]->dirty = false;
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (!ids || !ts)
		err = -ENOMEM;
	else if (n)
		err = cs_db_bouncers_set_last_pull(l->db, ids, ts, n);
	if (err)
		log_warn("cannot record the bouncers' last pull (%d)", err);
	free(ids);
	free(ts);
	return err;
}

static void *flush_main(void *arg)
{
	struct cs_lapi *l = arg;
	struct bouncer_cache *c = l->bcache;

	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		cs_cond_wait_ms(&c->cond, &c->lock, BCACHE_FLUSH_SEC * 1000LL);
		pthread_mutex_unlock(&c->lock);
		bcache_flush(l);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int bcache_start(struct cs_lapi *l)
{
	struct bouncer_cache *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->nslots = 2 * BCACHE_MAX;
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->pg_lock, NULL);
	cs_cond_init_mono(&c->cond);
	l->bcache = c;
	err = -pthread_create(&c->thread, NULL, flush_main, l);
	c->running = !err;
	return err;
}

void bcache_stop(struct cs_lapi *l)
{
	struct bouncer_cache *c = l->bcache;

	if (!c)
		return;
	if (c->running) {
		cs_worker_stop(&c->lock, &c->cond, &c->stopping, c->thread);
		bcache_flush(l);
	}
	for (size_t i = 0; i < c->nslots; i++) {
		if (c->slots[i]) {
			cs_bouncer_clear(&c->slots[i]->b);
			free(c->slots[i]);
		}
	}
	free(c->slots);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->pg_lock);
	pthread_cond_destroy(&c->cond);
	free(c);
	l->bcache = NULL;
}
