// SPDX-License-Identifier: MIT
/*
 * The XDP program's verdicts, through BPF_PROG_TEST_RUN: a table of packets, each
 * run against a fresh, unpinned instance holding that case's bans. Needs root
 * (CAP_BPF); skips loudly without it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bouncer/xdp_filter.h"
#include "bouncer/xdp_loader.h"
#include "xdp_bouncer.skel.h"
#include "../lib/test.h"

enum l3 { L3_V4, L3_V6, L3_ARP, L3_LLDP };

struct pkt_case {
	const char *name;
	enum l3 l3;
	const char *src;
	int vlans;	    /* 0, 1, 2 (or 3: one too many) */
	int truncate_to;    /* >0: cut the frame to this many bytes */
	int v6_ext;	    /* IPv6: 1 = hop-by-hop + routing headers, 2 = fragment header */
	bool v4_fragment;   /* IPv4: a non-first fragment */
	bool v4_bad_ihl;
	int icmp6_type;	    /* IPv6: an ICMPv6 message of this type */
	int hop_limit;	    /* IPv6 hop limit (0: 64) */
	const char *bans[3]; /* prefixes banned before the run */
	int ban_origin;	    /* origin of the bans */
	bool ban_expired;
	bool ban_not_ban;   /* a non-ban decision type */
	__u32 want;
	int want_stat;	    /* which counter this packet must land in */
};

#define DROP(o) (CS_STAT_DROP_BASE + (o))

static const struct pkt_case cases[] = {
	{ "v4 exact hit", L3_V4, "198.18.0.1", .bans = { "198.18.0.1" },
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CROWDSEC) },
	{ "v4 miss", L3_V4, "198.18.0.2", .bans = { "198.18.0.1" },
	  .want = XDP_PASS, .want_stat = CS_STAT_PASS },
	{ "v4 empty list", L3_V4, "198.18.0.2", .want = XDP_PASS, .want_stat = CS_STAT_PASS },
	{ "v4 /32 inside banned /24", L3_V4, "198.18.5.77", .bans = { "198.18.5.0/24" },
	  .ban_origin = CS_ORIGIN_CAPI, .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CAPI) },
	{ "v4 next to banned /24", L3_V4, "198.18.6.1", .bans = { "198.18.5.0/24" },
	  .want = XDP_PASS, .want_stat = CS_STAT_PASS },
	{ "v4 /0 bans everything", L3_V4, "198.19.200.7", .bans = { "0.0.0.0/0" },
	  .ban_origin = CS_ORIGIN_LISTS, .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_LISTS) },
	{ "v4 one VLAN tag", L3_V4, "198.18.0.9", .vlans = 1, .bans = { "198.18.0.9" },
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CROWDSEC) },
	{ "v4 two VLAN tags (QinQ)", L3_V4, "198.18.0.9", .vlans = 2, .bans = { "198.18.0.0/16" },
	  .ban_origin = CS_ORIGIN_CSCLI, .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CSCLI) },
	{ "v4 two VLAN tags, not banned", L3_V4, "198.19.0.9", .vlans = 2,
	  .bans = { "198.18.0.0/16" }, .want = XDP_PASS, .want_stat = CS_STAT_PASS },
	{ "three VLAN tags: unparsed, pass", L3_V4, "198.18.0.9", .vlans = 3,
	  .bans = { "198.18.0.9" }, .want = XDP_PASS, .want_stat = CS_STAT_PASS_UNPARSED },
	{ "v4 non-first fragment", L3_V4, "198.18.0.3", .v4_fragment = true,
	  .bans = { "198.18.0.3" }, .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CROWDSEC) },
	{ "v4 header cut short", L3_V4, "198.18.0.1", .truncate_to = 14 + 12,
	  .bans = { "198.18.0.1" }, .want = XDP_PASS, .want_stat = CS_STAT_PASS_UNPARSED },
	{ "v4 ihl < 5", L3_V4, "198.18.0.1", .v4_bad_ihl = true, .bans = { "198.18.0.1" },
	  .want = XDP_PASS, .want_stat = CS_STAT_PASS_UNPARSED },
	{ "VLAN tag cut short", L3_V4, "198.18.0.1", .vlans = 1, .truncate_to = 16,
	  .bans = { "198.18.0.1" }, .want = XDP_PASS, .want_stat = CS_STAT_PASS_UNPARSED },
	{ "v4 expired ban", L3_V4, "198.18.0.4", .bans = { "198.18.0.4" }, .ban_expired = true,
	  .want = XDP_PASS, .want_stat = CS_STAT_PASS_INACTIVE },
	{ "v4 non-ban decision type", L3_V4, "198.18.0.4", .bans = { "198.18.0.4" },
	  .ban_not_ban = true, .want = XDP_PASS, .want_stat = CS_STAT_PASS_INACTIVE },
	{ "v4 longest prefix attributes the drop", L3_V4, "198.18.7.7",
	  .bans = { "198.18.0.0/16", "198.18.7.0/24" }, .ban_origin = CS_ORIGIN_CSCLI,
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CSCLI) },
	{ "v4 /13, not on a byte boundary", L3_V4, "198.19.3.3", .bans = { "198.16.0.0/13" },
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CROWDSEC) },
	{ "v4 next to a banned /13", L3_V4, "198.24.0.1", .bans = { "198.16.0.0/13" },
	  .want = XDP_PASS, .want_stat = CS_STAT_PASS },
	{ "v4 three lengths, the longest attributes", L3_V4, "198.18.7.7",
	  .bans = { "198.18.0.0/16", "198.18.7.0/24", "198.18.7.7" }, .ban_origin = CS_ORIGIN_CAPI,
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CAPI) },
	{ "v6 exact hit", L3_V6, "2001:db8::1", .bans = { "2001:db8::1" },
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CROWDSEC) },
	{ "v6 miss", L3_V6, "2001:db8::2", .bans = { "2001:db8::1" },
	  .want = XDP_PASS, .want_stat = CS_STAT_PASS },
	{ "v6 /128 inside banned /64", L3_V6, "2001:db8:0:1::abcd", .bans = { "2001:db8:0:1::/64" },
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CROWDSEC) },
	{ "v6 /67, not on a 16-bit boundary", L3_V6, "2001:db8:0:7:ffff::1",
	  .bans = { "2001:db8:0:7:e000::/67" }, .want = XDP_DROP,
	  .want_stat = DROP(CS_ORIGIN_CROWDSEC) },
	{ "v6 next to a banned /67", L3_V6, "2001:db8:0:7:c000::1",
	  .bans = { "2001:db8:0:7:e000::/67" }, .want = XDP_PASS, .want_stat = CS_STAT_PASS },
	{ "v6 longest prefix attributes the drop", L3_V6, "2001:db8:5:1::9",
	  .bans = { "2001:db8:5::/48", "2001:db8:5:1::/64" }, .ban_origin = CS_ORIGIN_CSCLI,
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CSCLI) },
	{ "v6 /0 bans everything", L3_V6, "2001:db8:99::1", .bans = { "::/0" },
	  .ban_origin = CS_ORIGIN_LISTS, .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_LISTS) },
	{ "v6 next to banned /64", L3_V6, "2001:db8:0:2::abcd", .bans = { "2001:db8:0:1::/64" },
	  .want = XDP_PASS, .want_stat = CS_STAT_PASS },
	{ "v6 extension headers", L3_V6, "2001:db8::5", .v6_ext = 1, .bans = { "2001:db8::5" },
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CROWDSEC) },
	{ "v6 fragment header", L3_V6, "2001:db8::6", .v6_ext = 2, .bans = { "2001:db8::/48" },
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CROWDSEC) },
	{ "v6 one VLAN tag", L3_V6, "2001:db8::7", .vlans = 1, .bans = { "2001:db8::7" },
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CROWDSEC) },
	{ "v6 two VLAN tags", L3_V6, "2001:db8::7", .vlans = 2, .bans = { "2001:db8::/32" },
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CROWDSEC) },
	{ "v6 header cut short", L3_V6, "2001:db8::1", .truncate_to = 14 + 30,
	  .bans = { "2001:db8::1" }, .want = XDP_PASS, .want_stat = CS_STAT_PASS_UNPARSED },
	{ "v4 ban does not catch v6", L3_V6, "2001:db8::1", .bans = { "0.0.0.0/0" },
	  .want = XDP_PASS, .want_stat = CS_STAT_PASS },
	{ "v6 neighbour solicitation from a banned host passes", L3_V6, "2001:db8::1",
	  .icmp6_type = 135, .hop_limit = 255, .bans = { "2001:db8::1" },
	  .want = XDP_PASS, .want_stat = CS_STAT_PASS_NOT_IP },
	{ "v6 neighbour advertisement from a banned /64 passes", L3_V6, "2001:db8::1",
	  .icmp6_type = 136, .hop_limit = 255, .bans = { "2001:db8::/64" },
	  .want = XDP_PASS, .want_stat = CS_STAT_PASS_NOT_IP },
	{ "v6 routed 'neighbour solicitation' (hop limit 254) dropped", L3_V6, "2001:db8::1",
	  .icmp6_type = 135, .hop_limit = 254, .bans = { "2001:db8::1" },
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CROWDSEC) },
	{ "v6 echo request (hop limit 255) from a banned host dropped", L3_V6, "2001:db8::1",
	  .icmp6_type = 128, .hop_limit = 255, .bans = { "2001:db8::1" },
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CROWDSEC) },
	{ "v6 redirect from a banned host dropped", L3_V6, "2001:db8::1",
	  .icmp6_type = 137, .hop_limit = 255, .bans = { "2001:db8::1" },
	  .want = XDP_DROP, .want_stat = DROP(CS_ORIGIN_CROWDSEC) },
	{ "ARP passes", L3_ARP, NULL, .bans = { "0.0.0.0/0" },
	  .want = XDP_PASS, .want_stat = CS_STAT_PASS_NOT_IP },
	{ "LLDP passes", L3_LLDP, NULL, .want = XDP_PASS, .want_stat = CS_STAT_PASS_NOT_IP },
};

