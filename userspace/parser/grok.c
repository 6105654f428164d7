// SPDX-License-Identifier: MIT
#include "parser/grok.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() RUNNING_ON_VALGRIND
#else
#define UNDER_VALGRIND() 0
#endif

#include "common/log.h"
#include "common/pcre_jit.h"
#include "common/strbuf.h"
#include "common/strmap.h"
#include "common/strv.h"
#include "common/thread_slot.h"
#include "common/utf8.h"
#include "common/vec.h"
#include "parser/grok_builtin.h"
#include "parser/grok_syslog.h"
#include "parser/parser_limits.h"

#define GROK_MAX_LITERALS 4
/* Shorter literals reject too few subjects to pay for their search. */
#define GROK_MIN_LITERAL 3
#define GROK_MAX_LITERAL 64

struct grok_literal {
	char s[GROK_MAX_LITERAL];
	size_t len;
	size_t anchor; /* the byte searched for first: the one least likely in text */
};

/* Prefix of the PCRE2 group names we generate; nothing in the hub uses it. */
#define GROUP_PREFIX "_grok"

static unsigned int g_match_limit = CS_GROK_MATCH_LIMIT;
static unsigned int g_depth_limit = CS_GROK_DEPTH_LIMIT;

struct grok_lib {
	struct strmap *patterns;
};

struct grok_field {
	char *name;
	const struct strmap_key *key; /* NULL: no room to intern it */
	int group; /* PCRE2 group number */
	enum grok_syslog_part part; /* its span when grok_syslog_read() stands for the regex */
};

struct grok {
	pcre2_code *code;
	bool jitted; /* pcre_jit_once(); set at compile under valgrind (no JIT) */
	/*
	 * The same regex compiled byte-wise, for subjects that are not valid UTF-8:
	 * PCRE2's invalid-UTF mode lets no pattern item match a bad byte, whereas Go
	 * reads each as U+FFFD, which `.`, `\S` or `[^"]` do match. NULL if the
	 * regex needs UTF mode (code points above 255).
	 */
	pcre2_code *code_bytes;
	pcre2_match_context *mctx;
	char *regex;
	struct grok_field *fields;
	size_t nfields;
	uint32_t ngroups; /* capture groups of the larger of the two codes */
	/*
	 * Literals every match contains: a subject missing one cannot match, and is
	 * answered without running PCRE2 (sshd-logs tries ~10 groks per line, each
	 * on a message most of them cannot match).
	 */
	struct grok_literal literals[GROK_MAX_LITERALS];
	size_t nliterals;
	/* The regex is `^%{SYSLOGLINE}`'s: grok_syslog_read() reads most lines without it. */
	bool syslog;
};

void grok_set_limits(unsigned int match_limit, unsigned int depth_limit)
{
	g_match_limit = match_limit;
	g_depth_limit = depth_limit;
}

int grok_lib_new(struct grok_lib **out)
{
	struct grok_lib *lib = calloc(1, sizeof(*lib));

	if (!lib)
		return -ENOMEM;
	lib->patterns = strmap_new();
	if (!lib->patterns) {
		free(lib);
		return -ENOMEM;
	}
	*out = lib;
	return 0;
}

void grok_lib_free(struct grok_lib *lib)
{
	if (!lib)
		return;
	strmap_free(lib->patterns);
	free(lib);
}

static bool is_word(int c)
{
	return isalnum(c) || c == '_';
}

static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_word((unsigned char)*s))
			return false;
	return true;
}

int grok_lib_add(struct grok_lib *lib, const char *name, const char *regex)
{
	if (!valid_name(name))
		return -EINVAL;
	if (strmap_has(lib->patterns, name))
		return -EEXIST;
	return strmap_set(lib->patterns, name, regex);
}

bool grok_lib_has(const struct grok_lib *lib, const char *name)
{
	return strmap_has(lib->patterns, name);
}

int grok_lib_add_builtins(struct grok_lib *lib)
{
	for (const struct grok_builtin *b = grok_builtins; b->name; b++) {
		int err = grok_lib_add(lib, b->name, b->regex);

		if (err)
			return err;
	}
	return 0;
}

