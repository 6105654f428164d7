// SPDX-License-Identifier: MIT
/*
 * cscli explain --file F|--log L|--dsn file://F --type T [-v] [--failures]
 *               [--only-successful-parsers] [--labels k:v,...]
 * Each line through the installed parsers, stage by stage and node by node
 * (success or failure, what changed), then the scenarios it was poured into, in
 * upstream's tree. The engine runs in this process on event time (as upstream's
 * `crowdsec -dsn ... -dump-data` replay does), nothing is sent anywhere.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bucket/bucket.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/strmap.h"
#include "common/vec.h"
#include "common/yamljson.h"
#include "cscli/cscli.h"
#include "cscli/patterns_embed.h"
#include "parser/parser.h"

#define EXPLAIN_MAX_LINES 100000
#define GREEN "\U0001F7E2"
#define RED "\U0001F534"

struct node_result {
	char *stage, *node;
	bool success;
	struct cs_event *evt; /* snapshot after the node (successes only) */
};

struct line_result {
	struct node_result *v;
	size_t n, cap;
};

struct explain {
	bool details, failures, only_ok;
};

static int observe(const char *stage, const char *node, const struct cs_event *evt,
		   bool success, void *arg)
{
	struct line_result *lr = arg;
	struct node_result *n;

	if (vec_reserve((void **)&lr->v, &lr->cap, lr->n, sizeof(*lr->v), 16))
		return -ENOMEM;
	n = &lr->v[lr->n];
	memset(n, 0, sizeof(*n));
	n->stage = strdup(stage);
	n->node = strdup(node && *node ? node : "?");
	n->success = success;
	if (!n->stage || !n->node || (success && cs_event_dup(evt, &n->evt))) {
		free(n->stage);
		free(n->node);
		return -ENOMEM;
	}
	lr->n++;
	return 0;
}

static void line_result_clear(struct line_result *lr)
{
	for (size_t i = 0; i < lr->n; i++) {
		free(lr->v[i].stage);
		free(lr->v[i].node);
		cs_event_free(lr->v[i].evt);
	}
	free(lr->v);
	memset(lr, 0, sizeof(*lr));
}

struct delta {
	int created, updated, deleted;
	struct sbuf text; /* -v lines */
};

