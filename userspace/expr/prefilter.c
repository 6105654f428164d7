// SPDX-License-Identifier: MIT
/*
 * Many filters decided at once (expr_prefilter, expr.h). A dozen hub CVE
 * scenarios are `Upper(evt.Meta.http_path) contains '...' && ...`, others
 * `any(File('x'), { Upper(evt.Meta.http_path) contains Upper(#) })` or
 * `evt.Meta.http_status in [...]`: on a nginx line each was a filter
 * evaluation (its set-up, the first touch of its program and of the vm's
 * caches, a memmem or an index scan). Here the first conjunct of every such
 * filter is split into atoms `S op literal(s)` over a few subjects S (a field
 * path, through Upper/Lower/PathUnescape/QueryUnescape): each subject is
 * evaluated once per event and scanned once for all the literals every
 * filter tests it for with `contains`; a clause none of whose atoms holds is
 * false, and so is its filter, without being evaluated.
 *
 * Exactness: an atom's answer is the evaluator's (the subject is evaluated by
 * the evaluator's flat form; the literal tests are Go's on bytes). A first
 * conjunct is evaluated first, and a clause that is false made its filter
 * false without an error where the evaluation could not fail: the subjects
 * read fields and call string functions that do not fail; the step and memory
 * limits are far above what the clause can use (PF_MIN_STEPS, PF_MIN_BYTES,
 * the bounds below); a subject the evaluator cannot produce as a string
 * leaves its clauses undecided, evaluated as before. Data-file lists are read
 * when the prefilter is built: a file is immutable once loaded in a runtime,
 * and a list that is empty then (maybe not loaded yet) is not used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "expr/ast.h"

#define PF_MAX_SUBJECTS 32
#define PF_MAX_ATOMS 512
#define PF_MAX_CLAUSE_ATOMS 16
#define PF_MAX_CALLS 3		/* string functions around a subject's field */
#define PF_MAX_LIST 4096	/* lines of a list an atom tests */
#define PF_MAX_LITS 8192	/* contains literals of one subject */
#define PF_MAX_LEN (16u << 10)	/* bytes of a subject decided on */
/*
 * A clause of at most 16 atoms, each a subject of at most 3 calls that each
 * make at most a copy of their argument (27x the subject's bytes at most,
 * three unescapes), and lists of at most 4096 lines: far below these limits.
 */
#define PF_MIN_BYTES ((size_t)64 << 20)
#define PF_MIN_STEPS 2000000u

enum pf_kind {
	/* literals of the subject's scan set: the atom holds, or for `matches` may
	 * hold, when one is found; it is false when none is */
	PF_CONTAINS,
	PF_EQ, PF_STARTS, PF_ENDS,	/* one literal */
	PF_SET,		/* strset_any(set) */
};

/* The string functions a subject may apply (subject_shape). */
enum pf_fn { PFN_UPPER, PFN_LOWER, PFN_PATH_UNESCAPE, PFN_QUERY_UNESCAPE };

struct pf_subject {
	struct expr_prog view;	/* root: the subject's node; env: its program's */
	const struct node *node;
	struct flat *flat;	/* the evaluator's way, when the direct one gives up */
	/* the direct way: the field read from the host, the functions applied on bytes */
	int slot;
	const struct expr_host_ops *ops;
	uintptr_t path;
	int ncalls;
	uint8_t calls[PF_MAX_CALLS];	/* innermost first */
	/* the atoms on it that are not in its scan */
	uint16_t *tests;
	size_t ntests;
	/* the contains literals of all atoms on this subject, their atoms */
	size_t nlits, caplits;
	struct expr_value *lits;
	uint16_t *lit_atom;
	struct strset *scan;
	size_t scan_words;
};

struct pf_atom {
	uint8_t kind;
	uint8_t subject;
	const struct expr_str *lit;	/* PF_EQ, PF_STARTS, PF_ENDS: borrowed */
	struct strset *set;		/* PF_SET */
};

struct pf_clause {
	uint16_t first, n;	/* atoms[first .. first + n) */
};

