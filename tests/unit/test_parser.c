// SPDX-License-Identifier: MIT
/* The parser pipeline: stages, nodes, statics, whitelists, YAML errors (spec section 3). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"
#include "common/stash.h"
#include "common/strmap.h"
#include "expr/expr.h"
#include "parser/event.h"
#include "parser/parser.h"
#include "parser/parser_int.h"
#include "../lib/test.h"

static const char *s00 =
	"filter: \"evt.Line.Labels.type == 'syslog'\"\n"
	"onsuccess: next_stage\n"
	"name: test/syslog\n"
	"pattern_syntax:\n"
	"  T_PROG: '%{WORD:program}(?:\\[%{POSINT:pid}\\])?'\n"
	"nodes:\n"
	"  - grok:\n"
	"      pattern: '^%{SYSLOGTIMESTAMP:timestamp} %{WORD:host} %{T_PROG}: %{GREEDYDATA:message}'\n"
	"      apply_on: Line.Raw\n"
	"statics:\n"
	"  - meta: machine\n"
	"    expression: evt.Parsed.host\n"
	"  - target: evt.StrTime\n"
	"    expression: evt.Parsed.timestamp\n"
	"  - meta: datasource_path\n"
	"    expression: evt.Line.Src\n"
	"---\n"
	"filter: \"evt.Line.Labels.type != 'syslog'\"\n"
	"onsuccess: next_stage\n"
	"name: test/non-syslog\n"
	"statics:\n"
	"  - parsed: message\n"
	"    expression: evt.Line.Raw\n"
	"  - parsed: program\n"
	"    expression: evt.Line.Labels.type\n"
	"---\n";

static const char *s01 =
	"onsuccess: next_stage\n"
	"filter: \"evt.Parsed.program == 'sshd'\"\n"
	"name: test/sshd\n"
	"nodes:\n"
	"  - grok:\n"
	"      pattern: 'Invalid user %{USERNAME:user} from %{IP:ip}'\n"
	"      apply_on: message\n"
	"      statics:\n"
	"        - meta: log_type\n"
	"          value: failed-auth\n"
	"  - grok:\n"
	"      pattern: 'Accepted password for %{USERNAME:user} from %{IP:ip}'\n"
	"      apply_on: message\n"
	"      statics:\n"
	"        - meta: log_type\n"
	"          value: success\n"
	"statics:\n"
	"  - meta: source_ip\n"
	"    expression: evt.Parsed.ip\n"
	"  - meta: user\n"
	"    expression: evt.Parsed.user\n"
	"  - meta: empty\n"
	"    expression: \"''\"\n"
	"  - meta: both\n"
	"    value: from-value\n"
	"    expression: \"'from-expression'\"\n"
	"  - meta: number\n"
	"    expression: len(evt.Parsed.user)\n"
	"  - meta: float\n"
	"    expression: 1.5\n"
	"  - meta: int_min\n"
	"    expression: -9223372036854775807 - 1\n"
	"  - meta: zero\n"
	"    expression: 0\n"
	"  - meta: negative\n"
	"    expression: -42\n"
	"  - target: evt.Meta.deep.key\n"
	"    value: first-map-level\n"
	"  - meta: erroring\n"
	"    expression: evt.Unmarshaled.nope.deeper\n";

static const char *s02 =
	"filter: \"evt.StrTime != ''\"\n"
	"name: test/dateparse\n"
	"statics:\n"
	"  - method: ParseDate\n"
	"    expression: evt.StrTime\n"
	"  - target: MarshaledTime\n"
	"    expression: evt.Enriched.MarshaledTime\n"
	"  - method: GeoIpCity\n"
	"    expression: evt.Meta.source_ip\n";

/* Rewrites the key it reads: the capture must not read freed memory. */
static const char *s02_split =
	"name: test/split\n"
	"grok:\n"
	"  pattern: '^%{DATA:message} from %{GREEDYDATA:rest}$'\n"
	"  apply_on: message\n";

static const char *s02_wl =
	"name: test/whitelists\n"
	"whitelist:\n"
	"  reason: private\n"
	"  ip: ['::1', '198.51.100.7']\n"
	"  cidr: ['10.0.0.0/8', '2001:db8::/32', '192.168.1.1/16']\n"
	"  expression:\n"
	"    - evt.Meta.user == 'trusted'\n"
	"statics:\n"
	"  - meta: wl_static\n"
	"    value: applied\n";

struct rec {
	int n;
	char names[16][64];
	bool ok[16];
};

static int observe(const char *stage, const char *node, const struct cs_event *evt, bool success,
		   void *arg)
{
	struct rec *r = arg;

	if (r->n < 16) {
		snprintf(r->names[r->n], sizeof(r->names[0]), "%s/%s", stage, node);
		r->ok[r->n] = success;
		r->n++;
	}
	return 0;
}

/* An injected clock: 2031-06-01T00:00:00Z, so year inference is checkable. */
static void fixed_clock(struct cs_time *now, void *arg)
{
	now->sec = 1938038400;
	now->nsec = 0;
	now->off = 0;
}

static struct cs_parsers *load_all(void)
{
	struct cs_parser_opts o = { .clock = fixed_clock };
	struct cs_parsers *p = NULL;

	if (!ASSERT_OK(cs_parsers_new(&o, &p), "new"))
		return NULL;
	if (!ASSERT_OK(cs_parsers_load_string(p, "s00-raw", "syslog.yaml", s00), "s00") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s01-parse", "sshd.yaml", s01), "s01") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s02-enrich", "dateparse.yaml", s02), "s02") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s02-enrich", "whitelists.yaml", s02_wl), "wl") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s02-enrich", "split.yaml", s02_split), "split")) {
		cs_parsers_free(p);
		return NULL;
	}
	return p;
}

static struct cs_event *run(struct cs_parsers *p, const char *line, const char *type,
			    struct rec *r)
{
	struct cs_event *evt = NULL;

	if (!ASSERT_OK(cs_event_new(&evt), "event"))
		return NULL;
	ASSERT_OK(cs_event_set_line(evt, line, strlen(line), "/var/log/auth.log", "file", type),
		  "set_line");
	evt->expect_mode = CS_MODE_TIMEMACHINE;
	ASSERT_OK(cs_parse(p, evt, observe, r), line);
	return evt;
}

/* Meta[key] of event e: want, or absent when want is NULL. */
static void meta_is(struct cs_event *e, const char *key, const char *want, const char *what)
{
	const char *got = e ? strmap_get(e->meta, key) : NULL;

	if (want)
		ASSERT_STREQ(got, want, what);
	else
		ASSERT_TRUE(e && !got, what);
}

/* meta_is() of the event p makes of line. */
static void expect_meta(struct cs_parsers *p, const char *line, const char *key, const char *want,
			const char *what)
{
	struct rec r = { 0 };
	struct cs_event *e = run(p, line, "x", &r);

	meta_is(e, key, want, what);
	cs_event_free(e);
}

