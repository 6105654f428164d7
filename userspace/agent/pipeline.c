// SPDX-License-Identifier: MIT
/*
 * The detector's worker threads (pipeline.h): batches of events in reading
 * order, parsed and routed by any worker, poured by every shard in order, merged
 * in order. The list of batches is the only shared structure (one mutex): a
 * worker pours the head batch when it is routed and its shard has not poured it
 * yet, else routes the oldest batch nobody took (unless routed_cap batches are
 * taken and not merged yet), else waits. Shards never wait
 * for each other except at the merge of the head, which is what keeps reprocessed
 * overflows and the alert order independent of the number of workers.
 */
#include "agent/pipeline.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bucket/bucket.h"
#include "common/log.h"
#include "common/vec.h"
#include "parser/dateparse.h"

/*
 * Small batches, few of them parsed ahead: a batch's events (a few KiB each:
 * their maps) are poured right after they were parsed, and freed events are
 * made again soon after (the event pool is last in, first out), so both
 * happen while they are still in the core's cache. With 256 events a batch
 * and 4 batches a worker in flight, each pass re-read its events from memory:
 * 10-20 % more CPU for the same replay, with 1 worker or 2. Two batches a
 * worker parsed ahead of the merge keep one to route while the other waits
 * for the head's pour.
 */
#define BATCH_EVENTS 64
#define BATCH_BYTES (256u << 10)
#define ROUTED_PER_WORKER 2
/*
 * Lines read ahead (only text until a worker parses them): the reading thread
 * sleeps when TEXT_PER_WORKER batches a worker wait, and is woken when half of
 * them are done, so it fills many batches a wake-up instead of one per merge
 * (each wake-up took a core from a worker on a 2-core machine), and a worker
 * whose peer lost its core meanwhile still finds lines to parse.
 */
#define TEXT_PER_WORKER 16
/* Merged batches kept for reuse (arrays, text, the events' route arrays)
 * beyond those in flight, and the largest text buffer one keeps. */
#define POOL_SPARE 4
#define POOL_TEXT_MAX (256u << 10)

/*
 * One event: a line as read (the worker makes the event, so the reading thread
 * only copies bytes) or, for reprocessed overflows, the event itself.
 */
struct pl_item {
	struct cs_event *evt;
	size_t off, len;     /* the line in the batch's text */
	uint32_t src;	     /* its source in the batch's srcs */
	bool timemachine;
	struct cs_route route;
	unsigned int depth; /* reprocess depth */
	bool pour;
};

/* Where a shard was when it produced something: target `target` of item `item`. */
struct pl_tag {
	size_t item, target;
};

/*
 * An array of alerts on its way out: the JSON, or its text when the agent
 * renders alerts (made by the shard that built them, so the merge only hands
 * bytes on), with its overflow time (the order of held alerts).
 */
struct pl_out_alerts {
	json_t *alerts;
	char *text;
	size_t len, n;
	int64_t t;	    /* stop_at, ns */
	unsigned int shard; /* the one that made it, and frees it (struct pl_trash) */
};

struct pl_alert {
	struct pl_tag tag;
	struct pl_out_alerts a;
};

struct pl_reproc {
	struct pl_tag tag;
	struct cs_event *evt;
	unsigned int depth;
};

/* What one shard produced while pouring one batch. */
struct pl_out {
	struct pl_alert *al;
	size_t nal, capal;
	struct pl_reproc *re;
	size_t nre, capre;
};

enum pl_kind { PL_EVENTS, PL_TICK, PL_DROP };

/* Where lines come from: copies, as the reading thread's acq_line only lives for the call. */
struct pl_src {
	char *src, *module, *type;
	struct acq_label *labels;
	size_t nlabels, labels_cap;
};

/* Alerts held back until the overflows they reprocess are poured too. */
struct pl_held {
	size_t seq;
	struct pl_out_alerts a;
};

struct pl_batch {
	struct pl_batch *next;
	enum pl_kind kind;
	struct pl_item *items;
	size_t n, cap;
	size_t ninit; /* items[0..ninit) hold a valid route (kept for reuse) */
	char *text;
	size_t tlen, tcap;
	struct pl_src *srcs;
	size_t nsrcs, capsrcs;
	bool claimed, routed;
	unsigned int router; /* the worker that parsed it (made its events) */
	unsigned int npoured;
	struct cs_agent_stats st; /* parse outcomes, added to the agent's at the merge */
	struct pl_held *held;	  /* from the batches this one reprocesses for */
	size_t nheld, capheld;
	struct pl_out out[];	  /* one per shard */
};

