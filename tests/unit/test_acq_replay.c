// SPDX-License-Identifier: MIT
/*
 * One-shot replay, as `crowdsec -dsn file:///x.log -type nginx` runs it: from the
 * start, in order, CRLF and empty lines handled like bufio.ScanLines, a NUL byte
 * ending its line, over-long lines cut and counted, gzip, end of input signalled;
 * and the journalctl source against a stand-in journalctl script.
 */
#include "acquisition/acq.h"
#include "common/log.h"
#include "../lib/test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct got {
	char *raw[64];
	size_t len[64];
	bool trunc[64];
	size_t n;
	bool bad_meta;
	const char *want_src, *want_module, *want_type;
	int stop_after; /* return -EAGAIN once this many lines arrived (0: never) */
	bool live;	/* lines must not be flagged time machine */
};

static int collect(const struct acq_line *l, void *arg)
{
	struct got *g = arg;

	if (g->n < 64) {
		g->raw[g->n] = malloc(l->len + 1);
		memcpy(g->raw[g->n], l->raw, l->len + 1);
		g->len[g->n] = l->len;
		g->trunc[g->n] = l->truncated;
	}
	g->n++;
	if ((g->want_src && strcmp(l->src, g->want_src)) || strcmp(l->module, g->want_module) ||
	    !l->type || strcmp(l->type, g->want_type) || l->timemachine == g->live || l->raw[l->len] ||
	    !l->time.tv_sec)
		g->bad_meta = true;
	if (g->stop_after && g->n % g->stop_after == 0)
		return -EAGAIN;
	return 0;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n && i < 64; i++)
		free(g->raw[i]);
	memset(g->raw, 0, sizeof(g->raw));
	g->n = 0;
}

static char dir[] = "/tmp/test_acq_replay_XXXXXX";

static void write_file(const char *name, const void *data, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fwrite(data, 1, len, f);
	fclose(f);
}

static int replay(const char *dsn, struct got *g, struct acq_stats *st)
{
	struct acq_config cfg = { 0 };
	struct acq *a = NULL;
	char err[256];
	int rc;

	rc = acq_config_from_dsn(&cfg, dsn, "nginx", NULL, 0, err, sizeof(err));
	if (rc)
		return rc;
	rc = acq_new(&cfg, collect, g, &a);
	acq_config_free(&cfg);
	if (rc)
		return rc;
	rc = acq_run(a, 10000);
	if (st)
		acq_get_stats(a, st);
	acq_free(a);
	return rc;
}

/* 250 x's, then a normal line */
static const char content[] = "first\n\nsecond\r\nnul\0inside\n\r\n"
			      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
			      "after long\nlast without newline";

static void check_content(struct got *g, const char *what)
{
	if (!ASSERT_EQ(g->n, 6, what))
		return;
	ASSERT_STREQ(g->raw[0], "first", what);
	ASSERT_STREQ(g->raw[1], "second", "CR before LF dropped");
	ASSERT_EQ(g->len[2], 3, "a NUL ends the line (log injection)");
	ASSERT_STREQ(g->raw[2], "nul", "the bytes before the NUL");
	ASSERT_EQ(g->len[3], 100, "long line cut at max_buffer_size");
	ASSERT_TRUE(g->trunc[3] && !g->trunc[4], "only the long line is flagged");
	ASSERT_STREQ(g->raw[4], "after long", "line after the long one intact");
	ASSERT_STREQ(g->raw[5], "last without newline", "unterminated last line delivered");
	ASSERT_TRUE(!g->bad_meta, "src, module, type, time machine");
}

