// SPDX-License-Identifier: MIT
#include "agent/lapi_push.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/outbox.h"
#include "common/condwait.h"
#include "common/log.h"
#include "common/sha2.h"
#include "common/worker.h"
#include "lapiclient/lapiclient.h"

#define DEFAULT_MAX_BATCHES 10000
#define DEFAULT_MAX_BYTES (64u << 20)
#define DEFAULT_MAX_BACKOFF_MS 30000
#define FIRST_BACKOFF_MS 250

/* What one attempt at delivering a batch came to. */
enum outcome { SENT, RETRY, REFUSED };

struct lapi_push {
	struct lapi_client *cl;	/* the delivery thread's only */
	struct outbox *ob;
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* work queued, or stop */
	pthread_cond_t drained;	/* a batch left the outbox */
	pthread_t thread;
	bool started, stop;
	int max_backoff_ms;
	struct lapi_push_stats st;
};

static enum outcome login(struct lapi_push *p)
{
	char *answer = NULL;
	long st;
	int err = lapi_client_login(p->cl, &st, &answer);

	free(answer);
	if (!err)
		return SENT;
	/* A refused login is retried too: the operator may validate the machine later. */
	log_warn("LAPI %s", lapi_client_error(p->cl));
	return RETRY;
}

static enum outcome send_batch(struct lapi_push *p, const char *body)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		char *answer = NULL;
		long st;
		int err;

		if (!lapi_client_logged_in(p->cl) && login(p) != SENT)
			return RETRY;
		err = lapi_client_do(p->cl, "POST", "/v1/alerts", body, &st, &answer);
		free(answer);
		if (err) {
			log_warn("LAPI %s", lapi_client_error(p->cl));
			return RETRY;
		}
		if (st == 200 || st == 201)
			return SENT;
		if (st == 401 || st == 403) { /* expired token: log in again once */
			lapi_client_logout(p->cl);
			continue;
		}
		if (st >= 500 || st == 429) {
			log_warn("LAPI answered HTTP %ld to alerts, will retry", st);
			return RETRY;
		}
		log_error("LAPI refused a batch of alerts for good (HTTP %ld)", st);
		return REFUSED;
	}
	return RETRY;
}

static size_t batch_alerts(const char *body)
{
	json_t *j = json_loads(body, 0, NULL);
	size_t n = json_array_size(j);

	json_decref(j);
	return n;
}

static void *deliver(void *arg)
{
	struct lapi_push *p = arg;
	int backoff_ms = 0;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		const char *head;
		enum outcome r;
		uint64_t seq;
		size_t len;
		char *body;

		head = outbox_peek(p->ob, &len, &seq);
		if (!head) {
			pthread_cond_wait(&p->wake, &p->lock);
			continue;
		}
		body = strndup(head, len); /* a put may drop the head while we send */
		pthread_mutex_unlock(&p->lock);
		r = body ? send_batch(p, body) : RETRY;
		pthread_mutex_lock(&p->lock);
		if (r == RETRY) {
			struct timespec until;

			p->st.retries++;
			backoff_ms = backoff_ms ? backoff_ms * 2 : FIRST_BACKOFF_MS;
			if (backoff_ms > p->max_backoff_ms)
				backoff_ms = p->max_backoff_ms;
			until = cs_mono_deadline(backoff_ms);
			while (!p->stop && cs_cond_wait_until(&p->wake, &p->lock, &until) != ETIMEDOUT)
				;
		} else {
			backoff_ms = 0;
			if (r == SENT)
				p->st.delivered += batch_alerts(body);
			else
				p->st.rejected += batch_alerts(body);
			outbox_pop(p->ob, seq);
			pthread_cond_broadcast(&p->drained);
		}
		free(body);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void lapi_push_free(struct lapi_push *p)
{
	if (!p)
		return;
	if (p->started)
		cs_worker_stop(&p->lock, &p->wake, &p->stop, p->thread);
	if (p->ob && !outbox_empty(p->ob)) {
		struct outbox_stats os;

		outbox_get_stats(p->ob, &os);
		log_warn("agent outbox: %zu batch(es) of alerts not delivered yet%s", os.batches,
			 p->st.recovered || os.batches ? " (kept in the spool when there is one)" : "");
	}
	outbox_free(p->ob);
	lapi_client_free(p->cl);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->drained);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int lapi_push_new(const struct lapi_push_opts *o, struct lapi_push **out, char *err,
		  size_t errlen)
{
	static const struct lapi_client_opts co = { .user_agent = "crowdsec/v1.4.6-c",
						    .timeout_s = 30,
						    .connect_timeout_ms = 3000,
						    .max_answer = 1 << 20 };
	struct outbox_opts oo = {
		.dir = o->spool_dir,
		.max_batches = o->max_batches ? o->max_batches : DEFAULT_MAX_BATCHES,
		.max_bytes = o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES,
	};
	struct lapi_push *p = calloc(1, sizeof(*p));
	char why[512];
	int ret;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	cs_cond_init_mono(&p->wake); /* its waits: cs_cond_wait_until */
	cs_cond_init_mono(&p->drained);
	p->max_backoff_ms = o->max_backoff_ms > 0 ? o->max_backoff_ms : DEFAULT_MAX_BACKOFF_MS;
	ret = lapi_client_open(o->credentials_path, &co, &p->cl, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "%s: %s", o->credentials_path, why);
		goto fail;
	}
	ret = outbox_open(&oo, &p->ob, err, errlen);
	if (ret)
		goto fail;
	{
		struct outbox_stats os;

		outbox_get_stats(p->ob, &os);
		p->st.recovered = os.recovered;
		if (os.recovered)
			log_info("agent outbox: %llu batch(es) of alerts from an earlier run to deliver",
				 (unsigned long long)os.recovered);
	}
	ret = -pthread_create(&p->thread, NULL, deliver, p);
	if (ret) {
		snprintf(err, errlen, "delivery thread: %s", strerror(-ret));
		goto fail;
	}
	p->started = true;
	*out = p;
	return 0;
fail:
	lapi_push_free(p);
	return ret;
}

