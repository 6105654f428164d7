// SPDX-License-Identifier: MIT
#include "parser/event.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipaddr.h"
#include "common/log.h"
#include "common/record.h"
#include "common/strmap.h"

/*
 * An event's string fields carry their capacity in a header before the bytes
 * (asking malloc_usable_size() of every field a line sets and every field an
 * event frees was ~2 % of an sshd replay). Only this file allocates and frees
 * them; readers see a plain NUL-terminated string.
 */
#define STR_ROUND 32

struct evt_str {
	size_t cap; /* bytes s may hold, its NUL included */
	char s[];
};

static struct evt_str *str_hdr(char *s)
{
	return (struct evt_str *)(s - offsetof(struct evt_str, s));
}

static void str_free(char *s)
{
	if (s)
		free(str_hdr(s));
}

/*
 * *field becomes val[0..len) + NUL, in place when its buffer has the room: a
 * recycled event gets a line's Raw, Src, Module and Stage set per line, most
 * of them the same length or shorter than last time (val may be *field itself).
 */
static int set_strn(char **field, const char *val, size_t len)
{
	struct evt_str *h;
	size_t cap;

	if (*field && str_hdr(*field)->cap > len) {
		memmove(*field, val, len);
		(*field)[len] = '\0';
		return 0;
	}
	/* rounded up: the next line's Raw is seldom the same length */
	cap = (len + STR_ROUND) & ~(size_t)(STR_ROUND - 1);
	h = malloc(sizeof(*h) + cap);
	if (!h)
		return -ENOMEM;
	h->cap = cap;
	memcpy(h->s, val, len);
	h->s[len] = '\0';
	str_free(*field);
	*field = h->s;
	return 0;
}

int cs_event_set_str(char **field, const char *val)
{
	if (!val)
		val = "";
	return set_strn(field, val, strlen(val));
}

/* The first and last second of four-digit years, and the offsets RFC 3339 text carries. */
#define YEAR_0_SEC (-62167219200LL)	   /* 0000-01-01T00:00:00Z */
#define YEAR_9999_END_SEC 253402300799LL /* 9999-12-31T23:59:59Z */
#define OFFSET_MAX (24 * 3600 + 59 * 60)

/* Does cs_time_format's text for t parse back (RFC 3339) as exactly t? */
static bool reads_back(const struct cs_time *t)
{
	int64_t local = t->sec + t->off;

	return t->nsec >= 0 && t->nsec < 1000000000 && t->off % 60 == 0 &&
	       t->off >= -OFFSET_MAX && t->off <= OFFSET_MAX && local >= YEAR_0_SEC &&
	       local <= YEAR_9999_END_SEC;
}

int cs_event_format_time(struct cs_event *evt, const struct cs_time *t, char *buf, size_t len)
{
	int err = cs_time_format(t, buf, len);

	evt->known_time.text[0] = '\0';
	if (err || !reads_back(t) || strlen(buf) >= sizeof(evt->known_time.text))
		return err;
	evt->known_time.t = *t;
	strcpy(evt->known_time.text, buf);
	return 0;
}

int cs_event_marshaled_time(const struct cs_event *evt, struct cs_time *out)
{
	const char *s = evt->marshaled_time;
	bool has_year;

	if (!s || !s[0])
		return -EINVAL;
	if (!strcmp(s, evt->known_time.text)) {
		*out = evt->known_time.t;
		return 0;
	}
	return cs_time_parse_layout("2006-01-02T15:04:05Z07:00", s, out, &has_year);
}

static void event_destroy(struct cs_event *evt)
{
	if (!evt)
		return;
	str_free(evt->whitelist_reason);
	str_free(evt->stage);
	str_free(evt->line.raw);
	str_free(evt->line.src);
	str_free(evt->line.module);
	strmap_free(evt->line.labels);
	strmap_free(evt->parsed);
	strmap_free(evt->enriched);
	strmap_free(evt->meta);
	expr_value_release(&evt->unmarshaled);
	str_free(evt->str_time);
	str_free(evt->str_time_format);
	str_free(evt->marshaled_time);
	if (evt->overflow && evt->overflow_ops && evt->overflow_ops->free)
		evt->overflow_ops->free(evt->overflow);
	free(evt);
}

