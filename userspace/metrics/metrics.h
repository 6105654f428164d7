/* SPDX-License-Identifier: MIT */
/*
 * The detector's Prometheus series, with CrowdSec's names and labels
 * (cs_filesource_hits_total{source}, cs_parser_hits_total{source,type}, ...),
 * plus ours for what CrowdSec lacks (lines cut, buckets evicted, queue depth,
 * per-scenario time).
 *
 * One process-wide registry. A series is found or created once per label set by
 * cs_metric_get() and then updated with atomic adds: the lookup is lock-free
 * (a table that only grows), creation takes a mutex, so the detector's hot path
 * takes no lock. Past CS_METRICS_MAX_SERIES series, cs_metric_get() returns NULL
 * and the update functions ignore NULL (labels come from log paths and
 * scenario names: bounded, but never trusted to be).
 *
 * The LAPI appends cs_dmetrics_render() to its own /metrics page.
 */
#ifndef CS_METRICS_H
#define CS_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/strbuf.h"

#define CS_METRICS_MAX_SERIES 4096

enum cs_metric {
	CSM_FILE_HITS,	    /* {source} */
	CSM_JOURNAL_HITS,   /* {source} */
	CSM_PARSER_HITS,    /* {source,type} */
	CSM_PARSER_OK,	    /* {source,type} */
	CSM_PARSER_KO,	    /* {source,type} */
	CSM_NODE_HITS,	    /* {source,type,name} */
	CSM_NODE_OK,	    /* {source,type,name} */
	CSM_NODE_KO,	    /* {source,type,name} */
	CSM_BUCKET_CREATED, /* {name} */
	CSM_BUCKET_POURED,  /* {source,type,name} */
	CSM_BUCKET_OVERFLOWED,	/* {name} */
	CSM_BUCKET_UNDERFLOWED, /* {name} */
	CSM_BUCKET_CANCELED,	/* {name} */
	CSM_BUCKETS,		/* gauge {name} */
	CSM_LINES_CUT,		/* ours: {source} lines cut at max_line */
	CSM_BUCKETS_EVICTED,	/* ours: {} instances dropped by max_buckets/max_events */
	CSM_QUEUE_DEPTH,	/* ours: gauge {} events held by bucket instances */
	CSM_PARSING_TIME,	/* histogram {type,source} seconds */
	CSM_SCENARIO_CPU,	/* ours: {name} ns (shown in seconds), sampled */
	CSM__COUNT
};

#define CS_METRICS_NBUCKETS 10

struct cs_metric_series {
	_Atomic int64_t value;
	_Atomic uint64_t bucket[CS_METRICS_NBUCKETS]; /* histograms: not cumulative */
	_Atomic uint64_t sum_ns;
	/* registry's own */
	enum cs_metric family;
	char *label[3];
	uint64_t hash;
};

/* The series of `family` for these label values (as many as the family has; the
 * rest may be NULL). NULL when the registry is full or out of memory. */
struct cs_metric_series *cs_metric_get(enum cs_metric family, const char *l1, const char *l2,
				       const char *l3);

static inline void cs_metric_add(struct cs_metric_series *s, int64_t n)
{
	if (s)
		atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

static inline void cs_metric_set(struct cs_metric_series *s, int64_t v)
{
	if (s)
		atomic_store_explicit(&s->value, v, memory_order_relaxed);
}

/* Histogram observation, in nanoseconds. */
void cs_metric_observe_ns(struct cs_metric_series *s, uint64_t ns);
/*
 * Observations kept by one thread and added to a histogram series in one step:
 * a series every worker writes on every line bounces between the cores.
 */
struct cs_metric_hist {
	uint64_t bucket[CS_METRICS_NBUCKETS], sum_ns, n;
};
void cs_metric_hist_observe(struct cs_metric_hist *h, uint64_t ns);
/* Adds h to s (NULL: dropped) and empties h. */
void cs_metric_hist_flush(struct cs_metric_series *s, struct cs_metric_hist *h);

/* Append the registry in Prometheus text format (families with no series are
 * left out, as client_golang does). */
void cs_dmetrics_render(struct sbuf *out);

/* Forget every series (tests; nothing may hold a series pointer). */
void cs_dmetrics_reset(void);

#endif /* CS_METRICS_H */
