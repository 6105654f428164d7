// SPDX-License-Identifier: MIT
/*
 * JSON <-> struct cs_alert / cs_decision with 1.4.6's rendering rules
 * (contract section 4): empty lists are null, omitempty fields omitted, times
 * in three formats, durations as Go strings counting down.
 */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/utf8.h"
#include "lapi/lapi_int.h"

const char *codec_json_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "null";
	}
}

struct dctx {
	size_t idx;
	char *msg;
	size_t msglen;
	json_t *missing;
	int err;
};

static void missing(struct dctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void missing(struct dctx *c, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(c->missing, utf8_json_string(buf)); /* buf may cut a character */
	if (!c->err)
		c->err = -EINVAL;
}

static void type_error(struct dctx *c, const json_t *v, const char *obj, const char *field,
		       const char *want)
{
	if (c->err == -EBADMSG)
		return;
	snprintf(c->msg, c->msglen,
		 "json: cannot unmarshal %s into Go struct field %s.%s of type %s", codec_json_type(v), obj,
		 field, want);
	c->err = -EBADMSG;
}

/* The JSON types a member may have, as a mask of 1 << json_type. */
#define J_STRING (1u << JSON_STRING)
#define J_INTEGER (1u << JSON_INTEGER)
#define J_BOOL ((1u << JSON_TRUE) | (1u << JSON_FALSE))
#define J_ARRAY (1u << JSON_ARRAY)
#define J_OBJECT (1u << JSON_OBJECT)

/*
 * o's member key when present, not null and of one of the types; else NULL,
 * with absent/null noted as missing when required and another type as a
 * type error naming want (Go's type).
 */
static json_t *get_member(struct dctx *c, json_t *o, const char *key, const char *obj,
			  const char *path, bool required, unsigned types, const char *want)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		if (required)
			missing(c, "%s%s in body is required", path, key);
		return NULL;
	}
	if (!(types & (1u << json_typeof(v)))) {
		type_error(c, v, obj, key, want);
		return NULL;
	}
	return v;
}

/* Required or optional string: NULL when absent/null (required => missing). */
static char *get_str(struct dctx *c, json_t *o, const char *key, const char *obj,
		     const char *path, bool required)
{
	json_t *v = get_member(c, o, key, obj, path, required, J_STRING, "string");

	return v ? strdup(json_string_value(v)) : NULL;
}

static int64_t get_int(struct dctx *c, json_t *o, const char *key, const char *obj,
		       const char *path, bool required, int64_t min, int64_t max)
{
	json_t *v = get_member(c, o, key, obj, path, required, J_INTEGER, "int32");

	if (!v)
		return 0;
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		type_error(c, v, obj, key, "int32");
		return 0;
	}
	return json_integer_value(v);
}

static bool get_bool(struct dctx *c, json_t *o, const char *key, const char *obj,
		     const char *path, bool required)
{
	json_t *v = get_member(c, o, key, obj, path, required, J_BOOL, "bool");

	return v && json_is_true(v);
}

/* String members of a Go struct read in one pass, in this order (the order of the errors). */
struct str_member {
	const char *key;
	size_t off; /* of the char * in the decoded struct */
	bool required;
};
static const struct str_member alert_strs[] = {
	{ "leakspeed", offsetof(struct cs_alert, leakspeed), true },
	{ "message", offsetof(struct cs_alert, message), true },
	{ "scenario", offsetof(struct cs_alert, scenario), true },
	{ "scenario_hash", offsetof(struct cs_alert, scenario_hash), true },
	{ "scenario_version", offsetof(struct cs_alert, scenario_version), true },
};
static const struct str_member source_strs[] = {
	{ "as_name", offsetof(struct cs_alert, src_as_name), false },
	{ "as_number", offsetof(struct cs_alert, src_as_number), false },
	{ "cn", offsetof(struct cs_alert, src_cn), false },
	{ "ip", offsetof(struct cs_alert, src_ip), false },
	{ "range", offsetof(struct cs_alert, src_range), false },
	{ "scope", offsetof(struct cs_alert, src_scope), true },
	{ "value", offsetof(struct cs_alert, src_value), true },
};

static void get_strs(struct dctx *c, json_t *o, const char *obj, const char *path,
		     const struct str_member *m, size_t n, void *dst)
{
	for (size_t i = 0; i < n; i++)
		*(char **)((char *)dst + m[i].off) = get_str(c, o, m[i].key, obj, path, m[i].required);
}

