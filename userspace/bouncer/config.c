// SPDX-License-Identifier: MIT
#include "bouncer/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "common/gotime.h"
#include "common/log.h"
#include "common/readfile.h"
#include "common/ywalk.h"

/* a configuration file is a few kilobytes: refuse what cannot be one */
#define BCFG_MAX_BYTES (1u << 20)

static int get_int(struct ywalk *c, const char *key, const yaml_node_t *v, long min, long max,
		   long *out)
{
	long long x = 0;
	int err = ywalk_long(c, v, key, min, max, &x);

	*out = (long)x; /* 0 on error: callers read it only on success */
	return err;
}

/* One of three names, stored as its index: 0 or -errno (the error lists them as "a, b or c"). */
static int get_enum(struct ywalk *c, const char *key, const yaml_node_t *v,
		    const char *const names[3], int *out)
{
	const char *s = ywalk_scalar(v);

	for (int i = 0; s && i < 3; i++) {
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	}
	return ywalk_fail(c, v, "%s: expected %s, %s or %s, got '%s'", key, names[0], names[1],
			  names[2], s ? s : "");
}

static void list_free(struct bcfg_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

static int get_list(struct ywalk *c, const char *key, const yaml_node_t *v, struct bcfg_list *out)
{
	const yaml_node_t *n;

	list_free(out);
	if (ywalk_scalar(v) && !*ywalk_scalar(v))
		return 0; /* "key:" with nothing: an empty list */
	if (!v || v->type != YAML_SEQUENCE_NODE)
		return ywalk_fail(c, v, "%s: expected a list", key);
	YWALK_ITEMS(c, v, n) {
		if (!ywalk_scalar(n))
			return ywalk_fail(c, n, "%s: list items must be strings", key);
		if (out->n == BCFG_MAX_LIST)
			return ywalk_fail(c, n, "%s: more than %d items", key, BCFG_MAX_LIST);
		out->v[out->n] = strdup(ywalk_scalar(n));
		if (!out->v[out->n++])
			return -ENOMEM;
	}
	return 0;
}

/* section: the path of the map's keys ("" at the top, "prometheus." below it) */
typedef int (*map_fn)(struct ywalk *c, const char *section, const char *key, const yaml_node_t *k,
		      const yaml_node_t *v, struct bouncer_config *cfg);

static int walk_map(struct ywalk *c, const yaml_node_t *map, map_fn fn, struct bouncer_config *cfg,
		    const char *what, const char *section)
{
	const yaml_node_t *k, *v;
	int err = ywalk_map_check(c, map, what, false);

	if (err)
		return err;
	YWALK_PAIR_NODES(c, map, k, v) {
		err = fn(c, section, ywalk_scalar(k), k, v, cfg);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The keys that only store a string, a bool, a list, one of three names or a
 * bounded integer, by their full path (the one errors name): the one table
 * that parsing and freeing walk.
 */
enum field_kind { F_STR, F_BOOL, F_LIST, F_ENUM, F_INT, F_U32 };
/* an enum's three names, in the order of its values */
static const char *const bouncer_modes[] = { [BOUNCER_MODE_AUTO] = "auto",
					     [BOUNCER_MODE_XDP] = "xdp",
					     [BOUNCER_MODE_NFTABLES] = "nftables" };
static const char *const xdp_modes[] = { [XDP_MODE_AUTO] = "auto", [XDP_MODE_NATIVE] = "native",
					 [XDP_MODE_GENERIC] = "generic" };
static const char *const xdp_dispatchers[] = { [XDP_DISPATCHER_AUTO] = "auto",
					       [XDP_DISPATCHER_ALWAYS] = "always",
					       [XDP_DISPATCHER_NEVER] = "never" };
_Static_assert(sizeof(enum bouncer_mode) == sizeof(int) &&
		       sizeof(enum xdp_attach_mode) == sizeof(int) &&
		       sizeof(enum xdp_dispatcher_use) == sizeof(int),
	       "F_ENUM stores an int");
static const struct field {
	const char *path;
	enum field_kind kind;
	size_t off;
	const char *const *names; /* F_ENUM */
	long min, max;		  /* F_INT, F_U32 */
} fields[] = {
#define FIELD(path, kind, member)                                                              \
	{ path, kind, offsetof(struct bouncer_config, member), NULL, 0, 0 }
#define FIELD_ENUM(path, member, names)                                                        \
	{ path, F_ENUM, offsetof(struct bouncer_config, member), names, 0, 0 }
#define FIELD_INT(path, kind, member, min, max)                                                \
	{ path, kind, offsetof(struct bouncer_config, member), NULL, min, max }
	FIELD_ENUM("mode", mode, bouncer_modes),
	FIELD_ENUM("xdp_mode", xdp_mode, xdp_modes),
	FIELD_ENUM("xdp_dispatcher", xdp_dispatcher, xdp_dispatchers),
	FIELD("api_url", F_STR, api_url),
	FIELD("api_key", F_STR, api_key),
	FIELD("cert_path", F_STR, cert_path),
	FIELD("key_path", F_STR, key_path),
	FIELD("ca_cert_path", F_STR, ca_cert_path),
	FIELD("insecure_skip_verify", F_BOOL, insecure_skip_verify),
	FIELD("interfaces", F_LIST, interfaces),
	FIELD("ipv4", F_BOOL, ipv4),
	FIELD("ipv6", F_BOOL, ipv6),
	FIELD("origins", F_LIST, origins),
	FIELD("scopes", F_LIST, scopes),
	FIELD("scenarios_containing", F_LIST, scenarios_containing),
	FIELD("scenarios_not_containing", F_LIST, scenarios_not_containing),
	FIELD("supported_decisions_types", F_LIST, decision_types),
	FIELD("pin_path", F_STR, pin_path),
	FIELD("user", F_STR, user),
	FIELD("keep_on_stop", F_BOOL, keep_on_stop),
	FIELD("dry_run", F_BOOL, dry_run),
	FIELD_INT("xdp_priority", F_U32, xdp_priority, 1, XDP_PRIORITY_MAX),
	FIELD_INT("max_hosts", F_U32, max_hosts, 1, 1L << 28),
	FIELD_INT("max_ranges", F_U32, max_ranges, 1, 1L << 28),
	FIELD_INT("prometheus.listen_port", F_INT, metrics_port, 1, 65535),
	FIELD_INT("nftables.priority", F_INT, nft_priority, -1000, 1000),
	FIELD("prometheus.enabled", F_BOOL, metrics_enabled),
	FIELD("prometheus.listen_addr", F_STR, metrics_addr),
	FIELD("nftables.table_ipv4", F_STR, nft_table4),
	FIELD("nftables.table_ipv6", F_STR, nft_table6),
	FIELD("nftables.chain", F_STR, nft_chain),
#undef FIELD
#undef FIELD_ENUM
#undef FIELD_INT
};

/*
 * The names the nftables mode writes into its commands: nft's identifiers (a
 * letter or '_', then letters, digits, '_', '-', '.'), short enough for the set
 * names made from them; anything else would be an nft syntax error at start.
 */
#define NFT_NAME_MAX 64
static bool nft_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > NFT_NAME_MAX || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_-.", s[i]))
			return false;
	return true;
}

static int check_nft_names(struct ywalk *c, const yaml_node_t *root,
			   const struct bouncer_config *cfg)
{
	const struct { const char *key, *value; } names[] = {
		{ "nftables.table_ipv4", cfg->nft_table4 },
		{ "nftables.table_ipv6", cfg->nft_table6 },
		{ "nftables.chain", cfg->nft_chain },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!nft_name_ok(names[i].value))
			return ywalk_fail(c, root,
					  "%s: '%s' is not an nftables name (a letter or '_', then "
					  "letters, digits, '_', '-' or '.'; at most %d)",
					  names[i].key, names[i].value, NFT_NAME_MAX);
	return 0;
}

static int get_bounded(struct ywalk *c, const struct field *f, const yaml_node_t *v, void *at)
{
	long n;
	int err = get_int(c, f->path, v, f->min, f->max, &n);

	if (!err && f->kind == F_INT)
		*(int *)at = (int)n;
	else if (!err)
		*(uint32_t *)at = (uint32_t)n;
	return err;
}

/* section.key when it is a plain field: 0 or -errno (reported); -ENOENT: not one. */
static int plain_field(struct ywalk *c, const char *section, const char *key,
		       const yaml_node_t *v, struct bouncer_config *cfg)
{
	size_t sl = strlen(section);

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *f = &fields[i];
		void *at = (char *)cfg + f->off;

		if (strncmp(f->path, section, sl) || strcmp(f->path + sl, key))
			continue;
		if (f->kind == F_STR)
			return ywalk_str(c, v, f->path, at);
		if (f->kind == F_BOOL)
			return ywalk_bool(c, v, f->path, at);
		if (f->kind == F_ENUM)
			return get_enum(c, f->path, v, f->names, at);
		if (f->kind == F_LIST)
			return get_list(c, f->path, v, at);
		return get_bounded(c, f, v, at);
	}
	return -ENOENT;
}

static int section_key(struct ywalk *c, const char *section, const char *key,
		       const yaml_node_t *k, const yaml_node_t *v, struct bouncer_config *cfg)
{
	int err = plain_field(c, section, key, v, cfg);

	if (err != -ENOENT)
		return err;
	return ywalk_fail(c, k, "unknown key '%s%s'", section, key);
}

static int top_key(struct ywalk *c, const char *section, const char *key, const yaml_node_t *k,
		   const yaml_node_t *v, struct bouncer_config *cfg)
{
	const char *s = ywalk_scalar(v);
	int err = plain_field(c, section, key, v, cfg);

	if (err != -ENOENT)
		return err;
	if (!strcmp(key, "update_frequency")) {
		if (!s || gotime_parse_duration(s, &cfg->update_frequency_ns) ||
		    cfg->update_frequency_ns < 100000000LL || cfg->update_frequency_ns > 3600000000000LL)
			return ywalk_fail(c, v, "update_frequency: expected a duration between 100ms and 1h, "
					  "got '%s'", s ? s : "");
		return 0;
	}
	if (!strcmp(key, "metrics_interval")) { /* upstream's: usage metrics, 0 disables */
		if (!s || gotime_parse_duration(s, &cfg->metrics_interval_ns) ||
		    (cfg->metrics_interval_ns &&
		     (cfg->metrics_interval_ns < 1000000000LL || cfg->metrics_interval_ns > 86400000000000LL)))
			return ywalk_fail(c, v, "metrics_interval: expected 0 or a duration between 1s and "
					  "24h, got '%s'", s ? s : "");
		return 0;
	}
	if (!strcmp(key, "disable_ipv6")) { /* the firewall bouncer's spelling */
		bool d;

		err = ywalk_bool(c, v, key, &d);
		cfg->ipv6 = !d;
		return err;
	}
	if (!strcmp(key, "log_level")) {
		int lvl = s ? log_level_parse(s) : -EINVAL;

		if (lvl < 0)
			return ywalk_fail(c, v, "log_level: expected trace, debug, info, warning or error, "
					  "got '%s'", s ? s : "");
		cfg->log_level = lvl;
		return 0;
	}
	if (!strcmp(key, "log_mode")) {
		if (!s || strcmp(s, "stdout"))
			return ywalk_fail(c, v, "log_mode: only 'stdout' is supported (journald captures it)");
		return 0;
	}
	if (!strcmp(key, "prometheus"))
		return walk_map(c, v, section_key, cfg, "prometheus", "prometheus.");
	if (!strcmp(key, "nftables"))
		return walk_map(c, v, section_key, cfg, "nftables", "nftables.");
	return ywalk_fail(c, k, "unknown key '%s'", key);
}

static int set_defaults(struct bouncer_config *cfg)
{
	static const char *const scopes[] = { "ip", "range" };

	memset(cfg, 0, sizeof(*cfg));
	cfg->update_frequency_ns = 200000000LL; /* 200 ms: CrowdSec's 10 s is too slow to react */
	cfg->metrics_interval_ns = 900000000000LL; /* upstream's 15 min */
	cfg->ipv4 = cfg->ipv6 = true;
	cfg->log_level = LOG_LVL_INFO;
	cfg->metrics_port = 60603;
	cfg->nft_priority = -10;
	cfg->keep_on_stop = true;
	for (int i = 0; i < 2; i++)
		cfg->scopes.v[cfg->scopes.n++] = strdup(scopes[i]);
	cfg->decision_types.v[cfg->decision_types.n++] = strdup("ban");
	cfg->pin_path = strdup(CS_PIN_ROOT);
	cfg->metrics_addr = strdup("127.0.0.1");
	cfg->nft_table4 = strdup("crowdsec");
	cfg->nft_table6 = strdup("crowdsec6");
	cfg->nft_chain = strdup("crowdsec-chain");
	cfg->user = strdup("nobody");
	return cfg->scopes.v[1] && cfg->decision_types.v[0] && cfg->pin_path && cfg->metrics_addr &&
			       cfg->nft_table4 && cfg->nft_table6 && cfg->nft_chain && cfg->user ?
		       0 : -ENOMEM;
}

int bouncer_config_load(const char *path, struct bouncer_config *cfg, char *err, size_t errlen)
{
	struct ywalk c = { .file = path, .err = err, .errlen = errlen };
	struct ywalk_stream ys;
	yaml_node_t *root;
	char *text = NULL;
	size_t len;
	int rc;

	rc = set_defaults(cfg);
	if (rc)
		goto out_noparser;
	cfg->path = strdup(path);
	rc = cs_read_file(path, BCFG_MAX_BYTES, &text, &len);
	if (rc) {
		if (err)
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out_noparser;
	}
	rc = ywalk_stream_open(&ys, text, len);
	if (rc) {
		if (err)
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out_noparser;
	}
	rc = ywalk_next(&c, &ys, &root);
	if (rc)
		goto out;
	if (!root) {
		rc = ywalk_fail(&c, NULL, "empty configuration");
		goto out;
	}
	rc = walk_map(&c, root, top_key, cfg, "configuration", "");
	if (rc)
		goto out;
	if (!cfg->api_url || !*cfg->api_url) {
		rc = ywalk_fail(&c, root, "api_url is required");
		goto out;
	}
	rc = check_nft_names(&c, root, cfg);
	if (rc)
		goto out;
	if (strncmp(cfg->api_url, "http://", 7) && strncmp(cfg->api_url, "https://", 8)) {
		rc = ywalk_fail(&c, root, "api_url: expected http:// or https://, got '%s'", cfg->api_url);
		goto out;
	}
	if (cfg->api_url[strlen(cfg->api_url) - 1] != '/') {
		char *u = malloc(strlen(cfg->api_url) + 2);

		if (!u) {
			rc = -ENOMEM;
			goto out;
		}
		sprintf(u, "%s/", cfg->api_url);
		free(cfg->api_url);
		cfg->api_url = u;
	}
	if ((!cfg->api_key || !*cfg->api_key) && !cfg->cert_path) {
		rc = ywalk_fail(&c, root, "api_key is required (or cert_path/key_path for TLS auth)");
		goto out;
	}
	if (cfg->mode != BOUNCER_MODE_NFTABLES && !cfg->interfaces.n) {
		rc = ywalk_fail(&c, root, "interfaces: at least one is needed in %s mode",
			  cfg->mode == BOUNCER_MODE_XDP ? "xdp" : "auto");
		goto out;
	}
	if (!cfg->ipv4 && !cfg->ipv6) {
		rc = ywalk_fail(&c, root, "ipv4 and ipv6 are both off: nothing to do");
		goto out;
	}
out:
	ywalk_stream_close(&ys);
out_noparser:
	free(text);
	if (rc)
		bouncer_config_free(cfg); /* the defaults and whatever was read */
	return rc;
}

void bouncer_config_free(struct bouncer_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		void *at = (char *)cfg + fields[i].off;

		if (fields[i].kind == F_STR)
			free(*(char **)at);
		else if (fields[i].kind == F_LIST)
			list_free(at);
	}
	memset(cfg, 0, sizeof(*cfg));
}
