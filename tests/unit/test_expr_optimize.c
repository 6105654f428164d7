// SPDX-License-Identifier: MIT
/*
 * The expr optimiser and what it relies on: constant folding of PURE calls,
 * once-per-evaluation memo slots in closures (and none when a call may have
 * effects), the indexed any(list, { x OP # }) against the general loop, and
 * the memo of case mapping in the thread's vm.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "expr/expr.h"
#include "tests/lib/test.h"

static int calls;

/* Counts its calls; registered twice: once claiming PURE, once with effects. */
static int count_fn(struct expr_ctx *ctx, const struct expr_value *args, int nargs,
		    struct expr_value *out)
{
	(void)ctx;
	(void)args;
	(void)nargs;
	calls++;
	*out = expr_int(calls);
	return 0;
}

static const struct expr_func funcs[] = {
	{ "PureCount", count_fn, 1, 1, { EXPR_ANY }, &expr_type_int, NULL, EXPR_FN_PURE },
	{ "Tick", count_fn, 0, 0, { EXPR_ANY }, &expr_type_int, NULL, 0 },
};

static struct expr_env *env;
static struct expr_value vars[3];	/* s (string), l (list of strings), e (nil) */

/* "kind:text" of *v, which it releases. Caller frees. */
static char *kind_text(struct expr_value *v)
{
	char *r = NULL, *txt = expr_value_format(v);

	if (asprintf(&r, "%s:%s", expr_kind_name(v->kind), txt ? txt : "?") < 0)
		r = NULL;
	free(txt);
	expr_value_release(v);
	return r;
}

/* Result as "kind:text" or "ERR:errno" / "COMPILE". Caller frees. */
static char *run(const char *src)
{
	struct expr_prog *prog = NULL;
	struct expr_value out;
	char *r = NULL;
	int err;

	if (expr_compile(env, src, &prog, NULL))
		return strdup("COMPILE");
	err = expr_eval(prog, vars, NULL, &out, NULL);
	expr_prog_free(prog);
	if (err) {
		if (asprintf(&r, "ERR:%d", err) < 0)
			r = NULL;
		return r;
	}
	return kind_text(&out);
}

static void check(const char *src, const char *want)
{
	char *got = run(src);

	ASSERT_STREQ(got ? got : "(null)", want, src);
	free(got);
}

static void test_folding(void)
{
	struct expr_prog *prog = NULL;

	check("Upper('abc') + lower('DEF')", "string:ABCdef");
	check("'/X/y' matches Upper('/x/[a-z]')", "bool:false");
	check("'/X/Y' matches Upper('/x/[a-z]')", "bool:true");
	/* an invalid folded pattern stays a run-time error, as without folding */
	check("s matches Upper('(')", "ERR:-22");
	ASSERT_OK(expr_compile(env, "s matches Upper('(')", &prog, NULL), "compiles");
	expr_prog_free(prog);
	/* a failing pure call is not folded: the evaluator reports it */
	check("repeat('x', -1)", "ERR:-22");
}

static void test_memo(void)
{
	/* invariant parts of closures run once per evaluation... */
	calls = 0;
	check("map(1..3, { PureCount(s) })", "array:[1 1 1]");
	check("map(1..3, { PureCount(s) + # })", "array:[3 4 5]");
	/* ...and once per evaluation, not once for ever */
	check("map(1..2, { PureCount(s) })", "array:[3 3]");
	/* what depends on # is evaluated for each element */
	calls = 0;
	check("map(1..3, { PureCount(#) })", "array:[1 2 3]");
	/* a call that may have effects: no memo anywhere in the program */
	calls = 0;
	check("map(1..3, { Tick() })", "array:[1 2 3]");
	check("map(1..3, { PureCount(s) + Tick() * 0 })", "array:[4 6 8]");
	/* not evaluated at all when the closure never runs, and errors stay lazy */
	check("any([], { s[100] == 1 })", "bool:false");
	check("any(['a'], { # == 'b' && s[100] == 1 })", "bool:false");
	check("any(['a'], { # == 'a' && s[100] == 1 })", "ERR:-34");
	/* nested closures: the inner # is invariant for the outer closure */
	check("map(1..2, { map(1..2, { # * 10 }) })", "array:[[10 20] [10 20]]");
	check("map(1..2, { len(filter(l, { # startsWith 'a' })) + # })", "array:[3 4]");
}

