// SPDX-License-Identifier: MIT
/*
 * `cscli metrics show bouncers`: the usage metrics bouncers sent to
 * POST /v1/usage-metrics, read from the database as upstream does, aggregated as
 * upstream does (over time: counters summed, gauges - active_decisions and
 * *_gauge - last value; then over ip_type; then over origin for the totals),
 * and drawn as upstream's table: one per bouncer, a column per metric and unit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/strbuf.h"
#include "common/vec.h"
#include "cscli/cscli.h"
#include "cscli/metrics_bouncers.h"
#include "db/db.h"

struct raw {
	int64_t at;
	const char *bouncer, *ip_type, *origin, *name, *unit; /* point into the parsed payloads */
	double value;
};

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

/* by time, then everything else so that duplicates end up side by side */
static int raw_cmp(const void *pa, const void *pb)
{
	const struct raw *a = pa, *b = pb;
	int c;

	if (a->at != b->at)
		return a->at < b->at ? -1 : 1;
	if ((c = cmp_str(a->bouncer, b->bouncer)) || (c = cmp_str(a->origin, b->origin)) ||
	    (c = cmp_str(a->name, b->name)) || (c = cmp_str(a->unit, b->unit)) ||
	    (c = cmp_str(a->ip_type, b->ip_type)))
		return c;
	return a->value < b->value ? -1 : a->value > b->value;
}

static bool is_gauge(const char *name)
{
	size_t n = strlen(name);

	return !strcmp(name, "active_decisions") || (n >= 6 && !strcmp(name + n - 6, "_gauge"));
}

static json_t *child(json_t *o, const char *k)
{
	json_t *c = json_object_get(o, k);

	if (!c)
		json_object_set_new(o, k, c = json_object());
	return c;
}

static void add_int(json_t *o, const char *k, int64_t v, bool set)
{
	json_t *x = json_object_get(o, k);

	json_object_set_new(o, k, json_integer(set || !x ? v : json_integer_value(x) + v));
}

/* The items of every payload, de-duplicated (a bouncer may send the same twice). */
static int raws_of(json_t *payloads, struct raw **out, size_t *n, json_t *oldest)
{
	struct raw *v = NULL;
	size_t cap = 0, k = 0, i, j, m;
	json_t *p, *dm, *it;

	*n = 0;
	json_array_foreach(payloads, i, p) {
		const char *by = json_string_value(json_object_get(p, "by"));

		json_array_foreach(json_object_get(json_object_get(p, "payload"), "metrics"), j, dm) {
			json_t *ts = json_object_get(json_object_get(dm, "meta"), "utc_now_timestamp");
			json_t *old = json_object_get(oldest, by);

			if (!json_is_integer(ts))
				continue;
			if (!old || json_integer_value(ts) < json_integer_value(old))
				json_object_set_new(oldest, by, json_integer(json_integer_value(ts)));
			json_array_foreach(json_object_get(dm, "items"), m, it) {
				json_t *labels = json_object_get(it, "labels");

				if (!json_is_string(json_object_get(it, "name")) ||
				    !json_is_string(json_object_get(it, "unit")) ||
				    !json_is_number(json_object_get(it, "value")))
					continue;
				if (vec_reserve((void **)&v, &cap, k, sizeof(*v), 64)) {
					free(v);
					return -1;
				}
				v[k++] = (struct raw){
					.at = json_integer_value(ts),
					.bouncer = by,
					.ip_type = json_string_value(json_object_get(labels, "ip_type")),
					.origin = json_string_value(json_object_get(labels, "origin")),
					.name = json_string_value(json_object_get(it, "name")),
					.unit = json_string_value(json_object_get(it, "unit")),
					.value = json_number_value(json_object_get(it, "value")),
				};
			}
		}
	}
	if (k)
		qsort(v, k, sizeof(*v), raw_cmp);
	for (i = 0; i < k; i++)
		if (!*n || raw_cmp(&v[*n - 1], &v[i]))
			v[(*n)++] = v[i];
	*out = v;
	return 0;
}

