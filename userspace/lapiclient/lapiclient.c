// SPDX-License-Identifier: MIT
/* A machine's Local API client; see lapiclient.h. */
#include "lapiclient/lapiclient.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/record.h"
#include "common/strbuf.h"
#include "common/yamljson.h"

struct lapi_client {
	struct lapi_client_opts o;
	CURL *curl;
	char *url; /* base, no trailing slash */
	char *login, *password;
	char *ca_cert, *cert, *key; /* TLS (credentials file); NULL or "" when unset */
	char *token; /* NULL: not logged in */
	char error[512];
};

/* curl write callback: the answer into an sbuf bounded by the client's max_answer */
static size_t lapi_answer_write(char *data, size_t size, size_t nmemb, void *answer)
{
	struct sbuf *b = answer;

	sb_putn(b, data, size * nmemb);
	return b->err ? 0 : size * nmemb;
}

/* The credentials file's keys (CrowdSec's local_api_credentials.yaml), and the token. */
static const struct rec_field client_fields[] = {
	REC_ROW(struct lapi_client, "url", url, REC_STR),
	REC_STR_OR(struct lapi_client, "login", login, ""),
	REC_STR_OR(struct lapi_client, "password", password, ""),
	REC_ROW(struct lapi_client, "ca_cert_path", ca_cert, REC_STR),
	REC_ROW(struct lapi_client, "cert_path", cert, REC_STR),
	REC_ROW(struct lapi_client, "key_path", key, REC_STR),
	REC_ROW(struct lapi_client, NULL, token, REC_STR),
};
static const struct rec_schema client_schema = REC_SCHEMA(client_fields);

static bool given(const char *s)
{
	return s && *s;
}

/* CrowdSec's rules: a certificate replaces the login, never adds to it. */
static const char *credentials_error(const struct lapi_client *cl, json_t *root)
{
	if (given(cl->cert) != given(cl->key))
		return "cert_path and key_path go together";
	if (given(cl->cert) && given(cl->login))
		return "login/password and TLS authentication (cert_path) are mutually exclusive";
	if (!cl->url || (!given(cl->cert) && (!yamljson_get_str(root, "login", NULL) ||
					      !yamljson_get_str(root, "password", NULL))))
		return "url, and login and password (or cert_path and key_path) are required";
	return NULL;
}

int lapi_client_open(const char *path, const struct lapi_client_opts *o,
		     struct lapi_client **out, char *err, size_t errlen)
{
	struct lapi_client *cl;
	const char *why = NULL;
	json_t *docs;
	int ret;

	*out = NULL;
	docs = yamljson_load_file(path, false, err, errlen);
	if (!docs)
		return -EINVAL;
	cl = calloc(1, sizeof(*cl));
	ret = cl ? rec_json_read(&client_schema, cl, json_array_get(docs, 0)) : -ENOMEM;
	if (!ret)
		why = credentials_error(cl, json_array_get(docs, 0));
	json_decref(docs);
	if (!ret && !why && !(cl->curl = curl_easy_init()))
		ret = -ENOMEM;
	if (ret || why) {
		lapi_client_free(cl);
		snprintf(err, errlen, "%s", why ? why : "out of memory");
		return why ? -EINVAL : ret;
	}
	cl->o = *o;
	while (*cl->url && cl->url[strlen(cl->url) - 1] == '/')
		cl->url[strlen(cl->url) - 1] = '\0';
	*out = cl;
	return 0;
}

void lapi_client_free(struct lapi_client *cl)
{
	if (!cl)
		return;
	if (cl->curl)
		curl_easy_cleanup(cl->curl);
	rec_free(&client_schema, cl);
	free(cl);
}

/*
 * Where a streamed answer goes: to the caller's fn while the status is 2xx;
 * an error answer into err_body (bounded) for the caller to log.
 */
struct stream_sink {
	CURL *curl;
	lapi_client_data_fn fn;
	void *arg;
	int err; /* fn's */
	struct sbuf err_body;
};

static size_t lapi_stream_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct stream_sink *k = arg;
	long status = 0;

	curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300) {
		/* a long error page is cut, not a transport failure: its first
		 * bytes say why, and the status is what the caller acts on */
		size_t room = k->err_body.max - k->err_body.len, n = size * nmemb;

		sb_putn(&k->err_body, data, n < room ? n : room);
		return k->err_body.err ? 0 : n;
	}
	k->err = k->fn(data, size * nmemb, k->arg);
	return k->err ? 0 : size * nmemb;
}

/* curl progress callback (also called while connecting or idle): non-zero aborts */
static int lapi_cancel_check(void *cancel, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			     curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return atomic_load((const atomic_bool *)cancel);
}

