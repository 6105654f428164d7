// SPDX-License-Identifier: MIT
/*
 * The CAPI routes, served by the LAPI's HTTP server (conns, request bounds,
 * JWT, login): v2 as CrowdSec 1.4.6 calls them (pkg/apiclient with
 * VersionPrefix "v2"), v3 as later versions do (the v3 stream groups
 * decisions by scenario). Reporters are the server's machines: registered
 * (validated at once, rate-limited per source), then logged in by the LAPI's
 * own login handler, which stores the scenarios they run.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "central/central.h"
#include "common/gotime.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/vec.h"
#include "lapi/lapi_int.h"

#define CENTRAL(r) ((struct central *)(r)->l->cfg.app)

static void reply_ok(struct req *r)
{
	reply_json(r, 200, json_pack("{s:s}", "message", "OK"));
}

/* The body as JSON of the type a route takes; otherwise NULL, the 400 sent. */
static json_t *req_json_typed(struct req *r, json_type type, const char *expected)
{
	json_t *j = req_json(r);

	if (j && json_typeof(j) != type) {
		reply_msg(r, 400, "body: %s is expected", expected);
		json_decref(j);
		return NULL;
	}
	return j;
}

/* POST /v{2,3}/watchers {"machine_id","password"}: usable at once. */
static void c_register(struct req *r)
{
	json_t *j = req_json_typed(r, JSON_OBJECT, "a JSON object"), *jid, *jpw;
	const char *id, *pw;
	int64_t now = gotime_now();

	if (!j)
		return;
	jid = json_object_get(j, "machine_id");
	jpw = json_object_get(j, "password");
	id = json_string_value(jid);
	pw = json_string_value(jpw);
	if (!id || !*id || json_string_length(jid) >= LAPI_MAX_ID || strlen(id) != json_string_length(jid)) {
		reply_msg(r, 400, "machine_id: a string of 1 to %d characters is required",
			  LAPI_MAX_ID - 1);
		goto out;
	}
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.@", *p)) {
			reply_msg(r, 400, "machine_id: only letters, digits and -_.@ are allowed");
			goto out;
		}
	if (!pw || !*pw || json_string_length(jpw) > 1024 || strlen(pw) != json_string_length(jpw)) {
		reply_msg(r, 400, "password: a string of 1 to 1024 bytes is required");
		goto out;
	}
	if (!register_allowed(r, now))
		goto out;
	if (!register_machine(r, id, pw, true, now)) {
		log_info("reporter %s registered from %s", id, r->ip);
		reply_ok(r);
	}
out:
	json_decref(j);
}

/* ---- signals ---- */

static const char *str_field(json_t *o, const char *key, size_t max, bool required, int *bad)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		if (required)
			*bad = 1;
		return NULL;
	}
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		*bad = 2;
		return NULL;
	}
	return json_string_value(v);
}

/* A hub item's name, author/name: what a scenario name may be here (it goes
 * into every member's answer as is). */
static bool hub_name(const char *s)
{
	const char *slash = strchr(s, '/');

	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_./", *s))
			return false;
	return true;
}

/*
 * Whether a signal counts: untainted hub scenarios only (what 1.4.6 calls
 * "certified": a hub hash and a version), not manual, not simulated, on an IP.
 */
static bool counts(json_t *o, const char *scenario, const char *hash, const char *version,
		   const char *scope)
{
	const char *trust = json_string_value(json_object_get(o, "scenario_trust"));
	json_t *decs = json_object_get(o, "decisions"), *d;
	size_t i;

	if (trust && strcmp(trust, "certified"))
		return false;
	if (!*hash || !*version || !strcmp(version, "?") || !hub_name(scenario))
		return false;
	if (strcasecmp(scope, "ip"))
		return false;
	json_array_foreach(decs, i, d) {
		const char *origin = json_string_value(json_object_get(d, "origin"));

		if (json_is_true(json_object_get(d, "simulated")) ||
		    (origin && !strcmp(origin, "cscli")))
			return false;
	}
	return true;
}

static int64_t time_field(json_t *o, const char *key, int *bad)
{
	const char *s = json_string_value(json_object_get(o, key));
	int64_t t = 0;

	if (!s || gotime_parse_rfc3339(s, &t))
		*bad = 1;
	return t;
}

