// SPDX-License-Identifier: MIT
#include "agent/lapi_push.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/yamljson.h"

#define MAX_ANSWER (1 << 20)

struct lapi_push {
	CURL *curl;
	char *url;	/* with trailing slash */
	char *login, *password;
	char *token;	/* NULL: log in first */
};

/* curl write callback: the answer into an sbuf bounded by MAX_ANSWER */
static size_t collect(char *d, size_t sz, size_t n, void *arg)
{
	struct sbuf *b = arg;

	sb_putn(b, d, sz * n);
	return b->err ? 0 : sz * n;
}

int lapi_push_new(const char *path, struct lapi_push **out, char *err, size_t errlen)
{
	struct lapi_push *p;
	json_t *docs, *root;
	const char *url, *login, *password;

	docs = yamljson_load_file(path, false, err, errlen);
	if (!docs)
		return -EINVAL;
	root = json_array_get(docs, 0);
	url = yamljson_get_str(root, "url", NULL);
	login = yamljson_get_str(root, "login", NULL);
	password = yamljson_get_str(root, "password", NULL);
	if (!url || !login || !password) {
		snprintf(err, errlen, "%s: url, login and password are required", path);
		json_decref(docs);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		json_decref(docs);
		return -ENOMEM;
	}
	p->url = malloc(strlen(url) + 2);
	if (p->url)
		sprintf(p->url, "%s%s", url, url[strlen(url) - 1] == '/' ? "" : "/");
	p->login = strdup(login);
	p->password = strdup(password);
	json_decref(docs);
	p->curl = curl_easy_init();
	if (!p->url || !p->login || !p->password || !p->curl) {
		lapi_push_free(p);
		return -ENOMEM;
	}
	curl_easy_setopt(p->curl, CURLOPT_USERAGENT, "crowdsec/v1.4.6-c");
	curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(p->curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, collect);
	*out = p;
	return 0;
}

void lapi_push_free(struct lapi_push *p)
{
	if (!p)
		return;
	if (p->curl)
		curl_easy_cleanup(p->curl);
	free(p->url);
	free(p->login);
	free(p->password);
	free(p->token);
	free(p);
}

/* POST body to url+path; returns the HTTP status (or -EIO) and the answer in *ans. */
static long post(struct lapi_push *p, const char *path, const char *body, struct sbuf *ans)
{
	struct curl_slist *h = NULL;
	char url[2048], auth[4096];
	long status = 0;
	CURLcode cc;

	snprintf(url, sizeof(url), "%s%s", p->url, path);
	h = curl_slist_append(h, "Content-Type: application/json");
	if (p->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->token);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(p->curl, CURLOPT_URL, url);
	curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, ans);
	cc = curl_easy_perform(p->curl);
	curl_slist_free_all(h);
	if (cc != CURLE_OK) {
		log_warn("LAPI %s: %s", url, curl_easy_strerror(cc));
		return -EIO;
	}
	curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static int login(struct lapi_push *p)
{
	json_t *req = json_pack("{s:s, s:s}", "machine_id", p->login, "password", p->password);
	char *body = json_dumps(req, JSON_COMPACT);
	struct sbuf ans = { .max = MAX_ANSWER };
	json_t *j = NULL;
	long st;
	int err = -EACCES;

	free(p->token);
	p->token = NULL;
	st = body ? post(p, "v1/watchers/login", body, &ans) : -ENOMEM;
	if (st == 200 && ans.buf && (j = json_loads(ans.buf, 0, NULL)) &&
	    json_is_string(json_object_get(j, "token"))) {
		p->token = strdup(json_string_value(json_object_get(j, "token")));
		err = p->token ? 0 : -ENOMEM;
	} else if (st < 0) {
		err = (int)st;
	} else {
		log_error("LAPI login as %s refused (HTTP %ld)", p->login, st);
	}
	json_decref(j);
	json_decref(req);
	free(body);
	sb_free(&ans);
	return err;
}

int lapi_push_alerts(struct lapi_push *p, json_t *alerts)
{
	char *body = json_dumps(alerts, JSON_COMPACT);
	int err = 0;

	if (!body)
		return -ENOMEM;
	for (int attempt = 0; attempt < 2; attempt++) {
		struct sbuf ans = { .max = MAX_ANSWER };
		long st;

		if (!p->token && (err = login(p)))
			break;
		st = post(p, "v1/alerts", body, &ans);
		sb_free(&ans);
		if (st == 201 || st == 200) {
			err = 0;
			break;
		}
		if (st == 401 || st == 403) { /* expired token: log in again once */
			free(p->token);
			p->token = NULL;
			err = -EACCES;
			continue;
		}
		err = st < 0 ? (int)st : -EPROTO;
		if (st >= 0)
			log_warn("LAPI refused alerts (HTTP %ld)", st);
		break;
	}
	free(body);
	return err;
}
