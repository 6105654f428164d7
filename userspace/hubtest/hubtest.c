// SPDX-License-Identifier: MIT
#include "hubtest/hubtest_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "common/log.h"
#include "common/readfile.h"
#include "common/strv.h"
#include "common/vec.h"
#include "common/ywalk.h"
#include "common/strbuf.h"
#include "common/strmap.h"
#include "expr/expr.h"
#include "parser/event.h"
#include "parser/parser.h"

/* snprintf for paths; a path that does not fit is cut (and then not found). */
static int pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* ---- test configuration (config.yaml, spec 11.2) ------------------------------------------ */

struct ht_config {
	char **parsers;
	size_t nparsers;
	char **scenarios;
	size_t nscenarios;
	char **postoverflows;
	size_t npostoverflows;
	char *log_file;
	char *log_type;
	struct strmap *labels;
	bool ignore_parsers;
	char *overrides; /* override_statics re-emitted as a parser document, or NULL */
};

static void config_free(struct ht_config *c)
{
	strv_free(c->parsers, c->nparsers);
	strv_free(c->scenarios, c->nscenarios);
	strv_free(c->postoverflows, c->npostoverflows);
	free(c->log_file);
	free(c->log_type);
	strmap_free(c->labels);
	free(c->overrides);
	memset(c, 0, sizeof(*c));
}

static int emit_write(void *data, unsigned char *buf, size_t size)
{
	struct sbuf *b = data;

	sb_putn(b, buf, size);
	return !b->err;
}

/* Copy a node of the config document into the emitter (for override_statics). */
static int emit_node(yaml_emitter_t *em, const struct ywalk *w, const yaml_node_t *n)
{
	yaml_node_t *k, *v;
	yaml_event_t ev;

	switch (n->type) {
	case YAML_SCALAR_NODE:
		yaml_scalar_event_initialize(&ev, NULL, NULL, n->data.scalar.value,
					     (int)n->data.scalar.length, 1, 1, n->data.scalar.style);
		return yaml_emitter_emit(em, &ev) ? 0 : -EINVAL;
	case YAML_SEQUENCE_NODE:
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_SEQUENCE_STYLE);
		if (!yaml_emitter_emit(em, &ev))
			return -EINVAL;
		YWALK_ITEMS(w, n, v)
			if (emit_node(em, w, v))
				return -EINVAL;
		yaml_sequence_end_event_initialize(&ev);
		return yaml_emitter_emit(em, &ev) ? 0 : -EINVAL;
	case YAML_MAPPING_NODE:
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_MAPPING_STYLE);
		if (!yaml_emitter_emit(em, &ev))
			return -EINVAL;
		YWALK_PAIR_NODES(w, n, k, v)
			if (emit_node(em, w, k) || emit_node(em, w, v))
				return -EINVAL;
		yaml_mapping_end_event_initialize(&ev);
		return yaml_emitter_emit(em, &ev) ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

static int emit_scalar(yaml_emitter_t *em, const char *s)
{
	yaml_event_t ev;

	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
				     YAML_ANY_SCALAR_STYLE);
	return yaml_emitter_emit(em, &ev) ? 0 : -EINVAL;
}

/*
 * hubtest writes override_statics as an extra s00-raw file holding one node
 * {name: overrides, filter: "1==1", statics: [...]}; rebuild that document.
 */
static int build_overrides(const struct ywalk *w, yaml_node_t *statics, char **out)
{
	struct sbuf b = { 0 };
	yaml_emitter_t em;
	yaml_event_t ev;
	int err = -EINVAL;

	if (!yaml_emitter_initialize(&em))
		return -ENOMEM;
	yaml_emitter_set_output(&em, emit_write, &b);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if (!yaml_emitter_emit(&em, &ev))
		goto out;
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	if (!yaml_emitter_emit(&em, &ev))
		goto out;
	yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
	if (!yaml_emitter_emit(&em, &ev))
		goto out;
	if (emit_scalar(&em, "name") || emit_scalar(&em, "overrides") ||
	    emit_scalar(&em, "filter") || emit_scalar(&em, "1==1") || emit_scalar(&em, "statics") ||
	    emit_node(&em, w, statics))
		goto out;
	yaml_mapping_end_event_initialize(&ev);
	if (!yaml_emitter_emit(&em, &ev))
		goto out;
	yaml_document_end_event_initialize(&ev, 1);
	if (!yaml_emitter_emit(&em, &ev))
		goto out;
	yaml_stream_end_event_initialize(&ev);
	if (!yaml_emitter_emit(&em, &ev))
		goto out;
	*out = sb_take(&b, NULL);
	err = *out ? 0 : -ENOMEM;
out:
	yaml_emitter_delete(&em);
	sb_free(&b);
	return err;
}

