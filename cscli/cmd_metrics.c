// SPDX-License-Identifier: MIT
/*
 * cscli metrics [list | show SECTION...]: reads the local Prometheus endpoint
 * (prometheus.listen_addr:listen_port, or --url) as upstream does and prints its
 * sections. The samples are folded into one JSON document keyed by section
 * name (what -o json prints, -o raw as YAML); the human tables are drawn from it.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/vec.h"
#include "cscli/cscli.h"
#include "cscli/metrics_bouncers.h"
#include "hub/hub.h"

#define METRICS_BODY_MAX (32u << 20)
#define MAX_LABELS 8

struct sample {
	char name[128];
	char *lk[MAX_LABELS], *lv[MAX_LABELS];
	int nl;
	double value;
};

/*
 * A section: `depth` levels of keys (the first columns), then either the fields
 * of the leaf object (one column each) or, without fields, a count. Depth -1:
 * not from Prometheus (bouncers: usage metrics in the database).
 */
static const struct section {
	const char *name, *title, *help;
	int depth;
	const char *cols[6];
	const char *fields[6];
} sections[] = {
	{ "acquisition", "Acquisition Metrics", "Detector's sources and their lines", 1,
	  { "Source", "Lines read", "Lines parsed", "Lines unparsed", "Lines poured to bucket" },
	  { "reads", "parsed", "unparsed", "pour" } },
	{ "scenarios", "Scenario Metrics", "Scenario (bucket) instances, pours and overflows", 1,
	  { "Scenario", "Current Count", "Overflows", "Instantiated", "Poured", "Expired" },
	  { "curr_count", "overflow", "instantiation", "pour", "underflow" } },
	{ "parsers", "Parser Metrics", "Events entering and leaving each parser", 1,
	  { "Parsers", "Hits", "Parsed", "Unparsed" }, { "hits", "parsed", "unparsed" } },
	{ "lapi", "Local API Metrics", "Local API routes and methods", 2,
	  { "Route", "Method", "Hits" }, { NULL } },
	{ "lapi-machine", "Local API Machines Metrics", "Local API calls by machine", 3,
	  { "Machine", "Route", "Method", "Hits" }, { NULL } },
	{ "lapi-bouncer", "Local API Bouncers Metrics", "Local API calls by bouncer", 3,
	  { "Bouncer", "Route", "Method", "Hits" }, { NULL } },
	{ "lapi-decisions", "Local API Bouncers Decisions", "Decision requests by bouncer", 1,
	  { "Bouncer", "Empty answers", "Non-empty answers" }, { "empty", "non_empty" } },
	{ "decisions", "Local API Decisions", "Active decisions", 3,
	  { "Reason", "Origin", "Action", "Count" }, { NULL } },
	{ "alerts", "Local API Alerts", "Alerts by scenario", 1, { "Reason", "Count" }, { NULL } },
	{ "bouncers", "Bouncer Metrics", "Network traffic blocked by bouncers.", -1, { NULL }, { NULL } },
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

static void sample_clear(struct sample *s)
{
	for (int i = 0; i < s->nl; i++) {
		free(s->lk[i]);
		free(s->lv[i]);
	}
	s->nl = 0;
}

/* One "name{k="v",...} value" line; false for comments and lines we cannot read. */
static bool parse_sample(char *line, struct sample *s)
{
	char *p = line, *end;
	size_t n = strcspn(p, "{ ");

	s->nl = 0;
	if (!*p || *p == '#' || n == 0 || n >= sizeof(s->name))
		return false;
	memcpy(s->name, p, n);
	s->name[n] = 0;
	p += n;
	if (*p == '{') {
		p++;
		while (*p && *p != '}') {
			size_t kl = strcspn(p, "=");
			struct sbuf v = { 0 };

			if (p[kl] != '=' || p[kl + 1] != '"' || s->nl == MAX_LABELS)
				goto bad;
			s->lk[s->nl] = strndup(p, kl);
			for (p += kl + 2; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1]) {
					p++;
					sb_putc(&v, *p == 'n' ? '\n' : *p);
				} else {
					sb_putc(&v, *p);
				}
			}
			s->lv[s->nl] = sb_take(&v, NULL);
			s->nl++;
			if (*p != '"' || !s->lk[s->nl - 1] || !s->lv[s->nl - 1])
				goto bad;
			p++;
			if (*p == ',')
				p++;
		}
		if (*p != '}')
			goto bad;
		p++;
	}
	s->value = strtod(p, &end);
	if (end == p)
		goto bad;
	return true;
