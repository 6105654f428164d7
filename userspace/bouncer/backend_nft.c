// SPDX-License-Identifier: MIT
/*
 * The nftables fallback. It owns two tables and nothing else (`table ip crowdsec`,
 * `table ip6 crowdsec6`, names configurable), each with a hash set for hosts, an
 * interval set for ranges (both with element timeouts, so bans expire on time by
 * themselves) and an input-hook chain that drops their members. libnftables creates
 * the tables; the elements go over nfnetlink directly (nft_batch.h), because its
 * parser costs ~500 bytes and most of the CPU an element at a million.
 *
 * Every commit (one pull) is ONE transaction: the kernel applies all of it or none,
 * in messages of up to NFB_MSG_MAX bytes (~2,000 elements); past NFT_TXN_MAX_BYTES
 * of messages (~2M elements) a delta pull goes in as several.
 *
 * Restart: the hosts a previous run left are not listed back (the kernel walks a
 * set from its start for each dump message: minutes at a million), they keep
 * dropping; the first full state then replaces the host sets' content in one
 * transaction (flush + adds), which also ends the bans lifted meanwhile. What
 * comes before it (a pull cut short) is held and goes with it.
 *
 * Updates: nft cannot change an
 * element's timeout in place: an update is add (a no-op if there), delete, add
 * with the new timeout, in that order; a removal is add then delete, so that an
 * element nft already expired cannot fail the transaction. To order those for the
 * same host within one transaction, host operations go in rounds: every add-no-op,
 * then every delete, then every add; a host touched twice in one round starts the
 * next (rare: a ban set and lifted within one pull).
 *
 * Ranges: an interval set refuses overlapping intervals, and every decision is a
 * ban, so the set holds the union: the ranges no other banned range covers. The
 * backend keeps every banned range (covered ones too) and, at a commit that
 * changed any, recomputes that union and writes only the difference: deleting a
 * range brings back what it covered, and hosts are in their own set, so a host
 * lifted inside a banned range stays dropped. Known limit: a covered range with a
 * longer ban than its cover is dropped by nft's timeout of the cover until the
 * bouncer lifts the cover (its expiry scan, within a second).
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <nftables/libnftables.h>

#include "bouncer/backend.h"
#include "bouncer/decisions.h"
#include "bouncer/nft_batch.h"
#include "bouncer/nft_hostset.h"
#include "bouncer/xdp_loader.h"
#include "common/log.h"
#include "common/vec.h"

/* A range as the interval set holds it. */
struct krange {
	struct cs_prefix p;
	uint64_t expires;
};

enum { FAM4, FAM6 };
enum { OP_NOOP_ADD, OP_DEL, OP_ADD, OP_KINDS };

struct backend {
	const struct bouncer_config *cfg;
	struct nft_ctx *nft; /* the tables and chains, in nft's syntax */
	struct nfb *nl;	     /* the elements */
	struct hostset *hosts;
	struct dmodel *ranges; /* every banned range, covered ones too */
	struct krange *kr;     /* what the interval sets hold: the union, sorted */
	size_t kr_n, kr_cap;
	bool ranges_dirty, kr_stale;
	/* the host sets may hold what the host record does not: the next full state
	 * replaces their content (and nothing is sent before it) */
	bool hosts_unknown;
	char sets[2][2][160]; /* [family][host, range] */
	struct nfb_stream hs[2][OP_KINDS]; /* host operations of the current round */
	uint8_t round;			  /* 1..255; 0 tags hosts no pending round touched */
	size_t failed;			  /* since the last commit */
	uint64_t errors;
};

/* A transaction's messages at most (in memory until sent, and the kernel's
 * copy): ~2M host updates. */
#define NFT_TXN_MAX_BYTES (64U << 20)
/* nft keeps timeouts in ms; a ban longer than this is cut to it (the bouncer's
 * own expiry still lifts it on time) */
#define NFT_TIMEOUT_MAX_MS (10ULL * 365 * 86400 * 1000)

static const char *table_of(const struct backend *b, int family)
{
	return family == AF_INET ? b->cfg->nft_table4 : b->cfg->nft_table6;
}

static int fam_index(int family)
{
	return family == AF_INET ? FAM4 : FAM6;
}

static bool family_enabled(const struct backend *b, int family)
{
	return family == AF_INET ? b->cfg->ipv4 : b->cfg->ipv6;
}

static uint64_t boot_ns(void)
{
	return xdp_loader_boot_ns();
}

