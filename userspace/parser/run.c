// SPDX-License-Identifier: MIT
/*
 * Running an event through the stages: node filters, grok, statics,
 * whitelists, stash, on_success routing.
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
#include "common/thread_slot.h"
#include "expr/expr.h"
#include "parser/enrich.h"
#include "parser/grok.h"
#include "parser/parser_limits.h"

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
	strv_free(p->stages, p->nstages);
	p->stages = calloc(p->ntops ? p->ntops : 1, sizeof(*p->stages));
	p->nstages = 0;
	if (!p->stages)
		return -ENOMEM;
	for (size_t i = 0; i < p->ntops; i++) {
		if (p->nstages && !strcmp(p->stages[p->nstages - 1], p->tops[i].stage)) {
			p->tops[i].stage_idx = p->nstages - 1;
			continue;
		}
		p->stages[p->nstages] = strdup(p->tops[i].stage);
		if (!p->stages[p->nstages])
			return -ENOMEM;
		p->tops[i].stage_idx = p->nstages++;
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

/*
 * The injected clock, else the wall clock: to its tick (~4 ms) where a
 * syslog date's year is all that needs it, to the nanosecond (as Go's
 * time.Now()) for a time an event keeps.
 */
static void parsers_now(const struct cs_parsers *p, struct cs_time *now, bool exact)
{
	if (p->clock)
		p->clock(now, p->clock_arg);
	else if (exact)
		cs_time_now(now);
	else
		cs_time_now_coarse(now);
}

static int eval(const struct cs_parsers *p, const struct expr_prog *prog, struct cs_event *evt,
		struct expr_value *out, struct expr_error *err)
{
	struct expr_value vars[1] = { cs_event_value(evt) };

	return expr_eval(prog, vars, (void *)p, out, err);
}

/* Room for an integer's decimal text and its NUL. */
#define INT_TEXT 24

/*
 * The text of a static's expression result (spec 3.6): a string's own bytes
 * (borrowed from v), an integer's in num (http-logs' len() on every nginx line:
 * no asprintf for it), else a rendering in *owned (free it). Returns 0 with *text
 * set (possibly "": skip), 1 when the static is to be skipped after a warning,
 * -EINVAL for a result type that aborts the parse of the event.
 */
