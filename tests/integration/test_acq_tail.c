// SPDX-License-Identifier: MIT
/*
 * Live tail -F scenarios against real files in a temp dir, driven through the
 * public API exactly as the daemon would (poll acq_fd(), acq_process() with a
 * small budget). Every line carries a unique id; each scenario waits (bounded)
 * until the expected number of lines arrived, keeps pumping a little to catch
 * duplicates, then checks that every id was seen exactly once and nothing else
 * was delivered. No assertion depends on timing.
 */
#include "acquisition/acq.h"
#include "common/log.h"
#include "../lib/test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ID 16384
#define WAIT_MS 15000
#define SETTLE_MS 300

static char root[] = "/tmp/test_acq_tail_XXXXXX";

struct seen {
	unsigned char count[MAX_ID];
	int total, bad, truncated;
	const char *suffix; /* every line is "L %06d <suffix>" */
	char badline[128];
};

static int on_line(const struct acq_line *l, void *arg)
{
	struct seen *s = arg;
	char want[128];
	int id = -1;

	s->total++;
	if (l->truncated) {
		s->truncated++;
		return 0;
	}
	if (l->len > 9 && !strncmp(l->raw, "L ", 2))
		id = atoi(l->raw + 2);
	snprintf(want, sizeof(want), "L %06d %s", id, s->suffix);
	if (id < 0 || id >= MAX_ID || strlen(want) != l->len || memcmp(want, l->raw, l->len) ||
	    strcmp(l->module, "file") || !l->type || strcmp(l->type, "test") || l->timemachine) {
		if (!s->bad)
			snprintf(s->badline, sizeof(s->badline), "%.*s", (int)l->len, l->raw);
		s->bad++;
		return 0;
	}
	if (s->count[id] < 255)
		s->count[id]++;
	return 0;
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Pump until `want` lines arrived (or WAIT_MS), then SETTLE_MS more. */
static void pump(struct acq *a, struct seen *s, int want)
{
	struct pollfd pfd = { .fd = acq_fd(a), .events = POLLIN };
	long long end = ms_now() + WAIT_MS;
	bool settling = false;

	for (;;) {
		if (!settling && s->total >= want) {
			settling = true;
			end = ms_now() + SETTLE_MS;
		}
		if (ms_now() >= end)
			return;
		if (poll(&pfd, 1, 20) > 0)
			acq_process(a, 64); /* small budget: exercises resumption */
	}
}

/* Every id in [0, n) exactly once, nothing else. */
static void check_exact(struct seen *s, int n, const char *what)
{
	int missing = 0, dup = 0;
	char name[160];

	for (int i = 0; i < MAX_ID; i++) {
		if (i < n && s->count[i] == 0)
			missing++;
		if (s->count[i] > 1 || (i >= n && s->count[i]))
			dup++;
	}
	snprintf(name, sizeof(name), "%s: lines lost", what);
	ASSERT_EQ(missing, 0, name);
	snprintf(name, sizeof(name), "%s: lines read twice or unexpected", what);
	ASSERT_EQ(dup, 0, name);
	snprintf(name, sizeof(name), "%s: foreign lines (first: '%s')", what, s->badline);
	ASSERT_EQ(s->bad, 0, name);
	snprintf(name, sizeof(name), "%s: total", what);
	ASSERT_EQ(s->total, n, name);
}

/* Pump until n lines arrived, check them (what), and give the source's counters. */
static struct acq_stats expect_lines(struct acq *a, struct seen *s, int n, const char *what)
{
	struct acq_stats st;

	pump(a, s, n);
	check_exact(s, n, what);
	acq_get_stats(a, &st);
	return st;
}

static void path_of(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s/%s", root, dir, name);
}

static int open_log(const char *dir, const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, dir);
	mkdir(p, 0755);
	path_of(p, sizeof(p), dir, name);
	return open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

static void put(int fd, struct seen *s, int from, int to)
{
	char buf[64];

	for (int i = from; i < to; i++) {
		int n = snprintf(buf, sizeof(buf), "L %06d %s\n", i, s->suffix);

		if (write(fd, buf, n) != n) {
			perror("write");
			return;
		}
	}
}

/* acquis.yaml text for this scenario's directory; `extra` goes last. */
static struct acq *start(const char *dir, const char *pattern, const char *extra, struct seen *s)
{
	struct acq_config cfg = { 0 };
	struct acq *a = NULL;
	char yaml[1024], err[256], d[512];

	snprintf(d, sizeof(d), "%s/%s", root, dir);
	mkdir(d, 0755);
	snprintf(yaml, sizeof(yaml),
		 "source: file\nfilenames:\n  - %s/%s\nlabels:\n  type: test\n%s", d, pattern,
		 extra ? extra : "");
	if (!ASSERT_OK(acq_config_load_buf(&cfg, "test.yaml", yaml, strlen(yaml), err, sizeof(err)),
		       err))
		return NULL;
	if (!ASSERT_OK(acq_new(&cfg, on_line, s, &a), "acq_new"))
		a = NULL;
	acq_config_free(&cfg);
	return a;
}

/* Existing content is skipped; an unfinished last line is delivered whole. */
static void test_start_at_end(void)
{
	struct seen s = { .suffix = "begun" };
	struct acq *a;
	int fd = open_log("start", "app.log");
	const char *pre = "old line one\nold line two\nL 000000 beg";

	if (write(fd, pre, strlen(pre)) < 0)
		perror("write");
	a = start("start", "app.log", NULL, &s);
	if (!a)
		goto out;
	if (write(fd, "un\n", 3) < 0)
		perror("write");
	put(fd, &s, 1, 1000);
	ASSERT_EQ(expect_lines(a, &s, 1000, "start at end").files_opened, 1, "one file opened");
out:
	acq_free(a);
	close(fd);
}

/* logrotate's default: rename, create; the writer reopens late. */
static void test_rename(const char *dir, const char *extra)
{
	struct seen s = { .suffix = "rotation by rename" };
	char p[512], p1[512], name[64];
	struct acq *a;
	int w1 = open_log(dir, "app.log"), w2;

	a = start(dir, "app.log", extra, &s);
	if (!a)
		goto out;
	put(w1, &s, 0, 500);
	pump(a, &s, 500);
	put(w1, &s, 500, 600); /* not read yet when the rename happens */
	path_of(p, sizeof(p), dir, "app.log");
	path_of(p1, sizeof(p1), dir, "app.log.1");
	rename(p, p1);
	put(w1, &s, 600, 700); /* the writer still has the old file */
	w2 = open_log(dir, "app.log");
	put(w2, &s, 700, 1000);
	put(w1, &s, 1000, 1100); /* ...and still writes to it */
	snprintf(name, sizeof(name), "rename (%s)", extra ? "poll" : "inotify");
	ASSERT_EQ(expect_lines(a, &s, 1100, name).rotations, 1, "one rotation");
	close(w2);
out:
	acq_free(a);
	close(w1);
}

/* copytruncate: the same inode shrinks; once smaller, once refilled past the old size. */
static void test_copytruncate(void)
{
	struct seen s = { .suffix = "copytruncate" };
	struct acq *a;
	int w = open_log("trunc", "app.log");

	a = start("trunc", "app.log", NULL, &s);
	if (!a)
		goto out;
	put(w, &s, 0, 300);
	pump(a, &s, 300);
	if (ftruncate(w, 0))
		perror("ftruncate");
	put(w, &s, 300, 350); /* smaller than before: size < offset */
	pump(a, &s, 350);
	if (ftruncate(w, 0))
		perror("ftruncate");
	put(w, &s, 350, 1350); /* bigger than before: caught by the content check */
	ASSERT_EQ(expect_lines(a, &s, 1350, "copytruncate").truncations, 2, "two truncations");
out:
	acq_free(a);
	close(w);
}

/* Files that appear later and match the glob, and some that don't. */
static void test_late_glob(void)
{
	struct seen s = { .suffix = "late" };
	char p[512], q[512];
	struct acq *a;
	int wa = open_log("glob", "a.log"), wb, wc, we, wx;

	a = start("glob", "*.log", "exclude_regexps: ['\\.skip\\.log$']\n", &s);
	if (!a)
		goto out;
	put(wa, &s, 0, 100);
	wx = open_log("glob", "x.skip.log"); /* matches the glob, but excluded */
	put(wx, &s, 3100, 3200);
	close(wx);
	wb = open_log("glob", "b.log"); /* written before we can notice: read from 0 */
	put(wb, &s, 100, 200);
	wc = open_log("glob", "c.txt"); /* does not match */
	put(wc, &s, 3000, 3100);
	path_of(p, sizeof(p), "glob", "d.log");
	mkdir(p, 0755); /* a directory that matches: ignored */
	we = open_log("glob", "e.tmp"); /* renamed into a matching name */
	put(we, &s, 200, 300);
	path_of(p, sizeof(p), "glob", "e.tmp");
	path_of(q, sizeof(q), "glob", "e.log");
	rename(p, q);
	expect_lines(a, &s, 300, "late glob files");
	close(wb);
	close(wc);
	close(we);
	acq_free(a);

	/* A pattern whose directory does not exist yet: the timer retries it. */
	memset(&s, 0, sizeof(s));
	s.suffix = "late dir";
	a = start("glob2", "sub/*.log", NULL, &s);
	if (!a)
		goto out;
	path_of(p, sizeof(p), "glob2", "sub");
	mkdir(p, 0755);
	wx = open_log("glob2/sub", "x.log");
	put(wx, &s, 0, 50);
	expect_lines(a, &s, 50, "directory created later");
	close(wx);
out:
	acq_free(a);
	close(wa);
}

/* A line written in two pieces, with processing in between, is one line. */
static void test_partial(void)
{
	struct seen s = { .suffix = "partial-line" };
	struct acq *a;
	char buf[64];
	int w = open_log("partial", "app.log");

	a = start("partial", "app.log", NULL, &s);
	if (!a)
		goto out;
	for (int i = 0; i < 200; i++) {
		int n = snprintf(buf, sizeof(buf), "L %06d partial-line\n", i), cut = 1 + i % (n - 1);
		struct pollfd pfd = { .fd = acq_fd(a), .events = POLLIN };

		if (write(w, buf, cut) != cut)
			perror("write");
		if (poll(&pfd, 1, 5) > 0) /* let it see the fragment, sometimes */
			acq_process(a, 0);
		if (write(w, buf + cut, n - cut) != n - cut)
			perror("write");
	}
	expect_lines(a, &s, 200, "partial lines");
out:
	acq_free(a);
	close(w);
}

/* Deleted while the writer still has it open, then recreated. */
static void test_delete_recreate(void)
{
	struct seen s = { .suffix = "delete and recreate" };
	char p[512];
	struct acq *a;
	int w1 = open_log("del", "app.log"), w2 = -1;

	a = start("del", "app.log", NULL, &s);
	if (!a)
		goto out;
	put(w1, &s, 0, 100);
	pump(a, &s, 100);
	path_of(p, sizeof(p), "del", "app.log");
	unlink(p);
	put(w1, &s, 100, 150); /* into the deleted inode */
	pump(a, &s, 150);
	w2 = open_log("del", "app.log");
	put(w2, &s, 150, 250);
	put(w1, &s, 250, 260);
	pump(a, &s, 260);
	/* and once more, without letting it look in between */
	close(w2);
	unlink(p);
	w2 = open_log("del", "app.log");
	put(w2, &s, 260, 400);
	expect_lines(a, &s, 400, "delete + recreate");
out:
	acq_free(a);
	close(w1);
	if (w2 >= 0)
		close(w2);
}

/* Over-long lines in tail mode are cut once and counted; what follows is intact. */
static void test_long_lines(void)
{
	struct seen s = { .suffix = "after long" };
	size_t big = 200 * 1024;
	char *line = malloc(big + 1);
	struct acq *a;
	int w = open_log("long", "app.log");

	a = start("long", "app.log", "max_buffer_size: 65536\n", &s);
	if (!a || !line)
		goto out;
	memset(line, 'x', big);
	line[big] = '\n';
	put(w, &s, 0, 10);
	if (write(w, line, big + 1) != (ssize_t)big + 1)
		perror("write");
	put(w, &s, 10, 20);
	pump(a, &s, 21);
	ASSERT_EQ(s.truncated, 1, "one truncated line");
	s.total -= s.truncated;
	check_exact(&s, 20, "long lines");
out:
	free(line);
	acq_free(a);
	close(w);
}

/*
 * A writer process rotating like logrotate (rotate 2: .1 -> .2, app.log -> .1,
 * new app.log, oldest deleted) while it keeps writing, and we read concurrently.
 * Each rotation waits until we have seen every line so far (so no file is deleted
 * unread), but the writes themselves race with our reads. With "app.log*" the
 * rotated names match too: the moved file must be carried on, not read again.
 */
#define ROUNDS 6
#define PER_ROUND 2000

static void writer(const char *dir, struct seen *s, int ack)
{
	char p0[512], p1[512], p2[512];
	int w = open_log(dir, "app.log");

	path_of(p0, sizeof(p0), dir, "app.log");
	path_of(p1, sizeof(p1), dir, "app.log.1");
	path_of(p2, sizeof(p2), dir, "app.log.2");
	for (int r = 0, base = 0; r < ROUNDS; r++, base += PER_ROUND) {
		char c;

		put(w, s, base, base + PER_ROUND / 2);
		unlink(p2);
		rename(p1, p2);
		rename(p0, p1);
		put(w, s, base + PER_ROUND / 2, base + 3 * PER_ROUND / 4);
		close(w);
		w = open_log(dir, "app.log");
		put(w, s, base + 3 * PER_ROUND / 4, base + PER_ROUND);
		if (read(ack, &c, 1) != 1)
			break;
	}
	close(w);
}

static void test_logrotate_race(const char *dir, const char *pattern)
{
	struct seen s = { .suffix = "logrotate with a live writer" };
	struct acq *a;
	int ack[2], status, r = 0;
	long long end = ms_now() + 30000;
	char name[96];
	pid_t pid;

	close(open_log(dir, "app.log"));
	if (pipe(ack))
		return;
	/* fork before acq exists: the child must not share (or free) its watches */
	pid = fork();
	if (pid == 0) {
		char c;

		close(ack[1]);
		if (read(ack[0], &c, 1) == 1) /* go */
			writer(dir, &s, ack[0]);
		_exit(0);
	}
	close(ack[0]);
	a = start(dir, pattern, NULL, &s);
	if (!a || write(ack[1], "g", 1) != 1) {
		close(ack[1]);
		waitpid(pid, &status, 0);
		goto out;
	}
	while (r < ROUNDS && ms_now() < end) {
		struct pollfd pfd = { .fd = acq_fd(a), .events = POLLIN };

		if (poll(&pfd, 1, 20) > 0)
			acq_process(a, 64);
		if (s.total >= (r + 1) * PER_ROUND) {
			if (write(ack[1], "k", 1) != 1)
				break;
			r++;
		}
	}
	close(ack[1]);
	waitpid(pid, &status, 0);
	pump(a, &s, ROUNDS * PER_ROUND);
	snprintf(name, sizeof(name), "logrotate race, pattern %s", pattern);
	check_exact(&s, ROUNDS * PER_ROUND, name);
out:
	acq_free(a);
}

/*
 * Only regular files are read. A FIFO named like a log once blocked the open
 * (and the whole detector), a link to /dev/zero spun forever; both, at start and
 * appearing later, are refused while the real log beside them is read. A hang
 * here is ended by the alarm set in main().
 */
static void test_not_regular(void)
{
	struct seen s = { .suffix = "beside a fifo" };
	struct acq_stats st;
	char p[512], q[512];
	struct acq *a;
	int w = open_log("special", "real.log");

	path_of(p, sizeof(p), "special", "fifo.log");
	ASSERT_OK(mkfifo(p, 0644), "mkfifo");
	path_of(p, sizeof(p), "special", "zero.log");
	ASSERT_OK(symlink("/dev/zero", p), "symlink to /dev/zero");
	a = start("special", "*.log", NULL, &s);
	if (!a)
		goto out;
	acq_get_stats(a, &st);
	ASSERT_EQ(st.files_opened, 1, "only the regular file opened at start");
	ASSERT_EQ(st.errors, 2, "fifo and device refused at start");
	path_of(p, sizeof(p), "special", "late-fifo.log");
	ASSERT_OK(mkfifo(p, 0644), "late mkfifo");
	path_of(p, sizeof(p), "special", "late-zero.log");
	ASSERT_OK(symlink("/dev/zero", p), "late symlink to /dev/zero");
	put(w, &s, 0, 500);
	st = expect_lines(a, &s, 500, "fifo and /dev/zero beside the log");
	ASSERT_EQ(st.files_opened, 1, "fifo and device never opened");

	/* 8 MiB of NULs (sparse, no newline) renamed in: read from 0, but one
	 * acq_process() call with a small budget reads only a bounded part */
	path_of(q, sizeof(q), "special", "nuls.tmp");
	path_of(p, sizeof(p), "special", "nuls.log");
	{
		int fd = open(q, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		ASSERT_TRUE(fd >= 0 && !ftruncate(fd, 8 << 20), "sparse file");
		if (fd >= 0)
			close(fd);
	}
	acq_get_stats(a, &st);
	{
		struct pollfd pfd = { .fd = acq_fd(a), .events = POLLIN };
		uint64_t before = st.bytes;
		long long end = ms_now() + WAIT_MS;

		ASSERT_OK(rename(q, p), "rename the NUL file in");
		while (st.bytes == before && ms_now() < end) {
			if (poll(&pfd, 1, 20) > 0)
				acq_process(a, 4);
			acq_get_stats(a, &st);
		}
		ASSERT_TRUE(st.bytes > before, "NUL file read");
		ASSERT_TRUE(st.bytes - before <= 256 * 1024, "one round reads a bounded amount");
		/* and the rest still arrives, round after round */
		while (st.bytes - before < (8 << 20) && ms_now() < end) {
			if (poll(&pfd, 1, 20) > 0)
				acq_process(a, 64);
			acq_get_stats(a, &st);
		}
		ASSERT_EQ(st.bytes - before, 8 << 20, "all of the NUL file read");
	}
out:
	acq_free(a);
	close(w);
}

int main(void)
{
	log_set_level(LOG_LVL_ERROR);
	if (t_scratch_dir(root))
		return 1;
	test_start_at_end();
	test_rename("rename", NULL);
	test_rename("rename-poll", "poll_without_inotify: true\n");
	test_copytruncate();
	test_late_glob();
	test_partial();
	test_delete_recreate();
	test_long_lines();
	alarm(60); /* before the fix the next one hung in open() or spun */
	test_not_regular();
	alarm(0);
	test_logrotate_race("race1", "app.log");
	test_logrotate_race("race2", "app.log*");
	return TEST_SUMMARY();
}