/*
 * Events freed by a thread wait in its pool (or the depot) for a cs_event_new(): their
 * maps keep their tables, so a line costs no malloc for them, and the parsing
 * threads stop freeing into each other's malloc arenas (an event is made by the
 * worker that parses its batch and freed by the one that merges it). Bounded:
 * POOL_MAX events per thread, DEPOT_MAX in the depot, and an event whose maps grew past POOL_KEYS keys,
 * or that carries Unmarshaled keys, is freed instead (strmap_clear keeps at most
 * a small arena chunk). An overflow's event drops its overflow and is kept: freed,
 * each of the ~6,000 of a 300k-line sshd replay took a warm event from the pool
 * and left a new one (a calloc, four maps, their tables and chunks) to the next line.
 */
#define POOL_MAX 512
#define POOL_KEYS 64
#define POOL_STR 512	/* larger string buffers (Line.Raw of a long line) are not kept */

struct event_pool {
	struct cs_event *v[POOL_MAX];
	size_t n;
};

static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static __thread struct event_pool *pool;

static void pool_destroy(void *arg)
{
	struct event_pool *p = arg;

	if (p == pool)
		pool = NULL;
	for (size_t i = 0; i < p->n; i++)
		event_destroy(p->v[i]);
	free(p);
}

static void pool_key_init(void)
{
	pthread_key_create(&pool_key, pool_destroy);
}

static struct event_pool *pool_get(void)
{
	if (pool)
		return pool;
	pthread_once(&pool_once, pool_key_init);
	pool = calloc(1, sizeof(*pool));
	if (pool)
		pthread_setspecific(pool_key, pool);
	return pool;
}

/*
 * The depot: where a thread's full pool sends half of it and an empty one takes
 * from, one lock per POOL_MAX / 2 events. Without it the worker that merges
 * batches (and frees their events) filled its pool while the one that routed
 * the next batch allocated anew.
 */
#define DEPOT_MAX 4096

static pthread_mutex_t depot_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cs_event *depot[DEPOT_MAX];
static size_t ndepot;

static void depot_give(struct event_pool *p)
{
	size_t n = POOL_MAX / 2, moved;

	pthread_mutex_lock(&depot_mu);
	moved = n < DEPOT_MAX - ndepot ? n : DEPOT_MAX - ndepot;
	memcpy(depot + ndepot, p->v + p->n - moved, moved * sizeof(*depot));
	ndepot += moved;
	pthread_mutex_unlock(&depot_mu);
	p->n -= moved;
	/* the depot is full: these go back to malloc */
	for (; n > moved; n--)
		event_destroy(p->v[--p->n]);
}

static bool depot_take(struct event_pool *p)
{
	size_t n;

	pthread_mutex_lock(&depot_mu);
	n = ndepot < POOL_MAX / 2 ? ndepot : POOL_MAX / 2;
	ndepot -= n;
	memcpy(p->v + p->n, depot + ndepot, n * sizeof(*depot));
	pthread_mutex_unlock(&depot_mu);
	p->n += n;
	return n > 0;
}

static bool map_poolable(const struct strmap *m)
{
	return m && strmap_count(m) <= POOL_KEYS;
}

/* Back to what cs_event_new() makes, keeping the allocations; false: free it instead. */
static bool event_reset(struct cs_event *evt)
{
	char **strs[] = { &evt->whitelist_reason, &evt->stage, &evt->line.raw, &evt->line.src,
			  &evt->line.module, &evt->str_time, &evt->str_time_format,
			  &evt->marshaled_time };
	struct strmap *maps[] = { evt->line.labels, evt->parsed, evt->enriched, evt->meta };

	if (evt->unmarshaled.kind != EXPR_MAP || expr_map_len(&evt->unmarshaled))
		return false;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if (!map_poolable(maps[i]))
			return false;
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (!*strs[i])
			return false;
	/* an overflow's event is made from the pool too: back to it, not to malloc */
	if (evt->overflow && evt->overflow_ops && evt->overflow_ops->free)
		evt->overflow_ops->free(evt->overflow);
	evt->overflow = NULL;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		strmap_clear(maps[i]);
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (str_hdr(*strs[i])->cap > POOL_STR) {
			char *e = NULL;

			if (set_strn(&e, "", 0))
				return false;
			str_free(*strs[i]);
			*strs[i] = e;
		}
		(*strs[i])[0] = '\0';
	}
	*evt = (struct cs_event){
		.whitelist_reason = evt->whitelist_reason,
		.stage = evt->stage,
		.line = { .raw = evt->line.raw, .src = evt->line.src, .module = evt->line.module,
			  .labels = evt->line.labels },
		.parsed = evt->parsed,
		.enriched = evt->enriched,
		.meta = evt->meta,
		.unmarshaled = evt->unmarshaled,
		.str_time = evt->str_time,
		.str_time_format = evt->str_time_format,
		.marshaled_time = evt->marshaled_time,
	};
	return true;
}

