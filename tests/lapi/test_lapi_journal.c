// SPDX-License-Identifier: MIT
/*
 * The alert journal (lapi/journal.c): a push is answered 201 with its ids once
 * its record is appended, before the writer stores it, and
 *  - the record decoder takes any input: every truncation and thousands of
 *    mutated records are refused or decoded, never a crash (ASan/UBSan build);
 *  - a read right after a push waits for it to be stored and sees it;
 *  - a full journal: pushes past its cap wait (suspended, the group commit) and
 *    none is lost or refused; a group-commit insert whose wait for the journal's
 *    writer gives up is refused 503 (a uuid never takes two ids);
 *  - what a held push keeps is bounded by the cap: its alerts not stored are
 *    freed at its answer, and the cap counts the heap its alerts pin;
 *  - kill -9 while the writer is held (acknowledged, not stored): the next start
 *    stores every acknowledged alert once, under the id it was answered with;
 *  - a torn last record (a crash mid-write) is ignored with a warning naming the
 *    file and the offset, the journal cut there, the LAPI starts.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/gotime.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "db/db_int.h"
#include "lapi/lapi_int.h"
#include "../lib/alert_fixture.h"
#include "../lib/lapi_fixture.h"
#include "../lib/test.h"

#define MACHINE "journal-test"
#define SECRET "journal-test-secret-0123456789abcdef0123456789abcdef0123456789abcdef"
#define KILLED_PUSHES 12

/*
 * A step of the wall clock, as NTP or `date -s` make it: added to what
 * CLOCK_REALTIME reads in this program (the LAPI's code is linked in; curl and
 * MHD time themselves on CLOCK_MONOTONIC). glibc's own waits are not affected:
 * the kernel compares a deadline with its clock.
 */
static volatile long long wall_step_ns;

int clock_gettime(clockid_t id, struct timespec *ts)
{
	long long ns;

	if (syscall(SYS_clock_gettime, id, ts))
		return -1;
	if (wall_step_ns && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
		ns = (long long)ts->tv_sec * NSEC_PER_SEC + ts->tv_nsec + wall_step_ns;
		ts->tv_sec = (time_t)(ns / NSEC_PER_SEC);
		ts->tv_nsec = (long)(ns % NSEC_PER_SEC);
	}
	return 0;
}

/*
 * The syncs of a WAL file (SQLite's unix VFS calls fdatasync, or fsync): the
 * largest size the watched journal file had at one, -1 before any.
 */
static char sync_watch[256];
static volatile long long journal_size_at_wal_sync = -1;

static void saw_sync(int fd)
{
	char link[64], path[512];
	struct stat st;
	ssize_t n;

	if (!sync_watch[0])
		return;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n > 4 && !memcmp(path + n - 4, "-wal", 4) && !stat(sync_watch, &st) &&
	    (long long)st.st_size > journal_size_at_wal_sync)
		journal_size_at_wal_sync = (long long)st.st_size;
}

int fdatasync(int fd)
{
	saw_sync(fd);
	return syscall(SYS_fdatasync, fd) ? -1 : 0;
}

int fsync(int fd)
{
	saw_sync(fd);
	return syscall(SYS_fsync, fd) ? -1 : 0;
}

/*
 * A failed append whose partial record cannot be cut off (the disk full, say):
 * set to 1, the next write to the journal file writes 10 bytes, the one after
 * fails (EIO), and so does the ftruncate that follows.
 */
static volatile int journal_fault;

