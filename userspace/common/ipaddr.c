// SPDX-License-Identifier: MIT
#include "common/ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool bits_match(const uint8_t *a, const uint8_t *b, unsigned int nbits)
{
	unsigned int full = nbits / 8, rem = nbits % 8;

	if (memcmp(a, b, full))
		return false;
	if (!rem)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rem))) == 0;
}

int cs_prefix_parse(const char *text, struct cs_prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	size_t alen;
	long plen = -1;
	int max, bytes;

	if (!text)
		return -EINVAL;
	slash = strchr(text, '/');
	alen = slash ? (size_t)(slash - text) : strlen(text);
	if (!alen || alen >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
	} else {
		return -EINVAL;
	}
	max = cs_prefix_max_len(out->family);
	bytes = max / 8;

	if (slash) {
		const char *p = slash + 1;
		char *end;

		/* digits only: no sign, no spaces, no hex, at most 3 of them */
		if (!*p || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p))
			return -EINVAL;
		plen = strtol(p, &end, 10);
		if (plen > max)
			return -ERANGE;
	} else {
		plen = max;
	}
	out->plen = (uint8_t)plen;

	/* Host bits past the length must be zero. */
	for (int bit = (int)plen; bit < bytes * 8; bit++)
		if (out->addr[bit / 8] & (0x80 >> (bit % 8)))
			return -EDOM;
	return 0;
}

const char *cs_prefix_strerror(int err)
{
	switch (err) {
	case -EINVAL:
		return "not an IP address or prefix";
	case -ERANGE:
		return "prefix length out of range";
	case -EDOM:
		return "host bits set past the prefix length";
	default:
		return strerror(-err);
	}
}

int cs_prefix_format(const struct cs_prefix *p, bool always_len, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (!inet_ntop(p->family, p->addr, a, sizeof(a)))
		return -errno;
	if (always_len || !cs_prefix_is_host(p))
		n = snprintf(buf, len, "%s/%u", a, p->plen);
	else
		n = snprintf(buf, len, "%s", a);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

bool cs_prefix_contains(const struct cs_prefix *outer, const struct cs_prefix *inner)
{
	if (outer->family != inner->family || outer->plen > inner->plen)
		return false;
	return bits_match(outer->addr, inner->addr, outer->plen);
}

bool cs_prefix_overlaps(const struct cs_prefix *a, const struct cs_prefix *b)
{
	return cs_prefix_contains(a, b) || cs_prefix_contains(b, a);
}

bool cs_prefix_equal(const struct cs_prefix *a, const struct cs_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}
