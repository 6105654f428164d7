// SPDX-License-Identifier: MIT
/*
 * expr optimiser: one pass over a checked tree, after parsing.
 *  - A call of a PURE function on constants is evaluated here: the hub writes
 *    constants as Upper('/x'), and a `matches` whose pattern becomes constant
 *    gets its regex compiled once instead of looked up at every evaluation.
 *  - Inside closures, the largest subtrees that read no # and no let variable
 *    get a memo slot: evaluated once per evaluation instead of once per
 *    element (any(File(f), { Upper(evt.Meta.x) contains Upper(#) }) maps the
 *    event's field once, not once per line of the file).
 * A program that calls anything which may change state (SetInStash, a host
 * function, evt.SetMeta...) gets no memo slot at all: its reads could change
 * between two elements.
 * Last, layout() copies the nodes into one block in the order an evaluation
 * visits them: the filters of 50 scenarios run on every line, and a tree of
 * separately allocated nodes made each of them a string of cache misses.
 */
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "expr/ast.h"

#define FOLD_MAX_BYTES (1u << 20)	/* a folded constant stays small */
#define DEP_LOCAL (1ull << 63)
#define MEMO_VARIANT (-1)
#define MEMO_INVARIANT (-2)

struct opt {
	struct expr_prog *prog;
	bool effects;	/* some call may change state */
};

static void fold_call(struct opt *o, struct node *n)
{
	const struct expr_func *fn = n->fn;
	struct expr_value args[EXPR_MAX_ARGS], out = EXPR_NIL_VALUE;
	struct expr_ctx ctx = { .priv = fn->priv, .env = o->prog->env };
	int64_t saved_left = expr_mem_left;
	bool saved_limited = expr_mem_limited;
	int err;

	if (!(fn->flags & EXPR_FN_PURE) || n->nlist > EXPR_MAX_ARGS)
		return;
	for (int i = 0; i < n->nlist; i++) {
		enum expr_kind want = func_arg_kind(fn, i);

		if (n->list[i]->type != N_CONST)
			return;
		args[i] = n->list[i]->val;	/* borrowed */
		/* conversions and their errors stay with the evaluator */
		if (want != EXPR_ANY && args[i].kind != want)
			return;
	}
	expr_mem_limited = true;
	expr_mem_left = FOLD_MAX_BYTES;
	err = fn->fn(&ctx, args, n->nlist, &out);
	expr_mem_limited = saved_limited;
	expr_mem_left = saved_left;
	if (err || out.kind == EXPR_HOST) {
		/* a failing call fails at run time, with the run-time message */
		expr_value_release(&out);
		return;
	}
	n->type = N_CONST;
	n->val = out;
}

static void compile_pattern(struct node *n)
{
	char msg[128];

	/* an invalid pattern stays a run-time error, as before folding */
	if (n->type == N_BINARY && n->op == OP_MATCHES && !n->re && n->b->type == N_CONST &&
	    n->b->val.kind == EXPR_STRING && expr_regex_compile(n->b->val.s->s, &n->re, msg,
								sizeof(msg)))
		n->re = NULL;
}

/*
 * Folds bottom-up and returns the closure levels the subtree reads # of
 * (bit L for level L, DEP_LOCAL for let variables).
 */
static uint64_t fold(struct opt *o, struct node *n)
{
	uint64_t d = 0;

	if (!n)
		return 0;
	d |= fold(o, n->a) | fold(o, n->b) | fold(o, n->c);
	for (int i = 0; i < n->nlist; i++)
		d |= fold(o, n->list[i]);
	switch (n->type) {
	case N_POINTER:
		d |= n->slot < 63 ? 1ull << n->slot : DEP_LOCAL;
		break;
	case N_LOCAL:
	case N_LET:
		d |= DEP_LOCAL;
		break;
	case N_CLOSURE:
		if (n->slot < 63)
			d &= ~(1ull << n->slot);
		break;
	case N_CALL:
		if (!(n->fn->flags & (EXPR_FN_PURE | EXPR_FN_READONLY)))
			o->effects = true;
		else if (!d)
			fold_call(o, n);
		break;
	case N_METHOD:
		if (!strncmp(n->val.s->s, "Set", 3))	/* evt.SetMeta(), evt.SetParsed() */
			o->effects = true;
		break;
	case N_BINARY:
		compile_pattern(n);
		break;
	default:
		break;
	}
	n->memo = d ? MEMO_VARIANT : MEMO_INVARIANT;	/* until memo() decides */
	return d;
}

