// SPDX-License-Identifier: MIT
/*
 * The consensus contract of issue 21, one property a test, on the engine with
 * an injected clock (no sleeps): K distinct reporters, two networks (/24 v4,
 * /48 v6), the window, trust up/down, the safe list, per-reporter rate limits,
 * poisoning (a thousand reporters in one /24; a trusted reporter gone bad;
 * reporting cannot remove a listing), expiry unless re-confirmed, and lists
 * tailored to a member's scenarios.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "central/central.h"
#include "common/gotime.h"
#include "common/log.h"
#include "tests/lib/geoip_fixture.h"
#include "tests/lib/test.h"

#define H (3600LL * NSEC_PER_SEC)
#define T0 (1800000000LL * NSEC_PER_SEC)
#define SSH "crowdsecurity/ssh-bf"
#define HTTP "crowdsecurity/http-probing"

static char dir[] = "/tmp/test_central_XXXXXX";
static int dbn;

/*
 * Database number n (another handle on it: the operator's CLI, a restart):
 * SQLite files, or with CS_TEST_PG_CONNINFO (test_central_pg.sh) PostgreSQL
 * databases cs_central_<n> that the script created.
 */
static struct central *open_nth(int n, const struct central_rules *r)
{
	const char *pg = getenv("CS_TEST_PG_CONNINFO");
	struct central_rules def;
	struct central *c = NULL;
	char path[128], conninfo[512];

	if (!r) {
		central_rules_default(&def);
		r = &def;
	}
	snprintf(path, sizeof(path), "%s/c%d.db", dir, n);
	if (pg)
		snprintf(conninfo, sizeof(conninfo), "%s dbname=cs_central_%d", pg, n);
	if (!ASSERT_OK(central_open(path, pg ? conninfo : NULL, 0, r, &c), "open"))
		return NULL;
	return c;
}

static struct central *open_db(const struct central_rules *r)
{
	return open_nth(dbn++, r);
}

static struct central_ingest_result report_sc(struct central *c, const char *who,
					      const char *from, const char *ip,
					      const char *scenario, int64_t now)
{
	struct cs_central_signal s = { .ip = ip, .scenario = scenario, .scenario_hash = "h",
				       .scenario_version = "1.0", .start_at = now, .stop_at = now };
	struct central_ingest_result res = { 0 };

	ASSERT_OK(central_ingest(c, who, from, &s, 1, now, &res), "ingest");
	return res;
}

static struct central_ingest_result report(struct central *c, const char *who, const char *from,
					   const char *ip, int64_t now)
{
	return report_sc(c, who, from, ip, SSH, now);
}

/* Reporters a, b and c, one in each of 198.18.1-3.0/24, report ip for scenario at
 * now: enough to list it with the default rules. */
static void three_report(struct central *c, const char *ip, const char *scenario, int64_t now)
{
	static const char *const who[] = { "a", "b", "c" };

	for (int i = 0; i < 3; i++) {
		char from[32];

		snprintf(from, sizeof(from), "198.18.%d.1", i + 1);
		report_sc(c, who[i], from, ip, scenario, now);
	}
}

struct pulled {
	char ips[64][64];
	bool deleted[64];
	char scenario[64][64];
	int n;
};

static int collect(const struct central_entry *e, void *arg)
{
	struct pulled *p = arg;

	if (p->n < 64) {
		snprintf(p->ips[p->n], sizeof(p->ips[0]), "%s", e->ip);
		snprintf(p->scenario[p->n], sizeof(p->scenario[0]), "%s",
			 e->scenario ? e->scenario : "");
		p->deleted[p->n] = e->deleted;
		p->n++;
	}
	return 0;
}

static struct pulled pull(struct central *c, const char *member, const char *scenarios,
			  bool startup, int64_t now)
{
	struct pulled p = { 0 };

	ASSERT_OK(central_pull(c, member, scenarios, startup, now, collect, &p), "pull");
	return p;
}

static bool listed(struct central *c, const char *ip, int64_t now)
{
	struct pulled p = pull(c, "observer", SSH "," HTTP, true, now);

	for (int i = 0; i < p.n; i++)
		if (!strcmp(p.ips[i], ip) && !p.deleted[i])
			return true;
	return false;
}

