// SPDX-License-Identifier: MIT
/* CrowdSec config.yaml: the keys the LAPI and cscli need (contract section 6.1). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/record.h"
#include "common/strv.h"
#include "common/yamljson.h"
#include "lapi/lapi_int.h"

/*
 * The strings and string lists a configuration owns (what copy and clear
 * walk), and the keys its strings are read from, with their defaults.
 */
static const struct rec_field cfg_fields[] = {
	/* else common.log_level */
	REC_ROW(struct cs_lapi_config, "api.server.log_level", log_level, REC_STR),
	REC_STR_OR(struct cs_lapi_config, "api.server.listen_uri", listen_uri, "127.0.0.1:8080"),
	REC_STR_OR(struct cs_lapi_config, "db_config.db_path", db_path,
		   "/var/lib/crowdsec/data/crowdsec.db"),
	REC_ROW(struct cs_lapi_config, NULL, db_conninfo, REC_STR), /* cs_lapi_db_config */
	REC_STR_OR(struct cs_lapi_config, "api.server.profiles_path", profiles_path,
		   "/etc/crowdsec/profiles.yaml"),
	REC_STR_OR(struct cs_lapi_config, "config_paths.notification_dir", notification_dir,
		   "/etc/crowdsec/notifications/"),
	REC_STR_OR(struct cs_lapi_config, "api.client.credentials_path", credentials_path,
		   "/etc/crowdsec/local_api_credentials.yaml"),
	REC_ROW(struct cs_lapi_config, "api.server.online_client.credentials_path",
		online_credentials_path, REC_STR),
	REC_STR_OR(struct cs_lapi_config, "config_paths.config_dir", config_dir, "/etc/crowdsec/"),
	/* else <config_paths.hub_dir>/.index.json, else the default (cs_lapi_config_defaults) */
	REC_ROW(struct cs_lapi_config, "config_paths.index_path", hub_index_path, REC_STR),
	REC_ROW(struct cs_lapi_config, "api.server.tls.cert_file", tls_cert_file, REC_STR),
	REC_ROW(struct cs_lapi_config, "api.server.tls.key_file", tls_key_file, REC_STR),
	REC_ROW(struct cs_lapi_config, "api.server.tls.ca_cert_path", tls_ca_cert_path, REC_STR),
	REC_ROW(struct cs_lapi_config, "api.server.tls.crl_path", tls_crl_path, REC_STR),
	REC_STR_OR(struct cs_lapi_config, "prometheus.listen_addr", prometheus_addr, "127.0.0.1"),
	REC_LIST(struct cs_lapi_config, NULL, trusted_ips, n_trusted_ips),
	REC_LIST(struct cs_lapi_config, NULL, trusted_proxies, n_trusted_proxies),
	REC_LIST(struct cs_lapi_config, NULL, agents_allowed_ou, n_agents_allowed_ou),
	REC_LIST(struct cs_lapi_config, NULL, bouncers_allowed_ou, n_bouncers_allowed_ou),
};
static const struct rec_schema cfg_schema = REC_SCHEMA(cfg_fields);

void cs_lapi_config_defaults(struct cs_lapi_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/* out of memory leaves strings NULL: cs_lapi_config_load reports it */
	(void)rec_json_read(&cfg_schema, cfg, NULL);
	cfg->hub_index_path = strdup("/etc/crowdsec/hub/.index.json");
	cfg->enable = true;
	cfg->prometheus_enabled = true;
	cfg->prometheus_port = 6060;
	if (!strv_push(&cfg->trusted_ips, &cfg->n_trusted_ips, "127.0.0.1"))
		(void)strv_push(&cfg->trusted_ips, &cfg->n_trusted_ips, "::1");
	cfg->max_body = LAPI_MAX_BODY;
	cfg->max_connections = 1024;
	cfg->max_per_ip = 256;
	cfg->threads = 4;
	cfg->conn_timeout = 120;
	cfg->tls_client_verification = CS_TLS_VERIFY_CLIENT_CERT_IF_GIVEN;
	(void)strv_push(&cfg->agents_allowed_ou, &cfg->n_agents_allowed_ou, "agent-ou");
	(void)strv_push(&cfg->bouncers_allowed_ou, &cfg->n_bouncers_allowed_ou, "bouncer-ou");
}

/* A YAML list of strings (a lone string is a list of one) replaces *v. */
static void set_list(char ***v, size_t *n, json_t *root, const char *path)
{
	json_t *node = yamljson_get(root, path), *it;
	size_t i;

	if (!json_is_array(node) && !json_is_string(node))
		return;
	strv_free(*v, *n);
	*n = 0;
	*v = calloc((json_is_array(node) ? json_array_size(node) : 1) + 1, sizeof(char *));
	if (!*v)
		return;
	if (json_is_string(node)) {
		if (((*v)[0] = strdup(json_string_value(node))))
			*n = 1;
		return;
	}
	json_array_foreach(node, i, it) {
		if (json_is_string(it) && ((*v)[*n] = strdup(json_string_value(it))))
			(*n)++;
	}
}