static size_t put16(unsigned char *p, __u16 v)
{
	v = htons(v);
	memcpy(p, &v, 2);
	return 2;
}

static size_t build_pkt(const struct pkt_case *c, unsigned char *pkt, size_t cap)
{
	size_t off = 12;

	memset(pkt, 0, cap);
	memcpy(pkt, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (int v = 0; v < c->vlans; v++) {
		off += put16(pkt + off, v == 0 && c->vlans > 1 ? 0x88A8 : 0x8100);
		off += put16(pkt + off, 100 + v); /* TCI */
	}
	switch (c->l3) {
	case L3_ARP:
		off += put16(pkt + off, 0x0806);
		off += 28;
		break;
	case L3_LLDP:
		off += put16(pkt + off, 0x88CC);
		off += 32;
		break;
	case L3_V4: {
		unsigned char *ip;

		off += put16(pkt + off, 0x0800);
		ip = pkt + off;
		ip[0] = c->v4_bad_ihl ? 0x44 : 0x45;
		put16(ip + 2, 20 + 8 + 16);
		if (c->v4_fragment)
			put16(ip + 6, 0x2000 | 185); /* MF, offset 1480 */
		ip[8] = 64;
		ip[9] = 17;
		inet_pton(AF_INET, c->src, ip + 12);
		inet_pton(AF_INET, "198.19.0.2", ip + 16);
		off += 20 + 8 + 16;
		break;
	}
	case L3_V6: {
		unsigned char *ip;
		int nh = c->icmp6_type ? 58 : 17;

		off += put16(pkt + off, 0x86DD);
		ip = pkt + off;
		ip[0] = 0x60;
		ip[7] = (unsigned char)(c->hop_limit ? c->hop_limit : 64);
		inet_pton(AF_INET6, c->src, ip + 8);
		inet_pton(AF_INET6, "2001:db8:19::2", ip + 24);
		off += 40;
		if (c->v6_ext == 1) {
			ip[6] = 0; /* hop-by-hop */
			pkt[off] = 43; /* next: routing */
			off += 8;
			pkt[off] = (unsigned char)nh;
			off += 8;
		} else if (c->v6_ext == 2) {
			ip[6] = 44; /* fragment */
			pkt[off] = (unsigned char)nh;
			put16(pkt + off + 2, 0x0001); /* offset 0, more fragments */
			off += 8;
		} else {
			ip[6] = (unsigned char)nh;
		}
		put16(ip + 4, (__u16)(off - 14 - 4 * c->vlans - 40 + 16));
		pkt[off] = (unsigned char)c->icmp6_type;
		off += 8 + 16;
		break;
	}
	}
	if (c->truncate_to > 0 && (size_t)c->truncate_to < off)
		off = (size_t)c->truncate_to;
	return off;
}

static void run_case(const struct pkt_case *c)
{
	struct xdp_loader_opts opts = { .unpinned = true };
	unsigned char pkt[256];
	size_t len = build_pkt(c, pkt, sizeof(pkt));
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = 1);
	struct cs_stat stats[CS_STAT_MAX];
	struct xdp_loader *l = NULL;
	int err;

	err = xdp_loader_open(&opts, &l);
	if (!ASSERT_OK(err, c->name))
		return;
	for (int i = 0; i < 3 && c->bans[i]; i++) {
		struct cs_prefix p;
		struct cs_ban b = { .decision_id = (__u64)i + 1, .origin = (__u8)c->ban_origin,
				    .type = c->ban_not_ban ? CS_TYPE_OTHER : CS_TYPE_BAN };

		if (c->ban_expired)
			b.expires_ns = xdp_loader_boot_ns() - 1;
		else if (i == 0)
			b.expires_ns = xdp_loader_boot_ns() + 3600ULL * 1000000000ULL;
		/* the shorter prefix of a pair keeps the default origin: attribution test */
		if (i == 0 && c->bans[1])
			b.origin = CS_ORIGIN_CROWDSEC;
		if (!ASSERT_OK(cs_prefix_parse(c->bans[i], CS_PREFIX_STRICT, &p), c->name) ||
		    !ASSERT_OK(xdp_loader_ban(l, &p, &b, 1, NULL), c->name))
			goto out;
	}
	err = bpf_prog_test_run_opts(xdp_loader_prog_fd(l), &topts);
	if (!ASSERT_OK(err, c->name))
		goto out;
	if (!ASSERT_EQ(topts.retval, c->want, c->name))
		fprintf(stderr, "     (case \"%s\": verdict %u)\n", c->name, topts.retval);
	if (ASSERT_OK(xdp_loader_stats(l, stats), c->name)) {
		ASSERT_EQ(stats[c->want_stat].packets, 1, c->name);
		ASSERT_EQ(stats[c->want_stat].bytes, len, c->name);
	}
out:
	xdp_loader_free(l);
}

