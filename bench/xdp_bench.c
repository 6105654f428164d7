// SPDX-License-Identifier: MIT
/*
 * Data-plane micro-benchmark (not a test): for N banned prefixes
 *   - time to insert and to remove N through the loader (batch syscalls);
 *   - ns/packet of the XDP program through BPF_PROG_TEST_RUN, two ways:
 *     "warm": one packet repeated (its lookup path stays in cache: best case);
 *     "cold": one run per packet over many distinct sources drawn at random from
 *     the set (a botnet flood: the realistic case for a big list), minus the cost
 *     of the same runs on a packet that skips the lookups (ARP); runs over 20 us
 *     (an interrupt or a preemption, not a lookup) are left out of the means, so
 *     they hold on a busy machine.
 * Mixes: all hosts (/32, /128), and half hosts / half ranges (/24, /64). The last
 * column is the negative filter's size and the share of its bits set, which drives
 * its false-positive rate (what a plain LPM dropper pays: ../shared/bench/drop,
 * and the ref-xdp rows of the veth table).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bouncer/xdp_filter.h"
#include "bouncer/xdp_loader.h"
#include "xdp_bouncer.skel.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* v4 address i of the set: spread over the whole space, never 0/8, 127/8 or >= 224/8 */
static void make_prefix(int family, bool range, struct cs_prefix *p)
{
	uint64_t r = rnd();

	memset(p, 0, sizeof(*p));
	p->family = family;
	if (family == AF_INET) {
		uint32_t a = (uint32_t)r;

		a = (a % (223U << 24)) + (1U << 24);
		if ((a >> 24) == 127 || (a >> 17) == (198U << 7 | 9))
			a += 1U << 24; /* loopback, and 198.18/15 where the misses come from */
		if (range)
			a &= 0xffffff00U;
		a = htonl(a);
		memcpy(p->addr, &a, 4);
		p->plen = range ? 24 : 32;
	} else {
		memcpy(p->addr, "\x20\x01\x0d\xb8", 4);
		memcpy(p->addr + 4, &r, 4); /* 2001:db8:xxxx:xxxx::/64 */
		if (!range) {
			uint64_t r2 = rnd();

			memcpy(p->addr + 8, &r2, 8);
		}
		p->plen = range ? 64 : 128;
	}
}

