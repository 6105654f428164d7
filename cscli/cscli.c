// SPDX-License-Identifier: MIT
/*
 * cscli [GLOBAL OPTS] OBJECT VERB [ARGS]: the CrowdSec 1.4.6 command line,
 * for the subset this project implements (bouncers, machines, decisions).
 * Global options may appear anywhere, as with cobra's persistent flags.
 * The program entry is cscli_main(): build/crowdsec runs it when invoked as
 * "cscli" (multi-call binary), and a cscli/main.c can simply call it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "cscli/cscli.h"

static const struct {
	const char *name;
	const char *alias;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *help;
} objects[] = {
	{ "bouncers", "bouncer", cmd_bouncers, "Manage bouncers [requires local API]" },
	{ "machines", "machine", cmd_machines, "Manage local API machines [requires local API]" },
	{ "decisions", "decision", cmd_decisions, "Manage decisions" },
	{ "alerts", "alert", cmd_alerts, "Manage alerts" },
	{ "lapi", "lapi", cmd_lapi, "Manage interaction with Local API (LAPI)" },
	{ "hubtest", "hubtest", cmd_hubtest, "Run the hub's functional tests" },
	{ "hub", "hub", cmd_hub, "Manage hub index" },
	{ "explain", "explain", cmd_explain, "Explain log pipeline" },
	{ "collections", "collection", cmd_items, "Manage hub collections" },
	{ "parsers", "parser", cmd_items, "Manage hub parsers" },
	{ "scenarios", "scenario", cmd_items, "Manage hub scenarios" },
	{ "postoverflows", "postoverflow", cmd_items, "Manage hub postoverflows" },
	{ "contexts", "context", cmd_items, "Manage hub contexts" },
	{ "appsec-configs", "appsec-config", cmd_items, "Manage hub appsec-configs" },
	{ "appsec-rules", "appsec-rule", cmd_items, "Manage hub appsec-rules" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage:\n  cscli [command]\n\nAvailable Commands:\n");
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		fprintf(f, "  %-12s %s\n", objects[i].name, objects[i].help);
	fprintf(f, "\nGlobal Flags:\n"
		   "  -c, --config string   path to crowdsec config file"
		   " (default \"/etc/crowdsec/config.yaml\")\n"
		   "  -o, --output string   Output format: human, json, raw\n"
		   "      --debug, --info, --warning, --error, --trace   log level\n");
}

int cli_load_config(struct cli *c)
{
	char err[1024];

	if (c->cfg_loaded)
		return 0;
	if (cs_lapi_config_load(c->config_path, &c->cfg, err, sizeof(err))) {
		cli_fatal("while loading configuration file: %s", err);
		return -1;
	}
	c->cfg_loaded = true;
	return 0;
}

static int set_output(struct cli *c, const char *v)
{
	if (!strcmp(v, "human"))
		c->out = OUT_HUMAN;
	else if (!strcmp(v, "json"))
		c->out = OUT_JSON;
	else if (!strcmp(v, "raw"))
		c->out = OUT_RAW;
	else {
		cli_fatal("output format '%s' is not supported (human, json, raw)", v);
		return -1;
	}
	return 0;
}

int cscli_main(int argc, char **argv)
{
	struct cli c = { .config_path = "/etc/crowdsec/config.yaml", .out = OUT_HUMAN };
	char **rest = calloc((size_t)argc + 1, sizeof(char *));
	int nrest = 0, ret = EXIT_USAGE;
	const char *out = NULL;

	if (!rest)
		return EXIT_FATAL;
	rest[nrest++] = argv[0];
	log_set_level(LOG_LVL_WARN);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && i + 1 < argc)
			c.config_path = argv[++i];
		else if (!strncmp(a, "--config=", 9))
			c.config_path = a + 9;
		else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc)
			out = argv[++i];
		else if (!strncmp(a, "--output=", 9))
			out = a + 9;
		else if (!strncmp(a, "-o", 2) && a[2])
			out = a + 2;
		else if ((!strcmp(a, "--color")) && i + 1 < argc)
			i++;
		else if (!strcmp(a, "--debug"))
			log_set_level(LOG_LVL_DEBUG);
		else if (!strcmp(a, "--trace"))
			log_set_level(LOG_LVL_TRACE);
		else if (!strcmp(a, "--info"))
			log_set_level(LOG_LVL_INFO);
		else if (!strcmp(a, "--warning"))
			log_set_level(LOG_LVL_WARN);
		else if (!strcmp(a, "--error"))
			log_set_level(LOG_LVL_ERROR);
		else
			rest[nrest++] = argv[i];
	}
	if (out && set_output(&c, out)) {
		ret = EXIT_FATAL;
		goto out;
	}
	if (nrest < 2 || !strcmp(rest[1], "help") || !strcmp(rest[1], "-h") ||
	    !strcmp(rest[1], "--help")) {
		usage(nrest < 2 ? stderr : stdout);
		ret = nrest < 2 ? EXIT_USAGE : EXIT_OK;
		goto out;
	}
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
		if (strcmp(rest[1], objects[i].name) && strcmp(rest[1], objects[i].alias))
			continue;
		/* hubtest and the hub commands read their own part of the configuration */
		if (objects[i].fn != cmd_hubtest && objects[i].fn != cmd_hub &&
		    objects[i].fn != cmd_items && objects[i].fn != cmd_explain && cli_load_config(&c)) {
			ret = EXIT_FATAL;
			goto out;
		}
		ret = objects[i].fn(&c, nrest - 1, rest + 1);
		goto out;
	}
	fprintf(stderr, "Error: unknown command \"%s\" for \"cscli\"\n", rest[1]);
	usage(stderr);
out:
	if (c.cfg_loaded)
		cs_lapi_config_clear(&c.cfg);
	free(rest);
	return ret;
}