static int run(struct backend *b, const char *cmds, bool quiet)
{
	int rc = nft_run_cmd_from_buffer(b->nft, cmds);

	if (rc && !quiet) {
		const char *e = nft_ctx_get_error_buffer(b->nft);

		log_warn("nftables: %s", e && *e ? e : "command failed");
	}
	return rc ? -EIO : 0;
}

static int create_tables(struct backend *b)
{
	char cmd[2048];
	int fams[2] = { AF_INET, AF_INET6 }, err = 0;

	for (int i = 0; i < 2; i++) {
		const char *fam = fams[i] == AF_INET ? "ip" : "ip6";
		const char *t = table_of(b, fams[i]);
		const char *type = fams[i] == AF_INET ? "ipv4_addr" : "ipv6_addr";

		if ((fams[i] == AF_INET && !b->cfg->ipv4) || (fams[i] == AF_INET6 && !b->cfg->ipv6))
			continue;
		/* "add" is idempotent: a restart keeps the elements (no unfiltered window) */
		snprintf(cmd, sizeof(cmd),
			 "add table %s %s\n"
			 "add set %s %s %s-blacklists { type %s; flags timeout; }\n"
			 "add set %s %s %s-ranges { type %s; flags interval, timeout; }\n"
			 "add chain %s %s %s { type filter hook input priority %d; policy accept; }\n"
			 "flush chain %s %s %s\n"
			 "add rule %s %s %s %s saddr @%s-blacklists drop\n"
			 "add rule %s %s %s %s saddr @%s-ranges drop\n",
			 fam, t, fam, t, t, type, fam, t, t, type, fam, t, b->cfg->nft_chain,
			 b->cfg->nft_priority, fam, t, b->cfg->nft_chain, fam, t,
			 b->cfg->nft_chain, fam, t, fam, t, b->cfg->nft_chain, fam, t);
		err = run(b, cmd, false);
		if (err)
			return err;
	}
	return 0;
}

/* ---- hosts ---------------------------------------------------------------- */

/* The current round's operations go to the transaction in their order. */
static void end_round(struct backend *b)
{
	for (int op = 0; op < OP_KINDS; op++)
		for (int f = 0; f < 2; f++)
			nfb_take(b->nl, &b->hs[f][op]);
	b->round = b->round == 255 ? 1 : b->round + 1;
}

static int host_op(struct backend *b, const struct cs_prefix *p, int op, uint64_t timeout_ms)
{
	struct nfb_elem e = { .key = p->addr, .timeout_ms = timeout_ms };

	return nfb_stream_add(&b->hs[fam_index(p->family)][op], &e);
}

static int nft_commit(struct backend *b, bool full, size_t *failed);

/* A pull past NFT_TXN_MAX_BYTES goes in as several transactions (memory), but
 * not the one that replaces the host sets: it must be whole. */
static int commit_early(struct backend *b)
{
	size_t bytes = nfb_pending_bytes(b->nl), failed = 0;
	int err;

	if (b->hosts_unknown)
		return 0;
	for (int f = 0; f < 2; f++)
		for (int op = 0; op < OP_KINDS; op++)
			bytes += b->hs[f][op].bytes;
	if (bytes < NFT_TXN_MAX_BYTES)
		return 0;
	err = nft_commit(b, false, &failed);
	b->failed += failed;
	return err;
}

static uint64_t timeout_ms(uint64_t expires, uint64_t now)
{
	uint64_t ms = (expires - now + 999999ULL) / 1000000ULL;

	return ms > NFT_TIMEOUT_MAX_MS ? NFT_TIMEOUT_MAX_MS : ms ? ms : 1;
}

static int host_set(struct backend *b, const struct cs_prefix *p, uint64_t expires, uint64_t now)
{
	uint8_t tag;
	bool there = hostset_get(b->hosts, p, &tag);
	int err = 0;

	if (there && tag == b->round)
		end_round(b);
	if (there) {
		err = host_op(b, p, OP_NOOP_ADD, 0);
		if (!err)
			err = host_op(b, p, OP_DEL, 0);
	}
	if (!err)
		err = host_op(b, p, OP_ADD, timeout_ms(expires, now));
	if (!err)
		err = hostset_put(b->hosts, p, b->round);
	return err;
}

static int host_clear(struct backend *b, const struct cs_prefix *p)
{
	uint8_t tag;
	int err;

	if (!hostset_get(b->hosts, p, &tag))
		return 0; /* not there: nothing to delete */
	if (tag == b->round)
		end_round(b);
	err = host_op(b, p, OP_NOOP_ADD, 0);
	if (!err)
		err = host_op(b, p, OP_DEL, 0);
	hostset_del(b->hosts, p);
	return err;
}

