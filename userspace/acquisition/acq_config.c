// SPDX-License-Identifier: MIT
/*
 * acquis.yaml, read the way CrowdSec reads it (pkg/acquisition): environment
 * variables expanded in the raw text first (only defined ones; undefined ones are
 * left as written), then one datasource per YAML document. Comment-only and empty
 * documents are skipped. `source` defaults from the keys present (`filename(s)`
 * means file, `journalctl_filter` means journalctl). The common keys are parsed
 * leniently, but each datasource then parses its whole document strictly, so an
 * unknown key is an error for the sources we run. Sources we don't run are
 * skipped with a warning (upstream does the same for a source that "cannot run").
 */
#include "acquisition/acq.h"
#include "acquisition/acq_int.h"
#include "common/envexpand.h"
#include "common/gotime.h"
#include "common/log.h"
#include "common/readfile.h"
#include "common/record.h"
#include "common/strv.h"
#include "common/vec.h"
#include "common/ywalk.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

/* an acquisition file is a few sources: anything larger is not one */
#define ACQ_CONFIG_MAX_BYTES (16u << 20)

/* Upstream datasources we know of but do not implement. */
static const char *const upstream_only[] = {
	"appsec", "cloudwatch", "docker", "http", "kafka", "kinesis", "k8s-audit",
	"loki", "s3", "syslog", "victorialogs", "wineventlog", NULL,
};

static const char *const common_keys[] = {
	"mode", "labels", "log_level", "source", "name", "use_time_machine", "unique_id",
	"transform", NULL,
};
static const char *const file_keys[] = {
	"filenames", "exclude_regexps", "filename", "force_inotify", "max_buffer_size",
	"poll_without_inotify", "discovery_poll_enable", "discovery_poll_interval", NULL,
};
static const char *const journal_keys[] = { "journalctl_filter", NULL };

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* What a source owns, and the keys read straight into it. */
static const struct rec_field source_fields[] = {
	REC_ROW(struct acq_source_cfg, "source", source, REC_STR),
	REC_ROW(struct acq_source_cfg, "name", name, REC_STR),
	REC_ROW(struct acq_source_cfg, "transform", transform, REC_STR),
	REC_ROW(struct acq_source_cfg, "use_time_machine", use_time_machine, REC_BOOL),
	REC_LIST(struct acq_source_cfg, "filenames", filenames, nfilenames),
	REC_LIST(struct acq_source_cfg, "exclude_regexps", exclude_regexps, nexclude),
	REC_ROW(struct acq_source_cfg, "force_inotify", force_inotify, REC_BOOL),
	REC_ROW(struct acq_source_cfg, "discovery_poll_enable", discovery_poll, REC_BOOL),
	REC_LIST(struct acq_source_cfg, "journalctl_filter", journal_filters, njournal_filters),
	REC_ROW(struct acq_source_cfg, NULL, journal_since, REC_STR),
	REC_ROW(struct acq_source_cfg, NULL, file, REC_STR),
};
static const struct rec_schema source_schema = REC_SCHEMA(source_fields);

static int get_int(struct ywalk *p, const yaml_node_t *n, const char *key, long long *out)
{
	return ywalk_long(p, n, key, LLONG_MIN, LLONG_MAX, out);
}

int acq_labels_add(struct acq_label **labels, size_t *n, size_t *cap, const char *k,
		   const char *v)
{
	struct acq_label *nl;
	size_t i;

	for (i = 0; i < *n; i++) {
		if (!strcmp((*labels)[i].key, k)) { /* later wins, like a Go map */
			char *nv = strdup(v);

			if (!nv)
				return -ENOMEM;
			free((*labels)[i].value);
			(*labels)[i].value = nv;
			return 0;
		}
	}
	if (vec_reserve((void **)labels, cap, *n, sizeof(**labels), 4))
		return -ENOMEM;
	nl = &(*labels)[*n];
	nl->key = strdup(k);
	nl->value = strdup(v);
	if (!nl->key || !nl->value) {
		free(nl->key);
		free(nl->value);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

void acq_labels_free(struct acq_label *labels, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(labels[i].key);
		free(labels[i].value);
	}
	free(labels);
}

static int get_labels(struct ywalk *p, const yaml_node_t *n, struct acq_source_cfg *sc)
{
	const yaml_node_t *k, *v;
	int err;

	if (ywalk_is_null(n))
		return 0;
	if ((err = ywalk_map_check(p, n, "labels", false)))
		return err;
	YWALK_PAIR_NODES(p, n, k, v) {
		if (!ywalk_scalar(v))
			return ywalk_fail(p, v, "labels.%s: expected a string", ywalk_scalar(k));
		err = acq_labels_add(&sc->labels, &sc->nlabels, &sc->labels_cap, ywalk_scalar(k),
				     ywalk_scalar(v));
		if (err)
			return err;
	}
	return 0;
}

static int check_regex(struct ywalk *p, const yaml_node_t *n, const char *re)
{
	PCRE2_SIZE off;
	pcre2_code *code;
	int rc;

	code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &rc, &off, NULL);
	if (!code) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(rc, msg, sizeof(msg));
		return ywalk_fail(p, n, "exclude_regexps: could not compile '%s': %s at offset %zu",
			    re, (char *)msg, (size_t)off);
	}
	pcre2_code_free(code);
	return 0;
}

