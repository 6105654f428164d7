// SPDX-License-Identifier: MIT
#include "common/strmap.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/hash.h"
#include "common/vec.h"

struct strmap_ent {
	char *key;	/* an interned key's name when k is set */
	char *val;
	size_t len;
	const struct strmap_key *k;	/* the key it was set by, NULL: set by a name */
	uint32_t vcap;	/* bytes val may hold, its NUL included */
	uint32_t hash;	/* hash_str(key) */
	uint8_t heap;	/* HEAP_KEY | HEAP_VAL: malloc'ed, not in the arena */
};

#define HEAP_KEY 1
#define HEAP_VAL 2

/*
 * Keys and values live in an arena of chunks that never move (getters' pointers
 * stay valid) and that clear() empties in one step: an event's maps are filled
 * and cleared once per log line, a malloc and a free per string was a fifth of
 * the detector. Long values, and everything once DEAD_MAX bytes were dropped by
 * overwrites and deletes since the last clear(), are malloc'ed one by one, so a
 * map that is overwritten forever without a clear stays bounded.
 */
#define CHUNK_FIRST 1024u
#define CHUNK_MAX (64u << 10)
#define ARENA_STR_MAX 1024u
#define DEAD_MAX (64u << 10)
#define CHUNK_KEEP 4096u	/* a cleared map keeps its newest chunk up to this size */

/*
 * Entries live in a dense array (insertion order); `index` is an open-addressing
 * table of entry numbers + 1 (0 = empty slot), sized to a power of two at most
 * half full. An interned key brings its hash and is told from the entries it
 * meets by pointer; a name set or read by its text compares as text (an entry
 * of either kind has the same hash, so the two ways agree). Deletion is rare
 * (statics never delete), so it just rebuilds.
 */
struct strmap {
	struct strmap_ent *ents;
	size_t n, cap;
	uint32_t *index;
	size_t nslots;
	uint64_t version;	/* see strmap_version() */
	struct cs_arena arena;	/* chunks of CHUNK_FIRST doubling to CHUNK_MAX */
	size_t dead;	/* arena bytes no entry uses any more */
	bool heap;	/* a string went to the heap since the last clear() */
};

#define VERSION_BLOCK (1u << 16)

static uint64_t last_version;
static __thread uint64_t next_version, end_version;

/*
 * Process-wide unique, so that no two maps ever share a version (versions are
 * only compared for equality). Each thread takes them in blocks: one shared
 * atomic per map change made the detector's parsing threads fight over a cache
 * line tens of times per line.
 */
static void bump(struct strmap *m)
{
	if (next_version == end_version) {
		next_version = __atomic_fetch_add(&last_version, VERSION_BLOCK, __ATOMIC_RELAXED) + 1;
		end_version = next_version + VERSION_BLOCK - 1;
	}
	m->version = next_version++;
}

uint64_t strmap_version(const struct strmap *m)
{
	return m ? m->version : 0;
}

/* Keys are log field names and JSON keys a log writer chooses: seeded hash. */
static uint32_t hash_str(const char *s)
{
	return (uint32_t)cs_hash_str(s);
}

/*
 * The interned keys: written under keys_mu, read without a lock (a slot is
 * published once, complete, and never changes), at most half full so a probe
 * always ends.
 */
#define KEY_SLOTS (2 * STRMAP_KEYS_MAX)

static const struct strmap_key *key_slots[KEY_SLOTS];
static uint32_t nkeys;
static pthread_mutex_t keys_mu = PTHREAD_MUTEX_INITIALIZER;

static const struct strmap_key *key_lookup(const char *name, uint32_t h)
{
	if (!__atomic_load_n(&nkeys, __ATOMIC_ACQUIRE))
		return NULL;
	for (uint32_t s = h % KEY_SLOTS;; s = (s + 1) % KEY_SLOTS) {
		const struct strmap_key *k = __atomic_load_n(&key_slots[s], __ATOMIC_ACQUIRE);

		if (!k)
			return NULL;
		if (k->hash == h && !strcmp(k->name, name))
			return k;
	}
}

const struct strmap_key *strmap_key_find(const char *name)
{
	return key_lookup(name, hash_str(name));
}

