// SPDX-License-Identifier: MIT
/*
 * Parser YAML (hub-format.md 5): nodes, statics, whitelists, grok, stash and
 * data sections, decoded strictly, expressions compiled at load. Errors name
 * file:line.
 */
#include "parser/parser_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "common/ipaddr.h"
#include "common/log.h"
#include "common/readfile.h"
#include "common/ywalk.h"
#include "common/strmap.h"
#include "common/strv.h"
#include "common/vec.h"
#include "expr/expr.h"
#include "parser/data_section.h"
#include "parser/enrich.h"
#include "parser/grok.h"
#include "parser/parser_limits.h"

struct loader {
	struct ywalk w; /* the document, the file, errors into p->last_error */
	struct cs_parsers *p;
};

/* Log "file:line: message", remember it for cs_parsers_last_error(), return -EINVAL. */
#define LOAD_ERR(L, n, ...) ywalk_fail(&(L)->w, (n), __VA_ARGS__)

static int compile_expr(struct loader *L, yaml_node_t *n, const char *what, struct expr_prog **out)
{
	const char *src = ywalk_scalar(n);
	struct expr_error e = { 0 };
	int err;

	if (!src)
		return LOAD_ERR(L, n, "%s must be a string expression", what);
	err = expr_compile(L->p->env, src, out, &e);
	if (err == -ENOMEM)
		return err;
	if (err)
		return LOAD_ERR(L, n, "%s: cannot compile '%s': %d:%d: %s", what, src, e.line,
				e.column, e.msg);
	return 0;
}

/*
 * cs_static.path for a static whose expression only reads a field of evt
 * (evt.Parsed.timestamp, evt.Line.Src): 0 when it does not, or when the static
 * sets the very key it reads (the read bytes would be replaced while copied).
 */
static uintptr_t static_path(const struct cs_static *s)
{
	static const char *const maps[] = { [ST_META] = "Meta", [ST_PARSED] = "Parsed",
					    [ST_ENRICHED] = "Enriched" };
	const char *field, *key;
	int var;

	/* evt is the parsers' only variable (parser.c), passed alone to every evaluation */
	if (!expr_prog_path(s->expr, &var, &field, &key) || var != 0)
		return 0;
	if ((s->kind == ST_META || s->kind == ST_PARSED || s->kind == ST_ENRICHED) && key &&
	    !strcmp(field, maps[s->kind]) && !strcmp(key, s->key))
		return 0;
	return cs_event_path(field, key);
}

