// SPDX-License-Identifier: MIT
/*
 * hub_open(): the index, then the local state from the disk (upstream's
 * localSync): downloaded copies under hub_dir, enabled items under config_dir
 * (links into hub_dir, or local files), versions from sha256 digests, taint
 * spread to the collections that contain a tainted or missing member.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/readfile.h"
#include "common/sha2.h"
#include "common/strv.h"
#include "common/vec.h"
#include "common/yamljson.h"
#include "hub/hub.h"
#include "hub/hub_int.h"

#define SCAN_MAX_DEPTH 6
#define SCAN_MAX_FILES 20000

void hub_sha256_hex(const void *data, size_t len, char out[65])
{
	uint8_t d[SHA256_LEN];

	sha256(data, len, d);
	hex_encode(d, SHA256_LEN, out);
}

int hub_sha256_file(const char *path, char out[65])
{
	char *buf;
	size_t len;
	int rc = cs_read_file(path, HUB_MAX_DATA_BYTES, &buf, &len);

	if (rc)
		return rc;
	hub_sha256_hex(buf, len, out);
	free(buf);
	return 0;
}

int hub_mkdir_p(const char *dir, mode_t mode)
{
	char p[PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int hub_download_path(const struct hub *h, const struct hub_item *it, char *buf, size_t len)
{
	if (!it->remote_path)
		return -EINVAL;
	if ((size_t)snprintf(buf, len, "%s/%s", h->cfg->hub_dir, it->remote_path) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int hub_install_path(const struct hub *h, const struct hub_item *it, char *buf, size_t len)
{
	int n = it->stage ? snprintf(buf, len, "%s/%s/%s/%s", h->cfg->config_dir,
				     hub_type_name(it->type), it->stage, it->file_name)
			  : snprintf(buf, len, "%s/%s/%s", h->cfg->config_dir,
				     hub_type_name(it->type), it->file_name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

size_t hub_deps_items(struct hub *h, json_t *deps, struct hub_item **out, size_t max)
{
	size_t n = 0;

	for (int t = 0; t < HUB_NTYPES; t++) {
		json_t *arr = json_object_get(deps, hub_type_name(t)), *e;
		size_t i;

		json_array_foreach(arr, i, e) {
			struct hub_item *s = hub_get(h, t, json_string_value(e) ?: "");

			if (s && n < max)
				out[n++] = s;
		}
	}
	return n;
}

static void warn(struct hub *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct hub *h, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!strv_has(h->warnings, h->nwarnings, msg) && h->nwarnings < 1000)
		strv_push(&h->warnings, &h->nwarnings, msg);
}

static void fqname(const struct hub_item *it, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%s", hub_type_name(it->type), it->name);
}

static void add_taint(struct hub *h, struct hub_item *it, const struct hub_item *sub, int depth)
{
	char fq[PATH_MAX];

	if (!hub_item_installed(it) || depth > 32)
		return;
	it->tainted = true;
	fqname(sub, fq, sizeof(fq));
	if (strv_has(it->tainted_by, it->ntainted_by, fq))
		return;
	strv_push(&it->tainted_by, &it->ntainted_by, fq);
	for (size_t i = 0; i < it->nbelongs_to; i++) {
		struct hub_item *anc = hub_get(h, HUB_COLLECTIONS, it->belongs_to[i]);

		if (anc)
			add_taint(h, anc, sub, depth + 1);
	}
}

static int set_version_state(struct hub *h, struct hub_item *it, const char *path, bool inhub)
{
	const char *v;
	int rc;

	if (!inhub) {
		free(it->local_path);
		if (!(it->local_path = strdup(path)))
			return -ENOMEM;
	}
	rc = hub_sha256_file(path, it->local_hash);
	if (rc)
		return rc;
	v = hub_item_version_of(it, it->local_hash);
	free(it->local_version);
	it->local_version = strdup(v ? v : "?");
	if (!it->local_version)
		return -ENOMEM;
	if (!v) {
		it->up_to_date = false;
		add_taint(h, it, it, 0);
		return 0;
	}
	if (!inhub)
		it->tainted = false;
	if (!strcmp(v, it->version))
		it->up_to_date = true;
	return 0;
}

/* One YAML file found under root/<type>/...; comps are the path components after root. */
struct spec {
	char path[PATH_MAX];
	char target[PATH_MAX];
	enum hub_type type;
	char stage[NAME_MAX + 1];
	char author[NAME_MAX + 1];
	char fname[PATH_MAX];
	bool local;
};

struct scan {
	struct spec *v;
	size_t n, cap;
};

