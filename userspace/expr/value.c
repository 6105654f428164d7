// SPDX-License-Identifier: MIT
/*
 * expr values: reference-counted strings, arrays and maps, Go-like equality and
 * text forms, the JSON bridge, durations and times.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/gotime.h"
#include "common/hash.h"
#include "common/vec.h"
#include "expr/expr_int.h"

__thread int64_t expr_mem_left;
__thread bool expr_mem_limited;

const struct expr_type expr_type_any = { EXPR_ANY, NULL, NULL };
const struct expr_type expr_type_nil = { EXPR_NIL, NULL, NULL };
const struct expr_type expr_type_bool = { EXPR_BOOL, NULL, NULL };
const struct expr_type expr_type_int = { EXPR_INT, NULL, NULL };
const struct expr_type expr_type_float = { EXPR_FLOAT, NULL, NULL };
const struct expr_type expr_type_string = { EXPR_STRING, NULL, NULL };
const struct expr_type expr_type_duration = { EXPR_DURATION, NULL, NULL };
const struct expr_type expr_type_time = { EXPR_TIME, NULL, NULL };
const struct expr_type expr_type_array_any = { EXPR_ARRAY, NULL, NULL };
const struct expr_type expr_type_array_string = { EXPR_ARRAY, &expr_type_string, NULL };
const struct expr_type expr_type_map_any = { EXPR_MAP, NULL, NULL };
const struct expr_type expr_type_map_string = { EXPR_MAP, &expr_type_string, NULL };

static const char *const kind_names[EXPR_KIND_MAX] = {
	[EXPR_ANY] = "any",	      [EXPR_NIL] = "nil",	[EXPR_BOOL] = "bool",
	[EXPR_INT] = "int",	      [EXPR_FLOAT] = "float",	[EXPR_STRING] = "string",
	[EXPR_ARRAY] = "array",	      [EXPR_MAP] = "map",	[EXPR_DURATION] = "duration",
	[EXPR_TIME] = "time",	      [EXPR_HOST] = "object",
};

const char *expr_kind_name(enum expr_kind kind)
{
	if ((unsigned int)kind >= EXPR_KIND_MAX)
		return "invalid";
	return kind_names[kind];
}

/* ---- strings ---- */

struct expr_str *xstr_alloc(size_t len)
{
	struct expr_str *s;

	size_t size;

	if (len > EXPR_MAX_ALLOC)
		return NULL;
	/*
	 * PCRE2's JIT reads subjects 16 bytes at a time and may run past the end
	 * (harmless, but memcheck flags it): round up and zero a tail so every
	 * such read stays inside initialised memory.
	 */
	size = (sizeof(*s) + len + 1 + 15) / 16 * 16 + 16;
	if (!mem_charge(size))
		return NULL;
	s = malloc(size);
	if (!s)
		return NULL;
	memset(s->s + len, 0, size - sizeof(*s) - len);
	s->refcnt = 1;
	s->len = len;
	s->s[len] = '\0';
	return s;
}

struct expr_str *xstr_new(const char *src, size_t len)
{
	struct expr_str *s = xstr_alloc(len);

	if (s && len)
		memcpy(s->s, src, len);
	return s;
}

int expr_stringn(const char *s, size_t len, struct expr_value *out)
{
	struct expr_str *x = xstr_new(s, len);

	*out = EXPR_NIL_VALUE;
	if (!x)
		return -ENOMEM;
	*out = xstr_value(x);
	return 0;
}

int expr_string(const char *s, struct expr_value *out)
{
	return expr_stringn(s ? s : "", s ? strlen(s) : 0, out);
}

int expr_stringf(struct expr_value *out, const char *fmt, ...)
{
	struct sbuf sb = EXPR_SBUF;
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	return sb_to_value(&sb, out);
}

int sb_to_value(struct sbuf *sb, struct expr_value *out)
{
	size_t len = 0;
	char *s = sb_take(sb, &len);
	int err;

	*out = EXPR_NIL_VALUE;
	if (!s)
		return -ENOMEM;
	err = expr_stringn(s, len, out);
	free(s);
	return err;
}

