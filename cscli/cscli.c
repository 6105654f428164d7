// SPDX-License-Identifier: MIT
/*
 * cscli [GLOBAL OPTS] OBJECT VERB [ARGS]: the CrowdSec 1.4.6 command line,
 * for the subset this project implements (bouncers, machines, decisions,
 * alerts, lapi, hubtest). Every level answers -h/--help (cli_run_verbs).
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
	cli_cmd_fn *fn;
	const char *help;
} objects[] = {
	{ "bouncers", "bouncer", cmd_bouncers, "Manage bouncers [requires local API]" },
	{ "machines", "machine", cmd_machines, "Manage local API machines [requires local API]" },
	{ "decisions", "decision", cmd_decisions, "Manage decisions" },
	{ "alerts", "alert", cmd_alerts, "Manage alerts" },
	{ "lapi", "lapi", cmd_lapi, "Manage interaction with Local API (LAPI)" },
	{ "capi", "capi", cmd_capi, "Manage interaction with Central API (CAPI)" },
	{ "hubtest", "hubtest", cmd_hubtest, "Run the hub's functional tests" },
	{ "hub", "hub", cmd_hub, "Manage hub index" },
	{ "explain", "explain", cmd_explain, "Explain log pipeline" },
	{ "allowlists", "allowlist", cmd_allowlists, "Manage centralized allowlists" },
	{ "simulation", "simulation", cmd_simulation, "Manage simulation status of scenarios" },
	{ "metrics", "metrics", cmd_metrics, "Display crowdsec prometheus metrics." },
	{ "config", "config", cmd_config, "Allows to view current config" },
	{ "version", "version", cmd_version, "Display version" },
	{ "setup", "setup", cmd_setup, "Tools to configure crowdsec (detect services, install)" },
	{ "completion", "completion", cmd_completion, "Generate the autocompletion script (bash, zsh)" },
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
		fprintf(f, "  %-15s %s\n", objects[i].name, objects[i].help);
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

int cli_open_db(struct cli *c, struct cs_db **db)
{
	if (cs_db_connect(c->cfg.db_path, c->cfg.db_conninfo, 1, db)) {
		cli_fatal("unable to open database %s",
			  c->cfg.db_conninfo ? "(db_config.type postgresql)" : c->cfg.db_path);
		return -1;
	}
	return 0;
}

int cli_list_db(struct cli *c, const struct cli_db_listing *l)
{
	struct cs_db *db = NULL;
	void *items = NULL;
	size_t n = 0;
	int ret = EXIT_FATAL;

	if (cli_open_db(c, &db))
		return EXIT_FATAL;
	if (l->fetch(db, &items, &n)) {
		cli_fatal("unable to list %s: %s", l->what, cs_db_errmsg(db));
	} else {
		cli_print_list(c, &l->out, items, l->item_size, n);
		ret = EXIT_OK;
	}
	l->drop(items, n);
	cs_db_close(db);
	return ret;
}

bool cli_bad_usage(bool bad, const char *usage)
{
	if (bad)
		fprintf(stderr, "Usage: cscli %s\n", usage);
	return bad;
}

static int set_output(struct cli *c, const char *v)
{
	static const char *const names[] = { [OUT_HUMAN] = "human", [OUT_JSON] = "json",
					     [OUT_RAW] = "raw" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(v, names[i])) {
			c->out = (enum out_fmt)i;
			return 0;
		}
	}
	cli_fatal("output format '%s' is not supported (human, json, raw)", v);
	return -1;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

static void object_help(FILE *f, const char *object, const char *about, const struct verb *v,
			size_t n)
{
	fprintf(f, "%s\n\nUsage:\n  cscli %s [command]\n\nAvailable Commands:\n", about, object);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-12s %s\n", v[i].name, v[i].help);
	fprintf(f, "\nFlags:\n  -h, --help   help for %s\n\nUse \"cscli %s [command] --help\" for"
		   " more information about a command.\n",
		object, object);
}

static void verb_help(const char *object, const struct verb *v)
{
	printf("%s\n\nUsage:\n  cscli %s %s %s\n\n", v->help, object, v->name, v->args);
	if (v->alias)
		printf("Aliases:\n  %s, %s\n\n", v->name, v->alias);
	printf("Flags:\n%s  -h, --help            help for %s\n", v->flags ? v->flags : "", v->name);
}

int cli_run_verbs(struct cli *c, const char *object, const char *about, const struct verb *v,
		  size_t n, int argc, char **argv)
{
	const char *name = argc >= 2 ? argv[1] : NULL;

	if (!name) {
		object_help(stderr, object, about, v, n);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(name, v[i].name) && (!v[i].alias || strcmp(name, v[i].alias)))
			continue;
		if (wants_help(argc - 1, argv + 1)) {
			verb_help(object, &v[i]);
			return EXIT_OK;
		}
		if (cli_load_config(c))
			return EXIT_FATAL;
		return v[i].fn(c, argc - 1, argv + 1);
	}
	if (!strcmp(name, "help") || wants_help(argc - 1, argv + 1)) {
		object_help(stdout, object, about, v, n);
		return EXIT_OK;
	}
	fprintf(stderr, "Error: unknown command \"%s\" for \"cscli %s\"\n", name, object);
	return EXIT_USAGE;
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
		/* the configuration is loaded when a verb runs (not for help, not for hubtest) */
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
