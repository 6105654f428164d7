// SPDX-License-Identifier: MIT
/*
 * "Does any of these regexes match": RegexpInFile over the hub's 600-line
 * bad_user_agents list, any(list, { x matches # }). One regex at a time costs
 * one PCRE2 search per line and per event. Instead:
 *   - the commonest form, a literal between optional \b (`\bAhrefsBot\b`),
 *     goes into a literal index (strset_build_words): one pass over x;
 *   - Vectorscan (Hyperscan) scans for the others in one pass; its database is
 *     compiled once the set has been searched DB_AFTER_SEARCHES times
 *     (compiling the hub's two dozen others takes ~0.1 s of CPU, as long as
 *     PCRE2 takes for thousands of subjects, and the vm's answer cache makes
 *     a replay of a few distinct user agents search only a few times: such a
 *     run never pays it). It only gets the patterns whose
 *     meaning it shares with our PCRE2 setup (regex.c), on subjects that are
 *     valid UTF-8 (its UTF-8 mode requires it):
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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <hs.h>

#include "common/hash.h"
#include "common/utf8.h"
#include "expr/ast.h"

#define HS_FLAGS (HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8 | HS_FLAG_ALLOWEMPTY)
/*
 * Searches answered by PCRE2 alone before the database is compiled. Same
 * answers either way: Vectorscan only gets the patterns it reads as PCRE2
 * does, and a PCRE2 search that hits its match limit (where the two could
 * differ) compiles the database at once and asks it.
 */
#define DB_AFTER_SEARCHES 4096u

static uint64_t next_id = 1;

