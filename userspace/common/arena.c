/* SPDX-License-Identifier: MIT */
#include "common/arena.h"

#include <errno.h>
#include <stdlib.h>

void *cs_arena_grow(struct cs_arena *a, size_t n)
{
	size_t max = a->max ? a->max : (size_t)1 << 20;
	size_t size = a->chunks ? a->chunks->size * 2 : a->first ? a->first : 4096;
	struct cs_arena_chunk *c;

	if (size > max)
		size = max;
	if (size < n)
		size = n;
	if (size > (size_t)-1 - sizeof(*c)) {
		errno = ENOMEM;
		return NULL;
	}
	c = malloc(sizeof(*c) + size);
	if (!c)
		return NULL;
	*c = (struct cs_arena_chunk){ .next = a->chunks, .size = size, .used = n };
	a->chunks = c;
	return c->data;
}

static void chunks_free(struct cs_arena_chunk *c)
{
	for (struct cs_arena_chunk *next; c; c = next) {
		next = c->next;
		free(c);
	}
}

void cs_arena_reset(struct cs_arena *a, size_t keep)
{
	struct cs_arena_chunk *c;

	if (!a)
		return;
	while ((c = a->chunks) && c->size > keep) {
		a->chunks = c->next;
		free(c);
	}
	if (c) {
		chunks_free(c->next);
		c->next = NULL;
		c->used = 0;
	}
}

void cs_arena_free(struct cs_arena *a)
{
	if (!a)
		return;
	chunks_free(a->chunks);
	a->chunks = NULL;
}