const struct strmap_key *strmap_key_intern(const char *name)
{
	uint32_t h = hash_str(name), s;
	const struct strmap_key *k = key_lookup(name, h);
	struct strmap_key *nk;
	size_t len;

	if (k)
		return k;
	pthread_mutex_lock(&keys_mu);
	k = key_lookup(name, h);
	if (k || nkeys == STRMAP_KEYS_MAX)
		goto out;
	len = strlen(name);
	nk = malloc(sizeof(*nk) + len + 1);
	if (!nk)
		goto out;
	memcpy(nk + 1, name, len + 1);
	*nk = (struct strmap_key){ .name = (const char *)(nk + 1), .len = len, .hash = h };
	for (s = h % KEY_SLOTS; key_slots[s]; s = (s + 1) % KEY_SLOTS)
		;
	__atomic_store_n(&key_slots[s], nk, __ATOMIC_RELEASE);
	__atomic_store_n(&nkeys, nkeys + 1, __ATOMIC_RELEASE);
	k = nk;
out:
	pthread_mutex_unlock(&keys_mu);
	return k;
}

struct strmap *strmap_new(void)
{
	struct strmap *m = calloc(1, sizeof(struct strmap));

	if (m) {
		m->arena = (struct cs_arena){ .first = CHUNK_FIRST, .max = CHUNK_MAX };
		bump(m);
	}
	return m;
}

static void ent_free(struct strmap_ent *e)
{
	if (e->heap & HEAP_KEY)
		free(e->key);
	if (e->heap & HEAP_VAL)
		free(e->val);
}

void strmap_clear(struct strmap *m)
{
	if (!m)
		return;
	bump(m);
	for (size_t i = 0; m->heap && i < m->n; i++)
		ent_free(&m->ents[i]);
	m->heap = false;
	m->n = 0;
	m->dead = 0;
	if (m->index)
		memset(m->index, 0, m->nslots * sizeof(*m->index));
	/* the newest chunk is the largest: it alone is kept, the largest one that is small */
	cs_arena_reset(&m->arena, CHUNK_KEEP);
}

void strmap_free(struct strmap *m)
{
	if (!m)
		return;
	strmap_clear(m);
	cs_arena_free(&m->arena);
	free(m->ents);
	free(m->index);
	free(m);
}

/* The slot of name (k: its key when interned), or -1 - a free slot. */
static long find_slot(const struct strmap *m, const char *name, uint32_t h,
		      const struct strmap_key *k)
{
	size_t mask = m->nslots - 1;

	if (!m->nslots)
		return -1;
	for (size_t s = h & mask;; s = (s + 1) & mask) {
		uint32_t i = m->index[s];
		const struct strmap_ent *e;

		if (!i)
			return -1 - (long)s; /* free slot, encoded */
		e = &m->ents[i - 1];
		/* two interned keys are the same name only if they are the same key */
		if (e->hash == h && (k && e->k ? e->k == k : !strcmp(e->key, name)))
			return (long)s;
	}
}

static struct strmap_ent *find_ent(const struct strmap *m, const char *name, uint32_t h,
				   const struct strmap_key *k)
{
	long slot = find_slot(m, name, h, k);

	return slot >= 0 ? &m->ents[m->index[slot] - 1] : NULL;
}

static void reindex(struct strmap *m)
{
	memset(m->index, 0, m->nslots * sizeof(*m->index));
	for (size_t i = 0; i < m->n; i++) {
		size_t s = m->ents[i].hash & (m->nslots - 1);

		while (m->index[s])
			s = (s + 1) & (m->nslots - 1);
		m->index[s] = i + 1;
	}
}

