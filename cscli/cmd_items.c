// SPDX-License-Identifier: MIT
/*
 * cscli collections|parsers|scenarios|postoverflows|contexts|appsec-configs|appsec-rules
 *   list [ITEM...] [-a]            install ITEM... [--dry-run] [--force] [-d] [--ignore]
 *   remove ITEM...|--all [--purge] [--force] [--dry-run]
 *   upgrade ITEM...|--all [--force] [--dry-run]     inspect ITEM...
 * Thin commands over userspace/hub (plans, state, atomic apply), upstream's words.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cscli/cscli.h"
#include "cscli/hubcli.h"
#include "hub/hub.h"

static const char *const singular[HUB_NTYPES] = {
	"parser", "postoverflow", "scenario", "context", "appsec-config", "appsec-rule",
	"collection",
};

int hubcli_open(struct cli *c, struct hub_config *cfg, struct hub **h, bool need_index)
{
	char err[2048];

	if (hub_config_load(c->config_path, cfg, err, sizeof(err))) {
		cli_fatal("while loading configuration file: %s", err);
		return -1;
	}
	if (!need_index)
		return 0;
	if (hub_open(cfg, h, err, sizeof(err))) {
		cli_fatal("%s", err);
		hub_config_clear(cfg);
		return -1;
	}
	return 0;
}

void hubcli_close(struct hub_config *cfg, struct hub *h)
{
	hub_close(h);
	hub_config_clear(cfg);
}

void hubcli_warnings(const struct hub *h)
{
	for (size_t i = 0; i < h->nwarnings; i++)
		cli_log("warning", "%s", h->warnings[i]);
}

static void list_human(enum hub_type t, struct hub_item **v, size_t n)
{
	static const char *const hdr[] = { "Name", "\U0001F4E6 Status", "Version", "Local Path" };
	struct table tb;
	char title[64], status[128];

	snprintf(title, sizeof(title), "%s", hub_type_name(t));
	for (char *s = title; *s; s++)
		*s = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
	printf("%s\n", title);
	table_init(&tb, 4, hdr);
	for (size_t i = 0; i < n; i++) {
		char st[160];

		hub_item_status(v[i], status, sizeof(status));
		snprintf(st, sizeof(st), "%s  %s", hub_item_emoji(v[i]), status);
		table_add(&tb, (const char *const[]){ v[i]->name, st, v[i]->local_version ?: "",
						      v[i]->local_path ?: "" });
	}
	table_print(&tb, false);
	table_free(&tb);
}

void hubcli_list(struct cli *c, struct hub *h, const bool types[HUB_NTYPES],
		 struct hub_item **const lists[HUB_NTYPES], const size_t counts[HUB_NTYPES],
		 bool omit_empty)
{
	int ntypes = 0;

	for (int t = 0; t < HUB_NTYPES; t++)
		ntypes += types[t];
	if (c->out == OUT_JSON) {
		json_t *o = json_object();

		for (int t = 0; t < HUB_NTYPES; t++) {
			json_t *arr = json_array();

			if (!types[t]) {
				json_decref(arr);
				continue;
			}
			for (size_t i = 0; i < counts[t]; i++) {
				const struct hub_item *it = lists[t][i];
				char status[128], utf8[160];

				hub_item_status(it, status, sizeof(status));
				snprintf(utf8, sizeof(utf8), "%s  %s", hub_item_emoji(it), status);
				json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}",
					"name", it->name, "local_version", it->local_version ?: "",
					"local_path", it->local_path ?: "",
					"description", it->description ?: "", "utf8_status", utf8,
					"status", status));
			}
			json_object_set_new(o, hub_type_name(t), arr);
		}
		print_json(o, 1, false);
		json_decref(o);
		return;
	}
	if (c->out == OUT_RAW) {
		printf("name,status,version,description%s\n", ntypes > 1 ? ",type" : "");
		for (int t = 0; t < HUB_NTYPES; t++) {
			for (size_t i = 0; types[t] && i < counts[t]; i++) {
				const struct hub_item *it = lists[t][i];
				char status[128];

				hub_item_status(it, status, sizeof(status));
				csv_field(it->name, false);
				csv_field(status, false);
				csv_field(it->local_version, false);
				csv_field(it->description, ntypes <= 1);
				if (ntypes > 1)
					csv_field(hub_type_name(t), true);
			}
		}
		return;
	}
	bool shown = false;

	for (int t = 0; t < HUB_NTYPES; t++) {
		if (!types[t] || (omit_empty && !counts[t]))
			continue;
		list_human(t, lists[t], counts[t]);
		shown = true;
	}
	if (!shown)
		printf("No items to display\n");
	(void)h;
}

static size_t levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[257];

	if (la > 256 || lb > 256)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j], sub = prev + (a[i - 1] != b[j - 1]);

			row[j] = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
			if (sub < row[j])
				row[j] = sub;
			prev = cur;
		}
	}
	return row[lb];
}

/* Upstream's message, plus the type the name does belong to when it exists elsewhere. */
void hubcli_not_found(struct hub *h, enum hub_type t, const char *name, char *buf, size_t len)
{
	size_t best = SIZE_MAX, n;
	const char *nearest = NULL;
	struct hub_item **v = hub_items_of(h, t, false, &n);

	for (size_t i = 0; v && i < n; i++) {
		size_t d = levenshtein(name, v[i]->name);

		if (d < best) {
			best = d;
			nearest = v[i]->name;
		}
	}
	snprintf(buf, len, "can't find '%s' in %s", name, hub_type_name(t));
	if (nearest && best < 7)
		snprintf(buf + strlen(buf), len - strlen(buf), ", did you mean '%s'?", nearest);
	for (int o = 0; o < HUB_NTYPES; o++)
		if (o != (int)t && hub_get(h, o, name)) {
			snprintf(buf + strlen(buf), len - strlen(buf),
				 " ('%s' is a %s: use 'cscli %s ...')", name, singular[o],
				 hub_type_name(o));
			break;
		}
	free(v);
}

