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
#include "common/log.h"
#include "expr/expr.h"
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

	if (r->nres == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 16;
		struct cs_event **n = realloc(r->res, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->res = n;
		r->cap = ncap;
	}
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

/* Descending by key; stable (insertion sort: results are few). */
static int sort_results(struct cs_event **res, size_t n)
{
	char **keys = calloc(n ? n : 1, sizeof(*keys));
	int err = 0;

	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < n && !err; i++)
		if (!(keys[i] = sort_key(res[i])))
			err = -ENOMEM;
	for (size_t i = 1; i < n && !err; i++) {
		struct cs_event *e = res[i];
		char *k = keys[i];
		size_t j = i;

		while (j > 0 && strcmp(keys[j - 1], k) < 0) {
			keys[j] = keys[j - 1];
			res[j] = res[j - 1];
			j--;
		}
		keys[j] = k;
		res[j] = e;
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	return err;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Old asserts compare datasource_path without basename(): add it (spec 11.5). */
static char *rewrite_assert(const char *line)
{
	const char *eq;
	char *out;

	if (!strstr(line, "datasource_path") || strstr(line, "basename(") ||
	    !(eq = strstr(line, "==")))
		return strdup(line);
	if (asprintf(&out, "basename(%.*s) == %s", (int)(eq - line), line, trim((char *)eq + 2)) < 0)
		return NULL;
	return out;
}

static char *lhs_value(const struct expr_env *env, const char *line, const struct expr_value *vars)
{
	const char *eq = strstr(line, " == ");
	struct expr_prog *prog = NULL;
	struct expr_value v = expr_nil();
	char *src, *txt = NULL;

	if (!eq || !(src = strndup(line, eq - line)))
		return NULL;
	if (!expr_compile(env, src, &prog, NULL) && !expr_eval(prog, vars, NULL, &v, NULL))
		txt = expr_value_format(&v);
	expr_value_release(&v);
	expr_prog_free(prog);
	free(src);
	return txt;
}

static int run_asserts(const struct hubtest_opts *o, const char *path,
		       const struct expr_value *results, char *why, size_t whylen, int *nasserts,
		       int *nfailed)
{
	struct expr_env *env = expr_env_new();
	char *line = NULL;
	size_t cap = 0;
	int err = 0, lineno = 0;
	FILE *f;

	*nasserts = *nfailed = 0;
	if (!env)
		return -ENOMEM;
	if (expr_env_add_var(env, "results", NULL) < 0 ||
	    expr_env_add_helpers(env, EXPR_HELPERS_CROWDSEC | EXPR_HELPERS_HUBTEST)) {
		expr_env_free(env);
		return -ENOMEM;
	}
	f = fopen(path, "r");
	if (!f && errno == ENOENT) {
		expr_env_free(env);
		return 0; /* no assert file: like an empty one (spec 11.7) */
	}
	if (!f) {
		err = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		expr_env_free(env);
		return err;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *src, *a = trim(line);
		struct expr_prog *prog = NULL;
		struct expr_error e = { 0 };
		bool ok = false;
		int rc;

		lineno++;
		if (!*a)
			continue;
		(*nasserts)++;
		src = rewrite_assert(a);
		if (!src) {
			err = -ENOMEM;
			break;
		}
		rc = expr_compile(env, src, &prog, &e);
		if (!rc)
			rc = expr_eval_bool(prog, results, NULL, &ok, &e);
		if (rc || !ok) {
			char *lhs = rc ? NULL : lhs_value(env, src, results);

			if (!*nfailed)
				snprintf(why, whylen, "scenario.assert:%d: %s%s%s%s", lineno, src,
					 rc ? ": error: " : " (got ", rc ? e.msg : lhs ? lhs : "?",
					 rc ? "" : ")");
			if (o->verbose)
				fprintf(stderr, "  assert %d failed: %s%s%s\n", lineno, src,
					rc ? " -- " : " -- got ", rc ? e.msg : lhs ? lhs : "?");
			free(lhs);
			(*nfailed)++;
		}
		expr_prog_free(prog);
		free(src);
	}
	free(line);
	fclose(f);
	expr_env_free(env);
	return err;
}

static int load_postoverflows(const struct hubtest_opts *o, struct hubtest_case *hc,
			      struct cs_parsers **out, char *why, size_t whylen)
{
	char path[PATH_MAX], stage[256], patterns[PATH_MAX], data[PATH_MAX];
	struct cs_parser_opts po = { .patterns_dir = patterns, .data_dir = data,
				     .geoip_dir = o->geoip_dir };
	char *const *items;
	size_t n;
	int err;

	*out = NULL;
	items = hubtest_case_items(hc, "postoverflows", &n);
	if (!n)
		return 0;
	snprintf(patterns, sizeof(patterns), "%s/patterns", o->hub_dir);
	snprintf(data, sizeof(data), "%s/data", o->hub_dir);
	err = cs_parsers_new(&po, out);
	if (err) {
		snprintf(why, whylen, "postoverflow setup: %s", strerror(-err));
		return err;
	}
	for (size_t i = 0; i < n; i++) {
		err = hubtest_resolve_item(o->hub_dir, hubtest_case_dir(hc), "postoverflows", items[i],
					   path, sizeof(path), stage, sizeof(stage));
		if (err) {
			snprintf(why, whylen, "postoverflow %s not found in the hub", items[i]);
			return err;
		}
		err = cs_parsers_load_file(*out, stage, path, NULL);
		if (err) {
			snprintf(why, whylen, "postoverflow %s does not load: %s", items[i],
				 cs_parsers_last_error(*out));
			return err;
		}
	}
	return cs_parsers_ready(*out);
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
	char path[PATH_MAX], data[PATH_MAX];
	char *const *items;
	size_t n;
	int nfailed = 0, err;

	*nasserts = 0;
	why[0] = '\0';
	if (hubtest_case_open(o, test, &hc, why, whylen))
		return HUBTEST_FAIL;
	items = hubtest_case_items(hc, "scenarios", &n);
	if (!n) {
		snprintf(why, whylen, "no scenarios in config.yaml");
		st = HUBTEST_SKIP;
		goto out;
	}
	if (load_postoverflows(o, hc, &po, why, whylen))
		goto out;
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
	if (run_asserts(o, path, &results, why, whylen, nasserts, &nfailed))
		goto out;
	if (!*nasserts) {
		/* upstream generates the asserts and asks for an update: show them */
		if (o->verbose) {
			printf("len(results) == %zu\n", r.nres);
			for (size_t i = 0; i < r.nres; i++)
				cs_overflow_write_asserts(r.res[i], (int)i, stdout);
		}
		snprintf(why, whylen, "empty scenario.assert (upstream would generate it)");
		st = HUBTEST_SKIP;
	} else if (!nfailed) {
		st = HUBTEST_PASS;
	} else {
		char tail[64];
		size_t l = strlen(why);

		snprintf(tail, sizeof(tail), " [%d/%d asserts failed, %zu results]", nfailed,
			 *nasserts, r.nres);
		if (l + strlen(tail) < whylen)
			strcat(why, tail);
	}
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

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_scenario_assert(const char *hub, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/tests/%s/scenario.assert", hub, name);
	return !stat(path, &st) && S_ISREG(st.st_mode) && st.st_size > 0;
}

static const char *skip_reason(const char *const *skip, const char *name)
{
	for (; skip && skip[0]; skip += 2)
		if (!strcmp(skip[0], name))
			return skip[1];
	return NULL;
}

int hubtest_run_scenarios_all(const struct hubtest_opts *o, char *const *names, int nnames,
			      const char *const *skip, struct hubtest_summary *sum)
{
	char **list = NULL, path[PATH_MAX];
	size_t n = 0, cap = 0;

	memset(sum, 0, sizeof(*sum));
	if (!nnames) {
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), "%s/tests", o->hub_dir);
		d = opendir(path);
		if (!d) {
			fprintf(stderr, "hubtest: %s: %s\n", path, strerror(errno));
			sum->failed = 1;
			return 1;
		}
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' || !has_scenario_assert(o->hub_dir, de->d_name))
				continue;
			if (n == cap) {
				char **nl = realloc(list, (cap = cap ? cap * 2 : 64) * sizeof(*nl));

				if (!nl)
					break;
				list = nl;
			}
			if (!(list[n] = strdup(de->d_name)))
				break;
			n++;
		}
		closedir(d);
		qsort(list, n, sizeof(*list), cmp_name);
	}
	for (size_t i = 0; i < (nnames ? (size_t)nnames : n); i++) {
		const char *name = nnames ? names[i] : list[i];
		const char *reason = skip_reason(skip, name);
		char why[2048];
		int nasserts = 0;
		enum hubtest_status st;

		if (reason) {
			snprintf(why, sizeof(why), "%s", reason);
			st = HUBTEST_SKIP;
		} else {
			st = hubtest_run_scenario_test(o, name, why, sizeof(why), &nasserts);
		}
		switch (st) {
		case HUBTEST_PASS:
			sum->passed++;
			printf("PASS %s (%d asserts)\n", name, nasserts);
			break;
		case HUBTEST_SKIP:
			sum->skipped++;
			printf("SKIP %s: %s\n", name, why);
			break;
		case HUBTEST_FAIL:
			sum->failed++;
			printf("FAIL %s: %s\n", name, why);
			break;
		}
		fflush(stdout);
	}
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return sum->failed ? 1 : 0;
}

