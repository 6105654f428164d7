// SPDX-License-Identifier: MIT
/*
 * The write connection's WAL written in one pwrite per commit.
 *
 * SQLite writes a WAL frame as two writes (its 24-byte header, then the page),
 * so a commit of k pages makes 2k pwrite calls, and with 4 KiB pages at the
 * 24-byte offsets every page straddles two page-cache folios: three folio
 * updates and an inode time update per frame. Small groups (1 alert per POST:
 * ~5 alerts, ~17 frames a commit) spent about 40% of the writer's CPU there.
 *
 * This VFS wraps the default one. Files other than the WAL, and a WAL without
 * powersafe overwrite (see walbuf_powersafe), are the default VFS's own
 * objects (opened in place, untouched). Writes to the WAL are
 * gathered while they are contiguous and written out at once:
 *  - when the page after a commit frame's header is written (the header's
 *    second word, the database size after the commit, is nonzero only on the
 *    commit frame): SQLite publishes the commit in the wal-index only after
 *    its frame writes returned, so anyone who sees the commit reads frames
 *    that are in the file. Durability is the default VFS's: a commit is in the
 *    kernel's page cache when SQLite returns (kill -9 loses nothing
 *    acknowledged), and on disk after xSync as before;
 *  - before anything else touches the file (a read, sync, size, truncate,
 *    file control), when a write is not contiguous, and past WALBUF_MAX bytes.
 * Frames still gathered when their transaction rolls back (its spill, up to
 * WALBUF_MAX) are dropped, never written: see lite_walbuf_discard().
 * A failed write-out is the failing write's error: the commit fails as it
 * would have on a failed pwrite.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_int.h"

#define WALBUF_NAME "cs-walbuf"
#define WALBUF_MAX (1 << 20) /* bytes gathered at most (a bulk transaction's spill) */
#define WAL_FRAME_HDR 24
/* the unix VFS masks a write's length to 17 bits: larger ones go in pieces */
#define WALBUF_WRITE_MAX (124 * 1024)

struct walbuf_file {
	sqlite3_file base; /* methods: walbuf_io */
	sqlite3_file *real;
	unsigned char *buf;
	size_t len, cap;
	sqlite3_int64 start;  /* file offset of buf[0] */
	/* where the page of the commit frame whose header was written last goes, 0: none */
	sqlite3_int64 commit_page;
};

static sqlite3_vfs walbuf_vfs;
static sqlite3_vfs *real_vfs;
static pthread_once_t walbuf_once = PTHREAD_ONCE_INIT;
static int walbuf_registered;

#define WF(f) ((struct walbuf_file *)(f))

static int walbuf_flush(struct walbuf_file *w)
{
	int rc = SQLITE_OK;

	for (size_t done = 0, k; rc == SQLITE_OK && done < w->len; done += k) {
		k = w->len - done < WALBUF_WRITE_MAX ? w->len - done : WALBUF_WRITE_MAX;
		rc = w->real->pMethods->xWrite(w->real, w->buf + done, (int)k,
					       w->start + (sqlite3_int64)done);
	}
	w->len = 0;
	return rc;
}

/*
 * What is still gathered when SQLite closes the WAL is never a commit (a
 * commit is written out with its page) but the spill of a transaction that
 * the close rolled back, which the rollback hook does not see: dropped, for
 * the reason lite_walbuf_discard() gives.
 */
static int walbuf_close(sqlite3_file *f)
{
	struct walbuf_file *w = WF(f);
	int rc = w->real->pMethods->xClose(w->real);

	w->len = 0;
	free(w->buf);
	w->buf = NULL;
	w->cap = 0;
	return rc;
}