static bool worth_a_slot(const struct node *n)
{
	switch (n->type) {
	case N_CONST: case N_VAR: case N_LOCAL: case N_POINTER: case N_CLOSURE:
		return false;
	default:
		return true;
	}
}

/* Reads no # and no let variable (a slot from cse() says so too). */
static bool invariant(const struct node *n)
{
	return n->memo == MEMO_INVARIANT || n->memo > 0;
}

/* # of closure level `level`, bare or through Upper/Lower: the case mapping, or -1. */
static int elem_cmap(const struct node *n, int level)
{
	const char *name;

	if (n->type == N_POINTER)
		return n->op == 0 && n->slot == level ? CMAP_NONE : -1;
	if (n->type != N_CALL || n->nlist != 1 || !(n->fn->flags & EXPR_FN_PURE) ||
	    elem_cmap(n->list[0], level) != CMAP_NONE)
		return -1;
	name = n->fn->name;
	if (!strcmp(name, "Upper") || !strcmp(name, "upper"))
		return CMAP_UPPER;
	if (!strcmp(name, "Lower") || !strcmp(name, "lower"))
		return CMAP_LOWER;
	return -1;
}

/*
 * any(list, { x OP # }) where x does not depend on #: one lookup in an index
 * of the list (strset.c) instead of one comparison per element. Decided before
 * memo() so that x, still marked invariant, gets its slot.
 */
static void fast_any(struct opt *o, struct node *n)
{
	const struct node *cl = n->nlist == 2 ? n->list[1] : NULL;
	struct node *body = cl && cl->type == N_CLOSURE ? cl->a : NULL;
	int cmap;

	if (o->effects || n->op != P_ANY || !body || body->type != N_BINARY)
		return;
	if (body->op != OP_EQ && body->op != OP_CONTAINS && body->op != OP_STARTS &&
	    body->op != OP_ENDS && body->op != OP_MATCHES)
		return;
	cmap = elem_cmap(body->b, cl->slot);
	if (cmap >= 0 && invariant(body->a)) {
		n->fast_x = body->a;
	} else if (body->op == OP_EQ && invariant(body->b) &&
		   (cmap = elem_cmap(body->a, cl->slot)) >= 0) {
		n->fast_x = body->b;
	} else {
		return;
	}
	n->fast_op = body->op;
	n->fast_cmap = cmap;
}

static void memo(struct opt *o, struct node *n, bool in_closure)
{
	bool invariant = n->memo == MEMO_INVARIANT;

	if (n->memo >= 0)
		return;	/* shared (a ?: b): already decided */
	if (n->type == N_PREDICATE)
		fast_any(o, n);
	n->memo = 0;
	if (in_closure && invariant && worth_a_slot(n) && !o->effects) {
		n->memo = ++o->prog->nmemo;
		return;
	}
	in_closure |= n->type == N_CLOSURE;
	if (n->a)
		memo(o, n->a, in_closure);
	if (n->b)
		memo(o, n->b, in_closure);
	if (n->c)
		memo(o, n->c, in_closure);
	for (int i = 0; i < n->nlist; i++)
		memo(o, n->list[i], in_closure);
}

/*
 * The same pure computation written twice in one program
 * (`Upper(PathUnescape(evt.Meta.http_path)) contains 'a' or
 * Upper(PathUnescape(evt.Meta.http_path)) contains 'b'`): the copies share one
 * memo slot, evaluated once per evaluation. Only calls of PURE functions and
 * field paths over constants and variables qualify, in programs without
 * effects (nothing they read can change during an evaluation).
 */
#define CSE_MAX 64	/* candidates per program: the comparison is quadratic */

static bool cse_able(const struct node *n)
{
	switch (n->type) {
	case N_CONST:
	case N_VAR:
		return true;
	case N_MEMBER:
		return cse_able(n->a) && cse_able(n->b);
	case N_CALL:
		if (!(n->fn->flags & EXPR_FN_PURE))
			return false;
		for (int i = 0; i < n->nlist; i++)
			if (!cse_able(n->list[i]))
				return false;
		return true;
	default:
		return false;
	}
}

