// SPDX-License-Identifier: MIT
/*
 * The allowlists a push is checked against are kept in memory between pushes,
 * and stay exact: our own alert inserts keep them (no read of the database per
 * push), while a write by another connection (as cscli's), a write of ours to
 * the allowlists, or the expiry of an item has the next push read them again.
 * Time is passed in (an item's expiry without waiting).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/log.h"
#include "lapi/lapi_int.h"
#include "../lib/alert_fixture.h"
#include "../lib/lapi_fixture.h"
#include "../lib/test.h"

static struct cs_alert *agent_alert(const char *ip)
{
	struct cs_alert *a = t_alert_new("test/allowlist-cache", gotime_now(), 0);

	a->message = strdup("");
	a->src_scope = strdup("Ip");
	a->src_value = strdup(ip);
	return a;
}

/* Is an agent alert from ip dropped at `now`? */
static bool dropped(struct cs_lapi *l, const char *ip, int64_t now)
{
	struct cs_alert *a = agent_alert(ip);
	bool drop = false;

	lapi_allowlist_filter_all(l, &a, 1, now, &drop);
	cs_alert_free(a);
	return drop;
}

static int store(struct cs_lapi *l, const char *ip)
{
	struct cs_alert *a = agent_alert(ip);
	int64_t id = 0;
	int err = cs_lapi_alert_submit(l, a, "cache-test", &id);

	cs_alert_free(a);
	return err;
}

static void counts(struct cs_lapi *l, unsigned long *hits, unsigned long *reads)
{
	lapi_allowlist_cache_counts(l, hits, reads);
}

int main(void)
{
	static char dir[] = "/tmp/cs-test-alcache-XXXXXX";
	struct cs_lapi_config cfg;
	struct cs_lapi *l = NULL;
	struct cs_db *other = NULL;
	unsigned long h0, r0, h1, r1;
	int64_t now = gotime_now();
	int port, ret;

	if (t_scratch_dir(dir))
		return 1;
	log_set_level(LOG_LVL_ERROR);
	ret = t_lapi_config(&cfg, dir) ?: t_lapi_start(&cfg, 17460, 100, &l, &port);
	/* the second connection to the same file is what cscli is */
	if (!ASSERT_OK(ret, "LAPI on a fresh database") ||
	    !ASSERT_OK(cs_db_machine_add(cs_lapi_db(l), "cache-test", "x", "127.0.0.1", true, false,
					 now), "machine") ||
	    !ASSERT_OK(cs_db_connect(cfg.db_path, NULL, 0, &other), "second connection"))
		goto out;
	ASSERT_OK(store(l, "198.18.90.1"), "an alert stored");

	ASSERT_TRUE(!dropped(l, "198.18.90.2", now), "no allowlist: kept");
	counts(l, &h0, &r0);
	for (int i = 0; i < 5; i++) {
		ASSERT_OK(store(l, "198.18.90.3"), "alerts stored between pushes");
		ASSERT_TRUE(!dropped(l, "198.18.90.2", now), "still kept");
	}
	counts(l, &h1, &r1);
	ASSERT_EQ(r1, r0, "our own alert inserts: no read of the allowlists");
	ASSERT_EQ(h1, h0 + 10, "answered from memory (the stores are filtered too)");

	/* another connection adds an allowlist: seen by the very next push */
	struct cs_allowlist_item it = { .value = "198.18.90.0/24", .comment = "" };
	long added = 0;

	ASSERT_OK(cs_db_allowlist_create(other, "cachelist", "", now), "list created elsewhere");
	ASSERT_OK(cs_db_allowlist_add(other, "cachelist", &it, 1, now, &added), "item added elsewhere");
	ASSERT_TRUE(dropped(l, "198.18.90.2", now), "another connection's item applies at once");
	ASSERT_OK(store(l, "198.18.91.1"), "an alert stored");
	ASSERT_TRUE(dropped(l, "198.18.90.4", now), "and stays (from memory)");
	counts(l, &h0, &r0);
	ASSERT_TRUE(r0 == r1 + 1, "one read for that change");

	/* an item that expires: kept until its expiry, then read again */
	struct cs_allowlist_item exp = { .value = "198.18.92.1", .comment = "",
					 .expires_at = now + 3600 * NSEC_PER_SEC };

	ASSERT_OK(cs_db_allowlist_add(other, "cachelist", &exp, 1, now, &added), "expiring item");
	ASSERT_TRUE(dropped(l, "198.18.92.1", now), "expiring item applies");
	ASSERT_TRUE(dropped(l, "198.18.92.1", now + 3599LL * NSEC_PER_SEC), "before its expiry");
	ASSERT_TRUE(!dropped(l, "198.18.92.1", now + 3601LL * NSEC_PER_SEC), "after its expiry");

	/* a write of ours to the allowlists (the LAPI's routes write through this handle) */
	char *vals[1] = { "198.18.90.0/24" };
	long removed = 0;

	ASSERT_OK(cs_db_allowlist_remove(cs_lapi_db(l), "cachelist", vals, 1, &removed),
		  "item removed through the LAPI's handle");
	ASSERT_TRUE(!dropped(l, "198.18.90.2", now), "our own allowlist write applies at once");
out:
	cs_db_close(other);
	cs_lapi_stop(l);
	cs_lapi_config_clear(&cfg);
	return TEST_SUMMARY();
}
