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

/* ---- string -> pointer map ---- */

struct hnode {
	struct hnode *next;
	uint64_t hash;
	void *val;
	size_t len;
	char key[]; /* NUL-terminated copy */
};

struct cs_hmap {
	struct hnode **slot;
	size_t nslots, count;
};

struct cs_hmap *cs_hmap_new(void)
{
	return calloc(1, sizeof(struct cs_hmap));
}

void cs_hmap_free(struct cs_hmap *m, void (*free_val)(void *))
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nslots; i++) {
		for (struct hnode *n = m->slot[i], *next; n; n = next) {
			next = n->next;
			if (free_val)
				free_val(n->val);
			free(n);
		}
	}
	free(m->slot);
	free(m);
}

static struct hnode **find(const struct cs_hmap *m, const char *key, size_t len, uint64_t h)
{
	struct hnode **pp;

	if (!m->nslots)
		return NULL;
	for (pp = &m->slot[h & (m->nslots - 1)]; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->len == len && !memcmp((*pp)->key, key, len))
			return pp;
	return NULL;
}

void *cs_hmap_get(const struct cs_hmap *m, const char *key, size_t len)
{
	struct hnode **pp = m ? find(m, key, len, cs_hash(key, len)) : NULL;

	return pp ? (*pp)->val : NULL;
}

static int grow(struct cs_hmap *m)
{
	size_t n = m->nslots ? m->nslots * 2 : 16;
	struct hnode **slot = calloc(n, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < m->nslots; i++) {
		for (struct hnode *e = m->slot[i], *next; e; e = next) {
			next = e->next;
			e->next = slot[e->hash & (n - 1)];
			slot[e->hash & (n - 1)] = e;
		}
	}
	free(m->slot);
	m->slot = slot;
	m->nslots = n;
	return 0;
}

int cs_hmap_put(struct cs_hmap *m, const char *key, size_t len, void *val, void **old)
{
	uint64_t h = cs_hash(key, len);
	struct hnode **pp = find(m, key, len, h), *n;

	if (old)
		*old = NULL;
	if (pp) {
		if (old)
			*old = (*pp)->val;
		(*pp)->val = val;
		return 0;
	}
	if (m->count >= m->nslots && grow(m))
		return -ENOMEM;
	n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return -ENOMEM;
	n->hash = h;
	n->val = val;
	n->len = len;
	memcpy(n->key, key, len);
	n->key[len] = '\0';
	n->next = m->slot[h & (m->nslots - 1)];
	m->slot[h & (m->nslots - 1)] = n;
	m->count++;
	return 0;
}

void *cs_hmap_del(struct cs_hmap *m, const char *key, size_t len)
{
	struct hnode **pp = m ? find(m, key, len, cs_hash(key, len)) : NULL, *n;
	void *val;

	if (!pp)
		return NULL;
	n = *pp;
	*pp = n->next;
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
	for (size_t i = 0; m && i < m->nslots; i++) {
		struct hnode **pp = &m->slot[i];

		while (*pp) {
			struct hnode *n = *pp;
			int rc = fn(n->key, n->len, n->val, arg);

			if (rc < 0)
				return rc;
			if (rc == CS_HMAP_DROP) {
				*pp = n->next;
				free(n);
				m->count--;
			} else {
				pp = &n->next;
			}
		}
	}
	return 0;
}
