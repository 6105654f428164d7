// SPDX-License-Identifier: MIT
/* cscli alerts list|inspect|delete and cscli lapi status, through the LAPI. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "cscli/cscli.h"

/* One " - Label : value[:value2]" line of alerts inspect, the values escaped. */
static void field(const char *label, const char *v, const char *v2)
{
	fputs(label, stdout);
	term_puts(v, stdout);
	if (v2) {
		putchar(':');
		term_puts(v2, stdout);
	}
	putchar('\n');
}

/* "ban:1,captcha:2" in first-seen order */
static void decisions_summary(json_t *a, char *out, size_t len)
{
	json_t *counts = json_object(), *d;
	const char *k;
	json_t *v;
	size_t i, o = 0;

	json_array_foreach(json_object_get(a, "decisions"), i, d) {
		json_t *c = json_object_get(counts, jstr(d, "type"));

		json_object_set_new(counts, jstr(d, "type"),
				    json_integer(c ? json_integer_value(c) + 1 : 1));
	}
	out[0] = '\0';
	json_object_foreach(counts, k, v) {
		int n = snprintf(out + o, len - o, "%s%s:%lld", o ? "," : "", k,
				 (long long)json_integer_value(v));

		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
	json_decref(counts);
}

static int alerts_list(struct cli *c, int argc, char **argv)
{
	static const struct cli_flag *const flags[] = {
		&cf_all,   &cf_until, &cf_since, &cf_ip,	&cf_scenario,
		&cf_range, &cf_decision_type, &cf_scope, &cf_value, &cf_contained,
		&cf_machine, &cf_limit,
	};
	struct cli_args args = { .limit = "50" };
	json_t *alerts, *a;
	size_t i;
	int ret = cli_alerts_get(c, argc, argv, flags, sizeof(flags) / sizeof(flags[0]), false,
				 "Unable to list alerts : ", &args, &alerts);

	if (ret || !alerts)
		return ret;
	if (c->out == OUT_RAW)
		printf("id,scope,value,reason,country,as,decisions,created_at%s\n",
		       args.machine ? ",machine" : "");
	static const char *const hdr[] = { "ID", "value",     "reason",	    "country",
					   "as", "decisions", "created_at", "machine" };
	struct table t;

	table_init(&t, args.machine ? 8 : 7, hdr);
	json_array_foreach(alerts, i, a) {
		json_t *src = json_object_get(a, "source");
		char id[32], sv[512], as[256], dec[256];

		snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(a, "id")));
		snprintf(sv, sizeof(sv), "%s:%s", jstr(src, "scope"), jstr(src, "value"));
		source_as(src, as, sizeof(as));
		decisions_summary(a, dec, sizeof(dec));
		if (c->out == OUT_RAW) {
			csv_field(id, false);
			csv_field(jstr(src, "scope"), false);
			csv_field(jstr(src, "value"), false);
			csv_field(jstr(a, "scenario"), false);
			csv_field(jstr(src, "cn"), false);
			csv_field(as, false);
			csv_field(dec, false);
			csv_field(jstr(a, "start_at"), !args.machine);
			if (args.machine)
				csv_field(jstr(a, "machine_id"), true);
			continue;
		}
		const char *row[] = { id, sv, jstr(a, "scenario"), jstr(src, "cn"), as, dec,
				      jstr(a, "start_at"), jstr(a, "machine_id") };
		table_add(&t, row);
	}
	if (c->out == OUT_HUMAN) {
		if (t.nrows <= 1)
			printf("No active alerts\n");
		else
			table_print(&t, true);
	}
	table_free(&t);
	json_decref(alerts);
	return EXIT_OK;
}

static int cmp_meta(const void *x, const void *y)
{
	return strcmp(jstr(*(json_t *const *)x, "key"), jstr(*(json_t *const *)y, "key"));
}

/* meta items sorted by key (upstream sorts them in place) */
static json_t **sorted_meta(json_t *meta, size_t *n)
{
	json_t **v = calloc(json_array_size(meta) + 1, sizeof(*v));
	size_t i;
	json_t *m;

	*n = 0;
	json_array_foreach(meta, i, m)
		if (v)
			v[(*n)++] = m;
	if (v)
		qsort(v, *n, sizeof(*v), cmp_meta);
	return v;
}

/* The alert's context (meta whose values are JSON lists of strings), one row per value. */
static void print_context(json_t *a)
{
	static const char *const hdr[] = { "Key", "Value" };
	size_t n;
	json_t **v = sorted_meta(json_object_get(a, "meta"), &n);
	struct table t;

	if (!v || !n) {
		free(v);
		return;
	}
	printf("\n - Context  :\n");
	table_init(&t, 2, hdr);
	for (size_t i = 0; i < n; i++) {
		json_t *vals = json_loads(jstr(v[i], "value"), 0, NULL), *e;
		size_t k;

		if (!json_is_array(vals)) {
			table_add(&t, (const char *const[]){ jstr(v[i], "key"), jstr(v[i], "value") });
		} else {
			json_array_foreach(vals, k, e)
				table_add(&t, (const char *const[]){ jstr(v[i], "key"),
								      json_string_value(e) ?: "" });
		}
		json_decref(vals);
	}
	table_print(&t, true);
	table_free(&t);
	free(v);
}

