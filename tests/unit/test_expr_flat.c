// SPDX-License-Identifier: MIT
/*
 * The flat form of programs (expr/flat.c) against the tree walk, on the
 * detector's event: every expression is also evaluated as `let r = (X); r`,
 * which has no flat form and means the same, and both must give the same
 * value, or the same error (code and message; the place moves with the
 * prefix). Over several events whose fields change (the vm's field cache and
 * memo see new versions), with data files (File(), RegexpInFile()), and where
 * the flat run has to give up: failing calls, regex limits, the step and the
 * memory limits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/strmap.h"
#include "expr/ast.h"
#include "expr/expr.h"
#include "parser/event.h"
#include "tests/lib/test.h"

static struct expr_env *env;
static struct cs_event *evt;

/* "kind:text", or "ERR:code message" without the message's "(line:col)". Caller frees. */
static char *outcome(const char *src, bool *flat)
{
	struct expr_prog *prog = NULL;
	struct expr_value out, vars[1] = { cs_event_value(evt) };
	struct expr_error e;
	char *r = NULL, *txt, *at;
	int err = expr_compile(env, src, &prog, &e);

	if (err)
		return asprintf(&r, "COMPILE:%s", e.msg) < 0 ? NULL : r;
	if (flat)
		*flat = expr_prog_flat(prog);
	err = expr_eval(prog, vars, NULL, &out, &e);
	expr_prog_free(prog);
	if (err) {
		at = strrchr(e.msg, '(');
		if (at && at > e.msg)
			at[-1] = '\0';
		return asprintf(&r, "ERR:%d %s", err, e.msg) < 0 ? NULL : r;
	}
	txt = expr_value_format(&out);
	if (asprintf(&r, "%s:%s", expr_kind_name(out.kind), txt ? txt : "?") < 0)
		r = NULL;
	free(txt);
	expr_value_release(&out);
	return r;
}

/* src flat (or not, as want_flat says) and giving what the tree walk gives; returns it. */
static char *same(const char *src, bool want_flat)
{
	char tree_src[1024], *flat_r, *tree_r;
	bool flat = false, tree_flat = false;

	snprintf(tree_src, sizeof(tree_src), "let r = (%s); r", src);
	flat_r = outcome(src, &flat);
	tree_r = outcome(tree_src, &tree_flat);
	ASSERT_TRUE(flat == want_flat, src);
	/* else the comparison below would be flat against flat */
	ASSERT_TRUE(!tree_flat, tree_src);
	if (!ASSERT_STREQ(flat_r ? flat_r : "(null)", tree_r ? tree_r : "(null)", src))
		fprintf(stderr, "  flat: %s\n  tree: %s\n", flat_r, tree_r);
	free(tree_r);
	return flat_r;
}

static void expect(const char *src, const char *want)
{
	char *got = same(src, true);

	ASSERT_STREQ(got ? got : "(null)", want, src);
	free(got);
}