size_t utf8_len(const char *s, size_t len)
{
	size_t n = 0;

	/* Count every byte that is not a continuation byte: close enough to Go's
	 * rune count (a stray continuation byte is one U+FFFD there). */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if ((c & 0xC0) != 0x80 || i == 0)
			n++;
	}
	return n;
}

/* ---- arrays ---- */

int expr_array_new(size_t cap_hint, struct expr_value *out)
{
	struct expr_array *a;

	*out = EXPR_NIL_VALUE;
	if (cap_hint > EXPR_MAX_ALLOC / sizeof(struct expr_value))
		return -E2BIG;
	if (!mem_charge(sizeof(*a) + cap_hint * sizeof(struct expr_value)))
		return -ENOMEM;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->refcnt = 1;
	if (cap_hint) {
		a->items = malloc(cap_hint * sizeof(*a->items));
		if (!a->items) {
			free(a);
			return -ENOMEM;
		}
		a->cap = cap_hint;
	}
	out->kind = EXPR_ARRAY;
	out->a = a;
	return 0;
}

int expr_array_push_take(struct expr_value *array, struct expr_value item)
{
	struct expr_array *a;

	if (array->kind != EXPR_ARRAY) {
		expr_value_release(&item);
		return -EINVAL;
	}
	a = array->a;
	if (a->len == a->cap) {
		size_t cap = vec_grown(a->cap, a->len, 8);
		struct expr_value *p;

		if (cap > EXPR_MAX_ALLOC / sizeof(*p)) {
			expr_value_release(&item);
			return -E2BIG;
		}
		if (!mem_charge((cap - a->cap) * sizeof(*p))) {
			expr_value_release(&item);
			return -ENOMEM;
		}
		p = realloc(a->items, cap * sizeof(*p));
		if (!p) {
			expr_value_release(&item);
			return -ENOMEM;
		}
		a->items = p;
		a->cap = cap;
	}
	a->items[a->len++] = item;
	return 0;
}

int expr_array_push(struct expr_value *array, const struct expr_value *item)
{
	return expr_array_push_take(array, expr_value_ref(item));
}

size_t expr_array_len(const struct expr_value *array)
{
	return array->kind == EXPR_ARRAY ? array->a->len : 0;
}

const struct expr_value *expr_array_at(const struct expr_value *array, size_t i)
{
	if (array->kind != EXPR_ARRAY || i >= array->a->len)
		return NULL;
	return &array->a->items[i];
}

int expr_array_from_strings(const char *const *strv, size_t n, struct expr_value *out)
{
	int err = expr_array_new(n, out);

	for (size_t i = 0; !err && i < n; i++) {
		struct expr_value s;

		err = expr_string(strv[i], &s);
		if (!err)
			err = expr_array_push_take(out, s);
	}
	if (err)
		expr_value_release(out);
	return err;
}

/* ---- maps ---- */

/* Map keys come from logs (UnmarshalJSON, ParseKV): seeded hash. */
static uint32_t hash_bytes(const char *s, size_t len)
{
	return (uint32_t)cs_hash(s, len);
}

int expr_map_new(struct expr_value *out)
{
	struct expr_map *m = calloc(1, sizeof(*m));

	*out = EXPR_NIL_VALUE;
	if (!m)
		return -ENOMEM;
	m->refcnt = 1;
	out->kind = EXPR_MAP;
	out->m = m;
	return 0;
}

int xmap_find(const struct expr_map *m, const char *key, size_t klen)
{
	if (m->slots) {
		uint32_t mask = m->nslots - 1, i = hash_bytes(key, klen) & mask;

		for (; m->slots[i]; i = (i + 1) & mask) {
			const struct expr_str *k = m->keys[m->slots[i] - 1];

			if (k->len == klen && !memcmp(k->s, key, klen))
				return m->slots[i] - 1;
		}
		return -1;
	}
	for (uint32_t i = 0; i < m->len; i++)
		if (m->keys[i]->len == klen && !memcmp(m->keys[i]->s, key, klen))
			return i;
	return -1;
}