/* dry_run: the would-be drop passes and is counted as such. */
static void test_dry_run(void)
{
	struct xdp_loader_opts opts = { .unpinned = true, .dry_run = true };
	const struct pkt_case *c = &cases[0];
	unsigned char pkt[256];
	size_t len = build_pkt(c, pkt, sizeof(pkt));
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = 5);
	struct cs_stat stats[CS_STAT_MAX];
	struct cs_ban b = { .type = CS_TYPE_BAN };
	struct xdp_loader *l = NULL;
	struct cs_prefix p;

	if (!ASSERT_OK(xdp_loader_open(&opts, &l), "dry run open"))
		return;
	cs_prefix_parse(c->src, CS_PREFIX_STRICT, &p);
	if (ASSERT_OK(xdp_loader_ban(l, &p, &b, 1, NULL), "dry run ban") &&
	    ASSERT_OK(bpf_prog_test_run_opts(xdp_loader_prog_fd(l), &topts), "dry run")) {
		ASSERT_EQ(topts.retval, XDP_PASS, "dry run passes");
		xdp_loader_stats(l, stats);
		ASSERT_EQ(stats[CS_STAT_PASS_DRY_RUN].packets, 5, "dry run counted");
		ASSERT_EQ(stats[DROP(CS_ORIGIN_CROWDSEC)].packets, 0, "dry run drops nothing");
	}
	xdp_loader_free(l);
}

/* A full map refuses more and says so (-ENOSPC), host and range hashes alike. */
static void test_capacity(void)
{
	struct xdp_loader_opts opts = { .unpinned = true, .max_hosts = 4, .max_ranges = 4 };
	struct cs_prefix p[6];
	struct cs_ban b[6] = {};
	struct xdp_loader *l = NULL;
	size_t applied = 0;
	char txt[32];

	if (!ASSERT_OK(xdp_loader_open(&opts, &l), "capacity open"))
		return;
	for (int i = 0; i < 6; i++) {
		snprintf(txt, sizeof(txt), "198.18.0.%d", i + 1);
		cs_prefix_parse(txt, CS_PREFIX_STRICT, &p[i]);
	}
	ASSERT_EQ(xdp_loader_ban(l, p, b, 6, &applied), -ENOSPC, "hosts full");
	ASSERT_EQ(applied, 4, "hosts applied before full");
	for (int i = 0; i < 6; i++) {
		snprintf(txt, sizeof(txt), "198.18.%d.0/24", i + 1);
		cs_prefix_parse(txt, CS_PREFIX_STRICT, &p[i]);
	}
	ASSERT_EQ(xdp_loader_ban(l, p, b, 6, &applied), -ENOSPC, "ranges full");
	ASSERT_EQ(applied, 4, "ranges applied before full");
	xdp_loader_free(l);
}

/* A full host map keeps out only the hosts that do not fit: the ranges and the other
 * family in the same batch go in, and the entries left out are the ones marked. */
