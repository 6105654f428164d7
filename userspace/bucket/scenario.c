// SPDX-License-Identifier: MIT
/*
 * Scenario files (hub-format.md 6.1, 6.2): every YAML document is one
 * scenario, decoded strictly (unknown keys are errors, as upstream), every
 * expression compiled at load time. Errors name file:line.
 */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "bucket/bucket_int.h"
#include "common/log.h"
#include "common/vec.h"
#include "common/ywalk.h"
#include "metrics/metrics.h"
#include "parser/data_section.h"
#include "common/sha2.h"

struct sloader {
	struct ywalk w; /* the document, the file, errors into b->err */
	struct cs_buckets *b;
};

#define sc_err(L, n, ...) ywalk_fail(&(L)->w, (n), __VA_ARGS__)

/* A string, or null (NULL). */
static int get_str(struct sloader *L, yaml_node_t *v, const char *key, char **out)
{
	if (ywalk_is_null(v)) {
		free(*out);
		*out = NULL;
		return 0;
	}
	return ywalk_str(&L->w, v, key, out);
}

/* An int, or null (0). */
static int get_int(struct sloader *L, yaml_node_t *v, const char *key, int *out)
{
	long long x = 0;
	int err = ywalk_is_null(v) ? 0 : ywalk_long(&L->w, v, key, -2147483647LL, 2147483647LL, &x);

	*out = (int)x;
	return err;
}

static int get_bool(struct sloader *L, yaml_node_t *v, const char *key, bool *out)
{
	int b;

	if (ywalk_is_null(v))
		return *out = false, 0;
	b = ywalk_bool_value(v);
	if (b < 0) {
		/* a bool field also takes a quoted "true"/"false" in yaml.v2 */
		const char *s = ywalk_scalar(v);

		if (s && (!strcmp(s, "true") || !strcmp(s, "false")))
			return *out = !strcmp(s, "true"), 0;
		return sc_err(L, v, "'%s' must be a boolean", key);
	}
	*out = b;
	return 0;
}

static int get_float(struct sloader *L, yaml_node_t *v, const char *key, float *out)
{
	const char *s = ywalk_scalar(v);
	char *end;

	if (!s)
		return sc_err(L, v, "'%s' must be a number", key);
	*out = strtof(s, &end);
	if (*end || end == s)
		return sc_err(L, v, "'%s': '%s' is not a number", key, s);
	return 0;
}

static int get_duration(struct sloader *L, yaml_node_t *v, const char *key, int64_t *out)
{
	const char *s = ywalk_scalar(v);

	if (ywalk_is_null(v))
		return *out = 0, 0;
	if (!s || expr_parse_duration(s, out))
		return sc_err(L, v, "'%s': invalid duration '%s'", key, s ? s : "");
	return 0;
}

/* The map of evt a shortcut reads for a path of the engine's variable VAR. */
static enum cs_event_map evt_map_named(int var, const char *field)
{
	return var == VAR_EVT ? cs_event_map_named(field) : CS_EVT_NONE;
}

/* Routing skips the scenario when the filter's first test on evt's maps fails. */
static void set_guard(struct cs_scenario *sc)
{
	sc->guard_map = CS_EVT_NONE;
	if (!expr_prog_guard(sc->filter, &sc->guard))
		return;
	sc->guard_map = evt_map_named(sc->guard.var, sc->guard.field);
	sc->guard_key = strmap_key_intern(sc->guard.key);
}

/* The slot of (map, key) in the engine's table of keys routing reads once per event; -1: full. */
static int route_key_slot(struct cs_buckets *b, enum cs_event_map map, const struct strmap_key *key)
{
	size_t i = 0;

	while (i < b->nguards && (b->guards[i].map != map || b->guards[i].key != key))
		i++;
	if (i == b->nguards && i < CS_ROUTE_GUARDS) {
		b->guards[i].map = map;
		b->guards[i].key = key;
		b->nguards++;
	}
	return i < b->nguards ? (int)i : -1;
}

/* Whether p may write the event: its methods that do are Set*(), called by name. */
static bool may_set(const struct expr_prog *p)
{
	const char *src = expr_prog_source(p);

	return p && (!src || strstr(src, "Set"));
}

