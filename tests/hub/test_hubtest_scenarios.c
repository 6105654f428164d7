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
#include "../lib/hub_fixture.h"
#include "../lib/test.h"


int main(int argc, char **argv)
{
	struct hubtest_summary sum;
	struct t_hub h;

	t_hub_open(&h);
	/* missing data files and expected warnings are noise here */
	log_set_level(getenv("HT_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	hubtest_run_scenarios_all(&h.o, argv + 1, argc - 1, hubtest_offline_skips(), &sum);
	return t_hub_close(&h, &sum);
}
