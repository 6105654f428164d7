// SPDX-License-Identifier: MIT
/*
 * Literal multi-pattern matching for the hub's commonest loop,
 * any(File("list.txt"), { x contains Upper(#) }) and its ==, startsWith and
 * endsWith forms: instead of one comparison per line of the file and per
 * event, the lines are indexed once (by their first byte, their last byte for
 * endsWith, and a bitmap of their first two bytes for contains) and an event
 * costs one pass over x plus a few memcmp; for `x matches #`, one multire scan
 * (multire.c). The index belongs to the thread's
 * vm, keyed by the list object, which is immutable and kept alive by it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "expr/ast.h"

/*
 * Buckets: by first byte (==, startsWith), last byte (endsWith); contains:
 * one-byte lines by their byte, longer ones by a hash of their first two bytes
 * (a user-agent list shares first bytes a lot, much less first pairs).
 */
#define NBUCKETS 1024

struct strset {
	int op;			/* OP_EQ, OP_CONTAINS, OP_STARTS, OP_ENDS, OP_MATCHES */
	struct multire *re;	/* OP_MATCHES: all the lines at once */
	uint32_t n;
	struct expr_value *pat;	/* the (case-mapped) lines */
	uint32_t *order;	/* pattern indices grouped by bucket */
	uint32_t start[NBUCKETS + 1];	/* bucket b is order[start[b]..start[b+1]) */
	bool has_empty;		/* a "" line */
	uint64_t one[4];	/* contains: first bytes of one-byte lines */
	uint64_t two[1024];	/* contains: first two bytes of longer lines */
	uint8_t *wb;		/* contains, optional: WB_START/WB_END per line (\b) */
};

enum { WB_START = 1, WB_END = 2 };

static unsigned int pair_bucket(unsigned char a, unsigned char b)
{
	return 256 + ((unsigned int)a * 31 + b) % (NBUCKETS - 256);
}

static unsigned int bucket_of(int op, const struct expr_str *s)
{
	const unsigned char *p = (const unsigned char *)s->s;

	if (op == OP_ENDS)
		return p[s->len - 1];
	if (op == OP_CONTAINS && s->len > 1)
		return pair_bucket(p[0], p[1]);
	return p[0];
}

void strset_free(struct strset *set)
{
	if (!set)
		return;
	expr_values_free(set->pat, set->n);
	free(set->order);
	free(set->wb);
	multire_free(set->re);
	free(set);
}

/*
 * Every line must compile alone (the general path would report the first one
 * that does not, when it reaches it); then they are matched all at once.
 */
static int build_regex(struct strset *set)
{
	struct expr_regex **res = calloc(set->n ? set->n : 1, sizeof(*res));
	uint32_t n = 0;
	int err = res ? 0 : -ENOMEM;

	for (; !err && n < set->n; n++) {
		const struct expr_str *p = set->pat[n].s;
		char msg[8];

		if (strlen(p->s) != p->len || expr_regex_compile(p->s, &res[n], msg, sizeof(msg)))
			err = -EINVAL;
	}
	if (!err)
		err = multire_build(res, set->n, &set->re);
	regex_put_all(res, n);
	return err;
}

/* The buckets and bitmaps over set->pat[0..n). */
static int build_index(struct strset *set)
{
	uint32_t *count = calloc(NBUCKETS, sizeof(*count));
	int op = set->op;

	set->order = calloc(set->n ? set->n : 1, sizeof(*set->order));
	if (!set->order || !count) {
		free(count);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < set->n; i++) {
		const struct expr_str *s = set->pat[i].s;

		if (!s->len) {
			set->has_empty = true;
			continue;
		}
		count[bucket_of(op, s)]++;
		if (op == OP_CONTAINS) {
			unsigned int c = (unsigned char)s->s[0];

			if (s->len == 1) {
				set->one[c >> 6] |= 1ull << (c & 63);
			} else {
				c = c << 8 | (unsigned char)s->s[1];
				set->two[c >> 6] |= 1ull << (c & 63);
			}
		}
	}
	for (int b = 0; b < NBUCKETS; b++)
		set->start[b + 1] = set->start[b] + count[b];
	memset(count, 0, NBUCKETS * sizeof(*count));
	for (uint32_t i = 0; i < set->n; i++) {
		const struct expr_str *s = set->pat[i].s;
		unsigned int b;

		if (!s->len)
			continue;
		b = bucket_of(op, s);
		set->order[set->start[b] + count[b]++] = i;
	}
	free(count);
	return 0;
}

/* The index over the lines filled in, or the set freed on an earlier error. */
static int finish(struct strset *set, int err, struct strset **out)
{
	if (!err)
		err = build_index(set);
	if (err) {
		strset_free(set);
		return err;
	}
	*out = set;
	return 0;
}

