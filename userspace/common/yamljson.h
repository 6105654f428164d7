/* SPDX-License-Identifier: MIT */
/*
 * YAML (libyaml) -> jansson tree, for configuration files: mappings become
 * objects, sequences arrays, scalars strings (typed on lookup). Supports
 * CrowdSec's conventions: ${VAR}/$VAR environment expansion before parsing and
 * a sibling "<file>.local" deep-merged over the main file (maps merged, scalars
 * and lists replaced). Aliases are refused; depth and size are bounded.
 */
#ifndef CS_YAMLJSON_H
#define CS_YAMLJSON_H

#include <jansson.h>
#include <stdbool.h>

#define YAMLJSON_MAX_DEPTH 64
#define YAMLJSON_MAX_SIZE (4 << 20)

/*
 * Parse every document of a YAML stream: returns an array with one element per
 * document (an empty document is json null). On error returns NULL and writes a
 * "file:line:col: problem" message into err.
 */
json_t *yamljson_load_string(const char *text, size_t len, const char *name, char *err,
			     size_t errlen);
/* Load file (+ env expansion + .local merge when merge_local). */
json_t *yamljson_load_file(const char *path, bool merge_local, char *err, size_t errlen);
/* Load file, expanding only the variables set in the environment (CrowdSec's
 * StrictExpand, for notification files whose Go templates hold $variables). */
json_t *yamljson_load_file_strict_env(const char *path, char *err, size_t errlen);
/* Deep-merge src over dst (dst modified). */
void yamljson_merge(json_t *dst, json_t *src);
/* Dotted path lookup ("api.server.listen_uri") in an object tree; NULL if absent. */
json_t *yamljson_get(json_t *root, const char *path);
const char *yamljson_get_str(json_t *root, const char *path, const char *def);
/* YAML booleans: true/false/yes/no/on/off (case-insensitive). */
bool yamljson_get_bool(json_t *root, const char *path, bool def);
long yamljson_get_long(json_t *root, const char *path, long def);

#endif /* CS_YAMLJSON_H */
