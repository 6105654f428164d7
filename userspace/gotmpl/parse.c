// SPDX-License-Identifier: MIT
/* Parsing a template into the tree of gotmpl_int.h; errors name name:line. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/strv.h"
#include "common/vec.h"
#include "gotmpl/gotmpl_int.h"

enum tok_kind { T_END_ACTION, T_IDENT, T_DOT, T_FIELD, T_VAR, T_STR, T_NUM, T_BAR, T_LP, T_RP,
		T_DECL, T_ASSIGN, T_COMMA, T_BAD };

struct tok {
	enum tok_kind k;
	const char *s;
	size_t n;
};

struct parser {
	const char *name, *src;
	size_t pos;
	int line;	/* of pos */
	bool trim_next; /* the last action ended with "-}}" */
	int depth;
	struct gotmpl_err e;
};

int gotmpl_fail(struct gotmpl_err *e, const char *name, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e->failed)
		return e->failed;
	e->failed = -EINVAL;
	n = snprintf(e->buf, e->len, "%s:%d: ", name, line);
	if (n >= 0 && (size_t)n < e->len) {
		va_start(ap, fmt);
		vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return e->failed;
}

#define perr(p, ...) gotmpl_fail(&(p)->e, (p)->name, (p)->line, __VA_ARGS__)

static void advance(struct parser *p, size_t n)
{
	for (size_t i = 0; i < n && p->src[p->pos]; i++)
		if (p->src[p->pos++] == '\n')
			p->line++;
}

static bool at_close(struct parser *p)
{
	const char *s = p->src + p->pos;

	return !strncmp(s, "}}", 2) || (!strncmp(s, " -}}", 4)) || (!strncmp(s, "\t-}}", 4)) ||
	       (!strncmp(s, "\n-}}", 4));
}

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static void lex(struct parser *p, struct tok *t)
{
	const char *s;

	while (!at_close(p) && isspace((unsigned char)p->src[p->pos]))
		advance(p, 1);
	s = p->src + p->pos;
	t->s = s;
	t->n = 1;
	if (!*s) {
		t->k = T_BAD;
		return;
	}
	if (at_close(p)) {
		t->k = T_END_ACTION;
		if (*s != '}') {
			p->trim_next = true;
			advance(p, 4);
		} else {
			advance(p, 2);
		}
		return;
	}
	if (*s == '"' || *s == '`') {
		size_t i = 1;

		while (s[i] && s[i] != *s && s[i] != '\n') {
			if (*s == '"' && s[i] == '\\' && s[i + 1])
				i++;
			i++;
		}
		t->k = s[i] == *s ? T_STR : T_BAD;
		t->n = i + 1;
	} else if (*s == '.' || *s == '$') {
		size_t i = 1;

		while (ident_char(s[i]))
			i++;
		t->k = *s == '$' ? T_VAR : i == 1 ? T_DOT : T_FIELD;
		t->n = i;
	} else if (isdigit((unsigned char)*s) || (*s == '-' && isdigit((unsigned char)s[1]))) {
		size_t i = 1;

		while (isalnum((unsigned char)s[i]) || s[i] == '.')
			i++;
		t->k = T_NUM;
		t->n = i;
	} else if (isalpha((unsigned char)*s) || *s == '_') {
		size_t i = 1;

		while (ident_char(s[i]))
			i++;
		t->k = T_IDENT;
		t->n = i;
	} else if (*s == ':' && s[1] == '=') {
		t->k = T_DECL;
		t->n = 2;
	} else {
		t->k = *s == '|' ? T_BAR : *s == '(' ? T_LP : *s == ')' ? T_RP : *s == '=' ? T_ASSIGN
			: *s == ',' ? T_COMMA : T_BAD;
	}
	advance(p, t->n);
}

static void peek(struct parser *p, struct tok *t)
{
	size_t pos = p->pos;
	int line = p->line;
	bool trim = p->trim_next;

	lex(p, t);
	p->pos = pos;
	p->line = line;
	p->trim_next = trim;
}

static bool tok_is(const struct tok *t, const char *word)
{
	return t->k == T_IDENT && t->n == strlen(word) && !strncmp(t->s, word, t->n);
}

static void pipe_free(struct pipe *pp);

static void arg_clear(struct arg *a)
{
	free(a->s);
	strv_free(a->fields, a->nfields);
	pipe_free(a->pipe);
}

