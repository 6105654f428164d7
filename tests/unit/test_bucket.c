// SPDX-License-Identifier: MIT
/*
 * The bucket engine on hand-made events: token bucket arithmetic on event
 * time, every bucket type and processor, the alert, the memory bounds.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bucket/bucket.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/strmap.h"
#include "expr/expr.h"
#include "metrics/metrics.h"
#include "../lib/test.h"

/* Everything the callbacks saw. */
struct sink {
	struct cs_event *ovf[64];
	int n, nalerts;
	json_t *last_json;
};

static int on_overflow(const struct cs_event *ovf, void *arg)
{
	struct sink *s = arg;

	if (s->n < 64 && cs_event_dup(ovf, &s->ovf[s->n]))
		return -ENOMEM;
	s->n++;
	return 0;
}

static int on_alert(json_t *alerts, void *arg)
{
	struct sink *s = arg;

	s->nalerts++;
	json_decref(s->last_json);
	s->last_json = json_incref(alerts);
	return 0;
}

static void sink_reset(struct sink *s)
{
	for (int i = 0; i < s->n && i < 64; i++)
		cs_event_free(s->ovf[i]);
	json_decref(s->last_json);
	memset(s, 0, sizeof(*s));
}

static struct cs_time live_now;

static void fake_clock(struct cs_time *now, void *arg)
{
	*now = live_now;
}

static struct cs_buckets *engine(struct sink *s, enum cs_bucket_mode mode, const char *yaml,
				 size_t max_buckets)
{
	struct cs_bucket_opts o = { .mode = mode, .clock = fake_clock, .on_overflow = on_overflow,
				    .on_alert = on_alert, .arg = s, .max_buckets = max_buckets };
	struct cs_buckets *b = NULL;

	memset(s, 0, sizeof(*s));
	if (!ASSERT_OK(cs_buckets_new(&o, &b), "engine"))
		return NULL;
	if (!ASSERT_OK(cs_buckets_load_string(b, "t.yaml", yaml), "load")) {
		fprintf(stderr, "  %s\n", cs_buckets_last_error(b));
		cs_buckets_free(b);
		return NULL;
	}
	return b;
}

/*
 * A test that runs on a fresh engine loaded from yaml and its sink: the table
 * before main() says which engine, run_engine_tests() makes it and frees both.
 */
struct engine_test {
	void (*run)(struct cs_buckets *b, struct sink *s);
	enum cs_bucket_mode mode;
	const char *yaml;
	size_t max_buckets;
};

static void run_engine_tests(const struct engine_test *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sink s;
		struct cs_buckets *b = engine(&s, t[i].mode, t[i].yaml, t[i].max_buckets);

		if (!b)
			continue;
		t[i].run(b, &s);
		cs_buckets_free(b);
		sink_reset(&s);
	}
}

/* A parsed log event: source_ip, log time "2026-01-01T00:00:<sec>Z"-style offset in ms. */
static int pour(struct cs_buckets *b, const char *ip, long ms, const char *k, const char *v)
{
	struct cs_event *e = NULL;
	struct cs_time t = { .sec = 1767225600 + ms / 1000, .nsec = (int32_t)(ms % 1000) * 1000000 };
	char ts[CS_TIME_STRLEN];
	int err;

	if (cs_event_new(&e))
		return -ENOMEM;
	cs_time_format(&t, ts, sizeof(ts));
	err = cs_event_set_str(&e->marshaled_time, ts);
	err = err ?: strmap_set(e->meta, "source_ip", ip);
	err = err ?: strmap_set(e->meta, "log_type", "test");
	err = err ?: strmap_set(e->meta, "timestamp", ts);
	if (!err && k)
		err = strmap_set(e->meta, k, v);
	e->time = t;
	err = err ?: cs_buckets_pour(b, e);
	cs_event_free(e);
	return err;
}

/* An event of Meta source_ip ip at ms, and the overflows counted once it is poured. */
struct step {
	const char *ip;
	long ms;
	int overflows;
	const char *why;
};

static void pour_steps(struct cs_buckets *b, struct sink *s, const struct step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pour(b, steps[i].ip, steps[i].ms, NULL, NULL);
		ASSERT_EQ(s->n, steps[i].overflows, steps[i].why);
	}
}

/*
 * An event of log time ts (NULL: none) with the Meta and Enriched values of
 * meta and enriched (NULL-terminated lists of key, value; NULL: none), poured.
 */
static int pour_kv(struct cs_buckets *b, const char *ts, const char *const *meta,
		   const char *const *enriched)
{
	struct cs_event *e = NULL;
	int err = cs_event_new(&e);

	if (!err && ts)
		err = cs_event_set_str(&e->marshaled_time, ts);
	for (size_t i = 0; !err && meta && meta[i]; i += 2)
		err = strmap_set(e->meta, meta[i], meta[i + 1]);
	for (size_t i = 0; !err && enriched && enriched[i]; i += 2)
		err = strmap_set(e->enriched, enriched[i], enriched[i + 1]);
	err = err ?: cs_buckets_pour(b, e);
	cs_event_free(e);
	return err;
}

/* The scenarios of the overflows the sink holds, in order: "t/a t/b" (at most len bytes). */
static const char *overflow_scenarios(const struct sink *s, char *got, size_t len)
{
	got[0] = '\0';
	for (int i = 0; i < s->n && i < 64; i++)
		snprintf(got + strlen(got), len - strlen(got), "%s%s", i ? " " : "",
			 cs_overflow_scenario(s->ovf[i]));
	return got;
}

/* Evaluate a bool expression on overflow i (var `o` = the overflow event). */
static bool check(struct sink *s, int i, const char *src)
{
	struct expr_env *env = expr_env_new();
	struct expr_prog *p = NULL;
	struct expr_value v;
	struct expr_error e = { 0 };
	bool ok = false;

	if (i >= s->n || !env)
		goto out;
	expr_env_add_var(env, "o", &cs_event_expr_type);
	expr_env_add_helpers(env, EXPR_HELPERS_CROWDSEC);
	v = cs_event_value(s->ovf[i]);
	if (expr_compile(env, src, &p, &e) || expr_eval_bool(p, &v, NULL, &ok, &e))
		fprintf(stderr, "  %s: %s\n", src, e.msg);
out:
	expr_prog_free(p);
	expr_env_free(env);
	if (!ok)
		fprintf(stderr, "  check failed on overflow %d/%d: %s\n", i, s->n, src);
	return ok;
}

#define LEAKY_5_10S "type: leaky\nname: t/leaky\ndescription: d\n"                      \
		    "filter: evt.Meta.log_type == 'test'\ngroupby: evt.Meta.source_ip\n"      \
		    "capacity: 5\nleakspeed: 10s\nlabels:\n  remediation: true\n"

/*
 * Events of 192.0.2.1 at the offsets at[0..n) seconds: the first n - 1 fit, the
 * last overflows, and the overflow counts all n.
 */
static void overflow_on_last(struct cs_buckets *b, struct sink *s, const int *at, int n,
			     const char *what)
{
	char count[64];

	for (int i = 0; i < n - 1; i++)
		pour(b, "192.0.2.1", at[i] * 1000L, NULL, NULL);
	ASSERT_EQ(s->n, 0, what);
	pour(b, "192.0.2.1", at[n - 1] * 1000L, NULL, NULL);
	ASSERT_EQ(s->n, 1, what);
	snprintf(count, sizeof(count), "o.Overflow.Alert.GetEventsCount() == %d", n);
	ASSERT_TRUE(check(s, 0, count), what);
}

static const int at_once[6]; /* six events at the same instant */

/* capacity 5: the 6th simultaneous event overflows; all 6 are counted and kept. */
static void test_leaky_burst(struct cs_buckets *b, struct sink *s)
{
	overflow_on_last(b, s, at_once, 6, "capacity 5: the 6th overflows");
	ASSERT_EQ(s->nalerts, 1, "one alert sent");
	ASSERT_TRUE(check(s, 0, "len(o.Overflow.Alert.Events) == 6"), "queue kept 6");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.Leakspeed == '10s' && o.Overflow.Alert.Capacity == 5"),
		    "leakspeed/capacity");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.Remediation == true"), "remediation label");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Sources['192.0.2.1'].GetScope() == 'Ip' && "
				"o.Overflow.Sources['192.0.2.1'].IP == '192.0.2.1'"), "source");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.StartAt == '2026-01-01T00:00:00Z' && "
				"o.Overflow.Alert.StopAt == '2026-01-01T00:00:00Z'"), "start/stop");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.Message == \"Ip 192.0.2.1 performed 't/leaky' "
				"(6 events over 0s) at 2026-01-01 00:00:00 +0000 UTC\""), "message");
	ASSERT_TRUE(check(s, 0, "o.GetType() == 'overflow' && o.MarshaledTime == '2026-01-01T00:00:00Z'"),
		    "overflow event");
	/* upstream's BucketKey: sha1(filter \0 partition \0 name) in hex */
	ASSERT_TRUE(check(s, 0, "o.Overflow.Mapkey == '233338668563ea0960b029d1a0fc84e1ebc81931'"), "mapkey");
	/* the instance is gone: the next event starts a full bucket */
	pour(b, "192.0.2.1", 0, NULL, NULL);
	ASSERT_EQ(s->n, 1, "a fresh bucket after overflow");
}

/*
 * An event keeps up to 256 Meta keys: an alert listing events with more than
 * the 64 its stack array holds copies them all, without overrunning it.
 */
static void test_alert_event_many_meta(struct cs_buckets *b, struct sink *s)
{
	char k[16], v[16];
	int err = 0;

	for (int i = 0; i < 6 && !err; i++) {
		struct cs_event *e = NULL;

		err = cs_event_new(&e);
		err = err ?: cs_event_set_str(&e->marshaled_time, "2026-01-01T00:00:00Z");
		err = err ?: strmap_set(e->meta, "source_ip", "192.0.2.3");
		err = err ?: strmap_set(e->meta, "log_type", "test");
		for (int j = 0; j < 100 && !err; j++) {
			snprintf(k, sizeof(k), "k%03d", j);
			snprintf(v, sizeof(v), "v%d-%d", i, j);
			err = strmap_set(e->meta, k, v);
		}
		err = err ?: cs_buckets_pour(b, e);
		cs_event_free(e);
	}
	ASSERT_OK(err, "6 events with 102 Meta keys poured");
	ASSERT_EQ(s->n, 1, "the 6th overflows");
	ASSERT_TRUE(check(s, 0, "len(o.Overflow.Alert.Events) == 6 && "
				"all(o.Overflow.Alert.Events, {len(.Meta) == 102})"),
		    "every event lists its 102 Meta keys");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.Events[5].GetMeta('k099') == 'v5-99' && "
				"o.Overflow.Alert.Events[0].GetMeta('k000') == 'v0-0'"),
		    "the last key of the last event kept");
}

