// SPDX-License-Identifier: MIT
/*
 * The flat form of a program: the shapes nearly every hub filter and static
 * is made of, compiled after optimize() into one linear array of typed
 * operations run by a loop, instead of the tree walk's call, step check and
 * value copy per node:
 *   B := B && B | B || B | !B | S op S | S in [lits] | S matches 'const'
 *        | any(L, { S op # }) with an index (strset.c) | call(S...) -> bool | true/false
 *   S := VAR.NAME.KEY resolved by the host | 'literal' | a string variable
 *        | PURE/READONLY call(S...) | S + S + ... | O.name
 *        | B ? S : S (the whole program)
 *   O := a variable | O.name (host objects: evt.Line.Labels.type, evt.StrTime)
 * with op one of == != contains startsWith endsWith; a whole program may also be
 * a PURE/READONLY call of another kind (len(S)). A program of another
 * shape has no flat form. Everything in it is read-only (field reads, calls
 * that change nothing), so when something unusual happens at run time (a
 * value of another kind, a call failing, a regex limit, an index that cannot
 * be built) the flat run gives up and the tree walk evaluates the program
 * from the start: the same value, or the error it reports where it reports it.
 * The step limit holds: a flat program runs only when the limit is at least
 * its node count, which bounds what the tree walk would count.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "expr/ast.h"

#define FLAT_MAX_OPS 512
#define FLAT_MAX_REGS 16

enum fcode {
	F_PATH,		/* r[dst] = VAR.NAME.KEY (n) */
	F_CONST,	/* r[dst] = n->val, lent */
	F_STR,		/* r[dst] = a constant string, lent */
	F_VAR,		/* r[dst] = vars[n->slot], lent */
	F_CALL,		/* r[dst] = n->fn(r[dst] .. r[dst + nlist - 1]) */
	F_BOOL,		/* acc = r[dst], a bool */
	F_TRUE, F_FALSE,
	F_EQ, F_NE, F_CONTAINS, F_STARTS, F_ENDS,	/* acc = r[dst] op r[dst + 1] */
	F_MATCHES,	/* acc = r[dst] matches n->re */
	F_IN,		/* acc = r[dst] in n->b->val (strings) */
	F_ANY,		/* acc = any(r[dst], { r[dst + 1] n->fast_op # }) */
	F_NOT,		/* acc = !acc */
	F_JF, F_JT,	/* to `to` when acc is false / true */
	F_JMP,		/* to `to` */
	F_GET,		/* r[dst] = r[dst].name (n->b->val), a host object's member */
	F_CAT,		/* r[dst] = r[dst] + ... + r[dst + nargs - 1], strings */
};

/* What an operation reads, in the operation: one cache line, no walk to its node. */
struct fop {
	uint8_t code, dst;
	uint8_t nargs;		/* F_CALL */
	uint8_t op, cmap;	/* F_ANY: the index's operator and case mapping */
	uint16_t to;		/* F_JF, F_JT */
	int slot;		/* F_VAR, F_PATH: the variable */
	/* F_CONST: the value; F_CALL: the function; F_MATCHES: the regex; F_IN: the
	 * array; F_PATH: the host's ops; F_GET: the name (a string value) */
	const void *p;
	uintptr_t path;		/* F_PATH: the host's cookie, its key and the key's hash */
	const struct expr_value *key;
	uint64_t khash;
};

struct flat {
	uint64_t steps;		/* nodes of the program: what the tree walk counts at most */
	bool value;		/* the result is r[0] (a string), else acc */
	int nops, nregs;
	struct fop ops[];
};

struct fbuild {
	struct fop ops[FLAT_MAX_OPS];
	int nops, nregs;
	uint64_t steps;
};

