// SPDX-License-Identifier: MIT
/*
 * Go's sort.Sort, reproduced for its order of equal elements (gosort.h): the
 * same pivots, comparisons and swaps as Go's pdqsort (insertion sort up to 12
 * elements, median-of-three or Tukey's ninther pivot, partial insertion sort
 * on presorted input, equal-partition, xorshift pattern breaking, heapsort
 * past the bad-pivot limit). Any deviation changes where ties land, so quirks
 * are kept on purpose and marked.
 */
#include "common/gosort.h"

#include <stdint.h>

typedef long idx_t; /* signed: some scans step below their range */

struct gs {
	go_sort_less_fn less;
	go_sort_swap_fn swap;
	void *arg;
};

enum hint { HINT_UNKNOWN, HINT_INCREASING, HINT_DECREASING };

static bool less(const struct gs *s, idx_t i, idx_t j)
{
	return s->less((size_t)i, (size_t)j, s->arg);
}

static void swap(const struct gs *s, idx_t i, idx_t j)
{
	s->swap((size_t)i, (size_t)j, s->arg);
}

/* Go's bits.Len: the number of bits needed to write n (0 for 0). */
static int bit_len(uint64_t n)
{
	return n ? 64 - __builtin_clzll(n) : 0;
}

static void insertion_sort(const struct gs *s, idx_t a, idx_t b)
{
	for (idx_t i = a + 1; i < b; i++)
		for (idx_t j = i; j > a && less(s, j, j - 1); j--)
			swap(s, j, j - 1);
}

static void sift_down(const struct gs *s, idx_t lo, idx_t hi, idx_t first)
{
	idx_t root = lo;

	for (;;) {
		idx_t child = 2 * root + 1;

		if (child >= hi)
			return;
		if (child + 1 < hi && less(s, first + child, first + child + 1))
			child++;
		if (!less(s, first + root, first + child))
			return;
		swap(s, first + root, first + child);
		root = child;
	}
}

static void heap_sort(const struct gs *s, idx_t a, idx_t b)
{
	idx_t hi = b - a;

	for (idx_t i = (hi - 1) / 2; i >= 0; i--)
		sift_down(s, i, hi, a);
	for (idx_t i = hi - 1; i >= 0; i--) {
		swap(s, a, a + i);
		sift_down(s, 0, i, a);
	}
}

/* Partition [a, b) around the element at pivot (moved to a first); returns its
 * final place; *already: nothing had to move. */
static idx_t partition(const struct gs *s, idx_t a, idx_t b, idx_t pivot, bool *already)
{
	idx_t i = a + 1, j = b - 1;

	swap(s, a, pivot);
	while (i <= j && less(s, i, a))
		i++;
	while (i <= j && !less(s, j, a))
		j--;
	if (i > j) {
		swap(s, j, a);
		*already = true;
		return j;
	}
	swap(s, i, j);
	i++;
	j--;
	for (;;) {
		while (i <= j && less(s, i, a))
			i++;
		while (i <= j && !less(s, j, a))
			j--;
		if (i > j)
			break;
		swap(s, i, j);
		i++;
		j--;
	}
	swap(s, j, a);
	*already = false;
	return j;
}

/* [a, b) holds nothing smaller than the pivot: equal ones first, returns where
 * the greater ones start. */
static idx_t partition_equal(const struct gs *s, idx_t a, idx_t b, idx_t pivot)
{
	idx_t i = a + 1, j = b - 1;

	swap(s, a, pivot);
	for (;;) {
		while (i <= j && !less(s, a, i))
			i++;
		while (i <= j && less(s, a, j))
			j--;
		if (i > j)
			return i;
		swap(s, i, j);
		i++;
		j--;
	}
}

/* Fix up to 5 adjacent inversions; true if [a, b) ends sorted. */
static bool partial_insertion_sort(const struct gs *s, idx_t a, idx_t b)
{
	idx_t i = a + 1;

	for (int step = 0; step < 5; step++) {
		while (i < b && !less(s, i, i - 1))
			i++;
		if (i == b)
			return true;
		if (b - a < 50)
			return false;
		swap(s, i, i - 1);
		/* Go's quirk, kept: the left shift runs down to index 1, not to a */
		if (i - a >= 2)
			for (idx_t j = i - 1; j >= 1 && less(s, j, j - 1); j--)
				swap(s, j, j - 1);
		if (b - i >= 2)
			for (idx_t j = i + 1; j < b && less(s, j, j - 1); j++)
				swap(s, j, j - 1);
	}
	return false;
}