static void test_pipeline(struct cs_parsers *p)
{
	struct rec r = { 0 };
	struct cs_event *e;

	ASSERT_EQ(cs_parsers_nstages(p), 3, "three stages");
	ASSERT_STREQ(cs_parsers_stage(p, 1), "s01-parse", "sorted stages");

	e = run(p, "Feb 12 14:10:21 host1 sshd[42]: Invalid user pascal from 35.188.49.176 port 22\n",
		"syslog", &r);
	if (!e)
		return;
	ASSERT_TRUE(e->process, "kept");
	ASSERT_STREQ(e->stage, "s02-enrich", "last stage");
	ASSERT_STREQ(strmap_get(e->parsed, "program"), "sshd", "program");
	ASSERT_STREQ(strmap_get(e->parsed, "pid"), "42", "pid");
	meta_is(e, "machine", "host1", "meta from expression");
	meta_is(e, "datasource_path", "/var/log/auth.log", "Line.Src");
	meta_is(e, "log_type", "failed-auth", "grok statics");
	meta_is(e, "source_ip", "35.188.49.176", "source_ip");
	meta_is(e, "empty", NULL, "empty static skipped");
	meta_is(e, "both", "from-value", "value wins");
	meta_is(e, "number", "6", "int rendered");
	meta_is(e, "float", "1.500000", "float %f");
	meta_is(e, "int_min", "-9223372036854775808", "the least int");
	meta_is(e, "zero", "0", "zero is a digit, not empty");
	meta_is(e, "negative", "-42", "negative int");
	meta_is(e, "deep", "first-map-level", "target stops at map");
	meta_is(e, "erroring", NULL, "erroring static skipped");
	ASSERT_STREQ(e->str_time, "Feb 12 14:10:21", "StrTime target");
	ASSERT_STREQ(e->marshaled_time, "2031-02-12T14:10:21Z", "MarshaledTime, year from the clock");
	ASSERT_EQ(e->time.sec, 1928671821, "replay: evt.Time is the log time");
	ASSERT_TRUE(!strmap_has(e->enriched, "IsoCode"), "no GeoIP: nothing written");
	ASSERT_TRUE(!e->whitelisted, "public ip not whitelisted");
	meta_is(e, "wl_static", NULL, "wl statics only when whitelisted");
	/* s00: syslog ok; s01: sshd ok; s02: both enrich nodes tried. */
	ASSERT_STREQ(strmap_get(e->parsed, "message"), "Invalid user pascal", "split: message");
	ASSERT_STREQ(strmap_get(e->parsed, "rest"), "35.188.49.176 port 22", "split: rest");
	ASSERT_EQ(r.n, 5, "nodes recorded");
	ASSERT_STREQ(r.names[0], "s00-raw/test/syslog", "first");
	ASSERT_TRUE(r.ok[0], "syslog ok");
	ASSERT_STREQ(r.names[1], "s01-parse/test/sshd", "second");
	ASSERT_STREQ(r.names[2], "s02-enrich/test/dateparse", "third: sorted by file name");
	ASSERT_STREQ(r.names[3], "s02-enrich/test/split", "fourth");
	ASSERT_STREQ(r.names[4], "s02-enrich/test/whitelists", "fifth");
	ASSERT_TRUE(r.ok[4], "a whitelist node always succeeds");
	cs_event_free(e);

	/* Non-syslog: the first s00 node fails (recorded), the second moves it on. */
	memset(&r, 0, sizeof(r));
	e = run(p, "hello world", "nginx", &r);
	ASSERT_TRUE(e && !e->process, "no s01 node matched: dropped");
	ASSERT_STREQ(e ? strmap_get(e->parsed, "program") : NULL, "nginx", "program from label");
	ASSERT_EQ(r.n, 3, "syslog fail, non-syslog ok, sshd fail");
	ASSERT_TRUE(!r.ok[0] && r.ok[1] && !r.ok[2], "success flags");
	cs_event_free(e);
}

static void test_whitelists(struct cs_parsers *p)
{
	static const struct {
		const char *ip, *user;
		bool wl;
	} cases[] = {
		{ "10.1.2.3", "x", true },	   { "11.1.2.3", "x", false },
		{ "198.51.100.7", "x", true },	   { "198.51.100.8", "x", false },
		{ "192.168.200.1", "x", true },	   /* cidr with host bits, masked */
		{ "2001:db8::5", "x", true },	   { "::1", "x", true },
		{ "::ffff:10.1.2.3", "x", false }, /* %{IP} captures only "::ffff:10" */
		{ "35.1.1.1", "trusted", true },   /* expression */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char line[256];
		struct rec r = { 0 };
		struct cs_event *e;

		snprintf(line, sizeof(line),
			 "Feb 12 14:10:21 h sshd[1]: Accepted password for %s from %s", cases[i].user,
			 cases[i].ip);
		e = run(p, line, "syslog", &r);
		if (!e)
			continue;
		ASSERT_EQ(e->whitelisted, cases[i].wl, cases[i].ip);
		ASSERT_STREQ(e->whitelist_reason, cases[i].wl ? "private" : "", cases[i].ip);
		ASSERT_STREQ(strmap_get(e->meta, "wl_static"), cases[i].wl ? "applied" : NULL,
			     cases[i].ip);
		ASSERT_TRUE(e->process, "whitelisted events still go through");
		cs_event_free(e);
	}
}

/* Spec 3.3/3.4: last child decides, no rollback, sub-node next_stage, injection, drops. */
static void test_stage_rules(void)
{
	static const char *a = "name: t/a\n"
			       "nodes:\n"
			       "  - grok: {pattern: 'Invalid user %{WORD:u1}', apply_on: Line.Raw}\n"
			       "  - grok: {pattern: 'nomatch %{WORD:u2}', apply_on: Line.Raw}\n"
			       "statics: [{meta: parent_static, value: x}]\n";
	static const char *b = "name: t/b\n"
			       "nodes:\n"
			       "  - filter: \"evt.Parsed.u1 == 'pascal'\"\n"
			       "    onsuccess: next_stage\n"
			       "    statics: [{meta: child, value: moved}]\n";
	static const char *c = "name: t/c\nstatics: [{meta: c, value: ran}]\n";
	static const char *d = "name: t/d\nfilter: \"evt.Meta.child == 'moved'\"\n"
			       "statics: [{meta: d, value: ok}]\n";
	static const char *e = "name: t/e\nstatics: [{meta: e, value: ran}]\n";
	struct cs_parsers *p = NULL;
	struct cs_event *evt;
	struct rec r = { 0 };

	if (!ASSERT_OK(cs_parsers_new(NULL, &p), "new"))
		return;
	if (!ASSERT_OK(cs_parsers_load_string(p, "s00-raw", "c.yaml", c), "c") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s00-raw", "a.yaml", a), "a") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s00-raw", "b.yaml", b), "b") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s01-parse", "d.yaml", d), "d") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s02-enrich", "e.yaml", e), "e"))
		goto out;
	evt = run(p, "Invalid user pascal from 1.2.3.4", "syslog", &r);
	if (evt) {
		ASSERT_EQ(r.n, 3, "a, b, d recorded; c skipped after the move");
		ASSERT_STREQ(r.names[0], "s00-raw/t/a", "sorted by file name: a first");
		ASSERT_TRUE(!r.ok[0], "a: last child failed");
		ASSERT_STREQ(strmap_get(evt->parsed, "u1"), "pascal", "no rollback of u1");
		ASSERT_TRUE(!strmap_has(evt->meta, "parent_static"), "failed node: no statics");
		ASSERT_TRUE(r.ok[1], "b: child succeeded");
		ASSERT_TRUE(!strmap_has(evt->meta, "c"), "c never ran");
		ASSERT_STREQ(r.names[2], "s01-parse/t/d", "d ran in s01");
		ASSERT_STREQ(strmap_get(evt->meta, "d"), "ok", "d statics");
		ASSERT_TRUE(!strmap_has(evt->meta, "e"), "s01 did not move on: s02 not run");
		ASSERT_TRUE(!evt->process, "dropped");
		cs_event_free(evt);
	}
	/* Acquisition must name its module. */
	if (ASSERT_OK(cs_event_new(&evt), "event")) {
		enum log_level lvl = log_get_level();

		log_set_level(LOG_LVL_FATAL);
		ASSERT_OK(cs_event_set_line(evt, "x", 1, "src", "", "syslog"), "line");
		ASSERT_EQ(cs_parse(p, evt, NULL, NULL), -EINVAL, "no Line.Module: rejected");
		log_set_level(lvl);
		cs_event_free(evt);
	}
	/* An event injected at s01 skips s00. */
	memset(&r, 0, sizeof(r));
	if (ASSERT_OK(cs_event_new(&evt), "event")) {
		ASSERT_OK(cs_event_set_line(evt, "x", 1, "src", "file", "syslog"), "line");
		ASSERT_OK(cs_event_set_str(&evt->stage, "s01-parse"), "stage");
		ASSERT_OK(cs_parse(p, evt, observe, &r), "parse");
		ASSERT_EQ(r.n, 1, "only d tried");
		ASSERT_STREQ(r.names[0], "s01-parse/t/d", "d");
		ASSERT_TRUE(!evt->process, "d failed: dropped");
		cs_event_free(evt);
	}
