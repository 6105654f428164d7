// SPDX-License-Identifier: MIT
/*
 * CrowdSec's expression helpers (hub-format.md section 9) that need no Event
 * internals. Arguments arrive already checked against the kinds declared in
 * the tables at the bottom. Helpers that need data this process does not have
 * (GeoIP databases, the LAPI database, the network) return the documented
 * empty value; hosts override them with expr_env_add_func().
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/gotime.h"
#include "common/ipaddr.h"
#include "common/log.h"
#include "common/stash.h"
#include "common/vec.h"
#include "expr/expr_int.h"


#define A (&args[0])
#define B (&args[1])
#define C (&args[2])
#define D (&args[3])
#define S(v) ((v)->s->s)
#define SL(v) ((v)->s->len)
#define HELPER(name) \
	static int name(struct expr_ctx *ctx, const struct expr_value *args, int nargs, \
			struct expr_value *out)

static const char *vk(const struct expr_value *v)
{
	if (v->kind == EXPR_HOST && v->h.ops && v->h.ops->name)
		return v->h.ops->name;
	return expr_kind_name(v->kind);
}

/* ---- strings ---- */

HELPER(h_basename)
{
	const char *s = S(A);
	size_t l = SL(A);

	/* Go path.Base: trailing slashes dropped, "" => ".", all slashes => "/" */
	while (l > 1 && s[l - 1] == '/')
		l--;
	if (!l)
		return expr_string(".", out);
	for (size_t i = l; i > 0; i--)
		if (s[i - 1] == '/')
			return l - i ? expr_stringn(s + i, l - i, out) : expr_string("/", out);
	return expr_stringn(s, l, out);
}

HELPER(h_upper)
{
	return case_map(A, true, out);
}

HELPER(h_lower)
{
	return case_map(A, false, out);
}

HELPER(h_trim_space)
{
	/* Unicode spaces beyond ASCII (U+0085, U+00A0) are rare in logs */
	return trim_common(A, EXPR_SPACES, sizeof(EXPR_SPACES) - 1, true, true, out);
}

HELPER(h_trim)
{
	return trim_common(A, S(B), SL(B), true, true, out);
}

HELPER(h_trim_left)
{
	return trim_common(A, S(B), SL(B), true, false, out);
}

HELPER(h_trim_right)
{
	return trim_common(A, S(B), SL(B), false, true, out);
}

HELPER(h_trim_prefix)
{
	if (SL(B) <= SL(A) && !memcmp(S(A), S(B), SL(B)))
		return expr_stringn(S(A) + SL(B), SL(A) - SL(B), out);
	*out = expr_value_ref(A);
	return 0;
}

HELPER(h_trim_suffix)
{
	if (SL(B) <= SL(A) && !memcmp(S(A) + SL(A) - SL(B), S(B), SL(B)))
		return expr_stringn(S(A), SL(A) - SL(B), out);
	*out = expr_value_ref(A);
	return 0;
}

HELPER(h_split)
{
	return split_common(S(A), SL(A), S(B), SL(B), -1, false, out);
}

HELPER(h_split_n)
{
	return split_common(S(A), SL(A), S(B), SL(B), C->i, false, out);
}

HELPER(h_split_after)
{
	return split_common(S(A), SL(A), S(B), SL(B), -1, true, out);
}

HELPER(h_split_after_n)
{
	return split_common(S(A), SL(A), S(B), SL(B), C->i, true, out);
}

HELPER(h_fields)
{
	int err = expr_array_new(0, out);
	size_t i = 0, l = SL(A);
	const char *s = S(A);

	while (!err && i < l) {
		size_t j;
		struct expr_value v;

		while (i < l && expr_in_set(EXPR_SPACES, sizeof(EXPR_SPACES) - 1, s[i]))
			i++;
		if (i >= l)
			break;
		for (j = i; j < l && !expr_in_set(EXPR_SPACES, sizeof(EXPR_SPACES) - 1, s[j]); j++)
			;
		err = expr_stringn(s + i, j - i, &v);
		if (!err)
			err = expr_array_push_take(out, v);
		i = j;
	}
	if (err)
		expr_value_release(out);
	return err;
}

HELPER(h_replace)
{
	return replace_common(A, B, C, D->i, out);
}

HELPER(h_replace_all)
{
	return replace_common(A, B, C, -1, out);
}

HELPER(h_index)
{
	const char *hit = memmem(S(A), SL(A), S(B), SL(B));

	*out = expr_int(hit ? hit - S(A) : -1);
	return 0;
}

HELPER(h_index_any)
{
	for (size_t i = 0; i < SL(A); i++) {
		if (SL(B) && memchr(S(B), S(A)[i], SL(B))) {
			*out = expr_int(i);
			return 0;
		}
	}
	*out = expr_int(-1);
	return 0;
}

HELPER(h_join)
{
	struct sbuf sb = EXPR_SBUF;
	size_t n = expr_array_len(A);

	for (size_t i = 0; i < n; i++) {
		const struct expr_value *e = expr_array_at(A, i);

		if (e->kind != EXPR_STRING) {
			sb_free(&sb);
			return ctx_err(ctx, -EINVAL, "Join: element %zu is %s", i, vk(e));
		}
		if (i)
			sb_putn(&sb, S(B), SL(B));
		sb_putn(&sb, S(e), SL(e));
	}
	return sb_to_value(&sb, out);
}

HELPER(h_get)
{
	const struct expr_value *e = NULL;

	if (B->i >= 0)
		e = expr_array_at(A, B->i);
	if (e && e->kind == EXPR_STRING)
		*out = expr_value_ref(e);
	else
		return expr_string("", out);
	return 0;
}

HELPER(h_to_string)
{
	if (A->kind == EXPR_STRING) {
		*out = expr_value_ref(A);
		return 0;
	}
	return expr_string("", out);
}