/*
 * What a shard made (its overflows' events, its alerts' text) and another
 * worker consumed at the merge, waiting for the maker to free it: freed by the
 * merging worker, each went into the other's malloc arena (its lock, its free
 * lists: cache lines both cores write) and the event pools then mixed the two
 * arenas for good. sshd 300k lines make ~6,000 overflows of a few dozen blocks each.
 */
struct pl_trash {
	struct cs_event **evts;
	size_t nevts, capevts;
	struct pl_out_alerts *alerts;
	size_t nalerts, capalerts;
};

struct pl_shard {
	struct cs_pipeline *pl;
	unsigned int idx;
	struct pl_batch *batch; /* being poured */
	size_t item, target;
};

struct pl_worker {
	struct cs_pipeline *pl;
	unsigned int idx;
	pthread_t th;
	bool started;
	uint64_t poured_gen; /* the head generation this shard poured last */
	/*
	 * Merged batches whose events this worker made, for it to free: an event's
	 * maps are a few KiB that the thread which freed it writes again for its
	 * next event (the pools are per thread), and when the merging worker freed
	 * the other's events every one of those cache lines moved between the
	 * cores, twice (event_reset, then the next parse): 2-3x the CPU of event
	 * frees, map writes and line copies with 2 workers.
	 */
	struct pl_batch *give;
	struct pl_trash trash;	/* for this worker to free (pl->mu) */
	struct pl_trash spare;	/* being freed (this worker's) */
	struct pl_trash *stage; /* one per shard: what this worker's merge hands back */
	struct src_metrics m;
};

struct cs_pipeline {
	struct cs_agent *a;
	unsigned int n;
	pthread_mutex_t mu;
	pthread_cond_t work, room;
	struct pl_batch *head, *tail; /* submitted, not merged yet */
	struct pl_batch *cur;	      /* being filled by the reading thread */
	size_t inflight;	      /* submitted, not merged: at most text_cap */
	size_t nclaimed;	      /* of which events claimed by a worker: at most routed_cap */
	size_t text_cap, routed_cap;
	uint64_t gen; /* bumped each time the head is merged */
	bool stop;
	struct pl_shard *shards;
	struct pl_worker *w;
	/*
	 * A replay with several workers: the reading thread is the last worker (no
	 * thread of its own) and works whenever the queue is full or drains. A third
	 * thread on two cores took a worker's core at each of its ~600 wake-ups
	 * (and the workers moved between the cores ~200-400 times a run, their
	 * caches left behind). Live, the reading thread waits for input, which would
	 * hold its shard's pours back: NULL there, and with one worker (the reading
	 * thread then has the other core).
	 */
	struct pl_worker *helper;
	struct pl_trash *stages; /* the workers' stage arrays */
	/*
	 * Merged batches for the next ones: the reading thread makes batches that a
	 * worker frees, so without this every batch, item array and route array
	 * crossed threads through malloc (and cost the malloc locks and
	 * consolidations of two arenas).
	 */
	pthread_mutex_t pool_mu;
	struct pl_batch *pool;
	size_t npool;
};

/* Under pl->mu. */
static void work_signal(struct cs_pipeline *pl)
{
	pthread_cond_broadcast(&pl->work);
}

static struct pl_batch *batch_new(struct cs_pipeline *pl, enum pl_kind kind)
{
	struct pl_batch *b;

	pthread_mutex_lock(&pl->pool_mu);
	if ((b = pl->pool)) {
		pl->pool = b->next;
		pl->npool--;
		b->next = NULL;
	}
	pthread_mutex_unlock(&pl->pool_mu);
	if (!b)
		b = calloc(1, sizeof(*b) + pl->n * sizeof(b->out[0]));
	if (b)
		b->kind = kind;
	return b;
}

