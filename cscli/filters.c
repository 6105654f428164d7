// SPDX-License-Identifier: MIT
/*
 * The flags of cscli alerts|decisions list|delete: the filter flags, each a LAPI
 * query argument, defined once here; a verb lists the flags it takes (its own
 * ones, without a query key, come back to it). The shorthands follow 1.4.6.
 */
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "common/ipaddr.h"
#include "cscli/cscli.h"

bool cli_valid_ip(const char *s)
{
	struct cs_prefix p;

	return !cs_addr_parse(s, &p);
}

/* net.ParseCIDR: a length is required, host bits are masked */
bool cli_valid_range(const char *s)
{
	struct cs_prefix p;

	return strchr(s, '/') && !cs_prefix_parse(s, CS_PREFIX_MASK, &p);
}

/* the verb's own flags */
const struct cli_flag cf_all = { "all", 'a', no_argument, .own = CLI_OWN_ALL };
const struct cli_flag cf_all_long = { "all", 0, no_argument, .own = CLI_OWN_ALL };
const struct cli_flag cf_id = { "id", 0, required_argument, .own = CLI_OWN_ID };
const struct cli_flag cf_limit = { "limit", 'l', required_argument, .own = CLI_OWN_LIMIT };
const struct cli_flag cf_machine = { "machine", 'm', no_argument, .own = CLI_OWN_MACHINE };
/* decisions delete: --contained alone is no filter (1.4.6), the verb adds it after */
const struct cli_flag cf_contained_flag = { "contained", 0, no_argument,
					    .own = CLI_OWN_CONTAINED };

/* filters: flag -> query key (the argument, or a fixed value) */
const struct cli_flag cf_since = { "since", 0, required_argument, .key = "since" };
const struct cli_flag cf_until = { "until", 0, required_argument, .key = "until" };
const struct cli_flag cf_ip = { "ip", 'i', required_argument, .key = "ip" };
const struct cli_flag cf_ip_checked = { "ip", 'i', required_argument, .key = "ip",
					.valid = cli_valid_ip };
const struct cli_flag cf_range = { "range", 'r', required_argument, .key = "range" };
const struct cli_flag cf_range_checked = { "range", 'r', required_argument, .key = "range",
					   .valid = cli_valid_range };
const struct cli_flag cf_scenario = { "scenario", 's', required_argument, .key = "scenario" };
const struct cli_flag cf_scope = { "scope", 0, required_argument, .key = "scope" };
const struct cli_flag cf_value = { "value", 'v', required_argument, .key = "value" };
const struct cli_flag cf_origin = { "origin", 0, required_argument, .key = "origin" };
/* list: the type of the alert's decisions; decisions delete: the decision's own */
const struct cli_flag cf_decision_type = { "type", 0, required_argument, .key = "decision_type" };
const struct cli_flag cf_decision_type_t = { "type", 't', required_argument,
					     .key = "decision_type" };
const struct cli_flag cf_type_t = { "type", 't', required_argument, .key = "type" };
const struct cli_flag cf_contained = { "contained", 0, no_argument, .key = "contains",
				       .value = "false" };
const struct cli_flag cf_no_simu = { "no-simu", 0, no_argument, .key = "simulated",
				     .value = "false" };

/* getopt_long's tables, built from a verb's flags; a flag answers by its index + 256. */
struct getopt_tab {
	struct option opts[CLI_MAX_FLAGS + 1];
	char shorts[2 * CLI_MAX_FLAGS + 2];
	int short_of[CLI_MAX_FLAGS]; /* the shorthand of flag i, 0: none */
	size_t n, nshort;
	bool started;
};

static void getopt_add(struct getopt_tab *g, const char *name, int short_opt, bool arg)
{
	if (g->n >= CLI_MAX_FLAGS)
		return;
	g->opts[g->n] = (struct option){ name, arg ? required_argument : no_argument, NULL,
					 256 + (int)g->n };
	g->short_of[g->n++] = short_opt;
	if (short_opt) {
		g->shorts[g->nshort++] = (char)short_opt;
		if (arg)
			g->shorts[g->nshort++] = ':';
	}
}

/* The index of the next flag, -1 at the end, -2 for one getopt refused (it said why). */
static int getopt_next(struct getopt_tab *g, int argc, char **argv)
{
	int opt;

	if (!g->started) {
		g->started = true;
		optind = 1;
	}
	opt = getopt_long(argc, argv, g->shorts, g->opts, NULL);
	if (opt == -1)
		return -1;
	for (size_t i = 0; i < g->n; i++)
		if (opt == 256 + (int)i || (g->short_of[i] && opt == g->short_of[i]))
			return (int)i;
	return -2;
}

static bool refused(bool (*valid)(const char *), const char *name)
{
	if (!valid || valid(optarg))
		return false;
	cli_fatal("%s isn't a valid %s", optarg, name);
	return true;
}