struct expr_prefilter {
	const struct expr_env *env;
	struct expr_runtime *rt;	/* env's when built: the lists read from it */
	struct pf_subject subj[PF_MAX_SUBJECTS];
	size_t nsubj;
	struct pf_atom atoms[PF_MAX_ATOMS];
	size_t natoms;
	struct pf_clause clauses[EXPR_PREFILTER_MAX];
	size_t nclauses;
	bool built;	/* expr_prefilter_build() done: nothing more is added */
};

int expr_prefilter_new(struct expr_prefilter **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void atom_clear(struct pf_atom *a)
{
	strset_free(a->set);
	a->set = NULL;
}

void expr_prefilter_free(struct expr_prefilter *pf)
{
	if (!pf)
		return;
	for (size_t i = 0; i < pf->nsubj; i++) {
		struct pf_subject *s = &pf->subj[i];

		flat_free(s->flat);
		expr_values_free(s->lits, s->nlits);
		free(s->lit_atom);
		free(s->tests);
		strset_free(s->scan);
	}
	for (size_t i = 0; i < pf->natoms; i++)
		atom_clear(&pf->atoms[i]);
	free(pf);
}

/*
 * VAR.NAME.KEY resolved by its host, under at most PF_MAX_CALLS string
 * functions that never fail: s's direct way (s->calls outermost first until
 * reversed by the caller).
 */
static bool subject_shape(const struct node *n, struct pf_subject *s)
{
	static const struct {
		const char *name;
		uint8_t fn;
	} safe[] = { { "Upper", PFN_UPPER }, { "upper", PFN_UPPER }, { "Lower", PFN_LOWER },
		     { "lower", PFN_LOWER }, { "PathUnescape", PFN_PATH_UNESCAPE },
		     { "QueryUnescape", PFN_QUERY_UNESCAPE } };

	s->ncalls = 0;
	while (n->type == N_CALL) {
		size_t i = 0;

		if (s->ncalls == PF_MAX_CALLS || n->nlist != 1 || !(n->fn->flags & EXPR_FN_PURE))
			return false;
		while (i < ARRAY_SIZE(safe) && strcmp(n->fn->name, safe[i].name))
			i++;
		if (i == ARRAY_SIZE(safe))
			return false;
		s->calls[s->ncalls++] = safe[i].fn;
		n = n->list[0];
	}
	if (n->type != N_MEMBER || n->op != MEMBER_PATH || !n->path_ops || !n->st ||
	    n->st->kind != EXPR_STRING)
		return false;
	s->slot = n->a->a->slot;
	s->ops = n->path_ops;
	s->path = n->path;
	return true;
}

/* The subject slot of n (added if new), -1 if n is not one or there is no room. */
static int subject_of(struct expr_prefilter *pf, const struct expr_prog *prog,
		      const struct node *n)
{
	struct pf_subject *s;

	if (!n->st || n->st->kind != EXPR_STRING)
		return -1;
	for (size_t i = 0; i < pf->nsubj; i++)
		if (same_tree(pf->subj[i].node, n))
			return (int)i;
	if (pf->nsubj == PF_MAX_SUBJECTS)
		return -1;
	s = &pf->subj[pf->nsubj];
	memset(s, 0, sizeof(*s));
	if (!subject_shape(n, s))
		return -1;
	for (int i = 0; i < s->ncalls / 2; i++) {
		uint8_t c = s->calls[i];

		s->calls[i] = s->calls[s->ncalls - 1 - i];
		s->calls[s->ncalls - 1 - i] = c;
	}
	s->node = n;
	s->view.src = prog->src;
	s->view.root = (struct node *)n;
	s->view.env = prog->env;
	if (!(s->flat = flat_build(n)))
		return -1;
	return (int)pf->nsubj++;
}

/*
 * The bytes every match of pattern p (PCRE2, UTF mode) starts with (its leading
 * run of plain characters, the last character dropped when a quantifier follows it), in
 * *len; 0: none of at least PF_MIN_PREFIX bytes. Not for a pattern with an
 * alternation outside groups or a group with flags ((?i)). A subject without
 * them is matched by no attempt of the regex, each attempt failing within
 * those plain bytes: no backtracking, so no limit reached either.
 */
#define PF_MIN_PREFIX 3
static size_t regex_prefix(const char *p, size_t n)
{
	size_t run, depth = 0;
	bool class = false;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\') {
			/* \Q...\E: quoted text is not read here; \cX (PCRE2, not RE2) eats X */
			if (++i < n && (p[i] == 'Q' || p[i] == 'c'))
				return 0;
		} else if (class) {
			if (p[i] == '[' && i + 1 < n && p[i + 1] == ':') {
				const char *e = memmem(p + i + 2, n - i - 2, ":]", 2);

				if (!e)
					return 0;
				i = (size_t)(e - p) + 1;	/* [:alpha:] */
			} else {
				class = p[i] != ']';
			}
		} else if (p[i] == '[') {
			class = true;
			if (i + 1 < n && p[i + 1] == '^')
				i++;
			if (i + 1 < n && p[i + 1] == ']')
				i++;	/* []...] : the ] is a member */
		} else if (p[i] == '(') {
			if (i + 1 < n && p[i + 1] == '?')
				return 0;
			depth++;
		} else if (p[i] == ')') {
			depth -= depth > 0;
		} else if (p[i] == '|' && !depth) {
			return 0;
		}
	}
	for (run = 0; run < n && !strchr("\\.^$*+?()[]{}|", p[run]); run++)
		;
	/* the quantifier applies to the whole last character (UTF-8 mode): drop all its bytes */
	if (run < n && (p[run] == '*' || p[run] == '?' || p[run] == '{') && run)
		do
			run--;
		while (run && ((unsigned char)p[run] & 0xC0) == 0x80);
	return run >= PF_MIN_PREFIX ? run : 0;
}