/* A list of item names; `- ""` entries mean "none" and are dropped (the order kept). */
static int load_names(struct ywalk *w, yaml_node_t *seq, const char *key, char ***v, size_t *n)
{
	size_t kept = 0;
	int err = ywalk_strv(w, seq, key, v, n);

	for (size_t i = 0; i < *n; i++) {
		if (*(*v)[i])
			(*v)[kept++] = (*v)[i];
		else
			free((*v)[i]);
	}
	*n = kept;
	return err;
}

/* The string labels of the mapping map (others are not the replay's business). */
static int load_labels(struct ywalk *w, yaml_node_t *map, struct strmap *labels)
{
	yaml_node_t *v;
	const char *k;
	int err = 0;

	YWALK_PAIRS(w, map, k, v) {
		if (k && ywalk_scalar(v))
			err = strmap_set(labels, k, ywalk_scalar(v));
		if (err)
			break;
	}
	return err;
}

/* a test's config.yaml names a few files: refuse what cannot be one */
#define HT_CONFIG_MAX_BYTES (1u << 20)

static int config_load(const char *path, struct ht_config *c, char *why, size_t whylen)
{
	struct ywalk w = { .file = path, .err = why, .errlen = whylen };
	struct ywalk_stream ys;
	yaml_node_t *root, *v;
	const char *k;
	char *text;
	size_t len;
	int err;

	memset(c, 0, sizeof(*c));
	err = cs_read_file(path, HT_CONFIG_MAX_BYTES, &text, &len);
	if (err) {
		snprintf(why, whylen, "%s: %s", path, strerror(-err));
		return err;
	}
	c->labels = strmap_new();
	if (!c->labels || ywalk_stream_open(&ys, text, len)) {
		snprintf(why, whylen, "%s: %s", path, strerror(ENOMEM));
		strmap_free(c->labels);
		free(text);
		return -ENOMEM;
	}
	err = ywalk_next(&w, &ys, &root);
	if (err)
		goto out;
	if (!root || root->type != YAML_MAPPING_NODE) {
		snprintf(why, whylen, "%s: not a mapping", path);
		err = -EINVAL;
		goto out;
	}
	YWALK_PAIRS(&w, root, k, v) {
		if (!k || !v)
			continue;
		if (!strcmp(k, "parsers")) {
			err = load_names(&w, v, k, &c->parsers, &c->nparsers);
		} else if (!strcmp(k, "scenarios")) {
			err = load_names(&w, v, k, &c->scenarios, &c->nscenarios);
		} else if (!strcmp(k, "postoverflows")) {
			err = load_names(&w, v, k, &c->postoverflows, &c->npostoverflows);
		} else if (!strcmp(k, "log_file")) {
			err = ywalk_str(&w, v, k, &c->log_file);
		} else if (!strcmp(k, "log_type")) {
			err = ywalk_str(&w, v, k, &c->log_type);
		} else if (!strcmp(k, "ignore_parsers")) {
			err = ywalk_bool(&w, v, k, &c->ignore_parsers);
		} else if (!strcmp(k, "labels") && v->type == YAML_MAPPING_NODE) {
			err = load_labels(&w, v, c->labels);
		} else if (!strcmp(k, "override_statics") && ywalk_count(v)) {
			err = build_overrides(&w, v, &c->overrides);
			if (err)
				snprintf(why, whylen, "%s: cannot rebuild override_statics", path);
		}
		if (err)
			break;
	}
	if (!err && (!c->log_file || !c->log_type)) {
		snprintf(why, whylen, "%s: log_file and log_type are required", path);
		err = -EINVAL;
	}
out:
	ywalk_stream_close(&ys);
	free(text);
	if (err)
		config_free(c);
	return err;
}

/* ---- locating hub items ------------------------------------------------------------------ */

static bool is_file(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISREG(st.st_mode);
}