/* One document (a mapping) into sc. */
static int parse_source(struct ywalk *p, const yaml_node_t *root, struct acq_source_cfg *sc)
{
	const char *const *specific = NULL;
	const yaml_node_t *n, *k, *kn, *v;
	const char *mode = NULL;
	int err;

	/* Key sanity first: duplicates and non-string keys, whatever the source. */
	if ((err = ywalk_map_check(p, root, NULL, true)))
		return err;

	n = ywalk_get(p, root, "source", NULL);
	if (n && (err = rec_yaml_set(p, &source_schema, sc, "source", n)))
		return err;
	if (!sc->source) {
		/* Upstream detectType(): only when `source` is absent. */
		if (ywalk_get(p, root, "filename", NULL) || ywalk_get(p, root, "filenames", NULL))
			sc->source = strdup("file");
		else if (ywalk_get(p, root, "journalctl_filter", NULL))
			sc->source = strdup("journalctl");
		else
			return ywalk_fail(p, root, "missing 'source' field");
		if (!sc->source)
			return -ENOMEM;
	}
	if (!strcmp(sc->source, "file"))
		specific = file_keys;
	else if (!strcmp(sc->source, "journalctl"))
		specific = journal_keys;
	else if (in_list(upstream_only, sc->source))
		sc->unsupported = true;
	else
		return ywalk_fail(p, n ? n : root, "unknown data source %s", sc->source);

	if ((n = ywalk_get(p, root, "labels", NULL)) && (err = get_labels(p, n, sc)))
		return err;
	/* docker is the only upstream source allowed without labels */
	if (!sc->nlabels && strcmp(sc->source, "docker"))
		return ywalk_fail(p, root, "missing labels");
	if (sc->unsupported)
		return 0; /* its own keys are its business; we won't run it */

	YWALK_PAIR_NODES(p, root, kn, v) {
		const char *key = ywalk_scalar(kn);
		long long ll = 0;
		bool b = false;

		if (!in_list(common_keys, key) && !in_list(specific, key))
			return ywalk_fail(p, kn, "unknown field '%s' for a %s datasource", key,
				    sc->source);
		if (!strcmp(key, "mode")) {
			if (!ywalk_scalar(v))
				return ywalk_fail(p, v, "mode: expected a string");
			mode = ywalk_scalar(v);
			k = v;
			if (!*mode || !strcmp(mode, "tail") ||
			    (!strcmp(mode, "server") && strcmp(sc->source, "file")))
				sc->mode = ACQ_MODE_TAIL;
			else if (!strcmp(mode, "cat"))
				sc->mode = ACQ_MODE_CAT;
			else
				return ywalk_fail(p, k, "unsupported mode %s for %s source", mode,
					    sc->source);
		} else if (!strcmp(key, "log_level")) {
			const char *s = ywalk_scalar(v);

			if (!s || (*s && log_level_parse(s) < 0 && strcasecmp(s, "panic")))
				return ywalk_fail(p, v, "log_level: not a valid logrus Level: '%s'",
					    s ? s : "(non-scalar)");
		} else if (!strcmp(key, "exclude_regexps")) {
			err = rec_yaml_set(p, &source_schema, sc, key, v);
			for (size_t i = 0; !err && i < sc->nexclude; i++)
				err = check_regex(p, v, sc->exclude_regexps[i]);
		} else if (!strcmp(key, "poll_without_inotify")) {
			if (!ywalk_is_null(v)) {
				err = ywalk_bool(p, v, key, &b);
				sc->poll_without_inotify = b;
			}
		} else if (!strcmp(key, "max_buffer_size")) {
			err = get_int(p, v, key, &ll);
			if (!err && (ll < 0 || ll > (1 << 30)))
				return ywalk_fail(p, v, "max_buffer_size: %lld out of range", ll);
			sc->max_line = ll;
		} else if (!strcmp(key, "discovery_poll_interval")) {
			if (!ywalk_scalar(v) || gotime_parse_duration(ywalk_scalar(v), &sc->discovery_poll_ns) ||
			    sc->discovery_poll_ns < 0)
				return ywalk_fail(p, v, "discovery_poll_interval: not a duration");
		} else if (strcmp(key, "source")) {
			err = rec_yaml_set(p, &source_schema, sc, key, v);
			if (err == -ENOENT)
				err = 0; /* labels, unique_id: handled or ignored */
		}
		if (err)
			return err;
	}

	if (!strcmp(sc->source, "file")) {
		n = ywalk_get(p, root, "filename", &k);
		if (n && !ywalk_is_null(n)) {
			const char *s = ywalk_scalar(n);

			if (!s)
				return ywalk_fail(p, n, "filename: expected a string");
			if ((err = strv_push(&sc->filenames, &sc->nfilenames, s)))
				return err;
		}
		if (!sc->nfilenames)
			return ywalk_fail(p, root, "no filename or filenames configuration provided");
	} else if (!sc->njournal_filters) {
		return ywalk_fail(p, root, "journalctl_filter is required");
	}
	return 0;
}

