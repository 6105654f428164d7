// SPDX-License-Identifier: MIT
#include "parser/parser.h"

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
#include "common/stash.h"
#include "common/strmap.h"
#include "expr/expr.h"
#include "parser/enrich.h"
#include "parser/grok.h"
#include "parser/parser_limits.h"


enum static_kind { ST_META, ST_PARSED, ST_ENRICHED, ST_TARGET, ST_METHOD };

struct cs_static {
	enum static_kind kind;
	char *key;		  /* meta/parsed/enriched key, target path or method */
	const struct cs_enricher *method;
	char *value;		  /* constant (wins over expression) */
	struct expr_prog *expr;
};

struct cs_statics {
	struct cs_static *v;
	size_t n;
};

struct cs_whitelist {
	char *reason;
	struct cs_prefix *ips;
	size_t nips;
	struct cs_prefix *cidrs;
	size_t ncidrs;
	struct expr_prog **exprs;
	size_t nexprs;
};

struct cs_stash_def {
	char *name;
	struct expr_prog *key, *value;
	int64_t ttl_ns;
	size_t size;
};

struct cs_node {
	char *name;
	bool next_stage;
	bool debug;
	struct expr_prog *filter;
	/* grok */
	struct grok *grok;
	char *apply_on;
	struct expr_prog *grok_expr;
	struct cs_statics grok_statics;
	struct cs_node *children;
	size_t nchildren;
	struct cs_statics statics;
	struct cs_whitelist *wl;
	struct cs_stash_def *stash;
	size_t nstash;
	/* where it was defined, for messages */
	char *file;
	int line;
};

/* A top-level node and the keys it is sorted by (installed path, then document order). */
struct cs_top {
	struct cs_node node;
	char *stage;
	char *install_name;
	size_t seq;
};

struct cs_parsers {
	struct grok_lib *lib;
	struct expr_env *env;
	struct cs_top *tops;
	size_t ntops, captops, seq;
	bool sorted;
	char **stages;
	size_t nstages;
	struct cs_stash *stash; /* `stash:` sections, SetInStash, GetFromStash */
	char last_error[768];	   /* "file:line: message" of the last load error */
	void (*clock)(struct cs_time *now, void *arg);
	void *clock_arg;
	char *geoip_dir;	  /* where GeoLite2-{City,ASN}.mmdb are looked for */
	struct cs_geoip *geoip;	  /* opened at the first GeoIP static; NULL before */
	bool geoip_logged;	  /* "no GeoIP database" said once */
};

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
	for (size_t i = 0; i < n->nstash; i++) {
		free(n->stash[i].name);
		expr_prog_free(n->stash[i].key);
		expr_prog_free(n->stash[i].value);
	}
	free(n->stash);
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
	for (size_t i = 0; i < p->nstages; i++)
		free(p->stages[i]);
	free(p->stages);
	expr_env_free(p->env);
	grok_lib_free(p->lib);
	cs_stash_free(p->stash);
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
	if (opts && opts->data_dir)
		expr_data_set_dir(opts->data_dir);
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

/* ---- YAML loading ------------------------------------------------------------------------ */

struct loader {
	struct cs_parsers *p;
	yaml_document_t *doc;
	const char *file;
};

static int yline(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static int load_error(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Log "file:line: message", remember it for cs_parsers_last_error(), return -EINVAL. */
static int load_error(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s:%d: %s", L->file, n ? yline(n) : 0, msg);
	snprintf(L->p->last_error, sizeof(L->p->last_error), "%s:%d: %.600s", L->file,
		 n ? yline(n) : 0, msg);
	return -EINVAL;
}

#define LOAD_ERR(L, n, ...) load_error((L), (n), __VA_ARGS__)

static yaml_node_t *ynode(struct loader *L, int idx)
{
	return yaml_document_get_node(L->doc, idx);
}

static const char *yscalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A plain `~`, `null` or empty scalar: YAML's null. */
static bool ynull(const yaml_node_t *n)
{
	const char *s = yscalar(n);

	if (!n)
		return true;
	if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static int want_string(struct loader *L, yaml_node_t *n, const char *key, char **out)
{
	const char *s = yscalar(n);

	if (!s)
		return LOAD_ERR(L, n, "'%s' must be a string", key);
	free(*out);
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int want_bool(struct loader *L, yaml_node_t *n, const char *key, bool *out)
{
	const char *s = yscalar(n);

	if (s && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "yes")))
		*out = true;
	else if (s && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "no")))
		*out = false;
	else
		return LOAD_ERR(L, n, "'%s' must be a boolean", key);
	return 0;
}

