// SPDX-License-Identifier: MIT
/*
 * The file datasource ("file" module), tail -F on inotify, and its one-shot
 * ("cat", replay) mode.
 *
 * A followed path (struct tfile) owns a chain of generations (struct fgen), one per
 * inode that has lived at that path. Reading is by pread() at our own offset, so
 * an unfinished budget simply leaves the offset where the next round resumes.
 *
 * - Start: existing files are read from their end, like upstream (nxadm/tail with
 *   SeekEnd); if the last line is unfinished we back up to its start so it is
 *   delivered whole once completed. Files that appear later (a glob match, a
 *   recreated or rotated file) are read from offset 0, so nothing written between
 *   their creation and our noticing is lost.
 * - Rename rotation: stat(path) names another inode. The old generation is kept
 *   and drained (its inotify watch follows the inode) until it has been quiet for
 *   DRAIN_GRACE after EOF, because the writer keeps appending to it until it
 *   reopens; the new file is read from 0.
 * - copytruncate: the file is smaller than our offset, or the bytes just before our
 *   offset changed (it was truncated and refilled past the old offset before we
 *   looked). Restart at 0.
 * - Delete and recreate: same as rotation; the deleted generation is drained, then
 *   the new inode is read from 0.
 * - Partial last line: kept in the generation's line buffer until its "\n"; when a
 *   generation ends (grace over, truncated) the fragment is delivered as a line.
 * - New files: every pattern's directory is watched (upstream only watches it when
 *   the glob matched something at start, or with force_inotify); a directory that
 *   vanishes is re-watched from the timer and rescanned.
 * The 1 s timer re-checks every followed path, a safety net for lost events
 * (IN_Q_OVERFLOW) and the whole mechanism for poll_without_inotify files (250 ms).
 */
#include "acquisition/acq.h"
#include "acquisition/acq_int.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/vec.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <libgen.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define RBUF_SIZE (64 * 1024)
/*
 * Bytes that cost one unit of the line budget, whether or not they hold a line:
 * a file of NULs, of bare "\n" or of one endless line must not keep the loop
 * (and SIGTERM, and the other files) waiting.
 */
#define BYTES_PER_BUDGET_UNIT 4096
#define FP_LEN 64			  /* bytes before the offset we re-check */
#define DRAIN_GRACE_NS 3000000000LL	  /* keep a rotated-away file this long after EOF */
#define DISCOVERY_DEFAULT_NS 30000000000LL /* upstream defaultPollInterval */
#define FILE_MASK (IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)
#define DIR_MASK (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR)

struct fgen {
	int fd;
	gzFile gz; /* cat mode, *.gz */
	dev_t dev;
	ino_t ino;
	off_t off; /* next byte to read */
	int wd;
	struct acq_linebuf lb;
	unsigned char fp[FP_LEN]; /* content just before off, to notice a refill */
	size_t fplen;
	long long quiet_since; /* CLOCK_MONOTONIC ns of the last EOF with no data */
	bool at_eof;
	char *gzbuf; /* decompressed but not yet split */
	size_t gzpos, gzlen;
	struct fgen *next;
};

struct tfile {
	char *path;
	struct fgen *cur; /* NULL while nothing lives at path */
	struct fgen *old; /* rotated away, still draining */
	bool dirty, poll, had_gen;
	struct tfile *next;
};

struct dirwatch {
	char *dir;
	int wd; /* -1: not there (yet); retried from the timer */
};

struct fsrc {
	int ifd;
	struct dirwatch *dirs;
	size_t ndirs, dirs_cap;
	struct tfile *files;
	pcre2_code **excl;
	size_t nexcl;
	pcre2_match_data *md;
	char *rbuf;
	/* cat mode */
	char **cat;
	size_t ncat, icat;
	struct fgen *catgen;
	long long last_discovery;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool has_glob_meta(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '*' || s[i] == '?' || s[i] == '[' || s[i] == '\\')
			return true;
	return false;
}

static bool excluded(struct fsrc *fs, const char *path)
{
	for (size_t i = 0; i < fs->nexcl; i++) {
		if (pcre2_match(fs->excl[i], (PCRE2_SPTR)path, PCRE2_ZERO_TERMINATED, 0, 0, fs->md,
				NULL) >= 0) {
			log_info("skipping file %s: matches exclude regex", path);
			return true;
		}
	}
	return false;
}