bad:
	sample_clear(s);
	return false;
}

static const char *label(const struct sample *s, const char *k)
{
	for (int i = 0; i < s->nl; i++)
		if (!strcmp(s->lk[i], k))
			return s->lv[i];
	return "";
}

/* sum + v as a count: the page is the server's (NaN, Inf, 1e300 are valid samples),
 * so NaN counts nothing and the sum saturates instead of overflowing */
static json_int_t count_add(json_int_t sum, double v)
{
	json_int_t add, out;

	if (isnan(v))
		add = 0;
	else if (v >= 9.2e18)
		add = INT64_MAX;
	else if (v <= -9.2e18)
		add = INT64_MIN;
	else
		add = (json_int_t)v;
	if (__builtin_add_overflow(sum, add, &out))
		out = add > 0 ? INT64_MAX : INT64_MIN;
	return out;
}

/* doc[section][k[0]]...[k[n-1]] (+field) += v */
static void bump(json_t *doc, const char *section, const char *const *k, int n, const char *field,
		 double v)
{
	json_t *o = json_object_get(doc, section), *leaf;
	const char *last = field;

	if (!o)
		json_object_set_new(doc, section, o = json_object());
	for (int i = 0; i < n - (field ? 0 : 1); i++) {
		json_t *c = json_object_get(o, k[i]);

		if (!json_is_object(c))
			json_object_set_new(o, k[i], c = json_object());
		o = c;
	}
	if (!field)
		last = k[n - 1];
	leaf = json_object_get(o, last);
	json_object_set_new(o, last, json_integer(count_add(leaf ? json_integer_value(leaf) : 0, v)));
}

