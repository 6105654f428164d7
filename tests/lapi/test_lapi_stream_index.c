// SPDX-License-Identifier: MIT
/*
 * The in-memory stream index (db/stream.c) against the SQL it replaces: a
 * seeded random history of inserts (duplicates of one value with different
 * durations, simulated rows, other scopes, several origins), soft deletes by
 * filter and by id, alert deletions (index rebuilt) and the passing of time;
 * after every step the startup answer and deltas from several last pulls must
 * be the same set of (list, id, duration) from both, for the default filter,
 * simulated=true and an origins filter. Time is injected: no sleeps.
 * The snapshot a clean stop saves (cs_db_stream_save) is loaded only for the
 * same database with nothing changed or deleted since: a "kill -9" (closing
 * without saving) after appends, after an expiry, another database at the same
 * path, a torn file and one whose chain loops, each compared with SQL after the load.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/gotime.h"
#include "db/db.h"
#include "../lib/alert_fixture.h"
#include "../lib/test.h"

#define S NSEC_PER_SEC
#define T0 (1795590000LL * S)

struct seen {
	char (*v)[96];
	size_t n, cap;
};

static int seen_cb(void *ctx, bool deleted, const struct cs_decision *d)
{
	struct seen *s = ctx;

	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		void *p = realloc(s->v, nc * sizeof(*s->v));

		if (!p)
			return -ENOMEM;
		s->v = p;
		s->cap = nc;
	}
	snprintf(s->v[s->n++], sizeof(s->v[0]), "%c %lld %lld %s %s %s %s", deleted ? 'D' : 'N',
		 (long long)d->id, (long long)d->duration, d->scope, d->value, d->type, d->origin);
	return 0;
}

static size_t total[2]; /* rows compared: deleted, new */