/* filepath.Match: '*' stops at '/', dotfiles are not special. */
static bool matches(struct acq_src *s, const char *path)
{
	for (size_t i = 0; i < s->cfg.nfilenames; i++)
		if (!fnmatch(s->cfg.filenames[i], path, FNM_PATHNAME))
			return true;
	return false;
}

static bool on_network_fs(const char *path)
{
	struct statfs sf;

	if (statfs(path, &sf))
		return false;
	switch ((unsigned long)sf.f_type) {
	case 0x6969:	 /* nfs */
	case 0xff534d42: /* cifs */
	case 0x517b:	 /* smb */
	case 0xfe534d42: /* smb2 */
		return true;
	}
	return false;
}

/* ---- generations --------------------------------------------------------- */

static void gen_close(struct acq_src *s, struct fgen *g)
{
	struct fsrc *fs = s->priv;

	if (!g)
		return;
	if (g->wd >= 0) {
		bool shared = false; /* hard links: inotify hands out one wd per inode */

		for (struct tfile *t = fs->files; t && !shared; t = t->next) {
			shared |= t->cur && t->cur != g && t->cur->wd == g->wd;
			for (struct fgen *o = t->old; o && !shared; o = o->next)
				shared |= o != g && o->wd == g->wd;
		}
		if (!shared)
			inotify_rm_watch(fs->ifd, g->wd);
	}
	if (g->gz)
		gzclose(g->gz); /* closes fd */
	else if (g->fd >= 0)
		close(g->fd);
	acq_linebuf_fini(&g->lb);
	free(g->gzbuf);
	free(g);
}

static void fp_update(struct fgen *g)
{
	size_t n = g->off < FP_LEN ? (size_t)g->off : FP_LEN;
	ssize_t r = n ? pread(g->fd, g->fp, n, g->off - n) : 0;

	g->fplen = r == (ssize_t)n ? n : 0;
}

static bool fp_changed(struct fsrc *fs, struct fgen *g)
{
	ssize_t r;

	if (!g->fplen)
		return false;
	r = pread(g->fd, fs->rbuf, g->fplen, g->off - g->fplen);
	return r != (ssize_t)g->fplen || memcmp(fs->rbuf, g->fp, g->fplen);
}

/* Where to start in an existing file: its end, or the start of an unfinished last line. */
static off_t tail_start(struct acq_src *s, int fd, off_t size)
{
	struct fsrc *fs = s->priv;
	size_t n = size < RBUF_SIZE ? (size_t)size : RBUF_SIZE;
	ssize_t r;

	if (!size)
		return 0;
	r = pread(fd, fs->rbuf, n, size - n);
	if (r != (ssize_t)n || fs->rbuf[n - 1] == '\n')
		return size;
	for (ssize_t i = (ssize_t)n - 1; i >= 0; i--)
		if (fs->rbuf[i] == '\n')
			return size - n + i + 1;
	return n == (size_t)size ? 0 : size; /* no "\n" in 64 KiB: don't guess */
}

/*
 * Only regular files are read: a FIFO blocks, a device (a link to /dev/zero)
 * never ends, and journald has its own source.
 */
#define EFTYPE_NOT_REGULAR EINVAL

static const char *open_error(int rc)
{
	return rc == -EFTYPE_NOT_REGULAR ? "not a regular file, not read" : strerror(-rc);
}