/* Small maps are scanned; from 8 entries on an index keeps lookups O(1). */
static int xmap_reindex(struct expr_map *m)
{
	uint32_t n = 16, *slots;

	while (n < m->len * 2 + 2)
		n *= 2;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (uint32_t e = 0; e < m->len; e++) {
		uint32_t i = hash_bytes(m->keys[e]->s, m->keys[e]->len) & (n - 1);

		while (slots[i])
			i = (i + 1) & (n - 1);
		slots[i] = e + 1;
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = n;
	return 0;
}

int expr_map_set_keyn_take(struct expr_value *map, const char *key, size_t klen,
			   struct expr_value value)
{
	struct expr_map *m;
	int idx, err = 0;

	if (map->kind != EXPR_MAP) {
		expr_value_release(&value);
		return -EINVAL;
	}
	m = map->m;
	idx = xmap_find(m, key, klen);
	if (idx >= 0) {
		expr_value_release(&m->vals[idx]);
		m->vals[idx] = value;
		return 0;
	}
	if (m->len == m->cap) {
		size_t cap = vec_grown(m->cap, m->len, 4);
		struct expr_str **k;
		struct expr_value *v;

		if (cap > UINT32_MAX || !mem_charge((cap - m->cap) * (sizeof(*k) + sizeof(*v))))
			goto oom;
		k = realloc(m->keys, cap * sizeof(*k));
		if (!k)
			goto oom;
		m->keys = k;
		v = realloc(m->vals, cap * sizeof(*v));
		if (!v)
			goto oom;
		m->vals = v;
		m->cap = cap;
	}
	m->keys[m->len] = xstr_new(key, klen);
	if (!m->keys[m->len])
		goto oom;
	m->vals[m->len] = value;
	m->len++;
	if (m->len >= 8 && (!m->slots || m->len * 2 + 2 > m->nslots))
		err = xmap_reindex(m);
	else if (m->slots) {
		uint32_t mask = m->nslots - 1, i = hash_bytes(key, klen) & mask;

		while (m->slots[i])
			i = (i + 1) & mask;
		m->slots[i] = m->len;
	}
	if (err) {
		/* undo so the map stays consistent */
		m->len--;
		free(m->keys[m->len]);
		expr_value_release(&m->vals[m->len]);
	}
	return err;
oom:
	expr_value_release(&value);
	return -ENOMEM;
}

int expr_map_set_take(struct expr_value *map, const char *key, struct expr_value value)
{
	return expr_map_set_keyn_take(map, key, strlen(key), value);
}

int expr_map_set(struct expr_value *map, const char *key, const struct expr_value *value)
{
	return expr_map_set_take(map, key, expr_value_ref(value));
}

const struct expr_value *expr_map_get(const struct expr_value *map, const char *key)
{
	int i;

	if (map->kind != EXPR_MAP)
		return NULL;
	i = xmap_find(map->m, key, strlen(key));
	return i < 0 ? NULL : &map->m->vals[i];
}

size_t expr_map_len(const struct expr_value *map)
{
	return map->kind == EXPR_MAP ? map->m->len : 0;
}

int expr_map_entry(const struct expr_value *map, size_t i, const char **key,
		   const struct expr_value **value)
{
	if (map->kind != EXPR_MAP || i >= map->m->len)
		return -ERANGE;
	*key = map->m->keys[i]->s;
	*value = &map->m->vals[i];
	return 0;
}

/* ---- references ---- */

struct expr_value expr_value_ref(const struct expr_value *v)
{
	switch (v->kind) {
	case EXPR_STRING:
		ref_get(&v->s->refcnt);
		break;
	case EXPR_ARRAY:
		ref_get(&v->a->refcnt);
		break;
	case EXPR_MAP:
		ref_get(&v->m->refcnt);
		break;
	case EXPR_HOST:
		if (v->h.ops && v->h.ops->ref)
			v->h.ops->ref(v->h.obj);
		break;
	default:
		break;
	}
	return *v;
}

void expr_value_release(struct expr_value *v)
{
	if (!v)
		return;
	switch (v->kind) {
	case EXPR_STRING:
		if (ref_put(&v->s->refcnt))
			free(v->s);
		break;
	case EXPR_ARRAY:
		if (ref_put(&v->a->refcnt)) {
			expr_values_free(v->a->items, v->a->len);
			free(v->a);
		}
		break;
	case EXPR_MAP:
		if (ref_put(&v->m->refcnt)) {
			struct expr_map *m = v->m;

			for (uint32_t i = 0; i < m->len; i++) {
				/* keys are shared with keys()/toPairs() results */
				if (ref_put(&m->keys[i]->refcnt))
					free(m->keys[i]);
				expr_value_release(&m->vals[i]);
			}
			free(m->keys);
			free(m->vals);
			free(m->slots);
			free(m);
		}
		break;
	case EXPR_HOST:
		if (v->h.ops && v->h.ops->unref)
			v->h.ops->unref(v->h.obj);
		break;
	default:
		break;
	}
	*v = EXPR_NIL_VALUE;
}

void expr_values_free(struct expr_value *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		expr_value_release(&v[i]);
	free(v);
}

/* ---- equality ---- */

bool expr_value_equal(const struct expr_value *a, const struct expr_value *b)
{
	if (a->kind == EXPR_INT && b->kind == EXPR_FLOAT)
		return (double)a->i == b->f;
	if (a->kind == EXPR_FLOAT && b->kind == EXPR_INT)
		return a->f == (double)b->i;
	if (expr_value_is_nil(a) || expr_value_is_nil(b))
		return expr_value_is_nil(a) && expr_value_is_nil(b);
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case EXPR_NIL:
		return true;
	case EXPR_BOOL:
		return a->b == b->b;
	case EXPR_INT:
		return a->i == b->i;
	case EXPR_FLOAT:
		return a->f == b->f;
	case EXPR_DURATION:
		return a->dur == b->dur;
	case EXPR_TIME:
		return a->t.ns == b->t.ns;
	case EXPR_STRING:
		return a->s == b->s ||
		       (a->s->len == b->s->len && !memcmp(a->s->s, b->s->s, a->s->len));
	case EXPR_ARRAY:
		if (a->a->len != b->a->len)
			return false;
		for (uint32_t i = 0; i < a->a->len; i++)
			if (!expr_value_equal(&a->a->items[i], &b->a->items[i]))
				return false;
		return true;
	case EXPR_MAP:
		if (a->m->len != b->m->len)
			return false;
		for (uint32_t i = 0; i < a->m->len; i++) {
			int j = xmap_find(b->m, a->m->keys[i]->s, a->m->keys[i]->len);

			if (j < 0 || !expr_value_equal(&a->m->vals[i], &b->m->vals[j]))
				return false;
		}
		return true;
	case EXPR_HOST:
		if (a->h.ops != b->h.ops)
			return false;
		if (a->h.ops && a->h.ops->equal)
			return a->h.ops->equal(a->h.obj, b->h.obj);
		return a->h.obj == b->h.obj;
	default:
		return false;
	}
}