#define GUARD_SC(n, f) "---\ntype: trigger\nname: t/" n "\ndescription: d\nfilter: \"" f "\"\n" \
			  "groupby: evt.Meta.source_ip\n"

/*
 * Routing skips a scenario on its filter's first test (expr_prog_guard) read
 * straight from the map: the scenarios routed are those whose whole filter holds,
 * a missing key reading "" and a value with a NUL compared on all its bytes.
 */
static const char route_guard_yaml[] =
	GUARD_SC("kind-a", "evt.Meta.kind in ['a', ''] && evt.Meta.source_ip != ''")
	GUARD_SC("kind-b", "evt.Meta.kind == 'b'")
	GUARD_SC("get", "evt.Parsed.verb == 'GET' && evt.Meta.kind != 'b'")
	GUARD_SC("none", "evt.Meta.kind == 'a' || evt.Meta.kind == 'c'");

static void test_route_guard(struct cs_buckets *b, struct sink *s)
{
	static const struct { const char *kind; size_t klen; const char *verb; const char *want; } cases[] = {
		{ "a", 1, NULL, "0 3" },
		{ NULL, 0, NULL, "0" },	/* kind missing: "" is in the list */
		{ "b", 1, "GET", "1" },
		{ "a\0x", 3, NULL, "" },	/* not "a" */
		{ "c", 1, "GET", "2 3" },
		{ "", 0, "GETX", "0" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cs_route r = { 0 };
		struct cs_event *e = NULL;
		char got[64] = "";
		int err;

		if (!ASSERT_OK(cs_event_new(&e), "event"))
			break;
		err = strmap_set(e->meta, "source_ip", "192.0.2.1");
		if (!err && cases[i].kind)
			err = strmap_setn(e->meta, "kind", cases[i].kind, cases[i].klen);
		if (!err && cases[i].verb)
			err = strmap_set(e->parsed, "verb", cases[i].verb);
		err = err ?: cs_buckets_route(b, e, &r);
		for (size_t t = 0; !err && t < r.n; t++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u", t ? " " : "",
				 r.tg[t].sc);
		ASSERT_OK(err, "route");
		ASSERT_STREQ(got, cases[i].want, "scenarios routed");
		cs_route_clear(&r);
		cs_event_free(e);
	}
}

#define GROUP_SC(n, f, g) "---\ntype: trigger\nname: t/" n "\ndescription: d\nfilter: \"" f "\"\n" \
			     "groupby: " g "\n"

/*
 * Guards read a key once per event, again when a filter changed the map
 * (evt.SetMeta), and so does a filter that needs a key; a groupby that is a plain evt.<map>.<key> is read from the
 * map ("" when absent), as the evaluator reads it.
 */
static const char route_reads_yaml[] =
	GROUP_SC("a", "evt.Meta.kind == 'a'", "evt.Meta.source_ip")
	GROUP_SC("set", "evt.Meta.kind == 'a' && evt.SetMeta('kind', 'b')", "evt.Parsed.verb")
	GROUP_SC("b", "evt.Meta.kind == 'b'", "evt.Meta.missing")
	GROUP_SC("b2", "evt.Meta.kind in ['b']", "evt.Meta.source_ip + '/' + evt.Meta.kind")
	GROUP_SC("needs", "Upper(evt.Meta.kind) contains 'B'", "evt.Meta.source_ip")
	GROUP_SC("absent", "evt.Meta.missing contains 'x' && evt.Meta.kind == 'b'",
		 "evt.Meta.source_ip");

static void test_route_reads(struct cs_buckets *b, struct sink *s)
{
	struct cs_route r = { 0 };
	struct cs_event *e = NULL;
	char got[256] = "";
	int err;

	if (ASSERT_OK(cs_event_new(&e), "event")) {
		err = strmap_set(e->meta, "source_ip", "192.0.2.1");
		err = err ?: strmap_set(e->meta, "kind", "a");
		err = err ?: strmap_set(e->parsed, "verb", "GET");
		err = err ?: cs_buckets_route(b, e, &r);
		for (size_t t = 0; !err && t < r.n; t++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u=%s", t ? " " : "",
				 r.tg[t].sc, r.keys + r.tg[t].gkey);
		ASSERT_OK(err, "route");
		ASSERT_STREQ(got, "0=192.0.2.1 1=GET 2= 3=192.0.2.1/b 4=192.0.2.1",
			     "the guards see the key a filter set; path groupbys read the maps");
		cs_route_clear(&r);
		cs_event_free(e);
	}
}

/* The scenario indexes r routes to, "0 3 5" (at most len bytes). */
static void route_list(const struct cs_route *r, char *got, size_t len)
{
	got[0] = '\0';
	for (size_t t = 0; t < r->n; t++)
		snprintf(got + strlen(got), len - strlen(got), "%s%u", t ? " " : "", r->tg[t].sc);
}

/* Route an event of Meta kind and svc (NULL: absent) through b, into got. */
static int route_kind_svc(struct cs_buckets *b, const char *kind, const char *svc, char *got,
			  size_t len)
{
	struct cs_route r = { 0 };
	struct cs_event *e = NULL;
	int err = cs_event_new(&e);

	err = err ?: strmap_set(e->meta, "source_ip", "192.0.2.1");
	if (!err && kind)
		err = strmap_set(e->meta, "kind", kind);
	if (!err && svc)
		err = strmap_set(e->meta, "svc", svc);
	err = err ?: cs_buckets_route(b, e, &r);
	if (!err)
		route_list(&r, got, len);
	cs_route_clear(&r);
	cs_event_free(e);
	return err;
}

/*
 * Routing's index (one lookup per guard key, ANDed bit sets over the scenarios)
 * gives the scenarios a full walk gives, in order: over more than 64 scenarios,
 * after a filter's evt.SetMeta() changed a guard key (scenario 63, the last bit
 * of a word: every later scenario is looked at again), and after a second load.
 */
static void test_route_index(void)
{
	char *yaml = malloc(70 * 256), want[512], got[512];
	struct sink s;
	struct cs_buckets *b = NULL;
	size_t n = 0;

	if (!ASSERT_TRUE(yaml != NULL, "alloc"))
		return;
	yaml[0] = '\0';
	for (int i = 0; i < 70; i++) {
		static const char *const filters[] = {
			"evt.Meta.kind == 'a'",
			"evt.Meta.kind in ['b', 'a'] && evt.Meta.svc == 'x'",
			"evt.Meta.svc == 'x'",
		};
		const char *f = i == 63 ? "evt.Meta.kind == 'a' && evt.SetMeta('kind', 'b')" : filters[i % 3];

		n += (size_t)sprintf(yaml + n, GROUP_SC("%d", "%s", "evt.Meta.source_ip"), i, f);
	}
	b = engine(&s, CS_BUCKET_REPLAY, yaml, 0);
	free(yaml);
	if (!b)
		return;
	/* kind a, svc x: all up to 63, which sets kind b: then not the kind == 'a' ones */
	want[0] = '\0';
	for (int i = 0; i < 70; i++)
		if (i <= 63 || i % 3)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%d", i ? " " : "", i);
	ASSERT_OK(route_kind_svc(b, "a", "x", got, sizeof(got)), "route a/x");
	ASSERT_STREQ(got, want, "kind a, svc x: every scenario to 63, then those kind b takes");
	want[0] = '\0';
	for (int i = 2; i < 70; i += 3)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%d", i > 2 ? " " : "", i);
	ASSERT_OK(route_kind_svc(b, "c", "x", got, sizeof(got)), "route c/x");
	ASSERT_STREQ(got, want, "a kind no guard names: only svc's");
	ASSERT_OK(route_kind_svc(b, NULL, NULL, got, sizeof(got)), "route -/-");
	ASSERT_STREQ(got, "", "both keys absent: none");
	if (ASSERT_OK(cs_buckets_load_string(b, "u.yaml", GROUP_SC("70", "evt.Meta.kind == 'c'",
								   "evt.Meta.source_ip")),
		      "second load")) {
		ASSERT_OK(route_kind_svc(b, "c", "y", got, sizeof(got)), "route c/y");
		ASSERT_STREQ(got, "70", "the index covers the scenarios of a later load");
	}
	cs_buckets_free(b);
	sink_reset(&s);
}

/*
 * Filters whose first test the prefilter decides (expr_prefilter): the same
 * targets as evaluating them, also when an earlier filter's evt.SetMeta()
 * made the prefilter's reading of the event stale (scenario 2 after 1).
 */
static void test_route_prefilter(void)
{
	static const char *const filters[] = {
		"Upper(evt.Meta.svc) contains 'ADMIN'",
		"evt.Meta.kind == 'a' && evt.SetMeta('svc', '/admin')",
		"Upper(evt.Meta.svc) contains 'ADMIN' && evt.Meta.kind != ''",
		"evt.Meta.svc in ['/admin', '/root'] && evt.Meta.kind == 'a'",
		"any(['/x', '/ADMIN/'], { Upper(evt.Meta.svc) startsWith # })",
	};
	char yaml[2048], got[512];
	struct sink s;
	struct cs_buckets *b;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
				      GROUP_SC("%zu", "%s", "evt.Meta.source_ip"), i, filters[i]);
	if (!ASSERT_TRUE(n < sizeof(yaml), "yaml fits") ||
	    !(b = engine(&s, CS_BUCKET_REPLAY, yaml, 0)))
		return;
	ASSERT_OK(route_kind_svc(b, "a", "x", got, sizeof(got)), "route a/x");
	ASSERT_STREQ(got, "1 2 3", "svc set to /admin by 1: 2 and 3 take it");
	ASSERT_OK(route_kind_svc(b, "b", "x", got, sizeof(got)), "route b/x");
	ASSERT_STREQ(got, "", "kind b, svc x: none");
	ASSERT_OK(route_kind_svc(b, "b", "/Admin/x", got, sizeof(got)), "route b//Admin/x");
	ASSERT_STREQ(got, "0 2 4", "kind b, svc /Admin/x: the contains and startsWith ones");
	cs_buckets_free(b);
	sink_reset(&s);
}