static int cmp_line(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool same(struct seen *a, struct seen *b)
{
	if (a->n) /* an empty set has no array: qsort(NULL, 0) is undefined */
		qsort(a->v, a->n, sizeof(a->v[0]), cmp_line);
	if (b->n)
		qsort(b->v, b->n, sizeof(b->v[0]), cmp_line);
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

static unsigned rnd_state = 12345;
static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static const char *const values[] = { "198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.1.0/24",
				      "2001:db8::1", "2001:db8::/64", "198.18.0.4" };
static const char *const origins[] = { "crowdsec", "cscli", "CAPI" };

static int64_t insert_some(struct cs_db *db, int64_t now)
{
	size_t n = 1 + rnd(3);
	struct cs_alert *a = t_alert_new("test/scenario", now, n);
	int64_t id = 0;

	a->src_scope = strdup("Ip");
	a->src_value = strdup("198.18.0.1");
	a->simulated = rnd(10) == 0;
	for (size_t i = 0; i < n; i++) {
		struct cs_decision *d = &a->decisions[i];
		const char *v = values[rnd(7)];

		d->value = strdup(v);
		d->scope = strdup(rnd(12) == 0 ? "Country" : strchr(v, '/') ? "Range" : "Ip");
		d->origin = strdup(origins[rnd(3)]);
		d->type = strdup(rnd(4) ? "ban" : "captcha");
		d->scenario = strdup("test/scenario");
		d->duration = (int64_t)(1 + rnd(40)) * S + (int64_t)rnd(1000);
		d->simulated = rnd(8) == 0;
	}
	cs_db_alerts_insert(db, &a, 1, NULL, now, &id);
	cs_alert_free(a);
	return id;
}

/*
 * One alert with more decisions than the store puts in one multi-row INSERT
 * (alerts.c), so that the ids it learns without RETURNING are compared too.
 */
static int64_t insert_bulk(struct cs_db *db, int64_t now, size_t n)
{
	struct cs_alert *a = t_alert_new("test/import", now, n);
	int64_t id = 0;

	a->src_scope = strdup("Ip");
	a->src_value = strdup("198.18.0.1");
	for (size_t i = 0; i < n; i++) {
		struct cs_decision *d = &a->decisions[i];
		char v[32];

		snprintf(v, sizeof(v), "198.19.%u.%u", n > 1000 ? (unsigned)(i / 256) % 256 : rnd(4),
			 n > 1000 ? (unsigned)i % 256 : rnd(256));
		d->value = strdup(v);
		d->scope = strdup("Ip");
		d->origin = strdup("cscli");
		d->type = strdup("ban");
		d->scenario = strdup("test/import");
		d->duration = (int64_t)(1 + rnd(40)) * S;
	}
	ASSERT_OK(cs_db_alerts_insert(db, &a, 1, NULL, now, &id), "bulk insert");
	cs_alert_free(a);
	return id;
}

static void compare(struct cs_db *db, const struct cs_dfilter *f, bool startup, int64_t lp,
		    int64_t now, const char *what, int step)
{
	struct seen sql = { 0 }, mem = { 0 };
	struct cs_db_stream *st = NULL;
	int64_t stamp = 0;
	int err;
	char name[128];

	snprintf(name, sizeof(name), "%s step %d %s lp-%llds", what, step,
		 startup ? "startup" : "delta", (long long)((now - lp) / S));
	err = cs_db_decisions_stream_each(db, f, startup, lp, now, 0, seen_cb, &sql);
	if (!ASSERT_OK(err, name))
		goto out;
	err = cs_db_stream_begin(db, f, startup, lp, now, &st, &stamp);
	if (!ASSERT_OK(err, name))
		goto out;
	while ((err = cs_db_stream_next(st, 3, seen_cb, &mem)) > 0) /* small steps on purpose */
		;
	ASSERT_OK(err, name);
	ASSERT_TRUE(stamp <= now, name);
	for (size_t i = 0; i < sql.n; i++)
		total[sql.v[i][0] == 'N']++;
	if (!ASSERT_TRUE(same(&sql, &mem), name)) {
		for (size_t i = 0; i < sql.n; i++)
			fprintf(stderr, "  sql %s\n", sql.v[i]);
		for (size_t i = 0; i < mem.n; i++)
			fprintf(stderr, "  mem %s\n", mem.v[i]);
	}
out:
	cs_db_stream_end(st);
	free(sql.v);
	free(mem.v);
}

static void compare_all(struct cs_db *db, int64_t now, int step)
{
	char *scopes[] = { "Ip", "Range" }, *cscli[] = { "cscli" };
	struct cs_dfilter def = { .scopes = scopes, .n_scopes = 2, .contains = true };
	struct cs_dfilter sim = def, orig = def, ip = def, every = def;
	const int64_t lps[] = { 1 * S, 3 * S, 10 * S, 45 * S, 4000 * S };

	sim.include_simulated = true;
	orig.origins = cscli;
	orig.n_origins = 1;
	ip.n_scopes = 1;
	every.no_dedup = true;
	compare(db, &def, true, now - S, now, "default", step);
	compare(db, &every, true, now - S, now, "dedup=false", step);
	compare(db, &sim, true, now - S, now, "simulated", step);
	compare(db, &orig, true, now - S, now, "origins", step);
	compare(db, &ip, true, now - S, now, "scope Ip", step);
	for (size_t i = 0; i < sizeof(lps) / sizeof(lps[0]); i++) {
		compare(db, &def, false, now - lps[i], now, "default", step);
		compare(db, &sim, false, now - lps[i], now, "simulated", step);
		compare(db, &orig, false, now - lps[i], now, "origins", step);
		compare(db, &every, false, now - lps[i], now, "dedup=false", step);
	}
}

static void test_unsupported(struct cs_db *db)
{
	char *scopes[] = { "Ip", "Country" }, *ipr[] = { "Ip", "Range" };
	struct cs_dfilter country = { .scopes = scopes, .n_scopes = 2 };
	struct cs_dfilter ranges = { .scopes = ipr, .n_scopes = 2, .has_range = true };
	struct cs_db_stream *st = NULL;
	int64_t stamp;

	ASSERT_EQ(cs_db_stream_begin(db, &country, true, 0, T0, &st, &stamp), -EOPNOTSUPP,
		  "other scopes go to SQL");
	ASSERT_EQ(cs_db_stream_begin(db, &ranges, true, 0, T0, &st, &stamp), -EOPNOTSUPP,
		  "a range filter goes to SQL");
}

/* A write in flight (its stamp taken) holds the pulls' last_pull before it. */
static void test_stamps(struct cs_db *db, int64_t now)
{
	char *ipr[] = { "Ip", "Range" };
	struct cs_dfilter def = { .scopes = ipr, .n_scopes = 2 };
	struct cs_db_stream *st = NULL;
	int64_t stamp = 0, id;

	ASSERT_OK(cs_db_stream_begin(db, &def, false, now - S, now + 5 * S, &st, &stamp),
		  "pull");
	cs_db_stream_end(st);
	ASSERT_EQ(stamp, now + 5 * S, "stamp is now with no write in flight");
	/* an insert stamped earlier than a last_pull already handed out moves after it */
	id = insert_some(db, now);
	ASSERT_TRUE(id > 0, "insert");
	{
		struct seen mem = { 0 };

		ASSERT_OK(cs_db_stream_begin(db, &def, false, now + 5 * S, now + 6 * S, &st, &stamp),
			  "pull after");
		while (cs_db_stream_next(st, 100, seen_cb, &mem) > 0)
			;
		cs_db_stream_end(st);
		/* whatever it inserted (maybe only Country, maybe simulated) was not lost:
		 * the SQL answer from the same last_pull agrees */
		free(mem.v);
		compare(db, &def, false, now + 5 * S, now + 6 * S, "late insert", 0);
	}
}

/* Another process (cscli allowlists) expires decisions in the database itself. */
static void test_external(struct cs_db *db, const char *path, int64_t now)
{
	struct cs_dfilter all = { .include_simulated = true };
	struct cs_db *other = NULL;
	long n = 0;

	if (!ASSERT_OK(cs_db_open(path, &other), "second handle"))
		return;
	insert_some(db, now);
	ASSERT_OK(cs_db_decisions_expire(other, &all, now + S, &n), "expire from outside");
	ASSERT_TRUE(n > 0, "something expired");
	cs_db_close(other);
	compare_all(db, now + 2 * S, 1000);
}

/*
 * Commits leave the WAL to a background checkpoint (lite.c): a large commit
 * must still reach the database file, without anyone closing the handle.
 */
static void test_checkpoint(struct cs_db *db, const char *path, int64_t now)
{
	struct stat st;
	off_t before = stat(path, &st) ? 0 : st.st_size;
	bool grew = false;

	insert_bulk(db, now, 40000); /* ~10 MB of pages: far above the 1000-frame threshold */
	for (int i = 0; i < 600 && !grew; i++) { /* up to 60 s on a busy machine */
		grew = !stat(path, &st) && st.st_size >= before + (4 << 20);
		if (!grew)
			usleep(100 * 1000);
	}
	ASSERT_TRUE(grew, "the WAL is checkpointed into the database file");
}

static struct cs_db *reopen(struct cs_db *db, const char *path, bool save, bool want_snap,
			    const char *what)
{
	char name[128];

	if (save)
		ASSERT_OK(cs_db_stream_save(db), what);
	cs_db_close(db);
	if (!ASSERT_OK(cs_db_open(path, &db), what))
		return NULL;
	ASSERT_OK(cs_db_stream_load(db), what);
	snprintf(name, sizeof(name), "%s: %s", what, want_snap ? "from the snapshot" : "from SQLite");
	ASSERT_EQ(cs_db_stream_from_snapshot(db), want_snap, name);
	return db;
}

static void rm_db(const char *path)
{
	const char *sfx[] = { "", "-wal", "-shm", ".stream", ".stream.tmp" };
	char p[300];

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
}

/*
 * The snapshot's last row linked to itself (db/stream.c's layout: the header's
 * row_size at byte 8, nrows at 24; in a row, next follows three int64 and group).
 */
static int snap_loop_last_row(const char *snap)
{
	uint32_t row_size, self;
	uint64_t nrows;
	struct stat st;
	FILE *f = fopen(snap, "r+e");
	int err = 0;

	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) || fseek(f, 8, SEEK_SET) || fread(&row_size, 4, 1, f) != 1 ||
	    fseek(f, 24, SEEK_SET) || fread(&nrows, 8, 1, f) != 1 || !nrows ||
	    row_size < 32 || (uint64_t)st.st_size < row_size)
		err = -EINVAL;
	self = (uint32_t)(nrows - 1);
	if (!err && (fseek(f, st.st_size - row_size + 28, SEEK_SET) || fwrite(&self, 4, 1, f) != 1))
		err = -EIO;
	if (fclose(f) && !err)
		err = -EIO;
	return err;
}