static void src_clear(struct pl_src *s)
{
	free(s->src);
	free(s->module);
	free(s->type);
	acq_labels_free(s->labels, s->nlabels);
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool src_is(const struct pl_src *s, const struct acq_line *l)
{
	if (!same_str(s->src, l->src) || !same_str(s->module, l->module) ||
	    !same_str(s->type, l->type) || s->nlabels != l->nlabels)
		return false;
	for (size_t i = 0; i < l->nlabels; i++)
		if (strcmp(s->labels[i].key, l->labels[i].key) ||
		    strcmp(s->labels[i].value, l->labels[i].value))
			return false;
	return true;
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;

	*oom |= s && !d;
	return d;
}

/* The index of l's source in b (lines come in runs: usually the last one). -1: out of memory. */
static long batch_src(struct pl_batch *b, const struct acq_line *l)
{
	struct pl_src *s;
	bool oom = false;

	if (b->nsrcs && src_is(&b->srcs[b->nsrcs - 1], l))
		return (long)b->nsrcs - 1;
	if (vec_reserve((void **)&b->srcs, &b->capsrcs, b->nsrcs, sizeof(*b->srcs), 4))
		return -1;
	s = &b->srcs[b->nsrcs];
	memset(s, 0, sizeof(*s));
	s->src = dup_or_null(l->src, &oom);
	s->module = dup_or_null(l->module, &oom);
	s->type = dup_or_null(l->type, &oom);
	for (size_t i = 0; !oom && i < l->nlabels; i++)
		oom = acq_labels_add(&s->labels, &s->nlabels, &s->labels_cap, l->labels[i].key,
				     l->labels[i].value) != 0;
	if (oom) {
		src_clear(s);
		return -1;
	}
	return (long)b->nsrcs++;
}

static void out_alerts_clear(struct pl_out_alerts *oa)
{
	json_decref(oa->alerts);
	free(oa->text);
	*oa = (struct pl_out_alerts){ 0 };
}

/* Free what t holds, keeping its arrays. */
static void trash_clear(struct pl_trash *t)
{
	for (size_t i = 0; i < t->nevts; i++)
		cs_event_free(t->evts[i]);
	for (size_t i = 0; i < t->nalerts; i++)
		out_alerts_clear(&t->alerts[i]);
	t->nevts = t->nalerts = 0;
}

static void trash_fini(struct pl_trash *t)
{
	trash_clear(t);
	free(t->evts);
	free(t->alerts);
	*t = (struct pl_trash){ 0 };
}

/* evt, made by shard `shard`, is done with: to its maker (w is the merging worker). */
static void trash_event(struct pl_worker *w, unsigned int shard, struct cs_event *evt)
{
	struct pl_trash *t = &w->stage[shard];

	if (shard == w->idx ||
	    vec_reserve((void **)&t->evts, &t->capevts, t->nevts, sizeof(*t->evts), 64)) {
		cs_event_free(evt);
		return;
	}
	t->evts[t->nevts++] = evt;
}

/* The same for alerts that went out (taken from *oa). */
static void trash_alerts(struct pl_worker *w, struct pl_out_alerts *oa)
{
	struct pl_trash *t = &w->stage[oa->shard];

	if (oa->shard == w->idx ||
	    vec_reserve((void **)&t->alerts, &t->capalerts, t->nalerts, sizeof(*t->alerts), 64)) {
		out_alerts_clear(oa);
		return;
	}
	t->alerts[t->nalerts++] = *oa;
	*oa = (struct pl_out_alerts){ 0 };
}

/* Move the *nfrom elements of from to the end of *to; out of memory: from keeps them. */
static void move_all(void **to, size_t *n, size_t *cap, void *from, size_t *nfrom, size_t elem)
{
	if (!*nfrom || vec_reserve(to, cap, *n + *nfrom - 1, elem, 64))
		return;
	memcpy((char *)*to + *n * elem, from, *nfrom * elem);
	*n += *nfrom;
	*nfrom = 0;
}

/* Append from to to (both emptied of it), or free what does not fit. */
static void trash_move(struct pl_trash *to, struct pl_trash *from)
{
	move_all((void **)&to->evts, &to->nevts, &to->capevts, from->evts, &from->nevts,
		 sizeof(*to->evts));
	move_all((void **)&to->alerts, &to->nalerts, &to->capalerts, from->alerts, &from->nalerts,
		 sizeof(*to->alerts));
	trash_clear(from); /* out of memory: freed here after all */
}

/* Drop what b holds (events, sources, alerts), keeping its arrays. */
static void batch_empty(const struct cs_pipeline *pl, struct pl_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		cs_event_free(b->items[i].evt);
		b->items[i].evt = NULL;
	}
	b->n = b->tlen = 0;
	for (size_t i = 0; i < b->nsrcs; i++)
		src_clear(&b->srcs[i]);
	b->nsrcs = 0;
	for (size_t i = 0; i < b->nheld; i++)
		out_alerts_clear(&b->held[i].a);
	b->nheld = 0;
	for (unsigned int s = 0; s < pl->n; s++) {
		struct pl_out *o = &b->out[s];

		for (size_t i = 0; i < o->nal; i++)
			out_alerts_clear(&o->al[i].a);
		for (size_t i = 0; i < o->nre; i++)
			cs_event_free(o->re[i].evt);
		o->nal = o->nre = 0;
	}
}