/*
 * The engine's routing shortcuts for sc: its guard's key slot, or else the key
 * without which its filter is false (expr_prog_needs); its groupby as a path.
 */
static void set_routing(struct cs_buckets *b, struct cs_scenario *sc)
{
	const char *field, *key;
	int var;

	sc->guard_slot = -1;
	if (sc->guard_map != CS_EVT_NONE && sc->guard_key)
		sc->guard_slot = route_key_slot(b, sc->guard_map, sc->guard_key);
	sc->needs_slot = -1;
	if (sc->guard_map == CS_EVT_NONE && expr_prog_needs(sc->filter, &var, &field, &key)) {
		const struct strmap_key *k = strmap_key_intern(key);
		enum cs_event_map m = evt_map_named(var, field);

		if (k && m != CS_EVT_NONE)
			sc->needs_slot = route_key_slot(b, m, k);
	}
	sc->may_set = may_set(sc->filter) || may_set(sc->groupby);
	sc->route_indexed = sc->guard_map == CS_EVT_NONE || sc->guard_slot >= 0;
	sc->pf_clause = -1;	/* route_prefilter_build() */
	sc->groupby_map = CS_EVT_NONE;
	if (expr_prog_path(sc->groupby, &var, &field, &key) && key &&
	    (sc->groupby_key = strmap_key_intern(key)))
		sc->groupby_map = evt_map_named(var, field);
	sc->distinct_map = CS_EVT_NONE;
	if (expr_prog_path(sc->distinct, &var, &field, &key) && key &&
	    (sc->distinct_key = strmap_key_intern(key)))
		sc->distinct_map = evt_map_named(var, field);
}

void cs_route_index_free(struct cs_buckets *b)
{
	for (size_t s = 0; s < CS_ROUTE_GUARDS; s++) {
		free(b->ridx[s].vals);
		free(b->ridx[s].rows);
		b->ridx[s] = (struct route_index){ 0 };
	}
	b->route_words = 0;
	expr_prefilter_free(b->pf);
	b->pf = NULL;
}

/*
 * The prefilter over what routing evaluates of each filter once its guard
 * passed (the rest of the and-chain; the whole filter without a guard).
 * Without memory, none: every filter is evaluated.
 */
void cs_route_prefilter_build(struct cs_buckets *b)
{
	struct expr_prefilter *pf = NULL;
	size_t n = 0;
	int err = expr_prefilter_new(&pf);

	memset(b->pf_mask, 0, sizeof(b->pf_mask));
	for (size_t i = 0; i < b->nsc; i++)
		b->sc[i]->pf_clause = -1;
	for (size_t i = 0; !err && i < b->nsc; i++) {
		struct cs_scenario *sc = b->sc[i];
		const struct expr_prog *p = sc->guard_map != CS_EVT_NONE ? sc->guard.rest : sc->filter;
		size_t id;
		int rc;

		if (sc->guard_map != CS_EVT_NONE && sc->guard.rest_true)
			continue;
		rc = expr_prefilter_add(pf, p, &id);
		if (rc < 0) {
			err = rc;
		} else if (rc) {
			sc->pf_clause = (int)id;
			b->pf_sc[id] = (uint16_t)i;
			if (i < CS_ROUTE_WORDS * 64)
				b->pf_mask[i / 64] |= 1ull << (i % 64);
			n++;
		}
	}
	if (!err && n)
		err = expr_prefilter_build(pf);
	if (err || !n) {
		memset(b->pf_mask, 0, sizeof(b->pf_mask));
		for (size_t i = 0; i < b->nsc; i++)
			b->sc[i]->pf_clause = -1;
		expr_prefilter_free(pf);
		pf = NULL;
	}
	b->pf = pf;
}

/* Whether the guard of sc passes when its key reads (v, len): one of its literals. */
static bool guard_names(const struct cs_scenario *sc, const char *v, size_t len)
{
	for (size_t i = 0; i < sc->guard.nlits; i++)
		if (sc->guard.lits[i].s->len == len && !memcmp(sc->guard.lits[i].s->s, v, len))
			return true;
	return false;
}