static int64_t get_time(struct dctx *c, json_t *o, const char *key, const char *obj,
			const char *path, int64_t now)
{
	char *s = get_str(c, o, key, obj, path, true);
	int64_t t = now;

	/* 1.4.6 substitutes "now" for an unparsable time (logged, not an error). */
	if (s && gotime_parse_rfc3339(s, &t))
		t = now;
	free(s);
	return t;
}

/* Meta list [{key, value}] normalised: strings only, empty fields omitted. */
static json_t *norm_meta(struct dctx *c, json_t *v, const char *obj)
{
	json_t *out, *it;
	size_t i;

	if (!v || json_is_null(v))
		return json_null();
	if (!json_is_array(v)) {
		type_error(c, v, obj, "meta", "models.Meta");
		return NULL;
	}
	out = json_array();
	json_array_foreach(v, i, it) {
		json_t *k = json_object_get(it, "key"), *val = json_object_get(it, "value");
		json_t *m = json_object();

		if (!json_is_object(it) || (k && !json_is_string(k) && !json_is_null(k)) ||
		    (val && !json_is_string(val) && !json_is_null(val))) {
			type_error(c, it, "MetaItems0", "key", "string");
			json_decref(m);
			json_decref(out);
			return NULL;
		}
		if (json_is_string(k) && json_string_length(k))
			json_object_set(m, "key", k);
		if (json_is_string(val) && json_string_length(val))
			json_object_set(m, "value", val);
		json_array_append_new(out, m);
	}
	return out;
}

static char *serialize_meta(json_t *meta)
{
	char *s = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	size_t i;
	json_t *it;

	if (!s || strlen(s) <= LAPI_EVENT_META_MAX)
		return s;
	free(s);
	/* Too long: strip long values (1.4.6 truncates with a "<stripped>" marker). */
	json_array_foreach(meta, i, it) {
		json_t *v = json_object_get(it, "value");

		if (json_is_string(v) && json_string_length(v) > 512) {
			char buf[512 + 16];

			/* the cut may split a UTF-8 sequence: the lossy string mends it */
			snprintf(buf, sizeof(buf), "%.500s<stripped>", json_string_value(v));
			json_object_set_new(it, "value", utf8_json_string(buf));
		}
	}
	s = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!s || strlen(s) <= LAPI_EVENT_META_MAX)
		return s;
	free(s);
	return strdup("null");
}

static void decode_decision(struct dctx *c, json_t *o, size_t j, struct cs_decision *d)
{
	char path[64];
	char *dur;

	snprintf(path, sizeof(path), "%zu.decisions.%zu.", c->idx, j);
	if (!json_is_object(o)) {
		type_error(c, o, "Alert", "decisions", "models.Decision");
		return;
	}
	dur = get_str(c, o, "duration", "Decision", path, true);
	d->origin = get_str(c, o, "origin", "Decision", path, true);
	d->scenario = get_str(c, o, "scenario", "Decision", path, true);
	d->scope = get_str(c, o, "scope", "Decision", path, true);
	d->type = get_str(c, o, "type", "Decision", path, true);
	d->value = get_str(c, o, "value", "Decision", path, true);
	if (dur && gotime_parse_duration(dur, &d->duration) && !c->err) {
		snprintf(c->msg, c->msglen, "decision duration '%s' : time: invalid duration \"%s\"",
			 dur, dur);
		c->err = -EBADMSG;
	}
	free(dur);
}

