// SPDX-License-Identifier: MIT
#include "common/ywalk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strv.h"

int ywalk_fail(struct ywalk *w, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[1024], where[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->with_column)
		snprintf(where, sizeof(where), "%s:%d:%d", w->file ? w->file : "",
			 ywalk_line(n), n ? (int)n->start_mark.column + 1 : 0);
	else
		snprintf(where, sizeof(where), "%s:%d", w->file ? w->file : "", ywalk_line(n));
	if (w->log)
		log_error("%s: %s", where, msg);
	if (w->err && w->errlen)
		snprintf(w->err, w->errlen, "%s: %s", where, msg);
	return -EINVAL;
}

int ywalk_stream_open(struct ywalk_stream *s, const char *text, size_t len)
{
	memset(s, 0, sizeof(*s));
	if (!yaml_parser_initialize(&s->parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&s->parser, (const unsigned char *)text, len);
	return 0;
}

int ywalk_next(struct ywalk *w, struct ywalk_stream *s, yaml_node_t **root)
{
	const yaml_parser_t *p = &s->parser;

	*root = NULL;
	if (s->have_doc)
		yaml_document_delete(&s->doc);
	s->have_doc = false;
	if (!yaml_parser_load(&s->parser, &s->doc)) {
		yaml_node_t at = { .start_mark = p->problem_mark };

		return ywalk_fail(w, &at, "YAML error: %s%s%s", p->context ? p->context : "",
				  p->context ? ": " : "", p->problem ? p->problem : "syntax error");
	}
	s->have_doc = true;
	w->doc = &s->doc;
	*root = yaml_document_get_root_node(&s->doc);
	return 0;
}

void ywalk_stream_close(struct ywalk_stream *s)
{
	if (s->have_doc)
		yaml_document_delete(&s->doc);
	s->have_doc = false;
	yaml_parser_delete(&s->parser);
}

int ywalk_list_new(struct ywalk *w, const yaml_node_t *seq, const char *what, size_t elem,
		   void **items)
{
	size_t n;

	if (ywalk_is_null(seq))
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return ywalk_fail(w, seq, "'%s' must be a list", what);
	n = ywalk_count(seq);
	*items = calloc(n ? n : 1, elem);
	return *items ? 0 : -ENOMEM;
}

int ywalk_map_opt(struct ywalk *w, const yaml_node_t *m, const char *what)
{
	if (ywalk_is_null(m))
		return 0;
	if (m->type != YAML_MAPPING_NODE)
		return ywalk_fail(w, m, "'%s' must be a mapping", what);
	return 1;
}

int ywalk_map_check(struct ywalk *w, const yaml_node_t *map, const char *what, bool unique)
{
	const char *sep = what ? ": " : "";
	yaml_node_pair_t *p, *q;

	if (!what)
		what = "";
	if (!map || map->type != YAML_MAPPING_NODE)
		return ywalk_fail(w, map, "%s%sexpected a mapping", what, sep);
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = ywalk_node(w, p->key);
		const char *key = ywalk_scalar(k);

		if (!key)
			return ywalk_fail(w, k, "%s%skeys must be strings", what, sep);
		/* quadratic, but a configuration mapping has a handful of keys */
		for (q = map->data.mapping.pairs.start; unique && q < p; q++)
			if (!strcmp(ywalk_scalar(ywalk_node(w, q->key)), key))
				return ywalk_fail(w, k, "%s%skey '%s' is already defined", what,
						  sep, key);
	}
	return 0;
}

yaml_node_t *ywalk_get(const struct ywalk *w, const yaml_node_t *map, const char *key,
		       const yaml_node_t **key_node)
{
	yaml_node_t *k, *v;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	YWALK_PAIR_NODES(w, map, k, v) {
		if (ywalk_scalar(k) && !strcmp(ywalk_scalar(k), key)) {
			if (key_node)
				*key_node = k;
			return v;
		}
	}
	return NULL;
}

bool ywalk_is_null(const yaml_node_t *n)
{
	const char *s = ywalk_scalar(n);

	if (!n)
		return true;
	if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

/* gopkg.in/yaml.v2's resolve table */
static const char *const yaml_true[] = { "true", "True", "TRUE", "yes", "Yes", "YES",
					 "on",	 "On",	 "ON",	 "y",	"Y" };
static const char *const yaml_false[] = { "false", "False", "FALSE", "no", "No", "NO",
					  "off",   "Off",	"OFF",	 "n",  "N" };

int ywalk_bool_value(const yaml_node_t *n)
{
	const char *s = ywalk_scalar(n);

	if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return -1;
	for (size_t i = 0; i < sizeof(yaml_true) / sizeof(yaml_true[0]); i++)
		if (!strcmp(s, yaml_true[i]))
			return 1;
	for (size_t i = 0; i < sizeof(yaml_false) / sizeof(yaml_false[0]); i++)
		if (!strcmp(s, yaml_false[i]))
			return 0;
	return -1;
}

int ywalk_str(struct ywalk *w, const yaml_node_t *n, const char *key, char **out)
{
	const char *s = ywalk_scalar(n);

	if (!s)
		return ywalk_fail(w, n, "%s: expected a string", key);
	free(*out);
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

int ywalk_bool(struct ywalk *w, const yaml_node_t *n, const char *key, bool *out)
{
	int b = ywalk_bool_value(n);

	if (b < 0)
		return ywalk_fail(w, n, "%s: expected a boolean, got '%s'", key,
				  ywalk_scalar(n) ? ywalk_scalar(n) : "(not a scalar)");
	*out = b;
	return 0;
}

int ywalk_long(struct ywalk *w, const yaml_node_t *n, const char *key, long long min,
	       long long max, long long *out)
{
	const char *s = ywalk_scalar(n);
	char *end;
	long long x;

	if (!s || !*s)
		return ywalk_fail(w, n, "%s: expected an integer", key);
	errno = 0;
	x = strtoll(s, &end, 0);
	if (errno || *end || x < min || x > max)
		return ywalk_fail(w, n, "%s: expected an integer in [%lld, %lld], got '%s'", key,
				  min, max, s);
	*out = x;
	return 0;
}

int ywalk_strv(struct ywalk *w, const yaml_node_t *n, const char *key, char ***v, size_t *nv)
{
	const yaml_node_t *e;
	int err = 0;

	if (ywalk_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return ywalk_fail(w, n, "%s: expected a list of strings", key);
	YWALK_ITEMS(w, n, e) {
		if (!ywalk_scalar(e))
			return ywalk_fail(w, e, "%s: expected a string", key);
		err = strv_push(v, nv, ywalk_scalar(e));
		if (err)
			break;
	}
	return err;
}
