// SPDX-License-Identifier: MIT
/*
 * The GeoIP databases of one test. Upstream installs a test's parsers in a
 * runtime directory and fetches the data each one declares: the file at
 * `source_url` becomes `dest_file`. The hub's geoip-enrich takes
 * GeoLite2-City.mmdb from the hub's data CDN; the copies of it in the test
 * folders geoip-enrich and magento-ccs-* take CrowdSec's test databases
 * (GeoLite2-Test-City.mmdb, ...) under the same dest_file, in a data
 * directory of their own. Offline, the file named by the last part of
 * source_url is looked for in the GeoIP directory (--geoip-dir, else
 * <hub>/data); when it is not the dest_file, a private directory links each
 * dest_file to its source, which is what upstream's own data directory holds.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/yamljson.h"
#include "hubtest/hubtest_int.h"

#define GEO_MAX 8 /* .mmdb entries a test may declare; more are ignored */

struct geo_file {
	char dest[NAME_MAX + 1];
	char src[NAME_MAX + 1];
};

static bool is_mmdb(const char *name)
{
	size_t l = strlen(name);

	return l > 5 && !strcmp(name + l - 5, ".mmdb");
}

/* A plain file name: no directory part, not "." or "..". */
static bool plain_name(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..") && strlen(s) <= NAME_MAX;
}

/* The .mmdb data entries of one item file, added to g[*n] (first one per dest wins). */
static void item_mmdb(const char *path, struct geo_file *g, size_t *n)
{
	char err[256];
	json_t *docs = yamljson_load_file(path, false, err, sizeof(err)), *doc;
	size_t i;

	if (!docs)
		return; /* the parser loader reports it */
	json_array_foreach(docs, i, doc) {
		json_t *data = json_object_get(doc, "data"), *e;
		size_t j;

		json_array_foreach(data, j, e) {
			const char *dest = json_string_value(json_object_get(e, "dest_file"));
			const char *url = json_string_value(json_object_get(e, "source_url"));
			const char *src = url ? strrchr(url, '/') : NULL;
			bool dup = false;

			src = src ? src + 1 : url;
			if (!dest || !src || !plain_name(dest) || !plain_name(src) || !is_mmdb(dest))
				continue;
			for (size_t k = 0; k < *n; k++)
				dup |= !strcmp(g[k].dest, dest);
			if (dup || *n >= GEO_MAX)
				continue;
			snprintf(g[*n].dest, sizeof(g[*n].dest), "%s", dest);
			snprintf(g[*n].src, sizeof(g[*n].src), "%s", src);
			(*n)++;
		}
	}
	json_decref(docs);
}

/* Empty and remove the private directory (it holds only our links). */
static void remove_private(char *dir)
{
	char p[PATH_MAX + NAME_MAX + 2];
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
	rmdir(dir);
	dir[0] = '\0';
}

int hubtest_geoip_prepare(const struct hubtest_opts *o, const char *testdir, char *const *items,
			  size_t nitems, struct hubtest_geoip *out, char *why, size_t whylen)
{
	struct geo_file g[GEO_MAX];
	char base[PATH_MAX], real[PATH_MAX], src[PATH_MAX + NAME_MAX + 2],
		link[PATH_MAX + NAME_MAX + 2], path[PATH_MAX];
	size_t n = 0;
	bool renamed = false;

	memset(out, 0, sizeof(*out));
	out->dir = o->geoip_dir;
	for (size_t i = 0; i < nitems; i++)
		if (!hubtest_resolve_item(o->hub_dir, testdir, "parsers", items[i], path,
					  sizeof(path), NULL, 0))
			item_mmdb(path, g, &n);
	if (o->geoip_dir)
		snprintf(base, sizeof(base), "%s", o->geoip_dir);
	else
		snprintf(base, sizeof(base), "%s/data", o->hub_dir);
	for (size_t i = 0; i < n; i++) {
		snprintf(src, sizeof(src), "%s/%s", base, g[i].src);
		if (access(src, R_OK)) {
			snprintf(why, whylen,
				 "needs %s (the data %s of its parsers), not in %s (--geoip-dir)",
				 g[i].src, g[i].dest, base);
			return -ENODATA;
		}
		renamed |= strcmp(g[i].src, g[i].dest) != 0;
	}
	if (!renamed)
		return 0;
	if (!realpath(base, real)) {
		int err = -errno;

		snprintf(why, whylen, "%s: %s", base, strerror(-err));
		return err;
	}
	snprintf(out->tmp, sizeof(out->tmp), "%s/cs-hubtest-geoip.XXXXXX",
		 getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(out->tmp)) {
		int err = -errno;

		snprintf(why, whylen, "%s: %s", out->tmp, strerror(-err));
		out->tmp[0] = '\0';
		return err;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(src, sizeof(src), "%s/%s", real, g[i].src);
		snprintf(link, sizeof(link), "%s/%s", out->tmp, g[i].dest);
		if (symlink(src, link)) {
			int err = -errno;

			snprintf(why, whylen, "%s: %s", link, strerror(-err));
			remove_private(out->tmp);
			return err;
		}
	}
	out->dir = out->tmp;
	return 0;
}

void hubtest_geoip_release(struct hubtest_geoip *g)
{
	if (g && g->tmp[0])
		remove_private(g->tmp);
}
