// SPDX-License-Identifier: MIT
/*
 * cscli decisions import -i FILE|- [--format csv|json|values] [--duration D]
 * [--scope S] [--reason R] [--type T] [--batch N], CrowdSec's command: every
 * item becomes a decision (origin cscli-import, missing fields from the flags)
 * and each batch (all items when N is 0) is one alert "import FILE: N IPs"
 * posted to /v1/alerts. The body is written directly (no JSON object per
 * decision) and the LAPI decodes large bodies with its scanner. Unlike
 * CrowdSec, a batch is also cut where its body would pass the LAPI's body
 * limit (api.server.max_body_bytes, 16 MiB: ~120k decisions an alert).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/gotime.h"
#include "common/strbuf.h"
#include "common/ipaddr.h"
#include "common/jscan.h"
#include "common/readfile.h"
#include "common/vec.h"
#include "cscli/cscli.h"

#define IMPORT_MAX_INPUT (1024ul << 20) /* bytes read from the file or stdin */
#define IMPORT_FIELDS 5

enum { F_DURATION, F_REASON, F_SCOPE, F_TYPE, F_VALUE };
static const char *const field_names[IMPORT_FIELDS] = { "duration", "reason", "scope", "type",
							"value" };

/* One item: pointers into the input buffer (NULL: not given, the flag's default). */
struct item {
	const char *f[IMPORT_FIELDS];
};

struct items {
	struct item *v;
	size_t n, cap;
};

static struct item *items_add(struct items *it)
{
	if (vec_reserve((void **)&it->v, &it->cap, it->n, sizeof(*it->v), 1024))
		return NULL;
	memset(&it->v[it->n], 0, sizeof(it->v[0]));
	return &it->v[it->n++];
}

static int read_all(const char *path, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	int rc;

	if (!f) {
		cli_fatal("unable to open %s: %s", path, strerror(errno));
		return -errno;
	}
	rc = cs_read_stream(f, IMPORT_MAX_INPUT, out, len);
	if (rc)
		cli_fatal("unable to read from %s: %s", path,
			  rc == -EFBIG ? "input too large" : strerror(-rc));
	if (f != stdin)
		fclose(f);
	return rc;
}

/* Next line of [*p, end): NUL-terminated in place, "\r\n" accepted; NULL at the end. */
static char *next_line(char **p, char *end)
{
	char *s = *p, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = end;
	}
	if (nl && nl > s && nl[-1] == '\r')
		nl[-1] = '\0';
	return s;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int parse_values(char *buf, size_t len, struct items *it)
{
	char *p = buf, *line;

	while ((line = next_line(&p, buf + len))) {
		struct item *i = items_add(it);

		if (!i)
			return -ENOMEM;
		i->f[F_VALUE] = trim(line);
	}
	return 0;
}

/*
 * One CSV record of RFC 4180 (quotes, "" inside quotes); fields are unquoted in
 * place. Quoted fields spanning lines are not supported (no such field here).
 */
static int csv_split(char *line, char **fields, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *o = p, *start = p;

		if (n == max)
			return -E2BIG;
		if (*p == '"') {
			p++;
			for (;;) {
				if (!*p)
					return -EINVAL;
				if (*p == '"' && p[1] == '"') {
					*o++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*o++ = *p++;
				}
			}
			if (*p && *p != ',')
				return -EINVAL;
		} else {
			while (*p && *p != ',')
				p++;
			o = p;
		}
		fields[n++] = start;
		if (!*p) {
			*o = '\0';
			return n;
		}
		*o = '\0';
		p++;
	}
}

#define CSV_MAX_COLS 32

static int parse_csv(char *buf, size_t len, struct items *it)
{
	char *p = buf, *line, *cols[CSV_MAX_COLS];
	int map[CSV_MAX_COLS], ncols, lineno = 1;

	line = next_line(&p, buf + len);
	if (!line || (ncols = csv_split(line, cols, CSV_MAX_COLS)) < 0) {
		cli_fatal("unable to parse csv: 'line 1: %s'", line ? "bad header" : "empty input");
		return -EINVAL;
	}
	for (int c = 0; c < ncols; c++) {
		map[c] = -1;
		for (int k = 0; k < IMPORT_FIELDS; k++)
			if (!strcmp(trim(cols[c]), field_names[k]))
				map[c] = k;
	}
	while ((line = next_line(&p, buf + len))) {
		struct item *i;
		int n;

		lineno++;
		if (!*line)
			continue;
		n = csv_split(line, cols, CSV_MAX_COLS);
		if (n != ncols) {
			cli_fatal("unable to parse csv: 'record on line %d: %s'", lineno,
				  n < 0 ? "bad quoting" : "wrong number of fields");
			return -EINVAL;
		}
		i = items_add(it);
		if (!i)
			return -ENOMEM;
		for (int c = 0; c < ncols; c++)
			if (map[c] >= 0 && *cols[c])
				i->f[map[c]] = cols[c];
	}
	return 0;
}

