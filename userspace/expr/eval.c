// SPDX-License-Identifier: MIT
/*
 * expr evaluator: walks the checked tree. Every node returns 0 with one
 * reference in *out, or a negative errno with *out nil and a message. Recursion
 * is bounded by the tree height the parser enforced (EXPR_MAX_DEPTH).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "expr/ast.h"

/* Most temporaries are bools and numbers: no call for what holds no reference. */
static inline void release(struct expr_value *v)
{
	switch (v->kind) {
	case EXPR_STRING: case EXPR_ARRAY: case EXPR_MAP:
		expr_value_release(v);
		return;
	case EXPR_HOST:
		if (v->h.ops && v->h.ops->unref)
			expr_value_release(v);
		else
			*v = EXPR_NIL_VALUE;
		return;
	default:
		*v = EXPR_NIL_VALUE;
	}
}

#define CHAIN_NIL 1	/* internal: an optional access met nil; N_CHAIN makes it nil */

struct frame {
	const struct expr_value *elem;
	int64_t index;
	struct expr_value acc;
};

struct ev {
	const struct expr_prog *prog;
	struct expr_vm *vm;
	uint64_t steps, max_steps;
	const struct expr_value *vars;
	struct expr_value *locals;
	struct frame *frames;
	struct expr_value *memo;	/* prog->nmemo; kind EXPR_ANY = not computed yet */
	struct expr_ctx ctx;
	int errpos;
	bool has_err;
};

static int eval(struct ev *st, const struct node *n, struct expr_value *out);
static int eval_b(struct ev *st, const struct node *n, struct expr_value *out, bool *owned);