int hubcli_execute(struct cli *c, struct hub_plan *p, bool dry_run)
{
	char err[4096];
	bool reload = false;

	if (!hub_plan_len(p)) {
		printf("Nothing to install or remove.\n");
		return EXIT_OK;
	}
	printf("Action plan:\n");
	hub_plan_describe(p, c->out == OUT_RAW, stdout);
	printf("\n");
	if (dry_run) {
		printf("Dry run, no action taken.\n");
		return EXIT_OK;
	}
	fflush(stdout);
	if (hub_plan_execute(p, &reload, err, sizeof(err))) {
		cli_fatal("%s (nothing was changed)", err);
		return EXIT_FATAL;
	}
	if (reload)
		printf("\nRun 'sudo systemctl reload crowdsec' for the new configuration to be "
		       "effective.\n");
	return EXIT_OK;
}

static void item_usage(FILE *f, enum hub_type t)
{
	const char *n = hub_type_name(t);

	fprintf(f,
		"Manage hub %s\n\nUsage:\n  cscli %s [command]\n\nAvailable Commands:\n"
		"  install     Install given %s(s)\n"
		"  remove      Remove given %s(s)\n"
		"  upgrade     Upgrade given %s(s)\n"
		"  inspect     Inspect given %s(s)\n"
		"  list        List %s(s)\n\n"
		"Flags:\n"
		"  install:  --dry-run, --force, -d/--download-only, --ignore\n"
		"  remove:   --all, --purge, --force, --dry-run\n"
		"  upgrade:  -a/--all, --force, --dry-run\n"
		"  list:     -a/--all\n"
		"  inspect:  --diff [--rev]\n\n"
		"Global Flags:\n  -c, --config string   path to crowdsec config file\n"
		"  -o, --output string   Output format: human, json, raw\n",
		n, n, singular[t], singular[t], singular[t], singular[t], singular[t]);
}

struct item_flags {
	bool all, dry_run, force, download_only, ignore, purge, help, diff, rev;
};

static int parse_flags(int argc, char **argv, struct item_flags *fl)
{
	const struct cli_opt opts[] = {
		{ "all", 'a', .set = &fl->all },
		{ "dry-run", 0, .set = &fl->dry_run },
		{ "force", 0, .set = &fl->force },
		{ "download-only", 'd', .set = &fl->download_only },
		{ "ignore", 0, .set = &fl->ignore },
		{ "purge", 0, .set = &fl->purge },
		{ "help", 'h', .set = &fl->help },
		{ "diff", 0, .set = &fl->diff },
		{ "rev", 0, .set = &fl->rev },
		/* no prompt, no metrics here */
		{ "interactive", 'i', .set = NULL },
		{ "no-metrics", 0, .set = NULL },
		{ "url", 'u', .takes_arg = true },
	};

	return CLI_GETOPT(argc, argv, opts) ? -1 : 0;
}

static int items_list(struct cli *c, struct hub *h, enum hub_type t, int argc, char **argv,
		      bool all)
{
	bool types[HUB_NTYPES] = { 0 };
	struct hub_item **lists[HUB_NTYPES] = { 0 }, **v;
	size_t counts[HUB_NTYPES] = { 0 }, n;
	char msg[1024];

	types[t] = true;
	if (argc > 0) {
		v = calloc((size_t)argc, sizeof(*v));
		if (!v)
			return EXIT_FATAL;
		for (int i = 0; i < argc; i++) {
			if (!(v[i] = hub_get(h, t, argv[i]))) {
				snprintf(msg, sizeof(msg), "item(s) '%s' not found in %s", argv[i],
					 hub_type_name(t));
				cli_fatal("%s", msg);
				free(v);
				return EXIT_FATAL;
			}
		}
		n = (size_t)argc;
	} else {
		v = hub_items_of(h, t, !all, &n);
	}
	lists[t] = v;
	counts[t] = n;
	hubcli_list(c, h, types, lists, counts, false);
	free(v);
	return EXIT_OK;
}

