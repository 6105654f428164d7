// SPDX-License-Identifier: MIT
/*
 * The detection table and its evaluation. A service is detected when one of
 * its unit files is installed, one of its processes runs, or one of its log
 * files exists (upstream's rules, with running processes added for machines
 * without systemd). Sources: `systemctl list-unit-files`, /proc/<pid>/comm, glob(3).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/quote.h"
#include "common/strv.h"
#include "setup/setup.h"

#define MAX_UNITS 4096
#define MAX_LIST 8

struct service {
	const char *name;
	const char *units[MAX_LIST];
	const char *procs[MAX_LIST];
	const char *files[MAX_LIST]; /* detection and acquisition */
	const char *collections[MAX_LIST];
	const char *type;	     /* labels.type */
	const char *journal;	     /* journalctl filter when no log file exists */
	bool always;		     /* linux: any Linux host */
};

static const struct service services[] = {
	{ "linux", {0}, {0}, { "/var/log/syslog", "/var/log/messages", "/var/log/kern.log" },
	  { "crowdsecurity/linux" }, "syslog", NULL, true },
	{ "sshd", { "ssh.service", "sshd.service" }, { "sshd" },
	  { "/var/log/auth.log", "/var/log/secure" }, { "crowdsecurity/sshd" }, "syslog",
	  "_SYSTEMD_UNIT=ssh.service", false },
	{ "nginx", { "nginx.service" }, { "nginx" }, { "/var/log/nginx/*.log" },
	  { "crowdsecurity/nginx" }, "nginx", NULL, false },
	{ "apache2", { "apache2.service", "httpd.service" }, { "apache2", "httpd" },
	  { "/var/log/apache2/*.log", "/var/log/httpd/*.log" }, { "crowdsecurity/apache2" },
	  "apache2", NULL, false },
	{ "mysql", { "mysql.service", "mysqld.service" }, { "mysqld" },
	  { "/var/log/mysql/error.log", "/var/log/mysql/mysqld.log" }, { "crowdsecurity/mysql" },
	  "mysql", NULL, false },
	{ "mariadb", { "mariadb.service" }, { "mariadbd" },
	  { "/var/log/mariadb/mariadb.log" }, { "crowdsecurity/mariadb" }, "mysql", NULL, false },
	{ "postgres", { "postgresql.service" }, { "postgres" },
	  { "/var/log/postgresql/*.log", "/var/lib/pgsql/data/log/*.log" },
	  { "crowdsecurity/pgsql" }, "postgres", NULL, false },
	{ "postfix", { "postfix.service" }, {0}, { "/var/log/mail.log", "/var/log/maillog" },
	  { "crowdsecurity/postfix" }, "syslog", "_SYSTEMD_UNIT=postfix.service", false },
	{ "dovecot", { "dovecot.service" }, { "dovecot" }, { "/var/log/maillog" },
	  { "crowdsecurity/dovecot" }, "syslog", "_SYSTEMD_UNIT=dovecot.service", false },
	{ "haproxy", { "haproxy.service" }, { "haproxy" }, { "/var/log/haproxy.log" },
	  { "crowdsecurity/haproxy" }, "haproxy", NULL, false },
	{ "caddy", { "caddy.service" }, { "caddy" }, { "/var/log/caddy/*.log" },
	  { "crowdsecurity/caddy" }, "caddy", "_SYSTEMD_UNIT=caddy.service", false },
	{ "suricata", { "suricata.service" }, { "Suricata-Main", "suricata" },
	  { "/var/log/suricata/eve.json" }, { "crowdsecurity/suricata" }, "suricata-evelogs", NULL,
	  false },
	{ "samba", { "smbd.service", "smb.service" }, { "smbd" },
	  { "/var/log/samba/*.log", "/var/log/samba/log.*" }, { "crowdsecurity/smb" }, "smb", NULL,
	  false },
	{ "auditd", { "auditd.service" }, { "auditd" }, { "/var/log/audit/*.log" },
	  { "crowdsecurity/auditd" }, "auditd", NULL, false },
	{ "asterisk", { "asterisk.service" }, { "asterisk" }, { "/var/log/asterisk/*.log" },
	  { "crowdsecurity/asterisk" }, "asterisk", NULL, false },
	{ "vsftpd", { "vsftpd.service" }, { "vsftpd" }, { "/var/log/vsftpd.log" },
	  { "crowdsecurity/vsftpd" }, "vsftpd", NULL, false },
};

