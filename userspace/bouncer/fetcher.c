// SPDX-License-Identifier: MIT
#include "bouncer/fetcher.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>

#include "bouncer/decisions.h"
#include "bouncer/privsep.h"
#include "bouncer/xdp_loader.h"
#include "common/gotime.h"
#include "common/log.h"

/* A startup answer with 1M decisions is ~150 MB of JSON; refuse beyond this. */
#define MAX_BODY (1024UL * 1024 * 1024)
#define BACKOFF_MAX_NS (30ULL * 1000000000ULL)
#define OUTBUF_RECORDS PS_MAX_RECORDS

struct fetcher {
	const struct bouncer_config *cfg;
	int sock;
	CURL *curl;
	struct curl_slist *headers;
	struct dmodel *model;
	bool synced;	      /* a startup=true pull has been applied */
	bool lapi_down;
	uint64_t failures;
	struct ps_msg out[OUTBUF_RECORDS];
	int nout;
	/* the applier could not apply everything: send the whole state again then */
	uint64_t resend_at, resend_backoff, last_apply_failure;
	/* for metrics, guarded by lock (the HTTP server runs its own thread) */
	pthread_mutex_t lock;
	struct ps_stats_msg last_stats;
	bool have_stats;
	time_t last_pull_ok;
	uint64_t active_by_origin[CS_ORIGIN_MAX];
	uint64_t pulls_ok, pulls_failed;
	struct MHD_Daemon *mhd;
};

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t boot_now(void)
{
	return xdp_loader_boot_ns();
}

/* ---- talking to the applier -------------------------------------------------- */

static int out_flush(struct fetcher *f)
{
	ssize_t n;

	if (!f->nout)
		return 0;
	n = send(f->sock, f->out, (size_t)f->nout * sizeof(struct ps_msg), MSG_NOSIGNAL);
	f->nout = 0;
	return n < 0 ? -errno : 0;
}

static int out_push(struct fetcher *f, const struct ps_msg *m)
{
	f->out[f->nout++] = *m;
	return f->nout == OUTBUF_RECORDS ? out_flush(f) : 0;
}

static int out_simple(struct fetcher *f, uint32_t type)
{
	struct ps_msg m = { .type = type };
	int err = out_push(f, &m);

	return err ? err : out_flush(f);
}

static void effect_to_applier(const struct deffect *e, void *arg)
{
	struct fetcher *f = arg;
	struct ps_msg m = { .type = e->present ? PS_SET : PS_CLEAR };

	m.ban.prefix.family = e->prefix.family == AF_INET ? 4 : 6;
	m.ban.prefix.plen = e->prefix.plen;
	memcpy(m.ban.prefix.addr, e->prefix.addr, 16);
	m.ban.origin = e->origin;
	m.ban.expires_boot_ns = e->expires;
	m.ban.decision_id = e->id;
	out_push(f, &m);
}

/* ---- the stream ---------------------------------------------------------------- */

struct body {
	char *buf;
	size_t len, cap;
	bool too_big;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;

