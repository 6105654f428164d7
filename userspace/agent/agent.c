// SPDX-License-Identifier: MIT
#include "agent/agent.h"
#include "agent/agent_int.h"
#include "agent/pipeline.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <jansson.h>
#include <yaml.h>

#include "acquisition/acq.h"
#include "bucket/bucket.h"
#include "common/log.h"
#include "common/readfile.h"
#include "common/strbuf.h"
#include "common/strmap.h"
#include "common/strv.h"
#include "common/ywalk.h"
#include "hub/hub.h"
#include "metrics/metrics.h"
#include "parser/parser.h"

static int fail(char *err, size_t len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return code;
}

void agent_alert_text(struct cs_agent *a, const char *text, size_t len, size_t nalerts)
{
	a->st.alerts += nalerts;
	if (text)
		a->on_text(text, len, nalerts, a->arg);
	else
		log_warn("%zu alert(s) lost: out of memory", nalerts);
}

char *agent_render_lines(const struct cs_event *ovf, size_t *len)
{
	struct sbuf sb = { 0 };

	cs_overflow_render_lines(ovf, &sb);
	return sb_take(&sb, len);
}

/* Alerts as lines, without workers. */
static int agent_alert_event(const struct cs_event *ovf, void *arg)
{
	struct cs_agent *a = arg;
	size_t len = 0;
	char *text = agent_render_lines(ovf, &len);

	agent_alert_text(a, text, len, cs_overflow_nsources(ovf));
	free(text);
	return 0;
}

int agent_alert(json_t *alerts, void *arg)
{
	struct cs_agent *a = arg;
	size_t len = 0;
	char *text;

	if (a->render) {
		text = a->render(alerts, &len, a->arg);
		agent_alert_text(a, text, len, json_array_size(alerts));
		free(text);
		return 0;
	}
	a->st.alerts += json_array_size(alerts);
	return a->on_alert ? a->on_alert(alerts, a->arg) : 0;
}

/*
 * Node hits: upstream counts every node an event enters, by Line.Src and
 * Line.Module. The node names are the parser's own strings (stable while it is
 * loaded), so their address finds the cached series without hashing.
 */
static void slot_flush(struct node_slot *s)
{
	if (s->nok + s->nko)
		cs_metric_add(s->hits, (int64_t)s->nok + s->nko);
	if (s->nok)
		cs_metric_add(s->ok, s->nok);
	if (s->nko)
		cs_metric_add(s->ko, s->nko);
	s->nok = s->nko = 0;
}

#define NODE_PROBES 4

static int count_node(const char *stage, const char *node, const struct cs_event *evt, bool success,
		      void *arg)
{
	struct src_metrics *m = arg;
	/* mixed: names allocated 32 or 48 bytes apart left half the slots unused and the
	 * sshd nodes evicting each other (three series lookups per node and line) */
	uint64_t h = (uint64_t)(uintptr_t)node * 0x9e3779b97f4a7c15ULL;
	size_t i = (h >> 32) % NODE_SLOTS;
	struct node_slot *s = &m->nodes[i];

	/*
	 * The next few slots too: two of the ~8 nodes an sshd line enters shared a
	 * slot and took it from each other on every line (six series lookups per line).
	 */
	for (size_t k = 0; k < NODE_PROBES && s->node != node; k++) {
		struct node_slot *c = &m->nodes[(i + k) % NODE_SLOTS];

		if (c->node == node || !c->node) {
			s = c;
			break;
		}
	}
	if (s->node != node) {
		const char *src = evt->line.src ? evt->line.src : "";
		const char *mod = evt->line.module ? evt->line.module : "";

		slot_flush(s);
		s->node = node;
		s->hits = cs_metric_get(CSM_NODE_HITS, src, mod, node);
		s->ok = cs_metric_get(CSM_NODE_OK, src, mod, node);
		s->ko = cs_metric_get(CSM_NODE_KO, src, mod, node);
	}
	if (m->batched) {
		s->nok += success;
		s->nko += !success;
		return 0;
	}
	cs_metric_add(s->hits, 1);
	cs_metric_add(success ? s->ok : s->ko, 1);
	return 0;
}