out:
	cs_parsers_free(p);
}

/* A `target: evt.Stage` static moves the event as next_stage does; both together add up. */
static void test_stage_target(void)
{
	static const char *jump = "name: t/jump\nstatics: [{target: evt.Stage, value: s02-enrich}]\n";
	static const char *step = "name: t/step\nonsuccess: next_stage\n"
				  "statics: [{target: Stage, value: s01-parse}]\n";
	static const char *s01 = "name: t/s01\nstatics: [{meta: s01, value: ran}]\n";
	static const char *s02 = "name: t/s02\nstatics: [{meta: s02, value: ran}]\n";
	const char *first[] = { jump, step };

	for (size_t i = 0; i < 2; i++) {
		struct cs_parsers *p = NULL;
		struct cs_event *evt = NULL;

		if (!ASSERT_OK(cs_parsers_new(NULL, &p), "new") ||
		    !ASSERT_OK(cs_parsers_load_string(p, "s00-raw", "a.yaml", first[i]), "s00") ||
		    !ASSERT_OK(cs_parsers_load_string(p, "s01-parse", "b.yaml", s01), "s01") ||
		    !ASSERT_OK(cs_parsers_load_string(p, "s02-enrich", "c.yaml", s02), "s02") ||
		    !ASSERT_OK(cs_event_new(&evt), "event")) {
			cs_parsers_free(p);
			return;
		}
		ASSERT_OK(cs_event_set_line(evt, "x", 1, "src", "file", "syslog"), "line");
		ASSERT_OK(cs_parse(p, evt, NULL, NULL), "parse");
		ASSERT_TRUE(!strmap_has(evt->meta, "s01"), "s01 skipped");
		ASSERT_STREQ(strmap_get(evt->meta, "s02"), "ran", "s02 ran");
		ASSERT_TRUE(evt->process, "through every stage");
		cs_event_free(evt);
		cs_parsers_free(p);
	}
}

/*
 * Statics whose expression only reads a field are copied without the evaluator:
 * the same values as evaluated (bytes past a NUL, "" for an absent key, the
 * static skipped on ""), also when a static sets the very field it reads.
 */
static void test_field_statics(void)
{
	static const char *y =
		"name: t/fields\n"
		"statics:\n"
		"  - parsed: p1\n    value: one\n"
		"  - parsed: p2\n    expression: evt.Parsed.p1\n"
		"  - meta: raw\n    expression: evt.Line.Raw\n"
		"  - meta: src\n    expression: evt.Line.Src\n"
		"  - meta: module\n    expression: evt.Line.Module\n"
		"  - meta: absent\n    expression: evt.Parsed.nothing\n"
		"  - meta: m\n    value: kept\n"
		"  - meta: m\n    expression: evt.Meta.m\n"
		"  - meta: m\n    expression: evt.Meta.nothing\n"
		"  - target: evt.StrTime\n    expression: evt.Line.Src\n"
		"  - target: evt.StrTime\n    expression: evt.StrTime\n"
		"  - target: evt.Parsed.p1\n    expression: evt.Parsed.p1\n"
		"  - enriched: st\n    expression: evt.StrTime\n"
		"  - enriched: stage\n    expression: evt.Stage\n"
		"  - enriched: upper\n    expression: Upper(evt.Parsed.p1)\n";
	static const char line[] = "a\0b";
	struct cs_parsers *p = NULL;
	struct cs_event *evt = NULL;
	const char *v;
	size_t len;

	if (!ASSERT_OK(cs_parsers_new(NULL, &p), "new") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s00-raw", "f.yaml", y), "load") ||
	    !ASSERT_OK(cs_event_new(&evt), "event"))
		goto out;
	ASSERT_OK(cs_event_set_line(evt, line, sizeof(line) - 1, "/var/log/x.log", "file", "x"),
		  "line");
	if (!ASSERT_OK(cs_parse(p, evt, NULL, NULL), "parse"))
		goto out;
	ASSERT_STREQ(strmap_get(evt->parsed, "p2"), "one", "Parsed to Parsed");
	v = strmap_getn(evt->meta, "raw", &len);
	ASSERT_TRUE(v && len == 3 && !memcmp(v, line, 3), "Line.Raw past its NUL");
	ASSERT_STREQ(strmap_get(evt->meta, "src"), "/var/log/x.log", "Line.Src");
	ASSERT_STREQ(strmap_get(evt->meta, "module"), "file", "Line.Module");
	ASSERT_TRUE(!strmap_has(evt->meta, "absent"), "an absent key sets nothing");
	ASSERT_STREQ(strmap_get(evt->meta, "m"), "kept", "a key set from itself");
	ASSERT_STREQ(evt->str_time, "/var/log/x.log", "a target set from itself");
	ASSERT_STREQ(strmap_get(evt->parsed, "p1"), "one", "a map target set from itself");
	ASSERT_STREQ(strmap_get(evt->enriched, "st"), "/var/log/x.log", "StrTime");
	ASSERT_STREQ(strmap_get(evt->enriched, "stage"), "s00-raw", "Stage");
	ASSERT_STREQ(strmap_get(evt->enriched, "upper"), "ONE", "evaluated");
out:
	cs_event_free(evt);
	cs_parsers_free(p);
}

/* `set` in s00-raw, then a node per filter in s01-parse: Meta.gNN is set when filter NN passes. */
static struct cs_parsers *filter_parsers(const char *set, const char *const *filters, size_t n)
{
	struct cs_parsers *p = NULL;
	char name[32], yaml[320];

	if (!ASSERT_OK(cs_parsers_new(NULL, &p), "new") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s00-raw", "set.yaml", set), "set"))
		goto err;
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "g%02zu.yaml", i);
		snprintf(yaml, sizeof(yaml),
			 "name: t/g%02zu\nfilter: \"%s\"\nstatics: [{meta: g%02zu, value: ok}]\n", i,
			 filters[i], i);
		if (!ASSERT_OK(cs_parsers_load_string(p, "s01-parse", name, yaml), yaml))
			goto err;
	}
	return p;
err:
	cs_parsers_free(p);
	return NULL;
}

/* Did filter i of filter_parsers() pass on evt? */
static bool filter_passed(const struct cs_event *evt, size_t i)
{
	char key[8];

	snprintf(key, sizeof(key), "g%02zu", i);
	return strmap_has(evt->meta, key);
}

/* A file line of Labels.type `type` through p; NULL (said) on failure. */
static struct cs_event *parse_line(struct cs_parsers *p, const char *line, const char *type)
{
	struct cs_event *evt = NULL;

	if (!ASSERT_OK(cs_event_new(&evt), "event"))
		return NULL;
	ASSERT_OK(cs_event_set_line(evt, line, strlen(line), "/l", "file", type), "line");
	ASSERT_OK(cs_parse(p, evt, NULL, NULL), "parse");
	return evt;
}

/*
 * Groks that read the same Parsed key in turn see what the one before wrote to
 * it (the key's read is kept between groks until the map changes), on one event
 * and on the next one parsed by the same thread.
 */
