// SPDX-License-Identifier: MIT
/* The nftables backend's record of its hosts against a plain bitmap: random puts and
 * deletes over 198.18.0.0/15 (growth and backward-shift deletion included), tags,
 * the two ends of the IPv4 space, IPv6. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "bouncer/nft_hostset.h"
#include "../lib/test.h"

#define SPAN (1U << 17) /* 198.18.0.0/15 */

static struct cs_prefix host(uint32_t i)
{
	struct cs_prefix p = { .family = AF_INET, .plen = 32,
			       .addr = { 198, (uint8_t)(18 + (i >> 16)), (uint8_t)(i >> 8), (uint8_t)i } };

	return p;
}

static struct cs_prefix P(const char *s)
{
	struct cs_prefix p;

	cs_prefix_parse(s, CS_PREFIX_STRICT, &p);
	return p;
}

int main(void)
{
	static uint8_t ref[SPAN];
	struct hostset *h = NULL;
	uint64_t x = 88172645463325252ULL;
	size_t n = 0, bad = 0;
	uint8_t tag = 0;

	if (!ASSERT_OK(hostset_new(&h), "new"))
		return TEST_SUMMARY();
	for (int op = 0; op < 400000; op++) {
		uint32_t i;
		struct cs_prefix p;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		i = (uint32_t)(x >> 20) % SPAN;
		p = host(i);
		if ((x & 3) != 0) { /* puts outnumber deletes: the table grows through 2^17 */
			n += !ref[i];
			ref[i] = (uint8_t)(1 + (op & 127));
			bad += hostset_put(h, &p, ref[i]) != 0;
		} else {
			n -= ref[i] != 0;
			ref[i] = 0;
			hostset_del(h, &p);
		}
	}
	ASSERT_EQ(bad, 0, "every put took");
	ASSERT_EQ(hostset_count(h), n, "count follows puts and deletes");
	bad = 0;
	for (uint32_t i = 0; i < SPAN; i++) {
		struct cs_prefix p = host(i);
		bool there = hostset_get(h, &p, &tag);

		bad += there != (ref[i] != 0) || (there && tag != ref[i]);
	}
	ASSERT_EQ(bad, 0, "membership and tags match the bitmap after 400k operations");

	hostset_clear(h);
	ASSERT_EQ(hostset_count(h), 0, "cleared");
	ASSERT_TRUE(!hostset_get(h, &(struct cs_prefix){ .family = AF_INET, .plen = 32 }, NULL),
		    "0.0.0.0 is not there after a clear (0 is not the empty mark)");
	hostset_put(h, &(struct cs_prefix){ .family = AF_INET, .plen = 32 }, 7);
	ASSERT_TRUE(hostset_get(h, &(struct cs_prefix){ .family = AF_INET, .plen = 32 }, &tag) && tag == 7,
		    "0.0.0.0 kept");
	{
		struct cs_prefix top = P("255.255.255.255"), v6 = P("2001:db8::1"), v6b = P("2001:db8::2");

		hostset_put(h, &top, 9);
		ASSERT_TRUE(hostset_get(h, &top, &tag) && tag == 9, "255.255.255.255 kept");
		hostset_put(h, &v6, 3);
		ASSERT_TRUE(hostset_get(h, &v6, &tag) && tag == 3, "IPv6 host kept");
		ASSERT_TRUE(!hostset_get(h, &v6b, NULL), "another IPv6 host is not");
		hostset_del(h, &v6);
		ASSERT_TRUE(!hostset_get(h, &v6, NULL), "IPv6 host deleted");
		ASSERT_EQ(hostset_count(h), 2, "two IPv4 hosts left");
	}
	hostset_free(h);
	hostset_free(NULL);
	return TEST_SUMMARY();
}
