// SPDX-License-Identifier: MIT
/*
 * Every expression of the real hub must load: filters, statics, whitelists,
 * groupby/distinct/cancel_on/condition/overflow_filter of parsers, scenarios
 * and postoverflows (YAML, read with libyaml), and every line of the tests'
 * parser.assert / scenario.assert files. Types follow hub-format.md section 1,
 * so unknown fields and mistyped operators would be caught as they are
 * upstream. Skipped when the hub is not present ($SHARED_DIR/hub).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "expr/expr.h"
#include "../lib/test.h"

static const struct expr_type smap = { EXPR_MAP, &expr_type_string, NULL };
static const struct expr_type amap = { EXPR_MAP, NULL, NULL };

static const struct expr_field line_fields[] = {
	{ "Raw", &expr_type_string }, { "Src", &expr_type_string },
	{ "Time", &expr_type_time }, { "Labels", &smap },
	{ "Process", &expr_type_bool }, { "Module", &expr_type_string }, { NULL },
};
static const struct expr_host_ops line_ops = { .name = "Line", .fields = line_fields };
static const struct expr_type line_type = { EXPR_HOST, NULL, &line_ops };

static const struct expr_field event_fields[] = {
	{ "Type", &expr_type_int }, { "ExpectMode", &expr_type_int },
	{ "Whitelisted", &expr_type_bool }, { "WhitelistReason", &expr_type_string },
	{ "Stage", &expr_type_string }, { "Line", &line_type },
	{ "Parsed", &smap }, { "Enriched", &smap }, { "Unmarshaled", &amap },
	{ "Meta", &smap }, { "Overflow", NULL }, { "Time", &expr_type_time },
	{ "StrTime", &expr_type_string }, { "StrTimeFormat", &expr_type_string },
	{ "MarshaledTime", &expr_type_string }, { "Process", &expr_type_bool },
	{ "Appsec", NULL }, { NULL },
};
static const struct expr_method event_methods[] = {
	{ "GetMeta", 1, 1, &expr_type_string }, { "SetMeta", 2, 2, &expr_type_bool },
	{ "SetParsed", 2, 2, &expr_type_bool }, { "GetType", 0, 0, &expr_type_string },
	{ "ParseIPSources", 0, 0, NULL }, { NULL },
};
static const struct expr_host_ops event_ops = {
	.name = "Event", .fields = event_fields, .methods = event_methods,
};
static const struct expr_type event_type = { EXPR_HOST, NULL, &event_ops };
static const struct expr_type event_list = { EXPR_ARRAY, &event_type, NULL };
static const struct expr_field queue_fields[] = { { "Queue", &event_list }, { NULL } };
static const struct expr_host_ops queue_ops = { .name = "Queue", .fields = queue_fields };
static const struct expr_type queue_type = { EXPR_HOST, NULL, &queue_ops };

static struct expr_env *env, *assert_env;
static int n_exprs, n_bad, n_files;

static bool is_expr_key(const char *k)
{
	static const char *const keys[] = { "filter", "expression", "expressions", "groupby",
					    "distinct", "cancel_on", "condition",
					    "overflow_filter", NULL };

	for (int i = 0; keys[i]; i++)
		if (!strcmp(k, keys[i]))
			return true;
	return false;
}

static void check_expr(const char *file, const char *src, struct expr_env *e)
{
	struct expr_prog *prog = NULL;
	struct expr_error err;

	n_exprs++;
	if (expr_compile(e, src, &prog, &err)) {
		n_bad++;
		fprintf(stderr, "FAIL %s: %s\n     %.200s\n", file, err.msg, src);
	}
	expr_prog_free(prog);
}

static void walk(yaml_document_t *doc, yaml_node_t *node, const char *file, int depth)
{
	if (!node || depth > 64)
		return;
	if (node->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     it < node->data.sequence.items.top; it++)
			walk(doc, yaml_document_get_node(doc, *it), file, depth + 1);
		return;
	}
	if (node->type != YAML_MAPPING_NODE)
		return;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);

		if (k && v && k->type == YAML_SCALAR_NODE &&
		    is_expr_key((const char *)k->data.scalar.value)) {
			if (v->type == YAML_SCALAR_NODE && v->data.scalar.length) {
				check_expr(file, (const char *)v->data.scalar.value, env);
				continue;
			}
			if (v->type == YAML_SEQUENCE_NODE) {
				for (yaml_node_item_t *it = v->data.sequence.items.start;
				     it < v->data.sequence.items.top; it++) {
					yaml_node_t *e = yaml_document_get_node(doc, *it);

					if (e && e->type == YAML_SCALAR_NODE)
						check_expr(file, (const char *)e->data.scalar.value,
							   env);
				}
				continue;
			}
		}
		walk(doc, v, file, depth + 1);
	}
}

static void check_yaml(const char *path)
{
	yaml_parser_t parser;
	FILE *fp = fopen(path, "rb");

	if (!fp)
		return;
	n_files++;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, fp);
	for (;;) {
		yaml_document_t doc;
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc))
			break;	/* YAML errors are the loaders' business, not expr's */
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		walk(&doc, root, path, 0);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(fp);
}