/* Go path.Match-like glob used by Match(): `*` any run, `?` one byte. */
static bool glob(const char *p, size_t pl, const char *s, size_t sl)
{
	size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;

	while (si < sl) {
		if (pi < pl && (p[pi] == '?' || p[pi] == s[si])) {
			pi++;
			si++;
		} else if (pi < pl && p[pi] == '*') {
			star_p = pi++;
			star_s = si;
		} else if (star_p != (size_t)-1) {
			pi = star_p + 1;
			si = ++star_s;
		} else {
			return false;
		}
	}
	while (pi < pl && p[pi] == '*')
		pi++;
	return pi == pl;
}

HELPER(h_match)
{
	*out = expr_bool(glob(S(A), SL(A), S(B), SL(B)));
	return 0;
}

/* ---- numbers ---- */

HELPER(h_atof)
{
	char *end;
	double f = strtod(S(A), &end);

	*out = expr_float(SL(A) && !*end ? f : 0);
	return 0;
}

HELPER(h_float_approx_equal)
{
	*out = expr_bool(fabs(A->f - B->f) < 1e-6);
	return 0;
}

static int parse_float_strict(const struct expr_value *v, double *f)
{
	char *end;

	*f = strtod(S(v), &end);
	return SL(v) && !*end ? 0 : -EINVAL;
}

HELPER(h_distance)
{
	double lat1, lon1, lat2, lon2, a, c;

	if (parse_float_strict(A, &lat1) || parse_float_strict(B, &lon1) ||
	    parse_float_strict(C, &lat2) || parse_float_strict(D, &lon2))
		return ctx_err(ctx, -EINVAL, "Distance: invalid coordinates");
	if ((lat1 == 0 && lon1 == 0) || (lat2 == 0 && lon2 == 0)) {
		*out = expr_float(0);
		return 0;
	}
	lat1 *= M_PI / 180;
	lon1 *= M_PI / 180;
	lat2 *= M_PI / 180;
	lon2 *= M_PI / 180;
	a = pow(sin((lat2 - lat1) / 2), 2) + cos(lat1) * cos(lat2) * pow(sin((lon2 - lon1) / 2), 2);
	c = 2 * atan2(sqrt(a), sqrt(1 - a));
	*out = expr_float(c * 6371);
	return 0;
}

/* ---- IP addresses (common/ipaddr: Go's net.ParseIP, net.ParseCIDR) ---- */

HELPER(h_ip_in_range)
{
	struct cs_prefix ip, net;

	*out = expr_bool(!cs_addr_parse(S(A), &ip) && strchr(S(B), '/') &&
			 !cs_prefix_parse(S(B), CS_PREFIX_MASK, &net) &&
			 cs_prefix_contains(&net, &ip));
	return 0;
}

HELPER(h_is_ipv4)
{
	struct cs_prefix ip;

	*out = expr_bool(!cs_addr_parse(S(A), &ip) && ip.family == AF_INET);
	return 0;
}

HELPER(h_is_ipv6)
{
	struct cs_prefix ip;

	*out = expr_bool(!cs_addr_parse(S(A), &ip) && ip.family == AF_INET6);
	return 0;
}

HELPER(h_is_ip)
{
	struct cs_prefix ip;

	*out = expr_bool(!cs_addr_parse(S(A), &ip));
	return 0;
}

HELPER(h_ip_to_range)
{
	const char *m = S(B);
	char buf[CS_PREFIX_STRLEN];
	struct cs_prefix ip;
	char *end;
	long plen;

	if (*m == '/')
		m++;
	plen = strtol(m, &end, 10);
	if (!*m || *end || plen < 0 || plen > 128 || cs_addr_parse(S(A), &ip) ||
	    cs_prefix_set_len(&ip, (int)plen) || cs_prefix_format(&ip, true, buf, sizeof(buf)))
		return expr_string("", out);
	return expr_string(buf, out);
}

/* ---- URL escaping (Go net/url) ---- */

static int url_unescape(const struct expr_value *v, bool query, struct expr_value *out)
{
	struct sbuf sb = EXPR_SBUF;
	const char *s = S(v);
	size_t l = SL(v);

	/* most paths have nothing to unescape: the same string (and its Upper() memo) */
	if (!memchr(s, '%', l) && (!query || !memchr(s, '+', l))) {
		*out = expr_value_ref(v);
		return 0;
	}

	for (size_t i = 0; i < l; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < l ? hex_digit(s[i + 1]) : -1;
			int lo = i + 2 < l ? hex_digit(s[i + 2]) : -1;

			if (hi < 0 || lo < 0) {	/* Go returns an error: keep the input */
				sb_free(&sb);
				*out = expr_value_ref(v);
				return 0;
			}
			sb_putc(&sb, (char)(hi << 4 | lo));
			i += 2;
		} else if (query && s[i] == '+') {
			sb_putc(&sb, ' ');
		} else {
			sb_putc(&sb, s[i]);
		}
	}
	return sb_to_value(&sb, out);
}

HELPER(h_path_unescape)
{
	return url_unescape(A, false, out);
}

HELPER(h_query_unescape)
{
	return url_unescape(A, true, out);
}

static int url_escape(const struct expr_value *v, bool query, struct expr_value *out)
{
	struct sbuf sb = EXPR_SBUF;

	for (size_t i = 0; i < SL(v); i++) {
		unsigned char c = S(v)[i];

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
			sb_putc(&sb, c);
		else if (!query && strchr("$&+:=@", c) && c)
			sb_putc(&sb, c);
		else if (query && c == ' ')
			sb_putc(&sb, '+');
		else
			sb_printf(&sb, "%%%02X", c);
	}
	return sb_to_value(&sb, out);
}

HELPER(h_path_escape)
{
	return url_escape(A, false, out);
}

HELPER(h_query_escape)
{
	return url_escape(A, true, out);
}