int hubtest_resolve_item(const char *hub, const char *testdir, const char *type,
			 const char *item, char *path, size_t plen, char *stage, size_t slen)
{
	static const char *const exts[] = { ".yaml", ".yml" };
	bool staged = strcmp(type, "scenarios") != 0;
	size_t l = strlen(item);

	if (stage && slen)
		stage[0] = '\0';
	if (cs_is_yaml_name(item)) {
		const char *end, *p, *start;

		pathf(path, plen, "%s/%s", hub, item);
		if (!is_file(path))
			pathf(path, plen, "%s/%s", testdir, item);
		if (!is_file(path))
			return -ENOENT;
		if (!staged)
			return 0;
		/* parsers/<stage>/<author>/<file>: the third element from the end. */
		end = item + l;
		p = end;
		for (int k = 0; k < 2 && p > item; k++) {
			p--;
			while (p > item && *p != '/')
				p--;
		}
		end = p;
		start = end;
		while (start > item && start[-1] != '/')
			start--;
		if (end <= start)
			return -EINVAL;
		snprintf(stage, slen, "%.*s", (int)(end - start), start);
		return 0;
	}
	if (!staged) {
		for (size_t e = 0; e < 2; e++) {
			pathf(path, plen, "%s/%s/%s%s", hub, type, item, exts[e]);
			if (is_file(path))
				return 0;
		}
		return -ENOENT;
	} else {
		char dir[PATH_MAX];
		struct dirent *de;
		DIR *d;

		pathf(dir, sizeof(dir), "%s/%s", hub, type);
		d = opendir(dir);
		if (!d)
			return -errno;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			for (size_t e = 0; e < 2; e++) {
				pathf(path, plen, "%s/%s/%s%s", dir, de->d_name, item, exts[e]);
				if (is_file(path)) {
					snprintf(stage, slen, "%s", de->d_name);
					closedir(d);
					return 0;
				}
			}
		}
		closedir(d);
		return -ENOENT;
	}
}

/* ---- the parser dump ------------------------------------------------------------------------- */

struct ht_entry {
	char *stage, *node;
	struct cs_event **evts;
	bool *ok;
	int *idx;
	size_t n, cap;
};

struct ht_results {
	struct ht_entry *v;
	size_t n, cap;
	int line_idx;
};

static void results_free(struct ht_results *r)
{
	for (size_t i = 0; i < r->n; i++) {
		for (size_t j = 0; j < r->v[i].n; j++)
			cs_event_free(r->v[i].evts[j]);
		free(r->v[i].evts);
		free(r->v[i].ok);
		free(r->v[i].idx);
		free(r->v[i].stage);
		free(r->v[i].node);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static struct ht_entry *results_entry(struct ht_results *r, const char *stage, const char *node)
{
	struct ht_entry *e;

	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].stage, stage) && !strcmp(r->v[i].node, node))
			return &r->v[i];
	if (vec_reserve((void **)&r->v, &r->cap, r->n, sizeof(*r->v), 8))
		return NULL;
	e = &r->v[r->n];
	memset(e, 0, sizeof(*e));
	e->stage = strdup(stage);
	e->node = strdup(node);
	if (!e->stage || !e->node) {
		free(e->stage);
		free(e->node);
		return NULL;
	}
	r->n++;
	return e;
}

/* Parser observer: snapshot the event after every top-level node (spec 11.4). */
static int record(const char *stage, const char *node, const struct cs_event *evt, bool success,
		  void *arg)
{
	struct ht_results *r = arg;
	struct ht_entry *e = results_entry(r, stage, node);
	struct cs_event *snap;
	int err;

	if (!e)
		return -ENOMEM;
	{
		/* three arrays of one length: cap grows only once all three did */
		size_t c_evts = e->cap, c_ok = e->cap, c_idx = e->cap;

		if (vec_reserve((void **)&e->evts, &c_evts, e->n, sizeof(*e->evts), 16) ||
		    vec_reserve((void **)&e->ok, &c_ok, e->n, sizeof(*e->ok), 16) ||
		    vec_reserve((void **)&e->idx, &c_idx, e->n, sizeof(*e->idx), 16))
			return -ENOMEM;
		e->cap = c_evts;
	}
	err = cs_event_dup(evt, &snap);
	if (err)
		return err;
	e->evts[e->n] = snap;
	e->ok[e->n] = success;
	e->idx[e->n] = r->line_idx;
	e->n++;
	return 0;
}

/* After each event: the next parser results belong to the next line. */
static int next_line(struct cs_event *evt, void *arg)
{
	((struct ht_results *)arg)->line_idx++;
	return 0;
}

