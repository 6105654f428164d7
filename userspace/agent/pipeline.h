/* SPDX-License-Identifier: MIT */
/*
 * The detector's worker threads (internal to userspace/agent). The reading
 * thread cuts lines into batches, numbered in reading order; any worker parses
 * a batch and routes its events (scenario filters and groupby, read-only); each
 * worker also owns one bucket shard (a struct cs_buckets holding the instances
 * whose (scenario, partition) hash falls to it) and pours the batches in their
 * order. A batch is merged when every shard has poured it: its alerts are
 * handed on in (event, scenario) order, and the overflows it reprocesses are
 * poured by every shard before the next batch. So the alerts, and their order,
 * are the same whatever the number of workers. In a replay with N > 1 workers
 * the reading thread is the last of them (N - 1 threads are started): it works
 * whenever the queue is full, so N threads share N cores.
 *
 *   pl_new(a, n, &pl);                        before the shards are made
 *   shard i: .on_alert = pl_shard_alert (or .on_alert_event = pl_shard_alert_event),
 *            .on_reprocess = pl_shard_reprocess,
 *            .arg = pl_shard_arg(pl, i)
 *   pl_run(pl);                               the threads start
 *   reading thread: pl_add_line(pl, l) per line, pl_flush(pl) after a read round,
 *                   pl_tick(pl) every second (live), pl_drain(pl) to wait,
 *                   pl_drop_buckets(pl) at the end of a replay
 *   pl_free(pl);                              drains, stops and joins
 */
#ifndef CS_AGENT_PIPELINE_H
#define CS_AGENT_PIPELINE_H

#include "agent/agent_int.h"

struct cs_pipeline;

int pl_new(struct cs_agent *a, unsigned int nworkers, struct cs_pipeline **out);
void *pl_shard_arg(struct cs_pipeline *pl, unsigned int shard);
int pl_shard_alert(json_t *alerts, void *shard_arg);
/* The same when the agent renders alerts as lines (a->render_lines). */
int pl_shard_alert_event(const struct cs_event *ovf, void *shard_arg);
int pl_shard_reprocess(struct cs_event *ovf, unsigned int depth, void *shard_arg);
int pl_run(struct cs_pipeline *pl);

/* Copies the line (the worker makes its event); may wait while the workers are behind. 0. */
int pl_add_line(struct cs_pipeline *pl, const struct acq_line *l);
void pl_flush(struct cs_pipeline *pl);
void pl_tick(struct cs_pipeline *pl);
void pl_drain(struct cs_pipeline *pl);
/*
 * The end of a replay: every shard drops its buckets in its own worker (in
 * parallel, each into the malloc arena it took them from), after what is queued.
 */
void pl_drop_buckets(struct cs_pipeline *pl);
void pl_free(struct cs_pipeline *pl);

#endif /* CS_AGENT_PIPELINE_H */
