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

/* Host index bytes mapped at a time. The maps live in the kernel; a window keeps
 * this process's view of them (its RSS) small: at 1M hosts per family the two
 * indexes are 96 MiB, which a full mapping would count in the applier's RSS. */
#define WINDOW_BYTES (2U << 20)
/* Hosts the rebuild gathers before writing them window by window. */
#define BUILD_HOSTS 65536

/* The indexes, by kind: [IDX_HOST4] cs_host_index, [IDX_HOST6] cs_host_index6,
 * [IDX_RANGE4] cs_range_index, [IDX_RANGE6] cs_range_index6. An odd kind has the
 * IPv6 layout; a range slot's `used` is its prefix length. */
enum { IDX_HOST4, IDX_HOST6, IDX_RANGE4, IDX_RANGE6, N_INDEX };

/* One index: the window of it mapped now, and whether it is off (empty, the
 * program not told its size) until the next commit. */
struct host_index {
	int fd;
	size_t bucket;	   /* sizeof(struct cs_host_bucket) or (struct cs_host6_bucket) */
	uint32_t log2;	   /* of the bucket count */
	uint32_t win_log2; /* of the buckets per window */
	size_t win_len;
	void *win;	   /* buckets [win_no << win_log2, ...) or NULL */
	uint32_t win_no;
	bool fresh;
};

struct xdp_filter {
	struct cs_filter_cfg *cfg;
	__u64 *words;
	size_t words_len, cfg_len;
	uint32_t log2;
	struct host_index hi[N_INDEX];
	bool broken; /* a window could not be mapped: an index is off until a rebuild */
};

