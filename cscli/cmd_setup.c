// SPDX-License-Identifier: MIT
/*
 * cscli setup [--yes] [--dry-run]          detect, show the plan, apply it when confirmed
 * cscli setup unattended [--dry-run]       detect and apply
 * cscli setup detect [--yaml] [--list-supported-services] [--force S] [--ignore S]
 *                    [--skip-systemd]      print the setup file
 * cscli setup install-hub FILE [--dry-run] / install-acquisition FILE [--acquis-dir D]
 *                    [--dry-run] / validate FILE
 * Detection lives in userspace/setup; the hub part goes through one atomic hub plan;
 * acquisition files are setup.<service>.yaml in the acquisition directory.
 * --root DIR and --units-file F (ours) point detection at a fake machine (tests).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/yamljson.h"
#include "cscli/cscli.h"
#include "cscli/hubcli.h"
#include "hub/hub.h"
#include "setup/setup.h"

#define MAX_NAMES 64

struct setup_flags {
	bool yaml, list, dry_run, yes;
	struct setup_opts o;
	const char *force[MAX_NAMES + 1], *ignore[MAX_NAMES + 1];
	int nforce, nignore;
	const char *acquis_dir;
};

static int parse(int argc, char **argv, struct setup_flags *fl)
{
	enum { O_YAML = 1000, O_LIST, O_FORCE, O_IGNORE, O_SKIP, O_ROOT, O_UNITS, O_DRY, O_ACQ,
	       O_DETECT_CFG };
	static const struct option opts[] = {
		{ "yaml", no_argument, NULL, O_YAML },
		{ "list-supported-services", no_argument, NULL, O_LIST },
		{ "force", required_argument, NULL, O_FORCE },
		{ "ignore", required_argument, NULL, O_IGNORE },
		{ "skip-systemd", no_argument, NULL, O_SKIP },
		{ "root", required_argument, NULL, O_ROOT },
		{ "units-file", required_argument, NULL, O_UNITS },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "acquis-dir", required_argument, NULL, O_ACQ },
		{ "detect-config", required_argument, NULL, O_DETECT_CFG },
		{ "yes", no_argument, NULL, 'y' },
		{ "interactive", no_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "yi", opts, NULL)) != -1) {
		switch (opt) {
		case O_YAML: fl->yaml = true; break;
		case O_LIST: fl->list = true; break;
		case O_SKIP: fl->o.skip_systemd = true; break;
		case O_ROOT: fl->o.root = optarg; break;
		case O_UNITS: fl->o.units_file = optarg; break;
		case O_DRY: fl->dry_run = true; break;
		case O_ACQ: fl->acquis_dir = optarg; break;
		case 'y': fl->yes = true; break;
		case 'i': break;
		case O_DETECT_CFG:
			cli_log("warning", "--detect-config is ignored: the detection rules are built in");
			break;
		case O_FORCE:
		case O_IGNORE:
			for (char *s = strtok(optarg, ","); s; s = strtok(NULL, ",")) {
				if (opt == O_FORCE && fl->nforce < MAX_NAMES)
					fl->force[fl->nforce++] = s;
				else if (opt == O_IGNORE && fl->nignore < MAX_NAMES)
					fl->ignore[fl->nignore++] = s;
			}
			break;
		default: return -1;
		}
	}
	fl->o.force = fl->force;
	fl->o.ignore = fl->ignore;
	return 0;
}

static json_t *detect(struct setup_flags *fl)
{
	char err[512];
	json_t *plan = setup_detect(&fl->o, err, sizeof(err));

	if (!plan)
		cli_fatal("%s", err);
	return plan;
}

static json_t *load_plan(const char *path)
{
	char err[1024];
	json_t *docs = yamljson_load_file(path, false, err, sizeof(err)), *plan;

	if (!docs) {
		cli_fatal("while reading the setup file: %s", err);
		return NULL;
	}
	plan = json_incref(json_array_get(docs, 0));
	json_decref(docs);
	if (setup_validate(plan, err, sizeof(err))) {
		cli_fatal("invalid setup file %s: %s", path, err);
		json_decref(plan);
		return NULL;
	}
	return plan;
}

/* Every collection of the plan, in one atomic hub plan (the index fetched first if absent). */
static int apply_hub(struct cli *c, json_t *plan, bool dry_run)
{
	struct hub_config cfg;
	struct hub *h = NULL;
	struct hub_plan *p = NULL;
	json_t *e, *coll;
	size_t i, k;
	char err[2048];
	bool changed;
	int ret = EXIT_FATAL;

	if (hubcli_open(c, &cfg, NULL, false))
		return EXIT_FATAL;
	if (access(cfg.index_path, F_OK) && !dry_run) {
		printf("Downloading %s\n", cfg.index_path);
		if (hub_update_index(&cfg, &changed, err, sizeof(err))) {
			cli_fatal("%s", err);
			goto out;
		}
	}
	if (hub_open(&cfg, &h, err, sizeof(err))) {
		cli_fatal("%s", err);
		goto out;
	}
	if (!(p = hub_plan_new(h)))
		goto out;
	json_array_foreach(json_object_get(plan, "setup"), i, e) {
		json_array_foreach(json_object_get(json_object_get(e, "install"), "collections"), k,
				   coll) {
			struct hub_item *it = hub_get(h, HUB_COLLECTIONS, json_string_value(coll));

			if (!it) {
				hubcli_not_found(h, HUB_COLLECTIONS, json_string_value(coll), err,
						 sizeof(err));
				cli_fatal("%s", err);
				goto out;
			}
			if (hub_plan_install(p, it, false, false, err, sizeof(err))) {
				cli_fatal("%s", err);
				goto out;
			}
		}
	}
	ret = hubcli_execute(c, p, dry_run);
out:
	hub_plan_free(p);
	hubcli_close(&cfg, h);
	return ret;
}