bool same_tree(const struct node *x, const struct node *y)
{
	if (x == y)
		return true;
	if (x->type != y->type || x->nlist != y->nlist || x->optional != y->optional)
		return false;
	switch (x->type) {
	case N_CONST:
		return x->val.kind == y->val.kind && expr_value_equal(&x->val, &y->val);
	case N_VAR:
		return x->slot == y->slot;
	case N_MEMBER:
		return same_tree(x->a, y->a) && same_tree(x->b, y->b);
	case N_CALL:
		if (x->fn != y->fn)
			return false;
		for (int i = 0; i < x->nlist; i++)
			if (!same_tree(x->list[i], y->list[i]))
				return false;
		return true;
	default:
		return false;
	}
}

static void cse_collect(struct node *n, struct node **c, int *nc)
{
	if (!n)
		return;
	/* a field path of two steps or a call: less is cheaper read again than kept */
	if (*nc < CSE_MAX && n->memo == MEMO_INVARIANT &&
	    ((n->type == N_CALL && n->nlist > 0) ||
	     (n->type == N_MEMBER && n->a->type == N_MEMBER)) && cse_able(n))
		c[(*nc)++] = n;
	cse_collect(n->a, c, nc);
	cse_collect(n->b, c, nc);
	cse_collect(n->c, c, nc);
	for (int i = 0; i < n->nlist; i++)
		cse_collect(n->list[i], c, nc);
}

static void cse(struct opt *o)
{
	struct node *c[CSE_MAX];
	int nc = 0;

	if (o->effects)
		return;
	cse_collect(o->prog->root, c, &nc);
	for (int i = 0; i < nc; i++) {
		int slot = 0;

		if (c[i]->memo > 0)
			continue;	/* already a copy of an earlier one */
		for (int j = i + 1; j < nc; j++) {
			if (c[j]->memo > 0 || c[j] == c[i] || !same_tree(c[i], c[j]))
				continue;
			if (!slot)
				slot = ++o->prog->nmemo;
			c[j]->memo = slot;
		}
		if (slot)
			c[i]->memo = slot;
	}
}

#define LAYOUT_SEEN ((struct node *)1)

/* Nodes and list entries an evaluation can reach (a folded call's arguments are not). */
static void layout_count(struct node *n, int *nodes, int *entries)
{
	if (!n || n->moved)
		return;
	n->moved = LAYOUT_SEEN;	/* a ?: b shares a */
	++*nodes;
	if (n->type == N_CONST)
		return;
	*entries += n->nlist;
	layout_count(n->a, nodes, entries);
	layout_count(n->b, nodes, entries);
	layout_count(n->c, nodes, entries);
	for (int i = 0; i < n->nlist; i++)
		layout_count(n->list[i], nodes, entries);
}

struct layout {
	struct node *block;
	struct node **lists;
	int nnodes, nentries;
};

/* Copies n and what it reaches, pre-order (n, then a, b, c, the list): its new place. */
static struct node *layout_place(struct layout *l, struct node *n)
{
	struct node *m;

	if (!n)
		return NULL;
	if (n->moved != LAYOUT_SEEN)
		return n->moved;
	m = &l->block[l->nnodes++];
	*m = *n;
	n->moved = m;
	m->moved = NULL;
	if (n->type == N_CONST) {
		m->a = m->b = m->c = NULL;
		m->list = NULL;
		m->nlist = 0;
		m->fast_x = NULL;
		return m;
	}
	if (n->nlist) {
		m->list = &l->lists[l->nentries];
		l->nentries += n->nlist;
	}
	m->a = layout_place(l, n->a);
	m->b = layout_place(l, n->b);
	m->c = layout_place(l, n->c);
	for (int i = 0; i < n->nlist; i++)
		m->list[i] = layout_place(l, n->list[i]);
	m->fast_x = layout_place(l, n->fast_x);
	return m;
}

/*
 * The reachable nodes into one block (their values, regexes and operator
 * lists move with them), the others freed. Without memory it changes nothing:
 * the tree works as it is.
 */
