// SPDX-License-Identifier: MIT
/*
 * Group commit (lapi/commit.c): alerts handed in by concurrent threads while
 * the writer is busy are stored together, yet every caller gets its own
 * answer: its own ids when the group committed, and when one submission of a
 * group is refused by the database, that one alone fails and the others are
 * stored. The writer is held busy by holding the database connection, and the
 * test waits (bounded) until the submissions are queued behind it.
 *
 * Over HTTP, a push suspends its connection instead of holding its MHD thread:
 * more pushes than MHD threads (4) wait in one queue and are answered 201 once
 * their group commits; and when the queue is full, a push is answered 503 at
 * once, before anything of it is stored.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/gotime.h"
#include "common/log.h"
#include "db/db_int.h"
#include "lapi/lapi_int.h"
#include "../lib/alert_fixture.h"
#include "../lib/lapi_fixture.h"
#include "../lib/test.h"

#define SUBMITTERS 6
#define BAD 3 /* this submitter's decision value is not an address */

struct submitter {
	struct cs_lapi *l;
	int idx;
	struct cs_alert *a[2];
	int64_t ids[2];
	int err;
	pthread_t t;
};

static struct cs_alert *alert_with_ban(const char *value)
{
	struct cs_alert *a = t_alert_new("test/group-commit", gotime_now(), 1);

	a->message = strdup("");
	a->machine_id = strdup("committer-test");
	a->src_scope = strdup("Ip");
	a->src_value = strdup(value);
	a->decisions[0].duration = 3600LL * NSEC_PER_SEC;
	a->decisions[0].scenario = strdup("test/group-commit");
	a->decisions[0].type = strdup("ban");
	a->decisions[0].scope = strdup("Ip");
	a->decisions[0].value = strdup(value);
	a->decisions[0].origin = strdup("cscli");
	return a;
}

static void *submit_main(void *arg)
{
	struct submitter *s = arg;

	s->err = lapi_commit_alerts(s->l, s->a, 2, gotime_now(), s->ids, NULL, 0);
	return NULL;
}

/* until `queued` submissions wait and `taken` were taken: at most ~10 s, polling every 2 ms */
static bool wait_counts(struct cs_lapi *l, size_t queued, size_t taken)
{
	for (int i = 0; i < 5000; i++) {
		size_t q, t;

		lapi_commit_counts(l, &q, &t);
		if (q == queued && t == taken)
			return true;
		usleep(2000);
	}
	return false;
}

#define PUSHERS 10 /* more than the MHD threads */

struct pusher {
	const char *url;
	const char *auth; /* "Authorization: Bearer ..." */
	int idx;
	long code;
	char body[512];
	pthread_t t;
};

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
	struct pusher *h = ud;
	size_t have = strlen(h->body), room = sizeof(h->body) - 1 - have;

	strncat(h->body, p, s * n < room ? s * n : room);
	return s * n;
}

/* POST /v1/alerts: one agent-shaped alert from 198.18.78.<idx> (the default profile bans it) */
static void *push_main(void *arg)
{
	struct pusher *h = arg;
	struct curl_slist *hdr = curl_slist_append(NULL, h->auth);
	CURL *c = curl_easy_init();
	char json[1024], now[32];
	time_t t = time(NULL);

	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t)); /* the ban runs from stop_at */
	snprintf(json, sizeof(json),
		 "[{\"scenario\":\"test/suspend\",\"scenario_hash\":\"h\",\"scenario_version\":\"1\","
		 "\"message\":\"m\",\"events_count\":1,\"start_at\":\"%s\","
		 "\"stop_at\":\"%s\",\"capacity\":1,\"leakspeed\":\"1s\","
		 "\"simulated\":false,\"events\":[],\"remediation\":true,\"decisions\":null,"
		 "\"source\":{\"scope\":\"Ip\",\"value\":\"198.18.78.%d\",\"ip\":\"198.18.78.%d\"}}]",
		 now, now, h->idx, h->idx);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, h->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return NULL;
}

static size_t count_decisions(struct cs_db *db, const char *range)
{
	struct cs_dfilter f = { .include_simulated = true, .contains = false, .has_range = true };
	struct cs_decision *v = NULL;
	size_t n = 0;

	cs_prefix_parse(range, CS_PREFIX_MASK, &f.range);
	if (cs_db_decisions_active(db, &f, gotime_now(), &v, &n))
		return (size_t)-1;
	cs_decisions_free(v, n);
	return n;
}

static size_t count_group_decisions(struct cs_db *db)
{
	return count_decisions(db, "198.18.77.0/24");
}

