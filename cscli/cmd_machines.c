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

int cli_write_creds(const char *file, const char *url, const char *login, const char *pw)
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
	const char *pw = NULL, *file = NULL, *url = NULL;
	bool autogen = false, force = false, interactive = false;
	const struct cli_opt opts[] = {
		{ "password", 'p', .str = &pw },	{ "auto", 'a', .set = &autogen },
		{ "file", 'f', .str = &file },		{ "url", 'u', .str = &url },
		{ "force", 0, .set = &force },		{ "interactive", 'i', .set = &interactive },
	};
	char genpw[65], genid[64], hash[PWHASH_LEN], urlbuf[300];
	struct cs_db *db = NULL;
	const char *name;
	int ret = CLI_GETOPT(argc, argv, opts);

	if (ret)
		return ret;
	if (interactive) {
		cli_fatal("interactive mode is not supported, use --password or --auto");
		return EXIT_FATAL;
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
	if (cli_open_db(c, &db))
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
	ret = cli_write_creds(file, url, name, pw);
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

static json_t *machine_json(const void *item)
{
	const struct cs_machine *m = item;
	json_t *o = json_object();
	char t[48];

	json_object_set_new(o, "id", json_integer(m->id));
	fmt_time(m->created_at, true, t, sizeof(t));
	json_object_set_new(o, "created_at", json_string(t));
	fmt_time(m->updated_at, true, t, sizeof(t));
	json_object_set_new(o, "updated_at", json_string(t));
	if (m->last_push) {
		fmt_time(m->last_push, true, t, sizeof(t));
		json_object_set_new(o, "last_push", json_string(t));
	}
	if (m->last_heartbeat) {
		fmt_time(m->last_heartbeat, true, t, sizeof(t));
		json_object_set_new(o, "last_heartbeat", json_string(t));
	}
	json_object_set_new(o, "machineId", utf8_json_string(m->machine_id));
	if (*m->ip_address)
		json_object_set_new(o, "ipAddress", utf8_json_string(m->ip_address));
	if (*m->scenarios)
		json_object_set_new(o, "scenarios", utf8_json_string(m->scenarios));
	if (*m->version)
		json_object_set_new(o, "version", utf8_json_string(m->version));
	if (m->is_validated)
		json_object_set_new(o, "isValidated", json_true());
	if (*m->status)
		json_object_set_new(o, "status", utf8_json_string(m->status));
	json_object_set_new(o, "auth_type", json_string(m->auth_type));
	json_object_set_new(o, "edges", json_object());
	return o;
}

static void machine_row(const void *item, bool raw, char scratch[CLI_ROW_SCRATCH][96],
			const char **cells)
{
	const struct cs_machine *m = item;
	const char *yes = raw ? "true" : "\xe2\x9c\x94\xef\xb8\x8f",
		   *no = raw ? "false" : "\xf0\x9f\x9a\xab";

	fmt_time(m->updated_at, false, scratch[0], sizeof(scratch[0]));
	since(m->last_heartbeat, gotime_now(), scratch[1], sizeof(scratch[1]));
	cells[0] = m->machine_id;
	cells[1] = m->ip_address;
	cells[2] = scratch[0];
	cells[3] = m->is_validated ? yes : no;
	cells[4] = m->version;
	cells[5] = m->auth_type;
	cells[6] = scratch[1];
}

CLI_DB_LISTING_FNS(machines, struct cs_machine, cs_db_machine_list, cs_machines_free)

static int machines_list(struct cli *c, int argc, char **argv)
{
	static const char *const hdr[] = { "Name",    "IP Address", "Last Update",
					   "Status",  "Version",    "Auth Type",
					   "Last Heartbeat" };
	static const struct cli_db_listing listing = {
		"machines", machines_fetch, machines_drop, sizeof(struct cs_machine),
		{ 7, hdr, "machine_id,ip_address,updated_at,validated,version,auth_type,last_heartbeat",
		  machine_json, machine_row }
	};

	return cli_list_db(c, &listing);
}

static int machines_delete(struct cli *c, int argc, char **argv, bool validate)
{
	struct cs_db *db = NULL;

	if (argc < 2) {
		fprintf(stderr, "Usage: cscli machines %s MyMachineName\n",
			validate ? "validate" : "delete");
		return EXIT_USAGE;
	}
	if (cli_open_db(c, &db))
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
	return CLI_RUN_VERBS(c, "machines", "Manage local API machines [requires local API]",
			     machine_verbs, argc, argv);
}
