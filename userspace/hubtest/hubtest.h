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

#include "parser/parser.h"

enum hubtest_status {
	HUBTEST_PASS,
	HUBTEST_FAIL,
	HUBTEST_SKIP,
};

struct hubtest_summary {
	int passed, failed, skipped;
};

struct hubtest_opts {
	const char *hub_dir;	/* has parsers/, patterns/, data/, .tests/ (or tests/) */
	const char *geoip_dir;	/* the .mmdb files the tests' parsers name; NULL = <hub_dir>/data */
	bool verbose;		/* print every failing assert line */
};

/*
 * One test folder, opened: config.yaml read, its parsers (and override_statics)
 * loaded from the hub. The bucket engine's scenario tests reuse this to get the
 * parsed events of a test in order (hubtest_case_replay) and its item lists.
 */
struct hubtest_case;

/* -ENODATA: the test needs a GeoIP database that is not here (*why names it). */
int hubtest_case_open(const struct hubtest_opts *o, const char *test, struct hubtest_case **out,
		      char *why, size_t whylen);
void hubtest_case_free(struct hubtest_case *hc);
const char *hubtest_case_dir(const struct hubtest_case *hc);
/* The names listed under `type` ("parsers", "scenarios", "postoverflows"), "" entries dropped. */
char *const *hubtest_case_items(const struct hubtest_case *hc, const char *type, size_t *n);

/*
 * Replay the test's log (spec section 2: one event per non-empty line, Src =
 * absolute log path, Module "file", Labels type + labels, TIMEMACHINE) through
 * the parsers. obs (optional) sees every node result; on_event (optional) gets
 * every event after parsing, in line order — only those with evt->process true
 * and evt->whitelisted false go to scenarios (a node error discards the event:
 * process false). The event is freed after the call (cs_event_dup() to keep
 * it). 0 or -errno (then *why says why).
 */
typedef int (*hubtest_event_fn)(struct cs_event *evt, void *arg);
int hubtest_case_replay(struct hubtest_case *hc, cs_parse_observer obs, void *obs_arg,
			hubtest_event_fn on_event, void *arg, char *why, size_t whylen);

/*
 * Find a hub item: a name (author/name) looked up under <hub>/<type>/[<stage>/],
 * or a path relative to the hub root or the test folder. For parsers and
 * postoverflows *stage gets the stage directory. 0 or -ENOENT.
 */
int hubtest_resolve_item(const char *hub, const char *testdir, const char *type,
			 const char *item, char *path, size_t plen, char *stage, size_t slen);

/*
 * Run the parser asserts of one test folder (a name under <hub>/.tests or
 * <hub>/tests, or a path). *why says why a test failed or was skipped; *nasserts counts lines.
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

/*
 * `cscli hubtest run [--hub DIR] [--geoip-dir DIR] [-v] (--all | TEST...)`,
 * argv[0] "run": parser asserts then scenario asserts, as upstream does from a
 * hub checkout (the hub defaults to the current directory). 0 if nothing failed.
 */
int hubtest_main(int argc, char **argv);

#endif /* CS_HUBTEST_H */
