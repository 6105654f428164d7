// SPDX-License-Identifier: MIT
/*
 * cscli hubtest run [--hub DIR] [-v] (--all | TEST...): the hub's own test folders
 * (config.yaml + log + parser.assert/scenario.assert) through our engine, as
 * CrowdSec users run `cscli hubtest run` from a hub checkout (hubtest/runner.c).
 */
#include <string.h>

#include "cscli/cscli.h"
#include "hubtest/hubtest.h"

int cmd_hubtest(struct cli *c, int argc, char **argv)
{
	/* cscli's global -o reaches `hubtest coverage` as its own flag */
	if (c->out == OUT_JSON && argc > 1 && !strcmp(argv[1], "coverage")) {
		char *v[argc + 2];

		memcpy(v, argv + 1, (size_t)(argc - 1) * sizeof(*v));
		v[argc - 1] = (char *)"-o";
		v[argc] = (char *)"json";
		v[argc + 1] = NULL;
		return hubtest_main(argc + 1, v);
	}
	return hubtest_main(argc - 1, argv + 1); /* argv[0] is "hubtest" */
}