/* any() through the index must agree with the general loop (defeated by `&& true`). */
static void test_fast_any(void)
{
	static const char *const lists[] = {
		"['adm', 'x', 'ROOT', '/etc/passwd', '.php']",
		"['', 'zz']",
		"['a', 'É', 'é']",
		"['<script', 'union select', '%3c']",
		"['^adm', 'x$', '[0-9]+', 'É']",
		"['a', '(']",
		"['(a)\\\\1', 'zz']",
		"['(?i)ROOT', '(*COMMIT)q']",
		/* what Vectorscan and PCRE2 would read differently stays with PCRE2 */
		"['a$', '\\\\sb', '(?s)a.b', 'é.x', '\\\\bz\\\\b']",
		/* literals between word boundaries: the literal index */
		"['\\\\bAb\\\\b', '\\\\bx\\\\.y', 'q\\\\b', '\\\\b\\\\bzz\\\\b\\\\b', 'S\\\\ B']",
	};
	static const char *const xs[] = {
		"s", "'admin'", "''", "'/ETC/PASSWD'", "'index.php'", "'x'", "'AÉé'",
		"'id=1 UNION SELECT 2'", "'q=%3Cscript'", "'zz'", "'a'",
		"'xa\\n'", "'\\x0bb'", "'\\xffroot z'", "'Root'", "'a\\nb'", "'éÉx'",
		"'Ab'", "'xAb'", "'(Ab)'", "'1x.y'", "'-x.y'", "'_q'", "'q_'", "'a zz.'", "'zzz'",
		"'éAb'", "'S B'",
	};
	static const char *const bodies[] = {
		"X == #", "# == X", "X contains #", "X startsWith #", "X endsWith #",
		"X == Upper(#)", "Upper(#) == X", "Upper(X) contains Upper(#)",
		"Lower(X) contains lower(#)", "X startsWith Lower(#)", "Upper(X) endsWith upper(#)",
		"X matches #", "Upper(X) matches Upper(#)",
	};
	int same = 0, total = 0;

	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		for (size_t x = 0; x < sizeof(xs) / sizeof(xs[0]); x++) {
			for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
				char body[128], fast[512], slow[512], *p, *q;

				/* X -> the subject */
				body[0] = '\0';
				for (const char *s = bodies[b]; *s; s++) {
					if (*s == 'X')
						strcat(body, xs[x]);
					else
						strncat(body, s, 1);
				}
				snprintf(fast, sizeof(fast), "any(%s, { %s })", lists[l], body);
				snprintf(slow, sizeof(slow), "any(%s, { %s && true })", lists[l],
					 body);
				p = run(fast);
				q = run(slow);
				total++;
				if (p && q && !strcmp(p, q))
					same++;
				else
					fprintf(stderr, "differ: %s => %s / %s\n", fast, p, q);
				free(p);
				free(q);
			}
		}
	}
	ASSERT_EQ(same, total, "indexed any() agrees with the loop");
	/* the list from a variable and File()-like reuse across evaluations */
	for (int i = 0; i < 3; i++)
		check("any(l, { 'xx-abc' contains # })", "bool:true");
	check("any(l, { 'xx' contains # })", "bool:false");
	/* a list that is not all strings, or a subject that is not a string */
	check("any(['a', 1], { 'a' == # })", "bool:true");
	check("any(['b', 1], { 'a' == # })", "bool:false");
	check("any([1, 2], { 2 == # })", "bool:true");
	check("any(['a'], { nil == # })", "bool:false");
}