/* results: map stage -> map node -> [ {Success, Evt, Idx} ], plus "success": {"": []}. */
static int results_value(struct ht_results *r, struct expr_value *out)
{
	struct expr_value succ = expr_nil(), empty = expr_nil();
	int err = expr_map_new(out);

	for (size_t i = 0; !err && i < r->n; i++) {
		struct expr_value stage = expr_nil();
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(r->v[j].stage, r->v[i].stage);
		if (seen)
			continue;
		err = expr_map_new(&stage);
		for (size_t j = i; !err && j < r->n; j++) {
			struct ht_entry *e = &r->v[j];
			struct expr_value list = expr_nil();

			if (strcmp(e->stage, r->v[i].stage))
				continue;
			err = expr_array_new(e->n, &list);
			for (size_t k = 0; !err && k < e->n; k++) {
				struct expr_value item = expr_nil();

				err = expr_map_new(&item);
				if (!err)
					err = expr_map_set_take(&item, "Success", expr_bool(e->ok[k]));
				if (!err)
					err = expr_map_set_take(&item, "Evt",
								cs_event_value(e->evts[k]));
				if (!err)
					err = expr_map_set_take(&item, "Idx", expr_int(e->idx[k]));
				if (!err)
					err = expr_array_push_take(&list, item);
				else
					expr_value_release(&item);
			}
			if (!err)
				err = expr_map_set_take(&stage, e->node, list);
			else
				expr_value_release(&list);
		}
		if (!err)
			err = expr_map_set_take(out, r->v[i].stage, stage);
		else
			expr_value_release(&stage);
	}
	if (!err)
		err = expr_map_new(&succ);
	if (!err)
		err = expr_array_new(0, &empty);
	if (!err)
		err = expr_map_set_take(&succ, "", empty);
	else
		expr_value_release(&empty);
	if (!err)
		err = expr_map_set_take(out, "success", succ);
	else
		expr_value_release(&succ);
	if (err)
		expr_value_release(out);
	return err;
}

/* ---- running one test ---------------------------------------------------------------------- */

static int replay(struct cs_parsers *p, const struct ht_config *c, const char *log_path,
		  cs_parse_observer obs, void *obs_arg, hubtest_event_fn on_event, void *arg,
		  char *why, size_t whylen)
{
	int idx = 0;
	char *line = NULL, abspath[PATH_MAX];
	size_t cap = 0;
	ssize_t n;
	int err = 0;
	FILE *f = fopen(log_path, "rb");

	if (!f) {
		snprintf(why, whylen, "%s: %s", log_path, strerror(errno));
		return -errno;
	}
	if (!realpath(log_path, abspath))
		snprintf(abspath, sizeof(abspath), "%s", log_path);
	while (!err && (n = getline(&line, &cap, f)) >= 0) {
		struct cs_event *evt = NULL;
		const char *k, *v;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (!n)
			continue; /* empty lines make no event */
		err = cs_event_new(&evt);
		if (!err)
			err = cs_event_set_line(evt, line, n, abspath, "file", c->log_type);
		for (size_t i = 0; !err && strmap_at(c->labels, i, &k, &v, NULL); i++)
			err = strmap_set(evt->line.labels, k, v);
		if (!err) {
			evt->expect_mode = CS_MODE_TIMEMACHINE;
			err = cs_parse(p, evt, obs, obs_arg);
			if (err && err != -ENOMEM) {
				/* A node error discards this event only (spec 3.4 point 5). */
				log_warn("%s: line %d: parse error: %s", log_path, idx + 1,
					 strerror(-err));
				evt->process = false;
				err = 0;
			}
			if (!err && on_event)
				err = on_event(evt, arg);
		}
		cs_event_free(evt);
		idx++;
	}
	if (err)
		snprintf(why, whylen, "replay: %s", strerror(-err));
	free(line);
	fclose(f);
	return err;
}

struct hubtest_case {
	struct ht_config c;
	char dir[PATH_MAX];
	char hub[PATH_MAX];
	struct cs_parsers *p;
	struct hubtest_geoip geo;
};

void hubtest_case_free(struct hubtest_case *hc)
{
	if (!hc)
		return;
	cs_parsers_free(hc->p);
	hubtest_geoip_release(&hc->geo);
	config_free(&hc->c);
	free(hc);
}

int hubtest_parsers_load(const struct hubtest_opts *o, const char *testdir, const char *type,
			 char *const *items, size_t n, const char *overrides,
			 struct cs_parsers **out, char *why, size_t whylen)
{
	char path[PATH_MAX], stage[256], patterns[PATH_MAX], data[PATH_MAX];
	struct cs_parser_opts popts = { .patterns_dir = patterns, .data_dir = data,
					.geoip_dir = o->geoip_dir };
	/* "parsers" -> "parser" in messages */
	int what = (int)strlen(type) - 1;
	int err;

