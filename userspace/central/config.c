// SPDX-License-Identifier: MIT
/* central.yaml: where to listen and store, and the consensus rules. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/central.h"
#include "common/gotime.h"
#include "common/record.h"
#include "common/yamljson.h"
#include "lapi/lapi.h"

#define DEFAULT_LISTEN "127.0.0.1:8090"
#define DEFAULT_DB "/var/lib/crowdsec-central/central.db"

/* The top-level strings; db_conninfo comes from CrowdSec's db_config (cs_lapi_db_config). */
static const struct rec_field config_fields[] = {
	REC_STR_OR(struct central_config, "listen_uri", listen_uri, DEFAULT_LISTEN),
	REC_STR_OR(struct central_config, "db_path", db_path, DEFAULT_DB),
	REC_STR_OR(struct central_config, "log_level", log_level, "info"),
	REC_ROW(struct central_config, "geoip_dir", geoip_dir, REC_STR),
	REC_ROW(struct central_config, NULL, db_conninfo, REC_STR),
};
static const struct rec_schema config_schema = REC_SCHEMA(config_fields);

void central_config_clear(struct central_config *cfg)
{
	rec_clear(&config_schema, cfg, sizeof(*cfg));
}

static int get_duration(json_t *root, const char *key, int64_t *out, char *err, size_t errlen)
{
	const char *s = yamljson_get_str(root, key, NULL);

	if (!s)
		return 0;
	if (gotime_parse_duration_days(s, out) || *out <= 0) {
		snprintf(err, errlen, "%s: '%s' is not a positive duration (24h, 30d)", key, s);
		return -EINVAL;
	}
	return 0;
}

static int get_number(json_t *root, const char *key, double min, double max, double *out,
		      char *err, size_t errlen)
{
	const char *s = yamljson_get_str(root, key, NULL);
	char *end;
	double v;

	if (!s)
		return 0;
	v = strtod(s, &end);
	if (end == s || *end || v < min || v > max) {
		snprintf(err, errlen, "%s: '%s' is not a number in [%g, %g]", key, s, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int central_config_load(const char *path, struct central_config *cfg, char *err, size_t errlen)
{
	struct central_rules *r = &cfg->rules;
	json_t *docs = NULL, *root;
	double k, nets;
	int ret = 0;

	memset(cfg, 0, sizeof(*cfg));
	central_rules_default(r);
	if (path) {
		docs = yamljson_load_file(path, true, err, errlen);
		if (!docs)
			return -EINVAL;
	}
	root = docs ? json_array_get(docs, 0) : NULL;
	ret = rec_json_read(&config_schema, cfg, root);
	k = r->min_reporters;
	nets = r->min_networks;
	if (!ret && root) /* CrowdSec's keys, as the LAPI reads them */
		ret = cs_lapi_db_config(root, path, &cfg->db_conninfo, &cfg->db_max_conns, err,
					errlen);
	if (!ret)
		ret = get_number(root, "consensus.min_reporters", 1, 1e6, &k, err, errlen);
	if (!ret)
		ret = get_number(root, "consensus.min_networks", 1, 1e6, &nets, err, errlen);
	if (!ret)
		ret = get_number(root, "consensus.threshold", 0, 1e6, &r->threshold, err, errlen);
	if (!ret)
		ret = get_number(root, "consensus.new_reporter_trust", 0, 1, &r->trust_new, err,
				 errlen);
	if (!ret)
		ret = get_duration(root, "consensus.window", &r->window, err, errlen);
	if (!ret)
		ret = get_duration(root, "consensus.listing_duration", &r->listing_ttl, err,
				   errlen);
	if (!ret)
		ret = get_number(root, "rate_limit.signals_per_hour", 0, 1e9, &r->rate_per_hour,
				 err, errlen);
	if (!ret)
		ret = get_number(root, "rate_limit.burst", 1, 1e9, &r->rate_burst, err, errlen);
	if (!ret)
		ret = get_duration(root, "retention", &r->retention, err, errlen);
	r->min_reporters = (unsigned)k;
	r->min_networks = (unsigned)nets;
	if (ret && path) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, " (%s)", path);
	}
	json_decref(docs);
	return ret;
}
