// SPDX-License-Identifier: MIT
/*
 * The hub's own parser tests: every folder of <hub>/tests with a non-empty
 * parser.assert, run like `cscli hubtest run`. HUB_DIR overrides the hub
 * location (default ../shared/hub from the repo root). Test names on the
 * command line restrict the run.
 */
#include <stdlib.h>
#include <time.h>

#include "expr/expr.h"
#include "hubtest/hubtest.h"
#include "../lib/test.h"

int main(int argc, char **argv)
{
	struct hubtest_opts o = { .hub_dir = hubtest_default_hub_dir(), .verbose = true };
	struct hubtest_summary sum;

	setenv("TZ", "UTC", 1);
	tzset();
	hubtest_run_all(&o, argv + 1, argc - 1, &sum);
	t_pass = sum.passed;
	t_fail = sum.failed;
	t_skip = sum.skipped;
	expr_data_reset();
	expr_cleanup();
	return TEST_SUMMARY();
}
