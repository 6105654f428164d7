// SPDX-License-Identifier: GPL-2.0-only
/*
 * The data plane: one XDP program that drops packets whose source address is on the
 * ban list and passes everything else. Whatever it cannot parse it passes (fail
 * open) and counts; the kernel stack deals with real garbage. Every verdict goes
 * through account(), so no packet is uncounted.
 *
 * The ban list for each family is a host hash (exact /32, /128) and a range hash
 * keyed by (prefix length, masked address), behind a negative filter, with a host
 * index and a range index per family past it; see bouncer_maps.h for why. Userspace owns the contents; this program only reads them.
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

/*
 * Every map is pinned by name in the pin directory: a restarted bouncer adopts
 * them and `--uninstall` removes them.
 */
#define PINNED_MAP(map_type, max, flags, key_type, value_type)                                     \
	struct {                                                                                   \
		__uint(type, map_type);                                                            \
		__uint(max_entries, max);                                                          \
		__uint(map_flags, flags);                                                          \
		__type(key, key_type);                                                             \
		__type(value, value_type);                                                         \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                                               \
	}

/* The ban lists, hosts and ranges of each family: entries allocated as they come. */
#define BAN_HASH(key_type, max)                                                                    \
	PINNED_MAP(BPF_MAP_TYPE_HASH, max, BPF_F_NO_PREALLOC, key_type, struct cs_ban)
BAN_HASH(struct cs_host_v4, CS_DEFAULT_MAX_HOSTS) cs_hosts_v4 SEC(".maps");
BAN_HASH(struct cs_lpm_v4, CS_DEFAULT_MAX_RANGES) cs_ranges_v4 SEC(".maps");
BAN_HASH(struct cs_host_v6, CS_DEFAULT_MAX_HOSTS) cs_hosts_v6 SEC(".maps");
BAN_HASH(struct cs_lpm_v6, CS_DEFAULT_MAX_RANGES) cs_ranges_v6 SEC(".maps");

/* One element that userspace maps and writes in place (the loader sizes the growing ones). */
#define MMAP_ARRAY(value_type) PINNED_MAP(BPF_MAP_TYPE_ARRAY, 1, BPF_F_MMAPABLE, __u32, value_type)

/* The negative filter's words; the loader sizes it (a power of two). */
MMAP_ARRAY(__u64) cs_filter SEC(".maps");

/* The indexes of each family, hosts and ranges: one bucket type (bouncer_maps.h);
 * the loader sizes them. */
MMAP_ARRAY(struct cs_host_bucket) cs_host_index SEC(".maps"), cs_range_index SEC(".maps");
MMAP_ARRAY(struct cs_host6_bucket) cs_host_index6 SEC(".maps"), cs_range_index6 SEC(".maps");

MMAP_ARRAY(struct cs_filter_cfg) cs_filter_cfg SEC(".maps");

PINNED_MAP(BPF_MAP_TYPE_ARRAY, 1, 0, __u32, struct cs_counts) cs_counts SEC(".maps");
PINNED_MAP(BPF_MAP_TYPE_PERCPU_ARRAY, CS_STAT_MAX, 0, __u32, struct cs_stat) cs_stats SEC(".maps");

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

static __always_inline int drop(struct xdp_md *ctx, __u32 origin)
{
	if (origin >= CS_ORIGIN_MAX)
		origin = CS_ORIGIN_OTHER;
	if (dry_run)
		return account(ctx, CS_STAT_PASS_DRY_RUN, XDP_PASS);
	return account(ctx, CS_STAT_DROP_BASE + origin, XDP_DROP);
}

/* Index of the lowest set bit of a non-zero x (clang 14's BPF backend cannot
 * lower __builtin_ctzll): a binary search on the isolated bit. */
static __always_inline __u32 lowest_bit(__u64 x)
{
	__u64 b = x & -x;
	__u32 n = 0;

#pragma unroll
	for (__u32 half = 32; half > 1; half /= 2) {
		if (b >> half) {
			n += half;
			b >>= half;
		}
	}
	return n + (__u32)(b >> 1);
}

