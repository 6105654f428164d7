// SPDX-License-Identifier: MIT
/*
 * POST /v1/alerts bodies of the usual shape (what agents send: known members,
 * right types, nothing missing) decoded without a DOM. jansson builds a hash
 * table per object and a node per value: at 50 alerts per POST that was two
 * thirds of the request threads' time (~10 of ~15 us of CPU per alert).
 *
 * This decoder accepts only what it can decode exactly as codec_alert_decode()
 * would, and declines everything else: any JSON it would have to be lenient
 * about, a type the codec refuses, a required member absent or null, a member
 * given twice, a nested value under a member it does not know, a meta string
 * with a control character, an over-long event meta. A declined body takes the
 * jansson path, which owns every validation rule and error message; so no
 * answer changes, only the time the accepted ones take. tests/lapi/
 * test_lapi_codec.c decodes the same bodies both ways and compares, and so
 * does tests/fuzz/fuzz_lapi_alerts.c on whatever the fuzzer makes.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/jscan.h"
#include "common/strbuf.h"
#include "common/vec.h"
#include "lapi/lapi_int.h"

/* A literal (true, false, null) at the cursor. */
static bool eat_literal(struct jscan *s, const char *lit)
{
	size_t n = strlen(lit);

	if (jscan_peek(s) != (unsigned char)lit[0] || (size_t)(s->end - s->p) < n ||
	    memcmp(s->p, lit, n))
		return false;
	s->p += n;
	return true;
}

/* A number (jscan's grammar), copied NUL-terminated into buf; *is_int as jscan_number_end. */
static bool scan_number(struct jscan *s, char *buf, size_t buflen, bool *is_int)
{
	const char *e;

	if (!jscan_peek(s) || !(e = jscan_number_end(s->p, s->end, is_int)) ||
	    (size_t)(e - s->p) >= buflen)
		return false;
	memcpy(buf, s->p, (size_t)(e - s->p));
	buf[e - s->p] = '\0';
	s->p = (char *)e;
	return true;
}

/* Go's int32 member: a JSON integer in range (else the codec's type error: declined). */
static bool get_int32(struct jscan *s, int64_t *out)
{
	char buf[16];
	bool is_int;
	long long v;

	if (!scan_number(s, buf, sizeof(buf), &is_int) || !is_int)
		return false;
	v = strtoll(buf, NULL, 10);
	if (v < INT32_MIN || v > INT32_MAX)
		return false;
	*out = v;
	return true;
}

/* Go's float32 member (latitude, longitude): null leaves 0. */
static bool get_float(struct jscan *s, double *out)
{
	char buf[64];
	bool is_int;
	double v;

	if (eat_literal(s, "null"))
		return true;
	if (!scan_number(s, buf, sizeof(buf), &is_int))
		return false;
	if (is_int) { /* jansson: an integer, refused past long long */
		if (strlen(buf) > 18)
			return false;
		v = (double)strtoll(buf, NULL, 10);
	} else {
		v = strtod(buf, NULL);
		if (isinf(v)) /* jansson: "real number overflow" */
			return false;
	}
	*out = v;
	return true;
}

static bool get_bool(struct jscan *s, bool *out)
{
	if (eat_literal(s, "true"))
		return *out = true;
	if (eat_literal(s, "false"))
		return !(*out = false);
	return false;
}

/* A string member: a copy, or NULL for null when null is allowed (optional members). */
static bool get_str(struct jscan *s, bool nullable, char **out)
{
	char *v;

	if (nullable && eat_literal(s, "null")) {
		*out = NULL;
		return true;
	}
	if (jscan_peek(s) != '"' || !(v = jscan_string(s, NULL)))
		return false;
	*out = strdup(v);
	return *out != NULL;
}