static void acquis_dir(struct cli *c, const char *flag, char *out, size_t len)
{
	char err[512];
	json_t *docs = yamljson_load_file(c->config_path, true, err, sizeof(err));
	json_t *root = json_array_get(docs, 0);
	const char *d = yamljson_get_str(root, "crowdsec_service.acquisition_dir", NULL);
	const char *cd = yamljson_get_str(root, "config_paths.config_dir", "/etc/crowdsec");

	if (flag)
		snprintf(out, len, "%s", flag);
	else if (d && *d)
		snprintf(out, len, "%s", d);
	else
		snprintf(out, len, "%s/acquis.d", cd);
	json_decref(docs);
}

static int apply_acquis(struct cli *c, json_t *plan, const char *flag, bool dry_run)
{
	char dir[PATH_MAX];
	json_t *e;
	size_t i;

	acquis_dir(c, flag, dir, sizeof(dir));
	if (!dry_run && hub_mkdir_p(dir, 0755)) {
		cli_fatal("while creating %s: %s", dir, strerror(errno));
		return EXIT_FATAL;
	}
	json_array_foreach(json_object_get(plan, "setup"), i, e) {
		const char *svc = json_string_value(json_object_get(e, "detected_service"));
		char path[PATH_MAX + 300], tmp[PATH_MAX + 320];
		FILE *f;

		if (!json_object_get(e, "datasource"))
			continue;
		snprintf(path, sizeof(path), "%s/setup.%s.yaml", dir, svc);
		if (dry_run) {
			printf("dry-run: would write %s:\n", path);
			setup_acquis_yaml(e, stdout);
			continue;
		}
		snprintf(tmp, sizeof(tmp), "%s/.setup.%s.yaml.tmp", dir, svc);
		f = fopen(tmp, "w");
		if (!f) {
			cli_fatal("while writing %s: %s", path, strerror(errno));
			return EXIT_FATAL;
		}
		setup_acquis_yaml(e, f);
		if (fflush(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, path)) {
			cli_fatal("while writing %s: %s", path, strerror(errno));
			unlink(tmp);
			return EXIT_FATAL;
		}
		printf("creating %s\n", path);
	}
	return EXIT_OK;
}

static void describe(json_t *plan)
{
	json_t *e, *x;
	size_t i, k;

	printf("Detected services:\n");
	json_array_foreach(json_object_get(plan, "setup"), i, e)
		printf("  - %s\n", json_string_value(json_object_get(e, "detected_service")));
	printf("\nCollections to install:\n");
	json_array_foreach(json_object_get(plan, "setup"), i, e)
		json_array_foreach(json_object_get(json_object_get(e, "install"), "collections"), k, x)
			printf("  - %s\n", json_string_value(x));
	printf("\nLogs to read (acquisition):\n");
	json_array_foreach(json_object_get(plan, "setup"), i, e) {
		json_t *ds = json_object_get(e, "datasource");

		printf("  - %s: %s", json_string_value(json_object_get(e, "detected_service")),
		       json_string_value(json_object_get(ds, "source")));
		json_array_foreach(json_object_get(ds, "filenames"), k, x)
			printf(" %s", json_string_value(x));
		json_array_foreach(json_object_get(ds, "journalctl_filter"), k, x)
			printf(" %s", json_string_value(x));
		printf(" (type %s)\n",
		       json_string_value(json_object_get(json_object_get(ds, "labels"), "type")) ?: "?");
	}
	printf("\n");
}