static const char *const client_verify_names[] = {
	[CS_TLS_NO_CLIENT_CERT] = "NoClientCert",
	[CS_TLS_REQUEST_CLIENT_CERT] = "RequestClientCert",
	[CS_TLS_REQUIRE_ANY_CLIENT_CERT] = "RequireAnyClientCert",
	[CS_TLS_VERIFY_CLIENT_CERT_IF_GIVEN] = "VerifyClientCertIfGiven",
	[CS_TLS_REQUIRE_AND_VERIFY_CLIENT_CERT] = "RequireAndVerifyClientCert",
};

void cs_lapi_config_clear(struct cs_lapi_config *cfg)
{
	rec_clear(&cfg_schema, cfg, sizeof(*cfg));
}

int cs_lapi_config_copy(struct cs_lapi_config *dst, const struct cs_lapi_config *src)
{
	*dst = *src;
	return rec_copy(&cfg_schema, dst, src);
}

/* A positive Go duration at path (left as is when absent). */
static int get_interval(json_t *root, const char *path, int64_t *out, char *err, size_t errlen)
{
	const char *v = yamljson_get_str(root, path, NULL);

	if (v && (gotime_parse_duration(v, out) || *out <= 0)) {
		snprintf(err, errlen, "%s: '%s' is not a positive duration", path, v);
		return -EINVAL;
	}
	return 0;
}

static void set_str(char **dst, json_t *root, const char *path)
{
	const char *v = yamljson_get_str(root, path, NULL);

	if (v) {
		free(*dst);
		*dst = strdup(v);
	}
}

int cs_lapi_db_config(json_t *root, const char *path, char **conninfo, long *max_conns,
		      char *err, size_t errlen)
{
	const char *type = yamljson_get_str(root, "db_config.type", "sqlite");

	*conninfo = NULL;
	*max_conns = 0;
	if (!strcmp(type, "postgresql") || !strcmp(type, "postgres") || !strcmp(type, "pgx")) {
		/* CrowdSec's keys; the port may be written as a number or a string */
		long port = yamljson_get_long(root, "db_config.port", 0);
		char portbuf[24] = "";

		if (port < 0 || port > 65535) {
			snprintf(err, errlen, "%s: db_config.port: %ld is not a port", path, port);
			return -EINVAL;
		}
		if (port)
			snprintf(portbuf, sizeof(portbuf), "%ld", port);
		*max_conns = yamljson_get_long(root, "db_config.max_open_conns", 0);
		if (cs_db_pg_conninfo(yamljson_get_str(root, "db_config.host", NULL),
				      port ? portbuf : yamljson_get_str(root, "db_config.port", NULL),
				      yamljson_get_str(root, "db_config.user", NULL),
				      yamljson_get_str(root, "db_config.password", NULL),
				      yamljson_get_str(root, "db_config.db_name", NULL),
				      yamljson_get_str(root, "db_config.sslmode", NULL), conninfo)) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	} else if (strcmp(type, "sqlite")) {
		snprintf(err, errlen,
			 "%s: db_config.type '%s' is not supported (sqlite, postgresql, postgres, pgx)",
			 path, type);
		return -EINVAL;
	}
	return 0;
}