/* A member this decoder does not read: any scalar (checked as jansson would); no containers. */
static bool skip_scalar(struct jscan *s)
{
	char buf[64];
	bool is_int;

	if (jscan_peek(s) == '"')
		return jscan_string(s, NULL) != NULL;
	return eat_literal(s, "true") || eat_literal(s, "false") || eat_literal(s, "null") ||
	       scan_number(s, buf, sizeof(buf), &is_int);
}

/* The index of key in keys[n], or n (the first byte tells most keys apart: 17 at most). */
static size_t key_index(const char *key, const char *const *keys, size_t n)
{
	size_t i = 0;

	while (i < n && (key[0] != keys[i][0] || strcmp(key, keys[i])))
		i++;
	return i;
}

/*
 * Walks an object's members: *k is the member's index in keys (n: unknown,
 * already skipped as a scalar). A member seen twice declines (jansson keeps
 * the last, the codec reads that one: not worth following here).
 */
struct members {
	const char *const *keys;
	size_t n;
	uint32_t seen;
	bool first;
};

static bool next_member(struct jscan *s, struct members *m, size_t *k)
{
	char *key;

	for (;;) {
		key = jscan_next_key(s, m->first);
		m->first = false;
		if (!key)
			return false;
		*k = key_index(key, m->keys, m->n);
		if (*k < m->n) {
			if (m->seen & (1u << *k)) {
				jscan_fail(s, "member repeated");
				return false;
			}
			m->seen |= 1u << *k;
			return true;
		}
		if (!skip_scalar(s)) {
			jscan_fail(s, "member not decoded here");
			return false;
		}
	}
}

/* A list member that may be null: true when '[' opened it or it is null (*none). */
static bool open_list(struct jscan *s, bool *none)
{
	*none = eat_literal(s, "null");
	return *none || jscan_eat(s, '[');
}

/* Opens an object: the walk of its members starts. */
static bool open_object(struct jscan *s, struct members *m, const char *const *keys, size_t n)
{
	*m = (struct members){ .keys = keys, .n = n, .first = true };
	return jscan_eat(s, '{');
}

/* ---- meta lists: [{"key": k, "value": v}, ...] ---------------------------------- */

static const char *const meta_keys[] = { "key", "value" };

/* jansson's compact dump of a string; false (declined) for a control character. */
static bool put_json_string(struct sbuf *o, const char *v)
{
	const char *run = v;

	sb_putc(o, '"');
	for (; *v; v++) {
		if ((unsigned char)*v < 0x20)
			return false;
		if (*v == '"' || *v == '\\') {
			sb_putn(o, run, (size_t)(v - run));
			sb_putc(o, '\\');
			sb_putc(o, *v);
			run = v + 1;
		}
	}
	sb_putn(o, run, (size_t)(v - run));
	sb_putc(o, '"');
	return true;
}

/*
 * One meta item: key and value, each a string or null. With o, the item goes
 * out as codec.c's serialize_meta writes it (empty strings omitted, keys
 * sorted); with kv, as the alert's meta pair ("" for null or empty).
 */
static bool meta_item(struct jscan *s, struct sbuf *o, struct cs_meta *kv)
{
	struct members m;
	char *val[2] = { NULL, NULL };
	bool ok = true;
	size_t k;

	if (!open_object(s, &m, meta_keys, 2))
		return false;
	while (ok && next_member(s, &m, &k)) {
		if (eat_literal(s, "null"))
			continue;
		/* decoded in place: lives as long as the scratch copy */
		ok = jscan_peek(s) == '"' && (val[k] = jscan_string(s, NULL));
	}
	if (!ok || jscan_failed(s))
		return false;
	if (kv) {
		kv->key = strdup(val[0] ? val[0] : "");
		kv->value = strdup(val[1] ? val[1] : "");
		return kv->key && kv->value;
	}
	sb_putc(o, '{');
	if (val[0] && *val[0]) {
		sb_puts(o, "\"key\":");
		ok = put_json_string(o, val[0]);
	}
	if (ok && val[1] && *val[1]) {
		sb_puts(o, val[0] && *val[0] ? ",\"value\":" : "\"value\":");
		ok = put_json_string(o, val[1]);
	}
	sb_putc(o, '}');
	return ok && !o->err;
}

