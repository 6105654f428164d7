// SPDX-License-Identifier: MIT
/* cscli machines add|list|delete|validate: direct database access, as in 1.4.6. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* YAML scalar: plain when safe, else single-quoted. */
static void yaml_scalar(FILE *f, const char *key, const char *v)
{
	bool plain = *v && !strchr("-?:,[]{}#&*!|>'\"%@` ", v[0]);

	for (const char *p = v; plain && *p; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || strchr("._/:-+~", *p);
	if (plain) {
		fprintf(f, "%s: %s\n", key, v);
		return;
	}
	fprintf(f, "%s: '", key);
	for (; *v; v++) {
		if (*v == '\'')
			fputc('\'', f);
		fputc(*v, f);
	}
	fprintf(f, "'\n");
}

static int write_creds(const char *file, const char *url, const char *login, const char *pw)
{
	FILE *f;
	int fd;

	if (!strcmp(file, "-")) {
		f = stdout;
	} else {
		fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || !(f = fdopen(fd, "w"))) {
			if (fd >= 0)
				close(fd);
			return -errno;
		}
	}
	yaml_scalar(f, "url", url);
	yaml_scalar(f, "login", login);
	yaml_scalar(f, "password", pw);
	if (f != stdout && fclose(f))
		return -errno;
	return 0;
}

static int machines_add(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "password", required_argument, NULL, 'p' },
					      { "auto", no_argument, NULL, 'a' },
					      { "file", required_argument, NULL, 'f' },
					      { "url", required_argument, NULL, 'u' },
					      { "force", no_argument, NULL, 'F' },
					      { "interactive", no_argument, NULL, 'i' },
					      { NULL, 0, NULL, 0 } };
	const char *pw = NULL, *file = NULL, *url = NULL;
	char genpw[65], genid[64], hash[PWHASH_LEN], urlbuf[300];
	bool autogen = false, force = false;
	struct cs_db *db = NULL;
	const char *name;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "p:af:u:i", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			pw = optarg;
			break;
		case 'a':
			autogen = true;
			break;
		case 'f':
			file = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'F':
			force = true;
			break;
		case 'i':
			cli_fatal("interactive mode is not supported, use --password or --auto");
			return EXIT_FATAL;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		name = argv[optind];
	} else if (autogen) {
		char mid[40] = "", rnd[17];
		FILE *f = fopen("/etc/machine-id", "r");

		if (!f || !fgets(mid, sizeof(mid), f))
			cs_random_string(mid, 32, true);
		if (f)
			fclose(f);
		mid[strcspn(mid, "\n")] = '\0';
		cs_random_string(rnd, 16, false);
		snprintf(genid, sizeof(genid), "%.32s%s", mid, rnd);
		name = genid;
	} else {
		cli_fatal("please provide a name for the api, or pass --auto");
		return EXIT_FATAL;
	}
	if (!pw) {
		if (!autogen) {
			cli_fatal("please provide a password with --password or use --auto");
			return EXIT_FATAL;
		}
		cs_random_string(genpw, 64, false);
		pw = genpw;
	}
	if (!*name || strlen(name) >= 256 || strlen(pw) >= 256) {
		cli_fatal("invalid machine name or password");
		return EXIT_FATAL;
	}
	if (!url) {
		snprintf(urlbuf, sizeof(urlbuf), "http://%s", c->cfg.listen_uri);
		url = urlbuf;
	}
	if (!file)
		file = c->cfg.credentials_path;
	if (open_db(c, &db))
		return EXIT_FATAL;
	ret = cs_pwhash_make(pw, hash);
	if (!ret)
		ret = cs_db_machine_add(db, name, hash, "", true, force, gotime_now());
	cs_db_close(db);
	if (ret == -EEXIST) {
		cli_fatal("unable to create machine: user '%s': user already exist", name);
		return EXIT_FATAL;
	} else if (ret) {
		cli_fatal("unable to create machine: %s", strerror(-ret));
		return EXIT_FATAL;
	}
	cli_info("Machine '%s' successfully added to the local API", name);
	ret = write_creds(file, url, name, pw);
	if (ret) {
		cli_fatal("write api credentials in '%s' failed: %s", file, strerror(-ret));
		return EXIT_FATAL;
	}
	if (strcmp(file, "-"))
		cli_info("API credentials dumped to '%s'", file);
	return EXIT_OK;
}

static void since(int64_t t, int64_t now, char *buf, size_t len)
{
	char d[GOTIME_STRLEN];
	int64_t delta;

	if (!t) {
		snprintf(buf, len, "-");
		return;
	}
	delta = (now - t) / NSEC_PER_SEC * NSEC_PER_SEC;
	gotime_format_duration(delta, d, sizeof(d));
	snprintf(buf, len, "%s%.40s", delta > 120 * NSEC_PER_SEC ? "\xe2\x9a\xa0\xef\xb8\x8f " : "", d);
}

