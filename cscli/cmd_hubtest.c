// SPDX-License-Identifier: MIT
/*
 * cscli hubtest run [--hub DIR] [-v] [--all | TEST...]: the hub's own test folders
 * (config.yaml + log + parser.assert/scenario.assert) through our engine, as
 * CrowdSec users run `cscli hubtest run`. Parser asserts first, then scenario
 * asserts; each part ends with its "N passed, N failed, N skipped" line.
 */
#include <stdio.h>
#include <string.h>

#include "cscli/cscli.h"
#include "hubtest/hubtest.h"
#include "hubtest/scenario_run.h"

int cmd_hubtest(struct cli *c, int argc, char **argv)
{
	char *args[256];
	int n = 0, rc_parsers, rc_scenarios;

	(void)c;
	argc--, argv++; /* argv[0] is "hubtest" */
	if (argc < 1 || strcmp(argv[0], "run")) {
		fprintf(stderr, "Usage: cscli hubtest run [--hub DIR] [-v] [--all | TEST...]\n");
		return argc < 1 || !strcmp(argv[0], "help") || !strcmp(argv[0], "--help") ? 0 : 1;
	}
	/* "--all" is what upstream needs to run everything; here no names means all */
	for (int i = 0; i < argc && n < 255; i++)
		if (strcmp(argv[i], "--all"))
			args[n++] = argv[i];
	args[n] = NULL;
	printf("== parser tests\n");
	rc_parsers = hubtest_main(n, args);
	printf("== scenario tests\n");
	rc_scenarios = hubtest_scenarios_main(n, args);
	return rc_parsers || rc_scenarios ? 1 : 0;
}