/* "a=1&b=2&a=3" -> map name -> [values] (Go url.ParseQuery, errors skipped). */
static int parse_query(const char *q, size_t l, struct expr_value *out)
{
	int err = expr_map_new(out);
	size_t i = 0;

	while (!err && i <= l) {
		size_t j = i, eq;
		struct expr_value k, v, kraw, vraw;
		const struct expr_value *list;

		while (j < l && q[j] != '&')
			j++;
		if (j > i) {
			for (eq = i; eq < j && q[eq] != '='; eq++)
				;
			err = expr_stringn(q + i, eq - i, &kraw);
			if (!err)
				err = expr_stringn(q + (eq < j ? eq + 1 : j),
						   eq < j ? j - eq - 1 : 0, &vraw);
			if (err)
				break;
			url_unescape(&kraw, true, &k);
			url_unescape(&vraw, true, &v);
			expr_value_release(&kraw);
			expr_value_release(&vraw);
			list = expr_map_get(out, S(&k));
			if (!list) {
				struct expr_value arr;

				err = expr_array_new(1, &arr);
				if (!err)
					err = expr_map_set_take(out, S(&k), arr);
				list = expr_map_get(out, S(&k));
			}
			if (!err && list)
				err = expr_array_push_take((struct expr_value *)list, v);
			else
				expr_value_release(&v);
			expr_value_release(&k);
		}
		i = j + 1;
	}
	if (err)
		expr_value_release(out);
	return err;
}

HELPER(h_parse_query)
{
	return parse_query(S(A), SL(A), out);
}

HELPER(h_parse_uri)
{
	const char *q = memchr(S(A), '?', SL(A));
	const char *frag;
	size_t l;

	if (!q)
		return expr_map_new(out);
	q++;
	l = SL(A) - (q - S(A));
	frag = memchr(q, '#', l);
	if (frag)
		l = frag - q;
	return parse_query(q, l, out);
}

HELPER(h_extract_query_param)
{
	struct expr_value m;
	const struct expr_value *v;
	int err = h_parse_uri(ctx, args, 1, &m);

	if (err)
		return err;
	v = expr_map_get(&m, S(B));
	if (v)
		*out = expr_value_ref(v);
	else
		err = expr_array_new(0, out);
	expr_value_release(&m);
	return err;
}

/* ---- encodings ---- */

HELPER(h_b64decode)
{
	if (base64_decode(S(A), SL(A), out))
		return expr_string("", out);
	return 0;
}

static json_t *load_json(const struct expr_value *v)
{
	return json_loadb(S(v), SL(v), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

/* Walks jsonparser-style keys: "name" or "[N]". NULL if absent. */
static json_t *json_walk(json_t *j, const char *const *keys, size_t n)
{
	for (size_t i = 0; j && i < n; i++) {
		const char *k = keys[i];
		size_t kl = strlen(k);

		if (kl >= 3 && k[0] == '[' && k[kl - 1] == ']') {
			char *end;
			long idx = strtol(k + 1, &end, 10);

			if (end != k + kl - 1 || !json_is_array(j) || idx < 0)
				return NULL;
			j = json_array_get(j, idx);
		} else {
			j = json_is_object(j) ? json_object_get(j, k) : NULL;
		}
	}
	return j;
}

/* CrowdSec splits "a.b[0].c" into a, b, [0], c. */
static int split_path(const char *path, char ***keys, size_t *n)
{
	char *copy, **v = NULL, *save = NULL, *tok;
	size_t cnt = 0, cap = 0, l = strlen(path);

	copy = malloc(l * 2 + 2);
	if (!copy)
		return -ENOMEM;
	for (size_t i = 0, j = 0; i <= l; i++) {
		if (path[i] == '[' && i > 0)
			copy[j++] = '.';
		copy[j++] = path[i];
	}
	/* the keys, then the copy that owns their text (freed by free_path) */
	for (tok = strtok_r(copy, ".", &save);; tok = strtok_r(NULL, ".", &save)) {
		if (vec_reserve((void **)&v, &cap, cnt, sizeof(*v), 8)) {
			free(v);
			free(copy);
			return -ENOMEM;
		}
		if (!tok)
			break;
		v[cnt++] = tok;
	}
	v[cnt] = copy;
	*keys = v;
	*n = cnt;
	return 0;
}

static void free_path(char **keys, size_t n)
{
	if (!keys)
		return;
	free(keys[n]);
	free(keys);
}

/* Raw text of a JSON value the way jsonparser returns it: strings without quotes. */
static int json_raw(json_t *j, bool unescape, struct expr_value *out)
{
	char *s;
	int err;

	if (json_is_string(j)) {
		if (unescape)
			return expr_stringn(json_string_value(j), json_string_length(j), out);
		s = json_dumps(j, JSON_ENCODE_ANY);
		if (!s)
			return -ENOMEM;
		err = expr_stringn(s + 1, strlen(s) - 2, out);
		free(s);
		return err;
	}
	s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s)
		return -ENOMEM;
	err = expr_string(s, out);
	free(s);
	return err;
}

static int json_extract(const struct expr_value *blob, const char *const *keys, size_t n,
			bool unescape, struct expr_value *out)
{
	json_t *root = load_json(blob), *j;
	int err;

	j = json_walk(root, keys, n);
	err = j ? json_raw(j, unescape, out) : expr_string("", out);
	json_decref(root);
	return err;
}

HELPER(h_json_extract)
{
	char **keys;
	size_t n;
	int err = split_path(S(B), &keys, &n);

	if (err)
		return err;
	err = json_extract(A, (const char *const *)keys, n, false, out);
	free_path(keys, n);
	return err;
}

static int json_extract_varargs(const struct expr_value *args, int nargs, bool unescape,
				struct expr_value *out)
{
	const char *keys[EXPR_MAX_ARGS * 4];
	int n = 0;

	for (int i = 1; i < nargs && n < (int)ARRAY_SIZE(keys); i++)
		keys[n++] = S(&args[i]);
	return json_extract(A, keys, n, unescape, out);
}

HELPER(h_json_extract_lib)
{
	return json_extract_varargs(args, nargs, false, out);
}

HELPER(h_json_extract_unescape)
{
	return json_extract_varargs(args, nargs, true, out);
}

static int json_extract_typed(const struct expr_value *args, json_type want, struct expr_value *out)
{
	json_t *root = load_json(A), *j;
	char **keys;
	size_t n;
	int err = split_path(S(B), &keys, &n);

	*out = EXPR_NIL_VALUE;
	if (err) {
		json_decref(root);
		return err;
	}
	j = json_walk(root, (const char *const *)keys, n);
	if (j && json_typeof(j) == want)
		err = expr_value_from_go_json(j, out);
	free_path(keys, n);
	json_decref(root);
	return err;
}

HELPER(h_json_extract_object)
{
	return json_extract_typed(args, JSON_OBJECT, out);
}

HELPER(h_json_extract_slice)
{
	return json_extract_typed(args, JSON_ARRAY, out);
}

HELPER(h_to_json_string)
{
	json_t *j = expr_value_to_json(A);
	char *s;
	int err;

	if (!j)
		return expr_string("", out);
	s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!s)
		return expr_string("", out);
	err = expr_string(s, out);
	free(s);
	return err;
}

