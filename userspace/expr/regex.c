// SPDX-License-Identifier: MIT
/*
 * Regexes for expr (matches, RegexpInFile...) and anyone else who needs Go RE2
 * syntax: PCRE2 with UTF, DOLLAR_ENDONLY (RE2's `$` is end of text only),
 * MATCH_INVALID_UTF (RE2 never fails on bad bytes) and no UCP (RE2's \d \w \b
 * are ASCII). JIT-compiled when available; matches are bounded by a match
 * limit so a backtracking pattern cannot hang a parser routine.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "common/hash.h"
#include "expr/expr_int.h"

#define MATCH_LIMIT 2000000u
#define DEPTH_LIMIT 10000u
#define CACHE_SLOTS 128

struct expr_regex {
	int refcnt;
	pcre2_code *code;
	char *pattern;
};

static pcre2_match_context *mctx;
static pthread_mutex_t mctx_lock = PTHREAD_MUTEX_INITIALIZER;

/* The limits live in one shared match context, created on first use (and
 * again after expr_cleanup()). */
static pcre2_match_context *get_mctx(void)
{
	pcre2_match_context *c = __atomic_load_n(&mctx, __ATOMIC_ACQUIRE);

	if (c)
		return c;
	pthread_mutex_lock(&mctx_lock);
	if (!mctx) {
		c = pcre2_match_context_create(NULL);
		if (c) {
			pcre2_set_match_limit(c, MATCH_LIMIT);
			pcre2_set_depth_limit(c, DEPTH_LIMIT);
			__atomic_store_n(&mctx, c, __ATOMIC_RELEASE);
		}
	}
	c = mctx;
	pthread_mutex_unlock(&mctx_lock);
	return c;
}

/*
 * RE2 -> PCRE2 differences that change meaning (not just acceptance):
 *   \v  RE2: the vertical tab character; PCRE2: any vertical white space.
 *   \s  RE2: [\t\n\f\r ]; PCRE2 adds \v (0x0B). Rewritten outside classes.
 * Everything else RE2 accepts means the same in PCRE2 (spec 5.3).
 */
static char *translate(const char *p)
{
	size_t n = strlen(p), j = 0;
	char *out = malloc(n * 12 + 1);
	bool in_class = false;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n) {
			char c = p[i + 1];

			if (c == 'v') {
				memcpy(out + j, "\\x0b", 4);
				j += 4;
			} else if (c == 's' && !in_class) {
				memcpy(out + j, "[\\t\\n\\f\\r ]", 11);
				j += 11;
			} else if (c == 'S' && !in_class) {
				memcpy(out + j, "[^\\t\\n\\f\\r ]", 12);
				j += 12;
			} else if (c == 's' && in_class) {
				memcpy(out + j, "\\t\\n\\f\\r ", 9);
				j += 9;
			} else {
				out[j++] = '\\';
				out[j++] = c;
			}
			i++;
			continue;
		}
		if (!in_class && p[i] == '[') {
			in_class = true;
			out[j++] = p[i];
			/* a leading ] or ^] is literal */
			if (i + 1 < n && p[i + 1] == '^')
				out[j++] = p[++i];
			if (i + 1 < n && p[i + 1] == ']')
				out[j++] = p[++i];
			continue;
		}
		if (in_class && p[i] == '[' && i + 1 < n && p[i + 1] == ':') {
			const char *end = strstr(p + i + 2, ":]");

			if (end) {	/* [:alpha:] inside a class */
				size_t l = end + 2 - (p + i);

				memcpy(out + j, p + i, l);
				j += l;
				i += l - 1;
				continue;
			}
		}
		if (in_class && p[i] == ']')
			in_class = false;
		out[j++] = p[i];
	}
	out[j] = '\0';
	return out;
}