/* One token comes back per leakspeed, continuously, on event time. */
static void test_leak_arithmetic(struct cs_buckets *b, struct sink *s)
{
	for (int i = 0; i < 5; i++)
		pour(b, "192.0.2.1", 0, NULL, NULL);
	pour(b, "192.0.2.1", 10000, NULL, NULL); /* one token leaked back at +10s */
	ASSERT_EQ(s->n, 0, "+10s: one more event fits");
	pour(b, "192.0.2.1", 19999, NULL, NULL); /* 0.9999 token: not enough */
	ASSERT_EQ(s->n, 1, "+19.999s: overflow");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.GetEventsCount() == 7"), "7 counted");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.StopAt == '2026-01-01T00:00:19.999Z'"), "stop_at");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.Message endsWith '(7 events over 19.999s) at "
				"2026-01-01 00:00:19.999 +0000 UTC'"), "duration in message");
	sink_reset(s);
	s->n = 0;
	/* +0.5 token per 5 s, -1 per event: 4, 3.5, 3, ... the 10th finds 0.5 + 0 */
	for (int i = 0; i < 9; i++)
		pour(b, "192.0.2.2", 100000 + 5000L * i, NULL, NULL);
	ASSERT_EQ(s->n, 0, "spread events: 9 fit");
	pour(b, "192.0.2.2", 100000 + 5000L * 9, NULL, NULL);
	ASSERT_EQ(s->n, 1, "spread events: overflow on the 10th");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.GetEventsCount() == 10"), "10 counted");
	ASSERT_TRUE(check(s, 0, "len(o.Overflow.Alert.Events) == 6"), "queue keeps capacity+1");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.Events[0].Timestamp == '2026-01-01T00:02:00Z'"),
		    "oldest kept event is the 5th");
}

/* The rate limiter at its boundaries, as CrowdSec 1.4.6's pkg/time/rate computes them. */
static void test_limiter_boundaries(void)
{
	/*
	 * Float rounding (hub test ssh-slow-bf): capacity 10, 1/min, events
	 * 27/30/30/33 s apart. The 19th pour leaves 1e-16 tokens short of 0, which
	 * the rate package forgives (the wait rounds to 0 ns): overflow on the 20th.
	 */
	static const int slow[] = { 0,	 27,  57,  87,	120, 147, 180, 207, 240, 267,
				    300, 327, 360, 387, 420, 447, 480, 507, 540, 567 };
	/*
	 * advance() caps the elapsed time at durationFromTokens(burst - tokens),
	 * truncated to the nanosecond, so a bucket that leaked back to full keeps a
	 * deficit of ~1e-10 token (3.2 + 1.7999999999). At the boundary that deficit
	 * is a 1 ns wait, which reserveN refuses: the overflow comes one event earlier
	 * than with tokens clamped to exactly burst. Seen in the differential replay
	 * (ssh-bf, 2001:db8:de52:...: 10 events, not 11).
	 */
	static const int refill[] = { 0, 2, 44, 46, 88, 91, 91, 94, 95, 98 };
	/*
	 * FromFactory: rate.NewLimiter(rate.Every(leakspeed), capacity) is the zero
	 * Limiter (tokens 0, last = time.Time{}); the first AllowN fills it through
	 * advance(), whose refill is capped at durationFromTokens(burst) truncated to
	 * the ns. With 300ms and 6 that is 1799999999 ns = 5.999999996666666 tokens,
	 * not 6: six events at the same instant leave a wait of ~1.1 ns, truncated to
	 * 1 ns, refused: the 6th overflows.
	 */
	static const struct {
		const char *what, *yaml;
		const int *at;
		int n;
	} cases[] = {
		{ "rounding: the 20th overflows",
		  "type: leaky\nname: t/slow\ndescription: d\nfilter: 'true'\n"
		  "capacity: 10\nleakspeed: 60s\n", slow, 20 },
		{ "refill cap: the 10th overflows (1 ns short)", LEAKY_5_10S, refill, 10 },
		{ "fresh limiter: the 6th overflows (not quite 6 tokens)",
		  "type: leaky\nname: t/fresh\ndescription: d\nfilter: 'true'\n"
		  "capacity: 6\nleakspeed: 300ms\n", at_once, 6 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sink s;
		struct cs_buckets *b = engine(&s, CS_BUCKET_REPLAY, cases[i].yaml, 0);

		if (!b)
			continue;
		overflow_on_last(b, &s, cases[i].at, cases[i].n, cases[i].what);
		cs_buckets_free(b);
		sink_reset(&s);
	}
}

/* Replay: an instance idle for more than (capacity+1) * leakspeed is dropped silently. */
static void test_replay_expiry(struct cs_buckets *b, struct sink *s)
{
	struct cs_bucket_stats st;

	for (int i = 0; i < 5; i++)
		pour(b, "192.0.2.1", 0, NULL, NULL);
	pour(b, "192.0.2.1", 60001, NULL, NULL); /* > 60 s after the last event */
	cs_buckets_get_stats(b, &st);
	ASSERT_EQ(st.underflows, 1, "old instance expired");
	ASSERT_EQ(s->n, 0, "no alert from an expired bucket");
	for (int i = 0; i < 4; i++)
		pour(b, "192.0.2.1", 60001, NULL, NULL);
	ASSERT_EQ(s->n, 0, "the new instance counts from 1");
	pour(b, "192.0.2.1", 60001, NULL, NULL);
	ASSERT_EQ(s->n, 1, "6th event of the new instance overflows");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.GetEventsCount() == 6"), "count restarted");
}

/*
 * An event as ParseDate leaves it: the instant t remembered beside its text, and
 * MarshaledTime set by a static to `marshaled` (that text, or another one).
 */
static int pour_known(struct cs_buckets *b, const struct cs_time *t, const char *marshaled)
{
	struct cs_event *e = NULL;
	char ts[CS_TIME_STRLEN];
	int err;

	if (cs_event_new(&e))
		return -ENOMEM;
	err = cs_event_format_time(e, t, ts, sizeof(ts));
	err = err ?: cs_event_set_target(e, "evt.MarshaledTime", marshaled ? marshaled : ts,
					 strlen(marshaled ? marshaled : ts));
	err = err ?: strmap_set(e->meta, "source_ip", "192.0.2.1");
	err = err ?: strmap_set(e->meta, "log_type", "test");
	err = err ?: cs_buckets_pour(b, e);
	cs_event_free(e);
	return err;
}

/*
 * A bucket pours at the instant ParseDate remembered only while MarshaledTime is
 * the text it wrote for it: after a static wrote another text there, that text's
 * time counts (here 61 s later: the instance expired, no overflow), with its zone.
 */
static void test_known_time(struct cs_buckets *b, struct sink *s)
{
	struct cs_time t0 = { .sec = 1767225600, .off = 7200 }; /* 2026-01-01T02:00:00+02:00 */
	struct cs_bucket_stats st;
	json_t *ev;

	for (int i = 0; i < 5; i++)
		ASSERT_OK(pour_known(b, &t0, NULL), "pour at the known instant");
	ASSERT_OK(pour_known(b, &t0, "2026-01-01T00:01:01Z"), "pour at another text");
	cs_buckets_get_stats(b, &st);
	ASSERT_EQ(s->n, 0, "the overwritten text's time counts, not the stale instant");
	ASSERT_EQ(st.underflows, 1, "the first instance expired at the new time");
	for (int i = 0; i < 5; i++)
		ASSERT_OK(pour_known(b, &t0, "2026-01-01T01:01:01+01:00"), "same instant, other zone");
	ASSERT_EQ(s->n, 1, "6 events at one instant overflow");
	ev = s->last_json ? json_array_get(json_object_get(json_array_get(s->last_json, 0), "events"), 5)
			 : NULL;
	ASSERT_STREQ(json_string_value(json_object_get(ev, "timestamp")), "2026-01-01T01:01:01+01:00",
		     "the event keeps the text it was poured with");
	sink_reset(s);
	s->n = 0;
	for (int i = 0; i < 6; i++)
		ASSERT_OK(pour_known(b, &t0, NULL), "known instant, its own text");
	ASSERT_EQ(s->n, 1, "overflow at the known instant");
	ev = s->last_json ? json_array_get(json_object_get(json_array_get(s->last_json, 0), "events"), 0)
			 : NULL;
	ASSERT_STREQ(json_string_value(json_object_get(ev, "timestamp")), "2026-01-01T02:00:00+02:00",
		     "the known instant keeps its zone in the alert");
}

/*
 * A trigger's blackhole: a partition that overflowed is quiet for 1m, the others
 * are not. Run with a short partition key, kept as it is, and a long one, kept
 * by its mapkey.
 */
static const char blackhole_yaml[] =
	"type: trigger\nname: t/trig\ndescription: d\n"
	"filter: \"true\"\ngroupby: evt.Meta.source_ip\n"
	"blackhole: 1m\n";
static const char blackhole_long_key_yaml[] =
	"type: trigger\nname: t/long\ndescription: d\nfilter: \"true\"\n"
	"groupby: evt.Meta.source_ip + '/a-suffix-that-makes-the-key-long'\n"
	"blackhole: 1m\n";

static void test_trigger_blackhole(struct cs_buckets *b, struct sink *s)
{
	static const struct step steps[] = {
		{ "192.0.2.1", 0, 1, "trigger overflows at once" },
		{ "2001:db8::1", 0, 2, "so does another partition" },
		{ "192.0.2.1", 30000, 2, "blackholed for 1m" },
		{ "2001:db8::1", 59999, 2, "still blackholed just before expiry" },
		{ "192.0.2.2", 30000, 3, "a partition that never overflowed is not blackholed" },
		{ "192.0.2.1", 60000, 4, "expiry == overflow time: out of the blackhole" },
		{ "192.0.2.1", 61000, 4, "blackholed again from the new overflow" },
	};
	struct cs_bucket_stats st;

	pour_steps(b, s, steps, sizeof(steps) / sizeof(steps[0]));
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.GetEventsCount() == 1 && "
				"len(o.Overflow.Alert.Events) == 1 && o.Overflow.Alert.Leakspeed == '0s' "
				"&& o.Overflow.Alert.Capacity == 0 && o.Overflow.Alert.Remediation == false"),
		    "trigger alert");
	cs_buckets_get_stats(b, &st);
	ASSERT_EQ(st.blackholed, 3, "three suppressed");
	ASSERT_EQ(st.live, 0, "trigger instances never stay");
}

