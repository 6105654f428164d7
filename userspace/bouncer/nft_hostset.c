// SPDX-License-Identifier: MIT
#include "bouncer/nft_hostset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/hash.h"

#define FIRST_BITS 10

struct hostset {
	uint64_t *keys; /* 0: empty slot */
	uint8_t *tags;
	unsigned bits;
	size_t n;
};

static uint64_t key_of(const struct cs_prefix *p)
{
	uint32_t a;

	if (p->family == AF_INET) {
		memcpy(&a, p->addr, 4);
		return 1ULL << 32 | a;
	}
	return (cs_hash(p->addr, 16) & ((1ULL << 62) - 1)) | 1ULL << 62;
}

static size_t slot_of(const struct hostset *h, uint64_t k)
{
	return (size_t)((k * 0x9E3779B97F4A7C15ULL) >> (64 - h->bits));
}

static int alloc_slots(struct hostset *h, unsigned bits)
{
	size_t cap = (size_t)1 << bits;

	h->keys = calloc(cap, sizeof(*h->keys));
	h->tags = calloc(cap, 1);
	if (!h->keys || !h->tags) {
		free(h->keys);
		free(h->tags);
		return -ENOMEM;
	}
	h->bits = bits;
	return 0;
}

int hostset_new(struct hostset **out)
{
	struct hostset *h = calloc(1, sizeof(*h));

	if (!h || alloc_slots(h, FIRST_BITS)) {
		free(h);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

void hostset_free(struct hostset *h)
{
	if (!h)
		return;
	free(h->keys);
	free(h->tags);
	free(h);
}

/* The slot holding k, or the empty one where it would go. */
static size_t find(const struct hostset *h, uint64_t k)
{
	size_t mask = ((size_t)1 << h->bits) - 1, i = slot_of(h, k);

	while (h->keys[i] && h->keys[i] != k)
		i = (i + 1) & mask;
	return i;
}

bool hostset_get(const struct hostset *h, const struct cs_prefix *p, uint8_t *tag)
{
	size_t i = find(h, key_of(p));

	if (!h->keys[i])
		return false;
	if (tag)
		*tag = h->tags[i];
	return true;
}

static int grow(struct hostset *h)
{
	struct hostset old = *h;
	size_t cap = (size_t)1 << old.bits;

	if (alloc_slots(h, old.bits + 1)) {
		*h = old;
		return -ENOMEM;
	}
	for (size_t i = 0; i < cap; i++) {
		if (old.keys[i]) {
			size_t j = find(h, old.keys[i]);

			h->keys[j] = old.keys[i];
			h->tags[j] = old.tags[i];
		}
	}
	free(old.keys);
	free(old.tags);
	return 0;
}

int hostset_put(struct hostset *h, const struct cs_prefix *p, uint8_t tag)
{
	uint64_t k = key_of(p);
	size_t i = find(h, k);

	if (!h->keys[i]) {
		/* at most 3/4 full: probes stay short */
		if ((h->n + 1) * 4 > ((size_t)3 << h->bits)) {
			if (grow(h))
				return -ENOMEM;
			i = find(h, k);
		}
		h->keys[i] = k;
		h->n++;
	}
	h->tags[i] = tag;
	return 0;
}

void hostset_del(struct hostset *h, const struct cs_prefix *p)
{
	size_t mask = ((size_t)1 << h->bits) - 1, i = find(h, key_of(p)), j = i;

	if (!h->keys[i])
		return;
	h->n--;
	/* backward shift: move up every later key of the run whose home is at or
	 * before the hole, so that no probe stops short of it */
	for (;;) {
		size_t home;

		h->keys[i] = 0;
		for (;;) {
			j = (j + 1) & mask;
			if (!h->keys[j])
				return;
			home = slot_of(h, h->keys[j]);
			if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
				break;
		}
		h->keys[i] = h->keys[j];
		h->tags[i] = h->tags[j];
		i = j;
	}
}

void hostset_clear(struct hostset *h)
{
	memset(h->keys, 0, ((size_t)1 << h->bits) * sizeof(*h->keys));
	h->n = 0;
}

size_t hostset_count(const struct hostset *h)
{
	return h->n;
}
