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

static int open_db(struct cli *c, struct cs_db **db)
{
	if (cs_db_connect(c->cfg.db_path, c->cfg.db_conninfo, db)) {
		cli_fatal("unable to open database %s", c->cfg.db_conninfo ? "(postgresql)" : c->cfg.db_path);
		return -1;
	}
	return 0;
}

/* getopt over "-d STRING" and "-e DURATION"; the positional arguments stay in argv[optind..]. */
static int parse(int argc, char **argv, const char **desc, const char **exp)
{
	static const struct option opts[] = { { "description", required_argument, NULL, 'd' },
					      { "comment", required_argument, NULL, 'd' },
					      { "expiration", required_argument, NULL, 'e' },
					      { NULL, 0, NULL, 0 } };
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, exp ? "d:e:" : "d:", opts, NULL)) != -1) {
		if (opt == 'd')
			*desc = optarg;
		else if (opt == 'e' && exp)
			*exp = optarg;
		else
			return -1;
	}
	return 0;
}

static int al_create(struct cli *c, int argc, char **argv)
{
	const char *desc = "";
	struct cs_db *db;
	int err;

	if (parse(argc, argv, &desc, NULL) || optind + 1 != argc) {
		fprintf(stderr, "Usage: cscli allowlists create [allowlist_name] -d DESCRIPTION\n");
		return EXIT_USAGE;
	}
	if (!*desc) {
		cli_fatal("required flag(s) \"description\" not set");
		return EXIT_FATAL;
	}
	if (open_db(c, &db))
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

	if (argc != 2) {
		fprintf(stderr, "Usage: cscli allowlists delete [allowlist_name]\n");
		return EXIT_USAGE;
	}
	if (open_db(c, &db))
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
	if (!items || open_db(c, &db)) {
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

	if (argc < 3) {
		fprintf(stderr, "Usage: cscli allowlists remove [allowlist_name] [value...]\n");
		return EXIT_USAGE;
	}
	if (open_db(c, &db))
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

static int al_list(struct cli *c, int argc, char **argv)
{
	static const char *const hdr[] = { "Name", "Description", "Created at", "Updated at",
					   "Managed by Console", "Size" };
	struct lapi_client *cl;
	json_t *j = NULL, *a;
	size_t i;
	int ret = EXIT_FATAL;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "Usage: cscli allowlists list\n");
		return EXIT_USAGE;
	}
	if (client_open(c, &cl))
		return EXIT_FATAL;
	if (client_call(cl, "GET", "/v1/allowlists?with_content=true", NULL,
			"unable to list allowlists: ", &j))
		goto out;
	if (c->out == OUT_JSON) {
		print_json(j, 2, true);
	} else if (c->out == OUT_RAW) {
		printf("name,description,created_at,updated_at,console_managed,size\n");
		json_array_foreach(j, i, a) {
			char size[32];

			snprintf(size, sizeof(size), "%zu", json_array_size(json_object_get(a, "items")));
			csv_field(jstr(a, "name"), false);
			csv_field(jstr(a, "description"), false);
			csv_field(jstr(a, "created_at"), false);
			csv_field(jstr(a, "updated_at"), false);
			csv_field(json_is_true(json_object_get(a, "console_managed")) ? "true" : "false",
				  false);
			csv_field(size, true);
		}
	} else {
		struct table t;

		table_init(&t, 6, hdr);
		json_array_foreach(j, i, a) {
			char size[32];

			snprintf(size, sizeof(size), "%zu", json_array_size(json_object_get(a, "items")));
			table_add(&t, (const char *const[]){ jstr(a, "name"), jstr(a, "description"),
				  jstr(a, "created_at"), jstr(a, "updated_at"),
				  json_is_true(json_object_get(a, "console_managed")) ? "yes" : "no",
				  size });
		}
		table_print(&t, false);
		table_free(&t);
	}
	ret = EXIT_OK;
out:
	json_decref(j);
	client_close(cl);
	return ret;
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

static int al_inspect(struct cli *c, int argc, char **argv)
{
	static const char *const hdr[] = { "Value", "Comment", "Expiration", "Created at" };
	struct lapi_client *cl;
	char path[1024], name[768];
	json_t *j = NULL, *it;
	size_t i;
	int ret = EXIT_FATAL;

	if (argc != 2) {
		fprintf(stderr, "Usage: cscli allowlists inspect [allowlist_name]\n");
		return EXIT_USAGE;
	}
	if (client_open(c, &cl))
		return EXIT_FATAL;
	path_escape(argv[1], name, sizeof(name));
	snprintf(path, sizeof(path), "/v1/allowlists/%s?with_content=true", name);
	if (client_call(cl, "GET", path, NULL, "unable to get allowlist: ", &j))
		goto out;
	if (c->out == OUT_JSON) {
		print_json(j, 2, true);
	} else if (c->out == OUT_RAW) {
		printf("name,description,value,comment,expiration,created_at,console_managed\n");
		json_array_foreach(json_object_get(j, "items"), i, it) {
			csv_field(jstr(j, "name"), false);
			csv_field(jstr(j, "description"), false);
			csv_field(jstr(it, "value"), false);
			csv_field(jstr(it, "description"), false);
			csv_field(*jstr(it, "expiration") ? jstr(it, "expiration") : "never", false);
			csv_field(jstr(it, "created_at"), false);
			csv_field(json_is_true(json_object_get(j, "console_managed")) ? "true" : "false",
				  true);
		}
	} else {
		struct table t;

		printf("Allowlist: %s\n\n", jstr(j, "name"));
		printf(" Name                 %s\n Description          %s\n Created at           %s\n"
		       " Updated at           %s\n Managed by Console   %s\n\n",
		       jstr(j, "name"), jstr(j, "description"), jstr(j, "created_at"),
		       jstr(j, "updated_at"),
		       json_is_true(json_object_get(j, "console_managed")) ? "yes" : "no");
		table_init(&t, 4, hdr);
		json_array_foreach(json_object_get(j, "items"), i, it)
			table_add(&t, (const char *const[]){ jstr(it, "value"), jstr(it, "description"),
				  *jstr(it, "expiration") ? jstr(it, "expiration") : "never",
				  jstr(it, "created_at") });
		table_print(&t, false);
		table_free(&t);
	}
	ret = EXIT_OK;
out:
	json_decref(j);
	client_close(cl);
	return ret;
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

	if (argc < 2) {
		fprintf(stderr, "Usage: cscli allowlists check [value...]\n");
		return EXIT_USAGE;
	}
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
	return cli_run_verbs(c, "allowlists", "Manage centralized allowlists", allowlist_verbs,
			     sizeof(allowlist_verbs) / sizeof(allowlist_verbs[0]), argc, argv);
}