/* ---- writing into a host map (evt.Unmarshaled) ---- */

static int store(struct expr_ctx *ctx, const struct expr_value *target, const char *key,
		 const struct expr_value *v, const char *fn)
{
	if (target->kind == EXPR_HOST && target->h.obj && target->h.ops && target->h.ops->set)
		return target->h.ops->set(ctx, target->h.obj, key, v);
	return ctx_err(ctx, -EINVAL, "%s: target (%s) is not a writable map", fn, vk(target));
}

/* Unless err, v goes to args[1][args[2]]; v is released, the result is Go's nil error. */
static int store_result(struct expr_ctx *ctx, const struct expr_value *args, struct expr_value *v,
			int err, const char *fn, struct expr_value *out)
{
	if (!err)
		err = store(ctx, B, S(C), v, fn);
	expr_value_release(v);
	*out = EXPR_NIL_VALUE;
	return err;
}

HELPER(h_unmarshal_json)
{
	json_error_t jerr;
	json_t *j = json_loadb(S(A), SL(A), JSON_DECODE_ANY, &jerr);
	struct expr_value v;
	int err;

	if (!j)
		return ctx_err(ctx, -EINVAL, "UnmarshalJSON: %s", jerr.text);
	err = expr_value_from_go_json(j, &v);
	json_decref(j);
	if (err)
		return err;
	return store_result(ctx, args, &v, 0, "UnmarshalJSON", out);
}

static bool kv_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == '\v';
}

/* m[s[ks..ke)] = s[vs..ve): one pair ParseKV or ParseKVLax found. */
static int kv_put(struct expr_value *m, const char *s, size_t ks, size_t ke, size_t vs, size_t ve)
{
	struct expr_value v;
	char *key = strndup(s + ks, ke - ks);
	int err = key ? expr_stringn(s + vs, ve - vs, &v) : -ENOMEM;

	if (!err)
		err = expr_map_set_take(m, key, v);
	free(key);
	return err;
}

/* The pairs found (m, released) go to args[1][args[2]]; finding none is an error. */
static int kv_store(struct expr_ctx *ctx, const struct expr_value *args, struct expr_value *m,
		    int err, const char *fn, struct expr_value *out)
{
	if (!err && !expr_map_len(m))
		err = ctx_err(ctx, -EINVAL, "%s: no key=value pair found", fn);
	return store_result(ctx, args, m, err, fn, out);
}

/*
 * ParseKV scans like CrowdSec's regex
 *   (?P<key>[^=\s]+)=(?:"(?P<quoted_value>[^"\\]*(?:\\.[^"\\]*)*)"|(?P<value>[^=\s]+)|\s*)
 * applied repeatedly (leftmost-first), without a regex: the key class excludes
 * '=', so a key match is exactly a maximal run followed by '='.
 */
HELPER(h_parse_kv)
{
	const char *s = S(A);
	size_t l = SL(A), i = 0;
	struct expr_value m;
	int err = expr_map_new(&m);

	while (!err && i < l) {
		size_t ks, ke, vs, ve;

		if (s[i] == '=' || kv_space(s[i])) {
			i++;
			continue;
		}
		ks = i;
		while (i < l && s[i] != '=' && !kv_space(s[i]))
			i++;
		if (i >= l || s[i] != '=')
			continue;
		ke = i++;
		vs = ve = i;
		if (i < l && s[i] == '"') {
			size_t j = i + 1;

			while (j < l && s[j] != '"') {
				if (s[j] == '\\' && j + 1 < l)
					j++;
				j++;
			}
			if (j < l) {	/* closed quote */
				vs = i + 1;
				ve = j;
				i = j + 1;
				goto got;
			}
		}
		while (i < l && s[i] != '=' && !kv_space(s[i]))
			i++;
		ve = i;
		if (ve == vs) {	/* third alternative: \s* */
			while (i < l && kv_space(s[i]))
				i++;
		}
got:
		err = kv_put(&m, s, ks, ke, vs, ve);
	}
	return kv_store(ctx, args, &m, err, "ParseKV", out);
}

static bool lax_key_at(const char *s, size_t l, size_t i, size_t *eq)
{
	size_t j = i;

	if (i > 0 && !kv_space(s[i - 1]))
		return false;
	if (!(isalpha((unsigned char)s[j]) || s[j] == '_'))
		return false;
	for (j++; j < l && (isalnum((unsigned char)s[j]) || strchr("_.-", s[j])) && s[j]; j++)
		;
	if (j >= l || s[j] != '=')
		return false;
	*eq = j;
	return true;
}

