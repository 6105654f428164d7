// SPDX-License-Identifier: MIT
/* Grok expansion, capture rules and the Go-RE2 dialect on PCRE2 (spec section 5). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "common/strmap.h"
#include "parser/grok.h"
#include "../lib/test.h"


static struct grok_lib *lib;

static const char *hub_dir(void)
{
	return t_shared("hub");
}

/* Match `subj` with `pattern`; returns the match result and fills *m. */
static int gm(const char *pattern, const char *subj, size_t len, struct strmap **m)
{
	struct grok *g;
	char err[256];
	int rc;

	*m = strmap_new();
	rc = grok_compile(lib, pattern, &g, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "compile %s: %s\n", pattern, err);
		return rc;
	}
	rc = grok_match(g, subj, len, *m);
	grok_free(g);
	return rc;
}

#define GM(p, s, m) gm((p), (s), strlen(s), (m))

static void test_basic(void)
{
	struct strmap *m;

	ASSERT_EQ(GM("%{IP:ip} port %{INT:port}", "from 35.188.49.176 port 53502", &m), 1, "ip+port");
	ASSERT_STREQ(strmap_get(m, "ip"), "35.188.49.176", "ip");
	ASSERT_STREQ(strmap_get(m, "port"), "53502", "port");
	ASSERT_EQ(strmap_count(m), 2, "exactly the two names");
	strmap_free(m);

	ASSERT_EQ(GM("^%{INT:n}$", "abc 12", &m), 0, "anchored no match");
	ASSERT_EQ(strmap_count(m), 0, "no match leaves map untouched");
	strmap_free(m);

}

static void test_nested_and_duplicates(void)
{
	struct strmap *m;

	/* SYSLOGPROG brings its inner names program and pid. */
	ASSERT_EQ(GM("%{SYSLOGPROG}:", "sshd[1234]: hello", &m), 1, "nested");
	ASSERT_STREQ(strmap_get(m, "program"), "sshd", "program");
	ASSERT_STREQ(strmap_get(m, "pid"), "1234", "pid");
	strmap_free(m);

	/* Non-participating groups are reported as "". */
	ASSERT_EQ(GM("%{SYSLOGPROG}:", "cron: hello", &m), 1, "no pid");
	ASSERT_STREQ(strmap_get(m, "pid"), "", "pid empty");
	strmap_free(m);

	/* Spec 3.3 example: the last `d` wins even if it did not take part. */
	ASSERT_EQ(GM("(%{WORD:d} user|Invalid %{WORD:d}) (%{WORD:opt} )?from %{IP:ip}",
		     "Invalid user pascal from 35.188.49.176", &m),
		  1, "dup names");
	ASSERT_STREQ(strmap_get(m, "d"), "", "last d did not participate");
	ASSERT_STREQ(strmap_get(m, "opt"), "pascal", "opt");
	strmap_free(m);

	/* A top-level name wins over the same name inside a referenced pattern. */
	ASSERT_OK(grok_lib_add(lib, "T_INNER", "%{WORD:w}-"), "add T_INNER");
	ASSERT_EQ(GM("%{T_INNER}%{INT:w}", "abc-42", &m), 1, "top wins");
	ASSERT_STREQ(strmap_get(m, "w"), "42", "top-level w");
	strmap_free(m);

	/* Inline named groups are matched but not reported. */
	ASSERT_EQ(GM("(?P<x>a+)%{INT:n}", "aa7", &m), 1, "inline group");
	ASSERT_TRUE(!strmap_has(m, "x"), "inline not reported");
	ASSERT_STREQ(strmap_get(m, "n"), "7", "n");
	strmap_free(m);
}

static void test_errors(void)
{
	struct grok *g = NULL;
	char err[256];

	ASSERT_EQ(grok_compile(lib, "%{NOPE_NOT_THERE:x}", &g, err, sizeof(err)), -EINVAL,
		  "unknown pattern");
	ASSERT_TRUE(strstr(err, "NOPE_NOT_THERE") != NULL, "message names it");
	ASSERT_EQ(grok_compile(lib, "(%{INT:x}", &g, err, sizeof(err)), -EINVAL, "bad regex");
	ASSERT_OK(grok_lib_add(lib, "T_LOOP_A", "%{T_LOOP_B}"), "add loop a");
	ASSERT_OK(grok_lib_add(lib, "T_LOOP_B", "%{T_LOOP_A}"), "add loop b");
	ASSERT_EQ(grok_compile(lib, "%{T_LOOP_A}", &g, err, sizeof(err)), -EINVAL, "cycle");
	ASSERT_EQ(grok_lib_add(lib, "INT", "x"), -EEXIST, "duplicate refused");
	ASSERT_EQ(grok_lib_add(lib, "bad-name", "x"), -EINVAL, "name must be \\w+");
}