static const char *const exprs[] = {
	"evt.Meta.service == 'http'",
	"evt.Meta.service != 'http'",
	"evt.Meta.log_type in ['a', 'http_access-log', 'http_error-log']",
	"evt.Meta.log_type in ['http_access-log', 'http_error-log'] && evt.Parsed.verb in ['GET', 'HEAD']",
	"Upper(evt.Meta.http_path) contains Upper('/admin')",
	"Upper(PathUnescape(evt.Meta.http_path)) contains Upper('<script')",
	"Lower(evt.Parsed.verb) startsWith 'po' || Lower(evt.Parsed.verb) endsWith 'ad'",
	"evt.Meta.http_path matches '^/a.*n$'",
	/* operands of the same length, empty ones */
	"evt.Parsed.verb startsWith 'GET' || evt.Meta.http_path endsWith '/admin'",
	"evt.Meta.http_path contains '/admin' && evt.Meta.http_path startsWith ''",
	"evt.Meta.absent contains '' && evt.Meta.absent endsWith '' && !(evt.Meta.absent contains 'a')",
	"Upper(evt.Meta.http_path) matches Upper('/ADMIN[^/]*$')",
	"any(File('paths.txt'), { Upper(evt.Meta.http_path) contains Upper(#) })",
	"any(File('paths.txt'), { evt.Parsed.file_name == # })",
	"any(File('paths.txt'), { evt.Meta.http_path endsWith # })",
	"any(File('empty.txt'), { evt.Meta.http_path contains # })",
	"any(File('absent.txt'), { evt.Meta.http_path contains # })",
	"evt.Meta.log_type == 'http_access-log' && RegexpInFile(evt.Parsed.ua, 'ua.txt')",
	"!(evt.Meta.service == 'ssh') && (evt.Meta.absent == '' || evt.Meta.service == 'x')",
	"(evt.Meta.service == 'x' || evt.Parsed.verb == 'POST') && !(evt.Meta.http_status in ['401', '403'])",
	"evt.Meta.service == 'http' and evt.Meta.sub_type == 'auth_fail' or evt.Parsed.verb == ''",
	"evt.Meta.absent == '' && Upper(evt.Meta.absent) == ''",
	"trimPrefix(evt.Meta.http_path, '/') startsWith 'ad'",
	"true",
	"evt.Parsed.verb",
	"Upper(evt.Meta.http_path)",
	"PathUnescape(evt.Meta.http_path)",
	"evt.Meta.absent",
	/* statics and groupbys: + on strings, ?:, a call of another kind, host members */
	"evt.Meta.http_path + 'x'",
	"evt.Meta.http_path + 'x' + evt.Meta.http_path matches 'x.*n'",
	"evt.Meta.service + '/' + evt.Parsed.verb + evt.Meta.absent",
	"(evt.Meta.service + evt.Parsed.verb) startsWith 'httpG' && Upper(evt.Meta.service + 'x') == 'HTTPX'",
	"evt.Meta.http_status in ['403', '404'] ? 'false' : 'true'",
	"Upper(evt.Parsed.verb) in ['GET', 'HEAD'] ? 'yes' : evt.Meta.http_path + '!'",
	"evt.Meta.service == 'http' && evt.Parsed.verb == 'GET' ? evt.Meta.http_path : evt.Meta.absent",
	"len(evt.Meta.http_path)",
	"len(evt.Meta.absent)",
	"evt.StrTime != ''",
	"evt.StrTime + '|' + evt.Line.Labels.type",
	"evt.Line.Labels.type == 'syslog' || evt.Line.Labels.type != 'nginx'",
	"evt.Line.Labels.absent",
	"evt.Line.Src",
	/* the flat run gives up, the tree walk says what is wrong */
	"fromBase64(evt.Meta.b64) == 'hi'",
	"evt.Meta.service == 'http' && fromBase64(evt.Meta.http_path) == 'x'",
	"fromBase64(evt.Meta.http_path)",
};

static const char *const lines[][6] = {
	/* service, log_type, verb, http_path, ua, b64 */
	{ "http", "http_access-log", "GET", "/admin", "curl/8", "aGk=" },
	{ "http", "http_access-log", "POST", "/a%3Cscript%3En", "sqlmap/1.0", "aGk=" },
	{ "http", "http_error-log", "HEAD", "/etc/passwd", "Mozilla", "aGk" },
	{ "ssh", "ssh_failed-auth", "", "", "", "" },
	{ "http", "http_access-log", "GET", "/index.php/ADMIN.x", "curl/8", "aGk=" },
};

static void set_line(size_t i)
{
	strmap_set(evt->meta, "service", lines[i][0]);
	strmap_set(evt->meta, "log_type", lines[i][1]);
	strmap_set(evt->parsed, "verb", lines[i][2]);
	strmap_set(evt->meta, "http_path", lines[i][3]);
	strmap_set(evt->parsed, "file_name", lines[i][3][0] ? lines[i][3] + 1 : "");
	strmap_set(evt->parsed, "ua", lines[i][4]);
	strmap_set(evt->meta, "b64", lines[i][5]);
	strmap_set(evt->meta, "http_status", i % 2 ? "403" : "200");
	strmap_set(evt->line.labels, "type", i % 2 ? "nginx" : "syslog");
	cs_event_set_str(&evt->str_time, i % 3 ? "2026-12-05T17:00:00Z" : "");
}

