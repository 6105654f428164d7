// SPDX-License-Identifier: MIT
#include "agent/agent.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
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
#include "common/strmap.h"
#include "common/strv.h"
#include "common/ywalk.h"
#include "metrics/metrics.h"
#include "parser/parser.h"

#define NODE_SLOTS 64

/* A node's series for the current source, found by the node name's address. */
struct node_slot {
	const char *node;
	struct cs_metric_series *hits, *ok, *ko;
};

/* The detector series of the last line's source (lines come in runs per file). */
struct src_metrics {
	char *src, *module;
	struct cs_metric_series *hits, *cut, *parser, *ok, *ko, *time;
	struct node_slot nodes[NODE_SLOTS];
};

struct cs_agent {
	struct cs_parsers *parsers;
	struct cs_parsers *postoverflows;
	struct cs_buckets *buckets;
	struct acq *acq;
	bool replay;
	char **simulated; /* NULL-terminated scenario names */
	cs_agent_alert_fn on_alert;
	void *arg;
	struct cs_agent_stats st;
	struct src_metrics m;
};

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

static int count_alert(json_t *alerts, void *arg)
{
	struct cs_agent *a = arg;

	a->st.alerts += json_array_size(alerts);
	return a->on_alert ? a->on_alert(alerts, a->arg) : 0;
}

/*
 * Node hits: upstream counts every node an event enters, by Line.Src and
 * Line.Module. The node names are the parser's own strings (stable while it is
 * loaded), so their address finds the cached series without hashing.
 */
static int count_node(const char *stage, const char *node, const struct cs_event *evt, bool success,
		      void *arg)
{
	struct src_metrics *m = arg;
	struct node_slot *s = &m->nodes[((uintptr_t)node >> 4) % NODE_SLOTS];

	if (s->node != node) {
		const char *src = evt->line.src ? evt->line.src : "";
		const char *mod = evt->line.module ? evt->line.module : "";

		s->node = node;
		s->hits = cs_metric_get(CSM_NODE_HITS, src, mod, node);
		s->ok = cs_metric_get(CSM_NODE_OK, src, mod, node);
		s->ko = cs_metric_get(CSM_NODE_KO, src, mod, node);
	}
	cs_metric_add(s->hits, 1);
	cs_metric_add(success ? s->ok : s->ko, 1);
	return 0;
}

/* The series of the line's source: looked up again only when the source changes. */
static struct src_metrics *src_metrics(struct cs_agent *a, const struct acq_line *l)
{
	struct src_metrics *m = &a->m;
	bool journal = !strcmp(l->module, "journalctl");

