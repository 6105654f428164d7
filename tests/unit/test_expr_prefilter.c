// SPDX-License-Identifier: MIT
/*
 * The prefilter (expr/prefilter.c) against the evaluator: over events whose
 * fields change (non-ASCII paths under Upper/Lower, escapes, absent and empty
 * fields, a path longer than the prefilter reads), every clause it reports
 * false must be the first conjunct of a filter that evaluates to false
 * without an error; which filters get a clause; that it decides the hub's
 * shapes (so that it is worth its cost); nothing decided under low limits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strmap.h"
#include "expr/expr.h"
#include "parser/event.h"
#include "tests/lib/test.h"

static struct expr_env *env;
static struct cs_event *evt;

/* Filters and whether the prefilter takes their first conjunct. */
static const struct {
	const char *src;
	bool clause;
} filters[] = {
	{ "Upper(evt.Meta.http_path) contains Upper('/admin')", true },
	{ "Upper(PathUnescape(evt.Meta.http_path)) contains Upper('<script') || "
	  "Upper(PathUnescape(evt.Meta.http_path)) contains 'ÉTÉ'", true },
	{ "Lower(evt.Meta.http_path) contains '/index.php' && evt.Parsed.verb == 'POST'", true },
	{ "Upper(QueryUnescape(evt.Meta.http_path)) startsWith Upper('/catalog?x=${')", true },
	{ "Lower(evt.Meta.http_path) endsWith 'été' or evt.Meta.http_path == '/'", true },
	{ "evt.Meta.http_status in ['400', '405'] && evt.Parsed.verb == 'CONNECT'", true },
	{ "Lower(Upper(QueryUnescape(evt.Meta.http_path))) endsWith 'été' || "
	  "Upper(Lower(evt.Meta.http_path)) contains 'B C'", true },
	{ "evt.Parsed.file_name contains 'w00tw00t'", true },
	{ "any(File('paths.txt'), { Upper(evt.Meta.http_path) contains Upper(#) })", true },
	{ "any(File('paths.txt'), { evt.Parsed.file_name == # })", true },
	{ "any(File('paths.txt'), { evt.Meta.http_path endsWith # }) || "
	  "any(File('paths.txt'), { Lower(evt.Parsed.ua) contains Lower(#) })", true },
	{ "any(File('res.txt'), { Upper(evt.Meta.http_path) matches Upper(#) })", true },
	{ "Upper(evt.Meta.http_path) matches Upper('/tmui/login.jsp/..;/tmui/[^.]+.jsp\\\\?(a|b)=')",
	  true },
	{ "evt.Meta.http_path matches '/ui/vcav-bootstrap/rest\\\\?url=(file|http)'", true },
	{ "evt.Meta.http_path matches '/adm*x'", true },	/* "/ad" */
	{ "evt.Meta.http_path matches '/fooé?'", true },	/* "/foo": é is one character */
	/* not taken: the prefilter could not say the clause is false */
	{ "evt.Meta.http_path matches '/admin|/root'", false },
	{ "evt.Meta.http_path matches '(?i)/admin'", false },
	{ "evt.Meta.http_path matches 'ab\\\\Q(\\\\E|/admin'", false },
	{ "evt.Meta.http_path matches 'a[[:alpha:](]|/x'", false },
	{ "evt.Meta.http_path matches '/a.min'", false },	/* no 3 plain bytes first */
	{ "evt.Meta.http_path matches 'abcd\\\\c(|xyz'", false },	/* \c( is one character */
	{ "evt.Meta.http_path contains ''", false },
	{ "any(File('empty.txt'), { evt.Meta.http_path contains # })", false },
	{ "any(File('absent.txt'), { evt.Meta.http_path contains # })", false },
	{ "any(File('res.txt'), { evt.Meta.http_path matches # }) && true", true },
	{ "any(File('bad_re.txt'), { evt.Meta.http_path matches # })", false },
	{ "RegexpInFile(evt.Parsed.ua, 'res.txt')", false },
	{ "fromBase64(evt.Meta.http_path) contains 'x'", false },
	{ "trimPrefix(evt.Meta.http_path, '/') contains 'admin'", false },
	{ "evt.Parsed.verb == 'GET' || len(evt.Meta.http_path) > 3", false },
	/* a term on a new subject, then one not taken: that subject is dropped (valgrind: no leak) */
	{ "evt.Meta.zzz contains 'abc' || len(evt.Meta.http_path) > 3", false },
	{ "evt.Meta.service == 'http' && Upper(evt.Meta.http_path) contains '/ADMIN'", true },
};
#define NF (sizeof(filters) / sizeof(filters[0]))