static void test_full_map_alone(void)
{
	struct xdp_loader_opts opts = { .unpinned = true, .max_hosts = 2, .max_ranges = 4 };
	const char *const txt[] = { "198.18.0.1", "198.18.0.2", "198.18.7.0/24", "198.18.0.3",
				    "2001:db8::1", "198.18.0.4", "2001:db8:1::/48" };
	enum { N = sizeof(txt) / sizeof(txt[0]) };
	struct cs_prefix p[N];
	struct cs_ban b[N] = {}, got;
	bool failed[N];
	struct xdp_loader *l = NULL;
	size_t applied = 0;

	if (!ASSERT_OK(xdp_loader_open(&opts, &l), "full map open"))
		return;
	for (int i = 0; i < N; i++)
		cs_prefix_parse(txt[i], CS_PREFIX_STRICT, &p[i]);
	ASSERT_EQ(xdp_loader_ban_each(l, p, b, N, &applied, failed), -ENOSPC, "host map full");
	ASSERT_EQ(applied, 5, "everything but the two extra hosts applied");
	for (int i = 0; i < N; i++) {
		bool want_failed = i == 3 || i == 5;

		ASSERT_EQ(failed[i], want_failed, txt[i]);
		ASSERT_EQ(xdp_loader_get(l, &p[i], &got) == 0, !want_failed, txt[i]);
	}
	xdp_loader_free(l);
}

/* Batch apply, exact get, unban with missing entries, and the full walk. */
static int count_cb(const struct cs_prefix *p, const struct cs_ban *b, void *arg)
{
	(void)p, (void)b;
	(*(size_t *)arg)++;
	return 0;
}

/* An unpinned loader and a list of bans for it, not applied yet. */
struct mixed {
	struct xdp_loader *l;
	struct cs_prefix *p;
	struct cs_ban *b;
};

/*
 * n bans, a quarter of each kind (v4 hosts, v4 /24s, v6 hosts, v6 /64s); the
 * v4 /24s repeat (i >> 8), so a batch holds the same key more than once.
 * 0 or -errno; mixed_close() in any case.
 */
static int mixed_open(size_t n, struct mixed *m)
{
	struct xdp_loader_opts opts = { .unpinned = true };
	struct cs_prefix *p = m->p = calloc(n, sizeof(*p));
	struct cs_ban *b = m->b = calloc(n, sizeof(*b));

	if (!p || !b)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		p[i].family = i % 4 < 2 ? AF_INET : AF_INET6;
		p[i].plen = (__u8)(i % 4 == 0 ? 32 : i % 4 == 1 ? 24 : i % 4 == 2 ? 128 : 64);
		if (p[i].family == AF_INET) {
			p[i].addr[0] = 198, p[i].addr[1] = (__u8)(18 + (i & 1));
			p[i].addr[2] = (__u8)(i >> 8), p[i].addr[3] = i % 4 == 0 ? (__u8)i : 0;
		} else {
			memcpy(p[i].addr, "\x20\x01\x0d\xb8", 4);
			p[i].addr[4] = (__u8)(i >> 16), p[i].addr[5] = (__u8)(i >> 8);
			p[i].addr[6] = (__u8)i;
			if (i % 4 == 2)
				p[i].addr[15] = 1;
		}
		b[i].decision_id = (__u64)i + 1;
	}
	return xdp_loader_open(&opts, &m->l);
}

static void mixed_close(struct mixed *m)
{
	xdp_loader_free(m->l);
	free(m->p);
	free(m->b);
}

static void test_batch_and_walk(void)
{
	enum { N = 40000 };
	struct mixed m = { 0 };
	size_t applied = 0, missing = 0, seen = 0;
	struct cs_ban got;

	if (!ASSERT_OK(mixed_open(N, &m), "batch open"))
		goto out;
	/* v4 /24s collide (i>>8 repeats): count distinct entries through the walk */
	if (!ASSERT_OK(xdp_loader_ban(m.l, m.p, m.b, N, &applied), "batch ban"))
		goto out;
	ASSERT_EQ(applied, N, "batch applied all");
	ASSERT_OK(xdp_loader_get(m.l, &m.p[N - 1], &got), "get exact v6 range");
	ASSERT_EQ(got.prefixlen, m.p[N - 1].plen, "get prefixlen");
	{
		struct cs_prefix inner = m.p[1];

		inner.plen = 25; /* inside a banned /24 but not itself banned */
		ASSERT_EQ(xdp_loader_get(m.l, &inner, &got), -ENOENT, "get is exact, not LPM");
	}
	ASSERT_OK(xdp_loader_for_each_ban(m.l, count_cb, &seen), "walk");
	ASSERT_TRUE(seen > N / 2 && seen <= N, "walk saw the entries");
	ASSERT_OK(xdp_loader_unban(m.l, m.p, N, &missing), "unban all");
	ASSERT_EQ(N - missing, seen, "unban removed exactly what was there");
	seen = 0;
	xdp_loader_for_each_ban(m.l, count_cb, &seen);
	ASSERT_EQ(seen, 0, "empty after unban");
out:
	mixed_close(&m);
}

static int kind_cb(const struct cs_prefix *p, const struct cs_ban *b, void *arg)
{
	(void)b;
	((uint64_t *)arg)[(p->family == AF_INET ? 0 : 2) + !cs_prefix_is_host(p)]++;
	return 0;
}

/* The counts status reads (cs_counts) equal a walk of the maps after each write. */
static void expect_counts(struct xdp_loader *l, const char *what)
{
	uint64_t kept[4], walked[4] = {};
	char name[96];

	ASSERT_OK(xdp_loader_counts(l, kept), what);
	xdp_loader_for_each_ban(l, kind_cb, walked);
	for (int k = 0; k < 4; k++) {
		snprintf(name, sizeof(name), "%s: counts[%d] %llu, the walk %llu", what, k,
			 (unsigned long long)kept[k], (unsigned long long)walked[k]);
		ASSERT_EQ(kept[k], walked[k], name);
	}
}

/*
 * cs_counts stays exact through inserts, replacements (a run of present keys, and
 * present keys mixed with new ones in one batch, a key twice in one batch), unbans
 * of present and absent keys.
 */
