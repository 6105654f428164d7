// SPDX-License-Identifier: MIT
/*
 * The LAPI as a member of a crowd (api.server.online_client, CrowdSec's
 * apic.go): the signals of stored alerts go to the central API in batches,
 * and its blocklist comes back as decisions of origin CAPI, which the stream
 * carries to the bouncers like any other.
 *
 * One thread. Signals wait in a bounded queue (the oldest dropped, counted)
 * and are pushed every push_interval (10 s) in batches of 50, as upstream;
 * the blocklist is pulled at start (startup=true: it replaces the CAPI
 * decisions) then by delta every pull_interval (1 min; upstream: 2 h). A
 * central server that is down, slow or refusing changes nothing locally: a
 * failed push keeps its signals for the next round, a failed pull touches no
 * decision. What the central sends is hostile input: bounded, checked
 * entry by entry, origin forced to CAPI, allowlists applied.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/condwait.h"
#include "common/gotime.h"
#include "common/ipaddr.h"
#include "common/log.h"
#include "common/readfile.h"
#include "common/yamljson.h"
#include "lapi/lapi_int.h"
#include "bouncer/stream.h"
#include "lapiclient/lapiclient.h"

#define CAPI_QUEUE_MAX 10000	       /* signals waiting for a push */
#define CAPI_BATCH 50		       /* signals a request, as upstream */
#define CAPI_MAX_ANSWER (1u << 20)    /* login, push (the blocklist is streamed) */
#define CAPI_MAX_SCENARIO_FILES 4096
#define CAPI_ORIGIN "CAPI"
#define CAPI_RESEND_SLACK (30 * NSEC_PER_SEC)
#define CAPI_DEFAULT_PUSH (10 * NSEC_PER_SEC)
#define CAPI_DEFAULT_PULL (60 * NSEC_PER_SEC)

struct capi_signal {
	char *scenario, *hash, *version, *ip;
	int64_t start_at, stop_at, created_at;
};

struct capi {
	struct cs_lapi *l;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock; /* the queue */
	struct capi_signal *q;
	size_t head, n;
	unsigned long dropped;
	struct lapi_client *cl;
	bool pulled; /* a startup pull succeeded */
	int64_t push_every, pull_every;
	bool warned; /* the central is unreachable: said once until it answers */
	json_t *hub_index; /* the hub's index: scenario versions by digest (NULL: none) */
};

static void signal_clear(struct capi_signal *s)
{
	free(s->scenario);
	free(s->hash);
	free(s->version);
	free(s->ip);
	memset(s, 0, sizeof(*s));
}

/* ---- signals in ---- */

/*
 * The hub version whose digest is the scenario's hash, as upstream's detector
 * (and ours, agent.c) stamps it from the hub index, for alerts that come without
 * one (a detector without a hub index): NULL when the file is not a published
 * version (tainted, local or unknown).
 */
static const char *hub_version(struct capi *c, const struct cs_alert *a)
{
	json_t *vs = json_object_get(
		json_object_get(json_object_get(c->hub_index, "scenarios"), a->scenario), "versions");
	const char *v;
	json_t *it;

	json_object_foreach(vs, v, it)
		if (!strcmp(json_string_value(json_object_get(it, "digest")) ?: "", a->scenario_hash))
			return v;
	return NULL;
}

/* CrowdSec's shouldShareAlert: not simulated, a hub scenario (hash and version), not manual. */
static const char *shared(struct capi *c, const struct cs_alert *a)
{
	const char *version = a->scenario_version;

	if (a->simulated || !a->scenario || !a->scenario_hash || !*a->scenario_hash)
		return NULL;
	if (!version || !*version)
		version = hub_version(c, a);
	if (!version || !*version || !strcmp(version, "?"))
		return NULL;
	if (a->n_decisions && a->decisions[0].origin && !strcmp(a->decisions[0].origin, "cscli"))
		return NULL;
	return a->src_scope && !strcasecmp(a->src_scope, "ip") && a->src_value && *a->src_value
		       ? version
		       : NULL;
}

