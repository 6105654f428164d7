// SPDX-License-Identifier: MIT
/*
 * Storing alerts: through the profiles into the db, synchronously for HTTP
 * pushes, through a bounded queue for the in-process detector.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/condwait.h"
#include "common/gotime.h"
#include "common/log.h"
#include "common/pwhash.h"
#include "common/sha2.h"
#include "lapi/lapi_int.h"

#define LAPI_QUEUE_BATCH 256

#define LAPI_QUEUE_RETRY_MS 500

/*
 * The database is unreachable (PostgreSQL restarting): wait for it, checking
 * every LAPI_QUEUE_RETRY_MS. false when the LAPI stops first. Called and
 * returns with qlock held.
 */
static bool queue_wait_db(struct cs_lapi *l)
{
	bool warned = false;

	while (!l->qstopping) {
		int err;

		pthread_mutex_unlock(&l->qlock);
		err = cs_db_ping(l->db);
		pthread_mutex_lock(&l->qlock);
		if (!err)
			return true;
		if (!warned)
			log_warn("database unreachable: queued alerts wait for it");
		warned = true;
		cs_cond_wait_ms(&l->qcond, &l->qlock, LAPI_QUEUE_RETRY_MS);
	}
	return false;
}

/*
 * Detector alerts: drained in batches of up to LAPI_QUEUE_BATCH, each batch one
 * transaction. While the database is unreachable the batch waits (the queue
 * is bounded: enqueues beyond it are refused and counted). An alert the db
 * refuses (bad decision value) is logged and dropped alone: the batch is
 * retried one by one.
 */
void *lapi_queue_main(void *arg)
{
	struct cs_lapi *l = arg;
	struct cs_alert *batch[LAPI_QUEUE_BATCH];
	int64_t ids[LAPI_QUEUE_BATCH];
	char msg[512];

	pthread_mutex_lock(&l->qlock);
	for (;;) {
		size_t n = 0;
		int err;

		while (!l->qlen && !l->qstopping)
			pthread_cond_wait(&l->qcond, &l->qlock);
		if (!l->qlen && l->qstopping)
			break;
		while (l->qlen && n < LAPI_QUEUE_BATCH) {
			batch[n++] = l->queue[l->qhead];
			l->qhead = (l->qhead + 1) % LAPI_ALERT_QUEUE_MAX;
			l->qlen--;
		}
		l->qbusy = true;
		pthread_mutex_unlock(&l->qlock);
		/* -EAGAIN: the journal's writer is behind (after a 10 s wait): tried again */
		while ((err = lapi_store_alerts(l, batch, n, NULL, gotime_now(), ids, msg,
						sizeof(msg))) &&
		       err != -EINVAL && (err == -EAGAIN || cs_db_ping(l->db))) {
			bool up;

			pthread_mutex_lock(&l->qlock);
			up = queue_wait_db(l);
			pthread_mutex_unlock(&l->qlock);
			if (!up)
				break;
		}
		if (err) {
			for (size_t i = 0; i < n; i++) {
				int64_t id;

				if (lapi_store_alerts(l, &batch[i], 1, NULL, gotime_now(), &id, msg,
						      sizeof(msg)))
					log_error("queued alert '%s' dropped: %s",
						  batch[i]->scenario ? batch[i]->scenario : "?", msg);
			}
		}
		for (size_t i = 0; i < n; i++)
			cs_alert_free(batch[i]);
		pthread_mutex_lock(&l->qlock);
		l->qbusy = false;
		if (!l->qlen)
			pthread_cond_broadcast(&l->qdone);
	}
	pthread_cond_broadcast(&l->qdone);
	pthread_mutex_unlock(&l->qlock);
	return NULL;
}

