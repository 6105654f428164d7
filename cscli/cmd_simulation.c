// SPDX-License-Identifier: MIT
/*
 * cscli simulation enable|disable [SCENARIO...] [--global] | status, over
 * simulation.yaml (config_paths.simulation_path): `simulation` is the global
 * mode and `exclusions` the scenarios that are the other way round, as upstream.
 * Alerts of a scenario in simulation are flagged simulated and get no ban.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "common/strv.h"
#include "common/quote.h"
#include "common/yamljson.h"
#include "cscli/cscli.h"
#include "hub/hub.h"

struct sim {
	char path[PATH_MAX];
	bool global;
	char **excl;
	size_t n;
};

static void sim_free(struct sim *s)
{
	strv_free(s->excl, s->n);
}

static int sim_load(struct cli *c, struct sim *s)
{
	char err[1024];
	json_t *docs = yamljson_load_file(c->config_path, true, err, sizeof(err)), *root;
	const char *p;

	memset(s, 0, sizeof(*s));
	root = json_array_get(docs, 0);
	p = yamljson_get_str(root, "config_paths.simulation_path", NULL);
	if (!docs || !p || !*p) {
		cli_fatal("%s", docs ? "config_paths.simulation_path is not set in the configuration"
				     : err);
		json_decref(docs);
		return -1;
	}
	snprintf(s->path, sizeof(s->path), "%s", p);
	json_decref(docs);
	/* the detector's reader: what cscli shows is what crowdsec will apply */
	if (cs_simulation_load(s->path, &s->excl, &s->global, err, sizeof(err))) {
		cli_fatal("while reading the simulation file: %s", err);
		return -1;
	}
	while (s->excl && s->excl[s->n])
		s->n++;
	return 0;
}

/* Written beside and renamed over, so crowdsec never reads half a file. */
static int sim_save(const struct sim *s)
{
	char tmp[PATH_MAX + 16];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.cscli-tmp", s->path);
	f = fopen(tmp, "w");
	if (!f) {
		cli_fatal("write simulation config in %s failed: %s", s->path, strerror(errno));
		return -1;
	}
	fprintf(f, "simulation: %s\n", s->global ? "true" : "false");
	if (s->n) {
		fprintf(f, "exclusions:\n");
		for (size_t i = 0; i < s->n; i++) {
			fputs("    - ", f);
			fput_dquoted(f, s->excl[i]);
			fputc('\n', f);
		}
	}
	if (fflush(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, s->path)) {
		cli_fatal("write simulation config in %s failed: %s", s->path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Upstream refuses names that are not scenarios of the hub; without a hub we cannot tell. */
static bool known_scenario(struct cli *c, const char *name)
{
	struct hub_config cfg;
	struct hub *h = NULL;
	struct hub_item *it;
	char err[1024];
	bool ok = true;

	if (hub_config_load(c->config_path, &cfg, err, sizeof(err)))
		return true;
	if (!hub_open(&cfg, &h, err, sizeof(err))) {
		it = hub_get(h, HUB_SCENARIOS, name);
		if (!it) {
			cli_error("\"%s\" does not exist or is not a scenario", name);
			ok = false;
		} else if (!hub_item_installed(it)) {
			cli_log("warning", "Scenario \"%s\" is not installed", name);
		}
	}
	hub_close(h);
	hub_config_clear(&cfg);
	return ok;
}

static void reload_hint(void)
{
	printf("\nRun 'sudo systemctl reload crowdsec' for the new configuration to be effective.\n");
}

static int set_mode(struct cli *c, int argc, char **argv, bool enable)
{
	struct sim s;
	bool global = false;
	int nargs = 0, ret = EXIT_FATAL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-g") || !strcmp(argv[i], "--global") ||
		    !strcmp(argv[i], "-global"))
			global = true;
		else
			argv[++nargs] = argv[i];
	}
	if (!nargs && !global) {
		fprintf(stderr, "Usage: cscli simulation %s [scenario]... | --global\n",
			enable ? "enable" : "disable");
		return EXIT_USAGE;
	}
	if (sim_load(c, &s))
		return EXIT_FATAL;
	if (!nargs) {
		s.global = enable;
		strv_free(s.excl, s.n);
		s.excl = NULL;
		s.n = 0;
		if (sim_save(&s))
			goto out;
		printf("global simulation: %s\n", enable ? "enabled" : "disabled");
		ret = EXIT_OK;
		goto out;
	}
	for (int i = 1; i <= nargs; i++) {
		const char *sc = argv[i];
		bool excluded = strv_has(s.excl, s.n, sc);

		if (enable) {
			if (!known_scenario(c, sc))
				continue;
			if (s.global && !excluded) {
				printf("global simulation is already enabled\n");
				continue;
			}
			if (!s.global && excluded) {
				printf("simulation for \"%s\" is already enabled\n", sc);
				continue;
			}
			if (s.global)
				strv_del(s.excl, &s.n, sc);
			else if (strv_push(&s.excl, &s.n, sc))
				goto out;
			printf("simulation mode for \"%s\" enabled\n", sc);
		} else {
			if (!s.global && !excluded) {
				cli_log("warning", "%s isn't in simulation mode", sc);
				continue;
			}
			if (!s.global) {
				strv_del(s.excl, &s.n, sc);
			} else if (excluded) {
				cli_log("warning", "simulation mode is enabled but is already disable for "
					"\"%s\"", sc);
				continue;
			} else if (strv_push(&s.excl, &s.n, sc)) {
				goto out;
			}
			printf("simulation mode for \"%s\" disabled\n", sc);
		}
	}
	if (sim_save(&s))
		goto out;
	ret = EXIT_OK;
out:
	if (ret == EXIT_OK)
		reload_hint();
	sim_free(&s);
	return ret;
}

static int sim_enable(struct cli *c, int argc, char **argv)
{
	return set_mode(c, argc, argv, true);
}

static int sim_disable(struct cli *c, int argc, char **argv)
{
	return set_mode(c, argc, argv, false);
}

static int sim_status(struct cli *c, int argc, char **argv)
{
	struct sim s;

	(void)argv;
	if (cli_bad_usage(argc != 1, "simulation status"))
		return EXIT_USAGE;
	if (sim_load(c, &s))
		return EXIT_FATAL;
	printf("global simulation: %s\n", s.global ? "enabled" : "disabled");
	if (s.n) {
		printf("\nScenarios %sin simulation mode:\n", s.global ? "not " : "");
		for (size_t i = 0; i < s.n; i++)
			printf("  - %s\n", s.excl[i]);
	}
	sim_free(&s);
	return EXIT_OK;
}

static const struct verb simulation_verbs[] = {
	{ "enable", NULL, sim_enable, "Enable the simulation, globally or on specified scenarios",
	  "[scenario] [-global]", "  -g, --global   Enable global simulation (reverse mode)\n" },
	{ "disable", NULL, sim_disable, "Disable the simulation mode. Disable only specified scenarios",
	  "[scenario]", "  -g, --global   Disable global simulation (reverse mode)\n" },
	{ "status", NULL, sim_status, "Show simulation mode status", "", NULL },
};

int cmd_simulation(struct cli *c, int argc, char **argv)
{
	return CLI_RUN_VERBS(c, "simulation", "Manage simulation status of scenarios",
			     simulation_verbs, argc, argv);
}