static void test_counts(void)
{
	enum { N = 6000 };
	struct mixed m = { 0 };
	uint64_t c[4];

	if (!ASSERT_OK(mixed_open(N, &m), "counts open"))
		goto out;
	ASSERT_OK(xdp_loader_counts(m.l, c), "counts of an empty list");
	ASSERT_EQ(c[0] + c[1] + c[2] + c[3], 0, "empty: no entries counted");
	ASSERT_OK(xdp_loader_ban(m.l, m.p, m.b, N / 2, NULL), "ban the first half");
	expect_counts(m.l, "first half");
	/* the whole array: its first half present (one run), then new keys */
	ASSERT_OK(xdp_loader_ban(m.l, m.p, m.b, N, NULL), "ban all");
	expect_counts(m.l, "all");
	/* present and new keys alternate: every other key of the first half goes */
	for (int i = 0; i < N / 2; i += 2)
		ASSERT_OK(xdp_loader_unban(m.l, &m.p[i], 1, NULL), "unban one");
	expect_counts(m.l, "every other unbanned");
	ASSERT_OK(xdp_loader_ban(m.l, m.p, m.b, N, NULL), "ban all again");
	expect_counts(m.l, "all again");
	ASSERT_OK(xdp_loader_unban(m.l, m.p, N, NULL), "unban all");
	ASSERT_OK(xdp_loader_unban(m.l, m.p, N, NULL), "unban all again (all absent)");
	expect_counts(m.l, "none");
out:
	mixed_close(&m);
}

/* Verdict of one packet from src through l's program. */
static __u32 verdict_of(struct xdp_loader *l, enum l3 fam, const char *src)
{
	struct pkt_case c = { .l3 = fam, .src = src };
	unsigned char pkt[256];
	size_t len = build_pkt(&c, pkt, sizeof(pkt));
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = 1);

	if (bpf_prog_test_run_opts(xdp_loader_prog_fd(l), &topts))
		return (__u32)-1;
	return topts.retval;
}

/*
 * The negative filter: thousands of unbans rebuild it from the maps; afterwards the
 * entries still banned drop, the removed ones pass, and lengths no longer in use
 * are no longer probed.
 */
static void test_filter_rebuild(void)
{
	struct xdp_loader_opts opts = { .unpinned = true, .max_hosts = 2048, .max_ranges = 64 };
	enum { N = 2000, KEEP = 10 };
	struct cs_prefix *p = calloc(N, sizeof(*p)), extra[2];
	struct cs_ban *b = calloc(N, sizeof(*b));
	struct xdp_filter_info before, after;
	struct xdp_loader *l = NULL;
	char txt[64];
	int rounds = 0;

	if (!p || !b || !ASSERT_OK(xdp_loader_open(&opts, &l), "filter open"))
		goto out;
	for (int i = 0; i < N; i++) {
		snprintf(txt, sizeof(txt), "198.18.%d.%d", 100 + i / 250, 1 + i % 250);
		cs_prefix_parse(txt, CS_PREFIX_STRICT, &p[i]);
	}
	cs_prefix_parse("198.19.128.0/20", CS_PREFIX_STRICT, &extra[0]);
	cs_prefix_parse("2001:db8:77::/48", CS_PREFIX_STRICT, &extra[1]);
	ASSERT_OK(xdp_loader_ban(l, extra, b, 2, NULL), "ban two ranges");
	xdp_loader_filter_info(l, &before);
	ASSERT_EQ(before.lens_v4, 1, "one v4 length probed");
	ASSERT_EQ(before.lens_v6, 1, "one v6 length probed");
	ASSERT_OK(xdp_loader_unban(l, &extra[0], 1, NULL), "unban the /20");
	/* Until a rebuild, ban and unban all but KEEP hosts; the last round keeps them. */
	do {
		ASSERT_OK(xdp_loader_ban(l, p, b, N, NULL), "ban hosts");
		ASSERT_OK(xdp_loader_unban(l, p + KEEP, N - KEEP, NULL), "unban most");
		xdp_loader_filter_info(l, &after);
	} while (after.rebuilds == before.rebuilds && ++rounds < 20);
	ASSERT_TRUE(after.rebuilds > before.rebuilds, "the unbans rebuilt the filter");
	ASSERT_EQ(after.removed, 0, "no stale entry counted after a rebuild");
	ASSERT_EQ(after.lens_v4, 1, "v4: only /32 probed (the /20 is gone)");
	ASSERT_EQ(after.lens_v6, 1, "v6: the /48 still probed");
	ASSERT_TRUE(after.bits_set <= KEEP * CS_FILTER_K + CS_FILTER_K, "stale bits cleared");
	for (int i = 0; i < KEEP; i++) {
		cs_prefix_format(&p[i], false, txt, sizeof(txt));
		ASSERT_EQ(verdict_of(l, L3_V4, txt), XDP_DROP, "kept host still dropped");
	}
	cs_prefix_format(&p[KEEP], false, txt, sizeof(txt));
	ASSERT_EQ(verdict_of(l, L3_V4, txt), XDP_PASS, "unbanned host passes");
	ASSERT_EQ(verdict_of(l, L3_V4, "198.19.128.9"), XDP_PASS, "unbanned /20 passes");
	ASSERT_EQ(verdict_of(l, L3_V6, "2001:db8:77::5"), XDP_DROP, "v6 /48 still dropped");
out:
	xdp_loader_free(l);
	free(p);
	free(b);
}

/* Verdict and counter of one packet from src. */
static __u32 verdict_stat(struct xdp_loader *l, enum l3 fam, const char *src, int stat, __u64 *delta)
{
	struct cs_stat before[CS_STAT_MAX], after[CS_STAT_MAX];
	__u32 v;

	xdp_loader_stats(l, before);
	v = verdict_of(l, fam, src);
	xdp_loader_stats(l, after);
	*delta = after[stat].packets - before[stat].packets;
	return v;
}