/* Replay without a log time: triggers fall back to "now", leaky ones skip the event. */
static const char no_log_time_yaml[] =
	"type: trigger\nname: t/nt\ndescription: d\nfilter: \"true\"\n---\n"
	"type: leaky\nname: t/nl\ndescription: d\nfilter: \"true\"\ncapacity: 1\n"
	"leakspeed: 1s\n";

static void test_replay_no_log_time(struct cs_buckets *b, struct sink *s)
{
	live_now = (struct cs_time){ .sec = 1767225600 + 86400 };
	for (int i = 0; i < 3; i++)
		ASSERT_OK(pour_kv(b, NULL, (const char *const[]){ "source_ip", "192.0.2.3", NULL }, NULL),
			  "pour without a log time");
	ASSERT_EQ(s->n, 3, "three trigger alerts, no leaky one");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.GetScenario() == 't/nt' && "
				"o.Overflow.Alert.StartAt == '2026-01-02T00:00:00Z'"), "clock time");
}

/* distinct: only the first event of each value is poured (and counted). */
static const char distinct_yaml[] =
	"type: leaky\nname: t/dist\ndescription: d\nfilter: \"true\"\n"
	"groupby: evt.Meta.source_ip\ndistinct: evt.Meta.user\n"
	"capacity: 2\nleakspeed: 1m\n";

static void test_distinct(struct cs_buckets *b, struct sink *s)
{
	pour(b, "192.0.2.1", 0, "user", "a");
	pour(b, "192.0.2.1", 0, "user", "a");
	pour(b, "192.0.2.1", 0, "user", "a");
	pour(b, "192.0.2.1", 0, "user", "b");
	pour(b, "192.0.2.1", 0, "user", "b");
	ASSERT_EQ(s->n, 0, "two distinct users fit in capacity 2");
	pour(b, "192.0.2.1", 0, "user", "c");
	ASSERT_EQ(s->n, 1, "third distinct user overflows");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.GetEventsCount() == 3"), "duplicates not counted");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.Events[0].GetMeta('user') == 'a' && "
				"o.Overflow.Alert.Events[2].GetMeta('user') == 'c'"), "queued events");
	/* distinct state belongs to the instance: a new one accepts "a" again */
	pour(b, "192.0.2.1", 1000, "user", "a");
	pour(b, "192.0.2.1", 1000, "user", "b");
	pour(b, "192.0.2.1", 1000, "user", "c");
	ASSERT_EQ(s->n, 2, "distinct set reset with the new instance");
	/* no user reads "" (distinct is a plain path, read from the map): one value */
	pour(b, "192.0.2.1", 2000, NULL, NULL);
	pour(b, "192.0.2.1", 2000, "user", "");
	pour(b, "192.0.2.1", 2000, "user", "a");
	ASSERT_EQ(s->n, 2, "a missing user and \"\" are one value");
	pour(b, "192.0.2.1", 2000, "user", "b");
	ASSERT_EQ(s->n, 3, "third distinct value overflows");
}

/*
 * Upstream keys a bucket by sha1(filter, partition, name): two scenarios with
 * the same name and filter (hub files do this, e.g. lourys/pterodactyl-wings-bf)
 * share one bucket, created by the first to pour and run by its settings; the
 * second pours the same event into it again. Another name or filter: apart.
 */
#define SHARED_SC(n, d, f, cap) "---\ntype: leaky\nname: " n "\ndescription: " d "\nfilter: " f "\n" \
				 "groupby: evt.Meta.source_ip\ncapacity: " cap "\nleakspeed: 1m\n"
static const char shared_bucket_key_yaml[] =
	SHARED_SC("t/same", "first", "evt.Meta.log_type == 'test'", "3")
	SHARED_SC("t/same", "second", "evt.Meta.log_type == 'test'", "100")
	SHARED_SC("t/other", "same filter", "evt.Meta.log_type == 'test'", "100")
	SHARED_SC("t/same", "other filter", "evt.Meta.log_type == 'test' && true", "100");

static void test_shared_bucket_key(struct cs_buckets *b, struct sink *s)
{
	static const struct step steps[] = {
		{ "192.0.2.1", 0, 0, "2 pours fit in capacity 3" },
		{ "192.0.2.2", 0, 0, "another partition: another shared bucket" },
		{ "192.0.2.1", 0, 1, "the second event is poured twice into the first scenario's bucket" },
	};

	pour_steps(b, s, steps, sizeof(steps) / sizeof(steps[0]));
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.Capacity == 3 && "
				"o.Overflow.Alert.GetEventsCount() == 4"),
		    "the shared bucket runs by the first scenario's settings");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.GetScenario() == 't/same'"), "its name");
}

/* cache_size limits what is kept, not what is counted. */
static const char cache_size_yaml[] =
	"type: leaky\nname: t/cache\ndescription: d\nfilter: \"true\"\n"
	"capacity: 5\nleakspeed: 10s\ncache_size: 2\n";

static void test_cache_size(struct cs_buckets *b, struct sink *s)
{
	char ts[8];

	for (int i = 0; i < 6; i++) {
		snprintf(ts, sizeof(ts), "%d", i);
		pour(b, "192.0.2.1", 0, "n", ts);
	}
	ASSERT_EQ(s->n, 1, "overflow on the 6th");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.GetEventsCount() == 6"), "all counted");
	ASSERT_TRUE(check(s, 0, "len(o.Overflow.Alert.Events) == 3"), "cache_size + 1 kept");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.Events[0].GetMeta('n') == '3' && "
				"o.Overflow.Alert.Events[2].GetMeta('n') == '5'"), "the most recent ones");
}

static const char counter_yaml[] =
	"type: counter\nname: t/count\ndescription: d\nfilter: \"true\"\n"
	"groupby: evt.Meta.source_ip\ncapacity: -1\nduration: 10s\n";

/* counter: fires when `duration` has elapsed since its first event (live clock). */
static void test_counter(struct cs_buckets *b, struct sink *s)
{
	live_now = (struct cs_time){ .sec = 1767225600 };
	for (int i = 0; i < 50; i++)
		pour(b, "192.0.2.1", 0, NULL, NULL);
	ASSERT_EQ(s->n, 0, "a counter never overflows by count");
	live_now.sec += 5;
	pour(b, "192.0.2.1", 0, NULL, NULL);
	cs_buckets_tick(b);
	ASSERT_EQ(s->n, 0, "not before its duration");
	live_now.sec += 6;
	cs_buckets_tick(b);
	ASSERT_EQ(s->n, 1, "fires after duration since the first event");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.GetEventsCount() == 51"), "every event counted");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.StartAt == '2026-01-01T00:00:00Z' && "
				"o.Overflow.Alert.StopAt == '2026-01-01T00:00:11Z'"), "live times");
	/* a pour after the deadline (no tick in between) fires the old counter first */
	live_now.sec += 1;
	pour(b, "192.0.2.9", 0, NULL, NULL);
	live_now.sec += 10;
	pour(b, "192.0.2.9", 0, NULL, NULL);
	ASSERT_EQ(s->n, 2, "late pour fires the expired counter");
	ASSERT_TRUE(check(s, 1, "o.Overflow.Alert.GetEventsCount() == 1"), "old counter alone");
}

/* The same counter in replay: the timer is wall-clock upstream, so it never fires. */
static void test_counter_replay(struct cs_buckets *b, struct sink *s)
{
	for (int i = 0; i < 5; i++)
		pour(b, "192.0.2.1", i * 60000L, NULL, NULL);
	cs_buckets_tick(b);
	ASSERT_EQ(s->n, 0, "no counter overflow in replay");
}

/* conditional: condition after each pour; cancel_on kills the instance. */
static const char conditional_yaml[] =
	"type: conditional\nname: t/cond\ndescription: d\nfilter: \"true\"\n"
	"groupby: evt.Meta.source_ip\ncapacity: -1\nleakspeed: 1h\n"
	"cancel_on: evt.Meta.ok == 'yes'\n"
	"condition: len(queue.Queue) >= 3 && queue.Queue[-1].Meta.n == 'last'"
	" && leaky.Total_count >= 3\n";

static void test_conditional(struct cs_buckets *b, struct sink *s)
{
	struct cs_bucket_stats st;

	pour(b, "192.0.2.1", 0, "n", "x");
	pour(b, "192.0.2.1", 1000, "n", "last");
	ASSERT_EQ(s->n, 0, "2 events: condition false");
	pour(b, "192.0.2.1", 2000, "ok", "yes");
	cs_buckets_get_stats(b, &st);
	ASSERT_EQ(st.cancelled, 1, "cancel_on matched");
	pour(b, "192.0.2.1", 3000, "n", "x");
	pour(b, "192.0.2.1", 4000, "n", "x");
	ASSERT_EQ(s->n, 0, "cancelled instance restarted from zero");
	pour(b, "192.0.2.1", 5000, "n", "last");
	ASSERT_EQ(s->n, 1, "condition true on the third event");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.GetEventsCount() == 3 && "
				"o.Overflow.Alert.StartAt == '2026-01-01T00:00:03Z' && "
				"o.Overflow.Alert.StopAt == '2026-01-01T00:00:05Z' && "
				"o.Overflow.Alert.Leakspeed == '1h0m0s'"), "conditional alert");
}