int grok_lib_load_file(struct grok_lib *lib, const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int err = 0, lineno = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *p = line, *name;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		name = p;
		while (is_word((unsigned char)*p))
			p++;
		/* Only "NAME<space>REGEX" lines define something (spec 5.1). */
		if (p == name || (*p != ' ' && *p != '\t'))
			continue;
		*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		err = grok_lib_add(lib, name, p);
		if (err == -EEXIST) {
			log_warn("%s:%d: grok pattern %s already defined, keeping the first", path,
				 lineno, name);
			err = 0;
		}
		if (err)
			break;
	}
	free(line);
	fclose(f);
	return err;
}

/* Pattern files have no extension (READMEs and the like do). */
static bool is_pattern_file(const char *dir, const char *name, void *arg)
{
	return !strchr(name, '.');
}

int grok_lib_load_dir(struct grok_lib *lib, const char *dir)
{
	char **names, path[4096];
	size_t n;
	int err = strv_from_dir(dir, is_pattern_file, NULL, &names, &n);

	for (size_t i = 0; i < n && !err; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		err = grok_lib_load_file(lib, path);
		if (err)
			log_error("grok patterns %s: %s", path, strerror(-err));
	}
	strv_free(names, n);
	return err;
}

/* One %{X:name} seen during expansion. */
struct occurrence {
	char *name;
	int id;	       /* the N of _grokN */
	bool toplevel; /* written in the pattern itself, not inside a library entry */
};

struct expand_ctx {
	const struct grok_lib *lib;
	struct sbuf out;
	struct occurrence *occ;
	size_t nocc, capocc;
	int next_id;
	char *errbuf;
	size_t errlen;
};

static int add_occurrence(struct expand_ctx *x, const char *name, size_t len, bool top)
{
	struct occurrence *o;

	if (vec_reserve((void **)&x->occ, &x->capocc, x->nocc, sizeof(*o), 16))
		return -ENOMEM;
	o = &x->occ[x->nocc];
	o->name = strndup(name, len);
	if (!o->name)
		return -ENOMEM;
	o->id = x->next_id++;
	o->toplevel = top;
	x->nocc++;
	return o->id;
}

/*
 * Parse "%{NAME}" or "%{NAME:sem}" at p (which points at '%'). Anything else
 * (a type suffix, a dash...) is not a reference and stays literal, as in
 * CrowdSec. Returns the length of the reference or 0.
 */
static size_t parse_ref(const char *p, const char **name, size_t *nlen, const char **sem,
			size_t *slen)
{
	const char *q = p + 2;

	if (p[0] != '%' || p[1] != '{')
		return 0;
	*name = q;
	while (is_word((unsigned char)*q))
		q++;
	*nlen = q - *name;
	if (!*nlen)
		return 0;
	*sem = NULL;
	*slen = 0;
	if (*q == ':') {
		*sem = ++q;
		while (is_word((unsigned char)*q))
			q++;
		*slen = q - *sem;
		if (!*slen)
			return 0;
	}
	if (*q != '}')
		return 0;
	return q + 1 - p;
}

static int expand(struct expand_ctx *x, const char *re, int depth)
{
	const char *p = re, *lit = re;

	if (depth > CS_GROK_MAX_NESTING) {
		snprintf(x->errbuf, x->errlen, "grok patterns nest too deep (a cycle?)");
		return -EINVAL;
	}
	while ((p = strchr(p, '%'))) {
		const char *name, *sem, *def;
		size_t nlen, slen, rlen = parse_ref(p, &name, &nlen, &sem, &slen);
		char key[256];
		int err;

		if (!rlen) {
			p++;
			continue;
		}
		sb_putn(&x->out, lit, p - lit);
		if (nlen >= sizeof(key)) {
			snprintf(x->errbuf, x->errlen, "grok pattern name too long");
			return -EINVAL;
		}
		memcpy(key, name, nlen);
		key[nlen] = '\0';
		def = strmap_get(x->lib->patterns, key);
		if (!def) {
			snprintf(x->errbuf, x->errlen, "unknown grok pattern %%{%s}", key);
			return -EINVAL;
		}
		if (sem) {
			char grp[48];
			int id = add_occurrence(x, sem, slen, depth == 0);

			if (id < 0)
				return id;
			snprintf(grp, sizeof(grp), "(?<" GROUP_PREFIX "%d>", id);
			sb_puts(&x->out, grp);
		} else {
			sb_puts(&x->out, "(");
		}
		err = expand(x, def, depth + 1);
		if (err)
			return err;
		sb_puts(&x->out, ")");
		p += rlen;
		lit = p;
	}
	sb_puts(&x->out, lit);
	return x->out.err;
}

