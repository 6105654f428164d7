// SPDX-License-Identifier: MIT
/*
 * One HTTP request through libmicrohttpd: arguments, body (bounded), replies,
 * and the Prometheus listener.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/gotime.h"
#include "common/log.h"
#include "common/pwhash.h"
#include "common/sha2.h"
#include "common/utf8.h"
#include "lapi/lapi_int.h"

#define JSON_CTYPE "application/json; charset=utf-8"

/* ---- replies ---------------------------------------------------------------------- */

void reply_raw(struct req *r, int status, const char *ctype, char *body, size_t len)
{
	free(r->rbody);
	r->status = status;
	r->ctype = ctype;
	r->rbody = body;
	r->rlen = len;
}

void reply_json(struct req *r, int status, json_t *j)
{
	size_t len = 0;
	char *s = j ? codec_dump(j, &len) : NULL;

	json_decref(j);
	if (!s) {
		reply_raw(r, 500, JSON_CTYPE, strdup("{\"message\":\"out of memory\"}"), 27);
		return;
	}
	reply_raw(r, status, JSON_CTYPE, s, len);
}

void reply_empty(struct req *r, int status)
{
	reply_raw(r, status, NULL, NULL, 0);
}

void reply_msg(struct req *r, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* messages echo request bytes (query values, JSON errors): never refuse them */
	reply_json(r, status, json_pack("{s:o}", "message", utf8_json_string(msg)));
}

void reply_jwt_error(struct req *r, const char *msg)
{
	reply_json(r, 401, json_pack("{s:i,s:o}", "code", 401, "message", utf8_json_string(msg)));
	r->www_auth = true;
}

/* ---- request helpers ---------------------------------------------------------------- */

const char *req_arg(struct req *r, const char *key)
{
	for (size_t i = 0; i < r->nargs; i++)
		if (!strcmp(r->args[i].key, key))
			return r->args[i].val;
	return NULL;
}

const struct qarg *req_unknown_arg(const struct req *r, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < r->nargs; i++) {
		size_t k = 0;

		while (k < n && strcmp(r->args[i].key, keys[k]))
			k++;
		if (k == n)
			return &r->args[i];
	}
	return NULL;
}

bool go_parse_bool(const char *s, bool *out)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };

	for (size_t i = 0; i < 6; i++) {
		if (!strcmp(s, t[i])) {
			*out = true;
			return true;
		}
		if (!strcmp(s, f[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

int req_range_filter(struct req *r, struct cs_prefix *range, bool *has_range, bool *contains)
{
	const char *v = req_arg(r, "contains");

	if (v && !go_parse_bool(v, contains)) {
		reply_msg(r, 400, "invalid contains value : strconv.ParseBool: parsing \"%s\":"
				  " invalid syntax", v);
		return -EINVAL;
	}
	/* both given: range wins (1.4.6 is nondeterministic here, contract 13.15) */
	v = req_arg(r, "range");
	if (!v)
		v = req_arg(r, "ip");
	if (v) {
		if (cs_prefix_parse(v, CS_PREFIX_MASK, range)) {
			reply_msg(r, 400, "unable to convert '%s' to int: invalid address: invalid"
					  " ip address / range", v);
			return -EINVAL;
		}
		*has_range = true;
	}
	return 0;
}

json_t *req_json(struct req *r)
{
	json_error_t jerr;
	json_t *j;

	if (!r->len) {
		reply_msg(r, 400, "EOF");
		return NULL;
	}
	if (codec_json_depth(r->body, r->len) > LAPI_MAX_JSON_DEPTH) {
		reply_msg(r, 400, "JSON nesting too deep (max %d)", LAPI_MAX_JSON_DEPTH);
		return NULL;
	}
	j = json_loadb(r->body, r->len, JSON_DECODE_ANY, &jerr);
	if (!j) {
		reply_msg(r, 400, "%s", jerr.position >= (int)r->len ? "unexpected EOF" : jerr.text);
		return NULL;
	}
	return j;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct req *r = cls;

	if (r->nargs >= LAPI_MAX_QUERY_ARGS) {
		r->too_many_args = true;
		return MHD_NO;
	}
	r->args[r->nargs].key = strdup(key ? key : "");
	r->args[r->nargs].val = strdup(value ? value : "");
	r->nargs++;
	return MHD_YES;
}

void lapi_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	*buf = '\0';
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], buf, (socklen_t)len);
		else
			inet_ntop(AF_INET6, a, buf, (socklen_t)len);
	}
}

