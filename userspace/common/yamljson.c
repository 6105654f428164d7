// SPDX-License-Identifier: MIT
/* libyaml event stream -> jansson; see yamljson.h. */
#include "common/yamljson.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "common/envexpand.h"
#include "common/readfile.h"

struct frame {
	json_t *node;
	char *key; /* pending key when node is an object */
};

json_t *yamljson_load_string(const char *text, size_t len, const char *name, char *err,
			     size_t errlen)
{
	struct frame stack[YAMLJSON_MAX_DEPTH + 1];
	json_t *docs = json_array(), *result = NULL;
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0;
	bool done = false;

	if (!docs || !yaml_parser_initialize(&p)) {
		snprintf(err, errlen, "%s: out of memory", name);
		json_decref(docs);
		return NULL;
	}
	stack[0].node = NULL;
	stack[0].key = NULL;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done) {
		json_t *val = NULL;

		if (!yaml_parser_parse(&p, &ev)) {
			snprintf(err, errlen, "%s:%zu:%zu: %s", name, p.problem_mark.line + 1,
				 p.problem_mark.column + 1, p.problem ? p.problem : "parse error");
			goto out;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			depth = 0;
			stack[0].node = NULL;
			stack[0].key = NULL;
			break;
		case YAML_DOCUMENT_END_EVENT:
			json_array_append_new(docs, stack[0].node ? stack[0].node : json_null());
			stack[0].node = NULL;
			break;
		case YAML_ALIAS_EVENT:
			snprintf(err, errlen, "%s:%zu:%zu: aliases are not supported", name,
				 ev.start_mark.line + 1, ev.start_mark.column + 1);
			yaml_event_delete(&ev);
			goto out;
		case YAML_SCALAR_EVENT:
			val = json_stringn((const char *)ev.data.scalar.value, ev.data.scalar.length);
			if (!val) { /* not UTF-8 */
				snprintf(err, errlen, "%s:%zu:%zu: invalid scalar", name,
					 ev.start_mark.line + 1, ev.start_mark.column + 1);
				yaml_event_delete(&ev);
				goto out;
			}
			/* A plain "null"/"~"/empty scalar is null, like YAML 1.1 loaders. */
			if (ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			    (!ev.data.scalar.length || !strcmp(json_string_value(val), "~") ||
			     !strcasecmp(json_string_value(val), "null"))) {
				json_decref(val);
				val = json_null();
			}
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (depth >= YAMLJSON_MAX_DEPTH) {
				snprintf(err, errlen, "%s:%zu:%zu: nesting too deep", name,
					 ev.start_mark.line + 1, ev.start_mark.column + 1);
				yaml_event_delete(&ev);
				goto out;
			}
			depth++;
			stack[depth].node =
				ev.type == YAML_MAPPING_START_EVENT ? json_object() : json_array();
			stack[depth].key = NULL;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			val = stack[depth].node;
			free(stack[depth].key);
			stack[depth].node = NULL;
			stack[depth].key = NULL;
			depth--;
			break;
		default:
			break;
		}
		if (val) {
			struct frame *f = &stack[depth];

			if (depth == 0) {
				json_decref(f->node);
				f->node = val;
			} else if (json_is_array(f->node)) {
				json_array_append_new(f->node, val);
			} else if (!f->key) {
				if (!json_is_string(val)) {
					/* non-scalar or null key: use its text or refuse */
					f->key = strdup(json_is_null(val) ? "" : "?");
				} else {
					f->key = strdup(json_string_value(val));
				}
				json_decref(val);
			} else {
				json_object_set_new(f->node, f->key, val);
				free(f->key);
				f->key = NULL;
			}
		}
		yaml_event_delete(&ev);
	}
	result = docs;
	docs = NULL;
out:
	if (!result) {
		for (int i = depth; i >= 1; i--) {
			json_decref(stack[i].node);
			free(stack[i].key);
		}
		json_decref(stack[0].node);
	}
	json_decref(docs);
	yaml_parser_delete(&p);
	return result;
}

static json_t *load_one(const char *path, char *err, size_t errlen, bool missing_ok, bool strict)
{
	char *buf = NULL, *exp = NULL;
	json_t *docs = NULL;
	size_t n, explen;
	int rc = cs_read_file(path, YAMLJSON_MAX_SIZE, &buf, &n);

	if (rc == -ENOENT && missing_ok) {
		err[0] = '\0';
		return NULL;
	}
	if (rc) {
		snprintf(err, errlen, "%s: %s", path,
			 rc == -EFBIG ? "unreadable or too large" : strerror(-rc));
		return NULL;
	}
	exp = env_expand(buf, n, strict, &explen);
	if (!exp)
		snprintf(err, errlen, "%s: out of memory", path);
	else
		docs = yamljson_load_string(exp, explen, path, err, errlen);
	free(buf);
	free(exp);
	return docs;
}

json_t *yamljson_load_file(const char *path, bool merge_local, char *err, size_t errlen)
{
	json_t *docs = load_one(path, err, errlen, false, false), *local;
	char lpath[4096];

	if (!docs || !merge_local)
		return docs;
	snprintf(lpath, sizeof(lpath), "%s.local", path);
	local = load_one(lpath, err, errlen, true, false);
	if (!local) {
		if (err[0]) {
			json_decref(docs);
			return NULL;
		}
		return docs;
	}
	if (json_array_size(local) && json_array_size(docs)) {
		json_t *d0 = json_array_get(docs, 0), *l0 = json_array_get(local, 0);

		if (json_is_object(d0) && json_is_object(l0))
			yamljson_merge(d0, l0);
	}
	json_decref(local);
	return docs;
}

json_t *yamljson_load_file_strict_env(const char *path, char *err, size_t errlen)
{
	return load_one(path, err, errlen, false, true);
}

void yamljson_merge(json_t *dst, json_t *src)
{
	const char *k;
	json_t *v;

	json_object_foreach(src, k, v) {
		json_t *d = json_object_get(dst, k);

		if (json_is_object(d) && json_is_object(v))
			yamljson_merge(d, v);
		else
			json_object_set(dst, k, v);
	}
}

json_t *yamljson_get(json_t *root, const char *path)
{
	char key[256];

	while (root && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (n >= sizeof(key) || !json_is_object(root))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		root = json_object_get(root, key);
		path += n + (dot ? 1 : 0);
	}
	return root;
}

const char *yamljson_get_str(json_t *root, const char *path, const char *def)
{
	json_t *v = yamljson_get(root, path);

	return json_is_string(v) ? json_string_value(v) : def;
}

bool yamljson_get_bool(json_t *root, const char *path, bool def)
{
	const char *s = yamljson_get_str(root, path, NULL);

	if (!s)
		return def;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))
		return true;
	if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))
		return false;
	return def;
}

long yamljson_get_long(json_t *root, const char *path, long def)
{
	const char *s = yamljson_get_str(root, path, NULL);
	char *end;
	long v;

	if (!s)
		return def;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || end == s || *end ? def : v;
}