static void batch_free(const struct cs_pipeline *pl, struct pl_batch *b)
{
	if (!b)
		return;
	batch_empty(pl, b);
	for (size_t i = 0; i < b->ninit; i++)
		cs_route_clear(&b->items[i].route);
	free(b->items);
	free(b->text);
	free(b->srcs);
	free(b->held);
	for (unsigned int s = 0; s < pl->n; s++) {
		free(b->out[s].al);
		free(b->out[s].re);
	}
	free(b);
}

/*
 * Empty b for its next use, keeping its arrays (its items' routes too) unless
 * the pool is full; frees it then.
 */
static void batch_recycle(struct cs_pipeline *pl, struct pl_batch *b)
{
	bool keep;

	if (!b)
		return;
	pthread_mutex_lock(&pl->pool_mu);
	keep = pl->npool < pl->text_cap + POOL_SPARE;
	pl->npool += keep;
	pthread_mutex_unlock(&pl->pool_mu);
	if (!keep) {
		batch_free(pl, b);
		return;
	}
	batch_empty(pl, b);
	if (b->tcap > POOL_TEXT_MAX) {
		free(b->text);
		b->text = NULL;
		b->tcap = 0;
	}
	b->claimed = b->routed = false;
	b->npoured = 0;
	b->st = (struct cs_agent_stats){ 0 };
	pthread_mutex_lock(&pl->pool_mu);
	b->next = pl->pool;
	pl->pool = b;
	pthread_mutex_unlock(&pl->pool_mu);
}

static int batch_push(struct pl_batch *b, struct cs_event *evt, unsigned int depth)
{
	struct pl_item *it;
	struct cs_route r = { 0 };

	if (vec_reserve((void **)&b->items, &b->cap, b->n, sizeof(*b->items), 64))
		return -ENOMEM;
	it = &b->items[b->n];
	if (b->n < b->ninit)
		r = it->route; /* its arrays, from an earlier use of the batch */
	else
		b->ninit = b->n + 1;
	r.n = r.klen = 0;
	*it = (struct pl_item){ .evt = evt, .depth = depth, .route = r };
	b->n++;
	return 0;
}

static int64_t stop_at(const char *s);

/* Takes oa. */
static int shard_out(struct pl_shard *sh, struct pl_out_alerts *oa)
{
	struct pl_out *o = &sh->batch->out[sh->idx];

	if (vec_reserve((void **)&o->al, &o->capal, o->nal, sizeof(*o->al), 8)) {
		out_alerts_clear(oa);
		return -ENOMEM;
	}
	oa->shard = sh->idx;
	o->al[o->nal++] = (struct pl_alert){ { sh->item, sh->target }, *oa };
	return 0;
}

int pl_shard_alert(json_t *alerts, void *arg)
{
	struct pl_shard *sh = arg;
	struct cs_agent *a = sh->pl->a;
	struct pl_out_alerts oa = {
		.n = json_array_size(alerts),
		.t = stop_at(json_string_value(json_object_get(json_array_get(alerts, 0), "stop_at"))),
	};

	if (a->render)
		oa.text = a->render(alerts, &oa.len, a->arg); /* NULL: lost, said at the merge */
	else
		oa.alerts = json_incref(alerts);
	return shard_out(sh, &oa);
}

int pl_shard_alert_event(const struct cs_event *ovf, void *arg)
{
	struct pl_out_alerts oa = { .n = cs_overflow_nsources(ovf),
				    .t = stop_at(cs_overflow_stop_at(ovf)) };

	oa.text = agent_render_lines(ovf, &oa.len); /* NULL: lost, said at the merge */
	return shard_out(arg, &oa);
}

int pl_shard_reprocess(struct cs_event *ovf, unsigned int depth, void *arg)
{
	struct pl_shard *sh = arg;
	struct pl_out *o = &sh->batch->out[sh->idx];

	if (vec_reserve((void **)&o->re, &o->capre, o->nre, sizeof(*o->re), 8)) {
		cs_event_free(ovf);
		return -ENOMEM;
	}
	o->re[o->nre++] = (struct pl_reproc){ { sh->item, sh->target }, ovf, depth };
	return 0;
}