void src_metrics_flush(struct src_metrics *m)
{
	for (size_t i = 0; i < NODE_SLOTS; i++)
		slot_flush(&m->nodes[i]);
	if (m->nok)
		cs_metric_add(m->ok, m->nok);
	if (m->nko)
		cs_metric_add(m->ko, m->nko);
	m->nok = m->nko = 0;
	cs_metric_hist_flush(m->parser_time, &m->parse_time);
}

void src_metrics_clear(struct src_metrics *m)
{
	bool batched = m->batched;

	src_metrics_flush(m);
	free(m->src);
	free(m->module);
	memset(m, 0, sizeof(*m));
	m->batched = batched;
}

/* The parse series of the event's source: looked up again only when the source changes. */
static struct src_metrics *src_metrics(struct src_metrics *m, const struct cs_event *evt)
{
	const char *src = evt->line.src ? evt->line.src : "";
	const char *mod = evt->line.module ? evt->line.module : "";

	if (m->src && !strcmp(m->src, src) && !strcmp(m->module, mod))
		return m;
	src_metrics_clear(m);
	m->src = strdup(src);
	m->module = strdup(mod);
	if (!m->src || !m->module) {
		src_metrics_clear(m);
		return m; /* NULL series: counting is skipped */
	}
	m->ok = cs_metric_get(CSM_PARSER_OK, src, mod, NULL);
	m->ko = cs_metric_get(CSM_PARSER_KO, src, mod, NULL);
	m->parser_time = cs_metric_get(CSM_PARSING_TIME, mod, src, NULL);
	return m;
}

/* The acquisition series of the line's source (the reading thread's). */
static void count_line(struct cs_agent *a, const struct acq_line *l)
{
	if (!a->acq_src || strcmp(a->acq_src, l->src)) {
		bool journal = !strcmp(l->module, "journalctl");

		free(a->acq_src);
		a->acq_src = strdup(l->src);
		a->acq_hits = cs_metric_get(journal ? CSM_JOURNAL_HITS : CSM_FILE_HITS, l->src, NULL,
					    NULL);
		a->acq_cut = cs_metric_get(CSM_LINES_CUT, l->src, NULL, NULL);
		a->acq_parser = cs_metric_get(CSM_PARSER_HITS, l->src, l->module, NULL);
	}
	a->st.lines++;
	cs_metric_add(a->acq_hits, 1);
	if (l->truncated)
		cs_metric_add(a->acq_cut, 1);
	cs_metric_add(a->acq_parser, 1);
}

uint64_t agent_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool agent_parse(struct cs_agent *a, struct src_metrics *m, struct cs_event *evt,
		 struct cs_agent_stats *st, uint64_t *clock)
{
	uint64_t t0 = *clock ? *clock : agent_mono_ns();
	int err;

	m = src_metrics(m, evt);
	err = cs_parse(a->parsers, evt, count_node, m);
	*clock = agent_mono_ns();
	if (m->batched)
		cs_metric_hist_observe(&m->parse_time, *clock - t0);
	else
		cs_metric_observe_ns(m->parser_time, *clock - t0);
	if (err || !evt->process) {
		if (m->batched)
			m->nko++;
		else
			cs_metric_add(m->ko, 1);
		st->unparsed++;
		return false;
	}
	if (m->batched)
		m->nok++;
	else
		cs_metric_add(m->ok, 1);
	st->parsed++;
	if (evt->whitelisted) {
		st->whitelisted++;
		return false;
	}
	st->poured++;
	return true;
}

int agent_event(const char *raw, size_t len, const char *src, const char *module, const char *type,
		const struct acq_label *labels, size_t nlabels, bool timemachine,
		struct cs_event **out)
{
	struct cs_event *evt = NULL;
	int err;

	*out = NULL;
	if (cs_event_new(&evt))
		return -ENOMEM;
	err = cs_event_set_line(evt, raw, len, src, module, type ? type : "");
	for (size_t i = 0; !err && i < nlabels; i++)
		if (strcmp(labels[i].key, "type"))
			err = strmap_set(evt->line.labels, labels[i].key, labels[i].value);
	if (err) {
		cs_event_free(evt);
		return err;
	}
	evt->expect_mode = timemachine ? CS_MODE_TIMEMACHINE : CS_MODE_LIVE;
	*out = evt;
	return 0;
}