/* The bucket of a prefix in its index (host or range, by its length). */
static uint32_t host_bucket_index(const struct cs_prefix *p, uint32_t log2)
{
	__u64 hi, lo;
	__u32 a;

	if (p->family == AF_INET) {
		memcpy(&a, p->addr, 4);
		return cs_host_bucket_of(cs_filter_hash4(a, p->plen), log2);
	}
	memcpy(&hi, p->addr, 8);
	memcpy(&lo, p->addr + 8, 8);
	return cs_host_bucket_of(cs_filter_hash6(hi, lo, p->plen), log2);
}

/* The index map of family's hosts or ranges. */
static struct bpf_map *index_map(struct xdp_loader *l, int family, bool ranges)
{
	struct xdp_bouncer_bpf *sk = xdp_loader_skel(l);

	if (family == AF_INET)
		return ranges ? sk->maps.cs_range_index : sk->maps.cs_host_index;
	return ranges ? sk->maps.cs_range_index6 : sk->maps.cs_host_index6;
}

/* Slots in use and the overflow mark of bucket 0 of an index (a range slot's `used`
 * is its prefix length). */
static int read_bucket0(struct xdp_loader *l, int family, bool ranges, int *used, int *overflow)
{
	int fd = bpf_map__fd(index_map(l, family, ranges));
	__u32 zero = 0;

	*used = 0;
	if (family == AF_INET) {
		struct cs_host_bucket hb;

		if (bpf_map_lookup_elem(fd, &zero, &hb))
			return -errno;
		for (int i = 0; i < CS_HOST_SLOTS; i++)
			*used += hb.used[i] != 0;
		*overflow = hb.overflow;
	} else {
		struct cs_host6_bucket hb;

		if (bpf_map_lookup_elem(fd, &zero, &hb))
			return -errno;
		for (int i = 0; i < CS_HOST6_SLOTS; i++)
			*used += hb.half[i / 2].used[i % 2] != 0;
		*overflow = hb.half[0].overflow;
	}
	return 0;
}

/* Whether prefix p has a slot in use in its bucket of l's host or range index. */
static bool indexed(struct xdp_loader *l, const struct cs_prefix *p)
{
	bool v4 = p->family == AF_INET, host = cs_prefix_is_host(p);
	struct bpf_map *m = index_map(l, p->family, !host);
	__u32 idx = host_bucket_index(p, (uint32_t)__builtin_ctz(bpf_map__max_entries(m)));
	__u8 tag = host ? 1 : (__u8)p->plen;

	if (v4) {
		struct cs_host_bucket hb;

		if (bpf_map_lookup_elem(bpf_map__fd(m), &idx, &hb))
			return false;
		for (int i = 0; i < CS_HOST_SLOTS; i++)
			if (hb.used[i] == tag && !memcmp(hb.addr[i], p->addr, 4))
				return true;
	} else {
		struct cs_host6_bucket hb;

		if (bpf_map_lookup_elem(bpf_map__fd(m), &idx, &hb))
			return false;
		for (int i = 0; i < CS_HOST6_SLOTS; i++)
			if (hb.half[i / 2].used[i % 2] == tag &&
			    !memcmp(hb.half[i / 2].addr[i % 2], p->addr, 16))
				return true;
	}
	return false;
}

/*
 * A host index larger than a window is mapped a window at a time: hosts spread
 * over every window are indexed and drop, unbanned ones leave their slot and pass,
 * and a rebuild (from thousands of unbans) indexes the rest again.
 */
static void test_index_windows(int family)
{
	/* host indexes of 4 and 8 MiB (2 and 4 windows); a filter rebuilt after 64k
	 * removals */
	struct xdp_loader_opts opts = { .unpinned = true, .max_hosts = 1U << 17, .max_ranges = 64 };
	const bool v4 = family == AF_INET;
	enum { N = 4096, KEEP = 64 };
	struct cs_prefix *p = calloc(N, sizeof(*p));
	struct cs_ban *b = calloc(N, sizeof(*b));
	struct xdp_loader *l = NULL;
	struct xdp_filter_info fi0, fi;
	int in_index = 0, dropped = 0, passed = 0, rounds = 0;
	char txt[64], what[96];

	if (!p || !b || !ASSERT_OK(xdp_loader_open(&opts, &l), "windows open"))
		goto out;
#define WHAT(s) (snprintf(what, sizeof(what), "IPv%d windows: %s", v4 ? 4 : 6, (s)), what)
	for (int i = 0; i < N; i++) {
		/* spread: the hash puts consecutive addresses in every window */
		if (v4)
			snprintf(txt, sizeof(txt), "198.18.%d.%d", i >> 8, i & 255);
		else
			snprintf(txt, sizeof(txt), "2001:db8::%x:%x", i >> 8, i & 255);
		cs_prefix_parse(txt, CS_PREFIX_STRICT, &p[i]);
		b[i] = (struct cs_ban){ .type = CS_TYPE_BAN, .origin = CS_ORIGIN_CAPI };
	}
	ASSERT_OK(xdp_loader_ban(l, p, b, N, NULL), WHAT("ban"));
	for (int i = 0; i < N; i++) {
		in_index += indexed(l, &p[i]);
		cs_prefix_format(&p[i], false, txt, sizeof(txt));
		dropped += verdict_of(l, v4 ? L3_V4 : L3_V6, txt) == XDP_DROP;
	}
	ASSERT_EQ(in_index, N, WHAT("every host in its slot"));
	ASSERT_EQ(dropped, N, WHAT("every host dropped"));
	expect_counts(l, WHAT("counts"));
	/* unban all but KEEP until the filter is rebuilt from the maps */
	xdp_loader_filter_info(l, &fi0);
	do {
		ASSERT_OK(xdp_loader_unban(l, p + KEEP, N - KEEP, NULL), WHAT("unban"));
		xdp_loader_filter_info(l, &fi);
		if (fi.rebuilds == fi0.rebuilds)
			ASSERT_OK(xdp_loader_ban(l, p + KEEP, b + KEEP, N - KEEP, NULL), WHAT("ban again"));
	} while (fi.rebuilds == fi0.rebuilds && ++rounds < 400);
	ASSERT_TRUE(fi.rebuilds > fi0.rebuilds, WHAT("rebuilt"));
	in_index = dropped = 0;
	for (int i = 0; i < N; i++) {
		bool kept = i < KEEP;
		__u32 v;

		cs_prefix_format(&p[i], false, txt, sizeof(txt));
		v = verdict_of(l, v4 ? L3_V4 : L3_V6, txt);
		in_index += kept && indexed(l, &p[i]);
		dropped += kept && v == XDP_DROP;
		passed += !kept && v == XDP_PASS && !indexed(l, &p[i]);
	}
	ASSERT_EQ(in_index, KEEP, WHAT("the kept hosts in their slots after the rebuild"));
	ASSERT_EQ(dropped, KEEP, WHAT("the kept hosts drop"));
	ASSERT_EQ(passed, N - KEEP, WHAT("the others pass, out of the index"));
	expect_counts(l, WHAT("counts after the rebuild"));
#undef WHAT
out:
	xdp_loader_free(l);
	free(p);
	free(b);
}

