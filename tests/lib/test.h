/* SPDX-License-Identifier: MIT */
/*
 * Minimal test harness in the spirit of the BPF selftests' test_progs.h: the
 * ASSERT_* macros are expressions that count and return whether they held, so C
 * test code can `if (!ASSERT_...) goto out;`. Every test program ends with
 * TEST_SUMMARY(), which prints the "N passed, N failed, N skipped" line the
 * suite runner (tests/run.sh) totals, and returns the exit status: 0 when nothing
 * failed, 1 otherwise.
 */
#ifndef CS_TEST_H
#define CS_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

extern int t_pass, t_fail, t_skip;

#define ASSERT_TRUE(cond, name) ({                                              \
	bool ___ok = (cond);                                                    \
	if (___ok)                                                              \
		t_pass++;                                                       \
	else {                                                                  \
		t_fail++;                                                       \
		fprintf(stderr, "FAIL %s:%d %s: %s\n", __FILE__, __LINE__,       \
			(name), #cond);                                         \
	}                                                                       \
	___ok; })

#define ASSERT_EQ(actual, expected, name) ({                                    \
	long long ___a = (long long)(actual), ___e = (long long)(expected);     \
	bool ___ok = ___a == ___e;                                              \
	if (___ok)                                                              \
		t_pass++;                                                       \
	else {                                                                  \
		t_fail++;                                                       \
		fprintf(stderr, "FAIL %s:%d %s: got %lld, want %lld\n",          \
			__FILE__, __LINE__, (name), ___a, ___e);                \
	}                                                                       \
	___ok; })

#define ASSERT_OK(err, name) ASSERT_EQ((err), 0, (name))

#define ASSERT_STREQ(actual, expected, name) ({                                 \
	const char *___a = (actual), *___e = (expected);                        \
	bool ___ok = ___a && ___e ? !strcmp(___a, ___e) : ___a == ___e;         \
	if (___ok)                                                              \
		t_pass++;                                                       \
	else {                                                                  \
		t_fail++;                                                       \
		fprintf(stderr, "FAIL %s:%d %s: got \"%s\", want \"%s\"\n",      \
			__FILE__, __LINE__, (name), ___a ? ___a : "(null)",     \
			___e ? ___e : "(null)");                                \
	}                                                                       \
	___ok; })

#define TEST_SKIP(n, why) ({                                                    \
	t_skip += (n);                                                          \
	fprintf(stderr, "SKIP %s:%d %d test(s): %s\n", __FILE__, __LINE__,      \
		(int)(n), (why));                                               \
	})

#define TEST_SUMMARY() ({                                                       \
	printf("%d passed, %d failed, %d skipped\n", t_pass, t_fail, t_skip);   \
	fflush(stdout);                                                         \
	t_fail ? 1 : 0; })

/*
 * "$SHARED_DIR/<sub>": the shared test data the Makefile points at (hub/,
 * spec/, ...). Without SHARED_DIR, a path that does not exist and says why, so
 * tests skip on their usual "not found" check. The string lives until the next
 * few calls (a small ring of buffers).
 */
const char *t_shared(const char *sub);

/*
 * base + 1000 * TEST_LANE, as free_port in tests/lapi/lapi_lib.sh: tests that
 * tests/run.sh runs beside each other probe disjoint port ranges, so one never
 * takes (or, between a stop and a restart, retakes) a port of the other's.
 */
int t_lane_port(int base);

/* Write text to dir/name (created or truncated): 0, or -1 when it could not. */
int t_write_file(const char *dir, const char *name, const char *text);

/* Remove dir and everything below it (links are removed, not followed): 0 or -1. */
int t_rmtree(const char *dir);
/*
 * The program's scratch directory: tmpl ("/tmp/test_x_XXXXXX") is made unique in
 * place and created; it and everything in it are removed when the program exits
 * (from a copy of the name: tmpl may be a local of a function that returns).
 * One per program; 0, or -1 (said on stderr).
 */
int t_scratch_dir(char *tmpl);

#endif /* CS_TEST_H */