static void test_agrees(void)
{
	for (int round = 0; round < 2; round++)	/* the second one with warm caches */
		for (size_t l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
			set_line(l);
			for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++)
				free(same(exprs[i], true));
		}
	/* what the values are, on the first line */
	set_line(0);
	expect("evt.Meta.service == 'http' && Upper(evt.Meta.http_path) contains 'ADM'", "bool:true");
	expect("any(File('paths.txt'), { Upper(evt.Meta.http_path) contains Upper(#) })", "bool:true");
	expect("RegexpInFile(evt.Parsed.ua, 'ua.txt')", "bool:true");
	expect("Upper(evt.Meta.http_path)", "string:/ADMIN");
	expect("fromBase64(evt.Meta.b64) == 'hi'", "bool:true");
	set_line(2);
	expect("any(File('paths.txt'), { evt.Meta.http_path endsWith # })", "bool:true");
	expect("RegexpInFile(evt.Parsed.ua, 'ua.txt')", "bool:false");
	free(same("fromBase64(evt.Meta.b64) == 'hi'", true));
	/* shapes without a flat form */
	free(same("len(evt.Meta.http_path) > 2", false));
	free(same("(evt.Meta.service == 'http' ? 'a' : 'b') + 'x'", false));
	free(same("any(['a'], { # == evt.Meta.service && true })", false));
	free(same("evt.Meta?.service == 'http'", false));
}

/* A backtracking pattern past PCRE2's match limit: the tree walk's error. */
static void test_regex_limit(void)
{
	char evil[64];
	char *r;

	memset(evil, 'a', 40);
	strcpy(evil + 40, "!");
	strmap_set(evt->meta, "http_path", evil);
	r = same("evt.Meta.http_path matches '^(a|a)+$'", true);
	ASSERT_TRUE(r && !strncmp(r, "ERR:-7 ", 7), "match limit");
	free(r);
	set_line(0);
}

/* Below a flat program's node count, the tree walk counts and stops it. */
static void test_limits(void)
{
	char *r;

	set_line(1);
	expr_set_limits(3, 0);
	r = same("evt.Meta.service == 'http' && evt.Parsed.verb == 'POST'", true);
	ASSERT_TRUE(r && !strncmp(r, "ERR:-7 ", 7), "step limit");
	free(r);
	expr_set_limits(0, 0);
	/* the bytes an evaluation may allocate: a new string's Upper() fails in both */
	strmap_set(evt->meta, "http_path", "/a-string-longer-than-sixteen-bytes-never-mapped-before");
	expr_set_limits(0, 16);
	r = same("Upper(evt.Meta.http_path) contains 'X'", true);
	ASSERT_TRUE(r && !strncmp(r, "ERR:", 4), "memory limit");
	free(r);
	r = same("evt.Parsed.verb + evt.Meta.http_path", true);
	ASSERT_TRUE(r && !strncmp(r, "ERR:", 4), "memory limit of +");
	free(r);
	expr_set_limits(0, 0);
	r = same("Upper(evt.Meta.http_path) contains 'NEVER'", true);
	ASSERT_STREQ(r ? r : "(null)", "bool:true", "within the limits again");
	free(r);
}

/* Two PURE functions side by side in one table, as the helpers are: each counts its calls. */
static int calls[2];

static int count_call(struct expr_ctx *ctx, const struct expr_value *args, int nargs,
		      struct expr_value *out)
{
	calls[*(int *)expr_ctx_priv(ctx)]++;
	return expr_stringn(args[0].s->s, args[0].s->len, out);
}

static int which[2] = { 0, 1 };
static const struct expr_func counted[2] = {
	{ "CountA", count_call, 1, 1, { EXPR_STRING }, &expr_type_string, &which[0], EXPR_FN_PURE },
	{ "CountB", count_call, 1, 1, { EXPR_STRING }, &expr_type_string, &which[1], EXPR_FN_PURE },
};

/*
 * A PURE function of one string runs once per string object, whatever other
 * functions of the same string ran in between (the memo kept Upper(p),
 * PathUnescape(p) and QueryUnescape(p) in one slot, so they evicted each other).
 */