void capi_signal_alerts(struct cs_lapi *l, struct cs_alert *const *v, size_t n, int64_t now)
{
	struct capi *c = l->capi;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < n; i++) {
		const char *version = shared(c, v[i]);
		struct capi_signal *s;

		if (!version)
			continue;
		if (c->n == CAPI_QUEUE_MAX) { /* the central is away for long: oldest out */
			signal_clear(&c->q[c->head]);
			c->head = (c->head + 1) % CAPI_QUEUE_MAX;
			c->n--;
			c->dropped++;
		}
		s = &c->q[(c->head + c->n) % CAPI_QUEUE_MAX];
		/* what the crowd needs of an alert, nothing more */
		*s = (struct capi_signal){
			.scenario = strdup(v[i]->scenario),
			.hash = strdup(v[i]->scenario_hash),
			.version = strdup(version),
			.ip = strdup(v[i]->src_value),
			.start_at = v[i]->start_at,
			.stop_at = v[i]->stop_at,
			.created_at = now,
		};
		if (!s->scenario || !s->hash || !s->version || !s->ip) {
			signal_clear(s);
			continue;
		}
		c->n++;
	}
	pthread_mutex_unlock(&c->lock);
}

/* ---- the central API ---- */

/* The scenarios this member runs: its machines' (login) and its config's scenarios/. */
static json_t *member_scenarios(struct capi *c)
{
	json_t *set = json_object(), *out = json_array(), *v;
	struct cs_machine *m = NULL;
	size_t n = 0, files = 0;
	const char *k;
	char dir[4096];
	DIR *d;
	struct dirent *e;

	if (!set || !out)
		goto out;
	if (!cs_db_machine_list(c->l->db, &m, &n))
		for (size_t i = 0; i < n; i++) {
			char *save = NULL, *list = m[i].scenarios ? strdup(m[i].scenarios) : NULL;

			for (char *t = list ? strtok_r(list, ",", &save) : NULL; t;
			     t = strtok_r(NULL, ",", &save))
				json_object_set_new(set, t, json_true());
			free(list);
		}
	cs_machines_free(m, n);
	snprintf(dir, sizeof(dir), "%s/scenarios", c->l->cfg.config_dir ? c->l->cfg.config_dir : ".");
	d = opendir(dir);
	while (d && (e = readdir(d)) && files < CAPI_MAX_SCENARIO_FILES) {
		char path[4400], err[256];
		json_t *docs, *doc;
		size_t i;

		if (!cs_is_yaml_name(e->d_name))
			continue;
		files++;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		docs = yamljson_load_file(path, false, err, sizeof(err));
		json_array_foreach(docs, i, doc) {
			const char *name = yamljson_get_str(doc, "name", NULL);

			if (name && *name && strlen(name) < 256)
				json_object_set_new(set, name, json_true());
		}
		json_decref(docs);
	}
	if (d)
		closedir(d);
	json_object_foreach(set, k, v)
		json_array_append_new(out, json_string(k));
out:
	json_decref(set);
	return out;
}

static void unreachable(struct capi *c, const char *what)
{
	if (!c->warned)
		log_warn("capi: %s: %s (local decisions unchanged; retrying)", what,
			 lapi_client_error(c->cl));
	c->warned = true;
}

static int ensure_login(struct capi *c)
{
	json_t *sc;
	char *answer = NULL;
	long status = 0;
	int err;

	if (lapi_client_logged_in(c->cl))
		return 0;
	sc = member_scenarios(c);
	err = lapi_client_login_at(c->cl, "/v2/watchers/login", sc, &status, &answer);
	if (err)
		unreachable(c, "login");
	else
		log_info("capi: logged in to %s as %s (%zu scenarios)", lapi_client_url(c->cl),
			 lapi_client_login_name(c->cl), json_array_size(sc));
	json_decref(sc);
	free(answer);
	return err;
}

