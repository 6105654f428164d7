/* SPDX-License-Identifier: MIT */
/* Internals of the bucket engine shared by scenario.c, bucket.c and alert.c. */
#ifndef CS_BUCKET_INT_H
#define CS_BUCKET_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "bucket/bucket.h"
#include "common/dlist.h"
#include "common/hash.h"
#include "common/strmap.h"

enum cs_bucket_type {
	CS_BT_LEAKY,
	CS_BT_TRIGGER,
	CS_BT_COUNTER,
	CS_BT_CONDITIONAL,
	CS_BT_BAYESIAN,
};

/* Expression variable slots of the engine's env. */
enum { VAR_EVT, VAR_QUEUE, VAR_LEAKY, VAR_SIGNAL, NVARS };

struct cs_bayes_cond {
	struct expr_prog *cond;
	float prob_evil, prob_benign;
	bool guillotine;
};

/*
 * Blackhole entry: partition key -> expiry (ns). Chained in a hash table and
 * in a FIFO by arming time; expiries are overflow time + a constant, so the
 * FIFO head is (nearly) the first to expire: purging and evicting are O(1).
 */
struct bh_entry {
	struct cs_hlink link;		/* hash chain */
	struct cs_dlink fifo;		/* by arming time */
	int64_t expiry;
	char key[];
};

struct cs_scenario {
	char *name, *file;
	int line;
	size_t idx;
	/*
	 * Upstream keys a bucket by sha1(filter, partition, name) (BucketKey), not
	 * by scenario: scenarios with the same name and filter share their buckets,
	 * the first to pour creating them. key_idx is the idx of the first loaded
	 * scenario with this name and filter: the bucket identity beside the partition.
	 */
	size_t key_idx;
	enum cs_bucket_type type;
	char *filter_src;
	/* the filter's cheap first test (expr_prog_guard) on evt.Meta/Parsed/Enriched, if any */
	struct expr_guard guard;
	enum cs_event_map guard_map;
	const struct strmap_key *guard_key;	/* guard.key interned (NULL: no room) */
	int guard_slot;				/* its key in cs_buckets.guards, -1 if none */
	/* without a guard: the key (in cs_buckets.guards) whose "" makes the filter false */
	int needs_slot;
	/* its filter or groupby may call evt.SetMeta()/SetParsed(): routing reads the maps again */
	bool may_set;
	/* routing's index decides its guard (or needed key) alone */
	bool route_indexed;
	/* its clause in cs_buckets.pf (the first test past its guard), -1: none */
	int pf_clause;
	/* a groupby that is a plain evt.<map>.<key> (expr_prog_path): read, not evaluated */
	enum cs_event_map groupby_map;
	const struct strmap_key *groupby_key;
	/* the same for distinct (evt.Meta.target_user) */
	enum cs_event_map distinct_map;
	const struct strmap_key *distinct_key;
	struct expr_prog *filter, *groupby, *distinct, *overflow_filter, *cancel_on, *condition,
		*scope_expr;
	int capacity, cache_size;
	int64_t leakspeed, duration, blackhole; /* ns; 0 = unset */
	int64_t bucket_duration;		/* lifetime without events (6.3 step 4) */
	char *leakspeed_text;			/* Go Duration.String() */
	char *scope;				/* "Ip", "Range" or custom */
	char *hash, *version;
	bool reprocess, remediation, debug;
	uint64_t poured; /* events poured into its instances (cscli explain) */
	/* Prometheus series, found on first use (metrics/metrics.h) */
	bool m_ready;
	struct cs_metric_series *m_created, *m_overflowed, *m_underflowed, *m_canceled, *m_live;
	char *m_pour_src, *m_pour_module; /* labels of m_poured: pours come in runs per source */
	struct cs_metric_series *m_poured;
	uint32_t m_pour_pending; /* pours not yet added to m_poured (count_pour) */
	uint32_t m_created_pending; /* instances made, not yet added to m_created */
	int64_t m_live_pending;	    /* change of live instances not yet added to m_live */
	struct cs_metric_series *m_cpu; /* time spent on it (sampled, bucket.c), set at load */
	float bayes_prior, bayes_threshold;
	struct cs_bayes_cond *bconds;
	size_t nbconds;
	/* blackhole: hash buckets of entries, count, FIFO */
	struct cs_htab bh;
	size_t bh_count;
	struct cs_dlist bh_fifo;
};


struct cs_meta_item {
	char *key, *value;
};

/* One models.Event of Alert.Events: one block, meta, holds the items and every string. */
struct cs_alert_event {
	char *timestamp;
	struct cs_meta_item *meta;
	size_t nmeta;
};

struct cs_alert_view {
	struct cs_ralert *ra;
	size_t i;
};

/*
 * RuntimeAlert plus its models.Alert list. The alerts differ only by Source,
 * so the body is stored once and APIAlerts[i] is a view (ra, i). Reference
 * counted: an overflow event and its copies (hubtest results, bucket queues
 * of reprocessed overflows) share it; it is not modified once delivered.
 */
struct cs_ralert {
	int refcnt;
	char *mapkey;
	bool whitelisted, reprocess;
	size_t nsrc, src_cap;	/* keys, srcs and views share the count and capacity */
	char **keys;			/* sorted */
	struct cs_source **srcs;	/* srcs[i] is Sources[keys[i]] and APIAlerts[i].Source */
	struct cs_alert_view *views;
	char *scenario, *hash, *version, *leakspeed, *message, *start_at, *stop_at;
	int32_t capacity, events_count;
	bool simulated, remediation;
	struct cs_alert_event *events;
	size_t nevents, events_cap;
};

extern const struct cs_overflow_ops cs_ralert_ops;
extern const struct expr_host_ops cs_ralert_expr_ops;
extern const struct expr_type cs_ralert_expr_type;