void cs_event_free(struct cs_event *evt)
{
	struct event_pool *p;

	if (!evt)
		return;
	p = pool_get();
	if (!p || !event_reset(evt)) {
		event_destroy(evt);
		return;
	}
	if (p->n == POOL_MAX)
		depot_give(p);
	p->v[p->n++] = evt;
}

/* Every string field starts as "" so readers never see NULL. */
int cs_event_new(struct cs_event **out)
{
	struct event_pool *p = pool_get();
	struct cs_event *e;
	int err = -ENOMEM;

	if (p && (p->n || depot_take(p))) {
		*out = p->v[--p->n];
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->unmarshaled = expr_nil();
	if (cs_event_set_str(&e->whitelist_reason, "") || cs_event_set_str(&e->stage, "") ||
	    cs_event_set_str(&e->line.raw, "") || cs_event_set_str(&e->line.src, "") ||
	    cs_event_set_str(&e->line.module, "") || cs_event_set_str(&e->str_time, "") ||
	    cs_event_set_str(&e->str_time_format, "") || cs_event_set_str(&e->marshaled_time, ""))
		goto err;
	e->line.labels = strmap_new();
	e->parsed = strmap_new();
	e->enriched = strmap_new();
	e->meta = strmap_new();
	if (!e->line.labels || !e->parsed || !e->enriched || !e->meta)
		goto err;
	err = expr_map_new(&e->unmarshaled);
	if (err)
		goto err;
	*out = e;
	return 0;
err:
	event_destroy(e);
	return err;
}

/*
 * A new top-level map holding new references to the same values: nested
 * values are immutable once built, only the top level is ever written to.
 */
static int copy_map(const struct expr_value *src, struct expr_value *out)
{
	size_t n = expr_map_len(src);
	int err = expr_map_new(out);

	for (size_t i = 0; !err && i < n; i++) {
		const char *k;
		const struct expr_value *v;

		err = expr_map_entry(src, i, &k, &v);
		if (!err)
			err = expr_map_set(out, k, v);
	}
	if (err)
		expr_value_release(out);
	return err;
}

int cs_event_dup(const struct cs_event *evt, struct cs_event **out)
{
	struct cs_event *e = calloc(1, sizeof(*e));
	int err = -ENOMEM;

	if (!e)
		return -ENOMEM;
	*e = *evt;
	/* Clear every owned pointer first so the error path frees only copies. */
	e->whitelist_reason = e->stage = e->str_time = e->str_time_format = NULL;
	e->marshaled_time = e->line.raw = e->line.src = e->line.module = NULL;
	e->line.labels = e->parsed = e->enriched = e->meta = NULL;
	e->unmarshaled = expr_nil();
	e->overflow = NULL;
	if (cs_event_set_str(&e->whitelist_reason, evt->whitelist_reason) ||
	    cs_event_set_str(&e->stage, evt->stage) ||
	    cs_event_set_str(&e->str_time, evt->str_time) ||
	    cs_event_set_str(&e->str_time_format, evt->str_time_format) ||
	    cs_event_set_str(&e->marshaled_time, evt->marshaled_time) ||
	    set_strn(&e->line.raw, evt->line.raw, evt->line.raw_len) ||
	    cs_event_set_str(&e->line.src, evt->line.src) ||
	    cs_event_set_str(&e->line.module, evt->line.module))
		goto err;
	e->line.labels = strmap_dup(evt->line.labels);
	e->parsed = strmap_dup(evt->parsed);
	e->enriched = strmap_dup(evt->enriched);
	e->meta = strmap_dup(evt->meta);
	if (!e->line.labels || !e->parsed || !e->enriched || !e->meta)
		goto err;
	err = copy_map(&evt->unmarshaled, &e->unmarshaled);
	if (err)
		goto err;
	if (evt->overflow && evt->overflow_ops && evt->overflow_ops->dup) {
		e->overflow = evt->overflow_ops->dup(evt->overflow);
		if (!e->overflow) {
			err = -ENOMEM;
			goto err;
		}
	}
	*out = e;
	return 0;
err:
	event_destroy(e);
	return err;
}

int cs_event_set_line(struct cs_event *evt, const char *raw, size_t len, const char *src,
		      const char *module, const char *log_type)
{
	int err;

	if (len && raw[len - 1] == '\n')
		len--;
	if (len && raw[len - 1] == '\r')
		len--;
	if (len > CS_LINE_MAX) {
		log_warn("line of %zu bytes from %s cut to %d", len, src ? src : "?", CS_LINE_MAX);
		len = CS_LINE_MAX;
	}
	err = set_strn(&evt->line.raw, raw, len);
	if (!err)
		err = cs_event_set_str(&evt->line.src, src);
	if (!err)
		err = cs_event_set_str(&evt->line.module, module);
	if (!err && log_type) {
		static const struct strmap_key *type_key;
		/* acquire/release: a worker that sees the pointer sees the key it points to */
		const struct strmap_key *k = __atomic_load_n(&type_key, __ATOMIC_ACQUIRE);

		if (!k) {
			k = strmap_key_intern("type");
			__atomic_store_n(&type_key, k, __ATOMIC_RELEASE);
		}
		err = k ? strmap_setk(evt->line.labels, k, log_type, strlen(log_type)) :
			  strmap_set(evt->line.labels, "type", log_type);
	}
	if (err)
		return err;
	evt->line.raw_len = len;
	evt->line.process = true;
	cs_time_now_coarse(&evt->line.time);
	evt->type = CS_EVT_LOG;
	evt->process = true;
	return 0;
}

const char *cs_event_get_meta(const struct cs_event *evt, const char *key)
{
	const char *v;

	if (evt->type == CS_EVT_OVFLW) {
		if (evt->overflow && evt->overflow_ops && evt->overflow_ops->get_meta)
			return evt->overflow_ops->get_meta(evt->overflow, key);
		return "";
	}
	v = strmap_get(evt->meta, key);
	return v ? v : "";
}

const char *cs_event_type_name(const struct cs_event *evt)
{
	switch (evt->type) {
	case CS_EVT_LOG:
		return "log";
	case CS_EVT_OVFLW:
		return "overflow";
	default:
		return "unknown";
	}
}

/*
 * The string fields of an event a path names: a `target:` writes them
 * (cs_event_set_target), cs_event_path() reads them as evt_get()/line_get()
 * give them. Line.Raw's length is kept beside it (line.raw_len).
 */
static const struct {
	const char *name;
	size_t off;
} string_fields[] = {
	{ "StrTime", offsetof(struct cs_event, str_time) },
	{ "StrTimeFormat", offsetof(struct cs_event, str_time_format) },
	{ "MarshaledTime", offsetof(struct cs_event, marshaled_time) },
	{ "WhitelistReason", offsetof(struct cs_event, whitelist_reason) },
	{ "Stage", offsetof(struct cs_event, stage) },
	{ "Line.Src", offsetof(struct cs_event, line.src) },
	{ "Line.Module", offsetof(struct cs_event, line.module) },
	{ "Line.Raw", offsetof(struct cs_event, line.raw) },
};

/* The maps a `target:` path names, with the key after the prefix. */
static const struct {
	const char *prefix;
	size_t off;
} target_maps[] = {
	{ "Meta.", offsetof(struct cs_event, meta) },
	{ "Parsed.", offsetof(struct cs_event, parsed) },
	{ "Enriched.", offsetof(struct cs_event, enriched) },
	{ "Line.Labels.", offsetof(struct cs_event, line.labels) },
};

#define NSTRING_FIELDS (sizeof(string_fields) / sizeof(string_fields[0]))
#define NTARGET_MAPS (sizeof(target_maps) / sizeof(target_maps[0]))

/* The char * string_fields[field] describes in evt (const or not, as strchr does). */
static char **string_field(const struct cs_event *evt, size_t field)
{
	return (char **)((char *)evt + string_fields[field].off);
}

static bool is_raw_line(size_t field)
{
	return string_fields[field].off == offsetof(struct cs_event, line.raw);
}

/*
 * A target path read: field i of string_fields, or map j of target_maps and its key (the name up to the next dot, at most
 * 255 bytes). -ENOENT for a path that names no string field, -EXDEV for an
 * Overflow field (the bucket engine's).
 */
struct target_ref {
	size_t field, map;
	char key[256];
};

static int target_parse(const char *path, struct target_ref *t)
{
	if (!strncmp(path, "evt.", 4))
		path += 4;
	if (!strncmp(path, "Overflow.", 9))
		return -EXDEV;
	t->field = t->map = SIZE_MAX;
	for (size_t i = 0; i < NSTRING_FIELDS; i++)
		if (!strcmp(path, string_fields[i].name)) {
			t->field = i;
			return 0;
		}
	for (size_t i = 0; i < NTARGET_MAPS; i++) {
		size_t pl = strlen(target_maps[i].prefix);
		const char *dot;

		if (strncmp(path, target_maps[i].prefix, pl) || !path[pl])
			continue;
		/* The walk stops at the first map: Meta.a.b sets Meta["a"]. */
		dot = strchr(path + pl, '.');
		snprintf(t->key, sizeof(t->key), "%.*s",
			 dot ? (int)(dot - path - pl) : (int)strlen(path + pl), path + pl);
		t->map = i;
		return 0;
	}
	return -ENOENT;
}

static int set_target_field(struct cs_event *evt, size_t field, const char *val, size_t len)
{
	int err = set_strn(string_field(evt, field), val, len);

	if (!err && is_raw_line(field))
		evt->line.raw_len = len;
	return err;
}

static struct strmap *target_map(struct cs_event *evt, size_t map)
{
	return *(struct strmap **)((char *)evt + target_maps[map].off);
}

int cs_event_set_target(struct cs_event *evt, const char *path, const char *val, size_t len)
{
	struct target_ref t;
	int err = target_parse(path, &t);

	/* The overflow part belongs to the bucket engine: it writes its own fields. */
	if (err == -EXDEV) {
		path += strncmp(path, "evt.", 4) ? 0 : 4;
		return evt->overflow && evt->overflow_ops && evt->overflow_ops->set_target ?
			       evt->overflow_ops->set_target(evt->overflow, path, val, len) : -ENOENT;
	}
	if (err)
		return err;
	if (t.field != SIZE_MAX)
		return set_target_field(evt, t.field, val, len);
	return strmap_setn(target_map(evt, t.map), t.key, val, len);
}

/*
 * A resolved target: ((field + 1) << 4) | TARGET_FIELD, or an interned key's
 * address | TARGET_MAP | the map's index (malloc'ed keys keep 4 low bits clear).
 */
enum { TARGET_FIELD = 1, TARGET_MAP = 8, TARGET_LOW = 15 };

uintptr_t cs_event_target(const char *path)
{
	struct target_ref t;
	const struct strmap_key *k;

	if (target_parse(path, &t))
		return 0;
	if (t.field != SIZE_MAX)
		return ((uintptr_t)(t.field + 1) << 4) | TARGET_FIELD;
	k = strmap_key_intern(t.key);
	if (!k || ((uintptr_t)k & TARGET_LOW))
		return 0;
	return (uintptr_t)k | TARGET_MAP | t.map;
}

int cs_event_set_target_at(struct cs_event *evt, uintptr_t target, const char *val, size_t len)
{
	if (target & TARGET_MAP)
		return strmap_setk(target_map(evt, target & (TARGET_MAP - 1)),
				   (const struct strmap_key *)(target & ~(uintptr_t)TARGET_LOW), val, len);
	return set_target_field(evt, (target >> 4) - 1, val, len);
}

int cs_event_unmarshal_json(struct cs_event *evt, const char *json, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
	const char *k;
	json_t *v;
	int err = 0;

	if (!root)
		return -EINVAL;
	if (!json_is_object(root)) {
		json_decref(root);
		return -EINVAL;
	}
	json_object_foreach(root, k, v) {
		struct expr_value ev;

		err = expr_value_from_go_json(v, &ev);
		if (!err)
			err = expr_map_set_take(&evt->unmarshaled, k, ev);
		if (err)
			break;
	}
	json_decref(root);
	return err;
}

/* ---- expression binding -------------------------------------------------------------- */

static struct expr_value time_value(const struct cs_time *t)
{
	return expr_time(t->sec * 1000000000LL + t->nsec, t->off);
}

static int line_get(struct expr_ctx *ctx, void *obj, const char *name, struct expr_value *out)
{
	struct cs_line *l = obj;

	if (!strcmp(name, "Raw"))
		return expr_stringn(l->raw, l->raw_len, out);
	if (!strcmp(name, "Src"))
		return expr_string(l->src, out);
	if (!strcmp(name, "Module"))
		return expr_string(l->module, out);
	if (!strcmp(name, "Labels"))
		return *out = expr_host(&expr_strmap_ops, l->labels), 0;
	if (!strcmp(name, "Time"))
		return *out = time_value(&l->time), 0;
	if (!strcmp(name, "Process"))
		return *out = expr_bool(l->process), 0;
	return -ENOENT;
}

static const struct expr_field line_fields[] = {
	{ "Raw", &expr_type_string },	 { "Src", &expr_type_string },
	{ "Module", &expr_type_string }, { "Labels", &expr_type_strmap },
	{ "Time", &expr_type_time },	 { "Process", &expr_type_bool },
	{ NULL, NULL },
};

static const struct expr_host_ops line_ops = {
	.name = "Line",
	.fields = line_fields,
	.methods = (const struct expr_method[]){ { NULL, 0, 0, NULL } },
	.get = line_get,
};
static const struct expr_type line_type = { EXPR_HOST, NULL, &line_ops };

static int evt_get(struct expr_ctx *ctx, void *obj, const char *name, struct expr_value *out)
{
	struct cs_event *e = obj;

	switch (name[0]) {
	case 'T':
		if (!strcmp(name, "Type"))
			return *out = expr_int(e->type), 0;
		if (!strcmp(name, "Time"))
			return *out = time_value(&e->time), 0;
		break;
	case 'E':
		if (!strcmp(name, "ExpectMode"))
			return *out = expr_int(e->expect_mode), 0;
		if (!strcmp(name, "Enriched"))
			return *out = expr_host(&expr_strmap_ops, e->enriched), 0;
		break;
	case 'W':
		if (!strcmp(name, "Whitelisted"))
			return *out = expr_bool(e->whitelisted), 0;
		if (!strcmp(name, "WhitelistReason"))
			return expr_string(e->whitelist_reason, out);
		break;
	case 'S':
		if (!strcmp(name, "Stage"))
			return expr_string(e->stage, out);
		if (!strcmp(name, "StrTime"))
			return expr_string(e->str_time, out);
		if (!strcmp(name, "StrTimeFormat"))
			return expr_string(e->str_time_format, out);
		break;
	case 'L':
		if (!strcmp(name, "Line"))
			return *out = expr_host(&line_ops, &e->line), 0;
		break;
	case 'P':
		if (!strcmp(name, "Parsed"))
			return *out = expr_host(&expr_strmap_ops, e->parsed), 0;
		if (!strcmp(name, "Process"))
			return *out = expr_bool(e->process), 0;
		break;
	case 'M':
		if (!strcmp(name, "Meta"))
			return *out = expr_host(&expr_strmap_ops, e->meta), 0;
		if (!strcmp(name, "MarshaledTime"))
			return expr_string(e->marshaled_time, out);
		break;
	case 'U':
		if (!strcmp(name, "Unmarshaled"))
			return *out = expr_host(&expr_nmap_ops, &e->unmarshaled), 0;
		break;
	case 'O':
		if (!strcmp(name, "Overflow")) {
			if (e->overflow && e->overflow_ops && e->overflow_ops->expr)
				return *out = expr_host(e->overflow_ops->expr, e->overflow), 0;
			return *out = expr_nil(), 0;
		}
		break;
	case 'A':
		if (!strcmp(name, "Appsec"))
			return *out = expr_nil(), 0;
		break;
	}
	return -ENOENT;
}

/*
 * evt.Meta.x / evt.Parsed.x / evt.Enriched.x resolved when the expression is
 * compiled: the map in the cookie's low bits, the interned key above them.
 */
enum { PATH_MASK = 3 };

enum cs_event_map cs_event_map_named(const char *field)
{
	return !strcmp(field, "Meta")	  ? CS_EVT_META :
	       !strcmp(field, "Parsed")	  ? CS_EVT_PARSED :
	       !strcmp(field, "Enriched") ? CS_EVT_ENRICHED : CS_EVT_NONE;
}

static uintptr_t evt_path_key(const char *name, const char *key)
{
	uintptr_t map = cs_event_map_named(name);
	const struct strmap_key *k = map ? strmap_key_intern(key) : NULL;

	_Static_assert(_Alignof(struct strmap_key) > PATH_MASK, "low bits of a key pointer");
	_Static_assert((int)CS_EVT_ENRICHED <= (int)PATH_MASK, "a map in the low bits");
	return k ? (uintptr_t)k | map : 0;
}

static int evt_path_get(void *obj, uintptr_t cookie, const char **s, size_t *len,
			uint64_t *version)
{
	const struct cs_event *e = obj;
	const struct strmap *m = cs_event_map_of(e, (enum cs_event_map)(cookie & PATH_MASK));

	if (!m)
		return -ENOENT;
	*version = strmap_version(m);
	if (!s)
		return 0;
	*s = strmap_getk(m, (const struct strmap_key *)(cookie & ~(uintptr_t)PATH_MASK), len);
	if (!*s) {
		*s = "";
		*len = 0;
	}
	return 0;
}

/* Whether a string field's name is field (a name without a dot) or field.key. */
static bool names_field(const char *name, const char *field, const char *key)
{
	size_t n = strlen(field);

	if (strchr(field, '.') || strncmp(name, field, n))
		return false;
	return key ? name[n] == '.' && !strcmp(name + n + 1, key) : !name[n];
}

/* A map path is evt_path_key()'s cookie (low bits set); a string field is (index + 1) << 2. */
uintptr_t cs_event_path(const char *field, const char *key)
{
	for (size_t i = 0; i < NSTRING_FIELDS; i++)
		if (names_field(string_fields[i].name, field, key))
			return (uintptr_t)(i + 1) << 2;
	return key ? evt_path_key(field, key) : 0;
}

int cs_event_path_read(const struct cs_event *evt, uintptr_t path, const char **s, size_t *len)
{
	uint64_t version;
	size_t i = (path >> 2) - 1;
	const char *v;

	if (path & PATH_MASK)
		return evt_path_get((void *)evt, path, s, len, &version);
	v = *string_field(evt, i);
	*s = v ? v : "";
	*len = !v ? 0 : is_raw_line(i) ? evt->line.raw_len : strlen(v);
	return 0;
}

static int want_strings(struct expr_ctx *ctx, const char *method, const struct expr_value *args,
			int nargs)
{
	for (int i = 0; i < nargs; i++)
		if (args[i].kind != EXPR_STRING) {
			expr_ctx_errorf(ctx, "%s: argument %d must be a string, got %s", method,
					i + 1, expr_kind_name(args[i].kind));
			return -EINVAL;
		}
	return 0;
}

static int push_ip_source(const char *s, void *arg)
{
	struct cs_prefix p;
	struct expr_value v;
	int err;

	if (cs_addr_parse(s, &p))
		return 0;
	err = expr_string(s, &v);
	return err ? err : expr_array_push_take(arg, v);
}

static int evt_call(struct expr_ctx *ctx, void *obj, const char *method,
		    const struct expr_value *args, int nargs, struct expr_value *out)
{
	struct cs_event *e = obj;
	int err = want_strings(ctx, method, args, nargs);

	if (err)
		return err;
	if (!strcmp(method, "GetType"))
		return expr_string(cs_event_type_name(e), out);
	if (!strcmp(method, "GetMeta"))
		return expr_string(cs_event_get_meta(e, expr_str_cstr(&args[0])), out);
	if (!strcmp(method, "SetMeta") || !strcmp(method, "SetParsed")) {
		err = strmap_setn(method[3] == 'M' ? e->meta : e->parsed, expr_str_cstr(&args[0]),
				  expr_str_cstr(&args[1]), expr_str_len(&args[1]));
		return err ? err : (*out = expr_bool(true), 0);
	}
	if (!strcmp(method, "ParseIPSources")) {
		err = expr_array_new(1, out);
		if (err)
			return err;
		if (e->type == CS_EVT_LOG)
			err = push_ip_source(cs_event_get_meta(e, "source_ip"), out);
		else if (e->overflow && e->overflow_ops && e->overflow_ops->for_each_source)
			err = e->overflow_ops->for_each_source(e->overflow, push_ip_source, out);
		if (err)
			expr_value_release(out);
		return err;
	}
	return -ENOENT;
}

static const struct expr_field evt_fields[] = {
	{ "Type", &expr_type_int },
	{ "ExpectMode", &expr_type_int },
	{ "Whitelisted", &expr_type_bool },
	{ "WhitelistReason", &expr_type_string },
	{ "Stage", &expr_type_string },
	{ "Line", &line_type },
	{ "Parsed", &expr_type_strmap },
	{ "Enriched", &expr_type_strmap },
	{ "Unmarshaled", &expr_type_nmap },
	{ "Meta", &expr_type_strmap },
	{ "Overflow", NULL },
	{ "Time", &expr_type_time },
	{ "StrTime", &expr_type_string },
	{ "StrTimeFormat", &expr_type_string },
	{ "MarshaledTime", &expr_type_string },
	{ "Process", &expr_type_bool },
	{ "Appsec", NULL },
	{ NULL, NULL },
};

static const struct expr_method evt_methods[] = {
	{ "GetType", 0, 0, &expr_type_string },
	{ "GetMeta", 1, 1, &expr_type_string },
	{ "SetMeta", 2, 2, &expr_type_bool },
	{ "SetParsed", 2, 2, &expr_type_bool },
	{ "ParseIPSources", 0, 0, &expr_type_array_string },
	{ NULL, 0, 0, NULL },
};

const struct expr_host_ops cs_event_expr_ops = {
	EXPR_HOST_RECORD("Event", evt),
	.path_key = evt_path_key,
	.path_get = evt_path_get,
};

const struct expr_type cs_event_expr_type = { EXPR_HOST, NULL, &cs_event_expr_ops };

/* ---- models.Source ---------------------------------------------------------------- */

static int str_out(const char *s, struct expr_value *out)
{
	return expr_string(s ? s : "", out);
}

static const struct expr_field source_fields[] = {
	{ "Scope", &expr_type_string },	   { "Value", &expr_type_string },
	{ "IP", &expr_type_string },	   { "Range", &expr_type_string },
	{ "AsName", &expr_type_string },   { "AsNumber", &expr_type_string },
	{ "Cn", &expr_type_string },	   { "Latitude", &expr_type_float },
	{ "Longitude", &expr_type_float }, { NULL, NULL },
};

static const struct rec_field source_strings[] = {
	REC_ROW(struct cs_source, "Scope", scope, REC_STR),
	REC_ROW(struct cs_source, "Value", value, REC_STR),
	REC_ROW(struct cs_source, "IP", ip, REC_STR),
	REC_ROW(struct cs_source, "Range", range, REC_STR),
	REC_ROW(struct cs_source, "AsName", as_name, REC_STR),
	REC_ROW(struct cs_source, "AsNumber", as_number, REC_STR),
	REC_ROW(struct cs_source, "Cn", cn, REC_STR),
};
const struct rec_schema cs_source_schema = REC_SCHEMA(source_strings);

static const struct expr_method source_methods[] = {
	{ "GetScope", 0, 0, &expr_type_string },
	{ "GetValue", 0, 0, &expr_type_string },
	{ "GetAsNumberName", 0, 0, &expr_type_string },
	{ NULL, 0, 0, NULL },
};

static int source_get(struct expr_ctx *c, void *obj, const char *name, struct expr_value *out)
{
	const struct cs_source *s = obj;
	const struct rec_field *f = rec_find(&cs_source_schema, name);

	if (f)
		return str_out(*rec_str(f, s), out);
	if (!strcmp(name, "Latitude"))
		return *out = expr_float(s->lat), 0;
	if (!strcmp(name, "Longitude"))
		return *out = expr_float(s->lon), 0;
	return -ENOENT;
}

static int source_call(struct expr_ctx *c, void *obj, const char *method,
		       const struct expr_value *args, int nargs, struct expr_value *out)
{
	const struct cs_source *s = obj;

	if (!strcmp(method, "GetScope"))
		return str_out(s->scope, out);
	if (!strcmp(method, "GetValue"))
		return str_out(s->value, out);
	if (!strcmp(method, "GetAsNumberName")) {
		const char *n = s->as_number ? s->as_number : "";
		const char *a = s->as_name ? s->as_name : "";

		/* "<number> <name>" with whichever parts exist */
		return expr_stringf(out, "%s%s%s", n, *n && *a ? " " : "", a);
	}
	return -ENOENT;
}

const struct expr_host_ops cs_source_expr_ops = { EXPR_HOST_RECORD("Source", source) };

const struct expr_type cs_source_expr_type = { EXPR_HOST, NULL, &cs_source_expr_ops };
