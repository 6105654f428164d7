// SPDX-License-Identifier: MIT
/*
 * The expr language's own functions (len, lower, int, get, keys...), the
 * methods of native time/duration values, and the environment that holds
 * variables and functions.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/sha2.h"
#include "common/vec.h"
#include "expr/ast.h"


#define A (&args[0])
#define B (&args[1])
#define C (&args[2])
#define S(v) ((v)->s->s)
#define SL(v) ((v)->s->len)

static const char *vk(const struct expr_value *v)
{
	if (v->kind == EXPR_HOST && v->h.ops && v->h.ops->name)
		return v->h.ops->name;
	return expr_kind_name(v->kind);
}

/* Length of any sized value; -EINVAL for the rest. */
static int value_len(struct expr_ctx *ctx, const struct expr_value *v, int64_t *len)
{
	const struct expr_host_ops *ops = v->kind == EXPR_HOST ? v->h.ops : NULL;
	struct expr_value keys;
	int err;

	switch (v->kind) {
	case EXPR_STRING:
		*len = utf8_len(S(v), SL(v));
		return 0;
	case EXPR_ARRAY:
		*len = v->a->len;
		return 0;
	case EXPR_MAP:
		*len = v->m->len;
		return 0;
	case EXPR_HOST:
		if (!v->h.obj) {	/* nil slice or map */
			*len = 0;
			return 0;
		}
		if (ops && ops->len)
			return ops->len(ctx, v->h.obj, len);
		if (ops && ops->keys) {
			err = ops->keys(ctx, v->h.obj, &keys);
			if (err)
				return err;
			*len = expr_array_len(&keys);
			expr_value_release(&keys);
			return 0;
		}
		break;
	default:
		break;
	}
	return ctx_err(ctx, -EINVAL, "invalid argument for len (type %s)", vk(v));
}

static int b_len(struct expr_ctx *ctx, const struct expr_value *args, int n, struct expr_value *out)
{
	int64_t len;
	int err = value_len(ctx, A, &len);

	if (!err)
		*out = expr_int(len);
	return err;
}

static int b_type(struct expr_ctx *ctx, const struct expr_value *args, int n,
		  struct expr_value *out)
{
	return expr_string(A->kind == EXPR_HOST ? vk(A) : expr_kind_name(A->kind), out);
}

static int b_abs(struct expr_ctx *ctx, const struct expr_value *args, int n, struct expr_value *out)
{
	if (A->kind == EXPR_INT)
		*out = expr_int(A->i < 0 ? (int64_t)(0 - (uint64_t)A->i) : A->i);
	else if (A->kind == EXPR_FLOAT)
		*out = expr_float(fabs(A->f));
	else
		return ctx_err(ctx, -EINVAL, "invalid argument for abs (type %s)", vk(A));
	return 0;
}

static int num_fn(struct expr_ctx *ctx, const struct expr_value *args, struct expr_value *out,
		  double (*f)(double), const char *name)
{
	if (A->kind == EXPR_INT)
		*out = *A;
	else if (A->kind == EXPR_FLOAT)
		*out = expr_float(f(A->f));
	else
		return ctx_err(ctx, -EINVAL, "invalid argument for %s (type %s)", name, vk(A));
	return 0;
}

static int b_ceil(struct expr_ctx *c, const struct expr_value *args, int n, struct expr_value *o)
{
	return num_fn(c, args, o, ceil, "ceil");
}

static int b_floor(struct expr_ctx *c, const struct expr_value *args, int n, struct expr_value *o)
{
	return num_fn(c, args, o, floor, "floor");
}

static int b_round(struct expr_ctx *c, const struct expr_value *args, int n, struct expr_value *o)
{
	return num_fn(c, args, o, round, "round");
}

static bool parse_int_str(const char *s, int64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return *s && !*end && !errno && !isspace((unsigned char)*s);
}

static int b_int(struct expr_ctx *ctx, const struct expr_value *args, int n, struct expr_value *out)
{
	int64_t v;

	switch (A->kind) {
	case EXPR_INT:
		*out = *A;
		return 0;
	case EXPR_FLOAT:
		if (isnan(A->f) || fabs(A->f) >= 9.2233720368547758e18)
			return ctx_err(ctx, -ERANGE, "int: %g out of range", A->f);
		*out = expr_int((int64_t)A->f);
		return 0;
	case EXPR_DURATION:
		*out = expr_int(A->dur);
		return 0;
	case EXPR_STRING:
		if (!parse_int_str(S(A), &v))
			return ctx_err(ctx, -EINVAL, "int: invalid syntax: \"%s\"", S(A));
		*out = expr_int(v);
		return 0;
	default:
		return ctx_err(ctx, -EINVAL, "invalid operation: int(%s)", vk(A));
	}
}

static int b_float(struct expr_ctx *ctx, const struct expr_value *args, int n,
		   struct expr_value *out)
{
	char *end;
	double f;

	switch (A->kind) {
	case EXPR_INT:
		*out = expr_float((double)A->i);
		return 0;
	case EXPR_FLOAT:
		*out = *A;
		return 0;
	case EXPR_STRING:
		errno = 0;
		f = strtod(S(A), &end);
		if (!SL(A) || *end || isspace((unsigned char)*S(A)))
			return ctx_err(ctx, -EINVAL, "float: invalid syntax: \"%s\"", S(A));
		*out = expr_float(f);
		return 0;
	default:
		return ctx_err(ctx, -EINVAL, "invalid operation: float(%s)", vk(A));
	}
}

static int b_string(struct expr_ctx *ctx, const struct expr_value *args, int n,
		    struct expr_value *out)
{
	char *s;
	int err;

	if (A->kind == EXPR_STRING) {
		*out = expr_value_ref(A);
		return 0;
	}
	s = expr_value_format(A);
	if (!s)
		return -ENOMEM;
	err = expr_string(s, out);
	free(s);
	return err;
}

/* Cutsets in the hub are ASCII: bytes are enough. */
int trim_common(const struct expr_value *s, const char *set, size_t n, bool left, bool right,
		struct expr_value *out)
{
	size_t a = 0, b = SL(s);

	while (left && a < b && expr_in_set(set, n, S(s)[a]))
		a++;
	while (right && b > a && expr_in_set(set, n, S(s)[b - 1]))
		b--;
	return expr_stringn(S(s) + a, b - a, out);
}