/* One acquired line: parsed and poured here, or handed to the workers as it is. */
static int on_line(const struct acq_line *l, void *arg)
{
	struct cs_agent *a = arg;
	struct cs_event *evt = NULL;
	int err;

	count_line(a, l);
	if (a->pl)
		return pl_add_line(a->pl, l);
	if (agent_event(l->raw, l->len, l->src, l->module, l->type, l->labels, l->nlabels,
			l->timemachine, &evt))
		return 0; /* errors stay per line */
	if (agent_parse(a, &a->m, evt, &a->st, &(uint64_t){ 0 })) {
		err = cs_buckets_pour(a->shards[0], evt);
		if (err)
			log_warn("pouring an event from %s: %s", l->src, strerror(-err));
	}
	cs_event_free(evt);
	return 0;
}

/*
 * A scenario's hub version, as CrowdSec 1.4.6's hub sync gives it (the
 * detector stamps it on alerts; the crowd counts only versioned scenarios): a
 * file installed from the hub (a symlink into it) has the version whose digest
 * is the file's sha256, the highest when several are ("?" when none: tainted);
 * a local file has none.
 */
static const char *hub_version_of(const char *path, void *index)
{
	json_t *item, *v;
	const char *name, *ver, *best = NULL;
	char hash[65];
	struct stat st;

	if (lstat(path, &st) || !S_ISLNK(st.st_mode) || hub_sha256_file(path, hash))
		return NULL;
	json_object_foreach(json_object_get(index, "scenarios"), name, item) {
		json_object_foreach(json_object_get(item, "versions"), ver, v) {
			const char *digest = json_string_value(json_object_get(v, "digest"));
			int cmp = 1;

			if (digest && !strcmp(digest, hash) &&
			    (!best || (!hub_version_cmp(ver, best, &cmp) && cmp > 0)))
				best = ver;
		}
	}
	return best ? best : "?";
}

static int load_scenarios(struct cs_buckets *b, const char *config_dir, const char *hub_index,
			  char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat sb;
	json_t *index = NULL;
	int rc;

	snprintf(dir, sizeof(dir), "%s/scenarios", config_dir);
	if (stat(dir, &sb))
		return 0; /* no scenario installed: parsing only */
	/* a local, trusted file (cscli hub update writes it); without it, no versions */
	if (hub_index && !(index = json_load_file(hub_index, 0, NULL)))
		log_debug("%s: no hub index: scenarios carry no version", hub_index);
	rc = cs_buckets_load_dir_versioned(b, dir, index ? hub_version_of : NULL, index);
	json_decref(index);
	if (rc)
		return fail(err, errlen, -EINVAL, "%s", cs_buckets_last_error(b));
	return 0;
}

/*
 * One load of the start-up run on its own thread (the parsers, a shard's
 * scenarios: each compiles its patterns and expressions, a few ms, and they
 * share nothing but the data files' runtime, whose loads are locked), so the
 * loads overlap on the cores the workers are about to use.
 */
struct side_load {
	pthread_t th;
	bool started;
	int (*fn)(struct side_load *l);
	struct cs_agent *a;
	const struct cs_agent_opts *o;
	unsigned int shard;
	int rc;
	char err[PATH_MAX + 256];
};

static void *side_load_main(void *arg)
{
	struct side_load *l = arg;

	l->rc = l->fn(l);
	return NULL;
}

/* Runs l->fn on a thread, or here when no thread can be made. */
static void side_load_start(struct side_load *l)
{
	l->started = !pthread_create(&l->th, NULL, side_load_main, l);
	if (!l->started)
		side_load_main(l);
}

static void side_load_wait(struct side_load *l)
{
	if (l->started)
		pthread_join(l->th, NULL);
	l->started = false;
}

/* l's result; its error text into err. */
static int side_load_join(struct side_load *l, char *err, size_t errlen)
{
	side_load_wait(l);
	if (l->rc)
		snprintf(err, errlen, "%s", l->err);
	return l->rc;
}

static int load_shard(struct side_load *l)
{
	return load_scenarios(l->a->shards[l->shard], l->o->config_dir, l->o->hub_index_path,
			      l->err, sizeof(l->err));
}

static int load_parsers(struct side_load *l)
{
	struct cs_agent *a = l->a;
	char dir[PATH_MAX];
	int rc;

	snprintf(dir, sizeof(dir), "%s/parsers", l->o->config_dir);
	rc = cs_parsers_load_dir(a->parsers, dir);
	if (!rc && !cs_parsers_nstages(a->parsers))
		rc = -ENOENT, snprintf(l->err, sizeof(l->err), "%s: no parser installed", dir);
	else if (rc)
		fail(l->err, sizeof(l->err), rc, "%s", cs_parsers_last_error(a->parsers));
	return rc ? rc : cs_parsers_ready(a->parsers);
}