void acq_source_cfg_fini(struct acq_source_cfg *sc)
{
	if (!sc)
		return;
	acq_labels_free(sc->labels, sc->nlabels);
	rec_clear(&source_schema, sc, sizeof(*sc));
}

int acq_source_cfg_copy(struct acq_source_cfg *dst, const struct acq_source_cfg *src)
{
	int err;

	*dst = *src;
	dst->labels = NULL;
	dst->nlabels = dst->labels_cap = 0;
	err = rec_copy(&source_schema, dst, src);
	for (size_t i = 0; !err && i < src->nlabels; i++)
		err = acq_labels_add(&dst->labels, &dst->nlabels, &dst->labels_cap,
				     src->labels[i].key, src->labels[i].value);
	if (err)
		acq_source_cfg_fini(dst);
	return err;
}

void acq_config_free(struct acq_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nsrcs; i++)
		acq_source_cfg_fini(&cfg->srcs[i]);
	free(cfg->srcs);
	cfg->srcs = NULL;
	cfg->nsrcs = cfg->srcscap = 0;
}

const char *acq_label_get(const struct acq_label *labels, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(labels[i].key, key))
			return labels[i].value;
	return NULL;
}

static int cfg_append(struct acq_config *cfg, struct acq_source_cfg *sc)
{
	if (vec_reserve((void **)&cfg->srcs, &cfg->srcscap, cfg->nsrcs, sizeof(*cfg->srcs), 8))
		return -ENOMEM;
	cfg->srcs[cfg->nsrcs++] = *sc; /* moved: the caller forgets sc */
	memset(sc, 0, sizeof(*sc));
	return 0;
}

int acq_config_load_buf(struct acq_config *cfg, const char *name, const char *buf, size_t len,
			char *err, size_t errlen)
{
	struct ywalk p = { .file = name, .err = err, .errlen = errlen, .with_column = true };
	struct acq_source_cfg sc = { 0 };
	struct ywalk_stream ys;
	yaml_node_t *root;
	size_t xlen, first = cfg->nsrcs;
	char *text;
	int rc;

	if (err && errlen)
		err[0] = 0;
	text = env_expand(buf, len, true, &xlen);
	if (!text)
		return -ENOMEM;
	rc = ywalk_stream_open(&ys, text, xlen);
	if (rc) {
		free(text);
		return rc;
	}
	while (!(rc = ywalk_next(&p, &ys, &root)) && root) {
		if (ywalk_is_null(root))
			continue;
		if (root->type != YAML_MAPPING_NODE) {
			rc = ywalk_fail(&p, root,
					"expected a mapping (one datasource per document)");
			break;
		}
		sc.poll_without_inotify = -1;
		sc.file = strdup(name);
		sc.line = (int)root->start_mark.line + 1;
		rc = sc.file ? parse_source(&p, root, &sc) : -ENOMEM;
		if (!rc && sc.unsupported)
			log_warn("%s:%d: datasource '%s' is not supported here, skipping it", name,
				 sc.line, sc.source);
		if (!rc)
			rc = cfg_append(cfg, &sc);
		if (rc)
			break;
	}
	if (rc == -ENOMEM && err && errlen)
		snprintf(err, errlen, "%s: out of memory", name);
	if (rc) { /* all or nothing for this file */
		while (cfg->nsrcs > first)
			acq_source_cfg_fini(&cfg->srcs[--cfg->nsrcs]);
	}
	acq_source_cfg_fini(&sc);
	ywalk_stream_close(&ys);
	free(text);
	return rc;
}

int acq_config_load_file(struct acq_config *cfg, const char *path, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = cs_read_file(path, ACQ_CONFIG_MAX_BYTES, &buf, &len);

	if (rc) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path,
				 rc == -EFBIG ? "larger than 16 MiB" : strerror(-rc));
		return rc;
	}
	rc = acq_config_load_buf(cfg, path, buf, len, err, errlen);
	free(buf);
	return rc;
}

