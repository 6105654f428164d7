// SPDX-License-Identifier: MIT
#include "bouncer/xdp_filter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/types.h>

#include "bpf/bouncer_maps.h"
#include "common/log.h"

#define MIN_LOG2 10 /* 8 KiB */
#define MAX_LOG2 28 /* 2 GiB: far past any capacity the maps can hold */
/* Stale entries tolerated, per filter word, before a rebuild: at 2 per word the
 * filter holds ~8 bits per key live or stale even when the maps are full. */
#define STALE_PER_WORD 2
#define STALE_MIN 4096

struct xdp_filter {
	struct cs_filter_cfg *cfg;
	__u64 *words;
	struct cs_host_bucket *hosts;
	size_t words_len, cfg_len, hosts_len;
	uint32_t log2, host_log2;
	bool hosts_fresh; /* the host index is empty and off until the next commit */
};

struct xdp_filter_build {
	__u64 *words;
	__u64 lens_v4, lens_v6[3];
	__u64 *spill; /* bit per host bucket: a host of it has no slot */
	struct xdp_filter *f;
	uint32_t log2;
};

uint32_t xdp_filter_log2_for(uint64_t capacity)
{
	uint32_t log2 = MIN_LOG2;

	while (log2 < MAX_LOG2 && (1ULL << log2) * 8 < capacity)
		log2++;
	return log2;
}

uint32_t xdp_filter_host_buckets_for(uint64_t max_hosts)
{
	uint32_t log2 = 4;

	/* at most half the slots in use when the host map is full */
	while (log2 < MAX_LOG2 && ((uint64_t)CS_HOST_SLOTS << log2) < 2 * max_hosts)
		log2++;
	return 1U << log2;
}

static size_t page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

/*
 * A writable view of a BPF array map. Never inherited: the unprivileged fetcher is
 * forked from this process and must not be able to write the fast path's index.
 */
/* fd's array mapped shared and not inherited by a fork: 0, or -errno (logged, naming what). */
static int map_shared(size_t len, int fd, const char *what, void **out)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int err = p == MAP_FAILED ? -errno : 0;

	if (!err && madvise(p, len, MADV_DONTFORK)) {
		err = -errno;
		munmap(p, len);
	}
	if (err) {
		log_error("cannot map %s: %s", what, strerror(-err));
		return err;
	}
	*out = p;
	return 0;
}

int xdp_filter_open(int cfg_fd, int words_fd, uint32_t n_words, int hosts_fd,
		    uint32_t n_buckets, bool reset, struct xdp_filter **out, bool *fresh)
{
	char words_what[48], hosts_what[48];
	struct xdp_filter *f;
	int err;

	*fresh = false;
	if (!n_words || (n_words & (n_words - 1)) || !n_buckets || (n_buckets & (n_buckets - 1)))
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->log2 = (uint32_t)__builtin_ctz(n_words);
	f->host_log2 = (uint32_t)__builtin_ctz(n_buckets);
	f->cfg_len = page_round(sizeof(*f->cfg));
	f->words_len = page_round((size_t)n_words * sizeof(__u64));
	f->hosts_len = page_round((size_t)n_buckets * sizeof(struct cs_host_bucket));
	snprintf(words_what, sizeof(words_what), "the filter (%u words)", n_words);
	snprintf(hosts_what, sizeof(hosts_what), "the host index (%u buckets)", n_buckets);
	err = map_shared(f->cfg_len, cfg_fd, "the filter config", (void **)&f->cfg);
	if (!err)
		err = map_shared(f->words_len, words_fd, words_what, (void **)&f->words);
	if (!err)
		err = map_shared(f->hosts_len, hosts_fd, hosts_what, (void **)&f->hosts);
	if (err)
		goto err;
	if (reset || f->cfg->log2_host_buckets != f->host_log2) {
		/* Off (the program asks the filter and cs_hosts_v4) until refilled. */
		__atomic_store_n(&f->cfg->log2_host_buckets, 0, __ATOMIC_RELEASE);
		memset(f->hosts, 0, (size_t)n_buckets * sizeof(*f->hosts));
		f->hosts_fresh = true;
		*fresh = true;
	}
	if (reset || f->cfg->log2_words != f->log2) {
		/* Not set up, or not for these words: the program probes the maps at
		 * every length in use until the rebuild the caller owes installs it. */
		if (f->cfg->log2_words && f->cfg->log2_words != f->log2)
			log_warn("filter config was for 2^%u words, the filter has 2^%u: "
				 "rebuilding it", f->cfg->log2_words, f->log2);
		__atomic_store_n(&f->cfg->log2_words, 0, __ATOMIC_RELEASE);
		*fresh = true;
	}
	*out = f;
	return 0;
err:
	xdp_filter_free(f);
	return err;
}