/*
 * The bucket shards: with workers, one engine per worker, each loaded with the
 * same scenarios, the limits shared out between them; shards past the first
 * load on their own threads.
 */
static int make_shards(struct cs_agent *a, const struct cs_agent_opts *o,
		       struct cs_bucket_opts *bo, char *err, size_t errlen)
{
	unsigned int n = o->workers ? o->workers : 1;
	struct side_load *loads;
	int rc = 0;

	if (o->workers && (rc = pl_new(a, n, &a->pl)))
		return fail(err, errlen, rc, "workers: %s", strerror(-rc));
	a->shards = calloc(n, sizeof(*a->shards));
	if (!a->shards)
		return fail(err, errlen, -ENOMEM, "out of memory");
	bo->max_buckets = (o->max_buckets ? o->max_buckets : CS_BUCKET_DEFAULT_MAX_BUCKETS) / n;
	bo->max_events = CS_BUCKET_DEFAULT_MAX_EVENTS / n;
	bo->max_queue_bytes = CS_BUCKET_DEFAULT_MAX_QUEUE_BYTES / n;
	for (unsigned int i = 0; i < n && !rc; i++) {
		if (a->pl) {
			bo->on_alert = pl_shard_alert;
			bo->on_alert_event = a->render_lines ? pl_shard_alert_event : NULL;
			bo->on_reprocess = pl_shard_reprocess;
			bo->arg = pl_shard_arg(a->pl, i);
		}
		rc = cs_buckets_new(bo, &a->shards[i]);
		if (rc) {
			fail(err, errlen, rc, "scenarios: %s", strerror(-rc));
			break;
		}
		a->nshards++;
	}
	if (rc)
		return rc;
	if (!(loads = calloc(n, sizeof(*loads))))
		return fail(err, errlen, -ENOMEM, "out of memory");
	for (unsigned int i = n; i-- > 0;) {
		loads[i] = (struct side_load){ .fn = load_shard, .a = a, .o = o, .shard = i };
		if (i)
			side_load_start(&loads[i]);
		else
			side_load_main(&loads[i]);
	}
	for (unsigned int i = 0; i < n; i++)
		side_load_wait(&loads[i]);
	/* the first shard's error, as when they loaded one after the other */
	for (unsigned int i = 0; i < n && !rc; i++)
		rc = side_load_join(&loads[i], err, errlen);
	free(loads);
	return rc;
}

/* simulation.yaml: `simulation: on|off` and `exclusions: [...]` (spec 6.4). */
#define SIMULATION_MAX_BYTES (16u << 20)

int cs_simulation_load(const char *path, char ***names, bool *global, char *err, size_t errlen)
{
	struct ywalk w = { .file = path, .err = err, .errlen = errlen };
	struct ywalk_stream ys;
	yaml_node_t *root;
	char *text;
	size_t len, n = 0;
	int rc;

	*global = false;
	*names = NULL;
	if (!path)
		return 0;
	rc = cs_read_file(path, SIMULATION_MAX_BYTES, &text, &len);
	if (rc)
		return rc == -ENOENT ? 0 : fail(err, errlen, rc, "%s: %s", path, strerror(-rc));
	rc = ywalk_stream_open(&ys, text, len);
	if (rc) {
		free(text);
		return fail(err, errlen, rc, "%s: %s", path, strerror(-rc));
	}
	rc = ywalk_next(&w, &ys, &root);
	if (!rc && root && root->type != YAML_MAPPING_NODE && !ywalk_is_null(root))
		rc = ywalk_fail(&w, root, "not a mapping with simulation and exclusions");
	if (!rc && root && root->type == YAML_MAPPING_NODE) {
		const char *key;
		yaml_node_t *v, *e;

		YWALK_PAIRS(&w, root, key, v) {
			if (key && !strcmp(key, "simulation") && ywalk_scalar(v)) {
				*global = ywalk_bool_value(v) == 1;
			} else if (key && !strcmp(key, "exclusions") && v->type == YAML_SEQUENCE_NODE) {
				/* a repeated key: the last list wins (the first one was overrun) */
				strv_free(*names, n);
				n = 0;
				*names = calloc(ywalk_count(v) + 1, sizeof(char *));
				if (!*names) {
					rc = -ENOMEM;
					break;
				}
				YWALK_ITEMS(&w, v, e)
					if (ywalk_scalar(e) && ((*names)[n] = strdup(ywalk_scalar(e))))
						n++;
			}
		}
	}
	ywalk_stream_close(&ys);
	free(text);
	return rc;
}

