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
#include <microhttpd.h>

#include "bouncer/decisions.h"
#include "bouncer/privsep.h"
#include "bouncer/stream.h"
#include "bouncer/usage.h"
#include "bouncer/xdp_loader.h"
#include "common/gotime.h"
#include "common/log.h"
#include "common/strbuf.h"

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
	/* the applier could not apply everything: resynchronise then */
	uint64_t resync_at, resync_backoff, last_apply_failure;
	uint64_t last_expiry_scan;
	bool dump_pending; /* PS_DUMP_REQ sent, PS_DUMP_END not seen */
	size_t written, removed; /* sets and clears sent, for the log */
	/* for metrics, guarded by lock (the HTTP server runs its own thread) */
	pthread_mutex_t lock;
	struct ps_stats_msg last_stats;
	bool have_stats;
	time_t last_pull_ok;
	uint64_t active_by_origin[CS_ORIGIN_MAX];
	uint64_t pulls_ok, pulls_failed;
	struct MHD_Daemon *mhd;
	/* usage metrics (usage.h): their own handle, the counters last reported */
	CURL *curl_usage;
	struct curl_slist *usage_headers;
	struct ps_stats_msg reported;
	bool have_reported, usage_off;
	int64_t started_unix, reported_unix;
	char os_name[64], os_version[64];
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

static void read_replies(struct fetcher *f);

/* Sends what is buffered, then takes in what the applier said meanwhile (so its
 * reports never wait on a fetcher that is busy sending). */
static int out_flush(struct fetcher *f)
{
	ssize_t n;

	if (!f->nout)
		return 0;
	n = send(f->sock, f->out, (size_t)f->nout * sizeof(struct ps_msg), MSG_NOSIGNAL);
	f->nout = 0;
	read_replies(f);
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
	f->written += e->present;
	f->removed += !e->present;
	out_push(f, &m);
}

/* ---- the stream ---------------------------------------------------------------- */

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

int fetcher_decision_prefix(const char *scope, const char *value, struct cs_prefix *p)
{
	if (!scope || !value)
		return -EINVAL;
	if (!strcasecmp(scope, "ip")) /* an Ip with a length is not an Ip: not ours, silently */
		return strchr(value, '/') ? -ENOENT : cs_addr_parse(value, p);
	if (strcasecmp(scope, "range"))
		return -ENOENT;
	/* a LAPI stores what it was given; CrowdSec enforces it masked (net.ParseCIDR) */
	return cs_prefix_parse(value, CS_PREFIX_MASK, p);
}

/*
 * A startup answer repeats the same type, origin and duration strings over
 * thousands of decisions in a row: what each one says is worked out once per run
 * of them (a tenth of the fetcher's time at 1M decisions).
 */
struct memo {
	char key[40]; /* "" when empty */
	int64_t val;
};

static bool memo_get(const struct memo *m, const char *s, int64_t *val)
{
	if (!m->key[0] || strcmp(m->key, s))
		return false;
	*val = m->val;
	return true;
}

static void memo_put(struct memo *m, const char *s, int64_t val)
{
	size_t n = strlen(s);

	m->key[0] = '\0';
	if (n && n < sizeof(m->key)) {
		memcpy(m->key, s, n + 1);
		m->val = val;
	}
}

struct memos {
	struct memo type, origin, duration;
};

/* Decides whether a stream item is ours to apply, and if so its prefix. */
static bool applicable(const struct fetcher *f, struct memos *mm, const struct stream_decision *d,
		       struct cs_prefix *p)
{
	int64_t type_ok = 0;
	int err;

	if (!memo_get(&mm->type, d->type, &type_ok)) {
		for (int i = 0; i < f->cfg->decision_types.n; i++)
			type_ok |= !strcasecmp(d->type, f->cfg->decision_types.v[i]);
		memo_put(&mm->type, d->type, type_ok);
	}
	if (!type_ok)
		return false;
	err = fetcher_decision_prefix(d->scope, d->value, p);
	if (err == -ENOENT)
		return false;
	if (err) {
		log_warn("decision %lld: value '%.64s': %s; ignored", (long long)d->id, d->value,
			 cs_prefix_strerror(err));
		return false;
	}
	return p->family == AF_INET ? f->cfg->ipv4 : f->cfg->ipv6;
}