static int walbuf_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	struct walbuf_file *w = WF(f);
	int rc = walbuf_flush(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xRead(w->real, p, n, off);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int walbuf_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	struct walbuf_file *w = WF(f);
	bool ends_commit = w->commit_page && off == w->commit_page;
	bool commit_hdr = n == WAL_FRAME_HDR && be32((const unsigned char *)p + 4) != 0;
	bool append = w->len && off == w->start + (sqlite3_int64)w->len;
	int rc = SQLITE_OK;

	w->commit_page = 0;
	if (w->len && (!append || w->len + (size_t)n > WALBUF_MAX))
		rc = walbuf_flush(w);
	if (rc != SQLITE_OK)
		return rc;
	/*
	 * A commit frame's header is gathered only behind the frames it follows,
	 * where its page comes next and writes them all out. Written alone, it is
	 * the checksum rewrite that ends a transaction which overwrote its own
	 * frames (read, then header): nothing follows it, so it goes at once; or
	 * the first frame of a commit of one page, which then follows it. The
	 * page's offset, not a flag, says what ends the commit: after the
	 * checksum rewrite's lone header, the next write is elsewhere.
	 */
	w->commit_page = commit_hdr ? off + WAL_FRAME_HDR : 0;
	if ((commit_hdr && !append) || (size_t)n > WALBUF_WRITE_MAX)
		return walbuf_flush(w) ?: w->real->pMethods->xWrite(w->real, p, n, off);
	if (w->cap < w->len + (size_t)n) {
		size_t cap = w->cap ? w->cap : 64 * 1024;
		unsigned char *b;

		while (cap < w->len + (size_t)n)
			cap *= 2;
		b = realloc(w->buf, cap);
		if (!b) { /* no room to gather: write through */
			rc = walbuf_flush(w);
			return rc != SQLITE_OK ? rc : w->real->pMethods->xWrite(w->real, p, n, off);
		}
		w->buf = b;
		w->cap = cap;
	}
	if (!w->len)
		w->start = off;
	memcpy(w->buf + w->len, p, (size_t)n);
	w->len += (size_t)n;
	return ends_commit ? walbuf_flush(w) : SQLITE_OK;
}

static int walbuf_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct walbuf_file *w = WF(f);
	int rc = walbuf_flush(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int walbuf_sync(sqlite3_file *f, int flags)
{
	struct walbuf_file *w = WF(f);
	int rc = walbuf_flush(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xSync(w->real, flags);
}

static int walbuf_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct walbuf_file *w = WF(f);
	int rc = walbuf_flush(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

static int walbuf_lock(sqlite3_file *f, int lock)
{
	return WF(f)->real->pMethods->xLock(WF(f)->real, lock);
}

static int walbuf_unlock(sqlite3_file *f, int lock)
{
	return WF(f)->real->pMethods->xUnlock(WF(f)->real, lock);
}

static int walbuf_check_lock(sqlite3_file *f, int *out)
{
	return WF(f)->real->pMethods->xCheckReservedLock(WF(f)->real, out);
}

static int walbuf_fcntl(sqlite3_file *f, int op, void *arg)
{
	struct walbuf_file *w = WF(f);
	int rc = walbuf_flush(w);

	return rc != SQLITE_OK ? rc : w->real->pMethods->xFileControl(w->real, op, arg);
}

static int walbuf_sector(sqlite3_file *f)
{
	return WF(f)->real->pMethods->xSectorSize(WF(f)->real);
}

static int walbuf_caps(sqlite3_file *f)
{
	return WF(f)->real->pMethods->xDeviceCharacteristics(WF(f)->real);
}

/* version 1: SQLite asks a WAL file for no shared memory and no mapping */
static const sqlite3_io_methods walbuf_io = {
	.iVersion = 1,
	.xClose = walbuf_close,
	.xRead = walbuf_read,
	.xWrite = walbuf_write,
	.xTruncate = walbuf_truncate,
	.xSync = walbuf_sync,
	.xFileSize = walbuf_size,
	.xLock = walbuf_lock,
	.xUnlock = walbuf_unlock,
	.xCheckReservedLock = walbuf_check_lock,
	.xFileControl = walbuf_fcntl,
	.xSectorSize = walbuf_sector,
	.xDeviceCharacteristics = walbuf_caps,
};

/*
 * Without powersafe overwrite (a "psow=0" URI), synchronous=FULL pads a
 * commit to a sector boundary and splits the write that crosses it: its first
 * part, a sync, the rest. That rest is neither a commit frame's header nor its
 * page, so it would stay gathered after COMMIT released the write lock: other
 * connections would read a short WAL and write where it goes. Such a WAL is
 * left unwrapped. SQLite decides the padding from the database file's
 * characteristics when it opens the WAL (the WAL file's own do not carry the
 * URI's psow), so they are asked here.
 */
static bool walbuf_powersafe(const char *wal_name)
{
	sqlite3_file *db = wal_name ? sqlite3_database_file_object(wal_name) : NULL;

	return db && db->pMethods &&
	       db->pMethods->xDeviceCharacteristics(db) & SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}

static int walbuf_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *oflags)
{
	struct walbuf_file *w = WF(f);
	int rc;

	(void)vfs;
	/* the default VFS's object, in our larger slot */
	if (!(flags & SQLITE_OPEN_WAL) || !walbuf_powersafe(name))
		return real_vfs->xOpen(real_vfs, name, f, flags, oflags);
	memset(w, 0, sizeof(*w));
	w->real = (sqlite3_file *)(w + 1);
	rc = real_vfs->xOpen(real_vfs, name, w->real, flags, oflags);
	/* SQLite calls xClose only when pMethods is set: not after a failed open */
	w->base.pMethods = rc == SQLITE_OK ? &walbuf_io : NULL;
	return rc;
}

static int walbuf_delete(sqlite3_vfs *v, const char *name, int sync)
{
	(void)v;
	return real_vfs->xDelete(real_vfs, name, sync);
}

static int walbuf_access(sqlite3_vfs *v, const char *name, int what, int *out)
{
	(void)v;
	return real_vfs->xAccess(real_vfs, name, what, out);
}

static int walbuf_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *walbuf_dlopen(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return real_vfs->xDlOpen(real_vfs, name);
}

static void walbuf_dlerror(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	real_vfs->xDlError(real_vfs, n, out);
}

static void (*walbuf_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return real_vfs->xDlSym(real_vfs, h, sym);
}

static void walbuf_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
	real_vfs->xDlClose(real_vfs, h);
}

static int walbuf_random(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return real_vfs->xRandomness(real_vfs, n, out);
}

static int walbuf_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return real_vfs->xSleep(real_vfs, us);
}