int metrics_bouncers_collect(struct cli *c, json_t **agg, json_t **oldest)
{
	struct cs_usage_metric *m = NULL;
	json_t *payloads = json_array(), *over_time = json_object();
	struct cs_db *db = NULL;
	struct raw *raw = NULL;
	size_t n = 0, nraw = 0;
	const char *b, *o, *name, *unit;
	json_t *bv, *ov, *nv, *uv, *tv;
	int ret = -1;

	*agg = json_object();
	*oldest = json_object();
	if (!payloads || !over_time || !*agg || !*oldest)
		goto out;
	if (cli_open_db(c, &db))
		goto out;
	if (cs_db_usage_metrics_list(db, "RC", &m, &n)) {
		cli_fatal("unable to fetch metrics: %s", cs_db_errmsg(db));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *p = json_loads(m[i].payload, 0, NULL);

		if (!p) {
			cli_log("warning", "while parsing metrics for %s: not JSON", m[i].generated_by);
			continue;
		}
		json_array_append_new(payloads, json_pack("{s:s,s:o}", "by", m[i].generated_by,
							  "payload", p));
	}
	if (raws_of(payloads, &raw, &nraw, *oldest))
		goto out;
	/* over time: [bouncer][origin][name][unit][ip_type] */
	for (size_t i = 0; i < nraw; i++) {
		const struct raw *r = &raw[i];

		add_int(child(child(child(child(over_time, r->bouncer), r->origin ? r->origin : ""),
				    r->name),
			      r->unit),
			r->ip_type ? r->ip_type : "", (int64_t)r->value, is_gauge(r->name));
	}
	/* over ip_type: [bouncer][origin][name][unit] */
	json_object_foreach(over_time, b, bv)
		json_object_foreach(bv, o, ov)
			json_object_foreach(ov, name, nv)
				json_object_foreach(nv, unit, uv) {
					const char *ip;

					json_object_foreach(uv, ip, tv)
						add_int(child(child(child(*agg, b), o), name), unit,
							json_integer_value(tv), false);
				}
	ret = 0;
out:
	free(raw);
	cs_usage_metrics_free(m, n);
	json_decref(payloads);
	json_decref(over_time);
	cs_db_close(db);
	return ret;
}

/* upstream's formatNumber: 3800 -> "3.80k" */
static void format_number(int64_t v, bool with_unit, char *buf, size_t len)
{
	static const struct {
		double value;
		const char *symbol;
	} ranges[] = { { 1e18, "E" }, { 1e15, "P" }, { 1e12, "T" }, { 1e9, "G" }, { 1e6, "M" },
		       { 1e3, "k" } };

	if (with_unit)
		for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
			if ((double)v >= ranges[i].value) {
				snprintf(buf, len, "%.2f%s", round((double)v / ranges[i].value * 100) / 100,
					 ranges[i].symbol);
				return;
			}
	snprintf(buf, len, "%lld", (long long)v);
}

static const char *plural(const char *unit)
{
	return !strcmp(unit, "byte") ? "bytes" : !strcmp(unit, "packet") ? "packets"
					     : !strcmp(unit, "ip")	? "IPs"
									: unit;
}