static int compile_expr(struct loader *L, yaml_node_t *n, const char *what, struct expr_prog **out)
{
	const char *src = yscalar(n);
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

#define FOR_PAIRS(L, map, pair, k, v)                                                    \
	for (yaml_node_pair_t *pair = (map)->data.mapping.pairs.start;                   \
	     pair < (map)->data.mapping.pairs.top &&                                     \
	     ((k) = yscalar(ynode(L, pair->key)), (v) = ynode(L, pair->value), 1);       \
	     pair++)

static int load_statics(struct loader *L, yaml_node_t *seq, struct cs_statics *out)
{
	size_t n;

	if (ynull(seq))
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return LOAD_ERR(L, seq, "'statics' must be a list");
	n = seq->data.sequence.items.top - seq->data.sequence.items.start;
	out->v = calloc(n ? n : 1, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
	     it++) {
		yaml_node_t *m = ynode(L, *it);
		struct cs_static *s = &out->v[out->n++];
		int targets = 0, err = 0;
		yaml_node_t *expr_node = NULL;
		const char *k;
		yaml_node_t *v;

		if (!m || m->type != YAML_MAPPING_NODE)
			return LOAD_ERR(L, m, "a static must be a mapping");
		FOR_PAIRS(L, m, pair, k, v) {
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
				err = want_string(L, v, k, &s->key);
			} else if (!strcmp(k, "value")) {
				err = want_string(L, v, k, &s->value);
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
		/* `value` wins over `expression`: don't even compile the latter. */
		if (!s->value) {
			err = compile_expr(L, expr_node, "static expression", &s->expr);
			if (err)
				return err;
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
						 L->file, yline(m), city ? "" : "GeoLite2-City.mmdb",
						 !city && !asn ? ", " : "",
						 asn ? "" : "GeoLite2-ASN.mmdb",
						 p->geoip_dir ? p->geoip_dir : "(no data dir)",
						 city ? "" : "GeoIpCity", !city && !asn ? ", " : "",
						 asn ? "" : "GeoIpASN, IpToRange");
				p->geoip_logged = true;
			} else if (!s->method) {
				const char *why = cs_enricher_unavailable_reason(s->key, p->geoip);

				if (why)
					log_info("%s:%d: method %s skipped: %s", L->file, yline(m),
						 s->key, why);
				else
					log_warn("%s:%d: unknown enrichment method '%s', skipped",
						 L->file, yline(m), s->key);
			}
		}
	}
	return 0;
}

