// SPDX-License-Identifier: MIT
/*
 * Range encoding: an address or CIDR as CrowdSec's five range integers.
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

void range_encode(struct cs_range *r, int fam, uint64_t hi, uint64_t lo, int plen)
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

static int range_raw(const char *text, int *fam, uint64_t *hi, uint64_t *lo, int *plen)
{
	char buf[80], *slash, *end;
	unsigned char a[16];
	long len = -1;

	if (!text || strlen(text) >= sizeof(buf) || !*text)
		return -EINVAL;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash) {
		*slash++ = '\0';
		if (*slash < '0' || *slash > '9')
			return -EINVAL;
		errno = 0;
		len = strtol(slash, &end, 10);
		if (errno || *end || len < 0 || len > 128)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, a) == 1) {
		if (len > 32)
			return -EINVAL;
		*fam = AF_INET;
		*hi = 0;
		*lo = (uint64_t)a[0] << 24 | (uint64_t)a[1] << 16 | (uint64_t)a[2] << 8 | a[3];
		*plen = len < 0 ? 32 : (int)len;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, a) != 1)
		return -EINVAL;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (!memcmp(a, mapped, 12)) {
		*fam = AF_INET;
		*hi = 0;
		*lo = (uint64_t)a[12] << 24 | (uint64_t)a[13] << 16 | (uint64_t)a[14] << 8 | a[15];
		if (len >= 0 && len < 96)
			return -EINVAL;
		*plen = len < 0 ? 32 : (int)len - 96;
		return 0;
	}
	*fam = AF_INET6;
	*hi = *lo = 0;
	for (int i = 0; i < 8; i++) {
		*hi = *hi << 8 | a[i];
		*lo = *lo << 8 | a[8 + i];
	}
	*plen = len < 0 ? 128 : (int)len;
	return 0;
}

int cs_range_parse(const char *text, struct cs_range *out)
{
	uint64_t hi, lo;
	int fam, plen, err;

	memset(out, 0, sizeof(*out));
	err = range_raw(text, &fam, &hi, &lo, &plen);
	if (err)
		return err;
	range_encode(out, fam, hi, lo, plen);
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

bool scope_is_addr(const char *scope)
{
	return scope && (!strcasecmp(scope, "ip") || !strcasecmp(scope, "range"));
}