int codec_alert_decode(json_t *o, size_t idx, int64_t now, struct cs_alert **out, char *msg,
		       size_t msglen, json_t *miss)
{
	struct dctx c = { .idx = idx, .msg = msg, .msglen = msglen, .missing = miss };
	struct cs_alert *a;
	json_t *v, *src;
	char path[32];
	size_t i;

	*out = NULL;
	if (!json_is_object(o)) {
		snprintf(msg, msglen, "json: cannot unmarshal %s into Go value of type models.Alert",
			 codec_json_type(o));
		return -EBADMSG;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%zu.", idx);
	a->capacity = get_int(&c, o, "capacity", "Alert", path, true, INT32_MIN, INT32_MAX);
	a->events_count = get_int(&c, o, "events_count", "Alert", path, true, INT32_MIN, INT32_MAX);

	v = get_member(&c, o, "events", "Alert", path, true, J_ARRAY, "[]*models.Event");
	if (v) {
		json_t *ev;

		a->events = calloc(json_array_size(v) + 1, sizeof(*a->events));
		if (!a->events) {
			c.err = -ENOMEM;
			goto out;
		}
		json_array_foreach(v, i, ev) {
			char epath[48];
			json_t *meta;

			snprintf(epath, sizeof(epath), "%zu.events.%zu.", idx, i);
			if (!json_is_object(ev)) {
				type_error(&c, ev, "Alert", "events", "models.Event");
				break;
			}
			a->events[i].timestamp = get_time(&c, ev, "timestamp", "Event", epath, now);
			if (!json_object_get(ev, "meta"))
				missing(&c, "%smeta in body is required", epath);
			meta = norm_meta(&c, json_object_get(ev, "meta"), "Event");
			if (meta) {
				a->events[i].meta_json = serialize_meta(meta);
				json_decref(meta);
			}
			a->n_events++;
		}
	}
	get_strs(&c, o, "Alert", path, alert_strs, sizeof(alert_strs) / sizeof(alert_strs[0]), a);
	a->simulated = get_bool(&c, o, "simulated", "Alert", path, true);
	a->remediation = get_bool(&c, o, "remediation", "Alert", path, false);
	a->uuid = get_str(&c, o, "uuid", "Alert", path, false);
	if (a->uuid && (!*a->uuid || strlen(a->uuid) > 64)) { /* not a uuid: no retry key */
		free(a->uuid);
		a->uuid = NULL;
	}

	src = get_member(&c, o, "source", "Alert", path, true, J_OBJECT, "models.Source");
	if (src) {
		char spath[48];
		json_t *lat = json_object_get(src, "latitude"), *lon = json_object_get(src, "longitude");

		snprintf(spath, sizeof(spath), "%zu.source.", idx);
		get_strs(&c, src, "Source", spath, source_strs,
			 sizeof(source_strs) / sizeof(source_strs[0]), a);
		if (lat && !json_is_null(lat) && !json_is_number(lat))
			type_error(&c, lat, "Source", "latitude", "float32");
		else if (lat)
			a->src_latitude = json_number_value(lat);
		if (lon && !json_is_null(lon) && !json_is_number(lon))
			type_error(&c, lon, "Source", "longitude", "float32");
		else if (lon)
			a->src_longitude = json_number_value(lon);
	}
	a->start_at = get_time(&c, o, "start_at", "Alert", path, now);
	a->stop_at = get_time(&c, o, "stop_at", "Alert", path, now);

	v = json_object_get(o, "decisions");
	if (v && !json_is_null(v)) {
		json_t *d;

		if (!json_is_array(v)) {
			type_error(&c, v, "Alert", "decisions", "[]*models.Decision");
		} else {
			a->decisions = calloc(json_array_size(v) + 1, sizeof(*a->decisions));
			if (!a->decisions) {
				c.err = -ENOMEM;
				goto out;
			}
			json_array_foreach(v, i, d) {
				decode_decision(&c, d, i, &a->decisions[i]);
				a->n_decisions++;
			}
		}
	}
	v = json_object_get(o, "meta");
	if (v && !json_is_null(v)) {
		json_t *m = norm_meta(&c, v, "Alert"), *it;

		if (m) {
			a->meta = calloc(json_array_size(m) + 1, sizeof(*a->meta));
			json_array_foreach(m, i, it) {
				if (!a->meta)
					break;
				const char *k = json_string_value(json_object_get(it, "key"));
				const char *val = json_string_value(json_object_get(it, "value"));

				a->meta[i].key = strdup(k ? k : "");
				a->meta[i].value = strdup(val ? val : "");
				a->n_meta++;
			}
			json_decref(m);
		}
	}
	v = json_object_get(o, "labels");
	if (v && !json_is_null(v) && !json_is_array(v))
		type_error(&c, v, "Alert", "labels", "[]string");
out:
	if (c.err) {
		cs_alert_free(a);
		return c.err;
	}
	*out = a;
	return 0;
}

/* Stored strings go out as JSON whatever bytes they hold (NULL as ""). */
static json_t *jstr(const char *s)
{
	return utf8_json_string(s ? s : "");
}

static void set_str_omitempty(json_t *o, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_new(o, key, utf8_json_string(v));
}

json_t *codec_decision_encode(const struct cs_decision *d, bool with_simulated)
{
	char dur[GOTIME_STRLEN];
	json_t *o;

	gotime_format_duration(d->duration, dur, sizeof(dur));
	o = json_pack("{s:s,s:I,s:o,s:o,s:o,s:o,s:o}", "duration", dur, "id",
		      (json_int_t)d->id, "origin", jstr(d->origin), "scenario", jstr(d->scenario),
		      "scope", jstr(d->scope), "type", jstr(d->type), "value", jstr(d->value));
	if (o && with_simulated)
		json_object_set_new(o, "simulated", json_boolean(d->simulated));
	return o;
}

json_t *codec_decisions_encode(const struct cs_decision *v, size_t n, bool with_simulated)
{
	json_t *a;

	if (!n)
		return json_null();
	a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, codec_decision_encode(&v[i], with_simulated));
	return a;
}

