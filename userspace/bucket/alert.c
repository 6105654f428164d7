// SPDX-License-Identifier: MIT
/*
 * RuntimeAlert (evt.Overflow): the sources and the models.Alert list of an
 * overflow, their exposure to expressions (postoverflows, scenario.assert,
 * overflow_filter's `signal`) and their JSON form (POST /v1/alerts body).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucket/bucket_int.h"
#include "common/quote.h"
#include "common/record.h"
#include "common/strbuf.h"
#include "common/strmap.h"
#include "common/utf8.h"
#include "common/vec.h"

/* ---- lifecycle ----------------------------------------------------------------- */

struct cs_ralert *cs_ralert_new(void)
{
	struct cs_ralert *ra = calloc(1, sizeof(*ra));

	if (ra)
		ra->refcnt = 1;
	return ra;
}

struct cs_source *cs_source_new(void)
{
	return calloc(1, sizeof(struct cs_source));
}

/*
 * The strings a RuntimeAlert owns besides its sources and events; keyed by Go
 * name, the ones a parser's SetTarget may write (evt.Overflow.Alert.<key>).
 */
static const struct rec_field ralert_strings[] = {
	REC_ROW(struct cs_ralert, "Scenario", scenario, REC_STR),
	REC_ROW(struct cs_ralert, "ScenarioHash", hash, REC_STR),
	REC_ROW(struct cs_ralert, "ScenarioVersion", version, REC_STR),
	REC_ROW(struct cs_ralert, "Message", message, REC_STR),
	REC_ROW(struct cs_ralert, NULL, leakspeed, REC_STR),
	REC_ROW(struct cs_ralert, NULL, start_at, REC_STR),
	REC_ROW(struct cs_ralert, NULL, stop_at, REC_STR),
	REC_ROW(struct cs_ralert, NULL, mapkey, REC_STR),
};
static const struct rec_schema ralert_schema = REC_SCHEMA(ralert_strings);

void cs_source_free(struct cs_source *s)
{
	rec_free(&cs_source_schema, s);
	free(s);
}

/* A copy whose unset strings are "" (Go's zero string). */
struct cs_source *cs_source_dup(const struct cs_source *s)
{
	struct cs_source *d = cs_source_new();

	if (!d)
		return NULL;
	d->lat = s->lat;
	d->lon = s->lon;
	for (size_t i = 0; i < cs_source_schema.n; i++) {
		const struct rec_field *f = &cs_source_schema.fields[i];
		const char *from = *rec_str(f, s);

		if (!(*rec_str(f, d) = strdup(from ? from : ""))) {
			cs_source_free(d);
			return NULL;
		}
	}
	return d;
}

/*
 * An overflow's alert is shared by the events that carry it, and with
 * workers those events are poured into, kept by and freed from other shards'
 * threads: the count is atomic (a lost update freed an alert still kept).
 */