/* One answer being received: decisions reach the model (and the applier) as they
 * arrive. */
struct pull_ctx {
	struct fetcher *f;
	struct stream_parser *sp;
	bool startup;
	bool fed;     /* part of a 200 answer went into the model */
	long status;  /* HTTP status, once known */
	uint64_t now;
	size_t bytes;
	char errbody[201]; /* the start of a non-200 answer, for the log */
	size_t errlen;
	int err;      /* what stopped the answer (decoder or size) */
	size_t ignored;
	struct memos memos;
};

static int apply_item(int which, size_t idx, const struct stream_decision *d, void *arg)
{
	struct pull_ctx *c = arg;
	struct fetcher *f = c->f;
	struct cs_prefix p;
	int64_t ns, origin = CS_ORIGIN_OTHER;
	int err;

	(void)idx;
	if (!applicable(f, &c->memos, d, &p))
		return 0;
	if (which == STREAM_DELETED) {
		/* on startup the model is rebuilt: its deleted list needs no action */
		if (!c->startup)
			dmodel_del(f->model, &p, (uint64_t)d->id, effect_to_applier, f);
		return 0;
	}
	if (!memo_get(&c->memos.duration, d->duration, &ns)) {
		if (gotime_parse_duration(d->duration, &ns)) {
			log_warn("decision %lld: duration '%.64s' does not parse; ignored",
				 (long long)d->id, d->duration);
			return 0;
		}
		memo_put(&c->memos.duration, d->duration, ns);
	}
	if (ns <= 0)
		return 0;
	if (d->origin && !memo_get(&c->memos.origin, d->origin, &origin)) {
		origin = origin_class(d->origin);
		memo_put(&c->memos.origin, d->origin, origin);
	}
	err = dmodel_add(f->model, &p, (uint64_t)d->id, c->now + (uint64_t)ns, (uint8_t)origin,
			 effect_to_applier, f);
	if (err == -E2BIG || err == -ENOSPC)
		c->ignored++;
	return err == -ENOMEM ? err : 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct pull_ctx *c = arg;
	size_t n = size * nmemb;

	if (!c->status)
		curl_easy_getinfo(c->f->curl, CURLINFO_RESPONSE_CODE, &c->status);
	if (c->status != 200) {
		size_t k = n < sizeof(c->errbody) - 1 - c->errlen ? n : sizeof(c->errbody) - 1 - c->errlen;

		memcpy(c->errbody + c->errlen, data, k);
		c->errlen += k;
		c->errbody[c->errlen] = '\0';
		return n;
	}
	if (!c->bytes)
		/* the LAPI computed the remaining durations as it began to answer: expiries
		 * count from the first byte, not from the request (a big answer may take a
		 * while to start), so the same decision lands on the same expiry each pull */
		c->now = boot_now();
	c->bytes += n;
	if (c->bytes > MAX_BODY) {
		c->err = -EFBIG;
		return 0;
	}
	c->fed = true;
	c->err = stream_parser_feed(c->sp, data, n);
	return c->err ? 0 : n;
}

int fetcher_parse_stream(const char *body, size_t len, char *why, size_t whylen)
{
	return stream_walk(body, len, NULL, NULL, why, whylen);
}