/* hubtest's rewrite: datasource_path lines without basename() get one. */
static void check_assert_line(const char *file, char *line)
{
	char *eq, *rewritten = NULL;

	if (strstr(line, "datasource_path") && !strstr(line, "basename(") &&
	    (eq = strstr(line, "=="))) {
		*eq = '\0';
		if (asprintf(&rewritten, "basename(%s) == %s", line, eq + 2) < 0)
			rewritten = NULL;
		*eq = '=';
	}
	check_expr(file, rewritten ? rewritten : line, assert_env);
	free(rewritten);
}

static void check_assert_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!fp)
		return;
	n_files++;
	while ((n = getline(&line, &cap, fp)) >= 0) {
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (strspn(line, " \t") < (size_t)n)
			check_assert_line(path, line);
	}
	free(line);
	fclose(fp);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t l = strlen(s), sl = strlen(suffix);

	return l >= sl && !strcmp(s + l - sl, suffix);
}

static void scan(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d || depth > 8) {
		if (d)
			closedir(d);
		return;
	}
	while ((de = readdir(d))) {
		char path[4096];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			scan(path, depth + 1);
		else if (ends_with(path, ".yaml") || ends_with(path, ".yml"))
			check_yaml(path);
		else if (ends_with(path, ".assert"))
			check_assert_file(path);
	}
	closedir(d);
}

int main(void)
{
	const char *hub = t_shared("hub");
	static const char *const parts[] = { "parsers", "scenarios", "postoverflows", "tests" };
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/scenarios", hub);
	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		TEST_SKIP(1, "hub not found (SHARED_DIR)");
		return TEST_SUMMARY();
	}
	env = expr_env_new();
	assert_env = expr_env_new();
	if (!ASSERT_TRUE(env && assert_env, "env"))
		return TEST_SUMMARY();
	ASSERT_EQ(expr_env_add_var(env, "evt", &event_type), 0, "evt");
	ASSERT_EQ(expr_env_add_var(env, "queue", &queue_type), 1, "queue");
	ASSERT_EQ(expr_env_add_var(env, "leaky", NULL), 2, "leaky");
	ASSERT_EQ(expr_env_add_var(env, "signal", NULL), 3, "signal");
	ASSERT_OK(expr_env_add_helpers(env, EXPR_HELPERS_CROWDSEC), "helpers");
	ASSERT_EQ(expr_env_add_var(assert_env, "results", NULL), 0, "results");
	ASSERT_OK(expr_env_add_helpers(assert_env, EXPR_HELPERS_CROWDSEC | EXPR_HELPERS_HUBTEST),
		  "assert helpers");

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", hub, parts[i]);
		scan(path, 0);
	}
	fprintf(stderr, "hub: %d files, %d expressions, %d failed to load\n", n_files, n_exprs,
		n_bad);
	ASSERT_TRUE(n_exprs > 20000, "the hub has expressions");
	ASSERT_EQ(n_bad, 0, "every hub expression loads");

	expr_env_free(env);
	expr_env_free(assert_env);
	expr_cleanup();
	return TEST_SUMMARY();
}