static void test_case_memo(void)
{
	/* the memo is keyed by string object: the same text as another object maps alike */
	check("Upper(s) == Upper('hello') && Upper(s) == 'HELLO'", "bool:true");
	check("map(['aé', 'aé', 'Ab'], { Upper(#) })", "array:[AÉ AÉ AB]");
	check("map(['AÉ', 'ab'], { Lower(#) })", "array:[aé ab]");
	/* unchanged strings come back as they are */
	check("Upper('ABC/1') == 'ABC/1'", "bool:true");
}

/* Upper/Lower as a byte loop: ASCII letters, and U+00C0..U+00DE <-> U+00E0..U+00FE but × ÷. */
static void case_reference(const unsigned char *p, size_t len, bool upper, char *out)
{
	memcpy(out, p, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i], d;

		if (c < 0x80) {
			if (upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z'))
				out[i] = (char)(c ^ 0x20);
		} else if (c == 0xC3 && i + 1 < len) {
			d = p[++i];
			if (upper ? (d >= 0xA0 && d <= 0xBE && d != 0xB7) :
				    (d >= 0x80 && d <= 0x9E && d != 0x97))
				out[i] = (char)(d ^ 0x20);
		}
	}
}

/*
 * Case mapping, whose ASCII runs go 8 bytes at a time, against the byte loop:
 * strings of every length up to 40 from letters, the bytes next to the
 * letter ranges, Latin-1 pairs (and a lone 0xC3), at every alignment.
 */
static void test_case_map(void)
{
	static const unsigned char alphabet[] = "azAZ@[`{09/ \xc3\xa9\xc3\x89\xc3\xb7\xc3\x97\xe2\x82\xac";
	struct expr_prog *up = NULL, *low = NULL;
	unsigned int seed = 14, bad = 0;
	char in[48], want[48];

	if (!ASSERT_OK(expr_compile(env, "Upper(s)", &up, NULL), "Upper(s)") ||
	    !ASSERT_OK(expr_compile(env, "Lower(s)", &low, NULL), "Lower(s)"))
		goto out;
	for (int round = 0; round < 4000 && bad < 3; round++) {
		size_t len = (size_t)round % 41;
		struct expr_value saved = vars[0], got;

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = (char)alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		for (int u = 0; u < 2; u++) {
			case_reference((const unsigned char *)in, len, u, want);
			if (expr_stringn(in, len, &vars[0]))
				break;
			if (expr_eval(u ? up : low, vars, NULL, &got, NULL) ||
			    expr_str_len(&got) != len || memcmp(expr_str_cstr(&got), want, len)) {
				bad++;
				fprintf(stderr, "     %s of %.*s: got %s\n", u ? "Upper" : "Lower",
					(int)len, in, expr_str_cstr(&got));
			}
			expr_value_release(&got);
			expr_value_release(&vars[0]);
		}
		vars[0] = saved;
	}
	ASSERT_EQ(bad, 0u, "case mapping as the byte loop");
out:
	expr_prog_free(up);
	expr_prog_free(low);
}

/* guard(src): "slot field key lits..." of expr_prog_guard, or "none". */
static void check_guard(const char *src, const char *want)
{
	struct expr_prog *prog = NULL;
	struct expr_guard g;
	char got[256] = "none";

	if (!ASSERT_OK(expr_compile(env, src, &prog, NULL), src))
		return;
	if (expr_prog_guard(prog, &g)) {
		int n = snprintf(got, sizeof(got), "%d %s %s", g.var, g.field, g.key);

		for (size_t i = 0; i < g.nlits && n > 0 && (size_t)n < sizeof(got); i++)
			n += snprintf(got + n, sizeof(got) - (size_t)n, " '%s'",
				      expr_str_cstr(&g.lits[i]));
	}
	ASSERT_STREQ(got, want, src);
	expr_prog_free(prog);
}