/* ParseKVLax: keys [a-zA-Z_][a-zA-Z0-9_.-]*= ; a value runs until the next key. */
HELPER(h_parse_kv_lax)
{
	const char *s = S(A);
	size_t l = SL(A), i = 0, eq;
	struct expr_value m;
	int err = expr_map_new(&m);

	while (!err && i < l) {
		size_t ks, vs, ve, j, next_eq;

		if (!lax_key_at(s, l, i, &eq)) {
			i++;
			continue;
		}
		ks = i;
		vs = eq + 1;
		for (j = vs; j < l && !lax_key_at(s, l, j, &next_eq); j++)
			;
		ve = j;
		while (ve > vs && kv_space(s[ve - 1]))
			ve--;
		if (ve - vs >= 2 && ((s[vs] == '"' && s[ve - 1] == '"') ||
				     (s[vs] == '\'' && s[ve - 1] == '\''))) {
			vs++;
			ve--;
		}
		err = kv_put(&m, s, ks, eq, vs, ve);
		i = j;
	}
	return kv_store(ctx, args, &m, err, "ParseKVLax", out);
}

HELPER(h_key_exists)
{
	bool has = false;

	if (B->kind == EXPR_MAP)
		has = expr_map_get(B, S(A)) != NULL;
	else if (B->kind == EXPR_HOST && B->h.obj && B->h.ops && B->h.ops->has &&
		 B->h.ops->has(ctx, B->h.obj, S(A), &has))
		return -EINVAL;
	*out = expr_bool(has);
	return 0;
}

/* ---- lists ---- */

HELPER(h_distinct)
{
	int err;

	if (A->kind == EXPR_NIL)
		return expr_array_new(0, out);
	if (A->kind != EXPR_ARRAY)
		return ctx_err(ctx, -EINVAL, "Distinct: expected an array, got %s", vk(A));
	err = expr_array_new(0, out);
	for (size_t i = 0; !err && i < expr_array_len(A); i++)
		err = uniq_into(out, expr_array_at(A, i));
	if (err)
		expr_value_release(out);
	return err;
}

HELPER(h_flatten)
{
	int err = expr_array_new(0, out);

	for (int i = 0; !err && i < nargs; i++)
		err = flatten_into(out, &args[i], 0);
	if (err)
		expr_value_release(out);
	return err;
}

HELPER(h_flatten_distinct)
{
	struct expr_value flat;
	int err = h_flatten(ctx, args, nargs, &flat);

	if (err)
		return err;
	err = h_distinct(ctx, &flat, 1, out);
	expr_value_release(&flat);
	return err;
}

/* ---- times ---- */

