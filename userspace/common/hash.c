// SPDX-License-Identifier: MIT
#include "common/hash.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- SipHash-1-3 (Aumasson, Bernstein), keyed once per process ---- */

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

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                  \
	do {                                                                                      \
		v0 += v1;                                                                         \
		v1 = ROTL(v1, 13);                                                                \
		v1 ^= v0;                                                                         \
		v0 = ROTL(v0, 32);                                                                \
		v2 += v3;                                                                         \
		v3 = ROTL(v3, 16);                                                                \
		v3 ^= v2;                                                                         \
		v0 += v3;                                                                         \
		v3 = ROTL(v3, 21);                                                                \
		v3 ^= v0;                                                                         \
		v2 += v1;                                                                         \
		v1 = ROTL(v1, 17);                                                                \
		v1 ^= v2;                                                                         \
		v2 = ROTL(v2, 32);                                                                \
	} while (0)

struct sip {
	uint64_t v0, v1, v2, v3;
	uint64_t tail; /* bytes not yet in a full word */
	size_t ntail, total;
};

static void sip_init(struct sip *s)
{
	key_ensure();
	s->v0 = 0x736f6d6570736575ULL ^ key0;
	s->v1 = 0x646f72616e646f6dULL ^ key1;
	s->v2 = 0x6c7967656e657261ULL ^ key0;
	s->v3 = 0x7465646279746573ULL ^ key1;
	s->tail = 0;
	s->ntail = s->total = 0;
}

static void sip_word(struct sip *s, uint64_t m)
{
	uint64_t v0 = s->v0, v1 = s->v1, v2 = s->v2, v3 = s->v3;

	v3 ^= m;
	SIPROUND;
	v0 ^= m;
	s->v0 = v0;
	s->v1 = v1;
	s->v2 = v2;
	s->v3 = v3;
}

static void sip_update(struct sip *s, const void *data, size_t len)
{
	const unsigned char *p = data;

	s->total += len;
	while (len && s->ntail) {
		s->tail |= (uint64_t)*p++ << (8 * s->ntail);
		len--;
		if (++s->ntail == 8) {
			sip_word(s, s->tail);
			s->tail = 0;
			s->ntail = 0;
		}
	}
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t m;

		memcpy(&m, p, 8); /* little-endian hosts only: x86-64 and arm64 */
		sip_word(s, m);
	}
	for (size_t i = 0; i < len; i++)
		s->tail |= (uint64_t)p[i] << (8 * s->ntail++);
}

static uint64_t sip_final(struct sip *s)
{
	uint64_t v0, v1, v2, v3;

	sip_word(s, s->tail | (uint64_t)(s->total & 0xff) << 56);
	v0 = s->v0;
	v1 = s->v1;
	v2 = s->v2 ^ 0xff;
	v3 = s->v3;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* one piece: whole words, then the tail in one word (the hot path of every lookup) */
uint64_t cs_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	struct sip s;

	sip_init(&s);
	s.total = len;
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t m;

		memcpy(&m, p, 8); /* little-endian hosts only: x86-64 and arm64 */
		sip_word(&s, m);
	}
	for (size_t i = 0; i < len; i++)
		s.tail |= (uint64_t)p[i] << (8 * i);
	return sip_final(&s);
}

uint64_t cs_hash2(const void *a, size_t alen, const void *b, size_t blen)
{
	struct sip s;
	uint64_t n = alen; /* the length of the first piece keeps ("ab","c") from ("a","bc") */

	sip_init(&s);
	sip_update(&s, &n, sizeof(n));
	sip_update(&s, a, alen);
	sip_update(&s, b, blen);
	return sip_final(&s);
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
