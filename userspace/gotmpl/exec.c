// SPDX-License-Identifier: MIT
/* Running a parsed template on JSON data, and its function table. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "gotmpl/gotmpl_int.h"

#define MAX_VARS 256

struct var {
	const char *name;
	json_t *v;
};

struct run {
	const struct gotmpl *t;
	struct sbuf out;
	struct var vars[MAX_VARS];
	int nvars;
	int line;
	struct gotmpl_err e;
};

#define rerr(r, ...) gotmpl_fail(&(r)->e, (r)->t->name, (r)->line, __VA_ARGS__)

/* ---- values ----------------------------------------------------------------------- */

static bool truth(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return json_object_size(v) > 0;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0;
	case JSON_TRUE: return true;
	default: return false;
	}
}

/* Go field name vs JSON key: same letters ignoring case and "_" (StartAt ~ start_at). */
static bool key_matches(const char *field, const char *key)
{
	for (;;) {
		while (*key == '_')
			key++;
		while (*field == '_')
			field++;
		if (!*field || !*key)
			return !*field && !*key;
		if (tolower((unsigned char)*field++) != tolower((unsigned char)*key++))
			return false;
	}
}

static json_t *field_of(json_t *v, const char *f)
{
	const char *k;
	json_t *x;

	if (!json_is_object(v))
		return NULL;
	if ((x = json_object_get(v, f)))
		return x;
	json_object_foreach(v, k, x)
		if (key_matches(f, k))
			return x;
	return NULL;
}

static void print_value(struct sbuf *sb, json_t *v);

static void print_go_list(struct sbuf *sb, json_t *v)
{
	size_t i;
	json_t *x;

	sb_putc(sb, '[');
	json_array_foreach(v, i, x) {
		if (i)
			sb_putc(sb, ' ');
		print_value(sb, x);
	}
	sb_putc(sb, ']');
}

static void print_value(struct sbuf *sb, json_t *v)
{
	char *s;

	switch (json_typeof(v)) {
	case JSON_STRING: sb_putn(sb, json_string_value(v), json_string_length(v)); break;
	case JSON_INTEGER: sb_printf(sb, "%lld", (long long)json_integer_value(v)); break;
	case JSON_REAL: sb_printf(sb, "%g", json_real_value(v)); break;
	case JSON_TRUE: sb_puts(sb, "true"); break;
	case JSON_FALSE: sb_puts(sb, "false"); break;
	case JSON_ARRAY: print_go_list(sb, v); break;
	case JSON_OBJECT:
		s = json_dumps(v, JSON_COMPACT);
		sb_puts(sb, s ? s : "");
		free(s);
		break;
	default: sb_puts(sb, "<no value>"); break;
	}
}

/* ---- functions -------------------------------------------------------------------- */

typedef json_t *(*func_fn)(struct run *r, json_t **a, size_t n);

/* json.Marshal escapes <, > and & for HTML safety (sprig's toJson keeps that). */
static json_t *to_json_text(json_t *v, size_t flags)
{
	char *s = json_dumps(v ? v : json_null(), flags | JSON_ENCODE_ANY);
	struct sbuf sb = { 0 };
	json_t *out;

	if (!s)
		return NULL;
	for (char *p = s; *p; p++) {
		if (*p == '<')
			sb_puts(&sb, "\\u003c");
		else if (*p == '>')
			sb_puts(&sb, "\\u003e");
		else if (*p == '&')
			sb_puts(&sb, "\\u0026");
		else
			sb_putc(&sb, *p);
	}
	free(s);
	s = sb_take(&sb, NULL);
	out = s ? json_string(s) : NULL;
	free(s);
	return out;
}

static json_t *f_tojson(struct run *r, json_t **a, size_t n)
{
	(void)r;
	return n == 1 ? to_json_text(a[0], JSON_COMPACT) : NULL;
}

static json_t *f_toprettyjson(struct run *r, json_t **a, size_t n)
{
	(void)r;
	return n == 1 ? to_json_text(a[0], JSON_INDENT(2)) : NULL;
}

