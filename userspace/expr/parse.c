// SPDX-License-Identifier: MIT
/*
 * expr lexer and parser. One pass: the parser resolves names against the
 * environment and computes static types as it builds nodes, so unknown
 * identifiers, functions, fields and wrong arities are reported with the
 * column of the offending token. Precedence climbing follows expr-lang v1.17.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/vec.h"
#include "expr/ast.h"

enum tok_kind { T_EOF, T_IDENT, T_INT, T_FLOAT, T_STRING, T_OP };

struct token {
	enum tok_kind kind;
	int pos, len;
	int64_t i;
	double f;
	char *s;		/* T_STRING: unescaped (owned); T_IDENT/T_OP: NULL */
	size_t slen;
	char op[4];		/* T_OP text */
};

struct scope_var {
	const char *name;
	int len;
	int slot;
	const struct expr_type *st;
};

struct parser {
	const struct expr_env *env;
	const char *src;
	size_t srclen;
	size_t lexpos;
	struct token cur;
	struct expr_prog *prog;
	struct expr_error *err;
	int failed;
	int rdepth;		/* parser recursion */
	int closure_depth;
	/* static type of # in each open closure (element of the iterated list) */
	const struct expr_type *closure_elem[EXPR_MAX_DEPTH + 1];
	struct scope_var scope[64];
	int nscope;
};