static void layout(struct expr_prog *prog)
{
	struct layout l = { 0 };
	struct node **nodes;
	int nnodes = 0, nentries = 0, k = 0;

	for (int i = 0; i < prog->nnodes; i++)
		prog->nodes[i]->moved = NULL;
	layout_count(prog->root, &nnodes, &nentries);
	layout_count(prog->guard_rest, &nnodes, &nentries);
	l.block = calloc(nnodes, sizeof(*l.block));
	l.lists = nentries ? calloc(nentries, sizeof(*l.lists)) : NULL;
	nodes = calloc(nnodes, sizeof(*nodes));
	if (!l.block || (nentries && !l.lists) || !nodes) {
		free(l.block);
		free(l.lists);
		free(nodes);
		return;
	}
	prog->root = layout_place(&l, prog->root);
	prog->guard_rest = layout_place(&l, prog->guard_rest);
	for (int i = 0; i < prog->nnodes; i++) {
		struct node *n = prog->nodes[i];

		if (!n->moved) {	/* unreachable: what it owns goes with it */
			expr_value_release(&n->val);
			expr_regex_free(n->re);
			free(n->ops);
		}
		free(n->list);
		free(n);
	}
	for (int i = 0; i < nnodes; i++)
		nodes[k++] = &l.block[i];
	free(prog->nodes);
	prog->nodes = nodes;
	prog->nnodes = prog->capnodes = nnodes;
	prog->block = l.block;
	prog->lists = l.lists;
}

static bool const_key(const struct node *n)
{
	return n->b && n->b->type == N_CONST && n->b->val.kind == EXPR_STRING;
}

/* VAR.NAME.KEY, plain (no ?., no memo slot inside): the evaluator's one-step read. */
static void mark_path(struct node *n)
{
	const struct node *mid = n->a;

	if (n->type == N_MEMBER && !n->optional && const_key(n) && mid &&
	    mid->type == N_MEMBER && !mid->optional && !mid->memo && const_key(mid) &&
	    mid->a->type == N_VAR && !mid->a->memo) {
		const struct expr_host_ops *ops = mid->a->st->kind == EXPR_HOST ?
							  mid->a->st->host : NULL;

		n->op = MEMBER_PATH;
		if (ops && ops->path_key && ops->path_get)
			n->path = ops->path_key(mid->b->val.s->s, n->b->val.s->s);
		n->path_ops = n->path ? ops : NULL;
	}
}

/* n is `VAR.NAME` or `X.NAME` read plainly (no ?., no [expr]): NAME, else NULL. */
static const char *member_name(const struct node *n)
{
	if (n->type != N_MEMBER || n->optional || n->b->type != N_CONST ||
	    n->b->val.kind != EXPR_STRING)
		return NULL;
	return n->b->val.s->s;
}

/* The leaf test expr_prog_guard() describes in *g, or NULL (g->rest is not set). */
static const struct node *guard_test(const struct node *root, struct expr_guard *g)
{
	const struct node *n = root, *key, *field;
	const struct expr_value *c;

	/* down the left side of and-chains: that conjunct is evaluated first */
	while (n && ((n->type == N_FOLD && n->op == OP_AND && n->nlist > 0) ||
		     (n->type == N_BINARY && n->op == OP_AND)))
		n = n->type == N_FOLD ? n->list[0] : n->a;
	if (!n || n->type != N_BINARY || (n->op != OP_EQ && n->op != OP_IN) ||
	    n->b->type != N_CONST)
		return NULL;
	key = n->a;
	field = key->type == N_MEMBER ? key->a : NULL;
	if (!field || !member_name(key) || !member_name(field) || field->a->type != N_VAR)
		return NULL;
	c = &n->b->val;
	if (n->op == OP_EQ) {
		if (c->kind != EXPR_STRING)
			return NULL;
		*g = (struct expr_guard){ .lits = c, .nlits = 1 };
	} else {
		if (c->kind != EXPR_ARRAY)
			return NULL;
		for (uint32_t i = 0; i < c->a->len; i++)
			if (c->a->items[i].kind != EXPR_STRING)
				return NULL;
		*g = (struct expr_guard){ .lits = c->a->items, .nlits = c->a->len };
	}
	g->var = field->a->slot;
	g->field = member_name(field);
	g->key = member_name(key);
	return n;
}

