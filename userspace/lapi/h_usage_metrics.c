// SPDX-License-Identifier: MIT
/*
 * POST /v1/usage-metrics (CrowdSec 1.6.3+): a bouncer (API key) or a log
 * processor (machine JWT) reports its usage metrics. The body is checked against
 * upstream's swagger (models.AllMetrics): a value of the wrong JSON type is a 400
 * naming the Go field as encoding/json does, a missing required field or a
 * string past 255 bytes a 422 listing every failure by path
 * ("remediation_components.0.utc_startup_timestamp in body is required"). The
 * sender's one item is stored as upstream does ({"type", "metrics"} for a
 * bouncer, {"metrics"} for a machine) for `cscli metrics show bouncers`.
 * The body is bounded by LAPI_MAX_BODY_ANON (the route authenticates after it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "lapi/lapi_int.h"

#define MAX_STR 255

enum kind { K_STR, K_INT, K_NUM, K_OBJ, K_ARR };

struct check {
	struct sbuf fails; /* "path in body is required\n"... */
	char type_err[1024];
};

/* The first type error wins: "json: cannot unmarshal <type> into Go struct field <gopath> of type <want>". */
static void type_error(struct check *c, const json_t *v, const char *gopath, const char *want)
{
	if (!c->type_err[0])
		snprintf(c->type_err, sizeof(c->type_err),
			 "json: cannot unmarshal %s into Go struct field %s of type %s",
			 codec_json_type(v), gopath, want);
}

static bool kind_ok(const json_t *v, enum kind k)
{
	switch (k) {
	case K_STR:
		return json_is_string(v);
	case K_INT:
		return json_is_integer(v);
	case K_NUM:
		return json_is_number(v);
	case K_OBJ:
		return json_is_object(v);
	case K_ARR:
		return json_is_array(v);
	}
	return false;
}

/* Where a value is: "remediation_components.0.os" and Go's "AllMetrics.remediation_components.os". */
struct at {
	char path[256], go[256];
};

/* `in` then one step down: key (an object's field), index >= 0 (an array's item). */
static struct at down(const struct at *in, const char *key, long index)
{
	struct at o = *in;
	int n, g = 0;

	/* a path past its buffer (a 64 KiB body can nest deep) is cut, still naming its start */
	if (index >= 0) {
		n = snprintf(o.path, sizeof(o.path), "%s.%ld", in->path, index);
	} else {
		n = snprintf(o.path, sizeof(o.path), "%s%s%s", in->path, *in->path ? "." : "", key);
		g = snprintf(o.go, sizeof(o.go), "%s.%s", in->go, key);
	}
	if (n >= (int)sizeof(o.path) || g >= (int)sizeof(o.go))
		log_debug("usage metrics: a field path was cut");
	return o;
}

/*
 * obj[key] of kind k: NULL when absent (a failure if required) or of the wrong
 * kind (the type error, first one wins). *sub (optional): where it is.
 */
static json_t *field(struct check *c, json_t *obj, const char *key, enum kind k, bool required,
		     const struct at *at, struct at *sub)
{
	static const char *const gotype[] = { "string", "int64", "float64", "struct", "slice" };
	json_t *v = json_object_get(obj, key);
	struct at me = down(at, key, -1);

	if (sub)
		*sub = me;
	if (!v || json_is_null(v)) {
		if (required)
			sb_printf(&c->fails, "%s in body is required\n", me.path);
		return NULL;
	}
	if (!kind_ok(v, k)) {
		type_error(c, v, me.go, gotype[k]);
		return NULL;
	}
	if (k == K_STR && json_string_length(v) > MAX_STR)
		sb_printf(&c->fails, "%s in body should be at most %d chars long\n", me.path, MAX_STR);
	return v;
}

/* Every value of the map o of kind k. */
static void map_of(struct check *c, json_t *o, enum kind k, const struct at *at)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v)
		field(c, o, key, k, false, at, NULL);
}

static void detailed_metrics(struct check *c, json_t *arr, const struct at *at)
{
	size_t i, j;
	json_t *m, *it, *meta, *items, *labels;

	json_array_foreach(arr, i, m) {
		struct at mi = down(at, NULL, (long)i), sub, ii;

		if (!json_is_object(m)) {
			type_error(c, m, mi.go, "models.DetailedMetrics");
			continue;
		}
		items = field(c, m, "items", K_ARR, true, &mi, &ii);
		if ((meta = field(c, m, "meta", K_OBJ, true, &mi, &sub))) {
			field(c, meta, "utc_now_timestamp", K_INT, true, &sub, NULL);
			field(c, meta, "window_size_seconds", K_INT, true, &sub, NULL);
		}
		json_array_foreach(items, j, it) {
			struct at item = down(&ii, NULL, (long)j);

			if (!json_is_object(it)) {
				type_error(c, it, item.go, "models.MetricsDetailItem");
				continue;
			}
			field(c, it, "name", K_STR, true, &item, NULL);
			field(c, it, "unit", K_STR, true, &item, NULL);
			field(c, it, "value", K_NUM, true, &item, NULL);
			if ((labels = field(c, it, "labels", K_OBJ, false, &item, &sub)))
				map_of(c, labels, K_STR, &sub);
		}
	}
}

