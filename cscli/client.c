// SPDX-License-Identifier: MIT
/*
 * The only file of cscli that speaks HTTP: logs in to the LAPI as the machine
 * of the credentials file (one fresh login per invocation, like 1.4.6) and
 * sends requests with the JWT.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/yamljson.h"
#include "cscli/cscli.h"

#define CLIENT_UA "cscli/" LAPI_VERSION
#define CLIENT_MAX_RESP (256u << 20)

struct lapi_client {
	CURL *curl;
	char *url; /* base, no trailing slash */
	char *login;
	char *token;
	bool insecure; /* api.client.insecure_skip_verify */
};

/* curl write callback: the answer into an sbuf bounded by CLIENT_MAX_RESP */
static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct sbuf *b = ud;

	sb_putn(b, ptr, size * nmemb);
	return b->err ? 0 : size * nmemb;
}

int client_do(struct lapi_client *cl, const char *method, const char *path, const char *body,
	      long *status, char **resp)
{
	struct curl_slist *hdrs = NULL;
	struct sbuf b = { .max = CLIENT_MAX_RESP };
	char *url = NULL, *auth = NULL;
	CURLcode rc;
	int err = 0;

	*resp = NULL;
	if (asprintf(&url, "%s%s", cl->url, path) < 0)
		return -ENOMEM;
	curl_easy_reset(cl->curl);
	curl_easy_setopt(cl->curl, CURLOPT_URL, url);
	curl_easy_setopt(cl->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(cl->curl, CURLOPT_USERAGENT, CLIENT_UA);
	curl_easy_setopt(cl->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(cl->curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(cl->curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(cl->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cl->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cl->insecure) {
		curl_easy_setopt(cl->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(cl->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(cl->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(cl->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (cl->token && asprintf(&auth, "Authorization: Bearer %s", cl->token) > 0)
		hdrs = curl_slist_append(hdrs, auth);
	curl_easy_setopt(cl->curl, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(cl->curl);
	if (rc != CURLE_OK || b.err) {
		cli_error("%s %s: %s", method, url,
			  b.err ? "response too large" : curl_easy_strerror(rc));
		err = -EIO;
		sb_free(&b);
	} else {
		curl_easy_getinfo(cl->curl, CURLINFO_RESPONSE_CODE, status);
		*resp = sb_take(&b, NULL);
	}
	curl_slist_free_all(hdrs);
	free(auth);
	free(url);
	return err;
}

void api_error_text(const char *body, char *out, size_t len)
{
	json_t *j = json_loads(body ? body : "", 0, NULL);
	const char *m = json_string_value(json_object_get(j, "message"));

	snprintf(out, len, "API error: %s", m ? m : (body && *body ? body : "empty answer"));
	json_decref(j);
}

int client_open(struct cli *c, struct lapi_client **out)
{
	char err[1024], *resp = NULL, *body = NULL;
	struct lapi_client *cl = calloc(1, sizeof(*cl));
	json_t *docs = NULL, *root, *tok;
	const char *url, *login, *pw;
	long status = 0;
	int ret = -EINVAL;

	*out = NULL;
	if (!cl)
		return -ENOMEM;
	docs = yamljson_load_file(c->cfg.credentials_path, false, err, sizeof(err));
	root = json_array_get(docs, 0);
	url = yamljson_get_str(root, "url", NULL);
	login = yamljson_get_str(root, "login", NULL);
	pw = yamljson_get_str(root, "password", NULL);
	if (!url || !login || !pw) {
		cli_fatal("unable to load LAPI credentials from %s: %s", c->cfg.credentials_path,
			  docs ? "url, login and password are required" : err);
		goto out;
	}
	cl->url = strdup(url);
	cl->login = strdup(login);
	cl->insecure = c->cfg.insecure_skip_verify;
	if (!cl->url || !cl->login) {
		ret = -ENOMEM;
		goto out;
	}
	while (*cl->url && cl->url[strlen(cl->url) - 1] == '/')
		cl->url[strlen(cl->url) - 1] = '\0';
	cl->curl = curl_easy_init();
	if (!cl->curl) {
		ret = -ENOMEM;
		goto out;
	}
	tok = json_pack("{s:s,s:s,s:n}", "machine_id", login, "password", pw, "scenarios");
	body = json_dumps(tok, JSON_COMPACT);
	json_decref(tok);
	if (!body) {
		ret = -ENOMEM;
		goto out;
	}
	ret = client_do(cl, "POST", "/v1/watchers/login", body, &status, &resp);
	if (ret) {
		cli_fatal("unable to reach the Local API at %s", cl->url);
		goto out;
	}
	if (status != 200) {
		api_error_text(resp, err, sizeof(err));
		cli_fatal("failed to authenticate to Local API (LAPI): %s", err);
		ret = -EACCES;
		goto out;
	}
	json_decref(docs);
	docs = json_loads(resp, 0, NULL);
	tok = json_object_get(docs, "token");
	if (!json_is_string(tok)) {
		cli_fatal("login answer without a token");
		ret = -EPROTO;
		goto out;
	}
	cl->token = strdup(json_string_value(tok));
	ret = cl->token ? 0 : -ENOMEM;
out:
	free(body);
	free(resp);
	json_decref(docs);
	if (ret)
		client_close(cl);
	else
		*out = cl;
	return ret;
}

const char *client_url(struct lapi_client *cl)
{
	return cl->url;
}

const char *client_login(struct lapi_client *cl)
{
	return cl->login;
}

void client_close(struct lapi_client *cl)
{
	if (!cl)
		return;
	if (cl->curl)
		curl_easy_cleanup(cl->curl);
	free(cl->url);
	free(cl->login);
	free(cl->token);
	free(cl);
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
