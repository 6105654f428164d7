// SPDX-License-Identifier: MIT
/* The hub's configuration and index: reading, shape checks, item lookup, status words. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/record.h"
#include "common/strv.h"
#include "common/vec.h"
#include "common/yamljson.h"
#include "hub/hub.h"
#include "hub/hub_int.h"

static const char *const type_names[HUB_NTYPES] = {
	"parsers", "postoverflows", "scenarios", "contexts",
	"appsec-configs", "appsec-rules", "collections",
};
static const char *const type_singular[HUB_NTYPES] = {
	"parser", "postoverflow", "scenario", "context",
	"appsec-config", "appsec-rule", "collection",
};

const char *hub_type_name(enum hub_type t)
{
	return t < HUB_NTYPES ? type_names[t] : "?";
}

int hub_type_parse(const char *s)
{
	for (int t = 0; t < HUB_NTYPES; t++)
		if (!strcmp(s, type_names[t]) || !strcmp(s, type_singular[t]))
			return t;
	return -EINVAL;
}

/* A directory value without its trailing slashes (kept "/" for the root). */
static char *dir_dup(const char *s)
{
	char *d = strdup(s);
	size_t n;

	if (!d)
		return NULL;
	n = strlen(d);
	while (n > 1 && d[n - 1] == '/')
		d[--n] = '\0';
	return d;
}

int hub_config_load(const char *path, struct hub_config *cfg, char *err, size_t errlen)
{
	json_t *docs, *root;
	const char *v;
	int rc = -EINVAL;

	memset(cfg, 0, sizeof(*cfg));
	docs = yamljson_load_file(path, true, err, errlen);
	if (!docs)
		return -EINVAL;
	root = json_array_get(docs, 0);
	if (!json_is_object(root) || !json_is_object(json_object_get(root, "config_paths"))) {
		snprintf(err, errlen, "%s: no config_paths section", path);
		goto out;
	}
	v = yamljson_get_str(root, "config_paths.hub_dir", NULL);
	if (!v || !*v) {
		snprintf(err, errlen, "%s: config_paths.hub_dir is not set: cscli needs it to keep "
			 "the hub's files", path);
		goto out;
	}
	cfg->hub_dir = dir_dup(v);
	v = yamljson_get_str(root, "config_paths.data_dir", NULL);
	if (!v || !*v) {
		snprintf(err, errlen, "%s: config_paths.data_dir is not set", path);
		goto out;
	}
	cfg->data_dir = dir_dup(v);
	v = yamljson_get_str(root, "config_paths.config_dir", NULL);
	if (v && *v) {
		cfg->config_dir = dir_dup(v);
	} else {
		/* upstream: the directory of config.yaml */
		char *d = strdup(path), *slash = d ? strrchr(d, '/') : NULL;

		if (slash)
			*slash = '\0';
		cfg->config_dir = dir_dup(slash && *d ? d : (slash ? "/" : "."));
		free(d);
	}
	v = yamljson_get_str(root, "config_paths.index_path", NULL);
	if (v && *v)
		cfg->index_path = strdup(v);
	else if (cfg->hub_dir && asprintf(&cfg->index_path, "%s/.index.json", cfg->hub_dir) < 0)
		cfg->index_path = NULL;
	v = yamljson_get_str(root, "cscli.hub_url", HUB_DEFAULT_URL);
	cfg->hub_url = strdup(*v ? v : HUB_DEFAULT_URL);
	v = yamljson_get_str(root, "cscli.hub_data_url", NULL);
	if (v && *v)
		cfg->hub_data_url = strdup(v);
	if (!cfg->hub_dir || !cfg->data_dir || !cfg->config_dir || !cfg->index_path ||
	    !cfg->hub_url || (v && *v && !cfg->hub_data_url)) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	for (char **u = (char *[]){ cfg->hub_url, cfg->hub_data_url }, **e = u + 2; u < e; u++) {
		size_t n = *u ? strlen(*u) : 0;

		while (n && (*u)[n - 1] == '/')
			(*u)[--n] = '\0';
	}
	rc = 0;
out:
	json_decref(docs);
	if (rc)
		hub_config_clear(cfg);
	return rc;
}