static void perr(struct parser *p, int pos, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void perr(struct parser *p, int pos, int code, const char *fmt, ...)
{
	va_list ap;
	int line = 1, col = 1;

	if (p->failed)
		return;
	p->failed = code;
	if (!p->err)
		return;
	for (int i = 0; i < pos && (size_t)i < p->srclen; i++) {
		if (p->src[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	p->err->line = line;
	p->err->column = col;
	p->err->code = code;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	/* append the position the way expr does: "(1:5)" */
	{
		size_t l = strlen(p->err->msg);

		snprintf(p->err->msg + l, sizeof(p->err->msg) - l, " (%d:%d)", line, col);
	}
}

/* ---- lexer ---- */

static bool is_ident_start(int c)
{
	return isalpha(c) || c == '_' || c == '$' || c >= 0x80;
}

static bool is_ident_char(int c)
{
	return is_ident_start(c) || isdigit(c);
}

static void put_utf8(struct sbuf *sb, uint32_t cp)
{
	char b[4];

	if (cp < 0x80) {
		sb_putc(sb, cp);
	} else if (cp < 0x800) {
		b[0] = 0xC0 | (cp >> 6);
		b[1] = 0x80 | (cp & 0x3F);
		sb_putn(sb, b, 2);
	} else if (cp < 0x10000) {
		b[0] = 0xE0 | (cp >> 12);
		b[1] = 0x80 | ((cp >> 6) & 0x3F);
		b[2] = 0x80 | (cp & 0x3F);
		sb_putn(sb, b, 3);
	} else {
		b[0] = 0xF0 | (cp >> 18);
		b[1] = 0x80 | ((cp >> 12) & 0x3F);
		b[2] = 0x80 | ((cp >> 6) & 0x3F);
		b[3] = 0x80 | (cp & 0x3F);
		sb_putn(sb, b, 4);
	}
}

static int lex_string(struct parser *p, struct token *t)
{
	const char *s = p->src;
	size_t i = p->lexpos;
	char q = s[i++];
	struct sbuf sb = EXPR_SBUF;

	if (q == '`') {
		while (i < p->srclen && s[i] != '`')
			i++;
		if (i >= p->srclen) {
			perr(p, t->pos, -EINVAL, "literal not terminated");
			return -EINVAL;
		}
		sb_putn(&sb, s + p->lexpos + 1, i - p->lexpos - 1);
		i++;
		goto done;
	}
	while (i < p->srclen && s[i] != q) {
		char c = s[i++];
		int n, v, d;

		if (c == '\n') {
			perr(p, t->pos, -EINVAL, "literal not terminated");
			goto fail;
		}
		if (c != '\\') {
			sb_putc(&sb, c);
			continue;
		}
		if (i >= p->srclen)
			break;
		c = s[i++];
		switch (c) {
		case 'a': sb_putc(&sb, '\a'); break;
		case 'b': sb_putc(&sb, '\b'); break;
		case 'f': sb_putc(&sb, '\f'); break;
		case 'n': sb_putc(&sb, '\n'); break;
		case 'r': sb_putc(&sb, '\r'); break;
		case 't': sb_putc(&sb, '\t'); break;
		case 'v': sb_putc(&sb, '\v'); break;
		case '\\': sb_putc(&sb, '\\'); break;
		case '\'': sb_putc(&sb, '\''); break;
		case '"': sb_putc(&sb, '"'); break;
		case 'x': case 'u': case 'U':
			n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
			v = 0;
			for (int k = 0; k < n; k++, i++) {
				d = i < p->srclen ? hex_digit(s[i]) : -1;
				if (d < 0) {
					perr(p, i, -EINVAL, "invalid char escape");
					goto fail;
				}
				v = v * 16 + d;
			}
			if (c == 'x')
				sb_putc(&sb, (char)v);
			else if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) {
				perr(p, i, -EINVAL, "invalid char escape");
				goto fail;
			} else
				put_utf8(&sb, v);
			break;
		case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
			v = c - '0';
			for (int k = 0; k < 2; k++, i++) {
				if (i >= p->srclen || s[i] < '0' || s[i] > '7') {
					perr(p, i, -EINVAL, "invalid char escape");
					goto fail;
				}
				v = v * 8 + (s[i] - '0');
			}
			if (v > 255) {
				perr(p, i, -EINVAL, "invalid char escape");
				goto fail;
			}
			sb_putc(&sb, (char)v);
			break;
		default:
			perr(p, i - 2, -EINVAL, "invalid char escape");
			goto fail;
		}
	}
	if (i >= p->srclen) {
		perr(p, t->pos, -EINVAL, "literal not terminated");
		goto fail;
	}
	i++;
done:
	t->kind = T_STRING;
	t->s = sb_take(&sb, &t->slen);
	if (!t->s) {
		perr(p, t->pos, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	p->lexpos = i;
	return 0;
fail:
	sb_free(&sb);
	return -EINVAL;
}

static int lex_number(struct parser *p, struct token *t)
{
	const char *s = p->src;
	size_t i = p->lexpos, start = i;
	char buf[128];
	size_t n = 0;
	bool is_float = false, too_long = false;
	int base = 10;

/* Longer than any int64 or float64 needs: refused, never silently truncated. */
#define PUT_DIGIT(c) do { if (n < sizeof(buf) - 1) buf[n++] = (c); else too_long = true; } while (0)

	if (s[i] == '0' && i + 1 < p->srclen && strchr("xXoObB", s[i + 1])) {
		base = strchr("xX", s[i + 1]) ? 16 : strchr("oO", s[i + 1]) ? 8 : 2;
		i += 2;
		while (i < p->srclen && (isxdigit((unsigned char)s[i]) || s[i] == '_')) {
			if (s[i] != '_')
				PUT_DIGIT(s[i]);
			i++;
		}
	} else {
		while (i < p->srclen && (isdigit((unsigned char)s[i]) || s[i] == '_')) {
			if (s[i] != '_')
				PUT_DIGIT(s[i]);
			i++;
		}
		/* "1..3" is a range, not "1." */
		if (i < p->srclen && s[i] == '.' && i + 1 < p->srclen && s[i + 1] != '.') {
			is_float = true;
			PUT_DIGIT(s[i]);
			i++;
			while (i < p->srclen && (isdigit((unsigned char)s[i]) || s[i] == '_')) {
				if (s[i] != '_')
					PUT_DIGIT(s[i]);
				i++;
			}
		}
		if (i < p->srclen && (s[i] == 'e' || s[i] == 'E')) {
			size_t j = i + 1;

			if (j < p->srclen && (s[j] == '+' || s[j] == '-'))
				j++;
			if (j < p->srclen && isdigit((unsigned char)s[j])) {
				is_float = true;
				for (; i < j; i++)
					PUT_DIGIT(s[i]);
				for (; i < p->srclen && isdigit((unsigned char)s[i]); i++)
					PUT_DIGIT(s[i]);
			}
		}
	}
#undef PUT_DIGIT
	buf[n] = '\0';
	if (too_long) {
		perr(p, start, -EINVAL, "number literal too long");
		return -EINVAL;
	}
	if (i < p->srclen && is_ident_char((unsigned char)s[i])) {
		perr(p, start, -EINVAL, "invalid number literal");
		return -EINVAL;
	}
	p->lexpos = i;
	if (!n) {
		perr(p, start, -EINVAL, "invalid number literal");
		return -EINVAL;
	}
	if (!is_float) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(buf, &end, base);
		/* like expr: an integer that does not fit int64 is an error, not a float */
		if (*end || errno || v > INT64_MAX) {
			perr(p, start, -EINVAL, "invalid integer literal: %s", buf);
			return -EINVAL;
		}
		t->i = (int64_t)v;
		t->kind = T_INT;
		return 0;
	}
	t->kind = T_FLOAT;
	t->f = strtod(buf, NULL);
	return 0;
}

static const char *const ops2[] = { "?.", "??", "**", "==", "!=", "<=", ">=", "&&", "||",
				    "..", "::", NULL };
static const char ops1[] = "+-*/%^!<>?:.,()[]{}|#;=";

static int lex(struct parser *p)
{
	const char *s = p->src;
	struct token *t = &p->cur;
	size_t i;

	free(t->s);
	memset(t, 0, sizeof(*t));
	for (;;) {
		while (p->lexpos < p->srclen && isspace((unsigned char)s[p->lexpos]))
			p->lexpos++;
		if (p->lexpos + 1 < p->srclen && s[p->lexpos] == '/' && s[p->lexpos + 1] == '/') {
			while (p->lexpos < p->srclen && s[p->lexpos] != '\n')
				p->lexpos++;
			continue;
		}
		if (p->lexpos + 1 < p->srclen && s[p->lexpos] == '/' && s[p->lexpos + 1] == '*') {
			const char *end = strstr(s + p->lexpos + 2, "*/");

			if (!end) {
				perr(p, p->lexpos, -EINVAL, "unclosed comment");
				return -EINVAL;
			}
			p->lexpos = end - s + 2;
			continue;
		}
		break;
	}
	i = p->lexpos;
	t->pos = i;
	if (i >= p->srclen) {
		t->kind = T_EOF;
		return 0;
	}
	if (s[i] == '"' || s[i] == '\'' || s[i] == '`')
		return lex_string(p, t);
	if (isdigit((unsigned char)s[i]) ||
	    (s[i] == '.' && i + 1 < p->srclen && isdigit((unsigned char)s[i + 1])))
		return lex_number(p, t);
	if (is_ident_start((unsigned char)s[i])) {
		while (i < p->srclen && is_ident_char((unsigned char)s[i]))
			i++;
		t->kind = T_IDENT;
		t->len = i - p->lexpos;
		p->lexpos = i;
		return 0;
	}
	for (int k = 0; ops2[k]; k++) {
		if (i + 1 < p->srclen && s[i] == ops2[k][0] && s[i + 1] == ops2[k][1]) {
			/* "?.5" would be a ternary with a float; not worth supporting */
			t->kind = T_OP;
			memcpy(t->op, ops2[k], 2);
			t->len = 2;
			p->lexpos += 2;
			return 0;
		}
	}
	if (s[i] && strchr(ops1, s[i])) {
		t->kind = T_OP;
		t->op[0] = s[i];
		t->len = 1;
		p->lexpos++;
		return 0;
	}
	perr(p, i, -EINVAL, "unrecognized character: U+%04X", (unsigned char)s[i]);
	return -EINVAL;
}

static bool tok_op(const struct parser *p, const char *op)
{
	return p->cur.kind == T_OP && !strcmp(p->cur.op, op);
}

static bool tok_word(const struct parser *p, const char *w)
{
	return p->cur.kind == T_IDENT && (size_t)p->cur.len == strlen(w) &&
	       !memcmp(p->src + p->cur.pos, w, p->cur.len);
}

static bool next(struct parser *p)
{
	return !p->failed && !lex(p);
}

static bool expect_op(struct parser *p, const char *op)
{
	if (p->failed)
		return false;
	if (!tok_op(p, op)) {
		if (p->cur.kind == T_EOF)
			perr(p, p->cur.pos, -EINVAL, "unexpected end of expression, expected %s", op);
		else
			perr(p, p->cur.pos, -EINVAL, "unexpected token %.*s, expected %s",
			     p->cur.len ? p->cur.len : 1, p->src + p->cur.pos, op);
		return false;
	}
	return next(p);
}

/* Steps past the current token when it is the one wanted (found), else fails with msg. */
static bool expect_or(struct parser *p, bool found, const char *msg)
{
	if (!found) {
		perr(p, p->cur.pos, -EINVAL, "%s", msg);
		return false;
	}
	return next(p);
}

/* ---- nodes ---- */

struct node *prog_node_add(struct expr_prog *prog)
{
	struct node *n;

	if (vec_reserve((void **)&prog->nodes, &prog->capnodes, (size_t)prog->nnodes,
			sizeof(*prog->nodes), 32))
		return NULL;
	n = calloc(1, sizeof(*n));
	if (n)
		prog->nodes[prog->nnodes++] = n;
	return n;
}

static struct node *node_new(struct parser *p, enum node_type type, int pos)
{
	struct node *n;

	if (p->failed)
		return NULL;
	n = prog_node_add(p->prog);
	if (!n) {
		perr(p, pos, -ENOMEM, "out of memory");
		return NULL;
	}
	n->type = type;
	n->pos = pos;
	n->depth = 1;
	n->st = &expr_type_any;
	n->val = EXPR_NIL_VALUE;
	return n;
}

/* A literal: takes the reference val holds (released when no node can be made). */
static struct node *const_node(struct parser *p, int pos, struct expr_value val,
			       const struct expr_type *st)
{
	struct node *n = node_new(p, N_CONST, pos);

	if (!n) {
		expr_value_release(&val);
		return NULL;
	}
	n->val = val;
	n->st = st;
	return n;
}

/* A string literal holding a copy of s[0..len). */
static struct node *str_node(struct parser *p, int pos, const char *s, size_t len)
{
	struct expr_value v;

	if (expr_stringn(s, len, &v)) {
		perr(p, pos, -ENOMEM, "out of memory");
		return NULL;
	}
	return const_node(p, pos, v, &expr_type_string);
}

/* Tracks subtree height as children are attached: a long left-assoc chain
 * ("1+1+1+...") is as dangerous for the evaluator's stack as nesting. */
static bool node_child(struct parser *p, struct node *n, struct node *child)
{
	if (!child)
		return false;
	if (child->depth + 1 > n->depth)
		n->depth = child->depth + 1;
	if (n->depth > EXPR_MAX_DEPTH) {
		perr(p, n->pos, -E2BIG, "expression too deeply nested");
		return false;
	}
	return true;
}

static bool node_push(struct parser *p, struct node *n, struct node *child)
{
	if (!node_child(p, n, child))
		return false;
	if (vec_reserve((void **)&n->list, &n->list_cap, n->nlist, sizeof(*n->list), 4)) {
		perr(p, n->pos, -ENOMEM, "out of memory");
		return false;
	}
	n->list[n->nlist++] = child;
	return true;
}

static bool known(const struct expr_type *t)
{
	return t->kind != EXPR_ANY;
}

static bool numeric(enum expr_kind k)
{
	return k == EXPR_INT || k == EXPR_FLOAT;
}

static const struct expr_type type_array_int = { EXPR_ARRAY, &expr_type_int, NULL };

/* ---- types of member access ---- */

static const struct expr_type *member_type(struct parser *p, struct node *obj, const char *name,
					   bool is_string_key, int pos)
{
	const struct expr_type *t = obj->st;

	switch (t->kind) {
	case EXPR_ANY:
		return &expr_type_any;
	case EXPR_MAP:
		if (!is_string_key)
			break;
		return t->elem ? t->elem : &expr_type_any;
	case EXPR_ARRAY:
		if (!is_string_key)
			return t->elem ? t->elem : &expr_type_any;
		break;
	case EXPR_STRING:
		if (!is_string_key)
			return &expr_type_int;
		break;
	case EXPR_HOST: {
		const struct expr_host_ops *ops = t->host;

		if (ops && (ops->flags & EXPR_HOST_MAPLIKE) && !is_string_key)
			break;
		if (!ops || (ops->flags & EXPR_HOST_MAPLIKE))
			return ops && ops->elem ? ops->elem : &expr_type_any;
		if ((ops->flags & EXPR_HOST_ARRAYLIKE) && !is_string_key)
			return t->elem ? t->elem : &expr_type_any;
		if (!is_string_key || !name)
			return &expr_type_any;
		if (!ops->fields)
			return &expr_type_any;
		for (const struct expr_field *f = ops->fields; f->name; f++)
			if (!strcmp(f->name, name))
				return f->type ? f->type : &expr_type_any;
		perr(p, pos, -EINVAL, "type %s has no field %s", ops->name ? ops->name : "object",
		     name);
		return NULL;
	}
	default:
		break;
	}
	if (!is_string_key && (t->kind == EXPR_MAP || t->kind == EXPR_HOST))
		perr(p, pos, -EINVAL, "invalid index type int for a map");
	else if (!is_string_key)
		perr(p, pos, -EINVAL, "type %s does not support indexing", expr_kind_name(t->kind));
	else
		perr(p, pos, -EINVAL, "type %s has no field %s", expr_kind_name(t->kind),
		     name ? name : "?");
	return NULL;
}

static const struct expr_method *find_method(const struct expr_method *m, const char *name)
{
	for (; m && m->name; m++)
		if (!strcmp(m->name, name))
			return m;
	return NULL;
}

/* Checks obj.name(args) and returns its static type. */
static const struct expr_type *method_type(struct parser *p, struct node *obj, const char *name,
					   int nargs, int pos)
{
	const struct expr_type *t = obj->st;
	const struct expr_method *m = NULL;
	const char *tname = expr_kind_name(t->kind);

	switch (t->kind) {
	case EXPR_ANY:
		return &expr_type_any;
	case EXPR_HOST:
		if (!t->host || !t->host->methods)
			return &expr_type_any;
		m = find_method(t->host->methods, name);
		tname = t->host->name ? t->host->name : "object";
		break;
	default:
		m = find_method(native_methods(t->kind), name);
		break;
	}
	if (!m) {
		perr(p, pos, -EINVAL, "type %s has no method %s", tname, name);
		return NULL;
	}
	if (nargs < m->min_args || (m->max_args >= 0 && nargs > m->max_args)) {
		perr(p, pos, -EINVAL, "method %s of type %s: wrong number of arguments (%d)", name,
		     tname, nargs);
		return NULL;
	}
	return m->ret ? m->ret : &expr_type_any;
}

/* ---- expression grammar ---- */

static struct node *parse_expression(struct parser *p, int prec);
static struct node *parse_sequence(struct parser *p);
static struct node *parse_postfix(struct parser *p, struct node *n);

struct binop {
	const char *text;
	int op, prec;
	bool right;
};

static const struct binop binops[] = {
	{ "|", OP_NONE, 0, false },	{ "or", OP_OR, 10, false },
	{ "||", OP_OR, 10, false },	{ "and", OP_AND, 15, false },
	{ "&&", OP_AND, 15, false },	{ "==", OP_EQ, 20, false },
	{ "!=", OP_NE, 20, false },	{ "<", OP_LT, 20, false },
	{ ">", OP_GT, 20, false },	{ "<=", OP_LE, 20, false },
	{ ">=", OP_GE, 20, false },	{ "in", OP_IN, 20, false },
	{ "matches", OP_MATCHES, 20, false },
	{ "contains", OP_CONTAINS, 20, false },
	{ "startsWith", OP_STARTS, 20, false },
	{ "endsWith", OP_ENDS, 20, false },
	{ "..", OP_RANGE, 25, false },	{ "+", OP_ADD, 30, false },
	{ "-", OP_SUB, 30, false },	{ "*", OP_MUL, 60, false },
	{ "/", OP_DIV, 60, false },	{ "%", OP_MOD, 60, false },
	{ "**", OP_POW, 100, true },	{ "^", OP_POW, 100, true },
	{ "??", OP_COALESCE, 500, false },
};

static const struct binop *cur_binop(const struct parser *p)
{
	for (size_t i = 0; i < ARRAY_SIZE(binops); i++) {
		if (p->cur.kind == T_OP && !strcmp(p->cur.op, binops[i].text))
			return &binops[i];
		if (p->cur.kind == T_IDENT && isalpha((unsigned char)binops[i].text[0]) &&
		    tok_word(p, binops[i].text))
			return &binops[i];
	}
	return NULL;
}

static bool is_keyword(const char *s, int len)
{
	static const char *const kw[] = { "and", "or", "not", "in", "matches", "contains",
					  "startsWith", "endsWith", "let", "if", "else", NULL };

	for (int i = 0; kw[i]; i++)
		if ((size_t)len == strlen(kw[i]) && !memcmp(s, kw[i], len))
			return true;
	return false;
}

static const char *op_name(int op)
{
	for (size_t i = 0; i < ARRAY_SIZE(binops); i++)
		if (binops[i].op == op)
			return binops[i].text;
	return op == OP_NOT ? "not" : op == OP_NEG ? "-" : "+";
}

static void mismatch(struct parser *p, int pos, int op, const struct expr_type *a,
		     const struct expr_type *b)
{
	perr(p, pos, -EINVAL, "invalid operation: %s (mismatched types %s and %s)", op_name(op),
	     expr_kind_name(a->kind), expr_kind_name(b->kind));
}

/* expr's isComparable(): may == / in relate values of these static types? */
static bool comparable(const struct expr_type *a, const struct expr_type *b)
{
	if (!known(a) || !known(b) || a->kind == EXPR_NIL || b->kind == EXPR_NIL)
		return true;
	if (numeric(a->kind) && numeric(b->kind))
		return true;
	if (a->kind != b->kind)
		return false;
	if (a->kind == EXPR_HOST)
		return !a->host || !b->host || a->host == b->host;
	return true;
}

/* Static result type of a binary operation; reports known mismatches. */
/* +, - and * on strings, arrays, durations and times (numbers are the caller's); NULL: invalid. */
static const struct expr_type *other_arith_type(int op, enum expr_kind ka, enum expr_kind kb)
{
	bool dur_a = ka == EXPR_DURATION, dur_b = kb == EXPR_DURATION;

	switch (op) {
	case OP_ADD:
		if (ka == EXPR_STRING && kb == EXPR_STRING)
			return &expr_type_string;
		if (dur_a && dur_b)
			return &expr_type_duration;
		if ((ka == EXPR_TIME && dur_b) || (dur_a && kb == EXPR_TIME))
			return &expr_type_time;
		if (ka == EXPR_ARRAY && kb == EXPR_ARRAY)
			return &expr_type_array_any;
		return NULL;
	case OP_SUB:
		if (ka == EXPR_TIME && kb == EXPR_TIME)
			return &expr_type_duration;
		if (ka == EXPR_TIME && dur_b)
			return &expr_type_time;
		if (dur_a && dur_b)
			return &expr_type_duration;
		return NULL;
	default:	/* OP_MUL */
		if ((dur_a && numeric(kb)) || (numeric(ka) && dur_b))
			return &expr_type_duration;
		return NULL;
	}
}

/* Whether neither operand is known to be of another kind than k. */
static bool both_may_be(const struct expr_type *a, const struct expr_type *b, enum expr_kind k)
{
	return (!known(a) || a->kind == k) && (!known(b) || b->kind == k);
}

static const struct expr_type *binary_type(struct parser *p, int op, const struct expr_type *a,
					   const struct expr_type *b, int pos)
{
	enum expr_kind ka = a->kind, kb = b->kind;
	bool both = known(a) && known(b);
	const struct expr_type *t;

	switch (op) {
	case OP_OR:
	case OP_AND:
		if (!both_may_be(a, b, EXPR_BOOL))
			goto bad;
		return &expr_type_bool;
	case OP_EQ:
	case OP_NE:
		if (!comparable(a, b))
			goto bad;
		return &expr_type_bool;
	case OP_LT: case OP_GT: case OP_LE: case OP_GE:
		if (both && !(numeric(ka) && numeric(kb)) && ka != kb)
			goto bad;
		if (both && ka == kb && !numeric(ka) && ka != EXPR_STRING &&
		    ka != EXPR_TIME && ka != EXPR_DURATION)
			goto bad;
		return &expr_type_bool;
	case OP_IN:
		if (known(b) && kb != EXPR_ARRAY && kb != EXPR_MAP && kb != EXPR_HOST &&
		    kb != EXPR_NIL)
			goto bad;
		if (known(b) && kb == EXPR_MAP && known(a) && ka != EXPR_STRING && ka != EXPR_NIL)
			goto bad;
		if (kb == EXPR_ARRAY && b->elem && !comparable(a, b->elem))
			goto bad;
		return &expr_type_bool;
	case OP_MATCHES: case OP_CONTAINS: case OP_STARTS: case OP_ENDS:
		if (!both_may_be(a, b, EXPR_STRING))
			goto bad;
		return &expr_type_bool;
	case OP_RANGE:
		if (!both_may_be(a, b, EXPR_INT))
			goto bad;
		return &type_array_int;
	case OP_ADD: case OP_SUB: case OP_MUL:
		if (!both)
			return &expr_type_any;
		if (ka == EXPR_INT && kb == EXPR_INT)
			return &expr_type_int;
		if (numeric(ka) && numeric(kb))
			return &expr_type_float;
		t = other_arith_type(op, ka, kb);
		if (!t)
			goto bad;
		return t;
	case OP_DIV:
	case OP_POW:
		if ((known(a) && !numeric(ka)) || (known(b) && !numeric(kb)))
			goto bad;
		return &expr_type_float;
	case OP_MOD:
		if (!both_may_be(a, b, EXPR_INT))
			goto bad;
		return &expr_type_int;
	case OP_COALESCE:
		if (known(a) && ka != EXPR_NIL && known(b) && ka == kb)
			return a;
		return &expr_type_any;
	}
	return &expr_type_any;
bad:
	mismatch(p, pos, op, a, b);
	return NULL;
}

/* Operators of one precedence level share a chain: a + b - c is one fold. */
static int fold_class(int op)
{
	switch (op) {
	case OP_OR:
		return 1;
	case OP_AND:
		return 2;
	case OP_ADD: case OP_SUB:
		return 3;
	case OP_MUL: case OP_DIV: case OP_MOD:
		return 4;
	default:
		return 0;
	}
}

/*
 * "a || b || c ..." (sigma-generated scenarios have hundreds of terms) becomes
 * one flat node evaluated left to right: same result as the left-leaning tree,
 * without a tree height (and evaluator recursion) proportional to its length.
 */
static struct node *make_fold(struct parser *p, int op, struct node *l, struct node *r, int pos)
{
	const struct expr_type *st = binary_type(p, op, l->st, r->st, pos);
	struct node *n = l;
	int *ops;

	if (!st)
		return NULL;
	if (l->type != N_FOLD || fold_class(l->op) != fold_class(op)) {
		n = node_new(p, N_FOLD, pos);
		if (!n || !node_push(p, n, l))
			return NULL;
		n->op = op;
	}
	if (!node_push(p, n, r))
		return NULL;
	if (vec_reserve((void **)&n->ops, &n->ops_cap, (size_t)n->nlist - 1, sizeof(*n->ops), 4)) {
		perr(p, pos, -ENOMEM, "out of memory");
		return NULL;
	}
	ops = n->ops;
	ops[0] = OP_NONE;
	ops[n->nlist - 1] = op;
	n->st = st;
	return n;
}

static struct node *make_binary(struct parser *p, int op, struct node *l, struct node *r, int pos)
{
	struct node *n;

	if (!l || !r)
		return NULL;
	if (fold_class(op))
		return make_fold(p, op, l, r, pos);
	n = node_new(p, N_BINARY, pos);
	if (!n || !node_child(p, n, l) || !node_child(p, n, r))
		return NULL;
	n->op = op;
	n->a = l;
	n->b = r;
	n->st = binary_type(p, op, l->st, r->st, pos);
	if (!n->st)
		return NULL;
	/* A constant pattern is compiled once, here, and its errors are load errors. */
	if (op == OP_MATCHES && r->type == N_CONST && r->val.kind == EXPR_STRING) {
		char msg[128];

		if (expr_regex_compile(r->val.s->s, &n->re, msg, sizeof(msg))) {
			perr(p, r->pos, -EINVAL, "invalid regex: %s", msg);
			return NULL;
		}
	}
	return n;
}

static struct node *make_not(struct parser *p, struct node *inner, int pos)
{
	struct node *n = node_new(p, N_UNARY, pos);

	if (!n || !node_child(p, n, inner))
		return NULL;
	n->op = OP_NOT;
	n->a = inner;
	n->st = &expr_type_bool;
	return n;
}

static struct node *parse_call(struct parser *p, const char *name, int namelen, int pos,
			       struct node *piped);

static struct node *parse_comparison(struct parser *p, struct node *left, int op, int prec,
				     int pos)
{
	struct node *root = NULL;

	for (;;) {
		struct node *right = parse_expression(p, prec + 1), *cmp;
		const struct binop *b;

		cmp = make_binary(p, op, left, right, pos);
		if (!cmp)
			return NULL;
		root = root ? make_binary(p, OP_AND, root, cmp, pos) : cmp;
		if (!root)
			return NULL;
		left = right;
		b = cur_binop(p);
		if (!b || !(b->op == OP_LT || b->op == OP_GT || b->op == OP_LE || b->op == OP_GE))
			break;
		op = b->op;
		pos = p->cur.pos;
		if (!next(p))
			return NULL;
	}
	return root;
}

/* cond ? a : b, typed any; a == cond for `cond ?: b`, which takes a condition of any type. */
static struct node *cond_node(struct parser *p, int pos, struct node *cond, struct node *a,
			      struct node *b)
{
	struct node *n = node_new(p, N_COND, pos);

	if (!n || !node_child(p, n, cond) || !node_child(p, n, a) || !node_child(p, n, b))
		return NULL;
	if (known(cond->st) && cond->st->kind != EXPR_BOOL && a != cond) {
		perr(p, cond->pos, -EINVAL, "non-bool expression (type %s) used as condition",
		     expr_kind_name(cond->st->kind));
		return NULL;
	}
	n->a = cond;
	n->b = a;
	n->c = b;
	return n;
}

static struct node *parse_conditional(struct parser *p, struct node *cond)
{
	while (cond && tok_op(p, "?")) {
		int pos = p->cur.pos;
		struct node *a, *b, *n;

		if (!next(p))
			return NULL;
		if (tok_op(p, ":")) {	/* a ?: b */
			if (!next(p))
				return NULL;
			a = cond;
		} else {
			a = parse_expression(p, 0);
			if (!expect_op(p, ":"))
				return NULL;
		}
		b = parse_expression(p, 0);
		n = cond_node(p, pos, cond, a, b);
		if (!n)
			return NULL;
		n->st = a->st->kind == b->st->kind && a->st->kind != EXPR_ARRAY &&
				a->st->kind != EXPR_MAP && a->st->kind != EXPR_HOST
			? a->st : &expr_type_any;
		cond = n;
	}
	return cond;
}

static struct node *parse_let(struct parser *p)
{
	int pos = p->cur.pos, nlen, saved = p->nscope;
	const char *name;
	struct node *val, *body, *n;

	if (!next(p))
		return NULL;
	if (p->cur.kind != T_IDENT || is_keyword(p->src + p->cur.pos, p->cur.len)) {
		perr(p, p->cur.pos, -EINVAL, "expected variable name after let");
		return NULL;
	}
	name = p->src + p->cur.pos;
	nlen = p->cur.len;
	if (!next(p) || !expect_op(p, "="))
		return NULL;
	val = parse_expression(p, 0);
	if (!val || !expect_op(p, ";"))
		return NULL;
	for (int i = 0; i < p->nscope; i++) {
		if (p->scope[i].len == nlen && !memcmp(p->scope[i].name, name, nlen)) {
			perr(p, pos, -EINVAL, "variable %.*s already declared", nlen, name);
			return NULL;
		}
	}
	if (p->nscope == (int)ARRAY_SIZE(p->scope)) {
		perr(p, pos, -E2BIG, "too many variables");
		return NULL;
	}
	p->scope[p->nscope++] = (struct scope_var){ name, nlen, p->prog->nlocals++, val->st };
	body = parse_sequence(p);
	n = node_new(p, N_LET, pos);
	if (!n || !node_child(p, n, val) || !node_child(p, n, body))
		return NULL;
	n->slot = p->scope[p->nscope - 1].slot;
	p->nscope = saved;
	n->a = val;
	n->b = body;
	n->st = body->st;
	return n;
}

/* "{ seq }" as used by if/else blocks. */
static struct node *parse_block(struct parser *p)
{
	struct node *n;

	if (!expect_op(p, "{"))
		return NULL;
	n = parse_sequence(p);
	if (!expect_op(p, "}"))
		return NULL;
	return n;
}

static struct node *parse_if(struct parser *p)
{
	int pos = p->cur.pos;
	struct node *cond, *a, *b, *n;

	if (!next(p))
		return NULL;
	cond = parse_expression(p, 0);
	a = parse_block(p);
	if (!cond || !a)
		return NULL;
	if (!expect_or(p, tok_word(p, "else"), "expected else"))
		return NULL;
	if (tok_word(p, "if"))
		b = parse_if(p);
	else
		b = parse_block(p);
	n = cond_node(p, pos, cond, a, b);
	if (!n)
		return NULL;
	n->st = a->st->kind == b->st->kind && a->st->kind < EXPR_ARRAY ? a->st : &expr_type_any;
	return n;
}

static struct node *parse_expression(struct parser *p, int prec)
{
	struct node *left;
	const struct binop *prev = NULL;

	if (p->failed)
		return NULL;
	if (++p->rdepth > EXPR_MAX_DEPTH) {
		perr(p, p->cur.pos, -E2BIG, "expression too deeply nested");
		return NULL;
	}
	if (prec == 0 && tok_word(p, "let")) {
		left = parse_let(p);
		goto out;
	}
	if (prec == 0 && tok_word(p, "if")) {
		left = parse_if(p);
		goto out;
	}
	left = parse_postfix(p, NULL);
	while (left && !p->failed) {
		const struct binop *b;
		bool negate = false;
		int pos = p->cur.pos;
		struct node *right;

		if (tok_word(p, "not")) {
			size_t save_lex = p->lexpos;
			struct token save_tok = p->cur;

			/* "not in", "not matches"...: look one token ahead */
			p->cur.s = NULL;
			if (!next(p))
				break;
			b = cur_binop(p);
			if (b && (b->op == OP_IN || b->op == OP_MATCHES || b->op == OP_CONTAINS ||
				  b->op == OP_STARTS || b->op == OP_ENDS)) {
				if (b->prec < prec) {
					free(p->cur.s);
					p->cur = save_tok;
					p->lexpos = save_lex;
					break;
				}
				negate = true;
			} else {
				perr(p, p->cur.pos, -EINVAL, "unexpected token after not");
				break;
			}
		} else {
			b = cur_binop(p);
		}
		if (!b || b->prec < prec)
			break;
		if (!next(p))
			break;
		if (b->op == OP_NONE) {	/* pipe: x | f(args) => f(x, args) */
			int fpos = p->cur.pos, flen = p->cur.len;
			const char *fname = p->src + p->cur.pos;

			if (p->cur.kind != T_IDENT) {
				perr(p, p->cur.pos, -EINVAL, "expected function name after |");
				break;
			}
			if (!next(p))
				break;
			left = parse_call(p, fname, flen, fpos, left);
			prev = b;
			continue;
		}
		if (prev && prev->op == OP_COALESCE && b->op != OP_COALESCE) {
			perr(p, pos, -EINVAL,
			     "Operator (%s) and coalesce expressions (?\?) cannot be mixed. "
			     "Wrap either by parentheses.", b->text);
			break;
		}
		if (b->op == OP_LT || b->op == OP_GT || b->op == OP_LE || b->op == OP_GE) {
			left = parse_comparison(p, left, b->op, b->prec, pos);
		} else {
			right = parse_expression(p, b->right ? b->prec : b->prec + 1);
			left = make_binary(p, b->op, left, right, pos);
		}
		if (left && negate)
			left = make_not(p, left, pos);
		prev = b;
	}
	if (left && prec == 0)
		left = parse_conditional(p, left);
out:
	p->rdepth--;
	return p->failed ? NULL : left;
}

static struct node *parse_sequence(struct parser *p)
{
	struct node *first = parse_expression(p, 0), *seq;

	if (!first || !tok_op(p, ";"))
		return first;
	seq = node_new(p, N_SEQ, first->pos);
	if (!seq || !node_push(p, seq, first))
		return NULL;
	while (tok_op(p, ";")) {
		struct node *n;

		if (!next(p))
			return NULL;
		n = parse_expression(p, 0);
		if (!node_push(p, seq, n))
			return NULL;
	}
	seq->st = seq->list[seq->nlist - 1]->st;
	return seq;
}

static struct node *parse_closure(struct parser *p, const struct expr_type *elem)
{
	int pos = p->cur.pos;
	bool braces = tok_op(p, "{");
	struct node *body, *n;

	if (braces && !next(p))
		return NULL;
	if (p->closure_depth >= EXPR_MAX_DEPTH) {
		perr(p, pos, -E2BIG, "expression too deeply nested");
		return NULL;
	}
	p->closure_elem[p->closure_depth] = elem;
	p->closure_depth++;
	if (p->closure_depth > p->prog->nlevels)
		p->prog->nlevels = p->closure_depth;
	body = braces ? parse_sequence(p) : parse_expression(p, 0);
	p->closure_depth--;
	if (!body)
		return NULL;
	if (!braces && tok_op(p, ";")) {
		perr(p, p->cur.pos, -EINVAL, "wrap predicate with brackets { and }");
		return NULL;
	}
	if (braces && !expect_op(p, "}"))
		return NULL;
	n = node_new(p, N_CLOSURE, pos);
	if (!n || !node_child(p, n, body))
		return NULL;
	n->a = body;
	n->slot = p->closure_depth;	/* level of this closure's frame */
	n->st = body->st;
	return n;
}

struct predicate_def {
	const char *name;
	int op;
	int nargs;		/* array + closures (+ optional) */
	int nrequired;
	bool closure_args[3];
};

static const struct predicate_def predicates[] = {
	{ "all", P_ALL, 2, 2, { false, true } },
	{ "none", P_NONE, 2, 2, { false, true } },
	{ "any", P_ANY, 2, 2, { false, true } },
	{ "one", P_ONE, 2, 2, { false, true } },
	{ "filter", P_FILTER, 2, 2, { false, true } },
	{ "map", P_MAP, 2, 2, { false, true } },
	{ "count", P_COUNT, 2, 1, { false, true } },
	{ "sum", P_SUM, 2, 1, { false, true } },
	{ "find", P_FIND, 2, 2, { false, true } },
	{ "findIndex", P_FIND_INDEX, 2, 2, { false, true } },
	{ "findLast", P_FIND_LAST, 2, 2, { false, true } },
	{ "findLastIndex", P_FIND_LAST_INDEX, 2, 2, { false, true } },
	{ "groupBy", P_GROUP_BY, 2, 2, { false, true } },
	{ "sortBy", P_SORT_BY, 3, 2, { false, true, false } },
	{ "reduce", P_REDUCE, 3, 2, { false, true, false } },
};

static const struct expr_type *elem_type(const struct expr_type *t)
{
	if (t->kind == EXPR_ARRAY && t->elem)
		return t->elem;
	return &expr_type_any;
}

static const struct expr_type *predicate_type(const struct node *n)
{
	switch (n->op) {
	case P_ALL: case P_ANY: case P_NONE: case P_ONE:
		return &expr_type_bool;
	case P_COUNT: case P_FIND_INDEX: case P_FIND_LAST_INDEX:
		return &expr_type_int;
	case P_FILTER: case P_SORT_BY:
		return n->list[0]->st->kind == EXPR_ARRAY ? n->list[0]->st : &expr_type_array_any;
	case P_MAP:
		return &expr_type_array_any;
	case P_FIND: case P_FIND_LAST:
		return elem_type(n->list[0]->st);
	case P_GROUP_BY:
		return &expr_type_map_any;
	default:
		return &expr_type_any;
	}
}

/* What # is inside a closure over a value of static type t. */
static const struct expr_type *iter_elem_type(const struct expr_type *t)
{
	if (t->kind == EXPR_ARRAY && t->elem)
		return t->elem;
	if (t->kind == EXPR_HOST && t->host && (t->host->flags & EXPR_HOST_ARRAYLIKE) && t->elem)
		return t->elem;
	return &expr_type_any;
}

static struct node *parse_predicate_call(struct parser *p, const struct predicate_def *d, int pos,
					 struct node *piped)
{
	struct node *n = node_new(p, N_PREDICATE, pos);
	int i = 0;

	if (!n || !expect_op(p, "("))
		return NULL;
	n->op = d->op;
	if (piped) {
		if (!node_push(p, n, piped))
			return NULL;
		i = 1;
	}
	for (; i < d->nargs; i++) {
		struct node *arg;

		if (tok_op(p, ")")) {
			if (i < d->nrequired) {
				perr(p, p->cur.pos, -EINVAL, "%s: expected at least %d arguments",
				     d->name, d->nrequired);
				return NULL;
			}
			break;
		}
		if (i > 0 && !(piped && i == 1) && !expect_op(p, ","))
			return NULL;
		if (i > 0 && tok_op(p, ")") && i >= d->nrequired)
			break;	/* trailing comma */
		arg = d->closure_args[i] ? parse_closure(p, iter_elem_type(n->list[0]->st)) :
					   parse_expression(p, 0);
		if (!node_push(p, n, arg))
			return NULL;
	}
	if (tok_op(p, ","))
		next(p);
	if (!expect_op(p, ")"))
		return NULL;
	n->st = predicate_type(n);
	return n;
}

/* After an element of a list (arguments, array or map literal): a `,` (consumed) or its `close` (left). */
static bool list_sep(struct parser *p, const char *close, const char *what)
{
	if (tok_op(p, ","))
		return next(p);
	if (tok_op(p, close))
		return true;
	perr(p, p->cur.pos, -EINVAL, "expected , or %s in %s", close, what);
	return false;
}

static bool parse_args(struct parser *p, struct node *n)
{
	if (!expect_op(p, "("))
		return false;
	while (!tok_op(p, ")")) {
		struct node *arg = parse_expression(p, 0);

		if (!node_push(p, n, arg) || !list_sep(p, ")", "argument list"))
			return false;
	}
	return next(p);
}

static bool arg_compatible(enum expr_kind want, const struct expr_type *have)
{
	if (want == EXPR_ANY || !known(have))
		return true;
	if (have->kind == want)
		return true;
	if (want == EXPR_FLOAT && have->kind == EXPR_INT)
		return true;
	/* a host map/array may stand where a map/array is declared */
	if (have->kind == EXPR_HOST && (want == EXPR_MAP || want == EXPR_ARRAY))
		return true;
	return false;
}

static struct node *parse_call(struct parser *p, const char *name, int namelen, int pos,
			       struct node *piped)
{
	char fname[128];
	const struct expr_func *fn;
	struct node *n;

	if (p->failed)
		return NULL;
	if ((size_t)namelen >= sizeof(fname)) {
		perr(p, pos, -EINVAL, "unknown func %.*s", namelen, name);
		return NULL;
	}
	memcpy(fname, name, namelen);
	fname[namelen] = '\0';
	fn = env_find_func(p->env, fname);
	if (!fn) {
		for (size_t i = 0; i < ARRAY_SIZE(predicates); i++)
			if (!strcmp(predicates[i].name, fname))
				return parse_predicate_call(p, &predicates[i], pos, piped);
		fn = builtin_find(fname);
	}
	if (!fn) {
		perr(p, pos, -EINVAL, "unknown func %s", fname);
		return NULL;
	}
	n = node_new(p, N_CALL, pos);
	if (!n)
		return NULL;
	n->fn = fn;
	if (piped && !node_push(p, n, piped))
		return NULL;
	if (!parse_args(p, n))
		return NULL;
	if (n->nlist < fn->min_args || (fn->max_args >= 0 && n->nlist > fn->max_args)) {
		if (fn->min_args == fn->max_args)
			perr(p, pos, -EINVAL, "%s: expected %d argument%s, got %d", fname,
			     fn->min_args, fn->min_args == 1 ? "" : "s", n->nlist);
		else
			perr(p, pos, -EINVAL, "%s: wrong number of arguments (%d)", fname,
			     n->nlist);
		return NULL;
	}
	for (int i = 0; i < n->nlist; i++) {
		enum expr_kind want = func_arg_kind(fn, i);

		if (!arg_compatible(want, n->list[i]->st)) {
			perr(p, n->list[i]->pos, -EINVAL,
			     "cannot use %s as argument (type %s) to call %s",
			     expr_kind_name(n->list[i]->st->kind), expr_kind_name(want), fname);
			return NULL;
		}
	}
	n->st = fn->ret ? fn->ret : &expr_type_any;
	return n;
}

/*
 * A literal made only of constants ("x in ['a', 'b']", the hub's favourite)
 * is built once here instead of at every evaluation.
 */
static struct node *fold_array(struct parser *p, struct node *n)
{
	struct expr_value v;

	for (int i = 0; i < n->nlist; i++)
		if (n->list[i]->type != N_CONST)
			return n;
	if (expr_array_new(n->nlist, &v)) {
		perr(p, n->pos, -ENOMEM, "out of memory");
		return NULL;
	}
	for (int i = 0; i < n->nlist; i++) {
		if (expr_array_push(&v, &n->list[i]->val)) {
			expr_value_release(&v);
			perr(p, n->pos, -ENOMEM, "out of memory");
			return NULL;
		}
	}
	n->type = N_CONST;
	n->val = v;
	return n;
}

static struct node *parse_array(struct parser *p)
{
	struct node *n = node_new(p, N_ARRAY, p->cur.pos);
	const struct expr_type *et = NULL;

	if (!n || !next(p))
		return NULL;
	while (!tok_op(p, "]")) {
		struct node *item = parse_expression(p, 0);

		if (!node_push(p, n, item))
			return NULL;
		if (!et)
			et = item->st;
		else if (et->kind != item->st->kind)
			et = &expr_type_any;
		if (!list_sep(p, "]", "array"))
			return NULL;
	}
	if (!next(p))
		return NULL;
	/* element kinds for scalars only: container element types would need allocation */
	switch (et ? et->kind : EXPR_ANY) {
	case EXPR_STRING:
		n->st = &expr_type_array_string;
		break;
	case EXPR_INT:
		n->st = &type_array_int;
		break;
	default:
		n->st = &expr_type_array_any;
		break;
	}
	return fold_array(p, n);
}

static struct node *parse_map(struct parser *p)
{
	struct node *n = node_new(p, N_MAP, p->cur.pos);

	if (!n || !next(p))
		return NULL;
	while (!tok_op(p, "}")) {
		struct node *key, *val;

		if (p->cur.kind == T_IDENT || p->cur.kind == T_STRING || p->cur.kind == T_INT) {
			char num[24];

			if (p->cur.kind == T_IDENT)
				key = str_node(p, p->cur.pos, p->src + p->cur.pos, p->cur.len);
			else if (p->cur.kind == T_STRING)
				key = str_node(p, p->cur.pos, p->cur.s, p->cur.slen);
			else
				key = str_node(p, p->cur.pos, num,
					       snprintf(num, sizeof(num), "%" PRId64, p->cur.i));
			if (!key || !next(p))
				return NULL;
		} else if (tok_op(p, "(")) {
			if (!next(p))
				return NULL;
			key = parse_expression(p, 0);
			if (!expect_op(p, ")"))
				return NULL;
		} else {
			perr(p, p->cur.pos, -EINVAL, "a map key must be a quoted string, a number, "
			     "an identifier, or an expression enclosed in parentheses");
			return NULL;
		}
		if (!expect_op(p, ":"))
			return NULL;
		val = parse_expression(p, 0);
		if (!node_push(p, n, key) || !node_push(p, n, val))
			return NULL;
		if (!list_sep(p, "}", "map"))
			return NULL;
	}
	if (!next(p))
		return NULL;
	n->st = &expr_type_map_any;
	return n;
}

static struct node *parse_ident(struct parser *p)
{
	const char *name = p->src + p->cur.pos;
	int len = p->cur.len, pos = p->cur.pos;
	struct node *n;

	if (!next(p))
		return NULL;
	if (tok_op(p, "("))
		return parse_call(p, name, len, pos, NULL);
	if ((len == 4 && !memcmp(name, "true", 4)) || (len == 5 && !memcmp(name, "false", 5)))
		return const_node(p, pos, expr_bool(len == 4), &expr_type_bool);
	if (len == 3 && !memcmp(name, "nil", 3))
		return const_node(p, pos, expr_nil(), &expr_type_nil);
	if (is_keyword(name, len)) {
		perr(p, pos, -EINVAL, "unexpected token %.*s", len, name);
		return NULL;
	}
	for (int i = p->nscope - 1; i >= 0; i--) {
		if (p->scope[i].len == len && !memcmp(p->scope[i].name, name, len)) {
			n = node_new(p, N_LOCAL, pos);
			if (n) {
				n->slot = p->scope[i].slot;
				n->st = p->scope[i].st;
			}
			return n;
		}
	}
	for (int i = 0; i < p->env->nvars; i++) {
		if ((size_t)len == strlen(p->env->vars[i].name) &&
		    !memcmp(p->env->vars[i].name, name, len)) {
			n = node_new(p, N_VAR, pos);
			if (n) {
				n->slot = i;
				n->st = p->env->vars[i].type ? p->env->vars[i].type : &expr_type_any;
			}
			return n;
		}
	}
	perr(p, pos, -EINVAL, "unknown name %.*s", len, name);
	return NULL;
}

static struct node *parse_primary(struct parser *p)
{
	struct node *n = NULL;
	int pos = p->cur.pos;

	if (tok_word(p, "not") || tok_op(p, "!") || tok_op(p, "-") || tok_op(p, "+")) {
		int op = tok_op(p, "-") ? OP_NEG : tok_op(p, "+") ? OP_PLUS : OP_NOT;
		struct node *inner;

		if (!next(p))
			return NULL;
		inner = parse_expression(p, op == OP_NOT ? 50 : 90);
		if (!inner)
			return NULL;
		/* fold "-1" so negative literals (indexes) are constants */
		if (op == OP_NEG && inner->type == N_CONST && inner->val.kind == EXPR_INT &&
		    inner->val.i != INT64_MIN) {
			inner->val.i = -inner->val.i;
			inner->pos = pos;
			return inner;
		}
		if (op == OP_NEG && inner->type == N_CONST && inner->val.kind == EXPR_FLOAT) {
			inner->val.f = -inner->val.f;
			inner->pos = pos;
			return inner;
		}
		n = node_new(p, N_UNARY, pos);
		if (!n || !node_child(p, n, inner))
			return NULL;
		n->op = op;
		n->a = inner;
		if (op == OP_NOT) {
			if (known(inner->st) && inner->st->kind != EXPR_BOOL) {
				perr(p, pos, -EINVAL, "invalid operation: not (mismatched type %s)",
				     expr_kind_name(inner->st->kind));
				return NULL;
			}
			n->st = &expr_type_bool;
		} else {
			if (known(inner->st) && !numeric(inner->st->kind) &&
			    inner->st->kind != EXPR_DURATION) {
				perr(p, pos, -EINVAL, "invalid operation: %s (mismatched type %s)",
				     op == OP_NEG ? "-" : "+", expr_kind_name(inner->st->kind));
				return NULL;
			}
			n->st = inner->st;
		}
		return n;
	}
	if (tok_op(p, "(")) {
		if (!next(p))
			return NULL;
		n = parse_sequence(p);
		if (!n)
			return NULL;
		if (!expect_or(p, tok_op(p, ")"), "an opened parenthesis is not properly closed"))
			return NULL;
		return n;
	}
	if (p->closure_depth > 0 && (tok_op(p, "#") || tok_op(p, "."))) {
		n = node_new(p, N_POINTER, pos);
		if (!n)
			return NULL;
		n->slot = p->closure_depth - 1;
		n->st = p->closure_elem[n->slot] ? p->closure_elem[n->slot] : &expr_type_any;
		if (tok_op(p, "#")) {
			if (!next(p))
				return NULL;
			if (tok_word(p, "index")) {
				n->op = 1;
				n->st = &expr_type_int;
				if (!next(p))
					return NULL;
			} else if (tok_word(p, "acc")) {
				n->op = 2;
				n->st = &expr_type_any;
				if (!next(p))
					return NULL;
			}
		}
		return n;
	}
	switch (p->cur.kind) {
	case T_IDENT:
		return parse_ident(p);
	case T_INT:
		n = const_node(p, pos, expr_int(p->cur.i), &expr_type_int);
		break;
	case T_FLOAT:
		n = const_node(p, pos, expr_float(p->cur.f), &expr_type_float);
		break;
	case T_STRING:
		n = str_node(p, pos, p->cur.s, p->cur.slen);
		break;
	case T_OP:
		if (tok_op(p, "["))
			return parse_array(p);
		if (tok_op(p, "{"))
			return parse_map(p);
		/* fall through */
	default:
		if (p->cur.kind == T_EOF)
			perr(p, pos, -EINVAL, "unexpected end of expression");
		else
			perr(p, pos, -EINVAL, "unexpected token %.*s", p->cur.len ? p->cur.len : 1,
			     p->src + pos);
		return NULL;
	}
	if (n && !next(p))
		return NULL;
	return n;
}

static struct node *chain_wrap(struct parser *p, struct node *n, bool chain)
{
	struct node *c;

	if (!n || !chain)
		return n;
	c = node_new(p, N_CHAIN, n->pos);
	if (!c || !node_child(p, c, n))
		return NULL;
	c->a = n;
	c->st = n->st;
	return c;
}

/*
 * Postfix operators: .name, ?.name, [i], [a:b], .method(args). Called with
 * n == NULL to parse the primary first (so unary/paren results also take
 * postfixes, as in expr).
 */
static struct node *parse_postfix(struct parser *p, struct node *n)
{
	if (!n)
		n = parse_primary(p);
	while (n && !p->failed) {
		bool optional = tok_op(p, "?.");
		bool chain = n->type == N_CHAIN;
		struct node *obj = chain ? n->a : n, *m, *from = NULL, *to = NULL;
		int pos = p->cur.pos;

		if (tok_op(p, ".") || optional) {
			char name[128];
			int nlen;

			if (!next(p))
				return NULL;
			if (optional && tok_op(p, "["))
				goto bracket;
			if (p->cur.kind != T_IDENT) {
				perr(p, p->cur.pos, -EINVAL, "expected name");
				return NULL;
			}
			nlen = p->cur.len;
			if ((size_t)nlen >= sizeof(name)) {
				perr(p, p->cur.pos, -EINVAL, "name too long");
				return NULL;
			}
			memcpy(name, p->src + p->cur.pos, nlen);
			name[nlen] = '\0';
			pos = p->cur.pos;
			if (!next(p))
				return NULL;
			if (tok_op(p, "(")) {
				m = node_new(p, N_METHOD, pos);
				if (!m || !node_child(p, m, obj) || !parse_args(p, m))
					return NULL;
				m->a = obj;
				m->optional = optional;
				if (expr_string(name, &m->val)) {
					perr(p, pos, -ENOMEM, "out of memory");
					return NULL;
				}
				m->st = method_type(p, obj, name, m->nlist, pos);
			} else {
				struct node *key = str_node(p, pos, name, strlen(name));

				m = node_new(p, N_MEMBER, pos);
				if (!key || !m || !node_child(p, m, obj) || !node_child(p, m, key))
					return NULL;
				m->a = obj;
				m->b = key;
				m->optional = optional;
				m->st = member_type(p, obj, name, true, pos);
			}
			if (!m->st)
				return NULL;
			n = chain_wrap(p, m, chain || optional);
			continue;
		}
		if (tok_op(p, "[")) {
bracket:
			if (!next(p))
				return NULL;
			/* [i], or a slice: [from:to], [from:], [:to], [:] */
			if (!tok_op(p, ":") && !(from = parse_expression(p, 0)))
				return NULL;
			if (tok_op(p, ":")) {
				if (!next(p))
					return NULL;
				if (!tok_op(p, "]"))
					to = parse_expression(p, 0);
				if (p->failed || !expect_op(p, "]"))
					return NULL;
				m = node_new(p, N_SLICE, pos);
				if (!m || !node_child(p, m, obj))
					return NULL;
				if ((from && !node_child(p, m, from)) || (to && !node_child(p, m, to)))
					return NULL;
				m->a = obj;
				m->b = from;
				m->c = to;
				if (known(obj->st) && obj->st->kind != EXPR_STRING &&
				    obj->st->kind != EXPR_ARRAY && obj->st->kind != EXPR_HOST) {
					perr(p, pos, -EINVAL, "cannot slice %s",
					     expr_kind_name(obj->st->kind));
					return NULL;
				}
				m->st = obj->st->kind == EXPR_HOST ? &expr_type_array_any : obj->st;
				n = chain_wrap(p, m, chain);
				continue;
			}
			if (!expect_op(p, "]"))
				return NULL;
			m = node_new(p, N_MEMBER, pos);
			if (!m || !node_child(p, m, obj) || !node_child(p, m, from))
				return NULL;
			m->a = obj;
			m->b = from;
			m->optional = optional;
			if (known(from->st) && from->st->kind != EXPR_STRING &&
			    from->st->kind != EXPR_INT && from->st->kind != EXPR_NIL &&
			    obj->st->kind != EXPR_ANY) {
				perr(p, from->pos, -EINVAL, "invalid index type %s",
				     expr_kind_name(from->st->kind));
				return NULL;
			}
			if (from->type == N_CONST && from->val.kind == EXPR_STRING)
				m->st = member_type(p, obj, from->val.s->s, true, pos);
			else if (from->st->kind == EXPR_INT)
				m->st = member_type(p, obj, NULL, false, pos);
			else
				m->st = &expr_type_any;
			if (!m->st)
				return NULL;
			n = chain_wrap(p, m, chain || optional);
			continue;
		}
		break;
	}
	return n;
}

/* ---- entry points ---- */

static void prog_free_nodes(struct expr_prog *prog)
{
	for (int i = 0; i < prog->nnodes; i++) {
		struct node *n = prog->nodes[i];

		expr_value_release(&n->val);
		expr_regex_free(n->re);
		free(n->ops);
		if (!prog->block) {
			free(n->list);
			free(n);
		}
	}
	free(prog->block);
	free(prog->lists);
	prog->block = NULL;
	prog->lists = NULL;
	free(prog->nodes);
	prog->nodes = NULL;
	prog->nnodes = 0;
}

void expr_prog_free(struct expr_prog *prog)
{
	if (!prog)
		return;
	prog_free_nodes(prog);
	flat_free(prog->flat);
	if (prog->after_guard)
		flat_free(prog->after_guard->flat);
	free(prog->after_guard);	/* a view: what it points to is prog's */
	free(prog->src);
	free(prog);
}

const char *expr_prog_source(const struct expr_prog *prog)
{
	return prog ? prog->src : NULL;
}

enum expr_kind expr_prog_type(const struct expr_prog *prog)
{
	return prog && prog->root ? prog->root->st->kind : EXPR_ANY;
}

int expr_compile(const struct expr_env *env, const char *src, struct expr_prog **out,
		 struct expr_error *err)
{
	struct parser p = { .env = env, .src = src, .err = err };
	struct expr_prog *prog;
	struct node *root;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	if (!env || !src) {
		if (err) {
			err->code = -EINVAL;
			snprintf(err->msg, sizeof(err->msg), "no environment or source");
		}
		return -EINVAL;
	}
	p.srclen = strlen(src);
	if (p.srclen > EXPR_MAX_SOURCE) {
		perr(&p, 0, -E2BIG, "expression too long (%zu bytes)", p.srclen);
		return -E2BIG;
	}
	prog = calloc(1, sizeof(*prog));
	if (!prog || !(prog->src = strdup(src))) {
		free(prog);
		perr(&p, 0, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	prog->env = env;
	p.prog = prog;
	if (lex(&p))
		goto fail;
	if (p.cur.kind == T_EOF) {
		perr(&p, p.cur.pos, -EINVAL, "unexpected end of expression");
		goto fail;
	}
	root = parse_sequence(&p);
	if (!root || p.failed)
		goto fail;
	if (p.cur.kind != T_EOF) {
		perr(&p, p.cur.pos, -EINVAL, "unexpected token %.*s", p.cur.len ? p.cur.len : 1,
		     src + p.cur.pos);
		goto fail;
	}
	free(p.cur.s);
	prog->root = root;
	optimize(prog);
	*out = prog;
	return 0;
fail:
	free(p.cur.s);
	expr_prog_free(prog);
	return p.failed ? p.failed : -EINVAL;
}
