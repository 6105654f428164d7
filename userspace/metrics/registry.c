// SPDX-License-Identifier: MIT
/* The detector's series registry: lock-free lookup, mutex-guarded creation. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "metrics/metrics.h"

#define TABLE_SIZE (CS_METRICS_MAX_SERIES * 2) /* power of two, half full at most */

static _Atomic(struct cs_metric_series *) table[TABLE_SIZE];
static size_t nseries;
static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;

/* SECONDS: a counter kept in ns, shown in seconds */
enum kind { COUNTER, GAUGE, HISTOGRAM, SECONDS };

static const struct {
	const char *name, *help;
	enum kind kind;
	const char *labels[3];
} families[CSM__COUNT] = {
	[CSM_FILE_HITS] = { "cs_filesource_hits_total", "Total lines that were read.", COUNTER,
			    { "source" } },
	[CSM_JOURNAL_HITS] = { "cs_journalctlsource_hits_total", "Total lines that were read.",
			       COUNTER, { "source" } },
	[CSM_PARSER_HITS] = { "cs_parser_hits_total", "Total events entered the parser.", COUNTER,
			      { "source", "type" } },
	[CSM_PARSER_OK] = { "cs_parser_hits_ok_total", "Total events were successfully parsed.",
			    COUNTER, { "source", "type" } },
	[CSM_PARSER_KO] = { "cs_parser_hits_ko_total", "Total events were unsuccessfully parsed.",
			    COUNTER, { "source", "type" } },
	[CSM_NODE_HITS] = { "cs_node_hits_total", "Total events entered node.", COUNTER,
			    { "source", "type", "name" } },
	[CSM_NODE_OK] = { "cs_node_hits_ok_total", "Total events successfully exited node.",
			  COUNTER, { "source", "type", "name" } },
	[CSM_NODE_KO] = { "cs_node_hits_ko_total", "Total events unsuccessfully exited node.",
			  COUNTER, { "source", "type", "name" } },
	[CSM_BUCKET_CREATED] = { "cs_bucket_created_total", "Total buckets were instantiated.",
				 COUNTER, { "name" } },
	[CSM_BUCKET_POURED] = { "cs_bucket_poured_total", "Total events were poured in bucket.",
				COUNTER, { "source", "type", "name" } },
	[CSM_BUCKET_OVERFLOWED] = { "cs_bucket_overflowed_total", "Total buckets overflowed.",
				    COUNTER, { "name" } },
	[CSM_BUCKET_UNDERFLOWED] = { "cs_bucket_underflowed_total",
				     "Total buckets underflowed.", COUNTER, { "name" } },
	[CSM_BUCKET_CANCELED] = { "cs_bucket_canceled_total", "Total buckets canceled.", COUNTER,
				  { "name" } },
	[CSM_BUCKETS] = { "cs_buckets", "Number of buckets that currently exist.", GAUGE,
			  { "name" } },
	[CSM_LINES_CUT] = { "cs_acquisition_lines_cut_total",
			    "Lines cut at the acquisition's maximum line length.", COUNTER,
			    { "source" } },
	[CSM_BUCKETS_EVICTED] = { "cs_bucket_evicted_total",
				  "Bucket instances dropped by max_buckets or max_events.",
				  COUNTER, { NULL } },
	[CSM_QUEUE_DEPTH] = { "cs_bucket_queued_events", "Events held by bucket instances.",
			      GAUGE, { NULL } },
	[CSM_PARSING_TIME] = { "cs_parsing_time_seconds", "Time spent parsing a line", HISTOGRAM,
			       { "type", "source" } },
	[CSM_SCENARIO_CPU] = { "cs_scenario_cpu_seconds_total",
			       "Time spent on a scenario's filter, groupby and pours (sampled).",
			       SECONDS, { "name" } },
};

/* upstream's cs_parsing_time_seconds buckets */
static const double bounds[CS_METRICS_NBUCKETS] = { 0.0005, 0.001, 0.0015, 0.002, 0.003,
						    0.004,  0.005, 0.0075, 0.01,  0.02 };

