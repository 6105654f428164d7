/* SPDX-License-Identifier: MIT */
/*
 * hubtest for scenarios (hub-format.md 11.6): replay a test's log through its
 * parsers, pour into its scenarios (postoverflows applied), collect the
 * overflows, sort them as upstream does and evaluate scenario.assert.
 */
#ifndef CS_HUBTEST_SCENARIO_RUN_H
#define CS_HUBTEST_SCENARIO_RUN_H

#include "hubtest/hubtest.h"

/* Run one test folder's scenario asserts. *why says why it failed or was skipped. */
enum hubtest_status hubtest_run_scenario_test(const struct hubtest_opts *o, const char *test,
					      char *why, size_t whylen, int *nasserts);

/*
 * Every named test, or every test folder with a non-empty scenario.assert
 * when names is empty. `skip` (optional, NULL-terminated pairs name, reason)
 * lists tests to report as skipped without running. One line per test and
 * the "N passed, N failed, N skipped" summary. 0 if nothing failed, else 1.
 */
int hubtest_run_scenarios_all(const struct hubtest_opts *o, char *const *names, int nnames,
			      const char *const *skip, struct hubtest_summary *sum);

/* Tests that cannot pass with this build, as (name, reason) pairs, NULL-terminated
 * (no libxml2). A test whose GeoIP databases are missing is skipped when it runs. */
const char *const *hubtest_offline_skips(void);

#endif /* CS_HUBTEST_SCENARIO_RUN_H */