static int gen_open(struct acq_src *s, const char *path, bool at_end, bool poll,
		    struct fgen **out)
{
	struct fsrc *fs = s->priv;
	char proc[64];
	struct fgen *g;
	struct stat st;
	int err;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->wd = -1;
	/* O_NONBLOCK: a FIFO (swapped in after our stat) must not block the open */
	g->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (g->fd < 0 || fstat(g->fd, &st)) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? -EISDIR : -EFTYPE_NOT_REGULAR;
		goto fail;
	}
	g->dev = st.st_dev;
	g->ino = st.st_ino;
	if (at_end)
		g->off = tail_start(s, g->fd, st.st_size);
	if (!poll && fs->ifd >= 0) {
		/* Watch the inode we opened, not whatever the path names by now. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", g->fd);
		g->wd = inotify_add_watch(fs->ifd, proc, FILE_MASK);
		if (g->wd < 0)
			g->wd = inotify_add_watch(fs->ifd, path, FILE_MASK);
		if (g->wd < 0)
			log_warn("%s: no inotify watch (%s), polling it", path, strerror(errno));
	}
	fp_update(g);
	acq_stats_of(s)->files_opened++;
	*out = g;
	return 0;
fail:
	if (g->fd >= 0)
		close(g->fd);
	free(g);
	return err;
}

static void charge_bytes(unsigned int *budget, size_t used)
{
	size_t cost = used / BYTES_PER_BUDGET_UNIT;

	*budget = *budget > cost ? *budget - (unsigned int)cost : 0;
}

/*
 * Read g from its offset to EOF. Returns 0 at EOF, 1 when the budget ran out,
 * or the callback's stop code.
 */
static int gen_drain(struct acq_src *s, struct tfile *tf, struct fgen *g, unsigned int *budget)
{
	struct fsrc *fs = s->priv;
	bool truncated = fp_changed(fs, g);
	bool got = false;
	int rc = 0;

	for (;;) {
		struct stat st;
		size_t used;
		ssize_t r;

		if (!truncated) {
			if (!*budget) {
				rc = 1;
				break;
			}
			r = pread(g->fd, fs->rbuf, RBUF_SIZE, g->off);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				log_error("%s: read: %s", tf->path, strerror(errno));
				acq_stats_of(s)->errors++;
				break;
			}
			if (r > 0) {
				got = true;
				acq_stats_of(s)->bytes += r;
				rc = acq_linebuf_feed(s, &g->lb, tf->path, fs->rbuf, r, &used,
						      budget);
				g->off += used;
				charge_bytes(budget, used);
				if (rc)
					break;
				continue;
			}
			if (fstat(g->fd, &st) || st.st_size >= g->off)
				break; /* EOF, nothing odd */
		}
		/* copytruncate: what was there is gone; start over */
		log_info("%s: truncated, reading from the start", tf->path);
		acq_stats_of(s)->truncations++;
		rc = acq_linebuf_flush(s, &g->lb, tf->path, budget);
		g->off = 0;
		g->fplen = 0;
		truncated = false;
		if (rc)
			break;
	}
	fp_update(g);
	g->at_eof = rc == 0;
	if (got || !g->quiet_since)
		g->quiet_since = now_ns();
	return rc;
}

/* ---- followed paths ------------------------------------------------------ */

static void mark(struct acq_src *s, struct tfile *tf)
{
	tf->dirty = true;
	s->pending = true;
}

static struct tfile *tfile_find(struct fsrc *fs, const char *path)
{
	for (struct tfile *t = fs->files; t; t = t->next)
		if (!strcmp(t->path, path))
			return t;
	return NULL;
}

static void retire(struct tfile *tf)
{
	struct fgen **pp = &tf->old;

	while (*pp) /* keep age order: the oldest generation drains first */
		pp = &(*pp)->next;
	*pp = tf->cur;
	tf->cur->next = NULL;
	tf->cur = NULL;
}

/*
 * A rotated file can match our patterns under its new name too (app.log ->
 * app.log.1 with "app.log*", or a whole directory with "dir/" + "*"). It is then
 * already open here, as some path's current or draining generation: hand that
 * generation over, offset and unfinished line included, rather than read the file
 * again from 0.
 */
static struct fgen *gen_take(struct acq_src *s, dev_t dev, ino_t ino)
{
	struct fsrc *fs = s->priv;

	for (struct tfile *t = fs->files; t; t = t->next) {
		struct stat st;

		for (struct fgen **pp = &t->old; *pp; pp = &(*pp)->next) {
			struct fgen *g = *pp;

			if (g->dev == dev && g->ino == ino) {
				*pp = g->next;
				g->next = NULL;
				return g;
			}
		}
		/* not yet noticed by its own path: only if that path names another file */
		if (t->cur && t->cur->dev == dev && t->cur->ino == ino &&
		    (stat(t->path, &st) || st.st_dev != dev || st.st_ino != ino)) {
			struct fgen *g = t->cur;

			t->cur = NULL;
			mark(s, t);
			return g;
		}
	}
	return NULL;
}