int cs_lapi_alert_enqueue(struct cs_lapi *l, struct cs_alert *a, const char *machine_id)
{
	int ret = 0;

	if (machine_id) {
		free(a->machine_id);
		a->machine_id = strdup(machine_id);
	}
	pthread_mutex_lock(&l->qlock);
	if (l->qstopping) {
		ret = -ESHUTDOWN;
	} else if (l->qlen >= LAPI_ALERT_QUEUE_MAX) {
		l->qdropped++;
		ret = -EAGAIN;
	} else {
		l->queue[(l->qhead + l->qlen) % LAPI_ALERT_QUEUE_MAX] = a;
		l->qlen++;
		pthread_cond_signal(&l->qcond);
	}
	pthread_mutex_unlock(&l->qlock);
	if (ret)
		cs_alert_free(a);
	return ret;
}

void cs_lapi_alert_flush(struct cs_lapi *l)
{
	pthread_mutex_lock(&l->qlock);
	while ((l->qlen || l->qbusy) && l->qworker_running)
		pthread_cond_wait(&l->qdone, &l->qlock);
	pthread_mutex_unlock(&l->qlock);
}

unsigned long cs_lapi_alerts_dropped(struct cs_lapi *l)
{
	unsigned long n;

	pthread_mutex_lock(&l->qlock);
	n = l->qdropped;
	pthread_mutex_unlock(&l->qlock);
	return n;
}

/* The arrays are one block from keep on: keep NULL says st holds nothing. */
_Static_assert(offsetof(struct lapi_store, drop) - offsetof(struct lapi_store, keep) ==
		       4 * sizeof(void *),
	       "store_release clears keep..drop as one run: nothing may sit between them");
static void store_release(struct lapi_store *st)
{
	free(st->keep);
	memset(&st->keep, 0, (char *)(&st->drop + 1) - (char *)&st->keep);
}

int lapi_store_begin(struct cs_lapi *l, struct lapi_store *st, struct cs_alert **v, size_t n,
		     const char *machine, int64_t now, int64_t *ids, char *msg, size_t msglen)
{
	/* per alert: keep, kids, notify, nnotify (8 bytes each, aligned alike), then drop */
	size_t per = sizeof(*st->keep) + sizeof(*st->kids) + sizeof(*st->notify) +
		     sizeof(*st->nnotify) + sizeof(*st->drop);
	size_t nk = 0, m = n + 1;
	char *block;
	int ret = 0;

	memset(st, 0, sizeof(*st));
	st->v = v;
	st->n = n;
	st->machine = machine;
	st->now = now;
	st->ids = ids;
	block = n < SIZE_MAX / per - 1 ? calloc(m, per) : NULL;
	if (!block) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	st->keep = (struct cs_alert **)block;
	st->kids = (int64_t *)(st->keep + m);
	st->notify = (char *const **)(st->kids + m);
	st->nnotify = (size_t *)(st->notify + m);
	st->drop = (bool *)(st->nnotify + m);
	/* allowlists first: an allowlisted IP or range gets no decision, not even from profiles */
	for (size_t i = 0; i < n; i++) {
		ids[i] = 0;
		if (v[i]->uuid && l->dedupe && machine &&
		    (ids[i] = alert_dedupe_get(l->dedupe, machine, v[i]->uuid)))
			continue; /* stored already: the agent did not hear our answer */
		st->keep[nk++] = v[i];
	}
	/*
	 * Each alert carries its owner before anything reads it: profiles may test
	 * Alert.MachineID (CrowdSec sets it first too), and the alerts are stored in a
	 * group with other callers' alerts. The one place every push route passes.
	 */
	for (size_t i = 0; machine && i < nk; i++) {
		struct cs_alert *a = st->keep[i];

		if (a->machine_id && !strcmp(a->machine_id, machine))
			continue;
		free(a->machine_id);
		a->machine_id = strdup(machine);
		if (!a->machine_id) {
			snprintf(msg, msglen, "out of memory");
			ret = -ENOMEM;
			goto out;
		}
	}
	if (nk)
		lapi_allowlist_filter_all(l, st->keep, nk, now, st->drop);
	{
		size_t k = 0;

		for (size_t i = 0; i < nk; i++)
			if (!st->drop[i])
				st->keep[k++] = st->keep[i];
		nk = k;
	}
	for (size_t i = 0; i < nk; i++) {
		struct cs_alert *a = st->keep[i];

		ret = cs_profiles_apply_notify(l->profiles, a, l->db, &st->notify[i],
					       &st->nnotify[i], msg, msglen);
		if (ret) {
			ret = ret == -ENOMEM ? ret : -EIO;
			goto out;
		}
		for (size_t j = 0; j < a->n_decisions; j++) {
			const struct cs_decision *d = &a->decisions[j];
			struct cs_prefix p;

			if ((!strcasecmp(d->scope, "ip") || !strcasecmp(d->scope, "range")) &&
			    cs_prefix_parse(d->value, CS_PREFIX_MASK, &p)) {
				snprintf(msg, msglen,
					 "invalid addr/range %s : invalid address: invalid ip address / range",
					 d->value);
				ret = -EINVAL;
				goto out;
			}
		}
	}
	st->nk = nk;
	st->commit = (struct lapi_commit_req){ .v = st->keep, .n = nk, .now = now,
					       .ids = st->kids, .msg = st->dberr,
					       .msglen = sizeof(st->dberr) };
out:
	if (ret)
		store_release(st);
	return ret;
}

