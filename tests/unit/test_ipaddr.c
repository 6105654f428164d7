// SPDX-License-Identifier: MIT
/* Prefix parsing and containment: the rules every component shares. */
#include <arpa/inet.h>
#include <errno.h>

#include "common/ipaddr.h"
#include "../lib/test.h"

struct parse_case {
	const char *text;
	int err;
	int family;
	int plen;
	const char *canonical; /* cs_prefix_format(always_len=false) */
};

static const struct parse_case parse_cases[] = {
	{ "198.18.0.1", 0, AF_INET, 32, "198.18.0.1" },
	{ "198.18.0.1/32", 0, AF_INET, 32, "198.18.0.1" },
	{ "198.18.0.0/24", 0, AF_INET, 24, "198.18.0.0/24" },
	{ "0.0.0.0/0", 0, AF_INET, 0, "0.0.0.0/0" },
	{ "198.18.0.1/24", -EDOM, 0, 0, NULL },
	{ "198.18.0.0/33", -ERANGE, 0, 0, NULL },
	{ "198.18.0.0/", -EINVAL, 0, 0, NULL },
	{ "198.18.0.0/-1", -EINVAL, 0, 0, NULL },
	{ "198.18.0.0/ 8", -EINVAL, 0, 0, NULL },
	{ "198.18.0.0/0x8", -EINVAL, 0, 0, NULL },
	{ "198.18.0", -EINVAL, 0, 0, NULL },
	{ "198.18.0.256", -EINVAL, 0, 0, NULL },
	{ "", -EINVAL, 0, 0, NULL },
	{ "/24", -EINVAL, 0, 0, NULL },
	{ "banana", -EINVAL, 0, 0, NULL },
	{ "2001:db8::1", 0, AF_INET6, 128, "2001:db8::1" },
	{ "2001:db8::/32", 0, AF_INET6, 32, "2001:db8::/32" },
	{ "2001:DB8:0:0::/64", 0, AF_INET6, 64, "2001:db8::/64" },
	{ "2001:db8::1/64", -EDOM, 0, 0, NULL },
	{ "2001:db8::/129", -ERANGE, 0, 0, NULL },
	{ "2001:db8:::1", -EINVAL, 0, 0, NULL },
	{ "::/0", 0, AF_INET6, 0, "::/0" },
};

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct cs_prefix p;
		char buf[CS_PREFIX_STRLEN];
		int err = cs_prefix_parse(c->text, CS_PREFIX_STRICT, &p);

		if (!ASSERT_EQ(err, c->err, c->text) || err)
			continue;
		ASSERT_EQ(p.family, c->family, c->text);
		ASSERT_EQ(p.plen, c->plen, c->text);
		ASSERT_OK(cs_prefix_format(&p, false, buf, sizeof(buf)), c->text);
		ASSERT_STREQ(buf, c->canonical, c->text);
	}
}

static bool contains(const char *outer, const char *inner)
{
	struct cs_prefix o, i;

	if (cs_prefix_parse(outer, CS_PREFIX_STRICT, &o) ||
	    cs_prefix_parse(inner, CS_PREFIX_STRICT, &i))
		return false;
	return cs_prefix_contains(&o, &i);
}

static void test_contains(void)
{
	ASSERT_TRUE(contains("198.18.0.0/24", "198.18.0.77"), "/24 holds host");
	ASSERT_TRUE(contains("198.18.0.0/24", "198.18.0.128/25"), "/24 holds /25");
	ASSERT_TRUE(!contains("198.18.0.0/25", "198.18.0.128"), "/25 misses upper half");
	ASSERT_TRUE(!contains("198.18.0.0/25", "198.18.0.0/24"), "narrow can't hold wide");
	ASSERT_TRUE(contains("198.18.0.1", "198.18.0.1"), "host holds itself");
	ASSERT_TRUE(contains("0.0.0.0/0", "203.0.113.9"), "/0 holds all v4");
	ASSERT_TRUE(!contains("0.0.0.0/0", "2001:db8::1"), "families never mix");
	ASSERT_TRUE(contains("2001:db8::/64", "2001:db8::ffff:1"), "v6 /64 holds host");
	ASSERT_TRUE(!contains("2001:db8::/64", "2001:db8:0:1::1"), "v6 next /64");
	ASSERT_TRUE(contains("2001:db8::/33", "2001:db8:7fff::/48"), "v6 odd length");
	ASSERT_TRUE(!contains("2001:db8::/33", "2001:db8:8000::/48"), "v6 odd length miss");
}

int main(void)
{
	test_parse();
	test_contains();
	return TEST_SUMMARY();
}
