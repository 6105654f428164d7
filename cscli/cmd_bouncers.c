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

static int bouncers_add(struct cli *c, int argc, char **argv)
{
	const char *name, *k = NULL, *length_s = "16";
	const struct cli_opt opts[] = { { "key", 'k', .str = &k },
					{ "length", 'l', .str = &length_s } };
	char key[257], hash[APIKEY_HASH_LEN];
	struct cs_db *db = NULL;
	long length;
	int ret = CLI_GETOPT(argc, argv, opts);

	if (ret)
		return ret;
	length = strtol(length_s, NULL, 10);
	if (cli_bad_usage(optind + 1 != argc,
			  "bouncers add MyBouncerName [--length|-l] [--key|-k]"))
		return EXIT_USAGE;
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
	if (cli_open_db(c, &db))
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

static json_t *bouncer_json(const void *item)
{
	const struct cs_bouncer *b = item;
	char ca[48], ua[48], un[48], lp[48];

	fmt_time(b->created_at, true, ca, sizeof(ca));
	fmt_time(b->updated_at, true, ua, sizeof(ua));
	fmt_time(b->until, true, un, sizeof(un));
	fmt_time(b->last_pull, true, lp, sizeof(lp));
	/* type and version come from User-Agent headers: any bytes */
	return json_pack("{s:I,s:s,s:s,s:o,s:s,s:b,s:o,s:o,s:o,s:s,s:s,s:s}", "id",
			 (json_int_t)b->id, "created_at", ca, "updated_at", ua, "name",
			 utf8_json_string(b->name), "api_key", b->api_key, "revoked", b->revoked,
			 "ip_address", utf8_json_string(b->ip_address), "type",
			 utf8_json_string(b->type), "version", utf8_json_string(b->version), "until",
			 un, "last_pull", lp, "auth_type", b->auth_type);
}

static void bouncer_row(const void *item, bool raw, char scratch[CLI_ROW_SCRATCH][96],
			const char **cells)
{
	const struct cs_bouncer *b = item;
	const char *valid = raw ? "validated" : "\xe2\x9c\x94\xef\xb8\x8f",
		   *revoked = raw ? "pending" : "\xf0\x9f\x9a\xab";

	fmt_time(b->last_pull, false, scratch[0], sizeof(scratch[0]));
	cells[0] = b->name;
	cells[1] = b->ip_address;
	cells[2] = b->revoked ? revoked : valid;
	cells[3] = scratch[0];
	cells[4] = b->type;
	cells[5] = b->version;
	cells[6] = b->auth_type;
}

CLI_DB_LISTING_FNS(bouncers, struct cs_bouncer, cs_db_bouncer_list, cs_bouncers_free)

static int bouncers_list(struct cli *c, int argc, char **argv)
{
	static const char *const hdr[] = { "Name", "IP Address", "Valid", "Last API pull",
					   "Type", "Version", "Auth Type" };
	static const struct cli_db_listing listing = {
		"bouncers", bouncers_fetch, bouncers_drop, sizeof(struct cs_bouncer),
		{ 7, hdr, "name,ip,revoked,last_pull,type,version,auth_type", bouncer_json,
		  bouncer_row }
	};

	return cli_list_db(c, &listing);
}

static int bouncers_delete(struct cli *c, int argc, char **argv)
{
	struct cs_db *db = NULL;
	int ret = EXIT_OK;

	if (cli_bad_usage(argc < 2, "bouncers delete MyBouncerName"))
		return EXIT_USAGE;
	if (cli_open_db(c, &db))
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
	return CLI_RUN_VERBS(c, "bouncers", "Manage bouncers [requires local API]",
			     bouncer_verbs, argc, argv);
}