static int load_statics(struct loader *L, yaml_node_t *seq, struct cs_statics *out)
{
	yaml_node_t *m;
	int err = ywalk_list_new(&L->w, seq, "statics", sizeof(*out->v), (void **)&out->v);

	if (err || !out->v)
		return err;
	YWALK_ITEMS(&L->w, seq, m) {
		struct cs_static *s = &out->v[out->n++];
		int targets = 0;
		yaml_node_t *expr_node = NULL;
		const char *k;
		yaml_node_t *v;

		if (!m || m->type != YAML_MAPPING_NODE)
			return LOAD_ERR(L, m, "a static must be a mapping");
		YWALK_PAIRS(&L->w, m, k, v) {
			if (!k)
				return LOAD_ERR(L, m, "static: non-string key");
			if (!strcmp(k, "meta") || !strcmp(k, "parsed") || !strcmp(k, "enriched") ||
			    !strcmp(k, "target") || !strcmp(k, "method")) {
				s->kind = k[0] == 'm' ? (k[1] == 'e' && k[2] == 't' && k[3] == 'a' ?
								 ST_META : ST_METHOD) :
					  k[0] == 'p' ? ST_PARSED :
					  k[0] == 'e' ? ST_ENRICHED :
							ST_TARGET;
				targets++;
				err = ywalk_str(&L->w, v, k, &s->key);
			} else if (!strcmp(k, "value")) {
				err = ywalk_str(&L->w, v, k, &s->value);
			} else if (!strcmp(k, "expression")) {
				expr_node = v;
			} else {
				return LOAD_ERR(L, m, "static: unknown key '%s'", k);
			}
			if (err)
				return err;
		}
		if (targets != 1)
			return LOAD_ERR(L, m, "a static needs exactly one of meta, parsed, enriched, "
					      "target, method");
		if (!s->value && !expr_node)
			return LOAD_ERR(L, m, "a static needs a value or an expression");
		if (s->kind == ST_META || s->kind == ST_PARSED || s->kind == ST_ENRICHED)
			s->skey = strmap_key_intern(s->key);
		if (s->value)
			s->value_len = strlen(s->value);
		if (s->kind == ST_TARGET && (!strcmp(s->key, "Stage") || !strcmp(s->key, "evt.Stage")))
			out->sets_stage = true;
		if (s->kind == ST_TARGET)
			s->target = cs_event_target(s->key);
		/* `value` wins over `expression`: don't even compile the latter. */
		if (!s->value) {
			err = compile_expr(L, expr_node, "static expression", &s->expr);
			if (err)
				return err;
			s->path = static_path(s);
		}
		if (s->kind == ST_METHOD) {
			struct cs_parsers *p = L->p;

			/* the databases are opened once, read-only, when first needed */
			if (cs_enricher_is_geoip(s->key) && !p->geoip) {
				err = cs_geoip_open(p->geoip_dir, &p->geoip);
				if (err)
					return err;
			}
			s->method = cs_enricher_find(s->key, p->geoip);
			if (!s->method && cs_enricher_is_geoip(s->key)) {
				bool city = cs_geoip_has_city(p->geoip);
				bool asn = cs_geoip_has_asn(p->geoip);

				if (!p->geoip_logged)
					log_info("%s:%d: no GeoIP database (%s%s%s not in %s): %s%s%s "
						 "skipped, their fields left empty",
						 L->w.file, ywalk_line(m), city ? "" : "GeoLite2-City.mmdb",
						 !city && !asn ? ", " : "",
						 asn ? "" : "GeoLite2-ASN.mmdb",
						 p->geoip_dir ? p->geoip_dir : "(no data dir)",
						 city ? "" : "GeoIpCity", !city && !asn ? ", " : "",
						 asn ? "" : "GeoIpASN, IpToRange");
				p->geoip_logged = true;
			} else if (!s->method) {
				const char *why = cs_enricher_unavailable_reason(s->key, p->geoip);

				if (why)
					log_info("%s:%d: method %s skipped: %s", L->w.file, ywalk_line(m),
						 s->key, why);
				else
					log_warn("%s:%d: unknown enrichment method '%s', skipped",
						 L->w.file, ywalk_line(m), s->key);
			}
		}
	}
	return 0;
}

static int load_prefix_list(struct loader *L, yaml_node_t *seq, bool cidr, struct cs_prefix **out,
			    size_t *n)
{
	const char *what = cidr ? "cidr" : "ip";
	yaml_node_t *v;
	int err;

	/* like yaml.v2: a key given twice in one mapping is an error */
	if (*out && !ywalk_is_null(seq))
		return LOAD_ERR(L, seq, "whitelist: key '%s' already set", what);
	err = ywalk_list_new(&L->w, seq, cidr ? "whitelist cidr" : "whitelist ip", sizeof(**out),
			     (void **)out);
	if (err || !*out)
		return err;
	YWALK_ITEMS(&L->w, seq, v) {
		const char *s = ywalk_scalar(v);
		struct cs_prefix pfx;

		/* Go: net.ParseCIDR masks host bits, net.ParseIP takes no length */
		if (!s || (cidr ? cs_prefix_parse(s, CS_PREFIX_MASK, &pfx) : cs_addr_parse(s, &pfx)))
			return LOAD_ERR(L, v, "whitelist: invalid %s '%s'", what, s ? s : "");
		(*out)[(*n)++] = pfx;
	}
	return 0;
}

static int load_whitelist_exprs(struct loader *L, yaml_node_t *seq, struct cs_whitelist *wl)
{
	yaml_node_t *e;
	int err;

	if (wl->exprs && !ywalk_is_null(seq))
		return LOAD_ERR(L, seq, "whitelist: key 'expression' already set");
	err = ywalk_list_new(&L->w, seq, "whitelist expression", sizeof(*wl->exprs), (void **)&wl->exprs);
	if (err || !wl->exprs)
		return err;
	YWALK_ITEMS(&L->w, seq, e) {
		err = compile_expr(L, e, "whitelist expression", &wl->exprs[wl->nexprs++]);
		if (err)
			break;
	}
	return err;
}