static int collect_times(struct expr_ctx *ctx, const struct expr_value *arr, int64_t **out,
			 size_t *n, const char *fn)
{
	size_t cnt = expr_array_len(arr);
	int64_t *v = malloc((cnt ? cnt : 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		const struct expr_value *e = expr_array_at(arr, i);
		int32_t off;

		if (e->kind == EXPR_TIME)
			v[i] = e->t.ns;
		else if (e->kind != EXPR_STRING || parse_time(S(e), &v[i], &off)) {
			free(v);
			return ctx_err(ctx, -EINVAL, "%s: element %zu is not a time", fn, i);
		}
	}
	*out = v;
	*n = cnt;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int intervals(struct expr_ctx *ctx, const struct expr_value *arr, bool median,
		     struct expr_value *out)
{
	const char *fn = median ? "MedianInterval" : "AverageInterval";
	int64_t *t = NULL, sum = 0;
	size_t n = 0;
	int err = collect_times(ctx, arr, &t, &n, fn);

	if (err)
		return err;
	if (n < 2) {
		free(t);
		return ctx_err(ctx, -EINVAL, "%s: need at least two times", fn);
	}
	qsort(t, n, sizeof(*t), cmp_i64);
	for (size_t i = 0; i + 1 < n; i++) {
		t[i] = t[i + 1] - t[i];
		sum += t[i];
	}
	n--;
	if (median) {
		qsort(t, n, sizeof(*t), cmp_i64);
		*out = expr_duration(n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2);
	} else {
		*out = expr_duration(sum / (int64_t)n);
	}
	free(t);
	return 0;
}

HELPER(h_median_interval)
{
	return intervals(ctx, A, true, out);
}

HELPER(h_average_interval)
{
	return intervals(ctx, A, false, out);
}

HELPER(h_parse_unix)
{
	char buf[64];
	char *end, *dot = memchr(S(A), '.', SL(A));
	long long v;

	errno = 0;
	v = strtoll(S(A), &end, 10);
	if (end == S(A) || (*end && end != dot) || errno || v <= 0)
		return expr_string("", out);
	/* in seconds, not nanoseconds: Go's time.Unix goes past 2262, where ns overflow */
	if (gotime_format_time(&(struct cs_time){ .sec = v }, false, buf, sizeof(buf)) < 0)
		return expr_string("", out);
	return expr_string(buf, out);
}

HELPER(h_time_now)
{
	struct timespec ts;
	char buf[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	format_time((int64_t)ts.tv_sec * 1000000000, 0, buf, sizeof(buf));
	return expr_string(buf, out);
}

/* ---- formatting ---- */

/*
 * A width or precision at f + *i (0 when there are no digits). Like Go's
 * parsenum, a number past 10^6 is refused (-ERANGE: Go then swallows the rest
 * of the format and prints %!(NOVERB)) before it can overflow an int or make
 * printf pad for seconds.
 */
static int go_fmt_num(const char *f, size_t *i, int *out)
{
	int v = 0;

	for (; isdigit((unsigned char)f[*i]); (*i)++) {
		if (v > 1000000)
			return -ERANGE;
		v = v * 10 + (f[*i] - '0');
	}
	*out = v;
	return 0;
}

/* Go fmt verbs on expr values, mapped onto C printf per argument kind. */
static int go_sprintf(struct expr_ctx *ctx, const struct expr_value *fmtv,
		      const struct expr_value *args, int nargs, struct expr_value *out)
{
	const char *f = S(fmtv);
	struct sbuf sb = EXPR_SBUF;
	int ai = 0;

	for (size_t i = 0; f[i]; i++) {
		char spec[32], verb, flags[8];
		size_t fl = 0;
		int width = -1, prec = -1;
		bool too_large = false;
		const struct expr_value *v;
		char *txt;

		if (f[i] != '%') {
			sb_putc(&sb, f[i]);
			continue;
		}
		i++;
		while (f[i] && strchr("-+ 0#", f[i]) && fl < sizeof(flags) - 1)
			flags[fl++] = f[i++];
		flags[fl] = '\0';
		if (isdigit((unsigned char)f[i]) && go_fmt_num(f, &i, &width) < 0)
			too_large = true;
		if (!too_large && f[i] == '.') {
			i++;
			if (go_fmt_num(f, &i, &prec) < 0)
				too_large = true;
		}
		verb = too_large ? '\0' : f[i];
		if (!verb) {
			sb_puts(&sb, "%!(NOVERB)");
			break;
		}
		if (verb == '%') {
			sb_putc(&sb, '%');
			continue;
		}
		if (ai >= nargs) {
			sb_printf(&sb, "%%!%c(MISSING)", verb);
			continue;
		}
		v = &args[ai++];
		snprintf(spec, sizeof(spec), "%%%s", flags);
		if (width >= 0)
			snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), "%d", width);
		if (prec >= 0)
			snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), ".%d", prec);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		switch (verb) {
		case 'd':
			if (v->kind == EXPR_INT) {
				strcat(spec, PRId64);
				sb_printf(&sb, spec, v->i);
				continue;
			}
			break;
		case 'x': case 'X': case 'o': case 'b':
			if (v->kind == EXPR_INT && verb != 'b') {
				size_t sl = strlen(spec);

				snprintf(spec + sl, sizeof(spec) - sl, "%s", verb == 'x' ? PRIx64 :
					 verb == 'X' ? PRIX64 : PRIo64);
				sb_printf(&sb, spec, v->i);
				continue;
			}
			if (v->kind == EXPR_STRING && (verb == 'x' || verb == 'X')) {
				for (uint32_t k = 0; k < SL(v); k++)
					sb_printf(&sb, verb == 'x' ? "%02x" : "%02X",
						  (unsigned char)S(v)[k]);
				continue;
			}
			break;
		case 'f': case 'F': case 'e': case 'E': case 'g': case 'G':
			if (v->kind == EXPR_FLOAT || v->kind == EXPR_INT) {
				size_t sl = strlen(spec);

				spec[sl] = verb;
				spec[sl + 1] = '\0';
				sb_printf(&sb, spec, v->kind == EXPR_INT ? (double)v->i : v->f);
				continue;
			}
			break;
		case 't':
			if (v->kind == EXPR_BOOL) {
				strcat(spec, "s");
				sb_printf(&sb, spec, v->b ? "true" : "false");
				continue;
			}
			break;
		case 'q':
			if (v->kind == EXPR_STRING) {
				json_t *j = json_stringn_nocheck(S(v), SL(v));
				char *q = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

				sb_puts(&sb, q ? q : "\"\"");
				free(q);
				json_decref(j);
				continue;
			}
			break;
		case 's': case 'v':
			txt = expr_value_format(v);
			if (!txt) {
				sb_free(&sb);
				return -ENOMEM;
			}
			strcat(spec, "s");
			sb_printf(&sb, spec, txt);
			free(txt);
			continue;
		case 'T':
			sb_puts(&sb, vk(v));
			continue;
		}
#pragma GCC diagnostic pop
		/* wrong type for the verb: Go's %!d(string=abc) form */
		txt = expr_value_format(v);
		sb_printf(&sb, "%%!%c(%s=%s)", verb, vk(v), txt ? txt : "");
		free(txt);
	}
	if (ai < nargs)
		sb_puts(&sb, "%!(EXTRA)");
	return sb_to_value(&sb, out);
}

HELPER(h_sprintf)
{
	return go_sprintf(ctx, A, args + 1, nargs - 1, out);
}

HELPER(h_log_info)
{
	struct expr_value msg;
	int err = go_sprintf(ctx, A, args + 1, nargs - 1, &msg);

	if (err)
		return err;
	log_info("%s", S(&msg));
	expr_value_release(&msg);
	*out = expr_bool(true);
	return 0;
}

HELPER(h_hostname)
{
	char buf[256];

	if (gethostname(buf, sizeof(buf)))
		return ctx_err(ctx, -errno, "Hostname: %s", strerror(errno));
	buf[sizeof(buf) - 1] = '\0';
	return expr_string(buf, out);
}

/* ---- data files ---- */

HELPER(h_file)
{
	return data_file_lines(ctx->env->rt, S(A), out);
}

HELPER(h_regexp_in_file)
{
	bool match;
	int err = data_regexp_match(ctx->env->rt, S(B), S(A), SL(A), &match);

	if (err)
		return ctx_err(ctx, err, "RegexpInFile: match failed");
	*out = expr_bool(match);
	return 0;
}

HELPER(h_lookup_file)
{
	return data_lookup(ctx->env->rt, S(B), S(A), SL(A), out);
}

HELPER(h_file_map)
{
	return data_file_map(ctx->env->rt, S(A), out);
}

/* ---- stash: the environment's (common/stash.h), owned by the parser instance ---- */

HELPER(h_set_in_stash)
{
	int64_t ttl = nargs > 3 && args[3].kind == EXPR_DURATION ? args[3].dur : 0;
	struct cs_stash *stash = ctx->env->stash;
	int err = stash ? cs_stash_set(stash, S(A), 0, ttl, S(B), S(C)) : -ENOENT;

	*out = EXPR_NIL_VALUE;	/* Go returns a nil error */
	return err ? ctx_err(ctx, err, "SetInStash: cache %s: %s", S(A),
			     stash ? strerror(-err) : "no stash here") : 0;
}