#define BAYES_YAML(guillotine)                                                                 \
	"type: bayesian\nname: t/bayes\ndescription: d\nfilter: \"true\"\n"                    \
	"groupby: evt.Meta.source_ip\ncapacity: -1\nleakspeed: 1h\n"                             \
	"bayesian_prior: 0.5\nbayesian_threshold: 0.9\nbayesian_conditions:\n"                   \
	"  - condition: evt.Meta.x == 'bad'\n    prob_given_evil: 0.9\n"                          \
	"    prob_given_benign: 0.1\n    guillotine: " guillotine "\n"                            \
	"  - condition: len(queue.Queue) >= 2\n    prob_given_evil: 0.8\n"                        \
	"    prob_given_benign: 0.2\n"

/* With the guillotine, "bad" once counts as true for the rest of the instance. */
static void test_bayesian_guillotine(struct cs_buckets *b, struct sink *s)
{
	pour(b, "192.0.2.1", 0, "x", "bad"); /* 0.9 then 0.692: no */
	ASSERT_EQ(s->n, 0, "posterior 0.69 < 0.9");
	pour(b, "192.0.2.1", 1000, "x", "good"); /* 0.9 then 0.973 */
	ASSERT_EQ(s->n, 1, "posterior 0.97 > 0.9 thanks to the guillotine");
}

static void test_bayesian(struct cs_buckets *b, struct sink *s)
{
	pour(b, "192.0.2.1", 0, "x", "bad");
	pour(b, "192.0.2.1", 1000, "x", "good"); /* 0.1 then 0.31 */
	ASSERT_EQ(s->n, 0, "without guillotine the good event lowers the posterior");
	pour(b, "192.0.2.1", 2000, "x", "bad"); /* 0.9 then 0.973 */
	ASSERT_EQ(s->n, 1, "bad again with a queue of 3");
}

static const char overflow_filter_yaml[] =
	"type: trigger\nname: t/of\ndescription: d\nfilter: \"true\"\n"
	"groupby: evt.Meta.source_ip\nblackhole: 1m\n"
	"overflow_filter: any(queue.Queue, {.Meta.keep == 'yes'}) && "
	"len(signal.Sources) == 1\n";

static void test_overflow_filter(struct cs_buckets *b, struct sink *s)
{
	pour(b, "192.0.2.1", 0, "keep", "no");
	ASSERT_EQ(s->n, 0, "overflow_filter false: discarded");
	pour(b, "192.0.2.1", 1000, "keep", "yes");
	ASSERT_EQ(s->n, 1, "discarded overflow did not enter the blackhole");
}

/* reprocess: the overflow is poured again; a meta-scenario sees its sources. */
static const char reprocess_meta_yaml[] =
	"type: trigger\nname: t/a\ndescription: d\nfilter: evt.Meta.kind == 'a'\n"
	"groupby: evt.Meta.source_ip\nreprocess: true\nlabels:\n  remediation: true\n---\n"
	"type: trigger\nname: t/b\ndescription: d\nfilter: evt.Meta.kind == 'b'\n"
	"groupby: evt.Meta.source_ip\nreprocess: true\n---\n"
	"type: leaky\nname: t/meta\ndescription: d\n"
	"filter: evt.GetType() == 'overflow'\n"
	"groupby: evt.Overflow.Alert.Source.IP\n"
	"distinct: evt.Overflow.Alert.GetScenario()\n"
	"capacity: 1\nleakspeed: 1h\n---\n"
	"type: leaky\nname: t/range\ndescription: d\n"
	"filter: evt.GetType() == 'overflow' && evt.Overflow.Alert.Remediation\n"
	"scope:\n  type: Range\ncapacity: 1\nleakspeed: 1h\n";

static void test_reprocess_meta(struct cs_buckets *b, struct sink *s)
{
	char got[128];

	ASSERT_OK(pour_kv(b, "2026-01-01T00:00:00Z",
			  (const char *const[]){ "source_ip", "192.0.2.7", "SourceRange",
						 "192.0.2.99/24", "kind", "a", NULL },
			  NULL),
		  "pour");
	ASSERT_STREQ(overflow_scenarios(s, got, sizeof(got)), "t/a", "t/a overflow");
	pour(b, "192.0.2.7", 1000, "kind", "a");
	/* t/meta: same scenario again, distinct drops it; t/range: 2nd remediation overflow */
	ASSERT_STREQ(overflow_scenarios(s, got, sizeof(got)), "t/a t/a t/range",
		     "t/a again, then t/range");
	pour(b, "192.0.2.7", 2000, "kind", "b");
	ASSERT_STREQ(overflow_scenarios(s, got, sizeof(got)), "t/a t/a t/range t/b t/meta",
		     "t/b then the meta-scenario");
	ASSERT_TRUE(check(s, 2, "o.Overflow.GetSources() == ['192.0.2.0/24'] && "
				"o.Overflow.Alert.Source.GetScope() == 'Range' && "
				"o.Overflow.Alert.Source.IP == '' && "
				"o.Overflow.Alert.GetEventsCount() == 2"),
		    "Range source derived from the overflow's Ip source (a source without range dropped)");
	ASSERT_TRUE(check(s, 4, "o.Overflow.Alert.GetEventsCount() == 2 && "
				"o.Overflow.GetSources() == ['192.0.2.7'] && "
				"len(o.Overflow.Alert.Events) == 2 && "
				"len(o.Overflow.Alert.Events[1].Meta) == 0 && "
				"o.Overflow.Alert.Events[1].Timestamp == '2026-01-01T00:00:02Z'"),
		    "meta alert reuses the sources; overflow events listed without meta");
	ASSERT_TRUE(check(s, 4, "o.Overflow.Sources['192.0.2.7'].GetScope() == 'Ip' && "
				"o.Overflow.Alert.StopAt == '2026-01-01T00:00:02Z'"), "meta scope and time");
}

/* 1M unique sources must not grow memory: the cap evicts the least recently used. */
static void test_bucket_cap(struct cs_buckets *b, struct sink *s)
{
	struct cs_bucket_stats st;
	char ip[32];
	int n = 200000;

	for (int i = 0; i < n; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		pour(b, ip, i / 100, NULL, NULL);
	}
	cs_buckets_get_stats(b, &st);
	ASSERT_EQ(st.live, 1000, "live instances capped");
	ASSERT_EQ(st.evicted, n - 1000, "every extra source evicted one instance");
	/* the most recent partitions survive: 6 more events on the last IP overflow it */
	for (int i = 0; i < 5; i++)
		pour(b, ip, n / 100, NULL, NULL);
	ASSERT_EQ(s->n, 1, "recent partition kept its count");
}

#define QUEUE_SCENARIO "type: conditional\nname: t/q\ndescription: d\n" \
	"filter: \"true\"\ngroupby: evt.Meta.source_ip\n" \
	"capacity: -1\nleakspeed: 1h\ncondition: 'false'\n"

/* An engine whose full-copy budget is 100 events, with a conditional scenario
 * (full copies, never overflows) and optionally more YAML documents. */
static struct cs_buckets *budget_engine(struct sink *s, const char *more)
{
	struct cs_bucket_opts o = { .mode = CS_BUCKET_REPLAY, .on_overflow = on_overflow, .arg = s,
				    .max_events = 100 };
	struct cs_buckets *b = NULL;
	char yaml[1024];

	snprintf(yaml, sizeof(yaml), "%s%s%s", QUEUE_SCENARIO, more ? "---\n" : "", more ? more : "");
	if (!ASSERT_OK(cs_buckets_new(&o, &b), "engine") ||
	    !ASSERT_OK(cs_buckets_load_string(b, "t.yaml", yaml), "load")) {
		cs_buckets_free(b);
		return NULL;
	}
	return b;
}

/* 40 sources of 10 events each, source i from time t0 + i * step on. */
static void flood(struct cs_buckets *b, long t0, long step)
{
	char ip[32];

	for (int i = 0; i < 40; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i);
		for (int k = 0; k < 10; k++)
			pour(b, ip, t0 + i * step + k, NULL, NULL);
	}
}

/*
 * The full-copy budget evicts only instances that hold full copies: a flood of
 * sources into a conditional scenario does not evict a brute-forcer's leaky
 * bucket (compact queue), whose next event still overflows.
 */
static void test_event_budget_spares_compact(void)
{
	struct sink s = { 0 };
	struct cs_buckets *b = budget_engine(&s, "type: leaky\nname: t/bf\ndescription: d\n"
					     "filter: evt.Meta.source_ip == '198.51.100.1'\n"
					     "groupby: evt.Meta.source_ip\ncapacity: 3\nleakspeed: 1h\n");
	struct cs_bucket_stats st;

	if (!b)
		goto out;
	for (int k = 0; k < 3; k++)
		pour(b, "198.51.100.1", k, NULL, NULL);
	flood(b, 1000, 100);
	cs_buckets_get_stats(b, &st);
	ASSERT_TRUE(st.evicted >= 30, "the flood evicted conditional instances");
	ASSERT_EQ(s.n, 0, "no overflow yet");
	pour(b, "198.51.100.1", 9000, NULL, NULL);
	ASSERT_EQ(s.n, 1, "the brute-forcer's leaky bucket survived the flood and overflows");
	ASSERT_STREQ(cs_overflow_scenario(s.ovf[0]), "t/bf", "its scenario");
out:
	cs_buckets_free(b);
	sink_reset(&s);
}

/* The events held by all instances are bounded too (unbounded conditional queues). */
static void test_event_budget(void)
{
	struct sink s = { 0 };
	struct cs_buckets *b = budget_engine(&s, NULL);
	struct cs_bucket_stats st;

	if (!b)
		goto out;
	flood(b, 0, 1000);
	cs_buckets_get_stats(b, &st);
	ASSERT_TRUE(st.queued <= 100, "queued events within max_events");
	ASSERT_EQ(st.live, 10, "oldest instances evicted to stay in budget");
	ASSERT_EQ(st.evicted, 30, "evictions counted");
out:
	cs_buckets_free(b);
	sink_reset(&s);
}

static int64_t queued_gauge(void)
{
	return atomic_load(&cs_metric_get(CSM_QUEUE_DEPTH, NULL, NULL, NULL)->value);
}

/*
 * One engine per worker shard, one cs_bucket_queued_events for the process:
 * the gauge shows every shard's events, and a freed shard takes its share away.
 */