static int load_whitelist(struct loader *L, yaml_node_t *m, struct cs_whitelist **out)
{
	struct cs_whitelist *wl;
	const char *k;
	yaml_node_t *v;
	int err = 0;

	if (m->type != YAML_MAPPING_NODE)
		return LOAD_ERR(L, m, "'whitelist' must be a mapping");
	wl = *out = calloc(1, sizeof(*wl));
	if (!wl)
		return -ENOMEM;
	wl->source_ip = strmap_key_intern("source_ip");
	YWALK_PAIRS(&L->w, m, k, v) {
		if (!k)
			return LOAD_ERR(L, m, "whitelist: non-string key");
		if (!strcmp(k, "reason")) {
			err = ywalk_str(&L->w, v, k, &wl->reason);
		} else if (!strcmp(k, "ip")) {
			err = load_prefix_list(L, v, false, &wl->ips, &wl->nips);
		} else if (!strcmp(k, "cidr")) {
			err = load_prefix_list(L, v, true, &wl->cidrs, &wl->ncidrs);
		} else if (!strcmp(k, "expression")) {
			err = load_whitelist_exprs(L, v, wl);
		} else {
			return LOAD_ERR(L, m, "whitelist: unknown key '%s'", k);
		}
		if (err)
			return err;
	}
	if (!wl->reason && !(wl->reason = strdup("")))
		return -ENOMEM;
	return 0;
}

static int load_grok(struct loader *L, yaml_node_t *m, struct cs_node *node)
{
	yaml_node_t *pattern = NULL, *name = NULL, *expr = NULL, *statics = NULL;
	char errbuf[512];
	const char *k;
	yaml_node_t *v;
	int err;

	if (m->type != YAML_MAPPING_NODE)
		return LOAD_ERR(L, m, "'grok' must be a mapping");
	YWALK_PAIRS(&L->w, m, k, v) {
		if (!k)
			return LOAD_ERR(L, m, "grok: non-string key");
		if (!strcmp(k, "pattern"))
			pattern = v;
		else if (!strcmp(k, "name"))
			name = v;
		else if (!strcmp(k, "expression"))
			expr = v;
		else if (!strcmp(k, "statics"))
			statics = v;
		else if (!strcmp(k, "apply_on")) {
			err = ywalk_str(&L->w, v, k, &node->apply_on);
			if (err)
				return err;
		} else {
			return LOAD_ERR(L, m, "grok: unknown key '%s'", k);
		}
	}
	if (!!pattern == !!name)
		return LOAD_ERR(L, m, "grok needs exactly one of 'pattern' and 'name'");
	if (!node->apply_on && !expr)
		return LOAD_ERR(L, m, "grok needs 'apply_on' or 'expression'");
	if (node->apply_on) {
		node->apply_raw = !strcmp(node->apply_on, "Line.Raw");
		node->apply_key = strmap_key_intern(node->apply_on);
	}
	if (pattern) {
		if (!ywalk_scalar(pattern))
			return LOAD_ERR(L, pattern, "grok pattern must be a string");
		err = grok_compile(L->p->lib, ywalk_scalar(pattern), &node->grok, errbuf, sizeof(errbuf));
	} else {
		if (!ywalk_scalar(name))
			return LOAD_ERR(L, name, "grok name must be a string");
		err = grok_compile_name(L->p->lib, ywalk_scalar(name), &node->grok, errbuf,
					sizeof(errbuf));
	}
	if (err == -ENOMEM)
		return err;
	if (err)
		return LOAD_ERR(L, pattern ? pattern : name, "grok: %s", errbuf);
	if (expr && !node->apply_on) {
		err = compile_expr(L, expr, "grok expression", &node->grok_expr);
		if (err)
			return err;
	}
	return load_statics(L, statics, &node->grok_statics);
}