static json_t *f_len(struct run *r, json_t **a, size_t n)
{
	if (n != 1)
		return NULL;
	if (json_is_array(a[0]))
		return json_integer((json_int_t)json_array_size(a[0]));
	if (json_is_object(a[0]))
		return json_integer((json_int_t)json_object_size(a[0]));
	if (json_is_string(a[0]))
		return json_integer((json_int_t)json_string_length(a[0]));
	rerr(r, "error calling len: len of this type");
	return NULL;
}

static json_t *f_index(struct run *r, json_t **a, size_t n)
{
	json_t *v = n ? a[0] : NULL;

	for (size_t i = 1; v && i < n; i++) {
		if (json_is_array(v) && json_is_integer(a[i]))
			v = json_array_get(v, (size_t)json_integer_value(a[i]));
		else if (json_is_object(v) && json_is_string(a[i]))
			v = json_object_get(v, json_string_value(a[i]));
		else {
			rerr(r, "error calling index: cannot index this value");
			return NULL;
		}
		if (!v) {
			if (json_is_array(a[i - 1] ? a[0] : a[0]) && json_is_integer(a[i])) {
				rerr(r, "error calling index: index out of range");
				return NULL;
			}
			return json_null();
		}
	}
	return v ? json_incref(v) : json_null();
}

static json_t *case_map(json_t **a, size_t n, int (*fn)(int))
{
	char *s;
	json_t *out;

	if (n != 1 || !json_is_string(a[0]))
		return NULL;
	s = strdup(json_string_value(a[0]));
	if (!s)
		return NULL;
	for (char *p = s; *p; p++)
		*p = (char)fn((unsigned char)*p);
	out = json_string(s);
	free(s);
	return out;
}

static json_t *f_lower(struct run *r, json_t **a, size_t n)
{
	(void)r;
	return case_map(a, n, tolower);
}

static json_t *f_upper(struct run *r, json_t **a, size_t n)
{
	(void)r;
	return case_map(a, n, toupper);
}

static json_t *f_trim(struct run *r, json_t **a, size_t n)
{
	const char *s;
	size_t len;

	(void)r;
	if (n != 1 || !json_is_string(a[0]))
		return NULL;
	s = json_string_value(a[0]);
	len = json_string_length(a[0]);
	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	return json_stringn(s, len);
}

static json_t *f_print(struct run *r, json_t **a, size_t n)
{
	struct sbuf sb = { 0 };
	char *s;
	json_t *out;

	(void)r;
	for (size_t i = 0; i < n; i++) {
		/* fmt.Sprint: a space between operands when neither is a string */
		if (i && !json_is_string(a[i]) && !json_is_string(a[i - 1]))
			sb_putc(&sb, ' ');
		print_value(&sb, a[i]);
	}
	s = sb_take(&sb, NULL);
	out = s ? json_string(s) : NULL;
	free(s);
	return out;
}

static json_t *f_printf(struct run *r, json_t **a, size_t n)
{
	struct sbuf sb = { 0 };
	size_t next = 1;
	const char *f;
	char *s;
	json_t *out;

	if (!n || !json_is_string(a[0]))
		return NULL;
	for (f = json_string_value(a[0]); *f; f++) {
		json_t *v;

		if (*f != '%') {
			sb_putc(&sb, *f);
			continue;
		}
		if (*++f == '%') {
			sb_putc(&sb, '%');
			continue;
		}
		if (!strchr("sdvq", *f)) {
			sb_free(&sb);
			rerr(r, "error calling printf: verb %%%c is not supported", *f ? *f : ' ');
			return NULL;
		}
		v = next < n ? a[next++] : NULL;
		if (!v)
			sb_printf(&sb, "%%!%c(MISSING)", *f);
		else if (*f == 'q') {
			char *q = json_dumps(v, JSON_ENCODE_ANY);

			sb_puts(&sb, q ? q : "");
			free(q);
		} else
			print_value(&sb, v);
	}
	s = sb_take(&sb, NULL);
	out = s ? json_string(s) : NULL;
	free(s);
	return out;
}