static int walk(const char *dir, const char *rel, int depth, enum hub_type t, struct scan *s,
		int (*add)(struct scan *, enum hub_type, const char *, const char *, void *),
		void *arg)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (depth > SCAN_MAX_DEPTH)
		return 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	while (!rc && (e = readdir(d))) {
		char p[PATH_MAX], r[PATH_MAX];
		struct stat st;

		if (e->d_name[0] == '.')
			continue; /* hidden (and k8s "..data") directories and files */
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= sizeof(p) ||
		    (size_t)snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "", e->d_name) >=
			    sizeof(r))
			continue;
		if (lstat(p, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			rc = walk(p, r, depth + 1, t, s, add, arg);
			continue;
		}
		if (!cs_is_yaml_name(e->d_name))
			continue;
		if (s->n >= SCAN_MAX_FILES)
			break;
		rc = add(s, t, p, r, arg);
	}
	closedir(d);
	return rc;
}

static struct spec *new_spec(struct scan *s)
{
	if (vec_reserve((void **)&s->v, &s->cap, s->n, sizeof(*s->v), 16))
		return NULL;
	memset(&s->v[s->n], 0, sizeof(*s->v));
	return &s->v[s->n];
}

static int add_hub_spec(struct scan *s, enum hub_type t, const char *path, const char *rel,
			void *arg)
{
	struct spec *sp;
	char buf[PATH_MAX], *comp[4];
	int nc = 0;

	(void)arg;
	snprintf(buf, sizeof(buf), "%s", rel);
	for (char *tok = strtok(buf, "/"); tok && nc < 4; tok = strtok(NULL, "/"))
		comp[nc++] = tok;
	if (nc != ((t == HUB_PARSERS || t == HUB_POSTOVERFLOWS) ? 3 : 2))
		return 0;
	if (!(sp = new_spec(s)))
		return -ENOMEM;
	snprintf(sp->path, sizeof(sp->path), "%s", path);
	sp->type = t;
	if (nc == 3)
		snprintf(sp->stage, sizeof(sp->stage), "%s", comp[0]);
	snprintf(sp->author, sizeof(sp->author), "%s", comp[nc - 2]);
	snprintf(sp->fname, sizeof(sp->fname), "%s", comp[nc - 1]);
	s->n++;
	return 0;
}

static int add_install_spec(struct scan *s, enum hub_type t, const char *path, const char *rel,
			    void *arg)
{
	const char *hubreal = arg, *slash;
	struct spec *sp;
	size_t hl = strlen(hubreal);

	if (!(sp = new_spec(s)))
		return -ENOMEM;
	snprintf(sp->path, sizeof(sp->path), "%s", path);
	sp->type = t;
	if (t == HUB_PARSERS || t == HUB_POSTOVERFLOWS) {
		slash = strchr(rel, '/');
		if (!slash)
			return 0; /* no stage directory: not loaded by crowdsec either */
		snprintf(sp->stage, sizeof(sp->stage), "%.*s", (int)(slash - rel), rel);
		rel = slash + 1;
	}
	snprintf(sp->fname, sizeof(sp->fname), "%s", rel);
	if (!realpath(path, sp->target)) {
		log_warn("Ignoring file %s: %s", path, strerror(errno));
		return 0;
	}
	sp->local = !(strncmp(sp->target, hubreal, hl) == 0 && sp->target[hl] == '/');
	s->n++;
	return 0;
}

static bool has_suffix_path(const char *path, const char *suffix)
{
	size_t pl = strlen(path), sl = strlen(suffix);

	return pl > sl && path[pl - sl - 1] == '/' && !strcmp(path + pl - sl, suffix);
}

static bool same_stage(const struct hub_item *it, const char *stage)
{
	return !strcmp(it->stage ? it->stage : "", stage);
}

static int sync_hub_spec(struct hub *h, const struct spec *sp)
{
	char want[PATH_MAX], nm[PATH_MAX * 2];

	for (size_t i = 0; i < h->nitems; i++) {
		struct hub_item *it = h->items[i];

		if (it->type != sp->type || it->local || !same_stage(it, sp->stage))
			continue;
		snprintf(nm, sizeof(nm), "%s/%s", sp->author, sp->fname);
		if (strncmp(nm, it->name, strlen(it->name)) ||
		    (strcmp(nm + strlen(it->name), ".yaml") && strcmp(nm + strlen(it->name), ".yml")))
			continue;
		if (hub_download_path(h, it, want, sizeof(want)) || strcmp(want, sp->path))
			continue;
		free(it->download_path);
		if (!(it->download_path = strdup(sp->path)))
			return -ENOMEM;
		return set_version_state(h, it, sp->path, true);
	}
	return 0;
}

