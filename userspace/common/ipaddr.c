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

static void clear_host_bits(struct cs_prefix *p)
{
	int bytes = cs_prefix_max_len(p->family) / 8;

	for (int i = 0; i < bytes; i++) {
		int keep = p->plen - i * 8;

		if (keep <= 0)
			p->addr[i] = 0;
		else if (keep < 8)
			p->addr[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

static bool has_host_bits(const struct cs_prefix *p)
{
	int bits = cs_prefix_max_len(p->family);

	for (int bit = p->plen; bit < bits; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8)))
			return true;
	return false;
}

/* "::ffff:a.b.c.d" is IPv4 (Go's To4); its length counted from 96. */
static int unmap_v4(struct cs_prefix *p, bool has_len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (p->family != AF_INET6 || memcmp(p->addr, mapped, sizeof(mapped)))
		return 0;
	if (has_len && p->plen < 96)
		return -ERANGE;
	memmove(p->addr, p->addr + 12, 4);
	memset(p->addr + 4, 0, 12);
	p->family = AF_INET;
	p->plen = has_len ? p->plen - 96 : 32;
	return 0;
}

int cs_prefix_parse(const char *text, enum cs_prefix_policy policy, struct cs_prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	size_t alen;
	long plen;
	int err;

	memset(out, 0, sizeof(*out));
	if (!text)
		return -EINVAL;
	slash = strchr(text, '/');
	alen = slash ? (size_t)(slash - text) : strlen(text);
	if (!alen || alen >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';

	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -EINVAL;
	plen = cs_prefix_max_len(out->family);
	if (slash) {
		const char *p = slash + 1;

		/* digits only: no sign, no spaces, no hex, at most 3 of them */
		if (!*p || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p))
			return -EINVAL;
		plen = strtol(p, NULL, 10);
		if (plen > cs_prefix_max_len(out->family))
			return -ERANGE;
	}
	out->plen = (uint8_t)plen;
	err = unmap_v4(out, slash != NULL);
	if (err)
		return err;
	if (!has_host_bits(out))
		return 0;
	if (policy == CS_PREFIX_STRICT)
		return -EDOM;
	clear_host_bits(out);
	return 0;
}

int cs_addr_parse(const char *text, struct cs_prefix *out)
{
	if (text && strchr(text, '/')) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	return cs_prefix_parse(text, CS_PREFIX_STRICT, out);
}

int cs_prefix_set_len(struct cs_prefix *p, int plen)
{
	if (plen < 0 || plen > cs_prefix_max_len(p->family))
		return -ERANGE;
	p->plen = (uint8_t)plen;
	clear_host_bits(p);
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