int cs_lapi_config_load(const char *path, struct cs_lapi_config *cfg, char *err, size_t errlen)
{
	json_t *docs, *root, *ips;
	long v;
	int ret;

	cs_lapi_config_defaults(cfg);
	docs = yamljson_load_file(path, true, err, errlen);
	if (!docs)
		return -EINVAL;
	root = json_array_get(docs, 0);
	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: not a YAML mapping", path);
		json_decref(docs);
		return -EINVAL;
	}
	cfg->enable = yamljson_get_bool(root, "api.server.enable", true);
	cfg->dashboard = yamljson_get_bool(root, "api.server.dashboard", false);
	/* what the keys read below override */
	set_str(&cfg->log_level, root, "common.log_level");
	{
		const char *hub = yamljson_get_str(root, "config_paths.hub_dir", NULL);
		char idx[4096];

		if (hub) {
			snprintf(idx, sizeof(idx), "%s/.index.json", hub);
			free(cfg->hub_index_path);
			cfg->hub_index_path = strdup(idx);
		}
	}
	if (rec_json_read(&cfg_schema, cfg, root)) {
		snprintf(err, errlen, "out of memory");
		json_decref(docs);
		return -ENOMEM;
	}
	if (get_interval(root, "api.server.online_client.push_interval",
			 &cfg->online_push_interval, err, errlen) ||
	    get_interval(root, "api.server.online_client.pull_interval",
			 &cfg->online_pull_interval, err, errlen)) {
		json_decref(docs);
		return -EINVAL;
	}
	cfg->insecure_skip_verify = yamljson_get_bool(root, "api.client.insecure_skip_verify", false);
	set_list(&cfg->agents_allowed_ou, &cfg->n_agents_allowed_ou, root,
		 "api.server.tls.agents_allowed_ou");
	set_list(&cfg->bouncers_allowed_ou, &cfg->n_bouncers_allowed_ou, root,
		 "api.server.tls.bouncers_allowed_ou");
	const char *cv = yamljson_get_str(root, "api.server.tls.client_verification", NULL);

	if (cv && *cv) {
		size_t i;

		for (i = 0; i < sizeof(client_verify_names) / sizeof(*client_verify_names); i++)
			if (!strcmp(cv, client_verify_names[i]))
				break;
		if (i == sizeof(client_verify_names) / sizeof(*client_verify_names)) {
			snprintf(err, errlen, "%s: unknown TLS client_verification value: %s", path,
				 cv);
			json_decref(docs);
			return -EINVAL;
		}
		cfg->tls_client_verification = (enum cs_tls_client_verify)i;
	}
	cfg->prometheus_enabled = yamljson_get_bool(root, "prometheus.enabled", true);
	cfg->prometheus_aggregated =
		!strcmp(yamljson_get_str(root, "prometheus.level", "full"), "aggregated");
	cfg->prometheus_port = (int)yamljson_get_long(root, "prometheus.listen_port", 6060);
	ips = yamljson_get(root, "api.server.trusted_ips");
	if (json_is_array(ips)) {
		size_t i;
		json_t *it;

		for (i = 0; i < cfg->n_trusted_ips; i++)
			free(cfg->trusted_ips[i]);
		free(cfg->trusted_ips);
		cfg->n_trusted_ips = 0;
		cfg->trusted_ips = calloc(json_array_size(ips) + 1, sizeof(char *));
		json_array_foreach(ips, i, it) {
			if (cfg->trusted_ips && json_is_string(it))
				cfg->trusted_ips[cfg->n_trusted_ips++] = strdup(json_string_value(it));
		}
	}
	const char *sync = yamljson_get_str(root, "db_config.sqlite_synchronous", "normal");

	if (strcmp(sync, "normal") && strcmp(sync, "full")) {
		snprintf(err, errlen, "%s: db_config.sqlite_synchronous: '%s' is not normal or full",
			 path, sync);
		json_decref(docs);
		return -EINVAL;
	}
	cfg->db_sync_full = !strcmp(sync, "full");
	cfg->alert_journal_off = !yamljson_get_bool(root, "db_config.alert_journal", true);
	cfg->flush_max_items = yamljson_get_long(root, "db_config.flush.max_items", 0);
	const char *age = yamljson_get_str(root, "db_config.flush.max_age", NULL);

	if (age && gotime_parse_duration_days(age, &cfg->flush_max_age)) {
		snprintf(err, errlen, "%s: db_config.flush.max_age: invalid duration '%s'", path, age);
		json_decref(docs);
		return -EINVAL;
	}
	cfg->use_forwarded_for = yamljson_get_bool(root, "api.server.use_forwarded_for_headers", false);
	ips = yamljson_get(root, "api.server.trusted_proxies");
	if (json_is_array(ips)) {
		size_t i;
		json_t *it;

		cfg->trusted_proxies = calloc(json_array_size(ips) + 1, sizeof(char *));
		json_array_foreach(ips, i, it) {
			if (cfg->trusted_proxies && json_is_string(it))
				cfg->trusted_proxies[cfg->n_trusted_proxies++] =
					strdup(json_string_value(it));
		}
	}
	v = yamljson_get_long(root, "api.server.max_body_bytes", 0);
	if (v > 0)
		cfg->max_body = (size_t)v;
	v = yamljson_get_long(root, "api.server.max_connections", 0);
	if (v > 0)
		cfg->max_connections = (unsigned)v;
	v = yamljson_get_long(root, "api.server.threads", 0);
	if (v > 0 && v <= 64)
		cfg->threads = (unsigned)v;
	ret = cs_lapi_db_config(root, path, &cfg->db_conninfo, &cfg->db_max_conns, err, errlen);
	if (ret) {
		json_decref(docs);
		return ret;
	}
	json_decref(docs);
	if (!cfg->listen_uri || !cfg->db_path) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