/* On a database of its own (small: every step is compared with SQL). */
static void test_snapshot(const char *base, int64_t now)
{
	char path[300], other[320], snap[320], cmd[700];
	struct cs_db *db = NULL, *o = NULL;
	long n = 0;

	snprintf(path, sizeof(path), "%s.snap", base);
	snprintf(snap, sizeof(snap), "%s.stream", path);
	snprintf(other, sizeof(other), "%s.other", base);
	rm_db(path);
	rm_db(other);
	if (!ASSERT_OK(cs_db_open(path, &db), "snapshot database"))
		return;
	for (int i = 0; i < 40; i++)
		insert_some(db, now + i * S / 10);
	insert_bulk(db, now + 4 * S, 500);
	ASSERT_OK(cs_db_stream_load(db), "first load");
	ASSERT_EQ(cs_db_stream_from_snapshot(db), false, "no snapshot yet: from SQLite");
	db = reopen(db, path, true, true, "clean stop");
	if (!db)
		goto out;
	compare_all(db, now, 3000);
	/*
	 * Another database put in place, as long, nothing changed in it either (the same
	 * epoch): the snapshot of this one is refused (its rows read back differ).
	 */
	if (ASSERT_OK(cs_db_open(other, &o), "other database")) {
		for (int i = 0; i < 40; i++)
			insert_some(o, now + 9 * S + i * S / 10);
		insert_bulk(o, now + 9 * S, 1100); /* ids past the snapshot's */
		cs_db_close(o);
		o = NULL;
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s.stream'", snap, other);
		ASSERT_OK(system(cmd), "the snapshot beside the other database");
		if (ASSERT_OK(cs_db_open(other, &o), "reopen other")) {
			ASSERT_OK(cs_db_stream_load(o), "load other");
			ASSERT_EQ(cs_db_stream_from_snapshot(o), false, "another database: from SQLite");
			compare_all(o, now + 10 * S, 3001);
		}
		cs_db_close(o);
	}
	rm_db(other);
	insert_some(db, now + S);
	insert_bulk(db, now + S, 300);
	db = reopen(db, path, false, true, "kill -9 after appends");
	if (!db)
		goto out;
	compare_all(db, now + 2 * S, 3002);
	{
		struct cs_dfilter f = { .value = "198.19.0.1", .include_simulated = true };

		insert_bulk(db, now + 2 * S, 1100); /* 198.19.0.1 among them */
		ASSERT_OK(cs_db_decisions_expire(db, &f, now + 3 * S, &n), "expire");
		ASSERT_TRUE(n > 0, "something expired");
	}
	db = reopen(db, path, false, false, "kill -9 after an expiry");
	if (!db)
		goto out;
	compare_all(db, now + 4 * S, 3003);
	/* torn: a clean stop's snapshot cut short of its rows */
	ASSERT_OK(cs_db_stream_save(db), "save");
	snprintf(cmd, sizeof(cmd), "truncate -s -100 '%s'", snap);
	ASSERT_OK(system(cmd), "truncate");
	db = reopen(db, path, false, false, "torn snapshot");
	if (!db)
		goto out;
	compare_all(db, now + 5 * S, 3004);
	/* whole, its samples right, but its last row's chain points back to itself */
	ASSERT_OK(cs_db_stream_save(db), "save");
	{
		struct stat st;

		ASSERT_TRUE(!stat(snap, &st) && (st.st_mode & 0777) == 0600, "the snapshot is 0600");
	}
	ASSERT_OK(snap_loop_last_row(snap), "a cycle written into the snapshot");
	db = reopen(db, path, false, false, "a snapshot with a cycle");
	if (db)
		compare_all(db, now + 6 * S, 3005);
out:
	cs_db_close(db);
	rm_db(path);
}