static int load_pattern_syntax(struct loader *L, yaml_node_t *m)
{
	const char *k;
	yaml_node_t *v;
	int err = ywalk_map_opt(&L->w, m, "pattern_syntax");

	if (err <= 0)
		return err;
	YWALK_PAIRS(&L->w, m, k, v) {
		const char *re = ywalk_scalar(v);

		if (!k || !re)
			return LOAD_ERR(L, v, "pattern_syntax entries must be NAME: regex strings");
		err = grok_lib_add(L->p->lib, k, re);
		if (err == -EEXIST) {
			/* Shared library: the first definition wins (spec 5.1). */
			log_debug("%s:%d: grok pattern %s already defined, keeping the first",
				  L->w.file, ywalk_line(v), k);
			continue;
		}
		if (err == -EINVAL)
			return LOAD_ERR(L, v, "invalid grok pattern name '%s'", k);
		if (err)
			return err;
	}
	return 0;
}

static int load_stash(struct loader *L, yaml_node_t *seq, struct cs_node *node)
{
	yaml_node_t *m;
	int err = ywalk_list_new(&L->w, seq, "stash", sizeof(*node->stash), (void **)&node->stash);

	if (err || !node->stash)
		return err;
	YWALK_ITEMS(&L->w, seq, m) {
		struct cs_stash_def *s = &node->stash[node->nstash++];
		const char *k, *ttl = NULL;
		yaml_node_t *v;

		if (!m || m->type != YAML_MAPPING_NODE)
			return LOAD_ERR(L, m, "a stash entry must be a mapping");
		s->size = 100;
		YWALK_PAIRS(&L->w, m, k, v) {
			if (!k)
				return LOAD_ERR(L, m, "stash: non-string key");
			if (!strcmp(k, "name"))
				err = ywalk_str(&L->w, v, k, &s->name);
			else if (!strcmp(k, "key"))
				err = compile_expr(L, v, "stash key", &s->key);
			else if (!strcmp(k, "value"))
				err = compile_expr(L, v, "stash value", &s->value);
			else if (!strcmp(k, "ttl"))
				ttl = ywalk_scalar(v);
			else if (!strcmp(k, "size"))
				s->size = ywalk_scalar(v) ? strtoul(ywalk_scalar(v), NULL, 10) : 100;
			else if (strcmp(k, "strategy"))
				return LOAD_ERR(L, m, "stash: unknown key '%s'", k);
			if (err)
				return err;
		}
		if (!s->name || !s->key || !s->value || !ttl)
			return LOAD_ERR(L, m, "stash needs name, key, value and ttl");
		if (expr_parse_duration(ttl, &s->ttl_ns) || s->ttl_ns <= 0)
			return LOAD_ERR(L, m, "stash: invalid ttl '%s'", ttl);
		if (!s->size)
			s->size = 100;
	}
	return 0;
}

/* Where run.c reads the field of node->test: `evt.Line.Labels.type != 'syslog'` on every line. */
static void resolve_test(struct cs_node *node)
{
	const struct expr_test *t = &node->test;

	if (t->nnames == 3 && !strcmp(t->names[0], "Line") && !strcmp(t->names[1], "Labels")) {
		node->test_key = strmap_key_intern(t->names[2]);
	} else if (t->nnames == 2 && cs_event_map_named(t->names[0]) != CS_EVT_NONE) {
		node->test_map = cs_event_map_named(t->names[0]);
		node->test_key = strmap_key_intern(t->names[1]);
		if (!node->test_key)
			node->test_map = CS_EVT_NONE;
	} else if (t->nnames <= 2) {
		node->test_path = cs_event_path(t->names[0], t->nnames == 2 ? t->names[1] : NULL);
	}
}

static int load_node(struct loader *L, yaml_node_t *m, struct cs_node *node, const char *parent,
		     int depth);

/* A node's `nodes:` list, loaded recursively one level deeper. */
static int load_children(struct loader *L, yaml_node_t *seq, struct cs_node *node, int depth)
{
	yaml_node_t *child;
	int err = ywalk_list_new(&L->w, seq, "nodes", sizeof(*node->children),
				 (void **)&node->children);

	if (err || !node->children)
		return err;
	YWALK_ITEMS(&L->w, seq, child) {
		err = load_node(L, child, &node->children[node->nchildren++], node->name, depth + 1);
		if (err)
			return err;
	}
	return 0;
}