#define NSERVICES (sizeof(services) / sizeof(services[0]))

const char *const *setup_services(void)
{
	static const char *names[NSERVICES + 1];

	for (size_t i = 0; i < NSERVICES; i++)
		names[i] = services[i].name;
	return names;
}

static bool in(const char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

struct facts {
	char **units;
	size_t nunits;
	char **procs;
	size_t nprocs;
};

static void facts_free(struct facts *f)
{
	strv_free(f->units, f->nunits);
	strv_free(f->procs, f->nprocs);
}

/* the facts are bounded: a machine with more units or processes is read in part */
static int push(char ***v, size_t *n, const char *s)
{
	return *n >= MAX_UNITS ? 0 : strv_push(v, n, s);
}

/* Unit file names: first word of each line (`systemctl list-unit-files --no-legend`). */
static int read_units(FILE *f, struct facts *fa)
{
	char line[512];
	int rc = 0;

	while (!rc && fgets(line, sizeof(line), f)) {
		char *s = line, *e;

		while (isspace((unsigned char)*s))
			s++;
		e = s;
		while (*e && !isspace((unsigned char)*e))
			e++;
		*e = '\0';
		if (*s)
			rc = push(&fa->units, &fa->nunits, s);
	}
	return rc;
}

static int gather(const struct setup_opts *o, const char *root, struct facts *fa)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (o->units_file) {
		FILE *f = fopen(o->units_file, "r");

		if (f) {
			rc = read_units(f, fa);
			fclose(f);
		}
	} else if (!o->skip_systemd) {
		FILE *f = popen("systemctl list-unit-files --no-legend --no-pager 2>/dev/null", "r");

		if (f) {
			rc = read_units(f, fa);
			pclose(f);
		}
	}
	snprintf(path, sizeof(path), "%s/proc", root);
	d = opendir(path);
	while (!rc && d && (e = readdir(d))) {
		char comm[PATH_MAX + 300], name[64] = "";
		FILE *f;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(comm, sizeof(comm), "%s/%s/comm", path, e->d_name);
		f = fopen(comm, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f)) {
			name[strcspn(name, "\n")] = '\0';
			if (*name)
				rc = push(&fa->procs, &fa->nprocs, name);
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	return rc;
}

static bool file_present(const char *root, const char *pattern)
{
	char p[PATH_MAX];
	glob_t g;
	bool found;

	snprintf(p, sizeof(p), "%s%s", root, pattern);
	found = glob(p, 0, NULL, &g) == 0 && g.gl_pathc > 0;
	globfree(&g);
	return found;
}

static json_t *entry(const struct service *s, const char *root, bool unit_found)
{
	json_t *colls = json_array(), *files = json_array(), *ds;
	bool any_file = false;

	for (int i = 0; i < MAX_LIST && s->collections[i]; i++)
		json_array_append_new(colls, json_string(s->collections[i]));
	for (int i = 0; i < MAX_LIST && s->files[i]; i++) {
		any_file |= file_present(root, s->files[i]);
		json_array_append_new(files, json_string(s->files[i]));
	}
	if (!any_file && s->journal && unit_found) {
		/* the service logs to the journal only */
		json_decref(files);
		ds = json_pack("{s:s,s:[s],s:{s:s}}", "source", "journalctl", "journalctl_filter",
			       s->journal, "labels", "type", s->type);
	} else {
		ds = json_pack("{s:s,s:o,s:{s:s}}", "source", "file", "filenames", files, "labels",
			       "type", s->type);
	}
	return json_pack("{s:s,s:{s:o},s:o}", "detected_service", s->name, "install",
			 "collections", colls, "datasource", ds);
}

json_t *setup_detect(const struct setup_opts *o, char *err, size_t errlen)
{
	const char *root = o->root && strcmp(o->root, "/") ? o->root : "";
	struct facts fa = { 0 };
	json_t *list, *plan;

	for (const char *const *f = o->force; f && *f; f++)
		if (!in(setup_services(), *f)) {
			snprintf(err, errlen, "unknown service '%s' in --force (see --list-supported-services)",
				 *f);
			return NULL;
		}
	if (gather(o, root, &fa)) {
		snprintf(err, errlen, "out of memory");
		facts_free(&fa);
		return NULL;
	}
	list = json_array();
	for (size_t i = 0; i < NSERVICES; i++) {
		const struct service *s = &services[i];
		bool unit = false, found = s->always || in(o->force, s->name);

		if (in(o->ignore, s->name))
			continue;
		for (int k = 0; k < MAX_LIST && s->units[k]; k++)
			unit |= strv_has(fa.units, fa.nunits, s->units[k]);
		for (int k = 0; !found && k < MAX_LIST && s->procs[k]; k++)
			found = strv_has(fa.procs, fa.nprocs, s->procs[k]);
		for (int k = 0; !found && k < MAX_LIST && s->files[k]; k++)
			found = file_present(root, s->files[k]);
		if (found || unit)
			json_array_append_new(list, entry(s, root, unit));
	}
	facts_free(&fa);
	plan = json_pack("{s:o}", "setup", list);
	if (!plan)
		snprintf(err, errlen, "out of memory");
	return plan;
}

int setup_validate(json_t *plan, char *err, size_t errlen)
{
	json_t *list = json_object_get(plan, "setup"), *e;
	size_t i;

	if (!json_is_array(list)) {
		snprintf(err, errlen, "the setup file has no 'setup' list");
		return -EINVAL;
	}
	json_array_foreach(list, i, e) {
		json_t *colls = json_object_get(json_object_get(e, "install"), "collections"), *c;
		json_t *ds = json_object_get(e, "datasource");
		const char *svc = json_string_value(json_object_get(e, "detected_service"));
		size_t k;

		if (!svc || !*svc || strchr(svc, '/')) {
			snprintf(err, errlen, "setup[%zu]: detected_service is missing or not a name", i);
			return -EINVAL;
		}
		json_array_foreach(colls, k, c)
			if (!json_is_string(c)) {
				snprintf(err, errlen, "setup[%zu] (%s): install.collections[%zu] is not a "
					 "string", i, svc, k);
				return -EINVAL;
			}
		if (ds && (!json_is_object(ds) || !json_is_string(json_object_get(ds, "source")))) {
			snprintf(err, errlen, "setup[%zu] (%s): datasource needs a source", i, svc);
			return -EINVAL;
		}
	}
	return 0;
}

/* One line: the prefix ("  - " for an item), then "key": when given, then "val". */
static void yaml_line(FILE *f, const char *prefix, const char *key, const char *val)
{
	fputs(prefix, f);
	if (key) {
		fput_dquoted(f, key);
		fputs(": ", f);
	}
	fput_dquoted(f, val);
	fputc('\n', f);
}

void setup_acquis_yaml(json_t *entry, FILE *f)
{
	json_t *ds = json_object_get(entry, "datasource"), *v;
	const char *k;

	fprintf(f, "# generated by cscli setup for %s\n",
		json_string_value(json_object_get(entry, "detected_service")) ?: "?");
	json_object_foreach(ds, k, v) {
		size_t i;
		json_t *e;
		const char *lk;

		if (json_is_string(v)) {
			yaml_line(f, "", k, json_string_value(v));
			continue;
		}
		fput_dquoted(f, k);
		if (json_is_array(v)) {
			fputs(":\n", f);
			json_array_foreach(v, i, e)
				if (json_is_string(e))
					yaml_line(f, "  - ", NULL, json_string_value(e));
		} else if (json_is_object(v)) {
			fputs(":\n", f);
			json_object_foreach(v, lk, e)
				if (json_is_string(e))
					yaml_line(f, "  ", lk, json_string_value(e));
		} else {
			fputs(": null\n", f);
		}
	}
}