static bool is_journal_fd(int fd)
{
	static const char tail[] = "-alerts.journal";
	char link[64], path[512];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	return n >= (ssize_t)sizeof(tail) - 1 &&
	       !memcmp(path + n - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
}

ssize_t write(int fd, const void *p, size_t n)
{
	if (journal_fault == 1 && is_journal_fd(fd)) {
		journal_fault = 2;
		n = n < 10 ? n : 10;
	} else if (journal_fault == 2 && is_journal_fd(fd)) {
		journal_fault = 3;
		errno = EIO;
		return -1;
	}
	return syscall(SYS_write, fd, p, n);
}

int ftruncate(int fd, off_t len)
{
	if (journal_fault == 3 && is_journal_fd(fd)) {
		journal_fault = 0;
		errno = EIO;
		return -1;
	}
	return syscall(SYS_ftruncate, fd, len) ? -1 : 0;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the codec ---- */

static struct cs_alert *sample_alert(int i)
{
	struct cs_alert *a = t_alert_new("test/journal", 1795590000LL * NSEC_PER_SEC + i, 2);
	char v[32];

	snprintf(v, sizeof(v), "198.18.90.%d", i);
	a->machine_id = strdup(MACHINE);
	a->uuid = i % 2 ? strdup("0b5c7c1e-uuid") : NULL;
	a->message = strdup("m\xc3\xa9ssage");
	a->src_scope = strdup("Ip");
	a->src_value = strdup(v);
	a->src_ip = strdup(v);
	a->src_latitude = 48.85;
	a->src_longitude = -2.35;
	a->simulated = i % 3 == 0;
	a->remediation = true;
	a->id = 1000 + i;
	a->events = calloc(1, sizeof(*a->events));
	a->n_events = 1;
	a->events[0].timestamp = 42;
	a->events[0].meta_json = strdup("[{\"key\":\"k\",\"value\":\"v\"}]");
	a->meta = calloc(1, sizeof(*a->meta));
	a->n_meta = 1;
	a->meta[0].key = strdup("k");
	a->meta[0].value = strdup("");
	for (int j = 0; j < 2; j++) {
		struct cs_decision *d = &a->decisions[j];

		d->id = 5000 + 2 * i + j;
		d->duration = (3600 + j) * NSEC_PER_SEC;
		d->scenario = strdup("test/journal");
		d->type = strdup(j ? "captcha" : "ban");
		d->scope = strdup("Ip");
		d->value = strdup(v);
		d->origin = strdup("crowdsec");
		d->simulated = j == 1;
	}
	return a;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_alert(const struct cs_alert *a, const struct cs_alert *b)
{
	bool ok = a->id == b->id && same_str(a->machine_id, b->machine_id) &&
		  same_str(a->uuid, b->uuid) && same_str(a->scenario, b->scenario) &&
		  same_str(a->message, b->message) && same_str(a->src_value, b->src_value) &&
		  same_str(a->src_range, b->src_range) && a->start_at == b->start_at &&
		  a->stop_at == b->stop_at && a->simulated == b->simulated &&
		  a->remediation == b->remediation && a->src_latitude == b->src_latitude &&
		  a->src_longitude == b->src_longitude && a->n_events == b->n_events &&
		  a->n_meta == b->n_meta && a->n_decisions == b->n_decisions && b->ids_given;

	for (size_t k = 0; ok && k < a->n_events; k++)
		ok = a->events[k].timestamp == b->events[k].timestamp &&
		     same_str(a->events[k].meta_json, b->events[k].meta_json);
	for (size_t k = 0; ok && k < a->n_meta; k++)
		ok = same_str(a->meta[k].key, b->meta[k].key) &&
		     same_str(a->meta[k].value, b->meta[k].value);
	for (size_t k = 0; ok && k < a->n_decisions; k++) {
		const struct cs_decision *x = &a->decisions[k], *y = &b->decisions[k];

		ok = x->id == y->id && x->duration == y->duration && x->simulated == y->simulated &&
		     same_str(x->type, y->type) && same_str(x->value, y->value) &&
		     same_str(x->scope, y->scope) && same_str(x->origin, y->origin) &&
		     same_str(x->scenario, y->scenario);
	}
	return ok;
}

static void codec(void)
{
	struct cs_alert *v[3];
	struct sbuf b = { 0 };
	struct cs_alert **out = NULL;
	size_t n = 0, bad_trunc = 0, mutated_ok = 0;
	int64_t now = 0;
	unsigned seed = 1234;

	for (int i = 0; i < 3; i++)
		v[i] = sample_alert(i);
	ASSERT_OK(journal_encode(&b, 77, v, 3), "three alerts encoded");
	if (ASSERT_OK(journal_decode(b.buf, b.len, &now, &out, &n), "decoded back")) {
		ASSERT_EQ(now, 77, "the push's time");
		ASSERT_EQ(n, 3, "three alerts");
		for (size_t i = 0; i < n && i < 3; i++)
			ASSERT_TRUE(same_alert(v[i], out[i]), "an alert decoded as it was encoded");
		cs_alerts_free(out, n);
	}
	/* every proper prefix is refused */
	for (size_t len = 0; len < b.len; len++) {
		if (journal_decode(b.buf, len, &now, &out, &n) != -EBADMSG)
			bad_trunc++;
	}
	ASSERT_EQ(bad_trunc, 0, "every truncated record refused (-EBADMSG)");
	ASSERT_EQ(journal_decode(b.buf, b.len + 1, &now, &out, &n), -EBADMSG,
		  "a byte after the last alert refused");
	/* mutations: counts, lengths and bytes anywhere; decoded or refused, freed either way */
	for (int it = 0; it < 20000; it++) {
		char *m = malloc(b.len);
		int flips = 1 + rand_r(&seed) % 4, e;

		memcpy(m, b.buf, b.len);
		for (int f = 0; f < flips; f++) {
			size_t at = (size_t)rand_r(&seed) % b.len;

			m[at] = (char)(rand_r(&seed) % 3 == 0 ? 0xff : rand_r(&seed));
		}
		e = journal_decode(m, b.len - (size_t)(rand_r(&seed) % 2), &now, &out, &n);
		if (!e) {
			mutated_ok++;
			cs_alerts_free(out, n);
		} else if (e != -EBADMSG) {
			ASSERT_EQ(e, -EBADMSG, "a mutated record: decoded or -EBADMSG");
		}
		free(m);
	}
	ASSERT_TRUE(mutated_ok < 20000, "mutated records refused (the rest decoded and freed)");
	{ /* the smallest alerts: no string, no event, meta or decision (the count's bound holds) */
		struct cs_alert *bare[2] = { calloc(1, sizeof(struct cs_alert)),
					     calloc(1, sizeof(struct cs_alert)) };
		struct sbuf e = { 0 };

		if (bare[0] && bare[1] && !journal_encode(&e, 5, bare, 2)) {
			ASSERT_OK(journal_decode(e.buf, e.len, &now, &out, &n),
				  "two bare alerts decoded back");
			ASSERT_EQ(n, 2, "both of them");
			if (n == 2)
				ASSERT_TRUE(same_alert(bare[1], out[1]), "as encoded");
			cs_alerts_free(out, n);
			n = 0;
		}
		ASSERT_TRUE(e.len > 0, "bare alerts encoded");
		sb_free(&e);
		cs_alert_free(bare[0]);
		cs_alert_free(bare[1]);
	}
	{ /* a huge count in a tiny record allocates nothing large */
		uint8_t tiny[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f };

		ASSERT_EQ(journal_decode(tiny, sizeof(tiny), &now, &out, &n), -EBADMSG,
			  "a count beyond the bytes refused");
	}
	sb_free(&b);
	for (int i = 0; i < 3; i++)
		cs_alert_free(v[i]);
}

/* ---- over HTTP ---- */

struct call {
	char url[256];
	const char *method;
	char body[2048];
	char *post; /* a body too large for body[], when set */
	long code;
	char *answer;
	size_t alen;
	pthread_t t;
	unsigned long stored_at_answer; /* filled by the test */
	struct cs_lapi *l;
};

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
	struct call *c = ud;
	char *a = realloc(c->answer, c->alen + s * n + 1);

	if (!a)
		return 0;
	memcpy(a + c->alen, p, s * n);
	c->alen += s * n;
	a[c->alen] = 0;
	c->answer = a;
	return s * n;
}

static char token[1024];

static void call_run(struct call *c)
{
	struct curl_slist *hdr = NULL;
	CURL *h = curl_easy_init();
	char auth[1100];

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	hdr = curl_slist_append(hdr, auth);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
	if (c->post)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->post);
	else if (c->body[0])
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	c->code = 0;
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
}

static void *call_main(void *arg)
{
	struct call *c = arg;
	unsigned long appended;

	call_run(c);
	if (c->l)
		lapi_journal_counts(c->l, &appended, &c->stored_at_answer);
	return NULL;
}

static void push_body(char *out, size_t len, int idx)
{
	char now[32];
	time_t t = time(NULL);

	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(out, len,
		 "[{\"scenario\":\"test/journal\",\"scenario_hash\":\"h\",\"scenario_version\":\"1\","
		 "\"message\":\"m\",\"events_count\":1,\"start_at\":\"%s\",\"stop_at\":\"%s\","
		 "\"capacity\":1,\"leakspeed\":\"1s\",\"simulated\":false,\"events\":[],"
		 "\"remediation\":true,\"decisions\":null,\"uuid\":\"journal-%d\","
		 "\"source\":{\"scope\":\"Ip\",\"value\":\"198.18.91.%d\",\"ip\":\"198.18.91.%d\"}}]",
		 now, now, idx, idx, idx);
}

/* POST one alert; its id from the answer, or -1 */
static long long push(const char *base, int idx, long *code)
{
	struct call c = { .method = "POST" };
	long long id = -1;

	snprintf(c.url, sizeof(c.url), "%s/v1/alerts", base);
	push_body(c.body, sizeof(c.body), idx);
	call_run(&c);
	*code = c.code;
	if (c.code == 201 && c.answer && c.answer[0] == '[' && c.answer[1] == '"')
		id = atoll(c.answer + 2);
	free(c.answer);
	return id;
}

static long get_alert(const char *base, long long id, char **answer)
{
	struct call c = { .method = "GET" };

	snprintf(c.url, sizeof(c.url), "%s/v1/alerts/%lld", base, id);
	call_run(&c);
	*answer = c.answer;
	return c.code;
}

static bool wait_appended(struct cs_lapi *l, unsigned long want)
{
	for (int i = 0; i < 5000; i++) {
		unsigned long a, s;

		lapi_journal_counts(l, &a, &s);
		if (a >= want)
			return true;
		usleep(2000);
	}
	return false;
}

/* until n pushes since (a0, q0) are journaled or queued for the group commit, some queued */
static bool wait_all_in(struct cs_lapi *l, unsigned long a0, size_t q0, size_t n)
{
	for (int i = 0; i < 5000; i++) {
		unsigned long a, s;
		size_t q, t;

		lapi_journal_counts(l, &a, &s);
		lapi_commit_counts(l, &q, &t);
		if ((a - a0) + (q - q0) == n && q > q0)
			return true;
		usleep(2000);
	}
	return false;
}

static int start(const char *dir, struct cs_lapi **l, char *base, size_t blen)
{
	struct cs_lapi_config cfg;
	int port, err = t_lapi_config(&cfg, dir);

	if (!err)
		err = t_lapi_start(&cfg, 17400, 100, l, &port);
	cs_lapi_config_clear(&cfg);
	if (!err)
		snprintf(base, blen, "http://127.0.0.1:%d", port);
	return err;
}

static long long count_alerts(struct cs_lapi *l, const char *where)
{
	struct cs_afilter f = { .has_active_decision = -1, .contains = true };
	struct cs_alert **v = NULL;
	size_t n = 0;
	long long k = 0;

	(void)where;
	if (cs_db_alerts_search(cs_lapi_db(l), &f, gotime_now(), &v, &n))
		return -1;
	for (size_t i = 0; i < n; i++)
		k += v[i]->scenario && !strcmp(v[i]->scenario, "test/journal");
	cs_alerts_free(v, n);
	return k;
}

/* A read right after a push (the writer held meanwhile) waits for it and sees it. */
static void read_own_write(struct cs_lapi *l, const char *base)
{
	struct call get = { .method = "GET", .l = l };
	long code;
	long long id;

	lapi_journal_test_hold(l, true, 0);
	id = push(base, 1, &code);
	ASSERT_EQ(code, 201L, "a push answered 201 while the writer stores nothing");
	ASSERT_TRUE(id > 0, "with its id");
	snprintf(get.url, sizeof(get.url), "%s/v1/alerts/%lld", base, id);
	pthread_create(&get.t, NULL, call_main, &get);
	/* the read waits for the writer (without the wait it would answer 404 now) */
	for (int i = 0; i < 5000 && !lapi_journal_waiters(l); i++)
		usleep(2000);
	ASSERT_TRUE(lapi_journal_waiters(l) > 0, "the read waits for the held writer");
	lapi_journal_test_hold(l, false, 0);
	pthread_join(get.t, NULL);
	ASSERT_EQ(get.code, 200L, "the read right after the push finds it");
	ASSERT_TRUE(get.stored_at_answer >= 1, "answered once the writer stored it");
	ASSERT_TRUE(get.answer && strstr(get.answer, "198.18.91.1\""), "the pushed alert");
	free(get.answer);
}

/* N pushes at once, alerts IDX0.., each from a thread of its own. */
static void pushes_start(struct call *p, int n, const char *base, int idx0)
{
	memset(p, 0, (size_t)n * sizeof(*p));
	for (int i = 0; i < n; i++) {
		p[i].method = "POST";
		snprintf(p[i].url, sizeof(p[i].url), "%s/v1/alerts", base);
		push_body(p[i].body, sizeof(p[i].body), idx0 + i);
		pthread_create(&p[i].t, NULL, call_main, &p[i]);
	}
}

/* Lets the held writers go, and every push of pushes_start must be answered 201. */
static void pushes_release(struct cs_lapi *l, struct call *p, int n)
{
	lapi_journal_test_hold(l, false, 0);
	lapi_commit_test_hold(l, false, 0);
	for (int i = 0; i < n; i++) {
		pthread_join(p[i].t, NULL);
		ASSERT_EQ(p[i].code, 201L, "every push answered 201");
		free(p[i].answer);
	}
}

/* A full journal: the pushes past its cap wait for the group commit, none lost. */
static void full_journal(struct cs_lapi *l, const char *base)
{
	struct call p[6];
	unsigned long a0, s0, a1, s1;
	size_t q0, t0;

	lapi_journal_counts(l, &a0, &s0);
	lapi_commit_counts(l, &q0, &t0);
	lapi_journal_test_hold(l, true, 1500); /* room for about two records */
	lapi_commit_test_hold(l, true, 0);
	pushes_start(p, 6, base, 20);
	ASSERT_TRUE(wait_appended(l, a0 + 1), "the first pushes journaled");
	ASSERT_TRUE(wait_all_in(l, a0, q0, 6), "the others wait for the group commit (suspended)");
	lapi_journal_counts(l, &a1, &s1);
	ASSERT_TRUE(a1 - a0 < 6, "not all journaled: the cap held");
	ASSERT_EQ(s1, s0, "nothing stored while held");
	pushes_release(l, p, 6);
	ASSERT_EQ(count_alerts(l, "full"), 7, "all stored once (with the first test's)");
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long long)st.st_size;
}

