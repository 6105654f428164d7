/* SPDX-License-Identifier: MIT */
/*
 * IPv4/IPv6 addresses and prefixes: parse, format, compare. Shared by the parser,
 * the LAPI, the bouncer and cscli so that "what is a valid range" has one answer.
 * Addresses are kept in network byte order, IPv4 in the first 4 bytes.
 */
#ifndef CS_IPADDR_H
#define CS_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cs_prefix {
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t plen;	  /* 0..32 or 0..128 */
	uint8_t addr[16]; /* network byte order; bytes past the family's size are 0 */
};

#define CS_PREFIX_STRLEN 64 /* "ffff:...:ffff/128" with room to spare */

/* What to do with host bits set past the length ("198.18.0.1/24"). */
enum cs_prefix_policy {
	/* Refuse (-EDOM): the operator typed it, and may have meant another length. */
	CS_PREFIX_STRICT,
	/* Clear them, as Go's net.ParseCIDR does: decisions from a LAPI, hub content. */
	CS_PREFIX_MASK,
};

/*
 * The one parser of "ADDR" (a host: /32 or /128) and "ADDR/LEN" for every module.
 * Addresses as inet_pton takes them (no zone, no leading zeros in IPv4); LEN is
 * 1 to 3 decimal digits. A v4-mapped IPv6 address (::ffff:a.b.c.d) is IPv4, as
 * Go's To4() makes it: its length counts from 96 ("::ffff:198.18.0.0/120" is
 * 198.18.0.0/24), and a length below 96 is out of range. Errors:
 *   -EINVAL  not an address, or a malformed length
 *   -ERANGE  length larger than the family allows
 *   -EDOM    host bits set past the length, with CS_PREFIX_STRICT only
 */
int cs_prefix_parse(const char *text, enum cs_prefix_policy policy, struct cs_prefix *out);
/* An address alone (Go's net.ParseIP): "ADDR/LEN" is -EINVAL; the result is a host. */
int cs_addr_parse(const char *text, struct cs_prefix *out);
/* Shorten p to plen bits, clearing the bits past it: 0 or -ERANGE. */
int cs_prefix_set_len(struct cs_prefix *p, int plen);
/* Human words for the errors above. */
const char *cs_prefix_strerror(int err);

/* "198.18.0.0/24"; a host prints without "/32" unless always_len. */
int cs_prefix_format(const struct cs_prefix *p, bool always_len, char *buf, size_t len);

static inline int cs_prefix_max_len(int family)
{
	return family == 2 /* AF_INET */ ? 32 : 128;
}

static inline bool cs_prefix_is_host(const struct cs_prefix *p)
{
	return p->plen == cs_prefix_max_len(p->family);
}

/* Does `outer` contain every address of `inner` (same family)? */
bool cs_prefix_contains(const struct cs_prefix *outer, const struct cs_prefix *inner);
/* Do the two prefixes share at least one address? */
bool cs_prefix_overlaps(const struct cs_prefix *a, const struct cs_prefix *b);
bool cs_prefix_equal(const struct cs_prefix *a, const struct cs_prefix *b);

#endif /* CS_IPADDR_H */