/* What a configuration owns (hub_config_load reads each with its own rule). */
static const struct rec_field config_owned[] = {
	REC_ROW(struct hub_config, NULL, config_dir, REC_STR),
	REC_ROW(struct hub_config, NULL, hub_dir, REC_STR),
	REC_ROW(struct hub_config, NULL, index_path, REC_STR),
	REC_ROW(struct hub_config, NULL, data_dir, REC_STR),
	REC_ROW(struct hub_config, NULL, hub_url, REC_STR),
	REC_ROW(struct hub_config, NULL, hub_data_url, REC_STR),
};
static const struct rec_schema config_schema = REC_SCHEMA(config_owned);

void hub_config_clear(struct hub_config *cfg)
{
	rec_clear(&config_schema, cfg, sizeof(*cfg));
}

/* What an item owns besides its versions and dependencies. */
static const struct rec_field item_owned[] = {
	REC_ROW(struct hub_item, NULL, name, REC_STR),
	REC_ROW(struct hub_item, NULL, stage, REC_STR),
	REC_ROW(struct hub_item, NULL, file_name, REC_STR),
	REC_ROW(struct hub_item, NULL, remote_path, REC_STR),
	REC_ROW(struct hub_item, NULL, version, REC_STR),
	REC_ROW(struct hub_item, NULL, description, REC_STR),
	REC_ROW(struct hub_item, NULL, author, REC_STR),
	REC_ROW(struct hub_item, NULL, local_path, REC_STR),
	REC_ROW(struct hub_item, NULL, download_path, REC_STR),
	REC_ROW(struct hub_item, NULL, local_version, REC_STR),
	REC_LIST(struct hub_item, NULL, tainted_by, ntainted_by),
	REC_LIST(struct hub_item, NULL, belongs_to, nbelongs_to),
};
static const struct rec_schema item_schema = REC_SCHEMA(item_owned);

void hub_item_free(struct hub_item *it)
{
	if (!it)
		return;
	rec_free(&item_schema, it);
	for (size_t i = 0; i < it->nversions; i++)
		free(it->versions[i].version);
	free(it->versions);
	for (int t = 0; t < HUB_NTYPES; t++)
		strv_free(it->deps[t], it->ndeps[t]);
	free(it);
}

int hub_add_item(struct hub *h, struct hub_item *it)
{
	if (h->nitems >= HUB_MAX_ITEMS)
		return -E2BIG;
	if (vec_reserve((void **)&h->items, &h->items_cap, h->nitems, sizeof(*h->items), 256))
		return -ENOMEM;
	h->items[h->nitems++] = it;
	return 0;
}

static bool is_hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

bool hub_safe_rel_path(const char *p)
{
	if (!p || !*p || *p == '/' || strlen(p) >= PATH_MAX / 2)
		return false;
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		if (!n || (n == 2 && !strncmp(s, "..", 2)) || (n == 1 && *s == '.'))
			return false;
		s += n + (e ? 1 : 0);
	}
	return true;
}

