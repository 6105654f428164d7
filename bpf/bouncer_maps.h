/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The whole kernel/user ABI of the XDP data plane: map keys, map values, the
 * statistics layout and the pin location. It is included by bpf/xdp_bouncer.bpf.c
 * (types from vmlinux.h) and by userspace (types from <linux/types.h>), so it
 * includes nothing itself. Fixed-width types only, explicit padding, addresses in
 * network byte order. Changing a layout bumps CS_ABI_VERSION.
 *
 * Lookup structure (per family): exact hosts (/32, /128) in one hash, ranges in
 * another hash keyed by (prefix length, masked address). The program probes only
 * the prefix lengths in use (cs_filter_cfg.lens_*), longest first, so "longest
 * prefix wins" holds as in one LPM trie, without the trie walk (~1.5 us cache-cold
 * at 1M entries). In front of the hashes sits a negative filter (a Bloom filter
 * with all k bits of a key in one 64-bit word): a source whose word lacks a bit is
 * not banned at that length, so a legitimate packet costs one cache line and no
 * hash lookup. The filter may say "maybe" wrongly (a false positive costs one hash
 * lookup) but never "no" for a key in the maps: userspace sets a key's bits and
 * length before inserting the key, and clears bits only by a rebuild from the
 * maps' contents. For hosts and ranges of either family, an index (one cache line
 * per bucket, two for IPv6) past the filter holds what the verdict needs, so a ban
 * costs no hash lookup.
 * The four hashes are "the ban list"; the filter and the indexes are derived, and
 * so are the entry counts (cs_counts), which the program does not read.
 *
 * ABI 4 added the range indexes (new maps, two config bytes that were padding):
 * pins of ABI 3 are adopted (the new maps are created, the indexes rebuilt from the
 * hashes), and an ABI 3 program still attached reads what it always read.
 */
#ifndef CS_BOUNCER_MAPS_H
#define CS_BOUNCER_MAPS_H

#define CS_ABI_VERSION 4

/* Default capacity per family and per kind (hosts, ranges); a load-time setting. */
#ifndef CS_DEFAULT_MAX_HOSTS
#define CS_DEFAULT_MAX_HOSTS (1U << 20)
#endif
#ifndef CS_DEFAULT_MAX_RANGES
#define CS_DEFAULT_MAX_RANGES (1U << 20)
#endif

#define CS_PIN_ROOT "/sys/fs/bpf/crowdsec"

/* Keys of the range hashes: host bits past prefixlen are zero. (The layout of the
 * kernel's struct bpf_lpm_trie_key, which these maps were before ABI 2.) */
struct cs_lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct cs_lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Keys of the host hashes. Byte arrays, so `bpftool map dump` prints 198.18.0.1
 * as [198,18,0,1] rather than as one integer. */
struct cs_host_v4 {
	__u8 addr[4];
};

struct cs_host_v6 {
	__u8 addr[16];
};

/* Who asked for the ban: drops are attributed to one of these. One byte wide
 * (packed), so cs_ban can carry it as the enum and bpftool prints its name. */
enum __attribute__((packed)) cs_origin {
	CS_ORIGIN_CROWDSEC = 0, /* the local detector */
	CS_ORIGIN_CSCLI = 1,	/* an operator */
	CS_ORIGIN_CAPI = 2,	/* the community blocklist */
	CS_ORIGIN_LISTS = 3,	/* third-party blocklists */
	CS_ORIGIN_OTHER = 4,
	CS_ORIGIN_MAX = 5,
};

enum __attribute__((packed)) cs_decision_type {
	CS_TYPE_BAN = 0,
	CS_TYPE_OTHER = 1, /* stored for attribution; only bans drop */
};

struct cs_ban {
	__u64 expires_ns;  /* CLOCK_BOOTTIME; 0 = never. Checked in the fast path. */
	__u64 decision_id; /* the LAPI's id, so `bpftool map dump` can be cross-referenced */
	enum cs_origin origin;
	enum cs_decision_type type;
	__u8 prefixlen;	   /* of the key: an LPM lookup can tell a match from an exact hit */
	__u8 _pad[5];
};

/*
 * Per-CPU counters, one struct cs_stat per index. The drop counters are
 * CS_STAT_DROP_BASE + origin, so attribution needs no branch in the fast path.
 */
enum cs_stat_index {
	CS_STAT_PASS = 0,	   /* parsed, source not banned */
	CS_STAT_PASS_NOT_IP = 1,   /* link control: ARP, LLDP, IPv6 neighbour discovery */
	CS_STAT_PASS_UNPARSED = 2, /* truncated or malformed headers: fail open */
	CS_STAT_PASS_INACTIVE = 3, /* matched an entry that does not drop: expired, not a ban */
	CS_STAT_PASS_DRY_RUN = 4,  /* would have dropped, dry_run knob set */
	CS_STAT_DROP_BASE = 5,
	CS_STAT_MAX = CS_STAT_DROP_BASE + CS_ORIGIN_MAX,
};

struct cs_stat {
	__u64 packets;
	__u64 bytes;
};

/*
 * The negative filter's state besides its words (map cs_filter: 1 << log2_words
 * __u64). Written by userspace through mmap, read by the program.
 */
struct cs_filter_cfg {
	__u32 log2_words; /* 0: no filter yet, every length in use is probed in the maps */
	__u32 log2_host_buckets; /* cs_host_index size; 0: not built, not used */
	__u64 lens_v4;	  /* bit 32 - L: some IPv4 entry has prefix length L */
	__u64 lens_v6[3]; /* bit 128 - L of the 192-bit mask (word (128 - L) / 64) */
	__u64 removed;	  /* entries removed since the last rebuild: stale bits */
	__u64 rebuilds;	  /* how many rebuilds so far (for status) */
	__u32 log2_host6_buckets; /* cs_host_index6 size; 0: not built, not used */
	/* cs_range_index, cs_range_index6 sizes; 0: not built, not used (pins from
	 * before the range indexes have 0 here: the program asks the range hashes) */
	__u8 log2_range_buckets, log2_range6_buckets;
	__u8 _pad[2];
};