static int load_node(struct loader *L, yaml_node_t *m, struct cs_node *node, const char *parent,
		     int depth)
{
	yaml_node_t *nodes = NULL, *statics = NULL, *grok = NULL, *filter = NULL, *wl = NULL;
	yaml_node_t *stash = NULL, *data = NULL;
	const char *k;
	yaml_node_t *v;
	int err = 0;

	if (depth > CS_NODE_MAX_DEPTH)
		return LOAD_ERR(L, m, "nodes nest deeper than %d", CS_NODE_MAX_DEPTH);
	if (m->type != YAML_MAPPING_NODE)
		return LOAD_ERR(L, m, "a node must be a mapping");
	node->line = ywalk_line(m);
	node->file = strdup(L->w.file);
	if (!node->file)
		return -ENOMEM;
	/*
	 * pattern_syntax first: grok patterns of this node may use names it defines,
	 * whatever the key order in the document.
	 */
	YWALK_PAIRS(&L->w, m, k, v)
		if (k && !strcmp(k, "pattern_syntax")) {
			err = load_pattern_syntax(L, v);
			if (err)
				return err;
		}
	YWALK_PAIRS(&L->w, m, k, v) {
		if (!k)
			return LOAD_ERR(L, m, "non-string key in node");
		if (!strcmp(k, "name")) {
			err = ywalk_str(&L->w, v, k, &node->name);
		} else if (!strcmp(k, "onsuccess")) {
			const char *s = ywalk_scalar(v);

			if (s && !strcmp(s, "next_stage"))
				node->next_stage = true;
			else if (!s || strcmp(s, "continue"))
				return LOAD_ERR(L, v, "onsuccess must be 'continue' or 'next_stage'");
		} else if (!strcmp(k, "debug")) {
			err = ywalk_bool(&L->w, v, k, &node->debug);
		} else if (!strcmp(k, "filter")) {
			filter = v;
		} else if (!strcmp(k, "grok")) {
			grok = v;
		} else if (!strcmp(k, "nodes")) {
			nodes = v;
		} else if (!strcmp(k, "statics")) {
			statics = v;
		} else if (!strcmp(k, "whitelist")) {
			wl = v;
		} else if (!strcmp(k, "stash")) {
			stash = v;
		} else if (!strcmp(k, "data")) {
			data = v;
		} else if (!strcmp(k, "format")) {
			const char *s = ywalk_scalar(v);
			double f = s ? strtod(s, NULL) : 0;

			if (f < 1.0 || f > 3.0)
				return LOAD_ERR(L, v, "unsupported format '%s'", s ? s : "");
		} else if (strcmp(k, "description") && strcmp(k, "author") &&
			   strcmp(k, "references") && strcmp(k, "stage") &&
			   strcmp(k, "profiling") && strcmp(k, "pattern_syntax")) {
			return LOAD_ERR(L, m, "unknown key '%s' in parser node", k);
		}
		if (err)
			return err;
	}
	if (!node->name && parent && asprintf(&node->name, "child-%s", parent) < 0)
		return -ENOMEM;
	if (!node->name && !(node->name = strdup("")))
		return -ENOMEM;
	if (data && (err = cs_data_section_load(&L->w, data, L->p->rt)))
		return err;
	if (filter && !ywalk_is_null(filter)) {
		err = compile_expr(L, filter, "filter", &node->filter);
		if (err)
			return err;
		if (expr_prog_type(node->filter) != EXPR_ANY &&
		    expr_prog_type(node->filter) != EXPR_BOOL)
			return LOAD_ERR(L, filter, "filter must be a boolean expression, is %s",
					expr_kind_name(expr_prog_type(node->filter)));
		/* `evt.Parsed.program == 'sshd'`: read straight from the event (run.c) */
		if (expr_prog_guard(node->filter, &node->guard) && node->guard.var == 0)
			node->guard_path = cs_event_path(node->guard.field, node->guard.key);
		else if (expr_prog_test(node->filter, &node->test) && node->test.var == 0)
			resolve_test(node);
	}
	if (grok && (err = load_grok(L, grok, node)))
		return err;
	if (wl && (err = load_whitelist(L, wl, &node->wl)))
		return err;
	if (stash && (err = load_stash(L, stash, node)))
		return err;
	if (statics && (err = load_statics(L, statics, &node->statics)))
		return err;
	if (nodes && (err = load_children(L, nodes, node, depth)))
		return err;
	/* A filter alone does nothing: CrowdSec refuses such a node as empty. */
	if (!node->grok && !node->nchildren && !node->statics.n && !node->wl && !node->nstash)
		return LOAD_ERR(L, m, "node '%s' is empty (no grok, statics, nodes, whitelist "
				      "or stash)", node->name);
	return 0;
}