/* One request with the token; a refused token is forgotten (the next round logs in). */
static int call(struct capi *c, const char *method, const char *path, const char *body,
		char **answer, long *status)
{
	int err = ensure_login(c);

	*answer = NULL;
	if (err)
		return err;
	err = lapi_client_do(c->cl, method, path, body, status, answer);
	if (err) {
		unreachable(c, path);
		return err;
	}
	if (*status == 401 || *status == 403)
		lapi_client_logout(c->cl);
	if (*status < 200 || *status >= 300) {
		log_warn("capi: %s %s: HTTP %ld", method, path, *status);
		return -EPROTO;
	}
	if (c->warned)
		log_info("capi: %s answers again", lapi_client_url(c->cl));
	c->warned = false;
	return 0;
}

static json_t *signal_json(const struct capi_signal *s)
{
	char st[GOTIME_STRLEN], sp[GOTIME_STRLEN], cr[GOTIME_STRLEN];

	gotime_format_rfc3339(s->start_at, st, sizeof(st));
	gotime_format_rfc3339(s->stop_at, sp, sizeof(sp));
	gotime_format_rfc3339(s->created_at, cr, sizeof(cr));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s},s:s,s:s,s:s}", "scenario", s->scenario,
			 "scenario_hash", s->hash, "scenario_version", s->version, "scenario_trust",
			 "certified", "message", "", "source", "scope", "ip", "value", s->ip, "ip",
			 s->ip, "start_at", st, "stop_at", sp, "created_at", cr);
}

/* Push what is queued, a batch at a time; a batch that fails stays queued. */
static void push(struct capi *c)
{
	for (;;) {
		json_t *arr = json_array();
		char *body = NULL, *answer = NULL;
		size_t k;
		long status;
		int err;

		pthread_mutex_lock(&c->lock);
		for (k = 0; arr && k < c->n && k < CAPI_BATCH; k++)
			json_array_append_new(arr, signal_json(&c->q[(c->head + k) % CAPI_QUEUE_MAX]));
		pthread_mutex_unlock(&c->lock);
		if (arr && k)
			body = json_dumps(arr, JSON_COMPACT);
		json_decref(arr);
		if (!body)
			return;
		err = call(c, "POST", "/v2/signals", body, &answer, &status);
		free(body);
		free(answer);
		if (err)
			return;
		pthread_mutex_lock(&c->lock);
		for (size_t i = 0; i < k && c->n; i++) {
			signal_clear(&c->q[c->head]);
			c->head = (c->head + 1) % CAPI_QUEUE_MAX;
			c->n--;
		}
		pthread_mutex_unlock(&c->lock);
		log_debug("capi: %zu signal(s) pushed", k);
	}
}

/* Soft-delete the CAPI decisions (on one value, or all of them; created before
 * `before` when it is set). */
static void expire_capi(struct capi *c, const char *value, int64_t before, int64_t now)
{
	char *origins[] = { CAPI_ORIGIN };
	struct cs_dfilter f = { .origins = origins, .n_origins = 1, .value = value,
				.include_simulated = true, .created_before = before };
	long n = 0;

	cs_db_decisions_expire(c->l->db, &f, now, &n);
}

/* An active CAPI decision on d's value that lasts about as long already. */
static bool capi_has(struct capi *c, const struct cs_decision *d, int64_t now)
{
	char *origins[] = { CAPI_ORIGIN };
	struct cs_dfilter f = { .origins = origins, .n_origins = 1, .value = d->value };
	struct cs_decision *v = NULL;
	size_t n = 0;
	bool has = false;

	if (!cs_db_decisions_active(c->l->db, &f, now, &v, &n))
		for (size_t i = 0; i < n && !has; i++)
			has = v[i].until >= now + d->duration - CAPI_RESEND_SLACK;
	cs_decisions_free(v, n);
	return has;
}

