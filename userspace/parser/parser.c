// SPDX-License-Identifier: MIT
/*
 * A parser set (parser.h): creation, options, freeing. Loading YAML is load.c,
 * running events through the stages run.c.
 */
#include "parser/parser_int.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "common/ipaddr.h"
#include "common/log.h"
#include "common/strmap.h"
#include "common/strv.h"
#include "expr/expr.h"
#include "parser/enrich.h"
#include "parser/grok.h"
#include "parser/parser_limits.h"

/* ---- freeing ------------------------------------------------------------------------ */

static void statics_free(struct cs_statics *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].key);
		free(s->v[i].value);
		expr_prog_free(s->v[i].expr);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static void stash_defs_free(struct cs_stash_def *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		expr_prog_free(v[i].key);
		expr_prog_free(v[i].value);
	}
	free(v);
}

static void node_clear(struct cs_node *n)
{
	free(n->name);
	expr_prog_free(n->filter);
	grok_free(n->grok);
	free(n->apply_on);
	expr_prog_free(n->grok_expr);
	statics_free(&n->grok_statics);
	for (size_t i = 0; i < n->nchildren; i++)
		node_clear(&n->children[i]);
	free(n->children);
	statics_free(&n->statics);
	if (n->wl) {
		free(n->wl->reason);
		free(n->wl->ips);
		free(n->wl->cidrs);
		for (size_t i = 0; i < n->wl->nexprs; i++)
			expr_prog_free(n->wl->exprs[i]);
		free(n->wl->exprs);
		free(n->wl);
	}
	stash_defs_free(n->stash, n->nstash);
	free(n->file);
	memset(n, 0, sizeof(*n));
}

void cs_parsers_free(struct cs_parsers *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->ntops; i++) {
		node_clear(&p->tops[i].node);
		free(p->tops[i].stage);
		free(p->tops[i].install_name);
	}
	free(p->tops);
	strv_free(p->stages, p->nstages);
	expr_env_free(p->env);
	grok_lib_free(p->lib);
	cs_stash_free(p->stash);
	expr_runtime_put(p->rt);
	cs_geoip_free(p->geoip);
	free(p->geoip_dir);
	free(p);
}

/* ---- setup ----------------------------------------------------------------------------- */

int cs_parsers_new(const struct cs_parser_opts *opts, struct cs_parsers **out)
{
	struct cs_parsers *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	err = grok_lib_new(&p->lib);
	if (err)
		goto err;
	err = grok_lib_add_builtins(p->lib);
	if (err)
		goto err;
	if (opts && opts->patterns_dir) {
		err = grok_lib_load_dir(p->lib, opts->patterns_dir);
		if (err) {
			log_error("grok patterns %s: %s", opts->patterns_dir, strerror(-err));
			goto err;
		}
	}
	if (opts && opts->runtime)
		p->rt = expr_runtime_ref(opts->runtime);
	else if ((err = expr_runtime_new(opts ? opts->data_dir : NULL, &p->rt)))
		goto err;
	if (opts && (opts->geoip_dir || opts->data_dir)) {
		p->geoip_dir = strdup(opts->geoip_dir ? opts->geoip_dir : opts->data_dir);
		if (!p->geoip_dir) {
			err = -ENOMEM;
			goto err;
		}
	}
	if (opts) {
		p->clock = opts->clock;
		p->clock_arg = opts->clock_arg;
	}
	err = cs_stash_new(&p->stash);
	if (err)
		goto err;
	p->env = expr_env_new();
	if (!p->env) {
		err = -ENOMEM;
		goto err;
	}
	err = expr_env_add_var(p->env, "evt", &cs_event_expr_type);
	if (err < 0)
		goto err;
	err = expr_env_add_helpers(p->env, EXPR_HELPERS_CROWDSEC);
	if (err)
		goto err;
	expr_env_set_stash(p->env, p->stash);
	expr_env_set_runtime(p->env, p->rt);
	if (opts && opts->setup_env) {
		err = opts->setup_env(p->env, opts->setup_arg);
		if (err)
			goto err;
	}
	*out = p;
	return 0;
err:
	cs_parsers_free(p);
	return err;
}

const char *cs_parsers_last_error(const struct cs_parsers *p)
{
	return p->last_error;
}

const struct expr_env *cs_parsers_env(const struct cs_parsers *p)
{
	return p->env;
}