/* A document with none of name/description/author is skipped (trailing `---`). */
static bool doc_is_node(struct loader *L, yaml_node_t *root)
{
	const char *k;
	yaml_node_t *v;

	if (!root || root->type != YAML_MAPPING_NODE)
		return false;
	YWALK_PAIRS(&L->w, root, k, v)
		if (v && k && (!strcmp(k, "name") || !strcmp(k, "description") || !strcmp(k, "author")))
			return true;
	return false;
}

static int add_top(struct cs_parsers *p, const char *stage, const char *install_name,
		   struct cs_top **out)
{
	struct cs_top *t;

	if (vec_reserve((void **)&p->tops, &p->captops, p->ntops, sizeof(*t), 16))
		return -ENOMEM;
	t = &p->tops[p->ntops];
	memset(t, 0, sizeof(*t));
	t->stage = strdup(stage);
	t->install_name = strdup(install_name);
	t->seq = p->seq++;
	if (!t->stage || !t->install_name) {
		free(t->stage);
		free(t->install_name);
		return -ENOMEM;
	}
	p->ntops++;
	p->sorted = false;
	*out = t;
	return 0;
}

static int load_stream(struct cs_parsers *p, const char *stage, const char *file,
		       const char *install_name, const char *text, size_t len)
{
	struct loader L = { .p = p,
			    .w = { .file = file, .err = p->last_error,
				   .errlen = sizeof(p->last_error), .log = true } };
	struct ywalk_stream ys;
	yaml_node_t *root;
	int err = ywalk_stream_open(&ys, text, len);

	if (err)
		return err;
	while (!(err = ywalk_next(&L.w, &ys, &root)) && root) {
		struct cs_top *t;

		if (!doc_is_node(&L, root))
			continue;
		err = add_top(p, stage, install_name, &t);
		if (!err)
			err = load_node(&L, root, &t->node, NULL, 0);
		if (err)
			break;
	}
	ywalk_stream_close(&ys);
	return err;
}

int cs_parsers_load_file(struct cs_parsers *p, const char *stage, const char *path,
			 const char *install_name)
{
	const char *base = strrchr(path, '/');
	char *text;
	size_t len;
	int err = cs_read_file(path, CS_PARSER_FILE_MAX, &text, &len);

	if (err) {
		log_error("%s: %s", path, strerror(-err));
		snprintf(p->last_error, sizeof(p->last_error), "%s: %s", path, strerror(-err));
		return err;
	}
	err = load_stream(p, stage, path, install_name ? install_name : base ? base + 1 : path,
			  text, len);
	free(text);
	return err;
}

int cs_parsers_load_string(struct cs_parsers *p, const char *stage, const char *name,
			   const char *yaml)
{
	return load_stream(p, stage, name, name, yaml, strlen(yaml));
}

static bool keep_dir(const char *dir, const char *name, void *arg)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static bool keep_yaml(const char *dir, const char *name, void *arg)
{
	return cs_is_yaml_name(name) && !keep_dir(dir, name, arg);
}

int cs_parsers_load_dir(struct cs_parsers *p, const char *dir)
{
	char **stages, path[4096];
	size_t nstages;
	int err = strv_from_dir(dir, keep_dir, NULL, &stages, &nstages);

	if (err) {
		log_error("%s: %s", dir, strerror(-err));
		snprintf(p->last_error, sizeof(p->last_error), "%s: %s", dir, strerror(-err));
		return err;
	}
	for (size_t i = 0; !err && i < nstages; i++) {
		char **files;
		size_t nfiles;

		snprintf(path, sizeof(path), "%s/%s", dir, stages[i]);
		err = strv_from_dir(path, keep_yaml, NULL, &files, &nfiles);
		if (err)
			snprintf(p->last_error, sizeof(p->last_error), "%.600s: %s", path, strerror(-err));
		for (size_t j = 0; !err && j < nfiles; j++) {
			snprintf(path, sizeof(path), "%s/%s/%s", dir, stages[i], files[j]);
			err = cs_parsers_load_file(p, stages[i], path, files[j]);
		}
		strv_free(files, nfiles);
	}
	strv_free(stages, nstages);
	return err;
}