static void break_patterns(const struct gs *s, idx_t a, idx_t b)
{
	idx_t len = b - a;
	uint64_t r = (uint64_t)len, mask;

	if (len < 8)
		return;
	mask = ((uint64_t)1 << bit_len((uint64_t)len)) - 1;
	for (idx_t i = a + (len / 4) * 2 - 1; i <= a + (len / 4) * 2 + 1; i++) {
		idx_t other;

		/* xorshift64, the shifts of Go 1.24+ (13, 7, 17: golang/go#70144) */
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		other = (idx_t)(r & mask);
		if (other >= len)
			other -= len;
		swap(s, i, a + other);
	}
}

/* x, y ordered so that element x <= element y; counts the reorderings. */
static void order2(const struct gs *s, idx_t *x, idx_t *y, int *swaps)
{
	if (less(s, *y, *x)) {
		idx_t t = *x;

		*x = *y;
		*y = t;
		(*swaps)++;
	}
}

static idx_t median(const struct gs *s, idx_t a, idx_t b, idx_t c, int *swaps)
{
	order2(s, &a, &b, swaps);
	order2(s, &b, &c, swaps);
	order2(s, &a, &b, swaps);
	return b;
}

static idx_t choose_pivot(const struct gs *s, idx_t a, idx_t b, enum hint *hint)
{
	idx_t l = b - a, i = a + l / 4, j = a + l / 4 * 2, k = a + l / 4 * 3;
	int swaps = 0;

	if (l >= 8) {
		if (l >= 50) {
			i = median(s, i - 1, i, i + 1, &swaps);
			j = median(s, j - 1, j, j + 1, &swaps);
			k = median(s, k - 1, k, k + 1, &swaps);
		}
		j = median(s, i, j, k, &swaps);
	}
	*hint = swaps == 0 ? HINT_INCREASING : swaps == 12 ? HINT_DECREASING : HINT_UNKNOWN;
	return j;
}

static void reverse_range(const struct gs *s, idx_t a, idx_t b)
{
	for (idx_t i = a, j = b - 1; i < j; i++, j--)
		swap(s, i, j);
}

static void pdqsort(const struct gs *s, idx_t a, idx_t b, int limit)
{
	bool balanced = true, partitioned = true;

	for (;;) {
		idx_t len = b - a, pivot, mid;
		enum hint hint;

		if (len <= 12) {
			insertion_sort(s, a, b);
			return;
		}
		if (!limit) {
			heap_sort(s, a, b);
			return;
		}
		if (!balanced) {
			break_patterns(s, a, b);
			limit--;
		}
		pivot = choose_pivot(s, a, b, &hint);
		if (hint == HINT_DECREASING) {
			reverse_range(s, a, b);
			pivot = (b - 1) - (pivot - a);
			hint = HINT_INCREASING;
		}
		if (balanced && partitioned && hint == HINT_INCREASING &&
		    partial_insertion_sort(s, a, b))
			return;
		/* the element before the range is a pivot of an outer level: many equal ones */
		if (a > 0 && !less(s, a - 1, pivot)) {
			a = partition_equal(s, a, b, pivot);
			continue;
		}
		mid = partition(s, a, b, pivot, &partitioned);
		if (mid - a < b - mid) {
			balanced = mid - a >= len / 8;
			pdqsort(s, a, mid, limit);
			a = mid + 1;
		} else {
			balanced = b - mid >= len / 8;
			pdqsort(s, mid + 1, b, limit);
			b = mid;
		}
	}
}

void go_sort(size_t n, go_sort_less_fn lessf, go_sort_swap_fn swapf, void *arg)
{
	struct gs s = { .less = lessf, .swap = swapf, .arg = arg };

	if (n > 1)
		pdqsort(&s, 0, (idx_t)n, bit_len(n));
}