/* inspect -d: every event with its meta */
static void print_events(json_t *a)
{
	static const char *const hdr[] = { "Key", "Value" };
	json_t *e;
	size_t i;

	printf("\n - Events  :\n");
	json_array_foreach(json_object_get(a, "events"), i, e) {
		size_t n;
		json_t **v = sorted_meta(json_object_get(e, "meta"), &n);
		struct table t;

		printf("\n- Date: %s\n", jstr(e, "timestamp"));
		table_init(&t, 2, hdr);
		for (size_t k = 0; v && k < n; k++)
			table_add(&t, (const char *const[]){ jstr(v[k], "key"), jstr(v[k], "value") });
		table_print(&t, true);
		table_free(&t);
		free(v);
	}
}

static int alerts_inspect(struct cli *c, int argc, char **argv)
{
	struct lapi_client *cl = NULL;
	json_t *a = NULL, *d;
	char path[64], what[128];
	size_t i;
	int ret = EXIT_FATAL;

	bool details = false;
	int nids = 0;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "-d") || !strcmp(argv[k], "--details"))
			details = true;
		else
			argv[++nids] = argv[k];
	}
	argc = nids + 1;
	if (argc < 2) {
		cli_fatal("missing alert_id");
		return EXIT_FATAL;
	}
	if (client_open(c, &cl))
		return EXIT_FATAL;
	for (int k = 1; k < argc; k++) {
		char *end;

		strtoll(argv[k], &end, 10);
		if (!*argv[k] || *end) {
			cli_fatal("bad alert id %s", argv[k]);
			goto out;
		}
		snprintf(path, sizeof(path), "/v1/alerts/%s", argv[k]);
		snprintf(what, sizeof(what), "can't find alert with id %s: ", argv[k]);
		if (client_call(cl, "GET", path, NULL, what, &a))
			goto out;
		if (c->out == OUT_JSON) {
			print_json(a, 2, true);
		} else {
			json_t *src = json_object_get(a, "source");
			static const char *const hdr[] = { "ID", "scope:value", "action", "expiration",
							   "created_at" };
			struct table t;

			printf("\n################################################################"
			       "################################\n\n");
			printf(" - ID         : %lld\n", (long long)json_integer_value(json_object_get(a, "id")));
			field(" - Date       : ", jstr(a, "created_at"), NULL);
			field(" - Machine    : ", jstr(a, "machine_id"), NULL);
			printf(" - Simulation : %s\n",
			       json_is_true(json_object_get(a, "simulated")) ? "true" : "false");
			field(" - Reason     : ", jstr(a, "scenario"), NULL);
			printf(" - Events Count : %lld\n",
			       (long long)json_integer_value(json_object_get(a, "events_count")));
			field(" - Scope:Value: ", jstr(src, "scope"), jstr(src, "value"));
			field(" - Country    : ", jstr(src, "cn"), NULL);
			field(" - AS         : ", jstr(src, "as_name"), NULL);
			field(" - Begin      : ", jstr(a, "start_at"), NULL);
			field(" - End        : ", jstr(a, "stop_at"), NULL);
			putchar('\n');
			printf(" - Active Decisions  :\n");
			table_init(&t, 5, hdr);
			json_array_foreach(json_object_get(a, "decisions"), i, d) {
				char id[32], sv[512];

				if (jstr(d, "duration")[0] == '-')
					continue; /* expired */
				snprintf(id, sizeof(id), "%lld",
					 (long long)json_integer_value(json_object_get(d, "id")));
				snprintf(sv, sizeof(sv), "%s:%s", jstr(d, "scope"), jstr(d, "value"));
				const char *row[] = { id, sv, jstr(d, "type"), jstr(d, "duration"),
						      jstr(a, "created_at") };
				table_add(&t, row);
			}
			table_print(&t, true);
			table_free(&t);
			print_context(a);
			if (details)
				print_events(a);
		}
		json_decref(a);
		a = NULL;
	}
	ret = EXIT_OK;
out:
	json_decref(a);
	client_close(cl);
	return ret;
}

static int alerts_delete(struct cli *c, int argc, char **argv)
{
	static const struct cli_flag *const flags[] = {
		&cf_scope, &cf_value, &cf_scenario, &cf_ip, &cf_range, &cf_id, &cf_all, &cf_contained,
	};
	static const struct cli_delete d = {
		.object = "alerts",
		.noun = "alert",
		.need_filter = "at least one filter or --all must be specified",
		.bad_id = "bad alert id %s",
		.fail_one = "Unable to delete alerts : ",
		.fail_many = "Unable to delete alerts : ",
		.all_query = "limit=0",
		.limit0 = true,
		.flags = flags,
		.nflags = sizeof(flags) / sizeof(flags[0]),
	};

	return cli_delete(c, &d, argc, argv);
}