/*
 * The blocklist is read as it arrives (bouncer/stream.h's decoder) and stored
 * CAPI_PULL_BATCH entries at a time: a million-entry startup list never sits in
 * memory whole, as text or as JSON.
 */
#define CAPI_PULL_BATCH 10000

/* An entry's strings, copied out of the decoder's buffer (valid for one callback). */
struct capi_entry {
	char value[65], scenario[257], type[65];
};

struct pull_state {
	struct capi *c;
	bool startup;
	int64_t now;
	struct stream_parser *sp;
	struct capi_entry *e; /* CAPI_PULL_BATCH of each */
	struct cs_decision *d;
	size_t n;
	size_t added, deleted, bad;
	bool store_failed; /* said already: not the central's fault */
};

/* One "new" entry, checked into *out (strings in *e); NULL, or the field it fails on. */
static const char *entry_check(const struct stream_decision *sd, struct cs_decision *out,
			       struct capi_entry *e)
{
	struct cs_prefix p;
	int64_t ns;

	if (!sd->value || strlen(sd->value) >= sizeof(e->value) ||
	    cs_prefix_parse(sd->value, CS_PREFIX_MASK, &p))
		return "value";
	if (strcasecmp(sd->scope, "ip") && strcasecmp(sd->scope, "range"))
		return "scope";
	if (gotime_parse_duration(sd->duration, &ns) || ns <= 0)
		return "duration";
	if (!sd->scenario || strlen(sd->scenario) >= sizeof(e->scenario))
		return "scenario";
	if (strlen(sd->type) >= sizeof(e->type))
		return "type";
	strcpy(e->value, sd->value);
	strcpy(e->scenario, sd->scenario);
	strcpy(e->type, sd->type);
	*out = (struct cs_decision){
		.duration = ns,
		.scenario = e->scenario,
		.type = e->type,
		.scope = (char *)(strcasecmp(sd->scope, "ip") ? "Range" : "Ip"),
		.value = e->value,
		.origin = (char *)CAPI_ORIGIN,
	};
	return NULL;
}

/* The blocklist's alert stored after what the journal acknowledged (ids grow as stored). */
static int capi_insert(struct cs_lapi *l, struct cs_alert *a, int64_t now, int64_t *id)
{
	int err;

	if (lapi_journal_exclusive(l, true))
		return -EAGAIN; /* logged; the pull is tried again later */
	err = cs_db_alerts_insert(l->db, (struct cs_alert *const[]){ a }, 1, NULL, now, id);
	lapi_journal_exclusive(l, false);
	return err;
}

/* The batch as one alert of CAPI decisions. */
static int pull_flush(struct pull_state *ps)
{
	struct capi *c = ps->c;
	struct cs_alert a = { .decisions = ps->d, .n_decisions = ps->n,
			      .decisions_borrowed = true };
	char title[96];
	int64_t id;
	int err;

	for (size_t i = 0; !ps->startup && i < a.n_decisions;) {
		/* an entry sent again (the central's deltas overlap a little) is kept as
		 * is; a renewal replaces it */
		if (capi_has(c, &a.decisions[i], ps->now)) {
			a.decisions[i] = a.decisions[--a.n_decisions];
			continue;
		}
		expire_capi(c, a.decisions[i].value, 0, ps->now);
		i++;
	}
	ps->n = 0;
	snprintf(title, sizeof(title), "update : +%zu IPs", a.n_decisions);
	a.scenario = title;
	a.scenario_hash = a.scenario_version = a.message = a.src_value = (char *)"";
	a.src_scope = (char *)"Community blocklist";
	a.start_at = a.stop_at = ps->now;
	a.remediation = true;
	if (a.n_decisions && !lapi_allowlist_filter(c->l, &a, ps->now) &&
	    (err = capi_insert(c->l, &a, ps->now, &id))) {
		log_error("capi: cannot store the blocklist: %s",
			  err == -EAGAIN ? "the alert journal's writer is behind"
					 : cs_db_errmsg(c->l->db));
		ps->store_failed = true;
		return -EIO;
	}
	ps->added += a.n_decisions;
	return 0;
}