json_t *codec_alert_encode(const struct cs_alert *a)
{
	char created[GOTIME_STRLEN], start[GOTIME_STRLEN], stop[GOTIME_STRLEN];
	json_t *o, *src, *events = json_null(), *meta;

	gotime_format_rfc3339(a->created_at, created, sizeof(created));
	gotime_format_gostring(a->start_at, start, sizeof(start));
	gotime_format_gostring(a->stop_at, stop, sizeof(stop));
	src = json_pack("{s:o,s:o}", "scope", jstr(a->src_scope), "value", jstr(a->src_value));
	if (!src)
		return NULL;
	set_str_omitempty(src, "as_name", a->src_as_name);
	set_str_omitempty(src, "as_number", a->src_as_number);
	set_str_omitempty(src, "cn", a->src_cn);
	set_str_omitempty(src, "ip", a->src_ip);
	set_str_omitempty(src, "range", a->src_range);
	if (a->src_latitude != 0)
		json_object_set_new(src, "latitude", json_real((float)a->src_latitude));
	if (a->src_longitude != 0)
		json_object_set_new(src, "longitude", json_real((float)a->src_longitude));
	if (a->n_events) {
		events = json_array();
		for (size_t i = 0; events && i < a->n_events; i++) {
			char ts[GOTIME_STRLEN];
			json_t *m = json_loads(a->events[i].meta_json ? a->events[i].meta_json : "null",
					       JSON_DECODE_ANY, NULL);

			gotime_format_gostring(a->events[i].timestamp, ts, sizeof(ts));
			if (m && json_is_array(m) && !json_array_size(m)) {
				json_decref(m);
				m = json_null();
			}
			json_array_append_new(events, json_pack("{s:o,s:s}", "meta",
								m ? m : json_null(), "timestamp", ts));
		}
	}
	o = json_pack("{s:I,s:s,s:o,s:o,s:I,s:I,s:n,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:s,s:s}",
		      "capacity", (json_int_t)a->capacity, "created_at", created, "decisions",
		      codec_decisions_encode(a->decisions, a->n_decisions, true), "events", events,
		      "events_count", (json_int_t)a->events_count, "id", (json_int_t)a->id, "labels",
		      "leakspeed", jstr(a->leakspeed), "machine_id",
		      utf8_json_string(a->machine_id ? a->machine_id : "N/A"), "message",
		      jstr(a->message), "scenario", jstr(a->scenario), "scenario_hash",
		      jstr(a->scenario_hash), "scenario_version", jstr(a->scenario_version),
		      "simulated", a->simulated, "source", src, "start_at", start, "stop_at", stop);
	if (o && a->n_meta) {
		meta = json_array();
		for (size_t i = 0; meta && i < a->n_meta; i++) {
			json_t *m = json_object();

			set_str_omitempty(m, "key", a->meta[i].key);
			set_str_omitempty(m, "value", a->meta[i].value);
			json_array_append_new(meta, m);
		}
		json_object_set_new(o, "meta", meta);
	}
	return o;
}

int codec_json_depth(const char *s, size_t len)
{
	int depth = 0, max = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"') {
			in_str = true;
		} else if (ch == '[' || ch == '{') {
			if (++depth > max)
				max = depth;
		} else if (ch == ']' || ch == '}') {
			depth--;
		}
	}
	return max;
}

char *codec_dump(json_t *j, size_t *len)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	*len = s ? strlen(s) : 0;
	return s;
}