static void fold(json_t *doc, const struct sample *s)
{
	const char *n = s->name;
	char src[4096];
	const char *k[3];
	bool journal = !strcmp(n, "cs_journalctlsource_hits_total");

	/* acquisition rows are "type:source", as upstream prints them */
	if (journal || !strcmp(n, "cs_filesource_hits_total"))
		snprintf(src, sizeof(src), "%s:%s", journal ? "journalctl" : "file", label(s, "source"));
	else
		snprintf(src, sizeof(src), "%s:%s", label(s, "type"), label(s, "source"));
	k[0] = src;
	if (journal || !strcmp(n, "cs_filesource_hits_total"))
		bump(doc, "acquisition", k, 1, "reads", s->value);
	else if (!strcmp(n, "cs_parser_hits_ok_total"))
		bump(doc, "acquisition", k, 1, "parsed", s->value);
	else if (!strcmp(n, "cs_parser_hits_ko_total"))
		bump(doc, "acquisition", k, 1, "unparsed", s->value);
	else if (!strcmp(n, "cs_bucket_poured_total")) {
		bump(doc, "acquisition", k, 1, "pour", s->value);
		k[0] = label(s, "name");
		bump(doc, "scenarios", k, 1, "pour", s->value);
	} else if (!strcmp(n, "cs_node_hits_total") || !strcmp(n, "cs_node_hits_ok_total") ||
		   !strcmp(n, "cs_node_hits_ko_total")) {
		k[0] = label(s, "name");
		bump(doc, "parsers", k, 1,
		     strstr(n, "_ok_") ? "parsed" : strstr(n, "_ko_") ? "unparsed" : "hits", s->value);
	} else if (!strncmp(n, "cs_bucket", 9) || !strcmp(n, "cs_buckets")) {
		static const char *const map[][2] = { { "cs_buckets", "curr_count" },
						      { "cs_bucket_overflowed_total", "overflow" },
						      { "cs_bucket_created_total", "instantiation" },
						      { "cs_bucket_underflowed_total", "underflow" } };

		k[0] = label(s, "name");
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (!strcmp(n, map[i][0]))
				bump(doc, "scenarios", k, 1, map[i][1], s->value);
	} else if (!strcmp(n, "cs_lapi_route_requests_total")) {
		k[0] = label(s, "route"), k[1] = label(s, "method");
		bump(doc, "lapi", k, 2, NULL, s->value);
	} else if (!strcmp(n, "cs_lapi_machine_requests_total") ||
		   !strcmp(n, "cs_lapi_bouncer_requests_total")) {
		bool m = strstr(n, "machine") != NULL;

		k[0] = label(s, m ? "machine" : "bouncer"), k[1] = label(s, "route");
		k[2] = label(s, "method");
		bump(doc, m ? "lapi-machine" : "lapi-bouncer", k, 3, NULL, s->value);
	} else if (!strcmp(n, "cs_lapi_decisions_ok_total") || !strcmp(n, "cs_lapi_decisions_ko_total")) {
		k[0] = label(s, "bouncer");
		bump(doc, "lapi-decisions", k, 1, strstr(n, "_ok_") ? "non_empty" : "empty", s->value);
	} else if (!strcmp(n, "cs_active_decisions")) {
		k[0] = label(s, "reason"), k[1] = label(s, "origin"), k[2] = label(s, "action");
		bump(doc, "decisions", k, 3, NULL, s->value);
	} else if (!strcmp(n, "cs_alerts")) {
		k[0] = label(s, "reason");
		bump(doc, "alerts", k, 1, NULL, s->value);
	}
}

static json_t *parse_page(char *body)
{
	json_t *doc = json_object();
	struct sample s = { 0 };

	for (char *save = NULL, *line = strtok_r(body, "\n", &save); doc && line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!parse_sample(line, &s))
			continue;
		fold(doc, &s);
		sample_clear(&s);
	}
	return doc;
}

static int by_row(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	for (int i = 0; i < 6 && x[i] && y[i]; i++) {
		int c = strcmp(x[i], y[i]);

		if (c)
			return c;
	}
	return 0;
}

struct rows {
	const char *(*v)[6];
	char (*num)[6][24];
	size_t n, vcap, numcap;
};

static void collect(const struct section *sec, json_t *o, int level, const char *keys[6],
		    struct rows *r)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		keys[level] = k;
		if (level + 1 < sec->depth) {
			collect(sec, v, level + 1, keys, r);
			continue;
		}
		if (vec_reserve((void **)&r->v, &r->vcap, r->n, sizeof(*r->v), 16) ||
		    vec_reserve((void **)&r->num, &r->numcap, r->n, sizeof(*r->num), 16))
			return;
		memset(r->v[r->n], 0, sizeof(r->v[r->n]));
		for (int i = 0; i < sec->depth; i++)
			r->v[r->n][i] = keys[i];
		if (!sec->fields[0]) {
			snprintf(r->num[r->n][0], 24, "%lld", (long long)json_integer_value(v));
			r->v[r->n][sec->depth] = r->num[r->n][0];
		}
		for (int f = 0; sec->fields[f]; f++) {
			json_t *x = json_object_get(v, sec->fields[f]);

			if (x)
				snprintf(r->num[r->n][f], 24, "%lld", (long long)json_integer_value(x));
			else
				strcpy(r->num[r->n][f], "-");
			r->v[r->n][sec->depth + f] = r->num[r->n][f];
		}
		r->n++;
	}
}