static int load_acquisition(struct cs_agent *a, const struct cs_agent_opts *o, char *err,
			    size_t errlen)
{
	struct acq_config cfg = { 0 };
	int rc;

	if (o->dsn) {
		rc = acq_config_from_dsn(&cfg, o->dsn, o->type, o->labels, o->nlabels, err, errlen);
	} else {
		rc = o->acquis_path ? acq_config_load_file(&cfg, o->acquis_path, err, errlen) : 0;
		if (!rc && o->acquis_dir) {
			/* *.yaml and *.yml, as upstream's acquisition_dir; a directory
			 * that cannot be read adds nothing */
			char **names = NULL, path[PATH_MAX + 256];
			size_t n = 0;

			if (strv_from_dir(o->acquis_dir, cs_keep_yaml_name, NULL, &names, &n) == -ENOMEM)
				rc = fail(err, errlen, -ENOMEM, "%s: out of memory", o->acquis_dir);
			for (size_t i = 0; !rc && i < n; i++) {
				snprintf(path, sizeof(path), "%s/%s", o->acquis_dir, names[i]);
				rc = acq_config_load_file(&cfg, path, err, errlen);
			}
			strv_free(names, n);
		}
		if (!rc && !cfg.nsrcs)
			rc = fail(err, errlen, -EINVAL, "%s: no datasource configured",
				  o->acquis_path ? o->acquis_path : "acquisition");
	}
	if (!rc) {
		rc = acq_new(&cfg, on_line, a, &a->acq);
		if (rc)
			fail(err, errlen, rc, "acquisition: %s", strerror(-rc));
	}
	acq_config_free(&cfg);
	return rc;
}

int cs_agent_new(const struct cs_agent_opts *o, struct cs_agent **out, char *err, size_t errlen)
{
	char patterns[PATH_MAX], dir[PATH_MAX];
	struct cs_parser_opts po = { .data_dir = o->data_dir };
	struct cs_bucket_opts bo = { 0 };
	struct cs_agent *a;
	bool sim_global = false;
	struct side_load parsers_load = { 0 };
	int rc;

	a = calloc(1, sizeof(*a));
	if (!a)
		return fail(err, errlen, -ENOMEM, "out of memory");
	a->replay = o->dsn != NULL;
	a->on_alert = o->on_alert;
	if ((o->render || o->render_lines) && o->on_text) {
		a->render = o->render_lines ? NULL : o->render;
		a->render_lines = o->render_lines;
		a->on_text = o->on_text;
	}
	a->arg = o->arg;
	snprintf(patterns, sizeof(patterns), "%s", o->patterns_dir ? o->patterns_dir : "");
	if (!o->patterns_dir)
		snprintf(patterns, sizeof(patterns), "%s/patterns", o->config_dir);
	po.patterns_dir = patterns;
	/* one runtime (data files) for the parsers, postoverflows and scenarios of this detector */
	rc = expr_runtime_new(o->data_dir, &po.runtime);
	if (rc) {
		fail(err, errlen, rc, "out of memory");
		goto fail;
	}
	bo.runtime = po.runtime;

	rc = cs_parsers_new(&po, &a->parsers);
	if (rc) {
		fail(err, errlen, rc, "parsers: %s", strerror(-rc));
		goto fail;
	}
	/* the parsers load beside the postoverflows and scenarios; their error comes first */
	parsers_load = (struct side_load){ .fn = load_parsers, .a = a, .o = o };
	side_load_start(&parsers_load);

	snprintf(dir, sizeof(dir), "%s/postoverflows", o->config_dir);
	rc = cs_parsers_new(&po, &a->postoverflows);
	if (!rc) {
		struct stat sb;

		if (stat(dir, &sb) == 0 && (rc = cs_parsers_load_dir(a->postoverflows, dir)))
			fail(err, errlen, rc, "%s", cs_parsers_last_error(a->postoverflows));
		if (!rc)
			rc = cs_parsers_ready(a->postoverflows);
	}
	if (rc)
		goto fail;

	rc = cs_simulation_load(o->simulation_path, &a->simulated, &sim_global, err, errlen);
	if (rc)
		goto fail;
	bo.mode = a->replay ? CS_BUCKET_REPLAY : CS_BUCKET_LIVE;
	bo.data_dir = o->data_dir;
	bo.postoverflows = cs_parsers_nstages(a->postoverflows) ? a->postoverflows : NULL;
	bo.simulated = (const char *const *)a->simulated;
	bo.simulation_default = sim_global;
	bo.on_alert = agent_alert;
	if (a->render_lines)
		bo.on_alert_event = agent_alert_event;
	bo.arg = a;
	rc = make_shards(a, o, &bo, err, errlen);
	if (side_load_join(&parsers_load, err, errlen))
		rc = parsers_load.rc;
	if (rc)
		goto fail;
	if (a->pl && (rc = pl_run(a->pl))) {
		fail(err, errlen, rc, "workers: %s", strerror(-rc));
		goto fail;
	}
	rc = load_acquisition(a, o, err, errlen);
	if (rc)
		goto fail;
	log_info("detector ready: %zu parser stages, %zu scenarios, %s, %u worker(s)",
		 cs_parsers_nstages(a->parsers), cs_buckets_nscenarios(a->shards[0]),
		 a->replay ? "replay" : "live", o->workers);
	expr_runtime_put(po.runtime); /* the parsers and scenarios hold theirs */
	*out = a;
	return 0;
fail:
	if (side_load_join(&parsers_load, err, errlen))
		rc = parsers_load.rc; /* the parsers' error first, as when they loaded first */
	expr_runtime_put(po.runtime);
	cs_agent_free(a);
	return rc;
}