/* BaseMetrics and the kind's own fields of one item (rc: a bouncer's). */
static void component(struct check *c, json_t *o, const struct at *at, bool rc)
{
	json_t *os, *ff, *metrics, *hub, *ds, *v;
	struct at sub;
	size_t j;

	field(c, o, "version", K_STR, true, at, NULL);
	field(c, o, "utc_startup_timestamp", K_INT, true, at, NULL);
	if ((os = field(c, o, "os", K_OBJ, false, at, &sub))) {
		field(c, os, "name", K_STR, true, &sub, NULL);
		field(c, os, "version", K_STR, true, &sub, NULL);
		field(c, os, "family", K_STR, false, &sub, NULL);
	}
	if ((ff = field(c, o, "feature_flags", K_ARR, false, at, &sub)))
		json_array_foreach(ff, j, v)
			if (!json_is_string(v))
				type_error(c, v, sub.go, "string");
	if ((metrics = field(c, o, "metrics", K_ARR, false, at, &sub)))
		detailed_metrics(c, metrics, &sub);
	field(c, o, "name", K_STR, false, at, NULL);
	if (rc) {
		field(c, o, "type", K_STR, false, at, NULL);
		field(c, o, "last_pull", K_INT, false, at, NULL);
		return;
	}
	field(c, o, "last_push", K_INT, false, at, NULL);
	field(c, o, "last_update", K_INT, false, at, NULL);
	if ((hub = field(c, o, "hub_items", K_OBJ, true, at, &sub)))
		map_of(c, hub, K_ARR, &sub);
	if ((ds = field(c, o, "datasources", K_OBJ, true, at, &sub)))
		map_of(c, ds, K_INT, &sub);
}

/* Every item of both lists, as upstream validates the whole body first. */
static void check_all(struct check *c, json_t *body)
{
	static const char *const lists[] = { "remediation_components", "log_processors" };
	const struct at top = { "", "AllMetrics" };

	for (int l = 0; l < 2; l++) {
		struct at la;
		json_t *arr = field(c, body, lists[l], K_ARR, false, &top, &la), *o;
		size_t i;

		json_array_foreach(arr, i, o) {
			struct at item = down(&la, NULL, (long)i);

			if (json_is_object(o))
				component(c, o, &item, l == 0);
			else
				type_error(c, o, item.go, l ? "models.LogProcessorsMetrics"
							    : "models.RemediationComponentsMetrics");
		}
	}
	field(c, body, "lapi", K_OBJ, false, &top, NULL);
}

/* "name/version" of os, feature flags joined by ',' (what the sender's row keeps) */
static void base_facts(json_t *item, char *os, size_t oslen, struct sbuf *ff)
{
	json_t *o = json_object_get(item, "os"), *v;
	size_t i;

	snprintf(os, oslen, "%s%s%s", json_string_value(json_object_get(o, "name")) ?: "",
		 o ? "/" : "", json_string_value(json_object_get(o, "version")) ?: "");
	json_array_foreach(json_object_get(item, "feature_flags"), i, v)
		sb_printf(ff, "%s%s", i ? "," : "", json_string_value(v));
}

void h_usage_metrics(struct req *r)
{
	const char *list = r->is_bouncer ? "remediation_components" : "log_processors";
	const char *kind = r->is_bouncer ? "remediation component" : "log processor";
	struct check c = { .fails = { .max = 64u << 10 } };
	json_t *body = req_json(r), *arr, *item, *payload = NULL;
	struct sbuf ff = { .max = 64u << 10 };
	char os[600], *text = NULL, *fails = NULL;
	int err;

	if (!body)
		return;
	if (!json_is_object(body)) {
		reply_msg(r, 400, "json: cannot unmarshal %s into Go value of type models.AllMetrics",
			  codec_json_type(body));
		goto out;
	}
	check_all(&c, body);
	if (c.type_err[0]) {
		reply_msg(r, 400, "%s", c.type_err);
		goto out;
	}
	if (c.fails.len) {
		fails = sb_take(&c.fails, NULL);
		if (fails)
			fails[strlen(fails) - 1] = '\0';
		reply_msg(r, 422, "validation failure list:\n%s", fails ? fails : "too many failures");
		goto out;
	}
	arr = json_object_get(body, list);
	if (!json_array_size(arr)) {
		reply_msg(r, 400, "Missing %s data", kind);
		goto out;
	}
	if (json_array_size(arr) > 1) {
		reply_msg(r, 400, "Payload has more than one %s", kind);
		goto out;
	}
	item = json_array_get(arr, 0);
	payload = r->is_bouncer ? json_pack("{s:O?,s:O?}", "type", json_object_get(item, "type"),
					    "metrics", json_object_get(item, "metrics"))
				: json_pack("{s:O?}", "metrics", json_object_get(item, "metrics"));
	text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
	base_facts(item, os, sizeof(os), &ff);
	if (!text || ff.err) {
		reply_msg(r, 500, "out of memory");
		goto out;
	}
	err = cs_db_usage_metric_add(r->l->db, r->is_bouncer ? "RC" : "LP",
				     r->is_bouncer ? r->bouncer.name : r->machine,
				     json_string_value(json_object_get(item, "version")), os,
				     ff.buf ? ff.buf : "", text, gotime_now());
	if (err)
		reply_msg(r, 500, "database error: %s", cs_db_errmsg(r->l->db));
	else
		reply_empty(r, 201);
out:
	free(text);
	free(fails);
	sb_free(&c.fails);
	sb_free(&ff);
	json_decref(payload);
	json_decref(body);
}