static int tfile_work(struct acq_src *s, struct tfile *tf, unsigned int *budget)
{
	struct fgen **pp = &tf->old, *taken;
	struct stat st;
	int rc;

	while (*pp) {
		struct fgen *g = *pp;

		rc = gen_drain(s, tf, g, budget);
		if (rc)
			return rc;
		if (now_ns() - g->quiet_since < DRAIN_GRACE_NS) {
			pp = &g->next;
			continue;
		}
		/* quiet for long enough: whatever is unfinished is all there will be */
		rc = acq_linebuf_flush(s, &g->lb, tf->path, budget);
		*pp = g->next;
		gen_close(s, g);
		if (rc)
			return rc;
	}
	if (tf->cur && (rc = gen_drain(s, tf, tf->cur, budget)))
		return rc;

	if (stat(tf->path, &st) || !S_ISREG(st.st_mode)) {
		if (tf->cur) {
			log_info("%s: gone, draining what is left", tf->path);
			retire(tf);
		}
		return 0;
	}
	if (tf->cur && st.st_dev == tf->cur->dev && st.st_ino == tf->cur->ino)
		return 0;
	if (tf->cur || tf->had_gen) {
		log_info("%s: rotated, following the new file", tf->path);
		acq_stats_of(s)->rotations++;
	}
	if (tf->cur)
		retire(tf);
	if ((taken = gen_take(s, st.st_dev, st.st_ino))) {
		tf->cur = taken;
		tf->had_gen = true;
		return gen_drain(s, tf, taken, budget);
	}
	rc = gen_open(s, tf->path, false, tf->poll, &tf->cur);
	if (rc) {
		if (rc != -ENOENT) { /* ENOENT: gone again already; the next event tells */
			log_error("%s: %s", tf->path, open_error(rc));
			acq_stats_of(s)->errors++;
		}
		return rc == -ENOMEM ? rc : 0;
	}
	tf->had_gen = true;
	return gen_drain(s, tf, tf->cur, budget);
}

/* Follow path from now on; from its end when it existed at start. */
static int tfile_add(struct acq_src *s, const char *path, bool at_start)
{
	struct fsrc *fs = s->priv;
	struct tfile *tf;
	struct stat st;
	int err;

	if (tfile_find(fs, path) || stat(path, &st) || S_ISDIR(st.st_mode) ||
	    excluded(fs, path))
		return 0;
	if (!S_ISREG(st.st_mode)) {
		log_warn("%s: %s", path, open_error(-EFTYPE_NOT_REGULAR));
		acq_stats_of(s)->errors++;
		return 0;
	}
	tf = calloc(1, sizeof(*tf));
	if (!tf || !(tf->path = strdup(path))) {
		free(tf);
		return -ENOMEM;
	}
	if (s->cfg.poll_without_inotify >= 0) {
		tf->poll = s->cfg.poll_without_inotify;
	} else if (on_network_fs(path)) {
		log_warn("%s is on a network share: polling it (set poll_without_inotify "
			 "to choose)", path);
		tf->poll = true;
	}
	if (tf->poll)
		acq_want_fast_tick(s);
	log_info("adding file %s to datasources", path);
	if (at_start) {
		err = gen_open(s, path, true, tf->poll, &tf->cur);
		if (err) { /* upstream: log and go on without it */
			log_error("%s: %s", path, open_error(err));
			acq_stats_of(s)->errors++;
			free(tf->path);
			free(tf);
			return err == -ENOMEM ? err : 0;
		}
		tf->had_gen = true;
	} else if ((tf->cur = gen_take(s, st.st_dev, st.st_ino))) {
		tf->had_gen = true; /* continue where its old name left it */
	}
	tf->next = fs->files;
	fs->files = tf;
	mark(s, tf);
	return 0;
}

