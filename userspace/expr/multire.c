// SPDX-License-Identifier: MIT
/*
 * "Does any of these regexes match": RegexpInFile over the hub's 600-line
 * bad_user_agents list, any(list, { x matches # }). One regex at a time costs
 * one PCRE2 search per line and per event; Vectorscan (Hyperscan) scans for all
 * of them in one pass. It only gets the patterns whose meaning it shares with
 * our PCRE2 setup (regex.c), on subjects that are valid UTF-8 (its UTF-8 mode
 * requires it):
 *   - the pattern as regex_translate() wrote it (\s without \v, as RE2);
 *   - no `$` outside a class: Vectorscan's also matches before a final \n, our
 *     PCRE2's (DOLLAR_ENDONLY, as RE2) only at the end;
 *   - no inline flags but i (m, s and U change ^, $ and . in ways the two
 *     engines do not spell alike);
 *   - what Vectorscan refuses (backreferences, lookbehind...) stays with PCRE2.
 * Every pattern is also kept compiled with PCRE2: for the others, and for
 * subjects with invalid UTF-8, which are searched line by line as before.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <hs.h>

#include "common/utf8.h"
#include "expr/expr_int.h"

#define HS_FLAGS (HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8 | HS_FLAG_ALLOWEMPTY)

static uint64_t next_id = 1;

struct multire {
	uint64_t id;		/* never reused: what a vm's scratch was sized for */
	hs_database_t *db;	/* NULL when Vectorscan took none */
	struct expr_regex **all;	/* every pattern, in order */
	size_t n;
	size_t *rest;		/* indexes of those not in db */
	size_t nrest;
};

/* Whether Vectorscan would read the translated pattern p as PCRE2 does. */
static bool same_meaning(const char *p)
{
	bool in_class = false;

	for (; *p; p++) {
		if (*p == '\\') {
			if (!p[1])
				return false;
			p++;
			continue;
		}
		if (in_class) {
			in_class = *p != ']';
			continue;
		}
		if (*p == '[') {
			in_class = true;
			if (p[1] == '^')
				p++;
			if (p[1] == ']')
				p++;
			continue;
		}
		if (*p == '$')
			return false;
		if (p[0] == '(' && p[1] == '?') {
			const char *q = p + 2;

			/* groups, named groups and lookarounds: Vectorscan says if it can */
			if (*q == ':' || *q == '=' || *q == '!' || *q == '<' || *q == 'P')
				continue;
			for (; *q && *q != ':' && *q != ')'; q++)
				if (*q != 'i' && *q != '-')
					return false;
		}
	}
	return true;
}

void multire_free(struct multire *m)
{
	if (!m)
		return;
	hs_free_database(m->db);
	for (size_t i = 0; i < m->n; i++)
		regex_put(m->all[i]);
	free(m->all);
	free(m->rest);
	free(m);
}

/* Compiles the candidates into one database, handing back to rest what it refuses. */
static int build_db(struct multire *m, char **tr, bool *in_db)
{
	const char **exprs = calloc(m->n, sizeof(*exprs));
	unsigned int *flags = calloc(m->n, sizeof(*flags)), *ids = calloc(m->n, sizeof(*ids));
	int err = exprs && flags && ids ? 0 : -ENOMEM;

	/* what it cannot compile, found without building a database each time */
	for (size_t i = 0; !err && i < m->n; i++) {
		hs_expr_info_t *info = NULL;
		hs_compile_error_t *cerr = NULL;

		if (in_db[i] && hs_expression_info(tr[i], HS_FLAGS, &info, &cerr) != HS_SUCCESS)
			in_db[i] = false;
		free(info);
		hs_free_compile_error(cerr);
	}
	while (!err) {
		hs_compile_error_t *cerr = NULL;
		unsigned int k = 0;

		for (size_t i = 0; i < m->n; i++) {
			if (!in_db[i])
				continue;
			exprs[k] = tr[i];
			flags[k] = HS_FLAGS;
			ids[k++] = (unsigned int)i;
		}
		if (!k)
			break;
		if (hs_compile_multi(exprs, flags, ids, k, HS_MODE_BLOCK, NULL, &m->db, &cerr) ==
		    HS_SUCCESS)
			break;
		/* the pattern it names goes back to PCRE2; none named: all of them */
		if (cerr && cerr->expression >= 0 && (unsigned int)cerr->expression < k)
			in_db[ids[cerr->expression]] = false;
		else
			memset(in_db, 0, m->n * sizeof(*in_db));
		hs_free_compile_error(cerr);
		m->db = NULL;
	}
	free(exprs);
	free(flags);
	free(ids);
	return err;
}

int multire_build(struct expr_regex *const *res, size_t n, struct multire **out)
{
	struct multire *m = calloc(1, sizeof(*m));
	char **tr = calloc(n ? n : 1, sizeof(*tr));
	bool *in_db = calloc(n ? n : 1, sizeof(*in_db));
	int err = 0;

	*out = NULL;
	if (!m || !tr || !in_db || !(m->all = calloc(n ? n : 1, sizeof(*m->all))) ||
	    !(m->rest = calloc(n ? n : 1, sizeof(*m->rest))))
		err = -ENOMEM;
	for (size_t i = 0; !err && i < n; i++) {
		m->all[m->n++] = regex_ref(res[i]);
		if (!(tr[i] = regex_translate(regex_pattern(res[i]))))
			err = -ENOMEM;
		else
			in_db[i] = same_meaning(tr[i]);
	}
	if (!err)
		err = build_db(m, tr, in_db);
	for (size_t i = 0; !err && i < n; i++)
		if (!in_db[i])
			m->rest[m->nrest++] = i;
	for (size_t i = 0; tr && i < n; i++)
		free(tr[i]);
	free(tr);
	free(in_db);
	if (err) {
		multire_free(m);
		return err;
	}
	m->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	*out = m;
	return 0;
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
		    unsigned int flags, void *ctx)
{
	(void)id;
	(void)from;
	(void)to;
	(void)flags;
	*(bool *)ctx = true;
	return 1;	/* one is enough: stop scanning */
}

/* Line by line, as RegexpInFile always did: a line past its limit does not match. */
static int search_each(const struct multire *m, const size_t *idx, size_t n, const char *s,
		       size_t len)
{
	bool limited = false;

	for (size_t k = 0; k < n; k++) {
		int rc = regex_search(m->all[idx ? idx[k] : k], s, len);

		if (rc == 1)
			return 1;
		if (rc == -E2BIG)
			limited = true;
		else if (rc < 0)
			return rc;
	}
	return limited ? -E2BIG : 0;
}

int multire_any(const struct multire *m, const char *s, size_t len)
{
	struct expr_vm *vm = vm_current();
	bool hit = false;
	hs_error_t rc;

	if (!m->db || !vm || len > UINT32_MAX || !utf8_valid(s, len))
		return search_each(m, NULL, m->n, s, len);
	/* a scratch grown for one database stays good for those it served before */
	if (vm->hs_sized[m->id % EXPR_VM_HS_SLOTS] != m->id) {
		if (hs_alloc_scratch(m->db, (hs_scratch_t **)&vm->hs_scratch) != HS_SUCCESS)
			return search_each(m, NULL, m->n, s, len);
		vm->hs_sized[m->id % EXPR_VM_HS_SLOTS] = m->id;
	}
	rc = hs_scan(m->db, s, (unsigned int)len, 0, vm->hs_scratch, on_match, &hit);
	if (hit)
		return 1;
	if (rc != HS_SUCCESS)
		return search_each(m, NULL, m->n, s, len);
	return search_each(m, m->rest, m->nrest, s, len);
}