/*
 * A large file takes no more records until it is stored whole and cut: under a
 * steady stream of pushes the writer never finds it empty, so past the size the
 * pushes go to the group commit meanwhile; then the file is cut and takes records again.
 */
static void rotation(const char *dir)
{
	static const size_t rotate = 2000; /* about three records */
	struct call p[8];
	struct cs_lapi *l = NULL;
	char base[64], jpath[256];
	unsigned long a0, s0, a1, s1;
	size_t q0, t0;
	long long size = -1;
	long code;

	snprintf(jpath, sizeof(jpath), "%s/cs.db-alerts.journal", dir);
	if (!ASSERT_OK(start(dir, &l, base, sizeof(base)), "start (rotation)"))
		return;
	ASSERT_OK(cs_db_machine_add(cs_lapi_db(l), MACHINE, "x", "127.0.0.1", true, false,
				    gotime_now()), "the machine (rotation)");
	lapi_journal_counts(l, &a0, &s0);
	lapi_commit_counts(l, &q0, &t0);
	lapi_journal_test_rotate(l, rotate);
	lapi_journal_test_hold(l, true, 0); /* the writer never catches up meanwhile */
	lapi_commit_test_hold(l, true, 0);
	pushes_start(p, 8, base, 40);
	ASSERT_TRUE(wait_all_in(l, a0, q0, 8), "past the size, pushes wait for the group commit");
	lapi_journal_counts(l, &a1, &s1);
	ASSERT_TRUE(a1 - a0 >= 1 && a1 - a0 < 8, "some journaled, not all: the size held");
	size = file_size(jpath);
	ASSERT_TRUE(size >= (long long)rotate && size < 2 * (long long)rotate,
		    "the file stops past the size, by less than a record");
	snprintf(sync_watch, sizeof(sync_watch), "%s", jpath);
	journal_size_at_wal_sync = -1;
	pushes_release(l, p, 8);
	for (int i = 0; i < 5000 && (size = file_size(jpath)) != 16; i++)
		usleep(2000);
	ASSERT_EQ(size, 16LL, "stored whole: cut back to its header");
	/* the commits at synchronous=NORMAL made durable before the only other copy goes */
	if (!ASSERT_TRUE(journal_size_at_wal_sync >= (long long)rotate,
			 "the WAL synced while the file still held the records: before the cut"))
		fprintf(stderr, "  journal size at the last WAL sync: %lld\n",
			journal_size_at_wal_sync);
	sync_watch[0] = 0;
	ASSERT_EQ(count_alerts(l, "rotation"), 8, "all stored once");
	lapi_journal_counts(l, &a0, &s0);
	ASSERT_TRUE(push(base, 60, &code) > 0 && code == 201, "a push after the cut");
	lapi_journal_counts(l, &a1, &s1);
	ASSERT_EQ(a1 - a0, 1UL, "journaled again once cut");
	lapi_journal_test_rotate(l, 0);
	cs_lapi_stop(l);
}

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_MEASURED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_MEASURED 0
#endif
#endif
#ifndef HEAP_MEASURED
#define HEAP_MEASURED 1 /* glibc's malloc (main() keeps every thread on one arena) */
#endif