/* -EINVAL when an element is not a string: the caller takes the general path. */
int strset_build(const struct expr_array *list, int op, int cmap, struct strset **out)
{
	struct strset *set = calloc(1, sizeof(*set));
	int err = 0;

	*out = NULL;
	if (!set)
		return -ENOMEM;
	set->op = op;
	set->pat = calloc(list->len ? list->len : 1, sizeof(*set->pat));
	if (!set->pat)
		err = -ENOMEM;
	for (uint32_t i = 0; !err && i < list->len; i++) {
		const struct expr_value *v = &list->items[i];

		if (v->kind != EXPR_STRING) {
			err = -EINVAL;
			break;
		}
		if (cmap)
			err = case_map(v, cmap == CMAP_UPPER, &set->pat[i]);
		else
			set->pat[i] = expr_value_ref(v);
		set->n = i + 1;
	}
	if (!err && op == OP_MATCHES)
		err = build_regex(set);
	return finish(set, err, out);
}

int strset_build_words(const char *const *lits, const size_t *lens, const uint8_t *wb,
		       size_t n, struct strset **out)
{
	struct strset *set = calloc(1, sizeof(*set));
	int err = 0;

	*out = NULL;
	if (!set)
		return -ENOMEM;
	set->op = OP_CONTAINS;
	if (!(set->pat = calloc(n ? n : 1, sizeof(*set->pat))) ||
	    (wb && !(set->wb = malloc(n ? n : 1))))
		err = -ENOMEM;
	for (size_t i = 0; !err && i < n; i++) {
		err = expr_stringn(lits[i], lens[i], &set->pat[i]);
		if (wb)
			set->wb[i] = wb[i];
		set->n = (uint32_t)i + 1;
	}
	return finish(set, err, out);
}

static bool is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* \b at s[at] (ASCII word characters, as PCRE2 without UCP and RE2). */
static bool boundary(const char *s, size_t len, size_t at)
{
	bool before = at > 0 && is_word((unsigned char)s[at - 1]);
	bool after = at < len && is_word((unsigned char)s[at]);

	return before != after;
}

/* x[0..xl) is the whole subject; for contains, at is where the lines start. */
static bool bucket_match(const struct strset *set, unsigned int b, const char *x, size_t xl,
			 size_t at)
{
	for (uint32_t k = set->start[b]; k < set->start[b + 1]; k++) {
		uint32_t i = set->order[k];
		const struct expr_str *p = set->pat[i].s;

		switch (set->op) {
		case OP_EQ:
			if (p->len == xl && !memcmp(p->s, x, xl))
				return true;
			break;
		case OP_STARTS:
			if (p->len <= xl && !memcmp(p->s, x, p->len))
				return true;
			break;
		case OP_CONTAINS:
			if (p->len > xl - at || memcmp(p->s, x + at, p->len))
				break;
			if (set->wb && (((set->wb[i] & WB_START) && !boundary(x, xl, at)) ||
					((set->wb[i] & WB_END) && !boundary(x, xl, at + p->len))))
				break;
			return true;
		case OP_ENDS:
			if (p->len <= xl && !memcmp(p->s, x + xl - p->len, p->len))
				return true;
			break;
		}
	}
	return false;
}

/* any(list, { x OP # }) with the lines as #: 1, 0, or -E2BIG (a regex limit). */
int strset_any(const struct strset *set, const char *x, size_t xl)
{
	if (set->op == OP_MATCHES)
		return multire_any(set->re, x, xl);
	if (set->op == OP_EQ) {
		if (!xl)
			return set->has_empty;
		return bucket_match(set, (unsigned char)x[0], x, xl, 0);
	}
	if (set->has_empty)
		return true;
	if (!xl)
		return false;
	if (set->op != OP_CONTAINS)
		return bucket_match(set, (unsigned char)x[set->op == OP_ENDS ? xl - 1 : 0], x, xl, 0);
	for (size_t i = 0; i < xl; i++) {
		unsigned int c = (unsigned char)x[i], c2;

		if ((set->one[c >> 6] & (1ull << (c & 63))) &&
		    (!set->wb || bucket_match(set, (unsigned char)c, x, xl, i)))
			return true;
		if (i + 1 == xl)
			break;
		c2 = c << 8 | (unsigned char)x[i + 1];
		if ((set->two[c2 >> 6] & (1ull << (c2 & 63))) &&
		    bucket_match(set, pair_bucket((unsigned char)c, (unsigned char)x[i + 1]), x, xl,
				 i))
			return true;
	}
	return false;
}

/* Sets found[i] for every line i of bucket b that x contains at `at`. */
static void bucket_mark(const struct strset *set, unsigned int b, const char *x, size_t xl,
			size_t at, uint64_t *found)
{
	for (uint32_t k = set->start[b]; k < set->start[b + 1]; k++) {
		uint32_t i = set->order[k];
		const struct expr_str *p = set->pat[i].s;

		if (p->len <= xl - at && !memcmp(p->s, x + at, p->len))
			found[i / 64] |= 1ull << (i % 64);
	}
}

void strset_found(const struct strset *set, const char *x, size_t xl, uint64_t *found)
{
	for (size_t i = 0; i < xl; i++) {
		unsigned int c = (unsigned char)x[i], c2;

		if (set->one[c >> 6] & (1ull << (c & 63)))
			bucket_mark(set, c, x, xl, i, found);
		if (i + 1 == xl)
			break;
		c2 = c << 8 | (unsigned char)x[i + 1];
		if (set->two[c2 >> 6] & (1ull << (c2 & 63)))
			bucket_mark(set, pair_bucket((unsigned char)c, (unsigned char)x[i + 1]), x, xl,
				    i, found);
	}
}