static bool emit(struct fbuild *b, int code, int dst, const struct node *n)
{
	struct fop *o;

	if (b->nops == FLAT_MAX_OPS || dst >= FLAT_MAX_REGS)
		return false;
	if (dst + 2 > b->nregs)
		b->nregs = dst + 2 > FLAT_MAX_REGS ? FLAT_MAX_REGS : dst + 2;
	o = &b->ops[b->nops++];
	*o = (struct fop){ .code = (uint8_t)code, .dst = (uint8_t)dst };
	switch (code) {
	case F_PATH:
		o->slot = n->a->a->slot;
		o->p = n->path_ops;
		o->path = n->path;
		o->key = &n->b->val;
		o->khash = n->khash;
		break;
	case F_CONST:
		o->p = &n->val;
		break;
	case F_STR:	/* the string itself: no load of the node's value first */
		o->p = n->val.s;
		break;
	case F_VAR:
		o->slot = n->slot;
		break;
	case F_CALL:
		o->p = n->fn;
		o->nargs = (uint8_t)n->nlist;
		break;
	case F_GET:
		o->p = &n->b->val;
		break;
	case F_MATCHES:
		o->p = n->re;
		break;
	case F_IN:
		o->p = n->b->val.a;
		break;
	case F_ANY:
		o->op = (uint8_t)n->fast_op;
		o->cmap = (uint8_t)n->fast_cmap;
		break;
	}
	return true;
}

static uint64_t count_nodes(const struct node *n)
{
	uint64_t c;

	if (!n)
		return 0;
	c = 1 + count_nodes(n->a) + count_nodes(n->b) + count_nodes(n->c);
	for (int i = 0; i < n->nlist; i++)
		c += count_nodes(n->list[i]);
	return c;
}

static bool is_string(const struct node *n)
{
	return n->st && n->st->kind == EXPR_STRING;
}

static bool emit_s(struct fbuild *b, const struct node *n, int dst);

/* A call that changes nothing, with string (or any) parameters: r[dst] = its result. */
static bool emit_call(struct fbuild *b, const struct node *n, int dst)
{
	const struct expr_func *fn = n->fn;

	if (!(fn->flags & (EXPR_FN_PURE | EXPR_FN_READONLY)) || n->nlist > 3 ||
	    n->nlist > EXPR_MAX_ARGS)
		return false;
	for (int i = 0; i < n->nlist; i++) {
		enum expr_kind want = func_arg_kind(fn, i);

		if ((want != EXPR_STRING && want != EXPR_ANY) || !is_string(n->list[i]) ||
		    !emit_s(b, n->list[i], dst + i))
			return false;
	}
	return emit(b, F_CALL, dst, n);
}

/* obj.name with a constant name, not optional: a host object's member. */
static bool named_member(const struct node *n)
{
	return n->type == N_MEMBER && !n->optional && n->b->type == N_CONST &&
	       n->b->val.kind == EXPR_STRING;
}

/* r[dst] = a variable or a member of a member of one (evt.Line.Labels). */
static bool emit_obj(struct fbuild *b, const struct node *n, int dst)
{
	if (n->type == N_VAR)
		return emit(b, F_VAR, dst, n);
	return named_member(n) && emit_obj(b, n->a, dst) && emit(b, F_GET, dst, n);
}

/* r[dst] = a + b + ...: the operands in r[dst] ... r[dst + nitems - 1]. */
static bool emit_cat(struct fbuild *b, struct node *const *items, int nitems, int dst)
{
	for (int i = 0; i < nitems; i++)
		if (!is_string(items[i]) || !emit_s(b, items[i], dst + i))
			return false;
	if (!emit(b, F_CAT, dst, NULL))
		return false;
	b->ops[b->nops - 1].nargs = (uint8_t)nitems;
	return true;
}

static bool adds_only(const struct node *n)
{
	if (n->op == OP_AND || n->op == OP_OR || n->nlist > FLAT_MAX_REGS)
		return false;
	for (int i = 1; i < n->nlist; i++)
		if (n->ops[i] != OP_ADD)
			return false;
	return true;
}