static long long heap_in_use(void)
{
	struct mallinfo2 m = mallinfo2();

	return (long long)(m.uordblks + m.hblkhd);
}

/*
 * A body of n alerts "test/heap" with uuids heap-<u0>.., a message of msglen
 * bytes each and nmeta meta items {"k": "v"} (many tiny strings).
 */
static char *heap_body(int n, int u0, size_t msglen, int nmeta)
{
	struct sbuf b = { 0 };

	sb_putc(&b, '[');
	for (int i = 0; i < n; i++) {
		sb_printf(&b,
			  "%s{\"scenario\":\"test/heap\",\"scenario_hash\":\"h\",\"scenario_version\":\"1\","
			  "\"events_count\":1,\"start_at\":\"2026-01-01T00:00:00Z\","
			  "\"stop_at\":\"2026-01-01T00:00:00Z\",\"capacity\":1,\"leakspeed\":\"1s\","
			  "\"simulated\":false,\"events\":[],\"remediation\":true,\"decisions\":null,"
			  "\"uuid\":\"heap-%d\",\"source\":{\"scope\":\"Ip\",\"value\":\"198.18.92.%d\","
			  "\"ip\":\"198.18.92.%d\"},\"message\":\"",
			  i ? "," : "", u0 + i, (u0 + i) % 250, (u0 + i) % 250);
		for (size_t k = 0; k < msglen; k++)
			sb_putc(&b, 'm');
		sb_puts(&b, "\",\"meta\":[");
		for (int k = 0; k < nmeta; k++)
			sb_puts(&b, k ? ",{\"key\":\"k\",\"value\":\"v\"}" : "{\"key\":\"k\",\"value\":\"v\"}");
		sb_puts(&b, "]}");
	}
	sb_putc(&b, ']');
	return sb_take(&b, NULL);
}

static long post_big(const char *base, char *body)
{
	struct call c = { .method = "POST", .post = body };

	snprintf(c.url, sizeof(c.url), "%s/v1/alerts", base);
	call_run(&c);
	free(c.answer);
	free(body);
	return c.code;
}

/*
 * What a journaled push holds until stored is bounded by the cap: (1) its
 * alerts not stored (here, sent before: the uuids dedupe) are freed when it is
 * answered, not when the writer stores it; (2) the cap counts the heap the
 * alerts pin, not only their record bytes (tiny meta strings: a record of
 * ~3 KB pins ~25 KB).
 */