static void test_grok_reads_after_write(void)
{
	static const char *set = "name: t/set\nonsuccess: next_stage\nstatics:\n"
				 "  - parsed: req\n    expression: evt.Line.Raw\n";
	static const char *split =
		"name: t/split\nnodes:\n"
		"  - grok:\n      pattern: 'nomatch %{WORD:x}'\n      apply_on: req\n"
		"  - grok:\n      pattern: '^%{NOTSPACE:req}\\?%{GREEDYDATA:args}$'\n"
		"      apply_on: req\n"
		"  - grok:\n      pattern: '^/%{WORD:first}'\n      apply_on: req\n";
	static const struct {
		const char *line, *req, *first;
	} cases[] = {
		{ "/a/b?c=d", "/a/b", "a" },
		{ "/zz?q", "/zz", "zz" },
		{ "/plain", "/plain", "plain" },
	};
	struct cs_parsers *p = NULL;

	if (!ASSERT_OK(cs_parsers_new(NULL, &p), "new") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s00-raw", "set.yaml", set), "set") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s01-parse", "split.yaml", split), "split")) {
		cs_parsers_free(p);
		return;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cs_event *evt = parse_line(p, cases[i].line, "t");

		if (!evt)
			continue;
		ASSERT_STREQ(strmap_get(evt->parsed, "req"), cases[i].req, cases[i].line);
		ASSERT_STREQ(strmap_get(evt->parsed, "first"), cases[i].first, cases[i].line);
		cs_event_free(evt);
	}
	cs_parsers_free(p);
}

/* Filters that start with `evt.X.KEY == 'lit'` are first decided by reading the field. */
static void test_guarded_filters(void)
{
	static const char *set = "name: t/set\nonsuccess: next_stage\nstatics:\n"
				 "  - parsed: p\n    expression: Split(evt.Line.Raw, ' ')[0]\n"
				 "  - parsed: q\n    expression: Split(evt.Line.Raw, ' ')[1]\n";
	static const char *const filters[] = {
		"evt.Parsed.p == 'a'",
		"evt.Parsed.p in ['b', 'a'] && evt.Parsed.q == 'c'",
		"evt.Parsed.missing in ['', 'z']",
		"evt.Line.Src == '/l'",
		"evt.Parsed.p == 'a' && int(evt.Parsed.q) == 0",
	};
	static const struct {
		const char *line, *want;
	} cases[] = {
		{ "a c", "++++-" }, /* the last: int("c") fails, and so does the filter */
		{ "b c", "-+++-" },
		{ "b d", "--++-" },
		{ "z z", "--++-" },
	};
	struct cs_parsers *p = filter_parsers(set, filters, sizeof(filters) / sizeof(filters[0]));

	for (size_t c = 0; p && c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct cs_event *evt = parse_line(p, cases[c].line, "x");

		for (size_t i = 0; evt && i < sizeof(filters) / sizeof(filters[0]); i++) {
			char what[128];

			snprintf(what, sizeof(what), "'%s' on '%s'", filters[i], cases[c].line);
			ASSERT_EQ(filter_passed(evt, i), cases[c].want[i] == '+', what);
		}
		cs_event_free(evt);
	}
	cs_parsers_free(p);
}

/* Is filter i of filter_parsers() read straight from the event (a guard or a resolved test)? */
static bool decided_from_event(const struct cs_parsers *p, size_t i)
{
	char name[16];

	snprintf(name, sizeof(name), "t/g%02zu", i);
	for (size_t k = 0; k < p->ntops; k++) {
		const struct cs_node *n = &p->tops[k].node;

		if (n->name && !strcmp(n->name, name))
			return n->guard_path || n->test_path || n->test_key;
	}
	return false;
}

/*
 * Filters that are one test of a string field (expr_prog_test) are decided from
 * the event, not evaluated: each must give what the evaluator gives, which the
 * same test in an and-chain (always evaluated) says, on present, absent and
 * empty fields, labels and keys.
 */
static void test_field_tests(void)
{
	static const char *set = "name: t/set\nonsuccess: next_stage\nstatics:\n"
				 "  - parsed: p\n    expression: Split(evt.Line.Raw, ' ')[0]\n"
				 "  - parsed: q\n    expression: Split(evt.Line.Raw, ' ')[1]\n"
				 "  - target: evt.StrTime\n    expression: evt.Parsed.q\n";
	static const char *const filters[] = {
		"evt.Line.Labels.type == 'x'",	     "evt.Line.Labels.type != 'x'",
		"evt.Line.Labels.type startsWith 'x'", "evt.Line.Labels.missing != 'x'",
		"evt.Line.Labels.missing == ''",     "evt.Line.Labels.missing startsWith ''",
		"evt.StrTime != ''",		     "evt.StrTime == 'c'",
		"evt.Line.Src startsWith '/'",	     "evt.Line.Module != 'file'",
		"evt.Parsed.p != 'a'",		     "evt.Parsed.missing != 'a'",
		"evt.Parsed.p startsWith 'a'",	     "evt.Parsed.q startsWith ''",
		"evt.Meta.missing startsWith 'a'",   "evt.Stage == 's01-parse'",
		"evt.Parsed.q != ''",
	};
	static const struct {
		const char *line, *type;
	} cases[] = { { "a c", "x" }, { "ab", "xy" }, { "b c", "" }, { "a ", "y" } };
	enum { NF = sizeof(filters) / sizeof(filters[0]) };
	char chained[NF][128];
	const char *all[2 * NF];
	struct cs_parsers *p;
	int decided = 0;

	/* filter NF + i: filter i in an and-chain, which is evaluated */
	for (size_t i = 0; i < NF; i++) {
		snprintf(chained[i], sizeof(chained[i]), "%s && evt.Line.Src == '/l'", filters[i]);
		all[i] = filters[i];
		all[NF + i] = chained[i];
	}
	p = filter_parsers(set, all, 2 * NF);
	/* else the comparison below would be the evaluator against itself */
	for (size_t i = 0; p && i < NF; i++)
		if (!ASSERT_TRUE(decided_from_event(p, i), filters[i]))
			fprintf(stderr, "  not decided from the event: %s\n", filters[i]);
	for (size_t c = 0; p && c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct cs_event *evt = parse_line(p, cases[c].line, cases[c].type);

		for (size_t i = 0; evt && i < NF; i++) {
			char what[160];

			snprintf(what, sizeof(what), "'%s' on '%s' (type '%s')", filters[i],
				 cases[c].line, cases[c].type);
			decided += filter_passed(evt, i);
			ASSERT_EQ(filter_passed(evt, i), filter_passed(evt, NF + i), what);
		}
		cs_event_free(evt);
	}
	/* some true, some false: the comparison means something */
	ASSERT_TRUE(decided > 10 && decided < 4 * NF - 10, "both outcomes seen");
	cs_parsers_free(p);
}