static int pull(struct fetcher *f)
{
	char url[4096], why[256] = "";
	uint64_t t0 = boot_now();
	struct pull_ctx c = { .f = f, .startup = !f->synced, .now = t0 };
	CURLcode cc;
	int err = 0;

	snprintf(url, sizeof(url), "%sv1/decisions/stream?dedup=false%s", f->cfg->api_url,
		 c.startup ? "&startup=true" : "");
	if (append_list_param(url, sizeof(url), "scopes", &f->cfg->scopes) ||
	    append_list_param(url, sizeof(url), "origins", &f->cfg->origins) ||
	    append_list_param(url, sizeof(url), "scenarios_containing",
			      &f->cfg->scenarios_containing) ||
	    append_list_param(url, sizeof(url), "scenarios_not_containing",
			      &f->cfg->scenarios_not_containing))
		return -ENAMETOOLONG;
	err = stream_parser_new(apply_item, &c, &c.sp);
	if (err)
		return err;
	f->written = f->removed = 0;
	if (c.startup) {
		/* A full state follows: what it does not claim goes at the end, and what is
		 * in place already is not written again. Nothing banned is let out meanwhile. */
		dmodel_begin_resync(f->model);
	}
	curl_easy_setopt(f->curl, CURLOPT_URL, url);
	curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, &c);
	cc = curl_easy_perform(f->curl);
	if (!c.status)
		curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &c.status);
	if (c.err) {
		snprintf(why, sizeof(why), "%s", c.err == -EFBIG ? "answer too large" :
					      c.err == -ENOMEM ? "out of memory" :
					      stream_parser_why(c.sp));
		err = -EBADMSG;
	} else if (cc != CURLE_OK) {
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(cc));
		err = -EIO;
	} else if (c.status != 200) {
		snprintf(why, sizeof(why), "HTTP %ld: %s", c.status, c.errbody);
		err = -EPROTO;
	} else if ((err = stream_parser_finish(c.sp))) {
		snprintf(why, sizeof(why), "%s", stream_parser_why(c.sp));
	}
	stream_parser_free(c.sp);
	if (err) {
		/* What came before the break is applied (they are the LAPI's decisions);
		 * what it did not say is unknown: the next pull is a full one. */
		if (c.fed) {
			f->synced = false;
			out_simple(f, PS_FLUSH);
		}
		goto fail;
	}
	if (c.startup) {
		dmodel_end_resync(f->model, effect_to_applier, f);
		out_simple(f, PS_SYNC_END);
	} else {
		out_simple(f, PS_FLUSH);
	}
	if (c.ignored)
		log_warn("%zu decision(s) ignored: past the model's bounds (%d a prefix, %u "
			 "prefixes)", c.ignored, DMODEL_MAX_PER_PREFIX, DMODEL_MAX_PREFIXES);
	if (f->lapi_down)
		log_info("LAPI reachable again after %llu failed pull(s)", (unsigned long long)f->failures);
	else if (c.startup)
		log_info("startup pull applied: %zu prefixes from %zu decisions, %zu written, %zu "
			 "removed (%zu bytes in %.2f s)", dmodel_prefixes(f->model),
			 dmodel_decisions(f->model), f->written, f->removed, c.bytes,
			 (double)(boot_now() - t0) / 1e9);
	f->synced = true;
	f->lapi_down = false;
	f->failures = 0;
	pthread_mutex_lock(&f->lock);
	f->last_pull_ok = time(NULL);
	f->pulls_ok++;
	pthread_mutex_unlock(&f->lock);
	return 0;