/* `diff -u` of the installed file against the hub's latest version (-R with --rev). */
static void item_diff(struct hub *h, const struct hub_item *it, bool rev)
{
	char url[PATH_MAX * 2], why[1024], tmp[] = "/tmp/cscli-diff-XXXXXX", *body = NULL;
	const char *a, *b;
	size_t len;
	int fd;

	if (!it->local_path || !it->remote_path) {
		printf("'%s:%s' is not installed\n", hub_type_name(it->type), it->name);
		return;
	}
	snprintf(url, sizeof(url), "%s/%s", h->cfg->hub_url, it->remote_path);
	if (hub_http_get(url, HUB_MAX_ITEM_BYTES, &body, &len, why, sizeof(why))) {
		printf("%s\n", why);
		return;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || write(fd, body, len) != (ssize_t)len) {
		printf("while writing %s: %s\n", tmp, strerror(errno));
	} else {
		a = rev ? tmp : it->local_path;
		b = rev ? it->local_path : tmp;
		fflush(stdout);
		pid_t pid = fork();

		if (pid == 0) {
			execlp("diff", "diff", "-u", "--label", rev ? url : it->local_path, "--label",
			       rev ? it->local_path : url, a, b, (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(body);
}

/* upstream's --diff: why an item is tainted, member by member */
static void why_tainted(struct hub *h, struct hub_item *it, bool rev)
{
	if (!hub_item_installed(it)) {
		printf("# %s:%s is not installed\n", hub_type_name(it->type), it->name);
		return;
	}
	if (!it->tainted) {
		printf("# %s:%s is not tainted\n", hub_type_name(it->type), it->name);
		return;
	}
	printf("# Let's see why %s:%s is tainted.\n", hub_type_name(it->type), it->name);
	for (size_t i = 0; i < it->ntainted_by; i++) {
		char type[64], *colon = strchr(it->tainted_by[i], ':');
		struct hub_item *sub;
		int st;

		printf("\n-> %s\n\n", it->tainted_by[i]);
		if (!colon)
			continue;
		snprintf(type, sizeof(type), "%.*s", (int)(colon - it->tainted_by[i]), it->tainted_by[i]);
		st = hub_type_parse(type);
		sub = st < 0 ? NULL : hub_get(h, st, colon + 1);
		if (!sub)
			continue;
		/* a member edited itself: its diff; a collection tainted through others: say by whom */
		bool self = false;

		for (size_t k = 0; k < sub->ntainted_by; k++)
			self |= !strcmp(sub->tainted_by[k], it->tainted_by[i]);
		if (!hub_item_installed(sub)) {
			printf("# %s is missing (not installed)\n", it->tainted_by[i]);
		} else if (self) {
			item_diff(h, sub, rev);
		} else {
			printf("# %s is tainted by", it->tainted_by[i]);
			for (size_t k = 0; k < sub->ntainted_by; k++)
				printf("%s %s", k ? "," : "", sub->tainted_by[k]);
			printf("\n");
		}
	}
}

static int items_inspect(struct cli *c, struct hub *h, enum hub_type t, int argc, char **argv,
			 const struct item_flags *fl)
{
	char msg[1024];

	if (fl->rev && !fl->diff) {
		cli_fatal("--rev can only be used with --diff");
		return EXIT_FATAL;
	}
	for (int i = 0; i < argc; i++) {
		struct hub_item *it = hub_get(h, t, argv[i]);
		json_t *j;

		if (!it) {
			snprintf(msg, sizeof(msg), "can't find '%s' in %s", argv[i], hub_type_name(t));
			cli_fatal("%s", msg);
			return EXIT_FATAL;
		}
		if (fl->diff) {
			why_tainted(h, it, fl->rev);
			continue;
		}
		j = hub_item_to_json(it);
		if (c->out == OUT_JSON) {
			print_json(j, 2, true);
		} else {
			hubcli_print_yaml(j);
			if (c->out == OUT_HUMAN && it->tainted)
				printf("\nThis item is tainted. Use 'cscli %s inspect --diff %s' to see "
				       "why.\n", hub_type_name(t), it->name);
		}
		json_decref(j);
	}
	return EXIT_OK;
}

int cmd_items(struct cli *c, int argc, char **argv)
{
	struct hub_config cfg;
	struct hub *h = NULL;
	struct hub_plan *p = NULL;
	struct item_flags fl = { 0 };
	const char *verb;
	char err[2048];
	int t = hub_type_parse(argv[0]), ret = EXIT_FATAL, rc;

	if (t < 0)
		return EXIT_USAGE;
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		item_usage(argc < 2 ? stderr : stdout, t);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	verb = argv[1];
	if (strcmp(verb, "list") && strcmp(verb, "install") && strcmp(verb, "remove") &&
	    strcmp(verb, "delete") && strcmp(verb, "upgrade") && strcmp(verb, "inspect")) {
		fprintf(stderr, "Error: unknown command \"%s\" for \"cscli %s\"\n", verb, argv[0]);
		item_usage(stderr, t);
		return EXIT_USAGE;
	}
	argc--, argv++;
	if (parse_flags(argc, argv, &fl))
		return EXIT_USAGE;
	if (fl.help) {
		item_usage(stdout, t);
		return EXIT_OK;
	}
	argc -= optind, argv += optind;
	if ((!strcmp(verb, "install") || !strcmp(verb, "inspect")) && argc < 1) {
		fprintf(stderr, "Error: requires at least 1 arg(s), only received 0\n");
		return EXIT_USAGE;
	}
	if ((!strcmp(verb, "remove") || !strcmp(verb, "delete")) && argc > 0 && fl.all) {
		cli_fatal("can't specify items and '--all' at the same time");
		return EXIT_FATAL;
	}
	if ((!strcmp(verb, "remove") || !strcmp(verb, "delete") || !strcmp(verb, "upgrade")) &&
	    !argc && !fl.all) {
		cli_fatal("specify at least one %s to %s or '--all'", singular[t],
			  !strcmp(verb, "upgrade") ? "upgrade" : "remove");
		return EXIT_FATAL;
	}
	if (hubcli_open(c, &cfg, &h, true))
		return EXIT_FATAL;
	if (!strcmp(verb, "list")) {
		ret = items_list(c, h, t, argc, argv, fl.all);
		goto out;
	}
	if (!strcmp(verb, "inspect")) {
		ret = items_inspect(c, h, t, argc, argv, &fl);
		goto out;
	}
	if (!(p = hub_plan_new(h)))
		goto out;
	if (fl.all) {
		size_t n;
		struct hub_item **v = hub_items_of(h, t, !(fl.purge && strcmp(verb, "upgrade")), &n);

		for (size_t i = 0; v && i < n; i++) {
			rc = !strcmp(verb, "upgrade")
				     ? hub_plan_upgrade(p, v[i], fl.force, err, sizeof(err))
				     : hub_plan_remove(p, v[i], fl.force, fl.purge, err, sizeof(err));
			if (rc) {
				cli_fatal("%s", err);
				free(v);
				goto out;
			}
		}
		free(v);
	}
	for (int i = 0; i < argc; i++) {
		struct hub_item *it = hub_get(h, t, argv[i]);

		if (!it) {
			hubcli_not_found(h, t, argv[i], err, sizeof(err));
			if (fl.ignore && !strcmp(verb, "install")) {
				cli_error("%s", err);
				continue;
			}
			cli_fatal("%s", err);
			goto out;
		}
		if (!strcmp(verb, "install")) {
			rc = hub_plan_install(p, it, fl.force, fl.download_only, err, sizeof(err));
		} else if (!strcmp(verb, "upgrade")) {
			rc = hub_plan_upgrade(p, it, fl.force, err, sizeof(err));
		} else {
			if (!fl.force && it->nbelongs_to) {
				char parents[1024] = "";
				size_t np = 0;

				for (size_t k = 0; k < it->nbelongs_to; k++) {
					struct hub_item *par = hub_get(h, HUB_COLLECTIONS, it->belongs_to[k]);

					if (!par || !hub_item_installed(par))
						continue;
					snprintf(parents + strlen(parents), sizeof(parents) - strlen(parents),
						 "%s%s", np++ ? " " : "", par->name);
				}
				if (np) {
					cli_log("warning", "%s belongs to collections: [%s]", it->name, parents);
					cli_log("warning", "Run 'sudo cscli %s remove %s --force' if you want "
						"to force remove this %s", hub_type_name(t), it->name, singular[t]);
					continue;
				}
			}
			rc = hub_plan_remove(p, it, fl.force, fl.purge, err, sizeof(err));
		}
		if (rc) {
			cli_fatal("%s", err);
			goto out;
		}
	}
	ret = hubcli_execute(c, p, fl.dry_run);
out:
	hub_plan_free(p);
	hubcli_close(&cfg, h);
	return ret;
}