static int dsn_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int dsn_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* %XX and '+' decoding for query values (url.ParseQuery). */
static char *url_unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], 0 };

			*o++ = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			*o++ = s[i] == '+' ? ' ' : s[i];
		}
	}
	*o = 0;
	return out;
}

int acq_config_from_dsn(struct acq_config *cfg, const char *dsn, const char *type,
			const char *const *labels, size_t nlabels, char *err, size_t errlen)
{
	struct acq_source_cfg sc = { .poll_without_inotify = -1, .mode = ACQ_MODE_CAT, .dsn = true };
	const char *q = NULL, *rest;
	bool file;
	int rc = -ENOMEM;

	if (!strncmp(dsn, "file://", 7)) {
		file = true;
		rest = dsn + 7;
	} else if (!strncmp(dsn, "journalctl://", 13)) {
		file = false;
		rest = dsn + 13;
	} else if (!strchr(dsn, ':')) {
		return dsn_err(err, errlen, "%s is not a valid dsn (no protocol)", dsn);
	} else {
		return dsn_err(err, errlen, "no acquisition for protocol %.*s://",
			       (int)(strchr(dsn, ':') - dsn), dsn);
	}
	if (!*rest)
		return dsn_err(err, errlen, "empty %s DSN", file ? "file://" : "journalctl://");
	if (!(sc.source = strdup(file ? "file" : "journalctl")) || !(sc.file = strdup(dsn)))
		goto fail;

	if (file) {
		size_t plen;
		char *path;

		q = strchr(rest, '?');
		plen = q ? (size_t)(q - rest) : strlen(rest);
		if (!plen) {
			rc = dsn_err(err, errlen, "empty file:// DSN");
			goto fail;
		}
		path = strndup(rest, plen);
		rc = path ? strv_push(&sc.filenames, &sc.nfilenames, path) : -ENOMEM;
		free(path);
		if (rc)
			goto fail;
		if (q)
			q++;
	} else {
		q = rest;
	}

	while (q && *q) {
		const char *amp = strchr(q, '&'), *eq;
		size_t n = amp ? (size_t)(amp - q) : strlen(q);
		char *key = NULL, *val = NULL;

		eq = memchr(q, '=', n);
		key = url_unescape(q, eq ? (size_t)(eq - q) : n);
		val = eq ? url_unescape(eq + 1, n - (eq + 1 - q)) : strdup("");
		if (!key || !val) {
			free(key);
			free(val);
			goto fail;
		}
		rc = 0;
		if (!strcmp(key, "log_level")) {
			if (log_level_parse(val) < 0)
				rc = dsn_err(err, errlen, "unknown level %s", val);
		} else if (file && !strcmp(key, "max_buffer_size")) {
			char *end;
			long v = strtol(val, &end, 10);

			if (*end || !*val || v < 0)
				rc = dsn_err(err, errlen, "could not parse max_buffer_size %s", val);
			sc.max_line = v;
		} else if (!file && !strcmp(key, "filters")) {
			rc = strv_push(&sc.journal_filters, &sc.njournal_filters, val);
		} else if (!file && !strcmp(key, "since")) {
			free(sc.journal_since);
			sc.journal_since = val;
			val = NULL;
		} else {
			rc = dsn_err(err, errlen, file ? "unknown parameter %s" :
					   "unsupported key %s in journalctl DSN", key);
		}
		free(key);
		free(val);
		if (rc)
			goto fail;
		q = amp ? amp + 1 : NULL;
	}
	if (!file && !sc.njournal_filters) {
		rc = dsn_err(err, errlen, "journalctl_filter is required");
		goto fail;
	}

	if (type && (rc = acq_labels_add(&sc.labels, &sc.nlabels, &sc.labels_cap, "type", type)))
		goto fail;
	for (size_t i = 0; i < nlabels; i++) {
		const char *c = strchr(labels[i], ':');
		char *k;

		if (!c) {
			rc = dsn_err(err, errlen, "label '%s': expected key:value", labels[i]);
			goto fail;
		}
		if (!(k = strndup(labels[i], c - labels[i]))) {
			rc = -ENOMEM;
			goto fail;
		}
		rc = acq_labels_add(&sc.labels, &sc.nlabels, &sc.labels_cap, k, c + 1);
		free(k);
		if (rc)
			goto fail;
	}
	rc = cfg_append(cfg, &sc);
	if (rc)
		goto fail;
	return 0;
fail:
	if (!rc)
		rc = -ENOMEM;
	if (rc == -ENOMEM)
		dsn_err(err, errlen, "out of memory");
	acq_source_cfg_fini(&sc);
	return rc;
}
