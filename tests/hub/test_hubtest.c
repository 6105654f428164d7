// SPDX-License-Identifier: MIT
/*
 * The hub's own parser tests: every folder of <hub>/tests with a non-empty
 * parser.assert, run like `cscli hubtest run`. The hub is $SHARED_DIR/hub. Test names on the
 * command line restrict the run. Without names, also checks that every parser
 * and postoverflow file of the hub loads (scenario tests depend on them).
 */
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "expr/expr.h"
#include "hubtest/hubtest.h"
#include "parser/parser.h"
#include "../lib/hub_fixture.h"
#include "../lib/test.h"

/* Stage of <hub>/<type>/<stage>/<author>/<file>: the third element from the end. */
static void stage_of(const char *path, char *stage, size_t len)
{
	const char *end = path + strlen(path), *p = end;

	for (int k = 0; k < 3 && p > path; k++)
		while (--p > path && *p != '/')
			;
	end = p;
	while (--p > path && *p != '/')
		;
	snprintf(stage, len, "%.*s", (int)(end - p - 1), p + 1);
}

static void test_every_hub_file_loads(const char *hub)
{
	char pattern[4096], patterns[4096], data[4096], stage[256];
	struct cs_parser_opts o = { .patterns_dir = patterns, .data_dir = data };
	enum log_level lvl = log_get_level();
	int bad = 0;
	glob_t g;

	snprintf(patterns, sizeof(patterns), "%s/patterns", hub);
	snprintf(data, sizeof(data), "%s/data", hub);
	snprintf(pattern, sizeof(pattern), "%s/parsers/*/*/*.yaml", hub);
	if (glob(pattern, 0, NULL, &g)) {
		TEST_SKIP(1, "no hub parsers found");
		return;
	}
	snprintf(pattern, sizeof(pattern), "%s/postoverflows/*/*/*.yaml", hub);
	glob(pattern, GLOB_APPEND, NULL, &g);
	log_set_level(LOG_LVL_ERROR); /* missing data files are warnings, expected offline */
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct cs_parsers *p = NULL;

		stage_of(g.gl_pathv[i], stage, sizeof(stage));
		if (cs_parsers_new(&o, &p) || cs_parsers_load_file(p, stage, g.gl_pathv[i], NULL)) {
			fprintf(stderr, "does not load: %s\n", p ? cs_parsers_last_error(p) : "setup");
			bad++;
		}
		cs_parsers_free(p);
	}
	log_set_level(lvl);
	printf("hub parser/postoverflow files loaded: %zu/%zu\n", g.gl_pathc - bad, g.gl_pathc);
	ASSERT_EQ(bad, 0, "every hub parser and postoverflow file loads");
	globfree(&g);
}

static int count_event(struct cs_event *evt, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

/* Scenario tests build on this: every test folder's parsers load and its log replays. */
static void test_every_case_replays(const struct hubtest_opts *o)
{
	enum log_level lvl = log_get_level();
	char pattern[4096];
	int bad = 0;
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/tests/*/config.yaml", o->hub_dir);
	if (glob(pattern, 0, NULL, &g)) {
		TEST_SKIP(1, "no hub tests found");
		return;
	}
	log_set_level(LOG_LVL_ERROR);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct hubtest_case *hc = NULL;
		char dir[4096], why[1024];
		int events = 0;

		snprintf(dir, sizeof(dir), "%.*s", (int)(strlen(g.gl_pathv[i]) - strlen("/config.yaml")),
			 g.gl_pathv[i]);
		if (hubtest_case_open(o, dir, &hc, why, sizeof(why)) ||
		    hubtest_case_replay(hc, NULL, NULL, count_event, &events, why, sizeof(why)) ||
		    !events) {
			fprintf(stderr, "%s: %s\n", dir, events ? why : "no event");
			bad++;
		}
		hubtest_case_free(hc);
	}
	log_set_level(lvl);
	printf("hub test folders replayed through their parsers: %zu/%zu\n", g.gl_pathc - bad,
	       g.gl_pathc);
	ASSERT_EQ(bad, 0, "every hub test folder replays");
	globfree(&g);
}

/*
 * config.yaml: `- ""` means "none" and is dropped; a value of the wrong type is
 * an error naming the file, the line and the key.
 */
static void test_config_yaml(const struct hubtest_opts *o)
{
	char root[] = "/tmp/test_hubtest_XXXXXX", dir[64], why[512];
	struct hubtest_case *hc = NULL;
	char *const *names;
	size_t n = 0;
	int err;

	if (t_scratch_dir(root))
		return;
	snprintf(dir, sizeof(dir), "%s/none", root);
	mkdir(dir, 0700);
	t_write_file(dir, "config.yaml", "parsers:\n- \"\"\nscenarios:\n- \"\"\n"
					 "- crowdsecurity/ssh-bf\nignore_parsers: yes\n"
					 "log_file: x.log\nlog_type: syslog\nnuclei_template: x\n");
	err = hubtest_case_open(o, dir, &hc, why, sizeof(why));
	ASSERT_OK(err, why);
	if (!err) {
		names = hubtest_case_items(hc, "scenarios", &n);
		ASSERT_TRUE(n == 1 && !strcmp(names[0], "crowdsecurity/ssh-bf"), "\"\" dropped");
		hubtest_case_items(hc, "parsers", &n);
		ASSERT_EQ(n, 0, "parsers: none");
	}
	hubtest_case_free(hc);
	snprintf(dir, sizeof(dir), "%s/bad", root);
	mkdir(dir, 0700);
	t_write_file(dir, "config.yaml", "log_file: x.log\nlog_type: syslog\nparsers:\n  a: b\n");
	hc = NULL;
	ASSERT_EQ(hubtest_case_open(o, dir, &hc, why, sizeof(why)), -EINVAL, "a mapping as a list");
	ASSERT_TRUE(strstr(why, "config.yaml:4: parsers: expected a list") != NULL, why);
	hubtest_case_free(hc);
}

int main(int argc, char **argv)
{
	struct hubtest_summary sum;
	struct t_hub h;

	/* the tests whose parsers name GeoIP databases skip without them */
	t_hub_open(&h);
	hubtest_run_all(&h.o, argv + 1, argc - 1, &sum);
	if (argc == 1) {
		test_every_hub_file_loads(h.o.hub_dir);
		test_every_case_replays(&h.o);
		test_config_yaml(&h.o);
	}
	return t_hub_close(&h, &sum);
}
