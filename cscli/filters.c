// SPDX-License-Identifier: MIT
/*
 * The flags of cscli alerts|decisions list|delete: the filter flags, each a LAPI
 * query argument, defined once here; a verb lists the flags it takes (its own
 * ones, without a query key, come back to it). The shorthands follow 1.4.6.
 */
#include <getopt.h>
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

const struct cli_flag cf_all = { "all", 'a', no_argument, NULL, NULL, NULL };
const struct cli_flag cf_all_long = { "all", 0, no_argument, NULL, NULL, NULL };
const struct cli_flag cf_id = { "id", 0, required_argument, NULL, NULL, NULL };
const struct cli_flag cf_limit = { "limit", 'l', required_argument, NULL, NULL, NULL };
const struct cli_flag cf_machine = { "machine", 'm', no_argument, NULL, NULL, NULL };
const struct cli_flag cf_since = { "since", 0, required_argument, "since", NULL, NULL };
const struct cli_flag cf_until = { "until", 0, required_argument, "until", NULL, NULL };
const struct cli_flag cf_ip = { "ip", 'i', required_argument, "ip", NULL, NULL };
const struct cli_flag cf_ip_checked = { "ip", 'i', required_argument, "ip", NULL, cli_valid_ip };
const struct cli_flag cf_range = { "range", 'r', required_argument, "range", NULL, NULL };
const struct cli_flag cf_range_checked = { "range", 'r', required_argument, "range", NULL,
					   cli_valid_range };
const struct cli_flag cf_scenario = { "scenario", 's', required_argument, "scenario", NULL, NULL };
const struct cli_flag cf_scope = { "scope", 0, required_argument, "scope", NULL, NULL };
const struct cli_flag cf_value = { "value", 'v', required_argument, "value", NULL, NULL };
const struct cli_flag cf_origin = { "origin", 0, required_argument, "origin", NULL, NULL };
/* list: the type of the alert's decisions; decisions delete: the decision's own */
const struct cli_flag cf_decision_type = { "type", 0, required_argument, "decision_type", NULL,
					   NULL };
const struct cli_flag cf_decision_type_t = { "type", 't', required_argument, "decision_type",
					     NULL, NULL };
const struct cli_flag cf_type_t = { "type", 't', required_argument, "type", NULL, NULL };
const struct cli_flag cf_contained = { "contained", 0, no_argument, "contains", "false", NULL };
const struct cli_flag cf_no_simu = { "no-simu", 0, no_argument, "simulated", "false", NULL };

int cli_getopt(int argc, char **argv, const struct cli_flag *const *f, size_t n, struct query *q,
	       const char **arg)
{
	struct option opts[CLI_MAX_FLAGS + 1] = { 0 };
	char shorts[2 * CLI_MAX_FLAGS + 2] = "", *s = shorts;
	int opt, idx = -1;

	for (size_t i = 0; i < n && i < CLI_MAX_FLAGS; i++) {
		/* every flag answers by its index + 256; the shorthand by its letter */
		opts[i] = (struct option){ f[i]->name, f[i]->has_arg, NULL, 256 + (int)i };
		if (f[i]->short_opt) {
			*s++ = (char)f[i]->short_opt;
			if (f[i]->has_arg)
				*s++ = ':';
		}
	}
	*s = '\0';
	for (;;) {
		opt = getopt_long(argc, argv, shorts, opts, NULL);
		if (opt == -1)
			return -1;
		idx = -1;
		for (size_t i = 0; i < n && idx < 0; i++)
			if (opt == 256 + (int)i || (f[i]->short_opt && opt == f[i]->short_opt))
				idx = (int)i;
		if (idx < 0)
			return CLI_FLAG_USAGE;
		*arg = optarg;
		if (!f[idx]->key)
			return idx; /* the verb's own */
		if (f[idx]->valid && !f[idx]->valid(optarg)) {
			cli_fatal("%s isn't a valid %s", optarg, f[idx]->name);
			return CLI_FLAG_INVALID;
		}
		query_add(q, f[idx]->key, f[idx]->value ? f[idx]->value : optarg);
	}
}
