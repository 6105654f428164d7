// SPDX-License-Identifier: MIT
/*
 * Group commit of alerts. Whoever stores alerts (HTTP pushes, the detector's
 * queue worker, cs_lapi_alert_submit) hands them to one writer thread; the
 * writer takes everything handed in meanwhile and stores it as one
 * transaction, so concurrent pushes share one COMMIT (one WAL write, one fsync
 * under synchronous=FULL) instead of queueing for the db lock one by one.
 *
 * HTTP pushes do not hold their libmicrohttpd thread meanwhile: the handler
 * queues its alerts and suspends its connection, and the writer resumes it
 * once the group committed (the handler then runs again and answers). With
 * only 4 MHD threads, a waiting handler per thread would cap a group at 4
 * requests; suspended, every open connection joins the next group. The queue
 * of suspended pushes is bounded (COMMIT_QUEUE_ALERTS): beyond it a push is
 * refused before anything of it is stored.
 *
 * A group waits briefly for the pushes of the connections the previous groups
 * answered moments ago (gather_group): with a few clients pushing one alert
 * each and waiting for the answer, taking only what is queued splits them in
 * two alternating halves, each paying a COMMIT and a round of wake-ups. A lone
 * client never waits: its own push is the one expected; nor do groups of
 * COMMIT_GATHER_ALERTS (larger pushes: the writer is the bound there, and
 * waiting would leave it idle).
 *
 * Every answer still follows its commit. A group the database refuses is
 * stored again one submission at a time, so each caller gets its own answer:
 * an alert that was stored is never reported as failed, one that was not
 * never as stored.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/condwait.h"
#include "common/log.h"
#include "common/worker.h"
#include "lapi/lapi_int.h"

/* alerts in one transaction at most (a submission is never split: an import's is taken whole) */
#define COMMIT_GROUP_ALERTS 4096
/* alerts of suspended pushes waiting for the writer, at most (one submission is always taken) */
#ifndef COMMIT_QUEUE_ALERTS
#define COMMIT_QUEUE_ALERTS 32768
#endif
/* a connection answered this recently is expected to push again (ns) */
#define COMMIT_RECENT_NS 2000000
/* the longest a group waits for them (ns): one round trip on a busy machine */
#define COMMIT_GATHER_NS 500000
/* a group of this many alerts waits for nobody: its COMMIT is shared enough */
#define COMMIT_GATHER_ALERTS 32
/* connections of a group resumed outside the writer's lock, at most */
#define COMMIT_RESUME_BATCH 64
/* connections remembered as recently answered */
#define COMMIT_RECENT_MAX 64

