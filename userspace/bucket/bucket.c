// SPDX-License-Identifier: MIT
/*
 * The bucket engine (hub-format.md 6.3-6.6, 7): partitions, the token bucket
 * of leaky scenarios on event time, the processors (trigger, distinct,
 * cancel_on, overflow_filter, blackhole, condition, bayesian), the alert built
 * at overflow, postoverflows and reprocess.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bucket/bucket_int.h"
#include "common/hash.h"
#include "common/ipaddr.h"
#include "common/log.h"
#include "common/readfile.h"
#include "common/sha2.h"
#include "common/strmap.h"
#include "common/strv.h"
#include "common/vec.h"
#include "metrics/metrics.h"

#define NS 1000000000LL

/* `debug: true` in a scenario lifts its traces to info level. */
#define sc_trace(sc, fmt, ...)                                                                 \
	log_msg((sc)->debug ? LOG_LVL_INFO : LOG_LVL_DEBUG, "%s: " fmt, (sc)->name, ##__VA_ARGS__)

/*
 * One queued event. Scenarios whose expressions never see the queue (no
 * condition, overflow_filter, bayesian conditions or scope expression) keep
 * only what the alert is built from: the time and a compact copy of Meta and
 * of the Enriched fields a source takes (struct qmeta), shared by consecutive
 * events of the instance that carry the same values. The others, and overflow
 * events, keep a full copy (tagged pointer, low bit set).
 */
struct qslot {
	struct cs_time t;
	uintptr_t p; /* struct qmeta *, or struct cs_event * | 1 */
};

/*
 * Meta pairs then the source's Enriched pairs, as offsets from the start of the
 * block; offset 0 stands for the event's own time text (Meta.timestamp, which
 * dateparse-enrich sets to MarshaledTime), so events that differ only by their
 * time share one block.
 */
struct qmeta {
	int refcnt;
	uint16_t nmeta, nenr;
	uint32_t size;	  /* bytes, for the queue budget */
	uint32_t off[];	  /* 2 * (nmeta + nenr) string offsets, then the strings */
};

struct cs_bucket {
	struct cs_hlink link; /* the live instances' hash chain */
	struct cs_dlink lru;
	uint64_t touched; /* b->touches when last touched: orders the two LRU lists */
	struct cs_scenario *sc;
	/* token bucket (golang.org/x/time/rate semantics) */
	double tokens;
	int64_t t_last;
	/* times, as CrowdSec's First_ts / Last_ts / Ovflw_ts */
	struct cs_time first, last, ovflw;
	int total;
	bool started;
	/* queue: ring of the last qmax events, grown up to qmax on demand */
	uint32_t qhead, qlen, qmax, qcap;
	struct qslot *q;
	struct cs_hmap *distinct; /* the values seen (a set: no values) */
	bool *guillotined;
	char gkey[];
};

/* ---- small helpers ------------------------------------------------------------------------ */

static int64_t time_ns(const struct cs_time *t)
{
	return t->sec * NS + t->nsec;
}

/* 1 if added, 0 if already there, -ENOSPC at the cap, -ENOMEM. */
static int distinct_add(struct cs_bucket *bk, const char *v, size_t cap)
{
	size_t len = strlen(v);

	if (!bk->distinct && !(bk->distinct = cs_hmap_new()))
		return -ENOMEM;
	if (cs_hmap_get(bk->distinct, v, len))
		return 0;
	if (cs_hmap_count(bk->distinct) >= cap)
		return -ENOSPC;
	return cs_hmap_put(bk->distinct, v, len, bk, NULL) ?: 1;
}

/* ---- expression host objects: `queue` and `leaky` ------------------------------------------- */

/* A scenario whose expressions never see the queued events keeps them compact. */
static bool queue_compact(const struct cs_scenario *sc)
{
	return !sc->condition && !sc->overflow_filter && !sc->nbconds && !sc->scope_expr;
}

static struct qslot *q_slot(const struct cs_bucket *bk, size_t i)
{
	return &bk->q[(bk->qhead + i) % bk->qmax];
}

/* The full event of a slot, NULL for a compact one. */
static struct cs_event *slot_full(const struct qslot *s)
{
	return s->p & 1 ? (struct cs_event *)(s->p & ~(uintptr_t)1) : NULL;
}

static struct cs_event *q_at(const struct cs_bucket *bk, size_t i)
{
	return slot_full(q_slot(bk, i));
}

/* The Enriched fields an alert's source is made of (source_from_log). */
static const char *const source_enriched[] = { "ASNumber", "ASNNumber", "IsoCode",
					       "ASNOrg",   "Latitude",	"Longitude" };
#define NSOURCE_ENRICHED (sizeof(source_enriched) / sizeof(source_enriched[0]))

static const struct strmap_key *source_enriched_keys[NSOURCE_ENRICHED];
static pthread_once_t source_keys_once = PTHREAD_ONCE_INIT;

static void source_keys_intern(void)
{
	for (size_t i = 0; i < NSOURCE_ENRICHED; i++)
		source_enriched_keys[i] = strmap_key_intern(source_enriched[i]);
}

/*
 * Enriched field i of source_enriched, by its interned key (no hash of the name
 * per event and scenario: the queue's copies look the six up on every pour).
 */
static const char *source_enriched_get(const struct cs_event *evt, size_t i)
{
	pthread_once(&source_keys_once, source_keys_intern);
	return source_enriched_keys[i] ? strmap_getk(evt->enriched, source_enriched_keys[i], NULL) :
					 strmap_get(evt->enriched, source_enriched[i]);
}

/* String i of qm; `ts` is the event's time text (offset 0). */
static const char *qm_str(const struct qmeta *qm, size_t i, const char *ts)
{
	return qm->off[i] ? (const char *)qm + qm->off[i] : ts;
}

/* Same Meta (in order) and same source Enriched fields as evt, whose time text is ts. */
static bool qmeta_same(const struct qmeta *qm, const struct cs_event *evt, const char *ts)
{
	const char *k, *v;
	size_t j = 0;

	if (qm->nmeta != strmap_count(evt->meta))
		return false;
	for (size_t i = 0; strmap_at(evt->meta, i, &k, &v, NULL); i++, j += 2)
		if (strcmp(qm_str(qm, j, ts), k) || strcmp(qm_str(qm, j + 1, ts), v) ||
		    (!qm->off[j + 1]) != !strcmp(v, ts))
			return false;
	for (size_t i = 0; i < NSOURCE_ENRICHED; i++) {
		v = source_enriched_get(evt, i);
		if (!v)
			continue;
		if (j >= 2u * (qm->nmeta + qm->nenr) || strcmp(qm_str(qm, j, ts), source_enriched[i]) ||
		    strcmp(qm_str(qm, j + 1, ts), v) || !qm->off[j + 1])
			return false;
		j += 2;
	}
	return j == 2u * (qm->nmeta + qm->nenr);
}

static struct qmeta *qmeta_new(const struct cs_event *evt, const char *ts)
{
	const char *pairs[2 * (256 + NSOURCE_ENRICHED)], *k, *v;
	size_t n = 0, nmeta, size, pos;
	struct qmeta *qm;

	for (size_t i = 0; n < 2 * 256 && strmap_at(evt->meta, i, &k, &v, NULL); i++) {
		pairs[n++] = k;
		pairs[n++] = v;
	}
	if (n / 2 != strmap_count(evt->meta))
		return NULL; /* more Meta than a compact copy holds: keep the full event */
	nmeta = n / 2;
	for (size_t i = 0; i < NSOURCE_ENRICHED; i++)
		if ((v = source_enriched_get(evt, i))) {
			pairs[n++] = source_enriched[i];
			pairs[n++] = v;
		}
	size = sizeof(*qm) + n * sizeof(qm->off[0]);
	for (size_t i = 0; i < n; i++)
		if (!(i % 2 && i < 2 * nmeta && !strcmp(pairs[i], ts)))
			size += strlen(pairs[i]) + 1;
	if (size > UINT32_MAX || !(qm = malloc(size)))
		return NULL;
	qm->refcnt = 1;
	qm->nmeta = (uint16_t)nmeta;
	qm->nenr = (uint16_t)(n / 2 - nmeta);
	qm->size = (uint32_t)size;
	pos = sizeof(*qm) + n * sizeof(qm->off[0]);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(pairs[i]) + 1;

		if (i % 2 && i < 2 * nmeta && !strcmp(pairs[i], ts)) {
			qm->off[i] = 0; /* the event's own time */
			continue;
		}
		qm->off[i] = (uint32_t)pos;
		memcpy((char *)qm + pos, pairs[i], l);
		pos += l;
	}
	return qm;
}

/*
 * The time of Alert.Events[].Timestamp (MarshaledTime, else Time) and its text
 * (ts, CS_TIME_STRLEN bytes), when a compact slot reproduces it exactly
 * (RFC 3339 text that round-trips).
 */
static bool compact_time(const struct cs_event *evt, struct cs_time *t, char *ts)
{
	if (!evt->marshaled_time || !evt->marshaled_time[0]) {
		*t = evt->time;
		return !cs_time_is_zero(t) && !cs_time_format(t, ts, CS_TIME_STRLEN);
	}
	if (!strcmp(evt->marshaled_time, evt->known_time.text)) {
		/* our formatter's text for this very instant */
		*t = evt->known_time.t;
		memcpy(ts, evt->known_time.text, CS_TIME_STRLEN);
		return true;
	}
	return !cs_event_marshaled_time(evt, t) && !cs_time_format(t, ts, CS_TIME_STRLEN) &&
	       !strcmp(ts, evt->marshaled_time);
}

/* Release a slot's content; returns the bytes it was charged. */
static size_t slot_release(struct qslot *s)
{
	struct cs_event *full = slot_full(s);
	struct qmeta *qm = full ? NULL : (struct qmeta *)s->p;
	size_t bytes = 0;

	if (full) {
		cs_event_free(full);
	} else if (qm && --qm->refcnt == 0) {
		bytes = qm->size;
		free(qm);
	}
	s->p = 0;
	return bytes;
}

static int queue_list_len(struct expr_ctx *c, void *obj, int64_t *out)
{
	*out = (int64_t)((const struct cs_bucket *)obj)->qlen;
	return 0;
}

static int queue_list_index(struct expr_ctx *c, void *obj, int64_t i, struct expr_value *out)
{
	struct cs_event *e = q_at(obj, (size_t)i);

	/* compact slots only exist in scenarios whose expressions do not see the queue */
	*out = e ? cs_event_value(e) : expr_nil();
	return 0;
}