static void pipe_free(struct pipe *pp)
{
	if (!pp)
		return;
	for (int i = 0; i < pp->ndecl; i++)
		free(pp->decl[i]);
	for (size_t c = 0; c < pp->n; c++) {
		for (size_t i = 0; i < pp->cmds[c].n; i++)
			arg_clear(&pp->cmds[c].args[i]);
		free(pp->cmds[c].args);
	}
	free(pp->cmds);
	free(pp);
}

void gotmpl_list_free(struct list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].text);
		pipe_free(l->v[i].pipe);
		gotmpl_list_free(l->v[i].body);
		gotmpl_list_free(l->v[i].els);
	}
	free(l->v);
	free(l);
}

/* ".A.B" following an operand, glued to it */
static int field_chain(struct parser *p, struct arg *a)
{
	while (p->src[p->pos] == '.' && (isalpha((unsigned char)p->src[p->pos + 1]) ||
					 p->src[p->pos + 1] == '_')) {
		struct tok t;

		lex(p, &t);
		if (vec_reserve((void **)&a->fields, &a->fieldscap, a->nfields, sizeof(*a->fields), 4))
			return -ENOMEM;
		if (!(a->fields[a->nfields] = strndup(t.s + 1, t.n - 1)))
			return -ENOMEM;
		a->nfields++;
	}
	return 0;
}

static char *unquote(struct parser *p, const struct tok *t)
{
	struct sbuf sb = { 0 };

	if (*t->s == '`')
		return strndup(t->s + 1, t->n - 2);
	for (size_t i = 1; i + 1 < t->n; i++) {
		char c = t->s[i];

		if (c == '\\') {
			c = t->s[++i];
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case '\\': case '"': break;
			default:
				perr(p, "unsupported escape \\%c in string", c);
				sb_free(&sb);
				return NULL;
			}
		}
		sb_putc(&sb, c);
	}
	return sb_take(&sb, NULL);
}

static struct pipe *parse_pipe(struct parser *p, bool in_parens);

static int parse_operand(struct parser *p, struct tok *t, struct arg *a)
{
	char *end;

	memset(a, 0, sizeof(*a));
	switch (t->k) {
	case T_DOT:
		a->k = A_DOT;
		return 0;
	case T_FIELD:
		a->k = A_FIELD;
		if (vec_reserve((void **)&a->fields, &a->fieldscap, 0, sizeof(*a->fields), 4) ||
		    !(a->fields[0] = strndup(t->s + 1, t->n - 1)))
			return -ENOMEM;
		a->nfields = 1;
		return field_chain(p, a);
	case T_VAR:
		a->k = A_VAR;
		if (!(a->s = strndup(t->s, t->n)))
			return -ENOMEM;
		return field_chain(p, a);
	case T_STR:
		a->k = A_STR;
		a->s = unquote(p, t);
		return a->s ? 0 : p->e.failed ? p->e.failed : -ENOMEM;
	case T_NUM: {
		char buf[64];

		if (t->n >= sizeof(buf))
			return perr(p, "bad number syntax: %.*s", (int)t->n, t->s);
		memcpy(buf, t->s, t->n);
		buf[t->n] = 0;
		a->k = A_INT;
		a->i = strtoll(buf, &end, 0);
		if (*end) {
			a->k = A_REAL;
			a->r = strtod(buf, &end);
		}
		if (*end)
			return perr(p, "bad number syntax: %s", buf);
		return 0;
	}
	case T_LP:
		a->k = A_PIPE;
		if (!(a->pipe = parse_pipe(p, true)))
			return p->e.failed ? p->e.failed : -ENOMEM;
		return field_chain(p, a);
	case T_IDENT:
		if (tok_is(t, "true") || tok_is(t, "false")) {
			a->k = A_BOOL;
			a->b = tok_is(t, "true");
			return 0;
		}
		if (tok_is(t, "nil")) {
			a->k = A_NIL;
			return 0;
		}
		a->k = A_FUNC;
		if (!(a->s = strndup(t->s, t->n)))
			return -ENOMEM;
		return 0;
	default:
		return perr(p, "unexpected \"%.*s\" in command", (int)t->n, t->s);
	}
}

extern bool gotmpl_func_known(const char *name);

static struct pipe *parse_pipe(struct parser *p, bool in_parens)
{
	struct pipe *pp = calloc(1, sizeof(*pp));
	struct tok t, t2;
	size_t save_pos;
	int save_line;