int expr_prog_guard(const struct expr_prog *prog, struct expr_guard *g)
{
	const struct node *r;

	if (!prog || !guard_test(prog->root, g))
		return 0;
	g->rest = prog->after_guard ? prog->after_guard : prog;
	r = g->rest->root;
	g->rest_true = r->type == N_CONST && r->val.kind == EXPR_BOOL && r->val.b;
	return 1;
}

/* n is VAR.FIELD.KEY, or a call of a function mapping "" to "" on it: that path's last node. */
static const struct node *empty_on_empty(const struct node *n)
{
	static const char *const keep_empty[] = { "Upper", "Lower", "upper", "lower",
						  "PathUnescape", "QueryUnescape" };

	while (n->type == N_CALL && n->nlist == 1 && (n->fn->flags & EXPR_FN_PURE)) {
		size_t i = 0;

		while (i < sizeof(keep_empty) / sizeof(keep_empty[0]) &&
		       strcmp(n->fn->name, keep_empty[i]))
			i++;
		if (i == sizeof(keep_empty) / sizeof(keep_empty[0]))
			return NULL;
		n = n->list[0];
	}
	if (!member_name(n) || !member_name(n->a) || n->a->a->type != N_VAR)
		return NULL;
	return n;
}

static bool nonempty_string(const struct expr_value *v)
{
	return v->kind == EXPR_STRING && v->s->len > 0;
}

/*
 * The path p such that n is false, without error, whenever p reads "": `X op
 * 'lit'` (contains, startsWith, endsWith, ==, or in a list) with a non-empty
 * literal and X empty_on_empty(p); the first conjunct of an and-chain; every
 * term of an or-chain, on the same path. NULL if none.
 */
static const struct node *false_on_empty(const struct node *n)
{
	const struct node *p = NULL, *q;

	if (n->type == N_FOLD && n->op == OP_AND && n->nlist > 0)
		return false_on_empty(n->list[0]);
	if (n->type == N_BINARY && n->op == OP_AND)
		return false_on_empty(n->a);
	if (n->type == N_FOLD && n->op == OP_OR) {
		for (int i = 0; i < n->nlist; i++) {
			q = false_on_empty(n->list[i]);
			if (!q || (p && (strcmp(member_name(p), member_name(q)) ||
					 strcmp(member_name(p->a), member_name(q->a)) ||
					 p->a->a->slot != q->a->a->slot)))
				return NULL;
			p = q;
		}
		return p;
	}
	if (n->type != N_BINARY || n->b->type != N_CONST)
		return NULL;
	switch (n->op) {
	case OP_CONTAINS:
	case OP_STARTS:
	case OP_ENDS:
	case OP_EQ:
		if (!nonempty_string(&n->b->val))
			return NULL;
		break;
	case OP_IN:
		if (n->b->val.kind != EXPR_ARRAY)
			return NULL;
		for (uint32_t i = 0; i < n->b->val.a->len; i++)
			if (!nonempty_string(&n->b->val.a->items[i]))
				return NULL;
		break;
	default:
		return NULL;
	}
	return empty_on_empty(n->a);
}

int expr_prog_needs(const struct expr_prog *prog, int *var, const char **field, const char **key)
{
	const struct node *p = prog && prog->root->depth < 64 ? false_on_empty(prog->root) : NULL;

	if (!p)
		return 0;
	*var = p->a->a->slot;
	*field = member_name(p->a);
	*key = member_name(p);
	return 1;
}

int expr_prog_path(const struct expr_prog *prog, int *var, const char **field, const char **key)
{
	const struct node *n = prog ? prog->root : NULL;
	const char *name = n ? member_name(n) : NULL;

	if (!name)
		return 0;
	if (n->a->type == N_VAR) {
		*var = n->a->slot;
		*field = name;
		*key = NULL;
		return 1;
	}
	if (!member_name(n->a) || n->a->a->type != N_VAR)
		return 0;
	*var = n->a->a->slot;
	*field = member_name(n->a);
	*key = name;
	return 1;
}

