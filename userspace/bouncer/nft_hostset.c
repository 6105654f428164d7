// SPDX-License-Identifier: MIT
#include "bouncer/nft_hostset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/hash.h"

#define FIRST_BITS 10

/* One open-addressing table: 4-byte keys (IPv4 addresses + 1, so that 0 marks an
 * empty slot) or 8-byte ones (IPv6 fingerprints, never 0), and a tag a slot. */
struct table {
	void *keys;
	uint8_t *tags;
	unsigned bits, width;
	size_t n;
};

struct hostset {
	struct table t[2]; /* IPv4, IPv6 */
};

static uint64_t key_at(const struct table *t, size_t i)
{
	return t->width == 4 ? ((const uint32_t *)t->keys)[i] : ((const uint64_t *)t->keys)[i];
}

static void key_put(struct table *t, size_t i, uint64_t k)
{
	if (t->width == 4)
		((uint32_t *)t->keys)[i] = (uint32_t)k;
	else
		((uint64_t *)t->keys)[i] = k;
}

static struct table *table_of(struct hostset *h, const struct cs_prefix *p, uint64_t *k)
{
	uint32_t a;

	if (p->family == AF_INET) {
		memcpy(&a, p->addr, 4);
		/* +1 so that 0 can mark an empty slot; 255.255.255.255 would wrap to it
		 * and shares its key with one other address instead (at worst an
		 * add-delete-add where an add would do, or the reverse) */
		*k = a + 1 ? a + 1 : a;
		return &h->t[0];
	}
	*k = cs_hash(p->addr, 16) | 1;
	return &h->t[1];
}

static size_t slot_of(const struct table *t, uint64_t k)
{
	return (size_t)((k * 0x9E3779B97F4A7C15ULL) >> (64 - t->bits));
}

static int alloc_slots(struct table *t, unsigned bits)
{
	size_t cap = (size_t)1 << bits;

	t->keys = calloc(cap, t->width);
	t->tags = calloc(cap, 1);
	if (!t->keys || !t->tags) {
		free(t->keys);
		free(t->tags);
		return -ENOMEM;
	}
	t->bits = bits;
	return 0;
}

void hostset_free(struct hostset *h)
{
	if (!h)
		return;
	for (int i = 0; i < 2; i++) {
		free(h->t[i].keys);
		free(h->t[i].tags);
	}
	free(h);
}

int hostset_new(struct hostset **out)
{
	struct hostset *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->t[0].width = 4;
	h->t[1].width = 8;
	if (alloc_slots(&h->t[0], FIRST_BITS) || alloc_slots(&h->t[1], FIRST_BITS)) {
		hostset_free(h);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

/* The slot holding k, or the empty one where it would go. */
static size_t find(const struct table *t, uint64_t k)
{
	size_t mask = ((size_t)1 << t->bits) - 1, i = slot_of(t, k);
	uint64_t s;

	while ((s = key_at(t, i)) && s != k)
		i = (i + 1) & mask;
	return i;
}

bool hostset_get(const struct hostset *h, const struct cs_prefix *p, uint8_t *tag)
{
	uint64_t k;
	const struct table *t = table_of((struct hostset *)h, p, &k);
	size_t i = find(t, k);

	if (!key_at(t, i))
		return false;
	if (tag)
		*tag = t->tags[i];
	return true;
}

static int grow(struct table *t)
{
	struct table old = *t;
	size_t cap = (size_t)1 << old.bits;

	if (alloc_slots(t, old.bits + 1)) {
		*t = old;
		return -ENOMEM;
	}
	for (size_t i = 0; i < cap; i++) {
		uint64_t k = key_at(&old, i);

		if (k) {
			size_t j = find(t, k);

			key_put(t, j, k);
			t->tags[j] = old.tags[i];
		}
	}
	free(old.keys);
	free(old.tags);
	return 0;
}

int hostset_put(struct hostset *h, const struct cs_prefix *p, uint8_t tag)
{
	uint64_t k;
	struct table *t = table_of(h, p, &k);
	size_t i = find(t, k);

	if (!key_at(t, i)) {
		/* at most 3/4 full: probes stay short */
		if ((t->n + 1) * 4 > ((size_t)3 << t->bits)) {
			if (grow(t))
				return -ENOMEM;
			i = find(t, k);
		}
		key_put(t, i, k);
		t->n++;
	}
	t->tags[i] = tag;
	return 0;
}

void hostset_del(struct hostset *h, const struct cs_prefix *p)
{
	uint64_t k;
	struct table *t = table_of(h, p, &k);
	size_t mask = ((size_t)1 << t->bits) - 1, i = find(t, k), j = i;

	if (!key_at(t, i))
		return;
	t->n--;
	/* backward shift: move up every later key of the run whose home is at or
	 * before the hole, so that no probe stops short of it */
	for (;;) {
		size_t home;

		key_put(t, i, 0);
		for (;;) {
			j = (j + 1) & mask;
			if (!key_at(t, j))
				return;
			home = slot_of(t, key_at(t, j));
			if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
				break;
		}
		key_put(t, i, key_at(t, j));
		t->tags[i] = t->tags[j];
		i = j;
	}
}

void hostset_clear(struct hostset *h)
{
	for (int i = 0; i < 2; i++) {
		memset(h->t[i].keys, 0, ((size_t)1 << h->t[i].bits) * h->t[i].width);
		h->t[i].n = 0;
	}
}

size_t hostset_count(const struct hostset *h)
{
	return h->t[0].n + h->t[1].n;
}
