// SPDX-License-Identifier: MIT
/*
 * The two live map views every embedder needs (expr.h, "map views"): a
 * common/strmap.h map as map[string]string and a native map value as
 * map[string]any. The Event, the bucket's overflow and the tests all expose
 * their maps through these, so `in`, keys(), len() and absent keys behave the
 * same everywhere.
 */
#include <errno.h>

#include "common/strmap.h"
#include "expr/expr.h"

/* keys() of a map view: name(i) is the i-th key, NULL past the end. */
static int keys_array(void *obj, size_t n, const char *(*name)(void *obj, size_t i),
		      struct expr_value *out)
{
	const char *k;
	int err = expr_array_new(n, out);

	for (size_t i = 0; !err && (k = name(obj, i)); i++) {
		struct expr_value s;

		err = expr_string(k, &s);
		if (!err)
			err = expr_array_push_take(out, s);
	}
	if (err)
		expr_value_release(out);
	return err;
}

/* ---- common/strmap.h: read-only, absent keys read as "" --------------------------- */

static int smap_get(struct expr_ctx *ctx, void *obj, const char *name, struct expr_value *out)
{
	size_t len;
	const char *v = strmap_getn(obj, name, &len);

	return v ? expr_stringn(v, len, out) : expr_string("", out);
}

static int smap_has(struct expr_ctx *ctx, void *obj, const char *key, bool *out)
{
	*out = strmap_has(obj, key);
	return 0;
}

static int smap_len(struct expr_ctx *ctx, void *obj, int64_t *out)
{
	*out = (int64_t)strmap_count(obj);
	return 0;
}

static const char *smap_key(void *obj, size_t i)
{
	const char *k;

	return strmap_at(obj, i, &k, NULL, NULL) ? k : NULL;
}

static int smap_keys(struct expr_ctx *ctx, void *obj, struct expr_value *out)
{
	return keys_array(obj, strmap_count(obj), smap_key, out);
}

static uint64_t smap_version(const void *obj)
{
	return strmap_version(obj);
}

const struct expr_host_ops expr_strmap_ops = {
	.name = "map[string]string",
	.flags = EXPR_HOST_MAPLIKE,
	.elem = &expr_type_string,
	.get = smap_get,
	.has = smap_has,
	.len = smap_len,
	.keys = smap_keys,
	.version = smap_version,
};
const struct expr_type expr_type_strmap = { EXPR_HOST, NULL, &expr_strmap_ops };

/* ---- a native map value: writable, absent keys read as nil ------------------------- */

static int nmap_get(struct expr_ctx *ctx, void *obj, const char *name, struct expr_value *out)
{
	const struct expr_value *v = expr_map_get(obj, name);

	*out = v ? expr_value_ref(v) : expr_nil();
	return 0;
}

static int nmap_has(struct expr_ctx *ctx, void *obj, const char *key, bool *out)
{
	*out = expr_map_get(obj, key) != NULL;
	return 0;
}

static int nmap_len(struct expr_ctx *ctx, void *obj, int64_t *out)
{
	*out = (int64_t)expr_map_len(obj);
	return 0;
}

static const char *nmap_key(void *obj, size_t i)
{
	const char *k;
	const struct expr_value *v;

	return expr_map_entry(obj, i, &k, &v) ? NULL : k;
}

static int nmap_keys(struct expr_ctx *ctx, void *obj, struct expr_value *out)
{
	return keys_array(obj, expr_map_len(obj), nmap_key, out);
}

static int nmap_set(struct expr_ctx *ctx, void *obj, const char *key,
		    const struct expr_value *value)
{
	return expr_map_set(obj, key, value);
}

const struct expr_host_ops expr_nmap_ops = {
	.name = "map[string]any",
	.flags = EXPR_HOST_MAPLIKE,
	.elem = &expr_type_any,
	.get = nmap_get,
	.has = nmap_has,
	.len = nmap_len,
	.keys = nmap_keys,
	.set = nmap_set,
};
const struct expr_type expr_type_nmap = { EXPR_HOST, NULL, &expr_nmap_ops };
