// SPDX-License-Identifier: MIT
/*
 * cscli allowlists create|add|remove|delete (the database, as upstream) and
 * list|inspect|check (through the LAPI). Adding values expires the decisions
 * they cover, so bouncers see them in the stream's "deleted".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/ipaddr.h"
#include "cscli/cscli.h"

/* getopt over "-d STRING" and "-e DURATION"; the positional arguments stay in argv[optind..]. */
static int parse(int argc, char **argv, const char **desc, const char **exp)
{
	const struct cli_opt opts[] = {
		{ "description", 'd', .str = desc },
		{ "comment", 0, .str = desc },
		{ "expiration", exp ? 'e' : 0, .str = exp },
	};

	/* without exp, --expiration is not a flag of the verb */
	return cli_getopt(argc, argv, opts, exp ? 3 : 2) ? -1 : 0;
}

static int al_create(struct cli *c, int argc, char **argv)
{
	const char *desc = "";
	struct cs_db *db;
	int err;

	if (cli_bad_usage(parse(argc, argv, &desc, NULL) || optind + 1 != argc,
			  "allowlists create [allowlist_name] -d DESCRIPTION"))
		return EXIT_USAGE;
	if (!*desc) {
		cli_fatal("required flag(s) \"description\" not set");
		return EXIT_FATAL;
	}
	if (cli_open_db(c, &db))
		return EXIT_FATAL;
	err = cs_db_allowlist_create(db, argv[optind], desc, gotime_now());
	cs_db_close(db);
	if (err == -EEXIST) {
		cli_fatal("allowlist '%s' already exists", argv[optind]);
		return EXIT_FATAL;
	}
	if (err) {
		cli_fatal("unable to create allowlist: %s",
			  err == -EINVAL ? "invalid name" : strerror(-err));
		return EXIT_FATAL;
	}
	printf("allowlist '%s' created successfully\n", argv[optind]);
	return EXIT_OK;
}

static int al_delete(struct cli *c, int argc, char **argv)
{
	struct cs_db *db;
	int err;

	if (cli_bad_usage(argc != 2, "allowlists delete [allowlist_name]"))
		return EXIT_USAGE;
	if (cli_open_db(c, &db))
		return EXIT_FATAL;
	err = cs_db_allowlist_delete(db, argv[1]);
	cs_db_close(db);
	if (err) {
		cli_fatal("%s", err == -ENOENT ? "allowlist not found" : strerror(-err));
		return EXIT_FATAL;
	}
	printf("allowlist '%s' deleted successfully\n", argv[1]);
	return EXIT_OK;
}

static int al_add(struct cli *c, int argc, char **argv)
{
	const char *comment = "", *exp = NULL;
	struct cs_allowlist_item *items;
	struct cs_allowlist cur;
	int64_t now = gotime_now(), ttl = 0;
	struct cs_db *db;
	long added = 0, expired = 0;
	size_t n = 0;
	int err, ret = EXIT_FATAL;

	if (parse(argc, argv, &comment, &exp) || argc - optind < 2) {
		fprintf(stderr, "Usage: cscli allowlists add [allowlist_name] [value...] "
				"[-e expiration] [-d comment]\n");
		return EXIT_USAGE;
	}
	if (exp && (gotime_parse_duration_days(exp, &ttl) || ttl <= 0)) {
		cli_fatal("invalid expiration '%s' (a duration: 1h, 7d...)", exp);
		return EXIT_FATAL;
	}
	items = calloc((size_t)argc, sizeof(*items));
	if (!items || cli_open_db(c, &db)) {
		free(items);
		return EXIT_FATAL;
	}
	err = cs_db_allowlist_get(db, argv[optind], true, now, &cur);
	if (err) {
		cli_fatal("%s", err == -ENOENT ? "allowlist not found" : strerror(-err));
		goto out;
	}
	for (int i = optind + 1; i < argc; i++) {
		struct cs_prefix r;
		bool dup = false;

		if (cs_prefix_parse(argv[i], CS_PREFIX_MASK, &r)) {
			cli_fatal("'%s' is not an IP address or a range (CIDR)", argv[i]);
			cs_allowlist_clear(&cur);
			goto out;
		}
		for (size_t k = 0; k < cur.nitems; k++)
			dup |= !strcmp(cur.items[k].value, argv[i]);
		if (dup) {
			cli_log("warning", "value %s already in allowlist", argv[i]);
			continue;
		}
		items[n++] = (struct cs_allowlist_item){ .value = argv[i], .comment = (char *)comment,
							 .expires_at = ttl ? now + ttl : 0 };
	}
	cs_allowlist_clear(&cur);
	if (!n) {
		printf("no new values for allowlist\n");
		ret = EXIT_OK;
		goto out;
	}
	err = cs_db_allowlist_add(db, argv[optind], items, n, now, &added);
	if (err) {
		cli_fatal("unable to add values to allowlist: %s", strerror(-err));
		goto out;
	}
	if (added)
		printf("added %ld values to allowlist %s\n", added, argv[optind]);
	err = cs_db_allowlists_apply(db, gotime_now(), &expired);
	if (err) {
		cli_fatal("unable to apply allowlists to existing decisions: %s", strerror(-err));
		goto out;
	}
	if (expired)
		printf("%ld decisions deleted by allowlists\n", expired);
	ret = EXIT_OK;
out:
	cs_db_close(db);
	free(items);
	return ret;
}

