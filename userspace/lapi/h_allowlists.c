// SPDX-License-Identifier: MIT
/*
 * Allowlists in the LAPI (CrowdSec 1.6.6+):
 *   GET  /v1/allowlists[?with_content=true]     the lists
 *   GET  /v1/allowlists/{name}[?with_content=true]
 *   GET|HEAD /v1/allowlists/check/{ip_or_range}  {"allowlisted":..., "reason":...} / 200|204
 *   POST /v1/allowlists/check {"targets":[...]}  {"results":[{"target","allowlists"}]}
 * and the rule every stored alert goes through: an allowlisted IP or range gets no
 * decision (lapi_allowlist_filter, called before profiles run).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/gotime.h"
#include "common/log.h"
#include "common/utf8.h"
#include "lapi/lapi_int.h"

#define ALLOWLIST_MAX_TARGETS 1000

static json_t *time_json(int64_t t)
{
	char buf[64];

	gotime_format_rfc3339(t, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *allowlist_json(const struct cs_allowlist *a)
{
	json_t *o = json_object(), *items = json_array();

	for (size_t i = 0; i < a->nitems; i++) {
		const struct cs_allowlist_item *it = &a->items[i];
		json_t *e = json_object();

		json_object_set_new(e, "created_at", time_json(it->created_at));
		if (*it->comment)
			json_object_set_new(e, "description", utf8_json_string(it->comment));
		if (it->expires_at)
			json_object_set_new(e, "expiration", time_json(it->expires_at));
		json_object_set_new(e, "value", utf8_json_string(it->value));
		json_array_append_new(items, e);
	}
	if (*a->allowlist_id)
		json_object_set_new(o, "allowlist_id", utf8_json_string(a->allowlist_id));
	if (a->from_console)
		json_object_set_new(o, "console_managed", json_true());
	json_object_set_new(o, "created_at", time_json(a->created_at));
	if (*a->description)
		json_object_set_new(o, "description", utf8_json_string(a->description));
	json_object_set_new(o, "items", items);
	json_object_set_new(o, "name", utf8_json_string(a->name));
	json_object_set_new(o, "updated_at", time_json(a->updated_at));
	return o;
}

static bool with_content(struct req *r)
{
	const char *v = req_arg(r, "with_content");

	return v && !strcmp(v, "true");
}

void h_allowlists_get(struct req *r)
{
	struct cs_allowlist *v = NULL;
	size_t n = 0;
	json_t *arr;

	if (cs_db_allowlist_list(r->l->db, with_content(r), gotime_now(), &v, &n)) {
		reply_msg(r, 500, "unable to list allowlists: %s", cs_db_errmsg(r->l->db));
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, allowlist_json(&v[i]));
	cs_allowlists_free(v, n);
	reply_json(r, 200, arr);
}

void h_allowlist_get(struct req *r)
{
	struct cs_allowlist a;
	int err = cs_db_allowlist_get(r->l->db, r->param, with_content(r), gotime_now(), &a);

	if (err == -ENOENT) {
		reply_msg(r, 404, "allowlist '%s' not found", r->param);
		return;
	}
	if (err) {
		reply_msg(r, 500, "database error: %s", cs_db_errmsg(r->l->db));
		return;
	}
	reply_json(r, 200, allowlist_json(&a));
	cs_allowlist_clear(&a);
}

void h_allowlist_check(struct req *r)
{
	char *reason = NULL;
	int rc = cs_db_allowlisted(r->l->db, r->param, gotime_now(), &reason);

	if (rc == -EINVAL) {
		reply_msg(r, 400, "invalid ip address / range: %s", r->param);
		return;
	}
	if (rc < 0) {
		reply_msg(r, 500, "database error: %s", cs_db_errmsg(r->l->db));
		return;
	}
	if (r->head) {
		reply_empty(r, rc ? 200 : 204);
	} else {
		json_t *o = json_object();

		if (rc) {
			json_object_set_new(o, "allowlisted", json_true());
			json_object_set_new(o, "reason", utf8_json_string(reason));
		}
		reply_json(r, 200, o);
	}
	free(reason);
}

void h_allowlists_check_bulk(struct req *r)
{
	json_t *j = req_json(r), *targets, *t, *results;
	int64_t now = gotime_now();
	size_t i;

	if (!j)
		return;
	targets = json_object_get(j, "targets");
	if (!json_is_array(targets) || !json_array_size(targets)) {
		reply_msg(r, 400, "targets list cannot be empty");
		goto out;
	}
	if (json_array_size(targets) > ALLOWLIST_MAX_TARGETS) {
		reply_msg(r, 400, "too many targets (at most %d)", ALLOWLIST_MAX_TARGETS);
		goto out;
	}
	results = json_array();
	json_array_foreach(targets, i, t) {
		const char *v = json_string_value(t);
		char *reason = NULL;
		int rc;

		if (!v) {
			json_decref(results);
			reply_msg(r, 400, "targets[%zu] is not a string", i);
			goto out;
		}
		rc = cs_db_allowlisted(r->l->db, v, now, &reason);
		if (rc == -EINVAL) {
			json_decref(results);
			reply_msg(r, 400, "invalid ip address / range: %s", v);
			goto out;
		}
		if (rc < 0) {
			json_decref(results);
			reply_msg(r, 500, "database error: %s", cs_db_errmsg(r->l->db));
			goto out;
		}
		if (rc)
			json_array_append_new(results, json_pack("{s:s,s:[o]}", "target", v,
								 "allowlists", utf8_json_string(reason)));
		free(reason);
	}
	reply_json(r, 200, json_pack("{s:o}", "results", results));
out:
	json_decref(j);
}

static bool addr_scope(const char *scope)
{
	return scope && (!strcasecmp(scope, "ip") || !strcasecmp(scope, "range"));
}

/* The live items, parsed once per alert: an import may carry many decisions. */
struct live_items {
	struct cs_allowlist *lists;
	size_t nlists;
	struct cs_prefix *ranges; /* per item, lists in order; family 0: unusable */
	size_t n;
};

