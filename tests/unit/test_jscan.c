// SPDX-License-Identifier: MIT
/* common/jscan: in-place string decoding (escapes, surrogate pairs, UTF-8 checks),
 * skipping values with their raw text, iteration, depth bound, errors that stick;
 * the number and literal grammar. */
#include <stdlib.h>
#include <string.h>

#include "common/jscan.h"
#include "../lib/test.h"

static char *dec(const char *json, size_t *len, char *err, size_t errlen)
{
	static char buf[256];
	struct jscan s;
	char *r;

	snprintf(buf, sizeof(buf), "%s", json);
	jscan_init(&s, buf, strlen(buf), 8);
	r = jscan_string(&s, len);
	snprintf(err, errlen, "%s", s.err);
	return r;
}

static void test_strings(void)
{
	char err[96];
	size_t n = 0;

	ASSERT_STREQ(dec("\"plain\"", &n, err, sizeof(err)), "plain", "plain");
	ASSERT_EQ(n, 5, "length");
	ASSERT_STREQ(dec("\"a\\\"b\\\\c\\/d\\n\"", &n, err, sizeof(err)), "a\"b\\c/d\n", "escapes");
	ASSERT_STREQ(dec("\"\\u00e9\\u20ac\"", &n, err, sizeof(err)), "\xc3\xa9\xe2\x82\xac",
		     "\\u to UTF-8");
	ASSERT_STREQ(dec("\"\\ud83d\\ude00\"", &n, err, sizeof(err)), "\xf0\x9f\x98\x80",
		     "surrogate pair");
	ASSERT_TRUE(dec("\"\\ud83d\"", &n, err, sizeof(err)) == NULL, "lone high surrogate");
	ASSERT_TRUE(dec("\"\\ude00x\"", &n, err, sizeof(err)) == NULL, "lone low surrogate");
	ASSERT_TRUE(dec("\"\xff\"", &n, err, sizeof(err)) == NULL, "invalid UTF-8");
	ASSERT_TRUE(strstr(err, "invalid UTF-8 in string at byte 1") != NULL, "error names the byte");
	ASSERT_TRUE(dec("\"\xc0\xaf\"", &n, err, sizeof(err)) == NULL, "overlong UTF-8");
	ASSERT_TRUE(dec("\"\xed\xa0\x80\"", &n, err, sizeof(err)) == NULL, "UTF-8 surrogate");
	ASSERT_STREQ(dec("\"\xc3\xa9t\xc3\xa9\"", &n, err, sizeof(err)), "\xc3\xa9t\xc3\xa9",
		     "valid UTF-8 kept");
	ASSERT_TRUE(dec("\"a\nb\"", &n, err, sizeof(err)) == NULL, "raw control character");
	ASSERT_TRUE(dec("\"abc", &n, err, sizeof(err)) == NULL, "unterminated");
	ASSERT_TRUE(dec("\"abc\\", &n, err, sizeof(err)) == NULL && strstr(err, "unterminated"),
		    "a backslash as the last byte: unterminated");
	ASSERT_TRUE(dec("\"\\x\"", &n, err, sizeof(err)) == NULL, "bad escape");
}

/*
 * Strings are scanned eight bytes at a time up to their first quote, escape or
 * control character: each of those at every offset of strings of 0-40 bytes
 * (word boundaries on both sides), and the end of input inside a word.
 */
