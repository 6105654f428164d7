// SPDX-License-Identifier: MIT
/*
 * THE route table: (method, path) -> handler and the authentication it needs.
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
	{ "POST", "/v1/alerts", AUTH_JWT_PUSH, h_alerts_push },
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
	{ "GET", "/v1/allowlists", AUTH_JWT, h_allowlists_get },
	{ "HEAD", "/v1/allowlists", AUTH_JWT, h_allowlists_get },
	{ "POST", "/v1/allowlists/check", AUTH_JWT, h_allowlists_check_bulk },
	{ "GET", "/v1/allowlists/{id}", AUTH_JWT, h_allowlist_get },
	{ "HEAD", "/v1/allowlists/{id}", AUTH_JWT, h_allowlist_get },
	/* {ip*}: the rest of the path, '/' included (a range) */
	{ "GET", "/v1/allowlists/check/{ip*}", AUTH_JWT, h_allowlist_check },
	{ "HEAD", "/v1/allowlists/check/{ip*}", AUTH_JWT, h_allowlist_check },
	{ "POST", "/v1/usage-metrics", AUTH_EITHER, h_usage_metrics },
	/* api.server.dashboard (dashboard.c: 404 when off); only the login page and its
	 * script go without a machine's token */
	{ "GET", "/dashboard/login", AUTH_NONE, h_dashboard_asset },
	{ "GET", "/dashboard/login.js", AUTH_NONE, h_dashboard_asset },
	{ "POST", "/dashboard/login", AUTH_NONE, h_dashboard_login },
	{ "GET", "/dashboard", AUTH_JWT, h_dashboard_asset },
	{ "GET", "/dashboard/app.js", AUTH_JWT, h_dashboard_asset },
	{ "GET", "/dashboard/data", AUTH_JWT, h_dashboard_data },
};

/* upstream's eitherAuth: an API key makes a bouncer, an Authorization header a
 * machine, and without either a "crowdsec/" User-Agent (TLS) a machine */
static bool wants_machine_auth(struct req *r)
{
	const char *ua = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "User-Agent");

	if (MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Api-Key"))
		return false;
	if (MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization"))
		return true;
	return ua && !strncmp(ua, "crowdsec/", 9);
}

/* The server's table: the LAPI's, or another API's (cs_lapi_config.routes). */
static const struct route *route_table(const struct cs_lapi *l, size_t *n)
{
	if (l->cfg.routes) {
		*n = l->cfg.n_routes;
		return l->cfg.routes;
	}
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}

static bool path_match(const char *pattern, const char *path, const char **param)
{
	const char *brace = strchr(pattern, '{');

	if (!brace)
		return !strcmp(pattern, path);
	size_t n = (size_t)(brace - pattern);
	bool rest = !strcmp(brace, "{ip*}");

	if (strncmp(pattern, path, n) || !path[n] || (!rest && strchr(path + n, '/')))
		return false;
	*param = path + n;
	return true;
}

/* The route for (method, path); exact paths first so /v1/decisions/stream is no {id}. */
void lapi_find_route(struct req *r)
{
	size_t nr;
	const struct route *routes = route_table(r->l, &nr);

	for (int pass = 0; pass < 2 && !r->path_known; pass++) {
		for (size_t i = 0; i < nr; i++) {
			const char *p = NULL;

			if (pass == 0) { /* exact paths: strcmp rejects most routes at once */
				if (strcmp(routes[i].path, r->url) || strchr(routes[i].path, '{'))
					continue;
			} else if (!strchr(routes[i].path, '{') || !path_match(routes[i].path, r->url, &p)) {
				continue;
			}
			r->path_known = true;
			if (!strcmp(routes[i].method, r->method)) {
				r->route = &routes[i];
				r->param = p;
			}
		}
	}
}

/* A decoded URL path made safe for a header: bytes outside RFC 3986's unreserved
 * set and '/' are percent-encoded. */
static char *path_escape(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(3 * strlen(path) + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)path; out && *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/-._~", *p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	if (out)
		*o = '\0';
	return out;
}

void lapi_dispatch(struct req *r)
{
	const struct route *rt = r->route;
	bool path_known = r->path_known;
	size_t nr;
	const struct route *routes = route_table(r->l, &nr);

	cs_metrics_inc(r->l->metrics, M_ROUTE_REQUESTS, r->url, r->method, NULL);
	if (!path_known) {
		size_t n = strlen(r->url);

		if (n > 1 && r->url[n - 1] == '/') {
			char *stripped = strndup(r->url, n - 1), *body = NULL;
			bool known = false;

			for (size_t i = 0; stripped && i < nr; i++) {
				const char *p;

				known = known || path_match(routes[i].path, stripped, &p);
			}
			/* {id} matches any bytes: the path is never reflected into the body
			 * (it was HTML) and goes into Location percent-encoded */
			if (known && (body = strdup("Moved Permanently.\n")) &&
			    (r->location = path_escape(stripped))) {
				reply_raw(r, 301, "text/plain; charset=utf-8", body, strlen(body));
				free(stripped);
				return;
			}
			free(body);
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
	case AUTH_JWT_PUSH:
		if (!r->authed && !auth_machine(r, 0))
			return;
		break;
	case AUTH_JWT_REFRESH:
		if (!r->authed && !auth_machine(r, LAPI_JWT_LIFETIME)) /* MaxRefresh = 1 h */
			return;
		break;
	case AUTH_EITHER:
		if (wants_machine_auth(r) ? !auth_machine(r, 0) : !auth_bouncer(r))
			return;
		break;
	}
	rt->fn(r);
}