/* Does p start a repeat Go accepts: {n}, {n,} or {n,m}? */
static bool go_repeat(const char *p)
{
	const char *q = p + 1;

	if (!isdigit((unsigned char)*q))
		return false;
	while (isdigit((unsigned char)*q))
		q++;
	if (*q == ',') {
		q++;
		while (isdigit((unsigned char)*q))
			q++;
	}
	return *q == '}';
}

/*
 * Rewrite the few RE2 constructs PCRE2 reads differently (spec 5.3):
 *  - `\s` is [\t\n\f\r ] in Go; PCRE2 adds \v;
 *  - a `{` that does not start a valid repeat is a literal in Go; PCRE2 10.43+
 *    reads `{,n}` as a repeat.
 * Everything else is passed through; escapes and \Q..\E are skipped whole.
 */
static char *translate_re2(const char *re)
{
	struct sbuf b = { 0 };
	bool in_class = false;

	for (const char *p = re; *p; p++) {
		if (p[0] == '\\' && p[1] == 'Q') {
			const char *e = strstr(p + 2, "\\E");
			size_t n = e ? (size_t)(e + 2 - p) : strlen(p);

			sb_putn(&b, p, n);
			p += n - 1;
			continue;
		}
		if (p[0] == '\\' && (p[1] == 'p' || p[1] == 'P' || p[1] == 'x') && p[2] == '{') {
			const char *e = strchr(p + 3, '}');
			size_t n = e ? (size_t)(e + 1 - p) : strlen(p);

			/* \p{Greek}, \x{263a}: the braces belong to the escape. */
			sb_putn(&b, p, n);
			p += n - 1;
			continue;
		}
		if (p[0] == '\\' && p[1]) {
			if (p[1] == 's')
				sb_puts(&b, in_class ? "\\t\\n\\f\\r " : "[\\t\\n\\f\\r ]");
			else if (p[1] == 'S' && !in_class)
				sb_puts(&b, "[^\\t\\n\\f\\r ]");
			else
				sb_putn(&b, p, 2);
			p++;
			continue;
		}
		if (!in_class && *p == '[') {
			in_class = true;
			sb_putn(&b, p, 1);
			/* A ']' right after '[' or '[^' is a literal. */
			if (p[1] == '^') {
				sb_putn(&b, ++p, 1);
			}
			if (p[1] == ']')
				sb_putn(&b, ++p, 1);
			continue;
		}
		if (in_class && p[0] == '[' && p[1] == ':') {
			const char *e = strstr(p + 2, ":]");

			if (e) {
				sb_putn(&b, p, e + 2 - p);
				p = e + 1;
				continue;
			}
		}
		if (in_class && *p == ']')
			in_class = false;
		if (!in_class && *p == '{' && !go_repeat(p)) {
			sb_puts(&b, "\\{");
			continue;
		}
		sb_putn(&b, p, 1);
	}
	return sb_take(&b, NULL);
}

/* Past a class that starts at p ('['), or NULL when it does not end. */
static const char *skip_class(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	for (; *p; p++) {
		if (*p == '\\') {
			if (!*++p)
				return NULL;
		} else if (p[0] == '[' && p[1] == ':') {
			const char *e = strstr(p + 2, ":]");

			if (e)
				p = e + 1;
		} else if (*p == ']') {
			return p + 1;
		}
	}
	return NULL;
}

/* Past a quantifier at p (and its lazy/possessive mark), or p when there is none. */
static const char *skip_quantifier(const char *p)
{
	if (*p == '{') {
		const char *e = strchr(p, '}');

		p = e ? e + 1 : p + 1;
	} else if (*p == '?' || *p == '*' || *p == '+') {
		p++;
	} else {
		return p;
	}
	if (*p == '?' || *p == '+')
		p++;
	return p;
}

static bool is_quantifier(char c)
{
	return c == '?' || c == '*' || c == '+' || c == '{';
}

/* How rarely a byte shows in log text, roughly: spaces and lower case are everywhere. */
static int byte_rank(char c)
{
	if (c == ' ')
		return 0;
	if (islower((unsigned char)c))
		return 1;
	if (isdigit((unsigned char)c))
		return 2;
	if (isupper((unsigned char)c))
		return 3;
	return c == '.' || c == ':' || c == '/' || c == '-' ? 2 : 4;
}

