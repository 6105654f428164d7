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
	uint32_t hash;
};

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

void strmap_clear(struct strmap *m)
{
	if (!m)
		return;
	bump(m);
	for (size_t i = 0; i < m->n; i++) {
		free(m->ents[i].key);
		free(m->ents[i].val);
	}
	m->n = 0;
	if (m->index)
		memset(m->index, 0, m->nslots * sizeof(*m->index));
}

void strmap_free(struct strmap *m)
{
	if (!m)
		return;
	strmap_clear(m);
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

static char *dupn(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

int strmap_setn(struct strmap *m, const char *key, const char *val, size_t len)
{
	uint32_t h = hash_str(key);
	long slot = find_slot(m, key, h);
	char *v, *k;

	v = dupn(val ? val : "", val ? len : 0);
	if (!v)
		return -ENOMEM;
	bump(m);
	if (slot >= 0) {
		struct strmap_ent *e = &m->ents[m->index[slot] - 1];

		free(e->val);
		e->val = v;
		e->len = val ? len : 0;
		return 0;
	}
	if (vec_reserve((void **)&m->ents, &m->cap, m->n, sizeof(*m->ents), 8))
		goto err;
	if ((m->n + 1) * 2 > m->nslots && grow_index(m, m->nslots ? m->nslots * 2 : 16))
		goto err;
	k = strdup(key);
	if (!k)
		goto err;
	m->ents[m->n] = (struct strmap_ent){ .key = k, .val = v, .len = val ? len : 0, .hash = h };
	m->n++;
	slot = find_slot(m, key, h);
	/* The table has room by construction, so the slot is free. */
	m->index[-1 - slot] = m->n;
	return 0;
err:
	free(v);
	return -ENOMEM;
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
	free(m->ents[i].key);
	free(m->ents[i].val);
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