/* A word lacking one of the key's bits: not banned at this length. No filter
 * (not sized yet, or an index out of range) means "maybe": the maps decide. */
static __always_inline bool filter_maybe(__u32 log2, __u64 h)
{
	__u32 idx;
	__u64 *word, bits;

	if (log2 == 0 || log2 > 31)
		return true;
	idx = cs_filter_word(h, log2);
	word = bpf_map_lookup_elem(&cs_filter, &idx);
	if (!word)
		return true;
	bits = cs_filter_bits(h);
	return (*word & bits) == bits;
}

/*
 * Lengths are probed longest first, and the first live ban decides: longest prefix
 * wins. A match that no longer drops (expired, not a ban) lets a shorter covering
 * prefix decide, and is counted apart if nothing drops. IPv6 has up to 129
 * lengths and IPv4 33: a plain loop would have the verifier walk each one, so the
 * lengths are probed from a bpf_loop callback (inlined by the verifier), one
 * length per call. The state is plain data, no pointers, to keep it simple.
 */
struct cs_probe {
	__u64 lens[3];	  /* lengths still to probe (IPv4: lens[0] only) */
	__u32 log2_words;
	bool drop, stale;
	__u8 origin;	  /* of the ban that drops */
};

/* Pops the next length to probe into *plen; false when none is left. */
static __always_inline bool next_len(struct cs_probe *st, __u32 max, __u32 *plen)
{
#pragma unroll
	for (__u32 i = 0; i < 3; i++) {
		__u64 lens = st->lens[i];
		__u32 bit;

		if (!lens)
			continue;
		st->lens[i] = lens & (lens - 1);
		bit = 64 * i + lowest_bit(lens);
		if (bit > max)
			return false;
		*plen = max - bit;
		return true;
	}
	return false;
}

/* 0: go on with shorter lengths; 1: decided (a live ban). */
static __always_inline long probe_result(struct cs_probe *st, const struct cs_ban *ban)
{
	if (!ban)
		return 0;
	if (!ban_live(ban)) {
		st->stale = true;
		return 0;
	}
	st->drop = true;
	st->origin = ban->origin;
	return 1;
}

/* A host index slot that holds the source: 1 a live ban (drop), 0 not one (a shorter
 * length may decide). */
static __always_inline long slot_result(struct cs_probe *p, __u64 expires, __u8 origin, __u8 type)
{
	if (type != CS_TYPE_BAN || (enforce_expiry && expires && expires <= bpf_ktime_get_boot_ns())) {
		p->stale = true;
		return 0;
	}
	p->drop = true;
	p->origin = origin;
	return 1;
}

struct v4_probe {
	struct cs_probe p;
	__u32 addr;
	__u32 log2_host_buckets, log2_range_buckets;
};

#define READ_ONCE(x) (*(const volatile typeof(x) *)&(x))

/*
 * Looks (tag, addr) up in an IPv4 index bucket b: tag 1 in the host index, the
 * prefix length in the range index (bouncer_maps.h).
 * 1 decided, 0 not a live ban at this length (go on with shorter ones), -1 ask the
 * hash (no bucket, an overflowed bucket, or a slot that changed while read).
 */
static __always_inline long index_slot4(struct cs_probe *p, const struct cs_host_bucket *b,
					__u8 tag, __u32 addr)
{
	if (!b)
		return -1;
#pragma unroll
	for (int i = 0; i < CS_HOST_SLOTS; i++) {
		__u64 expires;
		__u8 origin, type;

		if (READ_ONCE(b->used[i]) != tag || READ_ONCE(*(__u32 *)b->addr[i]) != addr)
			continue;
		expires = READ_ONCE(b->expires_ns[i]);
		origin = READ_ONCE(b->origin[i]);
		type = READ_ONCE(b->type[i]);
		if (READ_ONCE(b->used[i]) != tag || READ_ONCE(*(__u32 *)b->addr[i]) != addr)
			return -1;
		return slot_result(p, expires, origin, type);
	}
	return READ_ONCE(b->overflow) ? -1 : 0;
}