static int b_trim(struct expr_ctx *c, const struct expr_value *args, int n, struct expr_value *o)
{
	if (n > 1)
		return trim_common(A, S(B), SL(B), true, true, o);
	return trim_common(A, EXPR_SPACES, sizeof(EXPR_SPACES) - 1, true, true, o);
}

static int b_trim_prefix(struct expr_ctx *c, const struct expr_value *args, int n,
			 struct expr_value *o)
{
	const char *p = n > 1 ? S(B) : " ";
	size_t pl = n > 1 ? SL(B) : 1;

	if (pl <= SL(A) && !memcmp(S(A), p, pl))
		return expr_stringn(S(A) + pl, SL(A) - pl, o);
	*o = expr_value_ref(A);
	return 0;
}

static int b_trim_suffix(struct expr_ctx *c, const struct expr_value *args, int n,
			 struct expr_value *o)
{
	const char *p = n > 1 ? S(B) : " ";
	size_t pl = n > 1 ? SL(B) : 1;

	if (pl <= SL(A) && !memcmp(S(A) + SL(A) - pl, p, pl))
		return expr_stringn(S(A), SL(A) - pl, o);
	*o = expr_value_ref(A);
	return 0;
}

/* Does byte i (and its continuation) change under the mapping? */
static bool case_changes(const unsigned char *p, uint32_t len, uint32_t i, bool upper)
{
	unsigned char c = p[i];

	if (c < 0x80)
		return upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z');
	if (c != 0xC3 || i + 1 >= len)
		return false;
	c = p[i + 1];
	/* U+00C0..U+00DE <-> U+00E0..U+00FE, except multiplication/division signs */
	return upper ? (c >= 0xA0 && c <= 0xBE && c != 0xB7) : (c >= 0x80 && c <= 0x9E && c != 0x97);
}

/*
 * ASCII case mapping plus the 2-byte Latin-1 range that keeps its UTF-8
 * length; enough for log data. A string the mapping leaves unchanged comes
 * back as itself (and calls from expressions are memoised by call()).
 */
#define BYTES_01 0x0101010101010101ull
#define BYTES_80 0x8080808080808080ull

/*
 * Of 8 ASCII bytes (the caller checked: no high bit), 0x80 in each byte that
 * is a letter the mapping changes ('a'..'z' for upper, 'A'..'Z' for lower).
 * Each byte is below 0x80 and so is what is added: no carry between bytes.
 */
static inline uint64_t ascii_changes(uint64_t w, bool upper)
{
	unsigned char lo = upper ? 'a' : 'A', hi = upper ? 'z' : 'Z';
	uint64_t ge_lo = w + (0x80 - lo) * BYTES_01, gt_hi = w + (0x7F - hi) * BYTES_01;

	return ge_lo & ~gt_hi & BYTES_80;
}

uint32_t case_first(const char *s, uint32_t len, bool upper)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t i = 0;
	uint64_t w, m;

	/* paths and user agents are ASCII: 8 bytes a step to the first change (the
	 * lowest set bit is the first byte only in little-endian order) */
	_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "case_map's word scan");
	while (i < len) {
		if (i + 8 <= len) {
			memcpy(&w, p + i, 8);
			if (!(w & BYTES_80)) {
				m = ascii_changes(w, upper);
				if (!m) {
					i += 8;
					continue;
				}
				i += (uint32_t)__builtin_ctzll(m) / 8;
				break;
			}
		}
		if (case_changes(p, len, i, upper))
			break;
		i += p[i] == 0xC3 && i + 1 < len ? 2 : 1;
	}
	return i < len ? i : len;
}