static const struct expr_host_ops queue_list_ops = {
	.name = "[]Event", .flags = EXPR_HOST_ARRAYLIKE,
	.len = queue_list_len, .index = queue_list_index,
};

static int queue_get(struct expr_ctx *c, void *obj, const char *name, struct expr_value *out)
{
	const struct cs_bucket *bk = obj;

	if (!strcmp(name, "Queue"))
		return *out = expr_host(&queue_list_ops, obj), 0;
	if (!strcmp(name, "L"))
		return *out = expr_int((int64_t)bk->qmax - 1), 0;
	return -ENOENT;
}

static const struct expr_field queue_fields[] = { { "Queue", NULL }, { "L", &expr_type_int },
						  { NULL } };
static const struct expr_host_ops queue_ops = {
	.name = "Queue", .fields = queue_fields, .get = queue_get,
};
static const struct expr_type queue_type = { EXPR_HOST, NULL, &queue_ops };

static struct expr_value time_value(const struct cs_time *t)
{
	if (cs_time_is_zero(t))
		return expr_time(EXPR_TIME_ZERO, 0);
	return expr_time(time_ns(t), t->off);
}

static int leaky_get(struct expr_ctx *c, void *obj, const char *name, struct expr_value *out)
{
	const struct cs_bucket *bk = obj;

	if (!strcmp(name, "Name"))
		return expr_string(bk->sc->name, out);
	if (!strcmp(name, "Capacity"))
		return *out = expr_int(bk->sc->capacity), 0;
	if (!strcmp(name, "Total_count"))
		return *out = expr_int(bk->total), 0;
	if (!strcmp(name, "First_ts"))
		return *out = time_value(&bk->first), 0;
	if (!strcmp(name, "Last_ts"))
		return *out = time_value(&bk->last), 0;
	if (!strcmp(name, "Ovflw_ts"))
		return *out = time_value(&bk->ovflw), 0;
	if (!strcmp(name, "Leakspeed"))
		return *out = expr_duration(bk->sc->leakspeed), 0;
	if (!strcmp(name, "Duration"))
		return *out = expr_duration(bk->sc->bucket_duration), 0;
	if (!strcmp(name, "Queue"))
		return *out = expr_host(&queue_ops, obj), 0;
	return -ENOENT;
}

static const struct expr_field leaky_fields[] = {
	{ "Name", &expr_type_string },	   { "Capacity", &expr_type_int },
	{ "Total_count", &expr_type_int }, { "First_ts", &expr_type_time },
	{ "Last_ts", &expr_type_time },	   { "Ovflw_ts", &expr_type_time },
	{ "Leakspeed", &expr_type_duration }, { "Duration", &expr_type_duration },
	{ "Queue", &queue_type },	   { NULL },
};
static const struct expr_host_ops leaky_ops = {
	.name = "Leaky", .fields = leaky_fields, .get = leaky_get,
};
static const struct expr_type leaky_type = { EXPR_HOST, NULL, &leaky_ops };

/* ---- engine setup ------------------------------------------------------------------------- */

int cs_buckets_new(const struct cs_bucket_opts *opts, struct cs_buckets **out)
{
	struct cs_buckets *b = calloc(1, sizeof(*b));
	int err = -ENOMEM;

	*out = NULL;
	if (!b)
		return -ENOMEM;
	if (opts)
		b->o = *opts;
	{
		struct { size_t *v, def; } lim[] = {
			{ &b->o.max_buckets, CS_BUCKET_DEFAULT_MAX_BUCKETS },
			{ &b->o.max_blackhole, CS_BUCKET_DEFAULT_MAX_BLACKHOLE },
			{ &b->o.max_distinct, CS_BUCKET_DEFAULT_MAX_DISTINCT },
			{ &b->o.max_queue, CS_BUCKET_DEFAULT_MAX_QUEUE },
			{ &b->o.max_events, CS_BUCKET_DEFAULT_MAX_EVENTS },
			{ &b->o.max_queue_bytes, CS_BUCKET_DEFAULT_MAX_QUEUE_BYTES },
		};

		for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++)
			if (!*lim[i].v)
				*lim[i].v = lim[i].def;
	}
	if (!b->o.max_reprocess_depth)
		b->o.max_reprocess_depth = CS_BUCKET_DEFAULT_MAX_REPROCESS;
	if (b->o.runtime)
		b->rt = expr_runtime_ref(b->o.runtime);
	else if (expr_runtime_new(b->o.data_dir, &b->rt))
		goto err;
	b->env = expr_env_new();
	if (cs_htab_grow(&b->tab, 1024) || !b->env)
		goto err;
	expr_env_set_runtime(b->env, b->rt);
	b->m_queued = cs_metric_get(CSM_QUEUE_DEPTH, NULL, NULL, NULL);
	b->m_evicted = cs_metric_get(CSM_BUCKETS_EVICTED, NULL, NULL, NULL);
	/* Slots follow enum { VAR_EVT, VAR_QUEUE, VAR_LEAKY, VAR_SIGNAL }. */
	if (expr_env_add_var(b->env, "evt", &cs_event_expr_type) != VAR_EVT ||
	    expr_env_add_var(b->env, "queue", &queue_type) != VAR_QUEUE ||
	    expr_env_add_var(b->env, "leaky", &leaky_type) != VAR_LEAKY ||
	    expr_env_add_var(b->env, "signal", &cs_ralert_expr_type) != VAR_SIGNAL)
		goto err;
	err = expr_env_add_helpers(b->env, EXPR_HELPERS_CROWDSEC);
	if (!err && b->o.setup_env)
		err = b->o.setup_env(b->env, b->o.setup_arg);
	if (err)
		goto err;
	*out = b;
	return 0;
err:
	cs_buckets_free(b);
	return err;
}

/* Frees bk; returns the queue bytes it was charged (struct cs_buckets.qbytes). */
static size_t bucket_free(struct cs_bucket *bk)
{
	size_t bytes = 0;

	if (!bk)
		return 0;
	for (size_t i = 0; i < bk->qlen; i++)
		bytes += slot_release(q_slot(bk, i)) + sizeof(struct qslot);
	free(bk->q);
	cs_hmap_free(bk->distinct, NULL);
	free(bk->guillotined);
	free(bk);
	return bytes;
}

static struct cs_scenario *scm(struct cs_scenario *sc)
{
	if (!sc->m_ready) {
		sc->m_created = cs_metric_get(CSM_BUCKET_CREATED, sc->name, NULL, NULL);
		sc->m_overflowed = cs_metric_get(CSM_BUCKET_OVERFLOWED, sc->name, NULL, NULL);
		sc->m_underflowed = cs_metric_get(CSM_BUCKET_UNDERFLOWED, sc->name, NULL, NULL);
		sc->m_canceled = cs_metric_get(CSM_BUCKET_CANCELED, sc->name, NULL, NULL);
		sc->m_live = cs_metric_get(CSM_BUCKETS, sc->name, NULL, NULL);
		sc->m_ready = true;
	}
	return sc;
}

/*
 * Pours, and instances made and dropped, are counted in the scenario (one per
 * shard) and added to the series, which every shard writes, by
 * cs_buckets_flush_counts(): at the end of each cs_buckets_pour(), or when the
 * pipeline has poured a batch, a tick or a flush; pours also by overflow().
 */
static void pour_count_flush(struct cs_scenario *sc)
{
	if (sc->m_pour_pending)
		cs_metric_add(sc->m_poured, sc->m_pour_pending);
	sc->m_pour_pending = 0;
	if (sc->m_created_pending)
		cs_metric_add(sc->m_created, sc->m_created_pending);
	if (sc->m_live_pending)
		cs_metric_add(sc->m_live, sc->m_live_pending);
	sc->m_created_pending = 0;
	sc->m_live_pending = 0;
}

void cs_scenario_pour_labels_clear(struct cs_scenario *sc)
{
	free(sc->m_pour_src);
	free(sc->m_pour_module);
	sc->m_pour_src = sc->m_pour_module = NULL;
}

static void count_pour(struct cs_scenario *sc, const struct cs_event *evt)
{
	const char *src = evt->line.src ? evt->line.src : "";
	const char *mod = evt->line.module ? evt->line.module : "";

	if (!sc->m_pour_src || strcmp(sc->m_pour_src, src) || strcmp(sc->m_pour_module, mod)) {
		pour_count_flush(sc);
		cs_scenario_pour_labels_clear(sc);
		sc->m_pour_src = strdup(src);
		sc->m_pour_module = strdup(mod);
		sc->m_poured = NULL;
		if (!sc->m_pour_src || !sc->m_pour_module) {
			cs_scenario_pour_labels_clear(sc);
			return; /* not counted: out of memory */
		}
		sc->m_poured = cs_metric_get(CSM_BUCKET_POURED, src, mod, sc->name);
	}
	sc->m_pour_pending++;
}

static void gauge_queued(struct cs_buckets *b);

void cs_buckets_flush_counts(struct cs_buckets *b)
{
	for (size_t i = 0; i < b->nsc; i++)
		pour_count_flush(b->sc[i]);
	gauge_queued(b);
}

static void count_evicted(struct cs_buckets *b)
{
	cs_metric_add(b->m_evicted, 1);
}

/*
 * Every engine (one per worker shard) holds its own events, and the gauge
 * shows them all: each adds the change since what it last contributed, at the
 * end of a pour, a batch, a tick or a flush. Added on every queued event, it
 * was an atomic add per (event, scenario) on one cache line that every worker
 * wrote (~235,000 a sshd 300k replay).
 */
static void gauge_queued(struct cs_buckets *b)
{
	int64_t now = (int64_t)b->queued;

	cs_metric_add(b->m_queued, now - b->queued_shown);
	b->queued_shown = now;
}

/* Unlink from the hash table and the LRU list, then free. */
static void bucket_remove(struct cs_buckets *b, struct cs_bucket *bk)
{
	scm(bk->sc)->m_live_pending--;
	cs_htab_unlink(&b->tab, &bk->link);
	cs_dlist_unlink(&b->lru[queue_compact(bk->sc)], &bk->lru);
	b->count--;
	b->queued -= bk->qlen;
	for (size_t i = 0; i < bk->qlen; i++)
		b->queued_full -= slot_full(q_slot(bk, i)) != NULL;
	b->qbytes -= bucket_free(bk);
}

static void lru_touch(struct cs_buckets *b, struct cs_bucket *bk)
{
	bk->touched = ++b->touches;
	cs_dlist_move_tail(&b->lru[queue_compact(bk->sc)], &bk->lru);
}