int lapi_store_end(struct cs_lapi *l, struct lapi_store *st, int ret, char *msg, size_t msglen)
{
	size_t nk = st->nk, nfresh = 0;
	struct cs_alert **keep = st->keep;

	if (ret == -EINVAL)
		snprintf(msg, msglen, "invalid addr/range in a decision");
	else if (ret == -EAGAIN) /* the queue full, or the journal's writer behind (dberr) */
		snprintf(msg, msglen, "%s, retry later",
			 st->dberr[0] ? st->dberr : "too many alerts waiting to be stored");
	else if (ret == -EACCES)
		snprintf(msg, msglen, "the alerts' machine is gone or not validated");
	else if (ret)
		snprintf(msg, msglen, "database error: %s", st->dberr);
	for (size_t i = 0, k = 0; !ret && i < st->n && k < nk; i++)
		if (st->v[i] == keep[k])
			st->ids[i] = st->kids[k++];
	for (size_t k = 0; !ret && k < nk; k++) {
		if (keep[k]->stored_before) /* before a restart, or by another replica */
			continue;
		lapi_notify_alert(l, keep[k], st->kids[k], st->notify[k], st->nnotify[k]);
		keep[nfresh++] = keep[k];
	}
	if (!ret)
		capi_signal_alerts(l, keep, nfresh, st->now);
	store_release(st);
	return ret;
}

void lapi_store_remember(struct cs_lapi *l, struct cs_alert *const *v, size_t n,
			 const int64_t *ids)
{
	for (size_t i = 0; l->dedupe && i < n; i++)
		if (v[i]->uuid && *v[i]->uuid && v[i]->machine_id)
			alert_dedupe_put(l->dedupe, v[i]->machine_id, v[i]->uuid, ids[i]);
}

int lapi_store_alerts(struct cs_lapi *l, struct cs_alert **v, size_t n, const char *machine,
		      int64_t now, int64_t *ids, char *msg, size_t msglen)
{
	struct lapi_store st;
	int ret = lapi_store_begin(l, &st, v, n, machine, now, ids, msg, msglen);

	if (ret)
		return ret;
	return lapi_store_end(l, &st, st.nk ? lapi_commit_wait(l, &st.commit) : 0, msg, msglen);
}

int cs_lapi_alert_submit(struct cs_lapi *l, struct cs_alert *a, const char *machine_id,
			 int64_t *id)
{
	char msg[512];
	int ret = lapi_store_alerts(l, &a, 1, machine_id, gotime_now(), id, msg, sizeof(msg));

	if (ret)
		log_error("alert submit: %s", msg);
	return ret;
}
