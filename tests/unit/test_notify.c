// SPDX-License-Identifier: MIT
/* Notifications: configuration errors, grouping by group_threshold and group_wait, the file
 * plugin and its rotation, $variables of formats left to the template. */
#include <errno.h>
#include <glob.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify/notify.h"
#include "tests/lib/test.h"

static char dir[64];

static void put(const char *name, const char *text)
{
	t_write_file(dir, name, text);
}

static char *slurp(const char *name)
{
	static char buf[4096];
	char p[256];
	FILE *f;
	size_t n = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	buf[0] = 0;
	if ((f = fopen(p, "r"))) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = 0;
		fclose(f);
	}
	return buf;
}

/* up to 5 s for file `name` to hold `want` */
static bool wait_for(const char *name, const char *want)
{
	for (int i = 0; i < 500; i++) {
		if (!strcmp(slurp(name), want))
			return true;
		usleep(10000);
	}
	return false;
}

static size_t count(const char *pattern)
{
	glob_t g;
	size_t n = 0;

	if (!glob(pattern, 0, NULL, &g))
		n = g.gl_pathc;
	globfree(&g);
	return n;
}

/* up to 5 s for `pattern` to match n files */
static bool wait_count(const char *pattern, size_t n)
{
	for (int i = 0; i < 500; i++) {
		if (count(pattern) == n)
			return true;
		usleep(10000);
	}
	return false;
}

/* rotate: past max_size (MB) the file is renamed, gzipped, and max_files kept */
static void test_rotation(void)
{
	struct cs_notify *n = NULL;
	char err[512] = "", text[1024], pattern[256], *big = malloc(1100001);
	json_t *a;
	glob_t g;

	if (!big)
		return;
	memset(big, 'x', 1100000);
	big[1100000] = 0;
	a = json_pack("[{s:s}]", "message", big);
	snprintf(text, sizeof(text),
		 "type: file\nname: rot\nlog_path: ${TEST_NOTIFY_DIR}/rot.log\n"
		 "format: '{{range $i, $a := .}}{{$a.Message}}{{end}}'\n"
		 "rotate:\n  enabled: true\n  max_size: 1\n  max_files: 2\n  max_age: 5\n  compress: true\n");
	put("rot.yaml", text);
	setenv("TEST_NOTIFY_DIR", dir, 1);
	ASSERT_OK(cs_notify_load(dir, &n, err, sizeof(err)), "load: set variables expand, $template ones stay");
	if (err[0])
		fprintf(stderr, "%s\n", err);
	ASSERT_OK(cs_notify_start(n), "start");
	snprintf(pattern, sizeof(pattern), "%s/rot.log.*.gz", dir);
	for (size_t i = 1; i <= 2; i++) {
		cs_notify_alert(n, "rot", json_array_get(a, 0));
		ASSERT_TRUE(wait_count(pattern, i), "one rotation per 1.1 MB write");
	}
	/* two rotations within one second both kept (the count above); the third one
	 * removes the oldest: its name is gone while two remain */
	if (!glob(pattern, 0, NULL, &g)) {
		snprintf(text, sizeof(text), "%s", g.gl_pathv[0]);
		globfree(&g);
	}
	cs_notify_alert(n, "rot", json_array_get(a, 0));
	/* the sender rotates on its own thread: the oldest goes last (after the reopen) */
	for (int i = 0; i < 500 && !access(text, F_OK); i++)
		usleep(10000);
	ASSERT_TRUE(access(text, F_OK) && count(pattern) == 2, "past max_files the oldest backup goes");
	snprintf(text, sizeof(text), "%s/rot.log", dir);
	ASSERT_TRUE(!access(text, F_OK), "log_path is there again once the rotation is over");
	ASSERT_STREQ(slurp("rot.log"), "", "log_path starts again empty");
	if (!glob(pattern, 0, NULL, &g)) {
		gzFile z = gzopen(g.gl_pathv[0], "rb");
		int got = z ? gzread(z, big, 1100001) : -1;

		ASSERT_EQ(got, 1100001, "the backup holds the text and its newline, gzipped");
		if (z)
			gzclose(z);
		globfree(&g);
	}
	/* moved away by someone else (logrotate): reopened at log_path */
	snprintf(text, sizeof(text), "%s/rot.log", dir);
	snprintf(pattern, sizeof(pattern), "%s/moved.log", dir);
	ASSERT_OK(rename(text, pattern), "move the log away");
	json_object_set_new(json_array_get(a, 0), "message", json_string("small"));
	cs_notify_alert(n, "rot", json_array_get(a, 0));
	ASSERT_TRUE(wait_for("rot.log", "small\n"), "a moved log_path is reopened");
	cs_notify_free(n);
	snprintf(text, sizeof(text), "%s/rot.yaml", dir);
	unlink(text);
	json_decref(a);
	free(big);
}