static int sync_install_spec(struct hub *h, const struct spec *sp)
{
	if (!sp->local) {
		for (size_t i = 0; i < h->nitems; i++) {
			struct hub_item *it = h->items[i];

			if (it->type != sp->type || it->local || !same_stage(it, sp->stage) ||
			    !has_suffix_path(sp->target, it->remote_path))
				continue;
			return set_version_state(h, it, sp->path, false);
		}
		log_warn("Ignoring file %s of type %s", sp->path, hub_type_name(sp->type));
		return 0;
	}
	struct hub_item *it = calloc(1, sizeof(*it)), *other;
	const char *base = strrchr(sp->path, '/') + 1, *name = NULL;
	json_t *docs;
	char err[512];
	int rc;

	if (!it)
		return -ENOMEM;
	docs = yamljson_load_file(sp->path, false, err, sizeof(err));
	if (!docs)
		log_warn("%s", err);
	name = json_string_value(json_object_get(json_array_get(docs, 0), "name"));
	it->type = sp->type;
	it->name = strdup(name && *name ? name : sp->fname);
	it->file_name = strdup(base);
	it->stage = *sp->stage ? strdup(sp->stage) : NULL;
	it->local_path = strdup(sp->path);
	it->local = true;
	it->up_to_date = true;
	json_decref(docs);
	if (!it->name || !it->file_name || !it->local_path || (*sp->stage && !it->stage)) {
		hub_item_free(it);
		return -ENOMEM;
	}
	other = hub_get(h, it->type, it->name);
	if (other && hub_item_installed(other))
		warn(h, "multiple %s named %s: ignoring %s", hub_type_name(it->type), it->name,
		     other->local_path);
	rc = hub_add_item(h, it);
	if (rc)
		hub_item_free(it);
	return rc;
}

static int scan_root(struct hub *h, const char *root, bool inhub, const char *hubreal)
{
	struct scan s = { 0 };
	int rc = 0;

	for (int t = 0; t < HUB_NTYPES && !rc; t++) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s/%s", root, hub_type_name(t));
		rc = walk(dir, "", 0, t, &s, inhub ? add_hub_spec : add_install_spec,
			  (void *)hubreal);
	}
	/* index items first, so a local item of the same name overrides them */
	for (size_t i = 0; i < s.n && !rc; i++)
		if (!s.v[i].local)
			rc = inhub ? sync_hub_spec(h, &s.v[i]) : sync_install_spec(h, &s.v[i]);
	for (size_t i = 0; i < s.n && !rc; i++)
		if (s.v[i].local)
			rc = sync_install_spec(h, &s.v[i]);
	free(s.v);
	return rc;
}

/* Every member (direct or not) of a collection's installed version; -ELOOP on a cycle. */
static int descendants(struct hub *h, struct hub_item *root, struct hub_item *it,
		       struct hub_item ***out, size_t *n, size_t *cap, int depth)
{
	struct hub_item *subs[512];
	json_t *deps;
	size_t ns;

	if (depth > 32)
		return -ELOOP;
	deps = hub_item_current_deps(it);
	ns = hub_deps_items(h, deps, subs, 512);
	json_decref(deps);
	for (size_t i = 0; i < ns; i++) {
		bool seen = false;

		if (subs[i] == root)
			return -ELOOP;
		for (size_t j = 0; j < *n; j++)
			seen |= (*out)[j] == subs[i];
		if (seen)
			continue;
		if (vec_reserve((void **)out, cap, *n, sizeof(**out), 16))
			return -ENOMEM;
		(*out)[(*n)++] = subs[i];
		int rc = descendants(h, root, subs[i], out, n, cap, depth + 1);

		if (rc)
			return rc;
	}
	return 0;
}

int hub_descendants(struct hub *h, struct hub_item *it, struct hub_item ***out, size_t *n)
{
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	return descendants(h, it, it, out, n, &cap, 0);
}

static int version_status(const struct hub_item *it)
{
	int cmp;

	if (!it->local_version || hub_version_cmp(it->local_version, it->version, &cmp))
		return 2; /* unknown */
	return cmp < 0 ? 1 : cmp == 0 ? 0 : 3;
}

static size_t check_sub_versions(struct hub *h, struct hub_item *it, int depth)
{
	struct hub_item *subs[512];
	size_t ns, nw = 0;
	json_t *deps;

	if (it->type != HUB_COLLECTIONS || version_status(it) != 0 || depth > 32)
		return 0;
	deps = hub_item_current_deps(it);
	ns = hub_deps_items(h, deps, subs, 512);
	json_decref(deps);
	for (size_t i = 0; i < ns; i++) {
		struct hub_item *sub = subs[i];
		char fq[PATH_MAX];

		if (!hub_item_installed(it))
			continue;
		fqname(sub, fq, sizeof(fq));
		if (check_sub_versions(h, sub, depth + 1) > 0) {
			if (sub->tainted) {
				add_taint(h, it, sub, 0);
				warn(h, "%s is tainted by %s", it->name, fq);
			}
			nw++;
			continue;
		}
		if (sub->tainted) {
			add_taint(h, it, sub, 0);
			warn(h, "%s is tainted by %s", it->name, fq);
			nw++;
		} else if (!hub_item_installed(sub)) {
			add_taint(h, it, sub, 0);
			warn(h, "%s is tainted by missing %s", it->name, fq);
			nw++;
		} else if (!sub->up_to_date) {
			it->up_to_date = false;
			warn(h, "%s is outdated because of %s", it->name, fq);
			nw++;
		}
	}
	return nw;
}