static int load_prefix_list(struct loader *L, yaml_node_t *seq, bool cidr, struct cs_prefix **out,
			    size_t *n)
{
	size_t cap;

	if (ynull(seq))
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return LOAD_ERR(L, seq, "whitelist '%s' must be a list", cidr ? "cidr" : "ip");
	cap = seq->data.sequence.items.top - seq->data.sequence.items.start;
	*out = calloc(cap ? cap : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
	     it++) {
		yaml_node_t *v = ynode(L, *it);
		const char *s = yscalar(v);
		struct cs_prefix pfx;

		/* Go: net.ParseCIDR masks host bits, net.ParseIP takes no length */
		if (!s || (cidr ? cs_prefix_parse(s, CS_PREFIX_MASK, &pfx) : cs_addr_parse(s, &pfx)))
			return LOAD_ERR(L, v, "whitelist: invalid %s '%s'", cidr ? "cidr" : "ip",
					s ? s : "");
		(*out)[(*n)++] = pfx;
	}
	return 0;
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
	FOR_PAIRS(L, m, pair, k, v) {
		if (!k)
			return LOAD_ERR(L, m, "whitelist: non-string key");
		if (!strcmp(k, "reason")) {
			err = want_string(L, v, k, &wl->reason);
		} else if (!strcmp(k, "ip")) {
			err = load_prefix_list(L, v, false, &wl->ips, &wl->nips);
		} else if (!strcmp(k, "cidr")) {
			err = load_prefix_list(L, v, true, &wl->cidrs, &wl->ncidrs);
		} else if (!strcmp(k, "expression")) {
			size_t cap;

			if (ynull(v))
				continue;
			if (v->type != YAML_SEQUENCE_NODE)
				return LOAD_ERR(L, v, "whitelist 'expression' must be a list");
			cap = v->data.sequence.items.top - v->data.sequence.items.start;
			wl->exprs = calloc(cap ? cap : 1, sizeof(*wl->exprs));
			if (!wl->exprs)
				return -ENOMEM;
			for (yaml_node_item_t *it = v->data.sequence.items.start;
			     !err && it < v->data.sequence.items.top; it++)
				err = compile_expr(L, ynode(L, *it), "whitelist expression",
						   &wl->exprs[wl->nexprs++]);
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
	FOR_PAIRS(L, m, pair, k, v) {
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
			err = want_string(L, v, k, &node->apply_on);
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
	if (pattern) {
		if (!yscalar(pattern))
			return LOAD_ERR(L, pattern, "grok pattern must be a string");
		err = grok_compile(L->p->lib, yscalar(pattern), &node->grok, errbuf, sizeof(errbuf));
	} else {
		if (!yscalar(name))
			return LOAD_ERR(L, name, "grok name must be a string");
		err = grok_compile_name(L->p->lib, yscalar(name), &node->grok, errbuf,
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

	if (ynull(m))
		return 0;
	if (m->type != YAML_MAPPING_NODE)
		return LOAD_ERR(L, m, "'pattern_syntax' must be a mapping");
	FOR_PAIRS(L, m, pair, k, v) {
		const char *re = yscalar(v);
		int err;

		if (!k || !re)
			return LOAD_ERR(L, v, "pattern_syntax entries must be NAME: regex strings");
		err = grok_lib_add(L->p->lib, k, re);
		if (err == -EEXIST) {
			/* Shared library: the first definition wins (spec 5.1). */
			log_debug("%s:%d: grok pattern %s already defined, keeping the first",
				  L->file, yline(v), k);
			continue;
		}
		if (err == -EINVAL)
			return LOAD_ERR(L, v, "invalid grok pattern name '%s'", k);
		if (err)
			return err;
	}
	return 0;
}

static int load_data(struct loader *L, yaml_node_t *seq)
{
	if (ynull(seq))
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return LOAD_ERR(L, seq, "'data' must be a list");
	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
	     it++) {
		yaml_node_t *m = ynode(L, *it);
		const char *dest = NULL, *type = NULL, *k;
		yaml_node_t *v;
		int err;

		if (!m || m->type != YAML_MAPPING_NODE)
			return LOAD_ERR(L, m, "a data entry must be a mapping");
		FOR_PAIRS(L, m, pair, k, v) {
			if (!k)
				continue;
			if (!strcmp(k, "dest_file"))
				dest = yscalar(v);
			else if (!strcmp(k, "type"))
				type = yscalar(v);
			else if (strcmp(k, "source_url"))
				return LOAD_ERR(L, m, "data: unknown key '%s'", k);
		}
		if (!dest)
			return LOAD_ERR(L, m, "data entry without dest_file");
		if (!type)
			continue; /* downloaded but not loaded (e.g. GeoIP .mmdb) */
		err = expr_data_load(dest, type);
		if (err == -ENOENT)
			log_warn("%s:%d: data file %s missing: its helpers see an empty list",
				 L->file, yline(m), dest);
		else if (err)
			return LOAD_ERR(L, m, "data file %s: %s", dest, strerror(-err));
	}
	return 0;
}

static int load_stash(struct loader *L, yaml_node_t *seq, struct cs_node *node)
{
	size_t cap;

	if (ynull(seq))
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return LOAD_ERR(L, seq, "'stash' must be a list");
	cap = seq->data.sequence.items.top - seq->data.sequence.items.start;
	node->stash = calloc(cap ? cap : 1, sizeof(*node->stash));
	if (!node->stash)
		return -ENOMEM;
	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
	     it++) {
		yaml_node_t *m = ynode(L, *it);
		struct cs_stash_def *s = &node->stash[node->nstash++];
		const char *k, *ttl = NULL;
		yaml_node_t *v;
		int err = 0;

		if (!m || m->type != YAML_MAPPING_NODE)
			return LOAD_ERR(L, m, "a stash entry must be a mapping");
		s->size = 100;
		FOR_PAIRS(L, m, pair, k, v) {
			if (!k)
				return LOAD_ERR(L, m, "stash: non-string key");
			if (!strcmp(k, "name"))
				err = want_string(L, v, k, &s->name);
			else if (!strcmp(k, "key"))
				err = compile_expr(L, v, "stash key", &s->key);
			else if (!strcmp(k, "value"))
				err = compile_expr(L, v, "stash value", &s->value);
			else if (!strcmp(k, "ttl"))
				ttl = yscalar(v);
			else if (!strcmp(k, "size"))
				s->size = yscalar(v) ? strtoul(yscalar(v), NULL, 10) : 100;
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
	node->line = yline(m);
	node->file = strdup(L->file);
	if (!node->file)
		return -ENOMEM;
	/*
	 * pattern_syntax first: grok patterns of this node may use names it defines,
	 * whatever the key order in the document.
	 */
	FOR_PAIRS(L, m, pair, k, v)
		if (k && !strcmp(k, "pattern_syntax")) {
			err = load_pattern_syntax(L, v);
			if (err)
				return err;
		}
	FOR_PAIRS(L, m, pair, k, v) {
		if (!k)
			return LOAD_ERR(L, m, "non-string key in node");
		if (!strcmp(k, "name")) {
			err = want_string(L, v, k, &node->name);
		} else if (!strcmp(k, "onsuccess")) {
			const char *s = yscalar(v);

			if (s && !strcmp(s, "next_stage"))
				node->next_stage = true;
			else if (!s || strcmp(s, "continue"))
				return LOAD_ERR(L, v, "onsuccess must be 'continue' or 'next_stage'");
		} else if (!strcmp(k, "debug")) {
			err = want_bool(L, v, k, &node->debug);
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
			const char *s = yscalar(v);
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
	if (data && (err = load_data(L, data)))
		return err;
	if (filter && !ynull(filter)) {
		err = compile_expr(L, filter, "filter", &node->filter);
		if (err)
			return err;
		if (expr_prog_type(node->filter) != EXPR_ANY &&
		    expr_prog_type(node->filter) != EXPR_BOOL)
			return LOAD_ERR(L, filter, "filter must be a boolean expression, is %s",
					expr_kind_name(expr_prog_type(node->filter)));
	}
	if (grok && (err = load_grok(L, grok, node)))
		return err;
	if (wl && (err = load_whitelist(L, wl, &node->wl)))
		return err;
	if (stash && (err = load_stash(L, stash, node)))
		return err;
	if (statics && (err = load_statics(L, statics, &node->statics)))
		return err;
	if (nodes && !ynull(nodes)) {
		size_t cap;

		if (nodes->type != YAML_SEQUENCE_NODE)
			return LOAD_ERR(L, nodes, "'nodes' must be a list");
		cap = nodes->data.sequence.items.top - nodes->data.sequence.items.start;
		node->children = calloc(cap ? cap : 1, sizeof(*node->children));
		if (!node->children)
			return -ENOMEM;
		for (yaml_node_item_t *it = nodes->data.sequence.items.start;
		     it < nodes->data.sequence.items.top; it++) {
			err = load_node(L, ynode(L, *it), &node->children[node->nchildren++],
					node->name, depth + 1);
			if (err)
				return err;
		}
	}
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
	FOR_PAIRS(L, root, pair, k, v)
		if (v && k && (!strcmp(k, "name") || !strcmp(k, "description") || !strcmp(k, "author")))
			return true;
	return false;
}

static int add_top(struct cs_parsers *p, const char *stage, const char *install_name,
		   struct cs_top **out)
{
	struct cs_top *t;

	if (p->ntops == p->captops) {
		size_t cap = p->captops ? p->captops * 2 : 16;

		t = realloc(p->tops, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		p->tops = t;
		p->captops = cap;
	}
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
		       const char *install_name, yaml_parser_t *yp)
{
	struct loader L = { .p = p, .file = file };
	int err = 0;

	for (;;) {
		yaml_document_t doc;
		yaml_node_t *root;
		struct cs_top *t;

		if (!yaml_parser_load(yp, &doc)) {
			log_error("%s:%zu:%zu: YAML error: %s %s", file, yp->problem_mark.line + 1,
				  yp->problem_mark.column + 1, yp->problem ? yp->problem : "",
				  yp->context ? yp->context : "");
			snprintf(p->last_error, sizeof(p->last_error), "%s:%zu:%zu: YAML error: %s",
				 file, yp->problem_mark.line + 1, yp->problem_mark.column + 1,
				 yp->problem ? yp->problem : "");
			return -EINVAL;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc); /* end of stream */
			return 0;
		}
		L.doc = &doc;
		if (doc_is_node(&L, root)) {
			err = add_top(p, stage, install_name, &t);
			if (!err)
				err = load_node(&L, root, &t->node, NULL, 0);
		}
		yaml_document_delete(&doc);
		if (err)
			return err;
	}
}

int cs_parsers_load_file(struct cs_parsers *p, const char *stage, const char *path,
			 const char *install_name)
{
	yaml_parser_t yp;
	const char *base = strrchr(path, '/');
	int err;
	FILE *f = fopen(path, "rb");

	if (!f) {
		err = -errno;
		log_error("%s: %s", path, strerror(-err));
		snprintf(p->last_error, sizeof(p->last_error), "%s: %s", path, strerror(-err));
		return err;
	}
	if (!yaml_parser_initialize(&yp)) {
		fclose(f);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&yp, f);
	err = load_stream(p, stage, path, install_name ? install_name : base ? base + 1 : path, &yp);
	yaml_parser_delete(&yp);
	fclose(f);
	return err;
}

int cs_parsers_load_string(struct cs_parsers *p, const char *stage, const char *name,
			   const char *yaml)
{
	yaml_parser_t yp;
	int err;

	if (!yaml_parser_initialize(&yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&yp, (const unsigned char *)yaml, strlen(yaml));
	err = load_stream(p, stage, name, name, &yp);
	yaml_parser_delete(&yp);
	return err;
}

static bool has_yaml_ext(const char *n)
{
	size_t l = strlen(n);

	return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml"));
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of dir's entries accepted by keep(). */
static int list_dir(const char *dir, bool (*keep)(const char *dir, const char *name),
		    char ***out, size_t *n)
{
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;
	DIR *d = opendir(dir);

	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !keep(dir, de->d_name))
			continue;
		if (*n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*nv));

			if (!nv)
				goto nomem;
			v = nv;
		}
		if (!(v[*n] = strdup(de->d_name)))
			goto nomem;
		(*n)++;
	}
	closedir(d);
	qsort(v, *n, sizeof(*v), cmp_cstr);
	*out = v;
	return 0;
nomem:
	closedir(d);
	for (size_t i = 0; i < *n; i++)
		free(v[i]);
	free(v);
	return -ENOMEM;
}

static bool keep_dir(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static bool keep_yaml(const char *dir, const char *name)
{
	return has_yaml_ext(name) && !keep_dir(dir, name);
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int cs_parsers_load_dir(struct cs_parsers *p, const char *dir)
{
	char **stages = NULL, path[4096];
	size_t nstages;
	int err = list_dir(dir, keep_dir, &stages, &nstages);

	if (err) {
		log_error("%s: %s", dir, strerror(-err));
		return err;
	}
	for (size_t i = 0; !err && i < nstages; i++) {
		char **files = NULL;
		size_t nfiles;

		snprintf(path, sizeof(path), "%s/%s", dir, stages[i]);
		err = list_dir(path, keep_yaml, &files, &nfiles);
		for (size_t j = 0; !err && j < nfiles; j++) {
			snprintf(path, sizeof(path), "%s/%s/%s", dir, stages[i], files[j]);
			err = cs_parsers_load_file(p, stages[i], path, files[j]);
		}
		free_list(files, nfiles);
	}
	free_list(stages, nstages);
	return err;
}

/* ---- running ------------------------------------------------------------------------------ */

static int cmp_top(const void *a, const void *b)
{
	const struct cs_top *x = a, *y = b;
	int c = strcmp(x->stage, y->stage);

	if (!c)
		c = strcmp(x->install_name, y->install_name);
	if (!c)
		c = x->seq < y->seq ? -1 : x->seq > y->seq;
	return c;
}

/* Sort nodes and list the stages; done once, before the first event. */
static int prepare(struct cs_parsers *p)
{
	if (p->sorted)
		return 0;
	if (p->ntops) /* qsort(NULL, 0, ...) is undefined */
		qsort(p->tops, p->ntops, sizeof(*p->tops), cmp_top);
	for (size_t i = 0; i < p->nstages; i++)
		free(p->stages[i]);
	free(p->stages);
	p->stages = calloc(p->ntops ? p->ntops : 1, sizeof(*p->stages));
	p->nstages = 0;
	if (!p->stages)
		return -ENOMEM;
	for (size_t i = 0; i < p->ntops; i++) {
		if (p->nstages && !strcmp(p->stages[p->nstages - 1], p->tops[i].stage))
			continue;
		p->stages[p->nstages] = strdup(p->tops[i].stage);
		if (!p->stages[p->nstages])
			return -ENOMEM;
		p->nstages++;
	}
	p->sorted = true;
	return 0;
}

int cs_parsers_ready(struct cs_parsers *p)
{
	return prepare(p);
}

size_t cs_parsers_nstages(const struct cs_parsers *p)
{
	prepare((struct cs_parsers *)p);
	return p->nstages;
}

const char *cs_parsers_stage(const struct cs_parsers *p, size_t i)
{
	prepare((struct cs_parsers *)p);
	return i < p->nstages ? p->stages[i] : NULL;
}

static int stage_index(const struct cs_parsers *p, const char *stage)
{
	for (size_t i = 0; i < p->nstages; i++)
		if (!strcmp(p->stages[i], stage))
			return (int)i;
	return -1;
}

static void parsers_now(const struct cs_parsers *p, struct cs_time *now)
{
	if (p->clock)
		p->clock(now, p->clock_arg);
	else
		cs_time_now(now);
}

static int eval(const struct cs_parsers *p, const struct expr_prog *prog, struct cs_event *evt,
		struct expr_value *out, struct expr_error *err)
{
	struct expr_value vars[1] = { cs_event_value(evt) };

	return expr_eval(prog, vars, (void *)p, out, err);
}

/*
 * The text of a static's expression result (spec 3.6). Returns 0 with *out set
 * (possibly "": skip), 1 when the static is to be skipped after a warning,
 * -EINVAL for a result type that aborts the parse of the event.
 */
static int static_text(const struct cs_node *node, const struct expr_value *v, char **out,
		       size_t *len)
{
	int n;

	switch (v->kind) {
	case EXPR_STRING:
		*out = malloc(v->s->len + 1);
		if (!*out)
			return -ENOMEM;
		memcpy(*out, v->s->s, v->s->len + 1);
		*len = v->s->len;
		return 0;
	case EXPR_INT:
		n = asprintf(out, "%lld", (long long)v->i);
		break;
	case EXPR_FLOAT:
		n = asprintf(out, "%f", v->f);
		break;
	case EXPR_NIL:
		n = asprintf(out, "%s", "");
		break;
	case EXPR_MAP:
	case EXPR_ARRAY:
	case EXPR_HOST:
		log_warn("%s:%d: static expression gave a %s, ignored", node->file, node->line,
			 expr_kind_name(v->kind));
		return 1;
	default:
		log_warn("%s:%d: static expression gave a %s: event discarded", node->file,
			 node->line, expr_kind_name(v->kind));
		return -EINVAL;
	}
	if (n < 0)
		return -ENOMEM;
	*len = (size_t)n;
	return 0;
}

static int apply_statics(const struct cs_parsers *p, const struct cs_node *node,
			 const struct cs_statics *st, struct cs_event *evt)
{
	for (size_t i = 0; i < st->n; i++) {
		const struct cs_static *s = &st->v[i];
		char *text = NULL;
		size_t len = 0;
		int err = 0;

		if (s->kind == ST_METHOD && !s->method)
			continue; /* unavailable method: skipped (logged at load) */
		if (s->value) {
			text = strdup(s->value);
			len = strlen(s->value);
			if (!text)
				return -ENOMEM;
		} else {
			struct expr_value v = expr_nil();
			struct expr_error e = { 0 };

			err = eval(p, s->expr, evt, &v, &e);
			if (err == -ENOMEM)
				return err;
			if (err) {
				log_debug("%s:%d: static '%s' skipped: %s", node->file, node->line,
					  expr_prog_source(s->expr), e.msg);
				continue;
			}
			err = static_text(node, &v, &text, &len);
			expr_value_release(&v);
			if (err == 1)
				continue;
			if (err)
				return err;
		}
		if (!len && !(s->kind == ST_METHOD && s->method->call_on_empty)) {
			free(text); /* an empty value never overwrites */
			continue;
		}
		switch (s->kind) {
		case ST_META:
			err = strmap_setn(evt->meta, s->key, text, len);
			break;
		case ST_PARSED:
			err = strmap_setn(evt->parsed, s->key, text, len);
			break;
		case ST_ENRICHED:
			err = strmap_setn(evt->enriched, s->key, text, len);
			break;
		case ST_TARGET:
			err = cs_event_set_target(evt, s->key, text, len);
			if (err == -ENOENT) {
				log_warn("%s:%d: static target '%s' is not a string field", node->file,
					 node->line, s->key);
				err = 0;
			}
			break;
		case ST_METHOD: {
			struct strmap *res = strmap_new();
			struct cs_time now;
			const char *k, *v;
			size_t vl;

			struct cs_enrich_ctx ctx = { .now = &now, .geoip = p->geoip };

			parsers_now(p, &now);
			err = res ? s->method->fn(text, len, evt, &ctx, res) : -ENOMEM;
			for (size_t j = 0; !err && strmap_at(res, j, &k, &v, &vl); j++)
				err = strmap_setn(evt->enriched, k, v, vl);
			strmap_free(res);
			break;
		}
		}
		free(text);
		if (err)
			return err;
	}
	return 0;
}

static bool ip_listed(const struct cs_whitelist *wl, const char *ip)
{
	struct cs_prefix a;

	if (!ip || cs_addr_parse(ip, &a))
		return false;
	for (size_t i = 0; i < wl->nips; i++)
		if (cs_prefix_equal(&wl->ips[i], &a))
			return true;
	for (size_t i = 0; i < wl->ncidrs; i++)
		if (wl->cidrs[i].family == a.family && cs_prefix_contains(&wl->cidrs[i], &a))
			return true;
	return false;
}

static int source_listed(const char *src, void *arg)
{
	return ip_listed(arg, src) ? 1 : 0;
}

static bool whitelist_match(const struct cs_parsers *p, const struct cs_node *node,
			    struct cs_event *evt)
{
	const struct cs_whitelist *wl = node->wl;

	if (evt->type == CS_EVT_LOG) {
		if (ip_listed(wl, strmap_get(evt->meta, "source_ip")))
			return true;
	} else if (evt->overflow && evt->overflow_ops && evt->overflow_ops->for_each_source) {
		if (evt->overflow_ops->for_each_source(evt->overflow, source_listed, (void *)wl) > 0)
			return true;
	}
	for (size_t i = 0; i < wl->nexprs; i++) {
		struct expr_error e = { 0 };
		bool ok = false;

		/* Upstream: an erroring expression is "not whitelisted", go on. */
		if (expr_eval_bool(wl->exprs[i], (struct expr_value[]){ cs_event_value(evt) },
				   (void *)p, &ok, &e)) {
			log_debug("%s:%d: whitelist expression: %s", node->file, node->line, e.msg);
			continue;
		}
		if (ok)
			return true;
	}
	return false;
}

/* The string the grok runs on; false when there is none (the grok fails). */
static bool grok_input(const struct cs_parsers *p, const struct cs_node *node, struct cs_event *evt,
		       char **buf, const char **s, size_t *len)
{
	if (node->apply_on) {
		if (!strcmp(node->apply_on, "Line.Raw")) {
			*s = evt->line.raw;
			*len = evt->line.raw_len;
			return true;
		}
		*s = strmap_getn(evt->parsed, node->apply_on, len);
		if (!*s)
			return false;
		/*
		 * The captures are written into Parsed and may replace this very
		 * key (http-logs splits `request` into request + http_args): match on
		 * a copy, not on memory the first capture frees.
		 */
		*buf = malloc(*len + 1);
		if (!*buf)
			return false;
		memcpy(*buf, *s, *len + 1);
		*s = *buf;
		return true;
	}
	if (node->grok_expr) {
		struct expr_value v = expr_nil();
		struct expr_error e = { 0 };
		int rc;

		if (eval(p, node->grok_expr, evt, &v, &e)) {
			log_debug("%s:%d: grok expression: %s", node->file, node->line, e.msg);
			return false;
		}
		if (v.kind == EXPR_STRING) {
			*buf = malloc(v.s->len + 1);
			if (*buf)
				memcpy(*buf, v.s->s, v.s->len + 1);
			*len = v.s->len;
		} else if (v.kind == EXPR_INT) {
			rc = asprintf(buf, "%lld", (long long)v.i);
			*len = rc < 0 ? 0 : (size_t)rc;
			if (rc < 0)
				*buf = NULL;
		} else if (v.kind == EXPR_FLOAT) {
			rc = asprintf(buf, "%f", v.f);
			*len = rc < 0 ? 0 : (size_t)rc;
			if (rc < 0)
				*buf = NULL;
		}
		expr_value_release(&v);
		*s = *buf;
		return *buf != NULL;
	}
	return false;
}

static int run_stash(const struct cs_parsers *p, const struct cs_node *node, struct cs_event *evt)
{
	for (size_t i = 0; i < node->nstash; i++) {
		const struct cs_stash_def *s = &node->stash[i];
		struct expr_value k = expr_nil(), v = expr_nil();
		int err = 0;

		if (!eval(p, s->key, evt, &k, NULL) && !eval(p, s->value, evt, &v, NULL) &&
		    k.kind == EXPR_STRING && v.kind == EXPR_STRING)
			err = cs_stash_set(p->stash, s->name, s->size, s->ttl_ns, expr_str_cstr(&k),
					   expr_str_cstr(&v));
		expr_value_release(&k);
		expr_value_release(&v);
		if (err)
			return err;
	}
	return 0;
}

/* One node on one event (spec 3.3): 1 success, 0 failure, -errno error. */
static int node_process(const struct cs_parsers *p, const struct cs_node *node,
			struct cs_event *evt)
{
	bool state = true, grok_ok = false, wl_hit = false;
	int err;

	if (node->filter) {
		struct expr_error e = { 0 };
		bool pass = false;

		err = expr_eval_bool(node->filter, (struct expr_value[]){ cs_event_value(evt) },
				     (void *)p, &pass, &e);
		if (err == -ENOMEM)
			return err;
		if (err || !pass) {
			if (err)
				log_debug("%s:%d: filter of '%s': %s", node->file, node->line,
					  node->name, e.msg);
			return 0;
		}
	}
	if (node->wl) {
		wl_hit = whitelist_match(p, node, evt);
		if (wl_hit && !evt->whitelisted) {
			evt->whitelisted = true;
			err = cs_event_set_str(&evt->whitelist_reason, node->wl->reason);
			if (err)
				return err;
			if (evt->type == CS_EVT_OVFLW && evt->overflow && evt->overflow_ops &&
			    evt->overflow_ops->set_whitelisted)
				evt->overflow_ops->set_whitelisted(evt->overflow);
		}
	}
	if (node->grok) {
		char *buf = NULL;
		const char *s;
		size_t len;
		int rc = 0;

		if (grok_input(p, node, evt, &buf, &s, &len) && grok_nfields(node->grok))
			rc = grok_match(node->grok, s, len, evt->parsed);
		free(buf);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			grok_ok = true;
			err = apply_statics(p, node, &node->grok_statics, evt);
			if (err)
				return err;
		} else {
			state = false;
		}
	}
	if (grok_ok || !node->grok) {
		err = run_stash(p, node, evt);
		if (err)
			return err;
	}
	for (size_t i = 0; i < node->nchildren; i++) {
		int rc = node_process(p, &node->children[i], evt);

		if (rc < 0)
			return rc;
		if (rc) {
			state = true;
			if (node->next_stage)
				break;
		} else if (!grok_ok) {
			state = false;
		}
	}
	if (!state)
		return 0;
	if (node->statics.n && (!node->wl || wl_hit)) {
		err = apply_statics(p, node, &node->statics, evt);
		if (err)
			return err;
	}
	if (node->next_stage) {
		int idx = stage_index(p, evt->stage);

		if (idx >= 0 && (size_t)idx + 1 < p->nstages) {
			err = cs_event_set_str(&evt->stage, p->stages[idx + 1]);
			if (err)
				return err;
		}
	}
	return 1;
}

int cs_parse(struct cs_parsers *p, struct cs_event *evt, cs_parse_observer obs, void *arg)
{
	size_t t = 0;
	int err = prepare(p);

	if (err)
		return err;
	/* Every datasource names itself; an event without a module is a bug upstream of us. */
	if (evt->type == CS_EVT_LOG && !evt->line.module[0]) {
		log_error("event without Line.Module rejected (raw: %.80s)", evt->line.raw);
		return -EINVAL;
	}
	if (!p->nstages) {
		evt->process = true;
		return 0;
	}
	if (!evt->stage[0] && (err = cs_event_set_str(&evt->stage, p->stages[0])))
		return err;
	evt->process = false;
	if (cs_time_is_zero(&evt->time))
		parsers_now(p, &evt->time);
	for (size_t si = 0; si < p->nstages; si++) {
		const char *stage = p->stages[si];
		bool stage_ok = false;

		/* Skip to the event's stage (tests inject events past s00). */
		if (stage_index(p, evt->stage) > (int)si) {
			while (t < p->ntops && !strcmp(p->tops[t].stage, stage))
				t++;
			continue;
		}
		/* The previous stage succeeded without moving the event on: dropped. */
		if (strcmp(evt->stage, stage))
			return 0;
		for (; t < p->ntops && !strcmp(p->tops[t].stage, stage); t++) {
			const struct cs_node *node = &p->tops[t].node;
			int rc;

			/* A sub-node with next_stage moved the event: the rest of the stage is skipped. */
			if (strcmp(evt->stage, stage))
				continue;
			rc = node_process(p, node, evt);
			if (rc < 0)
				return rc;
			if (obs && (err = obs(stage, node->name, evt, rc > 0, arg)))
				return err;
			if (rc)
				stage_ok = true;
			if (rc && node->next_stage) {
				while (t + 1 < p->ntops && !strcmp(p->tops[t + 1].stage, stage))
					t++;
			}
		}
		if (!stage_ok)
			return 0;
	}
	evt->process = true;
	return 0;
}