struct xdp_filter_build {
	__u64 *words;
	__u64 lens_v4, lens_v6[3];
	__u64 *spill[N_INDEX]; /* per index, bit per bucket: a prefix of it has no slot */
	struct cs_prefix *hosts; /* indexed prefixes, gathered, written BUILD_HOSTS at a time */
	struct cs_ban *bans;
	size_t nhosts;
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

/* len bytes of fd's array from off, mapped shared and not inherited by a fork: 0,
 * or -errno (logged, naming what). */
static int map_shared(size_t len, int fd, off_t off, const char *what, void **out)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
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

static const char *const index_name[N_INDEX] = { "IPv4 host", "IPv6 host", "IPv4 range",
						  "IPv6 range" };

/* The window of h (index kind) holding bucket idx, mapped: its first bucket, or NULL
 * (logged). */
static void *window_of(struct host_index *h, int kind, uint32_t idx)
{
	uint32_t no = idx >> h->win_log2;
	char what[64];

	if (h->win && h->win_no == no)
		return h->win;
	if (h->win)
		munmap(h->win, h->win_len);
	h->win = NULL;
	snprintf(what, sizeof(what), "the %s index (window %u)", index_name[kind], no);
	if (map_shared(h->win_len, h->fd, (off_t)no * (off_t)h->win_len, what, &h->win))
		return NULL;
	h->win_no = no;
	return h->win;
}

/* The config's size of index kind, which turns it on (0: off). */
static uint32_t cfg_log2(const struct xdp_filter *f, int kind)
{
	switch (kind) {
	case IDX_HOST4:
		return __atomic_load_n(&f->cfg->log2_host_buckets, __ATOMIC_ACQUIRE);
	case IDX_HOST6:
		return __atomic_load_n(&f->cfg->log2_host6_buckets, __ATOMIC_ACQUIRE);
	case IDX_RANGE4:
		return __atomic_load_n(&f->cfg->log2_range_buckets, __ATOMIC_ACQUIRE);
	default:
		return __atomic_load_n(&f->cfg->log2_range6_buckets, __ATOMIC_ACQUIRE);
	}
}

static void cfg_log2_set(struct xdp_filter *f, int kind, uint32_t log2)
{
	switch (kind) {
	case IDX_HOST4:
		__atomic_store_n(&f->cfg->log2_host_buckets, log2, __ATOMIC_RELEASE);
		break;
	case IDX_HOST6:
		__atomic_store_n(&f->cfg->log2_host6_buckets, log2, __ATOMIC_RELEASE);
		break;
	case IDX_RANGE4:
		__atomic_store_n(&f->cfg->log2_range_buckets, (__u8)log2, __ATOMIC_RELEASE);
		break;
	default:
		__atomic_store_n(&f->cfg->log2_range6_buckets, (__u8)log2, __ATOMIC_RELEASE);
	}
}

/* The index could not be written: off (the program asks the filter and the hash)
 * until a rebuild, which xdp_filter_removed() asks for. */
static void index_broken(struct xdp_filter *f, int kind)
{
	cfg_log2_set(f, kind, 0);
	f->hi[kind].fresh = true;
	f->broken = true;
}

/* Sets up one index; off and empty when asked (reset) or when the config was not
 * for its size. */
static int host_index_open(struct xdp_filter *f, int kind, int fd, uint32_t n_buckets, bool reused,
			   bool reset, bool *fresh)
{
	struct host_index *h = &f->hi[kind];
	size_t total;

	h->fd = fd;
	h->bucket = kind & 1 ? sizeof(struct cs_host6_bucket) : sizeof(struct cs_host_bucket);
	h->log2 = (uint32_t)__builtin_ctz(n_buckets);
	total = (size_t)n_buckets * h->bucket;
	h->win_len = page_round(total < WINDOW_BYTES ? total : WINDOW_BYTES);
	h->win_log2 = h->log2;
	while (((size_t)1 << h->win_log2) * h->bucket > h->win_len)
		h->win_log2--;
	if (reset || cfg_log2(f, kind) != h->log2) {
		/* Off (the program asks the filter and the hash) until refilled. */
		cfg_log2_set(f, kind, 0);
		for (uint32_t i = 0; reused && i < n_buckets; i += 1U << h->win_log2) {
			void *w = window_of(h, kind, i);

			if (!w)
				return -ENOMEM;
			memset(w, 0, total < h->win_len ? total : h->win_len);
		}
		h->fresh = true;
		*fresh = true;
	}
	return 0;
}

static bool pow2(uint32_t n)
{
	return n && !(n & (n - 1));
}

void xdp_filter_free(struct xdp_filter *f)
{
	if (!f)
		return;
	if (f->words)
		munmap(f->words, f->words_len);
	for (int k = 0; k < N_INDEX; k++)
		if (f->hi[k].win)
			munmap(f->hi[k].win, f->hi[k].win_len);
	if (f->cfg)
		munmap(f->cfg, f->cfg_len);
	free(f);
}

int xdp_filter_open(int cfg_fd, int words_fd, uint32_t n_words, const int index_fd[4],
		    const uint32_t n_buckets[4], const bool index_reused[4], bool reset,
		    struct xdp_filter **out, bool *fresh)
{
	char words_what[48];
	struct xdp_filter *f;
	int err;