/* One pattern against one subject: matches or not, and (name) one capture's value. */
static const struct match_case {
	const char *pattern, *subject;
	int want;
	const char *name, *value;
	const char *what;
} match_cases[] = {
	/* Unanchored search finds the leftmost match. */
	{ "%{INT:n}", "a1b22", 1, "n", "1", "unanchored: leftmost" },
	/* A type suffix is not a reference: literal text. */
	{ "x%{INT:n:int}", "x5", 0, NULL, NULL, "typed ref literal" },
	{ "x%{INT:n:int}", "x%{INT:n:int}", 1, NULL, NULL, "typed ref literal matches itself" },
	/* RE2 `$` does not match before a trailing newline. */
	{ "^%{WORD:w}$", "abc\n", 0, NULL, NULL, "dollar endonly" },
	/* \d is ASCII only. */
	{ "^(?P<z>\\d)%{WORD:w}", "\xd9\xa3x", 0, NULL, NULL, "ascii digits" },
	/* RE2's \s has no vertical tab; PCRE2's has. */
	{ "a\\s%{WORD:w}", "a\vb", 0, NULL, NULL, "\\s excludes \\v" },
	{ "a[\\s]%{WORD:w}", "a\vb", 0, NULL, NULL, "[\\s] excludes \\v" },
	{ "a\\S%{WORD:w}", "a\vb", 1, NULL, NULL, "\\S includes \\v" },
	/* `{` that is not a Go repeat is a literal; real repeats still work. */
	{ "^a{,2}%{WORD:w}", "a{,2}b", 1, NULL, NULL, "{,n} literal" },
	{ "^a{2}-%{WORD:w}$", "aa-b", 1, "w", "b", "{n} repeat" },
	{ "^[]{]+%{WORD:w}", "]{x", 1, NULL, NULL, "] and { in a class" },
	/* Braces of \p{..} and \x{..} are part of the escape, not a repeat. */
	{ "^\\p{Greek}+ %{WORD:w}", "αβ x", 1, NULL, NULL, "\\p{Greek}" },
	{ "^\\x{41} %{WORD:w}", "A x", 1, NULL, NULL, "\\x{41}" },
	/* The MONTH pattern has a non-ASCII character: UTF mode must be on. */
	{ "%{MONTH:m}", "Mär", 1, NULL, NULL, "utf8 pattern" },
};

static void test_match_cases(void)
{
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		struct strmap *m;

		if (ASSERT_EQ(GM(c->pattern, c->subject, &m), c->want, c->what) && c->name)
			ASSERT_STREQ(strmap_get(m, c->name), c->value, c->what);
		strmap_free(m);
	}
}

static void test_dialect(void)
{
	struct strmap *m;
	size_t len = 0;

	/* Invalid UTF-8 and NUL bytes in the subject are matched, not errors. */
	ASSERT_EQ(gm("%{WORD:a} (?:.*) %{WORD:b}", "foo \xff\xfe\x00z bar", 14, &m), 1,
		  "invalid utf8 + NUL");
	ASSERT_STREQ(strmap_get(m, "b"), "bar", "after bad bytes");
	strmap_free(m);
	/* A capture holding a NUL keeps its length. */
	ASSERT_EQ(gm("<%{GREEDYDATA:g}>", "<a\0b>", 5, &m), 1, "NUL in capture");
	strmap_getn(m, "g", &len);
	ASSERT_EQ(len, 3, "capture length with NUL");
	strmap_free(m);
}

static void test_limits(void)
{
	char *line = malloc(40001);
	struct strmap *m;
	struct timespec a, b;
	double secs;

	memset(line, 'a', 40000);
	line[40000] = '\0';
	grok_set_limits(100000, 1000);
	clock_gettime(CLOCK_MONOTONIC, &a);
	/* Classic catastrophic backtracking: must stop quickly as a non-match. */
	ASSERT_EQ(GM("^(%{DATA}a?){30}%{DATA}b$", line, &m), 0, "hostile line = no match");
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	ASSERT_TRUE(secs < 5.0, "bounded time");
	strmap_free(m);
	grok_set_limits(1000000, 5000);
	free(line);
}

static void test_hub_patterns(void)
{
	char dir[1024];
	struct strmap *m;
	struct grok *g;
	char err[256];
	const char *line = "Feb 12 14:10:21 sd-126005 sshd[12422]: Invalid user pascal from "
			   "35.188.49.176 port 53502";

	snprintf(dir, sizeof(dir), "%s/patterns", hub_dir());
	if (grok_lib_load_dir(lib, dir)) {
		TEST_SKIP(1, "hub patterns directory not found");
		return;
	}
	ASSERT_EQ(GM("^%{SYSLOGLINE}", line, &m), 1, "SYSLOGLINE");
	ASSERT_STREQ(strmap_get(m, "program"), "sshd", "program");
	ASSERT_STREQ(strmap_get(m, "pid"), "12422", "pid");
	ASSERT_STREQ(strmap_get(m, "timestamp"), "Feb 12 14:10:21", "timestamp");
	ASSERT_STREQ(strmap_get(m, "logsource"), "sd-126005", "logsource");
	ASSERT_TRUE(strncmp(strmap_get(m, "message"), "Invalid user pascal", 19) == 0, "message");
	strmap_free(m);
	/* grok: name: X compiles the library entry itself. */
	ASSERT_OK(grok_compile_name(lib, "SYSLOGLINE", &g, err, sizeof(err)), "by name");
	ASSERT_TRUE(grok_nfields(g) >= 6, "fields by name");
	grok_free(g);
}