/* The i-th test prefix (1 <= i < 8192) of family, a host or (ranges) a /28 or /64,
 * and a source inside it in src. */
static void index_prefix(int family, bool ranges, int i, struct cs_prefix *p, char *src, size_t len)
{
	char txt[64];

	if (family == AF_INET && !ranges)
		snprintf(txt, sizeof(txt), "198.18.%d.%d", i >> 8, i & 255);
	else if (family == AF_INET)
		snprintf(txt, sizeof(txt), "198.%d.%d.%d/28", 18 + (i >> 12), (i >> 4) & 255,
			 (i & 15) << 4);
	else if (!ranges)
		snprintf(txt, sizeof(txt), "2001:db8::%x:%x", i >> 8, i & 255);
	else
		snprintf(txt, sizeof(txt), "2001:db8:%x:%x::/64", i >> 8, i & 255);
	cs_prefix_parse(txt, CS_PREFIX_STRICT, p);
	if (!ranges)
		snprintf(src, len, "%s", txt);
	else if (family == AF_INET)
		snprintf(src, len, "198.%d.%d.%d", 18 + (i >> 12), (i >> 4) & 255, ((i & 15) << 4) + 5);
	else
		snprintf(src, len, "2001:db8:%x:%x::5", i >> 8, i & 255);
}

/*
 * A host or range index (four slots per bucket, IPv6's over two lines): two
 * prefixes more than a bucket's slots in one bucket (it overflows and its prefixes
 * are found through the hash), updates in place, expiry and non-ban types read
 * from a slot, unbans, a refused ban that must not drop, and the overflow mark
 * dropped by a rebuild once the bucket fits again.
 */
