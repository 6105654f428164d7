// SPDX-License-Identifier: MIT
/*
 * cscli decisions list|add|delete: through the LAPI over HTTP as a machine,
 * sending exactly what 1.4.6 sends (contract 11.4).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/gotime.h"
#include "cscli/cscli.h"

static int decisions_add(struct cli *c, int argc, char **argv)
{
	const char *ip = NULL, *range = NULL, *dur = "4h", *value = NULL, *scope = "Ip",
		   *reason = NULL, *type = "ban";
	const struct cli_opt opts[] = {
		{ "ip", 'i', .str = &ip, .valid = cli_valid_ip },
		{ "range", 'r', .str = &range, .valid = cli_valid_range },
		{ "duration", 'd', .str = &dur },
		{ "value", 'v', .str = &value },
		{ "scope", 0, .str = &scope },
		{ "reason", 'R', .str = &reason },
		{ "type", 't', .str = &type },
	};
	char now_s[GOTIME_STRLEN], reason_buf[512], *body = NULL;
	struct lapi_client *cl = NULL;
	int64_t d;
	json_t *alert;
	int ret = CLI_GETOPT(argc, argv, opts);

	if (ret)
		return ret;
	ret = EXIT_FATAL;
	/* --ip and --range are shorthands for a scope and its value; --range wins */
	if (ip)
		value = ip, scope = "Ip";
	if (range)
		value = range, scope = "Range";
	if (!value) {
		cli_fatal("Missing arguments, a value is required (--ip, --range or --scope and"
			  " --value)");
		return EXIT_FATAL;
	}
	scope = cs_scope_normalize(scope);
	if (gotime_parse_duration_days(dur, &d)) {
		cli_fatal("invalid duration '%s'", dur);
		return EXIT_FATAL;
	}
	if (client_open(c, &cl))
		return EXIT_FATAL;
	if (!strcmp(scope, "Ip") || !strcmp(scope, "Range")) {
		char *why = NULL;

		/* the LAPI drops it anyway: say so instead of "successfully added" */
		if (allowlist_check(cl, value, &why) == 1) {
			cli_fatal("%s is allowlisted by item %s: remove it from the allowlist to add a "
				  "decision", value, why);
			free(why);
			client_close(cl);
			return EXIT_FATAL;
		}
	}
	if (!reason) {
		snprintf(reason_buf, sizeof(reason_buf), "manual '%s' from '%s'", type,
			 client_login(cl));
		reason = reason_buf;
	}
	gotime_format_rfc3339(gotime_now(), now_s, sizeof(now_s));
	alert = json_pack("[{s:i,s:s,s:[{s:s,s:s,s:s,s:s,s:s,s:s}],s:[],s:i,s:n,s:s,s:s,s:s,s:s,"
			  "s:s,s:b,s:{s:s,s:s,s:s},s:s,s:s}]",
			  "capacity", 0, "created_at", now_s, "decisions", "duration", dur, "origin",
			  "cscli", "scenario", reason, "scope", scope, "type", type, "value", value,
			  "events", "events_count", 1, "labels", "leakspeed", "0", "message", reason,
			  "scenario", reason, "scenario_hash", "", "scenario_version", "", "simulated",
			  0, "source", "ip", value, "scope", scope, "value", value, "start_at", now_s,
			  "stop_at", now_s);
	body = alert ? json_dumps(alert, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(alert);
	if (body && !client_call(cl, "POST", "/v1/alerts", body, "Unable to add decision : ", NULL)) {
		cli_info("Decision successfully added");
		ret = EXIT_OK;
	}
	free(body);
	client_close(cl);
	return ret;
}

static int decisions_delete(struct cli *c, int argc, char **argv)
{
	static const struct cli_flag *const flags[] = {
		&cf_ip_checked, &cf_range_checked, &cf_type_t, &cf_value, &cf_scenario, &cf_id,
		&cf_all_long, &cf_contained_flag,
	};
	static const struct cli_delete d = {
		.object = "decisions",
		.noun = "decision",
		.need_filter = "At least one filter or --all must be specified",
		.bad_id = "id '%s' is not an integer",
		.fail_one = "Unable to delete decision : ",
		.fail_many = "Unable to delete decisions : ",
		.all_query = "",
		.flags = flags,
		.nflags = sizeof(flags) / sizeof(flags[0]),
	};

	return cli_delete(c, &d, argc, argv);
}