/* Slot s's distinct guard literals, in load order. 0 or -ENOMEM. */
static int route_index_vals(struct cs_buckets *b, size_t s)
{
	struct route_index *x = &b->ridx[s];
	size_t cap = 0;

	for (size_t i = 0; i < b->nsc; i++) {
		const struct cs_scenario *sc = b->sc[i];

		if (sc->guard_map == CS_EVT_NONE || sc->guard_slot != (int)s)
			continue;
		for (size_t j = 0; j < sc->guard.nlits; j++) {
			const struct expr_str *l = sc->guard.lits[j].s;
			size_t k = 0;

			while (k < x->nvals && (x->vals[k].len != l->len || memcmp(x->vals[k].s, l->s, l->len)))
				k++;
			if (k < x->nvals || !l->len)
				continue; /* "" has row 0 */
			if (vec_reserve((void **)&x->vals, &cap, x->nvals, sizeof(*x->vals), 8))
				return -ENOMEM;
			x->vals[x->nvals++] = (struct route_val){ l->s, l->len };
		}
	}
	return 0;
}

/*
 * Whether sc can take an event whose slot s reads (v, len), all else aside;
 * other: a value none of the slot's guards names.
 */
static bool route_admits(const struct cs_scenario *sc, size_t s, const char *v, size_t len,
			 bool other)
{
	if (sc->guard_map != CS_EVT_NONE)
		return sc->guard_slot != (int)s || (!other && guard_names(sc, v, len));
	return sc->needs_slot != (int)s || len > 0;
}

/* routing's index over the loaded scenarios (struct cs_buckets.ridx); none without memory */
static void route_index_build(struct cs_buckets *b)
{
	size_t words = (b->nsc + 63) / 64;

	cs_route_index_free(b);
	for (size_t s = 0; s < b->nguards; s++) {
		struct route_index *x = &b->ridx[s];

		if (route_index_vals(b, s) ||
		    !(x->rows = calloc((x->nvals + 2) * words, sizeof(*x->rows)))) {
			cs_route_index_free(b);
			if (!b->pf_deferred)
				cs_route_prefilter_build(b);
			return;
		}
		for (size_t row = 0; row < x->nvals + 2; row++) {
			const char *v = row >= 2 ? x->vals[row - 2].s : "";
			size_t len = row >= 2 ? x->vals[row - 2].len : row == 1;

			for (size_t i = 0; i < b->nsc; i++)
				if (route_admits(b->sc[i], s, v, len, row == 1))
					x->rows[row * words + i / 64] |= 1ull << (i % 64);
		}
	}
	b->route_words = words;
	if (!b->pf_deferred)
		cs_route_prefilter_build(b);
}

static int compile(struct sloader *L, yaml_node_t *v, const char *key, struct expr_prog **out,
		   bool want_bool)
{
	struct expr_error e = { 0 };
	const char *s = ywalk_scalar(v);
	int err;

	if (ywalk_is_null(v))
		return 0;
	if (!s)
		return sc_err(L, v, "'%s' must be an expression string", key);
	expr_prog_free(*out);
	*out = NULL;
	err = expr_compile(L->b->env, s, out, &e);
	if (err == -ENOMEM)
		return err;
	if (err)
		return sc_err(L, v, "%s: %s (line %d, column %d)", key, e.msg, e.line, e.column);
	if (want_bool && expr_prog_type(*out) != EXPR_BOOL && expr_prog_type(*out) != EXPR_ANY)
		return sc_err(L, v, "%s: must be a boolean expression", key);
	return 0;
}

/* The scenario keys that set one member of struct cs_scenario, and how each is read. */
enum field_kind { F_EXPR, F_BOOL_EXPR, F_INT, F_DURATION, F_BOOL, F_FLOAT };