static int item_from_index(enum hub_type t, const char *name, json_t *o, struct hub_item **out,
			   char *err, size_t errlen)
{
	struct hub_item *it;
	const char *path, *stage, *version, *k;
	json_t *versions, *v;
	int rc = -ENOMEM;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "%s:%s has no index metadata", type_names[t], name);
		return -EINVAL;
	}
	path = json_string_value(json_object_get(o, "path"));
	stage = json_string_value(json_object_get(o, "stage"));
	version = json_string_value(json_object_get(o, "version"));
	versions = json_object_get(o, "versions");
	if (!path || !hub_safe_rel_path(path)) {
		snprintf(err, errlen, "%s:%s has no valid download path", type_names[t], name);
		return -EINVAL;
	}
	if ((t == HUB_PARSERS || t == HUB_POSTOVERFLOWS) && (!stage || !hub_safe_rel_path(stage) ||
							     strchr(stage, '/'))) {
		snprintf(err, errlen, "%s:%s has no stage", type_names[t], name);
		return -EINVAL;
	}
	if (!version || !json_is_object(versions) || !json_object_get(versions, version)) {
		snprintf(err, errlen, "%s:%s: latest version missing from index", type_names[t],
			 name);
		return -EINVAL;
	}
	if (!hub_safe_rel_path(name) || strchr(name, '\n')) {
		snprintf(err, errlen, "%s: invalid item name '%s'", type_names[t], name);
		return -EINVAL;
	}
	it = calloc(1, sizeof(*it));
	if (!it)
		goto oom;
	it->type = t;
	it->index_entry = o;
	it->name = strdup(name);
	it->remote_path = strdup(path);
	it->file_name = strdup(strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	it->version = strdup(version);
	it->description = strdup(json_string_value(json_object_get(o, "description")) ?: "");
	it->author = strdup(json_string_value(json_object_get(o, "author")) ?: "");
	if (stage && (t == HUB_PARSERS || t == HUB_POSTOVERFLOWS))
		it->stage = strdup(stage);
	if (!it->name || !it->remote_path || !it->file_name || !it->version || !it->description ||
	    !it->author || (stage && (t == HUB_PARSERS || t == HUB_POSTOVERFLOWS) && !it->stage))
		goto oom;
	it->versions = calloc(json_object_size(versions), sizeof(*it->versions));
	if (!it->versions && json_object_size(versions))
		goto oom;
	json_object_foreach(versions, k, v) {
		const char *d = json_string_value(json_object_get(v, "digest"));
		struct hub_version *hv = &it->versions[it->nversions];
		int cmp;

		if (!json_is_object(v) || !is_hex64(d) || hub_version_cmp(k, k, &cmp)) {
			snprintf(err, errlen, "%s:%s: version '%s' has no valid digest/version number",
				 type_names[t], name, k);
			rc = -EINVAL;
			goto fail;
		}
		if (!(hv->version = strdup(k)))
			goto oom;
		for (int i = 0; i < 64; i++)
			hv->digest[i] = (char)tolower((unsigned char)d[i]);
		hv->deprecated = json_is_true(json_object_get(v, "deprecated"));
		it->nversions++;
	}
	for (int dt = 0; dt < HUB_NTYPES; dt++) {
		json_t *arr = json_object_get(o, type_names[dt]), *e;
		size_t i;

		if (!arr)
			continue;
		if (!json_is_array(arr)) {
			snprintf(err, errlen, "%s:%s: '%s' is not a list", type_names[t], name,
				 type_names[dt]);
			rc = -EINVAL;
			goto fail;
		}
		if (t != HUB_COLLECTIONS)
			continue;
		json_array_foreach(arr, i, e) {
			if (!json_is_string(e)) {
				snprintf(err, errlen, "%s:%s: '%s' has a non-string entry",
					 type_names[t], name, type_names[dt]);
				rc = -EINVAL;
				goto fail;
			}
			if (strv_push(&it->deps[dt], &it->ndeps[dt], json_string_value(e)))
				goto oom;
		}
	}
	*out = it;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	rc = -ENOMEM;
fail:
	hub_item_free(it);
	return rc;
}