static int nlabels(enum cs_metric f)
{
	int n = 0;

	while (n < 3 && families[f].labels[n])
		n++;
	return n;
}

static uint64_t key_hash(enum cs_metric f, const char *const l[3], int n)
{
	uint64_t h = (uint64_t)f * 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < n; i++)
		h = h * 31 + cs_hash_str(l[i] ? l[i] : "");
	return h;
}

static bool same(const struct cs_metric_series *s, enum cs_metric f, uint64_t h,
		 const char *const l[3], int n)
{
	if (s->family != f || s->hash != h)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(s->label[i], l[i] ? l[i] : ""))
			return false;
	return true;
}

static struct cs_metric_series *probe(enum cs_metric f, uint64_t h, const char *const l[3], int n,
				      size_t *free_slot)
{
	for (size_t i = 0; i < TABLE_SIZE; i++) {
		size_t at = (h + i) & (TABLE_SIZE - 1);
		struct cs_metric_series *s = atomic_load_explicit(&table[at], memory_order_acquire);

		if (!s) {
			*free_slot = at;
			return NULL;
		}
		if (same(s, f, h, l, n))
			return s;
	}
	*free_slot = TABLE_SIZE;
	return NULL;
}

static void series_free(struct cs_metric_series *s)
{
	if (!s)
		return;
	for (int i = 0; i < 3; i++)
		free(s->label[i]);
	free(s);
}

struct cs_metric_series *cs_metric_get(enum cs_metric f, const char *l1, const char *l2,
				       const char *l3)
{
	const char *l[3] = { l1, l2, l3 };
	struct cs_metric_series *s;
	int n;
	uint64_t h;
	size_t slot;

	if ((unsigned)f >= CSM__COUNT)
		return NULL;
	n = nlabels(f);
	h = key_hash(f, l, n);
	s = probe(f, h, l, n, &slot);
	if (s)
		return s;
	pthread_mutex_lock(&create_lock);
	s = probe(f, h, l, n, &slot); /* another thread may have made it meanwhile */
	if (s || slot == TABLE_SIZE || nseries >= CS_METRICS_MAX_SERIES)
		goto out;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto out;
	s->family = f;
	s->hash = h;
	for (int i = 0; i < n; i++)
		if (!(s->label[i] = strdup(l[i] ? l[i] : ""))) {
			series_free(s);
			s = NULL;
			goto out;
		}
	nseries++;
	atomic_store_explicit(&table[slot], s, memory_order_release);
out:
	pthread_mutex_unlock(&create_lock);
	return s;
}

void cs_metric_hist_observe(struct cs_metric_hist *h, uint64_t ns)
{
	double sec = (double)ns / 1e9;

	for (int i = 0; i < CS_METRICS_NBUCKETS; i++)
		if (sec <= bounds[i]) {
			h->bucket[i]++;
			break;
		}
	h->sum_ns += ns;
	h->n++;
}

void cs_metric_hist_flush(struct cs_metric_series *s, struct cs_metric_hist *h)
{
	if (s && h->n) {
		for (int i = 0; i < CS_METRICS_NBUCKETS; i++)
			if (h->bucket[i])
				atomic_fetch_add_explicit(&s->bucket[i], h->bucket[i],
							  memory_order_relaxed);
		atomic_fetch_add_explicit(&s->sum_ns, h->sum_ns, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->value, (int64_t)h->n, memory_order_relaxed);
	}
	memset(h, 0, sizeof(*h));
}

void cs_metric_observe_ns(struct cs_metric_series *s, uint64_t ns)
{
	double sec = (double)ns / 1e9;

	if (!s)
		return;
	for (int i = 0; i < CS_METRICS_NBUCKETS; i++)
		if (sec <= bounds[i]) {
			atomic_fetch_add_explicit(&s->bucket[i], 1, memory_order_relaxed);
			break;
		}
	atomic_fetch_add_explicit(&s->sum_ns, ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->value, 1, memory_order_relaxed);
}