static void print_section(const struct section *sec, json_t *doc)
{
	json_t *o = json_object_get(doc, sec->name);
	const char *keys[6] = { 0 };
	struct rows r = { 0 };
	struct table t;
	size_t ncols = 0;

	if (!json_object_size(o) || sec->depth < 0)
		return;
	while (ncols < 6 && sec->cols[ncols])
		ncols++;
	collect(sec, o, 0, keys, &r);
	/* rows own their strings: qsort moves rows, not r.num's numbers */
	for (size_t i = 0; i < r.n; i++)
		for (size_t c = 0; c < ncols; c++)
			r.v[i][c] = strdup(r.v[i][c] ? r.v[i][c] : "");
	if (r.n) /* a section whose entries hold nothing has no row: qsort(NULL, 0) is undefined */
		qsort(r.v, r.n, sizeof(*r.v), by_row);
	table_init(&t, ncols, sec->cols);
	for (size_t i = 0; i < r.n; i++)
		table_add(&t, r.v[i]);
	printf("%s:\n", sec->title);
	table_print(&t, true);
	table_free(&t);
	for (size_t i = 0; i < r.n; i++)
		for (size_t c = 0; c < ncols; c++)
			free((char *)r.v[i][c]);
	free(r.v);
	free(r.num);
}

static bool no_unit;

static const char *url_opt(int argc, char **argv, int *first)
{
	const char *url = NULL;

	*first = argc;
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-u") || !strcmp(argv[i], "--url")) && i + 1 < argc)
			url = argv[++i];
		else if (!strncmp(argv[i], "--url=", 6))
			url = argv[i] + 6;
		else if (!strcmp(argv[i], "--no-unit"))
			no_unit = true;
		else if (*first == argc)
			*first = i;
	}
	return url;
}

static int prometheus_doc(struct cli *c, const char *url_arg, json_t **doc)
{
	char url[512], err[1024], *body;
	size_t len;

	if (url_arg)
		snprintf(url, sizeof(url), "%s", url_arg);
	else if (!c->cfg.prometheus_enabled) {
		cli_fatal("prometheus is not enabled, can't show metrics");
		return EXIT_FATAL;
	} else
		snprintf(url, sizeof(url), "http://%s:%d/metrics",
			 c->cfg.prometheus_addr ? c->cfg.prometheus_addr : "127.0.0.1",
			 c->cfg.prometheus_port);
	if (hub_http_get(url, METRICS_BODY_MAX, &body, &len, err, sizeof(err))) {
		cli_fatal("while fetching metrics: %s", err);
		return EXIT_FATAL;
	}
	*doc = parse_page(body);
	free(body);
	return *doc ? EXIT_OK : EXIT_FATAL;
}

/* Print the sections named in names[0..n) (all when n == 0). */
static int show(struct cli *c, const char *url_arg, char **names, int n)
{
	json_t *doc = NULL, *out, *agg = NULL, *oldest = NULL;
	bool want_prom = !n, want_bouncers = !n;
	int ret = EXIT_OK;

	for (int i = 0; i < n; i++) {
		size_t s = 0;

		while (s < NSECTIONS && strcmp(sections[s].name, names[i]))
			s++;
		if (s == NSECTIONS) {
			cli_fatal("unknown metrics section '%s' (see cscli metrics list)", names[i]);
			return EXIT_FATAL;
		}
		want_bouncers |= sections[s].depth < 0;
		want_prom |= sections[s].depth >= 0;
	}
	if (want_prom && (ret = prometheus_doc(c, url_arg, &doc)))
		return ret;
	if (!doc && !(doc = json_object()))
		return EXIT_FATAL;
	/* all sections: bouncers' usage metrics when the database is ours to read */
	if (want_bouncers && metrics_bouncers_collect(c, &agg, &oldest) && n) {
		ret = EXIT_FATAL;
		goto out;
	}
	if (want_bouncers && (n || json_object_size(agg)))
		json_object_set(doc, "bouncers", agg);
	out = doc;
	if (n) {
		out = json_object();
		for (int i = 0; out && i < n; i++) {
			json_t *v = json_object_get(doc, names[i]);

			if (v)
				json_object_set(out, names[i], v);
			else /* a section the page lacks: empty, and owned by out */
				json_object_set_new(out, names[i], json_object());
		}
	}
	if (c->out == OUT_JSON)
		print_json(out, 2, true);
	else if (c->out == OUT_RAW)
		print_yaml(out);
	else
		for (size_t s = 0; s < NSECTIONS; s++)
			if (sections[s].depth < 0 && json_object_get(out, sections[s].name))
				metrics_bouncers_print(agg, oldest, no_unit, n > 0);
			else if (json_object_get(out, sections[s].name))
				print_section(&sections[s], out);
	if (out != doc)
		json_decref(out);
out:
	json_decref(doc);
	json_decref(agg);
	json_decref(oldest);
	return ret;
}