/* An event's meta: null, or its list serialized (over LAPI_EVENT_META_MAX: declined). */
static bool event_meta(struct jscan *s, char **out)
{
	struct sbuf o = { .max = LAPI_EVENT_META_MAX };
	bool first = true;

	if (eat_literal(s, "null")) {
		*out = strdup("null");
		return *out != NULL;
	}
	if (!jscan_eat(s, '['))
		return false;
	sb_putc(&o, '[');
	while (jscan_next_elem(s, first)) {
		if (!first)
			sb_putc(&o, ',');
		first = false;
		if (!meta_item(s, &o, NULL)) {
			sb_free(&o);
			return false;
		}
	}
	sb_putc(&o, ']');
	if (jscan_failed(s)) {
		sb_free(&o);
		return false;
	}
	*out = sb_take(&o, NULL); /* NULL past the bound, as for no memory */
	return *out != NULL;
}

static bool alert_meta(struct jscan *s, struct cs_alert *a)
{
	size_t cap = 0;
	bool none, first = true;

	if (!open_list(s, &none) || none)
		return none;
	while (jscan_next_elem(s, first)) {
		first = false;
		if (vec_reserve((void **)&a->meta, &cap, a->n_meta, sizeof(*a->meta), 4))
			return false;
		memset(&a->meta[a->n_meta], 0, sizeof(*a->meta));
		if (!meta_item(s, NULL, &a->meta[a->n_meta++]))
			return false;
	}
	return !jscan_failed(s);
}

/* ---- events, decisions, source ------------------------------------------------- */

static const char *const event_keys[] = { "timestamp", "meta" };

static bool events(struct jscan *s, struct cs_alert *a, int64_t now)
{
	size_t cap = 0, k;
	bool first = true;

	if (!jscan_eat(s, '[')) /* null: "events in body is required" */
		return false;
	while (jscan_next_elem(s, first)) {
		struct cs_alert_event *ev;
		struct members m;
		char *ts;

		first = false;
		if (vec_reserve((void **)&a->events, &cap, a->n_events, sizeof(*a->events), 4))
			return false;
		ev = &a->events[a->n_events++];
		memset(ev, 0, sizeof(*ev));
		if (!open_object(s, &m, event_keys, 2))
			return false;
		while (next_member(s, &m, &k)) {
			if (k == 0) {
				if (jscan_peek(s) != '"' || !(ts = jscan_string(s, NULL)))
					return false;
				/* 1.4.6 takes "now" for a time it cannot read */
				if (gotime_parse_rfc3339(ts, &ev->timestamp))
					ev->timestamp = now;
			} else if (!event_meta(s, &ev->meta_json)) {
				return false;
			}
		}
		if (jscan_failed(s) || m.seen != 3)
			return false;
	}
	if (jscan_failed(s))
		return false;
	if (!a->events) /* [] is an empty list, not an absent one */
		a->events = calloc(1, sizeof(*a->events));
	return a->events != NULL;
}

static const char *const decision_keys[] = { "duration", "origin", "scenario",
					     "scope",	 "type",   "value" };

static bool decisions(struct jscan *s, struct cs_alert *a)
{
	size_t cap = 0, k;
	bool none, first = true;

	if (!open_list(s, &none) || none)
		return none;
	while (jscan_next_elem(s, first)) {
		struct cs_decision *d;
		struct members m;
		char *dur = NULL, **field[6];
		bool ok = true;

		first = false;
		if (vec_reserve((void **)&a->decisions, &cap, a->n_decisions,
				sizeof(*a->decisions), 4))
			return false;
		d = &a->decisions[a->n_decisions++];
		memset(d, 0, sizeof(*d));
		field[0] = &dur;
		field[1] = &d->origin;
		field[2] = &d->scenario;
		field[3] = &d->scope;
		field[4] = &d->type;
		field[5] = &d->value;
		if (!open_object(s, &m, decision_keys, 6))
			return false;
		while (ok && next_member(s, &m, &k))
			ok = get_str(s, false, field[k]);
		ok = ok && !jscan_failed(s) && m.seen == 0x3f &&
		     !gotime_parse_duration(dur, &d->duration);
		free(dur);
		if (!ok)
			return false;
	}
	if (jscan_failed(s))
		return false;
	if (!a->decisions)
		a->decisions = calloc(1, sizeof(*a->decisions));
	return a->decisions != NULL;
}

