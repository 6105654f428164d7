// SPDX-License-Identifier: MIT
/*
 * The web dashboard (api.server.dashboard, off by default), served by the LAPI on
 * its own listener and TLS. Its assets are in the binary (dashboard_assets.c: no
 * CDN, works offline). The login page takes a machine's credentials and keeps
 * the token in a SameSite=Strict cookie; every other dashboard route needs that
 * token (401 and nothing else without it). The page reads the LAPI's own routes
 * (/v1/alerts, DELETE /v1/decisions/{id}) and /dashboard/data: what the bouncers
 * reported dropping (usage metrics) and the detector's throughput.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "lapi/lapi_int.h"
#include "metrics/metrics.h"

extern const char lapi_dashboard_login_html[], lapi_dashboard_login_js[], lapi_dashboard_app_html[],
	lapi_dashboard_app_js[];

void h_dashboard_asset(struct req *r)
{
	static const struct {
		const char *path, *ctype, *body;
	} assets[] = {
		{ "/dashboard/login", "text/html; charset=utf-8", lapi_dashboard_login_html },
		{ "/dashboard/login.js", "text/javascript; charset=utf-8", lapi_dashboard_login_js },
		{ "/dashboard", "text/html; charset=utf-8", lapi_dashboard_app_html },
		{ "/dashboard/app.js", "text/javascript; charset=utf-8", lapi_dashboard_app_js },
	};

	if (!r->l->cfg.dashboard) {
		reply_empty(r, 404);
		return;
	}
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
		char *body;

		if (strcmp(r->url, assets[i].path))
			continue;
		body = strdup(assets[i].body);
		r->page = true;
		if (body)
			reply_raw(r, 200, assets[i].ctype, body, strlen(body));
		else
			reply_msg(r, 500, "out of memory");
		return;
	}
	reply_empty(r, 404);
}

/*
 * A machine's login from the browser: /v1/watchers/login itself, but a browser's
 * User-Agent is no "name/version" (upstream's check), so the dashboard names itself.
 */
void h_dashboard_login(struct req *r)
{
	if (!r->l->cfg.dashboard) {
		reply_empty(r, 404);
		return;
	}
	r->ua = "crowdsec-dashboard/" LAPI_VERSION;
	h_login(r);
}

/* data[origin][unit] += value over every item "dropped" of the bouncers' payloads */
static void add_drops(json_t *drops, json_t *payload)
{
	size_t i, j;
	json_t *m, *it;

	json_array_foreach(json_object_get(payload, "metrics"), i, m)
		json_array_foreach(json_object_get(m, "items"), j, it) {
			const char *name = json_string_value(json_object_get(it, "name"));
			const char *unit = json_string_value(json_object_get(it, "unit"));
			const char *origin = json_string_value(
				json_object_get(json_object_get(it, "labels"), "origin"));
			json_t *o, *v;

			if (!name || strcmp(name, "dropped") || !unit || !origin ||
			    !json_is_number(json_object_get(it, "value")))
				continue;
			if (!(o = json_object_get(drops, origin)))
				json_object_set_new(drops, origin, o = json_object());
			v = json_object_get(o, unit);
			json_object_set_new(o, unit,
					    json_integer(json_integer_value(v) +
							 (json_int_t)json_number_value(json_object_get(it, "value"))));
		}
}

/* the sum of a family's samples in a Prometheus text page */
static long long family_sum(const char *page, const char *family)
{
	size_t fl = strlen(family);
	long long sum = 0;

	for (const char *l = page; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *v;

		if (strncmp(l, family, fl) || (l[fl] != '{' && l[fl] != ' '))
			continue;
		v = strchr(l, ' ');
		if (v)
			sum += strtoll(v + 1, NULL, 10);
	}
	return sum;
}

void h_dashboard_data(struct req *r)
{
	struct cs_usage_metric *m = NULL;
	struct sbuf page = { .max = 8u << 20 };
	json_t *drops, *out;
	size_t n = 0;

	if (!lapi_journal_read_ready(r)) /* what was acknowledged before is visible, or 503 */
		return;
	if (!r->l->cfg.dashboard) {
		reply_empty(r, 404);
		return;
	}
	drops = json_object();
	if (!cs_db_usage_metrics_list(r->l->db, "RC", &m, &n))
		for (size_t i = 0; i < n; i++) {
			json_t *p = json_loads(m[i].payload, 0, NULL);

			add_drops(drops, p);
			json_decref(p);
		}
	cs_usage_metrics_free(m, n);
	cs_dmetrics_render(&page);
	out = json_pack("{s:s,s:o,s:{s:I,s:I,s:I,s:I}}", "machine", r->machine, "bouncer_drops", drops,
			"detector", "lines_read",
			(json_int_t)(family_sum(page.buf, "cs_filesource_hits_total") +
				     family_sum(page.buf, "cs_journalctlsource_hits_total")),
			"lines_parsed", (json_int_t)family_sum(page.buf, "cs_parser_hits_ok_total"),
			"lines_unparsed", (json_int_t)family_sum(page.buf, "cs_parser_hits_ko_total"),
			"overflows", (json_int_t)family_sum(page.buf, "cs_bucket_overflowed_total"));
	sb_free(&page);
	reply_json(r, 200, out);
}