static void test_queued_gauge_sums_shards(void)
{
	struct sink sa = { 0 }, sb = { 0 };
	struct cs_buckets *a = budget_engine(&sa, NULL), *b = budget_engine(&sb, NULL);
	int64_t base = queued_gauge();
	char ip[32];

	if (!a || !b)
		goto out;
	for (int i = 0; i < 3; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i);
		pour(a, ip, i, NULL, NULL);
	}
	for (int i = 0; i < 2; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		pour(b, ip, i, NULL, NULL);
	}
	ASSERT_EQ(queued_gauge() - base, 5, "gauge is the sum of both shards' queued events");
	cs_buckets_free(a);
	a = NULL;
	ASSERT_EQ(queued_gauge() - base, 2, "freeing a shard takes only its share away");
	cs_buckets_free(b);
	b = NULL;
	ASSERT_EQ(queued_gauge(), base, "nothing left once every shard is freed");
out:
	cs_buckets_free(a);
	cs_buckets_free(b);
	sink_reset(&sa);
	sink_reset(&sb);
}

/* Blackhole tables are bounded too: the oldest entry is forgotten first. */
static void test_blackhole_cap(void)
{
	struct sink s = { 0 };
	struct cs_bucket_opts o = { .mode = CS_BUCKET_REPLAY, .on_overflow = on_overflow, .arg = &s,
				    .max_blackhole = 10 };
	struct cs_buckets *b = NULL;
	char ip[32];

	if (!ASSERT_OK(cs_buckets_new(&o, &b), "engine") ||
	    !ASSERT_OK(cs_buckets_load_string(b, "t.yaml",
					      "type: trigger\nname: t/bh\ndescription: d\n"
					      "filter: \"true\"\ngroupby: evt.Meta.source_ip\n"
					      "blackhole: 1h\n"), "load"))
		goto out;
	for (int i = 0; i < 20; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i);
		pour(b, ip, i * 1000L, NULL, NULL);
	}
	ASSERT_EQ(s.n, 20, "20 partitions, 20 alerts");
	pour(b, "192.0.2.19", 30000, NULL, NULL);
	ASSERT_EQ(s.n, 20, "a recent partition is still blackholed");
	pour(b, "192.0.2.0", 30000, NULL, NULL);
	ASSERT_EQ(s.n, 21, "the oldest entry was forgotten at the cap");
out:
	cs_buckets_free(b);
	sink_reset(&s);
}

/* live mode: tick() expires idle instances on the injected clock. */
static void test_live_tick(struct cs_buckets *b, struct sink *s)
{
	struct cs_bucket_stats st;

	live_now = (struct cs_time){ .sec = 1767225600 };
	for (int i = 0; i < 5; i++)
		pour(b, "192.0.2.1", 0, NULL, NULL);
	live_now.sec += 60;
	cs_buckets_tick(b);
	cs_buckets_get_stats(b, &st);
	ASSERT_EQ(st.live, 1, "not idle for longer than (5+1)*10s yet");
	live_now.sec += 1;
	cs_buckets_tick(b);
	cs_buckets_get_stats(b, &st);
	ASSERT_EQ(st.live, 0, "collected after its duration");
	ASSERT_EQ(st.underflows, 1, "counted as underflow");
	ASSERT_EQ(s->n, 0, "no alert");
}

static const char json_yaml[] =
	"type: trigger\nname: t/json\ndescription: d\nfilter: \"true\"\n"
	"labels:\n  remediation: true\n";

static void test_json(struct cs_buckets *b, struct sink *s)
{
	json_t *a, *src, *ev;

	pour(b, "2001:db8::1", 0, "empty", "");
	if (!ASSERT_TRUE(s->last_json && json_array_size(s->last_json) == 1, "one alert object"))
		return;
	a = json_array_get(s->last_json, 0);
	ASSERT_STREQ(json_string_value(json_object_get(a, "scenario")), "t/json", "scenario");
	ASSERT_EQ(json_string_length(json_object_get(a, "scenario_hash")), 64, "sha256 hash");
	ASSERT_EQ(json_integer_value(json_object_get(a, "events_count")), 1, "events_count");
	ASSERT_STREQ(json_string_value(json_object_get(a, "leakspeed")), "0s", "leakspeed");
	ASSERT_TRUE(json_is_true(json_object_get(a, "remediation")), "remediation");
	ASSERT_TRUE(json_is_false(json_object_get(a, "simulated")), "simulated");
	ASSERT_STREQ(json_string_value(json_object_get(a, "start_at")), "2026-01-01T00:00:00Z",
		     "start_at");
	src = json_object_get(a, "source");
	ASSERT_STREQ(json_string_value(json_object_get(src, "scope")), "Ip", "source scope");
	ASSERT_STREQ(json_string_value(json_object_get(src, "value")), "2001:db8::1", "source value");
	ASSERT_TRUE(!json_object_get(src, "range"), "empty range omitted");
	ev = json_array_get(json_object_get(a, "events"), 0);
	ASSERT_STREQ(json_string_value(json_object_get(ev, "timestamp")), "2026-01-01T00:00:00Z",
		     "event timestamp");
	/* meta sorted by key; the empty value keeps its key but drops "value" */
	ASSERT_STREQ(json_string_value(json_object_get(
			     json_array_get(json_object_get(ev, "meta"), 0), "key")), "empty",
		     "first meta key sorted");
	ASSERT_TRUE(!json_object_get(json_array_get(json_object_get(ev, "meta"), 0), "value"),
		    "empty value omitted");
}

static int dump_sb(const char *buf, size_t n, void *sb)
{
	sb_putn(sb, buf, n);
	return ((struct sbuf *)sb)->err ? -1 : 0;
}

/*
 * cs_overflow_render_lines() writes what jansson dumps for cs_overflow_to_json()
 * with sorted keys: escapes, invalid UTF-8, omitted empties, floats, a range.
 */
static const char render_lines_yaml[] =
	"type: trigger\nname: \"t/\\\"render\\u0001\"\ndescription: d\n"
	"filter: \"true\"\nlabels:\n  remediation: true\n";

static void test_render_lines(struct cs_buckets *b, struct sink *s)
{
	static const char *const vals[] = {
		"q\"b\\s/", "ctl\x01\x1f\x7f\t\n\r\b\f", "bad\xff\xc3(utf8", "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80", "",
		/* past the first eight bytes (read a word at a time), and plain ones */
		"01234567\"9ab", "abcdefghijklmno\\", "abcdefgh ijklmno\x1f", "0123456789abcdef\xc3\xa9",
		"~plain text, twenty-nine ~~~!", "12345678",
		/* sixteen at a time (SSE2): in the first block, the second, DEL is plain */
		"0123\"56789abcdefgh", "abc\xc3\xa9" "defghijklmnopq", "0123456789abcdef0123\\56789abcdef0",
		"abcdefghijklmno\x7fp", "0123456789abcdef0123456789abcdef\x01",
	};

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct cs_event *e = NULL;
		struct cs_time t = { .sec = 1767225600 + (int64_t)i };
		char ts[CS_TIME_STRLEN];

		if (!ASSERT_OK(cs_event_new(&e), "event"))
			break;
		cs_time_format(&t, ts, sizeof(ts));
		cs_event_set_str(&e->marshaled_time, ts);
		e->time = t;
		strmap_set(e->meta, "source_ip", i % 2 ? "198.51.100.7" : "2001:db8::1");
		strmap_set(e->meta, vals[i], vals[(i + 1) % (sizeof(vals) / sizeof(vals[0]))]);
		strmap_set(e->meta, "", vals[i]);
		if (i == 1) {
			strmap_set(e->meta, "SourceRange", "198.51.100.0/24");
			strmap_set(e->enriched, "Latitude", "48.8582");
			strmap_set(e->enriched, "Longitude", "-0.1");
			strmap_set(e->enriched, "ASNOrg", "AS \"x\"\xfe");
		}
		ASSERT_OK(cs_buckets_pour(b, e), "pour");
		cs_event_free(e);
	}
	ASSERT_EQ(s->n, (int)(sizeof(vals) / sizeof(vals[0])), "one overflow per event");
	for (int i = 0; i < s->n && i < 64; i++) {
		struct sbuf want = { 0 }, got = { 0 };
		json_t *arr = cs_overflow_to_json(s->ovf[i]), *a;
		size_t k;

		json_array_foreach(arr, k, a) {
			json_dump_callback(a, dump_sb, &want, JSON_COMPACT | JSON_SORT_KEYS);
			sb_putc(&want, '\n');
		}
		cs_overflow_render_lines(s->ovf[i], &got);
		if (!ASSERT_TRUE(arr && want.len && !got.err && want.len == got.len &&
					 !memcmp(want.buf, got.buf, want.len),
				 "lines as jansson writes them"))
			fprintf(stderr, "  want %s  got  %s", want.buf ? want.buf : "(null)\n",
				got.buf ? got.buf : "(null)\n");
		if (i == 1)
			ASSERT_TRUE(got.buf && strstr(got.buf, "\"latitude\":") &&
					    strstr(got.buf, "\"range\":\"198.51.100.0/24\""),
				    "floats and range written");
		ASSERT_STREQ(cs_overflow_stop_at(s->ovf[i]),
			     json_string_value(json_object_get(json_array_get(arr, 0), "stop_at")),
			     "stop_at");
		json_decref(arr);
		sb_free(&want);
		sb_free(&got);
	}
}

/* Postoverflow statics write through the shared Source (ipv6_to_range). */
static const char set_target_yaml[] =
	"type: trigger\nname: t/st\ndescription: d\nfilter: \"true\"\n";