/* RFC 4122 version 4, as CrowdSec's alerts carry since 1.6. */
static int new_uuid(char out[37])
{
	uint8_t b[16];
	int err = random_bytes(b, sizeof(b));

	if (err)
		return err;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
	return 0;
}

char *lapi_push_render(json_t *alerts, size_t *len)
{
	size_t i;
	json_t *a;
	char *body;

	json_array_foreach(alerts, i, a) {
		char id[37];

		if (json_is_string(json_object_get(a, "uuid")))
			continue;
		if (new_uuid(id) || json_object_set_new(a, "uuid", json_string(id)))
			return NULL;
	}
	body = json_dumps(alerts, JSON_COMPACT);
	if (body)
		*len = strlen(body);
	return body;
}

int lapi_push_body(struct lapi_push *p, const char *body, size_t len)
{
	int err;

	pthread_mutex_lock(&p->lock);
	err = outbox_put(p->ob, body, len);
	if (err != -ENOMEM && err != -EMSGSIZE)
		pthread_cond_signal(&p->wake);
	{
		struct outbox_stats os;

		outbox_get_stats(p->ob, &os);
		p->st.dropped = os.dropped;
	}
	pthread_mutex_unlock(&p->lock);
	if (err)
		log_warn("agent outbox: %s", err == -EMSGSIZE ? "batch larger than the outbox, dropped"
							       : strerror(-err));
	return err;
}

int lapi_push_alerts(struct lapi_push *p, json_t *alerts)
{
	size_t len = 0;
	char *body = lapi_push_render(alerts, &len);
	int err = body ? lapi_push_body(p, body, len) : -ENOMEM;

	free(body);
	return err;
}

int lapi_push_drain(struct lapi_push *p, int timeout_ms)
{
	struct timespec until = cs_mono_deadline(timeout_ms);
	int err = 0;

	pthread_mutex_lock(&p->lock);
	while (!outbox_empty(p->ob) && err != ETIMEDOUT)
		err = cs_cond_wait_until(&p->drained, &p->lock, &until);
	err = outbox_empty(p->ob) ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&p->lock);
	return err;
}

void lapi_push_get_stats(struct lapi_push *p, struct lapi_push_stats *st)
{
	struct outbox_stats os;

	pthread_mutex_lock(&p->lock);
	outbox_get_stats(p->ob, &os);
	*st = p->st;
	st->pending = os.batches;
	st->dropped = os.dropped;
	pthread_mutex_unlock(&p->lock);
}
