// SPDX-License-Identifier: MIT
/*
 * cscli hub update|list|upgrade|types: the index from cscli.hub_url, every item's
 * state, and the upgrade of everything installed (data files refreshed too).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cscli/cscli.h"
#include "cscli/hubcli.h"
#include "hub/hub.h"

static void hub_usage(FILE *f)
{
	fprintf(f, "Hub management\n\n"
		   "List/update parsers/scenarios/postoverflows/collections from the hub "
		   "(cscli.hub_url in config.yaml).\n\n"
		   "Usage:\n  cscli hub [command]\n\nAvailable Commands:\n"
		   "  list        List relevant installed items (-a: all items)\n"
		   "  update      Download the latest index (catalog of available configurations)\n"
		   "  upgrade     Upgrade all configurations to their latest version "
		   "(--force, --dry-run)\n"
		   "  types       List supported item types\n\n"
		   "Examples:\n  cscli hub list\n  cscli hub update\n  cscli hub upgrade\n");
}

static int hub_update(struct cli *c)
{
	struct hub_config cfg;
	struct hub *h = NULL;
	char err[2048];
	bool changed;

	if (hubcli_open(c, &cfg, NULL, false))
		return EXIT_FATAL;
	if (c->out == OUT_HUMAN)
		printf("Downloading %s\n", cfg.index_path);
	if (hub_update_index(&cfg, &changed, err, sizeof(err))) {
		cli_fatal("%s", err);
		hub_config_clear(&cfg);
		return EXIT_FATAL;
	}
	if (!changed)
		printf("Nothing to do, the hub index is up to date.\n");
	if (hub_open(&cfg, &h, err, sizeof(err))) {
		cli_fatal("failed to load hub: %s", err);
		hub_config_clear(&cfg);
		return EXIT_FATAL;
	}
	hubcli_warnings(h);
	hubcli_close(&cfg, h);
	return EXIT_OK;
}

static int hub_list(struct cli *c, bool all)
{
	struct hub_config cfg;
	struct hub *h;
	bool types[HUB_NTYPES];
	struct hub_item **lists[HUB_NTYPES];
	size_t counts[HUB_NTYPES], local = 0, tainted = 0;
	char loaded[512] = "";

	if (hubcli_open(c, &cfg, &h, true))
		return EXIT_FATAL;
	hubcli_warnings(h);
	for (int t = 0; t < HUB_NTYPES; t++) {
		size_t n;
		struct hub_item **v = hub_items_of(h, t, false, &n);

		for (size_t i = 0; i < n; i++) {
			local += v[i]->local;
			tainted += v[i]->tainted;
		}
		if (n)
			snprintf(loaded + strlen(loaded), sizeof(loaded) - strlen(loaded), "%s%zu %s",
				 *loaded ? ", " : "", n, hub_type_name(t));
		free(v);
		types[t] = true;
		lists[t] = hub_items_of(h, t, !all, &counts[t]);
	}
	fprintf(stderr, "Loaded: %s\n", *loaded ? loaded : "0 items");
	if (local || tainted)
		fprintf(stderr, "Unmanaged items: %zu local, %zu tainted\n", local, tainted);
	hubcli_list(c, h, types, lists, counts, true);
	for (int t = 0; t < HUB_NTYPES; t++)
		free(lists[t]);
	hubcli_close(&cfg, h);
	return EXIT_OK;
}

static int hub_upgrade(struct cli *c, bool force, bool dry_run)
{
	struct hub_config cfg;
	struct hub *h;
	struct hub_plan *p;
	char err[2048];
	int ret = EXIT_FATAL;

	if (hubcli_open(c, &cfg, &h, true))
		return EXIT_FATAL;
	if (!(p = hub_plan_new(h)))
		goto out;
	for (int t = 0; t < HUB_NTYPES; t++) {
		size_t n;
		struct hub_item **v = hub_items_of(h, t, true, &n);

		for (size_t i = 0; v && i < n; i++) {
			if (hub_plan_upgrade(p, v[i], force, err, sizeof(err))) {
				cli_fatal("%s", err);
				free(v);
				goto out;
			}
		}
		free(v);
	}
	hub_plan_refresh_data(p, force);
	ret = hubcli_execute(c, p, dry_run);
out:
	hub_plan_free(p);
	hubcli_close(&cfg, h);
	return ret;
}

static int hub_types(struct cli *c)
{
	for (int t = 0; t < HUB_NTYPES; t++) {
		if (c->out == OUT_JSON)
			printf("%s\"%s\"", t ? "," : "[", hub_type_name(t));
		else
			printf("%s%s\n", c->out == OUT_HUMAN ? "- " : "", hub_type_name(t));
	}
	if (c->out == OUT_JSON)
		printf("]\n");
	return EXIT_OK;
}

int cmd_hub(struct cli *c, int argc, char **argv)
{
	bool all = false, force = false, dry_run = false, help = false;
	const struct cli_opt opts[] = {
		{ "all", 'a', .set = &all },	   { "force", 0, .set = &force },
		{ "dry-run", 0, .set = &dry_run }, { "interactive", 'i', .set = NULL },
		{ "help", 'h', .set = &help },
	};
	const char *verb;
	int ret;

	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		hub_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	verb = argv[1];
	argc--, argv++;
	ret = CLI_GETOPT(argc, argv, opts);
	if (help) {
		hub_usage(stdout);
		return EXIT_OK;
	}
	if (ret)
		return ret;
	if (optind < argc) {
		fprintf(stderr, "Error: unknown command \"%s\" for \"cscli hub %s\"\n", argv[optind],
			verb);
		return EXIT_USAGE;
	}
	if (!strcmp(verb, "update"))
		return hub_update(c);
	if (!strcmp(verb, "list"))
		return hub_list(c, all);
	if (!strcmp(verb, "upgrade"))
		return hub_upgrade(c, force, dry_run);
	if (!strcmp(verb, "types"))
		return hub_types(c);
	fprintf(stderr, "Error: unknown command \"%s\" for \"cscli hub\"\n", verb);
	hub_usage(stderr);
	return EXIT_USAGE;
}