	if (m->src && !strcmp(m->src, l->src) && !strcmp(m->module, l->module))
		return m;
	free(m->src);
	free(m->module);
	memset(m->nodes, 0, sizeof(m->nodes));
	m->src = strdup(l->src);
	m->module = strdup(l->module);
	if (!m->src || !m->module) {
		free(m->src);
		free(m->module);
		memset(m, 0, sizeof(*m));
		return m; /* NULL series: counting is skipped */
	}
	m->hits = cs_metric_get(journal ? CSM_JOURNAL_HITS : CSM_FILE_HITS, l->src, NULL, NULL);
	m->cut = cs_metric_get(CSM_LINES_CUT, l->src, NULL, NULL);
	m->parser = cs_metric_get(CSM_PARSER_HITS, l->src, l->module, NULL);
	m->ok = cs_metric_get(CSM_PARSER_OK, l->src, l->module, NULL);
	m->ko = cs_metric_get(CSM_PARSER_KO, l->src, l->module, NULL);
	m->time = cs_metric_get(CSM_PARSING_TIME, l->module, l->src, NULL);
	return m;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Pour one acquired line through the pipeline. Errors stay per line. */
static int on_line(const struct acq_line *l, void *arg)
{
	struct cs_agent *a = arg;
	struct cs_event *evt = NULL;
	struct src_metrics *m = src_metrics(a, l);
	uint64_t t0 = mono_ns();
	int err;

	a->st.lines++;
	cs_metric_add(m->hits, 1);
	if (l->truncated)
		cs_metric_add(m->cut, 1);
	cs_metric_add(m->parser, 1);
	if (cs_event_new(&evt))
		return -ENOMEM;
	err = cs_event_set_line(evt, l->raw, l->len, l->src, l->module, l->type ? l->type : "");
	for (size_t i = 0; !err && i < l->nlabels; i++)
		if (strcmp(l->labels[i].key, "type"))
			err = strmap_set(evt->line.labels, l->labels[i].key, l->labels[i].value);
	if (err)
		goto out;
	evt->expect_mode = l->timemachine ? CS_MODE_TIMEMACHINE : CS_MODE_LIVE;
	err = cs_parse(a->parsers, evt, count_node, m);
	cs_metric_observe_ns(m->time, mono_ns() - t0);
	if (err || !evt->process) {
		cs_metric_add(m->ko, 1);
		a->st.unparsed++;
		err = 0;
		goto out;
	}
	cs_metric_add(m->ok, 1);
	a->st.parsed++;
	if (evt->whitelisted) {
		a->st.whitelisted++;
		goto out;
	}
	a->st.poured++;
	err = cs_buckets_pour(a->buckets, evt);
	if (err)
		log_warn("pouring an event from %s: %s", l->src, strerror(-err));
	err = 0;
out:
	cs_event_free(evt);
	return err;
}

static int load_scenarios(struct cs_agent *a, const char *config_dir, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat sb;

	snprintf(dir, sizeof(dir), "%s/scenarios", config_dir);
	if (stat(dir, &sb))
		return 0; /* no scenario installed: parsing only */
	if (cs_buckets_load_dir(a->buckets, dir))
		return fail(err, errlen, -EINVAL, "%s", cs_buckets_last_error(a->buckets));
	return 0;
}

/* simulation.yaml: `simulation: on|off` and `exclusions: [...]` (spec 6.4). */
int cs_simulation_load(const char *path, char ***names, bool *global, char *err, size_t errlen)
{
	yaml_parser_t p;
	yaml_document_t doc;
	yaml_node_t *root;
	FILE *f;
	int rc = 0;
	size_t n = 0;

	*global = false;
	*names = NULL;
	if (!path)
		return 0;
	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	if (!yaml_parser_load(&p, &doc)) {
		rc = fail(err, errlen, -EINVAL, "%s:%zu: %s", path, p.problem_mark.line + 1,
			  p.problem ? p.problem : "YAML error");
		goto out_parser;
	}
	root = yaml_document_get_root_node(&doc);
	if (root && root->type == YAML_MAPPING_NODE) {
		struct ywalk w = { .doc = &doc, .file = path };
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
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&p);
	fclose(f);
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
			struct dirent **ents = NULL;
			int n = scandir(o->acquis_dir, &ents, NULL, alphasort);
			char path[PATH_MAX + 256];

			for (int i = 0; i < n; i++) {
				size_t len = strlen(ents[i]->d_name);

				if (!rc && len > 5 && !strcmp(ents[i]->d_name + len - 5, ".yaml")) {
					snprintf(path, sizeof(path), "%s/%s", o->acquis_dir, ents[i]->d_name);
					rc = acq_config_load_file(&cfg, path, err, errlen);
				}
				free(ents[i]);
			}
			free(ents);
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
	int rc;

	a = calloc(1, sizeof(*a));
	if (!a)
		return fail(err, errlen, -ENOMEM, "out of memory");
	a->replay = o->dsn != NULL;
	a->on_alert = o->on_alert;
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
	snprintf(dir, sizeof(dir), "%s/parsers", o->config_dir);
	rc = cs_parsers_load_dir(a->parsers, dir);
	if (!rc && !cs_parsers_nstages(a->parsers))
		rc = -ENOENT, snprintf(err, errlen, "%s: no parser installed", dir);
	else if (rc)
		fail(err, errlen, rc, "%s", cs_parsers_last_error(a->parsers));
	if (rc || (rc = cs_parsers_ready(a->parsers)))
		goto fail;

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
	bo.on_alert = count_alert;
	bo.arg = a;
	bo.max_buckets = o->max_buckets;
	rc = cs_buckets_new(&bo, &a->buckets);
	if (rc) {
		fail(err, errlen, rc, "scenarios: %s", strerror(-rc));
		goto fail;
	}
	rc = load_scenarios(a, o->config_dir, err, errlen);
	if (rc)
		goto fail;
	rc = load_acquisition(a, o, err, errlen);
	if (rc)
		goto fail;
	log_info("detector ready: %zu parser stages, %zu scenarios, %s", cs_parsers_nstages(a->parsers),
		 cs_buckets_nscenarios(a->buckets), a->replay ? "replay" : "live");
	expr_runtime_put(po.runtime); /* the parsers and scenarios hold theirs */
	*out = a;
	return 0;
fail:
	expr_runtime_put(po.runtime);
	cs_agent_free(a);
	return rc;
}

void cs_agent_free(struct cs_agent *a)
{
	if (!a)
		return;
	acq_free(a->acq);
	cs_buckets_free(a->buckets);
	cs_parsers_free(a->postoverflows);
	cs_parsers_free(a->parsers);
	for (size_t i = 0; a->simulated && a->simulated[i]; i++)
		free(a->simulated[i]);
	free(a->simulated);
	free(a->m.src);
	free(a->m.module);
	free(a);
}

int cs_agent_fd(const struct cs_agent *a)
{
	return acq_fd(a->acq);
}

int cs_agent_process(struct cs_agent *a, int budget)
{
	return acq_process(a->acq, budget);
}

void cs_agent_tick(struct cs_agent *a)
{
	cs_buckets_tick(a->buckets);
}

bool cs_agent_done(const struct cs_agent *a)
{
	return acq_done(a->acq);
}

void cs_agent_finish(struct cs_agent *a)
{
	cs_buckets_flush(a->buckets);
}

void cs_agent_get_stats(const struct cs_agent *a, struct cs_agent_stats *st)
{
	struct cs_bucket_stats bs;

	*st = a->st;
	cs_buckets_get_stats(a->buckets, &bs);
	st->buckets_live = bs.live;
	st->buckets_evicted = bs.evicted;
}

void cs_agent_take_acquisition(struct cs_agent *to, struct cs_agent *from)
{
	struct acq *tmp = to->acq;

	/* The acquisition's callback argument is the agent: rebinding needs the acq to
	 * know about it, so swap the agents' pipelines instead of the acq objects. */
	to->acq = from->acq;
	from->acq = tmp;
	to->st = from->st; /* the counters are the daemon's, not one configuration's */
	acq_set_callback(to->acq, on_line, to);
	acq_set_callback(from->acq, on_line, from);
}