static int dir_watch(struct acq_src *s, const char *dir)
{
	struct fsrc *fs = s->priv;
	struct dirwatch *d;

	for (size_t i = 0; i < fs->ndirs; i++)
		if (!strcmp(fs->dirs[i].dir, dir))
			return 0;
	if (vec_reserve((void **)&fs->dirs, &fs->dirs_cap, fs->ndirs, sizeof(*d), 4))
		return -ENOMEM;
	d = &fs->dirs[fs->ndirs];
	if (!(d->dir = strdup(dir)))
		return -ENOMEM;
	fs->ndirs++;
	d->wd = inotify_add_watch(fs->ifd, dir, DIR_MASK);
	if (d->wd < 0)
		log_warn("could not watch directory %s: %s (retrying)", dir, strerror(errno));
	return 0;
}

static int dirname_of(const char *path, char *out, size_t len)
{
	const char *sl = strrchr(path, '/');

	if (!sl)
		return snprintf(out, len, ".") >= (int)len ? -ENAMETOOLONG : 0;
	if (sl == path)
		return snprintf(out, len, "/") >= (int)len ? -ENAMETOOLONG : 0;
	if ((size_t)(sl - path) >= len)
		return -ENAMETOOLONG;
	memcpy(out, path, sl - path);
	out[sl - path] = 0;
	return 0;
}

/* Glob every pattern; start following what is new. `initial`: files seen at start. */
static int scan(struct acq_src *s, bool initial)
{
	int err = 0;

	for (size_t i = 0; i < s->cfg.nfilenames && !err; i++) {
		const char *pat = s->cfg.filenames[i];
		const char *sl = strrchr(pat, '/');
		char dir[PATH_MAX];
		glob_t g;
		int r;

		if (!has_glob_meta(pat, sl ? (size_t)(sl - pat) : 0)) {
			err = dirname_of(pat, dir, sizeof(dir));
			if (!err)
				err = dir_watch(s, dir);
		}
		r = glob(pat, GLOB_PERIOD, NULL, &g);
		if (r == GLOB_NOMATCH && initial)
			log_warn("no matching files for pattern %s", pat);
		for (size_t j = 0; r == 0 && j < g.gl_pathc && !err; j++) {
			if (has_glob_meta(pat, sl ? (size_t)(sl - pat) : 0) &&
			    !dirname_of(g.gl_pathv[j], dir, sizeof(dir)))
				err = dir_watch(s, dir);
			if (!err)
				err = tfile_add(s, g.gl_pathv[j], initial);
		}
		if (r != GLOB_NOMATCH)
			globfree(&g);
	}
	return err;
}

/* ---- ops ------------------------------------------------------------------ */

static int file_start(struct acq_src *s)
{
	struct fsrc *fs;
	int err;

	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	s->priv = fs;
	fs->ifd = -1;
	fs->rbuf = malloc(RBUF_SIZE);
	fs->md = pcre2_match_data_create(1, NULL);
	if (!fs->rbuf || !fs->md)
		return -ENOMEM;
	fs->excl = calloc(s->cfg.nexclude + 1, sizeof(*fs->excl));
	if (!fs->excl)
		return -ENOMEM;
	for (; fs->nexcl < s->cfg.nexclude; fs->nexcl++) {
		PCRE2_SIZE off;
		int rc;

		fs->excl[fs->nexcl] = pcre2_compile((PCRE2_SPTR)s->cfg.exclude_regexps[fs->nexcl],
						    PCRE2_ZERO_TERMINATED, 0, &rc, &off, NULL);
		if (!fs->excl[fs->nexcl])
			return -EINVAL; /* acq_config checked it already */
	}

	if (s->cfg.mode == ACQ_MODE_CAT) {
		for (size_t i = 0; i < s->cfg.nfilenames; i++) {
			glob_t g;
			int r = glob(s->cfg.filenames[i], GLOB_PERIOD, NULL, &g);

			if (r == GLOB_NOMATCH) {
				if (s->cfg.dsn) {
					log_error("no matching files for pattern %s",
						  s->cfg.filenames[i]);
					return -ENOENT;
				}
				log_warn("no matching files for pattern %s", s->cfg.filenames[i]);
				continue;
			}
			if (r)
				return -EINVAL;
			for (size_t j = 0; j < g.gl_pathc; j++) {
				if (excluded(fs, g.gl_pathv[j]))
					continue;
				if (strv_push(&fs->cat, &fs->ncat, g.gl_pathv[j])) {
					globfree(&g);
					return -ENOMEM;
				}
			}
			globfree(&g);
		}
		s->pending = true;
		return 0;
	}

	fs->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fs->ifd < 0)
		return -errno;
	err = acq_watch_fd(s, fs->ifd);
	if (err)
		return err;
	fs->last_discovery = now_ns();
	return scan(s, true);
}