static double trust_of(struct central *c, const char *id)
{
	struct cs_central_reporter r;
	double t = -1;

	if (!cs_db_central_begin(central_store(c))) {
		if (!cs_db_central_reporter_get(central_store(c), id, &r))
			t = r.trust;
		cs_db_central_end(central_store(c), 0);
		cs_central_reporter_clear(&r);
	}
	return t;
}

static void test_k_distinct_reporters(struct central *c)
{
	/* one reporter reporting five times is one reporter */
	for (int i = 0; i < 5; i++)
		report(c, "a", "198.18.1.1", "198.19.0.1", T0 + i);
	report(c, "b", "198.18.2.1", "198.19.0.1", T0 + 10);
	ASSERT_TRUE(!listed(c, "198.19.0.1", T0 + 20), "two reporters do not list");
	ASSERT_EQ(report(c, "c", "198.18.3.1", "198.19.0.1", T0 + 30).listed, 1, "third lists");
	ASSERT_TRUE(listed(c, "198.19.0.1", T0 + 40), "K=3 distinct reporters list");
}

static void test_two_networks(struct central *c)
{
	/* three reporters in one /24 (any number would do) */
	report(c, "a", "198.18.1.1", "198.19.0.2", T0);
	report(c, "b", "198.18.1.2", "198.19.0.2", T0);
	report(c, "c", "198.18.1.200", "198.19.0.2", T0);
	ASSERT_TRUE(!listed(c, "198.19.0.2", T0 + 1), "one /24 does not list");
	/* IPv6: one /48 is one network */
	report(c, "d", "2001:db8:1::1", "198.19.0.3", T0);
	report(c, "e", "2001:db8:1:ffff::2", "198.19.0.3", T0);
	report(c, "f", "2001:db8:1:5::3", "198.19.0.3", T0);
	ASSERT_TRUE(!listed(c, "198.19.0.3", T0 + 1), "one /48 does not list");
	/* a second /48 tips it (0.4 + 0.4 + 0.4 over two networks is 0.8: a third
	 * new reporter elsewhere is needed, or trusted ones) */
	report(c, "g", "2001:db8:2::1", "198.19.0.3", T0 + 2);
	ASSERT_TRUE(!listed(c, "198.19.0.3", T0 + 3), "two networks of new reporters: score 0.8");
	report(c, "h", "2001:db8:3::1", "198.19.0.3", T0 + 4);
	ASSERT_TRUE(listed(c, "198.19.0.3", T0 + 5), "three networks list");
}

static void test_window(struct central *c)
{
	report(c, "a", "198.18.1.1", "198.19.0.4", T0);
	report(c, "b", "198.18.2.1", "198.19.0.4", T0 + 13 * H);
	report(c, "c", "198.18.3.1", "198.19.0.4", T0 + 25 * H); /* a's report is out */
	ASSERT_TRUE(!listed(c, "198.19.0.4", T0 + 25 * H), "reports 25 h apart do not list");
	report(c, "a", "198.18.1.1", "198.19.0.4", T0 + 26 * H);
	ASSERT_TRUE(listed(c, "198.19.0.4", T0 + 26 * H), "three within 24 h list");
}

static void test_trust_moves(struct central *c)
{
	const struct central_rules *r = central_rules(c);
	long n = 0;

	report(c, "a", "198.18.1.1", "198.19.0.5", T0);
	ASSERT_TRUE(trust_of(c, "a") == r->trust_new, "a new reporter starts low");
	report(c, "b", "198.18.2.1", "198.19.0.5", T0);
	report(c, "c", "198.18.3.1", "198.19.0.5", T0);
	ASSERT_TRUE(trust_of(c, "a") > r->trust_new, "confirmed: trust grows");
	ASSERT_TRUE(trust_of(c, "c") > r->trust_new, "the reporter that tipped it too");
	/* late reports of a listed IP do not farm trust */
	double before = trust_of(c, "d");

	report(c, "d", "198.18.4.1", "198.19.0.5", T0 + 1);
	ASSERT_TRUE(trust_of(c, "d") == r->trust_new && before < 0, "a late report earns nothing");
	/* never confirmed: judged after the window */
	report(c, "e", "198.18.5.1", "198.19.0.99", T0);
	double a_before = trust_of(c, "a");

	ASSERT_OK(central_purge(c, T0 + 25 * H, &n), "purge");
	ASSERT_TRUE(trust_of(c, "e") < r->trust_new, "unconfirmed: trust falls");
	ASSERT_TRUE(trust_of(c, "a") == a_before, "confirmed reports are not judged unconfirmed");
	ASSERT_TRUE(trust_of(c, "d") == r->trust_new, "nor late ones");
	/* contradicted: a safe-list address */
	report(c, "f", "198.18.6.1", "10.0.0.1", T0);
	ASSERT_TRUE(trust_of(c, "f") < r->trust_new * 0.5, "safe-list report: trust falls fast");
}

