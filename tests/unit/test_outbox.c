// SPDX-License-Identifier: MIT
/* The agent's outbox: order, bounds, and what a restart finds in the spool. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/outbox.h"
#include "../lib/test.h"

static int count_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), sl = strlen(suffix);

		if (l > sl && !strcmp(de->d_name + l - sl, suffix))
			n++;
	}
	closedir(d);
	return n;
}

/* peek and pop the oldest; returns its text (static) or "" when empty */
static const char *take(struct outbox *ob)
{
	static char buf[256];
	const char *b;
	uint64_t seq;
	size_t len;

	b = outbox_peek(ob, &len, &seq);
	if (!b)
		return "";
	snprintf(buf, sizeof(buf), "%.*s", (int)len, b);
	outbox_pop(ob, seq);
	return buf;
}

static void test_memory(void)
{
	struct outbox_opts o = { .max_batches = 3, .max_bytes = 1000 };
	struct outbox_stats st;
	struct outbox *ob;
	char err[256];
	uint64_t seq, seq2;
	size_t len;

	if (!ASSERT_OK(outbox_open(&o, &ob, err, sizeof(err)), "open in memory"))
		return;
	ASSERT_TRUE(outbox_empty(ob), "empty at first");
	for (int i = 1; i <= 5; i++) {
		char b[16];

		snprintf(b, sizeof(b), "[%d]", i);
		ASSERT_OK(outbox_put(ob, b, strlen(b)), "put");
	}
	outbox_get_stats(ob, &st);
	ASSERT_EQ(st.batches, 3, "bounded by max_batches");
	ASSERT_EQ(st.dropped, 2, "the two oldest dropped");
	/* a put that drops the head while it is being sent: the late pop removes nothing */
	outbox_peek(ob, &len, &seq);
	ASSERT_OK(outbox_put(ob, "[6]", 3), "put while sending");
	outbox_pop(ob, seq);
	outbox_peek(ob, &len, &seq2);
	ASSERT_TRUE(seq2 != seq, "the dropped head is not popped twice");
	ASSERT_STREQ(take(ob), "[4]", "oldest kept first");
	ASSERT_STREQ(take(ob), "[5]", "then the next");
	ASSERT_STREQ(take(ob), "[6]", "then the newest");
	ASSERT_TRUE(outbox_empty(ob), "empty after popping all");
	ASSERT_EQ(outbox_put(ob, "x", 1001), -EMSGSIZE, "a batch larger than the outbox");
	/* the byte bound drops the oldest too */
	ASSERT_OK(outbox_put(ob, "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]", 65), "put 65");
	{
		char big[990];

		memset(big, 'b', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		ASSERT_OK(outbox_put(ob, big, strlen(big)), "put 989");
	}
	outbox_get_stats(ob, &st);
	ASSERT_EQ(st.batches, 1, "bounded by max_bytes");
	outbox_free(ob);
	outbox_free(NULL);
}

static void test_spool(void)
{
	char dir[] = "/tmp/cs-outbox-XXXXXX", sub[64], err[256];
	struct outbox_opts o = { .max_batches = 100, .max_bytes = 1 << 20 };
	struct outbox_stats st;
	struct outbox *ob;

	if (!mkdtemp(dir)) {
		TEST_SKIP(1, "no temporary directory");
		return;
	}
	snprintf(sub, sizeof(sub), "%s/spool", dir);
	o.dir = sub;
	if (!ASSERT_OK(outbox_open(&o, &ob, err, sizeof(err)), "open a new spool"))
		goto out;
	ASSERT_OK(outbox_put(ob, "[1]", 3), "put 1");
	ASSERT_OK(outbox_put(ob, "[2]", 3), "put 2");
	ASSERT_OK(outbox_put(ob, "[3]", 3), "put 3");
	ASSERT_EQ(count_files(sub, ".json"), 3, "each batch is a file");
	ASSERT_STREQ(take(ob), "[1]", "delivered first");
	ASSERT_EQ(count_files(sub, ".json"), 2, "an acknowledged batch leaves the spool");
	outbox_free(ob); /* a restart */

	/* what a crash can leave: a half-written tmp, a damaged batch, a stranger */
	t_write_file(sub, "00000000000000ff.json.tmp", "[{\"half");
	t_write_file(sub, "0000000000000001.json", "not json");
	t_write_file(sub, "notes.txt", "keep me");
	if (!ASSERT_OK(outbox_open(&o, &ob, err, sizeof(err)), "reopen the spool"))
		goto out;
	outbox_get_stats(ob, &st);
	ASSERT_EQ(st.recovered, 2, "the two unacknowledged batches are recovered");
	ASSERT_EQ(count_files(sub, ".tmp"), 0, "a half-written batch is removed");
	ASSERT_EQ(count_files(sub, ".txt"), 1, "other files are left alone");
	ASSERT_STREQ(take(ob), "[2]", "recovered in order (2)");
	ASSERT_OK(outbox_put(ob, "[4]", 3), "put after recovery");
	ASSERT_STREQ(take(ob), "[3]", "recovered in order (3)");
	ASSERT_STREQ(take(ob), "[4]", "new batches after the recovered ones");
	ASSERT_EQ(count_files(sub, ".json"), 0, "spool empty once all are acknowledged");
	outbox_free(ob);

	/* a spool that cannot be created names the path */
	o.dir = "/proc/cs-outbox-cannot-exist";
	ASSERT_TRUE(outbox_open(&o, &ob, err, sizeof(err)) < 0, "uncreatable spool refused");
	ASSERT_TRUE(strstr(err, "/proc/cs-outbox-cannot-exist") != NULL, "error names the spool");
out:
	if (t_rmtree(dir))
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

int main(void)
{
	test_memory();
	test_spool();
	return TEST_SUMMARY();
}
