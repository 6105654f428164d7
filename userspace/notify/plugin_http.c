// SPDX-License-Identifier: MIT
/*
 * The http and slack plugins: one POST per batch. Slack's incoming webhook takes
 * {"text", "channel", "username", "icon_emoji", "icon_url"} (upstream's plugin sends
 * slack-go's WebhookMessage, empty fields left out).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strv.h"
#include "common/utf8.h"
#include "common/yamljson.h"
#include "notify/notify_int.h"

static int need_url(json_t *doc, const char *key, const char *path, struct notification *nt,
		    char *err, size_t errlen)
{
	const char *url = json_string_value(json_object_get(doc, key));

	if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
		snprintf(err, errlen, "%s: %s notification '%s': %s: needs an http(s) url", path,
			 nt->type_name, nt->name, key);
		return -EINVAL;
	}
	return (nt->url = strdup(url)) ? 0 : -ENOMEM;
}

int notify_http_load(json_t *doc, const char *path, struct notification *nt, char *err,
		     size_t errlen)
{
	json_t *headers = json_object_get(doc, "headers"), *v;
	const char *k;
	int ret;

	if ((ret = need_url(doc, "url", path, nt, err, errlen)) ||
	    (ret = notify_str(doc, "method", "POST", path, &nt->method, err, errlen)))
		return ret;
	if (strpbrk(nt->method, " \r\n")) {
		snprintf(err, errlen, "%s: method: not one word", path);
		return -EINVAL;
	}
	nt->skip_tls_verify = yamljson_get_bool(doc, "skip_tls_verification", false);
	if (headers && !json_is_null(headers) && !json_is_object(headers)) {
		snprintf(err, errlen, "%s: headers must be a map", path);
		return -EINVAL;
	}
	json_object_foreach(headers, k, v) {
		char line[1024];

		if (!json_is_string(v) || strpbrk(k, "\r\n:") || strpbrk(json_string_value(v), "\r\n")) {
			snprintf(err, errlen, "%s: header '%s' is not a one-line string", path, k);
			return -EINVAL;
		}
		snprintf(line, sizeof(line), "%s: %s", k, json_string_value(v));
		if (strv_push(&nt->headers, &nt->nheaders, line))
			return -ENOMEM;
	}
	return 0;
}

int notify_slack_load(json_t *doc, const char *path, struct notification *nt, char *err,
		      size_t errlen)
{
	int ret;

	if ((ret = need_url(doc, "webhook", path, nt, err, errlen)) ||
	    (ret = notify_str(doc, "channel", NULL, path, &nt->channel, err, errlen)) ||
	    (ret = notify_str(doc, "username", NULL, path, &nt->username, err, errlen)) ||
	    (ret = notify_str(doc, "icon_emoji", NULL, path, &nt->icon_emoji, err, errlen)) ||
	    (ret = notify_str(doc, "icon_url", NULL, path, &nt->icon_url, err, errlen)))
		return ret;
	if (!(nt->method = strdup("POST")) ||
	    strv_push(&nt->headers, &nt->nheaders, "Content-Type: application/json"))
		return -ENOMEM;
	return 0;
}

static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p, (void)arg;
	return sz * n;
}

int notify_http_send(struct notification *nt, const char *body, size_t len)
{
	struct curl_slist *hdrs = NULL;
	CURL *h = curl_easy_init();
	long status = 0, ms = (long)(nt->timeout_ns / 1000000);
	CURLcode rc;

	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < nt->nheaders; i++)
		hdrs = curl_slist_append(hdrs, nt->headers[i]);
	curl_easy_setopt(h, CURLOPT_URL, nt->url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, nt->method);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	if (nt->skip_tls_verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		log_warn("notification %s: %s: %s", nt->name, nt->url, curl_easy_strerror(rc));
		return -EIO;
	}
	if (status / 100 != 2) {
		log_warn("notification %s: %s answered %ld", nt->name, nt->url, status);
		/* upstream's http plugin logs and does not retry; slack-go's webhook call fails */
		return nt->type == NT_SLACK ? -EIO : 0;
	}
	return 0;
}

int notify_slack_send(struct notification *nt, const char *text, size_t len)
{
	json_t *msg = json_object();
	const struct {
		const char *key, *value;
	} opt[] = { { "channel", nt->channel },
		    { "username", nt->username },
		    { "icon_emoji", nt->icon_emoji },
		    { "icon_url", nt->icon_url } };
	size_t clean_len;
	char *body, *clean = utf8_sanitize(text, len, &clean_len);
	int ret;

	if (!msg || !clean || json_object_set_new(msg, "text", json_stringn(clean, clean_len))) {
		json_decref(msg);
		free(clean);
		return -ENOMEM;
	}
	free(clean);
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		if (opt[i].value && *opt[i].value)
			json_object_set_new(msg, opt[i].key, json_string(opt[i].value));
	body = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!body)
		return -ENOMEM;
	ret = notify_http_send(nt, body, strlen(body));
	free(body);
	return ret;
}
