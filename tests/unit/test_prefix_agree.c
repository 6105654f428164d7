// SPDX-License-Identifier: MIT
/*
 * "What is this address or range" has one answer: the same table of inputs goes
 * to every entry point that takes an address or a range from outside (common's
 * parser in both policies, the bouncer's decision reader, the expr helpers, the
 * decision store, the parser's whitelists), and each must agree with the table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bouncer/fetcher.h"
#include "common/ipaddr.h"
#include "common/log.h"
#include "common/strmap.h"
#include "db/db.h"
#include "expr/expr.h"
#include "parser/event.h"
#include "parser/parser.h"
#include "../lib/test.h"

struct row {
	const char *text;
	const char *masked; /* what a range becomes (CS_PREFIX_MASK), NULL: refused */
	int strict;	    /* what CS_PREFIX_STRICT answers: 0, -EDOM (host bits), -ERANGE, -EINVAL */
	const char *inside, *outside; /* probe addresses (when masked != NULL) */
};

static const struct row rows[] = {
	{ "198.18.0.1", "198.18.0.1/32", 0, "198.18.0.1", "198.18.0.2" },
	{ "198.18.0.1/32", "198.18.0.1/32", 0, "198.18.0.1", "198.18.0.2" },
	{ "198.18.0.0/24", "198.18.0.0/24", 0, "198.18.0.77", "198.18.1.0" },
	{ "198.18.0.77/24", "198.18.0.0/24", -EDOM, "198.18.0.1", "198.18.1.0" },
	{ "198.18.100.1/31", "198.18.100.0/31", -EDOM, "198.18.100.0", "198.18.100.2" },
	{ "198.18.0.1/0", "0.0.0.0/0", -EDOM, "203.0.113.9", "2001:db8::1" },
	{ "0.0.0.0/0", "0.0.0.0/0", 0, "198.18.0.1", "2001:db8::1" },
	{ "198.18.0.0/33", NULL, -ERANGE, NULL, NULL },
	{ "2001:db8::1", "2001:db8::1/128", 0, "2001:db8::1", "2001:db8::2" },
	{ "2001:db8::/32", "2001:db8::/32", 0, "2001:db8:ffff::1", "2001:db9::1" },
	{ "2001:db8::1/64", "2001:db8::/64", -EDOM, "2001:db8::ffff", "2001:db8:0:1::1" },
	{ "2001:db8::/129", NULL, -ERANGE, NULL, NULL },
	{ "2001:DB8:0:0::/64", "2001:db8::/64", 0, "2001:db8::1", "2001:db8:0:1::1" },
	{ "2001:db8:::1", NULL, -EINVAL, NULL, NULL },
	{ "::/0", "::/0", 0, "2001:db8::1", "198.18.0.1" },
	{ "::ffff:198.18.0.1", "198.18.0.1/32", 0, "198.18.0.1", "198.18.0.2" },
	{ "::ffff:198.18.0.9/120", "198.18.0.0/24", -EDOM, "198.18.0.200", "198.18.1.1" },
	{ "::ffff:198.18.0.0/64", NULL, -ERANGE, NULL, NULL },
	{ "198.18.0.0/", NULL, -EINVAL, NULL, NULL },
	{ "198.18.0.0/ 8", NULL, -EINVAL, NULL, NULL },
	{ "198.18.0.0/-1", NULL, -EINVAL, NULL, NULL },
	{ "198.18.0", NULL, -EINVAL, NULL, NULL },
	{ "198.18.0.0/+8", NULL, -EINVAL, NULL, NULL },
	{ "198.18.0.0/0x8", NULL, -EINVAL, NULL, NULL },
	{ "198.18.0.256", NULL, -EINVAL, NULL, NULL },
	{ "198.018.0.1", NULL, -EINVAL, NULL, NULL },
	{ "fe80::1%eth0", NULL, -EINVAL, NULL, NULL },
	{ "", NULL, -EINVAL, NULL, NULL },
	{ "/24", NULL, -EINVAL, NULL, NULL },
	{ "banana", NULL, -EINVAL, NULL, NULL },
	{ "1.2.3.4; DROP TABLE decisions", NULL, -EINVAL, NULL, NULL },
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static bool has_len(const struct row *r)
{
	return strchr(r->text, '/') != NULL;
}

static void test_common(void)
{
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];
		char buf[CS_PREFIX_STRLEN] = "";
		struct cs_prefix p;
		int err = cs_prefix_parse(r->text, CS_PREFIX_MASK, &p);

		if (!err)
			cs_prefix_format(&p, true, buf, sizeof(buf));
		ASSERT_STREQ(err ? NULL : buf, r->masked, r->text);
		err = cs_prefix_parse(r->text, CS_PREFIX_STRICT, &p);
		ASSERT_EQ(err, r->strict, r->text);
		if (!err) { /* the short form: a host without its length */
			char want[CS_PREFIX_STRLEN];

			snprintf(want, sizeof(want), "%.*s", (int)strcspn(r->masked, "/"), r->masked);
			cs_prefix_format(&p, false, buf, sizeof(buf));
			ASSERT_STREQ(buf, cs_prefix_is_host(&p) ? want : r->masked, r->text);
		}
		err = cs_addr_parse(r->text, &p);
		ASSERT_EQ(err == 0, r->masked && !has_len(r), r->text);
	}
}