static void test_safe_list(struct central *c)
{
	struct pulled p;
	char why[64];

	ASSERT_OK(central_safe_add(c, "198.19.8.0/24", "crawler", T0), "safe add");
	ASSERT_EQ(central_safe_add(c, "198.19.8.1/24", "", T0), -EDOM, "host bits refused");
	for (int i = 1; i <= 5; i++) {
		char who[8], from[32];

		snprintf(who, sizeof(who), "r%d", i);
		snprintf(from, sizeof(from), "198.18.%d.1", i);
		ASSERT_EQ(report(c, who, from, "198.19.8.8", T0).safe, 1, "counted as safe");
		report(c, who, from, "127.0.0.1", T0); /* built-in reserved */
	}
	ASSERT_TRUE(!listed(c, "198.19.8.8", T0 + 1), "a safe-list address is never listed");
	ASSERT_TRUE(!listed(c, "127.0.0.1", T0 + 1), "nor a reserved one");
	ASSERT_TRUE(central_is_safe(c, "198.19.8.8", why, sizeof(why)), "is_safe");
	/* a listed IP that goes on the safe list leaves every member's list */
	three_report(c, "198.19.9.9", SSH, T0);
	p = pull(c, "m", SSH, true, T0 + 1);
	ASSERT_EQ(p.n, 1, "listed before");
	ASSERT_OK(central_safe_add(c, "198.19.9.0/24", "cdn", T0 + 100 * NSEC_PER_SEC), "safe");
	p = pull(c, "m", SSH, false, T0 + 200 * NSEC_PER_SEC);
	ASSERT_TRUE(p.n == 1 && p.deleted[0], "the delta deletes it");
	ASSERT_OK(central_safe_remove(c, "198.19.9.0/24"), "safe remove");
	ASSERT_EQ(central_safe_remove(c, "198.19.9.0/24"), -ENOENT, "remove twice");
}

static void test_rate_limit(void)
{
	struct central_rules r;
	struct central *c;
	struct cs_central_signal s[10];
	struct central_ingest_result res;
	char ips[10][32];

	central_rules_default(&r);
	r.rate_burst = 5;
	r.rate_per_hour = 3600; /* one a second */
	c = open_db(&r);
	if (!c)
		return;
	for (int i = 0; i < 10; i++) {
		snprintf(ips[i], sizeof(ips[i]), "198.19.1.%d", i + 1);
		s[i] = (struct cs_central_signal){ .ip = ips[i], .scenario = SSH,
						   .scenario_hash = "h", .scenario_version = "1" };
	}
	ASSERT_OK(central_ingest(c, "a", "198.18.1.1", s, 10, T0, &res), "batch");
	ASSERT_TRUE(res.accepted == 5 && res.rate_limited == 5, "burst of 5, then limited");
	ASSERT_OK(central_ingest(c, "a", "198.18.1.1", s, 10, T0 + 3 * NSEC_PER_SEC, &res), "3 s");
	ASSERT_EQ(res.accepted, 3, "refilled at one a second");
	ASSERT_OK(central_ingest(c, "b", "198.18.2.1", s, 10, T0 + 3 * NSEC_PER_SEC, &res), "b");
	ASSERT_EQ(res.accepted, 5, "another reporter has its own bucket");
	central_close(c);
}