static int pull_item(int which, size_t idx, const struct stream_decision *sd, void *arg)
{
	struct pull_state *ps = arg;
	const char *why;

	if (which == STREAM_DELETED) {
		if (strlen(sd->value) <= 64)
			expire_capi(ps->c, sd->value, 0, ps->now);
		ps->deleted++;
		return 0;
	}
	why = entry_check(sd, &ps->d[ps->n], &ps->e[ps->n]);
	if (why) {
		if (!ps->bad++)
			log_warn("capi: blocklist entry %zu skipped: bad %s", idx, why);
		return 0;
	}
	return ++ps->n == CAPI_PULL_BATCH ? pull_flush(ps) : 0;
}

static int pull_data(const char *data, size_t len, void *arg)
{
	struct pull_state *ps = arg;

	return stream_parser_feed(ps->sp, data, len);
}

/*
 * A startup list replaces what we had: the CAPI decisions older than the pull
 * go once it was read whole (a pull cut short leaves the old list beside what
 * arrived; the next startup pull replaces both).
 */
static void pull(struct capi *c)
{
	struct pull_state ps = { .c = c, .startup = !c->pulled, .now = gotime_now() };
	char *answer = NULL;
	long status = 0;
	int err;

	ps.e = malloc(CAPI_PULL_BATCH * sizeof(*ps.e));
	ps.d = malloc(CAPI_PULL_BATCH * sizeof(*ps.d));
	err = ps.e && ps.d ? stream_parser_new(pull_item, &ps, &ps.sp) : -ENOMEM;
	if (!err) {
		stream_parser_id_optional(ps.sp);
		err = ensure_login(c);
	}
	if (!err) {
		err = lapi_client_stream(c->cl, "GET",
					 ps.startup ? "/v2/decisions/stream?startup=true"
						    : "/v2/decisions/stream",
					 &status, pull_data, &ps, &answer);
		if (err == -EBADMSG)
			log_warn("capi: the blocklist answer: %s", stream_parser_why(ps.sp));
		else if (err && err != -EIO)
			log_warn("capi: pulling the blocklist: %s", strerror(-err));
		else if (err && !ps.store_failed) /* a store failure was said already */
			unreachable(c, "/v2/decisions/stream");
	}
	if (!err && (status < 200 || status >= 300)) {
		if (status == 401 || status == 403)
			lapi_client_logout(c->cl);
		log_warn("capi: GET /v2/decisions/stream: HTTP %ld", status);
		err = -EPROTO;
	}
	if (!err && (err = stream_parser_finish(ps.sp)))
		log_warn("capi: the blocklist answer: %s", stream_parser_why(ps.sp));
	if (!err)
		err = pull_flush(&ps);
	if (!err && ps.startup)
		expire_capi(c, NULL, ps.now, ps.now);
	if (!err) {
		c->pulled = true;
		if (c->warned)
			log_info("capi: %s answers again", lapi_client_url(c->cl));
		c->warned = false;
	}
	log_msg(!err && (ps.startup || ps.added || ps.deleted) ? LOG_LVL_INFO : LOG_LVL_DEBUG,
		"capi: community blocklist %s%s: +%zu/-%zu%s", ps.startup ? "startup" : "delta",
		err ? " (cut short)" : "", ps.added, ps.deleted,
		ps.bad ? " (some entries skipped)" : "");
	stream_parser_free(ps.sp);
	free(ps.e);
	free(ps.d);
	free(answer);
}