static void test_string_runs(void)
{
	static const struct {
		const char *raw, *want; /* raw text at the offset; NULL want: refused */
	} at[] = { { "\\n", "\n" }, { "\\\"", "\"" }, { "\\u00e9", "\xc3\xa9" }, { "\xc3\xa9", "\xc3\xa9" },
		   { "\x7f", "\x7f" }, { "\x01", NULL }, { "\x1f", NULL }, { " ", " " }, { "\xff", NULL } };
	int bad = 0, cases = 0;

	for (size_t len = 0; len <= 40; len++)
		for (size_t i = 0; i <= len; i++)
			for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
				char json[128], want[128], *r;
				struct jscan s;
				size_t n = 0;
				int w;

				w = snprintf(json, sizeof(json), "\"%.*s%s%.*s\"", (int)i,
					     "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH", at[k].raw,
					     (int)(len - i), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefgh");
				snprintf(want, sizeof(want), "%.*s%s%.*s", (int)i,
					 "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH", at[k].want ? at[k].want : "",
					 (int)(len - i), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefgh");
				jscan_init(&s, json, (size_t)w, 8);
				r = jscan_string(&s, &n);
				cases++;
				if (at[k].want ? !r || strcmp(r, want) || n != strlen(want) || jscan_peek(&s) : r != NULL)
					bad++;
				/* the same text (decoded in place above: written again) without its closing
				 * quote: unterminated */
				w = snprintf(json, sizeof(json), "\"%.*s%s%.*s", (int)i,
					     "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH", at[k].raw,
					     (int)(len - i), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefgh");
				jscan_init(&s, json, (size_t)w, 8);
				if (jscan_string(&s, NULL))
					bad++;
			}
	ASSERT_EQ(bad, 0, "every offset of a quote, an escape or a control character");
	ASSERT_TRUE(cases > 7000, "cases run");
}

static void test_walk(void)
{
	char buf[] = " {\"a\": [1, {\"b\": \"x\"}, null], \"k\\u0041\": true, \"c\": -1.5e3 } ";
	struct jscan s;
	char *k, *b, *e;
	bool first = true;
	int seen = 0;

	jscan_init(&s, buf, strlen(buf), 8);
	ASSERT_TRUE(jscan_expect(&s, '{'), "object");
	while ((k = jscan_next_key(&s, first))) {
		first = false;
		if (!strcmp(k, "a")) {
			ASSERT_TRUE(jscan_skip(&s, &b, &e), "skip array");
			ASSERT_EQ(e - b, 21, "raw text of the array");
			seen++;
		} else if (!strcmp(k, "kA")) {
			ASSERT_STREQ(jscan_kind(&s), "bool", "kind");
			jscan_skip(&s, &b, &e);
			seen++;
		} else {
			ASSERT_STREQ(jscan_kind(&s), "number", "number kind");
			jscan_skip(&s, &b, &e);
			seen++;
		}
	}
	ASSERT_TRUE(!jscan_failed(&s), "no error");
	ASSERT_EQ(seen, 3, "three members");
	ASSERT_EQ(jscan_peek(&s), 0, "end");
}

static void test_errors(void)
{
	char deep[] = "[[[[[[[[[[1]]]]]]]]]]", bad[] = "[1, {\"a\" 2}]", trunc[] = "[1, 2";
	struct jscan s;
	char *b, *e;

	jscan_init(&s, deep, strlen(deep), 8);
	ASSERT_TRUE(!jscan_skip(&s, &b, &e), "depth bound");
	ASSERT_TRUE(strstr(s.err, "nesting too deep") != NULL, "depth message");
	jscan_init(&s, bad, strlen(bad), 8);
	ASSERT_TRUE(!jscan_skip(&s, &b, &e), "missing colon");
	ASSERT_TRUE(jscan_peek(&s) == 0 && jscan_failed(&s), "error sticks");
	jscan_init(&s, trunc, strlen(trunc), 8);
	ASSERT_TRUE(!jscan_skip(&s, &b, &e), "truncated");
	ASSERT_TRUE(strstr(s.err, "unexpected end of input") != NULL, "truncated message");
}

/*
 * Numbers as RFC 8259 writes them and the three literals: how many bytes each
 * takes (-1: not a scalar), and whether a number is an integer.
 */
static void test_scalars(void)
{
	static const struct {
		const char *text;
		int len, is_int; /* is_int -1: not a number */
	} cases[] = {
		{ "0", 1, 1 },	      { "-0", 2, 1 },	     { "123,", 3, 1 },	 { "01", 1, 1 },
		{ "-12.50]", 6, 0 },  { "1e3", 3, 0 },	     { "1E+3}", 4, 0 }, { "2.5e-10", 7, 0 },
		{ "-", -1, -1 },      { "1.", -1, -1 },	     { ".5", -1, -1 },	 { "1e", -1, -1 },
		{ "1e+", -1, -1 },    { "+1", -1, -1 },	     { "true,", 4, -1 }, { "false", 5, -1 },
		{ "null}", 4, -1 },   { "tru", -1, -1 },     { "nul", -1, -1 },	 { "\"x\"", -1, -1 },
		{ "", -1, -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = cases[i].text, *end = t + strlen(t), *e = jscan_scalar_end(t, end);
		bool is_int = false;
		const char *n = jscan_number_end(t, end, &is_int);

		ASSERT_EQ(e ? e - t : -1, cases[i].len, t);
		if (cases[i].is_int < 0) {
			ASSERT_TRUE(n == NULL, t);
			continue;
		}
		ASSERT_TRUE(n == e, t);
		ASSERT_EQ(is_int, cases[i].is_int, t);
	}
}

int main(void)
{
	test_strings();
	test_string_runs();
	test_walk();
	test_errors();
	test_scalars();
	return TEST_SUMMARY();
}