/* Keep the run as a literal if it is long enough, the longest ones first. */
static void keep_literal(struct grok *g, const char *run, size_t len)
{
	size_t i;

	if (len < GROK_MIN_LITERAL)
		return;
	for (i = g->nliterals; i > 0 && g->literals[i - 1].len < len; i--)
		if (i < GROK_MAX_LITERALS)
			g->literals[i] = g->literals[i - 1];
	if (i >= GROK_MAX_LITERALS)
		return;
	memcpy(g->literals[i].s, run, len);
	g->literals[i].len = len;
	g->literals[i].anchor = 0;
	for (size_t j = 1; j < len; j++)
		if (byte_rank(run[j]) > byte_rank(run[g->literals[i].anchor]))
			g->literals[i].anchor = j;
	if (g->nliterals < GROK_MAX_LITERALS)
		g->nliterals++;
}

/*
 * The runs of plain characters of the regex's top level (outside every group,
 * class and alternation, not made optional by a quantifier): any match holds
 * each of them. When the regex has a construct this reading does not follow
 * (a top-level `|`, inline options such as (?i), \Q, escapes that stand for a
 * character), it keeps none: PCRE2 alone decides, as before.
 */
static void find_literals(struct grok *g)
{
	char run[GROK_MAX_LITERAL];
	size_t rl = 0;
	int depth = 0;
	const char *p = g->regex;

	while (*p) {
		char c = *p;

		if (c == '\\') {
			char n = p[1];

			if (!n)
				goto none;
			if (isalnum((unsigned char)n)) {
				/* a class or an assertion; anything else (\x41, \Q, \1)
				 * is not read */
				if (!strchr("dDwWsSbBhHvVAzZGKtnrfea", n))
					goto none;
				p += 2;
				if (!depth) {
					keep_literal(g, run, rl);
					rl = 0;
				}
				continue;
			}
			p++; /* an escaped punctuation character is itself */
		} else if (c == '[') {
			p = skip_class(p);
			if (!p)
				goto none;
			if (!depth) {
				keep_literal(g, run, rl);
				rl = 0;
			}
			continue;
		} else if (c == '(') {
			if (p[1] == '*')
				goto none; /* (*ACCEPT) and other verbs end or steer a match */
			if (p[1] == '?') {
				char k = p[2];
				bool group = k == ':' || k == '=' || k == '!' || k == '>' ||
					     (k == '<' &&
					      (p[3] == '=' || p[3] == '!' || p[3] == '_' ||
					       isalpha((unsigned char)p[3]))) ||
					     (k == 'P' && p[3] == '<');

				if (!group)
					goto none; /* options, comments, conditions, recursion */
			}
			if (!depth++) {
				keep_literal(g, run, rl);
				rl = 0;
			}
			p++;
			continue;
		} else if (c == ')') {
			if (--depth < 0)
				goto none;
			p = depth ? p + 1 : skip_quantifier(p + 1);
			continue;
		} else if (c == '|') {
			if (!depth)
				goto none;
			p++;
			continue;
		}
		if (depth) {
			p++;
			continue;
		}
		if (c == '.' || c == '^' || c == '$' || is_quantifier(c) ||
		    (unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e ||
		    is_quantifier(p[1])) {
			/* the character before a quantifier may be absent or repeated */
			keep_literal(g, run, rl);
			rl = 0;
			p = skip_quantifier(is_quantifier(c) ? p : p + 1);
			continue;
		}
		if (rl == sizeof(run)) {
			keep_literal(g, run, rl);
			rl = 0;
		}
		run[rl++] = *p++;
	}
	if (depth)
		goto none;
	keep_literal(g, run, rl);
	return;
none:
	g->nliterals = 0;
}

void grok_free(struct grok *g)
{
	if (!g)
		return;
	pcre2_code_free(g->code);
	pcre2_code_free(g->code_bytes);
	pcre2_match_context_free(g->mctx);
	for (size_t i = 0; i < g->nfields; i++)
		free(g->fields[i].name);
	free(g->fields);
	free(g->regex);
	free(g);
}

/*
 * Pick, for every distinct field name, the occurrence whose group is reported:
 * the last top-level one, else the last nested one (spec 5.2).
 */
static int resolve_fields(struct grok *g, struct expand_ctx *x)
{
	g->fields = calloc(x->nocc ? x->nocc : 1, sizeof(*g->fields));
	if (!g->fields)
		return -ENOMEM;
	for (size_t i = 0; i < x->nocc; i++) {
		struct occurrence *best = NULL;
		char grp[48];
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(x->occ[j].name, x->occ[i].name);
		if (seen)
			continue;
		for (size_t j = i; j < x->nocc; j++) {
			struct occurrence *o = &x->occ[j];

			if (strcmp(o->name, x->occ[i].name))
				continue;
			if (!best || o->toplevel || !best->toplevel)
				best = o;
		}
		snprintf(grp, sizeof(grp), GROUP_PREFIX "%d", best->id);
		g->fields[g->nfields].group =
			pcre2_substring_number_from_name(g->code, (PCRE2_SPTR)grp);
		if (g->fields[g->nfields].group < 0)
			return -EINVAL;
		g->fields[g->nfields].name = strdup(best->name);
		if (!g->fields[g->nfields].name)
			return -ENOMEM;
		g->fields[g->nfields].key = strmap_key_intern(best->name);
		g->nfields++;
	}
	return 0;
}

/* Expand `pattern` and translate it to PCRE2's dialect (x->occ: its captures). */
static int expand_regex(struct expand_ctx *x, const char *pattern, char **regex)
{
	int err = expand(x, pattern, 0) ?: x->out.err;

	if (err)
		return err;
	*regex = translate_re2(x->out.buf ? x->out.buf : "");
	return *regex ? 0 : -ENOMEM;
}

static void expand_ctx_clear(struct expand_ctx *x)
{
	for (size_t i = 0; i < x->nocc; i++)
		free(x->occ[i].name);
	free(x->occ);
	sb_free(&x->out);
}

/*
 * `^%{SYSLOGLINE}` with the built-in patterns and the hub's definitions of
 * SYSLOGBASE2 and SYSLOGLINE, expanded once: a pattern whose regex and captures
 * are these, whatever names led to them, is what grok_syslog_read() reads.
 */
static struct {
	char *regex;
	struct occurrence *occ;
	size_t nocc;
} syslog_ref;
static pthread_once_t syslog_ref_once = PTHREAD_ONCE_INIT;

static void syslog_ref_init(void)
{
	char dummy[8];
	struct expand_ctx x = { .errbuf = dummy, .errlen = sizeof(dummy) };
	struct grok_lib *lib = NULL;

	if (grok_lib_new(&lib) || grok_lib_add_builtins(lib))
		goto out;
	for (size_t i = 0; grok_syslog_defs[i][0]; i++)
		if (grok_lib_add(lib, grok_syslog_defs[i][0], grok_syslog_defs[i][1]))
			goto out;
	x.lib = lib;
	if (expand_regex(&x, grok_syslog_pattern, &syslog_ref.regex))
		goto out;
	syslog_ref.occ = x.occ;
	syslog_ref.nocc = x.nocc;
	x.occ = NULL;
	x.nocc = 0;
out:
	expand_ctx_clear(&x);
	grok_lib_free(lib);
}

static bool is_syslog_line(const struct grok *g, const struct expand_ctx *x)
{
	pthread_once(&syslog_ref_once, syslog_ref_init);
	/* without the byte-wise code, a subject with bad UTF-8 reads otherwise */
	if (!syslog_ref.regex || !g->code_bytes || strcmp(g->regex, syslog_ref.regex) ||
	    x->nocc != syslog_ref.nocc)
		return false;
	for (size_t i = 0; i < x->nocc; i++)
		if (strcmp(x->occ[i].name, syslog_ref.occ[i].name) ||
		    x->occ[i].toplevel != syslog_ref.occ[i].toplevel)
			return false;
	return true;
}

/* Which span of grok_syslog_read() each field is. */
static bool syslog_parts(struct grok *g)
{
	for (size_t i = 0; i < g->nfields; i++) {
		enum grok_syslog_part p = 0;

		while (grok_syslog_part_name(p) && strcmp(grok_syslog_part_name(p), g->fields[i].name))
			p++;
		if (!grok_syslog_part_name(p))
			return false;
		g->fields[i].part = p;
	}
	return true;
}

int grok_compile(const struct grok_lib *lib, const char *pattern, struct grok **out,
		 char *errbuf, size_t errlen)
{
	struct expand_ctx x = { .lib = lib, .errbuf = errbuf, .errlen = errlen };
	pcre2_compile_context *cctx = NULL;
	char dummy[8];
	struct grok *g;
	int err, pcre_err;
	PCRE2_SIZE off;

	if (!errbuf) {
		x.errbuf = dummy;
		x.errlen = sizeof(dummy);
	}
	x.errbuf[0] = '\0';
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	err = expand_regex(&x, pattern, &g->regex);
	if (err)
		goto out;

	cctx = pcre2_compile_context_create(NULL);
	g->mctx = pcre2_match_context_create(NULL);
	if (!cctx || !g->mctx) {
		err = -ENOMEM;
		goto out;
	}
	/* Go's `.` excludes only \n, whatever newline convention PCRE2 was built with. */
	pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
	/*
	 * UTF + MATCH_INVALID_UTF: non-ASCII pattern text (MONTH has an "ä") works
	 * and a subject with bad bytes is matched, not refused. No UCP: \d \w \b stay
	 * ASCII as in RE2. DOLLAR_ENDONLY: RE2's `$` never matches before a final \n.
	 * DUPNAMES: inline (?P<x>) groups may repeat a name; they are never reported.
	 */
	g->code = pcre2_compile((PCRE2_SPTR)g->regex, PCRE2_ZERO_TERMINATED,
				PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
					PCRE2_DUPNAMES,
				&pcre_err, &off, cctx);
	if (!g->code) {
		char msg[256];

		pcre2_get_error_message(pcre_err, (PCRE2_UCHAR *)msg, sizeof(msg));
		snprintf(x.errbuf, x.errlen, "regex error at offset %zu: %s", (size_t)off, msg);
		err = -EINVAL;
		goto out;
	}
	/*
	 * JIT is an optimisation: without it (unsupported arch) the interpreter
	 * runs, with the same results. Its SIMD loads may read a few bytes past the
	 * subject (harmless: never across a page), which valgrind reports; under
	 * valgrind we use the interpreter so that real errors stand out.
	 */
	g->jitted = UNDER_VALGRIND(); /* else JIT-compiled when first searched */
	g->code_bytes = pcre2_compile((PCRE2_SPTR)g->regex, PCRE2_ZERO_TERMINATED,
				      PCRE2_DOLLAR_ENDONLY | PCRE2_DUPNAMES, &pcre_err, &off, cctx);
	pcre2_set_match_limit(g->mctx, g_match_limit);
	pcre2_set_depth_limit(g->mctx, g_depth_limit);
	pcre2_pattern_info(g->code, PCRE2_INFO_CAPTURECOUNT, &g->ngroups);
	find_literals(g);
	err = resolve_fields(g, &x);
	if (!err)
		g->syslog = is_syslog_line(g, &x) && syslog_parts(g);
out:
	expand_ctx_clear(&x);
	pcre2_compile_context_free(cctx);
	if (err) {
		grok_free(g);
		return err;
	}
	*out = g;
	return 0;
}

int grok_compile_name(const struct grok_lib *lib, const char *name, struct grok **out,
		      char *errbuf, size_t errlen)
{
	if (!grok_lib_has(lib, name)) {
		if (errbuf)
			snprintf(errbuf, errlen, "unknown grok pattern %s", name);
		return -EINVAL;
	}
	/* The named pattern itself is the top level: its fields are not "nested". */
	return grok_compile(lib, strmap_get(lib->patterns, name), out, errbuf, errlen);
}

size_t grok_nliterals(const struct grok *g)
{
	return g->nliterals;
}

const char *grok_literal(const struct grok *g, size_t i, size_t *len)
{
	if (i >= g->nliterals)
		return NULL;
	*len = g->literals[i].len;
	return g->literals[i].s;
}

size_t grok_nfields(const struct grok *g)
{
	return g->nfields;
}

const char *grok_field(const struct grok *g, size_t i)
{
	return i < g->nfields ? g->fields[i].name : NULL;
}

/* Does s hold the literal? memchr for its rarest byte, then the whole. */
static bool holds(const char *s, size_t len, const struct grok_literal *l)
{
	const char *p, *last;

	if (len < l->len)
		return false;
	last = s + (len - l->len) + l->anchor; /* the anchor's last possible place */
	for (p = s + l->anchor; p <= last && (p = memchr(p, l->s[l->anchor], last + 1 - p)); p++)
		if (!memcmp(p - l->anchor, l->s, l->len))
			return true;
	return false;
}

bool grok_may_match(const struct grok *g, const char *subj, size_t len)
{
	for (size_t i = 0; i < g->nliterals; i++)
		if (!holds(subj, len, &g->literals[i]))
			return false;
	return true;
}

static int run_match(const struct grok *g, const pcre2_code *code, const char *subj, size_t len,
		     pcre2_match_data *md, uint32_t opts)
{
	return pcre2_match(code, (PCRE2_SPTR)subj, len, 0, opts, md, g->mctx);
}

/*
 * One match block per thread, grown to the largest pattern it has served:
 * creating one per line was a malloc and a free for every grok of every line.
 */
static void md_free(void *md)
{
	pcre2_match_data_free(md);
}

static struct thread_slot md_slot = THREAD_SLOT(md_free);

static pcre2_match_data *thread_md(uint32_t groups)
{
	pcre2_match_data *md = thread_slot_get(&md_slot);

	if (md && pcre2_get_ovector_count(md) > groups)
		return md;
	pcre2_match_data_free(md);
	thread_slot_set(&md_slot, NULL);
	md = pcre2_match_data_create(groups + 1, NULL);
	if (md)
		thread_slot_set(&md_slot, md);
	return md;
}

static int set_field(struct strmap *out, const struct grok_field *f, const char *v, size_t vl)
{
	return f->key ? strmap_setk(out, f->key, v, vl) : strmap_setn(out, f->name, v, vl);
}

/* true when grok_syslog_read() answered for the regex (*rc: grok_match's result). */
static bool syslog_match(const struct grok *g, const char *subj, size_t len, struct strmap *out,
			 int *rc)
{
	struct grok_span parts[GROK_SYSLOG_NPARTS];

	if (!grok_syslog_read(subj, len, parts))
		return false;
	*rc = 1;
	for (size_t i = 0; out && i < g->nfields && *rc == 1; i++) {
		const struct grok_span *sp = &parts[g->fields[i].part];
		int err = set_field(out, &g->fields[i], sp->len ? subj + sp->off : "", sp->len);

		if (err)
			*rc = err;
	}
	return true;
}

bool grok_reads_syslog(const struct grok *g)
{
	return g->syslog;
}

int grok_match(const struct grok *g, const char *subj, size_t len, struct strmap *out)
{
	return grok_may_match(g, subj, len) ? grok_match_checked(g, subj, len, out) : 0;
}

int grok_match_checked(const struct grok *g, const char *subj, size_t len, struct strmap *out)
{
	const pcre2_code *code = g->code;
	pcre2_match_data *md;
	PCRE2_SIZE *ov;
	int rc, err = 0;

	if (g->syslog && syslog_match(g, subj, len, out, &err))
		return err;
	if (g->code_bytes && !utf8_valid(subj, len))
		code = g->code_bytes;
	md = thread_md(g->ngroups);
	if (!md)
		return -ENOMEM;
	/* the regex is immutable; only its JIT code is made on first use */
	if (code == g->code)
		pcre_jit_once(g->code, &((struct grok *)g)->jitted);
	rc = run_match(g, code, subj, len, md, 0);
	/* The JIT's small machine stack ran out: the interpreter keeps its own on the heap. */
	if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
		rc = run_match(g, code, subj, len, md, PCRE2_NO_JIT);
	if (rc < 0) {
		if (rc != PCRE2_ERROR_NOMATCH) {
			char msg[128];

			pcre2_get_error_message(rc, (PCRE2_UCHAR *)msg, sizeof(msg));
			log_debug("grok: match abandoned (%s), counted as no match", msg);
		}
		err = 0;
		goto out;
	}
	ov = pcre2_get_ovector_pointer(md);
	for (size_t i = 0; out && i < g->nfields; i++) {
		const struct grok_field *f = &g->fields[i];
		PCRE2_SIZE s = (uint32_t)f->group < (uint32_t)rc ? ov[2 * f->group] : PCRE2_UNSET;
		const char *v = s == PCRE2_UNSET ? "" : subj + s;
		size_t vl = s == PCRE2_UNSET ? 0 : ov[2 * f->group + 1] - s;

		err = set_field(out, f, v, vl);
		if (err)
			goto out;
	}
	err = 1;
out:
	return err;
}