static void held_heap(struct cs_lapi *l, const char *base, const char *dir)
{
	enum { SENT = 200, MSG = 4096, NMETA = 300, MORE = 8 };
	struct call p[MORE];
	unsigned long a0, s0, a1, s1;
	size_t q0, t0;
	long long h0, h1, size0, rec;
	char jpath[256];

	snprintf(jpath, sizeof(jpath), "%s/cs.db-alerts.journal", dir);

	ASSERT_EQ(post_big(base, heap_body(SENT, 0, 8, 0)), 201L, "the alerts sent first");
	lapi_journal_sync(l);
	lapi_journal_test_hold(l, true, 0);
	h0 = heap_in_use();
	/* the same alerts again, 4 KiB more each, and one new: only the new one is kept */
	ASSERT_EQ(post_big(base, heap_body(SENT + 1, 0, MSG, 0)), 201L,
		  "sent again with one more: answered while the writer is held");
	h1 = heap_in_use();
	if (!HEAP_MEASURED)
		TEST_SKIP(1, "the heap is measured with glibc's mallinfo2 (not under ASan)");
	else if (!ASSERT_TRUE(h1 - h0 < SENT * MSG / 4,
			      "the alerts not kept are freed at the answer, not held for the writer"))
		fprintf(stderr, "  heap held: %lld bytes\n", h1 - h0);
	lapi_journal_test_hold(l, false, 0);
	lapi_journal_sync(l);

	/* one push of tiny strings held; then a cap its record bytes fill only 12 times */
	lapi_journal_counts(l, &a0, &s0);
	lapi_journal_test_hold(l, true, 0);
	lapi_commit_test_hold(l, true, 0);
	size0 = file_size(jpath);
	ASSERT_EQ(post_big(base, heap_body(1, 1000, 8, NMETA)), 201L, "a push of many meta items");
	rec = file_size(jpath) - size0;
	lapi_journal_counts(l, &a1, &s1);
	ASSERT_EQ(a1 - a0, 1UL, "journaled");
	lapi_journal_test_hold(l, true, (size_t)(12 * rec));
	lapi_commit_counts(l, &q0, &t0);
	memset(p, 0, sizeof(p));
	for (int i = 0; i < MORE; i++) {
		p[i].method = "POST";
		p[i].post = heap_body(1, 1001 + i, 8, NMETA);
		snprintf(p[i].url, sizeof(p[i].url), "%s/v1/alerts", base);
		pthread_create(&p[i].t, NULL, call_main, &p[i]);
	}
	/* their records (9 in all) fit the cap, their heap (~7 times as much) does not */
	if (!ASSERT_TRUE(wait_all_in(l, a1, q0, MORE),
			 "past the heap the cap allows, pushes wait for the group commit")) {
		lapi_journal_counts(l, &a1, &s1);
		fprintf(stderr, "  %lu journaled, records of %lld bytes\n", a1 - a0, rec);
	}
	pushes_release(l, p, MORE);
	for (int i = 0; i < MORE; i++)
		free(p[i].post);
	lapi_journal_sync(l);
}

/* The first id of an answer ["id",...], or -1. */
static long long first_id(const struct call *c)
{
	return c->code == 201 && c->answer && c->answer[0] == '[' && c->answer[1] == '"'
		       ? atoll(c->answer + 2)
		       : -1;
}

/* The alerts "test/heap" of uuid heap-U (its address is its own) in GET /v1/alerts: how many, and the id of one. */
static int listed(const char *base, int u, long long *id)
{
	struct call c = { .method = "GET" };
	json_t *v;
	int n = -1;

	*id = -1;
	snprintf(c.url, sizeof(c.url), "%s/v1/alerts?scenario=test/heap&ip=198.18.92.%d", base,
		 u % 250);
	call_run(&c);
	v = c.code == 200 && c.answer ? json_loads(c.answer, 0, NULL) : NULL;
	if (json_is_array(v)) {
		n = (int)json_array_size(v);
		if (n)
			*id = json_integer_value(json_object_get(json_array_get(v, 0), "id"));
	}
	json_decref(v);
	free(c.answer);
	return n;
}

/* stderr into path until stderr_back(the returned descriptor): what the LAPI logs */
static int stderr_to(const char *path)
{
	int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	fflush(stderr);
	if (fd >= 0) {
		dup2(fd, 2);
		close(fd);
	}
	return saved;
}

static void stderr_back(int saved)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
}

