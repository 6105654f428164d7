/* SPDX-License-Identifier: MIT */
/*
 * The bucket engine: hub scenario files (leaky, trigger, counter, conditional,
 * bayesian) loaded from YAML, events poured into per-partition bucket
 * instances, overflows turned into alerts (hub-format.md sections 6, 7).
 *
 *   struct cs_bucket_opts o = {
 *           .mode = CS_BUCKET_LIVE, .clock = my_clock,        replay: CS_BUCKET_REPLAY
 *           .postoverflows = po,                              optional cs_parsers
 *           .on_overflow = dump_fn, .on_alert = push_fn, .arg = ctx,
 *   };
 *   cs_buckets_new(&o, &b);
 *   cs_buckets_load_file(b, "/etc/crowdsec/scenarios/ssh-bf.yaml", NULL);
 *   for each parsed event (process && !whitelisted):
 *           cs_buckets_pour(b, evt);          overflows call back from inside
 *   every second or so (live): cs_buckets_tick(b);
 *   at exit: cs_buckets_free(b);
 *
 * Time: in REPLAY mode a bucket lives on event time (evt->marshaled_time), so
 * a replay is deterministic and never sleeps; in LIVE mode the injected clock
 * is read at pour time and by cs_buckets_tick(), which expires idle buckets and
 * fires counters. Overflows are handled synchronously: alert built, blackhole
 * and overflow_filter applied, postoverflows run, callbacks called, then (if
 * the scenario has `reprocess: true` and no whitelist matched) the overflow
 * event is poured again before cs_buckets_pour() returns.
 *
 * Memory is bounded: at most max_buckets live instances, max_events full
 * event copies and max_queue_bytes of queued data overall (the least recently
 * touched instance is evicted, and counted, when a flood of new partitions
 * arrives), bounded blackhole tables and per-instance distinct sets, bounded
 * queues. A scenario whose expressions never see its queue (no condition,
 * overflow_filter, bayesian conditions or scope expression: most leaky and
 * trigger scenarios) queues compact events: time, Meta and the source's
 * Enriched fields, shared between consecutive equal events and between the
 * scenarios of one event; about 0.5 KiB per
 * live ssh-bf instance one event short of overflowing.
 *
 * One thread pours into an engine; the parsers may run in other threads.
 * Callbacks must not call back into the engine (cs_buckets_pour() returns
 * -EBUSY if they do). Several threads share the work through sharding:
 *
 *   any thread:  cs_buckets_route(b0, evt, &r);      filters and groupby only (read-only)
 *   shard s:     for each r.tg[i] with cs_route_shard(r.tg[i].h, n) == s:
 *                        cs_buckets_pour_target(b[s], evt, &r, i, 0);
 *
 * b[0..n-1] are engines loaded with the same scenarios in the same order; a
 * (scenario, partition) instance lives in exactly one of them (scenarios with
 * the same name and filter share instances, as upstream), so each one is
 * touched by one thread and a replay gives the same buckets and alerts for any
 * n. With .on_reprocess set, reprocessed overflows go to the caller (which
 * routes them to their shards) instead of being poured again in place.
 *
 * Deliberate difference from upstream: a reprocessed overflow is poured at its
 * overflow time (upstream creates LIVE buckets on the wall clock for it), so a
 * replay stays deterministic.
 */
#ifndef CS_BUCKET_H
#define CS_BUCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "parser/event.h"
#include "parser/parser.h"

typedef struct json_t json_t;

struct cs_buckets;
struct cs_scenario;

enum cs_bucket_mode {
	CS_BUCKET_LIVE = 0,	/* the injected clock (wall clock by default) */
	CS_BUCKET_REPLAY = 1,	/* event time (MarshaledTime), like -dsn / hubtest */
};

/*
 * Called for every overflow that produced an alert, after postoverflows, with
 * the overflow event (Type OVFLW; evt->overflow is the RuntimeAlert). Whitelisted
 * overflows are included (check cs_overflow_whitelisted()): that is what
 * hubtest records. The event is borrowed: cs_event_dup() to keep it.
 * Return non-zero to make cs_buckets_pour() return that error.
 */
typedef int (*cs_overflow_fn)(const struct cs_event *ovf, void *arg);
/*
 * Called for alerts to send (not whitelisted): `alerts` is the JSON array of
 * models.Alert objects (one per source), the body of POST /v1/alerts. Borrowed.
 */
typedef int (*cs_alert_fn)(json_t *alerts, void *arg);

struct expr_runtime;