static void test_set_target(struct cs_buckets *b, struct sink *s)
{
	pour(b, "2001:db8:85a3::8a2e:370:7334", 0, NULL, NULL);
	if (!ASSERT_EQ(s->n, 1, "overflow"))
		return;
	ASSERT_OK(cs_overflow_set_target(s->ovf[0]->overflow, "evt.Overflow.Alert.Source.Value",
					 "2001:db8:85a3::/64", 18), "set Value");
	ASSERT_OK(cs_overflow_set_target(s->ovf[0]->overflow, "Overflow.Alert.Source.Scope",
					 "Range", 5), "set Scope");
	ASSERT_EQ(cs_overflow_set_target(s->ovf[0]->overflow, "Overflow.Alert.Nope", "x", 1), -ENOENT,
		  "unknown path");
	ASSERT_OK(cs_overflow_set_target(s->ovf[0]->overflow, "Overflow.Alert.ScenarioHash", "h2", 2),
		  "set ScenarioHash");
	ASSERT_EQ(cs_overflow_set_target(s->ovf[0]->overflow, "Overflow.Alert.Leakspeed", "1s", 2),
		  -ENOENT, "Leakspeed is not a SetTarget field");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Alert.ScenarioHash == 'h2'"), "ScenarioHash written");
	ASSERT_TRUE(check(s, 0, "o.Overflow.Sources['2001:db8:85a3::8a2e:370:7334'].GetValue() == "
				"'2001:db8:85a3::/64' && "
				"o.Overflow.Sources['2001:db8:85a3::8a2e:370:7334'].GetScope() == 'Range' && "
				"o.Overflow.Sources['2001:db8:85a3::8a2e:370:7334'].IP == "
				"'2001:db8:85a3::8a2e:370:7334' && o.Overflow.Alert.GetValue() == "
				"'2001:db8:85a3::/64'"), "visible through Sources, IP kept");
}

/* Postoverflow whitelists: recorded (whitelisted) but not sent, not reprocessed. */
static void test_postoverflow_whitelist(void)
{
	struct sink s = { 0 };
	struct cs_parsers *po = NULL;
	struct cs_bucket_opts o = { .mode = CS_BUCKET_REPLAY, .on_overflow = on_overflow,
				    .on_alert = on_alert, .arg = &s };
	struct cs_buckets *b = NULL;

	if (!ASSERT_OK(cs_parsers_new(NULL, &po), "postoverflow parsers") ||
	    !ASSERT_OK(cs_parsers_load_string(po, "s01-whitelist", "wl.yaml",
					      "name: t/wl\ndescription: d\n"
					      "whitelist:\n  reason: internal\n"
					      "  cidr: ['10.0.0.0/8']\n"), "whitelist loads"))
		goto out;
	o.postoverflows = po;
	if (!ASSERT_OK(cs_buckets_new(&o, &b), "engine") ||
	    !ASSERT_OK(cs_buckets_load_string(
			       b, "t.yaml",
			       "type: trigger\nname: t/a\ndescription: d\nfilter: evt.GetType() == 'log'\n"
			       "groupby: evt.Meta.source_ip\nreprocess: true\n---\n"
			       "type: trigger\nname: t/meta\ndescription: d\n"
			       "filter: evt.GetType() == 'overflow'\n"), "scenarios"))
		goto out;
	pour(b, "10.1.2.3", 0, NULL, NULL);
	ASSERT_EQ(s.n, 1, "whitelisted overflow still recorded");
	ASSERT_EQ(s.nalerts, 0, "but not sent");
	ASSERT_TRUE(s.n && cs_overflow_whitelisted(s.ovf[0]), "marked whitelisted");
	ASSERT_TRUE(check(&s, 0, "o.Overflow.Whitelisted && o.WhitelistReason == 'internal'"),
		    "visible to asserts");
	pour(b, "192.0.2.1", 0, NULL, NULL);
	ASSERT_EQ(s.n, 3, "a non-whitelisted overflow is reprocessed into t/meta");
	ASSERT_EQ(s.nalerts, 2, "both sent");
out:
	cs_buckets_free(b);
	cs_parsers_free(po);
	sink_reset(&s);
}

/* scope: Range from Meta.SourceRange, custom scopes from their expression; simulation. */
static void test_scopes(void)
{
	static const char *const sim[] = { "t/user", NULL };
	struct sink s = { 0 };
	struct cs_bucket_opts o = { .mode = CS_BUCKET_REPLAY, .on_overflow = on_overflow,
				    .on_alert = on_alert, .arg = &s, .simulated = sim };
	struct cs_buckets *b = NULL;
	json_t *a;

	if (!ASSERT_OK(cs_buckets_new(&o, &b), "engine") ||
	    !ASSERT_OK(cs_buckets_load_string(
			       b, "t.yaml",
			       "type: trigger\nname: t/range\ndescription: d\n"
			       "filter: evt.Meta.k == 'r'\nscope:\n  type: Range\n---\n"
			       "type: trigger\nname: t/user\ndescription: d\n"
			       "filter: evt.Meta.k == 'u'\nscope:\n  type: username\n"
			       "  expression: evt.Meta.user\n"), "load"))
		goto out;
	ASSERT_OK(pour_kv(b, "2026-01-01T00:00:00+02:00",
			  (const char *const[]){ "source_ip", "198.51.100.7", "SourceRange",
						 "198.51.100.7/24", "k", "r", NULL },
			  (const char *const[]){ "IsoCode", "FR", "ASNNumber", "64500", NULL }),
		  "pour");
	ASSERT_EQ(s.n, 1, "range trigger");
	ASSERT_TRUE(check(&s, 0, "o.Overflow.GetSources() == ['198.51.100.0/24'] && "
				 "o.Overflow.Alert.Source.IP == '198.51.100.7' && "
				 "o.Overflow.Alert.Source.Range == '198.51.100.0/24' && "
				 "o.Overflow.Alert.Source.Cn == 'FR' && o.Overflow.Alert.Source.AsNumber == '64500' && "
				 "o.Overflow.Alert.GetScope() == 'Range' && "
				 "o.Overflow.Alert.StartAt == '2026-01-01T00:00:00+02:00' && "
				 "o.Overflow.Alert.Message endsWith 'at 2026-01-01 00:00:00 +0200 +0200'"),
		    "Range source, zone kept");
	pour(b, "192.0.2.1", 0, "k", "u");
	if (!ASSERT_EQ(s.n, 2, "custom scope trigger"))
		goto out;
	ASSERT_TRUE(check(&s, 1, "o.Overflow.GetSources() == [''] && "
				 "o.Overflow.Alert.GetScope() == 'username'"), "custom scope: the expression's value (missing key: '')");
	a = json_array_get(s.last_json, 0);
	ASSERT_TRUE(json_is_true(json_object_get(a, "simulated")), "simulated scenario");
	ASSERT_TRUE(!json_object_get(json_object_get(a, "source"), "ip"), "custom scope: no ip");
out:
	cs_buckets_free(b);
	sink_reset(&s);
}

/* remediation: only the YAML boolean true counts, a quoted "true" is a string (pitfall 16). */
static void test_remediation_label(void)
{
	static const struct {
		const char *label;
		bool want;
	} cases[] = { { "true", true }, { "yes", true }, { "\"true\"", false }, { "false", false },
		      { "1", false } };
	char y[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sink s;
		struct cs_buckets *b;

		snprintf(y, sizeof(y), "type: trigger\nname: t/r\ndescription: d\nfilter: 'true'\n"
				       "labels:\n  remediation: %s\n", cases[i].label);
		b = engine(&s, CS_BUCKET_REPLAY, y, 0);
		if (!b)
			continue;
		pour(b, "192.0.2.1", 0, NULL, NULL);
		ASSERT_TRUE(check(&s, 0, cases[i].want ? "o.Overflow.Alert.Remediation"
						       : "!o.Overflow.Alert.Remediation"),
			    cases[i].label);
		cs_buckets_free(b);
		sink_reset(&s);
	}
}

static void test_load_errors(void)
{
	static const struct {
		const char *yaml, *want;
	} bad[] = {
		{ "type: leaky\nname: x\ndescription: d\nfilter: 'true'\nleakspeed: 1s\n",
		  "t.yaml:1: x: bad capacity" },
		{ "type: leaky\nname: x\ndescription: d\nfilter: 'true'\ncapacity: 1\n"
		  "leakspeed: 1s\nbogus: 1\n", "t.yaml:7: unknown key 'bogus'" },
		{ "type: trigger\nname: x\ndescription: d\nfilter: 'evt.Nope'\n",
		  "t.yaml:4: filter:" },
		{ "type: leaky\nname: x\ndescription: d\nfilter: 'true'\ncapacity: 1\n"
		  "leakspeed: 10parsecs\n", "t.yaml:6: 'leakspeed': invalid duration" },
		{ "type: trigger\nname: x\ndescription: d\nfilter: 'true'\nscope:\n  type: user\n",
		  "scope user requires an expression" },
		{ "type: weird\nname: x\ndescription: d\nfilter: 'true'\n", "unknown bucket type" },
		{ "type: trigger\ndescription: d\nfilter: 'true'\n", "without 'name'" },
		{ "type: trigger\nname: x\nfilter: 'true'\n", "'description' is mandatory" },
		{ "a: [\n", "t.yaml:2: YAML" },
	};
	enum log_level lvl = log_get_level();

	log_set_level(LOG_LVL_FATAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cs_buckets *b = NULL;

		if (cs_buckets_new(NULL, &b))
			break;
		ASSERT_TRUE(cs_buckets_load_string(b, "t.yaml", bad[i].yaml) < 0, bad[i].want);
		if (!ASSERT_TRUE(strstr(cs_buckets_last_error(b), bad[i].want) != NULL, bad[i].want))
			fprintf(stderr, "  got: %s\n", cs_buckets_last_error(b));
		ASSERT_EQ(cs_buckets_nscenarios(b), 0, "nothing half-loaded");
		cs_buckets_free(b);
	}
	log_set_level(lvl);
}

static void test_hub_files_load(void)
{
	const char *hub = t_shared("hub");
	char cmd[4096];
	int ok = 0, total = 0;
	FILE *p;
	struct cs_buckets *b = NULL;
	enum log_level lvl = log_get_level();
	char line[4096];

	snprintf(cmd, sizeof(cmd), "ls %s/scenarios/*/*.yaml 2>/dev/null", hub);
	p = popen(cmd, "r");
	if (!p || cs_buckets_new(NULL, &b)) {
		TEST_SKIP(1, "no hub");
		goto out;
	}
	log_set_level(LOG_LVL_FATAL);
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		total++;
		if (!cs_buckets_load_file(b, line, "0.1"))
			ok++;
		else
			fprintf(stderr, "  %s\n", cs_buckets_last_error(b));
	}
	log_set_level(lvl);
	if (!total)
		TEST_SKIP(1, "no hub scenarios");
	else
		ASSERT_EQ(ok, total, "every hub scenario file loads");
