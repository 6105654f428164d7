// SPDX-License-Identifier: MIT
#include "common/strmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/vec.h"

struct strmap_ent {
	char *key;
	char *val;
	size_t len;
	uint32_t vcap;	/* bytes val may hold, its NUL included */
	uint32_t hash;
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
struct strmap_chunk {
	struct strmap_chunk *next;
	size_t size, used;
	char data[];
};

#define CHUNK_FIRST 1024u
#define CHUNK_MAX (64u << 10)
#define ARENA_STR_MAX 1024u
#define DEAD_MAX (64u << 10)
#define CHUNK_KEEP 4096u	/* a cleared map keeps its newest chunk up to this size */

/*
 * Entries live in a dense array (insertion order); `index` is an open-addressing
 * table of entry numbers + 1 (0 = empty slot), sized to a power of two at most
 * half full. Deletion is rare (statics never delete), so it just rebuilds.
 */
struct strmap {
	struct strmap_ent *ents;
	size_t n, cap;
	uint32_t *index;
	size_t nslots;
	uint64_t version;	/* see strmap_version() */
	struct strmap_chunk *chunks;	/* newest (largest) first */
	size_t dead;	/* arena bytes no entry uses any more */
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

struct strmap *strmap_new(void)
{
	struct strmap *m = calloc(1, sizeof(struct strmap));

	if (m)
		bump(m);
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
	struct strmap_chunk *c, *next;

	if (!m)
		return;
	bump(m);
	for (size_t i = 0; i < m->n; i++)
		ent_free(&m->ents[i]);
	m->n = 0;
	m->dead = 0;
	if (m->index)
		memset(m->index, 0, m->nslots * sizeof(*m->index));
	/* the newest chunk is the largest: it alone is kept, the largest one that is small */
	while ((c = m->chunks) && c->size > CHUNK_KEEP) {
		m->chunks = c->next;
		free(c);
	}
	if (c) {
		for (struct strmap_chunk *o = c->next; o; o = next) {
			next = o->next;
			free(o);
		}
		c->next = NULL;
		c->used = 0;
	}
}

void strmap_free(struct strmap *m)
{
	if (!m)
		return;
	strmap_clear(m);
	free(m->chunks);
	free(m->ents);
	free(m->index);
	free(m);
}

static long find_slot(const struct strmap *m, const char *key, uint32_t h)
{
	size_t mask = m->nslots - 1;

	if (!m->nslots)
		return -1;
	for (size_t s = h & mask;; s = (s + 1) & mask) {
		uint32_t e = m->index[s];

		if (!e)
			return -1 - (long)s; /* free slot, encoded */
		if (m->ents[e - 1].hash == h && !strcmp(m->ents[e - 1].key, key))
			return (long)s;
	}
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
	struct strmap_chunk *c = m->chunks;
	size_t size;

	if (n > ARENA_STR_MAX || m->dead > DEAD_MAX)
		return NULL;
	if (c && c->size - c->used >= n) {
		c->used += n;
		return c->data + c->used - n;
	}
	size = c ? c->size * 2 : CHUNK_FIRST;
	if (size > CHUNK_MAX)
		size = CHUNK_MAX;
	c = malloc(sizeof(*c) + size);
	if (!c)
		return NULL;
	*c = (struct strmap_chunk){ .next = m->chunks, .size = size, .used = n };
	m->chunks = c;
	return c->data;
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
	} else {
		*heap &= (uint8_t)~flag;
	}
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

int strmap_setn(struct strmap *m, const char *key, const char *val, size_t len)
{
	uint32_t h = hash_str(key);
	long slot = find_slot(m, key, h);
	struct strmap_ent e = { .hash = h };

	if (!val) {
		val = "";
		len = 0;
	}
	if (slot >= 0) {
		struct strmap_ent *o = &m->ents[m->index[slot] - 1];
		char *v;

		bump(m);
		if (len < o->vcap) {
			/* val may point into this very value */
			memmove(o->val, val, len);
			o->val[len] = '\0';
			o->len = len;
			return 0;
		}
		e.heap = o->heap & HEAP_VAL;
		v = store(m, val, len, &e.heap, HEAP_VAL);
		if (!v)
			return -ENOMEM;
		if (o->heap & HEAP_VAL)
			free(o->val);
		else
			m->dead += o->vcap;
		o->heap = (uint8_t)((o->heap & HEAP_KEY) | (e.heap & HEAP_VAL));
		o->val = v;
		o->vcap = (uint32_t)(len + 1);
		o->len = len;
		return 0;
	}
	if (len >= UINT32_MAX)
		return -ENOMEM;
	if (vec_reserve((void **)&m->ents, &m->cap, m->n, sizeof(*m->ents), 8))
		return -ENOMEM;
	if ((m->n + 1) * 2 > m->nslots && grow_index(m, m->nslots ? m->nslots * 2 : 16))
		return -ENOMEM;
	e.val = store(m, val, len, &e.heap, HEAP_VAL);
	if (!e.val)
		return -ENOMEM;
	e.key = store(m, key, strlen(key), &e.heap, HEAP_KEY);
	if (!e.key) {
		ent_free(&e);
		return -ENOMEM;
	}
	e.len = len;
	e.vcap = (uint32_t)(len + 1);
	bump(m);
	m->ents[m->n] = e;
	m->n++;
	slot = find_slot(m, key, h);
	/* The table has room by construction, so the slot is free. */
	m->index[-1 - slot] = m->n;
	return 0;
}

int strmap_set(struct strmap *m, const char *key, const char *val)
{
	return strmap_setn(m, key, val, val ? strlen(val) : 0);
}

const char *strmap_getn(const struct strmap *m, const char *key, size_t *len)
{
	long slot;

	if (!m)
		return NULL;
	slot = find_slot(m, key, hash_str(key));
	if (slot < 0)
		return NULL;
	if (len)
		*len = m->ents[m->index[slot] - 1].len;
	return m->ents[m->index[slot] - 1].val;
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
	long slot = find_slot(m, key, hash_str(key));
	size_t i;

	if (slot < 0)
		return -ENOENT;
	bump(m);
	i = m->index[slot] - 1;
	if (!(m->ents[i].heap & HEAP_KEY))
		m->dead += strlen(m->ents[i].key) + 1;
	if (!(m->ents[i].heap & HEAP_VAL))
		m->dead += m->ents[i].vcap;
	ent_free(&m->ents[i]);
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
		if (strmap_setn(d, m->ents[i].key, m->ents[i].val, m->ents[i].len)) {
			strmap_free(d);
			return NULL;
		}
	return d;
}