static int compare(struct run *r, json_t *x, json_t *y, int *cmp)
{
	if (json_is_number(x) && json_is_number(y)) {
		double a = json_number_value(x), b = json_number_value(y);

		*cmp = a < b ? -1 : a > b;
		return 0;
	}
	if (json_is_string(x) && json_is_string(y)) {
		*cmp = strcmp(json_string_value(x), json_string_value(y));
		return 0;
	}
	if (json_is_boolean(x) && json_is_boolean(y)) {
		*cmp = json_is_true(x) - json_is_true(y);
		return 0;
	}
	if (json_is_null(x) || json_is_null(y)) {
		*cmp = json_is_null(x) && json_is_null(y) ? 0 : 1;
		return 0;
	}
	return rerr(r, "incompatible types for comparison");
}

static json_t *cmp_fn(struct run *r, json_t **a, size_t n, int op)
{
	int c;

	if (n < 2)
		return NULL;
	if (op == 0) { /* eq arg1 arg2 [arg3...]: true if arg1 equals any */
		for (size_t i = 1; i < n; i++) {
			if (compare(r, a[0], a[i], &c))
				return NULL;
			if (!c)
				return json_true();
		}
		return json_false();
	}
	if (n != 2 || compare(r, a[0], a[1], &c))
		return NULL;
	switch (op) {
	case 1: return json_boolean(c != 0);
	case 2: return json_boolean(c < 0);
	case 3: return json_boolean(c <= 0);
	case 4: return json_boolean(c > 0);
	default: return json_boolean(c >= 0);
	}
}

static json_t *f_eq(struct run *r, json_t **a, size_t n) { return cmp_fn(r, a, n, 0); }
static json_t *f_ne(struct run *r, json_t **a, size_t n) { return cmp_fn(r, a, n, 1); }
static json_t *f_lt(struct run *r, json_t **a, size_t n) { return cmp_fn(r, a, n, 2); }
static json_t *f_le(struct run *r, json_t **a, size_t n) { return cmp_fn(r, a, n, 3); }
static json_t *f_gt(struct run *r, json_t **a, size_t n) { return cmp_fn(r, a, n, 4); }
static json_t *f_ge(struct run *r, json_t **a, size_t n) { return cmp_fn(r, a, n, 5); }

static json_t *f_not(struct run *r, json_t **a, size_t n)
{
	(void)r;
	return n == 1 ? json_boolean(!truth(a[0])) : NULL;
}

/* and/or return the deciding operand, as Go does */
static json_t *f_and(struct run *r, json_t **a, size_t n)
{
	(void)r;
	for (size_t i = 0; i < n; i++)
		if (!truth(a[i]) || i + 1 == n)
			return json_incref(a[i]);
	return NULL;
}

static json_t *f_or(struct run *r, json_t **a, size_t n)
{
	(void)r;
	for (size_t i = 0; i < n; i++)
		if (truth(a[i]) || i + 1 == n)
			return json_incref(a[i]);
	return NULL;
}

/* sprig: default DEFAULT VALUE */
static json_t *f_default(struct run *r, json_t **a, size_t n)
{
	(void)r;
	if (n != 2)
		return NULL;
	return json_incref(truth(a[1]) ? a[1] : a[0]);
}

static const struct {
	const char *name;
	func_fn fn;
} funcs[] = {
	{ "toJson", f_tojson }, { "toPrettyJson", f_toprettyjson }, { "len", f_len },
	{ "index", f_index },	{ "lower", f_lower },		    { "upper", f_upper },
	{ "trim", f_trim },	{ "print", f_print },		    { "printf", f_printf },
	{ "eq", f_eq },		{ "ne", f_ne },			    { "lt", f_lt },
	{ "le", f_le },		{ "gt", f_gt },			    { "ge", f_ge },
	{ "not", f_not },	{ "and", f_and },		    { "or", f_or },
	{ "default", f_default },
};