/* ---- ranges --------------------------------------------------------------- */

static int krange_cmp(const void *x, const void *y)
{
	const struct krange *a = x, *c = y;
	int d;

	if (a->p.family != c->p.family)
		return a->p.family < c->p.family ? -1 : 1;
	d = memcmp(a->p.addr, c->p.addr, 16);
	if (d)
		return d;
	return (int)a->p.plen - (int)c->p.plen; /* a cover before what it covers */
}

/* The first address past p, or false if p runs to the family's last address. */
static bool range_end(const struct cs_prefix *p, uint8_t end[16])
{
	int bit = p->plen - 1;

	memcpy(end, p->addr, 16);
	if (p->plen == 0)
		return false;
	/* add 1 at the prefix's last bit, carrying up */
	for (int byte = bit / 8, inc = 1 << (7 - bit % 8); byte >= 0; byte--, inc = 1) {
		int v = end[byte] + inc;

		end[byte] = (uint8_t)v;
		if (v < 256)
			return true;
	}
	return false;
}

/* One range as interval elements (start, and end unless it runs to the last address). */
static int range_op(struct nfb_stream *s, const struct krange *r, uint64_t timeout)
{
	uint8_t end[16];
	bool closed = range_end(&r->p, end);
	struct nfb_elem start = { .key = r->p.addr, .timeout_ms = timeout,
				  .open = !closed && s->op == NFB_ADD };
	struct nfb_elem stop = { .key = end, .interval_end = true };
	int err = nfb_stream_add(s, &start);

	return err || !closed ? err : nfb_stream_add(s, &stop);
}

struct collect {
	struct krange *v;
	size_t n, cap;
	uint64_t now;
	int err;
};

static void collect_cb(const struct deffect *e, void *arg)
{
	struct collect *c = arg;

	if (c->err || e->expires <= c->now)
		return;
	c->err = vec_reserve((void **)&c->v, &c->cap, c->n, sizeof(*c->v), 64);
	if (!c->err)
		c->v[c->n++] = (struct krange){ e->prefix, e->expires };
}

/*
 * The union of the banned ranges, against what the interval sets hold: the
 * difference goes to the pending transaction (every removal before any add, so a
 * range that covered others makes room for them in the same transaction).
 */
static int ranges_sync(struct backend *b, uint64_t now)
{
	struct collect c = { .now = now };
	struct nfb_stream s[2][OP_KINDS];
	size_t keep = 0, i = 0, j = 0;
	int err = 0;

	dmodel_expire(b->ranges, now, NULL, NULL); /* what expired is gone from nft too */
	dmodel_for_each(b->ranges, collect_cb, &c);
	if (c.err) {
		free(c.v);
		return c.err;
	}
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), krange_cmp);
	for (size_t k = 0; k < c.n; k++)
		if (!keep || !cs_prefix_contains(&c.v[keep - 1].p, &c.v[k].p))
			c.v[keep++] = c.v[k];
	for (int f = 0; f < 2; f++) {
		const char *t = f == FAM4 ? b->cfg->nft_table4 : b->cfg->nft_table6;

		nfb_stream_init(&s[f][OP_NOOP_ADD], f == FAM4 ? AF_INET : AF_INET6, t, b->sets[f][1], NFB_ADD);
		nfb_stream_init(&s[f][OP_DEL], f == FAM4 ? AF_INET : AF_INET6, t, b->sets[f][1], NFB_DEL);
		nfb_stream_init(&s[f][OP_ADD], f == FAM4 ? AF_INET : AF_INET6, t, b->sets[f][1], NFB_ADD);
	}
	while (!err && (i < b->kr_n || j < keep)) {
		const struct krange *old = i < b->kr_n ? &b->kr[i] : NULL;
		const struct krange *new = j < keep ? &c.v[j] : NULL;
		int d = !old ? 1 : !new ? -1 : krange_cmp(old, new);

		if (d < 0 || (d == 0 && old->expires != new->expires)) {
			struct nfb_stream *fs = s[fam_index(old->p.family)];

			err = range_op(&fs[OP_NOOP_ADD], old, 0);
			if (!err)
				err = range_op(&fs[OP_DEL], old, 0);
		}
		if (!err && (d > 0 || (d == 0 && old->expires != new->expires)))
			err = range_op(&s[fam_index(new->p.family)][OP_ADD], new,
				       timeout_ms(new->expires, now));
		i += d <= 0;
		j += d >= 0;
	}
	for (int op = 0; op < OP_KINDS; op++)
		for (int f = 0; f < 2; f++) {
			if (err)
				nfb_stream_reset(&s[f][op]);
			else
				nfb_take(b->nl, &s[f][op]);
		}
	if (err) {
		free(c.v);
		return err;
	}
	free(b->kr);
	b->kr = c.v;
	b->kr_n = keep;
	b->kr_cap = c.cap;
	b->ranges_dirty = false;
	return 0;
}