static int machines_list(struct cli *c, int argc, char **argv)
{
	struct cs_machine *v = NULL;
	struct cs_db *db = NULL;
	int64_t now = gotime_now();
	size_t n = 0;

	if (open_db(c, &db))
		return EXIT_FATAL;
	if (cs_db_machine_list(db, &v, &n)) {
		cli_fatal("unable to list machines: %s", cs_db_errmsg(db));
		cs_db_close(db);
		return EXIT_FATAL;
	}
	if (c->out == OUT_JSON) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();
			char t[48];

			json_object_set_new(o, "id", json_integer(v[i].id));
			fmt_time(v[i].created_at, true, t, sizeof(t));
			json_object_set_new(o, "created_at", json_string(t));
			fmt_time(v[i].updated_at, true, t, sizeof(t));
			json_object_set_new(o, "updated_at", json_string(t));
			if (v[i].last_push) {
				fmt_time(v[i].last_push, true, t, sizeof(t));
				json_object_set_new(o, "last_push", json_string(t));
			}
			if (v[i].last_heartbeat) {
				fmt_time(v[i].last_heartbeat, true, t, sizeof(t));
				json_object_set_new(o, "last_heartbeat", json_string(t));
			}
			json_object_set_new(o, "machineId", utf8_json_string(v[i].machine_id));
			if (*v[i].ip_address)
				json_object_set_new(o, "ipAddress", utf8_json_string(v[i].ip_address));
			if (*v[i].scenarios)
				json_object_set_new(o, "scenarios", utf8_json_string(v[i].scenarios));
			if (*v[i].version)
				json_object_set_new(o, "version", utf8_json_string(v[i].version));
			if (v[i].is_validated)
				json_object_set_new(o, "isValidated", json_true());
			if (*v[i].status)
				json_object_set_new(o, "status", utf8_json_string(v[i].status));
			json_object_set_new(o, "auth_type", json_string(v[i].auth_type));
			json_object_set_new(o, "edges", json_object());
			json_array_append_new(arr, o);
		}
		print_json(arr, 2, true);
		json_decref(arr);
	} else if (c->out == OUT_RAW) {
		printf("machine_id,ip_address,updated_at,validated,version,auth_type,last_heartbeat\n");
		for (size_t i = 0; i < n; i++) {
			char ua[48], hb[96];

			fmt_time(v[i].updated_at, false, ua, sizeof(ua));
			since(v[i].last_heartbeat, now, hb, sizeof(hb));
			csv_field(v[i].machine_id, false);
			csv_field(v[i].ip_address, false);
			csv_field(ua, false);
			csv_field(v[i].is_validated ? "true" : "false", false);
			csv_field(v[i].version, false);
			csv_field(v[i].auth_type, false);
			csv_field(hb, true);
		}
	} else {
		static const char *const hdr[] = { "Name",    "IP Address", "Last Update",
						   "Status",  "Version",    "Auth Type",
						   "Last Heartbeat" };
		struct table t;

		table_init(&t, 7, hdr);
		for (size_t i = 0; i < n; i++) {
			char ua[48], hb[96];

			fmt_time(v[i].updated_at, false, ua, sizeof(ua));
			since(v[i].last_heartbeat, now, hb, sizeof(hb));
			const char *row[] = { v[i].machine_id,
					      v[i].ip_address,
					      ua,
					      v[i].is_validated ? "\xe2\x9c\x94\xef\xb8\x8f"
								: "\xf0\x9f\x9a\xab",
					      v[i].version,
					      v[i].auth_type,
					      hb };
			table_add(&t, row);
		}
		table_print(&t, false);
		table_free(&t);
	}
	cs_machines_free(v, n);
	cs_db_close(db);
	return EXIT_OK;
}

static int machines_delete(struct cli *c, int argc, char **argv, bool validate)
{
	struct cs_db *db = NULL;

	if (argc < 2) {
		fprintf(stderr, "Usage: cscli machines %s MyMachineName\n",
			validate ? "validate" : "delete");
		return EXIT_USAGE;
	}
	if (open_db(c, &db))
		return EXIT_FATAL;
	for (int i = 1; i < argc; i++) {
		int err = validate ? cs_db_machine_validate(db, argv[i], gotime_now())
				   : cs_db_machine_delete(db, argv[i]);

		if (err)
			/* 1.4.6 only logs this one and exits 0 */
			cli_error("unable to %s machine '%s': %s", validate ? "validate" : "delete",
				  argv[i],
				  err == -ENOENT ? "machine doesn't exist" : cs_db_errmsg(db));
		else
			cli_info("machine '%s' %s successfully", argv[i],
				 validate ? "validated" : "deleted");
	}
	cs_db_close(db);
	return EXIT_OK;
}

static int machines_remove(struct cli *c, int argc, char **argv)
{
	return machines_delete(c, argc, argv, false);
}

static int machines_validate(struct cli *c, int argc, char **argv)
{
	return machines_delete(c, argc, argv, true);
}

static const struct verb machine_verbs[] = {
	{ "add", NULL, machines_add, "add machine to the database.", "MyMachineName [flags]",
	  "  -p, --password string machine password to login to the API\n"
	  "  -a, --auto            automatically generate password (and username if not provided)\n"
	  "  -f, --file string     output file destination (for LAPI credentials)\n"
	  "  -u, --url string      URL of the local API\n"
	  "      --force           will force add the machine if it already exist\n"
	  "  -i, --interactive     interactive mode to enter the password\n" },
	{ "list", NULL, machines_list, "List machines", "[flags]", NULL },
	{ "delete", "remove", machines_remove, "delete machines", "MyMachineName [flags]", NULL },
	{ "validate", NULL, machines_validate, "validate a machine to access the local API",
	  "MyMachineName [flags]", NULL },
};

int cmd_machines(struct cli *c, int argc, char **argv)
{
	return cli_run_verbs(c, "machines", "Manage local API machines [requires local API]",
			     machine_verbs, sizeof(machine_verbs) / sizeof(machine_verbs[0]), argc,
			     argv);
}