static int walbuf_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return real_vfs->xCurrentTime(real_vfs, out);
}

static int walbuf_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return real_vfs->xGetLastError(real_vfs, n, out);
}

static int walbuf_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static void walbuf_register(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	if (!real_vfs || real_vfs->iVersion < 2 || !real_vfs->xCurrentTimeInt64)
		return;
	walbuf_vfs = (sqlite3_vfs){
		.iVersion = 2,
		/* the default VFS's file, or ours with the default's behind it */
		.szOsFile = (int)sizeof(struct walbuf_file) + real_vfs->szOsFile,
		.mxPathname = real_vfs->mxPathname,
		.zName = WALBUF_NAME,
		.xOpen = walbuf_open,
		.xDelete = walbuf_delete,
		.xAccess = walbuf_access,
		.xFullPathname = walbuf_fullpath,
		.xDlOpen = walbuf_dlopen,
		.xDlError = walbuf_dlerror,
		.xDlSym = walbuf_dlsym,
		.xDlClose = walbuf_dlclose,
		.xRandomness = walbuf_random,
		.xSleep = walbuf_sleep,
		.xCurrentTime = walbuf_time,
		.xGetLastError = walbuf_last_error,
		.xCurrentTimeInt64 = walbuf_time64,
	};
	walbuf_registered = sqlite3_vfs_register(&walbuf_vfs, 0) == SQLITE_OK;
}

const char *lite_walbuf_vfs(void)
{
	pthread_once(&walbuf_once, walbuf_register);
	return walbuf_registered ? WALBUF_NAME : NULL;
}

/*
 * The frames a rolled-back transaction spilled and that are still gathered
 * are dead, and once SQLite released the WAL write lock, their offsets are
 * the next writer's (cscli, the sqlite3 tool, another LAPI): writing them out
 * at the next read would overwrite its committed frames. Dropped here, from
 * the rollback hook: it runs for every end of a write transaction other than
 * a commit (ROLLBACK, the implicit one of an error or a failed COMMIT) except
 * the close's, which walbuf_close() drops. Between the lock's release and
 * the hook, SQLite only re-reads page 1, which the b-tree holds in its cache
 * through a transaction: nothing reaches the WAL file. A savepoint's rollback
 * keeps the lock: the frames after it are overwritten under it, as without us.
 * Dropping where the database file's xShmLock releases the write lock would
 * cover the same ends without the hook, but needs this VFS to wrap the
 * database file too and to find a database's WAL file: more to get wrong
 * for no end the hook misses.
 */
void lite_walbuf_discard(sqlite3 *h)
{
	sqlite3_file *f = NULL;

	/* answered by SQLite itself: our xFileControl (which writes out) is not called */
	if (sqlite3_file_control(h, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) == SQLITE_OK && f &&
	    f->pMethods == &walbuf_io)
		WF(f)->len = 0;
}
