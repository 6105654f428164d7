// SPDX-License-Identifier: MIT
/*
 * cscli config show [--key KEY]: the configuration as crowdsec reads it
 * (config.yaml + config.yaml.local, environment expanded). -o json / -o raw
 * (YAML) print the whole tree; human prints upstream's summary. KEY is a
 * dotted path, either the file's ("api.server.listen_uri") or upstream's Go
 * field names ("Config.API.Server.ListenURI").
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/yamljson.h"
#include "cscli/cscli.h"

/* "ListenURI" -> "listen_uri", "DbConfig" -> "db_config", "API" -> "api" */
static void snake(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; in[i] && o + 2 < len; i++) {
		unsigned char ch = (unsigned char)in[i], prev = i ? (unsigned char)in[i - 1] : 0,
			      next = (unsigned char)in[i + 1];

		if (isupper(ch) && i && (islower(prev) || isdigit(prev) ||
					 (isupper(prev) && next && islower(next))))
			out[o++] = '_';
		out[o++] = (char)tolower(ch);
	}
	out[o] = '\0';
}

/* The key in the tree: as given first, then each segment turned into snake_case. */
static json_t *lookup(json_t *root, const char *key)
{
	char buf[1024], seg[256], *save = NULL;
	json_t *cur = yamljson_get(root, key);

	if (cur)
		return cur;
	if (!strncmp(key, "Config.", 7))
		key += 7;
	snprintf(buf, sizeof(buf), "%s", key);
	cur = root;
	for (char *tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save)) {
		json_t *next = json_object_get(cur, tok);

		if (!next) {
			snake(tok, seg, sizeof(seg));
			next = json_object_get(cur, seg);
		}
		if (!next && !strcmp(seg, "crowdsec"))
			next = json_object_get(cur, "crowdsec_service"); /* Go: Crowdsec */
		cur = next;
	}
	return cur;
}

static void line(const char *label, json_t *root, const char *path)
{
	json_t *v = yamljson_get(root, path);

	if (!v)
		return;
	if (json_is_string(v))
		printf("%s%s\n", label, json_string_value(v));
	else {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		printf("%s%s\n", label, s ? s : "");
		free(s);
	}
}

/* upstream's `config show` summary: section titles (NULL path) and labelled keys */
static const char *const summary_lines[][2] = {
	{ "Global:", NULL },
	{ "   - Configuration Folder   : ", "config_paths.config_dir" },
	{ "   - Data Folder            : ", "config_paths.data_dir" },
	{ "   - Hub Folder             : ", "config_paths.hub_dir" },
	{ "   - Simulation File        : ", "config_paths.simulation_path" },
	{ "   - Log Folder             : ", "common.log_dir" },
	{ "   - Log level              : ", "common.log_level" },
	{ "   - Log Media              : ", "common.log_media" },
	{ "Crowdsec:", NULL },
	{ "  - Acquisition File        : ", "crowdsec_service.acquisition_path" },
	{ "  - Acquisition Folder      : ", "crowdsec_service.acquisition_dir" },
	{ "  - Parsers routines        : ", "crowdsec_service.parser_routines" },
	{ "cscli:", NULL },
	{ "  - Output                  : ", "cscli.output" },
	{ "  - Hub URL                 : ", "cscli.hub_url" },
	{ "  - Hub data URL            : ", "cscli.hub_data_url" },
	{ "  - Hub Branch              : ", "cscli.hub_branch" },
	{ "API Client:", NULL },
	{ "  - credentials             : ", "api.client.credentials_path" },
	{ "Local API Server:", NULL },
	{ "  - Listen URL              : ", "api.server.listen_uri" },
	{ "  - Profile File            : ", "api.server.profiles_path" },
	{ "  - Trusted IPs             : ", "api.server.trusted_ips" },
	{ "  - Cert File               : ", "api.server.tls.cert_file" },
	{ "  - Key File                : ", "api.server.tls.key_file" },
	{ "  - Database:", NULL },
	{ "      - type                : ", "db_config.type" },
	{ "      - path                : ", "db_config.db_path" },
	{ "      - flush max age       : ", "db_config.flush.max_age" },
	{ "      - flush max items     : ", "db_config.flush.max_items" },
	{ "Prometheus:", NULL },
	{ "  - Enabled                 : ", "prometheus.enabled" },
	{ "  - Level                   : ", "prometheus.level" },
	{ "  - Listen address          : ", "prometheus.listen_addr" },
	{ "  - Listen port             : ", "prometheus.listen_port" },
};

static void summary(json_t *r)
{
	for (size_t i = 0; i < sizeof(summary_lines) / sizeof(summary_lines[0]); i++) {
		if (summary_lines[i][1])
			line(summary_lines[i][0], r, summary_lines[i][1]);
		else
			printf("%s\n", summary_lines[i][0]);
	}
}

static int config_show(struct cli *c, int argc, char **argv)
{
	const char *key = NULL;
	const struct cli_opt opts[] = { { "key", 0, .str = &key } };
	char err[1024];
	json_t *docs, *root;
	int ret = CLI_GETOPT(argc, argv, opts);

	if (ret)
		return ret;
	ret = EXIT_FATAL;
	docs = yamljson_load_file(c->config_path, true, err, sizeof(err));
	root = json_array_get(docs, 0);
	if (!json_is_object(root)) {
		cli_fatal("while loading configuration file: %s", docs ? "not a mapping" : err);
		goto out;
	}
	if (key) {
		json_t *v = lookup(root, key);

		if (!v) {
			cli_fatal("no such key in the configuration: %s", key);
			goto out;
		}
		if (c->out == OUT_JSON)
			print_json(v, 2, true);
		else if (json_is_string(v))
			printf("%s\n", json_string_value(v));
		else if (json_is_object(v) || json_is_array(v))
			print_yaml(v);
		else
			print_json(v, 0, true);
	} else if (c->out == OUT_JSON) {
		print_json(root, 2, true);
	} else if (c->out == OUT_RAW) {
		print_yaml(root);
	} else {
		summary(root);
	}
	ret = EXIT_OK;
out:
	json_decref(docs);
	return ret;
}

static const struct verb config_verbs[] = {
	{ "show", NULL, config_show, "Displays current config", "[flags]",
	  "      --key string   Display only this value (api.server.listen_uri, "
	  "Config.API.Server.ListenURI)\n" },
};

int cmd_config(struct cli *c, int argc, char **argv)
{
	return CLI_RUN_VERBS(c, "config", "Allows to view current config",
			     config_verbs, argc, argv);
}