struct cs_bucket_opts {
	enum cs_bucket_mode mode;
	/* LIVE: "now"; NULL = the wall clock. Never read in REPLAY mode. */
	void (*clock)(struct cs_time *now, void *arg);
	void *clock_arg;
	const char *data_dir;		/* data files of `data:` (NULL: none) */
	/* the detector's expr runtime, shared with its parsers (a reference is taken);
	 * NULL = a private one on data_dir */
	struct expr_runtime *runtime;
	/* Extra expression functions, as struct cs_parser_opts.setup_env. */
	int (*setup_env)(struct expr_env *env, void *arg);
	void *setup_arg;
	/* Postoverflow parsers (s00-enrich, s01-whitelist...); NULL = none. Borrowed. */
	struct cs_parsers *postoverflows;
	cs_parse_observer post_observer;	/* optional: sees postoverflow nodes */
	void *post_observer_arg;
	/* Scenario names in simulation mode (Alert.Simulated). NULL-terminated; borrowed. */
	const char *const *simulated;
	bool simulation_default;	/* `simulation: on` with exclusions = the list */
	cs_overflow_fn on_overflow;
	cs_alert_fn on_alert;
	/* Optional, instead of on_alert: the overflow event itself (borrowed for the
	 * call), for a receiver that renders it (cs_overflow_render_lines()). */
	int (*on_alert_event)(const struct cs_event *ovf, void *arg);
	/* Optional: takes the reprocessed overflow event (owned) and its depth for
	 * cs_buckets_pour_target(); NULL = poured again before cs_buckets_pour() returns. */
	int (*on_reprocess)(struct cs_event *ovf, unsigned int depth, void *arg);
	void *arg;
	/* Limits; 0 = defaults (see CS_BUCKET_DEFAULT_*). */
	size_t max_buckets;
	size_t max_blackhole;		/* blackhole entries per scenario */
	size_t max_distinct;		/* distinct values per bucket instance */
	size_t max_queue;		/* events kept by an unbounded (capacity -1) queue */
	size_t max_events;		/* full event copies queued in all instances together */
	size_t max_queue_bytes;		/* queued slots and compact events, all instances */
	unsigned int max_reprocess_depth;
};

#define CS_BUCKET_DEFAULT_MAX_BUCKETS 1250000
#define CS_BUCKET_DEFAULT_MAX_BLACKHOLE 100000
#define CS_BUCKET_DEFAULT_MAX_DISTINCT 10000
#define CS_BUCKET_DEFAULT_MAX_QUEUE 1000
#define CS_BUCKET_DEFAULT_MAX_EVENTS 200000
#define CS_BUCKET_DEFAULT_MAX_QUEUE_BYTES (512u << 20)
#define CS_BUCKET_DEFAULT_MAX_REPROCESS 8

struct cs_bucket_stats {
	uint64_t poured;	/* event x scenario pours accepted */
	uint64_t overflows;	/* alerts emitted (whitelisted included) */
	uint64_t blackholed;
	uint64_t underflows;	/* instances that expired without alert */
	uint64_t cancelled;
	uint64_t evicted;	/* instances dropped because of the limits */
	uint64_t bad_time;	/* REPLAY events without a usable MarshaledTime */
	uint64_t errors;	/* expression errors and alerts that could not be built */
	size_t live;		/* current instances */
	size_t queued;		/* events held by them */
};

int cs_buckets_new(const struct cs_bucket_opts *opts, struct cs_buckets **out);
void cs_buckets_free(struct cs_buckets *b);

/*
 * Load every YAML document of a scenario file (hub format, unmodified).
 * `version` is the hub version (Alert.ScenarioVersion, NULL = ""); the
 * scenario hash is the sha256 of the file. 0 or -errno; the error, naming
 * file:line, is in cs_buckets_last_error().
 */
int cs_buckets_load_file(struct cs_buckets *b, const char *path, const char *version);
/*
 * Every *.yaml / *.yml file of a directory (not recursive), in name order:
 * /etc/crowdsec/scenarios. Stops at the first file that does not load.
 */
int cs_buckets_load_dir(struct cs_buckets *b, const char *dir);
/*
 * The same, each file with the hub version version_of(path, arg) gives it (the
 * string is used before the next call; NULL = "").
 */
typedef const char *(*cs_scenario_version_fn)(const char *path, void *arg);
int cs_buckets_load_dir_versioned(struct cs_buckets *b, const char *dir,
				  cs_scenario_version_fn version_of, void *arg);
/* Same from a text (tests); `name` is used as the file name in errors. */
int cs_buckets_load_string(struct cs_buckets *b, const char *name, const char *yaml);
const char *cs_buckets_last_error(const struct cs_buckets *b);
size_t cs_buckets_nscenarios(const struct cs_buckets *b);
const char *cs_buckets_scenario_name(const struct cs_buckets *b, size_t i);
/* Events poured into scenario i so far (cscli explain tells which scenarios a line reached). */
uint64_t cs_buckets_scenario_poured(const struct cs_buckets *b, size_t i);

