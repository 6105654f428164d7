// SPDX-License-Identifier: MIT
/*
 * cscli hubtest create NAME --type T [-p PARSER]... [-s SCENARIO]... [--postoverflows X]...
 * [--ignore-parsers] [--hub DIR]: a new test folder as upstream writes it (empty log
 * and assert files, a config.yaml naming the items, syslog-logs and
 * dateparse-enrich added to the parsers), for the author to fill.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hubtest/hubtest_int.h"

#define MAX_ITEMS 64

struct create_opts {
	const char *hub, *name, *type;
	const char *parsers[MAX_ITEMS + 2], *scenarios[MAX_ITEMS], *postoverflows[MAX_ITEMS];
	int np, ns, npo;
	bool ignore_parsers;
};

static int touch(const char *dir, const char *name, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	return fclose(f) ? -errno : 0;
}

/* A YAML list of quoted names ("" when empty, as upstream writes it). */
static void yaml_list(FILE *f, const char *key, const char *const *v, int n)
{
	fprintf(f, "%s:\n", key);
	if (!n)
		fprintf(f, "    - \"\"\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "    - \"%s\"\n", v[i]);
}

static int write_test(const struct create_opts *c, const char *dir)
{
	char path[PATH_MAX + NAME_MAX + 512], logname[NAME_MAX + 1];
	FILE *f;
	int err;

	snprintf(logname, sizeof(logname), "%s.log", c->name);
	if ((err = touch(dir, logname, path, sizeof(path))))
		return err;
	printf("\n  Test name                   :  %s\n", c->name);
	printf("  Test path                   :  %s\n", dir);
	printf("  Log file                    :  %s (please fill it with logs)\n", path);
	if ((err = touch(dir, "parser.assert", path, sizeof(path))))
		return err;
	printf("  Parser assertion file       :  %s (please fill it with assertion)\n", path);
	if ((err = touch(dir, "scenario.assert", path, sizeof(path))))
		return err;
	printf("  Scenario assertion file     :  %s (please fill it with assertion)\n", path);
	snprintf(path, sizeof(path), "%s/config.yaml", dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	yaml_list(f, "parsers", c->parsers, c->np);
	yaml_list(f, "scenarios", c->scenarios, c->ns);
	yaml_list(f, "postoverflows", c->postoverflows, c->npo);
	fprintf(f, "log_file: %s\nlog_type: %s\nignore_parsers: %s\n", logname, c->type,
		c->ignore_parsers ? "true" : "false");
	if (fclose(f))
		return -errno;
	printf("  Configuration File          :  %s (please fill it with parsers, scenarios...)\n", path);
	return 0;
}

static int add_item(const char **v, int *n, int max, const char *item, const char *flag)
{
	if (*n >= max) {
		fprintf(stderr, "hubtest create: too many %s\n", flag);
		return -E2BIG;
	}
	if (strchr(item, '"') || strchr(item, '\n')) {
		fprintf(stderr, "hubtest create: %s: '%s' is not an item name\n", flag, item);
		return -EINVAL;
	}
	v[(*n)++] = item;
	return 0;
}

int hubtest_create_main(int argc, char **argv)
{
	struct create_opts c = { .hub = "." };
	char tests[PATH_MAX], dir[PATH_MAX + NAME_MAX + 2];
	struct stat st;
	int err = 0;

	for (int i = 1; i < argc && !err; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if ((!strcmp(a, "--type") || !strcmp(a, "-t")) && v)
			c.type = argv[++i];
		else if ((!strcmp(a, "--parsers") || !strcmp(a, "-p")) && v)
			err = add_item(c.parsers, &c.np, MAX_ITEMS, argv[++i], "--parsers");
		else if ((!strcmp(a, "--scenarios") || !strcmp(a, "-s")) && v)
			err = add_item(c.scenarios, &c.ns, MAX_ITEMS, argv[++i], "--scenarios");
		else if (!strcmp(a, "--postoverflows") && v)
			err = add_item(c.postoverflows, &c.npo, MAX_ITEMS, argv[++i], "--postoverflows");
		else if (!strcmp(a, "--ignore-parsers"))
			c.ignore_parsers = true;
		else if (!strcmp(a, "--hub") && v)
			c.hub = argv[++i];
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("Usage: cscli hubtest create NAME --type LOG_TYPE [-p PARSER]... [-s SCENARIO]...\n"
			       "                            [--postoverflows PO]... [--ignore-parsers] [--hub DIR]\n"
			       "\nCreate the test folder NAME in DIR/.tests with an empty log and assert files.\n");
			return 0;
		} else if (a[0] == '-') {
			fprintf(stderr, "hubtest create: unknown or incomplete option '%s'\n", a);
			return 1;
		} else if (!c.name) {
			c.name = a;
		} else {
			fprintf(stderr, "hubtest create: one test name only ('%s' and '%s')\n", c.name, a);
			return 1;
		}
	}
	if (err)
		return 1;
	if (!c.name || !*c.name || strchr(c.name, '/') || !strcmp(c.name, ".") || !strcmp(c.name, "..")) {
		fprintf(stderr, "hubtest create: please give the test a name (no '/')\n");
		return 1;
	}
	if (!c.type || !*c.type) {
		fprintf(stderr, "hubtest create: please provide a type (--type) for the test\n");
		return 1;
	}
	/* upstream adds these two to what the author asked for */
	c.parsers[c.np++] = "crowdsecurity/syslog-logs";
	c.parsers[c.np++] = "crowdsecurity/dateparse-enrich";
	hubtest_tests_dir(c.hub, tests, sizeof(tests));
	if (stat(tests, &st))
		snprintf(tests, sizeof(tests), "%s/.tests", c.hub); /* a hub without tests yet */
	if (stat(tests, &st) && mkdir(tests, 0755)) {
		fprintf(stderr, "hubtest create: %s: %s\n", tests, strerror(errno));
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/%s", tests, c.name);
	if (mkdir(dir, 0755)) {
		fprintf(stderr, errno == EEXIST ? "hubtest create: test '%s' already exists in '%s', exiting\n"
						: "hubtest create: %s: cannot create '%s'\n",
			c.name, dir);
		return 1;
	}
	err = write_test(&c, dir);
	if (err) {
		fprintf(stderr, "hubtest create: %s: %s\n", dir, strerror(-err));
		return 1;
	}
	return 0;
}
