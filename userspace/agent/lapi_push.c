// SPDX-License-Identifier: MIT
#include "agent/lapi_push.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/log.h"
#include "lapiclient/lapiclient.h"

/* Alerts kept while the LAPI cannot take them (bounded: the oldest go first). */
#define LAPI_PUSH_PENDING_MAX 10000
/* Kept alerts go back in requests of this many. */
#define LAPI_PUSH_RETRY_CHUNK 100
/* Between two tries while the LAPI fails: detection must not stall on timeouts. */
#define LAPI_PUSH_RETRY_NS (5 * NSEC_PER_SEC)

struct lapi_push {
	struct lapi_client *cl;
	json_t *pending;
	unsigned long dropped;
	int64_t next_retry;
};

int lapi_push_new(const char *path, struct lapi_push **out, char *err, size_t errlen)
{
	static const struct lapi_client_opts o = { .user_agent = "crowdsec/v1.4.6-c",
						   .timeout_s = 30,
						   .connect_timeout_ms = 3000,
						   .max_answer = 1 << 20 };
	struct lapi_push *p = calloc(1, sizeof(*p));
	char why[512];
	int ret;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	ret = lapi_client_open(path, &o, &p->cl, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, why);
		free(p);
		return ret;
	}
	*out = p;
	return 0;
}

void lapi_push_free(struct lapi_push *p)
{
	if (!p)
		return;
	if (p->pending && json_array_size(p->pending))
		log_warn("%zu alert(s) kept for the LAPI are lost at exit",
			 json_array_size(p->pending));
	json_decref(p->pending);
	lapi_client_free(p->cl);
	free(p);
}

static int login(struct lapi_push *p)
{
	char *answer = NULL;
	long st;
	int err = lapi_client_login(p->cl, &st, &answer);

	free(answer);
	if (err == -EIO)
		log_warn("LAPI %s", lapi_client_error(p->cl));
	else if (err)
		log_error("LAPI %s", lapi_client_error(p->cl));
	return err == -EPROTO ? -EACCES : err;
}

/* One POST: 0, -EACCES, -EIO (unreachable), -EAGAIN (5xx: the LAPI could not store), -EPROTO. */
static int post(struct lapi_push *p, json_t *alerts)
{
	char *body = json_dumps(alerts, JSON_COMPACT);
	int err = 0;

	if (!body)
		return -ENOMEM;
	for (int attempt = 0; attempt < 2; attempt++) {
		char *answer = NULL;
		long st;

		if (!lapi_client_logged_in(p->cl) && (err = login(p)))
			break;
		err = lapi_client_do(p->cl, "POST", "/v1/alerts", body, &st, &answer);
		free(answer);
		if (err) {
			log_warn("LAPI %s", lapi_client_error(p->cl));
			break;
		}
		if (st == 201 || st == 200)
			break;
		if (st == 401 || st == 403) { /* expired token: log in again once */
			lapi_client_logout(p->cl);
			err = -EACCES;
			continue;
		}
		log_warn("LAPI refused alerts (HTTP %ld)", st);
		err = st >= 500 ? -EAGAIN : -EPROTO;
		break;
	}
	free(body);
	return err;
}

/* Unacknowledged alerts the LAPI may take later (it was unreachable, or failed). */
static bool retryable(int err)
{
	return err == -EIO || err == -EAGAIN;
}

static int keep(struct lapi_push *p, json_t *alerts)
{
	size_t n;

	if (!p->pending && !(p->pending = json_array()))
		return -ENOMEM;
	if (json_array_extend(p->pending, alerts))
		return -ENOMEM;
	for (n = 0; json_array_size(p->pending) > LAPI_PUSH_PENDING_MAX; n++)
		json_array_remove(p->pending, 0);
	if (n) {
		p->dropped += n;
		log_warn("%zu kept alert(s) dropped: more than %d wait for the LAPI", n,
			 LAPI_PUSH_PENDING_MAX);
	}
	return 0;
}

int lapi_push_retry(struct lapi_push *p)
{
	size_t sent = 0;
	int err = 0;

	if (!p->pending || !json_array_size(p->pending))
		return 0;
	if (gotime_now() < p->next_retry)
		return -EAGAIN;
	while (json_array_size(p->pending)) {
		size_t k = json_array_size(p->pending);
		json_t *chunk = json_array();

		if (k > LAPI_PUSH_RETRY_CHUNK)
			k = LAPI_PUSH_RETRY_CHUNK;
		for (size_t i = 0; chunk && i < k; i++)
			json_array_append(chunk, json_array_get(p->pending, i));
		err = chunk ? post(p, chunk) : -ENOMEM;
		json_decref(chunk);
		if (err)
			break;
		for (size_t i = 0; i < k; i++)
			json_array_remove(p->pending, 0);
		sent += k;
	}
	if (sent)
		log_info("%zu kept alert(s) delivered to the LAPI", sent);
	if (err)
		p->next_retry = gotime_now() + LAPI_PUSH_RETRY_NS;
	if (err && !retryable(err)) { /* the LAPI refuses them: keeping them would block the rest */
		log_error("%zu kept alert(s) dropped: the LAPI refuses them",
			  json_array_size(p->pending));
		json_array_clear(p->pending);
	}
	return err;
}

int lapi_push_alerts(struct lapi_push *p, json_t *alerts)
{
	int err = p->pending && json_array_size(p->pending) ? lapi_push_retry(p) : 0;

	if (!err)
		err = post(p, alerts);
	if (retryable(err))
		p->next_retry = gotime_now() + LAPI_PUSH_RETRY_NS;
	if (!retryable(err))
		return err;
	/* not acknowledged: kept, in order, for the next try */
	if (keep(p, alerts))
		return -ENOMEM;
	log_warn("%zu alert(s) kept for the LAPI (%zu waiting)", json_array_size(alerts),
		 json_array_size(p->pending));
	return 0;
}