int expr_prog_test(const struct expr_prog *prog, struct expr_test *t)
{
	const struct node *n = prog ? prog->root : NULL, *m;
	int depth = 0;

	if (!n || n->type != N_BINARY || n->b->type != N_CONST || n->b->val.kind != EXPR_STRING)
		return 0;
	switch (n->op) {
	case OP_EQ:
		t->op = EXPR_TEST_EQ;
		break;
	case OP_NE:
		t->op = EXPR_TEST_NE;
		break;
	case OP_STARTS:
		t->op = EXPR_TEST_STARTS;
		break;
	default:
		return 0;
	}
	for (m = n->a; m->type == N_MEMBER; m = m->a)
		if (!member_name(m) || ++depth > 3)
			return 0;
	if (m->type != N_VAR || !depth)
		return 0;
	t->var = m->slot;
	t->nnames = depth;
	for (m = n->a; m->type == N_MEMBER; m = m->a)
		t->names[--depth] = member_name(m);
	t->lit = &n->b->val;
	return 1;
}

/*
 * The and-chain `G && a && b` once G, its guard, passed (G is then true):
 * the chain of a && b, which checks that a and b are bools and says so at the
 * same place as the whole one. A lone G: true. Routing evaluates this on every
 * line whose guard passes: thirty HTTP scenarios on an nginx line, each of
 * which read its field again to find G true. Not when a literal is "": the
 * guard reads a missing key as "", where the evaluator may read nil.
 */
static void split_guard(struct expr_prog *prog)
{
	struct expr_guard g;
	struct node *root = prog->root, *rest;
	const struct node *test = guard_test(root, &g);

	if (!test)
		return;
	for (size_t i = 0; i < g.nlits; i++)
		if (!g.lits[i].s->len)
			return;
	if (test == root) {
		rest = prog_node_add(prog);
		if (!rest)
			return;
		rest->type = N_CONST;
		rest->val = expr_bool(true);
		rest->st = &expr_type_bool;
		rest->pos = root->pos;
		rest->depth = 1;
	} else if (root->type == N_FOLD && root->op == OP_AND && root->nlist >= 2 &&
		   root->list[0] == test) {
		struct node **list = malloc((root->nlist - 1) * sizeof(*list));

		if (!list || !(rest = prog_node_add(prog))) {
			free(list);
			return;
		}
		memcpy(list, root->list + 1, (root->nlist - 1) * sizeof(*list));
		*rest = *root;
		rest->list = list;
		rest->nlist = root->nlist - 1;
		rest->ops = NULL;	/* an and-chain reads none */
	} else {
		return;	/* the test deeper down: evaluated whole */
	}
	prog->guard_rest = rest;
}

/* The view of the program that evaluates guard_rest (after layout: the nodes are final). */
static void guard_view(struct expr_prog *prog)
{
	struct expr_prog *v;

	if (!prog->guard_rest || !(v = calloc(1, sizeof(*v))))
		return;
	v->src = prog->src;
	v->root = prog->guard_rest;
	v->nlocals = prog->nlocals;
	v->nlevels = prog->nlevels;
	v->nmemo = prog->nmemo;
	v->env = prog->env;
	prog->after_guard = v;
}

void optimize(struct expr_prog *prog)
{
	struct opt o = { .prog = prog };

	fold(&o, prog->root);
	cse(&o);
	memo(&o, prog->root, false);
	/* below a slot, and under folded calls, nothing was decided */
	for (int i = 0; i < prog->nnodes; i++) {
		struct node *n = prog->nodes[i];

		if (n->memo < 0)
			n->memo = 0;
		/* evt.Meta.x: the key's hash once here, not at every event */
		if (n->type == N_MEMBER && n->b && n->b->type == N_CONST &&
		    n->b->val.kind == EXPR_STRING)
			n->khash = cs_hash(n->b->val.s->s, n->b->val.s->len);
	}
	for (int i = 0; i < prog->nnodes; i++)
		mark_path(prog->nodes[i]);
	split_guard(prog);
	layout(prog);
	guard_view(prog);
	prog->flat = flat_build(prog->root);
	if (prog->after_guard)
		prog->after_guard->flat = flat_build(prog->after_guard->root);
}
