// SPDX-License-Identifier: MIT
/*
 * The hub's own scenario tests: every folder of <hub>/tests with a non-empty
 * scenario.assert, run like `cscli hubtest run` (parsers, scenarios,
 * postoverflows, then the asserts on the sorted overflows, spec 11.6).
 * The hub is $SHARED_DIR/hub; test names on the command line restrict
 * the run. Tests this build cannot run are listed in `skips` with why.
 * GeoIP: the hub data has no GeoLite2 databases, so the test ones of
 * tests/tools/geoip (written by mkmmdb.py, README there) are used; they give
 * the addresses of sshd-impossible-travel(-user) the countries and places that
 * GeoLite2 gives them (without them those tests skip, naming the file).
 * GEOIP_DIR=<dir> uses real databases instead.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "expr/expr.h"
#include "hubtest/scenario_run.h"
#include "../lib/geoip_fixture.h"
#include "../lib/test.h"


int main(int argc, char **argv)
{
	struct hubtest_opts o = { .hub_dir = t_shared("hub"), .verbose = true };
	struct hubtest_summary sum;
	char geoip[256];
	bool made;

	o.geoip_dir = t_geoip_for_hub(geoip, sizeof(geoip), &made);
	setenv("TZ", "UTC", 1);
	tzset();
	/* missing data files and expected warnings are noise here */
	log_set_level(getenv("HT_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	hubtest_run_scenarios_all(&o, argv + 1, argc - 1, hubtest_offline_skips(), &sum);
	if (made)
		t_geoip_remove(geoip);
	t_pass = sum.passed;
	t_fail = sum.failed;
	t_skip = sum.skipped;
	expr_cleanup();
	return TEST_SUMMARY();
}
