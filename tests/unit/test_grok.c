// SPDX-License-Identifier: MIT
/* Grok expansion, capture rules and the Go-RE2 dialect on PCRE2 (spec section 5). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "common/strmap.h"
#include "parser/grok.h"
#include "parser/grok_syslog.h"
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
	ASSERT_TRUE(!grok_reads_syslog(g), "SYSLOGLINE unanchored is left to the regex");
	grok_free(g);
	ASSERT_OK(grok_compile(lib, "^%{SYSLOGLINE}", &g, err, sizeof(err)), "hub SYSLOGLINE");
	ASSERT_TRUE(grok_reads_syslog(g), "the hub's ^%{SYSLOGLINE} is read without PCRE2");
	grok_free(g);
}

/* Same fields, same values (every field is set by a match)? */
static bool same_fields(const struct grok *g, const struct strmap *a, const struct strmap *b)
{
	for (size_t i = 0; i < grok_nfields(g); i++) {
		size_t la, lb;
		const char *va = strmap_getn(a, grok_field(g, i), &la);
		const char *vb = strmap_getn(b, grok_field(g, i), &lb);

		if (!va || !vb || la != lb || memcmp(va, vb, la))
			return false;
	}
	return true;
}

static size_t put(char *buf, size_t at, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (at + n >= cap)
		n = cap - 1 - at;
	memcpy(buf + at, s, n);
	return at + n;
}

#define PICK(a) (a)[(size_t)rand() % (sizeof(a) / sizeof((a)[0]))]
/* Mostly one of the first n (the usual shapes), else any. */
#define USUAL(a, n) (rand() % 8 ? (a)[(size_t)rand() % (n)] : PICK(a))

/*
 * `^%{SYSLOGLINE}` read without PCRE2 (grok_syslog.c) gives what the regex gives:
 * the same pattern wrapped in a group compiles to a regex the reader does not
 * stand for, and both must agree on every line: usual ones and odd ones (IPv6 or
 * numeric hosts, no pid, dots and slashes in the program, ISO 8601 dates,
 * facilities, high-bit bytes, newlines), built from parts and then mutated.
 */