static int lit_add(struct pf_subject *s, const struct expr_value *v, int cmap, bool re,
		   size_t atom)
{
	struct expr_value m;
	size_t plen;
	int err;

	if (v->kind != EXPR_STRING || !v->s->len || s->nlits == PF_MAX_LITS)
		return -EINVAL;	/* contains "": always true */
	if (s->nlits == s->caplits) {
		size_t cap = s->caplits ? 2 * s->caplits : 16;
		struct expr_value *l = realloc(s->lits, cap * sizeof(*l));
		uint16_t *a;

		if (!l)
			return -ENOMEM;
		s->lits = l;
		if (!(a = realloc(s->lit_atom, cap * sizeof(*a))))
			return -ENOMEM;
		s->lit_atom = a;
		s->caplits = cap;
	}
	if (cmap) {
		err = case_map(v, cmap == CMAP_UPPER, &m);
		if (err)
			return err;
	} else {
		m = expr_value_ref(v);
	}
	if (re) {
		struct expr_regex *rx = NULL;
		char msg[8];

		/* a pattern that does not compile is an error where it is used */
		plen = strlen(m.s->s) == m.s->len ? regex_prefix(m.s->s, m.s->len) : 0;
		if (plen && expr_regex_compile(m.s->s, &rx, msg, sizeof(msg)))
			plen = 0;
		expr_regex_free(rx);
		err = plen ? expr_stringn(m.s->s, plen, &s->lits[s->nlits]) : -EINVAL;
		expr_value_release(&m);
		if (err)
			return err;
		m = s->lits[s->nlits];
	}
	s->lits[s->nlits] = m;
	s->lit_atom[s->nlits++] = (uint16_t)atom;
	return 0;
}

/* The list of any(L, ...): a constant array, or File('name') of a loaded file. */
static int atom_list(struct expr_prefilter *pf, const struct node *l, struct expr_value *out)
{
	const struct node *arg;
	int err;

	if (l->type == N_CONST && l->val.kind == EXPR_ARRAY) {
		*out = expr_value_ref(&l->val);
		return 0;
	}
	if (l->type != N_CALL || l->nlist != 1 || strcmp(l->fn->name, "File"))
		return -EINVAL;
	arg = l->list[0];
	if (arg->type != N_CONST || arg->val.kind != EXPR_STRING || !pf->env->rt)
		return -EINVAL;
	err = data_file_lines(pf->env->rt, arg->val.s->s, out);
	if (!err && (out->kind != EXPR_ARRAY || !out->a->len)) {
		expr_value_release(out);
		err = -EINVAL;	/* not loaded (yet): not decided here */
	}
	return err;
}

static bool all_strings(const struct expr_array *a)
{
	if (a->len > PF_MAX_LIST)
		return false;
	for (uint32_t i = 0; i < a->len; i++)
		if (a->items[i].kind != EXPR_STRING)
			return false;
	return true;
}