static enum MHD_Result send_reply(struct req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->reader) {
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, LAPI_STREAM_BLOCK, r->reader,
							 r->reader_cls, r->reader_free);
		if (!resp)
			r->reader_free(r->reader_cls);
		r->reader = NULL;
	} else if (r->rbody)
		resp = MHD_create_response_from_buffer(r->rlen, r->rbody, MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	r->rbody = NULL; /* owned by the response now */
	if (r->ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
	if (r->www_auth)
		MHD_add_response_header(resp, "Www-Authenticate", "JWT realm=Crowdsec API local");
	if (r->nocache) {
		MHD_add_response_header(resp, "Cache-Control", "no-cache");
		MHD_add_response_header(resp, "Expires", "-1");
		MHD_add_response_header(resp, "Pragma", "no-cache");
	}
	if (r->location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
	if (r->page) { /* the dashboard's pages: no framing (its delete buttons), no foreign code */
		MHD_add_response_header(resp, "Content-Security-Policy",
					"default-src 'self'; style-src 'self' 'unsafe-inline'; "
					"frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
		MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	}
	if (r->content_encoding) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, r->content_encoding);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	}
	ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

void req_body_release(struct req *r)
{
	__atomic_sub_fetch(&r->l->body_inflight, r->cap, __ATOMIC_RELAXED);
	free(r->body);
	r->body = NULL;
	r->len = r->cap = 0;
}

/*
 * Answer 413 right away, before reading the body: MHD sends it and closes the
 * connection, so an oversized upload costs us nothing.
 */
static enum MHD_Result reply_too_big(struct req *r)
{
	cs_metrics_inc(r->l->metrics, M_ROUTE_REQUESTS, r->url, r->method, NULL);
	r->too_big = true;
	reply_msg(r, 413, "request body too large (max %zu bytes)", r->body_cap);
	return send_reply(r);
}

/* Too many bodies in flight: 503, the client retries later (the body is dropped). */
static enum MHD_Result reply_busy(struct req *r)
{
	cs_metrics_inc(r->l->metrics, M_ROUTE_REQUESTS, r->url, r->method, NULL);
	req_body_release(r);
	r->too_big = true;
	reply_msg(r, 503, "too many request bodies in flight, retry later");
	return send_reply(r);
}

enum MHD_Result lapi_on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct cs_lapi *l = cls;
	struct req *r = *con_cls;

	if (!r) {
		const char *cl;

		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->l = l;
		r->conn = conn;
		r->method = method;
		r->url = url;
		r->head = !strcmp(method, "HEAD");
		r->t0 = gotime_now();
		lapi_conn_peer(r, r->ip, sizeof(r->ip));
		forwarded_ip(r);
		*con_cls = r;
		lapi_conn_request(r);
		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, r);
		lapi_find_route(r);
		if (tlsauth_required_missing(r)) { /* Go fails the handshake */
			log_warn("%s sent no client certificate, connection closed", r->ip);
			return MHD_NO;
		}
		/*
		 * Bodies are capped small unless a machine's token checks out, and it is
		 * checked before reading the body: a bad credential costs one header.
		 */
		r->body_cap = LAPI_MAX_BODY_ANON;
		if (r->route && (r->route->auth == AUTH_JWT || r->route->auth == AUTH_JWT_PUSH ||
				 r->route->auth == AUTH_JWT_TRUSTED ||
				 r->route->auth == AUTH_JWT_REFRESH)) {
			if (!auth_machine(r, r->route->auth == AUTH_JWT_REFRESH ? LAPI_JWT_LIFETIME
										 : 0)) {
				cs_metrics_inc(l->metrics, M_ROUTE_REQUESTS, r->url, r->method, NULL);
				return send_reply(r);
			}
			r->authed = true;
			r->body_cap = l->cfg.max_body;
		}
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > r->body_cap)
			return reply_too_big(r);
		return MHD_YES;
	}
	if (r->resume) { /* the handler suspended the connection, and it was resumed */
		r->resume(r);
		auth_push_settle(r);
		cs_metrics_observe(l->metrics, url, method, (double)(gotime_now() - r->t0) / 1e9);
		return send_reply(r);
	}
	if (r->status) /* already answered (413): drop the rest of the upload */
		return *upload_size = 0, MHD_YES;
	if (*upload_size) {
		if (r->len + *upload_size > r->body_cap) {
			req_body_release(r);
			*upload_size = 0;
			return reply_too_big(r);
		}
		if (!r->too_big) {
			if (r->len + *upload_size + 1 > r->cap) {
				size_t nc = (r->len + *upload_size + 1) * 2;
				char *p;

				if (nc > r->body_cap + 1)
					nc = r->body_cap + 1;
				/* bound the sum over all connections, not only each body */
				if (__atomic_add_fetch(&l->body_inflight, nc - r->cap,
						       __ATOMIC_RELAXED) > LAPI_MAX_BODY_INFLIGHT) {
					__atomic_sub_fetch(&l->body_inflight, nc - r->cap,
							   __ATOMIC_RELAXED);
					*upload_size = 0;
					return reply_busy(r);
				}
				p = realloc(r->body, nc);
				if (!p) {
					__atomic_sub_fetch(&l->body_inflight, nc - r->cap,
							   __ATOMIC_RELAXED);
					return MHD_NO;
				}
				r->body = p;
				r->cap = nc;
			}
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
			r->body[r->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	lapi_dispatch(r);
	if (r->resume)
		return MHD_YES; /* suspended: answered when resumed */
	auth_push_settle(r);
	cs_metrics_observe(l->metrics, url, method, (double)(gotime_now() - r->t0) / 1e9);
	return send_reply(r);
}

void lapi_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	if (!r)
		return;
	for (size_t i = 0; i < r->nargs; i++) {
		free(r->args[i].key);
		free(r->args[i].val);
	}
	cs_bouncer_clear(&r->bouncer);
	if (r->pending_free) /* closed before its handler answered (the listener stops) */
		r->pending_free(r->pending);
	if (r->reader) /* answered before the response was made */
		r->reader_free(r->reader_cls);
	req_body_release(r);
	free(r->rbody);
	free(r->location);
	free(r);
	*con_cls = NULL;
}

/* ---- Prometheus listener ---------------------------------------------------------------- */

enum MHD_Result lapi_on_metrics(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct cs_lapi *l = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *body = NULL;
	size_t len = 0;
	int status = 200;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		status = 405;
	else if (strcmp(url, "/metrics"))
		status = 404;
	else
		body = cs_metrics_render(l->metrics, l->db, &len);
	if (status == 200 && !body)
		status = 500;
	resp = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
		    : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	if (body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}