static int static_text(const struct cs_node *node, const struct expr_value *v, const char **text,
		       size_t *len, char **owned, char num[INT_TEXT])
{
	char *p = num + INT_TEXT - 1;
	uint64_t u;
	int n;

	*owned = NULL;
	switch (v->kind) {
	case EXPR_STRING:
		*text = v->s->s;
		*len = v->s->len;
		return 0;
	case EXPR_INT:
		u = v->i < 0 ? 0 - (uint64_t)v->i : (uint64_t)v->i;
		*p = '\0';
		do
			*--p = (char)('0' + u % 10);
		while (u /= 10);
		if (v->i < 0)
			*--p = '-';
		*text = p;
		*len = (size_t)(num + INT_TEXT - 1 - p);
		return 0;
	case EXPR_FLOAT:
		n = asprintf(owned, "%f", v->f);
		break;
	case EXPR_NIL:
		*text = "";
		*len = 0;
		return 0;
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
	*text = *owned;
	*len = (size_t)n;
	return 0;
}

/*
 * Where a method's results wait until the event takes them all: one map per
 * thread, emptied after each use (a map made and freed per line was ~2 % of an
 * sshd replay: ParseDate runs on every line).
 */
static void results_free(void *m)
{
	strmap_free(m);
}

static struct thread_slot results_slot = THREAD_SLOT(results_free);

static struct strmap *method_results(void)
{
	struct strmap *m = thread_slot_get(&results_slot);

	if (!m && (m = strmap_new()) && thread_slot_set(&results_slot, m)) {
		strmap_free(m);
		m = NULL;
	}
	return m;
}

/* One static: its text (the maps copy what they keep) set where it goes. */
static int apply_static(const struct cs_parsers *p, const struct cs_node *node,
			const struct cs_static *s, const char *text, size_t len,
			struct cs_event *evt)
{
	int err = 0;

	if (!len && !(s->kind == ST_METHOD && s->method->call_on_empty))
		return 0; /* an empty value never overwrites */
	switch (s->kind) {
	case ST_META:
	case ST_PARSED:
	case ST_ENRICHED: {
		struct strmap *m = s->kind == ST_META ? evt->meta :
				   s->kind == ST_PARSED ? evt->parsed : evt->enriched;

		return s->skey ? strmap_setk(m, s->skey, text, len) :
				 strmap_setn(m, s->key, text, len);
	}
	case ST_TARGET:
		err = s->target ? cs_event_set_target_at(evt, s->target, text, len) :
				  cs_event_set_target(evt, s->key, text, len);
		if (err == -ENOENT) {
			log_warn("%s:%d: static target '%s' is not a string field", node->file,
				 node->line, s->key);
			err = 0;
		}
		return err;
	case ST_METHOD: {
		struct strmap *res = method_results();
		struct cs_time now;
		const char *k, *v;
		size_t vl;

		struct cs_enrich_ctx ctx = { .now = &now, .now_coarse = !p->clock, .geoip = p->geoip };

		parsers_now(p, &now, false);
		err = res ? s->method->fn(text, len, evt, &ctx, res) : -ENOMEM;
		for (size_t j = 0; !err && strmap_at(res, j, &k, &v, &vl); j++)
			err = strmap_setn(evt->enriched, k, v, vl);
		strmap_clear(res);
		return err;
	}
	}
	return 0;
}

/* Room for a `target:` static's value read straight from a field (longer: evaluated). */
#define STATIC_TARGET_COPY 256

static int apply_statics(const struct cs_parsers *p, const struct cs_node *node,
			 const struct cs_statics *st, struct cs_event *evt)
{
	for (size_t i = 0; i < st->n; i++) {
		const struct cs_static *s = &st->v[i];
		struct expr_value v = expr_nil();
		struct expr_error e;	/* set by expr_eval: not 268 bytes cleared per use */
		char *owned = NULL, num[INT_TEXT];
		const char *text;
		size_t len;
		int err;

		if (s->kind == ST_METHOD && !s->method)
			continue; /* unavailable method: skipped (logged at load) */
		if (s->value) {
			err = apply_static(p, node, s, s->value, s->value_len, evt);
			if (err)
				return err;
			continue;
		}
		if (s->path && !cs_event_path_read(evt, s->path, &text, &len)) {
			char copy[STATIC_TARGET_COPY];

			/* a target may be the field read: it is freed before it is copied */
			if (s->kind == ST_TARGET && len < sizeof(copy)) {
				memcpy(copy, text, len + 1);
				text = copy;
			}
			if (s->kind != ST_TARGET || text == copy) {
				err = apply_static(p, node, s, text, len, evt);
				if (err)
					return err;
				continue;
			}
		}
		err = eval(p, s->expr, evt, &v, &e);
		if (err == -ENOMEM)
			return err;
		if (err) {
			log_debug("%s:%d: static '%s' skipped: %s", node->file, node->line,
				  expr_prog_source(s->expr), e.msg);
			continue;
		}
		/* v holds the text while the event's maps take their copy */
		err = static_text(node, &v, &text, &len, &owned, num);
		if (!err)
			err = apply_static(p, node, s, text, len, evt);
		expr_value_release(&v);
		free(owned);
		if (err == 1)
			continue;
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
		if (ip_listed(wl, wl->source_ip ? strmap_getk(evt->meta, wl->source_ip, NULL) :
						  strmap_get(evt->meta, "source_ip")))
			return true;
	} else if (evt->overflow && evt->overflow_ops && evt->overflow_ops->for_each_source) {
		if (evt->overflow_ops->for_each_source(evt->overflow, source_listed, (void *)wl) > 0)
			return true;
	}
	for (size_t i = 0; i < wl->nexprs; i++) {
		struct expr_error e;	/* set by expr_eval: not 268 bytes cleared per use */
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

/* Room for the usual subject of a grok on a Parsed key, copied without an allocation. */
#define GROK_SUBJECT_STACK 1024

/*
 * The string the grok runs on; false when there is none (the grok fails).
 * *buf: malloc'd when the subject needed it (free it); stack: GROK_SUBJECT_STACK bytes
 * the subject may be copied into; *checked: grok_may_match() said true of it.
 */
/*
 * The Parsed key a grok of this thread read last, by the map's version (unique
 * to one state of one map, changed by any write or clear): sshd-logs' ~20 groks
 * read the same Parsed.message in turn, and those that do not match write nothing.
 */
struct apply_memo {
	uint64_t version;
	const struct strmap_key *key;
	const char *s;
	size_t len;
};

static __thread struct apply_memo apply_memo;

static const char *apply_on_get(const struct cs_node *node, const struct strmap *parsed,
				size_t *len)
{
	struct apply_memo *m = &apply_memo;
	uint64_t version = strmap_version(parsed);

	if (!node->apply_key)
		return strmap_getn(parsed, node->apply_on, len);
	if (version && m->version == version && m->key == node->apply_key) {
		*len = m->len;
		return m->s;
	}
	m->s = strmap_getk(parsed, node->apply_key, &m->len);
	m->version = version;
	m->key = node->apply_key;
	*len = m->len;
	return m->s;
}

static bool grok_input(const struct cs_parsers *p, const struct cs_node *node, struct cs_event *evt,
		       char *stack, char **buf, const char **s, size_t *len, bool *checked)
{
	*checked = false;
	if (node->apply_on) {
		if (node->apply_raw) {
			*s = evt->line.raw;
			*len = evt->line.raw_len;
			return true;
		}
		*s = apply_on_get(node, evt->parsed, len);
		if (!*s)
			return false;
		/* most of those groks cannot match: no copy for them */
		if (!grok_may_match(node->grok, *s, *len)) {
			*s = "";
			*len = 0;
			return false;
		}
		*checked = true;
		/*
		 * The captures are written into Parsed and may replace this very
		 * key (http-logs splits `request` into request + http_args): match on
		 * a copy, not on memory the first capture frees (sshd-logs tries ~20
		 * groks on Parsed.message per line: on the stack when it fits).
		 */
		if (*len < GROK_SUBJECT_STACK) {
			memcpy(stack, *s, *len + 1);
			*s = stack;
			return true;
		}
		*buf = malloc(*len + 1);
		if (!*buf)
			return false;
		memcpy(*buf, *s, *len + 1);
		*s = *buf;
		return true;
	}
	if (node->grok_expr) {
		struct expr_value v = expr_nil();
		struct expr_error e;	/* set by expr_eval: not 268 bytes cleared per use */
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

/*
 * The node's filter guard on evt: 0 when the guarded field holds none of the
 * literals (the filter is false, and could not have failed), 1 when it holds
 * one (the rest of the filter decides), -1 without a guard or a field to read.
 */
static int guard_holds(const struct cs_node *node, const struct cs_event *evt)
{
	const char *v;
	size_t len;

	if (!node->guard_path || cs_event_path_read(evt, node->guard_path, &v, &len))
		return -1;
	for (size_t i = 0; i < node->guard.nlits; i++) {
		const struct expr_value *l = &node->guard.lits[i];

		if (l->s->len == len && !memcmp(l->s->s, v, len))
			return 1;
	}
	return 0;
}

/*
 * The node's filter when it is one test of a string field (node->test): 1 true,
 * 0 false, -1 to evaluate (no such test, or a key the evaluator reads as nil).
 */
static int test_holds(const struct cs_node *node, const struct cs_event *evt)
{
	const struct expr_value *l = node->test.lit;
	const char *v;
	size_t len;

	if (node->test_key) {
		const struct strmap *m = node->test_map != CS_EVT_NONE ?
						 cs_event_map_of(evt, node->test_map) :
						 evt->line.labels;

		if (!m || !(v = strmap_getk(m, node->test_key, &len)))
			return -1;
	} else if (!node->test_path || cs_event_path_read(evt, node->test_path, &v, &len)) {
		return -1;
	}
	switch (node->test.op) {
	case EXPR_TEST_EQ:
		return len == l->s->len && !memcmp(v, l->s->s, len);
	case EXPR_TEST_NE:
		return len != l->s->len || memcmp(v, l->s->s, len);
	case EXPR_TEST_STARTS:
		return len >= l->s->len && !memcmp(v, l->s->s, l->s->len);
	}
	return -1;
}

/* Statics of a node; *stage follows a `target: evt.Stage` among them. */
static int node_statics(const struct cs_parsers *p, const struct cs_node *node,
			const struct cs_statics *st, struct cs_event *evt, int *stage)
{
	int err = apply_statics(p, node, st, evt);

	if (st->sets_stage)
		*stage = stage_index(p, evt->stage);
	return err;
}

/*
 * One node on one event (spec 3.3): 1 success, 0 failure, -errno error. *stage
 * is the index of evt->stage in p->stages (-1: none), kept as the node moves it.
 */
static int node_process(const struct cs_parsers *p, const struct cs_node *node,
			struct cs_event *evt, int *stage)
{
	bool state = true, grok_ok = false, wl_hit = false;
	int err;

	if (node->filter) {
		const struct expr_prog *filter = node->filter;
		struct expr_error e;	/* set by expr_eval: not 268 bytes cleared per use */
		bool pass = false;
		int guard = guard_holds(node, evt), test = guard < 0 ? test_holds(node, evt) : -1;

		if (!guard || !test)
			return 0;
		if (guard > 0)
			filter = node->guard.rest;
		err = 0;
		if ((guard > 0 && node->guard.rest_true) || test > 0)
			pass = true;
		else
			err = expr_eval_bool(filter, (struct expr_value[]){ cs_event_value(evt) },
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
		char stack[GROK_SUBJECT_STACK], *buf = NULL;
		const char *s;
		size_t len;
		bool checked;
		int rc = 0;

		if (grok_input(p, node, evt, stack, &buf, &s, &len, &checked) &&
		    grok_nfields(node->grok))
			rc = checked ? grok_match_checked(node->grok, s, len, evt->parsed) :
				       grok_match(node->grok, s, len, evt->parsed);
		free(buf);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			grok_ok = true;
			err = node_statics(p, node, &node->grok_statics, evt, stage);
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
		int rc = node_process(p, &node->children[i], evt, stage);

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
		err = node_statics(p, node, &node->statics, evt, stage);
		if (err)
			return err;
	}
	if (node->next_stage && *stage >= 0 && (size_t)*stage + 1 < p->nstages) {
		err = cs_event_set_str(&evt->stage, p->stages[*stage + 1]);
		if (err)
			return err;
		++*stage;
	}
	return 1;
}

int cs_parse(struct cs_parsers *p, struct cs_event *evt, cs_parse_observer obs, void *arg)
{
	size_t t = 0;
	int err = prepare(p), cur;

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
		parsers_now(p, &evt->time, true);
	/* the event's stage as an index: only a node can move it, so it is read again after one */
	cur = stage_index(p, evt->stage);
	for (size_t si = 0; si < p->nstages; si++) {
		const char *stage = p->stages[si];
		bool stage_ok = false;

		/* Skip to the event's stage (tests inject events past s00). */
		if (cur > (int)si) {
			while (t < p->ntops && p->tops[t].stage_idx == si)
				t++;
			continue;
		}
		/* The previous stage succeeded without moving the event on: dropped. */
		if (cur != (int)si)
			return 0;
		for (; t < p->ntops && p->tops[t].stage_idx == si; t++) {
			const struct cs_node *node = &p->tops[t].node;
			int rc;

			/* A sub-node with next_stage moved the event: the rest of the stage is skipped. */
			if (cur != (int)si)
				continue;
			rc = node_process(p, node, evt, &cur);
			if (rc < 0)
				return rc;
			if (obs && (err = obs(stage, node->name, evt, rc > 0, arg)))
				return err;
			if (rc)
				stage_ok = true;
			if (rc && node->next_stage) {
				while (t + 1 < p->ntops && p->tops[t + 1].stage_idx == si)
					t++;
			}
		}
		if (!stage_ok)
			return 0;
	}
	evt->process = true;
	return 0;
}