static void file_stop(struct acq_src *s)
{
	struct fsrc *fs = s->priv;

	if (!fs)
		return;
	while (fs->files) {
		struct tfile *t = fs->files;

		fs->files = t->next;
		while (t->old) {
			struct fgen *g = t->old;

			t->old = g->next;
			gen_close(s, g);
		}
		gen_close(s, t->cur);
		free(t->path);
		free(t);
	}
	gen_close(s, fs->catgen);
	for (size_t i = 0; i < fs->ndirs; i++)
		free(fs->dirs[i].dir);
	free(fs->dirs);
	strv_free(fs->cat, fs->ncat);
	for (size_t i = 0; i < fs->nexcl; i++)
		pcre2_code_free(fs->excl[i]);
	free(fs->excl);
	pcre2_match_data_free(fs->md);
	if (fs->ifd >= 0)
		close(fs->ifd); /* drops every watch */
	free(fs->rbuf);
	free(fs);
	s->priv = NULL;
}

static void on_dir_event(struct acq_src *s, struct dirwatch *d, const struct inotify_event *ev)
{
	struct fsrc *fs = s->priv;
	char path[PATH_MAX];
	struct tfile *tf;

	if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
		if (ev->mask & IN_IGNORED)
			d->wd = -1; /* the timer re-adds it if the directory comes back */
		return;
	}
	if (!ev->len || (ev->mask & IN_ISDIR))
		return;
	if (snprintf(path, sizeof(path), "%s%s%s", d->dir,
		     d->dir[strlen(d->dir) - 1] == '/' ? "" : "/", ev->name) >= (int)sizeof(path))
		return;
	tf = tfile_find(fs, path);
	if (tf)
		mark(s, tf);
	else if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && matches(s, path))
		tfile_add(s, path, false); /* a new file: read it from the start */
}

static void file_event(struct acq_src *s, int fd, uint32_t events)
{
	struct fsrc *fs = s->priv;
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(fs->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;
			bool found = false;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) { /* events lost: look at everything */
				log_warn("inotify queue overflow, rescanning");
				for (struct tfile *t = fs->files; t; t = t->next)
					mark(s, t);
				scan(s, false);
				continue;
			}
			for (size_t i = 0; i < fs->ndirs && !found; i++) {
				if (fs->dirs[i].wd == ev->wd) {
					on_dir_event(s, &fs->dirs[i], ev);
					found = true;
				}
			}
			for (struct tfile *t = fs->files; t && !found; t = t->next) {
				if (t->cur && t->cur->wd == ev->wd) {
					mark(s, t);
					if (ev->mask & IN_IGNORED)
						t->cur->wd = -1;
				}
				for (struct fgen *g = t->old; g; g = g->next) {
					if (g->wd == ev->wd) {
						mark(s, t);
						if (ev->mask & IN_IGNORED)
							g->wd = -1;
					}
				}
			}
		}
	}
}

static void file_tick(struct acq_src *s)
{
	struct fsrc *fs = s->priv;
	long long every;
	bool rescan = false;

	if (s->cfg.mode == ACQ_MODE_CAT)
		return;
	for (struct tfile *t = fs->files; t; t = t->next)
		mark(s, t);
	for (size_t i = 0; i < fs->ndirs; i++) {
		if (fs->dirs[i].wd >= 0)
			continue;
		fs->dirs[i].wd = inotify_add_watch(fs->ifd, fs->dirs[i].dir, DIR_MASK);
		rescan |= fs->dirs[i].wd >= 0; /* files may have appeared meanwhile */
	}
	every = s->cfg.discovery_poll_ns ? s->cfg.discovery_poll_ns : DISCOVERY_DEFAULT_NS;
	if (s->cfg.discovery_poll && now_ns() - fs->last_discovery >= every) {
		fs->last_discovery = now_ns();
		rescan = true;
	}
	if (rescan)
		scan(s, false);
}

