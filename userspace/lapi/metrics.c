// SPDX-License-Identifier: MIT
/*
 * The LAPI's Prometheus series, with CrowdSec 1.4.6's names and labels
 * (contract section 8). Series are keyed by their rendered label set; each
 * family is capped (routes are raw URL paths, so a scanner could otherwise
 * create unbounded series): past the cap, new label sets are dropped.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/hash.h"
#include "common/vec.h"
#include "lapi/lapi_int.h"
#include "metrics/metrics.h"

#define METRICS_MAX_SERIES 2000
#define NBUCKETS 12

static const double buckets[NBUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.075, 0.1,
					  0.2,	 0.3,  0.4,	0.5,  0.75,  1 };

struct series {
	char *labels;
	double value;
	unsigned long bucket[NBUCKETS];
	unsigned long count;
};

struct family {
	struct series *v;
	size_t n, cap;
	struct cs_hmap *index; /* labels -> position in v + 1: every request counts in one */
};

struct cs_metrics {
	pthread_mutex_t lock;
	bool aggregated;
	struct family fam[M__COUNTERS];
	struct family hist;
};

static const struct {
	const char *name;
	const char *help;
	const char *labels[3];
} counters[M__COUNTERS] = {
	[M_ROUTE_REQUESTS] = { "cs_lapi_route_requests_total",
			       "Number of calls to each route per method.",
			       { "route", "method" } },
	[M_MACHINE_REQUESTS] = { "cs_lapi_machine_requests_total",
				 "Number of calls to each route per method grouped by machines.",
				 { "machine", "route", "method" } },
	[M_BOUNCER_REQUESTS] = { "cs_lapi_bouncer_requests_total",
				 "Number of calls to each route per method grouped by bouncers.",
				 { "bouncer", "route", "method" } },
	[M_DECISIONS_OK] = { "cs_lapi_decisions_ok_total",
			     "Number of non-empty answers to GET /v1/decisions.", { "bouncer" } },
	[M_DECISIONS_KO] = { "cs_lapi_decisions_ko_total",
			     "Number of empty answers to GET /v1/decisions.", { "bouncer" } },
};

struct cs_metrics *cs_metrics_new(bool aggregated)
{
	struct cs_metrics *m = calloc(1, sizeof(*m));

	if (m) {
		pthread_mutex_init(&m->lock, NULL);
		m->aggregated = aggregated;
	}
	return m;
}

static void family_clear(struct family *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].labels);
	free(f->v);
	cs_hmap_free(f->index, NULL);
}

void cs_metrics_free(struct cs_metrics *m)
{
	if (!m)
		return;
	for (int i = 0; i < M__COUNTERS; i++)
		family_clear(&m->fam[i]);
	family_clear(&m->hist);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Prometheus label value escaping: backslash, double quote, newline. */
#define LABELS_MAX 2048
#define LABEL_VALUE_MAX 596 /* escaped bytes of one value kept */

/* Appends in (quotes, backslashes and newlines escaped) to buf at o; the new o. */
static size_t put_escaped(char *buf, size_t o, const char *in)
{
	size_t start = o;

	for (; in && *in && o - start < LABEL_VALUE_MAX && o + 2 < LABELS_MAX; in++) {
		if (*in == '\\' || *in == '"') {
			buf[o++] = '\\';
			buf[o++] = *in;
		} else if (*in == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *in;
		}
	}
	return o;
}

static size_t put_raw(char *buf, size_t o, const char *in)
{
	while (*in && o + 1 < LABELS_MAX)
		buf[o++] = *in++;
	return o;
}

/*
 * Render `k="v",...` with keys sorted by name, as the Go client prints them, into
 * buf[LABELS_MAX] (cut if longer); its length. Written byte by byte: every
 * request renders two or three of these (printf was most of their cost).
 */
static size_t render_labels(const char *const *names, const char *const *vals, int n, char *buf)
{
	int order[3] = { 0, 1, 2 };
	size_t o = 0;

	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(names[order[j]], names[order[i]]) < 0) {
				int t = order[i];

				order[i] = order[j];
				order[j] = t;
			}
	for (int i = 0; i < n; i++) {
		if (i)
			o = put_raw(buf, o, ",");
		o = put_raw(buf, o, names[order[i]]);
		o = put_raw(buf, o, "=\"");
		o = put_escaped(buf, o, vals[order[i]]);
		o = put_raw(buf, o, "\"");
	}
	buf[o] = '\0';
	return o;
}

static struct series *lookup(struct family *f, const char *labels, size_t len)
{
	uintptr_t at = f->index ? (uintptr_t)cs_hmap_get(f->index, labels, len) : 0;

	if (at)
		return &f->v[at - 1];
	if (f->n >= METRICS_MAX_SERIES)
		return NULL;
	if ((!f->index && !(f->index = cs_hmap_new())) ||
	    vec_reserve((void **)&f->v, &f->cap, f->n, sizeof(*f->v), 16))
		return NULL;
	memset(&f->v[f->n], 0, sizeof(f->v[f->n]));
	f->v[f->n].labels = strndup(labels, len);
	if (!f->v[f->n].labels ||
	    cs_hmap_put(f->index, labels, len, (void *)(uintptr_t)(f->n + 1), NULL)) {
		free(f->v[f->n].labels);
		return NULL;
	}
	return &f->v[f->n++];
}