void cs_ralert_put(struct cs_ralert *ra)
{
	if (!ra || __atomic_sub_fetch(&ra->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; i < ra->nsrc; i++) {
		free(ra->keys[i]);
		cs_source_free(ra->srcs[i]);
	}
	free(ra->keys);
	free(ra->srcs);
	free(ra->views);
	for (size_t i = 0; i < ra->nevents; i++)
		free(ra->events[i].meta); /* the event's one block (cs_ralert_add_event) */
	free(ra->events);
	rec_free(&ralert_schema, ra);
	free(ra);
}

int cs_ralert_add_source(struct cs_ralert *ra, const char *key, struct cs_source *src)
{
	size_t pos = 0, kcap = ra->src_cap, scap = ra->src_cap, vcap = ra->src_cap;
	char *k;

	while (pos < ra->nsrc && strcmp(ra->keys[pos], key) < 0)
		pos++;
	if (pos < ra->nsrc && !strcmp(ra->keys[pos], key)) {
		/* Go: sources[key] = src, the last one wins. */
		cs_source_free(ra->srcs[pos]);
		ra->srcs[pos] = src;
		return 0;
	}
	/* the three grow alike; one that grew while a later one failed only grows again */
	k = strdup(key);
	if (!k || vec_reserve((void **)&ra->keys, &kcap, ra->nsrc, sizeof(*ra->keys), 1) ||
	    vec_reserve((void **)&ra->srcs, &scap, ra->nsrc, sizeof(*ra->srcs), 1) ||
	    vec_reserve((void **)&ra->views, &vcap, ra->nsrc, sizeof(*ra->views), 1)) {
		free(k);
		cs_source_free(src);
		return -ENOMEM;
	}
	ra->src_cap = kcap;
	memmove(&ra->keys[pos + 1], &ra->keys[pos], (ra->nsrc - pos) * sizeof(*ra->keys));
	memmove(&ra->srcs[pos + 1], &ra->srcs[pos], (ra->nsrc - pos) * sizeof(*ra->srcs));
	ra->keys[pos] = k;
	ra->srcs[pos] = src;
	ra->nsrc++;
	for (size_t i = 0; i < ra->nsrc; i++)
		ra->views[i] = (struct cs_alert_view){ ra, i };
	return 0;
}

/* Does Sources[key] hold exactly src (NULL and "" alike, as they render)? */
bool cs_ralert_has_source(const struct cs_ralert *ra, const char *key, const struct cs_source *src)
{
	const struct cs_source *o = NULL;

	for (size_t i = 0; i < ra->nsrc && !o; i++)
		if (!strcmp(ra->keys[i], key))
			o = ra->srcs[i];
	if (!o || o->lat != src->lat || o->lon != src->lon)
		return false;
	for (size_t i = 0; i < cs_source_schema.n; i++) {
		const struct rec_field *f = &cs_source_schema.fields[i];
		const char *a = *rec_str(f, o), *b = *rec_str(f, (struct cs_source *)src);

		if (strcmp(a ? a : "", b ? b : ""))
			return false;
	}
	return true;
}

int cs_ralert_reserve_events(struct cs_ralert *ra, size_t n)
{
	if (!n)
		return 0;
	return vec_reserve((void **)&ra->events, &ra->events_cap, ra->nevents + n - 1,
			   sizeof(*ra->events), n);
}

int cs_ralert_add_event(struct cs_ralert *ra, const char *timestamp, const char *const *kv,
			size_t nmeta)
{
	struct cs_alert_event *e;
	size_t tl = strlen(timestamp) + 1, size = nmeta * sizeof(*e->meta) + tl, pos;
	size_t stack_lens[2 * 64], *lens = stack_lens;
	char *block;

	/* an event keeps up to 256 Meta keys: the stack only fits the usual few */
	if (nmeta > 64 && !(lens = malloc(2 * nmeta * sizeof(*lens))))
		return -ENOMEM;
	for (size_t i = 0; i < 2 * nmeta; i++)
		size += (lens[i] = strlen(kv[i]) + 1);
	/* one block: the items, then the timestamp and the strings they point to */
	if (vec_reserve((void **)&ra->events, &ra->events_cap, ra->nevents, sizeof(*ra->events), 8) ||
	    !(block = malloc(size))) {
		if (lens != stack_lens)
			free(lens);
		return -ENOMEM;
	}
	e = &ra->events[ra->nevents++];
	e->meta = (struct cs_meta_item *)block;
	e->nmeta = nmeta;
	pos = nmeta * sizeof(*e->meta);
	e->timestamp = memcpy(block + pos, timestamp, tl);
	pos += tl;
	for (size_t i = 0; i < nmeta; i++) {
		struct cs_meta_item it;
		size_t j = i;

		it.key = memcpy(block + pos, kv[2 * i], lens[2 * i]);
		pos += lens[2 * i];
		it.value = memcpy(block + pos, kv[2 * i + 1], lens[2 * i + 1]);
		pos += lens[2 * i + 1];
		/* sorted by key (upstream sorts the meta of each event); keys are distinct */
		for (; j > 0 && strcmp(e->meta[j - 1].key, it.key) > 0; j--)
			e->meta[j] = e->meta[j - 1];
		e->meta[j] = it;
	}
	if (lens != stack_lens)
		free(lens);
	return 0;
}

/* ---- hashes (only for Mapkey and the scenario hash: no security role) ---------------- */

void cs_time_go_string(const struct cs_time *t, char *buf, size_t len)
{
	struct cs_time loc = *t;
	char rfc[CS_TIME_STRLEN], frac[16] = "";
	const char *dot;
	int off = t->off, sign = off < 0 ? '-' : '+';

	/* Reuse the RFC 3339 renderer for the date/time and fraction digits. */
	cs_time_format(&loc, rfc, sizeof(rfc));
	dot = strchr(rfc, '.');
	if (dot) {
		size_t n = strspn(dot + 1, "0123456789");

		snprintf(frac, sizeof(frac), ".%.*s", (int)n, dot + 1);
	}
	if (off < 0)
		off = -off;
	if (!t->off)
		snprintf(buf, len, "%.10s %.8s%s +0000 UTC", rfc, rfc + 11, frac);
	else
		snprintf(buf, len, "%.10s %.8s%s %c%02d%02d %c%02d%02d", rfc, rfc + 11, frac, sign,
			 off / 3600, off / 60 % 60, sign, off / 3600, off / 60 % 60);
}

/* ---- cs_overflow_ops (what the parser's Event needs) ------------------------------- */

static void *ra_dup(const void *o)
{
	struct cs_ralert *ra = (struct cs_ralert *)o;

	__atomic_fetch_add(&ra->refcnt, 1, __ATOMIC_RELAXED);
	return ra;
}

static void ra_free(void *o)
{
	cs_ralert_put(o);
}

static const char *ra_get_meta(const void *o, const char *key)
{
	const struct cs_ralert *ra = o;

	/* Upstream scans APIAlerts[*].Events[*]; the alerts share one event list. */
	if (!ra->nsrc)
		return "";
	for (size_t i = 0; i < ra->nevents; i++)
		for (size_t j = 0; j < ra->events[i].nmeta; j++)
			if (!strcmp(ra->events[i].meta[j].key, key) && ra->events[i].meta[j].value[0])
				return ra->events[i].meta[j].value;
	return "";
}

static int ra_for_each_source(const void *o, int (*fn)(const char *src, void *arg), void *arg)
{
	const struct cs_ralert *ra = o;

	for (size_t i = 0; i < ra->nsrc; i++) {
		int rc = fn(ra->keys[i], arg);

		if (rc)
			return rc;
	}
	return 0;
}

static void ra_set_whitelisted(void *o)
{
	((struct cs_ralert *)o)->whitelisted = true;
}

/* ---- expression exposure ------------------------------------------------------------ */

static int str_out(const char *s, struct expr_value *out)
{
	return expr_string(s ? s : "", out);
}

static const struct cs_source zero_source;

/* Alert.Events[i].Meta[j]: {Key, Value} */
static int meta_item_get(struct expr_ctx *c, void *obj, const char *name, struct expr_value *out)
{
	const struct cs_meta_item *m = obj;

	if (!strcmp(name, "Key"))
		return str_out(m->key, out);
	if (!strcmp(name, "Value"))
		return str_out(m->value, out);
	return -ENOENT;
}

static const struct expr_field meta_item_fields[] = {
	{ "Key", &expr_type_string }, { "Value", &expr_type_string }, { NULL } };

static const struct expr_host_ops meta_item_ops = {
	.name = "MetaItems0", .fields = meta_item_fields, .get = meta_item_get,
};

static int meta_list_len(struct expr_ctx *c, void *obj, int64_t *out)
{
	*out = (int64_t)((const struct cs_alert_event *)obj)->nmeta;
	return 0;
}

static int meta_list_index(struct expr_ctx *c, void *obj, int64_t i, struct expr_value *out)
{
	struct cs_alert_event *e = obj;

	*out = expr_host(&meta_item_ops, &e->meta[i]);
	return 0;
}

static const struct expr_host_ops meta_list_ops = {
	.name = "Meta", .flags = EXPR_HOST_ARRAYLIKE,
	.len = meta_list_len, .index = meta_list_index,
};

static const struct expr_field aevent_fields[] = {
	{ "Timestamp", &expr_type_string }, { "Meta", NULL }, { NULL } };
static const struct expr_method aevent_methods[] = {
	{ "GetMeta", 1, 1, &expr_type_string }, { NULL } };

static int aevent_get(struct expr_ctx *c, void *obj, const char *name, struct expr_value *out)
{
	struct cs_alert_event *e = obj;

	if (!strcmp(name, "Timestamp"))
		return str_out(e->timestamp, out);
	if (!strcmp(name, "Meta"))
		return *out = expr_host(&meta_list_ops, e), 0;
	return -ENOENT;
}

static int aevent_call(struct expr_ctx *c, void *obj, const char *m, const struct expr_value *args,
		       int nargs, struct expr_value *out)
{
	const struct cs_alert_event *e = obj;
	const char *key = expr_str_cstr(&args[0]);

	if (strcmp(m, "GetMeta"))
		return -ENOENT;
	if (!key)
		return -EINVAL;
	for (size_t i = 0; i < e->nmeta; i++)
		if (!strcmp(e->meta[i].key, key))
			return str_out(e->meta[i].value, out);
	return str_out("", out);
}

static const struct expr_host_ops aevent_ops = { EXPR_HOST_RECORD("Event", aevent) };

static int aevents_len(struct expr_ctx *c, void *obj, int64_t *out)
{
	*out = (int64_t)((const struct cs_ralert *)obj)->nevents;
	return 0;
}

static int aevents_index(struct expr_ctx *c, void *obj, int64_t i, struct expr_value *out)
{
	struct cs_ralert *ra = obj;

	*out = expr_host(&aevent_ops, &ra->events[i]);
	return 0;
}

static const struct expr_host_ops aevents_ops = {
	.name = "Events", .flags = EXPR_HOST_ARRAYLIKE, .len = aevents_len, .index = aevents_index,
};

static const struct expr_field alert_fields[] = {
	{ "Scenario", &expr_type_string },	{ "ScenarioHash", &expr_type_string },
	{ "ScenarioVersion", &expr_type_string }, { "Capacity", &expr_type_int },
	{ "EventsCount", &expr_type_int },	{ "Leakspeed", &expr_type_string },
	{ "Message", &expr_type_string },	{ "StartAt", &expr_type_string },
	{ "StopAt", &expr_type_string },	{ "Simulated", &expr_type_bool },
	{ "Events", NULL },			{ "Meta", NULL },
	{ "Source", &cs_source_expr_type },		{ "Remediation", &expr_type_bool },
	{ "Labels", NULL },			{ "Decisions", NULL },
	{ "Kind", &expr_type_string },		{ "UUID", &expr_type_string },
	{ "MachineID", &expr_type_string },	{ "CreatedAt", &expr_type_string },
	{ "ID", &expr_type_int },		{ NULL },
};

static const struct expr_method alert_methods[] = {
	{ "GetScenario", 0, 0, &expr_type_string }, { "GetEventsCount", 0, 0, &expr_type_int },
	{ "GetScope", 0, 0, &expr_type_string },    { "GetValue", 0, 0, &expr_type_string },
	{ "GetMeta", 1, 1, &expr_type_string },	    { "GetMessage", 0, 0, &expr_type_string },
	{ "GetCapacity", 0, 0, &expr_type_int },    { "GetLeakspeed", 0, 0, &expr_type_string },
	{ "GetSimulated", 0, 0, &expr_type_bool },  { "GetStartAt", 0, 0, &expr_type_string },
	{ "GetStopAt", 0, 0, &expr_type_string },   { NULL },
};

static int alert_get(struct expr_ctx *c, void *obj, const char *name, struct expr_value *out)
{
	const struct cs_alert_view *v = obj;
	struct cs_ralert *ra = v->ra;
	const struct cs_alert_fields f = {
		.scenario = ra->scenario, .scenario_hash = ra->hash, .scenario_version = ra->version,
		.message = ra->message, .leakspeed = ra->leakspeed, .start_at = ra->start_at,
		.stop_at = ra->stop_at, .capacity = ra->capacity, .events_count = ra->events_count,
		.simulated = ra->simulated, .remediation = ra->remediation,
	};
	int err = cs_alert_fields_get(&f, name, out);

	if (err != -ENOENT)
		return err;
	if (!strcmp(name, "Events"))
		return *out = expr_host(&aevents_ops, ra), 0;
	if (!strcmp(name, "Source"))
		return *out = expr_host(&cs_source_expr_ops, ra->srcs[v->i]), 0;
	if (!strcmp(name, "Meta") || !strcmp(name, "Decisions"))
		return expr_array_new(0, out); /* alert context and decisions: empty here */
	if (!strcmp(name, "Labels"))
		return *out = expr_nil(), 0;
	if (!strcmp(name, "Kind"))
		return str_out("crowdsec", out);
	if (!strcmp(name, "UUID") || !strcmp(name, "CreatedAt"))
		return str_out("", out);
	if (!strcmp(name, "ID"))
		return *out = expr_int(0), 0;
	return -ENOENT;
}

static int alert_call(struct expr_ctx *c, void *obj, const char *m, const struct expr_value *args,
		      int nargs, struct expr_value *out)
{
	const struct cs_alert_view *v = obj;
	static const struct {
		const char *method, *field;
	} getters[] = {
		{ "GetScenario", "Scenario" },	 { "GetEventsCount", "EventsCount" },
		{ "GetMessage", "Message" },	 { "GetCapacity", "Capacity" },
		{ "GetLeakspeed", "Leakspeed" }, { "GetSimulated", "Simulated" },
		{ "GetStartAt", "StartAt" },	 { "GetStopAt", "StopAt" },
	};

	for (size_t i = 0; i < sizeof(getters) / sizeof(getters[0]); i++)
		if (!strcmp(m, getters[i].method))
			return alert_get(c, obj, getters[i].field, out);
	if (!strcmp(m, "GetScope"))
		return str_out(v->ra->srcs[v->i]->scope, out);
	if (!strcmp(m, "GetValue"))
		return str_out(v->ra->srcs[v->i]->value, out);
	if (!strcmp(m, "GetMeta"))
		return str_out("", out); /* alert context is empty without console/context.yaml */
	return -ENOENT;
}

static const struct expr_host_ops alert_ops = { EXPR_HOST_RECORD("Alert", alert) };

static const struct expr_type alert_type = { EXPR_HOST, NULL, &alert_ops };

/* APIAlerts and Sources both have one entry per source. */
static int nsrc_len(struct expr_ctx *c, void *obj, int64_t *out)
{
	*out = (int64_t)((const struct cs_ralert *)obj)->nsrc;
	return 0;
}

static int alerts_index(struct expr_ctx *c, void *obj, int64_t i, struct expr_value *out)
{
	struct cs_ralert *ra = obj;

	*out = expr_host(&alert_ops, &ra->views[i]);
	return 0;
}

static const struct expr_host_ops alerts_ops = {
	.name = "APIAlerts", .flags = EXPR_HOST_ARRAYLIKE, .len = nsrc_len, .index = alerts_index,
};

/* Overflow.Sources: map[string]Source; an absent key gives the zero Source. */
static int sources_get(struct expr_ctx *c, void *obj, const char *key, struct expr_value *out)
{
	const struct cs_ralert *ra = obj;

	for (size_t i = 0; i < ra->nsrc; i++)
		if (!strcmp(ra->keys[i], key))
			return *out = expr_host(&cs_source_expr_ops, ra->srcs[i]), 0;
	*out = expr_host(&cs_source_expr_ops, (void *)&zero_source);
	return 0;
}

static int sources_has(struct expr_ctx *c, void *obj, const char *key, bool *out)
{
	const struct cs_ralert *ra = obj;

	*out = false;
	for (size_t i = 0; i < ra->nsrc && !*out; i++)
		*out = !strcmp(ra->keys[i], key);
	return 0;
}

static int sources_keys(struct expr_ctx *c, void *obj, struct expr_value *out)
{
	const struct cs_ralert *ra = obj;

	return expr_array_from_strings((const char *const *)ra->keys, ra->nsrc, out);
}

static const struct expr_host_ops sources_ops = {
	.name = "Sources", .flags = EXPR_HOST_MAPLIKE, .elem = &cs_source_expr_type,
	.get = sources_get, .has = sources_has, .len = nsrc_len, .keys = sources_keys,
};

static const struct expr_type sources_type = { EXPR_HOST, NULL, &sources_ops };

static const struct expr_field ralert_fields[] = {
	{ "Mapkey", &expr_type_string }, { "BucketId", &expr_type_string },
	{ "Whitelisted", &expr_type_bool }, { "Reprocess", &expr_type_bool },
	{ "Sources", &sources_type },	{ "Alert", &alert_type },
	{ "APIAlerts", NULL },		{ NULL },
};

static const struct expr_method ralert_methods[] = {
	{ "GetSources", 0, 0, &expr_type_array_string }, { NULL } };

static int ralert_get(struct expr_ctx *c, void *obj, const char *name, struct expr_value *out)
{
	struct cs_ralert *ra = obj;

	if (!strcmp(name, "Mapkey"))
		return str_out(ra->mapkey, out);
	if (!strcmp(name, "BucketId"))
		return str_out("", out);
	if (!strcmp(name, "Whitelisted"))
		return *out = expr_bool(ra->whitelisted), 0;
	if (!strcmp(name, "Reprocess"))
		return *out = expr_bool(ra->reprocess), 0;
	if (!strcmp(name, "Sources"))
		return *out = expr_host(&sources_ops, ra), 0;
	if (!strcmp(name, "Alert")) {
		if (!ra->nsrc)
			return *out = expr_nil(), 0;
		return *out = expr_host(&alert_ops, &ra->views[0]), 0;
	}
	if (!strcmp(name, "APIAlerts"))
		return *out = expr_host(&alerts_ops, ra), 0;
	return -ENOENT;
}

static int ralert_call(struct expr_ctx *c, void *obj, const char *m, const struct expr_value *args,
		       int nargs, struct expr_value *out)
{
	if (!strcmp(m, "GetSources"))
		return sources_keys(c, obj, out);
	return -ENOENT;
}

const struct expr_host_ops cs_ralert_expr_ops = { EXPR_HOST_RECORD("RuntimeAlert", ralert) };

const struct expr_type cs_ralert_expr_type = { EXPR_HOST, NULL, &cs_ralert_expr_ops };

const struct cs_overflow_ops cs_ralert_ops = {
	.expr = &cs_ralert_expr_ops,
	.type = &cs_ralert_expr_type,
	.dup = ra_dup,
	.free = ra_free,
	.get_meta = ra_get_meta,
	.for_each_source = ra_for_each_source,
	.set_whitelisted = ra_set_whitelisted,
	.set_target = cs_overflow_set_target,
};

/* ---- public accessors and JSON ----------------------------------------------------------- */

static const struct cs_ralert *ra_of(const struct cs_event *ovf)
{
	if (!ovf || ovf->overflow_ops != &cs_ralert_ops)
		return NULL;
	return ovf->overflow;
}

bool cs_overflow_whitelisted(const struct cs_event *ovf)
{
	const struct cs_ralert *ra = ra_of(ovf);

	return ra && ra->whitelisted;
}

const char *cs_overflow_scenario(const struct cs_event *ovf)
{
	const struct cs_ralert *ra = ra_of(ovf);

	return ra && ra->scenario ? ra->scenario : "";
}

size_t cs_overflow_nsources(const struct cs_event *ovf)
{
	const struct cs_ralert *ra = ra_of(ovf);

	return ra ? ra->nsrc : 0;
}

const char *cs_overflow_source_key(const struct cs_event *ovf, size_t i)
{
	const struct cs_ralert *ra = ra_of(ovf);

	return ra && i < ra->nsrc ? ra->keys[i] : NULL;
}

/* json_object_set_new() that reports failure (NULL value or ENOMEM). */
static int jset(json_t *o, const char *k, json_t *v)
{
	return v && !json_object_set_new(o, k, v) ? 0 : -ENOMEM;
}

static json_t *source_json(const struct cs_source *s)
{
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	err |= jset(o, "scope", utf8_json_string(s->scope ? s->scope : ""));
	err |= jset(o, "value", utf8_json_string(s->value ? s->value : ""));
	/* omitempty fields of models.Source */
	if (s->ip && *s->ip)
		err |= jset(o, "ip", utf8_json_string(s->ip));
	if (s->range && *s->range)
		err |= jset(o, "range", utf8_json_string(s->range));
	if (s->as_number && *s->as_number)
		err |= jset(o, "as_number", utf8_json_string(s->as_number));
	if (s->as_name && *s->as_name)
		err |= jset(o, "as_name", utf8_json_string(s->as_name));
	if (s->cn && *s->cn)
		err |= jset(o, "cn", utf8_json_string(s->cn));
	if (s->lat != 0)
		err |= jset(o, "latitude", json_real(s->lat));
	if (s->lon != 0)
		err |= jset(o, "longitude", json_real(s->lon));
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *events_json(const struct cs_ralert *ra)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < ra->nevents; i++) {
		const struct cs_alert_event *e = &ra->events[i];
		json_t *ev = json_object(), *meta = json_array();
		int err = !ev || !meta;

		for (size_t j = 0; !err && j < e->nmeta; j++) {
			json_t *item = json_object();

			err = !item || json_array_append_new(meta, item);
			/* key and value are omitempty in models.MetaItems0 */
			if (!err && *e->meta[j].key)
				err = jset(item, "key", utf8_json_string(e->meta[j].key));
			if (!err && *e->meta[j].value)
				err = jset(item, "value", utf8_json_string(e->meta[j].value));
		}
		if (!err)
			err = jset(ev, "timestamp", utf8_json_string(e->timestamp));
		if (!err) {
			err = jset(ev, "meta", meta);
			meta = NULL;
		}
		if (!err)
			err = json_array_append_new(arr, ev) ? -ENOMEM : 0;
		else
			json_decref(ev);
		json_decref(meta);
		if (err) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

json_t *cs_overflow_to_json(const struct cs_event *ovf)
{
	const struct cs_ralert *ra = ra_of(ovf);
	json_t *arr = json_array();

	if (!ra || !arr) {
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < ra->nsrc; i++) {
		json_t *a = json_object();
		int err = !a;

		if (!err)
			err = json_array_append_new(arr, a) ? -ENOMEM : 0;
		err = err ?: jset(a, "scenario", utf8_json_string(ra->scenario));
		err = err ?: jset(a, "scenario_hash", utf8_json_string(ra->hash ? ra->hash : ""));
		err = err ?: jset(a, "scenario_version", utf8_json_string(ra->version ? ra->version : ""));
		err = err ?: jset(a, "message", utf8_json_string(ra->message ? ra->message : ""));
		err = err ?: jset(a, "events_count", json_integer(ra->events_count));
		err = err ?: jset(a, "start_at", utf8_json_string(ra->start_at ? ra->start_at : ""));
		err = err ?: jset(a, "stop_at", utf8_json_string(ra->stop_at ? ra->stop_at : ""));
		err = err ?: jset(a, "capacity", json_integer(ra->capacity));
		err = err ?: jset(a, "leakspeed", utf8_json_string(ra->leakspeed ? ra->leakspeed : "0s"));
		err = err ?: jset(a, "simulated", json_boolean(ra->simulated));
		err = err ?: jset(a, "remediation", json_boolean(ra->remediation));
		err = err ?: jset(a, "events", events_json(ra));
		err = err ?: jset(a, "source", source_json(ra->srcs[i]));
		err = err ?: jset(a, "decisions", json_null());
		err = err ?: jset(a, "labels", json_null());
		if (err) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

const char *cs_overflow_stop_at(const struct cs_event *ovf)
{
	const struct cs_ralert *ra = ra_of(ovf);

	if (!ra || !ra->nsrc)
		return NULL;
	return ra->stop_at ? ra->stop_at : "";
}

/*
 * ---- JSON lines, written directly ----------------------------------------------------
 * The bytes json_dump_callback(JSON_COMPACT | JSON_SORT_KEYS) writes for
 * cs_overflow_to_json()'s objects, without the ~800 allocations per alert of
 * building and freeing them (a third of an sshd replay's CPU went there).
 * Keys are written in strcmp order, strings as utf8_json_string() then jansson
 * escape them.
 */
static void jl_escaped(struct sbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', 0 };
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sb_putn(sb, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		sb_putn(sb, esc, n);
	}
	sb_putn(sb, s + run, len - run);
}

/*
 * Whether s is printable ASCII without '"' or '\\' (written as is), eight bytes
 * at a time: most alert strings (IPs, names, times, scenario names) are.
 */
static bool json_plain(const char *s, size_t len)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w, q, b;

		memcpy(&w, s + i, 8);
		q = w ^ (ones * '"');
		b = w ^ (ones * '\\');
		/* a byte >= 0x80, < 0x20, == '"' or == '\\' (the zero-byte tests, exact for
		 * ASCII) */
		if ((w | ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high)
			return false;
	}
	for (; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x80 || s[i] == '"' ||
		    s[i] == '\\')
			return false;
	return true;
}

static void jl_str(struct sbuf *sb, const char *s)
{
	size_t len = strlen(s), n;
	char *fixed;

	sb_putc(sb, '"');
	if (json_plain(s, len)) {
		sb_putn(sb, s, len);
	} else if (utf8_valid(s, len)) {
		jl_escaped(sb, s, len);
	} else if ((fixed = utf8_sanitize(s, len, &n))) {
		jl_escaped(sb, fixed, n);
		free(fixed);
	} else if (!sb->err) {
		sb->err = -ENOMEM;
	}
	sb_putc(sb, '"');
}

/* ,"key":"value" (the key is one of ours: nothing to escape) */
static void jl_field(struct sbuf *sb, const char *sep_key, const char *v)
{
	sb_puts(sb, sep_key);
	jl_str(sb, v);
}

/* A float as jansson writes it (its precision and exponent rules). */
static void jl_real(struct sbuf *sb, double v)
{
	json_t *r = json_real(v);
	char *s = r ? json_dumps(r, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

	if (s)
		sb_puts(sb, s);
	else if (!sb->err)
		sb->err = -ENOMEM;
	free(s);
	json_decref(r);
}

static void jl_source(struct sbuf *sb, const struct cs_source *s)
{
	const char *sep = "{";

#define JL_OPT(name, val)                                   \
	do {                                                \
		if ((val) && *(val)) {                      \
			sb_puts(sb, sep);                   \
			jl_field(sb, "\"" name "\":", val); \
			sep = ",";                          \
		}                                           \
	} while (0)
	JL_OPT("as_name", s->as_name);
	JL_OPT("as_number", s->as_number);
	JL_OPT("cn", s->cn);
	JL_OPT("ip", s->ip);
#undef JL_OPT
	if (s->lat != 0) {
		sb_puts(sb, sep);
		sb_puts(sb, "\"latitude\":");
		jl_real(sb, s->lat);
		sep = ",";
	}
	if (s->lon != 0) {
		sb_puts(sb, sep);
		sb_puts(sb, "\"longitude\":");
		jl_real(sb, s->lon);
		sep = ",";
	}
	if (s->range && *s->range) {
		sb_puts(sb, sep);
		jl_field(sb, "\"range\":", s->range);
		sep = ",";
	}
	sb_puts(sb, sep);
	jl_field(sb, "\"scope\":", s->scope ? s->scope : "");
	jl_field(sb, ",\"value\":", s->value ? s->value : "");
	sb_putc(sb, '}');
}

#define JL_PUT(o, lit) (memcpy((o), (lit), sizeof(lit) - 1), (o) += sizeof(lit) - 1)

/*
 * Meta item j, {"key":k,"value":v} (an empty one left out), in one go when k
 * and v are plain (IPs, names, times: nearly all): false when they are not, or
 * the buffer failed, and nothing was written.
 */
static bool jl_plain_item(struct sbuf *sb, size_t j, const char *k, const char *v)
{
	size_t kl = strlen(k), vl = strlen(v);
	char *o;

	if (!json_plain(k, kl) || !json_plain(v, vl) || !(o = sb_room(sb, kl + vl + 32)))
		return false;
	char *start = o;

	if (j)
		*o++ = ',';
	*o++ = '{';
	if (kl) {
		JL_PUT(o, "\"key\":\"");
		memcpy(o, k, kl);
		o += kl;
		*o++ = '"';
	}
	if (vl) {
		if (kl)
			*o++ = ',';
		JL_PUT(o, "\"value\":\"");
		memcpy(o, v, vl);
		o += vl;
		*o++ = '"';
	}
	*o++ = '}';
	sb_wrote(sb, (size_t)(o - start));
	return true;
}

static void jl_events(struct sbuf *sb, const struct cs_ralert *ra)
{
	sb_putc(sb, '[');
	for (size_t i = 0; i < ra->nevents; i++) {
		const struct cs_alert_event *e = &ra->events[i];

		sb_puts(sb, i ? ",{\"meta\":[" : "{\"meta\":[");
		for (size_t j = 0; j < e->nmeta; j++) {
			const char *k = e->meta[j].key, *v = e->meta[j].value;

			if (jl_plain_item(sb, j, k, v))
				continue;
			sb_puts(sb, j ? ",{" : "{");
			if (*k)
				jl_field(sb, "\"key\":", k);
			if (*v)
				jl_field(sb, *k ? ",\"value\":" : "\"value\":", v);
			sb_putc(sb, '}');
		}
		jl_field(sb, "],\"timestamp\":", e->timestamp);
		sb_putc(sb, '}');
	}
	sb_putc(sb, ']');
}

void cs_overflow_render_lines(const struct cs_event *ovf, struct sbuf *sb)
{
	const struct cs_ralert *ra = ra_of(ovf);

	for (size_t i = 0; ra && i < ra->nsrc; i++) {
		sb_printf(sb, "{\"capacity\":%" PRId32 ",\"decisions\":null,\"events\":", ra->capacity);
		jl_events(sb, ra);
		sb_printf(sb, ",\"events_count\":%" PRId32 ",\"labels\":null", ra->events_count);
		jl_field(sb, ",\"leakspeed\":", ra->leakspeed ? ra->leakspeed : "0s");
		jl_field(sb, ",\"message\":", ra->message ? ra->message : "");
		sb_puts(sb, ra->remediation ? ",\"remediation\":true" : ",\"remediation\":false");
		jl_field(sb, ",\"scenario\":", ra->scenario ? ra->scenario : "");
		jl_field(sb, ",\"scenario_hash\":", ra->hash ? ra->hash : "");
		jl_field(sb, ",\"scenario_version\":", ra->version ? ra->version : "");
		sb_puts(sb, ra->simulated ? ",\"simulated\":true,\"source\":"
					  : ",\"simulated\":false,\"source\":");
		jl_source(sb, ra->srcs[i]);
		jl_field(sb, ",\"start_at\":", ra->start_at ? ra->start_at : "");
		jl_field(sb, ",\"stop_at\":", ra->stop_at ? ra->stop_at : "");
		sb_puts(sb, "}\n");
	}
}

/* The generated asserts quote strings as Go string literals (common/quote.h). */
void cs_overflow_write_asserts(const struct cs_event *ovf, int i, FILE *f)
{
	const struct cs_ralert *ra = ra_of(ovf);

	if (!ra || !ra->nsrc)
		return;
	for (size_t k = 0; k < ra->nsrc; k++) {
		const struct cs_source *s = ra->srcs[k];
		static const char *const fields[] = { ".IP", ".Range", ".GetScope()", ".GetValue()" };
		const char *vals[] = { s->ip, s->range, s->scope, s->value };

		fput_dquoted(f, ra->keys[k]);
		fprintf(f, " in results[%d].Overflow.GetSources()\n", i);
		for (size_t j = 0; j < 4; j++) {
			fprintf(f, "results[%d].Overflow.Sources[", i);
			fput_dquoted(f, ra->keys[k]);
			fprintf(f, "]%s == ", fields[j]);
			fput_dquoted(f, vals[j] ? vals[j] : "");
			fputc('\n', f);
		}
	}
	for (size_t e = 0; e < ra->nevents; e++) {
		for (size_t m = 0; m < ra->events[e].nmeta; m++) {
			const struct cs_meta_item *it = &ra->events[e].meta[m];

			if (!strcmp(it->key, "datasource_path")) {
				const char *base = strrchr(it->value, '/');

				fprintf(f, "basename(results[%d].Overflow.Alert.Events[%zu].GetMeta(", i, e);
				fput_dquoted(f, it->key);
				fprintf(f, ")) == ");
				fput_dquoted(f, base ? base + 1 : it->value);
			} else {
				fprintf(f, "results[%d].Overflow.Alert.Events[%zu].GetMeta(", i, e);
				fput_dquoted(f, it->key);
				fprintf(f, ") == ");
				fput_dquoted(f, it->value);
			}
			fputc('\n', f);
		}
	}
	fprintf(f, "results[%d].Overflow.Alert.GetScenario() == ", i);
	fput_dquoted(f, ra->scenario);
	fprintf(f, "\nresults[%d].Overflow.Alert.Remediation == %s\n", i,
		ra->remediation ? "true" : "false");
	fprintf(f, "results[%d].Overflow.Alert.GetEventsCount() == %d\n", i, ra->events_count);
}

/*
 * A postoverflow static writing into the alert (spec 7): "Overflow.Alert.Source.Value"
 * and friends. The Source is shared by Sources[key] and every view of it, as
 * upstream shares Scope/Value pointers, so the write shows through both; IP and
 * the map key keep the original address.
 */
int cs_overflow_set_target(void *ovf, const char *path, const char *val, size_t len)
{
	struct cs_ralert *ra = ovf;
	char **field = NULL, *copy;

	if (!strncmp(path, "evt.", 4))
		path += 4;
	if (strncmp(path, "Overflow.Alert.", 15))
		return -ENOENT;
	path += 15;
	if (!strncmp(path, "Source.", 7)) {
		const struct rec_field *f = rec_find(&cs_source_schema, path + 7);

		if (!ra->nsrc)
			return -ENOENT; /* Alert is nil: nothing to write into */
		if (f)
			field = rec_str(f, ra->srcs[0]);
	} else {
		const struct rec_field *f = rec_find(&ralert_schema, path);

		if (f)
			field = rec_str(f, ra);
	}
	if (!field)
		return -ENOENT;
	copy = strndup(val ? val : "", val ? len : 0);
	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}
