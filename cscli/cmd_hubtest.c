// SPDX-License-Identifier: MIT
/*
 * cscli hubtest run [--hub DIR] [-v] (--all | TEST...): the hub's own test folders
 * (config.yaml + log + parser.assert/scenario.assert) through our engine, as
 * CrowdSec users run `cscli hubtest run` from a hub checkout (hubtest/runner.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cscli/cscli.h"
#include "hubtest/hubtest.h"

int cmd_hubtest(struct cli *c, int argc, char **argv)
{
	/* room for every "--flag=value" split in two, and a trailing "-o json" */
	char **v = calloc((size_t)argc * 2 + 3, sizeof(*v));
	char **names = calloc((size_t)argc + 1, sizeof(*names));
	int n = 0, nnames = 0, rc = -ENOMEM;

	if (!v || !names)
		goto out;
	/* upstream's flags are Go's pflag: "--max-jobs=8" is "--max-jobs 8" */
	for (int i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');

		if (strncmp(argv[i], "--", 2) || !eq) {
			v[n++] = argv[i];
			continue;
		}
		names[nnames] = strndup(argv[i], (size_t)(eq - argv[i]));
		if (!names[nnames])
			goto out;
		v[n++] = names[nnames++];
		v[n++] = (char *)eq + 1;
	}
	/* cscli's global -o reaches `hubtest coverage` as its own flag */
	if (c->out == OUT_JSON && n > 0 && !strcmp(v[0], "coverage")) {
		v[n++] = (char *)"-o";
		v[n++] = (char *)"json";
	}
	rc = hubtest_main(n, v);
out:
	if (rc == -ENOMEM)
		fprintf(stderr, "hubtest: out of memory\n");
	for (int i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(v);
	return rc == -ENOMEM ? 1 : rc;
}
