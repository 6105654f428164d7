// SPDX-License-Identifier: MIT
/*
 * Request authentication never queues behind a write in progress: while a
 * write transaction holds SQLite's main connection (a bulk import holds it for
 * hundreds of milliseconds), a machine lookup answers from the last committed
 * state through the side connection; once the write commits, it is seen.
 * /health's database ping does not queue behind it either (the stream index's
 * load holds the main connection for a second at 1M decisions).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/gotime.h"
#include "common/log.h"
#include "db/db.h"
#include "db/db_int.h"
#include "../lib/test.h"

#define T0 (1795590000LL * NSEC_PER_SEC)

struct lookup {
	struct cs_db *db;
	bool ping; /* cs_db_ping() instead of the machine lookup */
	int err;
	char version[32];
	atomic_bool done;
};

static void *lookup_main(void *arg)
{
	struct lookup *q = arg;
	struct cs_machine m = { 0 };

	if (q->ping) {
		q->err = cs_db_ping(q->db);
		atomic_store(&q->done, true);
		return NULL;
	}
	q->err = cs_db_machine_get(q->db, "m1", &m);
	if (!q->err)
		snprintf(q->version, sizeof(q->version), "%s", m.version ? m.version : "");
	cs_machine_clear(&m);
	atomic_store(&q->done, true);
	return NULL;
}

/* Polls for the lookup's end, 10 s at most (a loaded machine), never a fixed sleep. */
static bool wait_done(struct lookup *q)
{
	for (int i = 0; i < 1000 && !atomic_load(&q->done); i++)
		usleep(10000);
	return atomic_load(&q->done);
}

int main(void)
{
	static char dir[] = "/tmp/cs-test-side-XXXXXX";
	char path[300];
	struct lookup q = { 0 }, ping = { .ping = true };
	struct cs_db *db = NULL;
	pthread_t t, tp;

	log_set_level(LOG_LVL_ERROR);
	if (t_scratch_dir(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/cs.db", dir);
	if (ASSERT_OK(cs_db_connect(path, NULL, 0, &db), "open") &&
	    ASSERT_OK(cs_db_machine_add(db, "m1", "pw", "127.0.0.1", true, false, T0), "machine")) {
		q.db = ping.db = db;
		ASSERT_OK(txn_begin(db), "a write transaction holds the main connection");
		ASSERT_OK(db_exec(db, "UPDATE machines SET version = 'uncommitted'"), "write in it");
		pthread_create(&t, NULL, lookup_main, &q);
		ASSERT_TRUE(wait_done(&q), "the machine lookup answers while the write is held");
		pthread_create(&tp, NULL, lookup_main, &ping);
		ASSERT_TRUE(wait_done(&ping), "the ping answers while the write is held");
		ASSERT_OK(txn_end(db, 0), "the write commits");
		pthread_join(t, NULL);
		pthread_join(tp, NULL);
		ASSERT_OK(ping.err, "the ping found the database");
		ASSERT_OK(q.err, "lookup found the machine");
		ASSERT_STREQ(q.version, "", "from the last committed state");

		atomic_store(&q.done, false);
		pthread_create(&t, NULL, lookup_main, &q);
		ASSERT_TRUE(wait_done(&q), "a lookup with nothing held");
		pthread_join(t, NULL);
		ASSERT_OK(q.err, "found again");
		ASSERT_STREQ(q.version, "uncommitted", "the commit is seen");
	}
	cs_db_close(db);
	return TEST_SUMMARY();
}