/* An index of 2^log2 buckets is in use (0: not built yet, or off). */
static __always_inline bool index_on(__u32 log2)
{
	return log2 && log2 <= 31;
}

static long probe_v4_one(__u64 index, void *arg)
{
	struct v4_probe *st = arg;
	__u32 plen, masked, idx;
	long r = -1;
	__u64 h;

	(void)index;
	if (!next_len(&st->p, 32, &plen))
		return 1;
	masked = plen ? st->addr & bpf_htonl(~0U << (32 - plen)) : 0;
	h = cs_filter_hash4(masked, plen);
	if (!filter_maybe(st->p.log2_words, h))
		return 0;
	if (plen == 32) {
		struct cs_host_v4 key;

		if (index_on(st->log2_host_buckets)) {
			idx = cs_host_bucket_of(h, st->log2_host_buckets);
			r = index_slot4(&st->p, bpf_map_lookup_elem(&cs_host_index, &idx), 1, st->addr);
		}
		if (r >= 0)
			return r;
		__builtin_memcpy(key.addr, &st->addr, sizeof(key.addr));
		return probe_result(&st->p, bpf_map_lookup_elem(&cs_hosts_v4, &key));
	}
	if (plen && index_on(st->log2_range_buckets)) {
		idx = cs_host_bucket_of(h, st->log2_range_buckets);
		r = index_slot4(&st->p, bpf_map_lookup_elem(&cs_range_index, &idx), (__u8)plen, masked);
	}
	if (r >= 0)
		return r;
	struct cs_lpm_v4 key = { .prefixlen = plen };

	__builtin_memcpy(key.addr, &masked, sizeof(key.addr));
	return probe_result(&st->p, bpf_map_lookup_elem(&cs_ranges_v4, &key));
}

static __always_inline int verdict(struct xdp_md *ctx, const struct cs_probe *st)
{
	if (st->drop)
		return drop(ctx, st->origin);
	return account(ctx, st->stale ? CS_STAT_PASS_INACTIVE : CS_STAT_PASS, XDP_PASS);
}

static __always_inline int check_v4(struct xdp_md *ctx, struct iphdr *iph)
{
	__u32 zero = 0;
	struct cs_filter_cfg *cfg = bpf_map_lookup_elem(&cs_filter_cfg, &zero);
	struct v4_probe st = { .addr = iph->saddr };

	if (!cfg)
		return account(ctx, CS_STAT_PASS, XDP_PASS);
	st.p.lens[0] = cfg->lens_v4;
	st.p.log2_words = cfg->log2_words;
	st.log2_host_buckets = cfg->log2_host_buckets;
	st.log2_range_buckets = cfg->log2_range_buckets;
	bpf_loop(33, probe_v4_one, &st, 0);
	return verdict(ctx, &st.p);
}

/* The network-order mask of the first `bits` (0..64) bits of a 64-bit half. */
static __always_inline __u64 half_mask(__u32 bits)
{
	return bits ? bpf_cpu_to_be64(~0ULL << (64 - bits)) : 0;
}

struct v6_probe {
	struct cs_probe p;
	__u64 hi, lo; /* the source */
	__u32 log2_host6_buckets, log2_range6_buckets;
};