HELPER(h_get_from_stash)
{
	struct cs_stash *stash = ctx->env->stash;
	char *val = NULL;
	int err = stash ? cs_stash_get(stash, S(A), S(B), &val) : -ENOENT;

	if (err == -ENOENT)
		return ctx_err(ctx, err, "GetFromStash: key %s not found in cache %s", S(B), S(A));
	if (err)
		return err;
	err = expr_string(val, out);
	free(val);
	return err;
}

/* ---- unavailable here: documented empty values ---- */

HELPER(h_empty_string)
{
	return expr_string("", out);
}

HELPER(h_nil)
{
	*out = EXPR_NIL_VALUE;
	return 0;
}

HELPER(h_false)
{
	*out = expr_bool(false);
	return 0;
}

HELPER(h_zero)
{
	*out = expr_int(0);
	return 0;
}

HELPER(h_zero_duration)
{
	*out = expr_duration(0);
	return 0;
}

HELPER(h_empty_list)
{
	return expr_array_new(0, out);
}

const struct expr_func expr_crowdsec_helpers[] = {
	/* strings */
	{ "Upper", h_upper, 1, 1, { T_S }, &expr_type_string, NULL, PURE },
	{ "Lower", h_lower, 1, 1, { T_S }, &expr_type_string, NULL, PURE },
	{ "TrimSpace", h_trim_space, 1, 1, { T_S }, &expr_type_string, NULL, PURE },
	{ "Trim", h_trim, 2, 2, { T_S, T_S }, &expr_type_string, NULL, PURE },
	{ "TrimLeft", h_trim_left, 2, 2, { T_S, T_S }, &expr_type_string, NULL, PURE },
	{ "TrimRight", h_trim_right, 2, 2, { T_S, T_S }, &expr_type_string, NULL, PURE },
	{ "TrimPrefix", h_trim_prefix, 2, 2, { T_S, T_S }, &expr_type_string, NULL, PURE },
	{ "TrimSuffix", h_trim_suffix, 2, 2, { T_S, T_S }, &expr_type_string, NULL, PURE },
	{ "Split", h_split, 2, 2, { T_S, T_S }, &expr_type_array_string, NULL, PURE },
	{ "SplitN", h_split_n, 3, 3, { T_S, T_S, T_I }, &expr_type_array_string, NULL, PURE },
	{ "SplitAfter", h_split_after, 2, 2, { T_S, T_S }, &expr_type_array_string, NULL, PURE },
	{ "SplitAfterN", h_split_after_n, 3, 3, { T_S, T_S, T_I }, &expr_type_array_string, NULL, PURE },
	{ "Fields", h_fields, 1, 1, { T_S }, &expr_type_array_string, NULL, PURE },
	{ "Replace", h_replace, 4, 4, { T_S, T_S, T_S, T_I }, &expr_type_string, NULL, PURE },
	{ "ReplaceAll", h_replace_all, 3, 3, { T_S, T_S, T_S }, &expr_type_string, NULL, PURE },
	{ "Index", h_index, 2, 2, { T_S, T_S }, &expr_type_int, NULL, PURE },
	{ "IndexAny", h_index_any, 2, 2, { T_S, T_S }, &expr_type_int, NULL, PURE },
	{ "Join", h_join, 2, 2, { T_A, T_S }, &expr_type_string, NULL, PURE },
	{ "Get", h_get, 2, 2, { T_A, T_I }, &expr_type_string, NULL, PURE },
	{ "ToString", h_to_string, 1, 1, { T_X }, &expr_type_string, NULL, PURE },
	{ "Match", h_match, 2, 2, { T_S, T_S }, &expr_type_bool, NULL, PURE },
	{ "Sprintf", h_sprintf, 1, -1, { T_S, T_X }, &expr_type_string, NULL, PURE },
	{ "LogInfo", h_log_info, 1, -1, { T_S, T_X }, &expr_type_bool, NULL, 0 },
	/* numbers */
	{ "Atof", h_atof, 1, 1, { T_S }, &expr_type_float, NULL, PURE },
	{ "FloatApproxEqual", h_float_approx_equal, 2, 2, { T_F, T_F }, &expr_type_bool, NULL, PURE },
	{ "Distance", h_distance, 4, 4, { T_S, T_S, T_S, T_S }, &expr_type_float, NULL, PURE },
	/* IP */
	{ "IpInRange", h_ip_in_range, 2, 2, { T_S, T_S }, &expr_type_bool, NULL, PURE },
	{ "IsIPV4", h_is_ipv4, 1, 1, { T_S }, &expr_type_bool, NULL, PURE },
	{ "IsIPV6", h_is_ipv6, 1, 1, { T_S }, &expr_type_bool, NULL, PURE },
	{ "IsIP", h_is_ip, 1, 1, { T_S }, &expr_type_bool, NULL, PURE },
	{ "IpToRange", h_ip_to_range, 2, 2, { T_S, T_S }, &expr_type_string, NULL, PURE },
	/* URLs */
	{ "PathUnescape", h_path_unescape, 1, 1, { T_S }, &expr_type_string, NULL, PURE },
	{ "QueryUnescape", h_query_unescape, 1, 1, { T_S }, &expr_type_string, NULL, PURE },
	{ "PathEscape", h_path_escape, 1, 1, { T_S }, &expr_type_string, NULL, PURE },
	{ "QueryEscape", h_query_escape, 1, 1, { T_S }, &expr_type_string, NULL, PURE },
	{ "ParseQuery", h_parse_query, 1, 1, { T_S }, &expr_type_map_any, NULL, PURE },
	{ "ParseUri", h_parse_uri, 1, 1, { T_S }, &expr_type_map_any, NULL, PURE },
	{ "ExtractQueryParam", h_extract_query_param, 2, 2, { T_S, T_S },
	  &expr_type_array_string, NULL, PURE },
	/* encodings, JSON */
	{ "B64Decode", h_b64decode, 1, 1, { T_S }, &expr_type_string, NULL, PURE },
	{ "JsonExtract", h_json_extract, 2, 2, { T_S, T_S }, &expr_type_string, NULL, PURE },
	{ "JsonExtractLib", h_json_extract_lib, 1, -1, { T_S, T_S }, &expr_type_string, NULL, PURE },
	{ "JsonExtractUnescape", h_json_extract_unescape, 1, -1, { T_S, T_S },
	  &expr_type_string, NULL, PURE },
	{ "JsonExtractObject", h_json_extract_object, 2, 2, { T_S, T_S }, &expr_type_map_any, NULL, PURE },
	{ "JsonExtractSlice", h_json_extract_slice, 2, 2, { T_S, T_S }, &expr_type_array_any, NULL, PURE },
	{ "ToJsonString", h_to_json_string, 1, 1, { T_X }, &expr_type_string, NULL, PURE },
	{ "UnmarshalJSON", h_unmarshal_json, 3, 3, { T_S, T_X, T_S }, NULL, NULL, 0 },
	{ "ParseKV", h_parse_kv, 3, 3, { T_S, T_X, T_S }, NULL, NULL, 0 },
	{ "ParseKVLax", h_parse_kv_lax, 3, 3, { T_S, T_X, T_S }, NULL, NULL, 0 },
	{ "KeyExists", h_key_exists, 2, 2, { T_S, T_X }, &expr_type_bool, NULL, PURE },
	/* lists */
	{ "Distinct", h_distinct, 1, 1, { T_X }, &expr_type_array_any, NULL, PURE },
	{ "Flatten", h_flatten, 0, -1, { T_X }, &expr_type_array_any, NULL, PURE },
	{ "FlattenDistinct", h_flatten_distinct, 0, -1, { T_X }, &expr_type_array_any, NULL, PURE },
	/* times */
	{ "MedianInterval", h_median_interval, 1, 1, { T_A }, &expr_type_duration, NULL, PURE },
	{ "AverageInterval", h_average_interval, 1, 1, { T_A }, &expr_type_duration, NULL, PURE },
	{ "ParseUnix", h_parse_unix, 1, 1, { T_S }, &expr_type_string, NULL, PURE },
	{ "TimeNow", h_time_now, 0, 0, { T_X }, &expr_type_string, NULL, 0 },
	/* data files */
	{ "File", h_file, 1, 1, { T_S }, &expr_type_array_string, NULL, RO },
	{ "RegexpInFile", h_regexp_in_file, 2, 2, { T_S, T_S }, &expr_type_bool, NULL, RO },
	{ "LookupFile", h_lookup_file, 2, 2, { T_S, T_S }, &expr_type_string, NULL, RO },
	{ "FileMap", h_file_map, 1, 1, { T_S }, &expr_type_array_any, NULL, RO },
	/* stash */
	{ "SetInStash", h_set_in_stash, 3, 4, { T_S, T_S, T_S, T_X }, NULL, NULL, 0 },
	{ "GetFromStash", h_get_from_stash, 2, 2, { T_S, T_S }, &expr_type_string, NULL, RO },
	/* system */
	{ "Hostname", h_hostname, 0, 0, { T_X }, &expr_type_string, NULL, RO },
	/* need data this library does not have: empty values, hosts override */
	{ "XMLGetNodeValue", h_xml_get_node_value, 2, 2, { T_S, T_S }, &expr_type_string, NULL, RO },
	{ "XMLGetAttributeValue", h_xml_get_attribute_value, 3, 3, { T_S, T_S, T_S },
	  &expr_type_string, NULL, RO },
	{ "IPToCountry", h_empty_string, 1, 1, { T_S }, &expr_type_string, NULL, RO },
	{ "GeoIPEnrich", h_nil, 1, 1, { T_S }, NULL, NULL, RO },
	{ "GeoIPASNEnrich", h_nil, 1, 1, { T_S }, NULL, NULL, RO },
	{ "GeoIPRangeEnrich", h_nil, 1, 1, { T_S }, NULL, NULL, RO },
	{ "LookupHost", h_empty_list, 1, 1, { T_S }, &expr_type_array_string, NULL, 0 },
	{ "LibInjectionIsSQLI", h_false, 1, 1, { T_S }, &expr_type_bool, NULL, RO },
	{ "LibInjectionIsXSS", h_false, 1, 1, { T_S }, &expr_type_bool, NULL, RO },
	{ "MatchKnownBot", h_false, 3, -1, { T_S, T_S, T_S, T_S }, &expr_type_bool, NULL, RO },
	{ "GetDecisionsCount", h_zero, 1, 1, { T_S }, &expr_type_int, NULL, 0 },
	{ "GetDecisionsSinceCount", h_zero, 2, 2, { T_S, T_S }, &expr_type_int, NULL, 0 },
	{ "GetActiveDecisionsCount", h_zero, 1, 1, { T_S }, &expr_type_int, NULL, 0 },
	{ "GetActiveDecisionsTimeLeft", h_zero_duration, 1, 1, { T_S }, &expr_type_duration, NULL, 0 },
	{ "CrowdsecCTI", h_nil, 1, 1, { T_S }, NULL, NULL, 0 },
};
const size_t expr_crowdsec_helpers_count = ARRAY_SIZE(expr_crowdsec_helpers);

const struct expr_func expr_hubtest_helpers[] = {
	{ "basename", h_basename, 1, 1, { T_S }, &expr_type_string, NULL, PURE },
};
const size_t expr_hubtest_helpers_count = ARRAY_SIZE(expr_hubtest_helpers);