/* ---- what the sets hold at start ------------------------------------------ */

struct listed {
	struct nfb_listed *v;
	size_t n, cap;
};

static int listed_cb(const struct nfb_listed *e, void *arg)
{
	struct listed *l = arg;

	if (vec_reserve((void **)&l->v, &l->cap, l->n, sizeof(*l->v), 64))
		return -ENOMEM;
	l->v[l->n++] = *e;
	return 0;
}

static int listed_cmp(const void *x, const void *y)
{
	const struct nfb_listed *a = x, *c = y;
	int d = memcmp(a->key, c->key, 16);

	return d ? d : (int)c->interval_end - (int)a->interval_end; /* an end first */
}

typedef unsigned __int128 u128;

static u128 to_u128(const uint8_t *k, int bytes)
{
	u128 v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | k[i];
	return v;
}

/* [lo, hi] as the fewest prefixes, into kr (and the ranges model if `model`). */
static int add_interval(struct backend *b, int family, u128 lo, u128 hi, uint64_t expires,
			bool model)
{
	int bits = cs_prefix_max_len(family), bytes = bits / 8;

	for (;;) {
		int k = 0;
		struct krange r = { .p = { .family = family }, .expires = expires };
		u128 v = lo;
		int err;

		/* the largest aligned block from lo that ends at or before hi */
		while (k < bits) {
			u128 mask = ((u128)1 << (k + 1)) - 1;

			if ((lo & mask) || hi - lo < mask)
				break;
			k++;
		}
		r.p.plen = (uint8_t)(bits - k);
		for (int i = bytes - 1; i >= 0; i--, v >>= 8)
			r.p.addr[i] = (uint8_t)v;
		err = model ? dmodel_applied(b->ranges, &r.p, 0, expires, 0) : 0;
		if (!err)
			err = vec_reserve((void **)&b->kr, &b->kr_cap, b->kr_n, sizeof(*b->kr), 64);
		if (err)
			return err;
		b->kr[b->kr_n++] = r;
		if (k == bits || hi - lo == (((u128)1 << k) - 1))
			return 0;
		lo += (u128)1 << k;
	}
}

/* The intervals of a range set, back into prefixes (someone else's ranges too). */
static int load_ranges(struct backend *b, int family, uint64_t now, bool model)
{
	struct listed l = { 0 };
	int bytes = family == AF_INET ? 4 : 16, err;
	u128 max = bytes == 16 ? ~(u128)0 : 0xffffffffU;

	err = nfb_list(b->nl, family, table_of(b, family), b->sets[fam_index(family)][1], listed_cb, &l);
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), listed_cmp);
	for (size_t i = 0; !err && i < l.n; i++) {
		const struct nfb_listed *e = &l.v[i];
		u128 lo, hi;

		if (e->interval_end || e->keylen != bytes)
			continue;
		lo = to_u128(e->key, bytes);
		hi = i + 1 < l.n && l.v[i + 1].interval_end ? to_u128(l.v[i + 1].key, bytes) - 1 : max;
		if (hi >= lo)
			err = add_interval(b, family, lo, hi,
					   e->has_expiry ? now + e->expires_in_ms * 1000000ULL : UINT64_MAX,
					   model);
	}
	free(l.v);
	return err == -ENOENT ? 0 : err;
}

/* What the interval sets hold, into kr (and, at start, the ranges model). */
static int reload_ranges(struct backend *b, bool model)
{
	uint64_t now = boot_ns();
	int err = 0;

	b->kr_n = 0;
	if (model)
		dmodel_clear(b->ranges);
	if (b->cfg->ipv4)
		err = load_ranges(b, AF_INET, now, model);
	if (!err && b->cfg->ipv6)
		err = load_ranges(b, AF_INET6, now, model);
	if (b->kr_n)
		qsort(b->kr, b->kr_n, sizeof(*b->kr), krange_cmp);
	b->kr_stale = err != 0;
	return err;
}

