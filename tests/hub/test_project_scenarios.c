// SPDX-License-Identifier: MIT
/*
 * The project's own scenarios (scenarios/crowdsec-xdp/<name>.yaml), each with a
 * hub-format test folder under scenarios/tests/, run like the hub's scenario
 * tests: the hub's parsers ($SHARED_DIR/hub), our scenarios,
 * then scenario.assert. Test folder names on the command line restrict the run.
 */
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "expr/expr.h"
#include "hubtest/scenario_run.h"
#include "../lib/test.h"

/* scenarios/tests relative to the cwd, or to the repo root above the binary. */
static const char *tests_dir(void)
{
	static char buf[PATH_MAX + 32];
	char exe[PATH_MAX];
	ssize_t n;

	if (!access("scenarios/tests", R_OK))
		return "scenarios/tests";
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	for (int up = 0; n > 0 && up < 5; up++) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (!slash)
			break;
		*slash = '\0';
		n = (ssize_t)strlen(exe);
		snprintf(buf, sizeof(buf), "%s/scenarios/tests", exe);
		if (!access(buf, R_OK))
			return buf;
	}
	return "scenarios/tests";
}

int main(int argc, char **argv)
{
	struct hubtest_opts o = { .hub_dir = t_shared("hub"), .verbose = true };
	struct hubtest_summary sum;
	char pattern[PATH_MAX + 64];
	glob_t g = { 0 };
	char **names;
	int n = 0;

	setenv("TZ", "UTC", 1);
	tzset();
	log_set_level(getenv("HT_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	snprintf(pattern, sizeof(pattern), "%s/*/config.yaml", tests_dir());
	if (glob(pattern, 0, NULL, &g) || !g.gl_pathc) {
		TEST_SKIP(1, "no scenarios/tests folders");
		return TEST_SUMMARY();
	}
	names = calloc(g.gl_pathc, sizeof(*names));
	for (size_t i = 0; names && i < g.gl_pathc; i++) {
		char *dir = strdup(g.gl_pathv[i]), *slash = dir ? strrchr(dir, '/') : NULL;

		if (!slash)
			continue;
		*slash = '\0';
		/* keep the names given on the command line only */
		for (int a = 1; a < argc; a++)
			if (strstr(dir, argv[a]) && !strcmp(strrchr(dir, '/') + 1, argv[a]))
				goto keep;
		if (argc > 1) {
			free(dir);
			continue;
		}
keep:
		names[n++] = dir;
	}
	hubtest_run_scenarios_all(&o, names, n, NULL, &sum);
	t_pass = sum.passed;
	t_fail = sum.failed;
	t_skip = sum.skipped;
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	globfree(&g);
	expr_cleanup();
	return TEST_SUMMARY();
}
