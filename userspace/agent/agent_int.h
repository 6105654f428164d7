/* SPDX-License-Identifier: MIT */
/* Internals of the detector shared by agent.c and pipeline.c. */
#ifndef CS_AGENT_INT_H
#define CS_AGENT_INT_H

#include "acquisition/acq.h"
#include "agent/agent.h"
#include "bucket/bucket.h"
#include "metrics/metrics.h"
#include "parser/parser.h"

#define NODE_SLOTS 256 /* a power of two */

/* A node's series for the current source, found by the node name's address. */
struct node_slot {
	const char *node;
	struct cs_metric_series *hits, *ok, *ko;
	uint32_t nok, nko; /* counted, not yet added to the series (batched) */
};

/* The parse series of the last event's source (lines come in runs per file); one per thread. */
struct src_metrics {
	char *src, *module;
	struct cs_metric_series *parser_time, *ok, *ko;
	struct node_slot nodes[NODE_SLOTS];
	/*
	 * Batched (the workers): node and parse counts are kept here and added by
	 * src_metrics_flush() once per batch, not as two atomic adds per node and
	 * line on series every worker writes (cache lines bouncing between cores).
	 * Otherwise each event's counts are added when it is parsed.
	 */
	bool batched;
	uint32_t nok, nko;
	struct cs_metric_hist parse_time;
};

struct cs_agent {
	struct cs_parsers *parsers;
	struct cs_parsers *postoverflows;
	struct cs_buckets **shards; /* one per worker; shards[0] only without workers */
	unsigned int nshards;
	struct cs_pipeline *pl;	    /* NULL: parse and pour in the reading thread */
	struct acq *acq;
	bool replay;
	char **simulated; /* NULL-terminated scenario names */
	cs_agent_alert_fn on_alert;
	cs_agent_render_fn render;
	bool render_lines; /* alerts as JSON lines (cs_overflow_render_lines) */
	cs_agent_text_fn on_text;
	void *arg;
	struct cs_agent_stats st;
	struct src_metrics m; /* the reading thread's */
	/* the reading thread's acquisition series of the last line's source */
	char *acq_src;
	struct cs_metric_series *acq_hits, *acq_cut, *acq_parser;
};

/* The event of an acquired line (cs_event_set_line, labels, replay mode). 0 or -ENOMEM. */
int agent_event(const char *raw, size_t len, const char *src, const char *module, const char *type,
		const struct acq_label *labels, size_t nlabels, bool timemachine,
		struct cs_event **out);
/*
 * Run the parsers on evt (any thread, with its own m) and count the outcome in
 * st. True when the event goes to the scenarios (parsed, kept, not whitelisted).
 * *clock: the monotonic time (ns) the parse starts at, 0 to read it; set to the
 * time it ended, so that parses run back to back read the clock once per line
 * for the parse-time histogram, not twice.
 */
bool agent_parse(struct cs_agent *a, struct src_metrics *m, struct cs_event *evt,
		 struct cs_agent_stats *st, uint64_t *clock);
/* CLOCK_MONOTONIC, ns. */
uint64_t agent_mono_ns(void);
/* Add the counts kept by a batched m to the series. */
void src_metrics_flush(struct src_metrics *m);
/* Flushes, then forgets the source (keeps `batched`). */
void src_metrics_clear(struct src_metrics *m);
/* Alerts out (counted); the batch merge calls it in order, from one thread at a time. */
int agent_alert(json_t *alerts, void *agent);
/* The same for alerts that a->render made text of. */
void agent_alert_text(struct cs_agent *a, const char *text, size_t len, size_t nalerts);
/* The alerts of an overflow as JSON lines (a->render_lines). NULL: out of memory. */
char *agent_render_lines(const struct cs_event *ovf, size_t *len);

#endif /* CS_AGENT_INT_H */