int main(void)
{
	struct cs_notify *n = NULL;
	char err[512] = "", text[1024];
	json_t *a1 = json_pack("{s:s,s:{s:s}}", "scenario", "s/one", "source", "ip", "198.18.0.1");
	json_t *a2 = json_pack("{s:s,s:{s:s}}", "scenario", "s/two", "source", "ip", "198.18.0.2");

	snprintf(dir, sizeof(dir), "/tmp/test_notify.%d", (int)getpid());
	mkdir(dir, 0700);

	/* a missing directory holds no notification */
	ASSERT_OK(cs_notify_load("/nonexistent/notifications", &n, err, sizeof(err)), "missing dir");
	ASSERT_EQ(cs_notify_check(n, "x", err, sizeof(err)), -ENOENT, "unknown name refused");
	cs_notify_free(n);

	put("bad.yaml", "type: file\nname: bad\nlog_path: /dev/null\nformat: |\n  a\n  {{if .}}\n");
	ASSERT_EQ(cs_notify_load(dir, &n, err, sizeof(err)), -EINVAL, "bad format fails the load");
	snprintf(text, sizeof(text), "%s/bad.yaml:7: unexpected EOF", dir);
	if (!ASSERT_TRUE(!strncmp(err, text, strlen(text)), "the error names file:line"))
		fprintf(stderr, "got: %s\n", err);
	snprintf(text, sizeof(text), "%s/bad.yaml", dir);
	unlink(text);

	put("nourl.yaml", "type: http\nname: h\nformat: x\nurl: ftp://x/\n");
	ASSERT_EQ(cs_notify_load(dir, &n, err, sizeof(err)), -EINVAL, "http needs an http url");
	snprintf(text, sizeof(text), "%s/nourl.yaml", dir);
	unlink(text);

	snprintf(text, sizeof(text),
		 "type: file\nname: grouped\ngroup_threshold: 2\nlog_path: %s/grouped.log\n"
		 "format: '{{len .}}:{{range .}}{{.Source.IP}} {{end}}'\n---\n"
		 "type: file\nname: waited\ngroup_wait: 300ms\nlog_path: %s/waited.log\n"
		 "format: '{{len .}}:{{range .}}{{.Scenario}} {{end}}'\n---\n"
		 "type: splunk\nname: mail\nformat: x\n",
		 dir, dir);
	put("files.yaml", text);
	ASSERT_OK(cs_notify_load(dir, &n, err, sizeof(err)), "load");
	ASSERT_OK(cs_notify_check(n, "grouped", err, sizeof(err)), "file type deliverable");
	ASSERT_EQ(cs_notify_check(n, "mail", err, sizeof(err)), -ENOTSUP, "splunk not delivered");
	ASSERT_OK(cs_notify_start(n), "start");

	cs_notify_alert(n, "grouped", a1);
	usleep(200000);
	ASSERT_STREQ(slurp("grouped.log"), "", "below group_threshold: nothing yet");
	cs_notify_alert(n, "grouped", a2);
	ASSERT_TRUE(wait_for("grouped.log", "2:198.18.0.1 198.18.0.2 \n"), "threshold reached: one batch");

	cs_notify_alert(n, "waited", a1);
	cs_notify_alert(n, "waited", a2);
	ASSERT_TRUE(wait_for("waited.log", "2:s/one s/two \n"), "group_wait: one batch after the wait");

	cs_notify_alert(n, "grouped", a1); /* pending at stop: sent, not lost */
	cs_notify_free(n);
	ASSERT_STREQ(slurp("grouped.log"), "2:198.18.0.1 198.18.0.2 \n1:198.18.0.1 \n",
		     "what waits is sent at stop");
	cs_notify_free(NULL);

	snprintf(text, sizeof(text), "%s/files.yaml", dir);
	unlink(text);
	test_rotation();

	json_decref(a1);
	json_decref(a2);
	snprintf(text, sizeof(text), "rm -rf %s", dir);
	if (system(text))
		fprintf(stderr, "could not remove %s\n", dir);
	return TEST_SUMMARY();
}