	*fresh = false;
	if (!pow2(n_words))
		return -EINVAL;
	for (int k = 0; k < N_INDEX; k++)
		if (!pow2(n_buckets[k]))
			return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->log2 = (uint32_t)__builtin_ctz(n_words);
	f->cfg_len = page_round(sizeof(*f->cfg));
	f->words_len = page_round((size_t)n_words * sizeof(__u64));
	snprintf(words_what, sizeof(words_what), "the filter (%u words)", n_words);
	err = map_shared(f->cfg_len, cfg_fd, 0, "the filter config", (void **)&f->cfg);
	if (!err)
		err = map_shared(f->words_len, words_fd, 0, words_what, (void **)&f->words);
	for (int k = 0; k < N_INDEX && !err; k++)
		err = host_index_open(f, k, index_fd[k], n_buckets[k], index_reused[k], reset, fresh);
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

/* The index of a prefix (IDX_*), or -1: /0 is never indexed. */
static int index_of(const struct cs_prefix *p)
{
	if (!p->plen)
		return -1;
	return (p->family == AF_INET6) | (cs_prefix_is_host(p) ? 0 : 2);
}

/* What a slot holding p has in `used`: 1 for a host, the length for a range. */
static __u8 slot_tag(const struct cs_prefix *p)
{
	return cs_prefix_is_host(p) ? 1 : (__u8)p->plen;
}

/* A prefix's bucket in its index, as pointers into the mapped array: one code path
 * for every layout. */
#define MAX_SLOTS 4
struct hbucket {
	__u8 *addr[MAX_SLOTS];
	__u64 *expires[MAX_SLOTS];
	__u8 *used[MAX_SLOTS], *origin[MAX_SLOTS], *type[MAX_SLOTS];
	__u8 *overflow;
	size_t alen;
	int nslots;
	int kind; /* IDX_* */
	uint32_t idx;
};
_Static_assert(CS_HOST_SLOTS <= MAX_SLOTS && CS_HOST6_SLOTS <= MAX_SLOTS, "hbucket slots");

/* Bucket idx of index kind, its window mapped: false if it cannot be. */
static bool host_bucket_at(struct xdp_filter *f, int kind, uint32_t idx, struct hbucket *b)
{
	struct host_index *h = &f->hi[kind];
	char *win = window_of(h, kind, idx);

	if (!win)
		return false;
	win += (size_t)(idx & ((1U << h->win_log2) - 1)) * h->bucket;
	b->kind = kind;
	b->idx = idx;
	if (!(kind & 1)) {
		struct cs_host_bucket *hb = (struct cs_host_bucket *)win;

		b->alen = 4, b->nslots = CS_HOST_SLOTS, b->overflow = &hb->overflow;
		for (int i = 0; i < CS_HOST_SLOTS; i++) {
			b->addr[i] = hb->addr[i], b->expires[i] = &hb->expires_ns[i];
			b->used[i] = &hb->used[i], b->origin[i] = (__u8 *)&hb->origin[i];
			b->type[i] = (__u8 *)&hb->type[i];
		}
	} else {
		struct cs_host6_bucket *hb = (struct cs_host6_bucket *)win;

		b->alen = 16, b->nslots = CS_HOST6_SLOTS, b->overflow = &hb->half[0].overflow;
		for (int i = 0; i < CS_HOST6_SLOTS; i++) {
			struct cs_host6_half *hh = &hb->half[i / 2];
			int j = i % 2;

			b->addr[i] = hh->addr[j], b->expires[i] = &hh->expires_ns[j];
			b->used[i] = &hh->used[j], b->origin[i] = (__u8 *)&hh->origin[j];
			b->type[i] = (__u8 *)&hh->type[j];
		}
	}
	return true;
}

static uint32_t host_bucket_idx(const struct xdp_filter *f, const struct cs_prefix *p)
{
	return cs_host_bucket_of(prefix_hash(p), f->hi[index_of(p)].log2);
}

/*
 * Calls fn for each indexed prefix among p[0..n) (any but /0) with its bucket
 * mapped, window by window (each window is mapped once per call), in the order
 * given within a window, so the same prefix twice keeps its order. A window that
 * cannot be mapped turns its index off (index_broken); fn is not called for its
 * prefixes, nor (unless fill_fresh: a rebuild) for those of an index that is off.
 */
typedef void (*host_fn)(struct xdp_filter *f, struct hbucket *b, size_t i, void *arg);

static void hosts_by_window(struct xdp_filter *f, const struct cs_prefix *p, size_t n,
			    bool fill_fresh, host_fn fn, void *arg)
{
	uint32_t base[N_INDEX + 1], *idx = NULL, *order = NULL, *start = NULL;
	size_t nhost = 0;

	/* base[k]: the first window slot of index k in the sort's counts */
	base[0] = 0;
	for (int k = 0; k < N_INDEX; k++)
		base[k + 1] = base[k] + (1U << (f->hi[k].log2 - f->hi[k].win_log2));
	for (size_t i = 0; i < n; i++)
		nhost += index_of(&p[i]) >= 0;
	if (nhost > 1) {
		idx = malloc(n * sizeof(*idx));
		order = malloc(nhost * sizeof(*order));
		start = calloc((size_t)base[N_INDEX] + 1, sizeof(*start));
	}
	if (!idx || !order || !start) {
		/* one or no prefix, or no memory for the sort: in the order given */
		for (size_t i = 0; i < n; i++) {
			int k = index_of(&p[i]);
			struct hbucket b;

			if (k < 0 || (f->hi[k].fresh && !fill_fresh))
				continue;
			if (host_bucket_at(f, k, host_bucket_idx(f, &p[i]), &b))
				fn(f, &b, i, arg);
			else
				index_broken(f, k);
		}
		goto out;
	}
	/* a counting sort on (index, window): stable */
	for (size_t i = 0; i < n; i++) {
		int k = index_of(&p[i]);

		if (k < 0)
			continue;
		idx[i] = host_bucket_idx(f, &p[i]);
		start[base[k] + (idx[i] >> f->hi[k].win_log2) + 1]++;
	}
	for (uint32_t w = 1; w <= base[N_INDEX]; w++)
		start[w] += start[w - 1];
	for (size_t i = 0; i < n; i++) {
		int k = index_of(&p[i]);

		if (k >= 0)
			order[start[base[k] + (idx[i] >> f->hi[k].win_log2)]++] = (uint32_t)i;
	}
	for (size_t j = 0; j < nhost; j++) {
		size_t i = order[j];
		int k = index_of(&p[i]);
		struct hbucket b;

		if (f->hi[k].fresh && !fill_fresh)
			continue;
		if (host_bucket_at(f, k, idx[i], &b))
			fn(f, &b, i, arg);
		else
			index_broken(f, k);
	}
out:
	free(idx);
	free(order);
	free(start);
}

static int host_slot(const struct hbucket *b, const struct cs_prefix *p)
{
	__u8 tag = slot_tag(p);

	for (int i = 0; i < b->nslots; i++)
		if (__atomic_load_n(b->used[i], __ATOMIC_ACQUIRE) == tag &&
		    !memcmp(b->addr[i], p->addr, b->alen))
			return i;
	return -1;
}

/* Writes a prefix's verdict data into its bucket; -1 when the bucket is full (it is
 * then marked overflowed: the program asks the hash for that bucket), else what the
 * index knew of the prefix before (enum xdp_filter_seen). */
static int host_set(struct hbucket *b, const struct cs_prefix *p, const struct cs_ban *ban)
{
	int i = host_slot(b, p);
	bool fresh_slot = i < 0;
	int seen = !fresh_slot ? XDP_SEEN_PRESENT :
		   __atomic_load_n(b->overflow, __ATOMIC_ACQUIRE) ? XDP_SEEN_UNKNOWN : XDP_SEEN_ABSENT;

	for (int j = 0; i < 0 && j < b->nslots; j++)
		if (!__atomic_load_n(b->used[j], __ATOMIC_ACQUIRE))
			i = j;
	if (i < 0) {
		__atomic_store_n(b->overflow, 1, __ATOMIC_RELEASE);
		return -1;
	}
	/* A slot in use changes field by field: any mix of old and new is a verdict
	 * one of the two bans would give. A new slot is published by `used`, after
	 * its address (whole 32-bit words: the program reads it by halves). */
	__atomic_store_n(b->expires[i], ban->expires_ns, __ATOMIC_RELEASE);
	__atomic_store_n(b->origin[i], (__u8)ban->origin, __ATOMIC_RELEASE);
	__atomic_store_n(b->type[i], (__u8)ban->type, __ATOMIC_RELEASE);
	if (fresh_slot) {
		for (size_t o = 0; o < b->alen; o += 4) {
			__u32 w;

			memcpy(&w, p->addr + o, 4);
			__atomic_store_n((__u32 *)(b->addr[i] + o), w, __ATOMIC_RELEASE);
		}
		__atomic_store_n(b->used[i], slot_tag(p), __ATOMIC_RELEASE);
	}
	return seen;
}

static void host_clear(struct hbucket *b, const struct cs_prefix *p)
{
	int i = host_slot(b, p);

	if (i >= 0)
		__atomic_store_n(b->used[i], 0, __ATOMIC_RELEASE);
}

static void remove_fn(struct xdp_filter *f, struct hbucket *b, size_t i, void *arg)
{
	(void)f;
	host_clear(b, &((const struct cs_prefix *)arg)[i]);
}

void xdp_filter_remove(struct xdp_filter *f, const struct cs_prefix *p, size_t n)
{
	hosts_by_window(f, p, n, false, remove_fn, (void *)p);
}

struct set_args {
	const struct cs_prefix *p;
	const struct cs_ban *bans;
	const bool *has; /* resync: whether the map holds p[i] (then bans[i]) */
	uint8_t *seen;
};

static void resync_fn(struct xdp_filter *f, struct hbucket *b, size_t i, void *arg)
{
	struct set_args *a = arg;

	(void)f;
	if (a->has[i])
		host_set(b, &a->p[i], &a->bans[i]);
	else
		host_clear(b, &a->p[i]);
}

void xdp_filter_resync(struct xdp_filter *f, const struct cs_prefix *p, const struct cs_ban *now,
		       const bool *has, size_t n)
{
	struct set_args a = { .p = p, .bans = now, .has = has };

	hosts_by_window(f, p, n, false, resync_fn, &a);
}

static void add_fn(struct xdp_filter *f, struct hbucket *b, size_t i, void *arg)
{
	struct set_args *a = arg;
	int seen = host_set(b, &a->p[i], &a->bans[i]);

	(void)f;
	if (a->seen)
		a->seen[i] = (uint8_t)(seen < 0 ? XDP_SEEN_UNKNOWN : seen);
}

void xdp_filter_add(struct xdp_filter *f, const struct cs_prefix *p, const struct cs_ban *bans,
		    size_t n, uint8_t *seen)
{
	struct set_args a = { .p = p, .bans = bans, .seen = seen };

	if (seen)
		memset(seen, XDP_SEEN_UNKNOWN, n);
	hosts_by_window(f, p, n, false, add_fn, &a);
	for (size_t i = 0; i < n; i++) {
		__u64 h = prefix_hash(&p[i]);
		unsigned w;
		__u64 lb = len_bit(&p[i], &w);

		__atomic_fetch_or(&f->words[cs_filter_word(h, f->log2)], cs_filter_bits(h),
				  __ATOMIC_RELAXED);
		__atomic_fetch_or(p[i].family == AF_INET ? &f->cfg->lens_v4 : &f->cfg->lens_v6[w],
				  lb, __ATOMIC_RELAXED);
	}
	/* The map update that follows is a syscall: the stores are visible by then. */
}

bool xdp_filter_removed(struct xdp_filter *f, size_t n)
{
	__u64 removed = __atomic_add_fetch(&f->cfg->removed, n, __ATOMIC_RELAXED);
	__u64 limit = ((__u64)STALE_PER_WORD << f->log2);

	return f->broken || removed >= (limit > STALE_MIN ? limit : STALE_MIN);
}

int xdp_filter_build_new(struct xdp_filter *f, struct xdp_filter_build **out)
{
	struct xdp_filter_build *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->f = f;
	b->log2 = f->log2;
	b->words = calloc((size_t)1 << f->log2, sizeof(__u64));
	for (int k = 0; k < N_INDEX; k++)
		b->spill[k] = calloc(((size_t)1 << f->hi[k].log2) / 64 + 1, sizeof(__u64));
	b->hosts = malloc(BUILD_HOSTS * sizeof(*b->hosts));
	b->bans = malloc(BUILD_HOSTS * sizeof(*b->bans));
	if (!b->words || !b->spill[IDX_HOST4] || !b->spill[IDX_HOST6] || !b->spill[IDX_RANGE4] ||
	    !b->spill[IDX_RANGE6] || !b->hosts || !b->bans) {
		xdp_filter_build_free(b);
		return -ENOMEM;
	}
	f->broken = false; /* this rebuild turns the indexes on again, unless it fails too */
	*out = b;
	return 0;
}

static void build_host_fn(struct xdp_filter *f, struct hbucket *hb, size_t i, void *arg)
{
	struct xdp_filter_build *b = arg;

	(void)f;
	/* (Re)indexed if a slot is free by now; else its bucket keeps spilling. The
	 * others lose their overflow mark at the commit. */
	if (host_set(hb, &b->hosts[i], &b->bans[i]) < 0)
		b->spill[hb->kind][hb->idx / 64] |= 1ULL << (hb->idx % 64);
}

static void build_flush(struct xdp_filter_build *b)
{
	hosts_by_window(b->f, b->hosts, b->nhosts, true, build_host_fn, b);
	b->nhosts = 0;
}

void xdp_filter_build_add(struct xdp_filter_build *b, const struct cs_prefix *p,
			  const struct cs_ban *ban)
{
	__u64 h = prefix_hash(p);
	unsigned w;
	__u64 lb = len_bit(p, &w);

	if (index_of(p) >= 0) {
		/* the maps are walked in hash order: the index is written window by window */
		b->hosts[b->nhosts] = *p;
		b->bans[b->nhosts++] = *ban;
		if (b->nhosts == BUILD_HOSTS)
			build_flush(b);
	}
	b->words[cs_filter_word(h, b->log2)] |= cs_filter_bits(h);
	if (p->family == AF_INET)
		b->lens_v4 |= lb;
	else
		b->lens_v6[w] |= lb;
}

/* Clears the overflow mark of every bucket of index kind the build did not see spill. */
static void clear_overflows(struct xdp_filter *f, struct xdp_filter_build *b, int kind)
{
	struct host_index *h = &f->hi[kind];

	for (uint32_t i = 0; i < (1U << h->log2); i++) {
		struct hbucket hb;

		if (!host_bucket_at(f, kind, i, &hb)) {
			index_broken(f, kind);
			return;
		}
		if (*hb.overflow && !(b->spill[kind][i / 64] & 1ULL << (i % 64)))
			__atomic_store_n(hb.overflow, 0, __ATOMIC_RELEASE);
	}
}

void xdp_filter_build_commit(struct xdp_filter *f, struct xdp_filter_build *b)
{
	size_t n = (size_t)1 << f->log2;

	build_flush(b);
	/* Each live key's bits are in both the old and the new word: whichever one a
	 * packet reads, a banned source is found. */
	for (size_t i = 0; i < n; i++)
		if (f->words[i] != b->words[i])
			__atomic_store_n(&f->words[i], b->words[i], __ATOMIC_RELAXED);
	__atomic_store_n(&f->cfg->lens_v4, b->lens_v4, __ATOMIC_RELAXED);
	for (int w = 0; w < 3; w++)
		__atomic_store_n(&f->cfg->lens_v6[w], b->lens_v6[w], __ATOMIC_RELAXED);
	for (int k = 0; k < N_INDEX; k++)
		clear_overflows(f, b, k);
	__atomic_store_n(&f->cfg->removed, 0, __ATOMIC_RELAXED);
	__atomic_add_fetch(&f->cfg->rebuilds, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&f->cfg->log2_words, f->log2, __ATOMIC_RELEASE);
	/* an index a window failure turned off stays off: the next rebuild tries again */
	if (!f->broken) {
		for (int k = 0; k < N_INDEX; k++) {
			if (f->hi[k].fresh)
				cfg_log2_set(f, k, f->hi[k].log2);
			f->hi[k].fresh = false;
		}
	}
	xdp_filter_build_free(b);
}

void xdp_filter_build_free(struct xdp_filter_build *b)
{
	if (!b)
		return;
	free(b->words);
	for (int k = 0; k < N_INDEX; k++)
		free(b->spill[k]);
	free(b->hosts);
	free(b->bans);
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