/* stash: a node stores, a later event reads it back with GetFromStash (spec 3.8). */
static void test_stash(void)
{
	static const char *st = "name: t/stash\n"
				"onsuccess: next_stage\n"
				"grok: {pattern: 'id=%{INT:id} (?:proc=%{WORD:proc})?', apply_on: Line.Raw}\n"
				"stash:\n"
				"  - name: procs\n"
				"    key: evt.Parsed.id\n"
				"    value: evt.Parsed.proc\n"
				"    ttl: 1m\n"
				"    size: 2\n"
				"statics:\n"
				"  - meta: proc\n"
				"    expression: GetFromStash('procs', evt.Parsed.id)\n";
	struct cs_parsers *p = NULL;
	struct rec r = { 0 };

	if (!ASSERT_OK(cs_parsers_new(NULL, &p), "new") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s00-raw", "stash.yaml", st), "load"))
		goto out;
	expect_meta(p, "id=7 proc=sshd", "proc", "sshd", "stored then read");
	/* The second line stores "" over it (empty strings are still strings). */
	expect_meta(p, "id=7 ", "proc", NULL, "empty value skipped");
	cs_event_free(run(p, "id=8 proc=a", "x", &r));
	cs_event_free(run(p, "id=9 proc=b", "x", &r));
	expect_meta(p, "id=10 ", "proc", NULL, "unknown key: expression error, skipped");
out:
	cs_parsers_free(p);
}

static void test_stash_store(void)
{
	struct cs_stash *s = NULL;
	char *v = NULL;

	if (!ASSERT_OK(cs_stash_new(&s), "store"))
		return;
	ASSERT_OK(cs_stash_set(s, "c", 2, 60000000000LL, "a", "1"), "set a");
	ASSERT_OK(cs_stash_set(s, "c", 2, 60000000000LL, "b", "2"), "set b");
	ASSERT_OK(cs_stash_set(s, "c", 2, 60000000000LL, "a", "3"), "rewrite a (now newest)");
	ASSERT_OK(cs_stash_set(s, "c", 2, 60000000000LL, "c", "4"), "set c evicts b");
	ASSERT_EQ(cs_stash_get(s, "c", "b", &v), -ENOENT, "b evicted");
	if (ASSERT_OK(cs_stash_get(s, "c", "a", &v), "a kept"))
		ASSERT_STREQ(v, "3", "a rewritten");
	free(v);
	ASSERT_OK(cs_stash_set(s, "c", 2, 1, "d", "5"), "expires after 1 ns");
	ASSERT_EQ(cs_stash_get(s, "c", "d", &v), -ENOENT, "ttl");
	ASSERT_EQ(cs_stash_get(s, "other", "a", &v), -ENOENT, "caches are separate");
	cs_stash_free(s);
}

/*
 * One stash per parser: what SetInStash() writes in one node, GetFromStash() and
 * a `stash:` section see in another, and a second parser instance sees nothing.
 */
static void test_stash_shared(void)
{
	static const char *setter = "name: t/set\n"
				    "onsuccess: next_stage\n"
				    "filter: \"evt.Line.Raw startsWith 'set '\"\n"
				    "statics:\n"
				    "  - meta: set\n"
				    "    expression: \"SetInStash('c', 'k', 'from-helper') == nil ? 'yes' : 'no'\"\n"
				    "stash:\n"
				    "  - name: c\n"
				    "    key: \"'s'\"\n"
				    "    value: \"'from-section'\"\n"
				    "    ttl: 1m\n";
	static const char *getter = "name: t/get\n"
				    "filter: \"evt.Line.Raw startsWith 'get '\"\n"
				    "statics:\n"
				    "  - meta: helper\n"
				    "    expression: GetFromStash('c', 'k')\n"
				    "  - meta: section\n"
				    "    expression: GetFromStash('c', 's')\n";
	struct cs_parsers *p = NULL, *p2 = NULL;

	if (!ASSERT_OK(cs_parsers_new(NULL, &p), "new") ||
	    !ASSERT_OK(cs_parsers_new(NULL, &p2), "new 2") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s00-raw", "set.yaml", setter), "load set") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s00-raw", "get.yaml", getter), "load get") ||
	    !ASSERT_OK(cs_parsers_load_string(p2, "s00-raw", "get.yaml", getter), "load get 2"))
		goto out;
	expect_meta(p, "set x", "set", "yes", "SetInStash ran");
	expect_meta(p, "get x", "helper", "from-helper",
		    "GetFromStash reads what SetInStash wrote in another node");
	expect_meta(p, "get x", "section", "from-section",
		    "GetFromStash reads what a stash: section wrote");
	expect_meta(p2, "get x", "helper", NULL, "another parser instance has its own stash");
	expect_meta(p2, "get x", "section", NULL, "another parser instance: no section value");
out:
	cs_parsers_free(p);
	cs_parsers_free(p2);
}

/* A stand-in for the bucket engine's RuntimeAlert. */
struct fake_ovf {
	const char *sources[2];
	bool whitelisted;
};

static const char *fake_get_meta(const void *o, const char *key)
{
	return !strcmp(key, "service") ? "ssh" : "";
}

static int fake_sources(const void *o, int (*fn)(const char *, void *), void *arg)
{
	const struct fake_ovf *f = o;

	for (int i = 0; i < 2 && f->sources[i]; i++) {
		int rc = fn(f->sources[i], arg);

		if (rc)
			return rc;
	}
	return 0;
}

static void fake_set_wl(void *o)
{
	((struct fake_ovf *)o)->whitelisted = true;
}

static const struct cs_overflow_ops fake_ops = {
	.get_meta = fake_get_meta,
	.for_each_source = fake_sources,
	.set_whitelisted = fake_set_wl,
};

/* Postoverflow whitelists see the overflow's sources (spec 3.3 step 2, section 7). */
static void test_overflow_whitelist(void)
{
	static const char *wl = "name: t/po-wl\n"
				"filter: evt.GetType() == 'overflow' && evt.GetMeta('service') == 'ssh'\n"
				"whitelist:\n"
				"  reason: po\n"
				"  cidr: ['192.0.2.0/24']\n";
	struct fake_ovf f = { { "198.51.100.1", "192.0.2.9" }, false };
	struct cs_parsers *p = NULL;
	struct cs_event *e = NULL;

	if (!ASSERT_OK(cs_parsers_new(NULL, &p), "new") ||
	    !ASSERT_OK(cs_parsers_load_string(p, "s01-whitelist", "wl.yaml", wl), "load") ||
	    !ASSERT_OK(cs_event_new(&e), "event"))
		goto out;
	e->type = CS_EVT_OVFLW;
	e->overflow = &f;
	e->overflow_ops = &fake_ops;
	ASSERT_OK(cs_parse(p, e, NULL, NULL), "parse");
	ASSERT_TRUE(e->whitelisted && f.whitelisted, "second source whitelisted");
	ASSERT_STREQ(e->whitelist_reason, "po", "reason");
	ASSERT_TRUE(e->process, "postoverflow stage passed");
	e->overflow = NULL; /* not ours to free */
out:
	cs_event_free(e);
	cs_parsers_free(p);
}

/* Mutated and over-long lines: never an error, never a crash, bounded time. */
static void test_hostile_lines(struct cs_parsers *p)
{
	const char *seed = "Feb 12 14:10:21 host1 sshd[42]: Invalid user pascal from 35.188.49.176";
	size_t slen = strlen(seed), big = CS_LINE_MAX + 1000;
	char *buf = malloc(big);
	unsigned int rnd = 12345;
	struct timespec a, b;
	int bad = 0;

	if (!ASSERT_TRUE(buf != NULL, "alloc"))
		return;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 500; i++) {
		struct cs_event *e = NULL;
		size_t len = slen;

		memcpy(buf, seed, slen);
		for (int k = 0; k < i % 6; k++) {
			rnd = rnd * 1103515245 + 12345;
			buf[(rnd >> 8) % slen] = (char)(rnd >> 16);
		}
		if (i % 100 == 99) {
			len = big; /* over the bound: cut, then parsed */
			for (size_t k = 0; k < len; k++)
				buf[k] = " a:[1]\"/."[(k * 7 + i) % 9];
		}
		if (cs_event_new(&e) || cs_event_set_line(e, buf, len, "src", "file", "syslog") ||
		    cs_parse(p, e, NULL, NULL) || e->line.raw_len > CS_LINE_MAX)
			bad++;
		cs_event_free(e);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	free(buf);
	ASSERT_EQ(bad, 0, "hostile lines parse without error");
	ASSERT_TRUE(b.tv_sec - a.tv_sec < 20, "bounded time");
}

static char last_error[1024];

