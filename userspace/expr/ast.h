/* SPDX-License-Identifier: MIT */
/* expr syntax tree: built and checked by parse.c, walked by eval.c. */
#ifndef CS_EXPR_AST_H
#define CS_EXPR_AST_H

#include "expr/expr_int.h"

enum node_type {
	N_CONST,	/* literal or folded constant: val */
	N_VAR,		/* environment variable: slot */
	N_LOCAL,	/* let-bound variable: slot */
	N_POINTER,	/* # (op 0), #index (op 1), #acc (op 2) of closure level `slot` */
	N_UNARY,	/* op a */
	N_BINARY,	/* a op b */
	N_MEMBER,	/* a[b] / a.b, optional */
	N_CHAIN,	/* a: turns an optional-chain nil into nil */
	N_SLICE,	/* a[b:c], b/c may be NULL */
	N_CALL,		/* fn(list) */
	N_METHOD,	/* a.name(list) */
	N_PREDICATE,	/* builtin(op) with closures: list */
	N_CLOSURE,	/* { a }: slot = closure level */
	N_COND,		/* a ? b : c */
	N_ARRAY,	/* [list] */
	N_MAP,		/* {list[0]: list[1], ...} */
	N_LET,		/* let slot = a; b */
	N_SEQ,		/* list[0]; list[1]; ... value of the last */
	N_FOLD,		/* list[0] ops[1] list[1] ops[2] ...: a left-assoc chain, kept flat */
};

enum op {
	OP_NONE,
	OP_OR, OP_AND,
	OP_EQ, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE,
	OP_IN, OP_MATCHES, OP_CONTAINS, OP_STARTS, OP_ENDS,
	OP_RANGE,
	OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_POW,
	OP_COALESCE,
	OP_NOT, OP_NEG, OP_PLUS,
};

/* N_MEMBER op: VAR.NAME.KEY (evt.Meta.http_path) read in one step (optimize.c) */
#define MEMBER_PATH 1

enum predicate {
	P_ALL, P_ANY, P_NONE, P_ONE, P_FILTER, P_MAP, P_COUNT, P_SUM, P_FIND,
	P_FIND_INDEX, P_FIND_LAST, P_FIND_LAST_INDEX, P_GROUP_BY, P_SORT_BY, P_REDUCE,
};

/*
 * Fields in the order the evaluator reads them: what every node type needs in
 * the first cache line, what some need in the second, the rest (messages,
 * parse-time bounds) last. optimize() lays the nodes of a program out in one
 * block in evaluation order (layout()), so one evaluation walks memory forward.
 */
struct node {
	enum node_type type;
	int op;			/* enum op / enum predicate / pointer kind */
	int memo;		/* 1 + memo slot: evaluated once per evaluation; 0 = none */
	int nlist;
	struct node *a, *b, *c;
	struct node **list;
	const struct expr_func *fn;	/* N_CALL */
	uint64_t khash;		/* N_MEMBER with a constant string key: cs_hash of it (vm field cache) */
	/* MEMBER_PATH: path_ops->path_key's cookie for it, when the variable's type has one */
	const struct expr_host_ops *path_ops;
	uintptr_t path;
	struct expr_value val;	/* N_CONST value; N_METHOD/N_MEMBER name as string */
	struct expr_regex *re;		/* OP_MATCHES with a constant pattern */
	int slot;
	bool optional;
	/* N_PREDICATE any(list, { x OP # }): OP, the case mapping of #, x (strset.c) */
	int fast_op, fast_cmap;
	struct node *fast_x;
	const struct expr_type *st;	/* static type (never NULL) */
	int pos;		/* byte offset in the source, for messages */
	int depth;		/* height of the subtree: bounds recursion */
	int *ops;		/* N_FOLD: operator before list[i] (ops[0] unused) */
	size_t ops_cap;		/* parse time: room in ops (common/vec.h) */
	size_t list_cap;	/* parse time: room in list (common/vec.h) */
	struct node *moved;	/* layout(): where the node went */
};