int hub_index_parse(struct hub *h, const char *text, size_t len, const char *what, char *err,
		    size_t errlen)
{
	json_error_t je;
	json_t *idx = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *items;
	const char *tname, *name;
	char why[512];
	int rc;

	if (!idx) {
		snprintf(err, errlen, "%s is not a valid hub index: line %d: %s", what, je.line,
			 je.text);
		return -EINVAL;
	}
	if (!json_is_object(idx)) {
		snprintf(err, errlen, "%s is not a valid hub index: not a JSON object", what);
		json_decref(idx);
		return -EINVAL;
	}
	json_object_foreach(idx, tname, items) {
		int t = hub_type_parse(tname);
		json_t *o;

		if (t < 0 || strcmp(tname, type_names[t]))
			continue; /* types of later versions: ignored, as upstream */
		if (!json_is_object(items)) {
			snprintf(err, errlen, "%s is not a valid hub index: '%s' is not an object",
				 what, tname);
			json_decref(idx);
			return -EINVAL;
		}
		json_object_foreach(items, name, o) {
			struct hub_item *it;

			rc = item_from_index((enum hub_type)t, name, o, &it, why, sizeof(why));
			if (!rc && (rc = hub_add_item(h, it)))
				hub_item_free(it);
			if (rc) {
				snprintf(err, errlen, "%s is not a valid hub index: %s", what,
					 rc == -ENOMEM ? "out of memory" :
					 rc == -E2BIG ? "too many items" : why);
				json_decref(idx);
				return rc;
			}
		}
	}
	h->index = idx;
	return 0;
}

struct hub_item *hub_get(struct hub *h, enum hub_type t, const char *name)
{
	struct hub_item *found = NULL;

	/* a local item replaces an index item of the same name (upstream addItem) */
	for (size_t i = 0; i < h->nitems; i++)
		if (h->items[i]->type == t && !strcmp(h->items[i]->name, name))
			if (!found || h->items[i]->local)
				found = h->items[i];
	return found;
}

static int cmp_items(const void *a, const void *b)
{
	const struct hub_item *x = *(struct hub_item *const *)a, *y = *(struct hub_item *const *)b;

	return strcasecmp(x->name, y->name);
}

struct hub_item **hub_items_of(struct hub *h, enum hub_type t, bool installed_only, size_t *n)
{
	struct hub_item **v = calloc(h->nitems + 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < h->nitems; i++) {
		struct hub_item *it = h->items[i];

		if (it->type != t || hub_get(h, t, it->name) != it)
			continue;
		if (installed_only && !hub_item_installed(it))
			continue;
		v[(*n)++] = it;
	}
	qsort(v, *n, sizeof(*v), cmp_items);
	return v;
}

void hub_item_status(const struct hub_item *it, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", hub_item_installed(it) ? "enabled" : "disabled",
		 it->local ? ",local" : "",
		 it->tainted ? ",tainted" : (!it->up_to_date && !it->local ? ",update-available" : ""));
}

const char *hub_item_emoji(const struct hub_item *it)
{
	if (it->local)
		return "\U0001F3E0"; /* house */
	if (!hub_item_installed(it))
		return "\U0001F6AB"; /* prohibited */
	if (it->tainted || !it->up_to_date)
		return "\u26A0\uFE0F"; /* warning */
	return "\u2714\uFE0F"; /* check mark */
}

const char *hub_item_version_of(const struct hub_item *it, const char *hash)
{
	const char *best = NULL;

	/* newest first: several versions may share a digest */
	for (size_t i = 0; i < it->nversions; i++) {
		int cmp = 0;

		if (strcmp(it->versions[i].digest, hash))
			continue;
		if (!best || (!hub_version_cmp(it->versions[i].version, best, &cmp) && cmp > 0))
			best = it->versions[i].version;
	}
	return best;
}

int hub_version_cmp(const char *a, const char *b, int *cmp)
{
	const char *pa = a, *pb = b;

	if (*pa == 'v')
		pa++;
	if (*pb == 'v')
		pb++;
	if (!isdigit((unsigned char)*pa) || !isdigit((unsigned char)*pb))
		return -EINVAL;
	*cmp = 0;
	while (*pa || *pb) {
		unsigned long x = 0, y = 0;
		char *e;

		if (*pa) {
			if (!isdigit((unsigned char)*pa))
				return -EINVAL;
			x = strtoul(pa, &e, 10);
			pa = e;
		}
		if (*pb) {
			if (!isdigit((unsigned char)*pb))
				return -EINVAL;
			y = strtoul(pb, &e, 10);
			pb = e;
		}
		if (!*cmp && x != y)
			*cmp = x < y ? -1 : 1;
		if ((*pa && *pa != '.') || (*pb && *pb != '.'))
			return -EINVAL;
		if (*pa)
			pa++;
		if (*pb)
			pb++;
	}
	return 0;
}

