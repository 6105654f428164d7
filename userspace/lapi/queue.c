// SPDX-License-Identifier: MIT
/*
 * Storing alerts: through the profiles into the db, synchronously for HTTP
 * pushes, through a bounded queue for the in-process detector.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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
		struct timespec ts;
		int err;

		pthread_mutex_unlock(&l->qlock);
		err = cs_db_ping(l->db);
		pthread_mutex_lock(&l->qlock);
		if (!err)
			return true;
		if (!warned)
			log_warn("database unreachable: queued alerts wait for it");
		warned = true;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += LAPI_QUEUE_RETRY_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&l->qcond, &l->qlock, &ts);
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
		while ((err = lapi_store_alerts(l, batch, n, NULL, gotime_now(), ids, msg,
						sizeof(msg))) &&
		       err != -EINVAL && cs_db_ping(l->db)) {
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

int lapi_store_alerts(struct cs_lapi *l, struct cs_alert **v, size_t n, const char *machine,
		      int64_t now, int64_t *ids, char *msg, size_t msglen)
{
	struct cs_alert **keep = calloc(n + 1, sizeof(*keep));
	int64_t *kids = calloc(n + 1, sizeof(*kids));
	char *const **notify = calloc(n + 1, sizeof(*notify));
	size_t *nnotify = calloc(n + 1, sizeof(*nnotify));
	bool *drop = calloc(n + 1, sizeof(*drop));
	size_t nk = 0, nfresh = 0;
	char dberr[256] = "";
	int ret = 0;

	if (!keep || !kids || !notify || !nnotify || !drop) {
		snprintf(msg, msglen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	/* allowlists first: an allowlisted IP or range gets no decision, not even from profiles */
	for (size_t i = 0; i < n; i++) {
		ids[i] = 0;
		if (v[i]->uuid && l->dedupe && machine &&
		    (ids[i] = alert_dedupe_get(l->dedupe, machine, v[i]->uuid)))
			continue; /* stored already: the agent did not hear our answer */
		keep[nk++] = v[i];
	}
	if (nk)
		lapi_allowlist_filter_all(l, keep, nk, now, drop);
	{
		size_t k = 0;

		for (size_t i = 0; i < nk; i++)
			if (!drop[i])
				keep[k++] = keep[i];
		nk = k;
	}
	for (size_t i = 0; i < nk; i++) {
		ret = cs_profiles_apply_notify(l->profiles, keep[i], l->db, &notify[i], &nnotify[i],
					       msg, msglen);
		if (ret) {
			ret = ret == -ENOMEM ? ret : -EIO;
			goto out;
		}
		for (size_t j = 0; j < keep[i]->n_decisions; j++) {
			const struct cs_decision *d = &keep[i]->decisions[j];
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
	if (!nk)
		goto out;
	/* stored in a group with other callers' alerts: each carries its owner */
	for (size_t i = 0; machine && i < nk; i++) {
		if (keep[i]->machine_id && !strcmp(keep[i]->machine_id, machine))
			continue;
		free(keep[i]->machine_id);
		keep[i]->machine_id = strdup(machine);
		if (!keep[i]->machine_id) {
			snprintf(msg, msglen, "out of memory");
			ret = -ENOMEM;
			goto out;
		}
	}
	ret = lapi_commit_alerts(l, keep, nk, now, kids, dberr, sizeof(dberr));
	if (ret == -EINVAL)
		snprintf(msg, msglen, "invalid addr/range in a decision");
	else if (ret)
		snprintf(msg, msglen, "database error: %s", dberr);
	for (size_t i = 0, k = 0; !ret && i < n && k < nk; i++)
		if (v[i] == keep[k])
			ids[i] = kids[k++];
	for (size_t k = 0; !ret && k < nk; k++) {
		if (keep[k]->uuid && l->dedupe && machine)
			alert_dedupe_put(l->dedupe, machine, keep[k]->uuid, kids[k]);
		if (keep[k]->stored_before) /* before a restart, or by another replica */
			continue;
		lapi_notify_alert(l, keep[k], kids[k], notify[k], nnotify[k]);
		keep[nfresh++] = keep[k];
	}
	if (!ret)
		capi_signal_alerts(l, keep, nfresh, now);
out:
	free(keep);
	free(kids);
	free(notify);
	free(nnotify);
	free(drop);
	return ret;
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