enum { LRU_FULL = 0, LRU_ANY = -1 };

/* The least recently touched instance (of list `which`, or of both), NULL if none. */
static struct cs_bucket *lru_oldest(const struct cs_buckets *b, int which)
{
	struct cs_bucket *old = NULL;

	for (int k = 0; k < 2; k++) {
		struct cs_bucket *c;

		if ((which != LRU_ANY && k != which) || !b->lru[k].head)
			continue;
		c = cs_dlist_entry(b->lru[k].head, struct cs_bucket, lru);
		if (!old || c->touched < old->touched)
			old = c;
	}
	return old;
}

/* Drop the engine's reference to the compact copy made last. */
static void last_qm_drop(struct cs_buckets *b)
{
	struct qmeta *qm = b->last_qm;

	b->last_qm = NULL;
	if (qm && --qm->refcnt == 0) {
		b->qbytes -= qm->size;
		free(qm);
	}
}

void cs_buckets_flush(struct cs_buckets *b)
{
	struct cs_bucket *bk;

	while (b && (bk = lru_oldest(b, LRU_ANY)))
		bucket_remove(b, bk);
	if (b) {
		last_qm_drop(b);
		cs_buckets_flush_counts(b);
	}
}

void cs_buckets_free(struct cs_buckets *b)
{
	if (!b)
		return;
	cs_buckets_flush(b);
	cs_buckets_flush_counts(b);
	cs_metric_add(b->m_queued, -b->queued_shown); /* its share of the gauge */
	cs_htab_fini(&b->tab);
	for (size_t i = 0; i < b->npending; i++)
		cs_event_free(b->pending[i]);
	free(b->pending);
	free(b->pending_depth);
	cs_route_clear(&b->route);
	cs_route_index_free(b);
	sha1_ctx_free(b->sha1);
	for (size_t i = 0; i < b->nsc; i++)
		cs_scenario_free(b->sc[i]);
	free(b->sc);
	expr_env_free(b->env);
	expr_runtime_put(b->rt);
	free(b);
}

int cs_buckets_load_string(struct cs_buckets *b, const char *name, const char *yaml)
{
	return cs_scenarios_load(b, name, yaml, strlen(yaml), NULL);
}

int cs_buckets_load_file(struct cs_buckets *b, const char *path, const char *version)
{
	char *text;
	size_t len;
	/* Scenario files are small; read whole so the hash covers exactly the file. */
	int err = cs_read_file(path, CS_SCENARIO_FILE_MAX, &text, &len);

	if (err) {
		snprintf(b->err, sizeof(b->err), "%s: %s", path, strerror(-err));
		return err;
	}
	err = cs_scenarios_load(b, path, text, len, version);
	free(text);
	return err;
}

int cs_buckets_load_dir(struct cs_buckets *b, const char *dir)
{
	return cs_buckets_load_dir_versioned(b, dir, NULL, NULL);
}

int cs_buckets_load_dir_versioned(struct cs_buckets *b, const char *dir,
				  cs_scenario_version_fn version_of, void *arg)
{
	char **names, path[4096];
	size_t n;
	int err = strv_from_dir(dir, cs_keep_yaml_name, NULL, &names, &n);

	if (err) {
		snprintf(b->err, sizeof(b->err), "%s: %s", dir, strerror(-err));
		return err;
	}
	b->pf_deferred = true;	/* built once, not once per file */
	for (size_t i = 0; i < n && !err; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path))
			err = -ENAMETOOLONG;
		else
			err = cs_buckets_load_file(b, path, version_of ? version_of(path, arg) : NULL);
	}
	b->pf_deferred = false;
	cs_route_prefilter_build(b);
	strv_free(names, n);
	return err;
}

const char *cs_buckets_last_error(const struct cs_buckets *b)
{
	return b->err;
}

size_t cs_buckets_nscenarios(const struct cs_buckets *b)
{
	return b->nsc;
}

const char *cs_buckets_scenario_name(const struct cs_buckets *b, size_t i)
{
	return i < b->nsc ? b->sc[i]->name : NULL;
}

uint64_t cs_buckets_scenario_poured(const struct cs_buckets *b, size_t i)
{
	return i < b->nsc ? b->sc[i]->poured : 0;
}

void cs_buckets_get_stats(const struct cs_buckets *b, struct cs_bucket_stats *st)
{
	*st = b->st;
	st->live = b->count;
	st->queued = b->queued;
}

/* ---- time ------------------------------------------------------------------------------ */

static void now_live(struct cs_buckets *b, struct cs_time *t)
{
	if (b->o.clock)
		b->o.clock(t, b->o.clock_arg);
	else
		cs_time_now(t);
}

/* The time an event is poured at: its MarshaledTime in replay, the clock live. */
static int event_time(struct cs_buckets *b, const struct cs_event *evt, struct cs_time *t)
{
	if (b->o.mode == CS_BUCKET_LIVE) {
		now_live(b, t);
		return 0;
	}
	if (cs_event_marshaled_time(evt, t)) {
		__atomic_fetch_add(&b->st.bad_time, 1, __ATOMIC_RELAXED); /* routing threads */
		log_warn("event without a usable MarshaledTime (%s): cannot be poured in replay",
			 evt->marshaled_time ? evt->marshaled_time : "");
		return -EINVAL;
	}
	return 0;
}

/* ---- evaluation helpers ---------------------------------------------------------------------- */

/*
 * Field by field: a value built whole on the stack and copied (expr_host()) makes
 * the next wide load wait for the narrow stores; this runs for every filter.
 */
static inline void set_var(struct expr_value *v, const struct expr_host_ops *ops, const void *obj)
{
	v->kind = obj ? EXPR_HOST : EXPR_NIL;
	v->h.ops = obj ? ops : NULL;
	v->h.obj = (void *)obj;
}

static int eval(struct cs_buckets *b, const struct expr_prog *p, const struct cs_event *evt,
		struct cs_bucket *bk, struct cs_ralert *signal, struct expr_value *out)
{
	struct expr_value vars[NVARS];
	struct expr_error e;	/* set by expr_eval: not 268 bytes cleared per filter */
	int err;

	set_var(&vars[VAR_EVT], &cs_event_expr_ops, evt);
	set_var(&vars[VAR_QUEUE], &queue_ops, bk);
	set_var(&vars[VAR_LEAKY], &leaky_ops, bk);
	set_var(&vars[VAR_SIGNAL], &cs_ralert_expr_ops, signal);
	e.msg[0] = '\0';	/* the -ENOMEM return without a vm leaves it untouched */
	err = expr_eval(p, vars, NULL, out, &e);
	if (err && err != -ENOMEM) {
		__atomic_fetch_add(&b->st.errors, 1, __ATOMIC_RELAXED); /* routing threads */
		log_debug("expression '%s': %s", expr_prog_source(p), e.msg);
	}
	return err;
}

/* -1 on error, else 0/1; a non-bool result is reported as -1 too. */
static int eval_bool(struct cs_buckets *b, const struct expr_prog *p, const struct cs_event *evt,
		     struct cs_bucket *bk, struct cs_ralert *signal)
{
	struct expr_value v = expr_nil();
	int rc;

	if (eval(b, p, evt, bk, signal, &v))
		return -1;
	rc = v.kind == EXPR_BOOL ? v.b : -1;
	expr_value_release(&v);
	return rc;
}

/* ---- sources (SourceFromEvent / alertFormatSource) ---------------------------------------------- */

static bool valid_ip(const char *s)
{
	struct cs_prefix p;

	return !cs_addr_parse(s, &p);
}

/* net.ParseCIDR + IPNet.String(): the network address / prefix length. */
static int normalise_cidr(const char *s, char *out, size_t len)
{
	struct cs_prefix p;

	if (!strchr(s, '/') || cs_prefix_parse(s, CS_PREFIX_MASK, &p))
		return -EINVAL;
	return cs_prefix_format(&p, true, out, len);
}

/* Value of scope.expression on evt as a string ("" for a non-string). */
static int scope_value(struct cs_buckets *b, struct cs_scenario *sc, const struct cs_event *evt,
		       char **out)
{
	struct expr_value v = expr_nil();
	int err = eval(b, sc->scope_expr, evt, NULL, NULL, &v);

	if (err)
		return err;
	*out = strdup(v.kind == EXPR_STRING ? expr_str_cstr(&v) : "");
	expr_value_release(&v);
	return *out ? 0 : -ENOMEM;
}

static int add_src_key(struct cs_ralert *ra, char **scope_seen, const char *key,
		       struct cs_source *src)
{
	if (!*scope_seen) {
		*scope_seen = strdup(src->scope);
		if (!*scope_seen) {
			cs_source_free(src);
			return -ENOMEM;
		}
	} else if (strcmp(*scope_seen, src->scope)) {
		log_warn("event has multiple source types : %s != %s", src->scope, *scope_seen);
		cs_source_free(src);
		return -EINVAL;
	}
	return cs_ralert_add_source(ra, key, src);
}

static int add_src(struct cs_ralert *ra, char **scope_seen, struct cs_source *src)
{
	return add_src_key(ra, scope_seen, src->value, src);
}

static int sources_from_overflow(struct cs_buckets *b, struct cs_scenario *sc,
				 const struct cs_event *evt, struct cs_ralert *ra, char **seen)
{
	const struct cs_ralert *o = evt->overflow_ops == &cs_ralert_ops ? evt->overflow : NULL;

	for (size_t i = 0; o && i < o->nsrc; i++) {
		const struct cs_source *v = o->srcs[i];
		struct cs_source *src;
		int err;

		if (!strcmp(sc->scope, v->scope ? v->scope : "")) {
			/* same scope: reused as is, under its original key */
			src = cs_source_dup(v);
			if (!src)
				return -ENOMEM;
			err = add_src_key(ra, seen, o->keys[i], src);
			if (err)
				return err;
			continue;
		}
		if (strcmp(sc->scope, "Range")) {
			log_warn("bucket %s requires scope %s, but can't extrapolate from %s (%s)",
				 sc->name, sc->scope, v->scope, v->value);
			continue;
		}
		if (strcmp(v->scope ? v->scope : "", "Ip"))
			continue; /* only Ip sources have a range to offer */
		src = cs_source_dup(v);
		if (!src)
			return -ENOMEM;
		free(src->ip); /* a derived Range source carries no IP */
		free(src->scope);
		free(src->value);
		src->ip = strdup("");
		src->scope = strdup(sc->scope);
		src->value = NULL;
		if (sc->scope_expr)
			err = scope_value(b, sc, evt, &src->value);
		else
			err = (src->value = strdup(src->range)) ? 0 : -ENOMEM;
		if (err || !src->ip || !src->scope) {
			cs_source_free(src);
			if (err == -ENOMEM || !src->ip || !src->scope)
				return -ENOMEM;
			return err;
		}
		if (!*src->value) {
			log_warn("bucket %s requires scope Range, but %s has no range", sc->name,
				 v->value);
			cs_source_free(src);
			continue;
		}
		err = add_src(ra, seen, src);
		if (err)
			return err;
	}
	return 0;
}