int main(void)
{
	char path[] = "/tmp/test_stream_index.XXXXXX";
	int fd = mkstemp(path);
	struct cs_db *db = NULL;
	int64_t now = T0;

	close(fd);
	unlink(path);
	if (!ASSERT_OK(cs_db_open(path, &db), "open"))
		goto out;
	{
		struct cs_dfilter def = { 0 };
		struct cs_db_stream *st = NULL;
		int64_t stamp;
		char *ipr[] = { "Ip", "Range" };

		def.scopes = ipr;
		def.n_scopes = 2;
		ASSERT_EQ(cs_db_stream_begin(db, &def, true, 0, now, &st, &stamp), -EOPNOTSUPP,
			  "not loaded: SQL");
	}
	for (int i = 0; i < 30; i++) /* rows before the load come from SQLite */
		insert_some(db, now + i * S / 10);
	ASSERT_OK(cs_db_stream_load(db), "load");
	test_unsupported(db);
	for (int step = 0; step < 160; step++) {
		unsigned op = rnd(20);

		now += (int64_t)rnd(3000) * S / 1000;
		if (op < 12) {
			insert_some(db, now);
		} else if (op < 15) {
			struct cs_dfilter f = { .value = values[rnd(7)], .include_simulated = true };
			long n;

			cs_db_decisions_expire(db, &f, now, &n);
		} else if (op < 17) {
			cs_db_decision_expire_id(db, 1 + rnd(200), now);
		} else if (op < 18) {
			cs_db_alert_delete(db, 1 + rnd(60)); /* the index is rebuilt */
		} else if (op == 18) {
			insert_bulk(db, now, 129 + rnd(300));
		}
		compare_all(db, now, step);
	}
	/* the history exercised both lists, not just empty answers */
	ASSERT_TRUE(total[0] > 500, "deleted rows compared");
	ASSERT_TRUE(total[1] > 500, "new rows compared");
	/* a rebuild over more rows than two of the load's chunks (read and built side by side) */
	for (int i = 0; i < 3; i++)
		insert_bulk(db, now, 4000);
	ASSERT_OK(cs_db_alert_delete(db, insert_bulk(db, now, 2)), "hard delete: rebuild");
	compare_all(db, now, 1000);
	test_stamps(db, now + 100 * S);
	test_external(db, path, now + 200 * S);
	test_checkpoint(db, path, now + 300 * S);
	test_snapshot(path, now + 400 * S);
out:
	cs_db_close(db);
	rm_db(path);
	return TEST_SUMMARY();
}