static char long_path[20000];

static const char *const paths[] = {
	"/admin", "/a%3Cscript%3En", "/index.php", "/INDEX.PHP?x", "/catalog?x=${x}", "/CATALOG%3Fx=%24%7B",
	"/été", "/%C3%A9t%C3%A9", "/ÉTÉ", "/etc/passwd", "/w00tw00t.at", "/", "", NULL,
	"/tmui/login.jsp/..;/tmui/x.jsp?a=1", "/TMUI/LOGIN.JSP/..;/TMUI/X.JSP?B=", "/ui/vcav-bootstrap/rest?url=file",
	"/adx", "/ax", "/%zz", "/a%", "/ﬀ/ǅ/ß", "/\xff\xfe/admin", long_path,
	"/index/think/app", "/x/INDEX/think", "/admin/ssh", "/a+b%2B", "/été+", "/b c", "/%C3%A9t%C3%A9",
	"/foo", "/fooé", "xyz"
};

static void set_line(size_t i)
{
	const char *p = paths[i];

	if (p)
		strmap_set(evt->meta, "http_path", p);
	else
		strmap_del(evt->meta, "http_path");
	strmap_set(evt->meta, "service", i % 3 ? "http" : "ssh");
	strmap_set(evt->meta, "http_status", i % 2 ? "405" : "200");
	strmap_set(evt->parsed, "verb", i % 4 ? "POST" : "CONNECT");
	strmap_set(evt->parsed, "file_name", p && *p ? p + 1 : "");
	strmap_set(evt->parsed, "ua", i % 5 ? "curl/8 ADMIN" : "Mozilla");
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "w")))
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

struct set {
	struct expr_prog *progs[NF];
	int clause[NF];
	struct expr_prefilter *pf;
};

static void build(struct set *s)
{
	struct expr_error e;

	ASSERT_OK(expr_prefilter_new(&s->pf), "new");
	for (size_t i = 0; i < NF; i++) {
		size_t id;
		int rc;

		s->clause[i] = -1;
		if (!ASSERT_OK(expr_compile(env, filters[i].src, &s->progs[i], &e), filters[i].src))
			continue;
		rc = expr_prefilter_add(s->pf, s->progs[i], &id);
		ASSERT_EQ(rc, filters[i].clause ? 1 : 0, filters[i].src);
		if (rc == 1)
			s->clause[i] = (int)id;
	}
	ASSERT_OK(expr_prefilter_build(s->pf), "build");
}

static void drop(struct set *s)
{
	expr_prefilter_free(s->pf);
	for (size_t i = 0; i < NF; i++)
		expr_prog_free(s->progs[i]);
}

/* Every clause reported false is a filter false without error; returns how many were. */
static size_t check_event(const struct set *s, const char *what)
{
	struct expr_value vars[1] = { cs_event_value(evt) };
	uint64_t known[EXPR_PREFILTER_WORDS];
	size_t decided = 0;

	expr_prefilter_run(s->pf, vars, known);
	for (size_t i = 0; i < NF; i++) {
		struct expr_error e;
		bool out = true;
		int c = s->clause[i], err;

		if (c < 0 || !(known[c / 64] >> (c % 64) & 1))
			continue;
		decided++;
		err = expr_eval_bool(s->progs[i], vars, NULL, &out, &e);
		if (!ASSERT_TRUE(!err && !out, filters[i].src))
			fprintf(stderr, "  event %s: err %d (%s), value %d\n", what, err, e.msg, out);
	}
	return decided;
}

