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
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "common/pcre_jit.h"
#include "expr/expr_int.h"


struct expr_regex {
	int refcnt;
	pcre2_code *code;
	bool jitted; /* pcre_jit_once() */
	char *pattern;
};

/*
 * RE2 -> PCRE2 differences that change meaning (not just acceptance):
 *   \v  RE2: the vertical tab character; PCRE2: any vertical white space.
 *   \s  RE2: [\t\n\f\r ]; PCRE2 adds \v (0x0B). Rewritten outside classes.
 * Everything else RE2 accepts means the same in PCRE2 (spec 5.3).
 */
char *regex_translate(const char *p)
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
	tr = regex_translate(pattern);
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
	/* JIT-compiled when first searched (common/pcre_jit.h) */
	*out = re;
	return 0;
}

int regex_search(const struct expr_regex *re, const char *s, size_t len)
{
	struct expr_vm *vm = vm_current();
	int rc;

	if (!re)
		return -EINVAL;
	if (!vm)
		return -ENOMEM;	/* never match without limits */
	/* the pattern itself is immutable; only its JIT code is made on first use */
	pcre_jit_once(re->code, &((struct expr_regex *)re)->jitted);
	rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, vm->md, vm->mctx);
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

int expr_regex_search(const struct expr_regex *re, const char *s, size_t len)
{
	return regex_search(re, s, len);
}

const char *regex_pattern(const struct expr_regex *re)
{
	return re->pattern;
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

void regex_put_all(struct expr_regex **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		regex_put(v[i]);
	free(v);
}

void expr_regex_free(struct expr_regex *re)
{
	regex_put(re);
}
