// SPDX-License-Identifier: MIT
/*
 * The hub's own scenario tests: every folder of <hub>/tests with a non-empty
 * scenario.assert, run like `cscli hubtest run` (parsers, scenarios,
 * postoverflows, then the asserts on the sorted overflows, spec 11.6).
 * HUB_DIR overrides the hub location; test names on the command line restrict
 * the run. Tests that cannot pass offline are listed in `skips` with why.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "expr/expr.h"
#include "hubtest/scenario_run.h"
#include "../lib/test.h"


int main(int argc, char **argv)
{
	struct hubtest_opts o = { .hub_dir = hubtest_default_hub_dir(), .verbose = true };
	struct hubtest_summary sum;

	setenv("TZ", "UTC", 1);
	tzset();
	/* missing data files and expected warnings are noise here */
	log_set_level(getenv("HT_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	hubtest_run_scenarios_all(&o, argv + 1, argc - 1, hubtest_offline_skips(o.hub_dir), &sum);
	t_pass = sum.passed;
	t_fail = sum.failed;
	t_skip = sum.skipped;
	expr_data_reset();
	expr_cleanup();
	return TEST_SUMMARY();
}
