// SPDX-License-Identifier: MIT
/*
 * Many tests, and `cscli hubtest run`: the test folders of a hub checkout
 * (<hub>/.tests as upstream, or <hub>/tests), each run for its parser asserts
 * and then for its scenario asserts, one line per test and a summary per part.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/strv.h"
#include "hubtest/hubtest_int.h"
#include "hubtest/scenario_run.h"

typedef enum hubtest_status (*run_one_fn)(const struct hubtest_opts *o, const char *test,
					 char *why, size_t whylen, int *nasserts);

void hubtest_tests_dir(const char *hub, char *buf, size_t len)
{
	struct stat st;

	snprintf(buf, len, "%s/.tests", hub);
	if (stat(buf, &st) || !S_ISDIR(st.st_mode))
		snprintf(buf, len, "%s/tests", hub);
}

static const char *skip_reason(const char *const *skip, const char *name)
{
	for (; skip && skip[0]; skip += 2)
		if (!strcmp(skip[0], name))
			return skip[1];
	return NULL;
}

static bool has_assert(const char *tests, const char *name, void *assert_file)
{
	char path[PATH_MAX + 512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/%s", tests, name, (const char *)assert_file);
	return !stat(path, &st) && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* Sorted names of the test folders with a non-empty assert_file; -errno. */
static int list_tests(const char *hub, const char *assert_file, char ***out, size_t *n)
{
	char tests[PATH_MAX];
	int err;

	hubtest_tests_dir(hub, tests, sizeof(tests));
	err = strv_from_dir(tests, has_assert, (void *)assert_file, out, n);
	if (err)
		fprintf(stderr, "hubtest: %s: %s\n", tests, strerror(-err));
	return err;
}

static int run_many(const struct hubtest_opts *o, const char *assert_file, run_one_fn run,
		    char *const *names, int nnames, const char *const *skip,
		    struct hubtest_summary *sum)
{
	char **list = NULL;
	size_t n = 0;

	memset(sum, 0, sizeof(*sum));
	if (!nnames && list_tests(o->hub_dir, assert_file, &list, &n)) {
		sum->failed = 1;
		goto out;
	}
	for (size_t i = 0; i < (nnames ? (size_t)nnames : n); i++) {
		const char *name = nnames ? names[i] : list[i];
		const char *reason = skip_reason(skip, name);
		char why[2048];
		int nasserts = 0;
		enum hubtest_status st;

		if (reason) {
			snprintf(why, sizeof(why), "%s", reason);
			st = HUBTEST_SKIP;
		} else {
			st = run(o, name, why, sizeof(why), &nasserts);
		}
		switch (st) {
		case HUBTEST_PASS:
			sum->passed++;
			printf("PASS %s (%d asserts)\n", name, nasserts);
			break;
		case HUBTEST_SKIP:
			sum->skipped++;
			printf("SKIP %s: %s\n", name, why);
			break;
		case HUBTEST_FAIL:
			sum->failed++;
			printf("FAIL %s: %s\n", name, why);
			break;
		}
		fflush(stdout);
	}
out:
	strv_free(list, n);
	return sum->failed ? 1 : 0;
}

int hubtest_run_all(const struct hubtest_opts *o, char *const *names, int nnames,
		    struct hubtest_summary *sum)
{
	return run_many(o, "parser.assert", hubtest_run_parser_test, names, nnames, NULL, sum);
}

int hubtest_run_scenarios_all(const struct hubtest_opts *o, char *const *names, int nnames,
			      const char *const *skip, struct hubtest_summary *sum)
{
	return run_many(o, "scenario.assert", hubtest_run_scenario_test, names, nnames, skip, sum);
}