static int apply(struct cli *c, json_t *plan, struct setup_flags *fl)
{
	int ret = apply_hub(c, plan, fl->dry_run);

	if (ret == EXIT_OK)
		ret = apply_acquis(c, plan, fl->acquis_dir, fl->dry_run);
	if (ret == EXIT_OK && !fl->dry_run)
		printf("\nRun 'sudo systemctl restart crowdsec' to read the new acquisition files.\n");
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Tools to configure crowdsec\n\nUsage:\n  cscli setup [flags]\n  cscli setup [command]\n\n"
		"Available Commands:\n"
		"  detect               Detect installed services and generate a setup file\n"
		"  install-acquisition  Generate acquisition configuration from a setup file\n"
		"  install-hub          Install recommended hub items from a setup file\n"
		"  unattended           Unattended setup (detect and apply)\n"
		"  validate             Validate a setup file\n\n"
		"Flags:\n"
		"  -y, --yes                       apply without asking\n"
		"      --dry-run                   show what would be done\n"
		"      --force strings             force the detection of a service (can be repeated)\n"
		"      --ignore strings            ignore a detected service (can be repeated)\n"
		"      --skip-systemd              don't use systemd, even if available\n"
		"      --yaml                      (detect) output yaml, not json\n"
		"      --list-supported-services   (detect) only print supported services\n"
		"      --acquis-dir string         directory for the acquisition files\n");
}

int cmd_setup(struct cli *c, int argc, char **argv)
{
	struct setup_flags fl = { 0 };
	const char *verb = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
	json_t *plan = NULL;
	int ret = EXIT_FATAL;

	if ((argc > 1 && (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "--help"))) ||
	    (argc > 2 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help")))) {
		usage(stdout);
		return EXIT_OK;
	}
	if (verb) {
		argc--;
		argv++;
	}
	if (parse(argc, argv, &fl)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (!verb || !strcmp(verb, "unattended")) {
		if (argc) {
			usage(stderr);
			return EXIT_USAGE;
		}
		if (!(plan = detect(&fl)))
			return EXIT_FATAL;
		describe(plan);
		if (verb)
			fl.yes = true;
		if (!fl.yes && !fl.dry_run) {
			char answer[16] = "";

			if (!isatty(STDIN_FILENO)) {
				printf("Nothing applied: run 'cscli setup --yes' (or 'cscli setup "
				       "unattended') to install these.\n");
				ret = EXIT_OK;
				goto out;
			}
			printf("Apply? [Y/n] ");
			fflush(stdout);
			if (fgets(answer, sizeof(answer), stdin) && (answer[0] == 'n' || answer[0] == 'N')) {
				printf("operation canceled\n");
				ret = EXIT_OK;
				goto out;
			}
		}
		ret = apply(c, plan, &fl);
	} else if (!strcmp(verb, "detect")) {
		if (fl.list) {
			for (const char *const *s = setup_services(); *s; s++)
				printf("%s\n", *s);
			return EXIT_OK;
		}
		if (!(plan = detect(&fl)))
			return EXIT_FATAL;
		if (fl.yaml)
			print_yaml(plan);
		else
			print_json(plan, 2, true);
		ret = EXIT_OK;
	} else if (!strcmp(verb, "install-hub") || !strcmp(verb, "install-acquisition") ||
		   !strcmp(verb, "validate")) {
		if (argc != 1) {
			fprintf(stderr, "Usage: cscli setup %s [setup_file] [flags]\n", verb);
			return EXIT_USAGE;
		}
		if (!(plan = load_plan(argv[0])))
			return EXIT_FATAL;
		if (!strcmp(verb, "install-hub"))
			ret = apply_hub(c, plan, fl.dry_run);
		else if (!strcmp(verb, "install-acquisition"))
			ret = apply_acquis(c, plan, fl.acquis_dir, fl.dry_run);
		else
			ret = EXIT_OK; /* load_plan validated it */
	} else {
		fprintf(stderr, "Error: unknown command \"%s\" for \"cscli setup\"\n", verb);
		usage(stderr);
		return EXIT_USAGE;
	}
out:
	json_decref(plan);
	return ret;
}