/*
 * PUSHERS HTTP pushes queue while the writer is held (more than the MHD
 * threads: each suspended its connection), then one more finds the queue full
 * (its bound lowered to PUSHERS alerts) and is answered 503 while the writer
 * still takes nothing: before anything of it was stored. Released, the queued
 * ones are answered 201.
 */
static void http_pushes(struct cs_lapi *l, struct cs_db *db)
{
	struct pusher h[PUSHERS + 1] = { 0 };
	char url[128], auth[1024], *tok = NULL;
	int64_t exp;
	size_t q, taken;

	lapi_commit_counts(l, &q, &taken);
	if (!ASSERT_OK(jwt_sign(l->secret, l->secret_len, "committer-test", gotime_now(),
				LAPI_JWT_LIFETIME, &tok, &exp), "token"))
		return;
	snprintf(url, sizeof(url), "http://%s/v1/alerts", l->cfg.listen_uri);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	free(tok);
	lapi_commit_test_hold(l, true, PUSHERS);
	for (int i = 0; i < PUSHERS; i++) {
		h[i] = (struct pusher){ .url = url, .auth = auth, .idx = i + 1 };
		pthread_create(&h[i].t, NULL, push_main, &h[i]);
	}
	ASSERT_TRUE(wait_counts(l, PUSHERS, taken),
		    "10 HTTP pushes wait at once (suspended, not one per MHD thread)");
	h[PUSHERS] = (struct pusher){ .url = url, .auth = auth, .idx = PUSHERS + 1 };
	push_main(&h[PUSHERS]);
	ASSERT_EQ(h[PUSHERS].code, 503L, "the queue is full: 503 while the writer takes nothing");
	ASSERT_TRUE(strstr(h[PUSHERS].body, "retry later") != NULL, "its message");
	lapi_commit_test_hold(l, false, 0);
	for (int i = 0; i < PUSHERS; i++) {
		pthread_join(h[i].t, NULL);
		if (!ASSERT_EQ(h[i].code, 201L, "a suspended push answered 201 once stored"))
			fprintf(stderr, "  push %d: %s\n", i, h[i].body);
		ASSERT_TRUE(h[i].body[0] == '[' && h[i].body[1] == '"', "with its id");
	}
	ASSERT_EQ(count_decisions(db, "198.18.78.1/32"), (size_t)1, "a queued push's ban is stored");
	ASSERT_EQ(count_decisions(db, "198.18.78.0/28"), (size_t)PUSHERS,
		  "all queued pushes stored, not the refused one");
}

/*
 * A push's machine is checked where its alerts are stored: two pushes wait for
 * the held writer, one machine is deleted meanwhile (its token and row were fine
 * when it pushed); released, the group refuses that owner and is stored again
 * one push at a time: the other is stored (201), the deleted machine's push is
 * answered 401 with nothing of it stored.
 */
static void owner_checked_at_store(struct cs_lapi *l, struct cs_db *db)
{
	static const char *const names[2] = { "committer-test", "gone-test" };
	char url[128], auth[2][1024];
	struct pusher h[2] = { 0 };
	size_t q, taken;

	ASSERT_OK(cs_db_machine_add(db, "gone-test", "x", "127.0.0.1", true, false, gotime_now()),
		  "second machine");
	snprintf(url, sizeof(url), "http://%s/v1/alerts", l->cfg.listen_uri);
	for (int i = 0; i < 2; i++) {
		char *tok = NULL;
		int64_t exp;

		if (!ASSERT_OK(jwt_sign(l->secret, l->secret_len, names[i], gotime_now(),
					LAPI_JWT_LIFETIME, &tok, &exp), "token"))
			return;
		snprintf(auth[i], sizeof(auth[i]), "Authorization: Bearer %s", tok);
		free(tok);
	}
	lapi_commit_counts(l, &q, &taken);
	lapi_commit_test_hold(l, true, 0);
	for (int i = 0; i < 2; i++) {
		h[i] = (struct pusher){ .url = url, .auth = auth[i], .idx = 40 + i };
		pthread_create(&h[i].t, NULL, push_main, &h[i]);
	}
	ASSERT_TRUE(wait_counts(l, 2, taken), "both pushes wait for the writer");
	ASSERT_OK(cs_db_machine_delete(db, "gone-test"), "machine deleted while its push waits");
	lapi_commit_test_hold(l, false, 0);
	for (int i = 0; i < 2; i++)
		pthread_join(h[i].t, NULL);
	ASSERT_EQ(h[0].code, 201L, "the other machine's push stored");
	ASSERT_EQ(h[1].code, 401L, "the deleted machine's push refused when stored");
	if (!ASSERT_TRUE(strstr(h[1].body, "ent: machine not found") != NULL, "its message"))
		fprintf(stderr, "  body: %s\n", h[1].body);
	ASSERT_EQ(count_decisions(db, "198.18.78.40/32"), (size_t)1, "the stored push's ban");
	ASSERT_EQ(count_decisions(db, "198.18.78.41/32"), (size_t)0, "nothing of the refused one");
}