void xdp_filter_free(struct xdp_filter *f)
{
	if (!f)
		return;
	if (f->words)
		munmap(f->words, f->words_len);
	if (f->hosts)
		munmap(f->hosts, f->hosts_len);
	if (f->cfg)
		munmap(f->cfg, f->cfg_len);
	free(f);
}

/* The key's hash, computed exactly as the program does (bouncer_maps.h). */
static __u64 prefix_hash(const struct cs_prefix *p)
{
	if (p->family == AF_INET) {
		__u32 a;

		memcpy(&a, p->addr, 4);
		return cs_filter_hash4(a, p->plen);
	}
	__u64 hi, lo;

	memcpy(&hi, p->addr, 8);
	memcpy(&lo, p->addr + 8, 8);
	return cs_filter_hash6(hi, lo, p->plen);
}

/* The length's bit in lens_v4, or in lens_v6[*word]. */
static __u64 len_bit(const struct cs_prefix *p, unsigned *word)
{
	unsigned bit = (unsigned)(cs_prefix_max_len(p->family) - p->plen);

	*word = bit / 64;
	return 1ULL << (bit % 64);
}

static bool is_v4_host(const struct cs_prefix *p)
{
	return p->family == AF_INET && p->plen == 32;
}

static struct cs_host_bucket *host_bucket(const struct xdp_filter *f, const struct cs_prefix *p,
					  uint32_t *idx)
{
	*idx = cs_host_bucket_of(prefix_hash(p), f->host_log2);
	return &f->hosts[*idx];
}

static int host_slot(const struct cs_host_bucket *b, const struct cs_prefix *p)
{
	for (int i = 0; i < CS_HOST_SLOTS; i++)
		if (__atomic_load_n(&b->used[i], __ATOMIC_ACQUIRE) && !memcmp(b->addr[i], p->addr, 4))
			return i;
	return -1;
}

/* Writes a host's verdict data into its bucket; false when the bucket is full (it
 * is then marked overflowed: the program asks cs_hosts_v4 for that bucket). */
static bool host_set(struct xdp_filter *f, const struct cs_prefix *p, const struct cs_ban *ban)
{
	uint32_t idx;
	struct cs_host_bucket *b = host_bucket(f, p, &idx);
	int i = host_slot(b, p);
	bool fresh_slot = i < 0;

	for (int j = 0; i < 0 && j < CS_HOST_SLOTS; j++)
		if (!__atomic_load_n(&b->used[j], __ATOMIC_ACQUIRE))
			i = j;
	if (i < 0) {
		__atomic_store_n(&b->overflow, 1, __ATOMIC_RELEASE);
		return false;
	}
	/* A slot in use changes field by field: any mix of old and new is a verdict
	 * one of the two bans would give. A new slot is published by `used`. */
	__atomic_store_n(&b->expires_ns[i], ban->expires_ns, __ATOMIC_RELEASE);
	__atomic_store_n((__u8 *)&b->origin[i], (__u8)ban->origin, __ATOMIC_RELEASE);
	__atomic_store_n((__u8 *)&b->type[i], (__u8)ban->type, __ATOMIC_RELEASE);
	if (fresh_slot) {
		__u32 a;

		memcpy(&a, p->addr, 4);
		__atomic_store_n((__u32 *)b->addr[i], a, __ATOMIC_RELEASE);
		__atomic_store_n(&b->used[i], 1, __ATOMIC_RELEASE);
	}
	return true;
}

void xdp_filter_remove(struct xdp_filter *f, const struct cs_prefix *p)
{
	uint32_t idx;
	struct cs_host_bucket *b;
	int i;

	if (!is_v4_host(p))
		return;
	b = host_bucket(f, p, &idx);
	i = host_slot(b, p);
	if (i >= 0)
		__atomic_store_n(&b->used[i], 0, __ATOMIC_RELEASE);
}

void xdp_filter_resync(struct xdp_filter *f, const struct cs_prefix *p, const struct cs_ban *now)
{
	if (!is_v4_host(p))
		return;
	if (now)
		host_set(f, p, now);
	else
		xdp_filter_remove(f, p);
}