static const char *const source_keys[] = { "as_name", "as_number", "cn",       "ip",
					   "range",   "scope",	   "value",    "latitude",
					   "longitude" };
static const size_t source_strs[] = {
	offsetof(struct cs_alert, src_as_name), offsetof(struct cs_alert, src_as_number),
	offsetof(struct cs_alert, src_cn),	offsetof(struct cs_alert, src_ip),
	offsetof(struct cs_alert, src_range),	offsetof(struct cs_alert, src_scope),
	offsetof(struct cs_alert, src_value),
};
#define SOURCE_REQUIRED ((1u << 5) | (1u << 6)) /* scope, value */

static bool source(struct jscan *s, struct cs_alert *a)
{
	struct members m;
	bool ok = true;
	size_t k;

	if (!open_object(s, &m, source_keys, 9))
		return false;
	while (ok && next_member(s, &m, &k)) {
		if (k == 7)
			ok = get_float(s, &a->src_latitude);
		else if (k == 8)
			ok = get_float(s, &a->src_longitude);
		else
			ok = get_str(s, !(SOURCE_REQUIRED & (1u << k)),
				     (char **)((char *)a + source_strs[k]));
	}
	return ok && !jscan_failed(s) && (m.seen & SOURCE_REQUIRED) == SOURCE_REQUIRED &&
	       a->src_scope && a->src_value;
}

/* ---- one alert -------------------------------------------------------------------- */

enum {
	A_CAPACITY,
	A_EVENTS_COUNT,
	A_EVENTS,
	A_LEAKSPEED,
	A_MESSAGE,
	A_SCENARIO,
	A_SCENARIO_HASH,
	A_SCENARIO_VERSION,
	A_SIMULATED,
	A_SOURCE,
	A_START_AT,
	A_STOP_AT,
	A_REMEDIATION, /* the optional ones from here */
	A_UUID,
	A_DECISIONS,
	A_META,
	A_LABELS,
	A__N
};
static const char *const alert_keys[A__N] = {
	[A_CAPACITY] = "capacity",
	[A_EVENTS_COUNT] = "events_count",
	[A_EVENTS] = "events",
	[A_LEAKSPEED] = "leakspeed",
	[A_MESSAGE] = "message",
	[A_SCENARIO] = "scenario",
	[A_SCENARIO_HASH] = "scenario_hash",
	[A_SCENARIO_VERSION] = "scenario_version",
	[A_SIMULATED] = "simulated",
	[A_SOURCE] = "source",
	[A_START_AT] = "start_at",
	[A_STOP_AT] = "stop_at",
	[A_REMEDIATION] = "remediation",
	[A_UUID] = "uuid",
	[A_DECISIONS] = "decisions",
	[A_META] = "meta",
	[A_LABELS] = "labels",
};
#define A_REQUIRED ((1u << A_REMEDIATION) - 1)
/* The required string members: where they go (0: not one of them) */
static const size_t alert_strs[A__N] = {
	[A_LEAKSPEED] = offsetof(struct cs_alert, leakspeed),
	[A_MESSAGE] = offsetof(struct cs_alert, message),
	[A_SCENARIO] = offsetof(struct cs_alert, scenario),
	[A_SCENARIO_HASH] = offsetof(struct cs_alert, scenario_hash),
	[A_SCENARIO_VERSION] = offsetof(struct cs_alert, scenario_version),
};