/* n as atom pf->natoms; -EINVAL when it is not one. */
static int atom_add(struct expr_prefilter *pf, const struct expr_prog *prog, const struct node *n)
{
	static const uint8_t kinds[] = { [OP_EQ] = PF_EQ, [OP_STARTS] = PF_STARTS,
					 [OP_ENDS] = PF_ENDS, [OP_CONTAINS] = PF_CONTAINS };
	struct pf_atom *a = &pf->atoms[pf->natoms];
	struct expr_value list;
	int subj, err = 0;

	if (pf->natoms == PF_MAX_ATOMS)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	if (n->type == N_BINARY && n->b->type == N_CONST &&
	    (n->op == OP_EQ || n->op == OP_STARTS || n->op == OP_ENDS || n->op == OP_CONTAINS)) {
		if (n->b->val.kind != EXPR_STRING || !n->b->val.s->len ||
		    (subj = subject_of(pf, prog, n->a)) < 0)
			return -EINVAL;
		a->kind = kinds[n->op];
		a->subject = (uint8_t)subj;
		if (a->kind == PF_CONTAINS)
			return lit_add(&pf->subj[subj], &n->b->val, CMAP_NONE, false, pf->natoms);
		a->lit = n->b->val.s;
		return 0;
	}
	/* S matches 'p' with a compiled constant p: its leading bytes as a contains literal */
	if (n->type == N_BINARY && n->op == OP_MATCHES && n->re && n->b->type == N_CONST) {
		if (n->b->val.kind != EXPR_STRING || (subj = subject_of(pf, prog, n->a)) < 0)
			return -EINVAL;
		a->kind = PF_CONTAINS;
		a->subject = (uint8_t)subj;
		return lit_add(&pf->subj[subj], &n->b->val, CMAP_NONE, true, pf->natoms);
	}
	if (n->type == N_BINARY && n->op == OP_IN && n->b->type == N_CONST &&
	    n->b->val.kind == EXPR_ARRAY) {
		if (!all_strings(n->b->val.a) || (subj = subject_of(pf, prog, n->a)) < 0)
			return -EINVAL;
		a->kind = PF_SET;
		a->subject = (uint8_t)subj;
		return strset_build(n->b->val.a, OP_EQ, CMAP_NONE, &a->set);
	}
	/* any(L, { S op # }) as the evaluator's index reads it */
	if (n->type != N_PREDICATE || n->op != P_ANY || !n->fast_op || !n->fast_x ||
	    (n->fast_op != OP_EQ && n->fast_op != OP_STARTS && n->fast_op != OP_ENDS &&
	     n->fast_op != OP_CONTAINS && n->fast_op != OP_MATCHES) ||
	    (subj = subject_of(pf, prog, n->fast_x)) < 0 || atom_list(pf, n->list[0], &list))
		return -EINVAL;
	a->subject = (uint8_t)subj;
	if (!all_strings(list.a)) {
		err = -EINVAL;
	} else if (n->fast_op == OP_CONTAINS || n->fast_op == OP_MATCHES) {
		a->kind = PF_CONTAINS;
		for (uint32_t i = 0; !err && i < list.a->len; i++)
			err = lit_add(&pf->subj[subj], &list.a->items[i], n->fast_cmap,
				      n->fast_op == OP_MATCHES, pf->natoms);
	} else {
		a->kind = PF_SET;
		err = strset_build(list.a, n->fast_op, n->fast_cmap, &a->set);
	}
	expr_value_release(&list);
	return err;
}

/* The first conjunct of an and-chain (what is evaluated first), or n. */
static const struct node *first_conjunct(const struct node *n)
{
	while ((n->type == N_FOLD && n->op == OP_AND && n->nlist > 0) ||
	       (n->type == N_BINARY && n->op == OP_AND))
		n = n->type == N_FOLD ? n->list[0] : n->a;
	return n;
}

/* The terms of an or-chain (or n alone) into terms; false when more than max. */
static bool or_terms(const struct node *n, const struct node **terms, int *nt, int max)
{
	if (n->type == N_FOLD && n->op == OP_OR) {
		for (int i = 0; i < n->nlist; i++)
			if (!or_terms(n->list[i], terms, nt, max))
				return false;
		return true;
	}
	if (n->type == N_BINARY && n->op == OP_OR)
		return or_terms(n->a, terms, nt, max) && or_terms(n->b, terms, nt, max);
	if (*nt == max)
		return false;
	terms[(*nt)++] = n;
	return true;
}