static void test_plain(void)
{
	struct got g = { .want_module = "file", .want_type = "nginx" };
	struct acq_stats st;
	char dsn[300], src[256];

	write_file("a.log", content, sizeof(content) - 1);
	snprintf(src, sizeof(src), "%s/a.log", dir);
	snprintf(dsn, sizeof(dsn), "file://%s?max_buffer_size=100", src);
	g.want_src = src;
	ASSERT_OK(replay(dsn, &g, &st), "replay a.log");
	check_content(&g, "plain: 6 lines");
	ASSERT_EQ(st.truncated, 1, "one truncation counted");
	ASSERT_EQ(st.nul_cut, 1, "one NUL cut counted");
	ASSERT_EQ(st.empty, 2, "two empty lines skipped");
	ASSERT_EQ(st.lines, 6, "lines stat");
	got_free(&g);
}

static void test_gzip(void)
{
	struct got g = { .want_module = "file", .want_type = "nginx" };
	char path[256], dsn[300];
	gzFile z;

	snprintf(path, sizeof(path), "%s/b.log.gz", dir);
	z = gzopen(path, "wb");
	gzwrite(z, content, sizeof(content) - 1);
	gzclose(z);
	snprintf(dsn, sizeof(dsn), "file://%s?max_buffer_size=100", path);
	g.want_src = path;
	ASSERT_OK(replay(dsn, &g, NULL), "replay b.log.gz");
	check_content(&g, "gzip: 6 lines");
	got_free(&g);
}

/* acquis.yaml in cat mode; a source we don't run is skipped, not fatal. */
static void test_yaml_cat(void)
{
	struct got g = { .want_module = "file", .want_type = "nginx" };
	struct acq_config cfg = { 0 };
	struct acq *a = NULL;
	char yaml[512], err[256], src[256];
	int rc;

	write_file("c.log", "one\ntwo\n", 8);
	snprintf(src, sizeof(src), "%s/c.log", dir);
	snprintf(yaml, sizeof(yaml),
		 "source: docker\ncontainer_name: [x]\nlabels: {type: nginx}\n---\n"
		 "filename: %s\nmode: cat\nlabels: {type: nginx}\n", src);
	if (!ASSERT_OK(acq_config_load_buf(&cfg, "c.yaml", yaml, strlen(yaml), err, sizeof(err)),
		       err))
		return;
	g.want_src = src;
	rc = acq_new(&cfg, collect, &g, &a);
	acq_config_free(&cfg);
	if (ASSERT_OK(rc, "acq_new with an unsupported source")) {
		ASSERT_OK(acq_run(a, 10000), "cat mode from acquis.yaml ends");
		ASSERT_EQ(g.n, 2, "two lines");
		ASSERT_TRUE(!g.bad_meta, "cat meta");
	}
	acq_free(a);
	got_free(&g);
}

static void test_glob_order_and_budget(void)
{
	struct got g = { .want_module = "file", .want_type = "nginx", .stop_after = 2 };
	struct acq_config cfg = { 0 };
	struct acq *a = NULL;
	char dsn[300], err[256];
	int rounds = 0, rc;

	write_file("g2.log", "3\n4\n", 4);
	write_file("g1.log", "1\n2\n", 4);
	snprintf(dsn, sizeof(dsn), "file://%s/g*.log", dir);
	if (!ASSERT_OK(acq_config_from_dsn(&cfg, dsn, "nginx", NULL, 0, err, sizeof(err)), err))
		return;
	rc = acq_new(&cfg, collect, &g, &a);
	acq_config_free(&cfg);
	if (!ASSERT_OK(rc, "acq_new glob"))
		return;
	ASSERT_TRUE(acq_fd(a) >= 0, "pollable fd");
	while (!acq_done(a) && rounds++ < 100) {
		rc = acq_process(a, 1);
		if (rc != -EAGAIN && !(rc >= 0 && rc <= 1)) {
			ASSERT_TRUE(false, "budget 1: 0 or 1 line per round, or the stop code");
			break;
		}
	}
	ASSERT_TRUE(acq_done(a), "done");
	if (ASSERT_EQ(g.n, 4, "four lines over two files")) {
		ASSERT_STREQ(g.raw[0], "1", "sorted glob: g1 first");
		ASSERT_STREQ(g.raw[3], "4", "g2 last");
	}
	acq_free(a);
	got_free(&g);

	snprintf(dsn, sizeof(dsn), "file://%s/nothing-*.log", dir);
	ASSERT_EQ(replay(dsn, &g, NULL), -ENOENT, "no matching file is an error in -dsn");
}

