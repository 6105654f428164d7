// SPDX-License-Identifier: MIT
/*
 * cscli hubtest coverage [--parsers] [--scenarios] [--percent] [-o human|json] [--hub DIR]:
 * which of the hub index's parsers and scenarios some test asserts on, found the way
 * upstream finds them: a parser.assert line `results["STAGE"]["NAME"][N].Evt...`, a
 * scenario.assert line `results[N].Overflow.Alert.GetScenario() == "NAME"`, where
 * NAME may be the item's full name or its last part (and upstream's two spelling
 * allowances: "probbing" for "probing", a "-detection" suffix).
 */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hubtest/hubtest_int.h"

struct cov {
	const char *name;
	int tests;
};

static const char *last_part(const char *name)
{
	const char *s = strrchr(name, '/');

	return s ? s + 1 : name;
}

/* "probbing" read as "probing" into buf */
static const char *fix_probing(const char *s, char *buf, size_t len)
{
	const char *p = strstr(s, "probbing");

	if (!p)
		return s;
	snprintf(buf, len, "%.*sprobing%s", (int)(p - s), s, p + 8);
	return buf;
}

static bool covers(const char *item, const char *asserted, bool scenario)
{
	char a[512], b[512], det[600];

	if (!strcmp(item, asserted) || !strcmp(last_part(item), asserted) ||
	    !strcmp(last_part(item), last_part(asserted)))
		return true;
	if (!scenario)
		return false;
	if (!strcmp(fix_probing(item, a, sizeof(a)), fix_probing(asserted, b, sizeof(b))))
		return true;
	snprintf(det, sizeof(det), "%s-detection", fix_probing(item, a, sizeof(a)));
	return !strcmp(det, fix_probing(asserted, b, sizeof(b)));
}

/* The NAME an assert line speaks of, into out; false when the line is not of the kind. */
static bool asserted_name(const char *line, bool scenario, char *out, size_t len)
{
	const char *p, *q;

	if (strncmp(line, "results[", 8))
		return false;
	p = line + 8;
	if (scenario) {
		p += strspn(p, "0123456789");
		if (strncmp(p, "].Overflow.Alert.GetScenario() == \"", 35))
			return false;
		p += 35;
	} else {
		if (*p++ != '"' || !(p = strchr(p, '"')) || strncmp(p, "\"][\"", 4))
			return false;
		p += 4;
	}
	q = strchr(p, '"');
	if (!q || q == p || (size_t)(q - p) >= len)
		return false;
	if (!scenario && (strncmp(q, "\"][", 3) || !strchr(q, ']') ||
			  !strstr(q, "].Evt.")))
		return false;
	snprintf(out, len, "%.*s", (int)(q - p), p);
	return true;
}

static void scan_asserts(const char *tests, const char *file, bool scenario, struct cov *c, size_t n)
{
	DIR *d = opendir(tests);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char path[PATH_MAX], line[4096], name[512];
		bool *seen;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", tests, de->d_name, file);
		f = fopen(path, "r");
		if (!f)
			continue;
		seen = calloc(n ? n : 1, sizeof(*seen)); /* a test counts once per item */
		while (seen && fgets(line, sizeof(line), f))
			if (asserted_name(line, scenario, name, sizeof(name)))
				for (size_t i = 0; i < n; i++)
					if (!seen[i] && covers(c[i].name, name, scenario)) {
						seen[i] = true;
						c[i].tests++;
					}
		free(seen);
		fclose(f);
	}
	if (d)
		closedir(d);
}

static int cmp_cov(const void *a, const void *b)
{
	return strcmp(((const struct cov *)a)->name, ((const struct cov *)b)->name);
}

/* The index's items of a type, sorted; their names borrowed from idx. */
static struct cov *index_items(json_t *idx, const char *type, size_t *n)
{
	json_t *items = json_object_get(idx, type);
	struct cov *c = calloc(json_object_size(items) + 1, sizeof(*c));
	const char *k;
	json_t *v;