static const struct scenario_field {
	const char *key;
	enum field_kind kind;
	size_t off;
} scenario_fields[] = {
	{ "groupby", F_EXPR, offsetof(struct cs_scenario, groupby) },
	{ "distinct", F_EXPR, offsetof(struct cs_scenario, distinct) },
	{ "overflow_filter", F_BOOL_EXPR, offsetof(struct cs_scenario, overflow_filter) },
	{ "cancel_on", F_BOOL_EXPR, offsetof(struct cs_scenario, cancel_on) },
	{ "condition", F_BOOL_EXPR, offsetof(struct cs_scenario, condition) },
	{ "capacity", F_INT, offsetof(struct cs_scenario, capacity) },
	{ "cache_size", F_INT, offsetof(struct cs_scenario, cache_size) },
	{ "leakspeed", F_DURATION, offsetof(struct cs_scenario, leakspeed) },
	{ "duration", F_DURATION, offsetof(struct cs_scenario, duration) },
	{ "blackhole", F_DURATION, offsetof(struct cs_scenario, blackhole) },
	{ "reprocess", F_BOOL, offsetof(struct cs_scenario, reprocess) },
	{ "debug", F_BOOL, offsetof(struct cs_scenario, debug) },
	{ "bayesian_prior", F_FLOAT, offsetof(struct cs_scenario, bayes_prior) },
	{ "bayesian_threshold", F_FLOAT, offsetof(struct cs_scenario, bayes_threshold) },
};

static const struct scenario_field *scenario_field(const char *key)
{
	for (size_t i = 0; i < sizeof(scenario_fields) / sizeof(scenario_fields[0]); i++)
		if (!strcmp(key, scenario_fields[i].key))
			return &scenario_fields[i];
	return NULL;
}

static int load_field(struct sloader *L, struct cs_scenario *sc, const struct scenario_field *f,
		      yaml_node_t *v)
{
	void *at = (char *)sc + f->off;

	switch (f->kind) {
	case F_EXPR:
	case F_BOOL_EXPR:
		return compile(L, v, f->key, at, f->kind == F_BOOL_EXPR);
	case F_INT:
		return get_int(L, v, f->key, at);
	case F_DURATION:
		return get_duration(L, v, f->key, at);
	case F_BOOL:
		return get_bool(L, v, f->key, at);
	case F_FLOAT:
		return get_float(L, v, f->key, at);
	}
	return -EINVAL;
}

static const struct {
	const char *name;
	enum cs_bucket_type type;
} bucket_types[] = {
	{ "leaky", CS_BT_LEAKY },	      { "trigger", CS_BT_TRIGGER },
	{ "counter", CS_BT_COUNTER },	      { "conditional", CS_BT_CONDITIONAL },
	{ "bayesian", CS_BT_BAYESIAN },
};

/* The bucket type named (none: leaky); false for a name it does not know. */
static bool bucket_type(const char *name, enum cs_bucket_type *out)
{
	*out = CS_BT_LEAKY;
	for (size_t i = 0; name && i < sizeof(bucket_types) / sizeof(bucket_types[0]); i++)
		if (!strcmp(name, bucket_types[i].name))
			return *out = bucket_types[i].type, true;
	return !name;
}

static int load_scope(struct sloader *L, struct cs_scenario *sc, yaml_node_t *m)
{
	const char *k;
	yaml_node_t *v;
	int err = ywalk_map_opt(&L->w, m, "scope");

	if (err <= 0)
		return err;
	YWALK_PAIRS(&L->w, m, k, v) {
		if (!k)
			return sc_err(L, m, "scope: non-scalar key");
		if (!strcmp(k, "type"))
			err = get_str(L, v, "scope.type", &sc->scope);
		else if (!strcmp(k, "expression"))
			err = compile(L, v, "scope.expression", &sc->scope_expr, false);
		else
			return sc_err(L, v, "scope: unknown key '%s'", k);
		if (err)
			return err;
	}
	return 0;
}

/* labels: free-form; only `remediation: true` (a YAML bool, not a string) matters. */
static int load_labels(struct sloader *L, struct cs_scenario *sc, yaml_node_t *m)
{
	const char *k;
	yaml_node_t *v;
	int err = ywalk_map_opt(&L->w, m, "labels");

	if (err <= 0)
		return err;
	/* map[string]any: only an unquoted YAML true is the bool `true` (a quoted one is a string) */
	YWALK_PAIRS(&L->w, m, k, v)
		if (k && !strcmp(k, "remediation"))
			sc->remediation = ywalk_bool_value(v) == 1;
	return 0;
}