static int al_remove(struct cli *c, int argc, char **argv)
{
	struct cs_db *db;
	long removed = 0;
	int err;

	if (cli_bad_usage(argc < 3, "allowlists remove [allowlist_name] [value...]"))
		return EXIT_USAGE;
	if (cli_open_db(c, &db))
		return EXIT_FATAL;
	err = cs_db_allowlist_remove(db, argv[1], argv + 2, (size_t)argc - 2, &removed);
	cs_db_close(db);
	if (err) {
		cli_fatal("%s", err == -ENOENT ? "allowlist not found" : strerror(-err));
		return EXIT_FATAL;
	}
	if (!removed)
		printf("no value to remove from allowlist\n");
	else
		printf("removed %ld values from allowlist %s\n", removed, argv[1]);
	return EXIT_OK;
}

/* GET path as a machine and print the answer with show. EXIT_OK or EXIT_FATAL (logged). */
static int get_show(struct cli *c, const char *path, const char *what,
		    void (*show)(const struct cli *c, json_t *j))
{
	struct lapi_client *cl;
	json_t *j = NULL;
	int ret = EXIT_FATAL;

	if (client_open(c, &cl))
		return EXIT_FATAL;
	if (!client_call(cl, "GET", path, NULL, what, &j)) {
		show(c, j);
		ret = EXIT_OK;
	}
	json_decref(j);
	client_close(cl);
	return ret;
}

static void allowlist_row(const void *item, bool raw, char scratch[CLI_ROW_SCRATCH][96],
			  const char **cells)
{
	json_t *a = (json_t *)item;
	bool console = json_is_true(json_object_get(a, "console_managed"));

	snprintf(scratch[0], sizeof(scratch[0]), "%zu",
		 json_array_size(json_object_get(a, "items")));
	cells[0] = jstr(a, "name");
	cells[1] = jstr(a, "description");
	cells[2] = jstr(a, "created_at");
	cells[3] = jstr(a, "updated_at");
	cells[4] = console ? (raw ? "true" : "yes") : (raw ? "false" : "no");
	cells[5] = scratch[0];
}

static void show_allowlists(const struct cli *c, json_t *j)
{
	static const char *const hdr[] = { "Name", "Description", "Created at", "Updated at",
					   "Managed by Console", "Size" };
	static const struct cli_listing listing = {
		6, hdr, "name,description,created_at,updated_at,console_managed,size", NULL,
		allowlist_row
	};

	cli_print_list(c, &listing, j, 0, json_array_size(j));
}

static int al_list(struct cli *c, int argc, char **argv)
{
	(void)argv;
	if (cli_bad_usage(argc != 1, "allowlists list"))
		return EXIT_USAGE;
	return get_show(c, "/v1/allowlists?with_content=true", "unable to list allowlists: ",
			show_allowlists);
}