void xdp_filter_add(struct xdp_filter *f, const struct cs_prefix *p, const struct cs_ban *ban)
{
	__u64 h = prefix_hash(p);
	unsigned w;
	__u64 lb = len_bit(p, &w);

	if (is_v4_host(p) && !f->hosts_fresh)
		host_set(f, p, ban);
	__atomic_fetch_or(&f->words[cs_filter_word(h, f->log2)], cs_filter_bits(h),
			  __ATOMIC_RELAXED);
	__atomic_fetch_or(p->family == AF_INET ? &f->cfg->lens_v4 : &f->cfg->lens_v6[w], lb,
			  __ATOMIC_RELAXED);
	/* The map update that follows is a syscall: the stores are visible by then. */
}

bool xdp_filter_removed(struct xdp_filter *f, size_t n)
{
	__u64 removed = __atomic_add_fetch(&f->cfg->removed, n, __ATOMIC_RELAXED);
	__u64 limit = ((__u64)STALE_PER_WORD << f->log2);

	return removed >= (limit > STALE_MIN ? limit : STALE_MIN);
}

int xdp_filter_build_new(struct xdp_filter *f, struct xdp_filter_build **out)
{
	struct xdp_filter_build *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->f = f;
	b->log2 = f->log2;
	b->words = calloc((size_t)1 << f->log2, sizeof(__u64));
	b->spill = calloc(((size_t)1 << f->host_log2) / 64 + 1, sizeof(__u64));
	if (!b->words || !b->spill) {
		xdp_filter_build_free(b);
		return -ENOMEM;
	}
	*out = b;
	return 0;
}

void xdp_filter_build_add(struct xdp_filter_build *b, const struct cs_prefix *p,
			  const struct cs_ban *ban)
{
	__u64 h = prefix_hash(p);
	unsigned w;
	__u64 lb = len_bit(p, &w);

	if (is_v4_host(p) && !host_set(b->f, p, ban)) {
		uint32_t idx;

		/* (Re)indexed if a slot is free by now; else its bucket keeps spilling.
		 * The others lose their overflow mark at the commit. */
		host_bucket(b->f, p, &idx);
		b->spill[idx / 64] |= 1ULL << (idx % 64);
	}
	b->words[cs_filter_word(h, b->log2)] |= cs_filter_bits(h);
	if (p->family == AF_INET)
		b->lens_v4 |= lb;
	else
		b->lens_v6[w] |= lb;
}

void xdp_filter_build_commit(struct xdp_filter *f, struct xdp_filter_build *b)
{
	size_t n = (size_t)1 << f->log2;

	/* Each live key's bits are in both the old and the new word: whichever one a
	 * packet reads, a banned source is found. */
	for (size_t i = 0; i < n; i++)
		if (f->words[i] != b->words[i])
			__atomic_store_n(&f->words[i], b->words[i], __ATOMIC_RELAXED);
	__atomic_store_n(&f->cfg->lens_v4, b->lens_v4, __ATOMIC_RELAXED);
	for (int w = 0; w < 3; w++)
		__atomic_store_n(&f->cfg->lens_v6[w], b->lens_v6[w], __ATOMIC_RELAXED);
	for (size_t i = 0; i < ((size_t)1 << f->host_log2); i++)
		if (f->hosts[i].overflow && !(b->spill[i / 64] & 1ULL << (i % 64)))
			__atomic_store_n(&f->hosts[i].overflow, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&f->cfg->removed, 0, __ATOMIC_RELAXED);
	__atomic_add_fetch(&f->cfg->rebuilds, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&f->cfg->log2_words, f->log2, __ATOMIC_RELEASE);
	if (f->hosts_fresh) {
		__atomic_store_n(&f->cfg->log2_host_buckets, f->host_log2, __ATOMIC_RELEASE);
		f->hosts_fresh = false;
	}
	xdp_filter_build_free(b);
}

void xdp_filter_build_free(struct xdp_filter_build *b)
{
	if (!b)
		return;
	free(b->words);
	free(b->spill);
	free(b);
}

void xdp_filter_info(const struct xdp_filter *f, struct xdp_filter_info *out)
{
	size_t n = (size_t)1 << f->log2;

	memset(out, 0, sizeof(*out));
	out->words = (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		out->bits_set += (uint64_t)__builtin_popcountll(f->words[i]);
	out->removed = f->cfg->removed;
	out->rebuilds = f->cfg->rebuilds;
	out->lens_v4 = (unsigned)__builtin_popcountll(f->cfg->lens_v4);
	for (int w = 0; w < 3; w++)
		out->lens_v6 += (unsigned)__builtin_popcountll(f->cfg->lens_v6[w]);
}