static int parse_json(char *buf, size_t len, struct items *it)
{
	struct jscan s;
	bool first = true;

	jscan_init(&s, buf, len, 32);
	if (!jscan_expect(&s, '['))
		goto bad;
	while (jscan_next_elem(&s, first)) {
		struct item *i = items_add(it);
		bool kfirst = true;
		char *key, *b, *e;

		first = false;
		if (!i)
			return -ENOMEM;
		if (!jscan_expect(&s, '{'))
			goto bad;
		while ((key = jscan_next_key(&s, kfirst))) {
			int k;

			kfirst = false;
			for (k = 0; k < IMPORT_FIELDS && strcmp(key, field_names[k]); k++)
				;
			if (k < IMPORT_FIELDS && jscan_peek(&s) == '"') {
				i->f[k] = jscan_string(&s, NULL);
			} else if (k < IMPORT_FIELDS && jscan_peek(&s) != 'n') {
				cli_fatal("json: cannot unmarshal %s into Go struct field"
					  " decisionRaw.%s of type string",
					  jscan_kind(&s), field_names[k]);
				return -EINVAL;
			} else {
				jscan_skip(&s, &b, &e);
			}
		}
		if (jscan_failed(&s))
			goto bad;
	}
	if (!jscan_failed(&s) && !jscan_peek(&s))
		return 0;
	if (!jscan_failed(&s))
		jscan_fail(&s, "trailing data");
bad:
	cli_fatal("unable to parse json: %s", s.err);
	return -EINVAL;
}

/* A JSON string literal (the input's bytes; the LAPI checks UTF-8). */
static void put_json_str(struct sbuf *o, const char *s)
{
	const char *run = s;

	sb_putc(o, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sb_putn(o, run, (size_t)(s - run));
		if (c == '"' || c == '\\')
			sb_printf(o, "\\%c", c);
		else
			sb_printf(o, "\\u%04x", c);
		run = s + 1;
	}
	sb_putn(o, run, (size_t)(s - run));
	sb_putc(o, '"');
}

#define IMPORT_BODY_MARGIN (64u << 10) /* the alert around the decisions, and then some */

/*
 * One alert carrying items [from, *to) as decisions, as CrowdSec's cscli builds
 * it: at most up to `max_to`, and no further once the body reaches `budget`.
 */
static char *build_alert(const struct items *it, size_t from, size_t max_to, size_t budget,
			 const char *input, const char *const *def, size_t *to_out)
{
	size_t to;
	char now[GOTIME_STRLEN], title[600], *body;
	struct sbuf b = { 0 }, *o = &b;

	gotime_format_rfc3339(gotime_now(), now, sizeof(now));
	sb_puts(o, "[{\"capacity\":0,\"created_at\":");
	put_json_str(o, now);
	sb_puts(o, ",\"decisions\":[");
	for (to = from; to < max_to && (to == from || b.len < budget); to++) {
		size_t i = to;
		const struct item *d = &it->v[i];
		const char *v[IMPORT_FIELDS];

		for (int k = 0; k < IMPORT_FIELDS; k++)
			v[k] = d->f[k] ? d->f[k] : def[k];
		sb_puts(o, i > from ? ",{\"duration\":" : "{\"duration\":");
		put_json_str(o, v[F_DURATION]);
		sb_puts(o, ",\"origin\":\"cscli-import\",\"scenario\":");
		put_json_str(o, v[F_REASON]);
		sb_puts(o, ",\"scope\":");
		put_json_str(o, cs_scope_normalize(v[F_SCOPE]));
		sb_puts(o, ",\"simulated\":false,\"type\":");
		put_json_str(o, v[F_TYPE]);
		sb_puts(o, ",\"value\":");
		put_json_str(o, v[F_VALUE]);
		sb_putc(o, '}');
	}
	snprintf(title, sizeof(title), "import %s: %zu IPs", input, to - from);
	sb_printf(o, "],\"events\":[],\"events_count\":%zu,\"leakspeed\":\"\",\"message\":\"\","
		     "\"scenario\":",
		  to - from);
	put_json_str(o, title);
	sb_puts(o, ",\"scenario_hash\":\"\",\"scenario_version\":\"\",\"simulated\":false,"
		   "\"source\":{\"scope\":\"\",\"value\":\"\"},\"start_at\":");
	put_json_str(o, now);
	sb_puts(o, ",\"stop_at\":");
	put_json_str(o, now);
	sb_puts(o, "}]");
	body = sb_take(&b, NULL);
	if (!body)
		return NULL;
	*to_out = to;
	return body;
}