	if (!pp)
		return NULL;
	if (++p->depth > GOTMPL_MAX_DEPTH) {
		perr(p, "nesting deeper than %d", GOTMPL_MAX_DEPTH);
		goto fail;
	}
	/* "$x :=", "$x =", "$i, $v :=" */
	save_pos = p->pos;
	save_line = p->line;
	peek(p, &t);
	if (t.k == T_VAR) {
		lex(p, &t);
		lex(p, &t2);
		if (t2.k == T_COMMA) {
			struct tok t3;

			lex(p, &t3);
			lex(p, &t2);
			if (t3.k != T_VAR || t2.k != T_DECL) {
				perr(p, "bad variable declaration");
				goto fail;
			}
			pp->decl[0] = strndup(t.s, t.n);
			pp->decl[1] = strndup(t3.s, t3.n);
			pp->ndecl = 2;
		} else if (t2.k == T_DECL || t2.k == T_ASSIGN) {
			pp->decl[0] = strndup(t.s, t.n);
			pp->ndecl = 1;
			pp->assign = t2.k == T_ASSIGN;
		} else {
			p->pos = save_pos;
			p->line = save_line;
		}
	}
	for (;;) {
		if (vec_reserve((void **)&pp->cmds, &pp->cap, pp->n, sizeof(*pp->cmds), 4))
			goto fail;
		memset(&pp->cmds[pp->n], 0, sizeof(*pp->cmds));
		pp->n++;
		for (;;) {
			struct cmd *c = &pp->cmds[pp->n - 1];

			peek(p, &t);
			if (t.k == T_BAR || t.k == T_END_ACTION || t.k == T_RP)
				break;
			if (t.k == T_BAD) {
				if (t.s[0])
					perr(p, "unexpected \"%c\" in action", t.s[0]);
				else
					perr(p, "unclosed action");
				goto fail;
			}
			lex(p, &t);
			if (vec_reserve((void **)&c->args, &c->cap, c->n, sizeof(*c->args), 4))
				goto fail;
			if (parse_operand(p, &t, &c->args[c->n])) {
				arg_clear(&c->args[c->n]);
				goto fail;
			}
			c->n++;
			if (c->args[c->n - 1].k == A_FUNC && !gotmpl_func_known(c->args[c->n - 1].s)) {
				perr(p, "function \"%s\" not defined", c->args[c->n - 1].s);
				goto fail;
			}
		}
		if (!pp->cmds[pp->n - 1].n) {
			perr(p, "missing command");
			goto fail;
		}
		if (t.k != T_BAR)
			break;
		lex(p, &t);
	}
	if (in_parens) {
		if (t.k != T_RP) {
			perr(p, "unclosed left paren");
			goto fail;
		}
		lex(p, &t);
	} else if (t.k == T_RP) {
		perr(p, "unexpected right paren");
		goto fail;
	}
	p->depth--;
	return pp;
fail:
	if (!p->e.failed)
		p->e.failed = -ENOMEM;
	pipe_free(pp);
	return NULL;
}

static int expect_close(struct parser *p, const char *what)
{
	struct tok t;

	lex(p, &t);
	if (t.k != T_END_ACTION)
		return perr(p, "unexpected \"%.*s\" in %s", (int)t.n, t.s, what);
	return 0;
}

enum term { TERM_EOF, TERM_END, TERM_ELSE, TERM_ELSE_IF };

static struct node *add_node(struct list *l)
{
	if (vec_reserve((void **)&l->v, &l->cap, l->n, sizeof(*l->v), 8))
		return NULL;
	memset(&l->v[l->n], 0, sizeof(*l->v));
	return &l->v[l->n++];
}

static int parse_list(struct parser *p, struct list **out, enum term *term);

/* if/range/with: pipe, body, optional else (else if nests an if) */
static int parse_block(struct parser *p, struct node *n, const char *what)
{
	enum term term;
	int ret;

	n->pipe = parse_pipe(p, false);
	if (!n->pipe)
		return p->e.failed ? p->e.failed : -ENOMEM;
	if ((ret = expect_close(p, what)))
		return ret;
	if ((ret = parse_list(p, &n->body, &term)))
		return ret;
	if (term == TERM_EOF)
		return perr(p, "unexpected EOF: {{%s}} without {{end}}", what);
	if (term == TERM_ELSE) {
		if ((ret = parse_list(p, &n->els, &term)))
			return ret;
		if (term != TERM_END)
			return perr(p, "expected {{end}} after {{else}} of {{%s}}", what);
	} else if (term == TERM_ELSE_IF) {
		struct node *in;

		if (strcmp(what, "if"))
			return perr(p, "{{else if}} in {{%s}}", what);
		if (!(n->els = calloc(1, sizeof(*n->els))) || !(in = add_node(n->els)))
			return -ENOMEM;
		in->k = N_IF;
		in->line = p->line;
		return parse_block(p, in, "if"); /* consumes the shared {{end}} */
	}
	return 0;
}

