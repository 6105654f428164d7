// SPDX-License-Identifier: MIT
/*
 * The file plugin: the rendered text appended to log_path, with upstream's
 * rotation (rotate: enabled, max_size in MB, max_files, max_age in days,
 * compress). Past max_size the file is renamed LOG_PATH.YYYYMMDD-HHMMSS
 * (gzipped to .gz with compress) and backups past max_files or older than
 * max_age are removed. A log_path moved away by someone else (logrotate) is
 * reopened before the next write, as upstream does.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/log.h"
#include "common/yamljson.h"
#include "notify/notify_int.h"

int notify_file_load(json_t *doc, const char *path, struct notification *nt, char *err,
		     size_t errlen)
{
	json_t *rot = json_object_get(doc, "rotate");
	int ret = notify_str(doc, "log_path", NULL, path, &nt->log_path, err, errlen);

	if (ret)
		return ret;
	if (!nt->log_path || !*nt->log_path) {
		snprintf(err, errlen, "%s: file notification '%s': log_path: missing", path, nt->name);
		return -EINVAL;
	}
	if (rot && !json_is_null(rot) && !json_is_object(rot)) {
		snprintf(err, errlen, "%s: file notification '%s': rotate: not a map", path, nt->name);
		return -EINVAL;
	}
	nt->rotate = yamljson_get_bool(rot, "enabled", false);
	nt->compress = yamljson_get_bool(rot, "compress", false);
	nt->max_size_mb = yamljson_get_long(rot, "max_size", 0);
	nt->max_files = yamljson_get_long(rot, "max_files", 0);
	nt->max_age_days = yamljson_get_long(rot, "max_age", 0);
	if (nt->max_size_mb < 0 || nt->max_size_mb > 1L << 20 || nt->max_files < 0 ||
	    nt->max_files > 10000 || nt->max_age_days < 0 || nt->max_age_days > 100000) {
		snprintf(err, errlen,
			 "%s: file notification '%s': rotate: max_size, max_files and max_age must be "
			 "small positive numbers",
			 path, nt->name);
		return -EINVAL;
	}
	if (nt->rotate && !nt->max_size_mb) {
		snprintf(err, errlen, "%s: file notification '%s': rotate: max_size: needed when enabled",
			 path, nt->name);
		return -EINVAL;
	}
	return 0;
}

void notify_file_close(struct notification *nt)
{
	if (nt->fd >= 0)
		close(nt->fd);
	nt->fd = -1;
}

static int reopen(struct notification *nt)
{
	struct stat st;

	notify_file_close(nt);
	nt->fd = open(nt->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (nt->fd < 0 || fstat(nt->fd, &st)) {
		int e = errno;

		log_warn("notification %s: %s: %s", nt->name, nt->log_path, strerror(e));
		notify_file_close(nt);
		return -e;
	}
	nt->size = st.st_size;
	return 0;
}

/* Still the file at log_path? (it may have been moved or removed by someone else) */
static bool same_file(const struct notification *nt)
{
	struct stat a, b;

	return nt->fd >= 0 && !fstat(nt->fd, &a) && !stat(nt->log_path, &b) && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static int gzip_file(const char *src)
{
	char dst[4200], buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), ret = 0;
	gzFile out;
	ssize_t n;

	snprintf(dst, sizeof(dst), "%s.gz", src);
	if (in < 0)
		return -errno;
	out = gzopen(dst, "wbe");
	if (!out) {
		close(in);
		return -EIO;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (gzwrite(out, buf, (unsigned)n) != (int)n) {
			ret = -EIO;
			break;
		}
	if (n < 0)
		ret = -errno;
	if (gzclose(out) != Z_OK && !ret)
		ret = -EIO;
	close(in);
	if (ret)
		unlink(dst);
	else
		unlink(src);
	return ret;
}

static int cmp_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Backups beyond max_files (newest first by name, as upstream) or older than max_age
 * go. max_age 0 keeps any age (upstream's 0 would remove every backup at once). */
static void prune(struct notification *nt)
{
	char pattern[4200];
	glob_t g;
	time_t now = time(NULL);

	snprintf(pattern, sizeof(pattern), "%s.*%s", nt->log_path, nt->compress ? ".gz" : "");
	if (glob(pattern, GLOB_NOSORT, NULL, &g))
		return;
	qsort(g.gl_pathv, g.gl_pathc, sizeof(*g.gl_pathv), cmp_desc);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct stat st;
		bool old = nt->max_age_days && !stat(g.gl_pathv[i], &st) &&
			   now - st.st_mtime > (time_t)nt->max_age_days * 86400;

		if ((long)i >= nt->max_files || old)
			unlink(g.gl_pathv[i]);
	}
	globfree(&g);
}

static bool taken(const char *path, const char *suffix)
{
	char p[4300];

	snprintf(p, sizeof(p), "%s%s", path, suffix);
	return !access(p, F_OK);
}

static int rotate(struct notification *nt)
{
	char backup[4200], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int ret;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(backup, sizeof(backup), "%s.%s", nt->log_path, stamp);
	/* two rotations within a second must not overwrite the first backup; "_001" sorts
	 * after the plain stamp (and ".gz"), so names stay in age order for prune() */
	for (int i = 1; i < 1000 && (taken(backup, "") || taken(backup, ".gz")); i++)
		snprintf(backup, sizeof(backup), "%s.%s_%03d", nt->log_path, stamp, i);
	if (rename(nt->log_path, backup)) {
		ret = -errno;
		log_warn("notification %s: rotating %s: %s", nt->name, nt->log_path, strerror(-ret));
		return ret;
	}
	/* log_path back before the slow part: readers (tail -F) and the next alert find it */
	ret = reopen(nt);
	if (nt->compress) {
		int zerr = gzip_file(backup);

		if (zerr)
			log_warn("notification %s: compressing %s: %s", nt->name, backup,
				 strerror(-zerr));
	}
	prune(nt);
	return ret;
}

int notify_file_send(struct notification *nt, const char *body, size_t len)
{
	bool nl = len && body[len - 1] != '\n';
	int ret;

	if (!same_file(nt) && (ret = reopen(nt)))
		return ret;
	if (write(nt->fd, body, len) != (ssize_t)len || (nl && write(nt->fd, "\n", 1) != 1)) {
		ret = errno ? -errno : -EIO;
		log_warn("notification %s: %s: short write", nt->name, nt->log_path);
		notify_file_close(nt);
		return ret;
	}
	nt->size += (int64_t)(len + nl);
	if (nt->rotate && nt->size > (int64_t)nt->max_size_mb * 1024 * 1024)
		rotate(nt);
	return 0;
}
