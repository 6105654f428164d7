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

/* One family's host index: its mapped buckets and whether it is off (empty, the
 * program not told its size) until the next commit. */
struct host_index {
	void *buckets; /* struct cs_host_bucket or struct cs_host6_bucket */
	size_t len;
	uint32_t log2;
	bool fresh;
};

struct xdp_filter {
	struct cs_filter_cfg *cfg;
	__u64 *words;
	size_t words_len, cfg_len;
	uint32_t log2;
	struct host_index hi[2]; /* [0] IPv4, [1] IPv6 */
};

struct xdp_filter_build {
	__u64 *words;
	__u64 lens_v4, lens_v6[3];
	__u64 *spill[2]; /* per family, bit per host bucket: a host of it has no slot */
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

uint32_t xdp_filter_host_buckets_for(int family, uint64_t max_hosts)
{
	uint64_t slots = family == AF_INET ? CS_HOST_SLOTS : CS_HOST6_SLOTS;
	uint32_t log2 = 4;

	/* at most half the slots in use when the host map is full */
	while (log2 < MAX_LOG2 && (slots << log2) < 2 * max_hosts)
		log2++;
	return 1U << log2;
}

static size_t page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

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

/* Maps one family's host index; off and empty when asked (reset) or when the
 * config was not for its size. */
static int host_index_open(struct xdp_filter *f, int fam, int fd, uint32_t n_buckets, bool reset,
			   bool *fresh)
{
	struct host_index *h = &f->hi[fam];
	__u32 *cfg_log2 = fam ? &f->cfg->log2_host6_buckets : &f->cfg->log2_host_buckets;
	size_t bucket = fam ? sizeof(struct cs_host6_bucket) : sizeof(struct cs_host_bucket);
	char what[64];
	int err;

	h->log2 = (uint32_t)__builtin_ctz(n_buckets);
	h->len = page_round((size_t)n_buckets * bucket);
	snprintf(what, sizeof(what), "the IPv%d host index (%u buckets)", fam ? 6 : 4, n_buckets);
	err = map_shared(h->len, fd, what, &h->buckets);
	if (err)
		return err;
	if (reset || *cfg_log2 != h->log2) {
		/* Off (the program asks the filter and the host hash) until refilled. */
		__atomic_store_n(cfg_log2, 0, __ATOMIC_RELEASE);
		memset(h->buckets, 0, (size_t)n_buckets * bucket);
		h->fresh = true;
		*fresh = true;
	}
	return 0;
}

static bool pow2(uint32_t n)
{
	return n && !(n & (n - 1));
}

int xdp_filter_open(int cfg_fd, int words_fd, uint32_t n_words, const int hosts_fd[2],
		    const uint32_t n_buckets[2], bool reset, struct xdp_filter **out, bool *fresh)
{
	char words_what[48];
	struct xdp_filter *f;
	int err;

	*fresh = false;
	if (!pow2(n_words) || !pow2(n_buckets[0]) || !pow2(n_buckets[1]))
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->log2 = (uint32_t)__builtin_ctz(n_words);
	f->cfg_len = page_round(sizeof(*f->cfg));
	f->words_len = page_round((size_t)n_words * sizeof(__u64));
	snprintf(words_what, sizeof(words_what), "the filter (%u words)", n_words);
	err = map_shared(f->cfg_len, cfg_fd, "the filter config", (void **)&f->cfg);
	if (!err)
		err = map_shared(f->words_len, words_fd, words_what, (void **)&f->words);
	for (int fam = 0; fam < 2 && !err; fam++)
		err = host_index_open(f, fam, hosts_fd[fam], n_buckets[fam], reset, fresh);
	if (err)
		goto err;
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
	for (int fam = 0; fam < 2; fam++)
		if (f->hi[fam].buckets)
			munmap(f->hi[fam].buckets, f->hi[fam].len);
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

/* A host's bucket in its family's index, as pointers into the mapped array: one
 * code path for both layouts. */
#define MAX_SLOTS 4
struct hbucket {
	__u8 *addr[MAX_SLOTS];
	__u64 *expires[MAX_SLOTS];
	__u8 *used[MAX_SLOTS], *origin[MAX_SLOTS], *type[MAX_SLOTS];
	__u8 *overflow;
	size_t alen;
	int nslots;
	int fam; /* 0 IPv4, 1 IPv6 */
	uint32_t idx;
};
_Static_assert(CS_HOST_SLOTS <= MAX_SLOTS && CS_HOST6_SLOTS <= MAX_SLOTS, "hbucket slots");

static void host_bucket(const struct xdp_filter *f, const struct cs_prefix *p, struct hbucket *b)
{
	int fam = p->family == AF_INET6;

	b->fam = fam;
	b->idx = cs_host_bucket_of(prefix_hash(p), f->hi[fam].log2);
	if (!fam) {
		struct cs_host_bucket *hb = (struct cs_host_bucket *)f->hi[0].buckets + b->idx;

		b->alen = 4, b->nslots = CS_HOST_SLOTS, b->overflow = &hb->overflow;
		for (int i = 0; i < CS_HOST_SLOTS; i++) {
			b->addr[i] = hb->addr[i], b->expires[i] = &hb->expires_ns[i];
			b->used[i] = &hb->used[i], b->origin[i] = (__u8 *)&hb->origin[i];
			b->type[i] = (__u8 *)&hb->type[i];
		}
	} else {
		struct cs_host6_bucket *hb = (struct cs_host6_bucket *)f->hi[1].buckets + b->idx;

		b->alen = 16, b->nslots = CS_HOST6_SLOTS, b->overflow = &hb->half[0].overflow;
		for (int i = 0; i < CS_HOST6_SLOTS; i++) {
			struct cs_host6_half *h = &hb->half[i / 2];
			int j = i % 2;

			b->addr[i] = h->addr[j], b->expires[i] = &h->expires_ns[j];
			b->used[i] = &h->used[j], b->origin[i] = (__u8 *)&h->origin[j];
			b->type[i] = (__u8 *)&h->type[j];
		}
	}
}

static int host_slot(const struct hbucket *b, const struct cs_prefix *p)
{
	for (int i = 0; i < b->nslots; i++)
		if (__atomic_load_n(b->used[i], __ATOMIC_ACQUIRE) && !memcmp(b->addr[i], p->addr, b->alen))
			return i;
	return -1;
}

/* Writes a host's verdict data into its bucket; false when the bucket is full (it
 * is then marked overflowed: the program asks the host hash for that bucket). */
static bool host_set(struct xdp_filter *f, const struct cs_prefix *p, const struct cs_ban *ban)
{
	struct hbucket b;
	int i;
	bool fresh_slot;

	host_bucket(f, p, &b);
	i = host_slot(&b, p);
	fresh_slot = i < 0;
	for (int j = 0; i < 0 && j < b.nslots; j++)
		if (!__atomic_load_n(b.used[j], __ATOMIC_ACQUIRE))
			i = j;
	if (i < 0) {
		__atomic_store_n(b.overflow, 1, __ATOMIC_RELEASE);
		return false;
	}
	/* A slot in use changes field by field: any mix of old and new is a verdict
	 * one of the two bans would give. A new slot is published by `used`, after
	 * its address (whole 32-bit words: the program reads it by halves). */
	__atomic_store_n(b.expires[i], ban->expires_ns, __ATOMIC_RELEASE);
	__atomic_store_n(b.origin[i], (__u8)ban->origin, __ATOMIC_RELEASE);
	__atomic_store_n(b.type[i], (__u8)ban->type, __ATOMIC_RELEASE);
	if (fresh_slot) {
		for (size_t o = 0; o < b.alen; o += 4) {
			__u32 w;

			memcpy(&w, p->addr + o, 4);
			__atomic_store_n((__u32 *)(b.addr[i] + o), w, __ATOMIC_RELEASE);
		}
		__atomic_store_n(b.used[i], 1, __ATOMIC_RELEASE);
	}
	return true;
}

void xdp_filter_remove(struct xdp_filter *f, const struct cs_prefix *p)
{
	struct hbucket b;
	int i;

	if (!cs_prefix_is_host(p))
		return;
	host_bucket(f, p, &b);
	i = host_slot(&b, p);
	if (i >= 0)
		__atomic_store_n(b.used[i], 0, __ATOMIC_RELEASE);
}

void xdp_filter_resync(struct xdp_filter *f, const struct cs_prefix *p, const struct cs_ban *now)
{
	if (!cs_prefix_is_host(p))
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

	if (cs_prefix_is_host(p) && !f->hi[p->family == AF_INET6].fresh)
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
	for (int fam = 0; fam < 2; fam++)
		b->spill[fam] = calloc(((size_t)1 << f->hi[fam].log2) / 64 + 1, sizeof(__u64));
	if (!b->words || !b->spill[0] || !b->spill[1]) {
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

	if (cs_prefix_is_host(p) && !host_set(b->f, p, ban)) {
		struct hbucket hb;

		/* (Re)indexed if a slot is free by now; else its bucket keeps spilling.
		 * The others lose their overflow mark at the commit. */
		host_bucket(b->f, p, &hb);
		b->spill[hb.fam][hb.idx / 64] |= 1ULL << (hb.idx % 64);
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
	for (size_t i = 0; i < ((size_t)1 << f->hi[0].log2); i++) {
		struct cs_host_bucket *hb = (struct cs_host_bucket *)f->hi[0].buckets + i;

		if (hb->overflow && !(b->spill[0][i / 64] & 1ULL << (i % 64)))
			__atomic_store_n(&hb->overflow, 0, __ATOMIC_RELEASE);
	}
	for (size_t i = 0; i < ((size_t)1 << f->hi[1].log2); i++) {
		struct cs_host6_bucket *hb = (struct cs_host6_bucket *)f->hi[1].buckets + i;

		if (hb->half[0].overflow && !(b->spill[1][i / 64] & 1ULL << (i % 64)))
			__atomic_store_n(&hb->half[0].overflow, 0, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&f->cfg->removed, 0, __ATOMIC_RELAXED);
	__atomic_add_fetch(&f->cfg->rebuilds, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&f->cfg->log2_words, f->log2, __ATOMIC_RELEASE);
	if (f->hi[0].fresh)
		__atomic_store_n(&f->cfg->log2_host_buckets, f->hi[0].log2, __ATOMIC_RELEASE);
	if (f->hi[1].fresh)
		__atomic_store_n(&f->cfg->log2_host6_buckets, f->hi[1].log2, __ATOMIC_RELEASE);
	f->hi[0].fresh = f->hi[1].fresh = false;
	xdp_filter_build_free(b);
}

void xdp_filter_build_free(struct xdp_filter_build *b)
{
	if (!b)
		return;
	free(b->words);
	free(b->spill[0]);
	free(b->spill[1]);
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