/* Tail mode: `journalctl --follow -n 0 FILTERS`, killed when acq is freed. */
static void test_journalctl_follow(const char *path)
{
	struct got g = { .want_module = "journalctl", .want_type = "syslog", .live = true };
	const char *script = "#!/bin/sh\n"
			     "echo \"args: $*\"\n"
			     "echo live-one\n"
			     "exec sleep 30\n";
	const char *yaml = "journalctl_filter: [_COMM=sshd]\nlabels: {type: syslog}\n";
	struct acq_config cfg = { 0 };
	struct acq *a = NULL;
	char err[256];
	int rc;

	write_file("journalctl", script, strlen(script));
	chmod(path, 0755);
	g.want_src = "journalctl-_COMM=sshd";
	if (!ASSERT_OK(acq_config_load_buf(&cfg, "j.yaml", yaml, strlen(yaml), err, sizeof(err)),
		       err))
		return;
	rc = acq_new(&cfg, collect, &g, &a);
	acq_config_free(&cfg);
	if (!ASSERT_OK(rc, "acq_new journalctl follow"))
		return;
	for (int i = 0; i < 100 && g.n < 2; i++) /* bounded wait, not a timing assertion */
		rc = acq_run(a, 100);
	ASSERT_EQ(rc, -ETIMEDOUT, "tail mode never ends");
	if (ASSERT_EQ(g.n, 2, "two lines while following")) {
		ASSERT_STREQ(g.raw[0], "args: --follow -n 0 _COMM=sshd", "follow arguments");
		ASSERT_STREQ(g.raw[1], "live-one", "line");
	}
	ASSERT_TRUE(!g.bad_meta, "live meta");
	ASSERT_TRUE(!acq_done(a), "not done");
	acq_free(a); /* SIGTERM + reap */
	got_free(&g);
}

static void test_journalctl(void)
{
	struct got g = { .want_module = "journalctl", .want_type = "nginx" };
	const char *script = "#!/bin/sh\n"
			     "echo \"args: $*\"\n"
			     "printf 'one\\n\\ntwo\\nthree'\n"
			     "echo 'some warning' >&2\n";
	char path[256], newpath[4096];
	const char *old = getenv("PATH");

	write_file("journalctl", script, strlen(script));
	snprintf(path, sizeof(path), "%s/journalctl", dir);
	chmod(path, 0755);
	snprintf(newpath, sizeof(newpath), "%s:%s", dir, old ? old : "/usr/bin:/bin");
	setenv("PATH", newpath, 1);
	g.want_src = "journalctl-_SYSTEMD_UNIT=ssh.service";
	ASSERT_OK(replay("journalctl://filters=_SYSTEMD_UNIT=ssh.service", &g, NULL),
		  "journalctl replay");
	if (ASSERT_EQ(g.n, 4, "journalctl lines")) {
		ASSERT_STREQ(g.raw[0], "args: _SYSTEMD_UNIT=ssh.service", "cat mode: no --follow");
		ASSERT_STREQ(g.raw[3], "three", "last line without newline");
	}
	ASSERT_TRUE(!g.bad_meta, "journalctl meta");
	got_free(&g);
	test_journalctl_follow(path);
	setenv("PATH", old ? old : "/usr/bin:/bin", 1);
	unlink(path);
}

int main(void)
{
	log_set_level(LOG_LVL_FATAL);
	if (t_scratch_dir(dir))
		return 1;
	test_plain();
	test_gzip();
	test_glob_order_and_budget();
	test_yaml_cat();
	test_journalctl();
	return TEST_SUMMARY();
}