static int file_tail_work(struct acq_src *s, unsigned int *budget)
{
	struct fsrc *fs = s->priv;
	struct tfile **pp = &fs->files;

	while (*pp) {
		struct tfile *t = *pp, **end;
		int rc;

		if (!t->dirty) {
			pp = &t->next;
			continue;
		}
		if (!*budget)
			return 1;
		rc = tfile_work(s, t, budget);
		if (rc < 0)
			return rc;
		t->dirty = rc > 0;
		if (!t->dirty && !t->cur && !t->old) {
			/* gone and drained: forget it (rotated names would pile up);
			 * the directory watch brings it back if it reappears */
			*pp = t->next;
			free(t->path);
			free(t);
			continue;
		}
		if (!t->dirty) {
			pp = &t->next;
			continue;
		}
		/* Out of budget in this file: it goes last, so a busy file cannot
		 * keep the others waiting round after round. */
		*pp = t->next;
		for (end = pp; *end; end = &(*end)->next)
			;
		*end = t;
		t->next = NULL;
		return 1;
	}
	/* a generation still in its grace period is the timer's business */
	return 0;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && !strcmp(s + a - b, suf);
}

/* Replay: one file after the other, from the start, each to its end. */
static int file_cat_work(struct acq_src *s, unsigned int *budget)
{
	struct fsrc *fs = s->priv;
	struct tfile tf = { 0 };
	int rc = 0;

	while (*budget) {
		struct fgen *g = fs->catgen;

		if (!g) {
			if (fs->icat == fs->ncat) {
				s->done = true;
				return 0;
			}
			tf.path = fs->cat[fs->icat];
			rc = gen_open(s, tf.path, false, true, &fs->catgen);
			if (rc) {
				log_error("could not read %s: %s", tf.path, open_error(rc));
				acq_stats_of(s)->errors++;
				fs->icat++;
				if (rc == -ENOMEM)
					return rc;
				continue;
			}
			g = fs->catgen;
			log_info("reading %s at once", tf.path);
			if (has_suffix(tf.path, ".gz")) {
				g->gz = gzdopen(g->fd, "rb");
				g->gzbuf = malloc(RBUF_SIZE);
				if (!g->gz || !g->gzbuf)
					return -ENOMEM;
				gzbuffer(g->gz, 128 * 1024);
			}
		}
		tf.path = fs->cat[fs->icat];
		if (g->gz) {
			size_t used;

			if (g->gzpos == g->gzlen) {
				int r = gzread(g->gz, g->gzbuf, RBUF_SIZE);

				if (r < 0) {
					int zerr;

					log_error("%s: gzip: %s", tf.path, gzerror(g->gz, &zerr));
					acq_stats_of(s)->errors++;
				}
				g->gzpos = 0;
				g->gzlen = r > 0 ? r : 0;
				if (r > 0)
					acq_stats_of(s)->bytes += r;
				g->at_eof = r <= 0;
			}
			if (!g->at_eof) {
				rc = acq_linebuf_feed(s, &g->lb, tf.path, g->gzbuf + g->gzpos,
						      g->gzlen - g->gzpos, &used, budget);
				g->gzpos += used;
				charge_bytes(budget, used);
				if (rc)
					return rc;
				continue;
			}
		} else {
			rc = gen_drain(s, &tf, g, budget);
			if (rc)
				return rc < 0 ? rc : 1;
		}
		/* end of this file: an unterminated last line is still a line */
		rc = acq_linebuf_flush(s, &g->lb, tf.path, budget);
		gen_close(s, g);
		fs->catgen = NULL;
		fs->icat++;
		if (rc)
			return rc;
	}
	return 1;
}

static int file_work(struct acq_src *s, unsigned int *budget)
{
	return s->cfg.mode == ACQ_MODE_CAT ? file_cat_work(s, budget) : file_tail_work(s, budget);
}

ACQ_SRC_OPS(file, "file");
