/* SPDX-License-Identifier: MIT */
/*
 * A machine's client of a Local API, shared by cscli and the agent (crowdsec
 * -no-api): the credentials file (url, login, password), the login that turns
 * them into a JWT, and requests that carry it. HTTP through libcurl, answers
 * bounded, http and https only.
 *
 * Not thread-safe: one client per thread. Errors are returned as -errno with a
 * message kept in the client (lapi_client_error) for the caller to log its way.
 */
#ifndef CS_LAPICLIENT_H
#define CS_LAPICLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct lapi_client_opts {
	const char *user_agent;
	long timeout_s;		/* whole request; 0: none */
	long connect_timeout_ms; /* 0: libcurl's default */
	size_t max_answer;	/* bytes; a longer answer is an error */
	bool insecure;		/* api.client.insecure_skip_verify */
	/*
	 * Optional, borrowed: once another thread sets it, the request in flight
	 * stops within about a second (-ECANCELED) instead of waiting for timeout_s.
	 */
	const atomic_bool *cancel;
};

struct lapi_client;

/*
 * Read url/login/password from the credentials file; cert_path/key_path (with
 * ca_cert_path) make a TLS client certificate stand in for login/password, as
 * CrowdSec's local_api_credentials.yaml allows. 0, -EINVAL (err says why: the
 * YAML loader's "file:line: ..." or a missing field) or -ENOMEM. Nothing is sent yet.
 */
int lapi_client_open(const char *credentials_path, const struct lapi_client_opts *o,
		     struct lapi_client **out, char *err, size_t errlen);
void lapi_client_free(struct lapi_client *cl);

/*
 * POST /v1/watchers/login. 0 with the token kept; -EACCES when refused (*status
 * and *answer say how, *answer malloc'ed or NULL); -EIO unreachable; -EPROTO no
 * token in the answer.
 */
int lapi_client_login(struct lapi_client *cl, long *status, char **answer);
/*
 * The same login at another path with a scenario list (a JSON array, borrowed;
 * NULL sends null): a central API's POST /v2/watchers/login.
 */
typedef struct json_t json_t;
int lapi_client_login_at(struct lapi_client *cl, const char *path, json_t *scenarios,
			 long *status, char **answer);
/* Forget the token (expired): the next login gets another. */
void lapi_client_logout(struct lapi_client *cl);
bool lapi_client_logged_in(const struct lapi_client *cl);

/*
 * method + path ("/v1/..." with its query) and an optional JSON body, with the
 * token when logged in. 0 with *status and *answer (malloc'ed, NUL-terminated),
 * or -EIO (unreachable, answer too large) / -ENOMEM.
 */
int lapi_client_do(struct lapi_client *cl, const char *method, const char *path,
		   const char *body, long *status, char **answer);

/*
 * The same without a body, the answer handed to fn as it arrives (a large
 * answer is never held whole; max_answer does not apply): fn returns 0 or
 * -errno, which aborts the transfer and is returned. A non-2xx answer is not
 * handed to fn: *err_answer gets its first 4 KiB (malloc'ed), else NULL.
 */
typedef int (*lapi_client_data_fn)(const char *data, size_t len, void *arg);
int lapi_client_stream(struct lapi_client *cl, const char *method, const char *path,
		       long *status, lapi_client_data_fn fn, void *arg, char **err_answer);

const char *lapi_client_url(const struct lapi_client *cl); /* no trailing slash */
const char *lapi_client_login_name(const struct lapi_client *cl);
/* What the last failed call said ("POST http://...: Couldn't connect to server"). */
const char *lapi_client_error(const struct lapi_client *cl);

#endif /* CS_LAPICLIENT_H */