/* The bouncer enforces what it reads from the stream: a Range masked, an Ip as is. */
static void test_bouncer(void)
{
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];
		char buf[CS_PREFIX_STRLEN] = "";
		struct cs_prefix p;
		int err = fetcher_decision_prefix("Range", r->text, &p);

		if (!err)
			cs_prefix_format(&p, true, buf, sizeof(buf));
		ASSERT_STREQ(err ? NULL : buf, r->masked, r->text);
		err = fetcher_decision_prefix("Ip", r->text, &p);
		ASSERT_EQ(err == 0, r->masked && !has_len(r), r->text);
	}
}

static bool eval_bool(const struct expr_env *env, const char *fmt, const char *a, const char *b)
{
	char src[256];
	struct expr_prog *prog = NULL;
	struct expr_value v = expr_nil();
	bool res;

	snprintf(src, sizeof(src), fmt, a, b);
	if (expr_compile(env, src, &prog, NULL) || expr_eval(prog, NULL, NULL, &v, NULL)) {
		expr_prog_free(prog);
		return false;
	}
	res = v.kind == EXPR_BOOL && v.b;
	expr_value_release(&v);
	expr_prog_free(prog);
	return res;
}

/* IpInRange (net.ParseCIDR) and IsIP (net.ParseIP) agree with the table. */
static void test_expr(void)
{
	struct expr_env *env = expr_env_new();

	if (!ASSERT_TRUE(env && !expr_env_add_helpers(env, EXPR_HELPERS_CROWDSEC), "env"))
		return;
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];
		bool range_ok = r->masked && has_len(r);

		ASSERT_EQ(eval_bool(env, "IsIP('%s')", r->text, NULL), r->masked && !has_len(r),
			  r->text);
		if (!r->masked) {
			ASSERT_TRUE(!eval_bool(env, "IpInRange('198.18.0.1', '%s')", r->text, NULL),
				    r->text);
			continue;
		}
		ASSERT_EQ(eval_bool(env, "IpInRange('%s', '%s')", r->inside, r->text), range_ok,
			  r->text);
		ASSERT_TRUE(!eval_bool(env, "IpInRange('%s', '%s')", r->outside, r->text), r->text);
	}
	expr_env_free(env);
}

/* A Range decision stored with this value bans exactly the table's prefix. */
static void test_store(void)
{
	char path[] = "/tmp/test_prefix_agree.XXXXXX";
	int fd = mkstemp(path);
	struct cs_db *db = NULL;
	const int64_t t0 = 1795590000LL * 1000000000LL;

	if (fd >= 0)
		close(fd);
	if (!ASSERT_OK(cs_db_open(path, &db), "db open"))
		goto out;
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];
		const int64_t now = t0 + (int64_t)i * 3600 * 1000000000LL; /* counts what is newer */
		struct cs_alert a = { .scenario = "t", .src_scope = "Range", .start_at = now,
				      .stop_at = now };
		struct cs_decision d = { .scope = "Range", .value = (char *)r->text,
					 .origin = "cscli", .type = "ban", .scenario = "t",
					 .duration = 3600LL * 1000000000LL };
		struct cs_alert *ap = &a;
		long in = -1, out = -1;
		int64_t id;
		int err;

		a.src_value = (char *)r->text;
		a.decisions = &d;
		a.n_decisions = 1;
		err = cs_db_alerts_insert(db, &ap, 1, NULL, now, &id);
		ASSERT_EQ(err == 0, r->masked != NULL, r->text);
		if (err)
			continue;
		cs_db_decisions_count_ip(db, r->inside, now, &in);
		cs_db_decisions_count_ip(db, r->outside, now, &out);
		ASSERT_EQ(in, 1, r->text);
		ASSERT_EQ(out, 0, r->text);
	}
out:
	cs_db_close(db);
	unlink(path);
	for (const char *sfx = "-wal"; sfx; sfx = strcmp(sfx, "-wal") ? NULL : "-shm") {
		char side[64];

		snprintf(side, sizeof(side), "%s%s", path, sfx);
		unlink(side);
	}
}

/* A whitelist `cidr:` entry loads when the table masks it, and covers what it covers. */
static bool whitelisted(struct cs_parsers *p, const char *ip)
{
	struct cs_event *e = NULL;
	bool wl;

	if (cs_event_new(&e))
		return false;
	cs_event_set_line(e, "x", 1, "t", "file", "syslog");
	strmap_set(e->meta, "source_ip", ip);
	wl = !cs_parse(p, e, NULL, NULL) && e->whitelisted;
	cs_event_free(e);
	return wl;
}

static void test_whitelist(void)
{
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];
		struct cs_parser_opts o = { 0 };
		struct cs_parsers *p = NULL;
		char yaml[256];
		int err;

		if (!r->text[0] || strchr(r->text, '\'') || strchr(r->text, ';'))
			continue; /* YAML would read those as something else */
		snprintf(yaml, sizeof(yaml),
			 "name: t/wl\nwhitelist:\n  reason: t\n  %s: ['%s']\n",
			 has_len(r) ? "cidr" : "ip", r->text);
		if (!ASSERT_OK(cs_parsers_new(&o, &p), "parsers"))
			return;
		err = cs_parsers_load_string(p, "s02-enrich", "wl.yaml", yaml);
		ASSERT_EQ(err == 0, r->masked != NULL, r->text);
		if (!err) {
			ASSERT_TRUE(whitelisted(p, r->inside), r->text);
			ASSERT_TRUE(!whitelisted(p, r->outside), r->text);
		}
		cs_parsers_free(p);
	}
}

int main(void)
{
	log_set_level(LOG_LVL_FATAL);
	test_common();
	test_bouncer();
	test_expr();
	test_store();
	test_whitelist();
	return TEST_SUMMARY();
}