/* Is `lit` among the literals the prefilter checks? */
static bool has_literal(const struct grok *g, const char *lit)
{
	for (size_t i = 0; i < grok_nliterals(g); i++) {
		size_t len;
		const char *s = grok_literal(g, i, &len);

		if (len == strlen(lit) && !memcmp(s, lit, len))
			return true;
	}
	return false;
}

/*
 * The literal prefilter: a subject without a literal every match holds is "no match"
 * before PCRE2 runs; every construct that makes a literal optional, or that this
 * reading does not follow, must leave the answer to PCRE2.
 */
static void test_literals(void)
{
	static const struct {
		const char *pattern, *subject;
	} must_match[] = {
		{ "(?i)failed x%{INT:n}", "FAILED x1" },
		{ "\\x46ailed %{INT:n}", "Failed 1" },
		{ "abcde?f%{INT:n}", "abcdf1" },
		{ "abcdef*g%{INT:n}", "abcdeg1" },
		{ "abcdef{0}g%{INT:n}", "abcdeg1" },
		{ "xyz|failed %{INT:n}", "failed 2" },
		{ "(foo )?bar baz %{INT:n}", "bar baz 3" },
		{ "[(|]abc def %{INT:n}", "|abc def 4" },
		{ "abc\\(?def %{INT:n}", "abcdef 5" },
		{ "abc(*ACCEPT)defgh", "abc" },
		{ "\\Qabc|def\\E %{INT:n}", "abc|def 7" },
		{ "Failed %{INT:n}", "\xff Failed 8" }, /* not UTF-8: the byte-wise code */
		{ "abc(?=defg)defg", "abcdefg" },
		{ "(?<x>abc)defghi", "abcdefghi" },
	};
	struct grok *g;
	struct strmap *m;
	char err[256], a100[101], a70[71];

	for (size_t i = 0; i < sizeof(must_match) / sizeof(must_match[0]); i++) {
		if (!ASSERT_EQ(GM(must_match[i].pattern, must_match[i].subject, &m), 1,
			       must_match[i].pattern))
			fprintf(stderr, "  subject: %s\n", must_match[i].subject);
		strmap_free(m);
	}
	ASSERT_OK(grok_compile(lib, "Failed %{WORD:t} for %{USERNAME:u} from %{IP:ip} port", &g, err,
			       sizeof(err)), "compile");
	ASSERT_TRUE(has_literal(g, "Failed ") && has_literal(g, " from ") && has_literal(g, " port") &&
			    has_literal(g, " for "), "the top-level runs");
	{
		size_t len;
		const char *first = grok_literal(g, 0, &len);

		ASSERT_TRUE(len == 7 && !memcmp(first, "Failed ", len), "longest first");
	}
	m = strmap_new();
	ASSERT_EQ(grok_match(g, "Failed password for root from 198.18.0.1 port", 45, m), 1, "match");
	ASSERT_STREQ(strmap_get(m, "ip"), "198.18.0.1", "capture");
	ASSERT_EQ(grok_match(g, "Failed password for root from 198.18.0.1 pork", 45, m), 0,
		  "a literal missing");
	grok_free(g);
	strmap_free(m);

	ASSERT_OK(grok_compile(lib, "abcde?f|x", &g, err, sizeof(err)), "compile alternation");
	ASSERT_EQ(grok_nliterals(g), 0, "a top-level alternation: no literal");
	grok_free(g);
	ASSERT_OK(grok_compile(lib, "abcde?fgh", &g, err, sizeof(err)), "compile optional");
	ASSERT_TRUE(has_literal(g, "abcd") && has_literal(g, "fgh") && !has_literal(g, "abcde"),
		    "the optional character is in no literal");
	grok_free(g);

	/* Runs longer than a literal's room are split, and still all checked. */
	memset(a100, 'a', 100);
	a100[100] = '\0';
	memset(a70, 'a', 70);
	a70[70] = '\0';
	ASSERT_EQ(GM(a100, a100, &m), 1, "a long literal");
	strmap_free(m);
	ASSERT_EQ(GM(a100, a70, &m), 0, "a long literal, too short a subject");
	strmap_free(m);
}

int main(void)
{
	if (!ASSERT_OK(grok_lib_new(&lib), "lib") || !ASSERT_OK(grok_lib_add_builtins(lib), "builtins"))
		return TEST_SUMMARY();
	test_basic();
	test_nested_and_duplicates();
	test_errors();
	test_match_cases();
	test_dialect();
	test_limits();
	test_hub_patterns();
	test_literals();
	grok_lib_free(lib);
	return TEST_SUMMARY();
}