static void test_thousand_in_one_net(struct central *c)
{
	struct pulled p;

	for (int i = 0; i < 1000; i++) {
		char who[16], from[32];

		snprintf(who, sizeof(who), "sybil%d", i);
		snprintf(from, sizeof(from), "198.18.7.%d", i % 254 + 1);
		report(c, who, from, "198.19.2.2", T0 + i);
	}
	ASSERT_TRUE(!listed(c, "198.19.2.2", T0 + 2000), "1000 reporters in one /24 do not list");
	/* nor with one honest new reporter elsewhere: a /24 weighs one reporter */
	report(c, "honest", "198.18.100.1", "198.19.2.2", T0 + 2001);
	ASSERT_TRUE(!listed(c, "198.19.2.2", T0 + 2002), "1000 + 1 in two networks: score 0.8");
	p = pull(c, "victim-member", SSH, true, T0 + 2003);
	ASSERT_EQ(p.n, 0, "the bystander is on nobody's list");
}

/* Build a trusted reporter: it helps list `n` IPs with fresh partners. */
static void make_trusted(struct central *c, const char *who, const char *from, int n, int64_t t)
{
	for (int i = 0; i < n; i++) {
		char ip[32], p1[16], p2[16];

		snprintf(ip, sizeof(ip), "198.19.50.%d", i + 1);
		snprintf(p1, sizeof(p1), "pa%d", i);
		snprintf(p2, sizeof(p2), "pb%d", i);
		report(c, who, from, ip, t);
		report(c, p1, "198.18.201.1", ip, t);
		report(c, p2, "198.18.202.1", ip, t);
	}
}

static void test_trusted_reporter_gone_bad(struct central *c)
{
	make_trusted(c, "t", "198.18.10.1", 6, T0);
	ASSERT_TRUE(trust_of(c, "t") >= 0.9, "trusted after six confirmed listings");
	/* it reports safe-list addresses */
	report(c, "t", "198.18.10.1", "10.1.2.3", T0 + 1);
	report(c, "t", "198.18.10.1", "192.168.1.1", T0 + 2);
	ASSERT_TRUE(trust_of(c, "t") < central_rules(c)->trust_min, "no say any more");
	/* t + two new reporters in two networks would have listed before */
	report(c, "t", "198.18.10.1", "198.19.3.3", T0 + 3);
	report(c, "n1", "198.18.11.1", "198.19.3.3", T0 + 3);
	report(c, "n2", "198.18.12.1", "198.19.3.3", T0 + 3);
	ASSERT_TRUE(!listed(c, "198.19.3.3", T0 + 4), "it lost the power to list anything");
}

static void test_reporting_cannot_unlist(struct central *c)
{
	three_report(c, "198.19.4.4", SSH, T0);
	/* the attacker (or its friends) report whatever they like, get blocked... */
	for (int i = 0; i < 20; i++) {
		char who[16];

		snprintf(who, sizeof(who), "x%d", i);
		report(c, who, "198.19.4.4", "198.19.4.4", T0 + i);
		report(c, who, "198.19.4.4", "10.0.0.1", T0 + i);
	}
	ASSERT_OK(central_block(c, "a", true, T0 + 30), "block a reporter");
	ASSERT_TRUE(listed(c, "198.19.4.4", T0 + H), "still listed");
}

static void test_expiry_and_renewal(struct central *c)
{
	int64_t ttl = central_rules(c)->listing_ttl;
	struct pulled p;

	three_report(c, "198.19.5.5", SSH, T0);
	three_report(c, "198.19.6.6", SSH, T0);
	p = pull(c, "m", SSH, true, T0 + 1);
	ASSERT_EQ(p.n, 2, "both listed");
	/* 6.6 is re-confirmed half way */
	three_report(c, "198.19.6.6", SSH, T0 + ttl / 2);
	p = pull(c, "m", SSH, false, T0 + ttl + H);
	/* the renewal is sent again with its new duration, the other one deleted */
	ASSERT_EQ(p.n, 2, "two changes in the delta");
	for (int i = 0; i < p.n; i++)
		ASSERT_TRUE(p.deleted[i] == !strcmp(p.ips[i], "198.19.5.5"),
			    "the unconfirmed one expired, the renewed one is new");
	ASSERT_TRUE(listed(c, "198.19.6.6", T0 + ttl + H), "the re-confirmed one lasts");
	ASSERT_TRUE(!listed(c, "198.19.6.6", T0 + ttl / 2 + ttl + 1), "until its own end");
	p = pull(c, "m", SSH, false, T0 + ttl + H + 1);
	ASSERT_EQ(p.n, 0, "nothing new: an empty delta");
}