static int load_bad(const char *yaml)
{
	struct cs_parsers *p = NULL;
	int err;

	if (cs_parsers_new(NULL, &p))
		return -ENOMEM;
	err = cs_parsers_load_string(p, "s01-parse", "bad.yaml", yaml);
	snprintf(last_error, sizeof(last_error), "%s", cs_parsers_last_error(p));
	cs_parsers_free(p);
	return err;
}

static void test_load_errors(void)
{
	enum log_level lvl = log_get_level();

	log_set_level(LOG_LVL_FATAL); /* the errors below are expected */
	ASSERT_EQ(load_bad("name: x\nfilter: 1 ==\nstatics: [{meta: a, value: b}]\n"), -EINVAL,
		  "bad filter");
	ASSERT_EQ(load_bad("name: x\nbogus: 1\nstatics: [{meta: a, value: b}]\n"), -EINVAL,
		  "unknown key");
	ASSERT_TRUE(!strncmp(last_error, "bad.yaml:1: unknown key 'bogus'", 31), "error names file:line");
	ASSERT_EQ(load_bad("name: x\nstatics:\n  - meta: a\n    expression: evt.Nope\n"), -EINVAL,
		  "unknown Event field is a compile error");
	ASSERT_TRUE(!strncmp(last_error, "bad.yaml:4:", 11), "expression error names its line");
	ASSERT_EQ(load_bad("name: x\nonsuccess: later\nstatics: [{meta: a, value: b}]\n"), -EINVAL,
		  "bad onsuccess");
	ASSERT_EQ(load_bad("name: x\ngrok:\n  pattern: '%{NOPE:x}'\n  apply_on: Line.Raw\n"), -EINVAL,
		  "unknown grok pattern");
	ASSERT_EQ(load_bad("name: x\nstatics: [{meta: a}]\n"), -EINVAL, "static without source");
	ASSERT_EQ(load_bad("name: x\nwhitelist:\n  reason: r\n  cidr: ['10.0.0.0/99']\n"), -EINVAL,
		  "bad cidr");
	/* a list key given twice once wrote past the first list (fuzzing) */
	ASSERT_EQ(load_bad("name: x\nwhitelist:\n  reason: r\n  ip: ['::1']\n  ip: ['::1', '::2']\n"),
		  -EINVAL, "whitelist ip given twice");
	ASSERT_TRUE(strstr(last_error, "already set") != NULL, "twice: named");
	ASSERT_EQ(load_bad("name: x\nwhitelist:\n  reason: r\n  expression: ['true']\n"
			   "  expression: ['true', 'false']\n"), -EINVAL, "whitelist expression twice");
	ASSERT_EQ(load_bad("name: x\n  statics: [\n"), -EINVAL, "YAML syntax");
	ASSERT_TRUE(!strncmp(last_error, "bad.yaml:2:", 11), "YAML error names its line");
	ASSERT_EQ(load_bad("name: x\n"), -EINVAL, "empty node");
	ASSERT_EQ(load_bad("name: x\nfilter: \"1 == 1\"\n"), -EINVAL, "filter-only node is empty");
	/* Documents without name/description/author are skipped, not errors. */
	ASSERT_OK(load_bad("---\n# just a comment\n---\n"), "comment-only documents");
	log_set_level(lvl);
}

static void test_event(void)
{
	struct cs_event *e = NULL, *d = NULL;
	char *big;

	if (!ASSERT_OK(cs_event_new(&e), "new"))
		return;
	/* NUL and invalid UTF-8 pass through Line.Raw; \r\n is stripped. */
	ASSERT_OK(cs_event_set_line(e, "a\0b\xff\r\n", 6, "src", "file", "t"), "line with NUL");
	ASSERT_EQ(e->line.raw_len, 4, "raw_len");
	ASSERT_TRUE(!memcmp(e->line.raw, "a\0b\xff", 4), "bytes kept");
	ASSERT_STREQ(strmap_get(e->line.labels, "type"), "t", "label");
	ASSERT_OK(cs_event_dup(e, &d), "dup");
	ASSERT_TRUE(d && d->line.raw_len == 4 && !memcmp(d->line.raw, "a\0b\xff", 4), "dup keeps bytes");
	cs_event_free(d);
	/* Over-long lines are bounded. */
	big = malloc(CS_LINE_MAX + 100);
	memset(big, 'x', CS_LINE_MAX + 100);
	ASSERT_OK(cs_event_set_line(e, big, CS_LINE_MAX + 100, "src", "file", "t"), "long line");
	ASSERT_EQ(e->line.raw_len, CS_LINE_MAX, "cut");
	free(big);
	ASSERT_OK(cs_event_set_target(e, "evt.StrTime", "x", 1), "target StrTime");
	ASSERT_STREQ(e->str_time, "x", "StrTime");
	ASSERT_EQ(cs_event_set_target(e, "evt.Nope", "x", 1), -ENOENT, "unknown target");
	ASSERT_OK(cs_event_unmarshal_json(e, "{\"a\":{\"b\":1}}", 13), "json");
	ASSERT_EQ(cs_event_unmarshal_json(e, "[1]", 3), -EINVAL, "not an object");
	cs_event_free(e);
	cs_event_free(NULL);
}

/*
 * A target resolved at load sets what the same path set by name sets: every
 * field and map, with and without "evt.", a key cut at its first dot, Line.Raw's
 * length; the paths it cannot resolve are left to the name.
 */
static void test_event_targets(void)
{
	static const char *const paths[] = {
		"StrTime", "evt.StrTimeFormat", "MarshaledTime", "evt.WhitelistReason", "Stage",
		"Line.Src", "evt.Line.Module", "Line.Raw", "evt.Meta.a", "Parsed.b.c",
		"evt.Enriched.d", "Line.Labels.type", "evt.Meta.source_ip",
	};
	struct cs_event *a = NULL, *b = NULL;
	int differ = 0;

	if (!ASSERT_OK(cs_event_new(&a), "new") || !ASSERT_OK(cs_event_new(&b), "new")) {
		cs_event_free(a);
		return;
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		uintptr_t t = cs_event_target(paths[i]);
		char val[32];
		int n = snprintf(val, sizeof(val), "v%zu", i);

		memcpy(val + n, "\0x", 3); /* bytes past a NUL: only Line.Raw keeps them */
		n += 2;

		if (!ASSERT_TRUE(t != 0, paths[i]))
			continue;
		ASSERT_OK(cs_event_set_target(a, paths[i], val, (size_t)n), paths[i]);
		ASSERT_OK(cs_event_set_target_at(b, t, val, (size_t)n), paths[i]);
	}
	differ += strcmp(a->str_time, b->str_time) || strcmp(a->str_time_format, b->str_time_format) ||
		  strcmp(a->marshaled_time, b->marshaled_time) || strcmp(a->stage, b->stage) ||
		  strcmp(a->whitelist_reason, b->whitelist_reason) ||
		  strcmp(a->line.src, b->line.src) || strcmp(a->line.module, b->line.module) ||
		  a->line.raw_len != b->line.raw_len || memcmp(a->line.raw, b->line.raw, a->line.raw_len);
	ASSERT_EQ(differ, 0, "the string fields agree");
	ASSERT_TRUE(b->line.raw_len == 4 && !memcmp(b->line.raw, "v7\0x", 4), "Line.Raw's bytes");
	ASSERT_STREQ(strmap_get(b->parsed, "b"), "v9", "Parsed.b.c sets Parsed.b");
	ASSERT_TRUE(strmap_count(a->meta) == 2 && strmap_count(b->meta) == 2, "two Meta keys");
	ASSERT_STREQ(strmap_get(b->meta, "source_ip"), strmap_get(a->meta, "source_ip"), "Meta");
	ASSERT_STREQ(strmap_get(b->enriched, "d"), "v10", "Enriched");
	ASSERT_STREQ(strmap_get(b->line.labels, "type"), "v11", "Line.Labels");
	ASSERT_EQ(cs_event_target("evt.Nope"), 0, "no such field: by name");
	ASSERT_EQ(cs_event_target("Meta."), 0, "no key: by name");
	ASSERT_EQ(cs_event_target("evt.Overflow.Alert.Scenario"), 0, "the bucket engine's: by name");
	cs_event_free(a);
	cs_event_free(b);
}