/* The first item covering `value` or inside it (upstream's two-way test) ("v from list"), or NULL. */
static const char *live_match(const struct live_items *li, const char *value, char *buf,
			      size_t len)
{
	struct cs_prefix r;
	size_t k = 0;

	if (cs_prefix_parse(value, CS_PREFIX_MASK, &r))
		return NULL;
	for (size_t a = 0; a < li->nlists; a++)
		for (size_t i = 0; i < li->lists[a].nitems; i++, k++)
			if (li->ranges[k].family && cs_prefix_overlaps(&li->ranges[k], &r)) {
				snprintf(buf, len, "%s from %s", li->lists[a].items[i].value,
					 li->lists[a].name);
				return buf;
			}
	return NULL;
}

static int live_load(struct cs_lapi *l, int64_t now, struct live_items *li)
{
	size_t k = 0;
	int err = cs_db_allowlist_list(l->db, true, now, &li->lists, &li->nlists);

	if (err)
		return err;
	for (size_t a = 0; a < li->nlists; a++)
		li->n += li->lists[a].nitems;
	li->ranges = calloc(li->n + 1, sizeof(*li->ranges));
	if (!li->ranges)
		return -ENOMEM;
	for (size_t a = 0; a < li->nlists; a++)
		for (size_t i = 0; i < li->lists[a].nitems; i++, k++)
			if (cs_prefix_parse(li->lists[a].items[i].value, CS_PREFIX_MASK,
					    &li->ranges[k]))
				li->ranges[k].family = 0;
	return 0;
}

/* One alert against the loaded items: true when it is to be dropped whole. */
static bool filter_one(const struct live_items *li, struct cs_alert *a)
{
	size_t kept = 0, had = a->n_decisions;
	const char *why;
	char buf[512];

	if (!had) {
		/* the detector's alerts: an allowlisted source makes no alert at all (upstream) */
		if (addr_scope(a->src_scope) && a->src_value &&
		    (why = live_match(li, a->src_value, buf, sizeof(buf)))) {
			log_info("alert source %s is allowlisted by %s, skipping", a->src_value, why);
			return true;
		}
		return false;
	}
	/* decisions brought by the alert (cscli decisions add, imports): never on an
	 * allowlisted value, whoever sends them */
	for (size_t i = 0; i < had; i++) {
		struct cs_decision *d = &a->decisions[i];

		if (addr_scope(d->scope) && d->value &&
		    (why = live_match(li, d->value, buf, sizeof(buf)))) {
			log_info("decision on %s dropped: allowlisted by %s", d->value, why);
			if (!a->decisions_borrowed)
				cs_decision_clear(d);
			continue;
		}
		a->decisions[kept++] = *d;
	}
	a->n_decisions = kept;
	return kept == 0;
}

struct allowlist_cache {
	pthread_mutex_t lock;
	struct live_items li;
	bool filled;
	int64_t until; /* the first expiry among li's items */
	unsigned long hits, reads;
};

static void live_free(struct live_items *li)
{
	cs_allowlists_free(li->lists, li->nlists);
	free(li->ranges);
	memset(li, 0, sizeof(*li));
}

static int64_t live_until(const struct live_items *li)
{
	int64_t until = INT64_MAX;

	for (size_t a = 0; a < li->nlists; a++)
		for (size_t i = 0; i < li->lists[a].nitems; i++)
			if (li->lists[a].items[i].expires_at &&
			    li->lists[a].items[i].expires_at < until)
				until = li->lists[a].items[i].expires_at;
	return until;
}

struct allowlist_cache *lapi_allowlist_cache_new(void)
{
	struct allowlist_cache *c = calloc(1, sizeof(*c));

	if (c)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void lapi_allowlist_cache_free(struct allowlist_cache *c)
{
	if (!c)
		return;
	live_free(&c->li);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void lapi_allowlist_cache_counts(struct cs_lapi *l, unsigned long *hits, unsigned long *reads)
{
	pthread_mutex_lock(&l->alcache->lock);
	*hits = l->alcache->hits;
	*reads = l->alcache->reads;
	pthread_mutex_unlock(&l->alcache->lock);
}

void lapi_allowlist_filter_all(struct cs_lapi *l, struct cs_alert *const *v, size_t n,
			       int64_t now, bool *drop)
{
	struct allowlist_cache *c = l->alcache;
	bool loaded = true;

	pthread_mutex_lock(&c->lock);
	if (c->filled && now < c->until && cs_db_unchanged(l->db)) {
		c->hits++;
	} else {
		uint32_t mark;
		/* before the read: a commit after it moves the counter past the stamp */
		bool markable = !cs_db_change_mark(l->db, &mark);

		live_free(&c->li);
		c->filled = false;
		c->reads++;
		loaded = !live_load(l, now, &c->li);
		if (loaded && markable) {
			c->until = live_until(&c->li);
			cs_db_stamp(l->db, mark);
			c->filled = true;
		}
	}
	/* as upstream: an allowlist that cannot be read does not stop alerts */
	if (!loaded)
		log_error("allowlists: %s", cs_db_errmsg(l->db));
	for (size_t i = 0; i < n; i++)
		drop[i] = loaded && c->li.n && filter_one(&c->li, v[i]);
	pthread_mutex_unlock(&c->lock);
}

bool lapi_allowlist_filter(struct cs_lapi *l, struct cs_alert *a, int64_t now)
{
	bool drop;

	lapi_allowlist_filter_all(l, &a, 1, now, &drop);
	return drop;
}
