// SPDX-License-Identifier: MIT
/*
 * Range encoding: a prefix (parsed by common/ipaddr) as CrowdSec's five range integers.
 */
#include "db/db_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Order-preserving u64 -> i64, clamped at the top like CrowdSec 1.4.6. */
static int64_t u2i(uint64_t u)
{
	const uint64_t half = 0x7fffffffffffffffULL;

	if (u == UINT64_MAX)
		return INT64_MAX;
	if (u >= half)
		return (int64_t)(u - half);
	return -(int64_t)(half - u);
}

static void range_encode(struct cs_range *r, int fam, uint64_t hi, uint64_t lo, int plen)
{
	uint64_t ehi = hi, elo = lo;

	r->plen = plen;
	if (fam == AF_INET) {
		uint32_t mask = plen ? 0xffffffffU << (32 - plen) : 0;

		lo &= mask;
		elo = lo | ~mask;
		elo &= 0xffffffffU;
		r->ip_size = 4;
		r->start_ip = u2i(lo);
		r->end_ip = u2i(elo);
		r->start_suffix = r->end_suffix = u2i(0);
		return;
	}
	if (plen <= 64) {
		uint64_t m = plen ? ~0ULL << (64 - plen) : 0;

		hi &= m;
		ehi = hi | ~m;
		lo = 0;
		elo = ~0ULL;
	} else {
		uint64_t m = ~0ULL << (128 - plen);

		lo &= m;
		ehi = hi;
		elo = lo | ~m;
	}
	r->ip_size = 16;
	r->start_ip = u2i(hi);
	r->start_suffix = u2i(lo);
	r->end_ip = u2i(ehi);
	r->end_suffix = u2i(elo);
}

void cs_range_encode(const struct cs_prefix *p, struct cs_range *out)
{
	uint64_t hi = 0, lo = 0;

	memset(out, 0, sizeof(*out));
	if (p->family == AF_INET) {
		lo = (uint64_t)p->addr[0] << 24 | (uint64_t)p->addr[1] << 16 |
		     (uint64_t)p->addr[2] << 8 | p->addr[3];
	} else {
		for (int i = 0; i < 8; i++) {
			hi = hi << 8 | p->addr[i];
			lo = lo << 8 | p->addr[8 + i];
		}
	}
	range_encode(out, p->family, hi, lo, p->plen);
}

int value_range(const char *value, struct cs_range *out)
{
	struct cs_prefix p;
	int err = cs_prefix_parse(value, CS_PREFIX_MASK, &p);

	if (err)
		return err;
	cs_range_encode(&p, out);
	return 0;
}

const char *cs_scope_normalize(const char *s)
{
	static const char *const known[] = { "Ip", "Range", "Country", "AS" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcasecmp(s, known[i]))
			return known[i];
	return s;
}

void bind_range(struct dbstmt *s, int first, const struct cs_range *r)
{
	bind_int(s, first, r->start_ip);
	bind_int(s, first + 1, r->end_ip);
	bind_int(s, first + 2, r->start_suffix);
	bind_int(s, first + 3, r->end_suffix);
	bind_int(s, first + 4, r->ip_size);
}

bool scope_is_addr(const char *scope)
{
	return scope && (!strcasecmp(scope, "ip") || !strcasecmp(scope, "range"));
}
