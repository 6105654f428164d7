// SPDX-License-Identifier: MIT
/*
 * cscli hubtest run [--hub DIR] [-v] (--all | TEST...): the hub's own test folders
 * (config.yaml + log + parser.assert/scenario.assert) through our engine, as
 * CrowdSec users run `cscli hubtest run` from a hub checkout (hubtest/runner.c).
 */
#include "cscli/cscli.h"
#include "hubtest/hubtest.h"

int cmd_hubtest(struct cli *c, int argc, char **argv)
{
	(void)c;
	return hubtest_main(argc - 1, argv + 1); /* argv[0] is "hubtest" */
}