	*out = NULL;
	pathf(patterns, sizeof(patterns), "%s/patterns", o->hub_dir);
	pathf(data, sizeof(data), "%s/data", o->hub_dir);
	err = cs_parsers_new(&popts, out);
	if (err) {
		snprintf(why, whylen, "%.*s setup: %s", what, type, strerror(-err));
		return err;
	}
	/* override_statics: an extra s00-raw file that sorts first (spec 11.2). */
	if (overrides) {
		err = cs_parsers_load_string(*out, "s00-raw", "00_overrides.yaml", overrides);
		if (err) {
			snprintf(why, whylen, "override_statics do not load: %s",
				 cs_parsers_last_error(*out));
			return err;
		}
	}
	for (size_t i = 0; i < n; i++) {
		err = hubtest_resolve_item(o->hub_dir, testdir, type, items[i], path, sizeof(path),
					   stage, sizeof(stage));
		if (err) {
			snprintf(why, whylen, "%.*s %s not found in the hub", what, type, items[i]);
			return err;
		}
		err = cs_parsers_load_file(*out, stage, path, NULL);
		if (err) {
			snprintf(why, whylen, "%.*s %s does not load: %s", what, type, items[i],
				 cs_parsers_last_error(*out));
			return err;
		}
	}
	return cs_parsers_ready(*out);
}

int hubtest_case_open(const struct hubtest_opts *o, const char *test, struct hubtest_case **out,
		      char *why, size_t whylen)
{
	struct hubtest_case *hc = calloc(1, sizeof(*hc));
	char path[PATH_MAX], tests[PATH_MAX];
	int err;

	why[0] = '\0';
	if (!hc)
		return -ENOMEM;
	snprintf(hc->hub, sizeof(hc->hub), "%s", o->hub_dir);
	hubtest_tests_dir(o->hub_dir, tests, sizeof(tests));
	if (strchr(test, '/'))
		pathf(hc->dir, sizeof(hc->dir), "%s", test);
	else
		pathf(hc->dir, sizeof(hc->dir), "%s/%s", tests, test);
	pathf(path, sizeof(path), "%s/config.yaml", hc->dir);
	err = config_load(path, &hc->c, why, whylen);
	if (err) {
		free(hc);
		return err;
	}
	err = hubtest_geoip_prepare(o, hc->dir, hc->c.parsers, hc->c.nparsers, &hc->geo, why,
				    whylen);
	if (!err) {
		struct hubtest_opts po = *o;

		po.geoip_dir = hc->geo.dir;
		err = hubtest_parsers_load(&po, hc->dir, "parsers", hc->c.parsers, hc->c.nparsers,
					   hc->c.overrides, &hc->p, why, whylen);
	}
	if (err) {
		hubtest_case_free(hc);
		return err;
	}
	*out = hc;
	return 0;
}

const char *hubtest_case_dir(const struct hubtest_case *hc)
{
	return hc->dir;
}

char *const *hubtest_case_items(const struct hubtest_case *hc, const char *type, size_t *n)
{
	if (!strcmp(type, "scenarios")) {
		*n = hc->c.nscenarios;
		return hc->c.scenarios;
	}
	if (!strcmp(type, "postoverflows")) {
		*n = hc->c.npostoverflows;
		return hc->c.postoverflows;
	}
	*n = hc->c.nparsers;
	return hc->c.parsers;
}

int hubtest_case_replay(struct hubtest_case *hc, cs_parse_observer obs, void *obs_arg,
			hubtest_event_fn on_event, void *arg, char *why, size_t whylen)
{
	char path[PATH_MAX];

	pathf(path, sizeof(path), "%s/%s", hc->dir, hc->c.log_file);
	return replay(hc->p, &hc->c, path, obs, obs_arg, on_event, arg, why, whylen);
}

enum hubtest_status hubtest_run_parser_test(const struct hubtest_opts *o, const char *test,
					    char *why, size_t whylen, int *nasserts)
{
	struct expr_value results = expr_nil();
	struct ht_results r = { 0 };
	struct hubtest_case *hc = NULL;
	enum hubtest_status st = HUBTEST_FAIL;
	char path[PATH_MAX];
	int nfailed = 0, err;

	*nasserts = 0;
	err = hubtest_case_open(o, test, &hc, why, whylen);
	if (err)
		return err == -ENODATA ? HUBTEST_SKIP : HUBTEST_FAIL;
	if (hc->c.ignore_parsers) {
		snprintf(why, whylen, "ignore_parsers: true (scenario-only test)");
		st = HUBTEST_SKIP;
		goto out;
	}
	if (hubtest_case_replay(hc, record, &r, next_line, &r, why, whylen))
		goto out;
	if (results_value(&r, &results)) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	pathf(path, sizeof(path), "%s/parser.assert", hc->dir);
	if (hubtest_run_asserts(o, path, false, &results, why, whylen, nasserts, &nfailed))
		goto out;
	st = hubtest_verdict("parser.assert", *nasserts, nfailed, "", why, whylen);
out:
	expr_value_release(&results);
	results_free(&r);
	hubtest_case_free(hc);
	return st;
}