/* ---- text forms ---- */

void format_float(double f, char *buf, size_t size)
{
	char tmp[40];
	int prec, exp;

	if (isnan(f)) {
		snprintf(buf, size, "NaN");
		return;
	}
	if (isinf(f)) {
		snprintf(buf, size, f > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (f == 0) {
		snprintf(buf, size, signbit(f) ? "-0" : "0");
		return;
	}
	/* Go prints the shortest digits that read back to the same float ... */
	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
	exp = atoi(strchr(tmp, 'e') + 1);
	/* ... switching to exponent form when exp < -4 || exp >= 6 (strconv 'g'
	 * with precision -1, which is what %v uses: 1e+06, 123456). */
	if (exp < -4 || exp >= 6) {
		/* Go: mantissa digits, then e+XX with at least two exponent digits */
		char *e = strchr(tmp, 'e');
		int ev = atoi(e + 1);

		*e = '\0';
		snprintf(buf, size, "%se%c%02d", tmp, ev < 0 ? '-' : '+', abs(ev));
		return;
	}
	snprintf(buf, size, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, f);
}

/* Go durations have one implementation in the tree: common/gotime. */
void expr_format_duration(int64_t ns, char *buf, size_t size)
{
	gotime_format_duration(ns, buf, size);
}

int expr_parse_duration(const char *s, int64_t *ns)
{
	return gotime_parse_duration(s, ns);
}

void format_time(int64_t ns, int32_t off, char *buf, size_t size)
{
	if (ns == EXPR_TIME_ZERO) /* Go's zero time.Time */
		snprintf(buf, size, "0001-01-01T00:00:00Z");
	else
		gotime_format_rfc3339nano_zone(ns, off, buf, size);
}

/* RFC 3339, also with a space instead of T, without a zone (UTC) or a date alone. */
int parse_time(const char *s, int64_t *ns, int32_t *off)
{
	return gotime_parse_rfc3339_zone(s, GOTIME_ZONE_OPTIONAL | GOTIME_DATE_ONLY, ns, off) ?
		       -EINVAL :
		       0;
}

static int key_cmp(const void *a, const void *b, void *arg)
{
	const struct expr_map *m = arg;
	const struct expr_str *x = m->keys[*(const uint32_t *)a], *y = m->keys[*(const uint32_t *)b];
	size_t l = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, l);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

void value_format_sb(struct sbuf *sb, const struct expr_value *v, int depth)
{
	char buf[64];

	if (depth > EXPR_MAX_DEPTH) {
		sb_puts(sb, "...");
		return;
	}
	switch (v->kind) {
	case EXPR_NIL:
		sb_puts(sb, "<nil>");
		break;
	case EXPR_BOOL:
		sb_puts(sb, v->b ? "true" : "false");
		break;
	case EXPR_INT:
		sb_printf(sb, "%" PRId64, v->i);
		break;
	case EXPR_FLOAT:
		format_float(v->f, buf, sizeof(buf));
		sb_puts(sb, buf);
		break;
	case EXPR_DURATION:
		expr_format_duration(v->dur, buf, sizeof(buf));
		sb_puts(sb, buf);
		break;
	case EXPR_TIME:
		format_time(v->t.ns, v->t.off, buf, sizeof(buf));
		sb_puts(sb, buf);
		break;
	case EXPR_STRING:
		/* Go's %v prints nested strings unquoted too: [a b], map[k:v] */
		sb_putn(sb, v->s->s, v->s->len);
		break;
	case EXPR_ARRAY:
		sb_putc(sb, '[');
		for (uint32_t i = 0; i < v->a->len; i++) {
			if (i)
				sb_putc(sb, ' ');
			value_format_sb(sb, &v->a->items[i], depth + 1);
		}
		sb_putc(sb, ']');
		break;
	case EXPR_MAP: {
		/* Go's fmt prints maps sorted by key */
		uint32_t *order = malloc((v->m->len ? v->m->len : 1) * sizeof(*order));

		if (!order) {
			sb->err = -ENOMEM;
			break;
		}
		for (uint32_t i = 0; i < v->m->len; i++)
			order[i] = i;
		qsort_r(order, v->m->len, sizeof(*order), key_cmp, v->m);
		sb_puts(sb, "map[");
		for (uint32_t k = 0; k < v->m->len; k++) {
			uint32_t i = order[k];

			if (k)
				sb_putc(sb, ' ');
			sb_putn(sb, v->m->keys[i]->s, v->m->keys[i]->len);
			sb_putc(sb, ':');
			value_format_sb(sb, &v->m->vals[i], depth + 1);
		}
		sb_putc(sb, ']');
		free(order);
		break;
	}
	case EXPR_HOST:
		if (!v->h.obj) {
			sb_puts(sb, "<nil>");
			break;
		}
		if (v->h.ops && v->h.ops->format) {
			char *s = v->h.ops->format(v->h.obj);

			if (s) {
				sb_puts(sb, s);
				free(s);
				break;
			}
		}
		sb_printf(sb, "<%s>", v->h.ops && v->h.ops->name ? v->h.ops->name : "object");
		break;
	default:
		sb_puts(sb, "<invalid>");
		break;
	}
}

char *expr_value_format(const struct expr_value *v)
{
	struct sbuf sb = EXPR_SBUF;

	value_format_sb(&sb, v, 0);
	return sb_take(&sb, NULL);
}

/* ---- JSON ---- */

static int from_json(const json_t *j, struct expr_value *out, int depth, bool go_numbers)
{
	int err = 0;

	*out = EXPR_NIL_VALUE;
	if (depth > EXPR_MAX_DEPTH)
		return -E2BIG;
	switch (json_typeof(j)) {
	case JSON_NULL:
		return 0;
	case JSON_TRUE:
		*out = expr_bool(true);
		return 0;
	case JSON_FALSE:
		*out = expr_bool(false);
		return 0;
	case JSON_INTEGER:
		if (go_numbers)
			*out = expr_float((double)json_integer_value(j));
		else
			*out = expr_int(json_integer_value(j));
		return 0;
	case JSON_REAL:
		*out = expr_float(json_real_value(j));
		return 0;
	case JSON_STRING:
		return expr_stringn(json_string_value(j), json_string_length(j), out);
	case JSON_ARRAY: {
		size_t i;
		json_t *e;

		err = expr_array_new(json_array_size(j), out);
		json_array_foreach(j, i, e) {
			struct expr_value v;

			if (err)
				break;
			err = from_json(e, &v, depth + 1, go_numbers);
			if (!err)
				err = expr_array_push_take(out, v);
		}
		break;
	}
	case JSON_OBJECT: {
		const char *k;
		json_t *e;

		err = expr_map_new(out);
		json_object_foreach((json_t *)j, k, e) {
			struct expr_value v;

			if (err)
				break;
			err = from_json(e, &v, depth + 1, go_numbers);
			if (!err)
				err = expr_map_set_take(out, k, v);
		}
		break;
	}
	}
	if (err)
		expr_value_release(out);
	return err;
}

int expr_value_from_json(const json_t *json, struct expr_value *out)
{
	if (!json) {
		*out = EXPR_NIL_VALUE;
		return -EINVAL;
	}
	return from_json(json, out, 0, false);
}

int expr_value_from_go_json(const json_t *json, struct expr_value *out)
{
	if (!json) {
		*out = EXPR_NIL_VALUE;
		return -EINVAL;
	}
	return from_json(json, out, 0, true);
}

static json_t *to_json(const struct expr_value *v, int depth)
{
	char buf[64];
	json_t *j;

	if (depth > EXPR_MAX_DEPTH)
		return NULL;
	switch (v->kind) {
	case EXPR_NIL:
		return json_null();
	case EXPR_BOOL:
		return json_boolean(v->b);
	case EXPR_INT:
		return json_integer(v->i);
	case EXPR_FLOAT:
		/* encoding/json writes an integral float64 without a fraction ("1", not
		 * "1.0") below 1e21; keep that so what went in from JSON comes back out. */
		if (v->f == (double)(int64_t)v->f && fabs(v->f) < 9e15)
			return json_integer((json_int_t)v->f);
		return json_real(v->f);
	case EXPR_DURATION:
		return json_integer(v->dur);	/* Go marshals Duration as int64 ns */
	case EXPR_TIME:
		format_time(v->t.ns, v->t.off, buf, sizeof(buf));
		return json_string(buf);
	case EXPR_STRING:
		return json_stringn_nocheck(v->s->s, v->s->len);
	case EXPR_ARRAY:
		j = json_array();
		for (uint32_t i = 0; j && i < v->a->len; i++) {
			json_t *e = to_json(&v->a->items[i], depth + 1);

			if (!e || json_array_append_new(j, e)) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	case EXPR_MAP:
		j = json_object();
		for (uint32_t i = 0; j && i < v->m->len; i++) {
			json_t *e = to_json(&v->m->vals[i], depth + 1);

			if (!e || json_object_setn_new_nocheck(j, v->m->keys[i]->s,
							       v->m->keys[i]->len, e)) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	default:
		return NULL;
	}
}

json_t *expr_value_to_json(const struct expr_value *v)
{
	return to_json(v, 0);
}