/*
 * What a previous run left: the ranges are listed back (few). The hosts are not:
 * the kernel lists a set by walking it from the start for every message (~600
 * elements), minutes at a million, where rewriting them takes seconds. They stay
 * in place, dropping, until the first full state replaces them in one transaction.
 */
static int load_present(struct backend *b)
{
	b->hosts_unknown = true;
	hostset_clear(b->hosts);
	return reload_ranges(b, true);
}

/* ---- the backend ---------------------------------------------------------- */

static int nft_open(const struct bouncer_config *cfg, struct backend **out)
{
	struct backend *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	b->cfg = cfg;
	b->round = 1;
	for (int f = 0; f < 2; f++) {
		const char *t = f == FAM4 ? cfg->nft_table4 : cfg->nft_table6;

		snprintf(b->sets[f][0], sizeof(b->sets[f][0]), "%s-blacklists", t);
		snprintf(b->sets[f][1], sizeof(b->sets[f][1]), "%s-ranges", t);
		for (int op = 0; op < OP_KINDS; op++)
			nfb_stream_init(&b->hs[f][op], f == FAM4 ? AF_INET : AF_INET6, t, b->sets[f][0],
					op == OP_DEL ? NFB_DEL : NFB_ADD);
	}
	err = dmodel_new(&b->ranges);
	if (!err)
		err = hostset_new(&b->hosts);
	if (err)
		goto fail;
	b->nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!b->nft) {
		err = -ENOMEM;
		goto fail;
	}
	nft_ctx_buffer_output(b->nft);
	nft_ctx_buffer_error(b->nft);
	err = create_tables(b);
	if (!err)
		err = nfb_open(&b->nl);
	if (err) {
		err = -EOPNOTSUPP;
		goto fail;
	}
	err = load_present(b);
	if (err)
		log_warn("nftables: cannot list what the sets hold (%s): a full pull rewrites it",
			 strerror(-err));
	log_info("nftables: tables %s/%s ready (%zu ranges kept from before; hosts kept until the "
		 "first full pull replaces them)",
		 cfg->nft_table4, cfg->nft_table6, dmodel_prefixes(b->ranges));
	*out = b;
	return 0;
fail:
	if (b->nft)
		nft_ctx_free(b->nft);
	nfb_free(b->nl);
	hostset_free(b->hosts);
	dmodel_free(b->ranges);
	free(b);
	return err;
}

static int nft_set(struct backend *b, const struct cs_prefix *p, uint64_t expires, uint64_t id,
		   uint8_t origin)
{
	uint64_t now = boot_ns();
	int err;

	if (!family_enabled(b, p->family) || expires <= now)
		return 0;
	if (!cs_prefix_is_host(p)) {
		b->ranges_dirty = true;
		return dmodel_applied(b->ranges, p, id, expires, origin);
	}
	err = host_set(b, p, expires, now);
	return err ? err : commit_early(b);
}

static int nft_clear(struct backend *b, const struct cs_prefix *p)
{
	int err;

	if (!family_enabled(b, p->family))
		return 0;
	if (!cs_prefix_is_host(p)) {
		if (dmodel_has(b->ranges, p)) {
			dmodel_forget(b->ranges, p);
			b->ranges_dirty = true;
		}
		return 0;
	}
	err = host_clear(b, p);
	return err ? err : commit_early(b);
}

/* An element of a message the kernel refused: a host add did not take (forget it,
 * so that a resynchronisation sees it missing); a range: reread the interval sets. */
static void on_failed(enum nfb_op op, int family, const char *set, const struct nfb_listed *e,
		      void *arg)
{
	struct backend *b = arg;
	struct cs_prefix p = { .family = family, .plen = (uint8_t)cs_prefix_max_len(family) };

	b->errors++;
	if (strcmp(set, b->sets[fam_index(family)][0])) {
		b->kr_stale = b->ranges_dirty = true;
		b->failed += op == NFB_ADD && !e->interval_end;
		return;
	}
	if (op != NFB_ADD)
		return; /* a host not deleted: nft's timeout ends its ban */
	memcpy(p.addr, e->key, e->keylen < 16 ? e->keylen : 16);
	hostset_del(b->hosts, &p);
	b->failed++;
}