static void test_memo(void)
{
	static const char *const srcs[] = {
		"CountA(evt.Meta.http_path) == 'x'", "CountB(evt.Meta.http_path) == 'x'",
	};

	set_line(3);
	set_line(0);
	calls[0] = calls[1] = 0;
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < 2; i++)
			free(same(srcs[i], true));
	/* each `same` evaluates flat, then the tree's let form: both share the memo */
	ASSERT_EQ(calls[0], 1, "CountA once for one string");
	ASSERT_EQ(calls[1], 1, "CountB once for one string");
}

/*
 * The vm's answers of pattern sets: one asked for again (a user agent
 * RegexpInFile sees on many lines) outlives a flood of answers never asked
 * for again (a `matches` list searched with a new path on every line).
 */
static void test_results(void)
{
	struct expr_vm *vm = NULL;
	const char *ua = "Mozilla/5.0 (X11; Linux x86_64)";
	char path[32];
	int rc = -1;

	if (!ASSERT_OK(expr_vm_new(&vm), "vm"))
		return;
	vm_result_put(vm, 1, ua, strlen(ua), cs_hash(ua, strlen(ua)), 1);
	ASSERT_TRUE(vm_result_get(vm, 1, ua, strlen(ua), cs_hash(ua, strlen(ua)), &rc) && rc == 1,
		    "answer kept");
	for (int i = 0; i < 4 * EXPR_VM_RESULT_SLOTS; i++) {
		int n = snprintf(path, sizeof(path), "/p/%d", i);

		vm_result_put(vm, 2, path, (size_t)n, cs_hash(path, (size_t)n), 0);
	}
	rc = -1;
	ASSERT_TRUE(vm_result_get(vm, 1, ua, strlen(ua), cs_hash(ua, strlen(ua)), &rc) && rc == 1,
		    "an answer asked for again outlives fresh ones");
	expr_vm_free(vm);
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

int main(void)
{
	char dir[] = "/tmp/test_expr_flat.XXXXXX";
	struct expr_runtime *rt = NULL;

	if (!ASSERT_TRUE(mkdtemp(dir) != NULL, "tmp dir"))
		return TEST_SUMMARY();
	env = expr_env_new();
	if (!ASSERT_TRUE(env != NULL, "env") ||
	    !ASSERT_EQ(expr_env_add_var(env, "evt", &cs_event_expr_type), 0, "var evt") ||
	    !ASSERT_OK(expr_env_add_helpers(env, EXPR_HELPERS_CROWDSEC), "helpers") ||
	    !ASSERT_OK(expr_env_add_funcs(env, counted, 2), "counted functions") ||
	    !ASSERT_OK(write_file(dir, "paths.txt", "admin\n<SCRIPT\netc/passwd\n"), "paths") ||
	    !ASSERT_OK(write_file(dir, "empty.txt", ""), "empty") ||
	    !ASSERT_OK(write_file(dir, "ua.txt", "^curl/\nsqlmap\n"), "ua") ||
	    !ASSERT_OK(expr_runtime_new(dir, &rt), "runtime") ||
	    !ASSERT_OK(expr_runtime_load_data(rt, "paths.txt", "string"), "load paths") ||
	    !ASSERT_OK(expr_runtime_load_data(rt, "empty.txt", "string"), "load empty") ||
	    !ASSERT_OK(expr_runtime_load_data(rt, "ua.txt", "regexp"), "load ua") ||
	    !ASSERT_OK(cs_event_new(&evt), "event"))
		goto out;
	expr_env_set_runtime(env, rt);
	test_agrees();
	test_regex_limit();
	test_limits();
	test_memo();
	test_results();
out:
	cs_event_free(evt);
	expr_env_free(env);
	expr_runtime_put(rt);
	expr_cleanup();
	for (const char *const *n = (const char *const[]){ "paths.txt", "empty.txt", "ua.txt", NULL };
	     *n; n++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", dir, *n);
		unlink(path);
	}
	rmdir(dir);
	return TEST_SUMMARY();
}
