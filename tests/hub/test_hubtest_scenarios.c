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


#define GEOIP_WHY "needs the GeoLite2 City/ASN databases (not in the offline hub data)"

/* name, reason pairs; filled at run time because some depend on the build. */
static const char *skips[16];

static void add_skip(size_t *n, const char *name, const char *why)
{
	skips[(*n)++] = name;
	skips[(*n)++] = why;
}

static bool have_geoip(const char *hub)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/data/GeoLite2-City.mmdb", hub);
	return access(path, R_OK) == 0;
}

int main(int argc, char **argv)
{
	struct hubtest_opts o = { .hub_dir = hubtest_default_hub_dir(), .verbose = true };
	struct hubtest_summary sum;
	size_t n = 0;

	setenv("TZ", "UTC", 1);
	tzset();
	/* missing data files and expected warnings are noise here */
	log_set_level(getenv("HT_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	if (!expr_xml_available())
		add_skip(&n, "cve-2023-23397",
			 "windows-logs/sysmon parsers need XMLGetNodeValue: libxml2 is not on the "
			 "include path (Makefile PKGS lacks libxml-2.0), the parsers drop the events");
	if (!have_geoip(o.hub_dir)) {
		add_skip(&n, "sshd-impossible-travel", GEOIP_WHY);
		add_skip(&n, "sshd-impossible-travel-user", GEOIP_WHY);
	}
	hubtest_run_scenarios_all(&o, argv + 1, argc - 1, skips, &sum);
	t_pass = sum.passed;
	t_fail = sum.failed;
	t_skip = sum.skipped;
	expr_data_reset();
	expr_cleanup();
	return TEST_SUMMARY();
}