static void test_index(int family, bool ranges)
{
	struct xdp_loader_opts opts = { .unpinned = true, .max_hosts = ranges ? 16 : 64,
					.max_ranges = ranges ? 64 : 16 };
	const bool v4 = family == AF_INET;
	const enum l3 l3 = v4 ? L3_V4 : L3_V6;
	const int slots = v4 ? CS_HOST_SLOTS : CS_HOST6_SLOTS, nsame = slots + 2, keep = nsame / 2;
	uint32_t nb = xdp_filter_host_buckets_for(family, 64), log2 = (uint32_t)__builtin_ctz(nb);
	struct cs_prefix same[CS_HOST_SLOTS + 2], other[64];
	struct cs_ban b = { .type = CS_TYPE_BAN, .origin = CS_ORIGIN_CAPI };
	struct cs_ban many[64];
	struct xdp_loader *l = NULL;
	char txt[CS_HOST_SLOTS + 2][64], otxt[64], osrc[64][64], what[96];
	int found = 0, nother = 0;
	__u64 d;

	if (!ASSERT_OK(xdp_loader_open(&opts, &l), v4 ? "v4 index open" : "v6 index open"))
		return;
#define WHAT(s)                                                                                 \
	(snprintf(what, sizeof(what), "IPv%d %s: %s", v4 ? 4 : 6, ranges ? "ranges" : "hosts", \
		  (s)),                                                                         \
	 what)
	/* prefixes sharing bucket 0, and others that do not */
	for (int i = 1; i < 8192 && (found < nsame || nother < 64); i++) {
		struct cs_prefix p;

		index_prefix(family, ranges, i, &p, otxt, sizeof(otxt));
		if (host_bucket_index(&p, log2) == 0) {
			if (found < nsame) {
				snprintf(txt[found], sizeof(txt[found]), "%s", otxt);
				same[found++] = p;
			}
		} else if (nother < 64) {
			snprintf(osrc[nother], sizeof(osrc[nother]), "%s", otxt);
			other[nother++] = p;
		}
	}
	if (!ASSERT_EQ(found, nsame, WHAT("hosts in bucket 0")))
		goto out;
	for (int i = 0; i < 64; i++)
		many[i] = b;
	ASSERT_OK(xdp_loader_ban(l, same, many, (size_t)nsame, NULL), WHAT("ban them in one bucket"));
	expect_counts(l, WHAT("counts with an overflowed bucket"));
	ASSERT_OK(xdp_loader_ban(l, same, many, (size_t)nsame, NULL), WHAT("ban them again"));
	expect_counts(l, WHAT("counts after replacing them"));
	{
		int used, overflow;

		if (ASSERT_OK(read_bucket0(l, family, ranges, &used, &overflow), WHAT("read bucket 0"))) {
			ASSERT_EQ(used, slots, WHAT("every slot of bucket 0 in use"));
			ASSERT_EQ(overflow, 1, WHAT("bucket 0 overflowed"));
		}
	}
	for (int i = 0; i < nsame; i++) {
		ASSERT_EQ(verdict_stat(l, l3, txt[i], DROP(CS_ORIGIN_CAPI), &d), XDP_DROP,
			  WHAT("each of them dropped"));
		ASSERT_EQ(d, 1, WHAT("drop attributed to CAPI"));
	}
	/* in place: a non-ban type, then an expired ban, then a live one again */
	b.type = CS_TYPE_OTHER;
	ASSERT_OK(xdp_loader_ban(l, &same[0], &b, 1, NULL), WHAT("re-ban as another type"));
	ASSERT_EQ(verdict_stat(l, l3, txt[0], CS_STAT_PASS_INACTIVE, &d), XDP_PASS,
		  WHAT("non-ban passes"));
	ASSERT_EQ(d, 1, WHAT("counted inactive"));
	b.type = CS_TYPE_BAN, b.expires_ns = xdp_loader_boot_ns() - 1;
	ASSERT_OK(xdp_loader_ban(l, &same[0], &b, 1, NULL), WHAT("re-ban expired"));
	ASSERT_EQ(verdict_stat(l, l3, txt[0], CS_STAT_PASS_INACTIVE, &d), XDP_PASS,
		  WHAT("expired passes"));
	b.expires_ns = xdp_loader_boot_ns() + 3600ULL * 1000000000ULL, b.origin = CS_ORIGIN_CSCLI;
	ASSERT_OK(xdp_loader_ban(l, &same[0], &b, 1, NULL), WHAT("re-ban live"));
	ASSERT_EQ(verdict_stat(l, l3, txt[0], DROP(CS_ORIGIN_CSCLI), &d), XDP_DROP,
		  WHAT("live again"));
	ASSERT_EQ(d, 1, WHAT("new origin attributes"));
	/* unban the first half: they pass, the rest still drop */
	ASSERT_OK(xdp_loader_unban(l, same, (size_t)keep, NULL), WHAT("unban half"));
	for (int i = 0; i < nsame; i++)
		ASSERT_EQ(verdict_of(l, l3, txt[i]), i < keep ? XDP_PASS : XDP_DROP,
			  WHAT("unbanned pass, the rest drop"));
	/* fill the map: the refused host must not drop */
	{
		size_t applied = 0;

		b.origin = CS_ORIGIN_CAPI;
		for (int i = 0; i < 64; i++)
			many[i] = b;
		ASSERT_EQ(xdp_loader_ban(l, other, many, 64, &applied), -ENOSPC, WHAT("map full"));
		ASSERT_EQ(applied, (size_t)(64 - (nsame - keep)), WHAT("the fill fits beside the rest"));
		ASSERT_EQ(verdict_of(l, l3, osrc[63]), XDP_PASS, WHAT("a refused ban does not drop"));
		ASSERT_EQ(verdict_of(l, l3, osrc[0]), XDP_DROP, WHAT("an accepted one does"));
		expect_counts(l, WHAT("counts of a full map"));
	}
	for (int i = keep; i < nsame; i++)
		ASSERT_EQ(verdict_of(l, l3, txt[i]), XDP_DROP, WHAT("bucket 0's hosts still drop"));
	/* unbans until a rebuild: bucket 0's remaining hosts fit in its slots now */
	{
		size_t nfill = (size_t)(64 - (nsame - keep));
		struct xdp_filter_info fi0, fi;
		int rounds = 0, used = 0, overflow = 1;

		xdp_loader_filter_info(l, &fi0);
		do {
			ASSERT_OK(xdp_loader_unban(l, other, nfill, NULL), WHAT("unban the fill"));
			ASSERT_OK(xdp_loader_ban(l, other, many, nfill, NULL), WHAT("ban the fill"));
			xdp_loader_filter_info(l, &fi);
		} while (fi.rebuilds == fi0.rebuilds && ++rounds < 200);
		ASSERT_TRUE(fi.rebuilds > fi0.rebuilds, WHAT("rebuilt"));
		ASSERT_OK(read_bucket0(l, family, ranges, &used, &overflow), WHAT("read bucket 0"));
		ASSERT_EQ(used, nsame - keep, WHAT("bucket 0's remaining hosts in slots"));
		ASSERT_EQ(overflow, 0, WHAT("overflow mark gone"));
		for (int i = 0; i < nsame; i++)
			ASSERT_EQ(verdict_of(l, l3, txt[i]), i < keep ? XDP_PASS : XDP_DROP,
				  WHAT("after the rebuild: unbanned pass, the rest drop"));
	}
	/* The program reads the verdict from the slot, not from the hash: with the
	 * hash's entry gone behind the index's back, the source still drops. */
	{
		struct xdp_bouncer_bpf *sk = xdp_loader_skel(l);
		const struct cs_prefix *p = &same[nsame - 1];
		struct cs_lpm_v4 k4 = { .prefixlen = p->plen };
		struct cs_lpm_v6 k6 = { .prefixlen = p->plen };
		int err;

		memcpy(k4.addr, p->addr, 4);
		memcpy(k6.addr, p->addr, 16);
		if (!ranges)
			err = bpf_map_delete_elem(bpf_map__fd(v4 ? sk->maps.cs_hosts_v4 : sk->maps.cs_hosts_v6),
						  p->addr);
		else if (v4)
			err = bpf_map_delete_elem(bpf_map__fd(sk->maps.cs_ranges_v4), &k4);
		else
			err = bpf_map_delete_elem(bpf_map__fd(sk->maps.cs_ranges_v6), &k6);
		ASSERT_OK(err, WHAT("delete from the hash alone"));
		ASSERT_EQ(verdict_of(l, l3, txt[nsame - 1]), XDP_DROP, WHAT("the index answers"));
	}
#undef WHAT
out:
	xdp_loader_free(l);
}

int main(void)
{
	if (geteuid() != 0) {
		TEST_SKIP(sizeof(cases) / sizeof(cases[0]) + 9, "needs root for BPF_PROG_TEST_RUN");
		return TEST_SUMMARY();
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	test_dry_run();
	test_capacity();
	test_full_map_alone();
	test_batch_and_walk();
	test_counts();
	test_filter_rebuild();
	test_index(AF_INET, false);
	test_index(AF_INET6, false);
	test_index(AF_INET, true);
	test_index(AF_INET6, true);
	test_index_windows(AF_INET);
	test_index_windows(AF_INET6);
	return TEST_SUMMARY();
}
