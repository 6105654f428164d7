// SPDX-License-Identifier: MIT
/*
 * go_sort: Go's sort.Sort order. The order of ties is checked against one
 * recorded by upstream: cscli hubtest sorts the overflows of the hub test
 * authelia-bf (crowdsecurity/hub .tests/authelia-bf/scenario.assert, results
 * 12-15) with sort.Sort; a stable sort puts those ties the other way. The
 * rest: sorted output, a permutation, on the shapes that take pdqsort's
 * other paths (presorted, reversed, all equal, sawtooth, heapsort fallback).
 */
#include <stdlib.h>
#include <string.h>

#include "common/gosort.h"
#include "../lib/test.h"

struct arr {
	const char **key;
	int *tag;
	size_t cmps;
};

static bool greater(size_t i, size_t j, void *arg)
{
	struct arr *a = arg;

	a->cmps++;
	return strcmp(a->key[i], a->key[j]) > 0;
}

static void swap(size_t i, size_t j, void *arg)
{
	struct arr *a = arg;
	const char *k = a->key[i];
	int t = a->tag[i];

	a->key[i] = a->key[j];
	a->key[j] = k;
	a->tag[i] = a->tag[j];
	a->tag[j] = t;
}

/* authelia-bf's 28 overflows in the order the replay makes them (scenario + source). */
static void test_upstream_ties(void)
{
	static const char *const in[] = {
		"LePresidente/authelia-bf1.1.1.1", "LePresidente/authelia-bf_user-enum1.1.1.1",
		"LePresidente/authelia-bf1.1.1.2", "LePresidente/authelia-bf_user-enum1.1.1.2",
		"LePresidente/authelia-bf1.1.1.3", "LePresidente/authelia-bf1.1.1.4",
		"LePresidente/authelia-bf2.2.2.2", "LePresidente/authelia-bf2.2.2.3",
		"LePresidente/authelia-bf3.3.3.3", "LePresidente/authelia-bf3.3.3.4",
		"LePresidente/authelia-bf4.4.4.4", "LePresidente/authelia-bf4.4.4.5",
		"LePresidente/authelia-bf4.4.4.4", "LePresidente/authelia-bf4.4.4.5",
		"LePresidente/authelia-bf5.5.5.5", "LePresidente/authelia-bf_user-enum5.5.5.5",
		"LePresidente/authelia-bf5.5.5.6", "LePresidente/authelia-bf_user-enum5.5.5.6",
		"LePresidente/authelia-bf6.6.6.6", "LePresidente/authelia-bf6.6.6.7",
		"LePresidente/authelia-bf7.7.7.7", "LePresidente/authelia-bf7.7.7.8",
		"LePresidente/authelia-bf8.8.8.8", "LePresidente/authelia-bf8.8.8.9",
		"LePresidente/authelia-bf10.10.10.10", "LePresidente/authelia-bf10.10.10.11",
		"LePresidente/authelia-bf10.10.10.12", "LePresidente/authelia-bf10.10.10.13",
	};
	const size_t n = sizeof(in) / sizeof(in[0]);
	const char *key[sizeof(in) / sizeof(in[0])];
	int tag[sizeof(in) / sizeof(in[0])];
	struct arr a = { key, tag, 0 };

	for (size_t i = 0; i < n; i++) {
		key[i] = in[i];
		tag[i] = (int)i;
	}
	go_sort(n, greater, swap, &a);
	ASSERT_STREQ(key[0], "LePresidente/authelia-bf_user-enum5.5.5.6", "greatest first");
	ASSERT_STREQ(key[27], "LePresidente/authelia-bf1.1.1.1", "least last");
	/* upstream recorded: 4.4.4.5 of 2024, of 2022, then 4.4.4.4 of 2024, of 2022 */
	ASSERT_EQ(tag[12], 13, "tie 4.4.4.5: the later overflow first, as upstream");
	ASSERT_EQ(tag[13], 11, "tie 4.4.4.5: then the earlier");
	ASSERT_EQ(tag[14], 12, "tie 4.4.4.4: the later overflow first, as upstream");
	ASSERT_EQ(tag[15], 10, "tie 4.4.4.4: then the earlier");
}

static bool sorted_perm(const char **key, const int *tag, const char **orig, size_t n)
{
	bool *seen = calloc(n ? n : 1, sizeof(*seen));
	bool ok = seen != NULL;

	for (size_t i = 0; ok && i < n; i++) {
		if (i && strcmp(key[i - 1], key[i]) < 0)
			ok = false;
		if (tag[i] < 0 || (size_t)tag[i] >= n || seen[tag[i]] || orig[tag[i]] != key[i])
			ok = false;
		else
			seen[tag[i]] = true;
	}
	free(seen);
	return ok;
}

static void test_shapes(void)
{
	static const char *const vals[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j" };
	enum { N = 2000 };
	const char **key = malloc(N * sizeof(*key)), **orig = malloc(N * sizeof(*orig));
	int *tag = malloc(N * sizeof(*tag));
	const char *shape[] = { "random", "ascending", "descending", "equal", "sawtooth",
				"organ-pipe", "few" };
	unsigned seed = 12345;

	if (!ASSERT_TRUE(key && orig && tag, "alloc"))
		goto out;
	for (size_t s = 0; s < sizeof(shape) / sizeof(shape[0]); s++) {
		for (size_t n = 0; n <= N; n = n < 64 ? n + 1 : n * 3 + 1) {
			struct arr a = { key, tag, 0 };
			size_t bound = 8 * (n + 1) * (size_t)(64 - __builtin_clzll(n + 1)) + 64;
			char name[96];

			for (size_t i = 0; i < n; i++) {
				size_t v;

				seed = seed * 1103515245u + 12345u;
				switch (s) {
				case 0: v = (seed >> 16) % 10; break;
				case 1: v = i * 10 / (n ? n : 1); break;
				case 2: v = 9 - i * 10 / (n ? n : 1); break;
				case 3: v = 4; break;
				case 4: v = i % 10; break;
				case 5: v = i < n / 2 ? i * 20 / (n ? n : 1) : (n - i) * 20 / (n ? n : 1); break;
				default: v = (seed >> 16) % 2 ? 3 : 7; break;
				}
				key[i] = orig[i] = vals[v > 9 ? 9 : v];
				tag[i] = (int)i;
			}
			go_sort(n, greater, swap, &a);
			snprintf(name, sizeof(name), "%s n=%zu: sorted, a permutation", shape[s], n);
			if (!sorted_perm(key, tag, orig, n))
				ASSERT_TRUE(false, name);
			snprintf(name, sizeof(name), "%s n=%zu: O(n log n) comparisons", shape[s], n);
			if (a.cmps > bound)
				ASSERT_TRUE(false, name);
		}
		ASSERT_TRUE(true, shape[s]);
	}
out:
	free(key);
	free(orig);
	free(tag);
}

int main(void)
{
	test_upstream_ties();
	test_shapes();
	return TEST_SUMMARY();
}