/*
 * A queued event as the alert reads it: a full event, or the copy a compact
 * slot kept (qm) with its time text (ts, which offset 0 stands for).
 */
struct qview {
	const struct cs_event *evt;
	const struct qmeta *qm;
	const char *ts;
};

/* evt.Meta[key] (or evt.Enriched[key]) of v, NULL when absent. */
static const char *qview_get(const struct qview *v, bool enriched, const char *key)
{
	const struct qmeta *qm = v->qm;
	size_t from = enriched ? qm->nmeta : 0, to = enriched ? qm->nmeta + qm->nenr : qm->nmeta;

	for (size_t i = from; i < to; i++)
		if (!strcmp(qm_str(qm, 2 * i, v->ts), key))
			return qm_str(qm, 2 * i + 1, v->ts);
	return NULL;
}

static const char *view_meta(const struct qview *v, const char *key)
{
	return v->evt ? strmap_get(v->evt->meta, key) : qview_get(v, false, key);
}

static const char *view_enriched(const struct qview *v, const char *key)
{
	return v->evt ? strmap_get(v->evt->enriched, key) : qview_get(v, true, key);
}

/*
 * The source of a log event. A scope other than Ip or Range, and a scope
 * expression, need the full event (such scenarios queue full copies). Sources
 * are keyed by value and the last one wins: the events of one partition
 * usually give the same source again, then nothing is copied.
 */
static int source_from_log(struct cs_buckets *b, struct cs_scenario *sc, const struct qview *ev,
			   struct cs_ralert *ra, char **seen)
{
	struct cs_source want = { .scope = sc->scope }, *src;
	const char *v;
	char net[CS_PREFIX_STRLEN] = "", *value = NULL;
	int err;

	if (strcmp(sc->scope, "Ip") && strcmp(sc->scope, "Range")) {
		err = scope_value(b, sc, ev->evt, &value);
		if (err)
			return err;
		want.ip = want.range = "";
		want.value = value;
	} else {
		want.ip = (char *)view_meta(ev, "source_ip"); /* borrowed, like want's others */
		if (!want.ip) {
			log_warn("%s: scope is %s but Meta[source_ip] doesn't exist", sc->name,
				 sc->scope);
			return -EINVAL;
		}
		if (!valid_ip(want.ip)) {
			log_warn("%s: scope is %s but '%s' isn't a valid ip", sc->name, sc->scope,
				 want.ip);
			return -EINVAL;
		}
		if (!(want.as_number = (char *)view_enriched(ev, "ASNumber")))
			want.as_number = (char *)view_enriched(ev, "ASNNumber");
		want.cn = (char *)view_enriched(ev, "IsoCode");
		want.as_name = (char *)view_enriched(ev, "ASNOrg");
		if ((v = view_enriched(ev, "Latitude")))
			want.lat = strtof(v, NULL);
		if ((v = view_enriched(ev, "Longitude")))
			want.lon = strtof(v, NULL);
		if ((v = view_meta(ev, "SourceRange")) && *v && normalise_cidr(v, net, sizeof(net))) {
			log_warn("%s: declared range %s of %s can't be parsed", sc->name, v,
				 want.ip);
			return -EINVAL;
		}
		want.range = net;
		if (!strcmp(sc->scope, "Ip")) {
			want.value = want.ip;
		} else {
			if (sc->scope_expr && (err = scope_value(b, sc, ev->evt, &value)))
				return err;
			want.value = value ? value : net;
		}
	}
	if (cs_ralert_has_source(ra, want.value, &want)) {
		free(value);
		return 0;
	}
	src = cs_source_new();
	if (!src) {
		free(value);
		return -ENOMEM;
	}
	src->lat = want.lat;
	src->lon = want.lon;
	src->value = value ? value : strdup(want.value);
	src->scope = strdup(want.scope);
	src->ip = strdup(want.ip);
	src->range = strdup(want.range);
	src->as_number = want.as_number ? strdup(want.as_number) : NULL;
	src->cn = want.cn ? strdup(want.cn) : NULL;
	src->as_name = want.as_name ? strdup(want.as_name) : NULL;
	if (!src->value || !src->scope || !src->ip || !src->range ||
	    (want.as_number && !src->as_number) || (want.cn && !src->cn) ||
	    (want.as_name && !src->as_name)) {
		cs_source_free(src);
		return -ENOMEM;
	}
	return add_src(ra, seen, src);
}

/* Alert.Events[] of a queued event: its Meta sorted by key, at its log time. */
static int add_alert_event(struct cs_ralert *ra, const struct qview *ev)
{
	const char *stack_kv[2 * 64], **kv = stack_kv, *k, *v;
	char ts[CS_TIME_STRLEN] = "";
	const char *at = ev->qm ? ev->ts : ts;
	size_t n = 0, nmeta = ev->qm ? ev->qm->nmeta : strmap_count(ev->evt->meta);
	int err;

	/* an event keeps up to 256 Meta keys (qmeta_new): the stack only fits the usual few */
	if (nmeta > 64 && !(kv = malloc(2 * nmeta * sizeof(*kv))))
		return -ENOMEM;
	if (ev->qm) {
		for (size_t i = 0; i < 2 * nmeta; i++)
			kv[n++] = qm_str(ev->qm, i, ev->ts);
	} else {
		/* the log time when parsed, else the acquisition time (EventsFromQueue) */
		if (ev->evt->marshaled_time && ev->evt->marshaled_time[0])
			snprintf(ts, sizeof(ts), "%s", ev->evt->marshaled_time);
		else if (!cs_time_is_zero(&ev->evt->time))
			cs_time_format(&ev->evt->time, ts, sizeof(ts));
		for (size_t i = 0; n < 2 * nmeta && strmap_at(ev->evt->meta, i, &k, &v, NULL); i++) {
			kv[n++] = k;
			kv[n++] = v;
		}
	}
	err = cs_ralert_add_event(ra, at, kv, n / 2);
	if (kv != stack_kv)
		free(kv);
	return err;
}

/* ---- the alert (NewAlert) ------------------------------------------------------------------------- */

static bool is_simulated(struct cs_buckets *b, const char *name)
{
	bool listed = false;

	for (const char *const *s = b->o.simulated; s && *s && !listed; s++)
		listed = !strcmp(*s, name);
	/* simulation: on => the list holds exclusions; off => the list holds inclusions */
	return b->o.simulation_default ? !listed : listed;
}

#define MAPKEY_LEN (2 * SHA1_LEN + 1)

/* The bucket's mapkey, sha1(filter \0 groupby \0 name) in hex: the alert shows it, the blackhole keys on it. */
static int bucket_mapkey(struct cs_buckets *b, const struct cs_scenario *sc,
			 const struct cs_bucket *bk, char key[MAPKEY_LEN])
{
	const void *parts[] = { sc->filter_src, bk->gkey, sc->name };
	const size_t lens[] = { strlen(sc->filter_src) + 1, strlen(bk->gkey) + 1, strlen(sc->name) };
	uint8_t digest[SHA1_LEN];

	if (!b->sha1 && !(b->sha1 = sha1_ctx_new()))
		return -ENOMEM;
	if (sha1_parts(b->sha1, parts, lens, 3, digest))
		return -ENOMEM;
	hex_encode(digest, sizeof(digest), key);
	return 0;
}

static int build_alert(struct cs_buckets *b, struct cs_bucket *bk, const char *mapkey,
		       struct cs_ralert **out)
{
	struct cs_scenario *sc = bk->sc;
	struct cs_ralert *ra = cs_ralert_new();
	char ts[CS_TIME_STRLEN], last[96], dur[32], *seen = NULL;
	int err = -ENOMEM;

	*out = ra;
	if (!ra)
		return -ENOMEM;
	ra->mapkey = strdup(mapkey);
	ra->scenario = strdup(sc->name);
	ra->hash = strdup(sc->hash);
	ra->version = strdup(sc->version);
	ra->leakspeed = strdup(sc->leakspeed_text);
	cs_time_format(&bk->first, ts, sizeof(ts));
	ra->start_at = strdup(ts);
	cs_time_format(&bk->ovflw, ts, sizeof(ts));
	ra->stop_at = strdup(ts);
	ra->capacity = sc->capacity;
	ra->events_count = bk->total;
	ra->simulated = is_simulated(b, sc->name);
	ra->remediation = sc->remediation;
	ra->reprocess = sc->reprocess;
	if (!ra->mapkey || !ra->scenario || !ra->hash || !ra->version || !ra->leakspeed ||
	    !ra->start_at || !ra->stop_at)
		return -ENOMEM;
	if ((err = cs_ralert_reserve_events(ra, bk->qlen)))
		goto out;
	for (size_t i = 0; i < bk->qlen; i++) {
		const struct qslot *s = q_slot(bk, i);
		struct qview ev = { .evt = slot_full(s), .ts = ts };

		if (ev.evt && ev.evt->type == CS_EVT_OVFLW) {
			err = sources_from_overflow(b, sc, ev.evt, ra, &seen);
		} else {
			if (!ev.evt && (ev.qm = (const struct qmeta *)s->p) &&
			    (err = cs_time_format(&s->t, ts, sizeof(ts))))
				goto out;
			err = source_from_log(b, sc, &ev, ra, &seen);
		}
		/*
		 * EventsFromQueue skips events without a Meta map; upstream's overflow
		 * events get an empty one from the postoverflow Parse() before being
		 * reprocessed, so they appear here with no meta, like ours.
		 */
		if (!err && (ev.qm || ev.evt->meta))
			err = add_alert_event(ra, &ev);
		if (err)
			goto out;
	}
	expr_format_duration(time_ns(&bk->ovflw) - time_ns(&bk->first), dur, sizeof(dur));
	cs_time_go_string(&bk->last, last, sizeof(last));
	if (ra->nsrc > 1)
		err = asprintf(&ra->message, "%s %zu sources performed '%s' (%d events over %s) at %s",
			       seen, ra->nsrc, sc->name, bk->total, dur, last);
	else
		err = asprintf(&ra->message, "%s %s performed '%s' (%d events over %s) at %s",
			       seen ? seen : "", ra->nsrc ? ra->keys[0] : "UNKNOWN", sc->name,
			       bk->total, dur, last);
	err = err < 0 ? -ENOMEM : 0;
out:
	free(seen);
	return err;
}