/* A path segment: only unreserved characters pass, the rest percent-encoded. */
static void path_escape(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < len; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~:", *p)) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

static void show_allowlist(const struct cli *c, json_t *j)
{
	static const char *const hdr[] = { "Value", "Comment", "Expiration", "Created at" };
	bool console = json_is_true(json_object_get(j, "console_managed"));
	struct table t;
	size_t i;
	json_t *it;

	if (c->out == OUT_JSON) {
		print_json(j, 2, true);
		return;
	}
	if (c->out == OUT_RAW) {
		printf("name,description,value,comment,expiration,created_at,console_managed\n");
		json_array_foreach(json_object_get(j, "items"), i, it) {
			csv_field(jstr(j, "name"), false);
			csv_field(jstr(j, "description"), false);
			csv_field(jstr(it, "value"), false);
			csv_field(jstr(it, "description"), false);
			csv_field(*jstr(it, "expiration") ? jstr(it, "expiration") : "never", false);
			csv_field(jstr(it, "created_at"), false);
			csv_field(console ? "true" : "false", true);
		}
		return;
	}
	printf("Allowlist: %s\n\n", jstr(j, "name"));
	printf(" Name                 %s\n Description          %s\n Created at           %s\n"
	       " Updated at           %s\n Managed by Console   %s\n\n",
	       jstr(j, "name"), jstr(j, "description"), jstr(j, "created_at"),
	       jstr(j, "updated_at"), console ? "yes" : "no");
	table_init(&t, 4, hdr);
	json_array_foreach(json_object_get(j, "items"), i, it)
		table_add(&t, (const char *const[]){ jstr(it, "value"), jstr(it, "description"),
			  *jstr(it, "expiration") ? jstr(it, "expiration") : "never",
			  jstr(it, "created_at") });
	table_print(&t, false);
	table_free(&t);
}

static int al_inspect(struct cli *c, int argc, char **argv)
{
	char path[1024], name[768];

	if (cli_bad_usage(argc != 2, "allowlists inspect [allowlist_name]"))
		return EXIT_USAGE;
	path_escape(argv[1], name, sizeof(name));
	snprintf(path, sizeof(path), "/v1/allowlists/%s?with_content=true", name);
	return get_show(c, path, "unable to get allowlist: ", show_allowlist);
}

int allowlist_check(struct lapi_client *cl, const char *value, char **reason)
{
	char path[1024], v[768], *body = NULL;
	long status = 0;
	json_t *j;
	int rc;

	*reason = NULL;
	path_escape(value, v, sizeof(v));
	snprintf(path, sizeof(path), "/v1/allowlists/check/%s", v);
	if (client_do(cl, "GET", path, NULL, &status, &body))
		return -EIO;
	if (status != 200) {
		char msg[512];

		api_error_text(body, msg, sizeof(msg));
		cli_error("cannot check if %s is in allowlist: %s", value, msg);
		free(body);
		return -EIO;
	}
	j = json_loads(body, 0, NULL);
	free(body);
	rc = json_is_true(json_object_get(j, "allowlisted"));
	if (rc && !(*reason = strdup(jstr(j, "reason"))))
		rc = -ENOMEM;
	json_decref(j);
	return rc;
}

static int al_check(struct cli *c, int argc, char **argv)
{
	struct lapi_client *cl;
	int ret = EXIT_OK;

	if (cli_bad_usage(argc < 2, "allowlists check [value...]"))
		return EXIT_USAGE;
	if (client_open(c, &cl))
		return EXIT_FATAL;
	for (int i = 1; i < argc && ret == EXIT_OK; i++) {
		char *reason;
		int rc = allowlist_check(cl, argv[i], &reason);

		if (rc < 0)
			ret = EXIT_FATAL;
		else if (rc)
			printf("%s is allowlisted by item %s\n", argv[i], reason);
		else
			printf("%s is not allowlisted\n", argv[i]);
		free(reason);
	}
	client_close(cl);
	return ret;
}

static const struct verb allowlist_verbs[] = {
	{ "create", NULL, al_create, "Create an allowlist", "[allowlist_name] [flags]",
	  "  -d, --description string   description of the allowlist\n" },
	{ "add", NULL, al_add, "Add content to an allowlist",
	  "[allowlist_name] [value...] [-e expiration] [-d comment]",
	  "  -d, --comment string       comment for the value\n"
	  "  -e, --expiration duration  expiration duration\n" },
	{ "remove", NULL, al_remove, "Remove content from an allowlist",
	  "[allowlist_name] [value...]", NULL },
	{ "delete", NULL, al_delete, "Delete an allowlist", "[allowlist_name]", NULL },
	{ "list", NULL, al_list, "List all allowlists", "[flags]", NULL },
	{ "inspect", NULL, al_inspect, "Inspect an allowlist", "[allowlist_name]", NULL },
	{ "check", NULL, al_check, "Check if a value is in an allowlist", "[value...]", NULL },
};

int cmd_allowlists(struct cli *c, int argc, char **argv)
{
	return CLI_RUN_VERBS(c, "allowlists", "Manage centralized allowlists",
			     allowlist_verbs, argc, argv);
}