static bool emit_s(struct fbuild *b, const struct node *n, int dst)
{
	struct node *pair[2];

	if (n->type == N_CONST)
		return n->val.kind == EXPR_STRING && emit(b, F_STR, dst, n);
	if (n->type == N_VAR)
		return is_string(n) && emit(b, F_VAR, dst, n);
	if (n->type == N_MEMBER && n->op == MEMBER_PATH && n->path_ops)
		return emit(b, F_PATH, dst, n);
	if (named_member(n))
		return is_string(n) && emit_obj(b, n, dst);
	if (n->type == N_CALL && is_string(n))
		return emit_call(b, n, dst);
	if (n->type == N_FOLD && adds_only(n))
		return emit_cat(b, n->list, n->nlist, dst);
	if (n->type == N_BINARY && n->op == OP_ADD) {
		pair[0] = n->a;
		pair[1] = n->b;
		return emit_cat(b, pair, 2, dst);
	}
	return false;
}

static bool const_strings(const struct expr_value *v)
{
	if (v->kind != EXPR_ARRAY)
		return false;
	for (uint32_t i = 0; i < v->a->len; i++)
		if (v->a->items[i].kind != EXPR_STRING)
			return false;
	return true;
}

static bool emit_b(struct fbuild *b, const struct node *n);

/* a && b && ...: each one, leaving at the first that decides. */
static bool emit_chain(struct fbuild *b, int op, struct node *const *items, int nitems)
{
	int jumps[64], nj = 0;

	if (nitems > (int)ARRAY_SIZE(jumps))
		return false;
	for (int i = 0; i < nitems; i++) {
		if (!emit_b(b, items[i]))
			return false;
		if (i + 1 < nitems) {
			jumps[nj++] = b->nops;
			if (!emit(b, op == OP_AND ? F_JF : F_JT, 0, NULL))
				return false;
		}
	}
	for (int i = 0; i < nj; i++)
		b->ops[jumps[i]].to = (uint16_t)b->nops;
	return true;
}

static bool emit_b(struct fbuild *b, const struct node *n)
{
	static const uint8_t cmp[] = { [OP_EQ] = F_EQ, [OP_NE] = F_NE, [OP_CONTAINS] = F_CONTAINS,
				       [OP_STARTS] = F_STARTS, [OP_ENDS] = F_ENDS };
	struct node *pair[2];

	switch (n->type) {
	case N_CONST:
		return n->val.kind == EXPR_BOOL && emit(b, n->val.b ? F_TRUE : F_FALSE, 0, n);
	case N_FOLD:
		return (n->op == OP_AND || n->op == OP_OR) &&
		       emit_chain(b, n->op, n->list, n->nlist);
	case N_UNARY:
		return n->op == OP_NOT && emit_b(b, n->a) && emit(b, F_NOT, 0, n);
	case N_CALL:
		return n->st && n->st->kind == EXPR_BOOL && emit_call(b, n, 0) &&
		       emit(b, F_BOOL, 0, n);
	case N_PREDICATE:
		/* the index path of predicate(): any(File('x'), { S op # }) */
		return n->op == P_ANY && n->fast_op && n->fast_x && is_string(n->fast_x) &&
		       ((n->list[0]->type == N_CONST && const_strings(&n->list[0]->val) &&
			 emit(b, F_CONST, 0, n->list[0])) ||
			(n->list[0]->type == N_CALL && emit_call(b, n->list[0], 0))) &&
		       emit_s(b, n->fast_x, 1) && emit(b, F_ANY, 0, n);
	case N_BINARY:
		break;
	default:
		return false;
	}
	switch (n->op) {
	case OP_AND:
	case OP_OR:
		pair[0] = n->a;
		pair[1] = n->b;
		return emit_chain(b, n->op, pair, 2);
	case OP_EQ: case OP_NE: case OP_CONTAINS: case OP_STARTS: case OP_ENDS:
		return is_string(n->a) && is_string(n->b) && emit_s(b, n->a, 0) &&
		       emit_s(b, n->b, 1) && emit(b, cmp[n->op], 0, n);
	case OP_MATCHES:
		return n->re && is_string(n->a) && emit_s(b, n->a, 0) && emit(b, F_MATCHES, 0, n);
	case OP_IN:
		return is_string(n->a) && n->b->type == N_CONST && const_strings(&n->b->val) &&
		       emit_s(b, n->a, 0) && emit(b, F_IN, 0, n);
	default:
		return false;
	}
}