fail:
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
	struct sbuf o = { 0 };
	char *text;
	size_t tlen;

	(void)version, (void)upload, (void)upload_size, (void)con_cls;
	if (strcmp(method, "GET") || strcmp(url, "/metrics")) {
		resp = MHD_create_response_from_buffer(10, (void *)"not found\n", MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(c, MHD_HTTP_NOT_FOUND, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	pthread_mutex_lock(&f->lock);
	sb_printf(&o, "# HELP cs_xdp_bouncer_dropped_packets Packets dropped, by origin of the ban.\n"
		   "# TYPE cs_xdp_bouncer_dropped_packets counter\n");
	for (int i = 0; i < CS_ORIGIN_MAX && f->have_stats; i++)
		sb_printf(&o, "cs_xdp_bouncer_dropped_packets{origin=\"%s\"} %llu\n", origin_label[i],
			(unsigned long long)f->last_stats.counters[CS_STAT_DROP_BASE + i].packets);
	sb_printf(&o, "# HELP cs_xdp_bouncer_dropped_bytes Bytes dropped, by origin of the ban.\n"
		   "# TYPE cs_xdp_bouncer_dropped_bytes counter\n");
	for (int i = 0; i < CS_ORIGIN_MAX && f->have_stats; i++)
		sb_printf(&o, "cs_xdp_bouncer_dropped_bytes{origin=\"%s\"} %llu\n", origin_label[i],
			(unsigned long long)f->last_stats.counters[CS_STAT_DROP_BASE + i].bytes);
	sb_printf(&o, "# HELP cs_xdp_bouncer_passed_packets Packets passed, by reason.\n"
		   "# TYPE cs_xdp_bouncer_passed_packets counter\n");
	for (int i = 0; i < CS_STAT_DROP_BASE && f->have_stats; i++)
		sb_printf(&o, "cs_xdp_bouncer_passed_packets{reason=\"%s\"} %llu\n", pass_label[i],
			(unsigned long long)f->last_stats.counters[i].packets);
	sb_printf(&o, "# HELP cs_xdp_bouncer_active_decisions Prefixes in the data plane, by origin.\n"
		   "# TYPE cs_xdp_bouncer_active_decisions gauge\n");
	for (int i = 0; i < CS_ORIGIN_MAX; i++)
		sb_printf(&o, "cs_xdp_bouncer_active_decisions{origin=\"%s\",type=\"ban\"} %llu\n",
			origin_label[i], (unsigned long long)f->active_by_origin[i]);
	sb_printf(&o, "# HELP cs_xdp_bouncer_attach_mode XDP attach mode per interface (1 = in use).\n"
		   "# TYPE cs_xdp_bouncer_attach_mode gauge\n");
	for (int i = 0; f->have_stats && i < (int)f->last_stats.n_ifaces &&
			i < f->cfg->interfaces.n; i++) {
		uint32_t m = f->last_stats.iface_mode[i];

		sb_printf(&o, "cs_xdp_bouncer_attach_mode{interface=\"%s\",mode=\"%s\"} 1\n",
			f->cfg->interfaces.v[i], mode_label[m < 3 ? m : 0]);
	}
	sb_printf(&o, "# HELP cs_xdp_bouncer_backend Active backend (1 = in use).\n"
		   "# TYPE cs_xdp_bouncer_backend gauge\n"
		   "cs_xdp_bouncer_backend{backend=\"%s\"} 1\n",
		   f->have_stats && f->last_stats.backend ? "nftables" : "xdp");
	sb_printf(&o, "# HELP cs_xdp_bouncer_last_pull_timestamp_seconds Last successful LAPI pull.\n"
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
	text = sb_take(&o, &tlen);
	if (!text)
		return MHD_NO;
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

#define RESYNC_MIN_NS 1000000000ULL
#define RESYNC_MAX_NS (60ULL * 1000000000ULL)

/* A failure report: start again from what the data plane holds, with a backoff
 * that grows while failures go on. */
static void schedule_resync(struct fetcher *f)
{
	uint64_t now = boot_now();

	if (!f->resync_backoff || now - f->last_apply_failure > 2 * RESYNC_MAX_NS)
		f->resync_backoff = RESYNC_MIN_NS;
	else if (f->resync_backoff < RESYNC_MAX_NS)
		f->resync_backoff *= 2;
	f->last_apply_failure = now;
	if (!f->resync_at)
		f->resync_at = now + f->resync_backoff;
}

/* Handles one packet from the applier. */
static void on_reply(struct fetcher *f, const void *buf, size_t n)
{
	const struct ps_msg *m = buf;

	if (n == sizeof(struct ps_stats_msg) && m->type == PS_STATS) {
		pthread_mutex_lock(&f->lock);
		memcpy(&f->last_stats, buf, sizeof(f->last_stats));
		f->have_stats = true;
		pthread_mutex_unlock(&f->lock);
		return;
	}
	if (n % sizeof(struct ps_msg))
		return;
	for (size_t i = 0; i < n / sizeof(*m); i++) {
		struct cs_prefix p;

		switch (m[i].type) {
		case PS_APPLY_FAILED:
			schedule_resync(f);
			break;
		case PS_HAVE:
			if (!ps_decode_ban(&m[i], &p))
				dmodel_applied(f->model, &p, m[i].ban.decision_id,
					       m[i].ban.expires_boot_ns, m[i].ban.origin);
			break;
		case PS_DUMP_END:
			f->dump_pending = false;
			break;
		default:
			break;
		}
	}
}

static uint8_t replybuf[PS_MAX_RECORDS * sizeof(struct ps_msg)];
_Static_assert(sizeof(struct ps_stats_msg) <= sizeof(replybuf), "reply buffer");

static void read_replies(struct fetcher *f)
{
	ssize_t n;

	while ((n = recv(f->sock, replybuf, sizeof(replybuf), MSG_DONTWAIT)) > 0)
		on_reply(f, replybuf, (size_t)n);
	if (n == 0)
		stop_requested = 1; /* the applier went away */
}

/*
 * What the data plane holds, into the model as "applied only", so that the next
 * full pull writes only what differs. Asked at start and after failures.
 */
static void load_applied(struct fetcher *f)
{
	uint64_t t0 = boot_now(), deadline = t0 + 60ULL * 1000000000ULL;

	dmodel_clear(f->model);
	f->resync_at = 0;
	f->synced = false;
	f->dump_pending = true;
	if (out_simple(f, PS_DUMP_REQ))
		return;
	while (!stop_requested && f->dump_pending) {
		struct pollfd pfd = { .fd = f->sock, .events = POLLIN };
		uint64_t now = boot_now();
		ssize_t n;

		if (now >= deadline) {
			log_warn("the applier did not list the data plane in time; a full pull will "
				 "write everything");
			return;
		}
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000ULL) + 1) <= 0)
			continue;
		n = recv(f->sock, replybuf, sizeof(replybuf), MSG_DONTWAIT);
		if (n == 0) {
			stop_requested = 1;
			return;
		}
		if (n > 0)
			on_reply(f, replybuf, (size_t)n);
	}
	log_debug("data plane listed: %zu entries in %.2f s", dmodel_prefixes(f->model),
		  (double)(boot_now() - t0) / 1e9);
}

#define EXPIRY_SCAN_MIN_NS 1000000000ULL

static uint64_t next_expiry_scan(const struct fetcher *f)
{
	uint64_t e = dmodel_next_expiry(f->model);

	if (e == UINT64_MAX)
		return e;
	return e > f->last_expiry_scan + EXPIRY_SCAN_MIN_NS ? e : f->last_expiry_scan + EXPIRY_SCAN_MIN_NS;
}

/* A handle to the LAPI: the bouncer's identity and TLS settings. */
static void lapi_handle(const struct bouncer_config *cfg, CURL *h, struct curl_slist *headers)
{
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_USERAGENT, BOUNCER_USER_AGENT);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cfg->insecure_skip_verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cfg->ca_cert_path)
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_cert_path);
	if (cfg->cert_path)
		curl_easy_setopt(h, CURLOPT_SSLCERT, cfg->cert_path);
	if (cfg->key_path)
		curl_easy_setopt(h, CURLOPT_SSLKEY, cfg->key_path);
}

