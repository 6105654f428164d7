// SPDX-License-Identifier: MIT
/*
 * The hub's HTTP client (libcurl): GET into memory or into a file, with a size
 * cap, timeouts, http/https only, and an error text that names the URL and the
 * cause (server down, HTTP status, truncated body).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "hub/hub.h"

#define HUB_UA "crowdsec-xdp/cscli"

struct sink {
	struct sbuf mem; /* memory sink */
	size_t len;
	FILE *f; /* file sink */
	size_t max;
	int err; /* -EFBIG, -ENOMEM, -EIO */
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;

	if (s->len + n > s->max) {
		s->err = -EFBIG;
		return 0;
	}
	if (s->f) {
		if (fwrite(ptr, 1, n, s->f) != n) {
			s->err = -errno ?: -EIO;
			return 0;
		}
	} else {
		sb_putn(&s->mem, ptr, n);
		if (s->mem.err) {
			s->err = -ENOMEM;
			return 0;
		}
	}
	s->len += n;
	return n;
}

static int get(const char *url, struct sink *s, char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	CURLcode rc;
	long status = 0;
	curl_off_t want = -1;

	if (!c) {
		snprintf(err, errlen, "%s: cannot start an HTTP client", url);
		return -ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_USERAGENT, HUB_UA);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &want);
	curl_easy_cleanup(c);
	if (s->err) {
		snprintf(err, errlen, "%s: %s", url,
			 s->err == -EFBIG ? "answer larger than the limit" : strerror(-s->err));
		return s->err;
	}
	if (rc != CURLE_OK) {
		/* a body cut short by the server is CURLE_PARTIAL_FILE */
		snprintf(err, errlen, "%s: %s", url,
			 rc == CURLE_PARTIAL_FILE ? "truncated download" : curl_easy_strerror(rc));
		return -EIO;
	}
	if (status != 200) {
		snprintf(err, errlen, "%s: bad HTTP status %ld", url, status);
		return status == 404 ? -ENOENT : -EIO;
	}
	if (want >= 0 && (size_t)want != s->len) {
		snprintf(err, errlen, "%s: truncated download (%zu of %lld bytes)", url, s->len,
			 (long long)want);
		return -EIO;
	}
	return 0;
}

int hub_http_get(const char *url, size_t max, char **body, size_t *len, char *err, size_t errlen)
{
	struct sink s = { .max = max };
	int rc = get(url, &s, err, errlen);

	*body = rc ? NULL : sb_take(&s.mem, len); /* "" for an empty body */
	if (!rc && !*body)
		rc = -ENOMEM;
	sb_free(&s.mem);
	return rc;
}

int hub_http_get_file(const char *url, size_t max, FILE *f, char *err, size_t errlen)
{
	struct sink s = { .f = f, .max = max };
	int rc = get(url, &s, err, errlen);

	if (!rc && fflush(f)) {
		rc = -errno;
		snprintf(err, errlen, "%s: while writing: %s", url, strerror(-rc));
	}
	return rc;
}