struct expr_prog {
	char *src;
	struct node *root;
	int nlocals;		/* let slots */
	int nlevels;		/* closure nesting levels */
	int nmemo;		/* memo slots (optimize.c) */
	const struct expr_env *env;
	struct node **nodes;	/* every node, for freeing */
	int nnodes;
	size_t capnodes;
	/* after layout(): the nodes are in block, their lists in lists (one free each) */
	struct node *block;
	struct node **lists;
	/*
	 * The program once its guard (expr_prog_guard) passed: the and-chain
	 * without its first conjunct (optimize.c split_guard()). A view: its
	 * nodes, source and environment are this program's. NULL: none.
	 */
	struct node *guard_rest;
	struct expr_prog *after_guard;
	struct flat *flat;	/* flat.c: NULL when the program has another shape */
};

/*
 * After a successful parse: folds PURE calls on constants and gives memo
 * slots to the parts of closures that do not depend on # (optimize.c).
 */
void optimize(struct expr_prog *prog);
/*
 * Whether x and y compute the same thing: constants, variables, members and
 * calls of the same functions on such (optimize.c; the trees may be of two
 * programs of one environment).
 */
bool same_tree(const struct node *x, const struct node *y);
/* A zeroed node, owned by prog (freed with it); NULL: out of memory. */
struct node *prog_node_add(struct expr_prog *prog);

/*
 * The flat form of the program under root (flat.c), built after optimize();
 * NULL when it has another shape (or on ENOMEM). flat_eval: 0 with *out, or
 * 1 when the tree walk has to evaluate the program (same value, or its error).
 */
struct flat;
struct flat *flat_build(const struct node *root);
void flat_free(struct flat *f);
int flat_eval(const struct flat *f, struct expr_vm *vm, const struct expr_prog *prog,
	      const struct expr_value *vars, void *user, struct expr_value *out);

/* ---- literal multi-pattern matching (strset.c) ---- */

enum { CMAP_NONE, CMAP_UPPER, CMAP_LOWER };
struct strset;
/* Indexes the strings of list as the right operand of op (OP_EQ, OP_CONTAINS,
 * OP_STARTS, OP_ENDS, OP_MATCHES) after cmap; -EINVAL if an element is not a
 * string (or, for OP_MATCHES, the patterns do not combine). */
int strset_build(const struct expr_array *list, int op, int cmap, struct strset **out);
/*
 * `x contains line` for literal lines, each optionally between word boundaries
 * (wb: 1 = \b before, 2 = \b after, as RE2 reads \b: ASCII word characters;
 * NULL: none).
 */
int strset_build_words(const char *const *lits, const size_t *lens, const uint8_t *wb,
		       size_t n, struct strset **out);
void strset_free(struct strset *set);
/*
 * For a contains set built without word boundaries and without "" lines:
 * sets bit i of found (words for every line) for each line i that x
 * contains, in one pass over x.
 */
void strset_found(const struct strset *set, const char *x, size_t xl, uint64_t *found);
/* Whether `x op line` holds for any line: 1 or 0; -E2BIG: a regex limit, loop instead. */
int strset_any(const struct strset *set, const char *x, size_t xl);
/* The calling thread's index of list (built on first use); NULL: use the general path. */
const struct strset *vm_strset(struct expr_vm *vm, const struct expr_value *list, int op,
			       int cmap);

/* Method tables of the native value kinds (time, duration). */
const struct expr_method *native_methods(enum expr_kind kind);
int native_call(struct expr_ctx *ctx, const struct expr_value *obj, const char *name,
		const struct expr_value *args, int nargs, struct expr_value *out);

/* Built-in functions that are plain calls (len, lower, int...). */
extern const struct expr_func expr_builtins[];
extern const size_t expr_builtins_count;
const struct expr_func *builtin_find(const char *name);

#endif /* CS_EXPR_AST_H */