static void test_tailored(struct central *c)
{
	struct pulled p;

	three_report(c, "198.19.7.7", HTTP, T0);
	p = pull(c, "ssh-only", SSH, true, T0 + 1);
	ASSERT_EQ(p.n, 0, "a member that runs no http scenario does not get it");
	p = pull(c, "web", "crowdsecurity/other," HTTP, true, T0 + 1);
	ASSERT_TRUE(p.n == 1 && !strcmp(p.scenario[0], HTTP), "a member that runs it does");
	p = pull(c, "none", "", true, T0 + 1);
	ASSERT_EQ(p.n, 0, "no scenarios, no list");
}

static void test_blocked_reporter(struct central *c)
{
	ASSERT_OK(central_block(c, "a", true, T0), "block");
	ASSERT_TRUE(report(c, "a", "198.18.1.1", "198.19.8.1", T0).blocked, "refused");
	report(c, "b", "198.18.2.1", "198.19.8.1", T0);
	report(c, "c", "198.18.3.1", "198.19.8.1", T0);
	ASSERT_TRUE(!listed(c, "198.19.8.1", T0 + 1), "a blocked reporter does not count");
}

/* The server's memory of the window survives a restart: reports made before it
 * count after it, and pending ones are confirmed by the listing they make. */
static void test_restart_keeps_window(void)
{
	int n = dbn++;
	struct central *c = open_nth(n, NULL);
	double t;

	if (!c)
		return;
	report(c, "a", "198.18.1.1", "198.19.10.1", T0);
	report(c, "b", "198.18.2.1", "198.19.10.1", T0 + 1);
	/* a's report of .2 was confirmed before the restart: no second credit */
	report(c, "b", "198.18.2.1", "198.19.10.2", T0 + 2);
	report(c, "c", "198.18.3.1", "198.19.10.2", T0 + 3);
	report(c, "a", "198.18.1.1", "198.19.10.2", T0 + 4);
	central_close(c);
	c = open_nth(n, NULL);
	if (!c)
		return;
	t = trust_of(c, "b");
	ASSERT_TRUE(!listed(c, "198.19.10.1", T0 + 5), "two reports: not listed");
	ASSERT_EQ(report(c, "d", "198.18.4.1", "198.19.10.1", T0 + 6).listed, 1,
		  "the reports from before the restart count");
	ASSERT_TRUE(trust_of(c, "b") > t, "and their reporters are confirmed");
	t = trust_of(c, "c");
	report(c, "d", "198.18.4.1", "198.19.10.2", T0 + 7);
	ASSERT_TRUE(trust_of(c, "c") == t, "a report confirmed before the restart is not again");
	central_close(c);
}

/* The operator's CLI is another handle on the database: the server sees its
 * block and safe list edits at its next batch. */
static void test_operator_elsewhere(void)
{
	int n = dbn++;
	struct central *srv = open_nth(n, NULL), *cli = NULL;

	if (!srv)
		return;
	report(srv, "a", "198.18.1.1", "198.19.11.1", T0);
	report(srv, "b", "198.18.2.1", "198.19.11.1", T0 + 1);
	cli = open_nth(n, NULL);
	if (!cli)
		goto out;
	ASSERT_OK(central_block(cli, "b", true, T0 + 2), "block from the CLI");
	report(srv, "c", "198.18.3.1", "198.19.11.1", T0 + 3);
	ASSERT_TRUE(!listed(srv, "198.19.11.1", T0 + 4), "the server no longer counts b");
	ASSERT_OK(central_safe_add(cli, "198.19.12.0/24", "test", T0 + 5), "safe add from the CLI");
	ASSERT_EQ(report(srv, "e", "198.18.5.1", "198.19.12.7", T0 + 6).safe, 1,
		  "the server sees the safe range");
	ASSERT_OK(central_block(cli, "b", false, T0 + 7), "unblock");
	ASSERT_EQ(report(srv, "a", "198.18.1.1", "198.19.11.1", T0 + 8).listed, 1,
		  "b counts again (a, b, c)");
out:
	central_close(cli);
	central_close(srv);
}