/* Drops what atoms from `atoms` on put into the subjects (a clause that could not be added). */
static void undo_atoms(struct expr_prefilter *pf, size_t atoms, size_t nsubj)
{
	for (size_t i = 0; i < pf->nsubj; i++) {
		struct pf_subject *s = &pf->subj[i];

		while (s->nlits && s->lit_atom[s->nlits - 1] >= atoms)
			expr_value_release(&s->lits[--s->nlits]);
	}
	while (pf->nsubj > nsubj) {
		struct pf_subject *s = &pf->subj[--pf->nsubj];

		flat_free(s->flat);
		free(s->lits);
		free(s->lit_atom);
	}
	while (pf->natoms > atoms)
		atom_clear(&pf->atoms[--pf->natoms]);
}

int expr_prefilter_add(struct expr_prefilter *pf, const struct expr_prog *prog, size_t *id)
{
	const struct node *terms[PF_MAX_CLAUSE_ATOMS];
	size_t atoms = pf->natoms, nsubj = pf->nsubj;
	int nt = 0, err = 0;

	if (!prog || prog->root->depth > 64 || pf->nclauses == EXPR_PREFILTER_MAX ||
	    (pf->env && pf->env != prog->env) || pf->built)
		return 0;
	if (!or_terms(first_conjunct(prog->root), terms, &nt, PF_MAX_CLAUSE_ATOMS))
		return 0;
	pf->env = prog->env;
	for (int i = 0; !err && i < nt; i++) {
		err = atom_add(pf, prog, terms[i]);
		if (!err)
			pf->natoms++;
	}
	if (err) {
		undo_atoms(pf, atoms, nsubj);
		return err == -ENOMEM ? err : 0;
	}
	pf->clauses[pf->nclauses] = (struct pf_clause){ .first = (uint16_t)atoms, .n = (uint16_t)nt };
	*id = pf->nclauses++;
	return 1;
}

int expr_prefilter_build(struct expr_prefilter *pf)
{
	int err = 0;

	pf->rt = pf->env ? pf->env->rt : NULL;
	for (size_t i = 0; !err && i < pf->nsubj; i++) {
		struct pf_subject *s = &pf->subj[i];
		const char **p = calloc(s->nlits ? s->nlits : 1, sizeof(*p));
		size_t *l = calloc(s->nlits ? s->nlits : 1, sizeof(*l));

		strset_free(s->scan);
		s->scan = NULL;
		for (size_t j = 0; p && l && j < s->nlits; j++) {
			p[j] = s->lits[j].s->s;
			l[j] = s->lits[j].s->len;
		}
		if (!p || !l)
			err = -ENOMEM;
		else if (s->nlits)
			err = strset_build_words(p, l, NULL, s->nlits, &s->scan);
		s->scan_words = (s->nlits + 63) / 64;
		free(p);
		free(l);
		free(s->tests);
		s->ntests = 0;
		if (!err && !(s->tests = calloc(pf->natoms ? pf->natoms : 1, sizeof(*s->tests))))
			err = -ENOMEM;
		for (size_t a = 0; !err && a < pf->natoms; a++)
			if (pf->atoms[a].subject == i && pf->atoms[a].kind != PF_CONTAINS)
				s->tests[s->ntests++] = (uint16_t)a;
	}
	pf->built = !err;
	return err;
}

size_t expr_prefilter_count(const struct expr_prefilter *pf)
{
	return pf ? pf->nclauses : 0;
}

/* Whether atom a (not a contains one) holds for its subject's value (v, len). */
static bool atom_holds(const struct pf_atom *a, const char *v, size_t len)
{
	const struct expr_str *l = a->lit;

	switch (a->kind) {
	case PF_EQ:
		return l->len == len && !memcmp(l->s, v, len);
	case PF_STARTS:
		return l->len <= len && !memcmp(l->s, v, l->len);
	case PF_ENDS:
		return l->len <= len && !memcmp(l->s, v + len - l->len, l->len);
	default:
		return strset_any(a->set, v, len) == 1;
	}
}