/* index_slot4() for an IPv6 bucket, (hi, lo) the masked address. */
static __always_inline long index_slot6(struct cs_probe *p, const struct cs_host6_bucket *b,
					__u8 tag, __u64 hi, __u64 lo)
{
	if (!b)
		return -1;
#pragma unroll
	for (int i = 0; i < CS_HOST6_SLOTS; i++) {
		const struct cs_host6_half *hh = &b->half[i / 2];
		const int j = i % 2;
		__u64 expires;
		__u8 origin, type;

		if (READ_ONCE(hh->used[j]) != tag || READ_ONCE(*(__u64 *)hh->addr[j]) != hi ||
		    READ_ONCE(*(__u64 *)(hh->addr[j] + 8)) != lo)
			continue;
		expires = READ_ONCE(hh->expires_ns[j]);
		origin = READ_ONCE(hh->origin[j]);
		type = READ_ONCE(hh->type[j]);
		if (READ_ONCE(hh->used[j]) != tag || READ_ONCE(*(__u64 *)hh->addr[j]) != hi ||
		    READ_ONCE(*(__u64 *)(hh->addr[j] + 8)) != lo)
			return -1;
		return slot_result(p, expires, origin, type);
	}
	return READ_ONCE(b->half[0].overflow) ? -1 : 0;
}

static long probe_v6_one(__u64 index, void *arg)
{
	struct v6_probe *st = arg;
	__u32 plen, idx;
	__u64 mhi, mlo, h;
	long r = -1;

	(void)index;
	if (!next_len(&st->p, 128, &plen))
		return 1;
	mhi = st->hi & half_mask(plen >= 64 ? 64 : plen);
	mlo = st->lo & half_mask(plen > 64 ? plen - 64 : 0);
	h = cs_filter_hash6(mhi, mlo, plen);
	if (!filter_maybe(st->p.log2_words, h))
		return 0;
	if (plen == 128) {
		struct cs_host_v6 key;

		if (index_on(st->log2_host6_buckets)) {
			idx = cs_host_bucket_of(h, st->log2_host6_buckets);
			r = index_slot6(&st->p, bpf_map_lookup_elem(&cs_host_index6, &idx), 1,
					st->hi, st->lo);
		}
		if (r >= 0)
			return r;
		__builtin_memcpy(key.addr, &st->hi, 8);
		__builtin_memcpy(key.addr + 8, &st->lo, 8);
		return probe_result(&st->p, bpf_map_lookup_elem(&cs_hosts_v6, &key));
	}
	if (plen && index_on(st->log2_range6_buckets)) {
		idx = cs_host_bucket_of(h, st->log2_range6_buckets);
		r = index_slot6(&st->p, bpf_map_lookup_elem(&cs_range_index6, &idx), (__u8)plen,
				mhi, mlo);
	}
	if (r >= 0)
		return r;
	struct cs_lpm_v6 key = { .prefixlen = plen };

	__builtin_memcpy(key.addr, &mhi, 8);
	__builtin_memcpy(key.addr + 8, &mlo, 8);
	return probe_result(&st->p, bpf_map_lookup_elem(&cs_ranges_v6, &key));
}

static __always_inline int check_v6(struct xdp_md *ctx, struct ipv6hdr *ip6h)
{
	__u32 zero = 0;
	struct cs_filter_cfg *cfg = bpf_map_lookup_elem(&cs_filter_cfg, &zero);
	struct v6_probe st = {};

	if (!cfg)
		return account(ctx, CS_STAT_PASS, XDP_PASS);
	__builtin_memcpy(&st.hi, &ip6h->saddr, 8);
	__builtin_memcpy(&st.lo, (__u8 *)&ip6h->saddr + 8, 8);
	st.p.lens[0] = cfg->lens_v6[0];
	st.p.lens[1] = cfg->lens_v6[1];
	st.p.lens[2] = cfg->lens_v6[2];
	st.p.log2_words = cfg->log2_words;
	st.log2_host6_buckets = cfg->log2_host6_buckets;
	st.log2_range6_buckets = cfg->log2_range6_buckets;
	bpf_loop(129, probe_v6_one, &st, 0);
	return verdict(ctx, &st.p);
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
		if (is_ipv6_neighbour_discovery(&c, ip6h))
			return account(ctx, CS_STAT_PASS_NOT_IP, XDP_PASS);
		return check_v6(ctx, ip6h);
	}
	return account(ctx, CS_STAT_PASS_NOT_IP, XDP_PASS);
}