#define CS_FILTER_K 4 /* bits per key, all in one word */

/*
 * IPv4 host index (map cs_host_index): what the program needs of a host ban (expiry,
 * origin, type) in one cache line per bucket, so a banned host costs one line, as
 * a clean one does, instead of the filter word plus the hash's bucket and element.
 * Exact for its bucket: an address not in its bucket is not a host ban, unless the
 * bucket overflowed (then the filter and cs_hosts_v4 decide). cs_hosts_v4 stays the
 * list (bpftool, walks); userspace writes the index beside it: a slot's data, then
 * its address, then used = 1; a removal clears used. The program reads used, the
 * address, the data, then used and the address again, and on any change asks
 * cs_hosts_v4 (x86 keeps loads and stores in order).
 */
#define CS_HOST_SLOTS 4

struct cs_host_bucket {
	__u8 addr[CS_HOST_SLOTS][4];
	__u64 expires_ns[CS_HOST_SLOTS];
	__u8 used[CS_HOST_SLOTS]; /* 0 free, 1 a host; in a range index: its length */
	enum cs_origin origin[CS_HOST_SLOTS];
	enum cs_decision_type type[CS_HOST_SLOTS];
	__u8 overflow; /* a host of this bucket is in cs_hosts_v4 only */
	__u8 _pad[3];
};

/*
 * IPv6 host index (map cs_host_index6): the same for IPv6 hosts, same protocol
 * (an address is two 64-bit halves, written before `used` and read after it).
 * A 16-byte address leaves room for two slots per cache line, so a bucket is two
 * lines (128 bytes, 128-byte aligned: the pair the CPU's adjacent-line prefetcher
 * fetches together) of two slots each; slots fill line 0 first. At the map's
 * capacity half the slots are in use, as for IPv4, and few buckets overflow. An
 * address not in its bucket is not a host ban unless half[0].overflow is set (then
 * the filter and cs_hosts_v6 decide).
 */
#define CS_HOST6_SLOTS 4 /* two per half */

struct cs_host6_half {
	__u8 addr[2][16];
	__u64 expires_ns[2];
	__u8 used[2]; /* as in cs_host_bucket */
	enum cs_origin origin[2];
	enum cs_decision_type type[2];
	__u8 overflow; /* half[0]'s: a host of this bucket is in cs_hosts_v6 only */
	__u8 _pad[9];
};

struct cs_host6_bucket {
	struct cs_host6_half half[2];
};

/*
 * Range indexes (maps cs_range_index, cs_range_index6): the same for ranges of
 * length 1..31 (IPv4) or 1..127 (IPv6), so a range hit costs the filter words and
 * one index bucket instead of the range hash's bucket and element. Same bucket
 * types and write protocol; a slot is keyed by (prefix length, masked address):
 * its `used` holds the prefix length (0: free), its bucket is picked by the filter
 * hash of that key, and an overflow sends the bucket's ranges to cs_ranges_v4 /
 * cs_ranges_v6. /0 is never indexed (the program asks the range hash for it).
 */

/*
 * Entries per ban map (map cs_counts, one element; cs_hosts_v4, cs_ranges_v4,
 * cs_hosts_v6, cs_ranges_v6 in that order). The writers keep them under the pin
 * lock, after each batch of map writes (an insert tells itself from a replacement
 * by BPF_NOEXIST), so `xdp status` reads four numbers instead of walking a million
 * entries. Not read by the program.
 */
struct cs_counts {
	__u64 entries[4];
};

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* A 64-bit finaliser (MurmurHash3's fmix64): every input bit moves every output bit. */
static __always_inline __u64 cs_filter_mix(__u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* addr: the masked IPv4 address as loaded from memory (network byte order). */
static __always_inline __u64 cs_filter_hash4(__u32 addr, __u32 plen)
{
	return cs_filter_mix(((__u64)(0x400 | plen) << 32 | addr) ^ 0x5bd1e9955bd1e995ULL);
}

/* hi, lo: the masked IPv6 address's two halves as loaded from memory. */
static __always_inline __u64 cs_filter_hash6(__u64 hi, __u64 lo, __u32 plen)
{
	return cs_filter_mix(cs_filter_mix(hi ^ ((__u64)(0x600 | plen) << 48)) ^ lo);
}

/* The word holding a key's bits: the hash's top bits. */
static __always_inline __u32 cs_filter_word(__u64 h, __u32 log2_words)
{
	return (__u32)(h >> (64 - log2_words));
}

/* A prefix's bucket in its index (cs_host_index, cs_host_index6, cs_range_index,
 * cs_range_index6), from its filter hash: bits above those of cs_filter_bits(). */
static __always_inline __u32 cs_host_bucket_of(__u64 h, __u32 log2_buckets)
{
	return (__u32)(h >> 24) & ((1U << log2_buckets) - 1);
}

/* The key's CS_FILTER_K bits in that word: from the hash's low 24 bits. */
static __always_inline __u64 cs_filter_bits(__u64 h)
{
	return 1ULL << (h & 63) | 1ULL << ((h >> 6) & 63) | 1ULL << ((h >> 12) & 63) |
	       1ULL << ((h >> 18) & 63);
}

#endif /* CS_BOUNCER_MAPS_H */