struct multire {
	uint64_t id;		/* never reused: what a vm's scratch was sized for */
	struct expr_regex **all;	/* every pattern, in order */
	size_t n;
	struct strset *words;	/* the \bliteral\b ones */
	size_t *other;		/* indexes of the others */
	size_t nother;
	/* built after DB_AFTER_SEARCHES searches, under lock; then read-only */
	uint32_t searches;
	pthread_mutex_t lock;
	bool built;
	hs_database_t *db;	/* NULL when Vectorscan took none */
	size_t *rest;		/* of the others, those not in db */
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
	regex_put_all(m->all, m->n);
	strset_free(m->words);
	free(m->other);
	free(m->rest);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/*
 * `\bliteral\b` (either \b optional, repeated \b allowed): the literal's bytes
 * into lit (escapes resolved), its length, and which ends need a boundary.
 * False for anything else: a metacharacter, an escape that is a class or an
 * assertion (\d, \w, \B...), a byte above 0x7F, an empty literal.
 */
static bool word_literal(const char *p, char *lit, size_t *len, uint8_t *wb)
{
	size_t n = 0, plen = strlen(p);

	*wb = 0;
	while (!strncmp(p, "\\b", 2)) {
		*wb |= 1;
		p += 2;
		plen -= 2;
	}
	while (plen >= 2 && !strcmp(p + plen - 2, "\\b") && (plen < 3 || p[plen - 3] != '\\')) {
		*wb |= 2;
		plen -= 2;
	}
	for (size_t i = 0; i < plen; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x80 || strchr("^$.|?*+()[]{}", c))
			return false;
		if (c == '\\') {
			c = (unsigned char)p[++i];
			/* an escaped punctuation character is itself; letters and digits are classes */
			if (i >= plen || c >= 0x80 || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
				return false;
		}
		lit[n++] = (char)c;
	}
	*len = n;
	return n > 0;
}

/* Compiles the others into one database, handing to rest what it refuses. */
static void build_db(struct multire *m)
{
	const char **exprs = calloc(m->nother ? m->nother : 1, sizeof(*exprs));
	char **tr = calloc(m->nother ? m->nother : 1, sizeof(*tr));
	bool *in_db = calloc(m->nother ? m->nother : 1, sizeof(*in_db));
	unsigned int *flags = calloc(m->nother ? m->nother : 1, sizeof(*flags));
	unsigned int *ids = calloc(m->nother ? m->nother : 1, sizeof(*ids));
	bool ok = exprs && tr && in_db && flags && ids;

	/* what it cannot take, found without building a database each time */
	for (size_t k = 0; ok && k < m->nother; k++) {
		hs_expr_info_t *info = NULL;
		hs_compile_error_t *cerr = NULL;

		tr[k] = regex_translate(regex_pattern(m->all[m->other[k]]));
		in_db[k] = tr[k] && same_meaning(tr[k]) &&
			   hs_expression_info(tr[k], HS_FLAGS, &info, &cerr) == HS_SUCCESS;
		free(info);
		hs_free_compile_error(cerr);
	}
	while (ok) {
		hs_compile_error_t *cerr = NULL;
		unsigned int n = 0;

		for (size_t k = 0; k < m->nother; k++) {
			if (!in_db[k])
				continue;
			exprs[n] = tr[k];
			flags[n] = HS_FLAGS;
			ids[n++] = (unsigned int)k;
		}
		if (!n)
			break;
		if (hs_compile_multi(exprs, flags, ids, n, HS_MODE_BLOCK, NULL, &m->db, &cerr) ==
		    HS_SUCCESS)
			break;
		/* the pattern it names goes back to PCRE2; none named: all of them */
		if (cerr && cerr->expression >= 0 && (unsigned int)cerr->expression < n)
			in_db[ids[cerr->expression]] = false;
		else
			memset(in_db, 0, m->nother * sizeof(*in_db));
		hs_free_compile_error(cerr);
		m->db = NULL;
	}
	/* without memory for all this, every other pattern stays with PCRE2 */
	for (size_t k = 0; k < m->nother; k++)
		if (!ok || !in_db[k])
			m->rest[m->nrest++] = m->other[k];
	for (size_t k = 0; tr && k < m->nother; k++)
		free(tr[k]);
	free(tr);
	free(exprs);
	free(in_db);
	free(flags);
	free(ids);
}

int multire_build(struct expr_regex *const *res, size_t n, struct multire **out)
{
	struct multire *m = calloc(1, sizeof(*m));
	const char **lits = calloc(n ? n : 1, sizeof(*lits));
	size_t *lens = calloc(n ? n : 1, sizeof(*lens)), nlit = 0;
	uint8_t *wb = calloc(n ? n : 1, 1);
	int err = 0;

	*out = NULL;
	if (m)
		pthread_mutex_init(&m->lock, NULL);
	if (!m || !lits || !lens || !wb || !(m->all = calloc(n ? n : 1, sizeof(*m->all))) ||
	    !(m->other = calloc(n ? n : 1, sizeof(*m->other))) ||
	    !(m->rest = calloc(n ? n : 1, sizeof(*m->rest)))) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; !err && i < n; i++) {
		const char *p = regex_pattern(res[i]);
		char *lit = malloc(strlen(p) + 1);

		m->all[m->n++] = regex_ref(res[i]);
		if (!lit) {
			err = -ENOMEM;
		} else if (word_literal(p, lit, &lens[nlit], &wb[nlit])) {
			lits[nlit++] = lit;
			continue;
		} else {
			m->other[m->nother++] = i;
		}
		free(lit);
	}
	if (!err && nlit)
		err = strset_build_words(lits, lens, wb, nlit, &m->words);
	m->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
out:
	for (size_t i = 0; lits && i < nlit; i++)
		free((char *)lits[i]);
	free(lits);
	free(lens);
	free(wb);
	if (err) {
		multire_free(m);
		return err;
	}
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

/* The others: Vectorscan's database, then what it did not take. */
static int others_any(struct multire *m, const char *s, size_t len)
{
	struct expr_vm *vm = vm_current();
	bool hit = false;
	hs_error_t rc;

	if (!__atomic_load_n(&m->built, __ATOMIC_ACQUIRE)) {
		if (__atomic_fetch_add(&m->searches, 1, __ATOMIC_RELAXED) < DB_AFTER_SEARCHES) {
			int found = search_each(m, m->other, m->nother, s, len);

			if (found != -E2BIG)
				return found;
		}
		pthread_mutex_lock(&m->lock);
		if (!m->built) {
			build_db(m);
			__atomic_store_n(&m->built, true, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&m->lock);
	}
	if (!m->db || !vm || len > UINT32_MAX || !utf8_valid(s, len))
		return search_each(m, m->other, m->nother, s, len);
	/* a scratch grown for one database stays good for those it served before */
	if (vm->hs_sized[m->id % EXPR_VM_HS_SLOTS] != m->id) {
		if (hs_alloc_scratch(m->db, (hs_scratch_t **)&vm->hs_scratch) != HS_SUCCESS)
			return search_each(m, m->other, m->nother, s, len);
		vm->hs_sized[m->id % EXPR_VM_HS_SLOTS] = m->id;
	}
	rc = hs_scan(m->db, s, (unsigned int)len, 0, vm->hs_scratch, on_match, &hit);
	if (hit)
		return 1;
	if (rc != HS_SUCCESS)
		return search_each(m, m->other, m->nother, s, len);
	return search_each(m, m->rest, m->nrest, s, len);
}

static int scan(struct multire *m, const char *s, size_t len)
{
	if (m->words && strset_any(m->words, s, len) == 1)
		return 1;
	if (!m->nother)
		return 0;
	return others_any(m, s, len);
}

int multire_any(const struct multire *cm, const char *s, size_t len)
{
	struct multire *m = (struct multire *)cm;	/* only the lazy database changes */
	struct expr_vm *vm = len <= EXPR_VM_RESULT_LEN ? vm_current() : NULL;
	uint64_t h = vm ? cs_hash(s, len) : 0;
	int rc;

	if (vm && vm_result_get(vm, m->id, s, len, h, &rc))
		return rc;
	rc = scan(m, s, len);
	/* a limit hit is an answer too: the same subject hits it again */
	if (vm && (rc == 0 || rc == 1 || rc == -E2BIG))
		vm_result_put(vm, m->id, s, len, h, rc);
	return rc;
}