void case_map_rest(const char *s, uint32_t len, uint32_t i, bool upper, char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	uint64_t w;

	while (i < len) {
		unsigned char c;

		if (i + 8 <= len) {
			memcpy(&w, p + i, 8);
			if (!(w & BYTES_80)) {
				w ^= ascii_changes(w, upper) >> 2;	/* 0x80 >> 2: the case bit */
				memcpy(out + i, &w, 8);
				i += 8;
				continue;
			}
		}
		c = p[i];
		if (c < 0x80) {
			if (upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z'))
				out[i] = (char)(c ^ 0x20);
		} else if (c == 0xC3 && i + 1 < len) {
			if (case_changes(p, len, i, upper))
				out[i + 1] = (char)(p[i + 1] ^ 0x20);
			i++;
		}
		i++;
	}
}

int case_map(const struct expr_value *s, bool upper, struct expr_value *out)
{
	uint32_t len = s->s->len, i = case_first(s->s->s, len, upper);
	struct expr_str *r;

	if (i >= len) {
		*out = expr_value_ref(s);
		return 0;
	}
	r = xstr_new(s->s->s, len);
	if (!r)
		return -ENOMEM;
	case_map_rest(s->s->s, len, i, upper, r->s);
	*out = xstr_value(r);
	return 0;
}

static int b_upper(struct expr_ctx *c, const struct expr_value *args, int n, struct expr_value *o)
{
	return case_map(A, true, o);
}

static int b_lower(struct expr_ctx *c, const struct expr_value *args, int n, struct expr_value *o)
{
	return case_map(A, false, o);
}


int split_common(const char *s, size_t sl, const char *sep, size_t sepl, int64_t lim,
		 bool after, struct expr_value *out)
{
	size_t start = 0;
	int err = expr_array_new(0, out);
	int64_t parts = 0;

	if (err || lim == 0)
		return err;
	if (sepl == 0) {	/* explode into UTF-8 sequences */
		for (size_t i = 0; !err && i < sl;) {
			size_t j = i + 1;
			struct expr_value v;

			if (lim > 0 && parts == lim - 1)
				j = sl;
			while (j < sl && ((unsigned char)s[j] & 0xC0) == 0x80)
				j++;
			err = expr_stringn(s + i, j - i, &v);
			if (!err)
				err = expr_array_push_take(out, v);
			parts++;
			i = j;
		}
		goto out;
	}
	for (;;) {
		const char *hit = (lim < 0 || parts < lim - 1) ?
					  memmem(s + start, sl - start, sep, sepl) : NULL;
		size_t end = hit ? (size_t)(hit - s) : sl;
		struct expr_value v;

		err = expr_stringn(s + start, end - start + (hit && after ? sepl : 0), &v);
		if (!err)
			err = expr_array_push_take(out, v);
		parts++;
		if (err || !hit)
			break;
		start = end + sepl;
	}
out:
	if (err)
		expr_value_release(out);
	return err;
}

static int b_split(struct expr_ctx *c, const struct expr_value *args, int n, struct expr_value *o)
{
	return split_common(S(A), SL(A), S(B), SL(B), n > 2 ? C->i : -1, false, o);
}

static int b_split_after(struct expr_ctx *c, const struct expr_value *args, int n,
			 struct expr_value *o)
{
	return split_common(S(A), SL(A), S(B), SL(B), n > 2 ? C->i : -1, true, o);
}


int replace_common(const struct expr_value *s, const struct expr_value *old,
		   const struct expr_value *new, int64_t lim, struct expr_value *out)
{
	struct sbuf sb = EXPR_SBUF;
	size_t i = 0;
	int64_t done = 0;

	if (SL(old) == 0) {	/* Go: insert new around every rune */
		for (; i <= SL(s); done++) {
			size_t j = i + 1;

			if (lim >= 0 && done >= lim) {
				sb_putn(&sb, S(s) + i, SL(s) - i);
				break;
			}
			sb_putn(&sb, S(new), SL(new));
			if (i == SL(s))
				break;
			while (j < SL(s) && ((unsigned char)S(s)[j] & 0xC0) == 0x80)
				j++;
			sb_putn(&sb, S(s) + i, j - i);
			i = j;
		}
		return sb_to_value(&sb, out);
	}
	while (i < SL(s)) {
		const char *hit = (lim < 0 || done < lim) ?
					  memmem(S(s) + i, SL(s) - i, S(old), SL(old)) : NULL;

		if (!hit) {
			sb_putn(&sb, S(s) + i, SL(s) - i);
			break;
		}
		sb_putn(&sb, S(s) + i, hit - (S(s) + i));
		sb_putn(&sb, S(new), SL(new));
		i = hit - S(s) + SL(old);
		done++;
	}
	return sb_to_value(&sb, out);
}

static int b_replace(struct expr_ctx *c, const struct expr_value *args, int n,
		     struct expr_value *o)
{
	return replace_common(A, B, C, -1, o);
}

static int b_repeat(struct expr_ctx *ctx, const struct expr_value *args, int n,
		    struct expr_value *out)
{
	struct expr_str *s;

	if (B->i < 0)
		return ctx_err(ctx, -EINVAL, "repeat: negative count");
	if (B->i && SL(A) > EXPR_MAX_ALLOC / (uint64_t)B->i)
		return ctx_err(ctx, -E2BIG, "repeat: result too long");
	s = xstr_alloc(SL(A) * B->i);
	if (!s)
		return -ENOMEM;
	for (int64_t i = 0; i < B->i; i++)
		memcpy(s->s + i * SL(A), S(A), SL(A));
	*out = xstr_value(s);
	return 0;
}

static int b_join(struct expr_ctx *ctx, const struct expr_value *args, int n,
		  struct expr_value *out)
{
	struct sbuf sb = EXPR_SBUF;

	for (uint32_t i = 0; i < A->a->len; i++) {
		const struct expr_value *e = &A->a->items[i];

		if (e->kind != EXPR_STRING) {
			sb_free(&sb);
			return ctx_err(ctx, -EINVAL, "join: element %u is %s, not string", i, vk(e));
		}
		if (i && n > 1)
			sb_putn(&sb, S(B), SL(B));
		sb_putn(&sb, S(e), SL(e));
	}
	return sb_to_value(&sb, out);
}

static int64_t rune_index(const char *s, size_t byte_off)
{
	return (int64_t)utf8_len(s, byte_off);
}

static int b_index_of(struct expr_ctx *c, const struct expr_value *args, int n,
		      struct expr_value *o)
{
	const char *hit = memmem(S(A), SL(A), S(B), SL(B));

	*o = expr_int(hit ? rune_index(S(A), hit - S(A)) : -1);
	return 0;
}

static int b_last_index_of(struct expr_ctx *c, const struct expr_value *args, int n,
			   struct expr_value *o)
{
	int64_t pos = -1;

	for (size_t i = 0; i + SL(B) <= SL(A); i++)
		if (!memcmp(S(A) + i, S(B), SL(B)))
			pos = i;
	*o = expr_int(pos < 0 ? -1 : rune_index(S(A), pos));
	return 0;
}

static int b_has_prefix(struct expr_ctx *c, const struct expr_value *args, int n,
			struct expr_value *o)
{
	*o = expr_bool(SL(B) <= SL(A) && !memcmp(S(A), S(B), SL(B)));
	return 0;
}

static int b_has_suffix(struct expr_ctx *c, const struct expr_value *args, int n,
			struct expr_value *o)
{
	*o = expr_bool(SL(B) <= SL(A) && !memcmp(S(A) + SL(A) - SL(B), S(B), SL(B)));
	return 0;
}

/* min/max over arguments, or over one array argument. */
static int minmax(struct expr_ctx *ctx, const struct expr_value *args, int n,
		  struct expr_value *out, bool want_max)
{
	const struct expr_value *items = args, *best = NULL;
	int cnt = n;

	if (n == 1 && A->kind == EXPR_ARRAY) {
		items = A->a->items;
		cnt = A->a->len;
	}
	for (int i = 0; i < cnt; i++) {
		const struct expr_value *v = &items[i];
		double x, y;

		if (v->kind != EXPR_INT && v->kind != EXPR_FLOAT)
			return ctx_err(ctx, -EINVAL, "invalid argument for %s (type %s)",
				       want_max ? "max" : "min", vk(v));
		if (!best) {
			best = v;
			continue;
		}
		x = v->kind == EXPR_INT ? (double)v->i : v->f;
		y = best->kind == EXPR_INT ? (double)best->i : best->f;
		if (want_max ? x > y : x < y)
			best = v;
	}
	if (!best)
		return ctx_err(ctx, -EINVAL, "%s: no values", want_max ? "max" : "min");
	*out = *best;
	return 0;
}

static int b_max(struct expr_ctx *c, const struct expr_value *args, int n, struct expr_value *o)
{
	return minmax(c, args, n, o, true);
}

static int b_min(struct expr_ctx *c, const struct expr_value *args, int n, struct expr_value *o)
{
	return minmax(c, args, n, o, false);
}

static int numbers(struct expr_ctx *ctx, const struct expr_value *arr, double **out, size_t *n,
		   const char *name)
{
	double *v = malloc((arr->a->len ? arr->a->len : 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < arr->a->len; i++) {
		const struct expr_value *e = &arr->a->items[i];

		if (e->kind != EXPR_INT && e->kind != EXPR_FLOAT) {
			free(v);
			return ctx_err(ctx, -EINVAL, "invalid argument for %s (type %s)", name,
				       vk(e));
		}
		v[i] = e->kind == EXPR_INT ? (double)e->i : e->f;
	}
	*out = v;
	*n = arr->a->len;
	return 0;
}

static int b_mean(struct expr_ctx *ctx, const struct expr_value *args, int n,
		  struct expr_value *out)
{
	double *v, sum = 0;
	size_t cnt;
	int err = numbers(ctx, A, &v, &cnt, "mean");

	if (err)
		return err;
	for (size_t i = 0; i < cnt; i++)
		sum += v[i];
	free(v);
	*out = expr_float(cnt ? sum / cnt : 0);
	return 0;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int b_median(struct expr_ctx *ctx, const struct expr_value *args, int n,
		    struct expr_value *out)
{
	double *v;
	size_t cnt;
	int err = numbers(ctx, A, &v, &cnt, "median");

	if (err)
		return err;
	if (cnt) /* qsort(NULL, 0, ...) is undefined */
		qsort(v, cnt, sizeof(*v), dbl_cmp);
	*out = expr_float(!cnt ? 0 : cnt % 2 ? v[cnt / 2] : (v[cnt / 2 - 1] + v[cnt / 2]) / 2);
	free(v);
	return 0;
}

static int b_to_json(struct expr_ctx *ctx, const struct expr_value *args, int n,
		     struct expr_value *out)
{
	json_t *j = expr_value_to_json(A);
	char *s;
	int err;

	if (!j)
		return ctx_err(ctx, -EINVAL, "toJSON: cannot encode %s", vk(A));
	s = json_dumps(j, JSON_ENCODE_ANY | JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!s)
		return -ENOMEM;
	err = expr_string(s, out);
	free(s);
	return err;
}

static int b_from_json(struct expr_ctx *ctx, const struct expr_value *args, int n,
		       struct expr_value *out)
{
	json_error_t jerr;
	json_t *j = json_loadb(S(A), SL(A), JSON_DECODE_ANY, &jerr);
	int err;

	if (!j)
		return ctx_err(ctx, -EINVAL, "fromJSON: %s", jerr.text);
	err = expr_value_from_go_json(j, out);
	json_decref(j);
	return err;
}

static int b_to_base64(struct expr_ctx *ctx, const struct expr_value *args, int n,
		       struct expr_value *out)
{
	size_t l = SL(A), elen = (l + 2) / 3 * 4;
	char *enc;
	int err;

	if (elen > EXPR_MAX_ALLOC || !(enc = malloc(elen + 1)))
		return -ENOMEM; /* as for any string past the bound */
	b64_encode((const uint8_t *)S(A), l, enc);
	err = expr_stringn(enc, elen, out);
	free(enc);
	return err;
}

int base64_decode(const char *s, size_t l, struct expr_value *out)
{
	size_t cap = l / 4 * 3;
	uint8_t *dec = malloc(cap + 1);
	int n, err;

	if (!dec)
		return -ENOMEM;
	n = b64_decode(s, l, dec, cap);
	err = n < 0 ? -EINVAL : expr_stringn((const char *)dec, (size_t)n, out);
	free(dec);
	return err;
}

static int b_from_base64(struct expr_ctx *ctx, const struct expr_value *args, int n,
			 struct expr_value *out)
{
	int err = base64_decode(S(A), SL(A), out);

	return err == -EINVAL ? ctx_err(ctx, err, "fromBase64: illegal base64 data") : err;
}

static int b_now(struct expr_ctx *ctx, const struct expr_value *args, int n,
		 struct expr_value *out)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*out = expr_time((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, 0);
	return 0;
}

static int b_duration(struct expr_ctx *ctx, const struct expr_value *args, int n,
		      struct expr_value *out)
{
	int64_t ns;

	if (expr_parse_duration(S(A), &ns))
		return ctx_err(ctx, -EINVAL, "time: invalid duration \"%s\"", S(A));
	*out = expr_duration(ns);
	return 0;
}

static int b_date(struct expr_ctx *ctx, const struct expr_value *args, int n,
		  struct expr_value *out)
{
	int64_t ns;
	int32_t off;

	if (A->kind == EXPR_TIME) {
		*out = *A;
		return 0;
	}
	if (A->kind != EXPR_STRING)
		return ctx_err(ctx, -EINVAL, "date: invalid argument %s", vk(A));
	if (n > 1)
		return ctx_err(ctx, -EOPNOTSUPP, "date: custom layouts are not supported");
	if (parse_time(S(A), &ns, &off))
		return ctx_err(ctx, -EINVAL, "date: cannot parse \"%s\"", S(A));
	*out = expr_time(ns, off);
	return 0;
}

static int b_first(struct expr_ctx *c, const struct expr_value *args, int n, struct expr_value *o)
{
	if (A->kind == EXPR_ARRAY && A->a->len)
		*o = expr_value_ref(&A->a->items[0]);
	else if (A->kind != EXPR_ARRAY && A->kind != EXPR_NIL)
		return ctx_err(c, -EINVAL, "first: invalid argument %s", vk(A));
	return 0;
}

static int b_last(struct expr_ctx *c, const struct expr_value *args, int n, struct expr_value *o)
{
	if (A->kind == EXPR_ARRAY && A->a->len)
		*o = expr_value_ref(&A->a->items[A->a->len - 1]);
	else if (A->kind != EXPR_ARRAY && A->kind != EXPR_NIL)
		return ctx_err(c, -EINVAL, "last: invalid argument %s", vk(A));
	return 0;
}

static int b_get(struct expr_ctx *c, const struct expr_value *args, int n, struct expr_value *o)
{
	return expr_fetch_lenient(c, A, B, o);
}

/* A new array of the first k items of array a (k at most its length). */
static int copy_items(const struct expr_value *a, uint32_t k, struct expr_value *out)
{
	int err = expr_array_new(k, out);

	for (uint32_t i = 0; !err && i < k; i++)
		err = expr_array_push(out, &a->a->items[i]);
	if (err)
		expr_value_release(out);
	return err;
}

static int b_take(struct expr_ctx *c, const struct expr_value *args, int n, struct expr_value *o)
{
	int64_t k = B->i < 0 ? 0 : B->i;

	return copy_items(A, k < A->a->len ? (uint32_t)k : A->a->len, o);
}

/* keys()/values() of a map or a map-like host object. */
static int map_keys_values(struct expr_ctx *ctx, const struct expr_value *m, bool keys,
			   struct expr_value *out)
{
	struct expr_value ks;
	int err;

	if (m->kind == EXPR_MAP) {
		err = expr_array_new(m->m->len, out);
		for (uint32_t i = 0; !err && i < m->m->len; i++) {
			if (keys)
				err = expr_array_push_take(out, expr_value_ref(&(struct expr_value){
					.kind = EXPR_STRING, .s = m->m->keys[i] }));
			else
				err = expr_array_push(out, &m->m->vals[i]);
		}
		if (err)
			expr_value_release(out);
		return err;
	}
	if (m->kind == EXPR_HOST && !m->h.obj)
		return expr_array_new(0, out);	/* nil map */
	if (m->kind == EXPR_HOST && m->h.ops && m->h.ops->keys) {
		err = m->h.ops->keys(ctx, m->h.obj, &ks);
		if (err || keys) {
			*out = ks;
			return err;
		}
		err = expr_array_new(expr_array_len(&ks), out);
		for (size_t i = 0; !err && i < expr_array_len(&ks); i++) {
			struct expr_value v;

			err = expr_fetch_lenient(ctx, m, expr_array_at(&ks, i), &v);
			if (!err)
				err = expr_array_push_take(out, v);
		}
		expr_value_release(&ks);
		if (err)
			expr_value_release(out);
		return err;
	}
	return ctx_err(ctx, -EINVAL, "%s: invalid argument %s", keys ? "keys" : "values", vk(m));
}

static int b_keys(struct expr_ctx *c, const struct expr_value *args, int n, struct expr_value *o)
{
	return map_keys_values(c, A, true, o);
}

static int b_values(struct expr_ctx *c, const struct expr_value *args, int n,
		    struct expr_value *o)
{
	return map_keys_values(c, A, false, o);
}

static int b_to_pairs(struct expr_ctx *ctx, const struct expr_value *args, int n,
		      struct expr_value *out)
{
	int err = expr_array_new(A->m->len, out);

	for (uint32_t i = 0; !err && i < A->m->len; i++) {
		struct expr_value pair, k;

		err = expr_array_new(2, &pair);
		if (err)
			break;
		k = expr_value_ref(&(struct expr_value){ .kind = EXPR_STRING, .s = A->m->keys[i] });
		err = expr_array_push_take(&pair, k);
		if (!err)
			err = expr_array_push(&pair, &A->m->vals[i]);
		if (!err)
			err = expr_array_push_take(out, pair);
		else
			expr_value_release(&pair);
	}
	if (err)
		expr_value_release(out);
	return err;
}

static int b_from_pairs(struct expr_ctx *ctx, const struct expr_value *args, int n,
			struct expr_value *out)
{
	int err = expr_map_new(out);

	for (uint32_t i = 0; !err && i < A->a->len; i++) {
		const struct expr_value *p = &A->a->items[i];

		if (p->kind != EXPR_ARRAY || p->a->len != 2 || p->a->items[0].kind != EXPR_STRING) {
			err = ctx_err(ctx, -EINVAL, "fromPairs: element %u is not a [key, value] pair",
				      i);
			break;
		}
		err = expr_map_set(out, S(&p->a->items[0]), &p->a->items[1]);
	}
	if (err)
		expr_value_release(out);
	return err;
}

static int b_sort(struct expr_ctx *ctx, const struct expr_value *args, int n,
		  struct expr_value *out)
{
	bool desc = false;
	int err;

	if (n > 1) {
		if (B->kind != EXPR_STRING || (strcmp(S(B), "asc") && strcmp(S(B), "desc")))
			return ctx_err(ctx, -EINVAL, "sort: unknown order, use asc or desc");
		desc = !strcmp(S(B), "desc");
	}
	err = copy_items(A, A->a->len, out);
	if (!err && (err = expr_sort_values(out, desc))) {
		expr_value_release(out);
		return ctx_err(ctx, err, "sort: elements are not comparable");
	}
	return err;
}

static int b_concat(struct expr_ctx *ctx, const struct expr_value *args, int n,
		    struct expr_value *out)
{
	int err = expr_array_new(0, out);

	for (int k = 0; !err && k < n; k++) {
		if (args[k].kind != EXPR_ARRAY) {
			err = ctx_err(ctx, -EINVAL, "concat: argument %d is %s", k + 1,
				      vk(&args[k]));
			break;
		}
		for (uint32_t i = 0; !err && i < args[k].a->len; i++)
			err = expr_array_push(out, &args[k].a->items[i]);
	}
	if (err)
		expr_value_release(out);
	return err;
}


int flatten_into(struct expr_value *out, const struct expr_value *v, int depth)
{
	int err = 0;

	if (depth > EXPR_MAX_DEPTH)
		return -E2BIG;
	if (v->kind != EXPR_ARRAY)
		return expr_array_push(out, v);
	for (uint32_t i = 0; !err && i < v->a->len; i++)
		err = flatten_into(out, &v->a->items[i], depth + 1);
	return err;
}

static int b_flatten(struct expr_ctx *ctx, const struct expr_value *args, int n,
		     struct expr_value *out)
{
	int err = expr_array_new(0, out);

	if (!err)
		err = flatten_into(out, A, 0);
	if (err)
		expr_value_release(out);
	return err;
}


int uniq_into(struct expr_value *out, const struct expr_value *v)
{
	for (uint32_t i = 0; i < out->a->len; i++)
		if (expr_value_equal(&out->a->items[i], v))
			return 0;
	return expr_array_push(out, v);
}

static int b_uniq(struct expr_ctx *ctx, const struct expr_value *args, int n,
		  struct expr_value *out)
{
	int err = expr_array_new(0, out);

	for (uint32_t i = 0; !err && i < A->a->len; i++)
		err = uniq_into(out, &A->a->items[i]);
	if (err)
		expr_value_release(out);
	return err;
}

static int b_reverse(struct expr_ctx *ctx, const struct expr_value *args, int n,
		     struct expr_value *out)
{
	int err = expr_array_new(A->a->len, out);

	for (uint32_t i = A->a->len; !err && i > 0; i--)
		err = expr_array_push(out, &A->a->items[i - 1]);
	if (err)
		expr_value_release(out);
	return err;
}

#define BITOP(fname, expr_)                                                           \
	static int fname(struct expr_ctx *c, const struct expr_value *args, int n,    \
			 struct expr_value *o)                                        \
	{                                                                             \
		uint64_t a = (uint64_t)A->i, b = n > 1 ? (uint64_t)B->i : 0;          \
		(void)b;                                                              \
		*o = expr_int((int64_t)(expr_));                                      \
		return 0;                                                             \
	}
BITOP(b_bitand, a & b)
BITOP(b_bitor, a | b)
BITOP(b_bitxor, a ^ b)
BITOP(b_bitnand, a & ~b)
BITOP(b_bitnot, ~a)
BITOP(b_bitshl, b >= 64 ? 0 : a << b)
BITOP(b_bitushr, b >= 64 ? 0 : a >> b)

static int b_bitshr(struct expr_ctx *c, const struct expr_value *args, int n,
		    struct expr_value *o)
{
	int64_t a = A->i, b = B->i;

	if (b < 0)
		return ctx_err(c, -EINVAL, "bitshr: negative shift count");
	*o = expr_int(b >= 64 ? (a < 0 ? -1 : 0) : (a < 0 ? ~(~a >> b) : a >> b));
	return 0;
}

const struct expr_func expr_builtins[] = {
	{ "len", b_len, 1, 1, { T_X }, &expr_type_int, NULL, PURE },
	{ "type", b_type, 1, 1, { T_X }, &expr_type_string, NULL, PURE },
	{ "abs", b_abs, 1, 1, { T_X }, NULL, NULL, PURE },
	{ "ceil", b_ceil, 1, 1, { T_X }, NULL, NULL, PURE },
	{ "floor", b_floor, 1, 1, { T_X }, NULL, NULL, PURE },
	{ "round", b_round, 1, 1, { T_X }, NULL, NULL, PURE },
	{ "int", b_int, 1, 1, { T_X }, &expr_type_int, NULL, PURE },
	{ "float", b_float, 1, 1, { T_X }, &expr_type_float, NULL, PURE },
	{ "string", b_string, 1, 1, { T_X }, &expr_type_string, NULL, PURE },
	{ "trim", b_trim, 1, 2, { T_S, T_S }, &expr_type_string, NULL, PURE },
	{ "trimPrefix", b_trim_prefix, 1, 2, { T_S, T_S }, &expr_type_string, NULL, PURE },
	{ "trimSuffix", b_trim_suffix, 1, 2, { T_S, T_S }, &expr_type_string, NULL, PURE },
	{ "upper", b_upper, 1, 1, { T_S }, &expr_type_string, NULL, PURE },
	{ "lower", b_lower, 1, 1, { T_S }, &expr_type_string, NULL, PURE },
	{ "split", b_split, 2, 3, { T_S, T_S, T_I }, &expr_type_array_string, NULL, PURE },
	{ "splitAfter", b_split_after, 2, 3, { T_S, T_S, T_I }, &expr_type_array_string, NULL, PURE },
	{ "replace", b_replace, 3, 3, { T_S, T_S, T_S }, &expr_type_string, NULL, PURE },
	{ "repeat", b_repeat, 2, 2, { T_S, T_I }, &expr_type_string, NULL, PURE },
	{ "join", b_join, 1, 2, { T_A, T_S }, &expr_type_string, NULL, PURE },
	{ "indexOf", b_index_of, 2, 2, { T_S, T_S }, &expr_type_int, NULL, PURE },
	{ "lastIndexOf", b_last_index_of, 2, 2, { T_S, T_S }, &expr_type_int, NULL, PURE },
	{ "hasPrefix", b_has_prefix, 2, 2, { T_S, T_S }, &expr_type_bool, NULL, PURE },
	{ "hasSuffix", b_has_suffix, 2, 2, { T_S, T_S }, &expr_type_bool, NULL, PURE },
	{ "max", b_max, 1, -1, { T_X }, NULL, NULL, PURE },
	{ "min", b_min, 1, -1, { T_X }, NULL, NULL, PURE },
	{ "mean", b_mean, 1, 1, { T_A }, &expr_type_float, NULL, PURE },
	{ "median", b_median, 1, 1, { T_A }, &expr_type_float, NULL, PURE },
	{ "toJSON", b_to_json, 1, 1, { T_X }, &expr_type_string, NULL, PURE },
	{ "fromJSON", b_from_json, 1, 1, { T_S }, NULL, NULL, PURE },
	{ "toBase64", b_to_base64, 1, 1, { T_S }, &expr_type_string, NULL, PURE },
	{ "fromBase64", b_from_base64, 1, 1, { T_S }, &expr_type_string, NULL, PURE },
	{ "now", b_now, 0, 0, { T_X }, &expr_type_time, NULL, 0 },
	{ "duration", b_duration, 1, 1, { T_S }, &expr_type_duration, NULL, PURE },
	{ "date", b_date, 1, 3, { T_X, T_S, T_S }, &expr_type_time, NULL, RO },
	{ "first", b_first, 1, 1, { T_X }, NULL, NULL, PURE },
	{ "last", b_last, 1, 1, { T_X }, NULL, NULL, PURE },
	{ "get", b_get, 2, 2, { T_X, T_X }, NULL, NULL, PURE },
	{ "take", b_take, 2, 2, { T_A, T_I }, &expr_type_array_any, NULL, PURE },
	{ "keys", b_keys, 1, 1, { T_X }, &expr_type_array_string, NULL, PURE },
	{ "values", b_values, 1, 1, { T_X }, &expr_type_array_any, NULL, PURE },
	{ "toPairs", b_to_pairs, 1, 1, { T_M }, &expr_type_array_any, NULL, PURE },
	{ "fromPairs", b_from_pairs, 1, 1, { T_A }, &expr_type_map_any, NULL, PURE },
	{ "sort", b_sort, 1, 2, { T_A, T_S }, &expr_type_array_any, NULL, PURE },
	{ "concat", b_concat, 1, -1, { T_A }, &expr_type_array_any, NULL, PURE },
	{ "flatten", b_flatten, 1, 1, { T_A }, &expr_type_array_any, NULL, PURE },
	{ "uniq", b_uniq, 1, 1, { T_A }, &expr_type_array_any, NULL, PURE },
	{ "reverse", b_reverse, 1, 1, { T_A }, &expr_type_array_any, NULL, PURE },
	{ "bitand", b_bitand, 2, 2, { T_I, T_I }, &expr_type_int, NULL, PURE },
	{ "bitor", b_bitor, 2, 2, { T_I, T_I }, &expr_type_int, NULL, PURE },
	{ "bitxor", b_bitxor, 2, 2, { T_I, T_I }, &expr_type_int, NULL, PURE },
	{ "bitnand", b_bitnand, 2, 2, { T_I, T_I }, &expr_type_int, NULL, PURE },
	{ "bitnot", b_bitnot, 1, 1, { T_I }, &expr_type_int, NULL, PURE },
	{ "bitshl", b_bitshl, 2, 2, { T_I, T_I }, &expr_type_int, NULL, PURE },
	{ "bitshr", b_bitshr, 2, 2, { T_I, T_I }, &expr_type_int, NULL, PURE },
	{ "bitushr", b_bitushr, 2, 2, { T_I, T_I }, &expr_type_int, NULL, PURE },
};
const size_t expr_builtins_count = ARRAY_SIZE(expr_builtins);

const struct expr_func *builtin_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(expr_builtins); i++)
		if (!strcmp(expr_builtins[i].name, name))
			return &expr_builtins[i];
	return NULL;
}

/* ---- methods of native values ---- */

static const struct expr_method time_methods[] = {
	{ "Year", 0, 0, &expr_type_int },	{ "Month", 0, 0, &expr_type_int },
	{ "Day", 0, 0, &expr_type_int },	{ "Hour", 0, 0, &expr_type_int },
	{ "Minute", 0, 0, &expr_type_int },	{ "Second", 0, 0, &expr_type_int },
	{ "Nanosecond", 0, 0, &expr_type_int }, { "YearDay", 0, 0, &expr_type_int },
	{ "Weekday", 0, 0, NULL },		{ "Unix", 0, 0, &expr_type_int },
	{ "UnixMilli", 0, 0, &expr_type_int },	{ "UnixNano", 0, 0, &expr_type_int },
	{ "UTC", 0, 0, &expr_type_time },	{ "IsZero", 0, 0, &expr_type_bool },
	{ "Sub", 1, 1, &expr_type_duration },	{ "Add", 1, 1, &expr_type_time },
	{ "After", 1, 1, &expr_type_bool },	{ "Before", 1, 1, &expr_type_bool },
	{ "Equal", 1, 1, &expr_type_bool },	{ "String", 0, 0, &expr_type_string },
	{ NULL },
};

static const struct expr_method duration_methods[] = {
	{ "Hours", 0, 0, &expr_type_float },	   { "Minutes", 0, 0, &expr_type_float },
	{ "Seconds", 0, 0, &expr_type_float },	   { "Milliseconds", 0, 0, &expr_type_int },
	{ "Microseconds", 0, 0, &expr_type_int },  { "Nanoseconds", 0, 0, &expr_type_int },
	{ "String", 0, 0, &expr_type_string },	   { "Abs", 0, 0, &expr_type_duration },
	{ NULL },
};

const struct expr_method *native_methods(enum expr_kind kind)
{
	if (kind == EXPR_TIME)
		return time_methods;
	if (kind == EXPR_DURATION)
		return duration_methods;
	return NULL;
}

/* Go's time.Weekday: an int with a String() method. */
static const char *const weekdays[] = { "Sunday", "Monday", "Tuesday", "Wednesday",
					"Thursday", "Friday", "Saturday" };

static int weekday_call(struct expr_ctx *ctx, void *obj, const char *m,
			const struct expr_value *args, int nargs, struct expr_value *out)
{
	if (!strcmp(m, "String"))
		return expr_string(weekdays[(intptr_t)obj % 7], out);
	return -ENOENT;
}

static char *weekday_format(const void *obj)
{
	return strdup(weekdays[(intptr_t)obj % 7]);
}

static const struct expr_method weekday_methods[] = { { "String", 0, 0, &expr_type_string },
						      { NULL } };
static const struct expr_field weekday_fields[] = { { NULL } };
const struct expr_host_ops expr_weekday_ops = {
	.name = "time.Weekday",
	.fields = weekday_fields,
	.methods = weekday_methods,
	.call = weekday_call,
	.format = weekday_format,
};

static int need_kind(struct expr_ctx *ctx, const char *m, const struct expr_value *args,
		     int nargs, enum expr_kind k)
{
	if (nargs != 1 || args[0].kind != k)
		return ctx_err(ctx, -EINVAL, "%s: expected a %s argument", m, expr_kind_name(k));
	return 0;
}

int native_call(struct expr_ctx *ctx, const struct expr_value *obj, const char *m,
		const struct expr_value *args, int nargs, struct expr_value *out)
{
	if (obj->kind == EXPR_TIME) {
		int64_t ns = obj->t.ns, local = ns / 1000000000 - (ns % 1000000000 < 0) + obj->t.off;
		time_t t = (time_t)local;
		struct tm tm;
		char buf[64];

		gmtime_r(&t, &tm);
		if (!strcmp(m, "Year")) *out = expr_int(tm.tm_year + 1900);
		else if (!strcmp(m, "Month")) *out = expr_int(tm.tm_mon + 1);
		else if (!strcmp(m, "Day")) *out = expr_int(tm.tm_mday);
		else if (!strcmp(m, "Hour")) *out = expr_int(tm.tm_hour);
		else if (!strcmp(m, "Minute")) *out = expr_int(tm.tm_min);
		else if (!strcmp(m, "Second")) *out = expr_int(tm.tm_sec);
		else if (!strcmp(m, "Nanosecond"))
			*out = expr_int(((ns % 1000000000) + 1000000000) % 1000000000);
		else if (!strcmp(m, "YearDay")) *out = expr_int(tm.tm_yday + 1);
		else if (!strcmp(m, "Weekday"))
			*out = expr_host(&expr_weekday_ops, (void *)(intptr_t)tm.tm_wday);
		else if (!strcmp(m, "Unix")) *out = expr_int(ns / 1000000000 - (ns % 1000000000 < 0));
		else if (!strcmp(m, "UnixMilli")) *out = expr_int(ns / 1000000);
		else if (!strcmp(m, "UnixNano")) *out = expr_int(ns);
		else if (!strcmp(m, "UTC")) *out = expr_time(ns, 0);
		else if (!strcmp(m, "IsZero"))
			*out = expr_bool(ns == EXPR_TIME_ZERO);
		else if (!strcmp(m, "String")) {
			format_time(ns, obj->t.off, buf, sizeof(buf));
			return expr_string(buf, out);
		} else if (!strcmp(m, "Sub")) {
			if (need_kind(ctx, m, args, nargs, EXPR_TIME))
				return -EINVAL;
			*out = expr_duration(ns - args[0].t.ns);
		} else if (!strcmp(m, "Add")) {
			if (need_kind(ctx, m, args, nargs, EXPR_DURATION))
				return -EINVAL;
			*out = expr_time(ns + args[0].dur, obj->t.off);
		} else if (!strcmp(m, "After") || !strcmp(m, "Before") || !strcmp(m, "Equal")) {
			if (need_kind(ctx, m, args, nargs, EXPR_TIME))
				return -EINVAL;
			*out = expr_bool(m[0] == 'A' ? ns > args[0].t.ns :
					 m[0] == 'B' ? ns < args[0].t.ns : ns == args[0].t.ns);
		} else
			return -ENOENT;
		return 0;
	}
	if (obj->kind == EXPR_DURATION) {
		int64_t d = obj->dur;
		char buf[64];

		if (!strcmp(m, "Hours")) *out = expr_float(d / 3600e9);
		else if (!strcmp(m, "Minutes")) *out = expr_float(d / 60e9);
		else if (!strcmp(m, "Seconds")) *out = expr_float(d / 1e9);
		else if (!strcmp(m, "Milliseconds")) *out = expr_int(d / 1000000);
		else if (!strcmp(m, "Microseconds")) *out = expr_int(d / 1000);
		else if (!strcmp(m, "Nanoseconds")) *out = expr_int(d);
		else if (!strcmp(m, "Abs")) *out = expr_duration(d < 0 ? -d : d);
		else if (!strcmp(m, "String")) {
			expr_format_duration(d, buf, sizeof(buf));
			return expr_string(buf, out);
		} else
			return -ENOENT;
		return 0;
	}
	return ctx_err(ctx, -ENOENT, "type %s has no method %s", vk(obj), m);
}

/* ---- environment ---- */

struct expr_env *expr_env_new(void)
{
	return calloc(1, sizeof(struct expr_env));
}

void expr_env_free(struct expr_env *env)
{
	if (!env)
		return;
	for (int i = 0; i < env->nvars; i++)
		free(env->vars[i].name);
	free(env->vars);
	free(env->funcs);
	free(env);
}

void expr_env_set_stash(struct expr_env *env, struct cs_stash *stash)
{
	env->stash = stash;
}

void expr_env_set_runtime(struct expr_env *env, struct expr_runtime *rt)
{
	env->rt = rt;
}

static bool valid_name(const char *s)
{
	if (!s || !*s || isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '$')
			return false;
	return true;
}

int expr_env_add_var(struct expr_env *env, const char *name, const struct expr_type *type)
{
	struct env_var *v;

	if (!env || !valid_name(name))
		return -EINVAL;
	for (int i = 0; i < env->nvars; i++)
		if (!strcmp(env->vars[i].name, name))
			return -EEXIST;
	if (vec_reserve((void **)&env->vars, &env->capvars, (size_t)env->nvars, sizeof(*v), 8))
		return -ENOMEM;
	v = env->vars;
	v[env->nvars].name = strdup(name);
	if (!v[env->nvars].name)
		return -ENOMEM;
	v[env->nvars].type = type;
	return env->nvars++;
}

int expr_env_var_count(const struct expr_env *env)
{
	return env ? env->nvars : 0;
}

const struct expr_func *env_find_func(const struct expr_env *env, const char *name)
{
	for (int i = env->nfuncs - 1; i >= 0; i--)
		if (!strcmp(env->funcs[i]->name, name))
			return env->funcs[i];
	return NULL;
}

int expr_env_add_func(struct expr_env *env, const struct expr_func *fn)
{
	if (!env || !fn || !valid_name(fn->name) || !fn->fn || fn->min_args < 0 ||
	    (fn->max_args >= 0 && fn->max_args < fn->min_args))
		return -EINVAL;
	for (int i = 0; i < env->nfuncs; i++) {
		if (!strcmp(env->funcs[i]->name, fn->name)) {
			env->funcs[i] = fn;	/* later registration overrides */
			return 0;
		}
	}
	if (vec_reserve((void **)&env->funcs, &env->capfuncs, (size_t)env->nfuncs,
			sizeof(*env->funcs), 64))
		return -ENOMEM;
	env->funcs[env->nfuncs++] = fn;
	return 0;
}

int expr_env_add_funcs(struct expr_env *env, const struct expr_func *fns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int err = expr_env_add_func(env, &fns[i]);

		if (err)
			return err;
	}
	return 0;
}

int expr_env_add_helpers(struct expr_env *env, unsigned int sets)
{
	int err = 0;

	if (!env || (sets & ~(EXPR_HELPERS_CROWDSEC | EXPR_HELPERS_HUBTEST)))
		return -EINVAL;
	if (sets & EXPR_HELPERS_CROWDSEC)
		err = expr_env_add_funcs(env, expr_crowdsec_helpers, expr_crowdsec_helpers_count);
	if (!err && (sets & EXPR_HELPERS_HUBTEST))
		err = expr_env_add_funcs(env, expr_hubtest_helpers, expr_hubtest_helpers_count);
	return err;
}
