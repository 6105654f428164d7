/* SPDX-License-Identifier: MIT */
/*
 * hubtest: run the hub's own parser tests (hub-format.md section 11) the way
 * `cscli hubtest run` does: install the parsers a test's config.yaml names,
 * replay its log through the pipeline, build the `results` object of
 * parser.assert and evaluate every assert line with the expr engine.
 */
#ifndef CS_HUBTEST_H
#define CS_HUBTEST_H

#include <stdbool.h>
#include <stddef.h>

enum hubtest_status {
	HUBTEST_PASS,
	HUBTEST_FAIL,
	HUBTEST_SKIP,
};

struct hubtest_summary {
	int passed, failed, skipped;
};

struct hubtest_opts {
	const char *hub_dir;	/* has parsers/, patterns/, data/, tests/ */
	bool verbose;		/* print every failing assert line */
};

/*
 * Run the parser asserts of one test folder (a name under <hub>/tests or a
 * path). *why says why a test failed or was skipped; *nasserts counts lines.
 */
enum hubtest_status hubtest_run_parser_test(const struct hubtest_opts *o, const char *test,
					    char *why, size_t whylen, int *nasserts);

/*
 * Run every named test, or every test folder that has a parser.assert when
 * names is empty; prints one line per test and the "N passed, N failed, N
 * skipped" summary. Returns 0 if nothing failed, 1 otherwise.
 */
int hubtest_run_all(const struct hubtest_opts *o, char *const *names, int nnames,
		    struct hubtest_summary *sum);

/* The hub directory: $HUB_DIR, else ../shared/hub relative to cwd or the binary. */
const char *hubtest_default_hub_dir(void);

/* `cscli hubtest run [--hub DIR] [-v] [TEST...]`: argv[0] is "run". */
int hubtest_main(int argc, char **argv);

#endif /* CS_HUBTEST_H */