	*n = 0;
	if (!c)
		return NULL;
	json_object_foreach(items, k, v)
		c[(*n)++].name = k;
	qsort(c, *n, sizeof(*c), cmp_cov);
	return c;
}

static int percent(const struct cov *c, size_t n)
{
	size_t tested = 0;

	for (size_t i = 0; i < n; i++)
		tested += c[i].tests > 0;
	return n ? (int)lround(100.0 * (double)tested / (double)n) : 0;
}

static void print_table(const char *title, const struct cov *c, size_t n)
{
	printf("%-60s  %-6s  %s\n", title, "Status", "Number of tests");
	for (size_t i = 0; i < n; i++)
		printf("%-60s  %-6s  %d\n", c[i].name, c[i].tests ? "✅" : "❌", c[i].tests);
	printf("\n");
}

static void print_json(const struct cov *c, size_t n)
{
	json_t *a = json_array();
	char *s;

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:s,s:i}", "Name", c[i].name, "TestsCount", c[i].tests));
	s = a ? json_dumps(a, JSON_INDENT(1)) : NULL;
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(a);
}

int hubtest_coverage_main(int argc, char **argv)
{
	bool want_p = false, want_s = false, only_percent = false, json = false;
	const char *hub = ".";
	char tests[PATH_MAX], ipath[PATH_MAX];
	struct cov *pc = NULL, *sc = NULL;
	size_t np = 0, ns = 0;
	json_error_t jerr;
	json_t *idx;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--parsers"))
			want_p = true;
		else if (!strcmp(argv[i], "--scenarios"))
			want_s = true;
		else if (!strcmp(argv[i], "--percent"))
			only_percent = true;
		else if (!strcmp(argv[i], "--hub") && i + 1 < argc)
			hub = argv[++i];
		else if (!strcmp(argv[i], "-o") && i + 1 < argc && (!strcmp(argv[i + 1], "json") ||
								    !strcmp(argv[i + 1], "human")))
			json = !strcmp(argv[++i], "json");
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("Usage: cscli hubtest coverage [--parsers] [--scenarios] [--percent] "
			       "[-o human|json] [--hub DIR]\n\nWhich parsers and scenarios of DIR/.index.json "
			       "the tests of DIR/.tests assert on.\n");
			return 0;
		} else {
			fprintf(stderr, "hubtest coverage: unknown or incomplete option '%s' "
					"(only human/json output modes are supported)\n", argv[i]);
			return 1;
		}
	}
	if (!want_p && !want_s)
		want_p = want_s = true;
	snprintf(ipath, sizeof(ipath), "%s/.index.json", hub);
	idx = json_load_file(ipath, 0, &jerr);
	if (!json_is_object(idx)) {
		fprintf(stderr, "hubtest coverage: %s:%d: %s\n", ipath, jerr.line,
			idx ? "not a hub index" : jerr.text);
		json_decref(idx);
		return 1;
	}
	hubtest_tests_dir(hub, tests, sizeof(tests));
	pc = index_items(idx, "parsers", &np);
	sc = index_items(idx, "scenarios", &ns);
	if (!pc || !sc) {
		fprintf(stderr, "hubtest coverage: out of memory\n");
		free(pc);
		free(sc);
		json_decref(idx);
		return 1;
	}
	scan_asserts(tests, "parser.assert", false, pc, np);
	scan_asserts(tests, "scenario.assert", true, sc, ns);
	if (only_percent) {
		if (want_p)
			printf("parsers=%d%%", percent(pc, np));
		else
			printf("scenarios=%d%%", percent(sc, ns));
	} else if (json) {
		if (want_p)
			print_json(pc, np);
		if (want_s)
			print_json(sc, ns);
	} else {
		if (want_p)
			print_table("Parser", pc, np);
		if (want_s)
			print_table("Scenario", sc, ns);
		if (want_p)
			printf("PARSERS    : %d%% of coverage\n", percent(pc, np));
		if (want_s)
			printf("SCENARIOS  : %d%% of coverage\n", percent(sc, ns));
	}
	free(pc);
	free(sc);
	json_decref(idx);
	return 0;
}