/* cs_event_path() names a string field as evt.<field> or evt.Line.<key>, nothing else. */
static void test_event_paths(void)
{
	static const struct {
		const char *field, *key, *want; /* want NULL: not a string field */
	} cases[] = {
		{ "Stage", NULL, "s01" },     { "Line", "Src", "/l" },	  { "Line", "Raw", "raw" },
		{ "Line", NULL, NULL },	      { "Line.Src", NULL, NULL }, { "Stage", "x", NULL },
		{ "Line", "Src.x", NULL },    { "Lin", "Src", NULL },	  { "StrTimeX", NULL, NULL },
	};
	struct cs_event *e = NULL;

	if (!ASSERT_OK(cs_event_new(&e), "new"))
		return;
	ASSERT_OK(cs_event_set_line(e, "raw", 3, "/l", "file", "t"), "line");
	ASSERT_OK(cs_event_set_str(&e->stage, "s01"), "stage");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uintptr_t path = cs_event_path(cases[i].field, cases[i].key);
		const char *s = NULL;
		size_t len = 0;

		if (!cases[i].want) {
			ASSERT_EQ(path, 0, cases[i].field);
			continue;
		}
		if (ASSERT_TRUE(path != 0, cases[i].field) &&
		    ASSERT_OK(cs_event_path_read(e, path, &s, &len), cases[i].field))
			ASSERT_TRUE(len == strlen(cases[i].want) && !memcmp(s, cases[i].want, len),
				    cases[i].want);
	}
	cs_event_free(e);
}

/* A freed event comes back from the thread's pool as new as a new one. */
static void test_event_pool(void)
{
	struct cs_event *e = NULL, *f = NULL;
	uint64_t v;

	if (!ASSERT_OK(cs_event_new(&e), "new"))
		return;
	ASSERT_OK(cs_event_set_line(e, "raw line", 8, "src", "file", "t"), "line");
	ASSERT_OK(strmap_set(e->meta, "service", "http"), "meta");
	ASSERT_OK(strmap_set(e->parsed, "verb", "GET"), "parsed");
	ASSERT_OK(strmap_set(e->enriched, "x", "y"), "enriched");
	ASSERT_OK(cs_event_set_str(&e->stage, "s01-parse"), "stage");
	e->whitelisted = true;
	e->time.sec = 42;
	v = strmap_version(e->meta);
	cs_event_free(e);
	if (!ASSERT_OK(cs_event_new(&f), "new again"))
		return;
	ASSERT_TRUE(f == e, "from the pool");
	ASSERT_TRUE(!strmap_count(f->meta) && !strmap_count(f->parsed) &&
			    !strmap_count(f->enriched) && !strmap_count(f->line.labels),
		    "maps empty");
	ASSERT_TRUE(strmap_version(f->meta) != v, "new map version (no stale expr cache)");
	ASSERT_TRUE(!f->line.raw_len && !*f->line.raw && !*f->line.src && !*f->stage &&
			    !f->whitelisted && !f->time.sec && f->type == CS_EVT_LOG &&
			    f->unmarshaled.kind == EXPR_MAP && !expr_map_len(&f->unmarshaled),
		    "fields as new");
	/* an event with Unmarshaled keys is freed, not pooled */
	ASSERT_OK(cs_event_unmarshal_json(f, "{\"a\":1}", 7), "json");
	cs_event_free(f);
	if (ASSERT_OK(cs_event_new(&e), "new after json"))
		ASSERT_TRUE(!expr_map_len(&e->unmarshaled), "no Unmarshaled left");
	cs_event_free(e);
}

/*
 * The string fields keep their bytes whatever the length they grow or shrink
 * to (around the capacity's rounding and the pool's largest kept buffer),
 * when the new value is the field itself or a part of it, and across the pool.
 */
static void test_event_strings(void)
{
	static const size_t lens[] = { 0, 1, 30, 31, 32, 33, 63, 64, 65, 200, 511, 512, 513, 3000, 7 };
	char big[3101], want[3101], name[64];
	struct cs_event *e = NULL, *f = NULL;
	const char *fields[] = { "StrTime", "MarshaledTime", "Line.Src", "Line.Raw", "Stage" };

	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + i % 26);
	big[sizeof(big) - 1] = '\0';
	if (!ASSERT_OK(cs_event_new(&e), "new"))
		return;
	for (size_t f_i = 0; f_i < sizeof(fields) / sizeof(fields[0]); f_i++) {
		char **field = !strcmp(fields[f_i], "StrTime")	     ? &e->str_time :
			       !strcmp(fields[f_i], "MarshaledTime") ? &e->marshaled_time :
			       !strcmp(fields[f_i], "Line.Src")	     ? &e->line.src :
			       !strcmp(fields[f_i], "Line.Raw")	     ? &e->line.raw :
								       &e->stage;

		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			snprintf(name, sizeof(name), "%s of %zu bytes", fields[f_i], lens[i]);
			ASSERT_OK(cs_event_set_target(e, fields[f_i], big + i, lens[i]), name);
			memcpy(want, big + i, lens[i]);
			want[lens[i]] = '\0';
			ASSERT_STREQ(*field, want, name);
		}
		/* the field's own bytes (the last length is 7): shorter, in place */
		snprintf(name, sizeof(name), "%s from itself", fields[f_i]);
		memmove(want, want + 2, 3);
		want[3] = '\0';
		ASSERT_OK(cs_event_set_target(e, fields[f_i], *field + 2, 3), name);
		ASSERT_STREQ(*field, want, name);
	}
	ASSERT_OK(cs_event_set_line(e, big, 3000, "src", "file", "t"), "long line");
	ASSERT_EQ(e->line.raw_len, (size_t)3000, "long line kept");
	cs_event_free(e);
	if (!ASSERT_OK(cs_event_new(&f), "new again"))
		return;
	ASSERT_TRUE(!*f->line.raw && !*f->str_time && !*f->marshaled_time && !*f->stage &&
			    !*f->line.src,
		    "recycled fields empty");
	ASSERT_OK(cs_event_set_line(f, "short", 5, "src2", "file", "t"), "short line");
	ASSERT_STREQ(f->line.raw, "short", "recycled Raw");
	ASSERT_STREQ(f->line.src, "src2", "recycled Src");
	cs_event_free(f);
}

#define DEPOT_TEST_EVENTS 1200

static void *free_events(void *arg)
{
	struct cs_event **v = arg;

	for (int i = 0; i < DEPOT_TEST_EVENTS; i++)
		cs_event_free(v[i]);
	return NULL;
}

/*
 * Events one thread frees (a batch merged) go through the depot to another
 * thread's cs_event_new(): they come back empty whichever thread freed them.
 */
static void test_event_depot(void)
{
	static struct cs_event *v[DEPOT_TEST_EVENTS], *mine[DEPOT_TEST_EVENTS];
	pthread_t th;
	int made = 0, dirty = 0;

	for (int i = 0; i < DEPOT_TEST_EVENTS; i++)
		made += !cs_event_new(&v[i]) && !strmap_set(v[i]->meta, "k", "v") &&
			!cs_event_set_line(v[i], "line", 4, "src", "file", "t");
	if (!ASSERT_EQ(made, DEPOT_TEST_EVENTS, "events made") ||
	    !ASSERT_OK(pthread_create(&th, NULL, free_events, v), "freeing thread"))
		return;
	pthread_join(th, NULL);
	/* more than this thread's own pool could hold */
	for (int i = 0; i < DEPOT_TEST_EVENTS; i++) {
		if (cs_event_new(&mine[i])) {
			mine[i] = NULL;
			dirty++;
			continue;
		}
		dirty += strmap_count(mine[i]->meta) != 0 || strmap_count(mine[i]->line.labels) != 0 ||
			 mine[i]->line.raw_len != 0 || *mine[i]->line.raw;
	}
	ASSERT_EQ(dirty, 0, "events made after another thread freed 1200: all empty");
	for (int i = 0; i < DEPOT_TEST_EVENTS; i++)
		cs_event_free(mine[i]);
}

