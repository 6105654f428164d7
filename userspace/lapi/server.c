// SPDX-License-Identifier: MIT
/*
 * LAPI HTTP server: libmicrohttpd daemon, THE route table, authentication,
 * replies. Handlers (h_*.c) do decode -> validate -> db -> encode.
 *
 * Threading model: MHD_USE_EPOLL_INTERNAL_THREAD with a small thread pool.
 * epoll keeps hundreds of idle keep-alive bouncer connections cheap (no
 * thread per connection), and a pool of a few threads means one slow request
 * (a startup stream of a million decisions) does not stall health checks and
 * other bouncers. More threads would not help: the single SQLite handle is
 * serialized by the db module's mutex.
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
#include "lapi/lapi_int.h"

static const struct route routes[] = {
	{ "GET", "/health", AUTH_NONE, h_health },
	{ "POST", "/v1/watchers", AUTH_NONE, h_register },
	{ "POST", "/v1/watchers/login", AUTH_NONE, h_login },
	{ "GET", "/v1/refresh_token", AUTH_JWT_REFRESH, h_refresh },
	{ "GET", "/v1/heartbeat", AUTH_JWT, h_heartbeat },
	{ "POST", "/v1/alerts", AUTH_JWT, h_alerts_push },
	{ "GET", "/v1/alerts", AUTH_JWT, h_alerts_search },
	{ "HEAD", "/v1/alerts", AUTH_JWT, h_alerts_search },
	{ "DELETE", "/v1/alerts", AUTH_JWT_TRUSTED, h_alerts_delete },
	{ "GET", "/v1/alerts/{id}", AUTH_JWT, h_alert_get },
	{ "HEAD", "/v1/alerts/{id}", AUTH_JWT, h_alert_get },
	{ "DELETE", "/v1/alerts/{id}", AUTH_JWT_TRUSTED, h_alert_delete },
	{ "GET", "/v1/decisions", AUTH_APIKEY, h_decisions_get },
	{ "HEAD", "/v1/decisions", AUTH_APIKEY, h_decisions_get },
	{ "DELETE", "/v1/decisions", AUTH_JWT, h_decisions_delete },
	{ "GET", "/v1/decisions/stream", AUTH_APIKEY, h_stream },
	{ "HEAD", "/v1/decisions/stream", AUTH_APIKEY, h_stream },
	{ "DELETE", "/v1/decisions/{id}", AUTH_JWT, h_decision_delete },
};

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
	reply_json(r, status, json_pack("{s:s}", "message", msg));
}

void reply_jwt_error(struct req *r, const char *msg)
{
	reply_json(r, 401, json_pack("{s:i,s:s}", "code", 401, "message", msg));
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

static void client_ip(struct req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	strcpy(r->ip, "");
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->ip, sizeof(r->ip));
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], r->ip, sizeof(r->ip));
		else
			inet_ntop(AF_INET6, a, r->ip, sizeof(r->ip));
	}
}

static bool path_match(const char *pattern, const char *path, const char **param)
{
	const char *brace = strstr(pattern, "{id}");

	if (!brace)
		return !strcmp(pattern, path);
	size_t n = (size_t)(brace - pattern);

	if (strncmp(pattern, path, n) || !path[n] || strchr(path + n, '/'))
		return false;
	*param = path + n;
	return true;
}

/* ---- authentication ---------------------------------------------------------------- */

static void split_ua(const char *ua, char *type, size_t tl, char *ver, size_t vl)
{
	const char *slash = ua ? strchr(ua, '/') : NULL;

	if (!slash || strchr(slash + 1, '/')) {
		snprintf(type, tl, "%s", ua ? ua : "");
		snprintf(ver, vl, "N/A");
		return;
	}
	snprintf(type, tl, "%.*s", (int)(slash - ua), ua);
	snprintf(ver, vl, "%s", slash + 1);
}