/*
 * The batches are posted by IMPORT_SENDERS connections: while the LAPI stores
 * one batch (its database is one writer), it can already be reading and
 * decoding the next, and cscli builds a third. The first bodies are smaller
 * (an eighth, then half of the budget): the writer starts after one small body
 * is built, sent and decoded instead of a full one.
 */
#define IMPORT_SENDERS 2
#define IMPORT_RAMP_BODIES 2

struct import_job {
	const struct items *it;
	const char *input;
	const char *const *def;
	size_t budget, batch;
	pthread_mutex_t lock;
	size_t next;   /* first item not taken yet */
	size_t bodies; /* built so far */
	bool failed;
};

static int import_send(struct import_job *j, struct lapi_client *cl)
{
	for (;;) {
		size_t from, max_to, to = 0;
		char *body = NULL;
		int err;

		pthread_mutex_lock(&j->lock);
		from = j->next;
		if (!j->failed && from < j->it->n) {
			size_t budget = j->bodies < IMPORT_RAMP_BODIES
						? j->budget >> (2 * (IMPORT_RAMP_BODIES - j->bodies) - 1)
						: j->budget;

			max_to = j->batch && j->batch < j->it->n - from ? from + j->batch : j->it->n;
			body = build_alert(j->it, from, max_to, budget, j->input, j->def, &to);
			j->bodies++;
			j->next = body ? to : j->it->n;
			j->failed = j->failed || !body;
		}
		pthread_mutex_unlock(&j->lock);
		if (!body)
			return j->failed ? -ENOMEM : 0;
		err = client_call(cl, "POST", "/v1/alerts", body, "", NULL);
		free(body);
		if (err) {
			pthread_mutex_lock(&j->lock);
			j->failed = true;
			pthread_mutex_unlock(&j->lock);
			return err;
		}
	}
}

struct import_sender {
	struct import_job *job;
	struct lapi_client *cl;
	pthread_t thread;
	int err;
};

static void *import_sender_main(void *arg)
{
	struct import_sender *s = arg;

	s->err = import_send(s->job, s->cl);
	return NULL;
}

/*
 * The senders' logins (a password hash each on the LAPI) go on while the input
 * is read, parsed and checked: they were ~0.2 s before the first batch.
 */
struct import_logins {
	struct cli *c;
	struct client_login l[IMPORT_SENDERS];
	pthread_t thread;
	bool running;
	atomic_bool cancel; /* the input was refused: the logins are for nothing */
};

static void *import_logins_main(void *arg)
{
	struct import_logins *li = arg;

	for (int k = 0; k < IMPORT_SENDERS && !atomic_load(&li->cancel); k++)
		client_login_begin(li->c, &li->l[k], &li->cancel);
	return NULL;
}

static void import_logins_join(struct import_logins *li)
{
	if (li->running)
		pthread_join(li->thread, NULL);
	li->running = false;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && !strcmp(s + n - m, suf);
}