int cli_getopt(int argc, char **argv, const struct cli_opt *o, size_t n)
{
	struct getopt_tab g = { .n = 0 };
	int i;

	for (size_t k = 0; k < n; k++)
		getopt_add(&g, o[k].name, o[k].short_opt, o[k].str || o[k].takes_arg);
	while ((i = getopt_next(&g, argc, argv)) >= 0) {
		if (refused(o[i].valid, o[i].name))
			return EXIT_FATAL;
		if (o[i].str)
			*o[i].str = optarg;
		else if (o[i].set)
			*o[i].set = true;
	}
	return i == -1 ? 0 : EXIT_USAGE;
}

int cli_parse_flags(int argc, char **argv, const struct cli_flag *const *f, size_t n,
		    struct query *q, struct cli_args *a)
{
	struct getopt_tab g = { .n = 0 };
	int i;

	for (size_t k = 0; k < n; k++)
		getopt_add(&g, f[k]->name, f[k]->short_opt, f[k]->has_arg == required_argument);
	while ((i = getopt_next(&g, argc, argv)) >= 0) {
		const struct cli_flag *fl = f[i];

		if (refused(fl->valid, fl->name))
			return EXIT_FATAL;
		switch (fl->own) {
		case CLI_OWN_NONE: query_add(q, fl->key, fl->value ? fl->value : optarg); break;
		case CLI_OWN_ALL: a->all = true; break;
		case CLI_OWN_MACHINE: a->machine = true; break;
		case CLI_OWN_CONTAINED: a->contained = true; break;
		case CLI_OWN_ID: a->id = optarg; break;
		case CLI_OWN_LIMIT: a->limit = optarg; break;
		}
	}
	return i == -1 ? 0 : EXIT_USAGE;
}

int cli_delete(struct cli *c, const struct cli_delete *d, int argc, char **argv)
{
	struct lapi_client *cl = NULL;
	struct cli_args args = { 0 };
	struct query q = { 0 };
	char *qs = NULL, *path = NULL, *end;
	json_t *resp = NULL;
	const char *n;
	int ret = cli_parse_flags(argc, argv, d->flags, d->nflags, &q, &args);

	if (ret)
		goto out;
	ret = EXIT_FATAL;
	if (!args.all && !args.id && !q.n) {
		printf("\nUsage:\n  cscli %s delete [filters] [--all] [flags]\n\n", d->object);
		cli_fatal("%s", d->need_filter);
		goto out;
	}
	if (args.contained)
		query_add(&q, "contains", "false");
	if (args.id) {
		strtoll(args.id, &end, 10);
		if (!*args.id || *end) {
			cli_fatal(d->bad_id, args.id);
			goto out;
		}
		if (asprintf(&path, "/v1/%s/%s", d->object, args.id) < 0)
			goto out;
	} else {
		if (d->limit0)
			query_add(&q, "limit", "0");
		qs = query_encode(&q);
		if (!qs || asprintf(&path, "/v1/%s?%s", d->object, args.all ? d->all_query : qs) < 0)
			goto out;
	}
	if (client_open(c, &cl) ||
	    client_call(cl, "DELETE", path, NULL, args.id ? d->fail_one : d->fail_many, &resp))
		goto out;
	n = json_string_value(json_object_get(resp, "nbDeleted"));
	cli_info("%s %s(s) deleted", n ? n : "0", d->noun);
	ret = EXIT_OK;
out:
	json_decref(resp);
	free(qs);
	free(path);
	query_free(&q);
	client_close(cl);
	return ret;
}

int cli_alerts_get(struct cli *c, int argc, char **argv, const struct cli_flag *const *flags,
		   size_t nflags, bool active_only, const char *fail, struct cli_args *args,
		   json_t **alerts)
{
	struct lapi_client *cl = NULL;
	struct query q = { 0 };
	char *qs = NULL, *path = NULL;
	int ret = cli_parse_flags(argc, argv, flags, nflags, &q, args);

	*alerts = NULL;
	if (ret)
		goto out;
	ret = EXIT_FATAL;
	if (active_only)
		query_add(&q, "has_active_decision", "true");
	query_add(&q, "include_capi", args->all ? "true" : "false");
	query_add(&q, "limit", args->limit);
	qs = query_encode(&q);
	if (!qs || asprintf(&path, "/v1/alerts?%s", qs) < 0 || client_open(c, &cl) ||
	    client_call(cl, "GET", path, NULL, fail, alerts))
		goto out;
	ret = EXIT_OK;
	if (c->out == OUT_JSON) {
		print_json(*alerts, 1, false);
		json_decref(*alerts);
		*alerts = NULL;
	}
out:
	free(qs);
	free(path);
	query_free(&q);
	client_close(cl);
	return ret;
}