int main(void)
{
	static char dir[] = "/tmp/cs-test-commit-XXXXXX";
	int port;
	struct submitter sub[SUBMITTERS] = { 0 };
	struct cs_lapi_config cfg;
	struct cs_lapi *l = NULL;
	struct cs_db *db;
	int ret = -EADDRINUSE;

	log_set_level(LOG_LVL_ERROR);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (t_scratch_dir(dir))
		return 1;
	ret = t_lapi_config(&cfg, dir);
	/* the group commit's own path: PostgreSQL's, imports', and SQLite's without the journal */
	cfg.alert_journal_off = true;
	if (!ret)
		ret = t_lapi_start(&cfg, 17200, 100, &l, &port);
	if (!ASSERT_OK(ret, "start"))
		goto out;
	db = cs_lapi_db(l);
	ASSERT_OK(cs_db_machine_add(db, "committer-test", "x", "127.0.0.1", true, false,
				    gotime_now()), "machine");

	for (int i = 0; i < SUBMITTERS; i++) {
		char v[32];

		sub[i].l = l;
		sub[i].idx = i;
		for (int k = 0; k < 2; k++) {
			snprintf(v, sizeof(v), "198.18.77.%d", i * 2 + k + 1);
			sub[i].a[k] = alert_with_ban(i == BAD && k == 1 ? "not-an-address" : v);
		}
	}
	/*
	 * The writer takes submitter 0 and waits for the connection held here; the
	 * others queue behind it and are taken as one group once it is released.
	 */
	db_hold(db);
	pthread_create(&sub[0].t, NULL, submit_main, &sub[0]);
	ASSERT_TRUE(wait_counts(l, 0, 1), "first submission taken, the writer waits for the db");
	for (int i = 1; i < SUBMITTERS; i++)
		pthread_create(&sub[i].t, NULL, submit_main, &sub[i]);
	ASSERT_TRUE(wait_counts(l, SUBMITTERS - 1, 1), "the others queued behind the busy writer");
	db_release(db);
	for (int i = 0; i < SUBMITTERS; i++)
		pthread_join(sub[i].t, NULL);
	ASSERT_TRUE(wait_counts(l, 0, SUBMITTERS), "all taken");

	for (int i = 0; i < SUBMITTERS; i++) {
		char name[64];

		snprintf(name, sizeof(name), "submitter %d's answer", i);
		if (i == BAD) {
			ASSERT_EQ(sub[i].err, -EINVAL, name);
			continue;
		}
		ASSERT_OK(sub[i].err, name);
		ASSERT_TRUE(sub[i].ids[0] > 0 && sub[i].ids[1] == sub[i].ids[0] + 1,
			    "its own two consecutive alert ids");
		for (int j = 0; j < i; j++)
			if (j != BAD)
				ASSERT_TRUE(sub[j].ids[0] != sub[i].ids[0], "ids not shared");
	}
	ASSERT_EQ(count_group_decisions(db), (size_t)(2 * (SUBMITTERS - 1)),
		  "every good submission stored, nothing of the refused one");
	{
		struct cs_alert *a = NULL;

		ASSERT_OK(cs_db_alert_get(db, sub[SUBMITTERS - 1].ids[1], gotime_now(), &a),
			  "alert of the group");
		ASSERT_TRUE(a && a->n_decisions == 1 &&
				    !strcmp(a->decisions[0].value, "198.18.77.12"),
			    "its decision stored with it");
		ASSERT_STREQ(a ? a->machine_id : "", "committer-test", "owner kept");
		cs_alert_free(a);
	}
	http_pushes(l, db);
	owner_checked_at_store(l, db);
	/* after stop, a submission is stored by its caller */
	cs_lapi_stop(l);
	l = NULL;
out:
	for (int i = 0; i < SUBMITTERS; i++)
		for (int k = 0; k < 2; k++)
			cs_alert_free(sub[i].a[k]);
	cs_lapi_stop(l);
	cs_lapi_config_clear(&cfg);
	curl_global_cleanup();
	return TEST_SUMMARY();
}
