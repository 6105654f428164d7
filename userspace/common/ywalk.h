/* SPDX-License-Identifier: MIT */
/*
 * Walking a libyaml document tree for the loaders (parsers, scenarios,
 * acquisition, bouncer configuration, hubtest): node lookup, scalars, YAML's
 * null and booleans as gopkg.in/yaml.v2 resolves them, typed getters, and
 * errors that name the place ("file:line: message", or "file:line:col:").
 *
 *   struct ywalk w = { .doc = &doc, .file = "sshd-logs.yaml", .err = buf, .errlen = n };
 *   YWALK_PAIRS(&w, map, k, v) { if (!strcmp(k, "name")) err = ywalk_str(&w, v, k, &name); }
 *   return ywalk_fail(&w, node, "unknown key '%s'", k);      -> -EINVAL, buf filled
 */
#ifndef CS_YWALK_H
#define CS_YWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

struct ywalk {
	yaml_document_t *doc;
	const char *file;  /* names the place in errors */
	char *err;	   /* optional: receives "file:line: message" */
	size_t errlen;
	bool with_column;  /* "file:line:col: message" */
	bool log;	   /* also log_error() it */
};

/*
 * A YAML stream read document by document; the syntax error of one is a
 * ywalk_fail() at its place ("file:line: YAML error: CONTEXT: PROBLEM"):
 *
 *   struct ywalk_stream ys;
 *   yaml_node_t *root;
 *   if ((err = ywalk_stream_open(&ys, text, len))) return err;
 *   while (!(err = ywalk_next(&w, &ys, &root)) && root) { ...w.doc is this document... }
 *   ywalk_stream_close(&ys);
 *
 * text must outlive the stream. A document lives until the next ywalk_next()
 * or the close; an empty stream has no document (root NULL at once).
 */
struct ywalk_stream {
	yaml_parser_t parser;
	yaml_document_t doc;
	bool have_doc;
};

/* 0 or -ENOMEM (nothing to close then). */
int ywalk_stream_open(struct ywalk_stream *s, const char *text, size_t len);
/*
 * The next document: 0 with *root its root (w->doc set to it), 0 with *root
 * NULL at the end of the stream, or -EINVAL from ywalk_fail() on a syntax error.
 */
int ywalk_next(struct ywalk *w, struct ywalk_stream *s, yaml_node_t **root);
/* Frees the parser and the current document. */
void ywalk_stream_close(struct ywalk_stream *s);

/* Fills w->err (and logs when asked) with the place of n; returns -EINVAL. */
int ywalk_fail(struct ywalk *w, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline yaml_node_t *ywalk_node(const struct ywalk *w, int idx)
{
	return yaml_document_get_node(w->doc, idx);
}

/* The text of a scalar node; NULL for anything else (or NULL). */
static inline const char *ywalk_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static inline int ywalk_line(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

/* Absent, or a plain (unquoted) empty, `~` or `null`/`Null`/`NULL` scalar. */
bool ywalk_is_null(const yaml_node_t *n);
/* A plain YAML 1.1 boolean (true/yes/on/y and their false forms): 1, 0, or -1. */
int ywalk_bool_value(const yaml_node_t *n);

/* Typed getters: 0, -ENOMEM, or ywalk_fail("KEY: expected ..."). */
int ywalk_str(struct ywalk *w, const yaml_node_t *n, const char *key, char **out);
int ywalk_bool(struct ywalk *w, const yaml_node_t *n, const char *key, bool *out);
/*
 * Appends the strings of a list (common/strv.h) to *v: absent or null adds
 * nothing; anything but a list of scalars is ywalk_fail("KEY: expected ...").
 */
int ywalk_strv(struct ywalk *w, const yaml_node_t *n, const char *key, char ***v, size_t *nv);
/* Decimal, 0x hex or 0 octal (yaml.v2's ints) within [min, max]. */
int ywalk_long(struct ywalk *w, const yaml_node_t *n, const char *key, long long min,
	       long long max, long long *out);

/*
 * The array a list is loaded into: an absent or null node is an empty list (0,
 * *items left NULL); a sequence of n items gets *items = n zeroed elements of
 * elem bytes (room for one when n is 0, so NULL never means "allocated"); any
 * other node is ywalk_fail("'WHAT' must be a list"). 0, -ENOMEM or -EINVAL.
 * Then fill it walking the items with YWALK_ITEMS.
 */
int ywalk_list_new(struct ywalk *w, const yaml_node_t *seq, const char *what, size_t elem,
		   void **items);

/*
 * A mapping that may be left out: 1 when m is a mapping to walk, 0 when it is
 * absent or null, ywalk_fail("'WHAT' must be a mapping") for any other node.
 */
int ywalk_map_opt(struct ywalk *w, const yaml_node_t *m, const char *what);

/*
 * A mapping whose keys are all strings (and, when unique, none given twice): 0,
 * or ywalk_fail() at the offending node: "WHAT: expected a mapping", "WHAT: keys
 * must be strings", "WHAT: key 'K' is already defined" (without "WHAT: " when
 * what is NULL). NULL map: "expected a mapping".
 */
int ywalk_map_check(struct ywalk *w, const yaml_node_t *map, const char *what, bool unique);
/*
 * The value of the first pair of a mapping whose key is the scalar key; NULL
 * when there is none (or map is not a mapping). *key_node (when asked) gets
 * the key's node, for errors that name the key's place.
 */
yaml_node_t *ywalk_get(const struct ywalk *w, const yaml_node_t *map, const char *key,
		       const yaml_node_t **key_node);

/* for each (const char *k, yaml_node_t *v) of a mapping node (k NULL for a non-scalar key) */
#define YWALK_PAIRS(w, map, k, v)                                                        \
	for (yaml_node_pair_t *ywalk_p_ = (map)->data.mapping.pairs.start;               \
	     ywalk_p_ < (map)->data.mapping.pairs.top &&                                 \
	     ((k) = ywalk_scalar(ywalk_node((w), ywalk_p_->key)),                        \
	     (v) = ywalk_node((w), ywalk_p_->value), 1);                                 \
	     ywalk_p_++)

/* the same with the key's node kn (ywalk_scalar(kn) is the key), for errors at the key */
#define YWALK_PAIR_NODES(w, map, kn, v)                                                  \
	for (yaml_node_pair_t *ywalk_p_ = (map)->data.mapping.pairs.start;               \
	     ywalk_p_ < (map)->data.mapping.pairs.top &&                                 \
	     ((kn) = ywalk_node((w), ywalk_p_->key), (v) = ywalk_node((w), ywalk_p_->value), 1); \
	     ywalk_p_++)

/* for each yaml_node_t *v of a sequence node */
#define YWALK_ITEMS(w, seq, v)                                                           \
	for (yaml_node_item_t *ywalk_i_ = (seq)->data.sequence.items.start;              \
	     ywalk_i_ < (seq)->data.sequence.items.top && ((v) = ywalk_node((w), *ywalk_i_), 1); \
	     ywalk_i_++)

static inline size_t ywalk_count(const yaml_node_t *seq)
{
	return seq->type == YAML_SEQUENCE_NODE ?
		       (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start) :
		       0;
}

#endif /* CS_YWALK_H */
