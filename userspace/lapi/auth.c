// SPDX-License-Identifier: MIT
/*
 * Who is calling: bouncer API key or TLS certificate, machine JWT, trusted
 * and proxy addresses.
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

bool auth_bouncer(struct req *r)
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
	lapi_conn_authenticated(r);
	return true;
}

/* a machine whose row checked out: counted, and its address a known source */
static void machine_accepted(struct req *r)
{
	cs_metrics_inc(r->l->metrics, M_MACHINE_REQUESTS, r->machine, r->url, r->method);
	lapi_conn_authenticated(r);
}

/* a push whose body fits the anonymous cap: its row is read where it is stored */
static bool push_row_deferrable(struct req *r)
{
	const char *cl;

	if (!r->route || r->route->auth != AUTH_JWT_PUSH)
		return false;
	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
	return cl && strtoull(cl, NULL, 10) <= LAPI_MAX_BODY_ANON;
}

static const char *cookie_jwt(struct req *r)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "jwt");
}

bool auth_machine(struct req *r, int64_t leeway)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
	const char *tok = NULL;
	char msg[LAPI_MAX_ID + 64];

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
	int64_t now = gotime_now(), exp;

	/* the refresh route's leeway is not remembered: only plain verifications are */
	if (leeway || !lapi_conn_jwt_get(r, tok, now, r->machine, sizeof(r->machine))) {
		if (jwt_verify_exp(r->l->secret, r->l->secret_len, tok, now, leeway, r->machine,
				   sizeof(r->machine), msg, sizeof(msg), &exp)) {
			reply_jwt_error(r, msg);
			return false;
		}
		if (!leeway)
			lapi_conn_jwt_put(r, tok, r->machine, exp);
	}
	/* A token outlives nothing: a machine deleted or invalidated since its login
	 * loses access at once, refresh included (one lookup on the unique index).
	 * A small push's alerts are refused by the insert that stores them instead;
	 * a large or unsized one is never read for a gone machine. */
	if (push_row_deferrable(r)) {
		r->row_deferred = true;
		return true;
	}
	if (!auth_machine_row(r))
		return false;
	machine_accepted(r);
	return true;
}

void auth_push_settle(struct req *r)
{
	if (!r->row_deferred)
		return;
	r->row_deferred = false;
	/* 2xx: the insert accepted the owner, or auth_machine_row passed; 401: gone;
	 * 5xx: the row is unknown, the machine not counted */
	if (r->status == 401 || r->status >= 500)
		return;
	if (r->status >= 300 && !auth_machine_row(r)) /* a gone machine: 401, not 400 */
		return;
	machine_accepted(r);
}

bool auth_machine_row(struct req *r)
{
	char msg[LAPI_MAX_ID + 64];
	struct cs_machine m;
	int err = cs_db_machine_get(r->l->db, r->machine, &m);
	bool validated = !err && m.is_validated;

	cs_machine_clear(&m);
	if (err && err != -ENOENT) {
		reply_msg(r, 500, "%s", cs_db_errmsg(r->l->db));
		return false;
	}
	if (!validated) {
		if (err)
			snprintf(msg, sizeof(msg), "ent: machine not found");
		else
			snprintf(msg, sizeof(msg), "machine %s not validated", r->machine);
		reply_jwt_error(r, msg);
		return false;
	}
	return true;
}

static bool in_ranges(const char *ip, const struct cs_prefix *v, size_t n)
{
	struct cs_prefix c;

	if (cs_addr_parse(ip, &c))
		return false;
	for (size_t i = 0; i < n; i++)
		if (cs_prefix_contains(&v[i], &c))
			return true;
	return false;
}

bool ip_trusted(struct req *r)
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
void forwarded_ip(struct req *r)
{
	const char *xff = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-For");
	const char *xri = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Real-IP");
	char buf[1024], *tok, *items[64];
	size_t n = 0;
	struct cs_prefix tmp;

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
			if (cs_addr_parse(items[i], &tmp) ||
			    strlen(items[i]) >= sizeof(r->ip))
				break;
			if (i == 0 || !proxy_trusted(r->l, items[i])) {
				strcpy(r->ip, items[i]);
				return;
			}
		}
	}
	if (xri && !cs_addr_parse(xri, &tmp) && strlen(xri) < sizeof(r->ip))
		strcpy(r->ip, xri);
}
