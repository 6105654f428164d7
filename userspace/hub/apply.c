// SPDX-License-Identifier: MIT
/*
 * Carrying a plan out, all or nothing:
 *   1. check every step can run (enable needs a copy, disable needs our link);
 *   2. fetch every item (sha256 checked against the index) and every data file
 *      into hidden temporary files beside their final place;
 *   3. commit: rename into place, link, unlink, purge, each step journaled;
 *      any failure replays the journal backwards and removes the temporaries.
 * Nothing of the previous state is lost until every step succeeded.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/readfile.h"
#include "common/strv.h"
#include "common/vec.h"
#include "common/yamljson.h"
#include "hub/hub.h"
#include "hub/hub_int.h"
#include "hub/plan_int.h"

#define DATA_SHELF_LIFE (7 * 24 * 3600) /* upstream: data younger than this is kept */
#define MAX_STAGED 20000

struct staged {
	char *final;
	char *tmp;
};

enum undo_kind { UNDO_UNLINK, UNDO_RENAME, UNDO_SYMLINK };

struct undo {
	enum undo_kind kind;
	char *a; /* UNDO_UNLINK: path; UNDO_RENAME: backup; UNDO_SYMLINK: target */
	char *b; /* UNDO_RENAME: original path; UNDO_SYMLINK: link path */
};

struct run {
	struct hub_plan *p;
	struct staged *st;
	size_t nst, stcap;
	struct undo *undo;
	size_t nundo, undocap;
	char **backups; /* removed once the commit succeeded */
	size_t nbackups, backupscap;
	char **dirs; /* created by this run, removed again if it fails */
	size_t ndirs;
	bool changed;
	char *err;
	size_t errlen;
};