static int rt_err(struct ev *st, const struct node *n, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int rt_err(struct ev *st, const struct node *n, int code, const char *fmt, ...)
{
	va_list ap;

	if (!st->ctx.has_msg) {
		va_start(ap, fmt);
		vsnprintf(st->ctx.msg, sizeof(st->ctx.msg), fmt, ap);
		va_end(ap);
		st->ctx.has_msg = true;
		st->errpos = n ? n->pos : 0;
	} else if (!st->has_err && n) {
		st->errpos = n->pos;
	}
	st->has_err = true;
	return code;
}

void *expr_ctx_priv(const struct expr_ctx *ctx)
{
	return ctx ? ctx->priv : NULL;
}

void *expr_ctx_user(const struct expr_ctx *ctx)
{
	return ctx ? ctx->user : NULL;
}

void expr_ctx_errorf(struct expr_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (!ctx || ctx->has_msg)
		return;
	va_start(ap, fmt);
	vsnprintf(ctx->msg, sizeof(ctx->msg), fmt, ap);
	va_end(ap);
	ctx->has_msg = true;
}

int ctx_err(struct expr_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;

	if (ctx && !ctx->has_msg) {
		va_start(ap, fmt);
		vsnprintf(ctx->msg, sizeof(ctx->msg), fmt, ap);
		va_end(ap);
		ctx->has_msg = true;
	}
	return err;
}

static const char *vkind(const struct expr_value *v)
{
	if (v->kind == EXPR_HOST && v->h.ops && v->h.ops->name)
		return v->h.ops->name;
	return expr_kind_name(v->kind);
}

/* ---- collections: arrays and array-like host objects ---- */

static int coll_len(struct ev *st, const struct node *n, const struct expr_value *c, int64_t *len)
{
	if (c->kind == EXPR_ARRAY) {
		*len = c->a->len;
		return 0;
	}
	if (c->kind == EXPR_HOST && !c->h.obj && c->h.ops &&
	    (c->h.ops->flags & EXPR_HOST_ARRAYLIKE)) {
		*len = 0;	/* a nil Go slice iterates as empty */
		return 0;
	}
	if (c->kind == EXPR_HOST && c->h.ops && (c->h.ops->flags & EXPR_HOST_ARRAYLIKE) &&
	    c->h.ops->len && c->h.ops->index) {
		int err = c->h.ops->len(&st->ctx, c->h.obj, len);

		return err ? rt_err(st, n, err, "%s: cannot get length", vkind(c)) : 0;
	}
	return rt_err(st, n, -EINVAL, "cannot iterate over %s", vkind(c));
}

/* Element i (0 <= i < len) as a new reference. */
static int coll_at(struct ev *st, const struct node *n, const struct expr_value *c, int64_t i,
		   struct expr_value *out)
{
	int err;

	if (c->kind == EXPR_ARRAY) {
		*out = expr_value_ref(&c->a->items[i]);
		return 0;
	}
	err = c->h.ops->index(&st->ctx, c->h.obj, i, out);
	if (err) {
		*out = EXPR_NIL_VALUE;
		return rt_err(st, n, err, "%s: cannot get element %" PRId64, vkind(c), i);
	}
	return 0;
}

/* ---- comparisons and arithmetic ---- */

static bool is_num(const struct expr_value *v)
{
	return v->kind == EXPR_INT || v->kind == EXPR_FLOAT;
}

static double num_f(const struct expr_value *v)
{
	return v->kind == EXPR_INT ? (double)v->i : v->f;
}

/* == as expr_value_equal, the commonest case (two strings) without the call. */
static inline bool equal(const struct expr_value *a, const struct expr_value *b)
{
	if (a->kind == EXPR_STRING && b->kind == EXPR_STRING)
		return a->s == b->s || (a->s->len == b->s->len &&
					!memcmp(a->s->s, b->s->s, a->s->len));
	return expr_value_equal(a, b);
}

/* -1/0/1 in *res, -EINVAL when the kinds have no order. */
static int compare(const struct expr_value *a, const struct expr_value *b, int *res)
{
	if (a->kind == EXPR_INT && b->kind == EXPR_INT) {
		*res = (a->i > b->i) - (a->i < b->i);
		return 0;
	}
	if (is_num(a) && is_num(b)) {
		double x = num_f(a), y = num_f(b);

		*res = (x > y) - (x < y);
		return 0;
	}
	if (a->kind != b->kind)
		return -EINVAL;
	switch (a->kind) {
	case EXPR_STRING: {
		size_t l = a->s->len < b->s->len ? a->s->len : b->s->len;
		int c = memcmp(a->s->s, b->s->s, l);

		*res = c ? (c > 0 ? 1 : -1) : (a->s->len > b->s->len) - (a->s->len < b->s->len);
		return 0;
	}
	case EXPR_DURATION:
		*res = (a->dur > b->dur) - (a->dur < b->dur);
		return 0;
	case EXPR_TIME:
		*res = (a->t.ns > b->t.ns) - (a->t.ns < b->t.ns);
		return 0;
	default:
		return -EINVAL;
	}
}

static int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static int64_t wrap_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static int64_t wrap_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

static int concat_arrays(const struct expr_value *a, const struct expr_value *b,
			 struct expr_value *out)
{
	int err = expr_array_new(a->a->len + b->a->len, out);

	for (uint32_t i = 0; !err && i < a->a->len; i++)
		err = expr_array_push(out, &a->a->items[i]);
	for (uint32_t i = 0; !err && i < b->a->len; i++)
		err = expr_array_push(out, &b->a->items[i]);
	if (err)
		release(out);
	return err;
}

/* An operator and the kinds of its operands as one switch label. */
#define ARITH_CASE(op, ka, kb) ((unsigned)(op) << 16 | (unsigned)(ka) << 8 | (unsigned)(kb))

/* The arithmetic of Go's time.Time and time.Duration: 0, or -EINVAL for other operands. */
static int time_arith(int op, const struct expr_value *a, const struct expr_value *b,
		      struct expr_value *out)
{
	/* d + t is t + d, and n * d is d * n: the Time, or the Duration, comes first */
	if ((op == OP_ADD && b->kind == EXPR_TIME) || (op == OP_MUL && b->kind == EXPR_DURATION)) {
		const struct expr_value *first = b;

		b = a;
		a = first;
	}
	switch (ARITH_CASE(op, a->kind, b->kind)) {
	case ARITH_CASE(OP_ADD, EXPR_DURATION, EXPR_DURATION):
		return *out = expr_duration(wrap_add(a->dur, b->dur)), 0;
	case ARITH_CASE(OP_ADD, EXPR_TIME, EXPR_DURATION):
		return *out = expr_time(wrap_add(a->t.ns, b->dur), a->t.off), 0;
	case ARITH_CASE(OP_SUB, EXPR_TIME, EXPR_TIME):
		return *out = expr_duration(wrap_sub(a->t.ns, b->t.ns)), 0;
	case ARITH_CASE(OP_SUB, EXPR_TIME, EXPR_DURATION):
		return *out = expr_time(wrap_sub(a->t.ns, b->dur), a->t.off), 0;
	case ARITH_CASE(OP_SUB, EXPR_DURATION, EXPR_DURATION):
		return *out = expr_duration(wrap_sub(a->dur, b->dur)), 0;
	case ARITH_CASE(OP_MUL, EXPR_DURATION, EXPR_INT):
		return *out = expr_duration(wrap_mul(a->dur, b->i)), 0;
	case ARITH_CASE(OP_MUL, EXPR_DURATION, EXPR_FLOAT):
		return *out = expr_duration((int64_t)((double)a->dur * b->f)), 0;
	case ARITH_CASE(OP_DIV, EXPR_DURATION, EXPR_DURATION):
		return *out = expr_float((double)a->dur / (double)b->dur), 0;
	default:
		return -EINVAL;
	}
}

static int arith(struct ev *st, const struct node *n, int op, const struct expr_value *a,
		 const struct expr_value *b, struct expr_value *out)
{
	enum expr_kind ka = a->kind, kb = b->kind;

	if (ka == EXPR_INT && kb == EXPR_INT) {
		switch (op) {
		case OP_ADD: *out = expr_int(wrap_add(a->i, b->i)); return 0;
		case OP_SUB: *out = expr_int(wrap_sub(a->i, b->i)); return 0;
		case OP_MUL: *out = expr_int(wrap_mul(a->i, b->i)); return 0;
		case OP_MOD:
			if (!b->i)
				return rt_err(st, n, -EDOM, "integer divide by zero");
			*out = expr_int(b->i == -1 ? 0 : a->i % b->i);
			return 0;
		default:
			break;
		}
	}
	if (is_num(a) && is_num(b)) {
		double x = num_f(a), y = num_f(b);

		switch (op) {
		case OP_ADD: *out = expr_float(x + y); return 0;
		case OP_SUB: *out = expr_float(x - y); return 0;
		case OP_MUL: *out = expr_float(x * y); return 0;
		case OP_DIV: *out = expr_float(x / y); return 0;
		case OP_POW: *out = expr_float(pow(x, y)); return 0;
		case OP_MOD:
			if (ka != EXPR_INT || kb != EXPR_INT)
				goto bad;
			break;
		}
	}
	if (op == OP_ADD && ka == EXPR_STRING && kb == EXPR_STRING) {
		struct expr_str *s = xstr_alloc((size_t)a->s->len + b->s->len);

		if (!s)
			return rt_err(st, n, -ENOMEM, "string too long");
		memcpy(s->s, a->s->s, a->s->len);
		memcpy(s->s + a->s->len, b->s->s, b->s->len);
		*out = xstr_value(s);
		return 0;
	}
	if (op == OP_ADD && ka == EXPR_ARRAY && kb == EXPR_ARRAY) {
		if (concat_arrays(a, b, out))
			return rt_err(st, n, -ENOMEM, "out of memory");
		return 0;
	}
	if (!time_arith(op, a, b, out))
		return 0;
bad:
	return rt_err(st, n, -EINVAL, "invalid operation: %s %s %s",
		      vkind(a), op == OP_ADD ? "+" : op == OP_SUB ? "-" : op == OP_MUL ? "*" :
		      op == OP_DIV ? "/" : op == OP_MOD ? "%" : "**", vkind(b));
}

static int in_op(struct ev *st, const struct node *n, const struct expr_value *x,
		 const struct expr_value *c, bool *res)
{
	int64_t len;
	int err;

	*res = false;
	if (expr_value_is_nil(c))
		return 0;
	switch (c->kind) {
	case EXPR_ARRAY:
		for (uint32_t i = 0; i < c->a->len; i++) {
			if (equal(x, &c->a->items[i])) {
				*res = true;
				break;
			}
		}
		return 0;
	case EXPR_MAP:
		if (x->kind == EXPR_NIL)
			return 0;
		if (x->kind != EXPR_STRING)
			return rt_err(st, n, -EINVAL, "cannot use %s as map key", vkind(x));
		*res = xmap_find(c->m, x->s->s, x->s->len) >= 0;
		return 0;
	case EXPR_HOST:
		if (!c->h.ops)
			break;
		if ((c->h.ops->flags & EXPR_HOST_MAPLIKE) && c->h.ops->has) {
			if (x->kind == EXPR_NIL)
				return 0;
			if (x->kind != EXPR_STRING)
				return rt_err(st, n, -EINVAL, "cannot use %s as map key", vkind(x));
			err = c->h.ops->has(&st->ctx, c->h.obj, x->s->s, res);
			return err ? rt_err(st, n, err, "%s: lookup failed", vkind(c)) : 0;
		}
		if (c->h.ops->flags & EXPR_HOST_ARRAYLIKE) {
			err = coll_len(st, n, c, &len);
			for (int64_t i = 0; !err && i < len && !*res; i++) {
				struct expr_value e;

				err = coll_at(st, n, c, i, &e);
				if (!err)
					*res = expr_value_equal(x, &e);
				release(&e);
			}
			return err;
		}
		break;
	default:
		break;
	}
	return rt_err(st, n, -EINVAL, "invalid operation: %s in %s", vkind(x), vkind(c));
}

static int string_op(struct ev *st, const struct node *n, const struct expr_value *a,
		     const struct expr_value *b, bool *res)
{
	const char *names[] = { [OP_MATCHES] = "matches", [OP_CONTAINS] = "contains",
				[OP_STARTS] = "startsWith", [OP_ENDS] = "endsWith" };
	const char *s, *t;
	size_t sl, tl;

	if (a->kind != EXPR_STRING || b->kind != EXPR_STRING)
		return rt_err(st, n, -EINVAL, "invalid operation: %s %s %s", vkind(a),
			      names[n->op], vkind(b));
	s = a->s->s;
	sl = a->s->len;
	t = b->s->s;
	tl = b->s->len;
	switch (n->op) {
	case OP_CONTAINS:
		*res = tl == 0 || (tl <= sl && memmem(s, sl, t, tl));
		return 0;
	case OP_STARTS:
		*res = tl <= sl && !memcmp(s, t, tl);
		return 0;
	case OP_ENDS:
		*res = tl <= sl && !memcmp(s + sl - tl, t, tl);
		return 0;
	case OP_MATCHES: {
		struct expr_regex *re = n->re;
		char msg[128];
		int rc;

		if (!re) {
			re = regex_cache_get(st->vm, t, msg, sizeof(msg));
			if (!re)
				return rt_err(st, n, -EINVAL, "invalid regex: %s", msg);
		}
		rc = regex_search(re, s, sl);
		if (!n->re)
			regex_put(re);
		if (rc < 0)
			return rt_err(st, n, rc, "regex match failed (%s)",
				      rc == -E2BIG ? "match limit" : "error");
		*res = rc == 1;
		return 0;
	}
	}
	return -EINVAL;
}

static int range_op(struct ev *st, const struct node *n, const struct expr_value *a,
		    const struct expr_value *b, struct expr_value *out)
{
	int64_t cnt;
	int err;

	if (a->kind != EXPR_INT || b->kind != EXPR_INT)
		return rt_err(st, n, -EINVAL, "invalid operation: %s .. %s", vkind(a), vkind(b));
	cnt = b->i >= a->i ? (int64_t)((uint64_t)b->i - (uint64_t)a->i) + 1 : 0;
	if (cnt < 0 || (uint64_t)cnt > EXPR_MAX_ALLOC / sizeof(struct expr_value))
		return rt_err(st, n, -E2BIG, "range too large");
	err = expr_array_new(cnt, out);
	for (int64_t i = 0; !err && i < cnt; i++)
		err = expr_array_push_take(out, expr_int(a->i + i));
	if (err) {
		release(out);
		return rt_err(st, n, err, "range: %s", strerror(-err));
	}
	return 0;
}

static int binary(struct ev *st, const struct node *n, struct expr_value *out)
{
	struct expr_value a = EXPR_NIL_VALUE, b = EXPR_NIL_VALUE;
	bool res, a_owned, b_owned = false;
	int err, c;

	/* operands are only read: lent ones cost no reference counting */
	err = eval_b(st, n->a, &a, &a_owned);
	if (err)
		return err;
	switch (n->op) {
	case OP_AND:
	case OP_OR:
		if (a.kind != EXPR_BOOL) {
			err = rt_err(st, n, -EINVAL, "invalid operation: %s on %s",
				     n->op == OP_AND ? "and" : "or", vkind(&a));
			goto out;
		}
		if (a.b == (n->op == OP_OR)) {	/* short circuit */
			*out = a;
			return 0;
		}
		err = eval(st, n->b, &b);
		if (err)
			goto out;
		if (b.kind != EXPR_BOOL) {
			err = rt_err(st, n, -EINVAL, "invalid operation: %s on %s",
				     n->op == OP_AND ? "and" : "or", vkind(&b));
			goto out;
		}
		*out = b;
		return 0;
	case OP_COALESCE:
		if (!expr_value_is_nil(&a)) {
			*out = a_owned ? a : expr_value_ref(&a);
			return 0;
		}
		if (a_owned)
			release(&a);	/* a NULL host object may hold a reference */
		return eval(st, n->b, out);
	}
	if ((err = eval_b(st, n->b, &b, &b_owned)))
		goto out;
	switch (n->op) {
	case OP_EQ:
		*out = expr_bool(equal(&a, &b));
		break;
	case OP_NE:
		*out = expr_bool(!equal(&a, &b));
		break;
	case OP_LT: case OP_GT: case OP_LE: case OP_GE:
		if (compare(&a, &b, &c)) {
			err = rt_err(st, n, -EINVAL, "invalid operation: %s %s %s", vkind(&a),
				     n->op == OP_LT ? "<" : n->op == OP_GT ? ">" :
				     n->op == OP_LE ? "<=" : ">=", vkind(&b));
			break;
		}
		*out = expr_bool(n->op == OP_LT ? c < 0 : n->op == OP_GT ? c > 0 :
				 n->op == OP_LE ? c <= 0 : c >= 0);
		break;
	case OP_IN:
		err = in_op(st, n, &a, &b, &res);
		if (!err)
			*out = expr_bool(res);
		break;
	case OP_MATCHES: case OP_CONTAINS: case OP_STARTS: case OP_ENDS:
		err = string_op(st, n, &a, &b, &res);
		if (!err)
			*out = expr_bool(res);
		break;
	case OP_RANGE:
		err = range_op(st, n, &a, &b, out);
		break;
	default:
		err = arith(st, n, n->op, &a, &b, out);
		break;
	}
out:
	if (a_owned)
		release(&a);
	if (b_owned)
		release(&b);
	return err;
}

/* A flattened left-assoc chain: and/or short-circuit, arithmetic accumulates. */
static int fold(struct ev *st, const struct node *n, struct expr_value *out)
{
	struct expr_value acc, v, r;
	bool logic = n->op == OP_AND || n->op == OP_OR;
	int err = eval(st, n->list[0], &acc);

	for (int i = 1; !err && i < n->nlist; i++) {
		if (logic) {
			if (acc.kind != EXPR_BOOL) {
				err = rt_err(st, n, -EINVAL, "invalid operation: %s on %s",
					     n->op == OP_AND ? "and" : "or", vkind(&acc));
				break;
			}
			if (acc.b == (n->op == OP_OR))	/* short circuit */
				break;
			err = eval(st, n->list[i], &acc);
			continue;
		}
		err = eval(st, n->list[i], &v);
		if (err)
			break;
		err = arith(st, n, n->ops[i], &acc, &v, &r);
		release(&v);
		if (err)
			break;
		release(&acc);
		acc = r;
	}
	if (!err && logic && acc.kind != EXPR_BOOL)
		err = rt_err(st, n, -EINVAL, "invalid operation: %s on %s",
			     n->op == OP_AND ? "and" : "or", vkind(&acc));
	if (err) {
		release(&acc);
		return err;
	}
	*out = acc;
	return 0;
}

static int unary(struct ev *st, const struct node *n, struct expr_value *out)
{
	struct expr_value a;
	int err = eval(st, n->a, &a);

	if (err)
		return err;
	switch (n->op) {
	case OP_NOT:
		if (a.kind == EXPR_BOOL) {
			*out = expr_bool(!a.b);
			return 0;
		}
		break;
	case OP_NEG:
		if (a.kind == EXPR_INT) {
			*out = expr_int(wrap_sub(0, a.i));
			return 0;
		}
		if (a.kind == EXPR_FLOAT) {
			*out = expr_float(-a.f);
			return 0;
		}
		if (a.kind == EXPR_DURATION) {
			*out = expr_duration(wrap_sub(0, a.dur));
			return 0;
		}
		break;
	case OP_PLUS:
		if (is_num(&a) || a.kind == EXPR_DURATION) {
			*out = a;
			return 0;
		}
		break;
	}
	err = rt_err(st, n, -EINVAL, "invalid operation: %s %s",
		     n->op == OP_NOT ? "not" : n->op == OP_NEG ? "-" : "+", vkind(&a));
	release(&a);
	return err;
}

/* ---- member access ---- */

static int norm_index(int64_t i, int64_t len, int64_t *out)
{
	if (i < 0)
		i += len;
	if (i < 0 || i >= len)
		return -ERANGE;
	*out = i;
	return 0;
}

static int to_index(const struct expr_value *k, int64_t *i)
{
	if (k->kind == EXPR_INT) {
		*i = k->i;
		return 0;
	}
	if (k->kind == EXPR_FLOAT && k->f == floor(k->f) && fabs(k->f) < 9e18) {
		*i = (int64_t)k->f;
		return 0;
	}
	return -EINVAL;
}

/*
 * obj[key] / obj.key. `strict` is false for get(), which turns missing
 * elements into nil instead of errors.
 */
static int fetch(struct ev *st, const struct node *n, const struct expr_value *obj,
		 const struct expr_value *key, bool strict, struct expr_value *out, bool *owned)
{
	int64_t i, len;
	int err, idx;

	*out = EXPR_NIL_VALUE;
	if (owned)
		*owned = true;
	switch (obj->kind) {
	case EXPR_MAP:
		if (key->kind != EXPR_STRING) {
			if (!strict)
				return 0;
			return rt_err(st, n, -EINVAL, "cannot use %s as map key", vkind(key));
		}
		idx = xmap_find(obj->m, key->s->s, key->s->len);
		if (idx >= 0)
			*out = expr_value_ref(&obj->m->vals[idx]);
		return 0;
	case EXPR_ARRAY:
	case EXPR_STRING:
		if (to_index(key, &i)) {
			if (!strict)
				return 0;
			return rt_err(st, n, -EINVAL, "cannot fetch %s from %s",
				      key->kind == EXPR_STRING ? key->s->s : vkind(key), vkind(obj));
		}
		len = obj->kind == EXPR_ARRAY ? obj->a->len : obj->s->len;
		if (norm_index(i, len, &i)) {
			if (!strict)
				return 0;
			return rt_err(st, n, -ERANGE, "index out of range: %" PRId64
				      " (array length is %" PRId64 ")", i, len);
		}
		if (obj->kind == EXPR_ARRAY)
			*out = expr_value_ref(&obj->a->items[i]);
		else
			*out = expr_int((unsigned char)obj->s->s[i]);
		return 0;
	case EXPR_HOST:
		if (!obj->h.ops)
			break;
		if (!obj->h.obj) {	/* nil pointer, slice or map */
			if (!strict || (obj->h.ops->flags & EXPR_HOST_MAPLIKE))
				return 0;	/* reading a nil map: zero value */
			if ((obj->h.ops->flags & EXPR_HOST_ARRAYLIKE) && !to_index(key, &i))
				return rt_err(st, n, -ERANGE, "index out of range: %" PRId64
					      " (array length is 0)", i);
			return rt_err(st, n, -EINVAL, "cannot fetch %s from nil %s",
				      key->kind == EXPR_STRING ? key->s->s : vkind(key), vkind(obj));
		}
		if (key->kind == EXPR_STRING && obj->h.ops->get) {
			uint64_t ver = obj->h.ops->version && st->vm ?
					       obj->h.ops->version(obj->h.obj) : 0;

			uint64_t kh = 0;

			if (ver) {
				const struct expr_value *cached;

				kh = n && n->type == N_MEMBER && key == &n->b->val ?
					     n->khash : cs_hash(key->s->s, key->s->len);
				cached = field_peek(st->vm, ver, key, kh);
				if (cached && owned) {	/* the vm keeps it: lent */
					*out = *cached;
					*owned = false;
					return 0;
				}
				if (cached) {
					*out = expr_value_ref(cached);
					return 0;
				}
			}
			err = obj->h.ops->get(&st->ctx, obj->h.obj, key->s->s, out);
			if (!err && ver)
				field_put(st->vm, ver, key, kh, 0, out);
			if (!err)
				return 0;
			*out = EXPR_NIL_VALUE;
			if (!strict)
				return 0;
			if (err == -ENOENT)
				return rt_err(st, n, err, "type %s has no field %s", vkind(obj),
					      key->s->s);
			return rt_err(st, n, err, "cannot fetch %s from %s", key->s->s,
				      vkind(obj));
		}
		if ((obj->h.ops->flags & EXPR_HOST_ARRAYLIKE) && !to_index(key, &i)) {
			err = coll_len(st, n, obj, &len);
			if (err)
				return err;
			if (norm_index(i, len, &i)) {
				if (!strict)
					return 0;
				return rt_err(st, n, -ERANGE, "index out of range: %" PRId64
					      " (array length is %" PRId64 ")", i, len);
			}
			return coll_at(st, n, obj, i, out);
		}
		break;
	case EXPR_NIL:
		if (!strict)
			return 0;
		return rt_err(st, n, -EINVAL, "cannot fetch %s from nil",
			      key->kind == EXPR_STRING ? key->s->s : vkind(key));
	default:
		break;
	}
	if (!strict)
		return 0;
	return rt_err(st, n, -EINVAL, "cannot fetch %s from %s",
		      key->kind == EXPR_STRING ? key->s->s : vkind(key), vkind(obj));
}

static void zero_value(enum expr_kind kind, struct expr_value *out)
{
	switch (kind) {
	case EXPR_STRING:
		expr_string("", out);	/* on ENOMEM it stays nil: acceptable */
		break;
	case EXPR_INT:
		*out = expr_int(0);
		break;
	case EXPR_FLOAT:
		*out = expr_float(0);
		break;
	case EXPR_BOOL:
		*out = expr_bool(false);
		break;
	default:
		break;
	}
}

/* *owned: see eval_b. */
static int member(struct ev *st, const struct node *n, struct expr_value *out, bool *owned)
{
	struct expr_value obj, key;
	bool obj_owned;
	int err = eval_b(st, n->a, &obj, &obj_owned);

	*owned = true;
	if (err)
		return err;
	if (expr_value_is_nil(&obj) && n->optional) {
		if (obj_owned)
			release(&obj);
		return CHAIN_NIL;
	}
	/* constant keys (evt.Meta.x) are borrowed: no refcount traffic */
	if (n->b->type == N_CONST) {
		key = EXPR_NIL_VALUE;
		err = fetch(st, n, &obj, &n->b->val, true, out, owned);
	} else {
		err = eval(st, n->b, &key);
		if (!err)
			err = fetch(st, n, &obj, &key, true, out, owned);
	}
	/*
	 * Go maps are typed: a missing key of a map[string]string is "", not
	 * nil. Native maps carry no element type, the static type does.
	 */
	if (!err && out->kind == EXPR_NIL && obj.kind == EXPR_MAP) {
		*owned = true;
		zero_value(n->st->kind, out);
	}
	release(&key);
	if (obj_owned)
		release(&obj);
	return err;
}

/*
 * VAR.NAME.KEY (evt.Meta.http_path; optimize.c marks it): the variable's map
 * and the map's key without walking the two inner nodes. What is not a
 * versioned host map goes the general way, which says what is wrong.
 */
/*
 * The path resolved when compiling (n->path, the host's path_key): its bytes
 * straight from the host, kept by the vm as fetch() keeps a host map's values.
 * 1: not readable that way, take the general one.
 */
static int resolved_path(struct ev *st, const struct node *n, void *obj, struct expr_value *out,
			 bool *owned)
{
	uint64_t ver;
	int err;

	if (n->path_ops->path_get(obj, n->path, NULL, NULL, &ver))
		return 1;
	st->steps += 2;	/* the two nodes the general way evaluates */
	if (st->steps > st->max_steps) {
		*owned = true;
		*out = EXPR_NIL_VALUE;
		return rt_err(st, n->a, -E2BIG, "evaluation step limit reached");
	}
	err = vm_path_value(st->vm, n->path_ops, obj, n->path, st->vm ? ver : 0, &n->b->val,
			    n->khash, out, owned);
	if (err)
		st->steps -= 2;	/* ENOMEM: the general way says it */
	return err;
}

static int field_path(struct ev *st, const struct node *n, struct expr_value *out, bool *owned)
{
	const struct node *mid = n->a;
	const struct expr_value *var = &st->vars[mid->a->slot];
	const struct expr_host_ops *ops = var->kind == EXPR_HOST ? var->h.ops : NULL;
	bool had_msg = st->ctx.has_msg;
	struct expr_value obj;
	int err;

	if (!ops || !ops->get || ops->ref || !var->h.obj)
		return member(st, n, out, owned);
	if (ops == n->path_ops) {
		err = resolved_path(st, n, var->h.obj, out, owned);
		if (err != 1)
			return err;
	}
	if (ops->get(&st->ctx, var->h.obj, mid->b->val.s->s, &obj)) {
		st->ctx.has_msg = had_msg;	/* the general way fails again and says it */
		return member(st, n, out, owned);
	}
	if (obj.kind != EXPR_HOST || !obj.h.ops || !obj.h.ops->version || !obj.h.obj ||
	    obj.h.ops->ref) {
		release(&obj);
		return member(st, n, out, owned);
	}
	st->steps += 2;	/* the two nodes the general way evaluates */
	if (st->steps > st->max_steps) {
		*owned = true;
		*out = EXPR_NIL_VALUE;
		return rt_err(st, mid, -E2BIG, "evaluation step limit reached");
	}
	err = fetch(st, n, &obj, &n->b->val, true, out, owned);
	release(&obj);
	return err;
}

static void clamp_slice(int64_t len, const int64_t *from, const int64_t *to, int64_t *a,
			int64_t *b)
{
	*a = from ? *from : 0;
	*b = to ? *to : len;
	if (*a < 0)
		*a += len;
	if (*b < 0)
		*b += len;
	if (*a < 0)
		*a = 0;
	if (*b > len)
		*b = len;
	if (*a > *b)
		*a = *b;
}

static int slice(struct ev *st, const struct node *n, struct expr_value *out)
{
	struct expr_value obj, from = EXPR_NIL_VALUE, to = EXPR_NIL_VALUE;
	int64_t len, a, b, fi = 0, ti = 0;
	int err = eval(st, n->a, &obj);

	if (err)
		return err;
	if (n->b && (err = eval(st, n->b, &from)))
		goto out;
	if (n->c && (err = eval(st, n->c, &to)))
		goto out;
	if ((n->b && to_index(&from, &fi)) || (n->c && to_index(&to, &ti))) {
		err = rt_err(st, n, -EINVAL, "slice bounds must be integers");
		goto out;
	}
	switch (obj.kind) {
	case EXPR_STRING:
		clamp_slice(obj.s->len, n->b ? &fi : NULL, n->c ? &ti : NULL, &a, &b);
		err = expr_stringn(obj.s->s + a, b - a, out);
		break;
	case EXPR_ARRAY:
	case EXPR_HOST:
		err = coll_len(st, n, &obj, &len);
		if (err)
			break;
		clamp_slice(len, n->b ? &fi : NULL, n->c ? &ti : NULL, &a, &b);
		err = expr_array_new(b - a, out);
		for (int64_t i = a; !err && i < b; i++) {
			struct expr_value e;

			err = coll_at(st, n, &obj, i, &e);
			if (!err)
				err = expr_array_push_take(out, e);
		}
		if (err) {
			release(out);
			if (!st->has_err)
				err = rt_err(st, n, err, "slice: %s", strerror(-err));
		}
		break;
	default:
		err = rt_err(st, n, -EINVAL, "cannot slice %s", vkind(&obj));
	}
out:
	release(&from);
	release(&to);
	release(&obj);
	return err;
}

/* ---- calls ---- */

/*
 * Functions declared to take an array or a map get a native one: an
 * array-like or map-like host object is copied (elements are references).
 * Replaces *v, releasing the host value.
 */
static int materialize(struct ev *st, const struct node *n, enum expr_kind want,
		       struct expr_value *v)
{
	struct expr_value res, keys = EXPR_NIL_VALUE;
	int64_t len = 0;
	int err;

	if (want == EXPR_ARRAY) {
		err = coll_len(st, n, v, &len);
		if (!err)
			err = expr_array_new(len, &res);
		for (int64_t i = 0; !err && i < len; i++) {
			struct expr_value e;

			err = coll_at(st, n, v, i, &e);
			if (!err)
				err = expr_array_push_take(&res, e);
			if (err)
				release(&res);
		}
	} else {
		err = expr_map_new(&res);
		if (!err && v->h.obj) {
			err = v->h.ops->keys ? v->h.ops->keys(&st->ctx, v->h.obj, &keys) : -EINVAL;
			if (!err && keys.kind != EXPR_ARRAY)
				err = -EINVAL;
			for (size_t i = 0; !err && i < expr_array_len(&keys); i++) {
				const struct expr_value *k = expr_array_at(&keys, i);
				struct expr_value e;

				if (k->kind != EXPR_STRING) {
					err = -EINVAL;
					break;
				}
				err = fetch(st, n, v, k, true, &e, NULL);
				if (!err)
					err = expr_map_set_take(&res, k->s->s, e);
			}
			release(&keys);
			if (err)
				release(&res);
		}
	}
	if (err)
		return st->has_err ? err : rt_err(st, n, err, "cannot convert %s to %s", vkind(v),
						  expr_kind_name(want));
	release(v);
	*v = res;
	return 0;
}

/* Checks (and for float parameters converts) an argument against its kind. */
static int check_arg(struct ev *st, const struct node *n, const char *fname, int i,
		     enum expr_kind want, struct expr_value *v)
{
	if (want == EXPR_ANY || v->kind == want)
		return 0;
	if (want == EXPR_FLOAT && v->kind == EXPR_INT) {
		*v = expr_float((double)v->i);
		return 0;
	}
	if (v->kind == EXPR_HOST && v->h.ops &&
	    ((want == EXPR_MAP && (v->h.ops->flags & EXPR_HOST_MAPLIKE)) ||
	     (want == EXPR_ARRAY && (v->h.ops->flags & EXPR_HOST_ARRAYLIKE))))
		return materialize(st, n, want, v);
	return rt_err(st, n, -EINVAL, "%s: argument %d: expected %s, got %s", fname, i + 1,
		      expr_kind_name(want), vkind(v));
}

static int eval_args(struct ev *st, const struct node *n, int first, struct expr_value *args)
{
	for (int i = first; i < n->nlist; i++) {
		int err = eval(st, n->list[i], &args[i - first]);

		if (err) {
			for (int j = first; j < i; j++)
				release(&args[j - first]);
			return err;
		}
	}
	return 0;
}

static void release_args(struct expr_value *args, int n)
{
	for (int i = 0; i < n; i++)
		release(&args[i]);
}

static int finish_call(struct ev *st, const struct node *n, const char *name, int err,
		       struct expr_value *out)
{
	if (!err)
		return 0;
	release(out);
	if (st->ctx.has_msg && !st->has_err) {
		/* the callee explained itself through expr_ctx_errorf() */
		st->has_err = true;
		st->errpos = n->pos;
		return err;
	}
	return rt_err(st, n, err, "%s: %s", name, strerror(-err));
}

/* A PURE function of one small string: its results are kept by the vm (vm.c). */
static bool memo_able(const struct ev *st, const struct expr_func *fn,
		      const struct expr_value *args, int nargs)
{
	return nargs == 1 && (fn->flags & EXPR_FN_PURE) && args[0].kind == EXPR_STRING &&
	       args[0].s->len <= EXPR_VM_MEMO_MAX_LEN && st->vm;
}

/*
 * Arguments of a call, lent where eval_b can (bit i of *lent: args[i] is
 * borrowed, not to be released). Calls with more arguments than bits own them.
 */
static int eval_call_args(struct ev *st, const struct node *n, struct expr_value *args,
			  uint64_t *lent)
{
	bool owned;

	*lent = 0;
	if (n->nlist > 64)
		return eval_args(st, n, 0, args);
	for (int i = 0; i < n->nlist; i++) {
		int err = eval_b(st, n->list[i], &args[i], &owned);

		if (err) {
			for (int j = 0; j < i; j++)
				if (!(*lent >> j & 1))
					release(&args[j]);
			return err;
		}
		if (!owned)
			*lent |= 1ull << i;
	}
	return 0;
}

/* *owned: see eval_b (a memoised result is lent). */
static int call(struct ev *st, const struct node *n, struct expr_value *out, bool *owned)
{
	struct expr_value stack_args[EXPR_MAX_ARGS], *args = stack_args;
	const struct expr_func *fn = n->fn;
	void *saved_priv = st->ctx.priv;
	uint64_t lent = 0;
	int err;

	*out = EXPR_NIL_VALUE;
	*owned = true;
	if (n->nlist == 1 && (fn->flags & EXPR_FN_PURE)) {
		/*
		 * Upper(evt.Meta.http_path) in a dozen filters: a string the memo
		 * already mapped needs no argument checks (memo_put only keeps what
		 * a call that passed them returned).
		 */
		bool arg_owned;

		err = eval_b(st, n->list[0], &args[0], &arg_owned);
		if (err)
			return err;
		if (memo_able(st, fn, args, 1)) {
			struct expr_str *r = memo_peek(st->vm, fn, args[0].s);

			if (r) {
				if (arg_owned)
					release(&args[0]);
				*out = xstr_value(r);
				*owned = false;
				return 0;
			}
		}
		lent = arg_owned ? 0 : 1;
	} else {
		if (n->nlist > EXPR_MAX_ARGS) {
			args = calloc(n->nlist, sizeof(*args));
			if (!args)
				return rt_err(st, n, -ENOMEM, "out of memory");
		}
		err = eval_call_args(st, n, args, &lent);
		if (err)
			goto out_free;
	}
	for (int i = 0; !err && i < n->nlist; i++) {
		/* a host object made native is replaced and released: own it first */
		if ((lent >> i & 1) && args[i].kind == EXPR_HOST) {
			args[i] = expr_value_ref(&args[i]);
			lent &= ~(1ull << i);
		}
		err = check_arg(st, n, fn->name, i, func_arg_kind(fn, i), &args[i]);
	}
	if (!err) {
		st->ctx.priv = fn->priv;
		err = fn->fn(&st->ctx, args, n->nlist, out);
		st->ctx.priv = saved_priv;
		err = finish_call(st, n, fn->name, err, out);
	}
	if (!err && out->kind == EXPR_STRING && memo_able(st, fn, args, n->nlist))
		memo_put(st->vm, fn, args[0].s, out->s);
	for (int i = 0; i < n->nlist; i++)
		if (!(lent >> i & 1))
			release(&args[i]);
out_free:
	if (args != stack_args)
		free(args);
	return err;
}

static int method(struct ev *st, const struct node *n, struct expr_value *out)
{
	struct expr_value stack_args[EXPR_MAX_ARGS], *args = stack_args, obj;
	const char *name = n->val.s->s;
	int err;

	*out = EXPR_NIL_VALUE;
	err = eval(st, n->a, &obj);
	if (err)
		return err;
	if (expr_value_is_nil(&obj) && n->optional) {
		release(&obj);
		return CHAIN_NIL;
	}
	if (obj.kind == EXPR_NIL)
		return rt_err(st, n, -EINVAL, "cannot call method %s on nil", name);
	if (n->nlist > EXPR_MAX_ARGS) {
		args = calloc(n->nlist, sizeof(*args));
		if (!args) {
			release(&obj);
			return rt_err(st, n, -ENOMEM, "out of memory");
		}
	}
	err = eval_args(st, n, 0, args);
	if (err)
		goto out;
	if (obj.kind == EXPR_HOST) {
		if (!obj.h.ops || !obj.h.ops->call)
			err = rt_err(st, n, -ENOENT, "type %s has no method %s", vkind(&obj), name);
		else
			err = obj.h.ops->call(&st->ctx, obj.h.obj, name, args, n->nlist, out);
	} else {
		err = native_call(&st->ctx, &obj, name, args, n->nlist, out);
	}
	if (err == -ENOENT && !st->ctx.has_msg)
		err = rt_err(st, n, err, "type %s has no method %s", vkind(&obj), name);
	err = finish_call(st, n, name, err, out);
	release_args(args, n->nlist);
out:
	if (args != stack_args)
		free(args);
	release(&obj);
	return err;
}

/* ---- predicates (closures) ---- */

static int run_closure(struct ev *st, const struct node *cl, const struct expr_value *elem,
		       int64_t index, struct expr_value *out)
{
	struct frame *f = &st->frames[cl->slot];
	const struct expr_value *saved_elem = f->elem;
	int64_t saved_index = f->index;
	int err;

	f->elem = elem;
	f->index = index;
	err = eval(st, cl->a, out);
	f->elem = saved_elem;
	f->index = saved_index;
	return err;
}

static int closure_bool(struct ev *st, const struct node *n, const struct node *cl,
			const struct expr_value *elem, int64_t index, bool *res)
{
	struct expr_value v;
	int err = run_closure(st, cl, elem, index, &v);

	if (err)
		return err;
	if (v.kind != EXPR_BOOL) {
		err = rt_err(st, n, -EINVAL, "predicate should return boolean, got %s", vkind(&v));
		release(&v);
		return err;
	}
	*res = v.b;
	return 0;
}

static int sum_add(struct ev *st, const struct node *n, struct expr_value *acc,
		   const struct expr_value *v)
{
	struct expr_value r;
	int err;

	if (!is_num(v))
		return rt_err(st, n, -EINVAL, "sum: invalid element type %s", vkind(v));
	err = arith(st, n, OP_ADD, acc, v, &r);
	if (!err)
		*acc = r;
	return err;
}

struct sort_item {
	struct expr_value key;
	struct expr_value val;
	size_t idx;
};

static int sort_cmp(const void *x, const void *y, void *arg)
{
	const struct sort_item *a = x, *b = y;
	int c;

	if (compare(&a->key, &b->key, &c)) {
		*(int *)arg = -EINVAL;
		c = 0;
	}
	/* stable: fall back to the original position */
	return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

static int sort_items(struct sort_item *items, size_t n, bool desc)
{
	int err = 0;

	qsort_r(items, n, sizeof(*items), sort_cmp, &err);
	if (desc) {
		for (size_t i = 0; i < n / 2; i++) {
			struct sort_item t = items[i];

			items[i] = items[n - 1 - i];
			items[n - 1 - i] = t;
		}
	}
	return err;
}


/* Sorts an array value in place by its own elements (sort() builtin). */
int expr_sort_values(struct expr_value *arr, bool desc)
{
	struct expr_array *a = arr->a;
	struct sort_item *items;
	int err;

	if (a->len < 2)
		return 0;
	items = calloc(a->len, sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (uint32_t i = 0; i < a->len; i++) {
		items[i].key = a->items[i];
		items[i].idx = i;
	}
	err = sort_items(items, a->len, desc);
	if (!err)
		for (uint32_t i = 0; i < a->len; i++)
			a->items[i] = items[i].key;
	free(items);
	return err;
}

static int predicate(struct ev *st, const struct node *n, struct expr_value *out)
{
	const struct node *cl = n->nlist > 1 && n->list[1]->type == N_CLOSURE ? n->list[1] : NULL;
	struct expr_value coll, e = EXPR_NIL_VALUE, v = EXPR_NIL_VALUE, acc = EXPR_NIL_VALUE;
	struct sort_item *items = NULL;
	int64_t len = 0, count = 0, i, start = 0;
	bool b = false, reverse;
	int err;

	*out = EXPR_NIL_VALUE;
	err = eval(st, n->list[0], &coll);
	if (err)
		return err;
	err = coll_len(st, n, &coll, &len);
	if (err)
		goto out;
	if (n->fast_op && coll.kind == EXPR_ARRAY && len > 0) {
		const struct strset *set = vm_strset(st->vm, &coll, n->fast_op, n->fast_cmap);

		if (set) {
			bool v_owned;

			err = eval_b(st, n->fast_x, &v, &v_owned);
			if (err)
				goto out;
			if (v.kind == EXPR_STRING &&
			    (err = strset_any(set, v.s->s, v.s->len)) >= 0) {
				*out = expr_bool(err == 1);
				err = 0;
				if (v_owned)
					release(&v);
				goto out;
			}
			err = 0;
			/* nil == #, a number...: the general path says what it means */
			if (v_owned)
				release(&v);
		}
	}

	switch (n->op) {
	case P_ALL: case P_ANY: case P_NONE: case P_ONE: case P_COUNT:
		for (i = 0; i < len; i++) {
			err = coll_at(st, n, &coll, i, &e);
			if (err)
				goto out;
			if (cl) {
				err = closure_bool(st, n, cl, &e, i, &b);
			} else if (e.kind == EXPR_BOOL) {
				b = e.b;
			} else {
				err = rt_err(st, n, -EINVAL, "count: element is %s, not bool",
					     vkind(&e));
			}
			release(&e);
			if (err)
				goto out;
			count += b;
			if ((n->op == P_ALL && !b) || (n->op == P_ANY && b) ||
			    (n->op == P_NONE && b) || (n->op == P_ONE && count > 1))
				break;
		}
		switch (n->op) {
		case P_ALL: *out = expr_bool(i == len); break;
		case P_ANY: *out = expr_bool(count > 0); break;
		case P_NONE: *out = expr_bool(count == 0); break;
		case P_ONE: *out = expr_bool(count == 1); break;
		default: *out = expr_int(count); break;
		}
		break;
	case P_FILTER: case P_MAP:
		err = expr_array_new(n->op == P_MAP ? len : 0, out);
		for (i = 0; !err && i < len; i++) {
			err = coll_at(st, n, &coll, i, &e);
			if (err)
				break;
			if (n->op == P_MAP) {
				err = run_closure(st, cl, &e, i, &v);
				if (!err)
					err = expr_array_push_take(out, v);
				release(&e);
				continue;
			}
			err = closure_bool(st, n, cl, &e, i, &b);
			if (!err && b)
				err = expr_array_push_take(out, e);
			else
				release(&e);
		}
		break;
	case P_SUM:
		acc = expr_int(0);
		for (i = 0; !err && i < len; i++) {
			err = coll_at(st, n, &coll, i, &e);
			if (err)
				break;
			if (cl) {
				err = run_closure(st, cl, &e, i, &v);
				if (!err)
					err = sum_add(st, n, &acc, &v);
				release(&v);
			} else {
				err = sum_add(st, n, &acc, &e);
			}
			release(&e);
		}
		if (!err)
			*out = acc;
		break;
	case P_FIND: case P_FIND_INDEX: case P_FIND_LAST: case P_FIND_LAST_INDEX:
		reverse = n->op == P_FIND_LAST || n->op == P_FIND_LAST_INDEX;
		*out = (n->op == P_FIND_INDEX || n->op == P_FIND_LAST_INDEX) ? expr_int(-1) :
									      EXPR_NIL_VALUE;
		for (int64_t k = 0; k < len; k++) {
			i = reverse ? len - 1 - k : k;
			err = coll_at(st, n, &coll, i, &e);
			if (err)
				break;
			err = closure_bool(st, n, cl, &e, i, &b);
			if (!err && b) {
				if (n->op == P_FIND || n->op == P_FIND_LAST)
					*out = e;
				else {
					*out = expr_int(i);
					release(&e);
				}
				break;
			}
			release(&e);
			if (err)
				break;
		}
		break;
	case P_GROUP_BY:
		err = expr_map_new(out);
		for (i = 0; !err && i < len; i++) {
			struct expr_value *slot;
			char *key;
			int idx;

			err = coll_at(st, n, &coll, i, &e);
			if (err)
				break;
			err = run_closure(st, cl, &e, i, &v);
			if (err) {
				release(&e);
				break;
			}
			key = expr_value_format(&v);
			release(&v);
			if (!key) {
				release(&e);
				err = -ENOMEM;
				break;
			}
			idx = xmap_find(out->m, key, strlen(key));
			if (idx < 0) {
				err = expr_array_new(1, &v);
				if (!err)
					err = expr_map_set_take(out, key, v);
				idx = xmap_find(out->m, key, strlen(key));
			}
			free(key);
			if (err || idx < 0) {
				release(&e);
				err = err ? err : -ENOMEM;
				break;
			}
			slot = &out->m->vals[idx];
			err = expr_array_push_take(slot, e);
		}
		break;
	case P_SORT_BY: {
		bool desc = false;

		if (n->nlist > 2) {
			err = eval(st, n->list[2], &v);
			if (err)
				break;
			if (v.kind != EXPR_STRING ||
			    (strcmp(v.s->s, "asc") && strcmp(v.s->s, "desc"))) {
				err = rt_err(st, n, -EINVAL, "sortBy: unknown order, use asc or desc");
				release(&v);
				break;
			}
			desc = !strcmp(v.s->s, "desc");
			release(&v);
		}
		items = calloc(len ? len : 1, sizeof(*items));
		if (!items) {
			err = -ENOMEM;
			break;
		}
		for (i = 0; !err && i < len; i++) {
			err = coll_at(st, n, &coll, i, &items[i].val);
			if (!err)
				err = run_closure(st, cl, &items[i].val, i, &items[i].key);
			items[i].idx = i;
		}
		if (!err && sort_items(items, len, desc))
			err = rt_err(st, n, -EINVAL, "sortBy: keys are not comparable");
		if (!err)
			err = expr_array_new(len, out);
		for (i = 0; i < len; i++) {
			if (!err)
				err = expr_array_push(out, &items[i].val);
			release(&items[i].val);
			release(&items[i].key);
		}
		free(items);
		break;
	}
	case P_REDUCE: {
		struct frame *f = &st->frames[cl->slot];
		struct expr_value saved_acc = f->acc;

		if (n->nlist > 2) {
			err = eval(st, n->list[2], &acc);
		} else if (len == 0) {
			err = rt_err(st, n, -EINVAL, "reduce of empty array with no initial value");
		} else {
			err = coll_at(st, n, &coll, 0, &acc);
			start = 1;
		}
		for (i = start; !err && i < len; i++) {
			err = coll_at(st, n, &coll, i, &e);
			if (err)
				break;
			f->acc = acc;
			err = run_closure(st, cl, &e, i, &v);
			release(&e);
			release(&acc);
			acc = v;
			v = EXPR_NIL_VALUE;
		}
		f->acc = saved_acc;
		if (!err)
			*out = acc;
		else
			release(&acc);
		break;
	}
	}
out:
	if (err) {
		release(out);
		if (!st->has_err)
			rt_err(st, n, err, "%s", strerror(-err));
	}
	release(&coll);
	return err;
}

/* ---- dispatcher ---- */

static int eval_node(struct ev *st, const struct node *n, struct expr_value *out);

static int eval(struct ev *st, const struct node *n, struct expr_value *out)
{
	struct expr_value *m;
	int err;

	*out = EXPR_NIL_VALUE;
	if (++st->steps > st->max_steps)
		return rt_err(st, n, -E2BIG, "evaluation step limit reached");
	if (!n->memo)
		return eval_node(st, n, out);
	m = &st->memo[n->memo - 1];
	if (m->kind != EXPR_ANY) {
		*out = expr_value_ref(m);
		return 0;
	}
	err = eval_node(st, n, out);
	if (!err)
		*m = expr_value_ref(out);
	return err;
}

/*
 * eval() that may lend instead of give: with *owned false, *out is borrowed
 * (a constant, a variable, a memo slot of this evaluation, a value of the
 * vm's caches, which keep what they evict until the outermost evaluation
 * ends) and must not be released. Same steps, same limits as eval().
 */
static int eval_b(struct ev *st, const struct node *n, struct expr_value *out, bool *owned)
{
	*owned = false;
	if (n->memo && st->memo[n->memo - 1].kind != EXPR_ANY) {	/* computed: lent */
		if (++st->steps > st->max_steps) {
			*out = EXPR_NIL_VALUE;
			return rt_err(st, n, -E2BIG, "evaluation step limit reached");
		}
		*out = st->memo[n->memo - 1];
		return 0;
	}
	if (n->memo || (n->type != N_CONST && n->type != N_VAR && n->type != N_MEMBER &&
			n->type != N_CALL)) {
		*owned = true;
		return eval(st, n, out);
	}
	*out = EXPR_NIL_VALUE;
	if (++st->steps > st->max_steps)
		return rt_err(st, n, -E2BIG, "evaluation step limit reached");
	switch (n->type) {
	case N_CONST:
		*out = n->val;
		return 0;
	case N_VAR:
		*out = st->vars[n->slot];
		return 0;
	case N_MEMBER:
		if (n->op == MEMBER_PATH)
			return field_path(st, n, out, owned);
		return member(st, n, out, owned);
	default:
		return call(st, n, out, owned);
	}
}

static int eval_node(struct ev *st, const struct node *n, struct expr_value *out)
{
	struct expr_value v;
	bool owned;
	int err;

	switch (n->type) {
	case N_CONST:
		*out = expr_value_ref(&n->val);
		return 0;
	case N_VAR:
		*out = expr_value_ref(&st->vars[n->slot]);
		return 0;
	case N_LOCAL:
		*out = expr_value_ref(&st->locals[n->slot]);
		return 0;
	case N_POINTER: {
		const struct frame *f = &st->frames[n->slot];

		if (n->op == 1)
			*out = expr_int(f->index);
		else if (n->op == 2)
			*out = expr_value_ref(&f->acc);
		else if (f->elem)
			*out = expr_value_ref(f->elem);
		return 0;
	}
	case N_UNARY:
		return unary(st, n, out);
	case N_BINARY:
		return binary(st, n, out);
	case N_MEMBER:
		err = n->op == MEMBER_PATH ? field_path(st, n, out, &owned) :
					     member(st, n, out, &owned);
		if (!err && !owned)
			*out = expr_value_ref(out);
		return err;
	case N_CHAIN:
		err = eval(st, n->a, out);
		if (err == CHAIN_NIL) {
			*out = EXPR_NIL_VALUE;
			return 0;
		}
		return err;
	case N_SLICE:
		return slice(st, n, out);
	case N_CALL:
		err = call(st, n, out, &owned);
		if (!err && !owned)
			*out = expr_value_ref(out);
		return err;
	case N_METHOD:
		return method(st, n, out);
	case N_PREDICATE:
		return predicate(st, n, out);
	case N_CLOSURE:
		return rt_err(st, n, -EINVAL, "closure used outside of a builtin");
	case N_COND:
		err = eval(st, n->a, &v);
		if (err)
			return err;
		if (v.kind != EXPR_BOOL) {
			err = rt_err(st, n, -EINVAL, "non-bool value (%s) used as condition",
				     vkind(&v));
			release(&v);
			return err;
		}
		if (n->b == n->a)	/* a ?: b */
			return v.b ? (*out = v, 0) : eval(st, n->c, out);
		return eval(st, v.b ? n->b : n->c, out);
	case N_ARRAY:
		err = expr_array_new(n->nlist, out);
		for (int i = 0; !err && i < n->nlist; i++) {
			err = eval(st, n->list[i], &v);
			if (!err)
				err = expr_array_push_take(out, v);
		}
		if (err) {
			release(out);
			return st->has_err ? err : rt_err(st, n, err, "out of memory");
		}
		return 0;
	case N_MAP:
		err = expr_map_new(out);
		for (int i = 0; !err && i + 1 < n->nlist; i += 2) {
			struct expr_value k;

			err = eval(st, n->list[i], &k);
			if (err)
				break;
			if (k.kind != EXPR_STRING) {
				release(&k);
				err = rt_err(st, n->list[i], -EINVAL, "map key must be a string");
				break;
			}
			err = eval(st, n->list[i + 1], &v);
			if (!err)
				err = expr_map_set_keyn_take(out, k.s->s, k.s->len, v);
			release(&k);
		}
		if (err) {
			release(out);
			return st->has_err ? err : rt_err(st, n, err, "out of memory");
		}
		return 0;
	case N_LET:
		err = eval(st, n->a, &v);
		if (err)
			return err;
		release(&st->locals[n->slot]);
		st->locals[n->slot] = v;
		return eval(st, n->b, out);
	case N_FOLD:
		return fold(st, n, out);
	case N_SEQ:
		for (int i = 0; i < n->nlist; i++) {
			release(out);
			err = eval(st, n->list[i], out);
			if (err)
				return err;
		}
		return 0;
	}
	return rt_err(st, n, -EINVAL, "internal error: bad node");
}

static void fill_error(const struct expr_prog *prog, struct ev *st, int code,
		       struct expr_error *err)
{
	int line = 1, col = 1;

	if (!err)
		return;
	for (int i = 0; i < st->errpos && prog->src[i]; i++) {
		if (prog->src[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	err->line = line;
	err->column = col;
	err->code = code;
	/* message, then the position the way expr prints it: "(1:5)" */
	snprintf(err->msg, sizeof(err->msg), "%.200s (%d:%d)",
		 st->ctx.has_msg ? st->ctx.msg : strerror(-code), line, col);
}

/* An error before evaluation starts (no position in the source): returns code. */
static int setup_error(int code, struct expr_error *err)
{
	if (err) {
		err->line = err->column = 0;
		err->code = code;
		snprintf(err->msg, sizeof(err->msg), "%s",
			 code == -ENOMEM ? "out of memory" : strerror(-code));
	}
	return code;
}

int expr_vm_eval(struct expr_vm *vm, const struct expr_prog *prog, const struct expr_value *vars,
		 void *user, struct expr_value *out, struct expr_error *err)
{
	/* let variables then memo slots: one block, on the stack when small */
	struct expr_value vals_stack[16], *vals = vals_stack;
	struct frame frames_stack[8], *frames = frames_stack;
	struct ev st;
	int64_t saved_left = expr_mem_left;
	bool saved_limited = expr_mem_limited;
	size_t nvals;
	int rc;

	*out = EXPR_NIL_VALUE;
	if (err) {	/* not the whole message buffer: this runs for every filter */
		err->line = err->column = err->code = 0;
		err->msg[0] = '\0';
	}
	if (!prog || !vm)
		return setup_error(prog ? -ENOMEM : -EINVAL, err);
	if (prog->flat && !flat_eval(prog->flat, vm, prog, vars, user, out))
		return 0;
	/* field by field: a designated initialiser would clear ctx.msg every time */
	st.prog = prog;
	st.vm = vm;
	st.steps = 0;
	st.max_steps = vm->max_steps;
	st.vars = vars;
	st.ctx.priv = NULL;
	st.ctx.has_msg = false;
	st.ctx.msg[0] = '\0';
	st.errpos = 0;
	st.has_err = false;
	nvals = (size_t)prog->nlocals + prog->nmemo;
	if (nvals > ARRAY_SIZE(vals_stack) && !(vals = calloc(nvals, sizeof(*vals))))
		return setup_error(-ENOMEM, err);
	if (prog->nlevels > 8 && !(frames = calloc(prog->nlevels, sizeof(*frames)))) {
		if (vals != vals_stack)
			free(vals);
		return setup_error(-ENOMEM, err);
	}
	for (int i = 0; i < prog->nlocals; i++)
		vals[i] = EXPR_NIL_VALUE;
	for (int i = 0; i < prog->nmemo; i++)
		vals[prog->nlocals + i].kind = EXPR_ANY;	/* the kind says it all: no memset */
	for (int i = 0; i < prog->nlevels; i++)
		frames[i] = (struct frame){ .acc = EXPR_NIL_VALUE };
	st.locals = vals;
	st.memo = vals + prog->nlocals;
	st.frames = frames;
	st.ctx.user = user;
	st.ctx.env = prog->env;

	/* nested evaluations (a host function calling expr_eval) get their own budget */
	expr_mem_left = (int64_t)vm->max_bytes;
	expr_mem_limited = true;
	vm_enter(vm);
	rc = eval(&st, prog->root, out);
	expr_mem_limited = saved_limited;
	expr_mem_left = saved_left;
	if (rc == CHAIN_NIL) {	/* cannot escape an N_CHAIN, but be safe */
		rc = 0;
		*out = EXPR_NIL_VALUE;
	}
	if (rc) {
		release(out);
		fill_error(prog, &st, rc, err);
	}
	for (size_t i = 0; i < nvals; i++)
		if (vals[i].kind != EXPR_ANY)
			release(&vals[i]);
	vm_leave(vm);
	if (vals != vals_stack)
		free(vals);
	if (frames != frames_stack)
		free(frames);
	return rc;
}

int expr_eval(const struct expr_prog *prog, const struct expr_value *vars, void *user,
	      struct expr_value *out, struct expr_error *err)
{
	struct expr_vm *vm = vm_current();

	if (!vm) {
		*out = EXPR_NIL_VALUE;
		return setup_error(-ENOMEM, err);
	}
	return expr_vm_eval(vm, prog, vars, user, out, err);
}

int expr_eval_bool(const struct expr_prog *prog, const struct expr_value *vars, void *user,
		   bool *out, struct expr_error *err)
{
	struct expr_value v;
	int rc = expr_eval(prog, vars, user, &v, err);

	*out = false;
	if (rc)
		return rc;
	if (v.kind != EXPR_BOOL) {
		if (err) {
			err->code = -EINVAL;
			err->line = err->column = 0;
			snprintf(err->msg, sizeof(err->msg), "expected bool, got %s",
				 expr_kind_name(v.kind));
		}
		release(&v);
		return -EINVAL;
	}
	*out = v.b;
	return 0;
}


int expr_fetch_lenient(struct expr_ctx *ctx, const struct expr_value *obj,
		       const struct expr_value *key, struct expr_value *out)
{
	struct ev st = { 0 };
	int err;

	st.ctx = *ctx;
	err = fetch(&st, NULL, obj, key, false, out, NULL);
	return err;
}