static int metrics_list(struct cli *c, int argc, char **argv)
{
	json_t *a;

	(void)argc, (void)argv;
	if (c->out == OUT_JSON || c->out == OUT_RAW) {
		a = json_array();
		for (size_t i = 0; i < NSECTIONS; i++)
			json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "type", sections[i].name,
							   "title", sections[i].title, "description",
							   sections[i].help));
		if (c->out == OUT_JSON)
			print_json(a, 2, true);
		else
			print_yaml(a);
		json_decref(a);
		return EXIT_OK;
	}
	{
		struct table t;
		static const char *const hdr[] = { "Type", "Title", "Description" };

		table_init(&t, 3, hdr);
		for (size_t i = 0; i < NSECTIONS; i++) {
			const char *row[] = { sections[i].name, sections[i].title, sections[i].help };

			table_add(&t, row);
		}
		table_print(&t, false);
		table_free(&t);
	}
	return EXIT_OK;
}

static int metrics_show(struct cli *c, int argc, char **argv)
{
	int first;
	const char *url = url_opt(argc, argv, &first);
	char **names = calloc((size_t)argc + 1, sizeof(*names));
	int n = 0, ret;

	if (!names)
		return EXIT_FATAL;
	for (int i = first; i < argc; i++) {
		if (!strcmp(argv[i], "-u") || !strcmp(argv[i], "--url")) {
			i++;
			continue;
		}
		if (!strncmp(argv[i], "-", 1))
			continue;
		names[n++] = argv[i];
	}
	ret = show(c, url, names, n);
	free(names);
	return ret;
}

static const struct verb metrics_verbs[] = {
	{ "list", NULL, metrics_list, "List available types of metrics", "[flags]", NULL },
	{ "show", NULL, metrics_show, "Show selected metrics", "[type]... [flags]",
	  "  -u, --url string      Metrics url (http://<ip>:<port>/metrics)\n" },
};

int cmd_metrics(struct cli *c, int argc, char **argv)
{
	int first;
	const char *url = url_opt(argc, argv, &first);

	if (first < argc && (!strcmp(argv[first], "-h") || !strcmp(argv[first], "--help"))) {
		printf("Fetch metrics from a Local API server and display them\n\nUsage:\n"
		       "  cscli metrics [flags]\n  cscli metrics [command]\n\nAvailable Commands:\n"
		       "  list         List available types of metrics\n"
		       "  show         Show selected metrics\n\nFlags:\n"
		       "  -h, --help            help for metrics\n"
		       "      --no-unit         Show the real number instead of formatted with units\n"
		       "  -u, --url string      Prometheus url (http://<ip>:<port>/metrics)\n");
		return EXIT_OK;
	}
	if (first < argc)
		return cli_run_verbs(c, "metrics", "Fetch metrics from a Local API server and display them",
				     metrics_verbs, sizeof(metrics_verbs) / sizeof(metrics_verbs[0]),
				     argc - first + 1, argv + first - 1);
	if (cli_load_config(c))
		return EXIT_FATAL;
	return show(c, url, NULL, 0);
}