void *pl_shard_arg(struct cs_pipeline *pl, unsigned int shard)
{
	return &pl->shards[shard];
}

/* ---- the work ---------------------------------------------------------------------------- */

static void route_batch(struct cs_pipeline *pl, struct pl_worker *w, struct pl_batch *b)
{
	struct cs_agent *a = pl->a;
	uint64_t clock = 0;

	for (size_t i = 0; i < b->n; i++) {
		struct pl_item *it = &b->items[i];

		if (!it->evt) {
			const struct pl_src *src = &b->srcs[it->src];

			/* out of memory: this line is lost, as inline */
			agent_event(b->text + it->off, it->len, src->src, src->module, src->type,
				    src->labels, src->nlabels, it->timemachine, &it->evt);
		}
	}
	/* the parses back to back: one clock read a line times them (agent_parse) */
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].evt)
			b->items[i].pour = agent_parse(a, &w->m, b->items[i].evt, &b->st, &clock);
	for (size_t i = 0; i < b->n; i++) {
		struct pl_item *it = &b->items[i];

		if (it->pour && cs_buckets_route(a->shards[0], it->evt, &it->route)) {
			log_warn("routing an event: out of memory");
			it->pour = false;
		}
	}
	src_metrics_flush(&w->m);
}

static void pour_batch(struct cs_pipeline *pl, unsigned int s, struct pl_batch *b)
{
	struct pl_shard *sh = &pl->shards[s];
	struct cs_buckets *bk = pl->a->shards[s];
	int err;

	sh->batch = b;
	sh->item = sh->target = 0;
	if (b->kind == PL_TICK) {
		cs_buckets_tick(bk);
		return;
	}
	if (b->kind == PL_DROP) {
		cs_buckets_flush(bk);
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct pl_item *it = &b->items[i];

		for (size_t t = 0; it->pour && t < it->route.n; t++) {
			if (cs_route_shard(it->route.tg[t].h, pl->n) != s)
				continue;
			sh->item = i;
			sh->target = t;
			err = cs_buckets_pour_target(bk, it->evt, &it->route, t, it->depth);
			if (err)
				log_warn("pouring an event from %s: %s",
					 it->evt->line.src ? it->evt->line.src : "overflow",
					 strerror(-err));
		}
	}
	cs_buckets_flush_counts(bk);
}

/* The shard whose next alert (or reprocessed overflow) comes first in (item, target) order, or -1. */
static int next_out(const struct cs_pipeline *pl, const struct pl_batch *b, const size_t *pos,
		    bool alerts)
{
	const struct pl_tag *best = NULL;
	int best_s = -1;

	for (unsigned int s = 0; s < pl->n; s++) {
		const struct pl_out *o = &b->out[s];
		const struct pl_tag *t;

		if (pos[s] >= (alerts ? o->nal : o->nre))
			continue;
		t = alerts ? &o->al[pos[s]].tag : &o->re[pos[s]].tag;
		if (!best || t->item < best->item ||
		    (t->item == best->item && t->target < best->target)) {
			best = t;
			best_s = (int)s;
		}
	}
	return best_s;
}

/* The overflow time of an alert array (its first alert's StopAt). */
static int64_t stop_at(const char *s)
{
	struct cs_time t;
	bool has_year;

	if (!s || cs_time_parse_layout("2006-01-02T15:04:05Z07:00", s, &t, &has_year))
		return INT64_MAX;
	return t.sec * 1000000000LL + t.nsec;
}

static void send_out(struct cs_agent *a, const struct pl_out_alerts *oa)
{
	if (oa->alerts)
		agent_alert(oa->alerts, a);
	else
		agent_alert_text(a, oa->text, oa->len, oa->n);
}

/* Hold alerts (taken from *oa) for emit(); sent at once when out of memory. */
static void hold(struct pl_worker *w, struct pl_batch *b, struct pl_out_alerts *oa)
{
	if (vec_reserve((void **)&b->held, &b->capheld, b->nheld, sizeof(*b->held), 8)) {
		send_out(w->pl->a, oa);
		trash_alerts(w, oa);
		return;
	}
	b->held[b->nheld] = (struct pl_held){ b->nheld, *oa };
	*oa = (struct pl_out_alerts){ 0 };
	b->nheld++;
}