/* ---- blackhole ------------------------------------------------------------------------------------ */

/* The entry armed first (the FIFO is not empty). */
static struct bh_entry *bh_oldest(const struct cs_scenario *sc)
{
	return cs_dlist_entry(sc->bh_fifo.head, struct bh_entry, fifo);
}

static void bh_delete(struct cs_scenario *sc, struct bh_entry *e)
{
	cs_htab_unlink(&sc->bh, &e->link);
	cs_dlist_unlink(&sc->bh_fifo, &e->fifo);
	free(e);
	sc->bh_count--;
}

/* Drop entries whose expiry is not after `now` (they no longer hide anything). */
static void bh_purge(struct cs_scenario *sc, int64_t now)
{
	while (sc->bh_fifo.head && bh_oldest(sc)->expiry <= now)
		bh_delete(sc, bh_oldest(sc));
}

/*
 * Upstream keeps a list of (partition, expiry) per scenario: at each overflow
 * a partition with an entry expiring after the overflow time is suppressed,
 * else it goes out and gets an entry. Sets *hidden when suppressed.
 */
static int blackhole_check(struct cs_buckets *b, struct cs_scenario *sc, const char *key,
			   int64_t ovflw, bool *hidden)
{
	uint64_t h = cs_hash_str(key);
	struct bh_entry *e = NULL;

	*hidden = false;
	bh_purge(sc, ovflw);
	if (sc->bh_count >= sc->bh.nslots && sc->bh.nslots < (1u << 24) && cs_htab_grow(&sc->bh, 256))
		return -ENOMEM;
	for (struct cs_hlink *l = *cs_htab_chain(&sc->bh, h); l && !e; l = l->next)
		if (l->hash == h && !strcmp(cs_hlink_entry(l, struct bh_entry, link)->key, key))
			e = cs_hlink_entry(l, struct bh_entry, link);
	if (e && e->expiry > ovflw) {
		*hidden = true;
		return 0;
	}
	if (e) {
		/* expired but not purged yet (out-of-order times): re-arm it */
		e->expiry = ovflw + sc->blackhole;
		cs_dlist_move_tail(&sc->bh_fifo, &e->fifo);
		return 0;
	}
	if (sc->bh_count >= b->o.max_blackhole)
		bh_delete(sc, bh_oldest(sc)); /* full of live entries: forget the oldest */
	e = malloc(sizeof(*e) + strlen(key) + 1);
	if (!e)
		return -ENOMEM;
	strcpy(e->key, key);
	e->expiry = ovflw + sc->blackhole;
	cs_htab_insert(&sc->bh, &e->link, h);
	cs_dlist_push_tail(&sc->bh_fifo, &e->fifo);
	sc->bh_count++;
	return 0;
}

/* ---- overflow delivery ------------------------------------------------------------------------------ */

static int push_pending(struct cs_buckets *b, struct cs_event *evt, unsigned int depth)
{
	size_t ecap = b->pending_cap, dcap = b->pending_cap;

	/* the two grow alike; one that grew while the other failed only grows again */
	if (vec_reserve((void **)&b->pending, &ecap, b->npending, sizeof(*b->pending), 8) ||
	    vec_reserve((void **)&b->pending_depth, &dcap, b->npending, sizeof(*b->pending_depth), 8))
		return -ENOMEM;
	b->pending_cap = ecap;
	b->pending[b->npending] = evt;
	b->pending_depth[b->npending++] = depth;
	return 0;
}

static int deliver(struct cs_buckets *b, struct cs_ralert *ra, const struct cs_time *ovflw,
		   unsigned int depth)
{
	struct cs_event *evt = NULL;
	char ts[CS_TIME_STRLEN];
	int err;

	err = cs_event_new(&evt);
	if (err) {
		cs_ralert_put(ra);
		return err;
	}
	evt->type = CS_EVT_OVFLW;
	evt->expect_mode = CS_MODE_LIVE;
	evt->overflow = ra;
	evt->overflow_ops = &cs_ralert_ops;
	evt->time = *ovflw;
	cs_event_format_time(evt, ovflw, ts, sizeof(ts));
	err = cs_event_set_str(&evt->marshaled_time, ts);
	if (!err && b->o.postoverflows) {
		/* The stage success rule does not drop overflows (spec 7): ignore Process. */
		err = cs_parse(b->o.postoverflows, evt, b->o.post_observer, b->o.post_observer_arg);
		if (err && err != -ENOMEM) {
			log_warn("%s: postoverflow error: %s", ra->scenario, strerror(-err));
			err = 0;
		}
		if (evt->whitelisted)
			ra->whitelisted = true;
	}
	b->st.overflows += !err;
	if (!err && b->o.on_overflow)
		err = b->o.on_overflow(evt, b->o.arg);
	if (!err && !ra->whitelisted && b->o.on_alert_event) {
		err = b->o.on_alert_event(evt, b->o.arg);
	} else if (!err && !ra->whitelisted && b->o.on_alert) {
		json_t *j = cs_overflow_to_json(evt);

		err = j ? b->o.on_alert(j, b->o.arg) : -ENOMEM;
		json_decref(j);
	}
	if (!err && !ra->whitelisted && ra->reprocess) {
		if (depth + 1 >= b->o.max_reprocess_depth) {
			log_warn("%s: reprocess depth %u reached, overflow not poured again",
				 ra->scenario, depth + 1);
		} else {
			if (b->o.on_reprocess)
				return b->o.on_reprocess(evt, depth + 1, b->o.arg);
			err = push_pending(b, evt, depth + 1);
			if (!err)
				return 0;
		}
	}
	cs_event_free(evt);
	return err;
}

/*
 * Is this overflow of bk hidden by its scenario's blackhole (counted, traced)?
 * Upstream keys the blackhole by the mapkey, sha1(filter, partition, name): for
 * one scenario, a function of the partition alone. So a short partition key
 * stands for itself (tagged apart from mapkeys); a long one goes by its mapkey,
 * so an entry stays small. 0 or -ENOMEM.
 */
static int blackholed(struct cs_buckets *b, struct cs_bucket *bk, bool *hidden)
{
	char key[1 + MAPKEY_LEN];
	size_t len = strlen(bk->gkey);
	int err = 0;

	if (len < MAPKEY_LEN) {
		key[0] = 'g';
		memcpy(key + 1, bk->gkey, len + 1);
	} else {
		key[0] = 'h';
		err = bucket_mapkey(b, bk->sc, bk, key + 1);
	}
	err = err ?: blackhole_check(b, bk->sc, key, time_ns(&bk->ovflw), hidden);
	if (!err && *hidden) {
		sc_trace(bk->sc, "overflow of %s blackholed", bk->gkey);
		b->st.blackholed++;
	}
	return err;
}

/* The instance overflowed at bk->ovflw: blackhole, build, filter, deliver. Frees bk. */
static int overflow(struct cs_buckets *b, struct cs_bucket *bk, unsigned int depth)
{
	struct cs_scenario *sc = bk->sc;
	struct cs_ralert *ra = NULL;
	struct cs_time ovflw = bk->ovflw;
	char mapkey[MAPKEY_LEN];
	bool discard = false, hidden = false;
	int err;

	/* a scrape must never see an overflow before the pours that caused it */
	pour_count_flush(sc);
	cs_metric_add(scm(sc)->m_overflowed, 1);
	/*
	 * Most overflows of a brute force fall in its blackhole: decided before the
	 * alert is built when no overflow_filter has to read the alert first.
	 */
	if (sc->blackhole && !sc->overflow_filter && ((err = blackholed(b, bk, &hidden)) || hidden))
		goto out;
	err = bucket_mapkey(b, sc, bk, mapkey);
	if (err)
		goto out;
	err = build_alert(b, bk, mapkey, &ra);
	if (err == -ENOMEM)
		goto out;
	if (err) {
		/* no alert, but the processors still run (the blackhole records it) */
		b->st.errors++;
		discard = true;
		err = 0;
	}
	if (sc->overflow_filter) {
		int rc = eval_bool(b, sc->overflow_filter, NULL, bk, ra);

		if (rc == 0) {
			sc_trace(sc, "overflow discarded by overflow_filter");
			b->st.blackholed++;
			goto out;
		}
	}
	if (sc->blackhole && sc->overflow_filter && ((err = blackholed(b, bk, &hidden)) || hidden))
		goto out;
	if (discard || !ra->nsrc)
		goto out;
	sc_trace(sc, "overflow of '%s': %s", bk->gkey, ra->message);
	bucket_remove(b, bk);
	return deliver(b, ra, &ovflw, depth);
out:
	cs_ralert_put(ra);
	bucket_remove(b, bk);
	return err;
}

/* ---- pouring ---------------------------------------------------------------------------------------- */

/*
 * The compact copy of evt (whose time text is ts), with a reference for the
 * caller: the one made for the previous scenario of this event, else the
 * previous slot's when equal, else a new one. NULL when it cannot be made.
 */
static struct qmeta *qmeta_for(struct cs_buckets *b, const struct cs_bucket *bk,
			       const struct cs_event *evt, const char *ts)
{
	uint64_t mver = strmap_version(evt->meta), ever = strmap_version(evt->enriched);
	const struct qslot *prev;
	struct qmeta *qm;

	if (b->last_qm && mver && b->last_meta_ver == mver && b->last_enr_ver == ever &&
	    !strcmp(b->last_ts, ts)) {
		b->last_qm->refcnt++;
		return b->last_qm;
	}
	prev = bk->qlen ? q_slot(bk, bk->qlen - 1) : NULL;
	qm = prev && !slot_full(prev) ? (struct qmeta *)prev->p : NULL;
	if (qm && qmeta_same(qm, evt, ts))
		qm->refcnt++;
	else if ((qm = qmeta_new(evt, ts)))
		b->qbytes += qm->size;
	else
		return NULL;
	last_qm_drop(b);
	if (mver) {
		qm->refcnt++;
		b->last_qm = qm;
		b->last_meta_ver = mver;
		b->last_enr_ver = ever;
		memcpy(b->last_ts, ts, sizeof(b->last_ts));
	}
	return qm;
}