	if (b->len + n + 1 > MAX_BODY) {
		b->too_big = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 65536;
		char *nb;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		nb = realloc(b->buf, ncap);
		if (!nb)
			return 0;
		b->buf = nb;
		b->cap = ncap;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

static int append_list_param(char *url, size_t len, const char *name, const struct bcfg_list *l)
{
	size_t off = strlen(url);

	if (!l->n)
		return 0;
	off += (size_t)snprintf(url + off, len - off, "&%s=", name);
	for (int i = 0; i < l->n && off < len; i++) {
		char *esc = curl_easy_escape(NULL, l->v[i], 0);

		off += (size_t)snprintf(url + off, len - off, "%s%s", i ? "%2C" : "", esc ? esc : "");
		curl_free(esc);
	}
	return off < len ? 0 : -ENAMETOOLONG;
}

/*
 * A startup answer can hold a million decisions (~140 MB). Decoding it into one
 * jansson tree would cost several times that in memory, so the answer is walked
 * item by item: the outer `{"deleted": [...], "new": [...]}` frame is matched
 * here (its keys and punctuation only), and every decision object is decoded by
 * jansson on its own (JSON_DISABLE_EOF_CHECK stops at the object's closing brace
 * and reports how far it read), handed to the callback and freed.
 */
static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

int fetcher_walk_stream(const char *body, size_t len, stream_item_fn fn, void *arg, char *why,
			size_t whylen)
{
	const char *p = body, *end = body + len;
	bool seen[2] = { false, false };

	p = skip_ws(p, end);
	if (p == end || *p != '{') {
		snprintf(why, whylen, "not a JSON object");
		return -EBADMSG;
	}
	p = skip_ws(p + 1, end);
	while (p < end && *p != '}') {
		int which;
		size_t idx = 0;

		if (end - p >= 5 && !memcmp(p, "\"new\"", 5)) {
			which = STREAM_NEW, p += 5;
		} else if (end - p >= 9 && !memcmp(p, "\"deleted\"", 9)) {
			which = STREAM_DELETED, p += 9;
		} else {
			snprintf(why, whylen, "unexpected content at byte %zu (only \"new\" and "
					      "\"deleted\" are expected)", (size_t)(p - body));
			return -EBADMSG;
		}
		if (seen[which]) {
			snprintf(why, whylen, "duplicate key at byte %zu", (size_t)(p - body));
			return -EBADMSG;
		}
		seen[which] = true;
		p = skip_ws(p, end);
		if (p == end || *p != ':')
			goto syntax;
		p = skip_ws(p + 1, end);
		if (end - p >= 4 && !memcmp(p, "null", 4)) {
			p += 4;
		} else if (p < end && *p == '[') {
			p = skip_ws(p + 1, end);
			while (p < end && *p != ']') {
				json_error_t jerr;
				json_t *d = json_loadb(p, (size_t)(end - p), JSON_DISABLE_EOF_CHECK, &jerr);
				int err;

				if (!d) {
					snprintf(why, whylen, "%s[%zu]: %s", which ? "deleted" : "new", idx,
						 jerr.text);
					return -EBADMSG;
				}
				p += jerr.position;
				err = json_is_object(d) ? fn(which, idx, d, arg) : -EBADMSG;
				json_decref(d);
				if (err) {
					snprintf(why, whylen, "%s[%zu]: not a decision (value, scope, type, "
							      "duration, id)", which ? "deleted" : "new", idx);
					return err;
				}
				idx++;
				p = skip_ws(p, end);
				if (p < end && *p == ',')
					p = skip_ws(p + 1, end);
				else if (p == end || *p != ']')
					goto syntax;
			}
			if (p == end)
				goto syntax;
			p++;
		} else {
			snprintf(why, whylen, "'%s' is neither null nor a list", which ? "deleted" : "new");
			return -EBADMSG;
		}
		p = skip_ws(p, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
		else if (p == end || *p != '}')
			goto syntax;
	}
	if (p == end || skip_ws(p + 1, end) != end)
		goto syntax;
	if (!seen[0] && !seen[1]) {
		snprintf(why, whylen, "neither 'new' nor 'deleted' in the answer");
		return -EBADMSG;
	}
	return 0;
syntax:
	snprintf(why, whylen, "malformed JSON at byte %zu", (size_t)(p - body));
	return -EBADMSG;
}

static int check_decision(int which, size_t idx, json_t *d, void *arg)
{
	(void)which, (void)idx, (void)arg;
	return json_is_string(json_object_get(d, "value")) &&
			       json_is_string(json_object_get(d, "scope")) &&
			       json_is_string(json_object_get(d, "type")) &&
			       json_is_string(json_object_get(d, "duration")) &&
			       json_is_integer(json_object_get(d, "id")) ?
		       0 : -EBADMSG;
}

int fetcher_parse_stream(const char *body, size_t len, char *why, size_t whylen)
{
	return fetcher_walk_stream(body, len, check_decision, NULL, why, whylen);
}

static uint8_t origin_class(const char *o)
{
	if (!o)
		return CS_ORIGIN_OTHER;
	if (!strcmp(o, "crowdsec") || !strncmp(o, "crowdsec/", 9))
		return CS_ORIGIN_CROWDSEC;
	if (!strcmp(o, "cscli") || !strcmp(o, "cscli-import") || !strcmp(o, "console"))
		return CS_ORIGIN_CSCLI;
	if (!strcmp(o, "CAPI"))
		return CS_ORIGIN_CAPI;
	if (!strcmp(o, "lists"))
		return CS_ORIGIN_LISTS;
	return CS_ORIGIN_OTHER;
}

/* Decides whether a stream item is ours to apply, and if so its prefix. */
static bool applicable(const struct fetcher *f, json_t *d, struct cs_prefix *p)
{
	const char *scope = json_string_value(json_object_get(d, "scope"));
	const char *type = json_string_value(json_object_get(d, "type"));
	const char *value = json_string_value(json_object_get(d, "value"));
	bool type_ok = false;
	int err;

	for (int i = 0; i < f->cfg->decision_types.n; i++)
		type_ok |= !strcasecmp(type, f->cfg->decision_types.v[i]);
	if (!type_ok)
		return false;
	if (!strcasecmp(scope, "ip")) {
		if (strchr(value, '/'))
			return false;
	} else if (strcasecmp(scope, "range")) {
		return false;
	}
	err = cs_prefix_parse(value, p);
	if (err) {
		log_warn("decision %lld: value '%s': %s; ignored",
			 (long long)json_integer_value(json_object_get(d, "id")), value,
			 cs_prefix_strerror(err));
		return false;
	}
	return p->family == AF_INET ? f->cfg->ipv4 : f->cfg->ipv6;
}

struct apply_ctx {
	struct fetcher *f;
	bool startup;
	uint64_t now;
};

static int apply_item(int which, size_t idx, json_t *d, void *arg)
{
	struct apply_ctx *a = arg;
	struct fetcher *f = a->f;
	const char *dur;
	struct cs_prefix p;
	int64_t ns;

	(void)idx;
	if (!applicable(f, d, &p))
		return 0;
	if (which == STREAM_DELETED) {
		/* on startup the model is rebuilt: its deleted list needs no action */
		if (!a->startup)
			dmodel_del(f->model, &p, (uint64_t)json_integer_value(json_object_get(d, "id")),
				   effect_to_applier, f);
		return 0;
	}
	dur = json_string_value(json_object_get(d, "duration"));
	if (gotime_parse_duration(dur, &ns)) {
		log_warn("decision %lld: duration '%s' does not parse; ignored",
			 (long long)json_integer_value(json_object_get(d, "id")), dur);
		return 0;
	}
	if (ns <= 0)
		return 0;
	dmodel_add(f->model, &p, (uint64_t)json_integer_value(json_object_get(d, "id")),
		   a->now + (uint64_t)ns, origin_class(json_string_value(json_object_get(d, "origin"))),
		   a->startup ? NULL : effect_to_applier, a->startup ? NULL : f);
	return 0;
}

/*
 * The answer was validated whole before this runs, so a malformed answer changes
 * nothing. The model is keyed by decision id, so the order of the two lists does
 * not matter (1.4.6 sends "deleted" first, newer LAPIs "new" first).
 */
static void apply_answer(struct fetcher *f, const char *body, size_t len, bool startup)
{
	struct apply_ctx a = { .f = f, .startup = startup, .now = boot_now() };
	char why[256];

	if (startup) {
		/* A full state: rebuild the model, send it whole; the applier removes what
		 * it holds beyond it only at the end, so nothing banned is ever let out. */
		dmodel_clear(f->model);
	}
	fetcher_walk_stream(body, len, apply_item, &a, why, sizeof(why));
	if (startup) {
		out_simple(f, PS_SYNC_BEGIN);
		dmodel_for_each(f->model, effect_to_applier, f);
		out_simple(f, PS_SYNC_END);
	}
	out_simple(f, PS_FLUSH);
}

static int pull(struct fetcher *f)
{
	char url[4096], why[256];
	struct body body = {};
	long status = 0;
	bool startup = !f->synced;
	CURLcode cc;
	int err;

	snprintf(url, sizeof(url), "%sv1/decisions/stream?dedup=false%s", f->cfg->api_url,
		 startup ? "&startup=true" : "");
	if (append_list_param(url, sizeof(url), "scopes", &f->cfg->scopes) ||
	    append_list_param(url, sizeof(url), "origins", &f->cfg->origins) ||
	    append_list_param(url, sizeof(url), "scenarios_containing",
			      &f->cfg->scenarios_containing) ||
	    append_list_param(url, sizeof(url), "scenarios_not_containing",
			      &f->cfg->scenarios_not_containing))
		return -ENAMETOOLONG;
	curl_easy_setopt(f->curl, CURLOPT_URL, url);
	curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, &body);
	cc = curl_easy_perform(f->curl);
	if (cc != CURLE_OK) {
		snprintf(why, sizeof(why), "%s", body.too_big ? "answer too large" : curl_easy_strerror(cc));
		err = -EIO;
		goto fail;
	}
	curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(why, sizeof(why), "HTTP %ld: %.200s", status, body.buf ? body.buf : "");
		err = -EPROTO;
		goto fail;
	}
	err = fetcher_parse_stream(body.buf ? body.buf : "", body.len, why, sizeof(why));
	if (err)
		goto fail;
	apply_answer(f, body.buf, body.len, startup);
	free(body.buf);
	if (f->lapi_down)
		log_info("LAPI reachable again after %llu failed pull(s)", (unsigned long long)f->failures);
	else if (startup)
		log_info("startup pull applied: %zu prefixes from %zu decisions",
			 dmodel_prefixes(f->model), dmodel_decisions(f->model));
	f->synced = true;
	f->lapi_down = false;
	f->failures = 0;
	pthread_mutex_lock(&f->lock);
	f->last_pull_ok = time(NULL);
	f->pulls_ok++;
	pthread_mutex_unlock(&f->lock);
	return 0;
fail:
	free(body.buf);
	/* The outage is logged once, when it starts; the state in the data plane stays. */
	if (!f->lapi_down)
		log_error("LAPI pull failed (%s); keeping the current bans and retrying", why);
	else
		log_debug("LAPI pull failed again: %s", why);
	f->lapi_down = true;
	f->failures++;
	pthread_mutex_lock(&f->lock);
	f->pulls_failed++;
	pthread_mutex_unlock(&f->lock);
	return err;
}

/* ---- metrics ------------------------------------------------------------------------ */

static const char *const origin_label[CS_ORIGIN_MAX] = { "crowdsec", "cscli", "CAPI", "lists",
							 "other" };

static void count_origins(const struct deffect *e, void *arg)
{
	uint64_t *by = arg;

	by[e->origin < CS_ORIGIN_MAX ? e->origin : CS_ORIGIN_OTHER]++;
}

static enum MHD_Result serve_metrics(void *cls, struct MHD_Connection *c, const char *url,
				     const char *method, const char *version, const char *upload,
				     size_t *upload_size, void **con_cls)
{
	static const char *const pass_label[] = { "no_match", "not_ip", "unparsed", "inactive",
						  "dry_run" };
	static const char *const mode_label[] = { "none", "native", "generic" };
	struct fetcher *f = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = NULL;
	size_t tlen = 0;
	FILE *o;

	(void)version, (void)upload, (void)upload_size, (void)con_cls;
	if (strcmp(method, "GET") || strcmp(url, "/metrics")) {
		resp = MHD_create_response_from_buffer(10, (void *)"not found\n", MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(c, MHD_HTTP_NOT_FOUND, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	o = open_memstream(&text, &tlen);
	if (!o)
		return MHD_NO;
	pthread_mutex_lock(&f->lock);
	fprintf(o, "# HELP cs_xdp_bouncer_dropped_packets Packets dropped, by origin of the ban.\n"
		   "# TYPE cs_xdp_bouncer_dropped_packets counter\n");
	for (int i = 0; i < CS_ORIGIN_MAX && f->have_stats; i++)
		fprintf(o, "cs_xdp_bouncer_dropped_packets{origin=\"%s\"} %llu\n", origin_label[i],
			(unsigned long long)f->last_stats.counters[CS_STAT_DROP_BASE + i].packets);
	fprintf(o, "# HELP cs_xdp_bouncer_dropped_bytes Bytes dropped, by origin of the ban.\n"
		   "# TYPE cs_xdp_bouncer_dropped_bytes counter\n");
	for (int i = 0; i < CS_ORIGIN_MAX && f->have_stats; i++)
		fprintf(o, "cs_xdp_bouncer_dropped_bytes{origin=\"%s\"} %llu\n", origin_label[i],
			(unsigned long long)f->last_stats.counters[CS_STAT_DROP_BASE + i].bytes);
	fprintf(o, "# HELP cs_xdp_bouncer_passed_packets Packets passed, by reason.\n"
		   "# TYPE cs_xdp_bouncer_passed_packets counter\n");
	for (int i = 0; i < CS_STAT_DROP_BASE && f->have_stats; i++)
		fprintf(o, "cs_xdp_bouncer_passed_packets{reason=\"%s\"} %llu\n", pass_label[i],
			(unsigned long long)f->last_stats.counters[i].packets);
	fprintf(o, "# HELP cs_xdp_bouncer_active_decisions Prefixes in the data plane, by origin.\n"
		   "# TYPE cs_xdp_bouncer_active_decisions gauge\n");
	for (int i = 0; i < CS_ORIGIN_MAX; i++)
		fprintf(o, "cs_xdp_bouncer_active_decisions{origin=\"%s\",type=\"ban\"} %llu\n",
			origin_label[i], (unsigned long long)f->active_by_origin[i]);
	fprintf(o, "# HELP cs_xdp_bouncer_attach_mode XDP attach mode per interface (1 = in use).\n"
		   "# TYPE cs_xdp_bouncer_attach_mode gauge\n");
	for (int i = 0; f->have_stats && i < (int)f->last_stats.n_ifaces &&
			i < f->cfg->interfaces.n; i++) {
		uint32_t m = f->last_stats.iface_mode[i];

		fprintf(o, "cs_xdp_bouncer_attach_mode{interface=\"%s\",mode=\"%s\"} 1\n",
			f->cfg->interfaces.v[i], mode_label[m < 3 ? m : 0]);
	}
	fprintf(o, "# HELP cs_xdp_bouncer_backend Active backend (1 = in use).\n"
		   "# TYPE cs_xdp_bouncer_backend gauge\n"
		   "cs_xdp_bouncer_backend{backend=\"%s\"} 1\n",
		   f->have_stats && f->last_stats.backend ? "nftables" : "xdp");
	fprintf(o, "# HELP cs_xdp_bouncer_last_pull_timestamp_seconds Last successful LAPI pull.\n"
		   "# TYPE cs_xdp_bouncer_last_pull_timestamp_seconds gauge\n"
		   "cs_xdp_bouncer_last_pull_timestamp_seconds %lld\n"
		   "# HELP cs_xdp_bouncer_lapi_pulls_total LAPI pulls by result.\n"
		   "# TYPE cs_xdp_bouncer_lapi_pulls_total counter\n"
		   "cs_xdp_bouncer_lapi_pulls_total{result=\"ok\"} %llu\n"
		   "cs_xdp_bouncer_lapi_pulls_total{result=\"failed\"} %llu\n"
		   "# HELP cs_xdp_bouncer_apply_failures_total Ban updates the data plane refused "
		   "(a full map); they are retried.\n"
		   "# TYPE cs_xdp_bouncer_apply_failures_total counter\n"
		   "cs_xdp_bouncer_apply_failures_total %llu\n",
		   (long long)f->last_pull_ok, (unsigned long long)f->pulls_ok,
		   (unsigned long long)f->pulls_failed,
		   (unsigned long long)(f->have_stats ? f->last_stats.apply_failures : 0));
	pthread_mutex_unlock(&f->lock);
	fclose(o);
	resp = MHD_create_response_from_buffer(tlen, text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int start_metrics(struct fetcher *f)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->cfg->metrics_port) };

	if (!f->cfg->metrics_enabled)
		return 0;
	if (inet_pton(AF_INET, f->cfg->metrics_addr, &sa.sin_addr) != 1) {
		log_error("prometheus.listen_addr '%s' is not an IPv4 address", f->cfg->metrics_addr);
		return -EINVAL;
	}
	f->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)f->cfg->metrics_port,
				  NULL, NULL, serve_metrics, f, MHD_OPTION_SOCK_ADDR, &sa,
				  MHD_OPTION_CONNECTION_LIMIT, 16U, MHD_OPTION_CONNECTION_TIMEOUT, 10U,
				  MHD_OPTION_END);
	if (!f->mhd) {
		log_error("cannot serve metrics on %s:%d", f->cfg->metrics_addr, f->cfg->metrics_port);
		return -EADDRINUSE;
	}
	log_info("metrics on http://%s:%d/metrics", f->cfg->metrics_addr, f->cfg->metrics_port);
	return 0;
}

/* ---- main loop ------------------------------------------------------------------------ */

#define RESEND_MIN_NS 1000000000ULL
#define RESEND_MAX_NS (60ULL * 1000000000ULL)

/* A failure report: retry with a backoff that grows while failures go on. */
static void schedule_resend(struct fetcher *f)
{
	uint64_t now = boot_now();

	if (!f->resend_backoff || now - f->last_apply_failure > 2 * RESEND_MAX_NS)
		f->resend_backoff = RESEND_MIN_NS;
	else if (f->resend_backoff < RESEND_MAX_NS)
		f->resend_backoff *= 2;
	f->last_apply_failure = now;
	if (!f->resend_at)
		f->resend_at = now + f->resend_backoff;
}

static void read_replies(struct fetcher *f)
{
	union {
		struct ps_stats_msg stats;
		struct ps_msg rec;
	} m;
	ssize_t n;

	while ((n = recv(f->sock, &m, sizeof(m), MSG_DONTWAIT)) > 0) {
		if (n == sizeof(m.rec) && m.rec.type == PS_APPLY_FAILED) {
			schedule_resend(f);
			continue;
		}
		if (n != sizeof(m.stats) || m.stats.type != PS_STATS)
			continue;
		pthread_mutex_lock(&f->lock);
		f->last_stats = m.stats;
		f->have_stats = true;
		pthread_mutex_unlock(&f->lock);
	}
	if (n == 0)
		stop_requested = 1; /* the applier went away */
}

/* The whole model again, as a full sync: what did not take is written, nothing
 * that is in place is lost meanwhile. */
static void resend_state(struct fetcher *f)
{
	f->resend_at = 0;
	log_debug("sending the whole state again (%zu prefixes)", dmodel_prefixes(f->model));
	out_simple(f, PS_SYNC_BEGIN);
	dmodel_for_each(f->model, effect_to_applier, f);
	out_simple(f, PS_SYNC_END);
	out_simple(f, PS_FLUSH);
}

int fetcher_main(const struct bouncer_config *cfg, int sock)
{
	struct fetcher f = { .cfg = cfg, .sock = sock };
	uint64_t next_pull, next_stats = 0, backoff = (uint64_t)cfg->update_frequency_ns;
	char hdr[1024];
	int rc = 1;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&f.lock, NULL);
	if (dmodel_new(&f.model))
		goto out;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	f.curl = curl_easy_init();
	if (!f.curl)
		goto out;
	if (cfg->api_key) {
		snprintf(hdr, sizeof(hdr), "X-Api-Key: %s", cfg->api_key);
		f.headers = curl_slist_append(f.headers, hdr);
	}
	curl_easy_setopt(f.curl, CURLOPT_HTTPHEADER, f.headers);
	curl_easy_setopt(f.curl, CURLOPT_USERAGENT, BOUNCER_USER_AGENT);
	curl_easy_setopt(f.curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(f.curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(f.curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(f.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f.curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(f.curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cfg->insecure_skip_verify) {
		curl_easy_setopt(f.curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(f.curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cfg->ca_cert_path)
		curl_easy_setopt(f.curl, CURLOPT_CAINFO, cfg->ca_cert_path);
	if (cfg->cert_path)
		curl_easy_setopt(f.curl, CURLOPT_SSLCERT, cfg->cert_path);
	if (cfg->key_path)
		curl_easy_setopt(f.curl, CURLOPT_SSLKEY, cfg->key_path);
	if (start_metrics(&f))
		goto out;

	next_pull = boot_now();
	while (!stop_requested) {
		uint64_t now = boot_now(), wake;
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		int timeout_ms;

		if (now >= next_pull) {
			if (pull(&f) == 0) {
				backoff = (uint64_t)cfg->update_frequency_ns;
			} else {
				backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
			}
			now = boot_now();
			next_pull = now + (f.lapi_down ? backoff : (uint64_t)cfg->update_frequency_ns);
		}
		/* Expiry runs whether or not the LAPI answers. */
		if (now >= dmodel_next_expiry(f.model)) {
			dmodel_expire(f.model, now, effect_to_applier, &f);
			out_simple(&f, PS_FLUSH);
		}
		if (f.resend_at && now >= f.resend_at)
			resend_state(&f);
		if (now >= next_stats) {
			uint64_t by[CS_ORIGIN_MAX] = {};

			out_simple(&f, PS_STATS_REQ);
			dmodel_for_each(f.model, count_origins, by);
			pthread_mutex_lock(&f.lock);
			memcpy(f.active_by_origin, by, sizeof(by));
			pthread_mutex_unlock(&f.lock);
			next_stats = now + 2000000000ULL;
		}
		wake = next_pull < dmodel_next_expiry(f.model) ? next_pull : dmodel_next_expiry(f.model);
		if (wake > next_stats)
			wake = next_stats;
		if (f.resend_at && wake > f.resend_at)
			wake = f.resend_at;
		timeout_ms = wake > now ? (int)((wake - now) / 1000000ULL) + 1 : 0;
		if (poll(&pfd, 1, timeout_ms) > 0)
			read_replies(&f);
	}
	rc = 0;
out:
	if (f.mhd)
		MHD_stop_daemon(f.mhd);
	curl_slist_free_all(f.headers);
	if (f.curl)
		curl_easy_cleanup(f.curl);
	curl_global_cleanup();
	dmodel_free(f.model);
	pthread_mutex_destroy(&f.lock);
	return rc;
}