static bool auth_bouncer(struct req *r)
{
	const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Api-Key");
	const char *ua = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "User-Agent");
	char hash[APIKEY_HASH_LEN], type[256], ver[256], cn[256];
	enum tls_peer tp = tlsauth_check(r, true, cn, sizeof(cn));

	if (tp == TLS_PEER_BAD) {
		reply_msg(r, 403, "access forbidden");
		return false;
	}
	if (tp == TLS_PEER_OK) {
		/* 1.4.6: a bouncer "<CN>@<ip>" (auth_type tls) created on first use */
		char name[LAPI_MAX_ID + 64], rnd[33];
		bool created;
		int ret;

		snprintf(name, sizeof(name), "%s@%s", cn, r->ip);
		if (cs_random_string(rnd, 32, true)) {
			reply_msg(r, 500, "cannot generate a key");
			return false;
		}
		cs_apikey_hash(rnd, hash);
		ret = cs_db_bouncer_tls(r->l->db, name, hash, r->ip, gotime_now(), &r->bouncer,
					&created);
		if (ret) {
			if (ret == -EPERM)
				log_warn("bouncer %s attempted to auth with a TLS cert but it is "
					 "configured to use an API key",
					 name);
			reply_msg(r, 403, "access forbidden");
			return false;
		}
		if (created)
			log_info("TLS bouncer %s created", name);
	} else if (!key || !*key || strlen(key) > 1024 ||
		   (cs_apikey_hash(key, hash), bcache_get(r->l, hash, &r->bouncer))) {
		reply_msg(r, 403, "access forbidden");
		return false;
	}
	r->is_bouncer = true;
	split_ua(ua, type, sizeof(type), ver, sizeof(ver));
	if (strcmp(r->bouncer.ip_address, r->ip) || strcmp(r->bouncer.type, type) ||
	    strcmp(r->bouncer.version, ver)) {
		if (*r->bouncer.ip_address && strcmp(r->bouncer.ip_address, r->ip))
			log_warn("new IP address %s for bouncer %s (was %s)", r->ip, r->bouncer.name,
				 r->bouncer.ip_address);
		if (cs_db_bouncer_seen(r->l->db, r->bouncer.id, r->ip, type, ver, gotime_now())) {
			reply_msg(r, 403, "bad user agent");
			return false;
		}
		if (tp != TLS_PEER_OK)
			bcache_seen(r->l, hash, r->ip, type, ver);
	}
	cs_metrics_inc(r->l->metrics, M_BOUNCER_REQUESTS, r->bouncer.name, r->url, r->method);
	return true;
}

static const char *cookie_jwt(struct req *r)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "jwt");
}

static bool auth_machine(struct req *r, int64_t leeway)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
	const char *tok = NULL;
	char msg[256];

	if (h && !strncmp(h, "Bearer ", 7) && h[7])
		tok = h + 7;
	if (!tok) {
		tok = req_arg(r, "token");
		if (tok && !*tok)
			tok = NULL;
	}
	if (!tok)
		tok = cookie_jwt(r);
	if (!tok || !*tok) {
		reply_jwt_error(r, "cookie token is empty");
		return false;
	}
	if (jwt_verify(r->l->secret, r->l->secret_len, tok, gotime_now(), leeway, r->machine,
		       sizeof(r->machine), msg, sizeof(msg))) {
		reply_jwt_error(r, msg);
		return false;
	}
	cs_metrics_inc(r->l->metrics, M_MACHINE_REQUESTS, r->machine, r->url, r->method);
	return true;
}

static bool in_ranges(const char *ip, const struct cs_range *v, size_t n)
{
	struct cs_range c;

	if (cs_range_parse(ip, &c) || strchr(ip, '/'))
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct cs_range *t = &v[i];

		if (t->ip_size != c.ip_size)
			continue;
		if ((t->start_ip < c.start_ip ||
		     (t->start_ip == c.start_ip && t->start_suffix <= c.start_suffix)) &&
		    (t->end_ip > c.end_ip || (t->end_ip == c.end_ip && t->end_suffix >= c.end_suffix)))
			return true;
	}
	return false;
}

static bool ip_trusted(struct req *r)
{
	if (!strcmp(r->ip, "127.0.0.1") || !strcmp(r->ip, "::1"))
		return true;
	return in_ranges(r->ip, r->l->trusted, r->l->n_trusted);
}

/*
 * Without trusted_proxies gin (1.4.6) trusts every peer, which lets any client
 * forge its address (and pass the trusted_ips check); we trust loopback only.
 */
