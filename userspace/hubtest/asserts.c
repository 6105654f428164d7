// SPDX-License-Identifier: MIT
/*
 * Assert files (parser.assert, scenario.assert; hub-format.md 11.5, 11.7): one
 * expr boolean per non-empty line, evaluated against `results`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubtest/hubtest_int.h"

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Old asserts compare datasource_path without basename(): add it (spec 11.5). */
static char *rewrite_assert(const char *line)
{
	const char *eq;
	char *out;

	if (!strstr(line, "datasource_path") || strstr(line, "basename(") ||
	    !(eq = strstr(line, "==")))
		return strdup(line);
	if (asprintf(&out, "basename(%.*s) == %s", (int)(eq - line), line, trim((char *)eq + 2)) < 0)
		return NULL;
	return out;
}

/* The value of the text before " == ", for failure messages. */
static char *lhs_value(const struct expr_env *env, const char *line, const struct expr_value *vars)
{
	const char *eq = strstr(line, " == ");
	struct expr_prog *prog = NULL;
	struct expr_value v = expr_nil();
	char *src, *txt = NULL;

	if (!eq || !(src = strndup(line, eq - line)))
		return NULL;
	if (!expr_compile(env, src, &prog, NULL) && !expr_eval(prog, vars, NULL, &v, NULL))
		txt = expr_value_format(&v);
	expr_value_release(&v);
	expr_prog_free(prog);
	free(src);
	return txt;
}

int hubtest_run_asserts(const struct hubtest_opts *o, const char *path, bool missing_ok,
			const struct expr_value *results, char *why, size_t whylen, int *nasserts,
			int *nfailed)
{
	const char *label = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct expr_env *env = expr_env_new();
	char *line = NULL;
	size_t cap = 0;
	int err = 0, lineno = 0;
	FILE *f;

	*nasserts = *nfailed = 0;
	if (!env)
		return -ENOMEM;
	if (expr_env_add_var(env, "results", NULL) < 0 ||
	    expr_env_add_helpers(env, EXPR_HELPERS_CROWDSEC | EXPR_HELPERS_HUBTEST)) {
		expr_env_free(env);
		return -ENOMEM;
	}
	f = fopen(path, "r");
	if (!f && errno == ENOENT && missing_ok) {
		expr_env_free(env);
		return 0; /* no assert file: like an empty one (spec 11.7) */
	}
	if (!f) {
		err = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		expr_env_free(env);
		return err;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *src, *a = trim(line);
		struct expr_prog *prog = NULL;
		struct expr_error e = { 0 };
		bool ok = false;
		int rc;

		lineno++;
		if (!*a)
			continue;
		(*nasserts)++;
		src = rewrite_assert(a);
		if (!src) {
			err = -ENOMEM;
			break;
		}
		rc = expr_compile(env, src, &prog, &e);
		if (!rc)
			rc = expr_eval_bool(prog, results, NULL, &ok, &e);
		if (rc || !ok) {
			char *lhs = rc ? NULL : lhs_value(env, src, results);

			if (!*nfailed)
				snprintf(why, whylen, "%s:%d: %s%s%s%s", label, lineno, src,
					 rc ? ": error: " : " (got ", rc ? e.msg : lhs ? lhs : "?",
					 rc ? "" : ")");
			if (o->verbose)
				fprintf(stderr, "  assert %d failed: %s%s%s\n", lineno, src,
					rc ? " -- " : " -- got ", rc ? e.msg : lhs ? lhs : "?");
			free(lhs);
			(*nfailed)++;
		}
		expr_prog_free(prog);
		free(src);
	}
	free(line);
	fclose(f);
	expr_env_free(env);
	return err;
}

enum hubtest_status hubtest_verdict(const char *file, int nasserts, int nfailed,
				    const char *extra, char *why, size_t whylen)
{
	size_t l = strlen(why);

	if (!nasserts) {
		snprintf(why, whylen, "empty %s (upstream would generate it)", file);
		return HUBTEST_SKIP;
	}
	if (!nfailed)
		return HUBTEST_PASS;
	if (l < whylen)
		snprintf(why + l, whylen - l, " [%d/%d asserts failed%s]", nfailed, nasserts, extra);
	return HUBTEST_FAIL;
}