/* The Event as expressions see it (spec 1.1, 8.4): one bool expression per row. */
static void test_event_expr(void)
{
	static const char *const exprs[] = {
		"evt.GetType() == 'log' && evt.Type == 0",
		"evt.GetMeta('source_ip') == '192.0.2.1' && evt.Meta.source_ip == '192.0.2.1'",
		"evt.Meta.absent == '' && evt.GetMeta('absent') == ''",
		"'source_ip' in evt.Meta && !('absent' in evt.Meta)",
		"len(evt.Meta) == 1 && evt.Meta['source_ip'] startsWith '192.'",
		"evt.Line.Raw == 'raw line' && evt.Line.Labels.type == 'syslog' && evt.Line.Module == 'file'",
		"evt.Unmarshaled.j.k == 'v' && evt.Unmarshaled.j.n == 2 && evt.Unmarshaled.nope == nil",
		"evt.Unmarshaled.nope?.deeper == nil",
		"evt.SetMeta('added', 'yes') && evt.Meta.added == 'yes'",
		"evt.SetParsed('p', 'q') && evt.Parsed.p == 'q'",
		/* a field read again after the map changed gives the new bytes, the same bytes again */
		"evt.Meta.source_ip == '192.0.2.1' && evt.SetMeta('source_ip', '192.0.2.9') && "
		"evt.Meta.source_ip == '192.0.2.9' && evt.SetMeta('source_ip', '192.0.2.1') && "
		"evt.Meta.source_ip == '192.0.2.1' && evt.Meta['source_ip'] == '192.0.2.1'",
		"evt.Enriched.e == '' && evt.SetParsed('e', 'x') && evt.Enriched.e == '' && evt.Parsed.e == 'x'",
		"evt.ParseIPSources() == ['192.0.2.1']",
		"evt.Whitelisted == false && evt.WhitelistReason == '' && evt.StrTime == ''",
		"evt.Overflow == nil && evt.Process == true && evt.Stage == ''",
		"UnmarshalJSON('{\"a\": [1, \"x\"]}', evt.Unmarshaled, 'u') in ['', nil] && evt.Unmarshaled.u.a[1] == 'x'",
	};
	struct cs_parsers *p = NULL;
	struct cs_event *evt = NULL;

	if (!ASSERT_OK(cs_parsers_new(NULL, &p), "new") || !ASSERT_OK(cs_event_new(&evt), "evt"))
		goto out;
	ASSERT_OK(cs_event_set_line(evt, "raw line", 8, "src", "file", "syslog"), "line");
	ASSERT_OK(strmap_set(evt->meta, "source_ip", "192.0.2.1"), "meta");
	{
		const char *j = "{\"j\": {\"k\": \"v\", \"n\": 2}}";

		ASSERT_OK(cs_event_unmarshal_json(evt, j, strlen(j)), "json");
	}
	for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		struct expr_value vars[1] = { cs_event_value(evt) };
		struct expr_prog *prog = NULL;
		struct expr_error e = { 0 };
		bool ok = false;
		int err = expr_compile(cs_parsers_env(p), exprs[i], &prog, &e);

		if (!err)
			err = expr_eval_bool(prog, vars, NULL, &ok, &e);
		if (err)
			fprintf(stderr, "%s: %s\n", exprs[i], e.msg);
		ASSERT_TRUE(!err && ok, exprs[i]);
		expr_prog_free(prog);
	}
	/* Unknown fields are compile errors; member access on nil is a run-time error. */
	{
		struct expr_prog *prog = NULL;
		struct expr_value vars[1] = { cs_event_value(evt) };
		bool ok;

		ASSERT_EQ(expr_compile(cs_parsers_env(p), "evt.Nope == ''", &prog, NULL), -EINVAL,
			  "unknown field");
		if (ASSERT_OK(expr_compile(cs_parsers_env(p), "evt.Unmarshaled.nope.deeper == nil", &prog,
					   NULL),
			      "compiles"))
			ASSERT_TRUE(expr_eval_bool(prog, vars, NULL, &ok, NULL) < 0, "nil member access");
		expr_prog_free(prog);
	}
out:
	cs_event_free(evt);
	cs_parsers_free(p);
}

/* models.Source as both the detector's overflows and profile filters show it. */
static void test_source_expr(void)
{
	static const struct {
		struct cs_source src;
		const char *expr, *want;
	} cases[] = {
		{ { .as_number = "64500", .as_name = "Example" }, "s.GetAsNumberName()",
		  "64500 Example" },
		{ { .as_number = "64500" }, "s.GetAsNumberName()", "64500" },
		{ { .as_name = "Example" }, "s.GetAsNumberName()", "Example" },
		{ { .scope = "Ip", .value = "198.18.0.1" }, "s.GetScope() + ' ' + s.GetValue()",
		  "Ip 198.18.0.1" },
		{ { .cn = "FR", .range = "198.18.0.0/15" }, "s.Cn + ' ' + s.Range + s.IP + s.Scope",
		  "FR 198.18.0.0/15" },
		{ { .lat = 48.5, .lon = -2.25 }, "Sprintf('%v %v', s.Latitude, s.Longitude)",
		  "48.5 -2.25" },
	};
	struct expr_env *env = expr_env_new();

	if (!ASSERT_TRUE(env && expr_env_add_var(env, "s", &cs_source_expr_type) == 0, "env") ||
	    !ASSERT_OK(expr_env_add_helpers(env, EXPR_HELPERS_CROWDSEC), "helpers"))
		goto out;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct expr_value var = expr_host(&cs_source_expr_ops, (void *)&cases[i].src), v;
		struct expr_prog *prog = NULL;
		struct expr_error e = { 0 };

		if (ASSERT_OK(expr_compile(env, cases[i].expr, &prog, &e), cases[i].expr) &&
		    ASSERT_OK(expr_eval(prog, &var, NULL, &v, &e), cases[i].expr)) {
			ASSERT_STREQ(expr_str_cstr(&v), cases[i].want, cases[i].expr);
			expr_value_release(&v);
		}
		expr_prog_free(prog);
	}
	{
		struct expr_prog *prog = NULL;
		struct expr_error e = { 0 };

		ASSERT_TRUE(expr_compile(env, "s.Nope", &prog, &e) < 0, "unknown field: compile error");
		expr_prog_free(prog);
	}
out:
	expr_env_free(env);
}

int main(void)
{
	struct cs_parsers *p;

	setenv("TZ", "UTC", 1);
	tzset();
	test_event();
	test_event_targets();
	test_event_paths();
	test_event_pool();
	test_event_strings();
	test_event_depot();
	test_event_expr();
	test_load_errors();
	test_stage_rules();
	test_field_statics();
	test_grok_reads_after_write();
	test_guarded_filters();
	test_field_tests();
	test_stage_target();
	test_stash();
	test_stash_store();
	test_stash_shared();
	test_overflow_whitelist();
	test_source_expr();
	p = load_all();
	if (p) {
		test_pipeline(p);
		test_whitelists(p);
		test_hostile_lines(p);
	}
	cs_parsers_free(p);
	expr_cleanup();
	return TEST_SUMMARY();
}