static bool proxy_trusted(struct cs_lapi *l, const char *ip)
{
	if (!l->n_proxies)
		return !strcmp(ip, "127.0.0.1") || !strcmp(ip, "::1");
	return in_ranges(ip, l->proxies, l->n_proxies);
}

/*
 * use_forwarded_for_headers (gin's ClientIP): when the peer is a trusted proxy,
 * walk X-Forwarded-For from the right and take the first address that is not a
 * trusted proxy itself; else X-Real-IP. Malformed entries end the walk.
 */
static void forwarded_ip(struct req *r)
{
	const char *xff = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-For");
	const char *xri = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Real-IP");
	char buf[1024], *tok, *items[64];
	size_t n = 0;
	struct cs_range tmp;

	if (!r->l->cfg.use_forwarded_for || !proxy_trusted(r->l, r->ip))
		return;
	if (xff && strlen(xff) < sizeof(buf)) {
		char *save = NULL;

		strcpy(buf, xff);
		for (tok = strtok_r(buf, ",", &save); tok && n < 64; tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ')
				tok++;
			tok[strcspn(tok, " ")] = '\0';
			items[n++] = tok;
		}
		for (size_t i = n; i-- > 0;) {
			if (cs_range_parse(items[i], &tmp) || strchr(items[i], '/') ||
			    strlen(items[i]) >= sizeof(r->ip))
				break;
			if (i == 0 || !proxy_trusted(r->l, items[i])) {
				strcpy(r->ip, items[i]);
				return;
			}
		}
	}
	if (xri && !cs_range_parse(xri, &tmp) && !strchr(xri, '/') && strlen(xri) < sizeof(r->ip))
		strcpy(r->ip, xri);
}

/* ---- dispatch ------------------------------------------------------------------------ */

/* The route for (method, path); exact paths first so /v1/decisions/stream is no {id}. */
static void find_route(struct req *r)
{
	for (int pass = 0; pass < 2 && !r->path_known; pass++) {
		for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
			const char *p = NULL;

			if ((strstr(routes[i].path, "{id}") != NULL) != (pass == 1))
				continue;
			if (!path_match(routes[i].path, r->url, &p))
				continue;
			r->path_known = true;
			if (!strcmp(routes[i].method, r->method)) {
				r->route = &routes[i];
				r->param = p;
			}
		}
	}
}

