// SPDX-License-Identifier: MIT
/*
 * hubtest, scenario half (hub-format.md 11.3 steps 5-6, 11.6). The parser half
 * (hubtest.c) provides the test case: config, parsers, replay.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include "bucket/bucket.h"
#include "common/gosort.h"
#include "common/log.h"
#include "common/vec.h"
#include "expr/expr.h"
#include "hubtest/hubtest_int.h"
#include "hubtest/scenario_run.h"

struct sc_run {
	struct cs_buckets *b;
	struct cs_event **res;
	size_t nres, cap;
	int err;
};

static int on_overflow(const struct cs_event *ovf, void *arg)
{
	struct sc_run *r = arg;
	struct cs_event *copy;
	int err;

	if (vec_reserve((void **)&r->res, &r->cap, r->nres, sizeof(*r->res), 16))
		return -ENOMEM;
	err = cs_event_dup(ovf, &copy);
	if (err)
		return err;
	r->res[r->nres++] = copy;
	return 0;
}

static int on_event(struct cs_event *evt, void *arg)
{
	struct sc_run *r = arg;

	/* Only events that made it through the parsers, not whitelisted (spec 6.3). */
	if (!evt->process || evt->whitelisted)
		return 0;
	return cs_buckets_pour(r->b, evt);
}

/* scenario name + sources joined with "@": the upstream sort key of results. */
static char *sort_key(const struct cs_event *e)
{
	size_t n = cs_overflow_nsources(e), len = strlen(cs_overflow_scenario(e)) + 1;
	char *k;

	for (size_t i = 0; i < n; i++)
		len += strlen(cs_overflow_source_key(e, i)) + 1;
	k = malloc(len);
	if (!k)
		return NULL;
	strcpy(k, cs_overflow_scenario(e));
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(k, "@");
		strcat(k, cs_overflow_source_key(e, i));
	}
	return k;
}

struct keyed {
	struct cs_event **res;
	char **keys;
};

static bool key_greater(size_t i, size_t j, void *arg)
{
	const struct keyed *k = arg;

	return strcmp(k->keys[i], k->keys[j]) > 0;
}

static void key_swap(size_t i, size_t j, void *arg)
{
	const struct keyed *k = arg;
	struct cs_event *e = k->res[i];
	char *t = k->keys[i];

	k->res[i] = k->res[j];
	k->res[j] = e;
	k->keys[i] = k->keys[j];
	k->keys[j] = t;
}

/*
 * Descending by key with Go's sort.Sort, as upstream's LoadScenarioDump: not
 * stable, so overflows with the same scenario and sources land where Go puts
 * them, and the hub's asserts (authelia-bf) were recorded in that order.
 */
static int sort_results(struct cs_event **res, size_t n)
{
	struct keyed k = { .res = res, .keys = calloc(n ? n : 1, sizeof(char *)) };
	int err = 0;

	if (!k.keys)
		return -ENOMEM;
	for (size_t i = 0; i < n && !err; i++)
		if (!(k.keys[i] = sort_key(res[i])))
			err = -ENOMEM;
	if (!err)
		go_sort(n, key_greater, key_swap, &k);
	for (size_t i = 0; i < n; i++)
		free(k.keys[i]);
	free(k.keys);
	return err;
}

enum hubtest_status hubtest_run_scenario_test(const struct hubtest_opts *o, const char *test,
					      char *why, size_t whylen, int *nasserts)
{
	struct cs_bucket_opts bo = { .mode = CS_BUCKET_REPLAY, .on_overflow = on_overflow };
	struct expr_value results = expr_nil();
	struct hubtest_case *hc = NULL;
	struct cs_parsers *po = NULL;
	struct sc_run r = { 0 };
	enum hubtest_status st = HUBTEST_FAIL;
	char path[PATH_MAX], data[PATH_MAX], extra[48];
	char *const *items;
	size_t n;
	int nfailed = 0, err;

	*nasserts = 0;
	why[0] = '\0';
	err = hubtest_case_open(o, test, &hc, why, whylen);
	if (err)
		return err == -ENODATA ? HUBTEST_SKIP : HUBTEST_FAIL;
	items = hubtest_case_items(hc, "scenarios", &n);
	if (!n) {
		snprintf(why, whylen, "no scenarios in config.yaml");
		st = HUBTEST_SKIP;
		goto out;
	}
	items = hubtest_case_items(hc, "postoverflows", &n);
	if (n && hubtest_parsers_load(o, hubtest_case_dir(hc), "postoverflows", items, n, NULL, &po,
				      why, whylen))
		goto out;
	items = hubtest_case_items(hc, "scenarios", &n);
	snprintf(data, sizeof(data), "%s/data", o->hub_dir);
	bo.data_dir = data;
	bo.postoverflows = po;
	bo.arg = &r;
	if (cs_buckets_new(&bo, &r.b)) {
		snprintf(why, whylen, "bucket engine setup failed");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		err = hubtest_resolve_item(o->hub_dir, hubtest_case_dir(hc), "scenarios", items[i],
					   path, sizeof(path), NULL, 0);
		if (err) {
			snprintf(why, whylen, "scenario %s not found in the hub", items[i]);
			goto out;
		}
		err = cs_buckets_load_file(r.b, path, NULL);
		if (err) {
			snprintf(why, whylen, "scenario %s does not load: %s", items[i],
				 cs_buckets_last_error(r.b));
			goto out;
		}
	}
	if (hubtest_case_replay(hc, NULL, NULL, on_event, &r, why, whylen))
		goto out;
	/* End of the replay: pending instances vanish without alert (pitfall 7). */
	cs_buckets_flush(r.b);
	if (sort_results(r.res, r.nres) || expr_array_new(r.nres, &results)) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < r.nres; i++) {
		if (expr_array_push_take(&results, cs_event_value(r.res[i]))) {
			snprintf(why, whylen, "out of memory");
			goto out;
		}
	}
	snprintf(path, sizeof(path), "%s/scenario.assert", hubtest_case_dir(hc));
	if (hubtest_run_asserts(o, path, true, &results, why, whylen, nasserts, &nfailed))
		goto out;
	/* upstream generates missing asserts and asks for an update: show them */
	if (!*nasserts && o->verbose) {
		printf("len(results) == %zu\n", r.nres);
		for (size_t i = 0; i < r.nres; i++)
			cs_overflow_write_asserts(r.res[i], (int)i, stdout);
	}
	snprintf(extra, sizeof(extra), ", %zu results", r.nres);
	st = hubtest_verdict("scenario.assert", *nasserts, nfailed, extra, why, whylen);
out:
	expr_value_release(&results);
	for (size_t i = 0; i < r.nres; i++)
		cs_event_free(r.res[i]);
	free(r.res);
	cs_buckets_free(r.b);
	cs_parsers_free(po);
	hubtest_case_free(hc);
	return st;
}

const char *const *hubtest_offline_skips(void)
{
	/* name, reason pairs, NULL-terminated; they depend on the build */
	static const char *skips[16];
	size_t n = 0;

	if (!expr_xml_available()) {
		skips[n++] = "cve-2023-23397";
		skips[n++] = "windows-logs/sysmon parsers need XMLGetNodeValue: built without libxml2";
	}
	skips[n] = NULL;
	return skips;
}