static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p, (void)arg;
	return sz * n;
}

/*
 * POST /v1/usage-metrics: what was dropped since the last report that went
 * through. A LAPI without the route (CrowdSec 1.4.6: 404) is not asked again.
 */
static void report_usage(struct fetcher *f)
{
	struct usage_window w = { .startup_unix = f->started_unix, .now_unix = time(NULL),
				  .os_name = f->os_name, .os_version = f->os_version };
	struct ps_stats_msg now;
	uint64_t active[CS_ORIGIN_MAX];
	char url[4096], *body;
	bool have;
	long status = 0;
	CURLcode cc;

	pthread_mutex_lock(&f->lock);
	now = f->last_stats;
	have = f->have_stats;
	memcpy(active, f->active_by_origin, sizeof(active));
	pthread_mutex_unlock(&f->lock);
	w.window_s = w.now_unix - f->reported_unix;
	body = usage_body(&w, have ? &now : NULL, f->have_reported ? &f->reported : NULL, active);
	if (!body)
		return;
	snprintf(url, sizeof(url), "%sv1/usage-metrics", f->cfg->api_url);
	curl_easy_setopt(f->curl_usage, CURLOPT_URL, url);
	curl_easy_setopt(f->curl_usage, CURLOPT_POSTFIELDS, body);
	cc = curl_easy_perform(f->curl_usage);
	curl_easy_getinfo(f->curl_usage, CURLINFO_RESPONSE_CODE, &status);
	free(body);
	if (cc == CURLE_OK && status / 100 == 2) {
		if (have) {
			f->reported = now;
			f->have_reported = true;
		}
		f->reported_unix = w.now_unix;
		log_debug("usage metrics sent (%lld s window)", (long long)w.window_s);
	} else if (cc == CURLE_OK && (status == 404 || status == 405)) {
		log_info("the LAPI does not take usage metrics (HTTP %ld): not sending them", status);
		f->usage_off = true;
	} else {
		log_warn("usage metrics not sent (%s); they add up until the next report",
			 cc != CURLE_OK ? curl_easy_strerror(cc) : "the LAPI refused them");
	}
}