static void dispatch(struct req *r)
{
	const struct route *rt = r->route;
	bool path_known = r->path_known;

	cs_metrics_inc(r->l->metrics, M_ROUTE_REQUESTS, r->url, r->method, NULL);
	if (!path_known) {
		size_t n = strlen(r->url);

		if (n > 1 && r->url[n - 1] == '/') {
			char *stripped = strndup(r->url, n - 1), *body = NULL;
			bool known = false;

			for (size_t i = 0; stripped && i < sizeof(routes) / sizeof(routes[0]); i++) {
				const char *p;

				known = known || path_match(routes[i].path, stripped, &p);
			}
			if (known && asprintf(&body, "<a href=\"%s\">Moved Permanently</a>.\n\n",
					      stripped) > 0) {
				reply_raw(r, 301, "text/html; charset=utf-8", body, strlen(body));
				r->location = stripped;
				return;
			}
			free(stripped);
		}
		reply_empty(r, 404);
		return;
	}
	if (!rt) {
		reply_empty(r, 405);
		return;
	}
	if (r->too_big) {
		reply_msg(r, 413, "request body too large (max %zu bytes)", r->body_cap);
		return;
	}
	if (r->too_many_args) {
		reply_msg(r, 400, "too many query parameters (max %d)", LAPI_MAX_QUERY_ARGS);
		return;
	}
	switch (rt->auth) {
	case AUTH_NONE:
		break;
	case AUTH_APIKEY:
		if (!auth_bouncer(r))
			return;
		break;
	case AUTH_JWT_TRUSTED:
		if (!r->authed && !auth_machine(r, 0))
			return;
		if (!ip_trusted(r)) {
			reply_msg(r, 403, "access forbidden from this IP (%s)", r->ip);
			return;
		}
		break;
	case AUTH_JWT:
		if (!r->authed && !auth_machine(r, 0))
			return;
		break;
	case AUTH_JWT_REFRESH:
		if (!r->authed && !auth_machine(r, LAPI_JWT_LIFETIME)) /* MaxRefresh = 1 h */
			return;
		break;
	}
	rt->fn(r);
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
	ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
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
		client_ip(r);
		forwarded_ip(r);
		*con_cls = r;
		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, r);
		find_route(r);
		if (tlsauth_required_missing(r)) { /* Go fails the handshake */
			log_warn("%s sent no client certificate, connection closed", r->ip);
			return MHD_NO;
		}
		/*
		 * Bodies are capped small unless a machine's token checks out, and it is
		 * checked before reading the body: a bad credential costs one header.
		 */
		r->body_cap = LAPI_MAX_BODY_ANON;
		if (r->route && (r->route->auth == AUTH_JWT || r->route->auth == AUTH_JWT_TRUSTED ||
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
	if (r->status) /* already answered (413): drop the rest of the upload */
		return *upload_size = 0, MHD_YES;
	if (*upload_size) {
		if (r->len + *upload_size > r->body_cap) {
			free(r->body);
			r->body = NULL;
			r->len = r->cap = 0;
			*upload_size = 0;
			return reply_too_big(r);
		}
		if (!r->too_big) {
			if (r->len + *upload_size + 1 > r->cap) {
				size_t nc = (r->len + *upload_size + 1) * 2;
				char *p;

				if (nc > r->body_cap + 1)
					nc = r->body_cap + 1;
				p = realloc(r->body, nc);
				if (!p)
					return MHD_NO;
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
	dispatch(r);
	cs_metrics_observe(l->metrics, url, method, (double)(gotime_now() - r->t0) / 1e9);
	return send_reply(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
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
	if (r->reader) /* answered before the response was made */
		r->reader_free(r->reader_cls);
	free(r->body);
	free(r->rbody);
	free(r->location);
	free(r);
	*con_cls = NULL;
}

/* ---- Prometheus listener ---------------------------------------------------------------- */

static enum MHD_Result on_metrics(void *cls, struct MHD_Connection *conn, const char *url,
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

/* ---- lifecycle --------------------------------------------------------------------------- */

static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char ps[16];
	int rc;

	snprintf(ps, sizeof(ps), "%d", port);
	rc = getaddrinfo(host && *host ? host : "0.0.0.0", ps, &hints, &res);
	if (rc || !res) {
		log_error("cannot resolve listen address '%s': %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int parse_listen_uri(const char *uri, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[256];
	const char *colon;
	long port;
	char *end;

	if (uri[0] == '[') {
		const char *rb = strchr(uri, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - uri - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(rb - uri - 1), uri + 1);
		colon = rb + 1;
	} else {
		colon = strrchr(uri, ':');
		if (!colon || (size_t)(colon - uri) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - uri), uri);
	}
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -EINVAL;
	return resolve(host, (int)port, ss, sl);
}

static char *read_pem(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f) {
		log_error("cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) > 0 && n < (1 << 20) && !fseek(f, 0, SEEK_SET)) {
		buf = calloc(1, (size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	if (!buf)
		log_error("cannot read %s", path);
	return buf;
}

static struct MHD_Daemon *start_daemon(const struct cs_lapi_config *cfg, const char *what,
				       struct sockaddr_storage *ss, MHD_AccessHandlerCallback cb,
				       void *cls, bool with_completed, unsigned threads, bool tls,
				       const char *trust)
{
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	char *cert = NULL, *key = NULL;
	struct MHD_Daemon *d = NULL;

	if (ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (tls) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			log_error("this libmicrohttpd has no TLS support");
			return NULL;
		}
		cert = read_pem(cfg->tls_cert_file);
		key = read_pem(cfg->tls_key_file);
		if (!cert || !key)
			goto out;
		flags |= MHD_USE_TLS;
	}
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_SOCK_ADDR, 0, ss },
		{ MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, NULL },
		{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_per_ip, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout, NULL },
		{ MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)(with_completed ? on_completed : NULL),
		  NULL },
		/* TLS >= 1.2, like the Go server */
		{ tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, key },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" },
		/* a CA: MHD asks for client certificates (tlsauth.c verifies them) */
		{ tls && trust ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, (void *)trust },
		{ MHD_OPTION_END, 0, NULL },
	};

	d = MHD_start_daemon(flags, 0, NULL, NULL, cb, cls, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!d)
		log_error("cannot start the %s listener (address in use?)", what);
out:
	free(cert);
	free(key);
	return d;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int copy_config(struct cs_lapi_config *dst, const struct cs_lapi_config *src)
{
	*dst = *src;
	dst->log_level = dup_or_null(src->log_level);
	dst->tls_cert_file = dup_or_null(src->tls_cert_file);
	dst->tls_key_file = dup_or_null(src->tls_key_file);
	dst->tls_ca_cert_path = dup_or_null(src->tls_ca_cert_path);
	dst->tls_crl_path = dup_or_null(src->tls_crl_path);
	dst->agents_allowed_ou = calloc(src->n_agents_allowed_ou + 1, sizeof(char *));
	dst->n_agents_allowed_ou = 0;
	dst->bouncers_allowed_ou = calloc(src->n_bouncers_allowed_ou + 1, sizeof(char *));
	dst->n_bouncers_allowed_ou = 0;
	if (!dst->agents_allowed_ou || !dst->bouncers_allowed_ou)
		return -ENOMEM;
	for (size_t i = 0; i < src->n_agents_allowed_ou; i++)
		dst->agents_allowed_ou[dst->n_agents_allowed_ou++] = strdup(src->agents_allowed_ou[i]);
	for (size_t i = 0; i < src->n_bouncers_allowed_ou; i++)
		dst->bouncers_allowed_ou[dst->n_bouncers_allowed_ou++] =
			strdup(src->bouncers_allowed_ou[i]);
	dst->listen_uri = dup_or_null(src->listen_uri);
	dst->db_path = dup_or_null(src->db_path);
	dst->profiles_path = dup_or_null(src->profiles_path);
	dst->credentials_path = dup_or_null(src->credentials_path);
	dst->prometheus_addr = dup_or_null(src->prometheus_addr);
	dst->trusted_ips = calloc(src->n_trusted_ips + 1, sizeof(char *));
	dst->n_trusted_ips = 0;
	if (!dst->trusted_ips)
		return -ENOMEM;
	for (size_t i = 0; i < src->n_trusted_ips; i++)
		dst->trusted_ips[dst->n_trusted_ips++] = strdup(src->trusted_ips[i]);
	dst->trusted_proxies = calloc(src->n_trusted_proxies + 1, sizeof(char *));
	dst->n_trusted_proxies = 0;
	if (!dst->trusted_proxies)
		return -ENOMEM;
	for (size_t i = 0; i < src->n_trusted_proxies; i++)
		dst->trusted_proxies[dst->n_trusted_proxies++] = strdup(src->trusted_proxies[i]);
	if (!dst->max_body)
		dst->max_body = LAPI_MAX_BODY;
	if (!dst->threads)
		dst->threads = 4;
	if (!dst->max_connections)
		dst->max_connections = 1024;
	if (!dst->max_per_ip)
		dst->max_per_ip = 256;
	if (!dst->conn_timeout)
		dst->conn_timeout = 120;
	return 0;
}

static int load_secret(struct cs_lapi *l)
{
	const char *env = getenv("CS_LAPI_SECRET");

	if (env) {
		size_t n = strlen(env);

		if (n < LAPI_JWT_SECRET_LEN) {
			log_error("CS_LAPI_SECRET not strong enough");
			return -EINVAL;
		}
		if (n > sizeof(l->secret))
			n = sizeof(l->secret);
		memcpy(l->secret, env, n);
		l->secret_len = n;
		return 0;
	}
	l->secret_len = LAPI_JWT_SECRET_LEN;
	return random_bytes(l->secret, l->secret_len);
}

#define LAPI_QUEUE_BATCH 256

/*
 * Detector alerts: drained in batches of up to LAPI_QUEUE_BATCH, each batch one
 * transaction. An alert the db refuses (bad decision value) is logged and
 * dropped alone: the batch is retried one by one.
 */
static void *queue_main(void *arg)
{
	struct cs_lapi *l = arg;
	struct cs_alert *batch[LAPI_QUEUE_BATCH];
	int64_t ids[LAPI_QUEUE_BATCH];
	char msg[512];

	pthread_mutex_lock(&l->qlock);
	for (;;) {
		size_t n = 0;

		while (!l->qlen && !l->qstopping)
			pthread_cond_wait(&l->qcond, &l->qlock);
		if (!l->qlen && l->qstopping)
			break;
		while (l->qlen && n < LAPI_QUEUE_BATCH) {
			batch[n++] = l->queue[l->qhead];
			l->qhead = (l->qhead + 1) % LAPI_ALERT_QUEUE_MAX;
			l->qlen--;
		}
		l->qbusy = true;
		pthread_mutex_unlock(&l->qlock);
		if (lapi_store_alerts(l, batch, n, NULL, gotime_now(), ids, msg, sizeof(msg))) {
			for (size_t i = 0; i < n; i++) {
				int64_t id;

				if (lapi_store_alerts(l, &batch[i], 1, NULL, gotime_now(), &id, msg,
						      sizeof(msg)))
					log_error("queued alert '%s' dropped: %s",
						  batch[i]->scenario ? batch[i]->scenario : "?", msg);
			}
		}
		for (size_t i = 0; i < n; i++)
			cs_alert_free(batch[i]);
		pthread_mutex_lock(&l->qlock);
		l->qbusy = false;
		if (!l->qlen)
			pthread_cond_broadcast(&l->qdone);
	}
	pthread_cond_broadcast(&l->qdone);
	pthread_mutex_unlock(&l->qlock);
	return NULL;
}

int cs_lapi_alert_enqueue(struct cs_lapi *l, struct cs_alert *a, const char *machine_id)
{
	int ret = 0;

	if (machine_id) {
		free(a->machine_id);
		a->machine_id = strdup(machine_id);
	}
	pthread_mutex_lock(&l->qlock);
	if (l->qstopping) {
		ret = -ESHUTDOWN;
	} else if (l->qlen >= LAPI_ALERT_QUEUE_MAX) {
		l->qdropped++;
		ret = -EAGAIN;
	} else {
		l->queue[(l->qhead + l->qlen) % LAPI_ALERT_QUEUE_MAX] = a;
		l->qlen++;
		pthread_cond_signal(&l->qcond);
	}
	pthread_mutex_unlock(&l->qlock);
	if (ret)
		cs_alert_free(a);
	return ret;
}

void cs_lapi_alert_flush(struct cs_lapi *l)
{
	pthread_mutex_lock(&l->qlock);
	while ((l->qlen || l->qbusy) && l->qworker_running)
		pthread_cond_wait(&l->qdone, &l->qlock);
	pthread_mutex_unlock(&l->qlock);
}

unsigned long cs_lapi_alerts_dropped(struct cs_lapi *l)
{
	unsigned long n;

	pthread_mutex_lock(&l->qlock);
	n = l->qdropped;
	pthread_mutex_unlock(&l->qlock);
	return n;
}

#define LAPI_FLUSH_PERIOD_SEC 60

/* db_config.flush, once a minute like 1.4.6; waits on a condvar so stop is prompt. */
static void *flusher_main(void *arg)
{
	struct cs_lapi *l = arg;
	struct timespec ts;

	pthread_mutex_lock(&l->stop_lock);
	while (!l->stopping) {
		int64_t now = gotime_now();
		long n = 0;

		pthread_mutex_unlock(&l->stop_lock);
		if (!cs_db_flush(l->db, l->cfg.flush_max_age ? now - l->cfg.flush_max_age : 0,
				 l->cfg.flush_max_items, &n) &&
		    n)
			log_info("flush: %ld alert(s) deleted", n);
		pthread_mutex_lock(&l->stop_lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += LAPI_FLUSH_PERIOD_SEC;
		while (!l->stopping &&
		       pthread_cond_timedwait(&l->stop_cond, &l->stop_lock, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&l->stop_lock);
	return NULL;
}

static void *stream_loader(void *arg)
{
	struct cs_lapi *l = arg;

	cs_db_stream_load(l->db);
	return NULL;
}

int cs_lapi_start(const struct cs_lapi_config *cfg, struct cs_lapi **out)
{
	struct sockaddr_storage ss, ps;
	socklen_t sl;
	struct cs_lapi *l = calloc(1, sizeof(*l));
	char err[1024] = "";
	int ret;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->stop_lock, NULL);
	pthread_cond_init(&l->stop_cond, NULL);
	pthread_mutex_init(&l->qlock, NULL);
	pthread_cond_init(&l->qcond, NULL);
	pthread_cond_init(&l->qdone, NULL);
	ret = copy_config(&l->cfg, cfg);
	if (ret)
		goto fail;
	ret = parse_listen_uri(l->cfg.listen_uri, &ss, &sl);
	if (ret) {
		log_error("invalid api.server.listen_uri '%s'", l->cfg.listen_uri);
		goto fail;
	}
	l->trusted = calloc(l->cfg.n_trusted_ips + 1, sizeof(*l->trusted));
	if (!l->trusted) {
		ret = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < l->cfg.n_trusted_ips; i++) {
		if (cs_range_parse(l->cfg.trusted_ips[i], &l->trusted[l->n_trusted])) {
			log_error("invalid trusted_ips entry '%s'", l->cfg.trusted_ips[i]);
			ret = -EINVAL;
			goto fail;
		}
		l->n_trusted++;
	}
	l->proxies = calloc(l->cfg.n_trusted_proxies + 1, sizeof(*l->proxies));
	if (!l->proxies) {
		ret = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < l->cfg.n_trusted_proxies; i++) {
		if (cs_range_parse(l->cfg.trusted_proxies[i], &l->proxies[l->n_proxies])) {
			log_error("invalid trusted_proxies entry '%s'", l->cfg.trusted_proxies[i]);
			ret = -EINVAL;
			goto fail;
		}
		l->n_proxies++;
	}
	ret = load_secret(l);
	if (ret)
		goto fail;
	l->metrics = cs_metrics_new(l->cfg.prometheus_aggregated);
	if (!l->metrics) {
		ret = -ENOMEM;
		goto fail;
	}
	if (l->cfg.profiles_path && access(l->cfg.profiles_path, F_OK) == 0) {
		ret = cs_profiles_load(l->cfg.profiles_path, &l->profiles, err, sizeof(err));
		if (ret) {
			log_error("profiles: %s", err);
			goto fail;
		}
	} else {
		if (l->cfg.profiles_path)
			log_warn("profiles file %s not found, using the default profiles",
				 l->cfg.profiles_path);
		ret = cs_profiles_default(&l->profiles);
		if (ret)
			goto fail;
	}
	log_info("loaded %zu profile(s)", cs_profiles_count(l->profiles));
	ret = cs_db_open(l->cfg.db_path, &l->db);
	if (ret)
		goto fail;
	ret = bcache_start(l);
	if (ret)
		goto fail;
	/* listening does not wait for it; stream pulls do (a few hundred ms at 1M) */
	ret = -pthread_create(&l->sloader, NULL, stream_loader, l);
	if (ret)
		goto fail;
	l->sloader_running = true;
	char *ca_pem = NULL;

	ret = tlsauth_init(l, &ca_pem);
	if (ret)
		goto fail;
	l->httpd = start_daemon(&l->cfg, "LAPI", &ss, on_request, l, true, l->cfg.threads,
				l->cfg.tls_cert_file && l->cfg.tls_key_file, ca_pem);
	free(ca_pem);
	if (!l->httpd) {
		ret = -EADDRINUSE;
		goto fail;
	}
	log_info("CrowdSec Local API listening on %s://%s",
		 l->cfg.tls_cert_file && l->cfg.tls_key_file ? "https" : "http", l->cfg.listen_uri);
	if (l->cfg.prometheus_enabled) {
		ret = resolve(l->cfg.prometheus_addr, l->cfg.prometheus_port, &ps, &sl);
		if (!ret) {
			l->prom = start_daemon(&l->cfg, "prometheus", &ps, on_metrics, l, false, 1,
					       false, NULL);
			if (!l->prom)
				ret = -EADDRINUSE;
		}
		if (ret)
			goto fail;
		log_info("prometheus metrics on http://%s:%d/metrics", l->cfg.prometheus_addr,
			 l->cfg.prometheus_port);
	}
	l->queue = calloc(LAPI_ALERT_QUEUE_MAX, sizeof(*l->queue));
	if (!l->queue) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = -pthread_create(&l->qworker, NULL, queue_main, l);
	if (ret)
		goto fail;
	l->qworker_running = true;
	if (l->cfg.flush_max_age || l->cfg.flush_max_items) {
		ret = -pthread_create(&l->flusher, NULL, flusher_main, l);
		if (ret)
			goto fail;
		l->flusher_running = true;
	}
	*out = l;
	return 0;
fail:
	cs_lapi_stop(l);
	return ret;
}

void cs_lapi_stop(struct cs_lapi *l)
{
	if (!l)
		return;
	if (l->qworker_running) { /* stores what is queued, then exits */
		pthread_mutex_lock(&l->qlock);
		l->qstopping = true;
		pthread_cond_signal(&l->qcond);
		pthread_mutex_unlock(&l->qlock);
		pthread_join(l->qworker, NULL);
		l->qworker_running = false;
	}
	if (l->flusher_running) {
		pthread_mutex_lock(&l->stop_lock);
		l->stopping = true;
		pthread_cond_signal(&l->stop_cond);
		pthread_mutex_unlock(&l->stop_lock);
		pthread_join(l->flusher, NULL);
	}
	if (l->prom)
		MHD_stop_daemon(l->prom);
	if (l->httpd)
		MHD_stop_daemon(l->httpd);
	if (l->sloader_running)
		pthread_join(l->sloader, NULL);
	bcache_stop(l);
	cs_db_close(l->db);
	cs_profiles_free(l->profiles);
	cs_metrics_free(l->metrics);
	free(l->trusted);
	free(l->proxies);
	tlsauth_free(l);
	cs_lapi_config_clear(&l->cfg);
	memset(l->secret, 0, sizeof(l->secret));
	pthread_cond_destroy(&l->stop_cond);
	pthread_mutex_destroy(&l->stop_lock);
	for (size_t i = 0; l->queue && i < l->qlen; i++) /* only if the worker never ran */
		cs_alert_free(l->queue[(l->qhead + i) % LAPI_ALERT_QUEUE_MAX]);
	free(l->queue);
	pthread_cond_destroy(&l->qcond);
	pthread_cond_destroy(&l->qdone);
	pthread_mutex_destroy(&l->qlock);
	free(l);
}

struct cs_db *cs_lapi_db(struct cs_lapi *l)
{
	return l ? l->db : NULL;
}

int lapi_store_alerts(struct cs_lapi *l, struct cs_alert **v, size_t n, const char *machine,
		      int64_t now, int64_t *ids, char *msg, size_t msglen)
{
	int ret;

	for (size_t i = 0; i < n; i++) {
		ret = cs_profiles_apply(l->profiles, v[i], l->db, msg, msglen);
		if (ret)
			return ret == -ENOMEM ? ret : -EIO;
		for (size_t j = 0; j < v[i]->n_decisions; j++) {
			const struct cs_decision *d = &v[i]->decisions[j];
			struct cs_range rg;

			if ((!strcasecmp(d->scope, "ip") || !strcasecmp(d->scope, "range")) &&
			    cs_range_parse(d->value, &rg)) {
				snprintf(msg, msglen,
					 "invalid addr/range %s : invalid address: invalid ip address / range",
					 d->value);
				return -EINVAL;
			}
		}
	}
	ret = cs_db_alerts_insert(l->db, v, n, machine, now, ids);
	if (ret == -EINVAL)
		snprintf(msg, msglen, "invalid addr/range in a decision");
	else if (ret)
		snprintf(msg, msglen, "database error: %s", cs_db_errmsg(l->db));
	return ret;
}

int cs_lapi_alert_submit(struct cs_lapi *l, struct cs_alert *a, const char *machine_id,
			 int64_t *id)
{
	char msg[512];
	int ret = lapi_store_alerts(l, &a, 1, machine_id, gotime_now(), id, msg, sizeof(msg));

	if (ret)
		log_error("alert submit: %s", msg);
	return ret;
}