void cs_metrics_inc(struct cs_metrics *m, enum metric_family fi, const char *a, const char *b,
		    const char *c)
{
	const char *vals[3] = { a, b, c };
	char labels[LABELS_MAX];
	size_t len;
	int n = 0;

	if (!m || (m->aggregated && fi != M_ROUTE_REQUESTS))
		return;
	while (n < 3 && counters[fi].labels[n])
		n++;
	len = render_labels(counters[fi].labels, vals, n, labels);
	pthread_mutex_lock(&m->lock);
	struct series *s = lookup(&m->fam[fi], labels, len);

	if (s)
		s->value += 1;
	pthread_mutex_unlock(&m->lock);
}

void cs_metrics_observe(struct cs_metrics *m, const char *endpoint, const char *method,
			double seconds)
{
	static const char *const names[2] = { "endpoint", "method" };
	const char *vals[2] = { endpoint, method };
	char labels[LABELS_MAX];
	size_t len;

	if (!m || m->aggregated)
		return;
	len = render_labels(names, vals, 2, labels);
	pthread_mutex_lock(&m->lock);
	struct series *s = lookup(&m->hist, labels, len);

	if (s) {
		for (int i = 0; i < NBUCKETS; i++)
			if (seconds <= buckets[i])
				s->bucket[i]++;
		s->count++;
		s->value += seconds;
	}
	pthread_mutex_unlock(&m->lock);
}

struct gauge_ctx {
	struct sbuf *o;
	bool alerts;
};

static void gauge_cb(void *ctx, const char *k1, const char *k2, const char *k3, long count)
{
	struct gauge_ctx *g = ctx;
	char l[LABELS_MAX];

	if (g->alerts) {
		static const char *const names[1] = { "reason" };
		const char *vals[1] = { k1 };

		render_labels(names, vals, 1, l);
		sb_printf(g->o, "cs_alerts{%s} %ld\n", l, count);
	} else {
		static const char *const names[3] = { "reason", "origin", "action" };
		const char *vals[3] = { k1, k2, k3 };

		render_labels(names, vals, 3, l);
		sb_printf(g->o, "cs_active_decisions{%s} %ld\n", l, count);
	}
}

char *cs_metrics_render(struct cs_metrics *m, struct cs_db *db, size_t *len)
{
	struct sbuf o = { 0 };
	struct gauge_ctx g = { .o = &o };

	sb_printf(&o, "# HELP cs_info Information about Crowdsec.\n# TYPE cs_info gauge\n");
	sb_printf(&o, "cs_info{version=\"%s\"} 0\n", LAPI_VERSION);
	if (db && !m->aggregated) {
		sb_printf(&o, "# HELP cs_active_decisions Number of active decisions.\n"
			    "# TYPE cs_active_decisions gauge\n");
		cs_db_decisions_count_active(db, gotime_now(), gauge_cb, &g);
		sb_printf(&o, "# HELP cs_alerts Number of alerts (excluding CAPI).\n"
			    "# TYPE cs_alerts gauge\n");
		g.alerts = true;
		cs_db_alerts_count(db, gauge_cb, &g);
	}
	pthread_mutex_lock(&m->lock);
	for (int f = 0; f < M__COUNTERS; f++) {
		if (!m->fam[f].n)
			continue;
		sb_printf(&o, "# HELP %s %s\n# TYPE %s counter\n", counters[f].name, counters[f].help,
			counters[f].name);
		for (size_t i = 0; i < m->fam[f].n; i++)
			sb_printf(&o, "%s{%s} %.0f\n", counters[f].name, m->fam[f].v[i].labels,
				m->fam[f].v[i].value);
	}
	if (m->hist.n) {
		const char *h = "cs_lapi_request_duration_seconds";

		sb_printf(&o, "# HELP %s Response time of LAPI\n# TYPE %s histogram\n", h, h);
		for (size_t i = 0; i < m->hist.n; i++) {
			struct series *s = &m->hist.v[i];

			for (int b = 0; b < NBUCKETS; b++)
				sb_printf(&o, "%s_bucket{%s,le=\"%g\"} %lu\n", h, s->labels, buckets[b],
					s->bucket[b]);
			sb_printf(&o, "%s_bucket{%s,le=\"+Inf\"} %lu\n", h, s->labels, s->count);
			sb_printf(&o, "%s_sum{%s} %g\n", h, s->labels, s->value);
			sb_printf(&o, "%s_count{%s} %lu\n", h, s->labels, s->count);
		}
	}
	pthread_mutex_unlock(&m->lock);
	cs_dmetrics_render(&o); /* the detector's series, when it runs in this process */
	return sb_take(&o, len);
}