/* The slot for evt: compact (a shared qmeta, see qmeta_for) or full. */
static int slot_fill(struct cs_buckets *b, struct cs_bucket *bk, const struct cs_event *evt,
		     struct qslot *s)
{
	char ts[CS_TIME_STRLEN];
	struct cs_event *copy;
	int err;

	if (evt->type == CS_EVT_LOG && queue_compact(bk->sc) && compact_time(evt, &s->t, ts)) {
		struct qmeta *qm = qmeta_for(b, bk, evt, ts);

		if (qm) {
			s->p = (uintptr_t)qm;
			return 0;
		}
	}
	err = cs_event_dup(evt, &copy);
	if (err)
		return err;
	s->t = copy->time;
	s->p = (uintptr_t)copy | 1;
	b->queued_full++;
	return 0;
}

static int queue_add(struct cs_buckets *b, struct cs_bucket *bk, const struct cs_event *evt)
{
	struct qslot s = { 0 };
	int err;

	if (bk->qlen == bk->qmax) {
		/* full ring: the oldest slot goes (released after filling, its qmeta may be shared) */
		struct qslot *old = q_slot(bk, 0), gone = *old;

		err = slot_fill(b, bk, evt, &s);
		if (err)
			return err;
		b->queued_full -= slot_full(&gone) != NULL;
		b->qbytes -= slot_release(&gone);
		*old = s;
		bk->qhead = (bk->qhead + 1) % bk->qmax;
		return 0;
	}
	if (bk->qlen == bk->qcap) {
		/* nothing was dropped yet, so qhead is 0: grow in place */
		uint32_t ncap = bk->qcap < 2 ? 4 : bk->qcap * 2;
		struct qslot *nq;

		if (ncap > bk->qmax)
			ncap = bk->qmax;
		nq = realloc(bk->q, ncap * sizeof(*nq));
		if (!nq)
			return -ENOMEM;
		bk->q = nq;
		bk->qcap = ncap;
	}
	err = slot_fill(b, bk, evt, &s);
	if (err)
		return err;
	bk->q[(bk->qhead + bk->qlen++) % bk->qmax] = s;
	b->queued++;
	b->qbytes += sizeof(struct qslot);
	/* Over the global budgets: forget the least recently touched instances. */
	for (;;) {
		struct cs_bucket *victim = NULL;

		if (b->queued_full > b->o.max_events)
			victim = lru_oldest(b, LRU_FULL);
		if (!victim && (b->queued_full > b->o.max_events || b->qbytes > b->o.max_queue_bytes))
			victim = lru_oldest(b, LRU_ANY);
		if (!victim || victim == bk)
			break;
		b->st.evicted++;
		count_evicted(b);
		bucket_remove(b, victim);
	}
	return 0;
}

/*
 * CrowdSec 1.4.6's fork of golang.org/x/time/rate (pkg/time/rate/rate.go, go.mod
 * "replace golang.org/x/time/rate => .../pkg/time/rate"), reproduced step by step
 * because float rounding decides the boundary cases: limit = 1/leakspeed per
 * second (rate.Every), burst = capacity, a new limiter has tokens 0 and last = the
 * zero time, AllowN(t, 1) = reserveN(t, 1, 0).ok (TimeMachinePour, timemachine.go).
 */
static double tokens_from_duration(double limit, int64_t d)
{
	/* rate.go tokensFromDuration: whole seconds and the rest apart (golang.org/issues/34861) */
	double sec = (double)(d / NS) * limit;
	double nsec = (double)(d % NS) * limit;

	return sec + nsec / 1e9;
}

static int64_t duration_from_tokens(double limit, double tokens)
{
	/* rate.go durationFromTokens: time.Duration(1e9 * seconds), truncated */
	double ns = 1e9 * (tokens / limit);

	if (ns >= 9.2e18)
		return INT64_MAX;
	if (ns <= -9.2e18)
		return INT64_MIN;
	return (int64_t)ns;
}

static bool limiter_allow(struct cs_bucket *bk, int64_t t)
{
	int64_t ls = bk->sc->leakspeed;
	double limit = 1.0 / ((double)(ls / NS) + (double)(ls % NS) / 1e9);
	double burst = bk->sc->capacity, tokens;
	int64_t last = bk->t_last, elapsed, max_elapsed;

	if (!bk->started) {
		/* zero Limiter state: tokens 0, last = time.Time{} (now.Sub saturates) */
		bk->tokens = 0;
		elapsed = INT64_MAX;
	} else {
		/* advance(): a time before the last update refills nothing */
		if (t < last)
			last = t;
		elapsed = t - last;
	}
	/*
	 * advance() caps the elapsed time at the duration that refills the bucket,
	 * truncated to the nanosecond: the refill can end a hair below burst
	 * (rate.go advance, "Avoid making delta overflow below when last is very old").
	 */
	max_elapsed = duration_from_tokens(limit, burst - bk->tokens);
	if (elapsed > max_elapsed)
		elapsed = max_elapsed;
	tokens = bk->tokens + tokens_from_duration(limit, elapsed);
	if (tokens > burst)
		tokens = burst;
	tokens -= 1;
	/* ok when n <= burst and the wait for the missing fraction truncates to 0 ns */
	if (burst < 1 || (tokens < 0 && duration_from_tokens(limit, -tokens) > 0)) {
		/* reserveN, not ok: lim.last = last (tokens unchanged) */
		if (bk->started)
			bk->t_last = last;
		return false;
	}
	bk->started = true;
	bk->t_last = t;
	bk->tokens = tokens;
	return true;
}

static struct cs_bucket *bucket_find(struct cs_buckets *b, struct cs_scenario *sc, uint64_t h,
				     const char *g)
{
	for (struct cs_hlink *l = *cs_htab_chain(&b->tab, h); l; l = l->next) {
		struct cs_bucket *bk = cs_hlink_entry(l, struct cs_bucket, link);

		if (l->hash == h && bk->sc->key_idx == sc->key_idx && !strcmp(bk->gkey, g))
			return bk;
	}
	return NULL;
}

static int bucket_create(struct cs_buckets *b, struct cs_scenario *sc, uint64_t h, const char *g,
			 struct cs_bucket **out)
{
	struct cs_bucket *bk;
	size_t L;

	if (b->count >= b->o.max_buckets) {
		/* A flood of new partitions: forget the least recently touched one. */
		b->st.evicted++;
		count_evicted(b);
		bucket_remove(b, lru_oldest(b, LRU_ANY));
	}
	if (b->count + 1 > b->tab.nslots && b->tab.nslots < (1u << 26) && cs_htab_grow(&b->tab, 1024))
		return -ENOMEM;
	bk = calloc(1, sizeof(*bk) + strlen(g) + 1);
	if (!bk)
		return -ENOMEM;
	strcpy(bk->gkey, g);
	/* Queue size (NewLeaky): capacity, or cache_size when smaller or unbounded. */
	L = sc->capacity >= 0 ? (size_t)sc->capacity : b->o.max_queue - 1;
	if (sc->cache_size > 0 && (sc->cache_size <= sc->capacity || sc->capacity == -1))
		L = (size_t)sc->cache_size;
	if (L + 1 > b->o.max_queue)
		L = b->o.max_queue - 1;
	bk->qmax = (uint32_t)L + 1;
	if (sc->nbconds)
		bk->guillotined = calloc(sc->nbconds, sizeof(bool));
	if (sc->nbconds && !bk->guillotined) {
		bucket_free(bk);
		return -ENOMEM;
	}
	bk->sc = sc;
	cs_htab_insert(&b->tab, &bk->link, h);
	b->count++;
	scm(sc)->m_created_pending++;
	sc->m_live_pending++;
	lru_touch(b, bk);
	*out = bk;
	return 0;
}

static float bayes_update(float prior, float pe, float pb)
{
	float num = pe * prior;

	return num / (num + pb * (1 - prior));
}

/*
 * Pour evt at time t into bk (processors, then the type's arithmetic).
 * Returns 0 or a delivery error; bk may be freed (overflow, cancel).
 */
static int pour_into(struct cs_buckets *b, struct cs_bucket *bk, const struct cs_event *evt,
		     const struct cs_time *t, unsigned int depth)
{
	struct cs_scenario *sc = bk->sc;
	const struct strmap *dm;
	int64_t tn = time_ns(t);
	int err, rc;

	lru_touch(b, bk);
	if (sc->type == CS_BT_TRIGGER) {
		/* The trigger processor runs first and ends the pour. */
		bk->first = bk->last = bk->ovflw = *t;
		bk->total = 1;
		err = queue_add(b, bk, evt);
		if (err)
			return err;
		b->st.poured++;
		sc->poured++;
		count_pour(sc, evt);
		return overflow(b, bk, depth);
	}
	if (sc->distinct_map != CS_EVT_NONE && (dm = cs_event_map_of(evt, sc->distinct_map))) {
		/* a plain evt.Meta.x: the map's value ("" when absent), as evaluated */
		const char *v = strmap_getk(dm, sc->distinct_key, NULL);

		rc = distinct_add(bk, v ? v : "", b->o.max_distinct);
		if (rc == -ENOMEM)
			return rc;
		if (rc <= 0)
			return 0; /* seen already (or the set is full): not poured */
	} else if (sc->distinct) {
		struct expr_value v = expr_nil();

		/* evaluation error: the event goes through; non-string counts as "" */
		if (!eval(b, sc->distinct, evt, NULL, NULL, &v)) {
			rc = distinct_add(bk, v.kind == EXPR_STRING ? expr_str_cstr(&v) : "",
					  b->o.max_distinct);
			expr_value_release(&v);
			if (rc == -ENOMEM)
				return rc;
			if (rc <= 0)
				return 0; /* seen already (or the set is full): not poured */
		}
	}
	if (sc->cancel_on && eval_bool(b, sc->cancel_on, evt, NULL, NULL) == 1) {
		sc_trace(sc, "cancel_on matched, instance '%s' destroyed", bk->gkey);
		b->st.cancelled++;
		cs_metric_add(scm(sc)->m_canceled, 1);
		bucket_remove(b, bk);
		return 0;
	}
	/* Pour: count, time, queue, and the limiter for leaky buckets. */
	if (!bk->total++) {
		bk->first = *t;
	}
	bk->last = *t;
	b->st.poured++;
	sc->poured++;
	count_pour(sc, evt);
	sc_trace(sc, "pour into '%s' (%d events)", bk->gkey, bk->total);
	err = queue_add(b, bk, evt);
	if (err)
		return err;
	if (sc->type == CS_BT_LEAKY && !limiter_allow(bk, tn)) {
		bk->ovflw = *t;
		return overflow(b, bk, depth);
	}
	if (sc->condition) {
		rc = eval_bool(b, sc->condition, evt, bk, NULL);
		if (rc == 1) {
			bk->ovflw = bk->last;
			return overflow(b, bk, depth);
		}
	}
	if (sc->type == CS_BT_BAYESIAN) {
		float post = sc->bayes_prior;

		for (size_t i = 0; i < sc->nbconds; i++) {
			const struct cs_bayes_cond *c = &sc->bconds[i];

			if (bk->guillotined[i]) {
				post = bayes_update(post, c->prob_evil, c->prob_benign);
				continue;
			}
			rc = eval_bool(b, c->cond, evt, bk, NULL);
			if (rc < 0)
				continue;
			if (rc) {
				post = bayes_update(post, c->prob_evil, c->prob_benign);
				if (c->guillotine)
					bk->guillotined[i] = true;
			} else {
				post = bayes_update(post, 1 - c->prob_evil, 1 - c->prob_benign);
			}
		}
		if (post > sc->bayes_threshold) {
			bk->ovflw = bk->last;
			return overflow(b, bk, depth);
		}
	}
	return 0;
}