static int load_bayes(struct sloader *L, struct cs_scenario *sc, yaml_node_t *seq)
{
	yaml_node_t *m, *v;
	int err = ywalk_list_new(&L->w, seq, "bayesian_conditions", sizeof(*sc->bconds),
				 (void **)&sc->bconds);

	if (err || !sc->bconds)
		return err;
	YWALK_ITEMS(&L->w, seq, m) {
		struct cs_bayes_cond *c = &sc->bconds[sc->nbconds++];
		const char *k;

		if (!m || m->type != YAML_MAPPING_NODE)
			return sc_err(L, m, "a bayesian condition must be a mapping");
		YWALK_PAIRS(&L->w, m, k, v) {
			if (!k)
				return sc_err(L, m, "bayesian_conditions: non-scalar key");
			if (!strcmp(k, "condition"))
				err = compile(L, v, "condition", &c->cond, true);
			else if (!strcmp(k, "prob_given_evil"))
				err = get_float(L, v, k, &c->prob_evil);
			else if (!strcmp(k, "prob_given_benign"))
				err = get_float(L, v, k, &c->prob_benign);
			else if (!strcmp(k, "guillotine"))
				err = get_bool(L, v, k, &c->guillotine);
			else
				return sc_err(L, v, "bayesian_conditions: unknown key '%s'", k);
			if (err)
				return err;
		}
		if (!c->cond)
			return sc_err(L, m, "bayesian condition without 'condition'");
	}
	return 0;
}

void cs_scenario_free(struct cs_scenario *sc)
{
	if (!sc)
		return;
	free(sc->name);
	free(sc->file);
	free(sc->filter_src);
	expr_prog_free(sc->filter);
	/* the expressions scenario_fields loads */
	for (size_t i = 0; i < sizeof(scenario_fields) / sizeof(scenario_fields[0]); i++)
		if (scenario_fields[i].kind == F_EXPR || scenario_fields[i].kind == F_BOOL_EXPR)
			expr_prog_free(*(struct expr_prog **)((char *)sc + scenario_fields[i].off));
	expr_prog_free(sc->scope_expr);
	free(sc->leakspeed_text);
	cs_scenario_pour_labels_clear(sc);
	free(sc->scope);
	free(sc->hash);
	free(sc->version);
	for (size_t i = 0; i < sc->nbconds; i++)
		expr_prog_free(sc->bconds[i].cond);
	free(sc->bconds);
	for (struct cs_dlink *l = sc->bh_fifo.head, *n; l; l = n) {
		struct bh_entry *e = cs_dlist_entry(l, struct bh_entry, fifo);

		n = l->next;
		free(e);
	}
	cs_htab_fini(&sc->bh);
	free(sc);
}