/* Whether the file holds the string. */
static bool file_has(const char *path, const char *what)
{
	static char text[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;

	if (f)
		fclose(f);
	text[n] = 0;
	return strstr(text, what) != NULL;
}

/*
 * One uuid pushed twice at once: both pushes pass the dedupe lookup before either
 * is journaled (a test gate holds the first at the journal's lock until the
 * second arrives). CrowdSec's LAPI stores every push (its alerts' uuid is not
 * unique); ours keeps a uuid once per machine, so the second is answered with
 * the first's id, and that id is stored. Also twice in one push.
 */
static void same_uuid_racing(struct cs_lapi *l, const char *base, const char *dir)
{
	struct call p[2];
	long long a, b, id;
	char logs[256];
	int saved;

	lapi_journal_test_hold(l, true, 0);
	lapi_journal_test_gate(l, 2);
	memset(p, 0, sizeof(p));
	for (int i = 0; i < 2; i++) {
		p[i].method = "POST";
		p[i].post = heap_body(1, 2240, 8, 0);
		snprintf(p[i].url, sizeof(p[i].url), "%s/v1/alerts", base);
		pthread_create(&p[i].t, NULL, call_main, &p[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(p[i].t, NULL);
	a = first_id(&p[0]);
	b = first_id(&p[1]);
	ASSERT_TRUE(a > 0 && b > 0, "both pushes of one uuid answered 201 with an id");
	if (!ASSERT_EQ(a, b, "the racing second is answered with the first's id"))
		fprintf(stderr, "  answers %s / %s\n", p[0].answer, p[1].answer);
	snprintf(logs, sizeof(logs), "%s/racing.log", dir);
	saved = stderr_to(logs);
	lapi_journal_test_hold(l, false, 0);
	lapi_journal_sync(l);
	stderr_back(saved);
	ASSERT_TRUE(!file_has(logs, "was stored before"),
		    "the racing repeat stored once: no warning (answered with the stored id)");
	if (!ASSERT_EQ(listed(base, 2240, &id), 1, "GET /v1/alerts: the uuid stored once") ||
	    !ASSERT_TRUE(id == a && id == b, "under the id both answers name"))
		fprintf(stderr, "  listed id %lld, answers %lld %lld\n", id, a, b);
	for (int i = 0; i < 2; i++) {
		free(p[i].post);
		free(p[i].answer);
	}

	/* twice in one body: one row, both answers name it */
	{
		struct call c = { .method = "POST" };
		char *one = heap_body(1, 2241, 8, 0), *two = malloc(2 * strlen(one) + 4);
		size_t n = strlen(one);

		lapi_journal_test_hold(l, true, 0);
		snprintf(c.url, sizeof(c.url), "%s/v1/alerts", base);
		/* [x] + [x] -> [x,x] */
		memcpy(two, one, n - 1);
		two[n - 1] = ',';
		memcpy(two + n, one + 1, n - 1);
		two[2 * n - 1] = 0;
		c.post = two;
		call_run(&c);
		a = first_id(&c);
		b = c.answer && strchr(c.answer, ',') ? atoll(strchr(c.answer, ',') + 2) : -1;
		if (!ASSERT_TRUE(a > 0 && a == b, "twice in one push: both answered with one id"))
			fprintf(stderr, "  answer %s\n", c.answer);
		lapi_journal_test_hold(l, false, 0);
		lapi_journal_sync(l);
		ASSERT_TRUE(listed(base, 2241, &id) == 1 && id == a, "and that id stored once");
		free(c.answer);
		free(one);
		free(two);
	}
}

/*
 * The wall clock stepped 50 minutes ahead while a read waits for a held writer:
 * the read still gives up after its wait (300 ms here), not 50 minutes later
 * (a deadline on CLOCK_REALTIME would move with the step). Giving up, it answers
 * 503, not a state without the alert acknowledged before it (a 404 here).
 */
static void wall_clock_step(struct cs_lapi *l, const char *base)
{
	struct call p = { .method = "POST" }, get = { .method = "GET" };
	long long id, t0, took;

	lapi_journal_test_hold(l, true, 0);
	lapi_journal_test_sync_wait(l, 300);
	snprintf(p.url, sizeof(p.url), "%s/v1/alerts", base);
	p.post = heap_body(1, 2242, 8, 0);
	call_run(&p);
	id = first_id(&p);
	ASSERT_TRUE(id > 0, "a push, the writer held");
	snprintf(get.url, sizeof(get.url), "%s/v1/alerts/%lld", base, id);
	wall_step_ns = 50LL * 60 * NSEC_PER_SEC;
	t0 = mono_ms();
	call_run(&get);
	took = mono_ms() - t0;
	wall_step_ns = 0;
	if (!ASSERT_TRUE(get.code != 0 && took < 5000,
			 "the wall clock stepped 50 min ahead: a read gives up after its wait"))
		fprintf(stderr, "  answered %ld after %lld ms\n", get.code, took);
	ASSERT_EQ(get.code, 503L, "a read that gives up answers 503, not a state without the alert");
	lapi_journal_test_sync_wait(l, 0);
	lapi_journal_test_hold(l, false, 0);
	free(get.answer);
	get.answer = NULL;
	call_run(&get);
	ASSERT_EQ(get.code, 200L, "the writer released: the read finds it");
	free(p.post);
	free(p.answer);
	free(get.answer);
}

/*
 * A group-commit insert whose wait for the journal's writer gives up (300 ms
 * here) is refused 503, not stored: P2 (over 1024 alerts, the group commit)
 * holds uuid X and passed the dedupe lookup before P1 (X alone) was journaled
 * and claimed X. Inserted after the wait, X took a second id, P2 was answered
 * with it and P1's id was never stored (nor were the later ids stored after the
 * earlier ones). Retried once the writer is back: X answered with P1's id.
 */
static void insert_times_out(struct cs_lapi *l, const char *base)
{
	enum { FILL = 1100 };
	struct call p2 = { .method = "POST" }, p1 = { .method = "POST" };
	char *x = heap_body(1, 2243, 8, 0), *fill = heap_body(FILL, 5000, 8, 0), *at;
	size_t nx = strlen(x), nf = strlen(fill), queued = 0, taken;
	long long a, id;

	/* the filler's scenario is another: listed() sees X alone at its address */
	for (at = fill; (at = strstr(at, "test/heap")); at += 9)
		memcpy(at, "test/fill", 9);
	p2.post = malloc(nx + nf + 1); /* [x] + [f...] -> [x,f...] */
	memcpy(p2.post, x, nx - 1);
	p2.post[nx - 1] = ',';
	memcpy(p2.post + nx, fill + 1, nf);
	snprintf(p2.url, sizeof(p2.url), "%s/v1/alerts", base);
	snprintf(p1.url, sizeof(p1.url), "%s/v1/alerts", base);
	p1.post = x;

	lapi_journal_test_hold(l, true, 0);
	lapi_journal_test_sync_wait(l, 300);
	lapi_commit_test_hold(l, true, 0); /* P2 queued, not taken: its lookup is done */
	pthread_create(&p2.t, NULL, call_main, &p2);
	for (int i = 0; i < 1000 && !queued; i++) {
		lapi_commit_counts(l, &queued, &taken);
		if (!queued)
			usleep(10000);
	}
	ASSERT_TRUE(queued > 0, "P2 (uuid X and 1100 more) waits for the group commit");
	call_run(&p1);
	a = first_id(&p1);
	ASSERT_TRUE(a > 0, "P1 (uuid X alone) journaled and answered");
	lapi_commit_test_hold(l, false, 0); /* P2's insert waits 300 ms for the held writer */
	pthread_join(p2.t, NULL);
	if (!ASSERT_EQ(p2.code, 503L, "P2's insert not stored in time: 503, retry later"))
		fprintf(stderr, "  P2 answered %ld, X as %lld (P1: %lld)\n", p2.code,
			first_id(&p2), a);
	lapi_journal_test_sync_wait(l, 0);
	lapi_journal_test_hold(l, false, 0);
	lapi_journal_sync(l);
	free(p2.answer);
	p2.answer = NULL;
	p2.alen = 0;
	call_run(&p2);
	if (!ASSERT_TRUE(p2.code == 201 && first_id(&p2) == a,
			 "P2 retried: 201, X answered with P1's id"))
		fprintf(stderr, "  P2 answered %ld, X as %lld (P1: %lld)\n", p2.code,
			first_id(&p2), a);
	if (!ASSERT_TRUE(listed(base, 2243, &id) == 1 && id == a,
			 "X stored once, under the id P1 was answered"))
		fprintf(stderr, "  listed id %lld, P1 answered %lld\n", id, a);
	free(fill);
	free(x);
	free(p1.answer);
	free(p2.post);
	free(p2.answer);
}

/*
 * Whether the journal file is whole records from its header to its end (each
 * checksum right): a start reads them all. Its size in *size.
 */
static bool journal_whole(const char *path, long long *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	long n = -1;
	size_t at = 16; /* the header: magic, generation */
	bool whole = false;

	if (f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 16 && !fseek(f, 0, SEEK_SET) &&
	    (b = malloc((size_t)n)) && fread(b, 1, (size_t)n, f) == (size_t)n) {
		while (at + 8 <= (size_t)n) {
			uint32_t len = b[at] | b[at + 1] << 8 | b[at + 2] << 16 | (uint32_t)b[at + 3] << 24;
			uint32_t crc = b[at + 4] | b[at + 5] << 8 | b[at + 6] << 16 |
				       (uint32_t)b[at + 7] << 24;

			if (len > (size_t)n - at - 8 ||
			    (uint32_t)crc32(crc32(0, Z_NULL, 0), b + at + 8, len) != crc)
				break;
			at += 8 + len;
		}
		whole = at == (size_t)n;
	}
	if (f)
		fclose(f);
	free(b);
	*size = n;
	return whole;
}

/*
 * An append whose write fails part way and whose partial record cannot be cut
 * off (ftruncate fails too): the journal takes no record after those bytes (a
 * start would stop at them and lose it) until the file is stored whole and cut.
 * Here the writer is free: the next push finds the file stored, it is cut, and
 * that push is journaled in a whole file.
 */
static void torn_write(struct cs_lapi *l, const char *base, const char *jpath)
{
	unsigned long before, after, stored;
	long long size, a, b;
	long code;

	lapi_journal_sync(l);
	journal_fault = 1;
	a = push(base, 90, &code);
	ASSERT_TRUE(journal_fault == 0, "the journal's write failed part way, its cut too");
	journal_fault = 0;
	ASSERT_TRUE(a > 0 && code == 201, "that push answered 201 (the group commit stored it)");
	ASSERT_TRUE(!journal_whole(jpath, &size), "the file holds the torn bytes");
	lapi_journal_counts(l, &before, &stored);
	b = push(base, 91, &code);
	lapi_journal_counts(l, &after, &stored);
	ASSERT_TRUE(b > 0 && code == 201, "the next push answered 201");
	ASSERT_EQ(after, before + 1, "and journaled");
	if (!ASSERT_TRUE(journal_whole(jpath, &size),
			 "in a whole file: cut first, not after the torn bytes"))
		fprintf(stderr, "  file %s, %lld bytes\n", jpath, size);
	lapi_journal_sync(l);
}

/*
 * The dedupe map (8 uuids here) keeps a uuid claimed at its append until its
 * alert is stored: the journal holds at most that many unstored alerts, more
 * take the group commit. Else 8 newer uuids journaled would evict X, unstored,
 * and a retry of X would take a second id, answered, never stored.
 */
static void claimed_kept(struct cs_lapi *l, const char *base)
{
	enum { MAP = 8 };
	struct call x = { .method = "POST" }, more = { .method = "POST" };
	long long a, id;

	lapi_journal_sync(l);
	if (!ASSERT_OK(lapi_journal_test_dedupe(l, MAP), "a dedupe map of 8 uuids"))
		return;
	lapi_journal_test_hold(l, true, 0);
	lapi_journal_test_sync_wait(l, 300);
	snprintf(x.url, sizeof(x.url), "%s/v1/alerts", base);
	snprintf(more.url, sizeof(more.url), "%s/v1/alerts", base);
	x.post = heap_body(1, 2244, 8, 0);
	more.post = heap_body(MAP, 6200, 8, 0);
	call_run(&x);
	a = first_id(&x);
	ASSERT_TRUE(a > 0, "X journaled, the writer held");
	call_run(&more); /* with the fix: the group commit, 503 (the writer held) */
	free(x.answer);
	x.answer = NULL;
	x.alen = 0;
	call_run(&x); /* its answer lost: sent again */
	if (!ASSERT_EQ(first_id(&x), a, "X sent again after 8 newer uuids: its first id"))
		fprintf(stderr, "  answered %ld %s (first: %lld)\n", x.code, x.answer, a);
	lapi_journal_test_sync_wait(l, 0);
	lapi_journal_test_hold(l, false, 0);
	lapi_journal_sync(l);
	if (!ASSERT_TRUE(listed(base, 2244, &id) == 1 && id == a, "X stored once, as answered"))
		fprintf(stderr, "  listed id %lld, answered %lld\n", id, a);
	lapi_journal_test_dedupe(l, 0);
	free(x.post);
	free(x.answer);
	free(more.post);
	free(more.answer);
}

/*
 * The child: a LAPI whose writer is held, its base URL on the pipe; killed -9
 * by the parent after the pushes.
 */
static void child_main(const char *dir, int fd)
{
	struct cs_lapi *l = NULL;
	char base[64] = "";

	if (start(dir, &l, base, sizeof(base)))
		_exit(1);
	lapi_journal_test_hold(l, true, 0);
	if (write(fd, base, sizeof(base)) != (ssize_t)sizeof(base))
		_exit(1);
	for (;;)
		pause();
}

static void killed_before_store(const char *dir, long long *ids)
{
	char base[64] = "";
	int fds[2];
	pid_t pid;
	int status;

	if (pipe(fds))
		return;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		child_main(dir, fds[1]);
	}
	close(fds[1]);
	if (!ASSERT_TRUE(pid > 0 && read(fds[0], base, sizeof(base)) == (ssize_t)sizeof(base),
			 "a LAPI in a child process, its writer held")) {
		if (pid > 0)
			kill(pid, SIGKILL);
		close(fds[0]);
		return;
	}
	close(fds[0]);
	for (int i = 0; i < KILLED_PUSHES; i++) {
		long code;

		ids[i] = push(base, 40 + i, &code);
		if (!ASSERT_EQ(code, 201L, "a push acknowledged before anything is stored"))
			break;
	}
	/* one sent twice (its answer lost, say): the same id */
	{
		long code;
		long long again = push(base, 40, &code);

		ASSERT_EQ(again, ids[0], "a retry of a journaled uuid answered with its id");
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the LAPI killed -9");
}

int main(void)
{
	static char dir[] = "/tmp/cs-test-journal-XXXXXX";
	char base[64], jpath[256], logpath[256];
	long long ids[KILLED_PUSHES] = { 0 };
	struct cs_lapi *l = NULL;
	struct stat st;
	off_t size_before = 0;
	int64_t exp;
	char *tok = NULL;

	log_set_level(LOG_LVL_WARN);
	/* one arena: mallinfo2 (held_heap) sees the LAPI's threads' heap too */
	mallopt(M_ARENA_MAX, 1);
	codec();
	if (t_scratch_dir(dir))
		return 1;
	setenv("CS_LAPI_SECRET", SECRET, 1);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(jpath, sizeof(jpath), "%s/cs.db-alerts.journal", dir);
	snprintf(logpath, sizeof(logpath), "%s/stderr.log", dir);
	if (!ASSERT_OK(jwt_sign((const uint8_t *)SECRET, LAPI_JWT_SECRET_LEN, MACHINE, gotime_now(),
				LAPI_JWT_LIFETIME, &tok, &exp), "token"))
		goto out;
	snprintf(token, sizeof(token), "%s", tok);
	free(tok);

	/* the machine, then reads and a full journal on a running LAPI */
	if (!ASSERT_OK(start(dir, &l, base, sizeof(base)), "start"))
		goto out;
	ASSERT_OK(cs_db_machine_add(cs_lapi_db(l), MACHINE, "x", "127.0.0.1", true, false,
				    gotime_now()), "the machine");
	ASSERT_TRUE(l->journal != NULL, "SQLite: the journal is on");
	read_own_write(l, base);
	full_journal(l, base);
	held_heap(l, base, dir);
	same_uuid_racing(l, base, dir);
	wall_clock_step(l, base);
	insert_times_out(l, base);
	torn_write(l, base, jpath);
	claimed_kept(l, base);
	cs_lapi_stop(l);
	l = NULL;
	{ /* a database of its own: the counts below are the first LAPI's */
		char rdir[200];

		snprintf(rdir, sizeof(rdir), "%s/rotation", dir);
		if (ASSERT_OK(mkdir(rdir, 0700), "the rotation test's directory"))
			rotation(rdir);
	}

	/* kill -9 between the acknowledgements and the store (the children run a LAPI) */
	killed_before_store(dir, ids);
	if (!ASSERT_OK(stat(jpath, &st), "the journal file"))
		goto out;
	size_before = st.st_size;
	{ /* a record torn by the crash: a header and part of a payload */
		int fd = open(jpath, O_WRONLY | O_APPEND);
		uint8_t torn[20] = { 200, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9 };

		ASSERT_TRUE(fd >= 0 && write(fd, torn, sizeof(torn)) == (ssize_t)sizeof(torn),
			    "a torn record appended");
		if (fd >= 0)
			close(fd);
	}
	{ /* restarted, its warnings on a file */
		int saved = dup(2), lf = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		char warn[4096] = "", want[400];
		int err;
		FILE *f;

		fflush(stderr);
		dup2(lf, 2);
		err = start(dir, &l, base, sizeof(base));
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		close(lf);
		ASSERT_OK(err, "restarted after kill -9 and a torn record");
		f = fopen(logpath, "r");
		if (f) {
			size_t k = fread(warn, 1, sizeof(warn) - 1, f);

			warn[k] = 0;
			fclose(f);
		}
		snprintf(want, sizeof(want), "alert journal %s: the record at offset %lld is cut short",
			 jpath, (long long)size_before);
		if (!ASSERT_TRUE(strstr(warn, want) != NULL, "the torn record warned, file and offset"))
			fprintf(stderr, "  log: %s\n", warn);
	}
	if (!l)
		goto out;
	ASSERT_OK(stat(jpath, &st), "the journal file after the restart");
	ASSERT_TRUE(st.st_size <= size_before, "the torn record cut off");
	for (int i = 0; i < KILLED_PUSHES; i++) {
		char *answer = NULL, want[64];
		long code = get_alert(base, ids[i], &answer);

		snprintf(want, sizeof(want), "\"198.18.91.%d\"", 40 + i);
		if (!ASSERT_EQ(code, 200L, "an acknowledged alert stored under its id") ||
		    !ASSERT_TRUE(answer && strstr(answer, want), "the alert acknowledged under it"))
			fprintf(stderr, "  id %lld: %s\n", ids[i], answer ? answer : "");
		free(answer);
	}
	/* 7 of read_own_write and full_journal, 2 of torn_write */
	ASSERT_EQ(count_alerts(l, "after"), 9 + KILLED_PUSHES, "each stored once");
	{ /* sent again after the restart (its answer lost in the crash): the same id */
		long code;
		long long again = push(base, 41, &code);

		ASSERT_EQ(code, 201L, "a retry after the restart answered 201");
		ASSERT_EQ(again, ids[1], "with the id its first push was answered with");
		ASSERT_EQ(count_alerts(l, "retry"), 9 + KILLED_PUSHES, "and not stored twice");
	}
	{
		long code;
		long long id = push(base, 99, &code);
		char *answer = NULL;

		ASSERT_EQ(code, 201L, "a push after the restart");
		ASSERT_TRUE(id > ids[KILLED_PUSHES - 1], "its id follows the replayed ones");
		ASSERT_EQ(get_alert(base, id, &answer), 200L, "and is read back");
		free(answer);
	}
	cs_lapi_stop(l);
	l = NULL;
	ASSERT_OK(stat(jpath, &st), "the journal file after a clean stop");
	ASSERT_EQ((long long)st.st_size, 16LL, "all stored: cut back to its header");
out:
	cs_lapi_stop(l);
	curl_global_cleanup();
	return TEST_SUMMARY();
}
