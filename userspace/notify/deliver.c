// SPDX-License-Identifier: MIT
/* The one delivery thread of every plugin: batches, rendering, retries. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/condwait.h"
#include "common/log.h"
#include "common/worker.h"
#include "notify/notify_int.h"

int64_t notify_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int notify_deliver(struct notification *nt, json_t *batch)
{
	char err[512] = "", *body = NULL;
	size_t len = 0;
	int ret;

	ret = gotmpl_exec(nt->format, batch, &body, &len, err, sizeof(err));
	if (ret) {
		log_error("notification %s: format: %s", nt->name, err);
		return ret;
	}
	for (long attempt = 0; attempt <= nt->max_retry; attempt++) {
		ret = nt->type == NT_OTHER ? -ENOTSUP : notify_plugins[nt->type].send(nt, body, len);
		if (!ret)
			break;
	}
	if (ret)
		log_error("notification %s: giving up after %ld attempt(s)", nt->name, nt->max_retry + 1);
	free(body);
	return ret;
}

/* A batch is due: threshold reached, group_wait passed, or no grouping at all. */
static bool due(const struct notification *nt, int64_t now, bool stopping)
{
	size_t n = json_array_size(nt->pending);

	if (!n)
		return false;
	if (stopping || (!nt->group_wait_ns && !nt->group_threshold))
		return true;
	if (nt->group_threshold && (long)n >= nt->group_threshold)
		return true;
	return nt->group_wait_ns && now - nt->first_ns >= nt->group_wait_ns;
}

static void *worker(void *arg)
{
	struct cs_notify *n = arg;

	pthread_mutex_lock(&n->lock);
	for (;;) {
		int64_t now = notify_now_ns(), next = now + 1000000000LL;
		bool sent = false;

		for (size_t i = 0; i < n->n; i++) {
			struct notification *nt = &n->v[i];
			json_t *batch;

			if (!due(nt, now, n->stopping)) {
				if (json_array_size(nt->pending) && nt->group_wait_ns &&
				    nt->first_ns + nt->group_wait_ns < next)
					next = nt->first_ns + nt->group_wait_ns;
				continue;
			}
			batch = nt->pending;
			nt->pending = NULL;
			pthread_mutex_unlock(&n->lock);
			notify_deliver(nt, batch);
			json_decref(batch);
			pthread_mutex_lock(&n->lock);
			sent = true;
		}
		if (sent)
			continue;
		if (n->stopping)
			break;
		if (next > now) /* rounded up: no spin through the last microseconds */
			cs_cond_wait_ms(&n->wake, &n->lock, (next - now + 999999) / 1000000);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

int cs_notify_start(struct cs_notify *n)
{
	int ret;

	if (!n || n->running || !n->n)
		return 0;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ret = -pthread_create(&n->worker, NULL, worker, n);
	n->running = !ret;
	return ret;
}

void cs_notify_alert(struct cs_notify *n, const char *name, json_t *alert)
{
	for (size_t i = 0; n && i < n->n; i++) {
		struct notification *nt = &n->v[i];
		json_t *copy;

		if (strcmp(nt->name, name) || nt->type == NT_OTHER)
			continue;
		copy = json_deep_copy(alert);
		pthread_mutex_lock(&n->lock);
		if (!nt->pending)
			nt->pending = json_array();
		if (!copy || !nt->pending || json_array_size(nt->pending) >= CS_NOTIFY_QUEUE_MAX) {
			if (!(nt->dropped++ % 1000))
				log_warn("notification %s: queue full, alert dropped", nt->name);
			json_decref(copy);
		} else {
			if (!json_array_size(nt->pending))
				nt->first_ns = notify_now_ns();
			json_array_append_new(nt->pending, copy);
			pthread_cond_signal(&n->wake);
		}
		pthread_mutex_unlock(&n->lock);
		return;
	}
}

void cs_notify_free(struct cs_notify *n)
{
	if (!n)
		return;
	if (n->running) {
		cs_worker_stop(&n->lock, &n->wake, &n->stopping, n->worker);
	}
	for (size_t i = 0; i < n->n; i++)
		notify_clear(&n->v[i]);
	free(n->v);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->wake);
	free(n);
}