static func_fn find_func(const char *name)
{
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (!strcmp(funcs[i].name, name))
			return funcs[i].fn;
	return NULL;
}

bool gotmpl_func_known(const char *name)
{
	return find_func(name) != NULL;
}

/* ---- evaluation ------------------------------------------------------------------- */

static json_t *lookup_var(struct run *r, const char *name)
{
	for (int i = r->nvars - 1; i >= 0; i--)
		if (!strcmp(r->vars[i].name, name))
			return r->vars[i].v;
	rerr(r, "undefined variable: %s", name);
	return NULL;
}

static int push_var(struct run *r, const char *name, json_t *v)
{
	if (r->nvars == MAX_VARS)
		return rerr(r, "too many variables");
	r->vars[r->nvars].name = name;
	r->vars[r->nvars++].v = json_incref(v);
	return 0;
}

static void pop_vars(struct run *r, int to)
{
	while (r->nvars > to)
		json_decref(r->vars[--r->nvars].v);
}

static json_t *eval_pipe(struct run *r, const struct pipe *pp, json_t *dot);

static json_t *follow(json_t *v, char *const *fields, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		v = field_of(v, fields[i]);
	return v ? json_incref(v) : json_null();
}

static json_t *eval_arg(struct run *r, const struct arg *a, json_t *dot)
{
	json_t *v, *out;

	switch (a->k) {
	case A_DOT: return json_incref(dot);
	case A_FIELD: return follow(dot, a->fields, a->nfields);
	case A_VAR:
		v = lookup_var(r, a->s);
		return v ? follow(v, a->fields, a->nfields) : NULL;
	case A_STR: return json_string(a->s);
	case A_INT: return json_integer(a->i);
	case A_REAL: return json_real(a->r);
	case A_BOOL: return json_boolean(a->b);
	case A_NIL: return json_null();
	case A_PIPE:
		v = eval_pipe(r, a->pipe, dot);
		if (!v)
			return NULL;
		out = follow(v, a->fields, a->nfields);
		json_decref(v);
		return out;
	case A_FUNC: break;
	}
	return NULL;
}

static json_t *eval_cmd(struct run *r, const struct cmd *c, json_t *dot, json_t *piped)
{
	json_t *args[16], *out = NULL;
	size_t n = 0;
	func_fn fn;

	if (c->args[0].k != A_FUNC) {
		if (c->n > 1 || piped) {
			rerr(r, "can't give argument to non-function");
			return NULL;
		}
		return eval_arg(r, &c->args[0], dot);
	}
	fn = find_func(c->args[0].s);
	if (c->n + 1 > sizeof(args) / sizeof(args[0])) {
		rerr(r, "too many arguments to %s", c->args[0].s);
		return NULL;
	}
	for (size_t i = 1; i < c->n; i++) {
		if (c->args[i].k == A_FUNC) { /* a niladic call as an argument: none of ours */
			rerr(r, "wrong number of args for %s", c->args[i].s);
			goto out;
		}
		if (!(args[n] = eval_arg(r, &c->args[i], dot)))
			goto out;
		n++;
	}
	if (piped)
		args[n++] = json_incref(piped);
	out = fn(r, args, n);
	if (!out)
		rerr(r, "error calling %s: wrong arguments", c->args[0].s);
out:
	while (n)
		json_decref(args[--n]);
	return out;
}

static json_t *eval_pipe(struct run *r, const struct pipe *pp, json_t *dot)
{
	json_t *v = NULL;

	for (size_t i = 0; i < pp->n; i++) {
		json_t *next = eval_cmd(r, &pp->cmds[i], dot, v);

		json_decref(v);
		if (!next)
			return NULL;
		v = next;
	}
	return v;
}