struct cs_ralert *cs_ralert_new(void);
void cs_ralert_put(struct cs_ralert *ra);
struct cs_source *cs_source_new(void);
void cs_source_free(struct cs_source *s);
struct cs_source *cs_source_dup(const struct cs_source *s);
/* Add (or replace) Sources[key]; takes src. 0 or -ENOMEM. */
int cs_ralert_add_source(struct cs_ralert *ra, const char *key, struct cs_source *src);
/*
 * Add an Alert.Events entry: its timestamp and nmeta (key, value) pairs,
 * kv[2i] and kv[2i+1], copied. 0 or -ENOMEM.
 */
int cs_ralert_add_event(struct cs_ralert *ra, const char *timestamp, const char *const *kv,
			size_t nmeta);
/* Room for n more events. 0 or -ENOMEM. */
int cs_ralert_reserve_events(struct cs_ralert *ra, size_t n);
/* Does Sources[key] exist and equal src (unset strings equal to "")? */
bool cs_ralert_has_source(const struct cs_ralert *ra, const char *key, const struct cs_source *src);

/* Go's time.Time.String() of an instant ("2006-01-02 15:04:05 +0000 UTC"). */
void cs_time_go_string(const struct cs_time *t, char *buf, size_t len);

#endif /* CS_BUCKET_INT_H */

struct cs_bucket;

/* A scenario file is read whole (its hash covers it); the hub's largest are a few KiB. */
#define CS_SCENARIO_FILE_MAX (16u << 20)

#define CS_ROUTE_GUARDS 32
#define CS_ROUTE_WORDS 16 /* routing's index serves up to 1024 scenarios */

struct cs_buckets {
	struct cs_bucket_opts o;
	struct expr_env *env;
	struct expr_runtime *rt; /* data files */
	struct cs_scenario **sc;
	size_t nsc, sc_cap;
	char err[512];
	/* live instances: hash table + LRU list (head = least recently touched) */
	struct cs_htab tab;
	size_t count;
	size_t queued;			/* events in all queues */
	size_t queued_full;		/* of which full copies (max_events) */
	size_t qbytes;			/* queue bytes charged (max_queue_bytes) */
	int64_t queued_shown;		/* this engine's share of m_queued */
	struct cs_metric_series *m_queued, *m_evicted; /* process-wide, all shards */
	/*
	 * Instances, least recently touched first, apart by queue kind (full event
	 * copies, compact): the full-copy budget evicts only instances that spend it,
	 * so a flood into a conditional scenario does not evict brute-force buckets.
	 */
	struct cs_dlist lru[2];
	uint64_t touches;
	int64_t newest;			/* REPLAY: newest event time seen (ns) */
	struct cs_bucket_stats st;
	/* overflow events waiting to be poured again (reprocess), FIFO */
	struct cs_event **pending;
	unsigned int *pending_depth;
	size_t npending, pending_cap;
	bool in_pour;
	struct cs_route route; /* cs_buckets_pour()'s scratch */
	/*
	 * The distinct keys the scenarios' guards read (evt.Meta.log_type,
	 * evt.Meta.service...) and those their filters need (evt.Meta.http_path):
	 * routing reads each once per event, not once per scenario.
	 */
	struct route_guard {
		enum cs_event_map map;
		const struct strmap_key *key;
	} guards[CS_ROUTE_GUARDS];
	size_t nguards;
	/*
	 * Routing's index (scenario.c, rebuilt at each load): per guard key, which
	 * scenarios can take an event given that key's value, as bit sets over sc[]
	 * of route_words words: row 0 for "", row 1 for a value no guard names, row
	 * 2 + j for vals[j]. A scenario whose guard or needed key is not that slot's
	 * has its bit in every row. ANDed over the keys, once per event, they give
	 * the few scenarios worth a look (an sshd failure: the 4 ssh ones of 35).
	 * route_words 0: no index, every scenario is looked at.
	 */
	struct route_index {
		struct route_val {
			const char *s;
			size_t len;
		} *vals;
		size_t nvals;
		uint64_t *rows;
	} ridx[CS_ROUTE_GUARDS];
	size_t route_words;
	/*
	 * The first tests of many filters decided at once per event (expr.h
	 * expr_prefilter; rebuilt with the index): a scenario whose clause is
	 * known false is not evaluated. NULL: none.
	 */
	struct expr_prefilter *pf;
	uint64_t pf_mask[CS_ROUTE_WORDS];	/* the scenarios with a clause (nsc <= 1024) */
	uint16_t pf_sc[EXPR_PREFILTER_MAX];	/* a clause's scenario */
	bool pf_deferred;	/* a directory is loading: pf is built after its last file */
	struct sha1_ctx *sha1; /* instances' mapkeys (pouring thread), made on first use */
	/*
	 * The compact copy made last (struct qmeta, bucket.c), for the next
	 * scenario the same event goes to: an sshd failure goes to four. Known by
	 * the versions of Meta and Enriched (no other map state has them) and the
	 * time text; one reference held.
	 */
	struct qmeta *last_qm;
	uint64_t last_meta_ver, last_enr_ver;
	char last_ts[CS_TIME_STRLEN];
};

/* bucket.c: frees the labels of m_poured (count_pour sets them for each run of pours). */
void cs_scenario_pour_labels_clear(struct cs_scenario *sc);

/* scenario.c */
int cs_scenarios_load(struct cs_buckets *b, const char *name, const char *text, size_t len,
		      const char *version);
void cs_scenario_free(struct cs_scenario *sc);
void cs_route_index_free(struct cs_buckets *b);
/* cs_buckets.pf over the loaded scenarios (none without memory). */
void cs_route_prefilter_build(struct cs_buckets *b);