/* One request; the answer through write(wdata), its failure in cl->error. */
static int perform(struct lapi_client *cl, const char *method, const char *path,
		   const char *body, long *status, curl_write_callback write, void *wdata,
		   int (*why)(void *wdata, const char **msg))
{
	struct curl_slist *hdrs = NULL;
	char *url = NULL, *auth = NULL;
	const char *msg = NULL;
	CURLcode rc;
	int err = 0;

	*status = 0;
	if (asprintf(&url, "%s%s", cl->url, path) < 0)
		return -ENOMEM;
	curl_easy_reset(cl->curl);
	curl_easy_setopt(cl->curl, CURLOPT_URL, url);
	curl_easy_setopt(cl->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(cl->curl, CURLOPT_USERAGENT, cl->o.user_agent);
	curl_easy_setopt(cl->curl, CURLOPT_WRITEFUNCTION, write);
	curl_easy_setopt(cl->curl, CURLOPT_WRITEDATA, wdata);
	curl_easy_setopt(cl->curl, CURLOPT_TIMEOUT, cl->o.timeout_s);
	if (cl->o.connect_timeout_ms)
		curl_easy_setopt(cl->curl, CURLOPT_CONNECTTIMEOUT_MS, cl->o.connect_timeout_ms);
	curl_easy_setopt(cl->curl, CURLOPT_NOSIGNAL, 1L);
	if (cl->o.cancel) {
		curl_easy_setopt(cl->curl, CURLOPT_XFERINFOFUNCTION, lapi_cancel_check);
		curl_easy_setopt(cl->curl, CURLOPT_XFERINFODATA, (void *)cl->o.cancel);
		curl_easy_setopt(cl->curl, CURLOPT_NOPROGRESS, 0L);
	}
	curl_easy_setopt(cl->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cl->o.insecure) {
		curl_easy_setopt(cl->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(cl->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (given(cl->ca_cert))
		curl_easy_setopt(cl->curl, CURLOPT_CAINFO, cl->ca_cert);
	if (given(cl->cert)) {
		curl_easy_setopt(cl->curl, CURLOPT_SSLCERT, cl->cert);
		curl_easy_setopt(cl->curl, CURLOPT_SSLKEY, cl->key);
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
	err = why(wdata, &msg);
	if (rc != CURLE_OK || err) {
		snprintf(cl->error, sizeof(cl->error), "%s %s: %s", method, url,
			 msg ? msg : curl_easy_strerror(rc));
		err = err ? err : rc == CURLE_ABORTED_BY_CALLBACK ? -ECANCELED : -EIO;
	} else {
		curl_easy_getinfo(cl->curl, CURLINFO_RESPONSE_CODE, status);
	}
	curl_slist_free_all(hdrs);
	free(auth);
	free(url);
	return err;
}

static int answer_why(void *wdata, const char **msg)
{
	struct sbuf *b = wdata;

	*msg = b->err == -E2BIG ? "response too large" : b->err ? "out of memory" : NULL;
	return b->err == -ENOMEM ? -ENOMEM : b->err ? -EIO : 0;
}

int lapi_client_do(struct lapi_client *cl, const char *method, const char *path,
		   const char *body, long *status, char **answer)
{
	struct sbuf b = { .max = cl->o.max_answer };
	int err = perform(cl, method, path, body, status, lapi_answer_write, &b, answer_why);

	*answer = err ? NULL : sb_take(&b, NULL);
	if (err)
		sb_free(&b);
	return err || *answer ? err : -ENOMEM;
}

static int stream_why(void *wdata, const char **msg)
{
	struct stream_sink *k = wdata;

	*msg = k->err ? "the answer was refused by its reader" : NULL;
	return k->err;
}

int lapi_client_stream(struct lapi_client *cl, const char *method, const char *path,
		       long *status, lapi_client_data_fn fn, void *arg, char **err_answer)
{
	struct stream_sink k = { .curl = cl->curl, .fn = fn, .arg = arg,
				 .err_body = { .max = 4096 } };
	int err = perform(cl, method, path, NULL, status, lapi_stream_write, &k, stream_why);

	*err_answer = NULL;
	if (!err && (*status < 200 || *status >= 300))
		*err_answer = sb_take(&k.err_body, NULL);
	sb_free(&k.err_body);
	return err;
}

int lapi_client_login(struct lapi_client *cl, long *status, char **answer)
{
	return lapi_client_login_at(cl, "/v1/watchers/login", NULL, status, answer);
}

int lapi_client_login_at(struct lapi_client *cl, const char *path, json_t *scenarios,
			 long *status, char **answer)
{
	json_t *req = json_pack("{s:s,s:s,s:O?}", "machine_id", cl->login, "password",
				cl->password, "scenarios", scenarios);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_t *tok, *j = NULL;
	int err;

	json_decref(req);
	lapi_client_logout(cl);
	*answer = NULL;
	if (!body)
		return -ENOMEM;
	err = lapi_client_do(cl, "POST", path, body, status, answer);
	free(body);
	if (err)
		return err;
	if (*status != 200) {
		snprintf(cl->error, sizeof(cl->error), "login as %s refused (HTTP %ld)",
			 *cl->login ? cl->login : "the certificate's machine", *status);
		return -EACCES;
	}
	j = json_loads(*answer, 0, NULL);
	tok = json_object_get(j, "token");
	if (!json_is_string(tok)) {
		snprintf(cl->error, sizeof(cl->error), "login answer without a token");
		err = -EPROTO;
	} else if (!(cl->token = strdup(json_string_value(tok)))) {
		err = -ENOMEM;
	}
	json_decref(j);
	return err;
}

void lapi_client_logout(struct lapi_client *cl)
{
	free(cl->token);
	cl->token = NULL;
}

bool lapi_client_logged_in(const struct lapi_client *cl)
{
	return cl->token != NULL;
}

const char *lapi_client_url(const struct lapi_client *cl)
{
	return cl->url;
}

const char *lapi_client_login_name(const struct lapi_client *cl)
{
	return cl->login;
}

const char *lapi_client_error(const struct lapi_client *cl)
{
	return cl->error;
}
