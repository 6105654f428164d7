// SPDX-License-Identifier: MIT
/* cscli bouncers add|list|delete: direct database access, as in 1.4.6. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/pwhash.h"
#include "common/utf8.h"
#include "cscli/cscli.h"

static int open_db(struct cli *c, struct cs_db **db)
{
	if (cs_db_connect(c->cfg.db_path, c->cfg.db_conninfo, db)) {
		cli_fatal("unable to open database %s", c->cfg.db_conninfo ? "(postgresql)" : c->cfg.db_path);
		return -1;
	}
	return 0;
}

static int bouncers_add(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "key", required_argument, NULL, 'k' },
					      { "length", required_argument, NULL, 'l' },
					      { NULL, 0, NULL, 0 } };
	char key[257], hash[APIKEY_HASH_LEN];
	const char *name, *k = NULL;
	struct cs_db *db = NULL;
	long length = 16;
	int opt, ret = EXIT_FATAL;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "k:l:", opts, NULL)) != -1) {
		if (opt == 'k')
			k = optarg;
		else if (opt == 'l')
			length = strtol(optarg, NULL, 10);
		else
			return EXIT_USAGE;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "Usage: cscli bouncers add MyBouncerName [--length|-l] [--key|-k]\n");
		return EXIT_USAGE;
	}
	name = argv[optind];
	if (k) {
		if (!*k || strlen(k) >= sizeof(key)) {
			cli_fatal("invalid key");
			return EXIT_FATAL;
		}
		strcpy(key, k);
	} else {
		if (length < 1 || length > 128) {
			cli_fatal("invalid key length %ld", length);
			return EXIT_FATAL;
		}
		if (cs_random_string(key, (size_t)length * 2, true)) {
			cli_fatal("unable to generate api key");
			return EXIT_FATAL;
		}
	}
	if (!*name || strlen(name) > 255) {
		cli_fatal("invalid bouncer name");
		return EXIT_FATAL;
	}
	if (open_db(c, &db))
		return EXIT_FATAL;
	cs_apikey_hash(key, hash);
	ret = cs_db_bouncer_add(db, name, hash, gotime_now());
	if (ret == -EEXIST) {
		cli_fatal("unable to create bouncer: bouncer %s already exists", name);
		ret = EXIT_FATAL;
	} else if (ret) {
		cli_fatal("unable to create bouncer: %s", cs_db_errmsg(db));
		ret = EXIT_FATAL;
	} else {
		if (c->out == OUT_HUMAN) {
			printf("Api key for '%s':\n\n   %s\n\n"
			       "Please keep this key since you will not be able to retrieve it!\n",
			       name, key);
		} else if (c->out == OUT_RAW) {
			fputs(key, stdout);
		} else {
			json_t *j = json_string(key);

			print_json(j, 2, true);
			json_decref(j);
		}
		ret = EXIT_OK;
	}
	cs_db_close(db);
	return ret;
}

static int bouncers_list(struct cli *c, int argc, char **argv)
{
	struct cs_bouncer *v = NULL;
	struct cs_db *db = NULL;
	size_t n = 0;

	if (open_db(c, &db))
		return EXIT_FATAL;
	if (cs_db_bouncer_list(db, &v, &n)) {
		cli_fatal("unable to list bouncers: %s", cs_db_errmsg(db));
		cs_db_close(db);
		return EXIT_FATAL;
	}
	if (c->out == OUT_JSON) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++) {
			char ca[48], ua[48], un[48], lp[48];

			fmt_time(v[i].created_at, true, ca, sizeof(ca));
			fmt_time(v[i].updated_at, true, ua, sizeof(ua));
			fmt_time(v[i].until, true, un, sizeof(un));
			fmt_time(v[i].last_pull, true, lp, sizeof(lp));
			json_array_append_new(
				/* type and version come from User-Agent headers: any bytes */
				arr, json_pack("{s:I,s:s,s:s,s:o,s:s,s:b,s:o,s:o,s:o,s:s,s:s,s:s}", "id",
					       (json_int_t)v[i].id, "created_at", ca, "updated_at", ua,
					       "name", utf8_json_string(v[i].name), "api_key",
					       v[i].api_key, "revoked", v[i].revoked, "ip_address",
					       utf8_json_string(v[i].ip_address), "type",
					       utf8_json_string(v[i].type), "version",
					       utf8_json_string(v[i].version), "until", un, "last_pull", lp,
					       "auth_type", v[i].auth_type));
		}
		print_json(arr, 2, true);
		json_decref(arr);
	} else if (c->out == OUT_RAW) {
		printf("name,ip,revoked,last_pull,type,version,auth_type\n");
		for (size_t i = 0; i < n; i++) {
			char lp[48];

			fmt_time(v[i].last_pull, false, lp, sizeof(lp));
			csv_field(v[i].name, false);
			csv_field(v[i].ip_address, false);
			csv_field(v[i].revoked ? "pending" : "validated", false);
			csv_field(lp, false);
			csv_field(v[i].type, false);
			csv_field(v[i].version, false);
			csv_field(v[i].auth_type, true);
		}
	} else {
		static const char *const hdr[] = { "Name", "IP Address", "Valid", "Last API pull",
						   "Type", "Version", "Auth Type" };
		struct table t;

		table_init(&t, 7, hdr);
		for (size_t i = 0; i < n; i++) {
			char lp[48];

			fmt_time(v[i].last_pull, false, lp, sizeof(lp));
			const char *row[] = { v[i].name,
					      v[i].ip_address,
					      v[i].revoked ? "\xf0\x9f\x9a\xab" : "\xe2\x9c\x94\xef\xb8\x8f",
					      lp,
					      v[i].type,
					      v[i].version,
					      v[i].auth_type };
			table_add(&t, row);
		}
		table_print(&t, false);
		table_free(&t);
	}
	cs_bouncers_free(v, n);
	cs_db_close(db);
	return EXIT_OK;
}

static int bouncers_delete(struct cli *c, int argc, char **argv)
{
	struct cs_db *db = NULL;
	int ret = EXIT_OK;

	if (argc < 2) {
		fprintf(stderr, "Usage: cscli bouncers delete MyBouncerName\n");
		return EXIT_USAGE;
	}
	if (open_db(c, &db))
		return EXIT_FATAL;
	for (int i = 1; i < argc; i++) {
		int err = cs_db_bouncer_delete(db, argv[i]);

		if (err == -ENOENT) {
			cli_fatal("unable to delete bouncer '%s': bouncer doesn't exist", argv[i]);
			ret = EXIT_FATAL;
			break;
		} else if (err) {
			cli_fatal("unable to delete bouncer '%s': %s", argv[i], cs_db_errmsg(db));
			ret = EXIT_FATAL;
			break;
		}
		cli_info("bouncer '%s' deleted successfully", argv[i]);
	}
	cs_db_close(db);
	return ret;
}

static const struct verb bouncer_verbs[] = {
	{ "add", NULL, bouncers_add, "add bouncer", "MyBouncerName [flags]",
	  "  -k, --key string      api key for the bouncer\n"
	  "  -l, --length int      length of the api key (default 16)\n" },
	{ "list", NULL, bouncers_list, "List bouncers", "[flags]", NULL },
	{ "delete", "remove", bouncers_delete, "delete bouncer", "MyBouncerName [flags]", NULL },
};

int cmd_bouncers(struct cli *c, int argc, char **argv)
{
	return cli_run_verbs(c, "bouncers", "Manage bouncers [requires local API]", bouncer_verbs,
			     sizeof(bouncer_verbs) / sizeof(bouncer_verbs[0]), argc, argv);
}