static void test_retention(struct central *c)
{
	long n = 0;

	report(c, "a", "198.18.1.1", "198.19.9.1", T0);
	report(c, "a", "198.18.1.1", "198.19.9.2", T0 + 20 * 24 * H);
	ASSERT_OK(central_purge(c, T0 + 30 * 24 * H + 1, &n), "purge");
	ASSERT_EQ(n, 1, "the signal past 30 days is deleted, the other kept");
}

/* With an ASN database a network is an AS: reporters in several /24s of one AS weigh one. */
static void test_asn_networks(void)
{
	char geo[256];
	struct central *c;

	if (!t_geoip_make_or_skip(geo, sizeof(geo), true, 3))
		return;
	c = open_db(NULL);
	if (c && ASSERT_OK(central_set_geoip(c, geo), "geoip")) {
		/* 198.18.0.0/23 is AS64496 in the fixture: two /24s, one AS */
		report(c, "a", "198.18.0.1", "198.19.20.1", T0);
		report(c, "b", "198.18.1.1", "198.19.20.1", T0);
		report(c, "c", "198.18.1.2", "198.19.20.1", T0);
		ASSERT_TRUE(!listed(c, "198.19.20.1", T0 + 1), "two /24s of one AS are one network");
		report(c, "d", "198.18.4.1", "198.19.20.1", T0 + 2);	/* AS64500 */
		report(c, "e", "2001:db8:9::1", "198.19.20.1", T0 + 3); /* no AS: its /48 */
		ASSERT_TRUE(listed(c, "198.19.20.1", T0 + 4), "three networks (two ASes, a /48) list");
	}
	central_close(c);
	t_geoip_remove(geo);
}

/* A test on a database of its own with the default rules. */
static void with_db(void (*test)(struct central *c))
{
	struct central *c = open_db(NULL);

	if (!c)
		return;
	test(c);
	central_close(c);
}

static void test_judge_pure(void)
{
	struct central_rules r;
	struct central_verdict v;
	struct cs_central_support s[3] = {
		{ .reporter = "a", .net = "n1", .trust = 1.0 },
		{ .reporter = "b", .net = "n2", .trust = 0.05 },
		{ .reporter = "c", .net = "n3", .trust = 0.4, .blocked = true },
	};

	central_rules_default(&r);
	central_judge(&r, s, 3, &v);
	ASSERT_TRUE(!v.listed && v.reporters == 1, "no say below trust_min nor when blocked");
	ASSERT_TRUE(strstr(v.why, "reporter") != NULL, "why names the rule");
}

int main(void)
{
	log_set_level(LOG_LVL_ERROR);
	if (!mkdtemp(dir))
		return 1;
	test_judge_pure();
	with_db(test_k_distinct_reporters);
	with_db(test_two_networks);
	with_db(test_window);
	with_db(test_trust_moves);
	with_db(test_safe_list);
	test_rate_limit();
	with_db(test_thousand_in_one_net);
	with_db(test_trusted_reporter_gone_bad);
	with_db(test_reporting_cannot_unlist);
	with_db(test_expiry_and_renewal);
	with_db(test_tailored);
	with_db(test_blocked_reporter);
	with_db(test_retention);
	test_restart_keeps_window();
	test_operator_elsewhere();
	test_asn_networks();
	for (int i = 0; i < dbn; i++) {
		char p[160];

		snprintf(p, sizeof(p), "%s/c%d.db", dir, i);
		unlink(p);
		snprintf(p, sizeof(p), "%s/c%d.db-wal", dir, i);
		unlink(p);
		snprintf(p, sizeof(p), "%s/c%d.db-shm", dir, i);
		unlink(p);
	}
	rmdir(dir);
	return TEST_SUMMARY();
}