static bool emit_b(struct fbuild *b, const struct node *n);

/*
 * The whole program B ? S : S (its condition uses the registers from 0, so a
 * condition inside an operand would overwrite the operands before it).
 */
static bool emit_cond(struct fbuild *b, const struct node *n)
{
	int jf, jmp;

	if (n->b == n->a || !n->a->st || n->a->st->kind != EXPR_BOOL || !is_string(n->b) ||
	    !is_string(n->c) || !emit_b(b, n->a))
		return false;
	jf = b->nops;
	if (!emit(b, F_JF, 0, NULL) || !emit_s(b, n->b, 0))
		return false;
	jmp = b->nops;
	if (!emit(b, F_JMP, 0, NULL))
		return false;
	b->ops[jf].to = (uint16_t)b->nops;
	if (!emit_s(b, n->c, 0))
		return false;
	b->ops[jmp].to = (uint16_t)b->nops;
	return true;
}

struct flat *flat_build(const struct node *root)
{
	struct fbuild *b;
	struct flat *f = NULL;
	bool ok;

	if (!root || !root->st || !(b = calloc(1, sizeof(*b))))
		return NULL;
	if (root->st->kind == EXPR_BOOL)
		ok = emit_b(b, root);
	else if (root->type == N_COND)
		ok = is_string(root) && emit_cond(b, root);
	else if (root->type == N_CALL && !is_string(root))
		ok = emit_call(b, root, 0);	/* len(evt.Parsed.http_args) */
	else
		ok = is_string(root) && emit_s(b, root, 0);
	if (ok && (f = malloc(sizeof(*f) + b->nops * sizeof(f->ops[0])))) {
		f->steps = count_nodes(root);
		f->value = root->st->kind != EXPR_BOOL;
		f->nops = b->nops;
		f->nregs = b->nregs;
		memcpy(f->ops, b->ops, b->nops * sizeof(f->ops[0]));
	}
	free(b);
	return f;
}

void flat_free(struct flat *f)
{
	free(f);
}

bool expr_prog_flat(const struct expr_prog *prog)
{
	return prog && prog->flat;
}

/* ---- running it ---- */

struct reg {
	struct expr_value v;
	bool owned;
};

/*
 * Values are copied member by member here: a value built whole (a compound
 * literal) and then copied is written by narrow stores and read back by one wide
 * load, which waits for them (a store-forwarding stall on every operation).
 */
static inline void val_copy(struct expr_value *d, const struct expr_value *s)
{
	d->kind = s->kind;
	d->h.ops = s->h.ops;
	d->h.obj = s->h.obj;
}

static inline void reg_set(struct reg *r, const struct expr_value *v, bool owned)
{
	val_copy(&r->v, v);
	r->owned = owned;
}

static inline void reg_str(struct reg *r, struct expr_str *s, bool owned)
{
	r->v.kind = EXPR_STRING;
	r->v.h.ops = NULL;
	r->v.s = s;
	r->owned = owned;
}

static inline void reg_drop(struct reg *r)
{
	if (r->owned)
		expr_value_release(&r->v);
	r->owned = false;
}

static int path(struct expr_vm *vm, const struct fop *o, const struct expr_value *vars,
		struct reg *r)
{
	const struct expr_value *var = &vars[o->slot];
	const struct expr_host_ops *ops = o->p;
	uint64_t ver;

	if (var->kind != EXPR_HOST || var->h.ops != ops || !var->h.obj || ops->ref ||
	    ops->path_get(var->h.obj, o->path, NULL, NULL, &ver))
		return 1;
	return vm_path_value(vm, ops, var->h.obj, o->path, ver, o->key, o->khash, &r->v,
			     &r->owned);
}