static void *capi_main(void *arg)
{
	struct capi *c = arg;
	int64_t next_pull = 0, next_push = gotime_now() + c->push_every;

	pthread_mutex_lock(&c->l->stop_lock);
	while (!c->l->stopping) {
		int64_t now = gotime_now(), wake;
		struct timespec until;

		pthread_mutex_unlock(&c->l->stop_lock);
		/* replicas on one PostgreSQL: the blocklist is pulled by one of them */
		if (now >= next_pull) {
			if (cs_db_cluster_claim(c->l->db, "capi-pull", now,
						c->pull_every - NSEC_PER_SEC) == 1)
				pull(c);
			next_pull = now + c->pull_every;
		}
		if (now >= next_push) {
			push(c);
			next_push = now + c->push_every;
		}
		wake = next_pull < next_push ? next_pull : next_push;
		/* the schedule is on the wall clock (its periods); the wait is not */
		until = cs_mono_deadline((wake - gotime_now()) / (NSEC_PER_SEC / 1000));
		pthread_mutex_lock(&c->l->stop_lock);
		while (!c->l->stopping &&
		       cs_cond_wait_until(&c->l->stop_cond, &c->l->stop_lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&c->l->stop_lock);
	push(c); /* what is queued goes before we stop, as upstream */
	return NULL;
}

int capi_start(struct cs_lapi *l)
{
	const struct lapi_client_opts o = { .user_agent = "crowdsec/" LAPI_VERSION,
					    .timeout_s = 120,
					    .connect_timeout_ms = 5000,
					    .max_answer = CAPI_MAX_ANSWER };
	struct capi *c;
	char err[512];
	int ret;

	if (!l->cfg.online_credentials_path)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->l = l;
	pthread_mutex_init(&c->lock, NULL);
	c->push_every = l->cfg.online_push_interval ? l->cfg.online_push_interval : CAPI_DEFAULT_PUSH;
	c->pull_every = l->cfg.online_pull_interval ? l->cfg.online_pull_interval : CAPI_DEFAULT_PULL;
	c->q = calloc(CAPI_QUEUE_MAX, sizeof(*c->q));
	ret = c->q ? lapi_client_open(l->cfg.online_credentials_path, &o, &c->cl, err, sizeof(err))
		   : -ENOMEM;
	if (ret) {
		/* as upstream: a member without usable credentials runs alone */
		log_warn("capi: %s: %s: not pushing nor pulling", l->cfg.online_credentials_path,
			 ret == -ENOMEM ? "out of memory" : err);
		l->capi = c;
		capi_stop(l);
		return 0;
	}
	/* a local, trusted file (cscli hub update writes it) */
	c->hub_index = l->cfg.hub_index_path ? json_load_file(l->cfg.hub_index_path, 0, NULL) : NULL;
	if (!c->hub_index)
		log_info("capi: no hub index at %s: only alerts that carry a scenario version"
			 " are shared", l->cfg.hub_index_path ? l->cfg.hub_index_path : "-");
	l->capi = c;
	ret = -pthread_create(&c->thread, NULL, capi_main, c);
	c->running = !ret;
	if (!ret)
		log_info("capi: member of %s (push every %llds, pull every %llds)",
			 lapi_client_url(c->cl), (long long)(c->push_every / NSEC_PER_SEC),
			 (long long)(c->pull_every / NSEC_PER_SEC));
	return ret;
}

void capi_stop(struct cs_lapi *l)
{
	struct capi *c = l->capi;

	if (!c)
		return;
	if (c->running)
		pthread_join(c->thread, NULL); /* l->stopping is set: it pushes and returns */
	l->capi = NULL;
	for (size_t i = 0; c->q && i < c->n; i++)
		signal_clear(&c->q[(c->head + i) % CAPI_QUEUE_MAX]);
	if (c->dropped)
		log_warn("capi: %lu signal(s) dropped while the central was away", c->dropped);
	free(c->q);
	json_decref(c->hub_index);
	lapi_client_free(c->cl);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
