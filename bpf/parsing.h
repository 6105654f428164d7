/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Bounds-checked header parsers for the XDP program, in the style of xdp-tools'
 * parsing_helpers.h. Contract: each parse_*() takes a cursor, checks that the whole
 * header lies before data_end, advances the cursor past it and returns the next
 * protocol (host byte order) or -1 when the header is truncated or invalid. The
 * caller never touches packet memory except through a pointer one of these returned.
 */
#ifndef CS_PARSING_H
#define CS_PARSING_H

/* Macros are not in BTF, hence not in vmlinux.h. */
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

#define CS_MAX_VLAN_DEPTH 2
#define CS_IPPROTO_ICMPV6 58

struct hdr_cursor {
	void *pos;
	void *end;
};

static __always_inline bool proto_is_vlan(__u16 h_proto)
{
	return h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD);
}

/* Ethernet plus up to CS_MAX_VLAN_DEPTH 802.1Q/802.1ad tags; returns the inner
 * EtherType in network byte order, or -1. A third tag is reported as unparsed. */
static __always_inline int parse_ethhdr_vlan(struct hdr_cursor *c)
{
	struct ethhdr *eth = c->pos;
	struct vlan_hdr *vlh;
	__u16 h_proto;
	int i;

	if ((void *)(eth + 1) > c->end)
		return -1;
	c->pos = eth + 1;
	h_proto = eth->h_proto;

#pragma unroll
	for (i = 0; i < CS_MAX_VLAN_DEPTH; i++) {
		if (!proto_is_vlan(h_proto))
			break;
		vlh = c->pos;
		if ((void *)(vlh + 1) > c->end)
			return -1;
		h_proto = vlh->h_vlan_encapsulated_proto;
		c->pos = vlh + 1;
	}
	if (proto_is_vlan(h_proto))
		return -1;
	return h_proto;
}

static __always_inline struct iphdr *parse_iphdr(struct hdr_cursor *c)
{
	struct iphdr *iph = c->pos;

	if ((void *)(iph + 1) > c->end)
		return NULL;
	if (iph->version != 4 || iph->ihl < 5)
		return NULL;
	/* Only the fixed part is read (saddr); options and fragments don't matter. */
	return iph;
}

static __always_inline struct ipv6hdr *parse_ipv6hdr(struct hdr_cursor *c)
{
	struct ipv6hdr *ip6h = c->pos;

	if ((void *)(ip6h + 1) > c->end)
		return NULL;
	if (ip6h->version != 6)
		return NULL;
	/* The source is in the fixed header: extension headers and fragment headers
	 * that follow it need no walking to decide on the source. */
	return ip6h;
}

/* IPv6 neighbour discovery (RFC 4861: router/neighbour solicitation and
 * advertisement, ICMPv6 types 133-136) is the link's ARP. Dropping it from a
 * banned address stalls its host's unbanned addresses behind a failed
 * resolution, so it passes like ARP. A hop limit of 255 proves the packet never
 * crossed a router: nothing remote can hide behind this exception. */
static __always_inline bool is_ipv6_neighbour_discovery(struct hdr_cursor *c,
							 struct ipv6hdr *ip6h)
{
	__u8 *type = (__u8 *)(ip6h + 1);

	if (ip6h->nexthdr != CS_IPPROTO_ICMPV6 || ip6h->hop_limit != 255)
		return false;
	if ((void *)(type + 1) > c->end)
		return false;
	return *type >= 133 && *type <= 136;
}

#endif /* CS_PARSING_H */