json_t *hub_item_current_deps(const struct hub_item *it)
{
	json_t *d = json_object();
	json_t *docs = NULL, *doc = NULL;
	char err[256];

	if (!d || it->type != HUB_COLLECTIONS)
		return d;
	/* an outdated collection's members are those of the file it has installed */
	if (!it->up_to_date && it->local_path) {
		docs = yamljson_load_file(it->local_path, false, err, sizeof(err));
		doc = json_array_get(docs, 0);
	}
	for (int t = 0; t < HUB_NTYPES; t++) {
		json_t *arr = json_array();

		if (json_is_object(doc)) {
			json_t *src = json_object_get(doc, type_names[t]), *e;
			size_t i;

			json_array_foreach(src, i, e)
				if (json_is_string(e))
					json_array_append(arr, e);
		} else {
			for (size_t i = 0; i < it->ndeps[t]; i++)
				json_array_append_new(arr, json_string(it->deps[t][i]));
		}
		if (json_array_size(arr))
			json_object_set_new(d, type_names[t], arr);
		else
			json_decref(arr);
	}
	json_decref(docs);
	return d;
}

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *hub_item_to_json(const struct hub_item *it)
{
	json_t *o = json_object(), *deps = hub_item_current_deps(it), *vs = json_object();
	const char *k;
	json_t *v;

	json_object_set_new(o, "type", json_string(hub_type_name(it->type)));
	if (it->stage)
		json_object_set_new(o, "stage", json_string(it->stage));
	json_object_set_new(o, "name", json_string(it->name));
	json_object_set_new(o, "file_name", json_string(it->file_name));
	if (it->description && *it->description)
		json_object_set_new(o, "description", json_string(it->description));
	if (it->author && *it->author)
		json_object_set_new(o, "author", json_string(it->author));
	if (it->index_entry && json_object_get(it->index_entry, "references"))
		json_object_set(o, "references", json_object_get(it->index_entry, "references"));
	if (it->remote_path)
		json_object_set_new(o, "path", json_string(it->remote_path));
	if (it->version)
		json_object_set_new(o, "version", json_string(it->version));
	for (size_t i = 0; i < it->nversions; i++) {
		json_t *e = json_object();

		json_object_set_new(e, "digest", json_string(it->versions[i].digest));
		if (it->versions[i].deprecated)
			json_object_set_new(e, "deprecated", json_true());
		json_object_set_new(vs, it->versions[i].version, e);
	}
	if (it->nversions)
		json_object_set_new(o, "versions", vs);
	else
		json_decref(vs);
	json_object_foreach(deps, k, v)
		json_object_set(o, k, v);
	json_decref(deps);
	if (it->local_path)
		json_object_set_new(o, "local_path", json_string(it->local_path));
	if (it->local_version)
		json_object_set_new(o, "local_version", json_string(it->local_version));
	if (it->local_hash[0])
		json_object_set_new(o, "local_hash", json_string(it->local_hash));
	json_object_set_new(o, "installed", json_boolean(hub_item_installed(it)));
	json_object_set_new(o, "downloaded", json_boolean(hub_item_downloaded(it)));
	json_object_set_new(o, "up_to_date", json_boolean(it->up_to_date));
	json_object_set_new(o, "tainted", json_boolean(it->tainted));
	json_object_set_new(o, "local", json_boolean(it->local));
	if (it->nbelongs_to)
		json_object_set_new(o, "belongs_to_collections",
				    strv_json(it->belongs_to, it->nbelongs_to));
	if (it->ntainted_by)
		json_object_set_new(o, "tainted_by", strv_json(it->tainted_by, it->ntainted_by));
	return o;
}

void hub_close(struct hub *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nitems; i++)
		hub_item_free(h->items[i]);
	free(h->items);
	strv_free(h->warnings, h->nwarnings);
	json_decref(h->index);
	if (h->lock_fd >= 0)
		close(h->lock_fd);
	free(h);
}