static int alerts_flush(struct cli *c, int argc, char **argv)
{
	const char *max_items_s = NULL, *max_age_s = NULL;
	const struct cli_opt opts[] = { { "max-items", 0, .str = &max_items_s },
					{ "max-age", 0, .str = &max_age_s } };
	long max_items = 5000, n = 0;
	int64_t max_age = 0;
	struct cs_db *db;
	char *end;
	int err = CLI_GETOPT(argc, argv, opts);

	if (err)
		return err;
	if (max_items_s) {
		max_items = strtol(max_items_s, &end, 10);
		if (*end || max_items < 0) {
			cli_fatal("invalid --max-items '%s'", max_items_s);
			return EXIT_FATAL;
		}
	}
	if (max_age_s && (gotime_parse_duration_days(max_age_s, &max_age) || max_age < 0)) {
		cli_fatal("invalid --max-age '%s'", max_age_s);
		return EXIT_FATAL;
	}
	if (cli_open_db(c, &db))
		return EXIT_FATAL;
	cli_info("Flushing alerts. !! This may take a long time !!");
	err = cs_db_flush(db, max_age ? gotime_now() - max_age : 0, max_items, &n);
	cs_db_close(db);
	if (err) {
		cli_fatal("unable to flush alerts: %s", strerror(-err));
		return EXIT_FATAL;
	}
	cli_info("Alerts flushed");
	return EXIT_OK;
}

static const struct verb alert_verbs[] = {
	{ "list", NULL, alerts_list, "List alerts", "[filters] [flags]",
	  "  -a, --all             Include decisions from Central API\n"
	  "      --until string    restrict to alerts older than until (ie. 4h, 30d)\n"
	  "      --since string    restrict to alerts newer than since (ie. 4h, 30d)\n"
	  "  -i, --ip string       restrict to alerts from this source ip (shorthand for --scope ip --value <IP>)\n"
	  "  -s, --scenario string the scenario (ie. crowdsecurity/ssh-bf)\n"
	  "  -r, --range string    restrict to alerts from this range (shorthand for --scope range --value <RANGE/X>)\n"
	  "      --type string     restrict to alerts with given decision type (ie. ban, captcha)\n"
	  "      --scope string    restrict to alerts of this scope (ie. ip,range)\n"
	  "  -v, --value string    the value to match for in the specified scope\n"
	  "      --contained       query decisions contained by range\n"
	  "  -m, --machine         print machines that sent alerts\n"
	  "  -l, --limit int       limit size of alerts list table (0 to view all alerts) (default 50)\n" },
	{ "inspect", NULL, alerts_inspect, "Show info about an alert", "ALERT_ID [ALERT_ID...]",
	  "  -d, --details         show alerts with events\n" },
	{ "flush", NULL, alerts_flush, "Flush alerts", "[flags]",
	  "      --max-items int   Maximum number of alert items to keep in the database (default 5000)\n"
	  "      --max-age string  Maximum age of alert items to keep in the database\n" },
	{ "delete", "remove", alerts_delete, "Delete alerts", "[filters] [--all] [flags]",
	  "      --scope string    the scope (ie. ip,range)\n"
	  "  -v, --value string    the value to match for in the specified scope\n"
	  "  -s, --scenario string the scenario (ie. crowdsecurity/ssh-bf)\n"
	  "  -i, --ip string       Source ip (shorthand for --scope ip --value <IP>)\n"
	  "  -r, --range string    Range source ip (shorthand for --scope range --value <RANGE>)\n"
	  "      --id string       alert ID\n"
	  "  -a, --all             delete all alerts\n"
	  "      --contained       query decisions contained by range\n" },
};

int cmd_alerts(struct cli *c, int argc, char **argv)
{
	return CLI_RUN_VERBS(c, "alerts", "Manage alerts", alert_verbs, argc, argv);
}

static int lapi_status(struct cli *c, int argc, char **argv)
{
	struct lapi_client *cl = NULL;

	cli_info("Loaded credentials from %s", c->cfg.credentials_path);
	if (client_open(c, &cl))
		return EXIT_FATAL;
	cli_info("Trying to authenticate with username %s on %s/", client_login(cl),
		 client_url(cl));
	cli_info("You can successfully interact with Local API (LAPI)");
	client_close(cl);
	return EXIT_OK;
}

static const struct verb lapi_verbs[] = {
	{ "status", NULL, lapi_status, "Check authentication to Local API (LAPI)", "[flags]", NULL },
};

int cmd_lapi(struct cli *c, int argc, char **argv)
{
	return CLI_RUN_VERBS(c, "lapi", "Manage interaction with Local API (LAPI)",
			     lapi_verbs, argc, argv);
}