out:
	if (p)
		pclose(p);
	cs_buckets_free(b);
}

/*
 * The daemon's loop in miniature: hub parsers, our ssh-bf scenario, LIVE
 * mode on an injected clock, tick() between lines, alerts as JSON.
 */
static void test_live_pipeline(void)
{
	const char *hub = t_shared("hub");
	static const char *const files[][2] = {
		{ "s00-raw", "parsers/s00-raw/crowdsecurity/syslog-logs.yaml" },
		{ "s01-parse", "parsers/s01-parse/crowdsecurity/sshd-logs.yaml" },
		{ "s02-enrich", "parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml" },
	};
	char path[4096], patterns[4096];
	struct cs_parser_opts po = { .patterns_dir = patterns };
	struct cs_parsers *p = NULL;
	struct sink s = { 0 };
	struct cs_bucket_opts o = { .mode = CS_BUCKET_LIVE, .clock = fake_clock,
				    .on_overflow = on_overflow, .on_alert = on_alert, .arg = &s };
	struct cs_buckets *b = NULL;
	json_t *a;

	snprintf(patterns, sizeof(patterns), "%s/patterns", hub);
	if (access(patterns, R_OK) || access("scenarios/crowdsec-xdp/ssh-bf.yaml", R_OK)) {
		TEST_SKIP(1, "no hub or not run from the repository root");
		return;
	}
	if (!ASSERT_OK(cs_parsers_new(&po, &p), "parsers"))
		goto out;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", hub, files[i][1]);
		if (!ASSERT_OK(cs_parsers_load_file(p, files[i][0], path, NULL), files[i][1]))
			goto out;
	}
	if (!ASSERT_OK(cs_parsers_ready(p), "ready") || !ASSERT_OK(cs_buckets_new(&o, &b), "engine") ||
	    !ASSERT_OK(cs_buckets_load_file(b, "scenarios/crowdsec-xdp/ssh-bf.yaml", "0.1"), "ssh-bf"))
		goto out;
	live_now = (struct cs_time){ .sec = 1795600000 };
	for (int i = 0; i < 6; i++) {
		char line[256];
		struct cs_event *e = NULL;

		snprintf(line, sizeof(line),
			 "Nov 25 10:00:0%d host sshd[42]: Failed password for root from 203.0.113.9 "
			 "port 4242 ssh2", i);
		if (cs_event_new(&e) || cs_event_set_line(e, line, strlen(line), "/var/log/auth.log",
							  "file", "syslog")) {
			cs_event_free(e);
			break;
		}
		e->expect_mode = CS_MODE_LIVE;
		if (!cs_parse(p, e, NULL, NULL) && e->process && !e->whitelisted)
			cs_buckets_pour(b, e);
		cs_event_free(e);
		live_now.nsec += 100000000; /* 100 ms apart on the daemon's clock */
		cs_buckets_tick(b);
	}
	if (!ASSERT_EQ(s.nalerts, 1, "6 failures in 0.5 s: one alert"))
		goto out;
	a = json_array_get(s.last_json, 0);
	ASSERT_STREQ(json_string_value(json_object_get(a, "scenario")), "crowdsec-xdp/ssh-bf",
		     "scenario");
	ASSERT_STREQ(json_string_value(json_object_get(a, "scenario_version")), "0.1", "version");
	ASSERT_EQ(json_integer_value(json_object_get(a, "events_count")), 6, "events_count");
	ASSERT_STREQ(json_string_value(json_object_get(a, "start_at")), "2026-11-25T09:46:40Z",
		     "live: times from the injected clock");
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(a, "source"), "value")),
		     "203.0.113.9", "source");
	ASSERT_TRUE(json_is_true(json_object_get(a, "remediation")), "remediation");
	ASSERT_EQ(json_array_size(json_object_get(a, "events")), 6, "events");
out:
	cs_buckets_free(b);
	cs_parsers_free(p);
	sink_reset(&s);
}

/*
 * The hub's impossible-travel (conditional, queue.Queue[-1]/[-2], Distance)
 * with the enrichment GeoIP would have produced: Sydney then New York.
 */
static void test_impossible_travel(void)
{
	const char *hub = t_shared("hub");
	static const struct {
		const char *ip, *lat, *lon;
	} logins[] = { { "192.0.2.1", "-33.86", "151.21" },  /* Sydney */
		       { "192.0.2.1", "-33.87", "151.20" },  /* Sydney again: 1 km */
		       { "198.51.100.2", "40.71", "-74.00" } }; /* New York */
	struct sink s = { 0 };
	struct cs_bucket_opts o = { .mode = CS_BUCKET_REPLAY, .on_overflow = on_overflow, .arg = &s };
	struct cs_buckets *b = NULL;
	char path[4096];

	snprintf(path, sizeof(path), "%s/scenarios/crowdsecurity/impossible-travel.yaml", hub);
	if (access(path, R_OK)) {
		TEST_SKIP(1, "no hub");
		return;
	}
	if (!ASSERT_OK(cs_buckets_new(&o, &b), "engine") ||
	    !ASSERT_OK(cs_buckets_load_file(b, path, NULL), "impossible-travel loads"))
		goto out;
	for (int i = 0; i < 3; i++) {
		char ts[64];

		snprintf(ts, sizeof(ts), "2026-01-01T0%d:00:00Z", i);
		ASSERT_OK(pour_kv(b, ts,
				  (const char *const[]){ "log_type", "auth_success", "service", "ssh",
							 "user", "alice", "source_ip", logins[i].ip,
							 NULL },
				  (const char *const[]){ "Latitude", logins[i].lat, "Longitude",
							 logins[i].lon, NULL }),
			  "pour a login");
		ASSERT_EQ(s.n, i == 2 ? 1 : 0, i == 2 ? "New York 1 h after Sydney" : "same city");
	}
	ASSERT_TRUE(check(&s, 0, "o.Overflow.Alert.GetEventsCount() == 3 && "
				 "len(o.Overflow.GetSources()) == 2 && "
				 "o.Overflow.Alert.Message startsWith 'Ip 2 sources performed'"),
		    "both addresses are sources");
out:
	cs_buckets_free(b);
	sink_reset(&s);
}

/* The project's own scenarios load as a directory. */
static void test_load_dir(void)
{
	struct cs_buckets *b = NULL;

	if (access("scenarios/crowdsec-xdp", R_OK)) {
		TEST_SKIP(1, "not run from the repository root");
		return;
	}
	if (!ASSERT_OK(cs_buckets_new(NULL, &b), "engine"))
		return;
	ASSERT_OK(cs_buckets_load_dir(b, "scenarios/crowdsec-xdp"), "load dir");
	ASSERT_EQ(cs_buckets_nscenarios(b), 9, "nine default scenarios");
	ASSERT_STREQ(cs_buckets_scenario_name(b, 0), "crowdsec-xdp/http-404-probing", "name order");
	ASSERT_TRUE(cs_buckets_load_dir(b, "/nonexistent") == -ENOENT, "missing dir");
	cs_buckets_free(b);
}

static const struct engine_test engine_tests[] = {
	{ test_leaky_burst, CS_BUCKET_REPLAY, LEAKY_5_10S, 0 },
	{ test_alert_event_many_meta, CS_BUCKET_REPLAY, LEAKY_5_10S, 0 },
	{ test_route_guard, CS_BUCKET_REPLAY, route_guard_yaml, 0 },
	{ test_route_reads, CS_BUCKET_REPLAY, route_reads_yaml, 0 },
	{ test_leak_arithmetic, CS_BUCKET_REPLAY, LEAKY_5_10S, 0 },
	{ test_replay_expiry, CS_BUCKET_REPLAY, LEAKY_5_10S, 0 },
	{ test_known_time, CS_BUCKET_REPLAY, LEAKY_5_10S, 0 },
	{ test_trigger_blackhole, CS_BUCKET_REPLAY, blackhole_yaml, 0 },
	{ test_trigger_blackhole, CS_BUCKET_REPLAY, blackhole_long_key_yaml, 0 },
	{ test_replay_no_log_time, CS_BUCKET_REPLAY, no_log_time_yaml, 0 },
	{ test_distinct, CS_BUCKET_REPLAY, distinct_yaml, 0 },
	{ test_shared_bucket_key, CS_BUCKET_REPLAY, shared_bucket_key_yaml, 0 },
	{ test_cache_size, CS_BUCKET_REPLAY, cache_size_yaml, 0 },
	{ test_counter, CS_BUCKET_LIVE, counter_yaml, 0 },
	{ test_counter_replay, CS_BUCKET_REPLAY, counter_yaml, 0 },
	{ test_conditional, CS_BUCKET_REPLAY, conditional_yaml, 0 },
	{ test_bayesian_guillotine, CS_BUCKET_REPLAY, BAYES_YAML("true"), 0 },
	{ test_bayesian, CS_BUCKET_REPLAY, BAYES_YAML("false"), 0 },
	{ test_overflow_filter, CS_BUCKET_REPLAY, overflow_filter_yaml, 0 },
	{ test_reprocess_meta, CS_BUCKET_REPLAY, reprocess_meta_yaml, 0 },
	{ test_bucket_cap, CS_BUCKET_REPLAY, LEAKY_5_10S, 1000 },
	{ test_live_tick, CS_BUCKET_LIVE, LEAKY_5_10S, 0 },
	{ test_json, CS_BUCKET_REPLAY, json_yaml, 0 },
	{ test_render_lines, CS_BUCKET_REPLAY, render_lines_yaml, 0 },
	{ test_set_target, CS_BUCKET_REPLAY, set_target_yaml, 0 },
};

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	log_set_level(LOG_LVL_ERROR);
	run_engine_tests(engine_tests, sizeof(engine_tests) / sizeof(engine_tests[0]));
	test_route_index();
	test_route_prefilter();
	test_limiter_boundaries();
	test_blackhole_cap();
	test_event_budget();
	test_event_budget_spares_compact();
	test_queued_gauge_sums_shards();
	test_scopes();
	test_postoverflow_whitelist();
	test_remediation_label();
	test_load_errors();
	test_hub_files_load();
	test_load_dir();
	test_live_pipeline();
	test_impossible_travel();
	expr_cleanup();
	return TEST_SUMMARY();
}