/* The first test of an and-chain on VAR.FIELD.KEY, nothing else (scenario routing skips on it). */
static void test_guard(void)
{
	check_guard("e.Meta.log_type in ['a', 'b'] && s == 'x'", "2 Meta log_type 'a' 'b'");
	check_guard("e.Meta.service == 'http'", "2 Meta service 'http'");
	check_guard("(e.Parsed.v == 'GET' and s == 'a') and len(l) > 1", "2 Parsed v 'GET'");
	check_guard("e.Meta.service == 'http' && e.Meta.x == 'y' && s == 'z'",
		    "2 Meta service 'http'");
	check_guard("e.Meta.service == 'http' || s == 'x'", "none");
	check_guard("s == 'x' && e.Meta.service == 'http'", "none");
	check_guard("'http' == e.Meta.service", "none");
	check_guard("e.Meta?.service == 'http'", "none");
	check_guard("e.Meta[s] == 'http'", "none");
	check_guard("e.Meta.service in ['a', 1]", "none");
	check_guard("e.Meta.service != 'http'", "none");
	check_guard("e.Meta == 'http'", "none");
	check_guard("!(e.Meta.service == 'http')", "none");
}

/* "kind:text" of prog's value on vars, or "ERR:code message" with the message's place. */
static char *outcome(const struct expr_prog *prog)
{
	struct expr_value out;
	struct expr_error e;
	char *r = NULL;
	int err = expr_eval(prog, vars, NULL, &out, &e);

	if (err)
		return asprintf(&r, "ERR:%d %s", err, e.msg) < 0 ? NULL : r;
	return kind_text(&out);
}

/*
 * Past a guard that passed, the program without it (expr_guard.rest) gives what
 * the whole one gives: values, and errors with their message and place. Split
 * only where that holds: not when a literal is "" (a missing key).
 */
static void test_guard_rest(void)
{
	static const struct { const char *src, *want; bool split; } cases[] = {
		{ "e.Meta.service == 'http'", "bool:true", true },
		{ "e.Meta.log_type in ['a', 'b'] && s == 'hello'", "bool:true", true },
		{ "e.Meta.log_type in ['a', 'b'] && s == 'x'", "bool:false", true },
		{ "e.Meta.log_type == 'a' && s == 'hello' && len(l) > 5", "bool:false", true },
		{ "e.Meta.log_type == 'a' && (s == 'x' || len(l) == 3)", "bool:true", true },
		/* the guard's field read again: one memo slot for both (cse) */
		{ "e.Meta.log_type == 'a' && Upper(e.Meta.log_type) == 'A' && e.Meta.log_type != 'b'",
		  "bool:true", true },
		{ "e.Meta.log_type == 'a' && e.Meta.service",
		  "ERR:-22 invalid operation: and on string (1:24)", true },
		{ "e.Meta.log_type == 'a' && e.Meta.service && s == 'hello'",
		  "ERR:-22 invalid operation: and on string (1:24)", true },
		{ "e.Meta.log_type in ['a', ''] && s == 'hello'", "bool:true", false },
	};
	struct expr_value meta, root;

	expr_map_new(&meta);
	expr_map_new(&root);
	expr_map_set_take(&meta, "service", (expr_string("http", &vars[2]), vars[2]));
	expr_map_set_take(&meta, "log_type", (expr_string("a", &vars[2]), vars[2]));
	expr_map_set_take(&root, "Meta", meta);
	vars[2] = root;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct expr_prog *prog = NULL;
		struct expr_guard g;
		char *whole, *rest;

		if (!ASSERT_OK(expr_compile(env, cases[i].src, &prog, NULL), cases[i].src))
			continue;
		if (ASSERT_TRUE(expr_prog_guard(prog, &g) == 1, "a guard")) {
			whole = outcome(prog);
			rest = outcome(g.rest);
			ASSERT_STREQ(whole ? whole : "(null)", cases[i].want, cases[i].src);
			ASSERT_STREQ(rest ? rest : "(null)", cases[i].want, "the same past the guard");
			ASSERT_TRUE((g.rest != prog) == cases[i].split, "split where it holds");
			ASSERT_TRUE(g.rest_true == (i == 0), "rest_true for a lone guard only");
			free(whole);
			free(rest);
		}
		expr_prog_free(prog);
	}
	expr_value_release(&vars[2]);
	vars[2] = expr_nil();
}

