// SPDX-License-Identifier: MIT
/*
 * cscli's side of the LAPI client (userspace/lapiclient): logs in as the machine
 * of the credentials file (one fresh login per invocation, like 1.4.6), reports
 * failures the cscli way, and builds query strings.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cscli/cscli.h"
#include "lapiclient/lapiclient.h"

#define CLIENT_UA "cscli/" LAPI_VERSION
#define CLIENT_MAX_RESP (256u << 20)

int client_do(struct lapi_client *cl, const char *method, const char *path, const char *body,
	      long *status, char **resp)
{
	int err = lapi_client_do(cl, method, path, body, status, resp);

	if (err == -EIO)
		cli_error("%s", lapi_client_error(cl));
	return err;
}

void api_error_text(const char *body, char *out, size_t len)
{
	json_t *j = json_loads(body ? body : "", 0, NULL);
	const char *m = json_string_value(json_object_get(j, "message"));

	snprintf(out, len, "API error: %s", m ? m : (body && *body ? body : "empty answer"));
	json_decref(j);
}

void client_login_begin(struct cli *c, struct client_login *l, const atomic_bool *cancel)
{
	const struct lapi_client_opts o = { .user_agent = CLIENT_UA,
					    .timeout_s = 120,
					    .max_answer = CLIENT_MAX_RESP,
					    .insecure = c->cfg.insecure_skip_verify,
					    .cancel = cancel };

	memset(l, 0, sizeof(*l));
	l->open_err = lapi_client_open(c->cfg.credentials_path, &o, &l->cl, l->err, sizeof(l->err));
	if (!l->open_err)
		l->login_err = lapi_client_login(l->cl, &l->status, &l->resp);
}

int client_login_end(struct cli *c, struct client_login *l, struct lapi_client **out)
{
	int ret = l->open_err ? l->open_err : l->login_err;

	*out = NULL;
	if (l->open_err) {
		cli_fatal("unable to load LAPI credentials from %s: %s", c->cfg.credentials_path,
			  l->err);
	} else if (l->login_err == -EIO) {
		cli_error("%s", lapi_client_error(l->cl));
		cli_fatal("unable to reach the Local API at %s", lapi_client_url(l->cl));
	} else if (l->login_err == -EACCES) {
		api_error_text(l->resp, l->err, sizeof(l->err));
		cli_fatal("failed to authenticate to Local API (LAPI): %s", l->err);
	} else if (l->login_err) {
		cli_fatal("%s", lapi_client_error(l->cl));
	}
	if (!ret) {
		*out = l->cl;
		l->cl = NULL;
	}
	client_login_discard(l);
	return ret;
}

void client_login_discard(struct client_login *l)
{
	free(l->resp);
	l->resp = NULL;
	lapi_client_free(l->cl);
	l->cl = NULL;
}

int client_open(struct cli *c, struct lapi_client **out)
{
	struct client_login l;

	client_login_begin(c, &l, NULL);
	return client_login_end(c, &l, out);
}

const char *client_url(struct lapi_client *cl)
{
	return lapi_client_url(cl);
}

const char *client_login(struct lapi_client *cl)
{
	return lapi_client_login_name(cl);
}

void client_close(struct lapi_client *cl)
{
	lapi_client_free(cl);
}

void query_add(struct query *q, const char *k, const char *v)
{
	if (q->n >= 32)
		return;
	q->k[q->n] = strdup(k);
	q->v[q->n] = strdup(v ? v : "");
	q->n++;
}

char *query_encode(struct query *q)
{
	size_t cap = 1, o = 0;
	char *out;

	/* insertion sort by key: Go's Values.Encode order */
	for (size_t i = 1; i < q->n; i++)
		for (size_t j = i; j > 0 && strcmp(q->k[j - 1], q->k[j]) > 0; j--) {
			char *tk = q->k[j], *tv = q->v[j];

			q->k[j] = q->k[j - 1];
			q->v[j] = q->v[j - 1];
			q->k[j - 1] = tk;
			q->v[j - 1] = tv;
		}
	for (size_t i = 0; i < q->n; i++)
		cap += 3 * (strlen(q->k[i]) + strlen(q->v[i])) + 2;
	out = malloc(cap);
	if (!out)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < q->n; i++) {
		char *ek = curl_easy_escape(NULL, q->k[i], 0), *ev = curl_easy_escape(NULL, q->v[i], 0);

		if (ek && ev)
			o += snprintf(out + o, cap - o, "%s%s=%s", i ? "&" : "", ek, ev);
		curl_free(ek);
		curl_free(ev);
	}
	return out;
}

void query_free(struct query *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->k[i]);
		free(q->v[i]);
	}
	q->n = 0;
}

int client_call(struct lapi_client *cl, const char *method, const char *path, const char *body,
		const char *what, json_t **out)
{
	char *resp = NULL, err[1024];
	long status = 0;
	int ret = client_do(cl, method, path, body, &status, &resp);

	if (out)
		*out = NULL;
	if (ret)
		return ret;
	if (status < 200 || status > 299) {
		api_error_text(resp, err, sizeof(err));
		cli_fatal("%s%s", what, err);
		free(resp);
		return -EIO;
	}
	if (out) {
		*out = json_loads(resp, JSON_DECODE_ANY, NULL);
		if (!*out) {
			cli_fatal("%sinvalid JSON answer", what);
			ret = -EPROTO;
		}
	}
	free(resp);
	return ret;
}