static void test_syslog_reader(void)
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
					      "Sep", "Oct", "Nov", "Dec", "Mär", "March", "Ma", "jan",
					      "Sept", "Dez" };
	static const char *const spaces[] = { " ", "  ", " ", "   ", "" };
	static const char *const days[] = { "1", "01", "9", "10", "29", "30", "31", "3", "2", "19",
					    "32", "0", "00", "123" };
	static const char *const times[] = { "00:00:00", "23:59:59", "09:05:07", "20:10:59",
					     "24:00:00", "7:00:00", "12:60:00", "12:00:60",
					     "12:00:00.123", "12:00:5", "1:2:3" };
	static const char *const facilities[] = { "", "", "", "<13.6> ", "<1.2>", "<a.b> " };
	static const char *const hosts[] = {
		"bastion", "web-1.example.org", "a", "1.2.3.4", "10.0.0.255", "256.1.1.1",
		"1.2.3.45.6.7.8", "1.2.3.4a", "fe80::1", "::1", "2001:db8::1", "dead:beef::1",
		"host_name", "-host", "host-", "a..b", "a.", "a.-b", "1host", "123", "1.2.3",
		"01.02.003.4", "1.2.3.4.5", "h\xc3\xa9te", "ab:cd", "beef", "b.2.3.4",
		"1.2.3.456", "199.250.255.249", "0.0.0.0", "x.y.z.", "A-B.C-D", "host%eth0",
		"2001:db8::1%eth0", "[::1]", "ab", "abcd", "abcde:1",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b",
	};
	static const char *const seps[] = { " ", " ", " ", "", "  ", "\t", ":" };
	static const char *const progs[] = {
		"sshd[123]:", "sshd:", "CRON[1]:", "kernel:", "systemd[1]", "prog[0]:", "prog[12a]:",
		"prog[12]:x", "/usr/sbin/cron[5]:", "my.prog:", "a:", "::", ":", "p:[1]:",
		"pr\xc3\xb6g[1]:", "[1]:", "sshd[123]", "foo bar", "", "sshd[123]:\n",
		"postfix/smtpd[99]:", "x[1]: ", "x[01]:", "x:[2]:", "x]:", "x[1]]:",
	};
	static const char *const messages[] = { " msg here", "", " a\nb", " \xff\xfe end",
						" x\ry", ": z", "  two", "\n", " ok" };
	static const char alphabet[] = " :[]<>.-_/0123456789aZ\t\n\xc3\xa9\xff%";
	struct grok_lib *sl;
	struct grok *fast, *slow;
	char err[256];
	int read = 0, left = 0, bad = 0;

	if (!ASSERT_OK(grok_lib_new(&sl), "syslog lib") || !ASSERT_OK(grok_lib_add_builtins(sl), "builtins"))
		return;
	for (size_t i = 0; grok_syslog_defs[i][0]; i++)
		ASSERT_OK(grok_lib_add(sl, grok_syslog_defs[i][0], grok_syslog_defs[i][1]), "def");
	ASSERT_OK(grok_compile(sl, grok_syslog_pattern, &fast, err, sizeof(err)), "fast");
	ASSERT_OK(grok_compile(sl, "^(?:%{SYSLOGLINE})", &slow, err, sizeof(err)), "slow");
	ASSERT_TRUE(grok_reads_syslog(fast), "^%{SYSLOGLINE} is read without PCRE2");
	ASSERT_TRUE(!grok_reads_syslog(slow), "another regex is not");
	srand(14);
	for (int n = 0; n < 40000; n++) {
		char line[512];
		size_t len = 0;
		struct grok_span parts[GROK_SYSLOG_NPARTS];
		struct strmap *a = strmap_new(), *b = strmap_new();
		int ra, rb;

		len = put(line, len, sizeof(line), USUAL(months, 12));
		len = put(line, len, sizeof(line), USUAL(spaces, 4));
		len = put(line, len, sizeof(line), USUAL(days, 10));
		len = put(line, len, sizeof(line), " ");
		len = put(line, len, sizeof(line), USUAL(times, 4));
		len = put(line, len, sizeof(line), " ");
		if (n % 7 == 3) {
			len = 0;
			len = put(line, len, sizeof(line), "2024-03-02T10:00:00+01:00 ");
		}
		len = put(line, len, sizeof(line), USUAL(facilities, 3));
		len = put(line, len, sizeof(line), PICK(hosts));
		len = put(line, len, sizeof(line), USUAL(seps, 3));
		len = put(line, len, sizeof(line), PICK(progs));
		len = put(line, len, sizeof(line), PICK(messages));
		for (int k = n % 3 == 0 ? 1 + rand() % 3 : 0; k > 0 && len; k--)
			line[(size_t)rand() % len] = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
		ra = grok_match(fast, line, len, a);
		rb = grok_match(slow, line, len, b);
		if (grok_syslog_read(line, len, parts))
			read++;
		else
			left++;
		if (ra != rb || (ra == 1 && !same_fields(fast, a, b))) {
			if (bad++ < 5)
				fprintf(stderr, "syslog reader differs (%d/%d) on: %.*s\n", ra, rb,
					(int)len, line);
		}
		strmap_free(a);
		strmap_free(b);
	}
	fprintf(stderr, "syslog reader: %d lines read, %d left to the regex\n", read, left);
	ASSERT_EQ(bad, 0, "the reader agrees with the regex on every line");
	ASSERT_TRUE(read > 5000 && left > 5000, "both the reader and the regex were exercised");
	grok_free(fast);
	grok_free(slow);
	grok_lib_free(sl);
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
	test_syslog_reader();
	grok_lib_free(lib);
	return TEST_SUMMARY();
}