/*
 * Pour one parsed event (LOG, or an OVFLW event from elsewhere) into every
 * scenario whose filter matches. The event is borrowed (what buckets keep is
 * copied). Overflows are delivered through the callbacks before this returns.
 * 0, or the first callback error, or -ENOMEM.
 */
int cs_buckets_pour(struct cs_buckets *b, const struct cs_event *evt);

/* ---- sharded pouring (see the top of this file) ------------------------------------ */

/* Where one event goes: a (scenario, partition) target per matching scenario. */
struct cs_route_target {
	uint32_t sc;	/* scenario index */
	size_t gkey;	/* offset of the partition key in keys */
	uint64_t h;	/* seeded hash of (scenario index, key) */
};

struct cs_route {
	struct cs_time t;	/* pour time (event time in REPLAY) */
	bool have_time, bad_time;
	struct cs_route_target *tg;
	size_t n, cap;
	char *keys;
	size_t klen, kcap;
};

/*
 * Evaluate every scenario's filter and groupby on evt (the pour order of
 * cs_buckets_pour()); r is reused between calls (zero it first,
 * cs_route_clear() at the end). Thread-safe: b is only read. 0 or -ENOMEM.
 */
int cs_buckets_route(const struct cs_buckets *b, const struct cs_event *evt, struct cs_route *r);
void cs_route_clear(struct cs_route *r);

static inline unsigned int cs_route_shard(uint64_t h, unsigned int nshards)
{
	return (unsigned int)((h >> 32) % nshards); /* the table indexes by the low bits */
}

/* Pour evt into target i of r (a route made by any engine of the same scenarios). */
int cs_buckets_pour_target(struct cs_buckets *b, const struct cs_event *evt,
			   const struct cs_route *r, size_t i, unsigned int depth);

/*
 * Live housekeeping: expire idle instances (underflow), fire counters whose
 * duration elapsed, purge expired blackhole entries. Uses the clock in LIVE
 * mode; in REPLAY mode, the newest event time seen (collects buckets that the
 * lazy expiry check would discard anyway; never fires counters). Call it
 * periodically (e.g. every second). 0 or a callback error.
 */
int cs_buckets_tick(struct cs_buckets *b);
/* Drop every instance without alert (end of a replay). */
void cs_buckets_flush(struct cs_buckets *b);
/*
 * Add the pours counted by cs_buckets_pour_target(), and the change of the
 * queued-events gauge, to the shared metric series (cs_buckets_pour() does it
 * itself): once per batch, not once per pour.
 */
void cs_buckets_flush_counts(struct cs_buckets *b);

void cs_buckets_get_stats(const struct cs_buckets *b, struct cs_bucket_stats *st);

/* ---- overflow events (RuntimeAlert) ------------------------------------------------ */

bool cs_overflow_whitelisted(const struct cs_event *ovf);
/* The scenario name of the overflow ("" if none). */
const char *cs_overflow_scenario(const struct cs_event *ovf);
/* Number of sources and the i-th source key (sorted). */
size_t cs_overflow_nsources(const struct cs_event *ovf);
const char *cs_overflow_source_key(const struct cs_event *ovf, size_t i);
/*
 * The models.Alert objects of an overflow (one per source), as the JSON array
 * POST /v1/alerts takes (lapi-contract 2.4, 4.2-4.4). New reference or NULL.
 */
json_t *cs_overflow_to_json(const struct cs_event *ovf);
/*
 * The same alerts as JSON lines, appended to sb: for each, exactly what
 * json_dump_callback(JSON_COMPACT | JSON_SORT_KEYS) writes for its object, then
 * '\n' (what `crowdsec -stdout-alerts` prints), written without building JSON
 * values. Errors stick in sb->err.
 */
struct sbuf;
void cs_overflow_render_lines(const struct cs_event *ovf, struct sbuf *sb);
/* The StopAt its alerts carry (RFC 3339; NULL when it has none). */
const char *cs_overflow_stop_at(const struct cs_event *ovf);

/*
 * Write a string field of the overflow's first alert, as a postoverflow static
 * `target: evt.Overflow.Alert.Source.Value` does (ipv6_to_range): paths
 * [evt.]Overflow.Alert.{Source.{Scope,Value,IP,Range,AsName,AsNumber,Cn},
 * Scenario,Message,ScenarioHash,ScenarioVersion}. `ovf` is evt->overflow.
 * Meant to be wired into the parser's cs_event_set_target() through a
 * set_target hook of struct cs_overflow_ops. 0, -ENOENT (not such a path) or -ENOMEM.
 */
int cs_overflow_set_target(void *ovf, const char *path, const char *val, size_t len);

/*
 * hubtest support: the scenario.assert lines upstream generates for overflow
 * number i of the results (hub-format.md 11.7), written to f.
 */
void cs_overflow_write_asserts(const struct cs_event *ovf, int i, FILE *f);

#endif /* CS_BUCKET_H */