static void trim_left(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s))
		(*s)++, (*n)--;
}

static int parse_list(struct parser *p, struct list **out, enum term *term)
{
	struct list *l = calloc(1, sizeof(*l));
	int ret = 0;

	*out = l;
	if (!l)
		return -ENOMEM;
	if (++p->depth > GOTMPL_MAX_DEPTH)
		return perr(p, "nesting deeper than %d", GOTMPL_MAX_DEPTH);
	for (;;) {
		const char *s = p->src + p->pos, *open = strstr(s, "{{");
		size_t n = open ? (size_t)(open - s) : strlen(s);
		bool trim_prev = open && open[2] == '-' && isspace((unsigned char)open[3]);
		const char *txt = s;
		struct node *nd;
		struct tok t;
		int line;

		if (p->trim_next)
			trim_left(&txt, &n), p->trim_next = false;
		if (trim_prev)
			while (n && isspace((unsigned char)txt[n - 1]))
				n--;
		if (n) {
			if (!(nd = add_node(l)) || !(nd->text = strndup(txt, n)))
				return -ENOMEM;
			nd->k = N_TEXT;
			nd->len = n;
		}
		if (!open) {
			advance(p, strlen(s));
			*term = TERM_EOF;
			break;
		}
		advance(p, (size_t)(open - s) + 2 + (trim_prev ? 2 : 0));
		line = p->line;
		if (!strncmp(p->src + p->pos, "/*", 2)) {
			const char *e = strstr(p->src + p->pos, "*/");

			if (!e)
				return perr(p, "unclosed comment");
			advance(p, (size_t)(e - (p->src + p->pos)) + 2);
			if ((ret = expect_close(p, "comment")))
				return ret;
			continue;
		}
		peek(p, &t);
		if (tok_is(&t, "end") || tok_is(&t, "else")) {
			lex(p, &t);
			if (tok_is(&t, "else")) {
				peek(p, &t);
				if (tok_is(&t, "if")) {
					lex(p, &t);
					*term = TERM_ELSE_IF;
					break;
				}
				*term = TERM_ELSE;
			} else {
				*term = TERM_END;
			}
			ret = expect_close(p, tok_is(&t, "end") ? "end" : "else");
			break;
		}
		if (!(nd = add_node(l)))
			return -ENOMEM;
		nd->line = line;
		if (tok_is(&t, "if") || tok_is(&t, "range") || tok_is(&t, "with")) {
			char what[8];

			lex(p, &t);
			snprintf(what, sizeof(what), "%.*s", (int)t.n, t.s);
			nd->k = *what == 'i' ? N_IF : *what == 'r' ? N_RANGE : N_WITH;
			if ((ret = parse_block(p, nd, what)))
				return ret;
			continue;
		}
		if (tok_is(&t, "define") || tok_is(&t, "template") || tok_is(&t, "block") ||
		    tok_is(&t, "break") || tok_is(&t, "continue"))
			return perr(p, "{{%.*s}} is not supported", (int)t.n, t.s);
		nd->k = N_ACTION;
		if (!(nd->pipe = parse_pipe(p, false)))
			return p->e.failed ? p->e.failed : -ENOMEM;
		if ((ret = expect_close(p, "command")))
			return ret;
	}
	p->depth--;
	return ret;
}

void gotmpl_free(struct gotmpl *t)
{
	if (!t)
		return;
	gotmpl_list_free(t->root);
	free(t->name);
	free(t);
}

int gotmpl_parse(const char *name, const char *text, struct gotmpl **out, char *err, size_t errlen)
{
	return gotmpl_parse_at(name, 1, text, out, err, errlen);
}

int gotmpl_parse_at(const char *name, int first_line, const char *text, struct gotmpl **out,
		    char *err, size_t errlen)
{
	struct parser p = { .name = name, .src = text, .line = first_line, .e = { err, errlen } };
	struct gotmpl *t = calloc(1, sizeof(*t));
	enum term term = TERM_EOF;
	int ret;

	*out = NULL;
	if (!t || !(t->name = strdup(name))) {
		free(t);
		return -ENOMEM;
	}
	ret = parse_list(&p, &t->root, &term);
	if (!ret && term != TERM_EOF)
		ret = perr(&p, "unexpected {{%s}}", term == TERM_END ? "end" : "else");
	if (ret) {
		if (ret == -ENOMEM && !p.e.failed)
			snprintf(err, errlen, "%s: out of memory", name);
		gotmpl_free(t);
		return ret;
	}
	*out = t;
	return 0;
}