/* Prometheus label value escaping: backslash, double quote, newline. */
static void put_labels(struct sbuf *out, const struct cs_metric_series *s, const char *le)
{
	int n = nlabels(s->family);

	if (!n && !le)
		return;
	sb_putc(out, '{');
	for (int i = 0; i < n; i++) {
		sb_printf(out, "%s%s=\"", i ? "," : "", families[s->family].labels[i]);
		for (const char *p = s->label[i]; *p; p++) {
			if (*p == '\\' || *p == '"')
				sb_putc(out, '\\');
			if (*p == '\n')
				sb_puts(out, "\\n");
			else
				sb_putc(out, *p);
		}
		sb_putc(out, '"');
	}
	if (le)
		sb_printf(out, "%sle=\"%s\"", n ? "," : "", le);
	sb_putc(out, '}');
}

static int by_labels(const void *a, const void *b)
{
	const struct cs_metric_series *x = *(struct cs_metric_series *const *)a;
	const struct cs_metric_series *y = *(struct cs_metric_series *const *)b;

	for (int i = 0; i < 3; i++) {
		int c = strcmp(x->label[i] ? x->label[i] : "", y->label[i] ? y->label[i] : "");

		if (c)
			return c;
	}
	return 0;
}

static void render_series(struct sbuf *out, const struct cs_metric_series *s)
{
	const char *name = families[s->family].name;
	uint64_t cum = 0;
	char le[32];

	if (families[s->family].kind == SECONDS) {
		sb_puts(out, name);
		put_labels(out, s, NULL);
		sb_printf(out, " %.9f\n", (double)atomic_load(&s->value) / 1e9);
		return;
	}
	if (families[s->family].kind != HISTOGRAM) {
		sb_puts(out, name);
		put_labels(out, s, NULL);
		sb_printf(out, " %lld\n", (long long)atomic_load(&s->value));
		return;
	}
	for (int i = 0; i < CS_METRICS_NBUCKETS; i++) {
		cum += atomic_load(&s->bucket[i]);
		snprintf(le, sizeof(le), "%g", bounds[i]);
		sb_printf(out, "%s_bucket", name);
		put_labels(out, s, le);
		sb_printf(out, " %llu\n", (unsigned long long)cum);
	}
	sb_printf(out, "%s_bucket", name);
	put_labels(out, s, "+Inf");
	sb_printf(out, " %lld\n", (long long)atomic_load(&s->value));
	sb_printf(out, "%s_sum", name);
	put_labels(out, s, NULL);
	sb_printf(out, " %.9f\n", (double)atomic_load(&s->sum_ns) / 1e9);
	sb_printf(out, "%s_count", name);
	put_labels(out, s, NULL);
	sb_printf(out, " %lld\n", (long long)atomic_load(&s->value));
}

void cs_dmetrics_render(struct sbuf *out)
{
	static const char *const kinds[] = { "counter", "gauge", "histogram", "counter" };
	struct cs_metric_series **v = malloc(CS_METRICS_MAX_SERIES * sizeof(*v));

	if (!v) {
		out->err = -ENOMEM;
		return;
	}
	for (int f = 0; f < CSM__COUNT; f++) {
		size_t n = 0;

		for (size_t i = 0; i < TABLE_SIZE && n < CS_METRICS_MAX_SERIES; i++) {
			struct cs_metric_series *s = atomic_load_explicit(&table[i], memory_order_acquire);

			if (s && s->family == (enum cs_metric)f)
				v[n++] = s;
		}
		if (!n)
			continue;
		qsort(v, n, sizeof(*v), by_labels);
		sb_printf(out, "# HELP %s %s\n# TYPE %s %s\n", families[f].name, families[f].help,
			  families[f].name, kinds[families[f].kind]);
		for (size_t i = 0; i < n; i++)
			render_series(out, v[i]);
	}
	free(v);
}

void cs_dmetrics_reset(void)
{
	pthread_mutex_lock(&create_lock);
	for (size_t i = 0; i < TABLE_SIZE; i++) {
		series_free(atomic_load(&table[i]));
		atomic_store(&table[i], NULL);
	}
	nseries = 0;
	pthread_mutex_unlock(&create_lock);
}
