/* SPDX-License-Identifier: MIT */
/*
 * A bump allocator over chunks that never move: what it hands out stays put
 * until cs_arena_reset() or cs_arena_free(), which give everything back at
 * once (no per-piece free). For many small strings that die together: an
 * event's maps (strmap, once per log line) and the decision stream's values.
 *
 *   struct cs_arena a = { .first = 1024, .max = 64 << 10 };
 *   char *p = cs_arena_alloc(&a, n);          NULL on ENOMEM
 *   cs_arena_reset(&a, 4096);                 empties it, keeps one small chunk
 *   cs_arena_free(&a);
 *
 * A new chunk is twice the newest one (`first` when none), at most `max`, and
 * never smaller than the piece it is made for (a piece larger than `max` gets
 * a chunk of its own, full from the start).
 */
#ifndef CS_ARENA_H
#define CS_ARENA_H

#include <stddef.h>

struct cs_arena_chunk {
	struct cs_arena_chunk *next;
	size_t size, used;
	char data[];
};

struct cs_arena {
	struct cs_arena_chunk *chunks; /* newest first */
	size_t first, max;	       /* chunk sizes, in bytes (0: 4 KiB, 1 MiB) */
};

/* The slow path of cs_arena_alloc(): a new chunk. */
void *cs_arena_grow(struct cs_arena *a, size_t n);

/* n bytes that stay put until reset or free (not aligned: for strings); NULL on ENOMEM. */
static inline void *cs_arena_alloc(struct cs_arena *a, size_t n)
{
	struct cs_arena_chunk *c = a->chunks;

	if (c && c->size - c->used >= n) {
		c->used += n;
		return c->data + c->used - n;
	}
	return cs_arena_grow(a, n);
}

/*
 * Gives back everything handed out. The newest chunk no larger than `keep`
 * bytes stays (emptied) for the next round; the others are freed (keep 0:
 * all of them).
 */
void cs_arena_reset(struct cs_arena *a, size_t keep);
/* Frees every chunk; the sizes stay, so the arena can be used again. */
void cs_arena_free(struct cs_arena *a);

#endif /* CS_ARENA_H */
