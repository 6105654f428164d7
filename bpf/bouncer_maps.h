/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The whole kernel/user ABI of the XDP data plane: map keys, map values, the
 * statistics layout and the pin location. It is included by bpf/xdp_bouncer.bpf.c
 * (types from vmlinux.h) and by userspace (types from <linux/types.h>), so it
 * includes nothing itself. Fixed-width types only, explicit padding, addresses in
 * network byte order. Changing a layout bumps CS_ABI_VERSION.
 *
 * Lookup structure: a source address is first looked up in an exact-match hash
 * (host entries, /32 and /128) and only on a miss in an LPM trie (ranges). An exact
 * entry is the longest possible prefix, so the result is the same as one LPM trie
 * holding everything, but a botnet flood from many banned hosts costs a hash lookup
 * (~0.2 us cache-cold) instead of a trie walk (~1.5 us at 1M entries; measured
 * by `make bench BENCH=xdp`). Both maps together are "the ban list".
 */
#ifndef CS_BOUNCER_MAPS_H
#define CS_BOUNCER_MAPS_H

#define CS_ABI_VERSION 1

/* Default capacity per family and per kind (hosts, ranges); a load-time setting. */
#ifndef CS_DEFAULT_MAX_HOSTS
#define CS_DEFAULT_MAX_HOSTS (1U << 20)
#endif
#ifndef CS_DEFAULT_MAX_RANGES
#define CS_DEFAULT_MAX_RANGES (1U << 20)
#endif

#define CS_PIN_ROOT "/sys/fs/bpf/crowdsec"

/* Key of the IPv4 range trie; the same layout as the kernel's struct bpf_lpm_trie_key. */
struct cs_lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct cs_lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Key of the IPv6 host hash. */
struct cs_host_v6 {
	__u8 addr[16];
};

/* Who asked for the ban: drops are attributed to one of these. */
enum cs_origin {
	CS_ORIGIN_CROWDSEC = 0, /* the local detector */
	CS_ORIGIN_CSCLI = 1,	/* an operator */
	CS_ORIGIN_CAPI = 2,	/* the community blocklist */
	CS_ORIGIN_LISTS = 3,	/* third-party blocklists */
	CS_ORIGIN_OTHER = 4,
	CS_ORIGIN_MAX = 5,
};

enum cs_decision_type {
	CS_TYPE_BAN = 0,
	CS_TYPE_OTHER = 1, /* stored for attribution; only bans drop */
};

struct cs_ban {
	__u64 expires_ns;  /* CLOCK_BOOTTIME; 0 = never. Checked in the fast path. */
	__u64 decision_id; /* the LAPI's id, so `bpftool map dump` can be cross-referenced */
	__u8 origin;	   /* enum cs_origin */
	__u8 type;	   /* enum cs_decision_type */
	__u8 prefixlen;	   /* of the key: an LPM lookup can tell a match from an exact hit */
	__u8 _pad[5];
};

/*
 * Per-CPU counters, one struct cs_stat per index. The drop counters are
 * CS_STAT_DROP_BASE + origin, so attribution needs no branch in the fast path.
 */
enum cs_stat_index {
	CS_STAT_PASS = 0,	   /* parsed, source not banned */
	CS_STAT_PASS_NOT_IP = 1,   /* ARP, LLDP, ... */
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

#endif /* CS_BOUNCER_MAPS_H */
