/* SPDX-License-Identifier: MIT */
/*
 * Growable arrays: the one place that doubles a capacity. Call before storing
 * element n; the array is moved (realloc) when it grows, so pointers into it
 * do not survive the call.
 *
 *   if (vec_reserve((void **)&v, &cap, n, sizeof(*v), 64)) return -ENOMEM;
 *   v[n++] = x;
 */
#ifndef CS_VEC_H
#define CS_VEC_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * The capacity that has room for element n: cap when it has, else twice cap
 * (`first` when 0), at least n + 1. For an owner that must charge the growth to
 * a budget before it allocates (expr values); the others call vec_reserve().
 */
static inline size_t vec_grown(size_t cap, size_t n, size_t first)
{
	size_t nc;

	if (n < cap)
		return cap;
	nc = cap ? cap * 2 : first;
	return nc <= n ? n + 1 : nc;
}

/* Room for element n (capacity doubles from `first`): 0 or -ENOMEM (array unchanged). */
static inline int vec_reserve(void **v, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t nc;
	void *p;

	if (n < *cap)
		return 0;
	nc = vec_grown(*cap, n, first);
	if (nc > SIZE_MAX / elem)
		return -ENOMEM;
	p = realloc(*v, nc * elem);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = nc;
	return 0;
}

#endif /* CS_VEC_H */