static int held_cmp(const void *x, const void *y)
{
	const struct pl_held *a = x, *b = y;

	if (a->a.t != b->a.t)
		return a->a.t < b->a.t ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * Alerts out, by overflow time, else in pouring order: a reprocessed overflow's
 * alert (poured after its batch) takes its place among the batch's.
 */
static void emit(struct pl_worker *w, struct pl_batch *b)
{
	if (b->nheld > 1)
		qsort(b->held, b->nheld, sizeof(*b->held), held_cmp);
	for (size_t i = 0; i < b->nheld; i++) {
		send_out(w->pl->a, &b->held[i].a);
		trash_alerts(w, &b->held[i].a);
	}
	b->nheld = 0;
}

/*
 * Every shard poured b (the head): its alerts go out in (event, scenario) order
 * (a stable merge: each shard's list is already in that order), and the
 * overflows it reprocesses become a batch poured right after it.
 */
static struct pl_batch *merge(struct cs_pipeline *pl, struct pl_worker *w, struct pl_batch *b)
{
	struct cs_agent *a = pl->a;
	struct pl_batch *rb = NULL;
	struct pl_item *it;
	size_t pos[pl->n];
	int s;

	memset(pos, 0, sizeof(pos));
	while ((s = next_out(pl, b, pos, true)) >= 0) {
		hold(w, b, &b->out[s].al[pos[s]++].a);
	}
	a->st.parsed += b->st.parsed;
	a->st.unparsed += b->st.unparsed;
	a->st.whitelisted += b->st.whitelisted;
	a->st.poured += b->st.poured;
	memset(pos, 0, sizeof(pos));
	while ((s = next_out(pl, b, pos, false)) >= 0) {
		struct pl_reproc *re = &b->out[s].re[pos[s]++];
		struct cs_event *evt = re->evt;

		re->evt = NULL;
		if (!rb && !(rb = batch_new(pl, PL_EVENTS))) {
			trash_event(w, (unsigned int)s, evt);
			continue;
		}
		if (batch_push(rb, evt, re->depth)) {
			trash_event(w, (unsigned int)s, evt);
			continue;
		}
		it = &rb->items[rb->n - 1];
		it->pour = !cs_buckets_route(a->shards[0], evt, &it->route) && it->route.n;
		if (!it->pour) {
			/* no scenario takes it (the usual case): nothing to pour */
			cs_route_clear(&it->route);
			trash_event(w, (unsigned int)s, evt);
			rb->n--;
		}
	}
	if (rb && !rb->n) {
		batch_recycle(pl, rb);
		rb = NULL;
	}
	if (rb) {
		/* the reprocessed overflows' alerts go out with these, in time order */
		rb->claimed = rb->routed = true;
		free(rb->held); /* empty: from an earlier use of rb */
		rb->held = b->held;
		rb->nheld = b->nheld;
		rb->capheld = b->capheld;
		b->held = NULL;
		b->nheld = b->capheld = 0;
	} else {
		emit(w, b);
	}
	return rb;
}

/*
 * One piece of work for w, under pl->mu (dropped while it works): pour the head,
 * free what came back, or route the oldest batch nobody took. false: nothing to
 * do for w now.
 */
static bool worker_step(struct cs_pipeline *pl, struct pl_worker *w)
{
	struct pl_batch *b = pl->head, *rb;

	if (b && b->routed && w->poured_gen != pl->gen) {
		uint64_t gen = pl->gen;

		pthread_mutex_unlock(&pl->mu);
		pour_batch(pl, w->idx, b);
		pthread_mutex_lock(&pl->mu);
		w->poured_gen = gen;
		if (++b->npoured < pl->n)
			return true;
		/* the last shard merges; the others cannot pour before the head moves */
		pthread_mutex_unlock(&pl->mu);
		rb = merge(pl, w, b);
		pthread_mutex_lock(&pl->mu);
		for (unsigned int s = 0; s < pl->n; s++)
			if (s != w->idx)
				trash_move(&pl->w[s].trash, &w->stage[s]);
		if (rb) {
			rb->router = w->idx;
			rb->next = b->next;
			b->next = rb;
			if (pl->tail == b)
				pl->tail = rb;
			pl->inflight++;
			pl->nclaimed++;
		}
		pl->head = b->next;
		if (!pl->head)
			pl->tail = NULL;
		pl->inflight--;
		pl->nclaimed -= b->kind == PL_EVENTS;
		pl->gen++;
		work_signal(pl);
		if (pl->inflight <= pl->text_cap / 2)
			pthread_cond_broadcast(&pl->room);
		if (b->kind == PL_EVENTS && b->router != w->idx) {
			b->next = pl->w[b->router].give;
			pl->w[b->router].give = b;
			return true;
		}
		pthread_mutex_unlock(&pl->mu);
		batch_recycle(pl, b);
		pthread_mutex_lock(&pl->mu);
		return true;
	}
	if (w->trash.nevts || w->trash.nalerts) {
		struct pl_trash t = w->trash;

		w->trash = w->spare;
		w->spare = t;
		pthread_mutex_unlock(&pl->mu);
		trash_clear(&w->spare);
		pthread_mutex_lock(&pl->mu);
		return true;
	}
	if (w->give) {
		struct pl_batch *give = w->give, *next;

		w->give = NULL;
		pthread_mutex_unlock(&pl->mu);
		for (; give; give = next) {
			next = give->next;
			batch_recycle(pl, give);
		}
		pthread_mutex_lock(&pl->mu);
		return true;
	}
	/*
	 * the oldest batch nobody claimed: ticks are claimed when queued, at the
	 * tail, and not counted in nclaimed, or ticks queued behind an unclaimed
	 * batch would fill routed_cap and nobody would ever claim it
	 */
	for (b = pl->nclaimed < pl->routed_cap ? pl->head : NULL; b && b->claimed;
	     b = b->next)
		;
	if (b) {
		b->claimed = true;
		b->router = w->idx;
		pl->nclaimed++;
		pthread_mutex_unlock(&pl->mu);
		route_batch(pl, w, b);
		pthread_mutex_lock(&pl->mu);
		b->routed = true;
		work_signal(pl);
		return true;
	}
	return false;
}

static void *worker_main(void *arg)
{
	struct pl_worker *w = arg;
	struct cs_pipeline *pl = w->pl;

	pthread_mutex_lock(&pl->mu);
	for (;;) {
		if (worker_step(pl, w))
			continue;
		if (pl->stop)
			break;
		pthread_cond_wait(&pl->work, &pl->mu);
	}
	pthread_mutex_unlock(&pl->mu);
	return NULL;
}

/* ---- the reading thread's side ----------------------------------------------------------- */

int pl_new(struct cs_agent *a, unsigned int nworkers, struct cs_pipeline **out)
{
	struct cs_pipeline *pl = calloc(1, sizeof(*pl));

	*out = NULL;
	if (!pl)
		return -ENOMEM;
	pl->a = a;
	pl->n = nworkers;
	pl->text_cap = (size_t)nworkers * TEXT_PER_WORKER;
	pl->routed_cap = (size_t)nworkers * ROUTED_PER_WORKER;
	pl->shards = calloc(nworkers, sizeof(*pl->shards));
	pl->w = calloc(nworkers, sizeof(*pl->w));
	pl->stages = calloc((size_t)nworkers * nworkers, sizeof(*pl->stages));
	if (!pl->shards || !pl->w || !pl->stages) {
		free(pl->shards);
		free(pl->w);
		free(pl->stages);
		free(pl);
		return -ENOMEM;
	}
	pthread_mutex_init(&pl->mu, NULL);
	pthread_mutex_init(&pl->pool_mu, NULL);
	pthread_cond_init(&pl->work, NULL);
	pthread_cond_init(&pl->room, NULL);
	for (unsigned int i = 0; i < nworkers; i++) {
		pl->shards[i] = (struct pl_shard){ .pl = pl, .idx = i };
		pl->w[i] = (struct pl_worker){ .pl = pl, .idx = i, .poured_gen = UINT64_MAX,
					       .stage = pl->stages + (size_t)i * nworkers };
		pl->w[i].m.batched = true;
	}
	if (a->replay && nworkers > 1)
		pl->helper = &pl->w[nworkers - 1];
	*out = pl;
	return 0;
}

int pl_run(struct cs_pipeline *pl)
{
	for (unsigned int i = 0; i < pl->n; i++) {
		int rc;

		if (&pl->w[i] == pl->helper)
			continue;
		rc = pthread_create(&pl->w[i].th, NULL, worker_main, &pl->w[i]);

		if (rc)
			return -rc;
		pl->w[i].started = true;
	}
	return 0;
}

/*
 * The reading thread waits for room, or for the queue to empty, under pl->mu;
 * as a worker (pl->helper) it works meanwhile, and sleeps only when there is
 * nothing for it to do: the other workers signal work, not room, for that.
 */
static void reader_wait(struct cs_pipeline *pl)
{
	if (!pl->helper)
		pthread_cond_wait(&pl->room, &pl->mu);
	else if (!worker_step(pl, pl->helper))
		pthread_cond_wait(&pl->work, &pl->mu);
}

static void submit(struct cs_pipeline *pl, struct pl_batch *b)
{
	pthread_mutex_lock(&pl->mu);
	while (pl->inflight >= pl->text_cap)
		reader_wait(pl);
	if (pl->tail)
		pl->tail->next = b;
	else
		pl->head = b;
	pl->tail = b;
	pl->inflight++;
	work_signal(pl);
	pthread_mutex_unlock(&pl->mu);
}

void pl_flush(struct cs_pipeline *pl)
{
	if (pl && pl->cur && pl->cur->n) {
		submit(pl, pl->cur);
		pl->cur = NULL;
	}
}

int pl_add_line(struct cs_pipeline *pl, const struct acq_line *l)
{
	struct pl_batch *b = pl->cur;
	long src;

	if (!b && !(b = pl->cur = batch_new(pl, PL_EVENTS)))
		return 0; /* lost, like a line the inline path cannot allocate for */
	src = batch_src(b, l);
	if (src < 0 || batch_push(b, NULL, 0))
		return 0;
	/* room for the line and a NUL after it */
	if (vec_reserve((void **)&b->text, &b->tcap, b->tlen + l->len, 1, 64 << 10)) {
		b->n--;
		return 0;
	}
	memcpy(b->text + b->tlen, l->raw, l->len);
	b->items[b->n - 1].off = b->tlen;
	b->items[b->n - 1].len = l->len;
	b->items[b->n - 1].src = (uint32_t)src;
	b->items[b->n - 1].timemachine = l->timemachine;
	b->tlen += l->len;
	b->text[b->tlen++] = '\0';
	if (b->n >= BATCH_EVENTS || b->tlen >= BATCH_BYTES)
		pl_flush(pl);
	return 0;
}

/* A batch that every shard handles on its own (ticks, drops): claimed when queued. */
static bool submit_kind(struct cs_pipeline *pl, enum pl_kind kind)
{
	struct pl_batch *b;

	pl_flush(pl);
	if (!(b = batch_new(pl, kind)))
		return false;
	b->claimed = b->routed = true;
	submit(pl, b);
	return true;
}

void pl_tick(struct cs_pipeline *pl)
{
	submit_kind(pl, PL_TICK);
}

void pl_drop_buckets(struct cs_pipeline *pl)
{
	if (submit_kind(pl, PL_DROP)) {
		pl_drain(pl);
		return;
	}
	pl_drain(pl);
	for (unsigned int i = 0; i < pl->n; i++)
		cs_buckets_flush(pl->a->shards[i]);
}

void pl_drain(struct cs_pipeline *pl)
{
	if (!pl)
		return;
	pl_flush(pl);
	pthread_mutex_lock(&pl->mu);
	while (pl->head && pl->w[0].started)
		reader_wait(pl);
	pthread_mutex_unlock(&pl->mu);
}

void pl_free(struct cs_pipeline *pl)
{
	struct pl_batch *b;

	if (!pl)
		return;
	pl_drain(pl);
	pthread_mutex_lock(&pl->mu);
	pl->stop = true;
	work_signal(pl);
	pthread_mutex_unlock(&pl->mu);
	for (unsigned int i = 0; i < pl->n; i++) {
		if (pl->w[i].started)
			pthread_join(pl->w[i].th, NULL);
		src_metrics_clear(&pl->w[i].m);
	}
	for (unsigned int i = 0; i < pl->n; i++) {
		while ((b = pl->w[i].give)) {
			pl->w[i].give = b->next;
			batch_free(pl, b);
		}
		trash_fini(&pl->w[i].trash);
		trash_fini(&pl->w[i].spare);
	}
	for (size_t i = 0; i < (size_t)pl->n * pl->n; i++)
		trash_fini(&pl->stages[i]);
	/* only when some thread never started: what it would have handled */
	while ((b = pl->head)) {
		pl->head = b->next;
		batch_free(pl, b);
	}
	batch_free(pl, pl->cur);
	while ((b = pl->pool)) {
		pl->pool = b->next;
		batch_free(pl, b);
	}
	pthread_mutex_destroy(&pl->mu);
	pthread_mutex_destroy(&pl->pool_mu);
	pthread_cond_destroy(&pl->work);
	pthread_cond_destroy(&pl->room);
	free(pl->shards);
	free(pl->w);
	free(pl->stages);
	free(pl);
}