static bool alert_time(struct jscan *s, int64_t now, int64_t *out)
{
	char *v;

	if (jscan_peek(s) != '"' || !(v = jscan_string(s, NULL)))
		return false;
	if (gotime_parse_rfc3339(v, out))
		*out = now;
	return true;
}

/* labels: null, or a list the codec does not read (its scalars are checked here). */
static bool labels(struct jscan *s)
{
	bool none, first = true;

	if (!open_list(s, &none) || none)
		return none;
	while (jscan_next_elem(s, first)) {
		first = false;
		if (!skip_scalar(s))
			return false;
	}
	return !jscan_failed(s);
}

static bool alert_member(struct jscan *s, struct cs_alert *a, size_t k, int64_t now)
{
	if (alert_strs[k])
		return get_str(s, false, (char **)((char *)a + alert_strs[k]));
	switch (k) {
	case A_CAPACITY:
		return get_int32(s, &a->capacity);
	case A_EVENTS_COUNT:
		return get_int32(s, &a->events_count);
	case A_EVENTS:
		return events(s, a, now);
	case A_SIMULATED:
		return get_bool(s, &a->simulated);
	case A_SOURCE:
		return source(s, a);
	case A_START_AT:
		return alert_time(s, now, &a->start_at);
	case A_STOP_AT:
		return alert_time(s, now, &a->stop_at);
	case A_REMEDIATION:
		return eat_literal(s, "null") || get_bool(s, &a->remediation);
	case A_UUID:
		if (!get_str(s, true, &a->uuid))
			return false;
		if (a->uuid && (!*a->uuid || strlen(a->uuid) > 64)) { /* as the codec: no retry key */
			free(a->uuid);
			a->uuid = NULL;
		}
		return true;
	case A_DECISIONS:
		return decisions(s, a);
	case A_META:
		return alert_meta(s, a);
	default:
		return labels(s);
	}
}

static struct cs_alert *alert(struct jscan *s, int64_t now)
{
	struct cs_alert *a = calloc(1, sizeof(*a));
	struct members m;
	bool ok = a != NULL;
	size_t k;

	if (!ok || !open_object(s, &m, alert_keys, A__N))
		goto fail;
	while (ok && next_member(s, &m, &k))
		ok = alert_member(s, a, k, now);
	if (ok && !jscan_failed(s) && (m.seen & A_REQUIRED) == A_REQUIRED)
		return a;
fail:
	cs_alert_free(a);
	return NULL;
}

int codec_alerts_fast(const char *body, size_t len, int64_t now, struct cs_alert ***out,
		      size_t *nout)
{
	char *text = len ? malloc(len + 1) : NULL; /* empty: "EOF", the DOM path's answer */
	struct cs_alert **v = NULL;
	size_t n = 0, cap = 0;
	bool first = true;
	struct jscan s;
	int ret = -EAGAIN;

	*out = NULL;
	*nout = 0;
	if (!text)
		return len ? -ENOMEM : -EAGAIN;
	/* strings are decoded in place: in a copy, the body stays for the jansson path */
	memcpy(text, body, len);
	text[len] = '\0';
	jscan_init(&s, text, len, LAPI_MAX_JSON_DEPTH);
	if (!jscan_eat(&s, '['))
		goto out;
	while (jscan_next_elem(&s, first)) {
		first = false;
		if (vec_reserve((void **)&v, &cap, n, sizeof(*v), 8) ||
		    !(v[n] = alert(&s, now)))
			goto out;
		n++;
	}
	/* [] and trailing bytes (a NUL included): the DOM path */
	if (jscan_failed(&s) || jscan_peek(&s) || s.p != s.end || !n)
		goto out;
	*out = v;
	*nout = n;
	v = NULL;
	n = 0;
	ret = 0;
out:
	cs_alerts_free(v, n);
	free(text);
	return ret;
}