static int grow_index(struct strmap *m, size_t nslots)
{
	uint32_t *idx = calloc(nslots, sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	free(m->index);
	m->index = idx;
	m->nslots = nslots;
	reindex(m);
	return 0;
}

/* Room for n bytes that stays put until clear(); NULL on ENOMEM or when it goes to the heap. */
static char *arena_alloc(struct strmap *m, size_t n)
{
	if (n > ARENA_STR_MAX || m->dead > DEAD_MAX)
		return NULL;
	return cs_arena_alloc(&m->arena, n);
}

/* A copy of s[0..len) with a NUL, in the arena or on the heap (*heap |= flag). */
static char *store(struct strmap *m, const char *s, size_t len, uint8_t *heap, uint8_t flag)
{
	char *d = arena_alloc(m, len + 1);

	if (!d) {
		d = malloc(len + 1);
		if (!d)
			return NULL;
		*heap |= flag;
		m->heap = true;
	} else {
		*heap &= (uint8_t)~flag;
	}
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* Set name (hash h, k: its key when interned) to val[0..len). */
static int set(struct strmap *m, const char *name, uint32_t h, const struct strmap_key *k,
	       const char *val, size_t len)
{
	long slot = find_slot(m, name, h, k);
	struct strmap_ent *o = slot >= 0 ? &m->ents[m->index[slot] - 1] : NULL, *e;

	if (!val) {
		val = "";
		len = 0;
	}
	if (o) {
		uint8_t heap = o->heap & HEAP_VAL;
		char *v;

		bump(m);
		if (len < o->vcap) {
			/* val may point into this very value */
			memmove(o->val, val, len);
			o->val[len] = '\0';
			o->len = len;
			return 0;
		}
		v = store(m, val, len, &heap, HEAP_VAL);
		if (!v)
			return -ENOMEM;
		if (o->heap & HEAP_VAL)
			free(o->val);
		else
			m->dead += o->vcap;
		o->heap = (uint8_t)((o->heap & HEAP_KEY) | (heap & HEAP_VAL));
		o->val = v;
		o->vcap = (uint32_t)(len + 1);
		o->len = len;
		return 0;
	}
	if (len >= UINT32_MAX)
		return -ENOMEM;
	if (vec_reserve((void **)&m->ents, &m->cap, m->n, sizeof(*m->ents), 8))
		return -ENOMEM;
	if ((m->n + 1) * 2 > m->nslots) {
		if (grow_index(m, m->nslots ? m->nslots * 2 : 16))
			return -ENOMEM;
		slot = find_slot(m, name, h, k);
	}
	/*
	 * Filled in place: an entry built on the stack and copied was read back
	 * by wide loads that waited for its narrow stores (half of set()'s time).
	 */
	e = &m->ents[m->n];
	e->heap = 0;
	e->hash = h;
	e->k = k;
	e->val = store(m, val, len, &e->heap, HEAP_VAL);
	if (!e->val)
		return -ENOMEM;
	if (k) {
		e->key = (char *)k->name;
	} else {
		e->key = store(m, name, strlen(name), &e->heap, HEAP_KEY);
		if (!e->key) {
			ent_free(e);
			return -ENOMEM;
		}
	}
	e->len = len;
	e->vcap = (uint32_t)(len + 1);
	bump(m);
	m->n++;
	/* the free slot the probe ended on (the table has room by construction) */
	m->index[-1 - slot] = m->n;
	return 0;
}

int strmap_setn(struct strmap *m, const char *key, const char *val, size_t len)
{
	return set(m, key, hash_str(key), NULL, val, len);
}

int strmap_setk(struct strmap *m, const struct strmap_key *k, const char *val, size_t len)
{
	return set(m, k->name, k->hash, k, val, len);
}

int strmap_set(struct strmap *m, const char *key, const char *val)
{
	return strmap_setn(m, key, val, val ? strlen(val) : 0);
}

static const char *get(const struct strmap_ent *e, size_t *len)
{
	if (!e)
		return NULL;
	if (len)
		*len = e->len;
	return e->val;
}

const char *strmap_getn(const struct strmap *m, const char *key, size_t *len)
{
	if (!m)
		return NULL;
	return get(find_ent(m, key, hash_str(key), NULL), len);
}

const char *strmap_getk(const struct strmap *m, const struct strmap_key *k, size_t *len)
{
	return m ? get(find_ent(m, k->name, k->hash, k), len) : NULL;
}

const char *strmap_get(const struct strmap *m, const char *key)
{
	return strmap_getn(m, key, NULL);
}

bool strmap_has(const struct strmap *m, const char *key)
{
	return strmap_getn(m, key, NULL) != NULL;
}

int strmap_del(struct strmap *m, const char *key)
{
	struct strmap_ent *e = find_ent(m, key, hash_str(key), NULL);
	size_t i;

	if (!e)
		return -ENOENT;
	bump(m);
	i = (size_t)(e - m->ents);
	if (!e->k && !(e->heap & HEAP_KEY))
		m->dead += strlen(e->key) + 1;
	if (!(e->heap & HEAP_VAL))
		m->dead += e->vcap;
	ent_free(e);
	memmove(&m->ents[i], &m->ents[i + 1], (m->n - i - 1) * sizeof(*m->ents));
	m->n--;
	reindex(m);
	return 0;
}

size_t strmap_count(const struct strmap *m)
{
	return m ? m->n : 0;
}

bool strmap_at(const struct strmap *m, size_t i, const char **key, const char **val, size_t *len)
{
	if (!m || i >= m->n)
		return false;
	if (key)
		*key = m->ents[i].key;
	if (val)
		*val = m->ents[i].val;
	if (len)
		*len = m->ents[i].len;
	return true;
}

struct strmap *strmap_dup(const struct strmap *m)
{
	struct strmap *d;

	if (!m)
		return NULL;
	d = strmap_new();
	if (!d)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (m->ents[i].k ? strmap_setk(d, m->ents[i].k, m->ents[i].val, m->ents[i].len) :
				   strmap_setn(d, m->ents[i].key, m->ents[i].val, m->ents[i].len)) {
			strmap_free(d);
			return NULL;
		}
	return d;
}