int decisions_import(struct cli *c, int argc, char **argv)
{
	const char *input = NULL, *format = NULL, *batch_s = NULL,
		   *def[IMPORT_FIELDS] = { "4h", "manual", "Ip", "ban", NULL };
	const struct cli_opt opts[] = {
		{ "input", 'i', .str = &input },	  { "duration", 'd', .str = &def[F_DURATION] },
		{ "scope", 0, .str = &def[F_SCOPE] },	  { "reason", 'R', .str = &def[F_REASON] },
		{ "type", 't', .str = &def[F_TYPE] },	  { "batch", 0, .str = &batch_s },
		{ "format", 0, .str = &format },
	};
	struct import_sender snd[IMPORT_SENDERS] = { 0 };
	struct import_logins logins = { .c = c };
	struct import_job job = { .input = NULL };
	struct items it = { 0 };
	char *buf = NULL, *end;
	size_t len = 0, budget;
	long batch = 0;
	int ret = CLI_GETOPT(argc, argv, opts), err;

	if (ret)
		return ret;
	ret = EXIT_FATAL;
	if (batch_s) {
		batch = strtol(batch_s, &end, 10);
		if (*end || batch < 0) {
			fprintf(stderr, "Error: invalid argument \"%s\" for \"--batch\" flag\n",
				batch_s);
			return EXIT_USAGE;
		}
	}
	if (!input) {
		fprintf(stderr, "Error: required flag(s) \"input\" not set\n");
		return EXIT_USAGE;
	}
	for (int k = 0; k < F_VALUE; k++) {
		if (!*def[k]) {
			cli_fatal("default %s cannot be empty", k == F_REASON ? "reason"
								 : field_names[k]);
			return EXIT_FATAL;
		}
	}
	if (!format)
		format = has_suffix(input, ".json") ? "json" : has_suffix(input, ".csv") ? "csv" : NULL;
	if (!format) {
		cli_fatal("unable to guess format from file extension, please provide a format with"
			  " --format flag");
		return EXIT_FATAL;
	}
	if (strcmp(format, "csv") && strcmp(format, "json") && strcmp(format, "values")) {
		cli_fatal("invalid format '%s', expected one of 'json', 'csv', 'values'", format);
		return EXIT_FATAL;
	}
	logins.running = !pthread_create(&logins.thread, NULL, import_logins_main, &logins);
	if (read_all(input, &buf, &len))
		goto out;
	if (!strcmp(input, "-"))
		input = "stdin";
	cli_info("Parsing %s", format);
	err = !strcmp(format, "values") ? parse_values(buf, len, &it)
	    : !strcmp(format, "csv")    ? parse_csv(buf, len, &it)
					: parse_json(buf, len, &it);
	if (err == -ENOMEM)
		cli_fatal("out of memory");
	if (err)
		goto out;
	if (!it.n) {
		cli_fatal("no decisions found");
		goto out;
	}
	const char *last_dur = NULL;

	/*
	 * What the LAPI would refuse is refused here, before anything is sent: the
	 * batches go out concurrently, and a bad file must not be half imported.
	 */
	for (size_t i = 0; i < it.n; i++) {
		const char *v = it.v[i].f[F_VALUE], *scope, *dur;
		struct cs_prefix pfx;
		int64_t d;

		if (!v || !*v) {
			cli_fatal("item %zu: missing 'value'", i);
			goto out;
		}
		scope = cs_scope_normalize(it.v[i].f[F_SCOPE] ? it.v[i].f[F_SCOPE] : def[F_SCOPE]);
		if ((!strcmp(scope, "Ip") || !strcmp(scope, "Range")) &&
		    cs_prefix_parse(v, CS_PREFIX_MASK, &pfx)) {
			cli_fatal("item %zu: invalid addr/range %s : invalid address: invalid ip"
				  " address / range",
				  i, v);
			goto out;
		}
		dur = it.v[i].f[F_DURATION] ? it.v[i].f[F_DURATION] : def[F_DURATION];
		if (last_dur && !strcmp(dur, last_dur))
			continue; /* the usual file: one duration for all */
		if (gotime_parse_duration(dur, &d)) {
			cli_fatal("item %zu: decision duration '%s' : time: invalid duration \"%s\"", i,
				  dur, dur);
			goto out;
		}
		last_dur = dur;
	}
	/*
	 * Allowlists: CrowdSec's cscli asks the LAPI which values are allowlisted
	 * first; ours lets the LAPI drop them (it does for every alert it stores).
	 */
	if (it.n > 1000)
		cli_info("You are about to add %zu decisions, this may take a while", it.n);
	cli_info("batch size: %ld", batch);
	budget = c->cfg.max_body > 2 * IMPORT_BODY_MARGIN ? c->cfg.max_body - IMPORT_BODY_MARGIN
							 : IMPORT_BODY_MARGIN;
	job = (struct import_job){ .it = &it, .input = input, .def = def, .budget = budget,
				   .batch = (size_t)batch };
	pthread_mutex_init(&job.lock, NULL);
	if (!logins.running) /* no thread for them: in turn */
		import_logins_main(&logins);
	import_logins_join(&logins);
	for (int k = 0; k < IMPORT_SENDERS; k++) { /* logins before any sender */
		snd[k].job = &job;
		if (client_login_end(c, &logins.l[k], &snd[k].cl))
			goto out_job;
	}
	for (int k = 1; k < IMPORT_SENDERS; k++)
		if (pthread_create(&snd[k].thread, NULL, import_sender_main, &snd[k]))
			snd[k].job = NULL; /* never ran: the others take its share */
	snd[0].err = import_send(&job, snd[0].cl);
	err = snd[0].err;
	for (int k = 1; k < IMPORT_SENDERS; k++) {
		if (snd[k].job)
			pthread_join(snd[k].thread, NULL);
		if (!err && snd[k].job)
			err = snd[k].err;
	}
	if (err == -ENOMEM)
		cli_fatal("out of memory");
	if (!err) {
		cli_info("Imported %zu decisions", it.n);
		ret = EXIT_OK;
	}
out_job:
	for (int k = 0; k < IMPORT_SENDERS; k++)
		client_close(snd[k].cl);
	pthread_mutex_destroy(&job.lock);
out:
	/* a refused input is reported now, not after a login to a LAPI that may not answer */
	atomic_store(&logins.cancel, true);
	import_logins_join(&logins);
	for (int k = 0; k < IMPORT_SENDERS; k++)
		client_login_discard(&logins.l[k]);
	free(it.v);
	free(buf);
	return ret;
}