static bool geoip_present(const struct hubtest_opts *o, const char *file)
{
	char path[4096];

	if (o->geoip_dir)
		snprintf(path, sizeof(path), "%s/%s", o->geoip_dir, file);
	else
		snprintf(path, sizeof(path), "%s/data/%s", o->hub_dir, file);
	return !access(path, R_OK);
}

const char *const *hubtest_offline_skips(const struct hubtest_opts *o)
{
	/* name, reason pairs, NULL-terminated; some depend on the build or the hub data */
	static const char *skips[16];
	size_t n = 0;

	if (!expr_xml_available()) {
		skips[n++] = "cve-2023-23397";
		skips[n++] = "windows-logs/sysmon parsers need XMLGetNodeValue: built without libxml2";
	}
	/* both: the asserts read GeoIpCity's country and GeoIpASN's "0" */
	if (!geoip_present(o, "GeoLite2-City.mmdb") || !geoip_present(o, "GeoLite2-ASN.mmdb")) {
		static const char *const why =
			"needs the GeoLite2 City/ASN databases (not in the offline hub data; "
			"test_hubtest_scenarios writes test ones)";

		skips[n++] = "sshd-impossible-travel";
		skips[n++] = why;
		skips[n++] = "sshd-impossible-travel-user";
		skips[n++] = why;
	}
	skips[n] = NULL;
	return skips;
}

int hubtest_scenarios_main(int argc, char **argv)
{
	struct hubtest_opts o = { .hub_dir = hubtest_default_hub_dir() };
	struct hubtest_summary sum;
	int i = 1, rc;

	if (argc < 1 || strcmp(argv[0], "run")) {
		fprintf(stderr, "usage: hubtest run [--hub DIR] [--geoip-dir DIR] [-v] [TEST...]\n");
		return 2;
	}
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--hub") && i + 1 < argc) {
			o.hub_dir = argv[++i];
		} else if (!strcmp(argv[i], "--geoip-dir") && i + 1 < argc) {
			o.geoip_dir = argv[++i];
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			o.verbose = true;
		} else {
			fprintf(stderr, "hubtest run: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	/* Upstream runs crowdsec with TZ=UTC: dates without a zone are UTC. */
	setenv("TZ", "UTC", 1);
	tzset();
	rc = hubtest_run_scenarios_all(&o, argv + i, argc - i, hubtest_offline_skips(&o), &sum);
	printf("%d passed, %d failed, %d skipped\n", sum.passed, sum.failed, sum.skipped);
	return rc;
}