/* ValidateFactory: what each bucket type requires. */
static int validate(struct sloader *L, struct cs_scenario *sc, yaml_node_t *root)
{
	switch (sc->type) {
	case CS_BT_LEAKY:
		if (sc->capacity <= 0)
			return sc_err(L, root, "%s: bad capacity for leaky '%d'", sc->name, sc->capacity);
		if (!sc->leakspeed)
			return sc_err(L, root, "%s: leakspeed can't be empty for leaky", sc->name);
		break;
	case CS_BT_TRIGGER:
		if (sc->capacity != 0)
			return sc_err(L, root, "%s: trigger bucket must have 0 capacity", sc->name);
		break;
	case CS_BT_COUNTER:
		if (!sc->duration)
			return sc_err(L, root, "%s: duration can't be empty for counter", sc->name);
		if (sc->capacity != -1)
			return sc_err(L, root, "%s: counter bucket must have -1 capacity", sc->name);
		break;
	case CS_BT_CONDITIONAL:
		if (!sc->condition)
			return sc_err(L, root, "%s: conditional bucket must have a condition", sc->name);
		if (sc->capacity != -1)
			log_warn("%s: conditional bucket: capacity %d ignored (should be -1)", sc->name,
				 sc->capacity);
		if (!sc->leakspeed)
			return sc_err(L, root, "%s: leakspeed can't be empty for conditional",
				      sc->name);
		break;
	case CS_BT_BAYESIAN:
		if (!sc->nbconds)
			return sc_err(L, root, "%s: bayesian bucket must have bayesian_conditions",
				      sc->name);
		if (sc->bayes_prior <= 0 || sc->bayes_prior > 1)
			return sc_err(L, root, "%s: bayesian_prior must be in (0, 1]", sc->name);
		if (sc->bayes_threshold == 0 || sc->bayes_threshold > 1)
			return sc_err(L, root, "%s: bayesian_threshold must be in (0, 1]", sc->name);
		if (sc->capacity != -1)
			return sc_err(L, root, "%s: bayesian bucket must have -1 capacity", sc->name);
		break;
	}
	if (!sc->scope || !*sc->scope) {
		free(sc->scope);
		sc->scope = strdup("Ip");
		if (!sc->scope)
			return -ENOMEM;
	} else if (!strcmp(sc->scope, "Ip") && sc->scope_expr) {
		return sc_err(L, root, "%s: scope Ip takes no expression", sc->name);
	} else if (strcmp(sc->scope, "Ip") && strcmp(sc->scope, "Range") && !sc->scope_expr) {
		return sc_err(L, root, "%s: scope %s requires an expression", sc->name, sc->scope);
	}
	return 0;
}

static int load_doc(struct sloader *L, yaml_node_t *root, const char *hash, const char *version,
		    struct cs_scenario **out)
{
	struct cs_scenario *sc = calloc(1, sizeof(*sc));
	char *type = NULL, *desc = NULL, *fmt = NULL;
	char buf[32];
	const char *k;
	yaml_node_t *v, *labels = NULL, *data = NULL;
	int err = 0;

	*out = NULL;
	if (!sc)
		return -ENOMEM;
	sc->line = (int)root->start_mark.line + 1;
	sc->file = strdup(L->w.file);
	sc->hash = strdup(hash);
	sc->version = strdup(version ? version : "");
	if (!sc->file || !sc->hash || !sc->version) {
		err = -ENOMEM;
		goto out;
	}
	YWALK_PAIRS(&L->w, root, k, v) {
		const struct scenario_field *f = k ? scenario_field(k) : NULL;

		if (!k) {
			err = sc_err(L, root, "non-scalar key");
			goto out;
		}
		if (f)
			err = load_field(L, sc, f, v);
		else if (!strcmp(k, "type"))
			err = get_str(L, v, k, &type);
		else if (!strcmp(k, "name"))
			err = get_str(L, v, k, &sc->name);
		else if (!strcmp(k, "description"))
			err = get_str(L, v, k, &desc);
		else if (!strcmp(k, "filter")) {
			err = get_str(L, v, k, &sc->filter_src);
			err = err ?: compile(L, v, k, &sc->filter, true);
			if (!err)
				set_guard(sc);
		} else if (!strcmp(k, "scope"))
			err = load_scope(L, sc, v);
		else if (!strcmp(k, "labels"))
			labels = v;
		else if (!strcmp(k, "data"))
			data = v;
		else if (!strcmp(k, "format"))
			err = get_str(L, v, k, &fmt);
		else if (!strcmp(k, "bayesian_conditions"))
			err = load_bayes(L, sc, v);
		else if (!strcmp(k, "references") || !strcmp(k, "author") || !strcmp(k, "version"))
			continue; /* informational */
		else
			err = sc_err(L, v, "unknown key '%s'", k);
		if (err)
			goto out;
	}
	if (!sc->name) {
		err = sc_err(L, root, "scenario without 'name'");
		goto out;
	}
	if (!desc) {
		err = sc_err(L, root, "%s: 'description' is mandatory", sc->name);
		goto out;
	}
	if (!sc->filter) {
		err = sc_err(L, root, "%s: 'filter' is mandatory", sc->name);
		goto out;
	}
	if (fmt && (strtod(fmt, NULL) < 1.0 || strtod(fmt, NULL) > 3.0)) {
		log_warn("%s:%d: %s: format %s not supported, scenario skipped", L->w.file, sc->line,
			 sc->name, fmt);
		goto out; /* *out stays NULL: skipped, not an error */
	}
	if (!bucket_type(type, &sc->type)) {
		err = sc_err(L, root, "%s: unknown bucket type '%s'", sc->name, type);
		goto out;
	}
	if (!type) {
		err = sc_err(L, root, "%s: 'type' is mandatory", sc->name);
		goto out;
	}
	err = load_labels(L, sc, labels);
	err = err ?: cs_data_section_load(&L->w, data, L->b->rt);
	err = err ?: validate(L, sc, root);
	if (err)
		goto out;
	/* How long an instance lives without events (spec 6.3 step 4). */
	switch (sc->type) {
	case CS_BT_LEAKY:
		sc->bucket_duration = (int64_t)(sc->capacity + 1) * sc->leakspeed;
		break;
	case CS_BT_COUNTER:
		sc->bucket_duration = sc->duration;
		break;
	case CS_BT_CONDITIONAL:
	case CS_BT_BAYESIAN:
		sc->bucket_duration = sc->leakspeed;
		break;
	case CS_BT_TRIGGER:
		break;
	}
	if (sc->duration && sc->type != CS_BT_COUNTER)
		sc->bucket_duration = sc->duration;
	expr_format_duration(sc->leakspeed, buf, sizeof(buf));
	sc->leakspeed_text = strdup(buf);
	if (!sc->leakspeed_text) {
		err = -ENOMEM;
		goto out;
	}
	*out = sc;
	sc = NULL;
out:
	free(type);
	free(desc);
	free(fmt);
	cs_scenario_free(sc);
	return err;
}