/*
 * s's value for vars read from the host and mapped here, as the evaluator
 * would make it (the same case mapping; an unescape that has nothing to do
 * returns its argument): 0 with the bytes in (*v, *len), valid until the next
 * call; 1 when it takes the evaluator (an escape to decode, the general way
 * of reading the field) or is longer than PF_MAX_LEN.
 */
static int subject_direct(const struct pf_subject *s, struct expr_vm *vm,
			  const struct expr_value *vars, const char **v, size_t *len)
{
	const struct expr_value *var = &vars[s->slot];
	uint64_t ver;
	int buf = 0;

	if (var->kind != EXPR_HOST || var->h.ops != s->ops || !var->h.obj || s->ops->ref ||
	    s->ops->path_get(var->h.obj, s->path, v, len, &ver) || *len > PF_MAX_LEN)
		return 1;
	for (int i = 0; i < s->ncalls; i++) {
		bool upper = s->calls[i] == PFN_UPPER;
		uint32_t at;
		char *out;

		switch (s->calls[i]) {
		case PFN_QUERY_UNESCAPE:
			if (memchr(*v, '+', *len))
				return 1;
			/* fall through */
		case PFN_PATH_UNESCAPE:
			if (memchr(*v, '%', *len))
				return 1;
			continue;
		}
		at = case_first(*v, (uint32_t)*len, upper);
		if (at == *len)
			continue;
		if (!vm->pf_buf && !(vm->pf_buf = malloc(2 * PF_MAX_LEN)))
			return 1;
		out = vm->pf_buf + buf * PF_MAX_LEN;
		buf ^= 1;
		memcpy(out, *v, *len);
		case_map_rest(*v, (uint32_t)*len, at, upper, out);
		*v = out;
	}
	return 0;
}

void expr_prefilter_run(const struct expr_prefilter *pf, const struct expr_value *vars,
			uint64_t *known_false)
{
	struct expr_vm *vm = vm_current();
	uint64_t holds[PF_MAX_ATOMS / 64] = { 0 }, found[PF_MAX_LITS / 64];
	uint32_t ok = 0;

	memset(known_false, 0, EXPR_PREFILTER_WORDS * sizeof(*known_false));
	if (!pf || !pf->built || !vm || vm->max_steps < PF_MIN_STEPS ||
	    vm->max_bytes < PF_MIN_BYTES || pf->env->rt != pf->rt)
		return;
	for (size_t i = 0; i < pf->nsubj; i++) {
		const struct pf_subject *s = &pf->subj[i];
		struct expr_value val = EXPR_NIL_VALUE;
		const char *v;
		size_t len;

		if (subject_direct(s, vm, vars, &v, &len)) {
			if (flat_eval(s->flat, vm, &s->view, vars, NULL, &val) ||
			    val.kind != EXPR_STRING || val.s->len > PF_MAX_LEN) {
				expr_value_release(&val);
				continue;
			}
			v = val.s->s;
			len = val.s->len;
		}
		ok |= 1u << i;
		if (s->scan) {
			memset(found, 0, s->scan_words * sizeof(*found));
			strset_found(s->scan, v, len, found);
			for (size_t w = 0; w < s->scan_words; w++)
				for (uint64_t bits = found[w]; bits; bits &= bits - 1) {
					size_t atom = s->lit_atom[w * 64 + (size_t)__builtin_ctzll(bits)];

					holds[atom / 64] |= 1ull << (atom % 64);
				}
		}
		for (size_t t = 0; t < s->ntests; t++)
			if (atom_holds(&pf->atoms[s->tests[t]], v, len))
				holds[s->tests[t] / 64] |= 1ull << (s->tests[t] % 64);
		expr_value_release(&val);
	}
	for (size_t c = 0; c < pf->nclauses; c++) {
		const struct pf_clause *cl = &pf->clauses[c];
		bool decided = true;

		for (size_t i = cl->first; decided && i < (size_t)cl->first + cl->n; i++)
			decided = (ok >> pf->atoms[i].subject & 1) && !(holds[i / 64] >> (i % 64) & 1);
		if (decided)
			known_false[c / 64] |= 1ull << (c % 64);
	}
}