/* ---- routing: which (scenario, partition) an event goes to ------------------------------------- */

static int route_add(struct cs_route *r, size_t sc, uint64_t h, const char *g)
{
	size_t len = strlen(g) + 1;

	if (vec_reserve((void **)&r->tg, &r->cap, r->n, sizeof(*r->tg), 8))
		return -ENOMEM;
	if (vec_reserve((void **)&r->keys, &r->kcap, r->klen + len - 1, 1, 256))
		return -ENOMEM;
	memcpy(r->keys + r->klen, g, len);
	r->tg[r->n++] = (struct cs_route_target){ .sc = (uint32_t)sc, .h = h, .gkey = r->klen };
	r->klen += len;
	return 0;
}

/*
 * Per-scenario time (cs_scenario_cpu_seconds_total), sampled: one (event,
 * scenario) in CPU_SAMPLE is timed and counted CPU_SAMPLE times, so the clock
 * reads cost nothing measurable on the hot path. Per thread: routing runs in
 * several (the series' adds are atomic).
 */
#define CPU_SAMPLE 64

struct cpu_timing {
	struct cs_metric_series *m;
	uint64_t t0;
};

static _Thread_local unsigned cpu_tick;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The timing of the work for sc starts, if this one is sampled. */
static void cpu_start(struct cpu_timing *t, const struct cs_scenario *sc)
{
	t->m = NULL;
	if (!(++cpu_tick % CPU_SAMPLE) && sc->m_cpu) {
		t->m = sc->m_cpu;
		t->t0 = mono_ns();
	}
}

static void cpu_done(struct cpu_timing *t)
{
	if (t->m)
		cs_metric_add(t->m, (int64_t)((mono_ns() - t->t0) * CPU_SAMPLE));
	t->m = NULL;
}

/* A guard key's value as read for one event, while its map has that version. */
struct guard_read {
	uint64_t ver;
	const char *v;
	size_t len;
};

/* r, read from m by k (or by name without one) unless it holds m's current version. */
static const struct guard_read *key_read(struct guard_read *r, const struct strmap *m,
					 const struct strmap_key *k, const char *name)
{
	if (r->ver && r->ver == strmap_version(m))
		return r;
	r->v = k ? strmap_getk(m, k, &r->len) : strmap_getn(m, name, &r->len);
	if (!r->v) {
		r->v = "";
		r->len = 0;
	}
	r->ver = strmap_version(m);
	return r;
}

/*
 * False when the filter's first test fails (then so does the filter, without an
 * error): evt.Meta.log_type read once per event from the map instead of the
 * evaluator walking `evt.Meta.log_type in [...]` for each of 30 HTTP scenarios
 * on an sshd line. A missing key reads "", as the evaluator's map[string]string
 * does. Without a guard, false when the key the filter needs (expr_prog_needs)
 * reads "". A read is kept in gr[] while its map's version stays (a filter may
 * call evt.SetMeta()).
 */
static bool guard_passes(const struct cs_buckets *b, const struct cs_scenario *sc,
			 const struct cs_event *evt, struct guard_read *gr)
{
	struct guard_read once = { 0 };
	const struct guard_read *r;

	if (sc->guard_map == CS_EVT_NONE) {
		if (sc->needs_slot < 0)
			return true;
		const struct route_guard *g = &b->guards[sc->needs_slot];

		r = key_read(&gr[sc->needs_slot], cs_event_map_of(evt, g->map), g->key, NULL);
		return r->len > 0;
	}
	r = key_read(sc->guard_slot >= 0 ? &gr[sc->guard_slot] : &once,
		     cs_event_map_of(evt, sc->guard_map), sc->guard_key, sc->guard.key);
	for (size_t i = 0; i < sc->guard.nlits; i++) {
		const struct expr_value *l = &sc->guard.lits[i];

		if (l->s->len == r->len && !memcmp(l->s->s, r->v, r->len))
			return true;
	}
	return false;
}

/* Routing's scratch for one event. */
struct route_walk {
	struct guard_read gr[CS_ROUTE_GUARDS];
	struct cpu_timing tm;
	uint64_t cand[CS_ROUTE_WORDS]; /* the scenarios the index lets through */
	bool indexed;		       /* cand holds while the maps keep these versions */
	bool masked;		       /* the same, and cand is all the walk looks at */
	uint64_t ver[3];
	/* the prefilter's clauses known false, while the maps keep pf_ver (pf_done) */
	bool pf_done;
	uint64_t pf_ver[3];
	uint64_t pf_false[EXPR_PREFILTER_WORDS];
};

/* The maps' versions: a filter calling evt.SetMeta() changes them. */
static void map_versions(const struct cs_event *evt, uint64_t ver[3])
{
	ver[0] = strmap_version(evt->meta);
	ver[1] = strmap_version(evt->parsed);
	ver[2] = strmap_version(evt->enriched);
}

/* Word k of the bit set of every scenario. */
static uint64_t sc_word(const struct cs_buckets *b, size_t k)
{
	return (k + 1) * 64 <= b->nsc ? ~0ull : ~0ull >> (64 - b->nsc % 64);
}

/* The index's candidates for evt: each guard key read once, its row ANDed in. */
static void route_candidates(const struct cs_buckets *b, const struct cs_event *evt,
			     struct route_walk *w)
{
	size_t words = b->route_words;

	w->indexed = words && words <= CS_ROUTE_WORDS;
	if (!w->indexed)
		return;
	for (size_t k = 0; k < words; k++)
		w->cand[k] = sc_word(b, k);
	for (size_t s = 0; s < b->nguards; s++) {
		const struct route_index *x = &b->ridx[s];
		const struct route_guard *g = &b->guards[s];
		const struct guard_read *r = key_read(&w->gr[s], cs_event_map_of(evt, g->map), g->key, NULL);
		size_t row = r->len ? 1 : 0;
		const uint64_t *bits;

		for (size_t j = 0; r->len && j < x->nvals; j++)
			if (x->vals[j].len == r->len && !memcmp(x->vals[j].s, r->v, r->len)) {
				row = 2 + j;
				break;
			}
		bits = x->rows + row * words;
		for (size_t k = 0; k < words; k++)
			w->cand[k] &= bits[k];
	}
	map_versions(evt, w->ver);
}

/*
 * Whether sc's filter is false past its guard by the prefilter, run for evt on
 * the first scenario that asks and again when a filter changed the maps.
 */
static void prefilter_read(const struct cs_buckets *b, const struct cs_event *evt,
			   struct route_walk *w)
{
	uint64_t ver[3];

	map_versions(evt, ver);
	if (!w->pf_done || memcmp(ver, w->pf_ver, sizeof(ver))) {
		struct expr_value vars[NVARS];

		set_var(&vars[VAR_EVT], &cs_event_expr_ops, evt);
		set_var(&vars[VAR_QUEUE], &queue_ops, NULL);
		set_var(&vars[VAR_LEAKY], &leaky_ops, NULL);
		set_var(&vars[VAR_SIGNAL], &cs_ralert_expr_ops, NULL);
		expr_prefilter_run(b->pf, vars, w->pf_false);
		memcpy(w->pf_ver, ver, sizeof(ver));
		w->pf_done = true;
	}
}

static bool prefilter_false(const struct cs_buckets *b, const struct cs_scenario *sc,
			    const struct cs_event *evt, struct route_walk *w)
{
	prefilter_read(b, evt, w);
	return w->pf_false[sc->pf_clause / 64] >> (sc->pf_clause % 64) & 1;
}

/*
 * The candidates without the scenarios the prefilter says are false (past
 * their guard; if the guard fails they are not taken either): the walk does
 * not look at them at all. Only while the maps keep their versions (w->ver):
 * a filter's SetMeta() makes the walk look at every later scenario again.
 */
static void prefilter_mask(const struct cs_buckets *b, const struct cs_event *evt,
			   struct route_walk *w, size_t words)
{
	uint64_t any = 0;

	for (size_t k = 0; k < words; k++)
		any |= w->cand[k] & b->pf_mask[k];
	if (!any)
		return;
	prefilter_read(b, evt, w);
	for (size_t k = 0; k < EXPR_PREFILTER_WORDS; k++)
		for (uint64_t bits = w->pf_false[k]; bits; bits &= bits - 1) {
			size_t i = b->pf_sc[k * 64 + (size_t)__builtin_ctzll(bits)];

			w->cand[i / 64] &= ~(1ull << (i % 64));
		}
	if (!w->indexed)
		map_versions(evt, w->ver);
	w->masked = true;
}

/* Scenario i's filter and groupby on evt, a target of r if it takes it. 0, 1 to stop, or -errno. */
static int route_scenario(struct cs_buckets *b, size_t i, const struct cs_event *evt,
			  struct cs_route *r, struct route_walk *w)
{
	struct cs_scenario *sc = b->sc[i];
	struct expr_value g = expr_nil();
	const struct strmap *gm;
	const char *gs = "";
	uint64_t h;
	int rc, err;

