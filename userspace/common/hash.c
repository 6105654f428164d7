// SPDX-License-Identifier: MIT
#include "common/hash.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- the process key, drawn once ---- */

static uint64_t key0, key1;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static bool key_fixed, key_ready; /* key_ready: the fast path skips pthread_once */

static void key_init(void)
{
	uint64_t k[2];

	if (key_fixed)
		return;
	if (getrandom(k, sizeof(k), 0) != (ssize_t)sizeof(k)) {
		/* no entropy source this early: still different per process and boot */
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		k[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
		k[1] = (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4fULL ^ (uintptr_t)&ts;
	}
	key0 = k[0];
	key1 = k[1];
	__atomic_store_n(&key_ready, true, __ATOMIC_RELEASE);
}

static inline void key_ensure(void)
{
	if (!__atomic_load_n(&key_ready, __ATOMIC_ACQUIRE))
		pthread_once(&key_once, key_init);
}

void cs_hash_set_key(uint64_t k0, uint64_t k1)
{
	key_fixed = true;
	pthread_once(&key_once, key_init);
	key0 = k0;
	key1 = k1;
	__atomic_store_n(&key_ready, true, __ATOMIC_RELEASE);
}

/*
 * Keyed multiply-mix over 8-byte words (the wyhash family, as Go's runtime
 * hashes its maps): every word is folded in with a 64x64->128 multiply under
 * the process key, so without the key a log writer cannot aim at a bucket.
 */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint32_t load32(const unsigned char *p)
{
	uint32_t w;

	memcpy(&w, p, 4);
	return w;
}

/*
 * The n <= 8 bytes at p as a little-endian word, from whole loads: a memcpy of a
 * variable n into a zeroed word became byte stores that the word's load then
 * waited on (a store-forwarding stall on every short key: ~80 % of this file's
 * samples on sshd, where groupby keys are IP addresses). Overlapping loads give
 * the same value.
 */
static inline uint64_t word(const unsigned char *p, size_t n)
{
	uint64_t w;

	if (n == 8) {
		memcpy(&w, p, 8);
		return w;
	}
	if (n >= 4)
		return load32(p) | (uint64_t)load32(p + n - 4) << (8 * (n - 4));
	if (n)
		return p[0] | (uint64_t)p[n / 2] << (8 * (n / 2)) | (uint64_t)p[n - 1] << (8 * (n - 1));
	return 0;
}

static uint64_t hash_update(uint64_t h, const unsigned char *p, size_t len)
{
	for (; len >= 16; p += 16, len -= 16)
		h = mum(word(p, 8) ^ key0 ^ h, word(p + 8, 8) ^ key1);
	if (len > 8)
		h = mum(word(p, 8) ^ key0 ^ h, word(p + 8, len - 8) ^ key1);
	else
		h = mum(word(p, len) ^ key0 ^ h, key1 ^ 0x9e3779b97f4a7c15ULL);
	return h;
}

uint64_t cs_hash(const void *data, size_t len)
{
	key_ensure();
	return mum(hash_update(key1 ^ len, data, len), key0 ^ 0xe7037ed1a0b428dbULL);
}

uint64_t cs_hash2(const void *a, size_t alen, const void *b, size_t blen)
{
	uint64_t h;

	key_ensure();
	/* the first piece's length in the seed keeps ("ab","c") from ("a","bc") */
	h = hash_update(key1 ^ alen, a, alen);
	h = hash_update(h ^ blen, b, blen);
	return mum(h, key0 ^ 0xe7037ed1a0b428dbULL);
}

/* ---- chains ---- */

void cs_htab_insert(struct cs_htab *t, struct cs_hlink *l, uint64_t hash)
{
	struct cs_hlink **head = cs_htab_chain(t, hash);

	l->hash = hash;
	l->next = *head;
	*head = l;
}

void cs_htab_unlink(struct cs_htab *t, struct cs_hlink *l)
{
	struct cs_hlink **pp = cs_htab_chain(t, l->hash);

	while (*pp && *pp != l)
		pp = &(*pp)->next;
	if (*pp)
		*pp = l->next;
}

int cs_htab_grow(struct cs_htab *t, size_t first)
{
	struct cs_htab bigger = { .nslots = t->nslots ? t->nslots * 2 : first };

	bigger.slot = calloc(bigger.nslots, sizeof(*bigger.slot));
	if (!bigger.slot)
		return -ENOMEM;
	for (size_t i = 0; i < t->nslots; i++) {
		for (struct cs_hlink *l = t->slot[i], *next; l; l = next) {
			next = l->next;
			cs_htab_insert(&bigger, l, l->hash);
		}
	}
	free(t->slot);
	*t = bigger;
	return 0;
}

void cs_htab_fini(struct cs_htab *t)
{
	free(t->slot);
	t->slot = NULL;
	t->nslots = 0;
}

/* ---- string -> pointer map ---- */

struct hnode {
	struct cs_hlink link;
	void *val;
	size_t len;
	char key[]; /* NUL-terminated copy */
};

struct cs_hmap {
	struct cs_htab tab;
	size_t count;
};

static struct hnode *node_of(struct cs_hlink *l)
{
	return cs_hlink_entry(l, struct hnode, link);
}

struct cs_hmap *cs_hmap_new(void)
{
	return calloc(1, sizeof(struct cs_hmap));
}

void cs_hmap_free(struct cs_hmap *m, void (*free_val)(void *))
{
	if (!m)
		return;
	for (size_t i = 0; i < m->tab.nslots; i++) {
		for (struct cs_hlink *l = m->tab.slot[i], *next; l; l = next) {
			next = l->next;
			if (free_val)
				free_val(node_of(l)->val);
			free(node_of(l));
		}
	}
	cs_htab_fini(&m->tab);
	free(m);
}

static struct cs_hlink **find(const struct cs_hmap *m, const char *key, size_t len, uint64_t h)
{
	struct cs_hlink **pp;

	if (!m->tab.nslots)
		return NULL;
	for (pp = cs_htab_chain(&m->tab, h); *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && node_of(*pp)->len == len && !memcmp(node_of(*pp)->key, key, len))
			return pp;
	return NULL;
}

void *cs_hmap_get(const struct cs_hmap *m, const char *key, size_t len)
{
	struct cs_hlink **pp = m ? find(m, key, len, cs_hash(key, len)) : NULL;

	return pp ? node_of(*pp)->val : NULL;
}

int cs_hmap_put(struct cs_hmap *m, const char *key, size_t len, void *val, void **old)
{
	uint64_t h = cs_hash(key, len);
	struct cs_hlink **pp = find(m, key, len, h);
	struct hnode *n;

	if (old)
		*old = NULL;
	if (pp) {
		if (old)
			*old = node_of(*pp)->val;
		node_of(*pp)->val = val;
		return 0;
	}
	if (m->count >= m->tab.nslots && cs_htab_grow(&m->tab, 16))
		return -ENOMEM;
	n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return -ENOMEM;
	n->val = val;
	n->len = len;
	memcpy(n->key, key, len);
	n->key[len] = '\0';
	cs_htab_insert(&m->tab, &n->link, h);
	m->count++;
	return 0;
}

void *cs_hmap_del(struct cs_hmap *m, const char *key, size_t len)
{
	struct cs_hlink **pp = m ? find(m, key, len, cs_hash(key, len)) : NULL;
	struct hnode *n;
	void *val;

	if (!pp)
		return NULL;
	n = node_of(*pp);
	*pp = n->link.next;
	val = n->val;
	free(n);
	m->count--;
	return val;
}

size_t cs_hmap_count(const struct cs_hmap *m)
{
	return m ? m->count : 0;
}

int cs_hmap_each(struct cs_hmap *m, int (*fn)(const char *key, size_t len, void *val, void *arg),
		 void *arg)
{
	for (size_t i = 0; m && i < m->tab.nslots; i++) {
		struct cs_hlink **pp = &m->tab.slot[i];

		while (*pp) {
			struct hnode *n = node_of(*pp);
			int rc = fn(n->key, n->len, n->val, arg);

			if (rc < 0)
				return rc;
			if (rc == CS_HMAP_DROP) {
				*pp = n->link.next;
				free(n);
				m->count--;
			} else {
				pp = &n->link.next;
			}
		}
	}
	return 0;
}