static int call(struct expr_vm *vm, const struct fop *o, const struct expr_prog *prog,
		void *user, struct reg *r)
{
	const struct expr_func *fn = o->p;
	int nargs = o->nargs;
	struct expr_value args[3], res = EXPR_NIL_VALUE;
	struct expr_ctx ctx;
	bool memo = false;
	int err;

	for (int i = 0; i < nargs; i++) {
		enum expr_kind want = func_arg_kind(fn, i);

		if (want != EXPR_ANY && r[i].v.kind != want)
			return 1;
		val_copy(&args[i], &r[i].v);
	}
	if (nargs == 1 && (fn->flags & EXPR_FN_PURE) && args[0].kind == EXPR_STRING &&
	    args[0].s->len <= EXPR_VM_MEMO_MAX_LEN) {
		struct expr_str *m = memo_peek(vm, fn, args[0].s);

		if (m) {
			reg_drop(&r[0]);
			reg_str(&r[0], m, false);
			return 0;
		}
		memo = true;
	}
	ctx.priv = fn->priv;
	ctx.user = user;
	ctx.env = prog->env;
	ctx.has_msg = false;
	err = fn->fn(&ctx, args, nargs, &res);
	if (err) {
		expr_value_release(&res);
		return 1;
	}
	if (memo && res.kind == EXPR_STRING)
		memo_put(vm, fn, args[0].s, res.s);
	for (int i = 0; i < nargs; i++)
		reg_drop(&r[i]);
	reg_set(&r[0], &res, true);
	return 0;
}

/* r[0] = r[0].name: a host object's member, as the tree's fetch() reads it. */
static int get(const struct fop *o, const struct expr_prog *prog, void *user, struct reg *r)
{
	const struct expr_value *name = o->p, *obj = &r->v;
	const struct expr_host_ops *ops = obj->kind == EXPR_HOST ? obj->h.ops : NULL;
	struct expr_value res = EXPR_NIL_VALUE;
	struct expr_ctx ctx;

	/* a nil object, one the evaluator keeps alive, no get(): the tree says */
	if (!ops || !ops->get || ops->ref || !obj->h.obj)
		return 1;
	ctx.priv = NULL;
	ctx.user = user;
	ctx.env = prog->env;
	ctx.has_msg = false;
	if (ops->get(&ctx, obj->h.obj, name->s->s, &res)) {
		expr_value_release(&res);
		return 1;
	}
	reg_drop(r);
	reg_set(r, &res, true);
	return 0;
}

/* r[0] = r[0] + ... + r[n - 1]: a new string, charged to the evaluation's bytes. */
static int cat(const struct fop *o, struct reg *r)
{
	struct expr_str *s;
	size_t len = 0;
	char *p;

	for (int i = 0; i < o->nargs; i++) {
		if (r[i].v.kind != EXPR_STRING)
			return 1;
		len += r[i].v.s->len;
	}
	if (!(s = xstr_alloc(len)))
		return 1;	/* the tree says "string too long" where it is */
	p = s->s;
	for (int i = 0; i < o->nargs; i++) {
		memcpy(p, r[i].v.s->s, r[i].v.s->len);
		p += r[i].v.s->len;
		reg_drop(&r[i]);
	}
	reg_str(&r[0], s, true);
	return 0;
}

static int any(struct expr_vm *vm, const struct fop *o, struct reg *r, bool *acc)
{
	const struct expr_value *list = &r[0].v, *x = &r[1].v;
	const struct strset *set;
	int rc;

	if (list->kind != EXPR_ARRAY)
		return 1;
	if (!list->a->len) {
		*acc = false;
		return 0;
	}
	if (x->kind != EXPR_STRING || !(set = vm_strset(vm, list, o->op, o->cmap)))
		return 1;
	rc = strset_any(set, x->s->s, x->s->len);
	if (rc < 0)
		return 1;
	*acc = rc == 1;
	return 0;
}

static bool in_strings(const struct expr_str *x, const struct expr_array *a)
{
	for (uint32_t i = 0; i < a->len; i++) {
		const struct expr_str *s = a->items[i].s;

		if (s->len == x->len && !memcmp(s->s, x->s, x->len))
			return true;
	}
	return false;
}