void cs_agent_free(struct cs_agent *a)
{
	if (!a)
		return;
	pl_free(a->pl); /* the workers stop before what they use goes */
	acq_free(a->acq);
	for (unsigned int i = 0; i < a->nshards; i++)
		cs_buckets_free(a->shards[i]);
	free(a->shards);
	cs_parsers_free(a->postoverflows);
	cs_parsers_free(a->parsers);
	for (size_t i = 0; a->simulated && a->simulated[i]; i++)
		free(a->simulated[i]);
	free(a->simulated);
	src_metrics_clear(&a->m);
	free(a->acq_src);
	free(a);
}

int cs_agent_fd(const struct cs_agent *a)
{
	return acq_fd(a->acq);
}

int cs_agent_process(struct cs_agent *a, int budget)
{
	int n = acq_process(a->acq, budget);

	if (a->pl)
		pl_flush(a->pl); /* live: no line waits for a batch to fill */
	return n;
}

void cs_agent_tick(struct cs_agent *a)
{
	if (a->pl)
		pl_tick(a->pl);
	else
		cs_buckets_tick(a->shards[0]);
}

bool cs_agent_done(const struct cs_agent *a)
{
	return acq_done(a->acq);
}

void cs_agent_finish(struct cs_agent *a)
{
	if (a->pl) {
		pl_drop_buckets(a->pl);
		return;
	}
	cs_buckets_flush(a->shards[0]);
}

void cs_agent_get_stats(const struct cs_agent *a, struct cs_agent_stats *st)
{
	struct cs_bucket_stats bs;

	if (a->pl)
		pl_drain(a->pl); /* the counters of batches in flight, and no shard still pouring */
	*st = a->st;
	st->buckets_live = st->buckets_evicted = 0;
	for (unsigned int i = 0; i < a->nshards; i++) {
		cs_buckets_get_stats(a->shards[i], &bs);
		st->buckets_live += bs.live;
		st->buckets_evicted += bs.evicted;
	}
}

void cs_agent_take_acquisition(struct cs_agent *to, struct cs_agent *from)
{
	struct acq *tmp = to->acq;

	/* The acquisition's callback argument is the agent: rebinding needs the acq to
	 * know about it, so swap the agents' pipelines instead of the acq objects. */
	if (from->pl)
		pl_drain(from->pl); /* its batches in flight count in the stats carried over */
	to->acq = from->acq;
	from->acq = tmp;
	to->st = from->st; /* the counters are the daemon's, not one configuration's */
	acq_set_callback(to->acq, on_line, to);
	acq_set_callback(from->acq, on_line, from);
}