static int nft_commit(struct backend *b, bool full, size_t *failed)
{
	uint64_t t0 = boot_ns();
	bool flushing = false;
	size_t n;
	int err = 0;

	if (b->ranges_dirty)
		err = ranges_sync(b, t0);
	end_round(b);
	if (b->hosts_unknown && !full) {
		*failed = 0; /* held until the full state, with which it goes */
		return err;
	}
	if (b->hosts_unknown) {
		for (int f = 0; f < 2 && !err; f++)
			if (family_enabled(b, f == FAM4 ? AF_INET : AF_INET6))
				err = nfb_flush_first(b->nl, f == FAM4 ? AF_INET : AF_INET6,
						      f == FAM4 ? b->cfg->nft_table4 : b->cfg->nft_table6,
						      b->sets[f][0]);
		b->hosts_unknown = false;
		flushing = true;
	}
	n = nfb_pending_elems(b->nl);
	if (n) { /* a flush counts: a replacement with no host is still sent */
		int e = nfb_commit(b->nl, on_failed, b);

		if (e == -EIO)
			log_warn("nftables: a transaction was refused; its messages were applied one "
				 "by one (%zu elements failed)", b->failed);
		else if (e)
			log_warn("nftables: cannot send a transaction: %s", strerror(-e));
		err = err ? err : e;
		/* a refused replacement is applied message by message without its flush:
		 * hosts lifted while we were away would stay. The host sets are unknown
		 * again, and a failure makes the fetcher send the full state again. */
		if (e && flushing) {
			hostset_clear(b->hosts);
			b->hosts_unknown = true;
			b->failed++;
		}
	}
	/* after a refusal, what the interval sets hold is read back, and the union
	 * written again at the next commit */
	if (b->kr_stale)
		reload_ranges(b, false);
	*failed = b->failed;
	b->failed = 0;
	if (n >= 65536) /* a startup's: where its time goes */
		log_info("nftables: %zu element operations in one transaction, %.2f s", n,
			 (double)(boot_ns() - t0) / 1e9);
	return err;
}

struct walk {
	int (*fn)(const struct cs_prefix *p, const struct cs_ban *ban, void *arg);
	void *arg;
};

static void walk_cb(const struct deffect *e, void *arg)
{
	struct walk *w = arg;
	struct cs_ban ban = { .expires_ns = e->expires, .decision_id = e->id, .origin = e->origin,
			      .type = CS_TYPE_BAN, .prefixlen = e->prefix.plen };

	w->fn(&e->prefix, &ban, w->arg);
}

/* Every banned range, covered ones too; no host (see load_present): the full
 * state that follows a listing replaces the host sets' content. */
static int nft_for_each(struct backend *b,
			int (*fn)(const struct cs_prefix *p, const struct cs_ban *ban, void *arg),
			void *arg)
{
	struct walk w = { fn, arg };

	end_round(b);
	hostset_clear(b->hosts);
	b->hosts_unknown = true;
	dmodel_for_each(b->ranges, walk_cb, &w);
	return 0;
}

static void nft_stats(struct backend *b, struct cs_stat *counters, uint32_t *modes, uint32_t *n)
{
	/* Reading nft counters lists the whole ruleset, sets included: minutes at 1M
	 * elements with nft 1.0.6. Not worth it for a fallback: counters stay zero. */
	memset(counters, 0, sizeof(struct cs_stat) * CS_STAT_MAX);
	(void)b, (void)modes;
	*n = 0;
}

static void delete_tables(struct backend *b)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "delete table ip %s", b->cfg->nft_table4);
	run(b, cmd, true);
	snprintf(cmd, sizeof(cmd), "delete table ip6 %s", b->cfg->nft_table6);
	run(b, cmd, true);
}

static void nft_close(struct backend *b, bool keep)
{
	if (!b)
		return;
	if (!keep)
		delete_tables(b);
	for (int f = 0; f < 2; f++)
		for (int op = 0; op < OP_KINDS; op++)
			nfb_stream_reset(&b->hs[f][op]);
	nft_ctx_free(b->nft);
	nfb_free(b->nl);
	hostset_free(b->hosts);
	dmodel_free(b->ranges);
	free(b->kr);
	free(b);
}

BACKEND_OPS(nft, "nftables");

int backend_uninstall(const struct bouncer_config *cfg)
{
	struct backend b = { .cfg = cfg };
	int err;

	b.nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (b.nft) {
		nft_ctx_buffer_output(b.nft);
		nft_ctx_buffer_error(b.nft);
		delete_tables(&b);
		nft_ctx_free(b.nft);
	}
	err = xdp_loader_uninstall(cfg->pin_path);
	return err;
}