int expr_regex_compile(const char *pattern, struct expr_regex **out, char *errbuf,
		       size_t errsize)
{
	struct expr_regex *re;
	char *tr;
	int errcode;
	PCRE2_SIZE erroff;

	*out = NULL;
	if (errsize)
		errbuf[0] = '\0';
	tr = translate(pattern);
	re = calloc(1, sizeof(*re));
	if (!tr || !re || !(re->pattern = strdup(pattern))) {
		free(tr);
		if (re)
			free(re->pattern);
		free(re);
		return -ENOMEM;
	}
	re->refcnt = 1;
	re->code = pcre2_compile((PCRE2_SPTR)tr, PCRE2_ZERO_TERMINATED,
				 PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_MATCH_INVALID_UTF,
				 &errcode, &erroff, NULL);
	free(tr);
	if (!re->code) {
		if (errsize) {
			PCRE2_UCHAR msg[120];

			pcre2_get_error_message(errcode, msg, sizeof(msg));
			snprintf(errbuf, errsize, "%s at offset %zu", (char *)msg, (size_t)erroff);
		}
		free(re->pattern);
		free(re);
		return -EINVAL;
	}
	/* JIT is an optimisation: if it is unavailable the interpreter runs */
	pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
	*out = re;
	return 0;
}

/* md: match data to reuse across calls (one ovector pair is enough), or NULL. */
int regex_search_md(const struct expr_regex *re, const char *s, size_t len, void *md_reuse)
{
	pcre2_match_data *md = md_reuse;
	pcre2_match_context *ctx;
	int rc;

	if (!re)
		return -EINVAL;
	ctx = get_mctx();
	if (!ctx)
		return -ENOMEM;	/* never match without limits */
	if (!md_reuse) {
		md = pcre2_match_data_create(1, NULL);
		if (!md)
			return -ENOMEM;
	}
	rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, md, ctx);
	if (!md_reuse)
		pcre2_match_data_free(md);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_HEAPLIMIT)
		return -E2BIG;
	if (rc == PCRE2_ERROR_NOMEMORY)
		return -ENOMEM;
	return -EINVAL;
}

void *regex_md_new(void)
{
	return pcre2_match_data_create(1, NULL);
}

void regex_md_free(void *md)
{
	pcre2_match_data_free(md);
}

int expr_regex_search(const struct expr_regex *re, const char *s, size_t len)
{
	return regex_search_md(re, s, len, NULL);
}

struct expr_regex *regex_ref(struct expr_regex *re)
{
	if (re)
		ref_get(&re->refcnt);
	return re;
}

void regex_put(struct expr_regex *re)
{
	if (!re || !ref_put(&re->refcnt))
		return;
	pcre2_code_free(re->code);
	free(re->pattern);
	free(re);
}

void expr_regex_free(struct expr_regex *re)
{
	regex_put(re);
}

/*
 * Patterns only known at run time (`x matches evt.Meta.re`) go through a small
 * direct-mapped cache: a hit costs a hash and a compare, a miss compiles and
 * evicts the slot's previous owner (users hold their own reference).
 */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct expr_regex *cache[CACHE_SLOTS];

struct expr_regex *regex_cache_get(const char *pattern, char *errbuf, size_t errsize)
{
	uint32_t slot = cs_hash_str(pattern) % CACHE_SLOTS;
	struct expr_regex *re = NULL, *old = NULL;

	pthread_mutex_lock(&cache_lock);
	if (cache[slot] && !strcmp(cache[slot]->pattern, pattern))
		re = regex_ref(cache[slot]);
	pthread_mutex_unlock(&cache_lock);
	if (re)
		return re;
	if (expr_regex_compile(pattern, &re, errbuf, errsize))
		return NULL;
	pthread_mutex_lock(&cache_lock);
	old = cache[slot];
	cache[slot] = regex_ref(re);
	pthread_mutex_unlock(&cache_lock);
	regex_put(old);
	return re;
}

void expr_cleanup(void)
{
	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < CACHE_SLOTS; i++) {
		regex_put(cache[i]);
		cache[i] = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
	/* only at exit / reload: no match may be running */
	pthread_mutex_lock(&mctx_lock);
	pcre2_match_context_free(mctx);
	mctx = NULL;
	pthread_mutex_unlock(&mctx_lock);
}