	cpu_done(&w->tm); /* the previous scenario's, whichever way it ended */
	cpu_start(&w->tm, sc);
	if (!(w->indexed && sc->route_indexed) && !guard_passes(b, sc, evt, w->gr))
		return 0;
	/* past its guard, the filter without it (expr_guard.rest) */
	if (sc->guard_map != CS_EVT_NONE && sc->guard.rest_true) {
		rc = 1;
	} else if (sc->pf_clause >= 0 && prefilter_false(b, sc, evt, w)) {
		rc = 0;
	} else {
		rc = eval_bool(b, sc->guard_map != CS_EVT_NONE ? sc->guard.rest : sc->filter, evt,
			       NULL, NULL);
	}
	if (rc < 0) {
		/* a failing filter aborts the pouring of this event (spec 6.2) */
		log_warn("%s: filter error: event not poured", sc->name);
		return 1;
	}
	if (!rc)
		return 0;
	if (!r->have_time) {
		r->bad_time = event_time(b, evt, &r->t) != 0;
		r->have_time = true;
	}
	if (r->bad_time && sc->type != CS_BT_TRIGGER)
		return 0; /* TimeMachinePour: not poured without a log time */
	if (sc->groupby_map != CS_EVT_NONE && (gm = cs_event_map_of(evt, sc->groupby_map))) {
		/* a plain evt.Meta.x: the map's value ("" when absent), as evaluated */
		gs = strmap_getk(gm, sc->groupby_key, NULL);
		if (!gs)
			gs = "";
	} else if (sc->groupby) {
		err = eval(b, sc->groupby, evt, NULL, NULL, &g);
		if (err == -ENOMEM)
			return err;
		if (err || g.kind != EXPR_STRING) {
			/* upstream: "leaky failed", the rest of the scenarios are skipped */
			log_warn("%s: groupby failed or is not a string: event not poured", sc->name);
			expr_value_release(&g);
			return 1;
		}
		gs = expr_str_cstr(&g);
	}
	/* an index, not an address: every shard's copy hashes alike; the
	 * bucket identity, not the scenario: same-key scenarios share a shard */
	h = cs_hash2(&sc->key_idx, sizeof(sc->key_idx), gs, strlen(gs));
	/*
	 * The shard (the high half, cs_route_shard) by the partition key alone
	 * when there is one: the targets of an event that share it (ssh-bf,
	 * ssh-slow-bf, user-enum... on one source address) go to one shard, so
	 * at most one other core reads the event to pour it, not both.
	 */
	if (*gs)
		h = (cs_hash_str(gs) & 0xffffffff00000000ull) | (h & 0xffffffffull);
	err = route_add(r, i, h, gs);
	expr_value_release(&g);
	return err;
}

int cs_buckets_route(const struct cs_buckets *cb, const struct cs_event *evt, struct cs_route *r)
{
	/* read-only but for the error counters, which are atomic */
	struct cs_buckets *b = (struct cs_buckets *)cb;
	struct route_walk w;
	size_t words;
	int rc = 0;

	w.tm.m = NULL;
	w.pf_done = false;
	for (size_t i = 0; i < b->nguards; i++)
		w.gr[i].ver = 0;
	r->n = r->klen = 0;
	r->have_time = r->bad_time = false;
	route_candidates(b, evt, &w);
	words = (b->nsc + 63) / 64;
	w.masked = w.indexed;
	if (b->pf && words <= CS_ROUTE_WORDS) {
		for (size_t k = 0; !w.indexed && k < words; k++)
			w.cand[k] = sc_word(b, k);
		prefilter_mask(b, evt, &w, words);
	}
	for (size_t k = 0; k < words && !rc; k++) {
		uint64_t bits = w.masked ? w.cand[k] : sc_word(b, k);

		while (bits && !rc) {
			size_t i = k * 64 + (size_t)__builtin_ctzll(bits);
			uint64_t ver[3];

			bits &= bits - 1;
			rc = route_scenario(b, i, evt, r, &w);
			if (!w.masked || !b->sc[i]->may_set)
				continue;
			map_versions(evt, ver);
			if (!memcmp(ver, w.ver, sizeof(ver)))
				continue;
			/* a filter or groupby called evt.SetMeta(): the index's (and the
			 * prefilter's) reading is stale, every later scenario is looked at */
			w.indexed = w.masked = false;
			bits |= (i % 64 == 63 ? 0 : ~0ull << (i % 64 + 1)) & sc_word(b, k);
		}
	}
	cpu_done(&w.tm);
	return rc < 0 ? rc : 0;
}

void cs_route_clear(struct cs_route *r)
{
	if (!r)
		return;
	free(r->tg);
	free(r->keys);
	memset(r, 0, sizeof(*r));
}

static int pour_target(struct cs_buckets *b, const struct cs_event *evt, const struct cs_route *r,
		       const struct cs_route_target *tg, unsigned int depth)
{
	struct cs_scenario *sc = b->sc[tg->sc];
	const char *gs = r->keys + tg->gkey;
	struct cs_time t = r->t, now;
	struct cs_bucket *bk = bucket_find(b, sc, tg->h, gs);
	int err;

	/* bk may be another same-key scenario's: its own type and durations rule it */
	if (bk && b->o.mode == CS_BUCKET_LIVE && bk->sc->type == CS_BT_COUNTER) {
		/* a live counter whose duration is over fires before a new one starts */
		if (time_ns(&t) >= time_ns(&bk->first) + bk->sc->duration) {
			bk->ovflw = t;
			err = overflow(b, bk, depth);
			bk = NULL;
			if (err)
				return err;
		}
	} else if (bk && bk->total && time_ns(&t) > time_ns(&bk->last) + bk->sc->bucket_duration) {
		/* idle for longer than its duration: gone (replay: lazily, spec 6.3) */
		b->st.underflows++;
		cs_metric_add(scm(bk->sc)->m_underflowed, 1);
		bucket_remove(b, bk);
		bk = NULL;
	}
	if (!bk && (err = bucket_create(b, sc, tg->h, gs, &bk)))
		return err;
	if (r->bad_time) {
		/* a trigger without log time overflows at "now" (upstream's fallback) */
		now_live(b, &now);
		return pour_into(b, bk, evt, &now, depth);
	}
	return pour_into(b, bk, evt, &t, depth);
}

static int pour_routed(struct cs_buckets *b, const struct cs_event *evt, const struct cs_route *r,
		       unsigned int depth)
{
	int err = 0;

	if (!r->bad_time && r->n && b->o.mode == CS_BUCKET_REPLAY && time_ns(&r->t) > b->newest)
		b->newest = time_ns(&r->t);
	for (size_t i = 0; i < r->n && !err; i++) {
		struct cpu_timing tm;

		cpu_start(&tm, b->sc[r->tg[i].sc]);
		err = pour_target(b, evt, r, &r->tg[i], depth);
		cpu_done(&tm);
	}
	return err;
}

static int pour_one(struct cs_buckets *b, const struct cs_event *evt, unsigned int depth)
{
	int err = cs_buckets_route(b, evt, &b->route);

	return err ? err : pour_routed(b, evt, &b->route, depth);
}

/* Reprocess: overflows pour again, oldest first, before returning. */
static int pour_pending(struct cs_buckets *b, int err)
{
	while (!err && b->npending) {
		struct cs_event *e = b->pending[0];
		unsigned int d = b->pending_depth[0];

		memmove(b->pending, b->pending + 1, (b->npending - 1) * sizeof(*b->pending));
		memmove(b->pending_depth, b->pending_depth + 1,
			(b->npending - 1) * sizeof(*b->pending_depth));
		b->npending--;
		err = pour_one(b, e, d);
		cs_event_free(e);
	}
	return err;
}

int cs_buckets_pour_target(struct cs_buckets *b, const struct cs_event *evt,
			   const struct cs_route *r, size_t i, unsigned int depth)
{
	int err;

	if (b->in_pour)
		return -EBUSY;
	b->in_pour = true;
	if (b->o.mode == CS_BUCKET_REPLAY && !r->bad_time && time_ns(&r->t) > b->newest)
		b->newest = time_ns(&r->t);
	err = pour_pending(b, pour_target(b, evt, r, &r->tg[i], depth));
	b->in_pour = false;
	return err;
}

int cs_buckets_pour(struct cs_buckets *b, const struct cs_event *evt)
{
	int err;

	if (b->in_pour)
		return -EBUSY; /* from a callback: not supported, would reorder overflows */
	b->in_pour = true;
	err = pour_pending(b, pour_one(b, evt, 0));
	b->in_pour = false;
	cs_buckets_flush_counts(b);
	return err;
}

/* The head of LRU list *k, then of the next ones; NULL past the last. */
static struct cs_dlink *next_list(struct cs_buckets *b, int *k)
{
	while (*k < 2)
		if (b->lru[(*k)++].head)
			return b->lru[*k - 1].head;
	return NULL;
}

int cs_buckets_tick(struct cs_buckets *b)
{
	struct cs_time now;
	int64_t tn;
	struct cs_bucket *bk;
	int err = 0, k = 0;

	if (b->o.mode == CS_BUCKET_LIVE) {
		now_live(b, &now);
		tn = time_ns(&now);
	} else {
		tn = b->newest;
		now = (struct cs_time){ .sec = tn / NS, .nsec = (int32_t)(tn % NS) };
	}
	b->in_pour = true;
	/* both LRU lists in turn: the tick needs no global order */
	for (struct cs_dlink *l = NULL, *nl; !err && (l || (l = next_list(b, &k))); l = nl) {
		struct cs_scenario *sc;

		bk = cs_dlist_entry(l, struct cs_bucket, lru);
		sc = bk->sc;
		nl = l->next;
		if (sc->type == CS_BT_COUNTER) {
			if (b->o.mode != CS_BUCKET_LIVE || !bk->total ||
			    tn < time_ns(&bk->first) + sc->duration)
				continue;
			/* timed overflow: the counter's duration is over */
			bk->ovflw = now;
			err = overflow(b, bk, 0);
			continue;
		}
		if (bk->total && tn > time_ns(&bk->last) + sc->bucket_duration) {
			b->st.underflows++;
			cs_metric_add(scm(bk->sc)->m_underflowed, 1);
			bucket_remove(b, bk);
		}
	}
	for (size_t i = 0; i < b->nsc; i++)
		if (b->sc[i]->bh_count)
			bh_purge(b->sc[i], tn);
	b->in_pour = false;
	cs_buckets_flush_counts(b);
	/* reprocessed overflows of counters */
	while (!err && b->npending) {
		struct cs_event *e = b->pending[0];

		memmove(b->pending, b->pending + 1, (b->npending - 1) * sizeof(*b->pending));
		memmove(b->pending_depth, b->pending_depth + 1,
			(b->npending - 1) * sizeof(*b->pending_depth));
		b->npending--;
		err = cs_buckets_pour(b, e);
		cs_event_free(e);
	}
	return err;
}