static void delta_line(struct delta *d, const char *sep, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void delta_line(struct delta *d, const char *sep, const char *fmt, ...)
{
	char body[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	sb_printf(&d->text, "\t|\t\t%s %s\n", sep, body);
}

static void diff_str(struct delta *d, const char *sep, const char *path, const char *a,
		     const char *b)
{
	a = a ? a : "";
	b = b ? b : "";
	if (!strcmp(a, b))
		return;
	if (!*a) {
		d->created++;
		delta_line(d, sep, "create evt.%s : %s", path, b);
	} else if (!*b) {
		d->deleted++;
		delta_line(d, sep, "delete evt.%s", path);
	} else {
		d->updated++;
		delta_line(d, sep, "update evt.%s : %s -> %s", path, a, b);
	}
}

static void diff_map(struct delta *d, const char *sep, const char *name, const struct strmap *a,
		     const struct strmap *b)
{
	const char *k, *v;
	char path[512];

	for (size_t i = 0; b && strmap_at(b, i, &k, &v, NULL); i++) {
		snprintf(path, sizeof(path), "%s.%s", name, k);
		diff_str(d, sep, path, a ? strmap_get(a, k) : NULL, v);
	}
	for (size_t i = 0; a && strmap_at(a, i, &k, &v, NULL); i++) {
		if (b && strmap_has(b, k))
			continue;
		snprintf(path, sizeof(path), "%s.%s", name, k);
		diff_str(d, sep, path, v, NULL);
	}
}

/* What a node changed, against the event the previous successful node left. */
static void event_diff(struct delta *d, const char *sep, const struct cs_event *a,
		       const struct cs_event *b)
{
	diff_str(d, sep, "Line.Raw", a ? a->line.raw : NULL, b->line.raw);
	diff_str(d, sep, "Line.Src", a ? a->line.src : NULL, b->line.src);
	diff_str(d, sep, "Line.Module", a ? a->line.module : NULL, b->line.module);
	diff_map(d, sep, "Line.Labels", a ? a->line.labels : NULL, b->line.labels);
	diff_map(d, sep, "Parsed", a ? a->parsed : NULL, b->parsed);
	diff_map(d, sep, "Enriched", a ? a->enriched : NULL, b->enriched);
	diff_map(d, sep, "Meta", a ? a->meta : NULL, b->meta);
	diff_str(d, sep, "StrTime", a ? a->str_time : NULL, b->str_time);
	diff_str(d, sep, "StrTimeFormat", a ? a->str_time_format : NULL, b->str_time_format);
	diff_str(d, sep, "MarshaledTime", a ? a->marshaled_time : NULL, b->marshaled_time);
	diff_str(d, sep, "Stage", a ? a->stage : NULL, b->stage);
	diff_str(d, sep, "WhitelistReason", a ? a->whitelist_reason : NULL, b->whitelist_reason);
	if ((a && a->whitelisted) != b->whitelisted) {
		d->updated++;
		delta_line(d, sep, "update evt.Whitelisted : %s -> %s",
			   a && a->whitelisted ? "true" : "false", b->whitelisted ? "true" : "false");
	}
}

static void print_line(const struct explain *x, const char *raw, struct line_result *lr,
		       const struct cs_event *final, bool parsed_ok, char **scenarios,
		       size_t nscenarios)
{
	const struct cs_event *prev = NULL;
	const char *wl_reason = NULL;

	if (x->failures && parsed_ok)
		return;
	printf("line: %s\n", raw);
	for (size_t i = 0; i < lr->n;) {
		const char *stage = lr->v[i].stage;
		size_t end = i;

		while (end < lr->n && !strcmp(lr->v[end].stage, stage))
			end++;
		printf("\t\u251c %s\n", stage);
		for (size_t j = i; j < end; j++) {
			const struct node_result *r = &lr->v[j];
			const char *sep = j + 1 == end ? "\u2514" : "\u251c";
			struct delta d = { 0 };
			char summary[128] = "";

			if (!r->success) {
				if (!x->only_ok)
					printf("\t|\t%s %s %s\n", sep, RED, r->node);
				continue;
			}
			event_diff(&d, sep, prev, r->evt);
			if (r->evt->whitelisted && !(prev && prev->whitelisted) && !wl_reason)
				wl_reason = r->evt->whitelist_reason ? r->evt->whitelist_reason : "";
			if (d.created)
				snprintf(summary, sizeof(summary), "+%d", d.created);
			if (d.updated)
				snprintf(summary + strlen(summary), sizeof(summary) - strlen(summary),
					 "%s~%d", *summary ? " " : "", d.updated);
			if (d.deleted)
				snprintf(summary + strlen(summary), sizeof(summary) - strlen(summary),
					 "%s-%d", *summary ? " " : "", d.deleted);
			if (r->evt->whitelisted && !(prev && prev->whitelisted))
				snprintf(summary + strlen(summary), sizeof(summary) - strlen(summary),
					 "%s[whitelisted]", *summary ? " " : "");
			printf("\t|\t%s %s %s (%s)\n", sep, GREEN, r->node, *summary ? summary : "unchanged");
			if (x->details && d.text.buf)
				fputs(d.text.buf, stdout);
			sb_free(&d.text);
			prev = r->evt;
		}
		i = end;
	}
	if (parsed_ok) {
		printf("\t\u251c-------- parser success %s\n", GREEN);
	} else if (final && final->process && final->whitelisted) {
		printf("\t\u2514-------- parser success, ignored by whitelist (%s) %s\n",
		       wl_reason ? wl_reason : (final->whitelist_reason ?: ""), GREEN);
	} else {
		printf("\t\u2514-------- parser failure %s\n", RED);
	}
	if (parsed_ok)
		printf("\t\u251c Scenarios\n");
	for (size_t i = 0; i < nscenarios; i++)
		printf("\t\t%s %s %s\n", i + 1 == nscenarios ? "\u2514" : "\u251c", GREEN,
		       scenarios[i]);
	printf("\n");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* <config_dir>/patterns, else the compiled-in library written into tmpdir. */
static int pattern_dir(const char *configured, const char *tmpdir, char *out, size_t len)
{
	struct stat st;

	if (!stat(configured, &st) && S_ISDIR(st.st_mode)) {
		snprintf(out, len, "%s", configured);
		return 0;
	}
	snprintf(out, len, "%s/patterns", tmpdir);
	if (mkdir(out, 0700))
		return -errno;
	for (const struct embedded_file *f = cscli_default_patterns; f->name; f++) {
		char p[PATH_MAX + 256];
		FILE *fp;

		snprintf(p, sizeof(p), "%s/%s", out, f->name);
		fp = fopen(p, "wb");
		if (!fp)
			return -errno;
		if (fwrite(f->data, 1, f->len, fp) != f->len) {
			fclose(fp);
			return -EIO;
		}
		if (fclose(fp))
			return -errno;
	}
	log_info("no pattern directory at %s: using the default grok patterns", configured);
	return 0;
}

static void rm_tree(const char *dir)
{
	char sub[PATH_MAX + 256];

	for (const struct embedded_file *f = cscli_default_patterns; f->name; f++) {
		snprintf(sub, sizeof(sub), "%s/patterns/%s", dir, f->name);
		unlink(sub);
	}
	snprintf(sub, sizeof(sub), "%s/patterns", dir);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/line.log", dir);
	unlink(sub);
	rmdir(dir);
}

static void usage(FILE *f)
{
	fprintf(f, "Explain log pipeline\n\nUsage:\n  cscli explain [flags]\n\nExamples:\n"
		   "  cscli explain --file ./myfile.log --type nginx\n"
		   "  cscli explain --log \"Sep 19 18:33:22 host sshd[24347]: Failed password for "
		   "root from 198.18.0.1 port 22 ssh2\" --type syslog\n"
		   "  cscli explain --dsn \"file://myfile.log\" --type nginx\n"
		   "  tail -n 5 myfile.log | cscli explain --type nginx -f -\n\nFlags:\n"
		   "      --crowdsec string            (accepted, unused: the engine runs in cscli)\n"
		   "  -d, --dsn string                 DSN to test (file:// only)\n"
		   "      --failures                   Only show failed lines\n"
		   "  -f, --file string                Log file to test (- for stdin)\n"
		   "  -h, --help                       help for explain\n"
		   "      --labels string              Additional labels (key:value,key2:value2)\n"
		   "  -l, --log string                 Log line to test\n"
		   "      --no-clean                   (accepted, nothing is left behind)\n"
		   "      --only-successful-parsers    Only show successful parsers\n"
		   "  -t, --type string                Type of the acquisition to test\n"
		   "  -v, --verbose                    Display individual changes\n");
}

static int set_labels(struct strmap *m, const char *spec)
{
	char *dup = strdup(spec), *save = NULL;
	int rc = 0;

	if (!dup)
		return -ENOMEM;
	for (char *kv = strtok_r(dup, ",", &save); kv && !rc; kv = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(kv, ':');

		if (!colon) {
			rc = -EINVAL;
			break;
		}
		*colon = '\0';
		rc = strmap_set(m, kv, colon + 1);
	}
	free(dup);
	return rc;
}

int cmd_explain(struct cli *c, int argc, char **argv)
{
	const char *file = NULL, *dsn = NULL, *logline = NULL, *type = NULL, *labels = NULL;
	struct explain x = { 0 };
	bool help = false;
	const struct cli_opt opts[] = {
		{ "file", 'f', .str = &file },
		{ "dsn", 'd', .str = &dsn },
		{ "log", 'l', .str = &logline },
		{ "type", 't', .str = &type },
		{ "verbose", 'v', .set = &x.details },
		{ "failures", 0, .set = &x.failures },
		{ "only-successful-parsers", 0, .set = &x.only_ok },
		{ "labels", 0, .str = &labels },
		{ "crowdsec", 0, .takes_arg = true },
		{ "no-clean", 0, .set = NULL },
		{ "help", 'h', .set = &help },
	};
	char tmpdir[] = "/tmp/cscli_explain_XXXXXX", err[1024], cfgdir[PATH_MAX],
	     datadir[PATH_MAX], patdir[PATH_MAX + 64], dir[PATH_MAX + 64], abspath[PATH_MAX];
	struct cs_parsers *p = NULL;
	struct cs_buckets *b = NULL;
	struct strmap *lbl = NULL;
	json_t *docs = NULL, *root;
	uint64_t *before = NULL;
	FILE *in = NULL;
	char *line = NULL;
	size_t cap = 0, nlines = 0;
	int ret = CLI_GETOPT(argc, argv, opts);
	bool made_tmp = false;

	if (help || ret) {
		usage(help ? stdout : stderr);
		return help ? EXIT_OK : EXIT_USAGE;
	}
	ret = EXIT_FATAL;
	if (!type || !*type) {
		fprintf(stderr, "Error: required flag(s) \"type\" not set\n");
		return EXIT_USAGE;
	}
	if (!!file + !!dsn + !!logline != 1) {
		fprintf(stderr, "Error: exactly one of the flags in the group [log file dsn] is "
				"required\n");
		return EXIT_USAGE;
	}
	if (dsn) {
		if (strncmp(dsn, "file://", 7)) {
			cli_fatal("only file:// DSNs are supported by cscli explain: %s", dsn);
			return EXIT_FATAL;
		}
		file = dsn + 7;
	}
	if (file && !strcmp(file, "-") && isatty(STDIN_FILENO)) {
		cli_fatal("the option -f - is intended to work with pipes");
		return EXIT_FATAL;
	}
	docs = yamljson_load_file(c->config_path, true, err, sizeof(err));
	root = json_array_get(docs, 0);
	if (!json_is_object(root)) {
		cli_fatal("while loading configuration file: %s", docs ? c->config_path : err);
		goto out;
	}
	snprintf(cfgdir, sizeof(cfgdir), "%s",
		 yamljson_get_str(root, "config_paths.config_dir", "/etc/crowdsec/"));
	snprintf(datadir, sizeof(datadir), "%s",
		 yamljson_get_str(root, "config_paths.data_dir", "/var/lib/crowdsec/data/"));
	snprintf(dir, sizeof(dir), "%s/patterns", cfgdir);
	snprintf(dir, sizeof(dir), "%s", yamljson_get_str(root, "config_paths.pattern_dir", dir));
	if (!mkdtemp(tmpdir)) {
		cli_fatal("couldn't create a temporary directory to store cscli explain result: %s",
			  strerror(errno));
		goto out;
	}
	made_tmp = true;
	if (pattern_dir(dir, tmpdir, patdir, sizeof(patdir))) {
		cli_fatal("while writing the default patterns into %s", tmpdir);
		goto out;
	}
	struct cs_parser_opts po = { .patterns_dir = patdir, .data_dir = datadir };

	if (cs_parsers_new(&po, &p)) {
		cli_fatal("failed to load parsers");
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/parsers", cfgdir);
	if (cs_parsers_load_dir(p, dir) || cs_parsers_ready(p)) {
		cli_fatal("failed to load parsers: %s", cs_parsers_last_error(p));
		goto out;
	}
	if (!cs_parsers_nstages(p)) {
		cli_fatal("no parser found. Please install the appropriate parser and retry");
		goto out;
	}
	struct cs_bucket_opts bo = { .mode = CS_BUCKET_REPLAY, .data_dir = datadir };

	if (cs_buckets_new(&bo, &b)) {
		cli_fatal("failed to load scenarios");
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/scenarios", cfgdir);
	if (!access(dir, F_OK) && cs_buckets_load_dir(b, dir)) {
		cli_fatal("failed to load scenarios: %s", cs_buckets_last_error(b));
		goto out;
	}
	before = calloc(cs_buckets_nscenarios(b) + 1, sizeof(*before));
	lbl = strmap_new();
	if (!before || !lbl || (labels && set_labels(lbl, labels))) {
		cli_fatal("invalid --labels '%s' (key:value,key2:value2)", labels ? labels : "");
		goto out;
	}
	if (logline) {
		snprintf(abspath, sizeof(abspath), "%s/line.log", tmpdir);
		in = fopen(abspath, "w+");
		if (!in || fputs(logline, in) < 0 || fflush(in) || fseek(in, 0, SEEK_SET)) {
			cli_fatal("while writing %s: %s", abspath, strerror(errno));
			goto out;
		}
	} else if (!strcmp(file, "-")) {
		in = stdin;
		snprintf(abspath, sizeof(abspath), "/dev/stdin");
	} else {
		if (!realpath(file, abspath) || !(in = fopen(abspath, "r"))) {
			cli_fatal("unable to open '%s': %s", file, strerror(errno));
			goto out;
		}
	}
	ssize_t n;

	while ((n = getline(&line, &cap, in)) >= 0) {
		struct line_result lr = { 0 };
		struct cs_event *evt = NULL;
		char **names = NULL;
		size_t nnames = 0;
		bool ok;
		int rc;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n)
			continue;
		if (++nlines > EXPLAIN_MAX_LINES) {
			cli_log("warning", "stopping after %d lines", EXPLAIN_MAX_LINES);
			break;
		}
		if (cs_event_new(&evt) ||
		    cs_event_set_line(evt, line, (size_t)n, abspath, "file", type)) {
			cs_event_free(evt);
			cli_fatal("out of memory");
			goto out;
		}
		for (size_t i = 0; i < strmap_count(lbl); i++) {
			const char *k, *v;

			strmap_at(lbl, i, &k, &v, NULL);
			strmap_set(evt->line.labels, k, v);
		}
		evt->expect_mode = CS_MODE_TIMEMACHINE;
		rc = cs_parse(p, evt, observe, &lr);
		ok = !rc && evt->process && !evt->whitelisted;
		if (ok) {
			for (size_t i = 0; i < cs_buckets_nscenarios(b); i++)
				before[i] = cs_buckets_scenario_poured(b, i);
			cs_buckets_pour(b, evt);
			names = calloc(cs_buckets_nscenarios(b) + 1, sizeof(*names));
			for (size_t i = 0; names && i < cs_buckets_nscenarios(b); i++)
				if (cs_buckets_scenario_poured(b, i) != before[i])
					names[nnames++] = (char *)cs_buckets_scenario_name(b, i);
			qsort(names, nnames, sizeof(*names), cmp_str);
		}
		print_line(&x, line, &lr, rc ? NULL : evt, ok, names, nnames);
		free(names);
		line_result_clear(&lr);
		cs_event_free(evt);
	}
	if (!nlines) {
		cli_fatal("the log file is empty: %s", file ? file : abspath);
		goto out;
	}
	ret = EXIT_OK;
out:
	if (in && in != stdin)
		fclose(in);
	free(line);
	free(before);
	strmap_free(lbl);
	cs_buckets_free(b);
	cs_parsers_free(p);
	json_decref(docs);
	if (made_tmp)
		rm_tree(tmpdir);
	return ret;
}
