// SPDX-License-Identifier: MIT
#include "agent/lapi_push.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "lapiclient/lapiclient.h"

struct lapi_push {
	struct lapi_client *cl;
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

int lapi_push_alerts(struct lapi_push *p, json_t *alerts)
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
		err = -EPROTO;
		break;
	}
	free(body);
	return err;
}
