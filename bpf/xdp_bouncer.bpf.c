// SPDX-License-Identifier: GPL-2.0-only
/*
 * The data plane: one XDP program that drops packets whose source address is on the
 * ban list and passes everything else. Whatever it cannot parse it passes (fail
 * open) and counts; the kernel stack deals with real garbage. Every verdict goes
 * through account(), so no packet is uncounted.
 *
 * The ban list for each family is a host hash (exact /32, /128) in front of an LPM
 * trie (ranges); see bouncer_maps.h for why. Userspace owns the contents; this
 * program only reads them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bouncer_maps.h"
#include "parsing.h"

char LICENSE[] SEC("license") = "GPL";

/* Load-time knobs, set by the loader between open and load. */
const volatile bool dry_run = false;	    /* count would-be drops, pass them */
const volatile bool enforce_expiry = true; /* a ban past expires_ns no longer drops */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_DEFAULT_MAX_HOSTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* IPv4 address, network byte order */
	__type(value, struct cs_ban);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cs_hosts_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, CS_DEFAULT_MAX_RANGES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cs_lpm_v4);
	__type(value, struct cs_ban);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cs_ranges_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_DEFAULT_MAX_HOSTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cs_host_v6);
	__type(value, struct cs_ban);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cs_hosts_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, CS_DEFAULT_MAX_RANGES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cs_lpm_v6);
	__type(value, struct cs_ban);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cs_ranges_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_STAT_MAX);
	__type(key, __u32);
	__type(value, struct cs_stat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cs_stats SEC(".maps");

static __always_inline int account(struct xdp_md *ctx, __u32 idx, int verdict)
{
	struct cs_stat *st = bpf_map_lookup_elem(&cs_stats, &idx);

	if (st) {
		st->packets++;
		st->bytes += ctx->data_end - ctx->data;
	}
	return verdict;
}

static __always_inline bool ban_live(const struct cs_ban *ban)
{
	if (ban->type != CS_TYPE_BAN)
		return false;
	return !enforce_expiry || !ban->expires_ns || ban->expires_ns > bpf_ktime_get_boot_ns();
}

static __always_inline int drop(struct xdp_md *ctx, const struct cs_ban *ban)
{
	__u32 origin = ban->origin < CS_ORIGIN_MAX ? ban->origin : CS_ORIGIN_OTHER;

	if (dry_run)
		return account(ctx, CS_STAT_PASS_DRY_RUN, XDP_PASS);
	return account(ctx, CS_STAT_DROP_BASE + origin, XDP_DROP);
}

/*
 * host_key points into the LPM key (its address part), so one key serves both
 * lookups. A matching entry that no longer drops (expired, or not a ban) still
 * lets a covering range decide, and is counted apart if nothing drops.
 */
static __always_inline int lookup_source(struct xdp_md *ctx, void *hosts, void *ranges,
					 void *host_key, void *lpm_key)
{
	struct cs_ban *ban;
	bool stale = false;

	ban = bpf_map_lookup_elem(hosts, host_key);
	if (ban) {
		if (ban_live(ban))
			return drop(ctx, ban);
		stale = true;
	}
	ban = bpf_map_lookup_elem(ranges, lpm_key);
	if (ban) {
		if (ban_live(ban))
			return drop(ctx, ban);
		stale = true;
	}
	return account(ctx, stale ? CS_STAT_PASS_INACTIVE : CS_STAT_PASS, XDP_PASS);
}

static __always_inline int check_v4(struct xdp_md *ctx, struct iphdr *iph)
{
	struct cs_lpm_v4 key = { .prefixlen = 32 };

	__builtin_memcpy(key.addr, &iph->saddr, sizeof(key.addr));
	return lookup_source(ctx, &cs_hosts_v4, &cs_ranges_v4, key.addr, &key);
}

static __always_inline int check_v6(struct xdp_md *ctx, struct ipv6hdr *ip6h)
{
	struct cs_lpm_v6 key = { .prefixlen = 128 };

	__builtin_memcpy(key.addr, &ip6h->saddr, sizeof(key.addr));
	return lookup_source(ctx, &cs_hosts_v6, &cs_ranges_v6, key.addr, &key);
}

SEC("xdp")
int xdp_crowdsec(struct xdp_md *ctx)
{
	struct hdr_cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	int h_proto;

	h_proto = parse_ethhdr_vlan(&c);
	if (h_proto < 0)
		return account(ctx, CS_STAT_PASS_UNPARSED, XDP_PASS);

	if (h_proto == bpf_htons(ETH_P_IP)) {
		iph = parse_iphdr(&c);
		if (!iph)
			return account(ctx, CS_STAT_PASS_UNPARSED, XDP_PASS);
		return check_v4(ctx, iph);
	}
	if (h_proto == bpf_htons(ETH_P_IPV6)) {
		ip6h = parse_ipv6hdr(&c);
		if (!ip6h)
			return account(ctx, CS_STAT_PASS_UNPARSED, XDP_PASS);
		return check_v6(ctx, ip6h);
	}
	return account(ctx, CS_STAT_PASS_NOT_IP, XDP_PASS);
}