static void say(const struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->p->h->cfg->quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static const char *fqn(const struct hub_item *it, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%s", hub_type_name(it->type), it->name);
	return buf;
}

/* mkdir -p that remembers what it created, so a failed run leaves no empty directory */
static int run_mkdir_p(struct run *r, const char *dir)
{
	char p[PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (char *s = p + 1;; s++) {
		bool last = !*s;

		if (*s && *s != '/')
			continue;
		*s = '\0';
		if (!mkdir(p, 0755)) {
			if (strv_push(&r->dirs, &r->ndirs, p))
				return -ENOMEM;
		} else if (errno != EEXIST) {
			return -errno;
		}
		if (last)
			break;
		*s = '/';
	}
	return 0;
}

static bool staged_has(const struct run *r, const char *final)
{
	for (size_t i = 0; i < r->nst; i++)
		if (!strcmp(r->st[i].final, final))
			return true;
	return false;
}

/* A hidden temporary file beside `final` (the hub scan and crowdsec skip dot files). */
static FILE *stage_open(struct run *r, const char *final, char **tmp_out)
{
	char dir[PATH_MAX], *slash, *tmp = NULL;
	FILE *f;
	int fd, rc;

	*tmp_out = NULL;
	snprintf(dir, sizeof(dir), "%s", final);
	slash = strrchr(dir, '/');
	if (!slash || r->nst >= MAX_STAGED) {
		snprintf(r->err, r->errlen, "%s: invalid destination", final);
		return NULL;
	}
	*slash = '\0';
	if ((rc = run_mkdir_p(r, dir))) {
		snprintf(r->err, r->errlen, "while creating %s: %s", dir, strerror(-rc));
		return NULL;
	}
	if (asprintf(&tmp, "%s/.%s.cscli-XXXXXX", dir, slash + 1) < 0) {
		snprintf(r->err, r->errlen, "out of memory");
		return NULL;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || fchmod(fd, 0644) || !(f = fdopen(fd, "wb"))) {
		snprintf(r->err, r->errlen, "while creating a file in %s: %s", dir, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		return NULL;
	}
	if (vec_reserve((void **)&r->st, &r->stcap, r->nst, sizeof(*r->st), 8) ||
	    !(r->st[r->nst].final = strdup(final))) {
		fclose(f);
		unlink(tmp);
		free(tmp);
		snprintf(r->err, r->errlen, "out of memory");
		return NULL;
	}
	r->st[r->nst].tmp = tmp;
	r->nst++;
	*tmp_out = tmp;
	return f;
}

/* Close a staged file, reporting a full disk or an I/O error at the last moment. */
static int stage_close(struct run *r, FILE *f, const char *final)
{
	int rc = 0;

	if (fflush(f) || fsync(fileno(f)))
		rc = -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	if (rc)
		snprintf(r->err, r->errlen, "while writing %s: %s", final, strerror(-rc));
	return rc;
}

/* Stage the data files an item declares (`data:` source_url/dest_file). */
static int stage_data(struct run *r, const char *text, size_t len, const char *what, bool force)
{
	const struct hub_config *cfg = r->p->h->cfg;
	char yerr[512];
	json_t *docs = yamljson_load_string(text, len, what, yerr, sizeof(yerr)), *doc;
	size_t i;
	int rc = 0;

	if (!docs) {
		snprintf(r->err, r->errlen, "while reading %s: %s", what, yerr);
		return -EINVAL;
	}
	json_array_foreach(docs, i, doc) {
		json_t *data = json_object_get(doc, "data"), *e;
		size_t j;

		if (data && !json_is_array(data)) {
			snprintf(r->err, r->errlen, "%s: 'data' is not a list", what);
			rc = -EINVAL;
			break;
		}
		json_array_foreach(data, j, e) {
			const char *src = json_string_value(json_object_get(e, "source_url"));
			const char *dest = json_string_value(json_object_get(e, "dest_file"));
			char final[PATH_MAX], *url = NULL, *tmp;
			struct stat sb;
			FILE *f;

			if (!src || !*src)
				continue;
			if (!hub_safe_rel_path(dest)) {
				snprintf(r->err, r->errlen, "%s: data dest_file '%s' is not a file name "
					 "inside the data directory", what, dest ? dest : "");
				rc = -EINVAL;
				goto out;
			}
			if (!strstr(src, "://")) {
				snprintf(r->err, r->errlen, "%s: a valid URL was expected: %s", what, src);
				rc = -EINVAL;
				goto out;
			}
			snprintf(final, sizeof(final), "%s/%s", cfg->data_dir, dest);
			if (staged_has(r, final))
				continue;
			if (!force && !stat(final, &sb) && time(NULL) - sb.st_mtime < DATA_SHELF_LIFE)
				continue;
			if (cfg->hub_data_url ? asprintf(&url, "%s/%s", cfg->hub_data_url, dest) < 0
					      : !(url = strdup(src))) {
				snprintf(r->err, r->errlen, "out of memory");
				rc = -ENOMEM;
				goto out;
			}
			say(r, "downloading %s", url);
			f = stage_open(r, final, &tmp);
			if (!f) {
				free(url);
				rc = -EIO;
				goto out;
			}
			rc = hub_http_get_file(url, HUB_MAX_DATA_BYTES, f, yerr, sizeof(yerr));
			free(url);
			if (rc) {
				fclose(f);
				snprintf(r->err, r->errlen, "while downloading data for %s: %s", what,
					 yerr);
				goto out;
			}
			if ((rc = stage_close(r, f, final)))
				goto out;
		}
	}
out:
	json_decref(docs);
	return rc;
}

static int stage_item(struct run *r, const struct hub_cmd *c)
{
	struct hub *h = r->p->h;
	struct hub_item *it = c->it;
	const char *want = NULL;
	char url[PATH_MAX * 2], final[PATH_MAX], name[PATH_MAX], got[65], why[1024], *body, *tmp;
	size_t len;
	FILE *f;
	int rc;

	fqn(it, name, sizeof(name));
	for (size_t i = 0; i < it->nversions; i++)
		if (!strcmp(it->versions[i].version, it->version))
			want = it->versions[i].digest;
	if (!want) {
		snprintf(r->err, r->errlen, "%s: latest hash missing from index. The index file is "
			 "invalid, please run 'cscli hub update' and try again", name);
		return -EINVAL;
	}
	if ((rc = hub_download_path(h, it, final, sizeof(final)))) {
		snprintf(r->err, r->errlen, "%s: path too long", name);
		return rc;
	}
	say(r, "downloading %s", name);
	snprintf(url, sizeof(url), "%s/%s", h->cfg->hub_url, it->remote_path);
	rc = hub_http_get(url, HUB_MAX_ITEM_BYTES, &body, &len, why, sizeof(why));
	if (rc) {
		snprintf(r->err, r->errlen, "%s: %s", name, why);
		return rc;
	}
	hub_sha256_hex(body, len, got);
	if (strcmp(got, want)) {
		snprintf(r->err, r->errlen, "%s: hash mismatch: expected %s, got %s (%s). The index "
			 "file is outdated or the hub mirror is corrupted: run 'cscli hub update' "
			 "and try again", name, want, got, url);
		free(body);
		return -EBADMSG;
	}
	f = stage_open(r, final, &tmp);
	if (!f) {
		free(body);
		return -EIO;
	}
	if (fwrite(body, 1, len, f) != len) {
		rc = -errno ?: -EIO;
		fclose(f);
		snprintf(r->err, r->errlen, "while writing %s: %s", final, strerror(-rc));
	} else {
		rc = stage_close(r, f, final);
	}
	if (!rc)
		rc = stage_data(r, body, len, name, c->force);
	free(body);
	return rc;
}

static int undo_add(struct run *r, enum undo_kind k, const char *a, const char *b)
{
	struct undo *n;

	if (vec_reserve((void **)&r->undo, &r->undocap, r->nundo, sizeof(*r->undo), 8))
		return -ENOMEM;
	n = r->undo;
	n[r->nundo] = (struct undo){ k, strdup(a), b ? strdup(b) : NULL };
	if (!n[r->nundo].a || (b && !n[r->nundo].b)) {
		free(n[r->nundo].a);
		free(n[r->nundo].b);
		return -ENOMEM;
	}
	r->nundo++;
	return 0;
}

static void rollback(struct run *r)
{
	while (r->nundo) {
		struct undo *u = &r->undo[--r->nundo];

		switch (u->kind) {
		case UNDO_UNLINK:
			unlink(u->a);
			break;
		case UNDO_RENAME:
			rename(u->a, u->b);
			break;
		case UNDO_SYMLINK:
			if (symlink(u->a, u->b))
				fprintf(stderr, "while restoring %s: %s\n", u->b, strerror(errno));
			break;
		}
		free(u->a);
		free(u->b);
	}
}

/*
 * Rename `path` to a hidden backup beside it, journaled (rollback renames it back,
 * success deletes it). -ENOENT when there is nothing to move.
 */
static int move_aside(struct run *r, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *backup = NULL;
	int rc;

	if (asprintf(&backup, "%.*s/.%s.cscli-old", (int)(slash - path), path, slash + 1) < 0)
		return -ENOMEM;
	if (vec_reserve((void **)&r->backups, &r->backupscap, r->nbackups, sizeof(*r->backups),
			8)) {
		free(backup);
		return -ENOMEM;
	}
	if (rename(path, backup)) {
		rc = -errno;
		free(backup);
		if (rc != -ENOENT)
			snprintf(r->err, r->errlen, "while moving %s aside: %s", path, strerror(-rc));
		return rc;
	}
	if ((rc = undo_add(r, UNDO_RENAME, backup, path))) {
		rename(backup, path);
		free(backup);
		return rc;
	}
	r->backups[r->nbackups++] = backup;
	return 0;
}

/* Move a staged file into place; the previous file is kept aside until the end. */
static int commit_file(struct run *r, struct staged *s)
{
	int rc = move_aside(r, s->final);

	if (rc && rc != -ENOENT)
		return rc;
	if (rename(s->tmp, s->final)) {
		rc = -errno;
		snprintf(r->err, r->errlen, "while writing %s: %s", s->final, strerror(-rc));
		return rc;
	}
	free(s->tmp);
	s->tmp = NULL;
	r->changed = true;
	return undo_add(r, UNDO_UNLINK, s->final, NULL);
}

static int commit_enable(struct run *r, struct hub_item *it)
{
	struct hub *h = r->p->h;
	char dest[PATH_MAX], src[PATH_MAX], dir[PATH_MAX], name[PATH_MAX], *slash;
	struct stat sb;
	int rc;

	say(r, "enabling %s", fqn(it, name, sizeof(name)));
	if (hub_install_path(h, it, dest, sizeof(dest)) || hub_download_path(h, it, src, sizeof(src))) {
		snprintf(r->err, r->errlen, "%s: path too long", name);
		return -ENAMETOOLONG;
	}
	if (!lstat(dest, &sb))
		return 0; /* already there (upstream keeps what is there) */
	snprintf(dir, sizeof(dir), "%s", dest);
	slash = strrchr(dir, '/');
	*slash = '\0';
	if ((rc = run_mkdir_p(r, dir)) || (symlink(src, dest) && (rc = -errno))) {
		snprintf(r->err, r->errlen, "while enabling %s: %s: %s", name, dest, strerror(-rc));
		return rc;
	}
	r->changed = true;
	return undo_add(r, UNDO_UNLINK, dest, NULL);
}

/* Is `path` a link of ours (into this item's hub copy)? */
static bool managed_link(struct hub *h, const struct hub_item *it, const char *path,
			 char *target, size_t tlen)
{
	char want[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
	struct stat sb;
	ssize_t n;

	if (lstat(path, &sb) || !S_ISLNK(sb.st_mode))
		return false;
	n = readlink(path, target, tlen - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	if (hub_download_path(h, it, want, sizeof(want)))
		return false;
	if (!strcmp(target, want))
		return true;
	return realpath(path, a) && realpath(want, b) && !strcmp(a, b);
}

static int commit_disable(struct run *r, struct hub_item *it)
{
	char target[PATH_MAX], name[PATH_MAX];
	int rc;

	say(r, "disabling %s", fqn(it, name, sizeof(name)));
	if (!it->local_path)
		return 0;
	if (!managed_link(r->p->h, it, it->local_path, target, sizeof(target))) {
		snprintf(r->err, r->errlen, "while disabling %s: %s isn't managed by hub", name,
			 it->local_path);
		return -EPERM;
	}
	if (unlink(it->local_path)) {
		rc = -errno;
		snprintf(r->err, r->errlen, "while disabling %s: %s", name, strerror(-rc));
		return rc;
	}
	r->changed = true;
	return undo_add(r, UNDO_SYMLINK, target, it->local_path);
}

static int commit_purge(struct run *r, struct hub_item *it)
{
	char name[PATH_MAX];
	int rc;

	say(r, "purging %s", fqn(it, name, sizeof(name)));
	if (!it->download_path)
		return 0;
	rc = move_aside(r, it->download_path);
	return rc == -ENOENT ? 0 : rc;
}

/* What can be known before touching anything. */
static int precheck(struct run *r)
{
	struct hub_plan *p = r->p;
	char name[PATH_MAX], target[PATH_MAX];

	for (size_t i = 0; i < p->ncmds; i++) {
		struct hub_item *it = p->cmds[i].it;

		fqn(it, name, sizeof(name));
		if (p->cmds[i].op == HUB_OP_ENABLE && !hub_item_downloaded(it) &&
		    !hub_plan_has(p, HUB_OP_DOWNLOAD, it)) {
			snprintf(r->err, r->errlen, "can't enable %s: not downloaded", name);
			return -ENOENT;
		}
		if (p->cmds[i].op == HUB_OP_DISABLE && it->local_path &&
		    !managed_link(p->h, it, it->local_path, target, sizeof(target))) {
			snprintf(r->err, r->errlen, "while disabling %s: %s isn't managed by hub", name,
				 it->local_path);
			return -EPERM;
		}
	}
	return 0;
}

static int refresh_data(struct run *r)
{
	struct hub *h = r->p->h;
	char name[PATH_MAX];

	for (size_t i = 0; i < h->nitems; i++) {
		struct hub_item *it = h->items[i];
		char *text;
		size_t len;
		int rc;

		if (!hub_item_installed(it) || hub_plan_has(r->p, HUB_OP_DOWNLOAD, it))
			continue;
		if ((rc = cs_read_file(it->local_path, HUB_MAX_ITEM_BYTES, &text, &len))) {
			snprintf(r->err, r->errlen, "while opening %s: %s", it->local_path,
				 strerror(-rc));
			return rc;
		}
		rc = stage_data(r, text, len, fqn(it, name, sizeof(name)), r->p->refresh_force);
		free(text);
		if (rc)
			return rc;
	}
	return 0;
}

int hub_plan_execute(struct hub_plan *p, bool *reload_needed, char *err, size_t errlen)
{
	struct run r = { .p = p, .err = err, .errlen = errlen };
	int rc;

	*reload_needed = false;
	err[0] = '\0';
	rc = precheck(&r);
	for (size_t i = 0; !rc && i < p->ncmds; i++)
		if (p->cmds[i].op == HUB_OP_DOWNLOAD)
			rc = stage_item(&r, &p->cmds[i]);
	if (!rc && p->refresh_data)
		rc = refresh_data(&r);
	for (size_t i = 0; !rc && i < r.nst; i++)
		rc = commit_file(&r, &r.st[i]);
	for (size_t i = 0; !rc && i < p->ncmds; i++) {
		switch (p->cmds[i].op) {
		case HUB_OP_ENABLE:
			rc = commit_enable(&r, p->cmds[i].it);
			break;
		case HUB_OP_DISABLE:
			rc = commit_disable(&r, p->cmds[i].it);
			break;
		case HUB_OP_PURGE:
			rc = commit_purge(&r, p->cmds[i].it);
			break;
		default:
			break;
		}
	}
	if (rc) {
		if (!err[0])
			snprintf(err, errlen, "%s", strerror(-rc));
		rollback(&r);
	} else {
		for (size_t i = 0; i < r.nbackups; i++)
			unlink(r.backups[i]);
		for (size_t i = 0; i < r.nundo; i++) {
			free(r.undo[i].a);
			free(r.undo[i].b);
		}
		*reload_needed = r.changed;
	}
	for (size_t i = 0; i < r.nst; i++) {
		if (r.st[i].tmp)
			unlink(r.st[i].tmp);
		free(r.st[i].tmp);
		free(r.st[i].final);
	}
	for (size_t i = r.ndirs; rc && i-- > 0;)
		rmdir(r.dirs[i]); /* deepest first; only empty ones go */
	strv_free(r.dirs, r.ndirs);
	strv_free(r.backups, r.nbackups);
	free(r.st);
	free(r.undo);
	return rc;
}