static int local_sync(struct hub *h, char *err, size_t errlen)
{
	char hubreal[PATH_MAX];
	int rc;

	if (!realpath(h->cfg->hub_dir, hubreal))
		snprintf(hubreal, sizeof(hubreal), "%s", h->cfg->hub_dir);
	rc = scan_root(h, h->cfg->hub_dir, true, hubreal);
	if (!rc)
		rc = scan_root(h, h->cfg->config_dir, false, hubreal);
	if (rc) {
		snprintf(err, errlen, "while reading the local hub (%s, %s): %s", h->cfg->hub_dir,
			 h->cfg->config_dir, strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < h->nitems; i++) {
		struct hub_item *c = h->items[i], **subs;
		size_t n;

		if (c->type != HUB_COLLECTIONS || hub_get(h, c->type, c->name) != c)
			continue;
		rc = hub_descendants(h, c, &subs, &n);
		if (rc) {
			free(subs);
			snprintf(err, errlen, "collections:%s: %s", c->name,
				 rc == -ELOOP ? "circular dependency detected" : strerror(-rc));
			return rc;
		}
		for (size_t j = 0; j < n; j++)
			if (!strv_has(subs[j]->belongs_to, subs[j]->nbelongs_to, c->name))
				strv_push(&subs[j]->belongs_to, &subs[j]->nbelongs_to, c->name);
		free(subs);
	}
	for (size_t i = 0; i < h->nitems; i++) {
		struct hub_item *c = h->items[i];

		if (c->type != HUB_COLLECTIONS || !hub_item_installed(c))
			continue;
		switch (version_status(c)) {
		case 0:
			check_sub_versions(h, c, 0);
			break;
		case 1:
			warn(h, "update for collection %s available (currently:%s, latest:%s)", c->name,
			     c->local_version, c->version);
			break;
		case 3:
			warn(h, "collection %s is in the future (currently:%s, latest:%s)", c->name,
			     c->local_version, c->version);
			break;
		default:
			if (!c->local)
				warn(h, "collection %s is tainted by local changes (latest:%s)",
				     c->name, c->version);
		}
	}
	return 0;
}

int hub_lock(const struct hub_config *cfg)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/.cscli.lock", cfg->hub_dir) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == ENOENT ? -1 : -errno;
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB); waited++) {
		if (errno != EWOULDBLOCK || waited >= HUB_LOCK_WAIT_S * 10) {
			int rc = errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;

			close(fd);
			return rc;
		}
		if (!waited)
			log_warn("another cscli is changing the hub (%s): waiting", path);
		nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
	}
	return fd;
}

int hub_open(struct hub_config *cfg, struct hub **out, char *err, size_t errlen)
{
	struct hub *h = calloc(1, sizeof(*h));
	char *text = NULL, what[PATH_MAX + 16];
	size_t len;
	int rc;

	*out = NULL;
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	h->cfg = cfg;
	h->lock_fd = hub_lock(cfg);
	if (h->lock_fd < -1) {
		rc = h->lock_fd;
		snprintf(err, errlen, "while locking %s/.cscli.lock: %s", cfg->hub_dir,
			 rc == -ETIMEDOUT ? "another cscli kept it too long" : strerror(-rc));
		goto fail;
	}
	rc = cs_read_file(cfg->index_path, HUB_MAX_INDEX_BYTES, &text, &len);
	if (rc) {
		snprintf(err, errlen, "invalid hub index: unable to read index file %s: %s. Run "
			 "'sudo cscli hub update' to download the index again", cfg->index_path,
			 rc == -EFBIG ? "too large" : strerror(-rc));
		goto fail;
	}
	snprintf(what, sizeof(what), "%s", cfg->index_path);
	rc = hub_index_parse(h, text, len, what, err, errlen);
	free(text);
	if (rc) {
		size_t l = strlen(err);

		snprintf(err + l, errlen - l, ". Run 'sudo cscli hub update' to download the index "
			 "again");
		goto fail;
	}
	rc = local_sync(h, err, errlen);
	if (rc)
		goto fail;
	*out = h;
	return 0;
fail:
	hub_close(h);
	return rc;
}
