/* SPDX-License-Identifier: MIT */
/*
 * go_sort: Go's sort.Sort (pattern-defeating quicksort, Go 1.19+) step for
 * step, so that elements that compare equal end where Go puts them. CrowdSec
 * orders some outputs with sort.Sort on a key that ties (cscli hubtest sorts
 * overflows by scenario + sources, descending): equal elements come out in
 * an order that is not the input order, yet is fully determined by it, and
 * the hub's assert files record that order. Anything that must reproduce it
 * uses this; anything else wants qsort or a stable sort.
 *
 * The caller owns the elements: less(i, j, arg) says whether element i must
 * sort before element j, swap(i, j, arg) exchanges them. O(n log n), no
 * allocation, recursion depth O(log n).
 */
#ifndef CS_COMMON_GOSORT_H
#define CS_COMMON_GOSORT_H

#include <stdbool.h>
#include <stddef.h>

typedef bool (*go_sort_less_fn)(size_t i, size_t j, void *arg);
typedef void (*go_sort_swap_fn)(size_t i, size_t j, void *arg);

void go_sort(size_t n, go_sort_less_fn less, go_sort_swap_fn swap, void *arg);

#endif /* CS_COMMON_GOSORT_H */
