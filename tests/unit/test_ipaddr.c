// SPDX-License-Identifier: MIT
/*
 * Prefix containment and the other rules every component shares; what parses
 * and how is test_prefix_agree's table, fed to every entry point.
 */
#include <arpa/inet.h>
#include <errno.h>

#include "common/ipaddr.h"
#include "../lib/test.h"

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
	test_contains();
	return TEST_SUMMARY();
}