static size_t build_pkt(int family, const uint8_t *src, unsigned char *pkt)
{
	memset(pkt, 0, 128);
	memcpy(pkt, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	if (family == AF_INET) {
		pkt[12] = 0x08, pkt[13] = 0x00, pkt[14] = 0x45, pkt[23] = 17;
		memcpy(pkt + 26, src, 4);
		return 14 + 20 + 8 + 22;
	}
	if (family == AF_INET6) {
		pkt[12] = 0x86, pkt[13] = 0xDD, pkt[14] = 0x60, pkt[20] = 17;
		memcpy(pkt + 22, src, 16);
		return 14 + 40 + 8 + 10;
	}
	pkt[12] = 0x08, pkt[13] = 0x06; /* ARP: no lookup at all */
	return 60;
}

static double run_repeat(int prog_fd, const unsigned char *pkt, size_t len, int repeat,
			 __u32 *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -1;
	*verdict = o.retval;
	return o.duration;
}

/* A run longer than this was interrupted or preempted (a lookup misses a handful of
 * cache lines: well under a microsecond); on a busy machine those runs would
 * dominate the mean, so they are left out of it, on both sides of the difference. */
#define RUN_OUTLIER_NS 20000.0

/* Mean kernel-timed ns over one run per source, runs past RUN_OUTLIER_NS left out. */
static double run_many(int prog_fd, int family, const struct cs_prefix *srcs, size_t k,
		       __u32 want, size_t *wrong, size_t *dropped)
{
	unsigned char pkt[128];
	size_t kept = 0;
	double total = 0;

	*wrong = 0, *dropped = 0;
	for (size_t i = 0; i < k; i++) {
		uint8_t a[16];
		__u32 v = 0;
		double t;

		memcpy(a, srcs[i].addr, 16);
		if (family && srcs[i].plen != (family == AF_INET ? 32 : 128))
			a[family == AF_INET ? 3 : 15] |= 0x5; /* a host inside the range */
		t = run_repeat(prog_fd, pkt, build_pkt(family, a, pkt), 1, &v);
		*wrong += v != want;
		if (t < 0 || t > RUN_OUTLIER_NS) {
			++*dropped;
			continue;
		}
		total += t, kept++;
	}
	return kept ? total / (double)kept : -1;
}

struct result {
	const char *mix;
	int family;
	size_t n;
	double insert_s, delete_s;
	double warm_hit, warm_miss, cold_hit, cold_miss, cold_base, filter_mib, filter_fill;
};

static int bench(const char *mix, int family, size_t n, bool ranges, struct result *r)
{
	struct xdp_loader_opts opts = { .unpinned = true, .no_expiry = false,
					.max_hosts = (uint32_t)n + 16, .max_ranges = (uint32_t)n + 16 };
	size_t k = n < 200000 ? n : 200000, wrong = 0, dropped = 0;
	struct cs_prefix *set = calloc(n, sizeof(*set)), *miss = calloc(k, sizeof(*miss));
	struct cs_ban *bans = calloc(n, sizeof(*bans));
	struct xdp_loader *l = NULL;
	unsigned char pkt[128];
	size_t applied, missing;
	int fd, err = -ENOMEM;
	double t;
	__u32 v = 0;

	memset(r, 0, sizeof(*r));
	r->mix = mix, r->family = family, r->n = n;
	if (!set || !bans || !miss)
		goto out;
	err = xdp_loader_open(&opts, &l);
	if (err)
		goto out;
	fd = xdp_loader_prog_fd(l);
	for (size_t i = 0; i < n; i++) {
		make_prefix(family, ranges && (i & 1), &set[i]);
		bans[i].type = CS_TYPE_BAN;
		bans[i].decision_id = i;
	}
	for (size_t i = 0; i < k; i++) {
		make_prefix(family, false, &miss[i]);
		if (family == AF_INET)
			miss[i].addr[0] = 198, miss[i].addr[1] = 18 + (miss[i].addr[1] & 1);
		else
			miss[i].addr[2] = 0x0d, miss[i].addr[3] = 0xb9; /* outside the set */
	}

	t = now_s();
	err = xdp_loader_ban(l, set, bans, n, &applied);
	r->insert_s = now_s() - t;
	if (err)
		goto out;

	/* the cold runs draw sources in random order from the whole set */
	for (size_t i = 0; i < k; i++) {
		size_t j = rnd() % n;
		struct cs_prefix tmp = set[i];

		set[i] = set[j];
		set[j] = tmp;
	}
	r->warm_hit = run_repeat(fd, pkt, build_pkt(family, set[0].addr, pkt), 1000000, &v);
	if (v != XDP_DROP)
		fprintf(stderr, "warm hit: wrong verdict %u\n", v);
	r->warm_miss = run_repeat(fd, pkt, build_pkt(family, miss[0].addr, pkt), 1000000, &v);
	if (v != XDP_PASS)
		fprintf(stderr, "warm miss: wrong verdict %u\n", v);
	{
		/* ARP skips the lookups: what every run costs besides them */
		struct cs_prefix *arp = calloc(k, sizeof(*arp));

		if (!arp) {
			err = -ENOMEM;
			goto out;
		}
		r->cold_base = run_many(fd, 0, arp, k, XDP_PASS, &wrong, &dropped);
		free(arp);
	}
	r->cold_hit = run_many(fd, family, set, k, XDP_DROP, &wrong, &dropped) - r->cold_base;
	if (wrong)
		fprintf(stderr, "%s N=%zu cold hit: %zu wrong verdicts\n", mix, n, wrong);
	if (dropped > k / 100)
		fprintf(stderr, "%s N=%zu cold hit: %zu of %zu runs interrupted\n", mix, n, dropped, k);
	r->cold_miss = run_many(fd, family, miss, k, XDP_PASS, &wrong, &dropped) - r->cold_base;
	if (wrong)
		fprintf(stderr, "%s N=%zu cold miss: %zu wrong verdicts\n", mix, n, wrong);
	if (dropped > k / 100)
		fprintf(stderr, "%s N=%zu cold miss: %zu of %zu runs interrupted\n", mix, n, dropped, k);

	{
		struct xdp_filter_info fi;

		xdp_loader_filter_info(l, &fi);
		r->filter_mib = (double)fi.words * 8 / (1 << 20);
		r->filter_fill = 100.0 * (double)fi.bits_set / ((double)fi.words * 64);
	}
	t = now_s();
	err = xdp_loader_unban(l, set, n, &missing);
	r->delete_s = now_s() - t;
	if (err)
		goto out;

out:
	xdp_loader_free(l);
	free(set);
	free(bans);
	free(miss);
	return err;
}

int main(int argc, char **argv)
{
	size_t sizes[] = { 1000, 100000, 1000000 };
	int nsizes = argc > 1 ? atoi(argv[1]) : 3;
	const char *only = argc > 2 ? argv[2] : NULL; /* e.g. "IPv4 hosts 1000000" */

	if (geteuid()) {
		fprintf(stderr, "xdp_bench: needs root\n");
		return 1;
	}
	if (argc > 3 || (argc > 1 && atoi(argv[1]) == 0)) {
		fprintf(stderr, "usage: xdp_bench [SIZES 1-3 [CASE, e.g. \"IPv4 hosts 1000000\"]]\n");
		return 2;
	}
	if (nsizes < 1 || nsizes > 3)
		nsizes = 3;
	printf("| family | mix | N | insert s | delete s | warm hit ns | warm miss ns | "
	       "cold hit ns | cold miss ns | filter MiB / bits set %% |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|\n");
	for (int f = 0; f < 2; f++) {
		for (int m = 0; m < 2; m++) {
			for (int s = 0; s < nsizes; s++) {
				struct result r;
				int family = f ? AF_INET6 : AF_INET;
				const char *mix = m ? "½ hosts ½ ranges" : "hosts";
				char name[64];

				snprintf(name, sizeof(name), "%s %s %zu", f ? "IPv6" : "IPv4",
					 m ? "ranges" : "hosts", sizes[s]);
				if (only && !strstr(name, only))
					continue;

				if (bench(mix, family, sizes[s], m, &r)) {
					printf("| %s | %s | %zu | failed |\n", f ? "IPv6" : "IPv4",
					       mix, sizes[s]);
					continue;
				}
				printf("| %s | %s | %zu | %.3f | %.3f | %.0f | %.0f | %.0f | %.0f | %.1f / %.1f |\n",
				       f ? "IPv6" : "IPv4", mix, sizes[s], r.insert_s, r.delete_s,
				       r.warm_hit, r.warm_miss, r.cold_hit, r.cold_miss, r.filter_mib,
				       r.filter_fill);
				fflush(stdout);
			}
		}
	}
	return 0;
}