/* expr_prog_path: a program that is exactly VAR.FIELD.KEY (a groupby) or VAR.FIELD. */
static void test_prog_path(void)
{
	static const struct { const char *src; bool path; const char *key; } cases[] = {
		{ "e.Meta.source_ip", true, "source_ip" }, { "e.Meta.source_ip + ''", false, NULL },
		{ "e.Meta?.source_ip", false, NULL },	   { "e.Meta", true, NULL },
		{ "e.A.b.c", false, NULL },		   { "Upper(e.Meta.x)", false, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct expr_prog *prog = NULL;
		const char *field = NULL, *key = NULL;
		int var = -1;

		if (!ASSERT_OK(expr_compile(env, cases[i].src, &prog, NULL), cases[i].src))
			continue;
		ASSERT_EQ(expr_prog_path(prog, &var, &field, &key), cases[i].path, cases[i].src);
		if (cases[i].path)
			ASSERT_TRUE(var == 2 && !strcmp(field, "Meta") &&
					    (cases[i].key ? key && !strcmp(key, cases[i].key) : !key),
				    "its parts");
		expr_prog_free(prog);
	}
}

/* expr_prog_needs: the key whose "" makes the program false, without error. */
static void test_prog_needs(void)
{
	static const struct { const char *src; const char *key; } cases[] = {
		{ "Upper(e.Meta.p) contains Upper('/x')", "p" },
		{ "Upper(PathUnescape(e.Meta.p)) contains 'X' && e.Meta.q == 'a'", "p" },
		{ "(Lower(e.Meta.p) startsWith 'a' || e.Meta.p endsWith 'b') && s == 'x'", "p" },
		{ "e.Meta.p in ['a', 'b']", "p" },
		{ "e.Meta.p == 'a' || e.Meta.q == 'b'", NULL },	/* two keys */
		{ "e.Meta.p contains ''", NULL },		/* "" contains "" */
		{ "e.Meta.p in ['a', '']", NULL },
		{ "e.Meta.p matches 'x'", NULL },
		{ "e.Meta.p != 'a'", NULL },
		{ "s == 'x' && e.Meta.p contains 'a'", NULL },	/* not the first conjunct */
		{ "Trim(e.Meta.p, ' ') contains 'a'", NULL },	/* not a known "" -> "" call */
		{ "e.Meta?.p contains 'a'", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct expr_prog *prog = NULL;
		const char *field = NULL, *key = NULL;
		int var = -1, rc;

		if (!ASSERT_OK(expr_compile(env, cases[i].src, &prog, NULL), cases[i].src))
			continue;
		rc = expr_prog_needs(prog, &var, &field, &key);
		ASSERT_EQ(rc, cases[i].key != NULL, cases[i].src);
		if (rc && cases[i].key)
			ASSERT_TRUE(var == 2 && !strcmp(field, "Meta") && !strcmp(key, cases[i].key),
				    "its parts");
		expr_prog_free(prog);
	}
}

int main(void)
{
	const char *strv[] = { "abc", "ab", "b" };

	env = expr_env_new();
	if (!ASSERT_TRUE(env != NULL, "env") ||
	    !ASSERT_EQ(expr_env_add_var(env, "s", &expr_type_string), 0, "var s") ||
	    !ASSERT_EQ(expr_env_add_var(env, "l", &expr_type_array_string), 1, "var l") ||
	    !ASSERT_EQ(expr_env_add_var(env, "e", &expr_type_any), 2, "var e") ||
	    !ASSERT_OK(expr_env_add_helpers(env, EXPR_HELPERS_CROWDSEC), "helpers") ||
	    !ASSERT_OK(expr_env_add_funcs(env, funcs, 2), "funcs"))
		return TEST_SUMMARY();
	expr_string("hello", &vars[0]);
	expr_array_from_strings(strv, 3, &vars[1]);
	vars[2] = expr_nil();
	test_folding();
	test_memo();
	test_fast_any();
	test_case_memo();
	test_case_map();
	test_guard();
	test_guard_rest();
	test_prog_path();
	test_prog_needs();
	expr_value_release(&vars[0]);
	expr_value_release(&vars[1]);
	expr_env_free(env);
	expr_cleanup();
	return TEST_SUMMARY();
}