static const char *origin_label(const char *origin, char *buf, size_t len)
{
	const char *what = !strcmp(origin, "CAPI")	 ? "community blocklist"
			   : !strcmp(origin, "cscli")	 ? "manual decisions"
			   : !strcmp(origin, "crowdsec") ? "security engine"
							 : NULL;

	if (!what)
		return origin;
	snprintf(buf, len, "%s (%s)", origin, what);
	return buf;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the keys of o, sorted (the caller frees the array, not the strings) */
static const char **sorted_keys(json_t *o, size_t *n)
{
	const char **k = calloc(json_object_size(o) + 1, sizeof(*k)), *key;
	json_t *v;

	*n = 0;
	json_object_foreach(o, key, v)
		if (k)
			k[(*n)++] = key;
	if (k && *n)
		qsort(k, *n, sizeof(*k), cmp_key);
	return k;
}

struct col {
	const char *name, *unit; /* metric name (without _gauge), unit as shown */
	const char *key_name, *key_unit;
	size_t w;
	bool group_start;
	size_t span; /* on a group's first column: the width of the merged header */
};

static void pad(struct sbuf *sb, char ch, size_t n)
{
	while (n--)
		sb_putc(sb, ch);
}

static void cell(struct sbuf *sb, const char *s, size_t w, char align)
{
	size_t l = strlen(s), left = 0;

	if (l < w)
		left = align == 'l' ? 0 : align == 'r' ? w - l : (w - l + 1) / 2;
	pad(sb, ' ', left);
	sb_puts(sb, s);
	pad(sb, ' ', l < w ? w - l - left : 0);
}

static void rule(struct sbuf *sb, size_t w0, const struct col *c, size_t nc, bool merged)
{
	sb_putc(sb, '+');
	pad(sb, '-', w0 + 2);
	for (size_t i = 0; i < nc; i++) {
		if (!merged || c[i].group_start)
			sb_putc(sb, '+');
		else
			sb_putc(sb, '-');
		pad(sb, '-', c[i].w + 2);
	}
	sb_puts(sb, "+\n");
}

static char *esc(const char *s)
{
	char *e = term_escape(s);

	return e ? e : strdup("?");
}

static void bouncer_table(const char *bouncer, json_t *by_origin, json_t *oldest, bool no_unit)
{
	json_t *totals = json_object(), *ov, *nv, *uv;
	const char *o, *name, *unit;
	struct col *cols = NULL;
	size_t ncols = 0, cols_cap = 0, norigins = 0, nnames, w0 = strlen("Origin"), total_w;
	const char **origins = sorted_keys(by_origin, &norigins), **names;
	struct sbuf sb = { 0 };
	char buf[128], title[512], when[64], *e;
	time_t since = (time_t)json_integer_value(json_object_get(oldest, bouncer));
	struct tm tm;

	json_object_foreach(by_origin, o, ov)
		json_object_foreach(ov, name, nv)
			json_object_foreach(nv, unit, uv)
				add_int(child(totals, name), unit, json_integer_value(uv), false);
	names = sorted_keys(totals, &nnames);
	for (size_t i = 0; names && i < nnames; i++) {
		size_t nunits, span = 0, first = ncols;
		const char **units = sorted_keys(json_object_get(totals, names[i]), &nunits);
		size_t nl = strlen(names[i]) >= 6 && !strcmp(names[i] + strlen(names[i]) - 6, "_gauge")
				    ? strlen(names[i]) - 6
				    : strlen(names[i]);

		for (size_t u = 0; units && u < nunits; u++) {
			if (vec_reserve((void **)&cols, &cols_cap, ncols, sizeof(*cols), 8))
				break;
			cols[ncols] = (struct col){ .name = names[i], .key_name = names[i],
						    .key_unit = units[u], .unit = plural(units[u]),
						    .group_start = u == 0 };
			cols[ncols].w = strlen(cols[ncols].unit);
			ncols++;
		}
		free(units);
		/* widths: values and totals */
		for (size_t k = first; k < ncols; k++) {
			format_number(json_integer_value(json_object_get(
					      json_object_get(totals, cols[k].key_name), cols[k].key_unit)),
				      !no_unit, buf, sizeof(buf));
			if (strlen(buf) > cols[k].w)
				cols[k].w = strlen(buf);
			for (size_t r = 0; r < norigins; r++) {
				json_t *v = json_object_get(
					json_object_get(json_object_get(by_origin, origins[r]), cols[k].key_name),
					cols[k].key_unit);

				format_number(json_integer_value(v), !no_unit, buf, sizeof(buf));
				if (v && strlen(buf) > cols[k].w)
					cols[k].w = strlen(buf);
			}
			span += cols[k].w + (k > first ? 3 : 0);
		}
		if (ncols > first) {
			if (nl > span) { /* a long metric name widens its last unit column */
				cols[ncols - 1].w += nl - span;
				span = nl;
			}
			cols[first].span = span;
		}
	}
	for (size_t r = 0; r < norigins; r++) {
		if (!*origins[r])
			continue;
		e = esc(origin_label(origins[r], buf, sizeof(buf)));
		if (strlen(e) > w0)
			w0 = strlen(e);
		free(e);
	}
	total_w = w0 + 4;
	for (size_t k = 0; k < ncols; k++)
		total_w += cols[k].w + 3;
	if (!ncols)
		goto out;
	gmtime_r(&since, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
	e = esc(bouncer);
	snprintf(title, sizeof(title), "Bouncer Metrics (%s) since %s", e, when);
	free(e);
	/* the title box, wrapped at the table's inner width as go-pretty does */
	sb_putc(&sb, '+');
	pad(&sb, '-', total_w - 2);
	sb_puts(&sb, "+\n");
	for (size_t off = 0, tl = strlen(title), inner = total_w - 4; off < tl; off += inner) {
		char chunk[512];

		snprintf(chunk, sizeof(chunk), "%.*s", (int)inner, title + off);
		sb_puts(&sb, "| ");
		cell(&sb, chunk, inner, 'l');
		sb_puts(&sb, " |\n");
	}
	rule(&sb, w0, cols, ncols, true);
	sb_puts(&sb, "| ");
	cell(&sb, "Origin", w0, 'l');
	for (size_t k = 0; k < ncols; k++) {
		char nm[256];

		if (!cols[k].group_start)
			continue;
		snprintf(nm, sizeof(nm), "%s", cols[k].name);
		if (strlen(nm) >= 6 && !strcmp(nm + strlen(nm) - 6, "_gauge"))
			nm[strlen(nm) - 6] = '\0';
		e = esc(nm);
		sb_puts(&sb, " | ");
		cell(&sb, e, cols[k].span, 'c');
		free(e);
	}
	sb_puts(&sb, " |\n| ");
	cell(&sb, "", w0, 'l');
	for (size_t k = 0; k < ncols; k++) {
		e = esc(cols[k].unit);
		sb_puts(&sb, " | ");
		cell(&sb, e, cols[k].w, 'c');
		free(e);
	}
	sb_puts(&sb, " |\n");
	rule(&sb, w0, cols, ncols, false);
	norigins -= json_object_get(by_origin, "") ? 1 : 0; /* "" sorts first: no row, totals only */
	for (size_t r = 0; r < norigins; r++) {
		const char *orig = origins[r + (json_object_get(by_origin, "") ? 1 : 0)];
		json_t *ro = json_object_get(by_origin, orig);

		e = esc(origin_label(orig, buf, sizeof(buf)));
		sb_puts(&sb, "| ");
		cell(&sb, e, w0, 'l');
		free(e);
		for (size_t k = 0; k < ncols; k++) {
			json_t *v = json_object_get(json_object_get(ro, cols[k].key_name), cols[k].key_unit);

			if (v)
				format_number(json_integer_value(v), !no_unit, buf, sizeof(buf));
			else
				strcpy(buf, "-");
			sb_puts(&sb, " | ");
			cell(&sb, buf, cols[k].w, 'r');
		}
		sb_puts(&sb, " |\n");
	}
	if (norigins)
		rule(&sb, w0, cols, ncols, false);
	sb_puts(&sb, "| ");
	cell(&sb, "Total", w0, 'r');
	for (size_t k = 0; k < ncols; k++) {
		format_number(json_integer_value(json_object_get(json_object_get(totals, cols[k].key_name),
								 cols[k].key_unit)),
			      !no_unit, buf, sizeof(buf));
		sb_puts(&sb, " | ");
		cell(&sb, buf, cols[k].w, 'r');
	}
	sb_puts(&sb, " |\n");
	rule(&sb, w0, cols, ncols, false);
	if (sb.buf)
		fputs(sb.buf, stdout);
out:
	sb_free(&sb);
	free(cols);
	free(origins);
	free(names);
	json_decref(totals);
}

void metrics_bouncers_print(json_t *agg, json_t *oldest, bool no_unit, bool show_empty)
{
	size_t n;
	const char **b = sorted_keys(agg, &n);

	for (size_t i = 0; b && i < n; i++)
		bouncer_table(b[i], json_object_get(agg, b[i]), oldest, no_unit);
	if (!n && show_empty)
		printf("No bouncer metrics found.\n");
	free(b);
}
