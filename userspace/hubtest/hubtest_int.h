/* SPDX-License-Identifier: MIT */
/* Private to hubtest/: what the parser half, the scenario half and the runner share. */
#ifndef CS_HUBTEST_INT_H
#define CS_HUBTEST_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "expr/expr.h"
#include "hubtest/hubtest.h"

/*
 * Run the assert file at path against `results`. A missing file is an error
 * unless missing_ok (then it counts as empty). The first failure goes to *why
 * as "<file>:<line>: <assert> (got <value>)".
 */
int hubtest_run_asserts(const struct hubtest_opts *o, const char *path, bool missing_ok,
			const struct expr_value *results, char *why, size_t whylen, int *nasserts,
			int *nfailed);

/*
 * The outcome of an assert file: SKIP when it is empty (upstream would generate
 * it), PASS when nothing failed, else FAIL with " [F/N asserts failed<extra>]"
 * appended to *why (which holds the first failure).
 */
enum hubtest_status hubtest_verdict(const char *file, int nasserts, int nfailed,
				    const char *extra, char *why, size_t whylen);

/*
 * A parser set with the hub's patterns and data, the optional override_statics
 * document first, then every item of `type` ("parsers", "postoverflows") found
 * in the hub or the test folder; ready to run. *out is set even on error (the
 * caller frees it); *why names the item that failed.
 */
int hubtest_parsers_load(const struct hubtest_opts *o, const char *testdir, const char *type,
			 char *const *items, size_t n, const char *overrides,
			 struct cs_parsers **out, char *why, size_t whylen);

/*
 * The GeoIP directory of one test (geoip.c): for each .mmdb `data:` entry of
 * its parsers, the file named by the end of source_url, looked for in
 * o->geoip_dir (else <hub>/data); a private directory of links when those
 * names are not the dest_file names. -ENODATA (*why names the file) when one
 * is missing: the test cannot run here. Release undoes it (takes a zeroed one).
 */
struct hubtest_geoip {
	const char *dir; /* for cs_parser_opts.geoip_dir */
	char tmp[PATH_MAX]; /* the private directory, "" if none */
};
int hubtest_geoip_prepare(const struct hubtest_opts *o, const char *testdir, char *const *items,
			  size_t nitems, struct hubtest_geoip *out, char *why, size_t whylen);
void hubtest_geoip_release(struct hubtest_geoip *g);

/* <hub>/.tests (a hub checkout, as upstream), else <hub>/tests. */
void hubtest_tests_dir(const char *hub, char *buf, size_t len);
/* `cscli hubtest create` and `cscli hubtest coverage` (argv[0] is the verb). */
int hubtest_create_main(int argc, char **argv);
int hubtest_coverage_main(int argc, char **argv);

#endif /* CS_HUBTEST_INT_H */