static void print_summary(const struct hubtest_summary *sum)
{
	printf("%d passed, %d failed, %d skipped\n", sum->passed, sum->failed, sum->skipped);
	fflush(stdout);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: cscli hubtest run [--hub DIR] [--geoip-dir DIR] [-v] (--all | TEST...)\n"
		   "       cscli hubtest create NAME --type LOG_TYPE [-p PARSER]... [-s SCENARIO]...\n"
		   "       cscli hubtest coverage [--parsers] [--scenarios] [--percent] [-o human|json]\n"
		   "\n"
		   "Run the hub's test folders (DIR/.tests, or DIR/tests) through this engine:\n"
		   "their parser asserts, then their scenario asserts.\n"
		   "\n"
		   "  --hub DIR        the hub checkout (default: the current directory)\n"
		   "  --geoip-dir DIR  the GeoIP databases the tests' parsers name (default: DIR/data)\n"
		   "  --all            every test folder\n"
		   "  -v, --verbose    print every failing assert\n"
		   "  --clean, --no-clean, --report-success, --max-jobs N, --crowdsec PATH,\n"
		   "  --cscli PATH     accepted as upstream's; the tests run in this process, one\n"
		   "                   after another, and every one is reported\n");
}

int hubtest_main(int argc, char **argv)
{
	struct hubtest_opts o = { .hub_dir = "." };
	struct hubtest_summary sum;
	char *names[256];
	int n = 0, rc_parsers, rc_scenarios;
	bool all = false;

	if (argc < 1 || !strcmp(argv[0], "help") || !strcmp(argv[0], "--help") ||
	    !strcmp(argv[0], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[0], "create"))
		return hubtest_create_main(argc, argv);
	if (!strcmp(argv[0], "coverage"))
		return hubtest_coverage_main(argc, argv);
	if (strcmp(argv[0], "run")) {
		fprintf(stderr, "hubtest: unknown command '%s'\n", argv[0]);
		usage(stderr);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--hub") && i + 1 < argc) {
			o.hub_dir = argv[++i];
		} else if (!strcmp(argv[i], "--geoip-dir") && i + 1 < argc) {
			o.geoip_dir = argv[++i];
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			o.verbose = true;
		} else if (!strcmp(argv[i], "--all")) {
			all = true;
		} else if (!strcmp(argv[i], "--clean") || !strcmp(argv[i], "--no-clean") ||
			   !strcmp(argv[i], "--report-success")) {
			/* upstream's, as the hub's CI passes them: tests run in this process
			 * (no runtime environment to clean or keep), every test is reported */
		} else if (!strcmp(argv[i], "--max-jobs") && i + 1 < argc) {
			char *end;

			errno = 0;
			if (strtoul(argv[++i], &end, 10) == 0 || *end || errno || argv[i][0] == '-') {
				fprintf(stderr, "hubtest run: --max-jobs wants a positive number, not '%s'\n",
					argv[i]);
				return 1;
			}
			/* accepted; the tests run one after another */
		} else if ((!strcmp(argv[i], "--crowdsec") || !strcmp(argv[i], "--cscli")) &&
			   i + 1 < argc) {
			i++; /* upstream runs those binaries; this engine runs the tests itself */
		} else if (!strcmp(argv[i], "--appsec")) {
			fprintf(stderr, "hubtest run: --appsec: AppSec tests (.appsec-tests) are not "
					"supported (no WAF engine here)\n");
			return 1;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "hubtest run: unknown option '%s'\n", argv[i]);
			return 1;
		} else if (n < (int)(sizeof(names) / sizeof(names[0]))) {
			names[n++] = argv[i];
		} else {
			fprintf(stderr, "hubtest run: too many test names\n");
			return 1;
		}
	}
	if (!all && !n) {
		fprintf(stderr, "hubtest run: please provide a test to run or --all\n");
		return 1;
	}
	if (all)
		n = 0;
	/* Upstream runs crowdsec with TZ=UTC: dates without a zone are UTC. */
	setenv("TZ", "UTC", 1);
	tzset();
	printf("== parser tests\n");
	rc_parsers = hubtest_run_all(&o, names, n, &sum);
	print_summary(&sum);
	printf("== scenario tests\n");
	rc_scenarios = hubtest_run_scenarios_all(&o, names, n, hubtest_offline_skips(), &sum);
	print_summary(&sum);
	return rc_parsers || rc_scenarios ? 1 : 0;
}