static void c_signals(struct req *r)
{
	json_t *j = req_json_typed(r, JSON_ARRAY, "a JSON array of signals"), *o;
	struct cs_central_signal *sigs = NULL;
	struct central_ingest_result res;
	size_t n = 0, i, ignored = 0;
	int err;

	if (!j)
		return;
	if (json_array_size(j) > CENTRAL_MAX_SIGNALS) {
		reply_msg(r, 400, "body: at most %d signals a request", CENTRAL_MAX_SIGNALS);
		goto out;
	}
	sigs = calloc(json_array_size(j) + 1, sizeof(*sigs));
	if (!sigs) {
		reply_msg(r, 500, "out of memory");
		goto out;
	}
	json_array_foreach(j, i, o) {
		static const char *const names[] = { "scenario", "scenario_hash", "scenario_version" };
		const char *f[3], *scope, *value;
		json_t *src = json_object_get(o, "source");
		int bad = 0;

		if (!json_is_object(o)) {
			reply_msg(r, 400, "signal %zu: a JSON object is expected", i);
			goto out;
		}
		for (int k = 0; k < 3; k++) {
			f[k] = str_field(o, names[k], CENTRAL_MAX_FIELD, true, &bad);
			if (bad) {
				reply_msg(r, 400, "signal %zu: %s: %s", i, names[k],
					  bad == 1 ? "required" : "a string of at most 256 bytes is expected");
				goto out;
			}
		}
		if (!json_is_object(src)) {
			reply_msg(r, 400, "signal %zu: source: required object", i);
			goto out;
		}
		scope = str_field(src, "scope", 64, true, &bad);
		value = bad ? NULL : str_field(src, "value", 128, true, &bad);
		if (bad) {
			reply_msg(r, 400, "signal %zu: source.%s: required string", i,
				  scope ? "value" : "scope");
			goto out;
		}
		sigs[n].start_at = time_field(o, "start_at", &bad);
		if (bad) {
			reply_msg(r, 400, "signal %zu: start_at: an RFC 3339 time is required", i);
			goto out;
		}
		sigs[n].stop_at = time_field(o, "stop_at", &bad);
		if (bad) {
			reply_msg(r, 400, "signal %zu: stop_at: an RFC 3339 time is required", i);
			goto out;
		}
		if (!counts(o, f[0], f[1], f[2], scope)) {
			ignored++;
			continue;
		}
		sigs[n].scenario = f[0];
		sigs[n].scenario_hash = f[1];
		sigs[n].scenario_version = f[2];
		sigs[n].ip = value;
		n++;
	}
	err = central_ingest(CENTRAL(r), r->machine, r->ip, sigs, n, gotime_now(), &res);
	if (err) {
		reply_msg(r, 500, "cannot store signals: %s", strerror(-err));
	} else if (res.blocked) {
		reply_msg(r, 403, "reporter %s is blocked", r->machine);
	} else if (n && res.rate_limited == n) {
		reply_msg(r, 429, "reporter %s: signal rate limit reached, retry later", r->machine);
	} else {
		log_debug("signals from %s: %zu accepted, %zu rate-limited, %zu ignored, %zu safe,"
			  " %zu listed", r->machine, res.accepted, res.rate_limited,
			  res.ignored + ignored, res.safe, res.listed);
		reply_ok(r);
	}
out:
	free(sigs);
	json_decref(j);
}

/* ---- decisions stream ---- */

/*
 * The answer is written as text as the listings are walked (a million entries
 * would be a gigabyte as jansson objects). Every string in it is ours: IPs in
 * their canonical form, scenario names that passed hub_name() at ingest.
 */
struct stream_group {
	char *scenario;
	struct sbuf sb;
};

struct stream_ctx {
	int64_t now;
	bool v3;
	struct sbuf new_, deleted;
	struct stream_group *g; /* v3: one per scenario */
	size_t ng, gcap;
};

static void duration_of(int64_t until, int64_t now, char *buf, size_t len)
{
	int64_t left = until - now;

	/* whole seconds, as CAPI sends them */
	gotime_format_duration(left > NSEC_PER_SEC ? left / NSEC_PER_SEC * NSEC_PER_SEC
						  : NSEC_PER_SEC,
			       buf, len);
}

static struct sbuf *group_of(struct stream_ctx *sc, const char *scenario)
{
	for (size_t i = 0; i < sc->ng; i++)
		if (!strcmp(sc->g[i].scenario, scenario))
			return &sc->g[i].sb;
	if (vec_reserve((void **)&sc->g, &sc->gcap, sc->ng, sizeof(*sc->g), 8))
		return NULL;
	sc->g[sc->ng] = (struct stream_group){ .scenario = strdup(scenario) };
	return sc->g[sc->ng].scenario ? &sc->g[sc->ng++].sb : NULL;
}

static int stream_entry(const struct central_entry *e, void *arg)
{
	struct stream_ctx *sc = arg;
	struct sbuf *sb = e->deleted ? &sc->deleted : sc->v3 ? group_of(sc, e->scenario) : &sc->new_;
	char dur[64];

	if (!sb)
		return -ENOMEM;
	if (sb->len)
		sb_putc(sb, ',');
	duration_of(e->deleted ? sc->now : e->until, sc->now, dur, sizeof(dur));
	if (sc->v3 && e->deleted)
		sb_printf(sb, "\"%s\"", e->ip);
	else if (sc->v3)
		sb_printf(sb, "{\"duration\":\"%s\",\"value\":\"%s\"}", dur, e->ip);
	else
		sb_printf(sb,
			  "{\"duration\":\"%s\",\"origin\":\"CAPI\",\"scenario\":\"%s\","
			  "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"%s\"}",
			  dur, e->deleted ? "crowdsec-central" : e->scenario, e->ip);
	return sb->err;
}