static int decisions_list(struct cli *c, int argc, char **argv)
{
	static const struct cli_flag *const flags[] = {
		&cf_all,   &cf_since, &cf_until,  &cf_decision_type_t, &cf_scope, &cf_value,
		&cf_scenario, &cf_ip, &cf_range, &cf_origin, &cf_limit, &cf_no_simu, &cf_machine,
		&cf_contained,
	};
	struct cli_args args = { .limit = "100" };
	json_t *alerts, *a, *d;
	size_t i, k, skipped = 0;
	int ret = cli_alerts_get(c, argc, argv, flags, sizeof(flags) / sizeof(flags[0]), true,
				 "Unable to list decisions : ", &args, &alerts);

	if (ret || !alerts)
		return ret;
	/* flatten, skipping duplicate simulated:type:scope:value */
	struct table t;
	static const char *const hdr[] = { "ID",	  "Source", "Scope:Value", "Reason",
					   "Action",	  "Country", "AS",	    "Events",
					   "expiration", "Alert ID", "Machine" };
	json_t *seen = json_object();
	size_t rows = 0;

	table_init(&t, args.machine ? 11 : 10, hdr);
	if (c->out == OUT_RAW)
		printf("id,source,ip,reason,action,country,as,events_count,expiration,simulated,"
		       "alert_id%s\n", args.machine ? ",machine" : "");
	json_array_foreach(alerts, i, a) {
		json_t *src = json_object_get(a, "source");
		bool sim = json_is_true(json_object_get(a, "simulated"));

		json_array_foreach(json_object_get(a, "decisions"), k, d) {
			char key[1024], id[32], aid[32], ev[32], sv[512], as[256], action[128];

			snprintf(key, sizeof(key), "%d:%s:%s:%s", sim, jstr(d, "type"),
				 jstr(d, "scope"), jstr(d, "value"));
			if (json_object_get(seen, key)) {
				skipped++;
				continue;
			}
			json_object_set_new(seen, key, json_true());
			snprintf(id, sizeof(id), "%lld",
				 (long long)json_integer_value(json_object_get(d, "id")));
			snprintf(aid, sizeof(aid), "%lld",
				 (long long)json_integer_value(json_object_get(a, "id")));
			snprintf(ev, sizeof(ev), "%lld",
				 (long long)json_integer_value(json_object_get(a, "events_count")));
			snprintf(sv, sizeof(sv), "%s:%s", jstr(d, "scope"), jstr(d, "value"));
			source_as(src, as, sizeof(as));
			snprintf(action, sizeof(action), "%s%s", sim ? "(simul)" : "", jstr(d, "type"));
			const char *row[] = { id,  jstr(d, "origin"), sv,
					      jstr(d, "scenario"), action, jstr(src, "cn"),
					      as,  ev, jstr(d, "duration"),
					      aid, jstr(a, "machine_id") };
			if (c->out == OUT_RAW) {
				for (int f = 0; f < 9; f++)
					csv_field(row[f], false);
				csv_field(sim ? "true" : "false", false);
				csv_field(aid, !args.machine);
				if (args.machine)
					csv_field(jstr(a, "machine_id"), true);
			} else {
				table_add(&t, row);
			}
			rows++;
		}
	}
	if (c->out == OUT_HUMAN) {
		if (!rows)
			printf("No active decisions\n");
		else
			table_print(&t, true);
		if (skipped)
			printf("%zu duplicated entries skipped\n", skipped);
	}
	table_free(&t);
	json_decref(seen);
	json_decref(alerts);
	return EXIT_OK;
}

static const struct verb decision_verbs[] = {
	{ "list", NULL, decisions_list, "List decisions from LAPI", "[options] [flags]",
	  "  -a, --all             Include decisions from Central API\n"
	  "      --since string    restrict to alerts newer than since (ie. 4h, 30d)\n"
	  "      --until string    restrict to alerts older than until (ie. 4h, 30d)\n"
	  "  -t, --type string     restrict to this decision type (ie. ban,captcha)\n"
	  "      --scope string    restrict to this scope (ie. ip,range,session)\n"
	  "  -v, --value string    restrict to this value (ie. 1.2.3.4,userName)\n"
	  "  -s, --scenario string restrict to this scenario (ie. crowdsecurity/ssh-bf)\n"
	  "  -i, --ip string       restrict to alerts from this source ip (shorthand for --scope ip --value <IP>)\n"
	  "  -r, --range string    restrict to alerts from this source range (shorthand for --scope range --value <RANGE>)\n"
	  "      --origin string   the value to match for the specified origin (ie. cscli, crowdsec, ...)\n"
	  "  -l, --limit int       number of alerts to get (use 0 to remove the limit) (default 100)\n"
	  "      --no-simu         exclude decisions in simulation mode\n"
	  "  -m, --machine         print machines that triggered decisions\n"
	  "      --contained       query decisions contained by range\n" },
	{ "add", NULL, decisions_add, "Add decision to LAPI", "[options] [flags]",
	  "  -i, --ip string       Source ip (shorthand for --scope ip --value <IP>)\n"
	  "  -r, --range string    Range source ip (shorthand for --scope range --value <RANGE>)\n"
	  "  -d, --duration string Decision duration (ie. 1h,4h,30m) (default \"4h\")\n"
	  "  -v, --value string    The value (ie. --scope username --value foobar)\n"
	  "      --scope string    Decision scope (ie. ip,range,username) (default \"Ip\")\n"
	  "  -R, --reason string   Decision reason (ie. scenario-name)\n"
	  "  -t, --type string     Decision type (ie. ban,captcha,throttle) (default \"ban\")\n" },
	{ "import", NULL, decisions_import, "Import decisions from a file or pipe", "[options] [flags]",
	  "  -i, --input string    Input file\n"
	  "  -d, --duration string Decision duration: 1h,4h,30m (default \"4h\")\n"
	  "      --scope string    Decision scope: ip,range,username (default \"Ip\")\n"
	  "  -R, --reason string   Decision reason: <scenario-name> (default \"manual\")\n"
	  "  -t, --type string     Decision type: ban,captcha,throttle (default \"ban\")\n"
	  "      --batch int       Split import in batches of N decisions\n"
	  "      --format string   Input format: 'json', 'csv' or 'values' (each line is a value, no headers)\n" },
	{ "delete", "remove", decisions_delete, "Delete decisions", "[options] [flags]",
	  "  -i, --ip string       Source ip (shorthand for --scope ip --value <IP>)\n"
	  "  -r, --range string    Range source ip (shorthand for --scope range --value <RANGE>)\n"
	  "  -t, --type string     the decision type (ie. ban,captcha)\n"
	  "  -v, --value string    the value to match for in the specified scope\n"
	  "  -s, --scenario string the scenario name (ie. crowdsecurity/ssh-bf)\n"
	  "      --id string       decision id\n"
	  "      --all             delete all decisions\n"
	  "      --contained       query decisions contained by range\n" },
};

int cmd_decisions(struct cli *c, int argc, char **argv)
{
	return CLI_RUN_VERBS(c, "decisions", "Manage decisions", decision_verbs, argc, argv);
}