/* acc = a op b for two strings; 1: not strings (or a regex limit): the tree says. */
static int compare(const struct fop *o, const struct reg *r, bool *acc)
{
	const struct expr_str *a, *b;
	int rc;

	if (r[0].v.kind != EXPR_STRING)
		return 1;
	a = r[0].v.s;
	if (o->code == F_MATCHES) {
		rc = regex_search(o->p, a->s, a->len);
		if (rc < 0)
			return 1;
		*acc = rc == 1;
		return 0;
	}
	if (o->code == F_IN) {
		*acc = in_strings(a, o->p);
		return 0;
	}
	if (r[1].v.kind != EXPR_STRING)
		return 1;
	b = r[1].v.s;
	switch (o->code) {
	case F_EQ:
	case F_NE:
		*acc = (a == b || (a->len == b->len && !memcmp(a->s, b->s, a->len))) ==
		       (o->code == F_EQ);
		return 0;
	case F_CONTAINS:
		*acc = !b->len || (b->len <= a->len && memmem(a->s, a->len, b->s, b->len));
		return 0;
	case F_STARTS:
		*acc = b->len <= a->len && !memcmp(a->s, b->s, b->len);
		return 0;
	default:
		*acc = b->len <= a->len && !memcmp(a->s + a->len - b->len, b->s, b->len);
		return 0;
	}
}

static int run(const struct flat *f, struct expr_vm *vm, const struct expr_prog *prog,
	       const struct expr_value *vars, void *user, struct reg *r, bool *acc)
{
	int rc = 0;

	for (int pc = 0; !rc && pc < f->nops;) {
		const struct fop *o = &f->ops[pc++];
		struct reg *d = &r[o->dst];

		switch (o->code) {
		case F_PATH:
			rc = path(vm, o, vars, d);
			break;
		case F_CONST:
			reg_set(d, o->p, false);
			break;
		case F_STR:
			reg_str(d, (struct expr_str *)o->p, false);
			break;
		case F_VAR:
			reg_set(d, &vars[o->slot], false);
			break;
		case F_CALL:
			rc = call(vm, o, prog, user, d);
			break;
		case F_BOOL:
			if (d->v.kind != EXPR_BOOL)
				return 1;
			*acc = d->v.b;
			break;
		case F_TRUE:
		case F_FALSE:
			*acc = o->code == F_TRUE;
			break;
		case F_ANY:
			rc = any(vm, o, d, acc);
			reg_drop(&d[0]);
			reg_drop(&d[1]);
			break;
		case F_NOT:
			*acc = !*acc;
			break;
		case F_JF:
			if (!*acc)
				pc = o->to;
			break;
		case F_JT:
			if (*acc)
				pc = o->to;
			break;
		case F_JMP:
			pc = o->to;
			break;
		case F_GET:
			rc = get(o, prog, user, d);
			break;
		case F_CAT:
			rc = cat(o, d);
			break;
		default:
			rc = compare(o, d, acc);
			reg_drop(&d[0]);
			reg_drop(&d[1]);
			break;
		}
	}
	return rc;
}

int flat_eval(const struct flat *f, struct expr_vm *vm, const struct expr_prog *prog,
	      const struct expr_value *vars, void *user, struct expr_value *out)
{
	struct reg r[FLAT_MAX_REGS];
	int64_t saved_left = expr_mem_left;
	bool saved_limited = expr_mem_limited, acc = false;
	int rc;

	if (vm->max_steps < f->steps)
		return 1;	/* the tree walk counts and says where the limit is */
	for (int i = 0; i < f->nregs; i++) {
		r[i].v.kind = EXPR_NIL;
		r[i].owned = false;
	}
	expr_mem_left = (int64_t)vm->max_bytes;
	expr_mem_limited = true;
	vm_enter(vm);
	rc = run(f, vm, prog, vars, user, r, &acc);
	expr_mem_limited = saved_limited;
	expr_mem_left = saved_left;
	if (!rc && f->value) {
		*out = r[0].owned ? r[0].v : expr_value_ref(&r[0].v);
		r[0].owned = false;
	} else if (!rc) {
		/* field by field: a value built whole on the stack and copied stalls the load */
		out->kind = EXPR_BOOL;
		out->b = acc;
	}
	for (int i = 0; i < f->nregs; i++)
		reg_drop(&r[i]);
	vm_leave(vm);
	return rc;
}