/* The pipeline of an action, with its declaration or assignment applied. */
static json_t *run_decl_pipe(struct run *r, const struct pipe *pp, json_t *dot)
{
	json_t *v = eval_pipe(r, pp, dot);

	if (!v || !pp->ndecl || pp->ndecl == 2)
		return v;
	if (pp->assign) {
		for (int i = r->nvars - 1; i >= 0; i--)
			if (!strcmp(r->vars[i].name, pp->decl[0])) {
				json_decref(r->vars[i].v);
				r->vars[i].v = json_incref(v);
				return v;
			}
		rerr(r, "undefined variable: %s", pp->decl[0]);
		json_decref(v);
		return NULL;
	}
	if (push_var(r, pp->decl[0], v)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static int run_list(struct run *r, const struct list *l, json_t *dot);

/* One iteration: the declared variables ($k, $v or $v), then the body on x. */
static int range_step(struct run *r, const struct node *n, json_t *key, json_t *x)
{
	int base = r->nvars, ret = 0;

	if (!key)
		return -ENOMEM;
	if (n->pipe->ndecl == 2)
		ret = push_var(r, n->pipe->decl[0], key) ?: push_var(r, n->pipe->decl[1], x);
	else if (n->pipe->ndecl == 1)
		ret = push_var(r, n->pipe->decl[0], x);
	json_decref(key);
	if (!ret)
		ret = run_list(r, n->body, x);
	pop_vars(r, base);
	return ret;
}

static int run_range(struct run *r, const struct node *n, json_t *dot)
{
	json_t *v = eval_pipe(r, n->pipe, dot), *x;
	int ret = 0;
	const char *k;
	size_t i;

	if (!v)
		return r->e.failed ? r->e.failed : -ENOMEM;
	if (!truth(v)) {
		ret = n->els ? run_list(r, n->els, dot) : 0;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if ((ret = range_step(r, n, json_integer((json_int_t)i), x)))
				break;
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, x)
			if ((ret = range_step(r, n, json_string(k), x)))
				break;
	} else {
		ret = rerr(r, "range can't iterate over this value");
	}
	json_decref(v);
	return ret;
}

static int run_list(struct run *r, const struct list *l, json_t *dot)
{
	int base = r->nvars, ret = 0;

	for (size_t i = 0; !ret && i < l->n; i++) {
		const struct node *n = &l->v[i];
		json_t *v;

		r->line = n->line;
		switch (n->k) {
		case N_TEXT:
			sb_putn(&r->out, n->text, n->len);
			break;
		case N_ACTION:
			v = run_decl_pipe(r, n->pipe, dot);
			if (!v) {
				ret = r->e.failed ? r->e.failed : -ENOMEM;
				break;
			}
			if (!n->pipe->ndecl)
				print_value(&r->out, v);
			json_decref(v);
			break;
		case N_IF:
		case N_WITH: {
			int inner = r->nvars;

			v = run_decl_pipe(r, n->pipe, dot);
			if (!v) {
				ret = r->e.failed ? r->e.failed : -ENOMEM;
				break;
			}
			if (truth(v))
				ret = run_list(r, n->body, n->k == N_WITH ? v : dot);
			else if (n->els)
				ret = run_list(r, n->els, dot);
			pop_vars(r, inner);
			json_decref(v);
			break;
		}
		case N_RANGE:
			ret = run_range(r, n, dot);
			break;
		}
		if (!ret && r->out.err)
			ret = rerr(r, "output larger than %u bytes", GOTMPL_MAX_OUTPUT);
	}
	pop_vars(r, base);
	return ret;
}

int gotmpl_exec(const struct gotmpl *t, json_t *data, char **out, size_t *len, char *err,
		size_t errlen)
{
	struct run *r = calloc(1, sizeof(*r));
	int ret;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->t = t;
	r->out.max = GOTMPL_MAX_OUTPUT;
	r->e = (struct gotmpl_err){ err, errlen, 0 };
	ret = push_var(r, "$", data ? data : json_null());
	if (!ret)
		ret = run_list(r, t->root, data ? data : json_null());
	pop_vars(r, 0);
	if (!ret) {
		*out = sb_take(&r->out, len);
		if (!*out)
			ret = -ENOMEM;
	}
	sb_free(&r->out);
	free(r);
	return ret;
}