static char *stream_answer(struct stream_ctx *sc, size_t *len)
{
	struct sbuf out = { 0 };

	if (!sc->v3) {
		sb_printf(&out, "{\"deleted\":[%s],\"new\":[%s]}",
			  sc->deleted.buf ? sc->deleted.buf : "", sc->new_.buf ? sc->new_.buf : "");
		return sb_take(&out, len);
	}
	sb_puts(&out, "{\"deleted\":[");
	if (sc->deleted.len)
		sb_printf(&out, "{\"decisions\":[%s],\"scope\":\"ip\"}", sc->deleted.buf);
	sb_puts(&out, "],\"links\":{\"blocklists\":[]},\"new\":[");
	for (size_t i = 0; i < sc->ng; i++)
		sb_printf(&out, "%s{\"decisions\":[%s],\"scenario\":\"%s\",\"scope\":\"ip\"}",
			  i ? "," : "", sc->g[i].sb.buf ? sc->g[i].sb.buf : "", sc->g[i].scenario);
	sb_puts(&out, "]}");
	return sb_take(&out, len);
}

static void stream(struct req *r, bool v3)
{
	struct stream_ctx sc = { .now = gotime_now(), .v3 = v3 };
	struct cs_machine m = { 0 };
	const char *a = req_arg(r, "startup");
	bool startup = false, community = true;
	char *body = NULL;
	size_t len = 0;
	int err;

	if (a && !go_parse_bool(a, &startup)) {
		reply_msg(r, 400, "startup: a boolean is expected");
		return;
	}
	a = req_arg(r, "community_pull");
	if (a && !go_parse_bool(a, &community)) {
		reply_msg(r, 400, "community_pull: a boolean is expected");
		return;
	}
	err = cs_db_machine_get(r->l->db, r->machine, &m);
	if (!err && community)
		err = central_pull(CENTRAL(r), r->machine, m.scenarios, startup, sc.now,
				   stream_entry, &sc);
	if (!err && !(body = stream_answer(&sc, &len)))
		err = -ENOMEM;
	if (err)
		reply_msg(r, 500, "cannot read the blocklist: %s", strerror(-err));
	else
		reply_raw(r, 200, "application/json; charset=utf-8", body, len);
	sb_free(&sc.new_);
	sb_free(&sc.deleted);
	for (size_t i = 0; i < sc.ng; i++) {
		free(sc.g[i].scenario);
		sb_free(&sc.g[i].sb);
	}
	free(sc.g);
	cs_machine_clear(&m);
}

static void c_stream_v2(struct req *r)
{
	stream(r, false);
}

static void c_stream_v3(struct req *r)
{
	stream(r, true);
}

/* Metrics are checked for shape and counted; nothing of them is stored. */
static void c_metrics(struct req *r)
{
	json_t *j = req_json_typed(r, JSON_OBJECT, "a JSON object");

	if (!j)
		return;
	if (!json_is_array(json_object_get(j, "machines")))
		reply_msg(r, 400, "machines: required array");
	else if (!json_is_array(json_object_get(j, "bouncers")))
		reply_msg(r, 400, "bouncers: required array");
	else {
		log_info("metrics from %s: %zu machine(s), %zu bouncer(s)", r->machine,
			 json_array_size(json_object_get(j, "machines")),
			 json_array_size(json_object_get(j, "bouncers")));
		reply_ok(r);
	}
	json_decref(j);
}

/*
 * A member's deleted or synced decisions (v3): accepted and ignored. Listings
 * come from consensus alone; no report removes one.
 */
static void c_decisions_ignored(struct req *r)
{
	json_t *j = req_json_typed(r, JSON_ARRAY, "a JSON array");

	if (!j)
		return;
	reply_ok(r);
	json_decref(j);
}

#define VERSIONED(v)                                                                       \
	{ "POST", "/" v "/watchers", AUTH_NONE, c_register },                               \
	{ "POST", "/" v "/watchers/login", AUTH_NONE, h_login },                            \
	{ "POST", "/" v "/signals", AUTH_JWT, c_signals },                                  \
	{ "POST", "/" v "/metrics", AUTH_JWT, c_metrics },                                  \
	{ "POST", "/" v "/metrics/", AUTH_JWT, c_metrics },                                 \
	{ "POST", "/" v "/decisions/delete", AUTH_JWT, c_decisions_ignored },              \
	{ "POST", "/" v "/decisions/sync", AUTH_JWT, c_decisions_ignored }

static const struct route central_routes[] = {
	{ "GET", "/health", AUTH_NONE, h_health },
	VERSIONED("v2"),
	VERSIONED("v3"),
	{ "GET", "/v2/decisions/stream", AUTH_JWT, c_stream_v2 },
	{ "GET", "/v3/decisions/stream", AUTH_JWT, c_stream_v3 },
};

void central_api_routes(struct cs_lapi_config *cfg, struct central *c)
{
	cfg->routes = central_routes;
	cfg->n_routes = sizeof(central_routes) / sizeof(central_routes[0]);
	cfg->app = c;
}