struct lapi_committer {
	struct cs_lapi *l;
	struct cs_db *db;
	pthread_mutex_t lock;
	pthread_cond_t work; /* a submission is queued, or stop */
	pthread_cond_t done; /* a group is stored */
	struct lapi_commit_req *head, **tail;
	size_t queued;	      /* submissions handed in, not taken by the writer yet */
	size_t queued_alerts; /* the alerts of suspended ones among them */
	size_t taken;	      /* submissions taken by the writer, in all */
	size_t suspended;     /* connections suspended, not resumed yet */
	size_t max_queued_alerts;
	bool paused; /* tests: the writer takes nothing */
	bool no_suspend;      /* the listener stops: pushes wait for their commit */
	bool running, stop;
	pthread_t thread;
	bool gathering;	     /* gather_group waits: wake it at gather_target submissions */
	size_t gather_target;
	/* the connections the last groups resumed, and when (gather_group) */
	struct MHD_Connection *recent[COMMIT_RECENT_MAX];
	int64_t recent_at[COMMIT_RECENT_MAX];
	size_t nrecent;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Recently answered connections with no push queued yet (c->lock held). */
static size_t expected_pushes(struct lapi_committer *c, int64_t now)
{
	size_t missing = 0;

	for (size_t i = 0; i < c->nrecent; i++) {
		bool queued = false;

		if (now - c->recent_at[i] > COMMIT_RECENT_NS)
			continue;
		for (struct lapi_commit_req *r = c->head; r && !queued; r = r->next)
			queued = r->conn == c->recent[i];
		missing += !queued;
	}
	return missing;
}

/*
 * Before a group starts (c->lock held, c->head set): while connections the
 * last groups answered have not pushed again, waits for them, COMMIT_GATHER_NS
 * at most. Only suspended pushes wait (an in-process submitter holds a thread).
 */
static void gather_group(struct lapi_committer *c)
{
	int64_t now = mono_ns(), until = now + COMMIT_GATHER_NS;

	while (!c->stop && !c->paused && c->queued_alerts < COMMIT_GATHER_ALERTS) {
		struct timespec ts;
		bool all_suspended = true;
		size_t missing;

		for (struct lapi_commit_req *r = c->head; r && all_suspended; r = r->next)
			all_suspended = r->conn != NULL;
		if (!all_suspended || now >= until || !(missing = expected_pushes(c, now)))
			return;
		ts.tv_sec = until / 1000000000;
		ts.tv_nsec = until % 1000000000;
		/* woken when all of them are in, not at each push: the pushers share c->lock */
		c->gathering = true;
		c->gather_target = c->queued + missing;
		cs_cond_wait_until(&c->work, &c->lock, &ts);
		c->gathering = false;
		now = mono_ns();
	}
}

/* The journal's writer is behind (lapi_journal_exclusive): r is answered "retry later". */
static int not_now(struct lapi_commit_req *r)
{
	if (r->msg)
		snprintf(r->msg, r->msglen, "alerts acknowledged before are not stored yet");
	return -EAGAIN;
}

static int store_alone(struct cs_lapi *l, struct lapi_commit_req *r)
{
	int err;

	/* ids grow as rows are stored: the journal's first */
	if (lapi_journal_exclusive(l, true))
		return not_now(r);
	err = cs_db_alerts_insert(l->db, r->v, r->n, NULL, r->now, r->ids);
	if (!err)
		lapi_store_remember(l, r->v, r->n, r->ids);
	lapi_journal_exclusive(l, false);

	if (err && r->msg)
		snprintf(r->msg, r->msglen, "%s", cs_db_errmsg(l->db));
	return err;
}

/* The submissions from first to the end of the list (NULL-terminated). */
static void store_group(struct cs_lapi *l, struct lapi_commit_req *first, size_t nreq,
			size_t nalerts)
{
	struct cs_alert **all;
	int64_t *ids, now = 0;
	size_t k = 0;
	int err;

	if (nreq == 1) {
		first->err = store_alone(l, first);
		return;
	}
	all = malloc(nalerts * sizeof(*all));
	ids = malloc(nalerts * sizeof(*ids));
	err = all && ids ? 0 : -ENOMEM;
	for (struct lapi_commit_req *r = first; !err && r; r = r->next) {
		for (size_t i = 0; i < r->n; i++)
			all[k++] = r->v[i];
		now = r->now > now ? r->now : now; /* stored now: the latest clock read */
	}
	if (!err && lapi_journal_exclusive(l, true)) {
		err = -EAGAIN;
	} else if (!err) {
		err = cs_db_alerts_insert(l->db, all, nalerts, NULL, now, ids);
		if (!err)
			lapi_store_remember(l, all, nalerts, ids);
		lapi_journal_exclusive(l, false);
	}
	k = 0;
	for (struct lapi_commit_req *r = first; r; r = r->next) {
		if (err == -EAGAIN) { /* the journal's writer is behind: all retry later */
			r->err = not_now(r);
			continue;
		}
		if (err) { /* nothing of the group is stored: each on its own */
			r->err = store_alone(l, r);
			continue;
		}
		for (size_t i = 0; i < r->n; i++)
			r->ids[i] = ids[k++];
		r->err = 0;
	}
	free(all);
	free(ids);
}

static void *committer_main(void *arg)
{
	struct lapi_committer *c = arg;

	pthread_setname_np(pthread_self(), "lapi-commit"); /* its CPU is the ingest's serial bound */
	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct lapi_commit_req *first, *last;
		struct MHD_Connection *resume[COMMIT_RESUME_BATCH];
		size_t nreq = 1, nalerts, nresume;

		while ((!c->head || c->paused) && !c->stop)
			pthread_cond_wait(&c->work, &c->lock);
		if (!c->head)
			break; /* stopping, and everything handed in is stored */
		gather_group(c);
		if (!c->head || c->paused)
			continue;
		first = last = c->head;
		nalerts = first->n;
		while (last->next && nalerts + last->next->n <= COMMIT_GROUP_ALERTS) {
			last = last->next;
			nalerts += last->n;
			nreq++;
		}
		c->head = last->next;
		c->queued -= nreq;
		c->taken += nreq;
		for (struct lapi_commit_req *r = first; r != last->next; r = r->next)
			if (r->conn)
				c->queued_alerts -= r->n;
		if (!c->head)
			c->tail = &c->head;
		last->next = NULL;
		pthread_mutex_unlock(&c->lock);
		store_group(c->l, first, nreq, nalerts);
		pthread_mutex_lock(&c->lock);
		c->nrecent = 0;
		nresume = 0;
		for (struct lapi_commit_req *r = first, *next; r; r = next) {
			struct MHD_Connection *conn = r->conn;

			next = r->next; /* r belongs to its waiter once done is set or conn resumed */
			r->done = true;
			if (!conn)
				continue;
			if (c->nrecent < COMMIT_RECENT_MAX) {
				c->recent[c->nrecent] = conn;
				c->recent_at[c->nrecent++] = mono_ns();
			}
			if (nresume < COMMIT_RESUME_BATCH) {
				resume[nresume++] = conn;
			} else { /* past the batch: resumed under the lock */
				MHD_resume_connection(conn);
				c->suspended--;
			}
		}
		pthread_cond_broadcast(&c->done);
		if (nresume) {
			/*
			 * Outside the lock, so that pushes queue meanwhile: each of these
			 * was suspended (under the lock) before the writer could take it.
			 * suspended drops after: quiesce must not stop the listener
			 * while a resume is in progress.
			 */
			pthread_mutex_unlock(&c->lock);
			for (size_t i = 0; i < nresume; i++)
				MHD_resume_connection(resume[i]);
			pthread_mutex_lock(&c->lock);
			c->suspended -= nresume;
			pthread_cond_broadcast(&c->done);
		}
	}
	c->running = false; /* late submitters store by themselves */
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* What lapi_committer_start made, once its thread is gone (or was never started). */
static void committer_free(struct lapi_committer *c)
{
	pthread_cond_destroy(&c->done);
	pthread_cond_destroy(&c->work);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void lapi_committer_stop(struct cs_lapi *l)
{
	struct lapi_committer *c = l->committer;

	if (!c)
		return;
	cs_worker_stop(&c->lock, &c->work, &c->stop, c->thread); /* after storing what was handed in */
	l->committer = NULL;
	committer_free(c);
}

int lapi_committer_start(struct cs_lapi *l)
{
	struct lapi_committer *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->l = l;
	c->db = l->db;
	c->tail = &c->head;
	c->max_queued_alerts = COMMIT_QUEUE_ALERTS;
	pthread_mutex_init(&c->lock, NULL);
	cs_cond_init_mono(&c->work); /* gather_group's deadline is on the monotonic clock */
	pthread_cond_init(&c->done, NULL);
	c->running = true;
	err = -pthread_create(&c->thread, NULL, committer_main, c);
	if (err) {
		committer_free(c);
		return err;
	}
	l->committer = c;
	return 0;
}

/* Queues r (c->lock held); false when the writer no longer takes submissions. */
static bool enqueue(struct lapi_committer *c, struct lapi_commit_req *r)
{
	if (!c->running || c->stop)
		return false;
	r->next = NULL;
	r->done = false;
	*c->tail = r;
	c->tail = &r->next;
	c->queued++;
	/*
	 * an in-process submitter holds its thread: it ends a gathering; so do
	 * enough alerts for a group (a suspended push counts its own before)
	 */
	if (!c->gathering || !r->conn || c->queued >= c->gather_target ||
	    c->queued_alerts >= COMMIT_GATHER_ALERTS)
		pthread_cond_signal(&c->work);
	return true;
}

int lapi_commit_wait(struct cs_lapi *l, struct lapi_commit_req *r)
{
	struct lapi_committer *c = l->committer;

	r->conn = NULL;
	if (c) {
		pthread_mutex_lock(&c->lock);
		if (enqueue(c, r)) {
			while (!r->done)
				pthread_cond_wait(&c->done, &c->lock);
			pthread_mutex_unlock(&c->lock);
			return r->err;
		}
		pthread_mutex_unlock(&c->lock);
	}
	return r->err = store_alone(l, r);
}

int lapi_commit_suspend(struct cs_lapi *l, struct lapi_commit_req *r, struct MHD_Connection *conn)
{
	struct lapi_committer *c = l->committer;

	if (c) {
		pthread_mutex_lock(&c->lock);
		if (c->running && !c->stop && !c->no_suspend) {
			if (c->queued_alerts && c->queued_alerts + r->n > c->max_queued_alerts) {
				pthread_mutex_unlock(&c->lock);
				return -EAGAIN;
			}
			r->conn = conn;
			c->queued_alerts += r->n; /* before enqueue: they can end a gathering */
			enqueue(c, r);
			c->suspended++;
			/* before the writer can resume it: it takes r under this lock */
			MHD_suspend_connection(conn);
			pthread_mutex_unlock(&c->lock);
			return -EINPROGRESS;
		}
		pthread_mutex_unlock(&c->lock);
	}
	return lapi_commit_wait(l, r);
}

void lapi_committer_quiesce(struct cs_lapi *l)
{
	struct lapi_committer *c = l->committer;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->no_suspend = true;
	while (c->suspended)
		pthread_cond_wait(&c->done, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

int lapi_commit_alerts(struct cs_lapi *l, struct cs_alert *const *v, size_t n, int64_t now,
		       int64_t *ids, char *msg, size_t msglen)
{
	struct lapi_commit_req r = { .v = v, .n = n, .now = now, .ids = ids, .msg = msg,
				     .msglen = msglen };

	return lapi_commit_wait(l, &r);
}

void lapi_commit_counts(struct cs_lapi *l, size_t *queued, size_t *taken)
{
	struct lapi_committer *c = l->committer;

	*queued = *taken = 0;
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	*queued = c->queued;
	*taken = c->taken;
	pthread_mutex_unlock(&c->lock);
}

void lapi_commit_test_hold(struct cs_lapi *l, bool paused, size_t max_queued_alerts)
{
	struct lapi_committer *c = l->committer;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->paused = paused;
	c->max_queued_alerts = max_queued_alerts ? max_queued_alerts : COMMIT_QUEUE_ALERTS;
	pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->lock);
}