int fetcher_main(const struct bouncer_config *cfg, int sock, bool plane_empty)
{
	struct fetcher f = { .cfg = cfg, .sock = sock };
	uint64_t next_pull, next_stats = 0, backoff = (uint64_t)cfg->update_frequency_ns;
	uint64_t next_usage = boot_now() + (uint64_t)cfg->metrics_interval_ns;
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
		f.usage_headers = curl_slist_append(f.usage_headers, hdr);
	}
	f.usage_headers = curl_slist_append(f.usage_headers, "Content-Type: application/json");
	lapi_handle(cfg, f.curl, f.headers);
	curl_easy_setopt(f.curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(f.curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(f.curl, CURLOPT_ACCEPT_ENCODING, "");
	if (cfg->metrics_interval_ns && (f.curl_usage = curl_easy_init())) {
		lapi_handle(cfg, f.curl_usage, f.usage_headers);
		curl_easy_setopt(f.curl_usage, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(f.curl_usage, CURLOPT_TIMEOUT, 10L);
		usage_os(f.os_name, sizeof(f.os_name), f.os_version, sizeof(f.os_version));
	}
	f.started_unix = f.reported_unix = time(NULL);
	if (start_metrics(&f))
		goto out;

	if (plane_empty)
		log_debug("data plane created empty: not listed");
	else
		load_applied(&f);
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
		/* Expiry runs whether or not the LAPI answers. A pass visits only what is
		 * due; at most one a second, so that what expires together leaves the maps
		 * in one batch (the fast path enforces each expiry to the ns). */
		if (now >= next_expiry_scan(&f)) {
			f.last_expiry_scan = now;
			dmodel_expire(f.model, now, effect_to_applier, &f);
			out_simple(&f, PS_FLUSH);
		}
		if (f.resync_at && now >= f.resync_at) {
			load_applied(&f);
			next_pull = now;
			continue;
		}
		if (now >= next_stats) {
			uint64_t by[CS_ORIGIN_MAX] = {};

			out_simple(&f, PS_STATS_REQ);
			dmodel_for_each(f.model, count_origins, by);
			pthread_mutex_lock(&f.lock);
			memcpy(f.active_by_origin, by, sizeof(by));
			pthread_mutex_unlock(&f.lock);
			next_stats = now + 2000000000ULL;
		}
		if (f.curl_usage && !f.usage_off && now >= next_usage) {
			report_usage(&f);
			next_usage = boot_now() + (uint64_t)cfg->metrics_interval_ns;
		}
		wake = next_pull < next_expiry_scan(&f) ? next_pull : next_expiry_scan(&f);
		if (f.curl_usage && !f.usage_off && wake > next_usage)
			wake = next_usage;
		if (wake > next_stats)
			wake = next_stats;
		if (f.resync_at && wake > f.resync_at)
			wake = f.resync_at;
		timeout_ms = wake > now ? (int)((wake - now) / 1000000ULL) + 1 : 0;
		if (poll(&pfd, 1, timeout_ms) > 0)
			read_replies(&f);
	}
	rc = 0;
out:
	if (f.mhd)
		MHD_stop_daemon(f.mhd);
	if (f.curl_usage && !f.usage_off && f.synced)
		report_usage(&f); /* what the last window dropped */
	curl_slist_free_all(f.headers);
	curl_slist_free_all(f.usage_headers);
	if (f.curl)
		curl_easy_cleanup(f.curl);
	if (f.curl_usage)
		curl_easy_cleanup(f.curl_usage);
	curl_global_cleanup();
	dmodel_free(f.model);
	pthread_mutex_destroy(&f.lock);
	return rc;
}