static void test_agrees(void)
{
	struct set s = { 0 };
	size_t decided = 0;

	build(&s);
	for (int round = 0; round < 2; round++)	/* the second one with warm caches */
		for (size_t l = 0; l < sizeof(paths) / sizeof(paths[0]); l++) {
			set_line(l);
			decided += check_event(&s, paths[l] ? paths[l] : "(absent)");
		}
	/* "/etc/x" decides the CVE-like ones, the w00t one, the lists... */
	set_line(0);
	strmap_set(evt->meta, "http_path", "/nothing/here");
	strmap_set(evt->parsed, "file_name", "nothing");
	strmap_set(evt->parsed, "ua", "Mozilla");
	strmap_set(evt->meta, "http_status", "200");
	ASSERT_TRUE(check_event(&s, "/nothing/here") >= 14, "decides the hub's shapes");
	ASSERT_TRUE(decided > 100, "decides on the events");
	drop(&s);
}

/* Low limits: the evaluation could fail where the prefilter would say false; it says nothing. */
static void test_limits(void)
{
	struct set s = { 0 };

	build(&s);
	set_line(0);
	strmap_set(evt->meta, "http_path", "/nothing/here");
	expr_set_limits(1000, 0);
	ASSERT_EQ(check_event(&s, "low steps"), 0, "nothing known under a low step limit");
	expr_set_limits(0, 4096);
	ASSERT_EQ(check_event(&s, "low bytes"), 0, "nothing known under a low memory limit");
	expr_set_limits(0, 0);
	ASSERT_TRUE(check_event(&s, "default limits") > 0, "known again");
	drop(&s);
}

/* The data files: the prefilter reads the lists of those loaded when it is built. */
static const struct {
	const char *name, *text;
} files[] = {
	{ "paths.txt", "admin\n<SCRIPT\netc/passwd\nÉté\n" },
	{ "empty.txt", "" },
	{ "res.txt", "index/\\\\think\nindex/[a-z]+/app\n" },
	{ "bad_re.txt", "index/(\nadmin\n" },	/* the first line does not compile */
};
#define NFILES (sizeof(files) / sizeof(files[0]))

static void files_drop(const char *dir)
{
	for (size_t i = 0; i < NFILES; i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	char dir[] = "/tmp/test_expr_prefilter.XXXXXX";
	struct expr_runtime *rt = NULL;
	bool ok;

	memset(long_path, 'a', sizeof(long_path) - 1);
	memcpy(long_path, "/admin", 6);
	if (!ASSERT_TRUE(mkdtemp(dir) != NULL, "tmp dir"))
		return TEST_SUMMARY();
	ok = ASSERT_OK(expr_runtime_new(dir, &rt), "runtime");
	for (size_t i = 0; ok && i < NFILES; i++)
		ok = ASSERT_OK(write_file(dir, files[i].name, files[i].text), files[i].name) &&
		     ASSERT_OK(expr_runtime_load_data(rt, files[i].name, "string"), files[i].name);
	env = ok ? expr_env_new() : NULL;
	if (env && ASSERT_EQ(expr_env_add_var(env, "evt", &cs_event_expr_type), 0, "var evt") &&
	    ASSERT_OK(expr_env_add_helpers(env, EXPR_HELPERS_CROWDSEC), "helpers") &&
	    ASSERT_OK(cs_event_new(&evt), "event")) {
		expr_env_set_runtime(env, rt);
		test_agrees();
		test_limits();
	}
	cs_event_free(evt);
	expr_env_free(env);
	expr_runtime_put(rt);
	expr_cleanup();
	files_drop(dir);
	return TEST_SUMMARY();
}