/* The idx of the first loaded scenario with sc's name and filter (sc's own if none). */
static size_t bucket_key_owner(const struct cs_buckets *b, const struct cs_scenario *sc)
{
	const char *f = sc->filter_src ? sc->filter_src : "";

	for (size_t i = 0; i < b->nsc; i++) {
		const struct cs_scenario *o = b->sc[i];

		if (!strcmp(o->name, sc->name) && !strcmp(o->filter_src ? o->filter_src : "", f))
			return o->key_idx;
	}
	return b->nsc;
}

int cs_scenarios_load(struct cs_buckets *b, const char *name, const char *text, size_t len,
		      const char *version)
{
	struct sloader L = { .b = b,
			     .w = { .file = name, .err = b->err, .errlen = sizeof(b->err),
				    .log = true } };
	struct ywalk_stream ys;
	yaml_node_t *root;
	char hash[2 * SHA256_LEN + 1];
	uint8_t digest[SHA256_LEN];
	size_t before = b->nsc;
	int err;

	b->err[0] = '\0';
	sha256(text, len, digest);
	hex_encode(digest, sizeof(digest), hash);
	err = ywalk_stream_open(&ys, text, len);
	if (err)
		return err;
	while (!(err = ywalk_next(&L.w, &ys, &root)) && root) {
		struct cs_scenario *sc = NULL;

		if (ywalk_is_null(root))
			continue; /* empty document */
		if (root->type != YAML_MAPPING_NODE)
			err = sc_err(&L, root, "a scenario must be a mapping");
		else
			err = load_doc(&L, root, hash, version, &sc);
		if (err)
			break;
		if (!sc)
			continue;
		if (vec_reserve((void **)&b->sc, &b->sc_cap, b->nsc, sizeof(*b->sc), 16)) {
			cs_scenario_free(sc);
			err = -ENOMEM;
			break;
		}
		sc->idx = b->nsc;
		sc->key_idx = bucket_key_owner(b, sc);
		sc->m_cpu = cs_metric_get(CSM_SCENARIO_CPU, sc->name, NULL, NULL);
		set_routing(b, sc);
		b->sc[b->nsc++] = sc;
	}
	ywalk_stream_close(&ys);
	if (err) {
		/* All or nothing per file: a half-loaded file would be misleading. */
		while (b->nsc > before)
			cs_scenario_free(b->sc[--b->nsc]);
	}
	route_index_build(b);
	return err;
}
