// SPDX-License-Identifier: MIT
/* The XDP backend: the loader's pinned maps, written in batches at commit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bouncer/backend.h"
#include "bouncer/xdp_loader.h"
#include "common/log.h"
#include "common/vec.h"

/* Sets written at once at most (57 B each here, ~15 MB, freed after a full sync).
 * Each write maps the index windows it touches anew, and on a VM with shadow page
 * tables the first store to each page of a new mapping costs microseconds: a
 * million random hosts touch nearly every page of the 64 MiB IPv4 index each batch,
 * so 4 batches instead of 16 saved ~0.7 s of a 1M-ban startup. */
#define FLUSH_AT 262144
#define BATCH_FIRST 4096

/* Bans waiting for the loader: three arrays of one length, as xdp_loader_ban_each takes them. */
struct ban_batch {
	struct cs_prefix *p;
	struct cs_ban *ban;
	bool *failed;
	size_t n, cap;
};

struct backend {
	struct xdp_loader *loader;
	const struct bouncer_config *cfg;
	struct ban_batch set;
	size_t nfailed; /* since the last commit */
	struct cs_prefix *clr_p;
	size_t nclr, capclr;
	uint32_t modes[8];
	uint32_t nifaces;
};

static void batch_free(struct ban_batch *s)
{
	free(s->p);
	free(s->ban);
	free(s->failed);
	*s = (struct ban_batch){ 0 };
}

/* Room for one more ban: the three arrays grow together (on failure each keeps its room). */
static int batch_reserve(struct ban_batch *s)
{
	size_t cap_p = s->cap, cap_ban = s->cap, cap_failed = s->cap;
	int err = vec_reserve((void **)&s->p, &cap_p, s->n, sizeof(*s->p), BATCH_FIRST);

	if (!err)
		err = vec_reserve((void **)&s->ban, &cap_ban, s->n, sizeof(*s->ban), BATCH_FIRST);
	if (!err)
		err = vec_reserve((void **)&s->failed, &cap_failed, s->n, sizeof(*s->failed),
				  BATCH_FIRST);
	if (!err)
		s->cap = cap_p;
	return err;
}

static void xdp_close(struct backend *b, bool keep)
{
	if (!b)
		return;
	if (!keep && b->loader) {
		for (int i = 0; i < b->cfg->interfaces.n; i++)
			xdp_loader_detach(b->loader, b->cfg->interfaces.v[i]);
	}
	xdp_loader_free(b->loader);
	batch_free(&b->set);
	free(b->clr_p);
	free(b);
}

static int xdp_open(const struct bouncer_config *cfg, struct backend **out)
{
	struct xdp_loader_opts lo = {
		.pin_dir = cfg->pin_path,
		.max_hosts = cfg->max_hosts,
		.max_ranges = cfg->max_ranges,
		.dry_run = cfg->dry_run,
		.dispatcher = cfg->xdp_dispatcher,
		.priority = cfg->xdp_priority,
	};
	struct backend *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	b->cfg = cfg;
	err = xdp_loader_open(&lo, &b->loader);
	if (err)
		goto fail;
	for (int i = 0; i < cfg->interfaces.n && i < 8; i++) {
		enum xdp_attach_mode got = XDP_MODE_AUTO;

		err = xdp_loader_attach(b->loader, cfg->interfaces.v[i], cfg->xdp_mode, &got);
		if (err) {
			log_error("xdp: cannot attach to %s: %s", cfg->interfaces.v[i], strerror(-err));
			/* undo the attachments made so far: all interfaces or none */
			for (int j = 0; j < i; j++)
				xdp_loader_detach(b->loader, cfg->interfaces.v[j]);
			err = err == -ENODEV ? -ENODEV : -EOPNOTSUPP;
			goto fail;
		}
		b->modes[i] = got;
		b->nifaces++;
		log_info("xdp: attached to %s in %s mode", cfg->interfaces.v[i],
			 got == XDP_MODE_NATIVE ? "native" : "generic");
	}
	*out = b;
	return 0;
fail:
	xdp_loader_free(b->loader);
	free(b);
	return err;
}

static int flush_sets(struct backend *b)
{
	size_t applied = 0;
	int err = 0;

	if (b->set.n) {
		err = xdp_loader_ban_each(b->loader, b->set.p, b->set.ban, b->set.n, &applied,
					  b->set.failed);
		if (err) {
			log_debug("xdp: applied %zu of %zu bans: %s", applied, b->set.n, strerror(-err));
			b->nfailed += b->set.n - applied;
		}
	}
	b->set.n = 0;
	return err;
}

static int flush_clears(struct backend *b)
{
	size_t missing = 0;
	int err = 0;

	if (b->nclr) {
		err = xdp_loader_unban(b->loader, b->clr_p, b->nclr, &missing);
		if (err) {
			log_debug("xdp: unban failed: %s", strerror(-err));
			b->nfailed += b->nclr;
		}
	}
	b->nclr = 0;
	return err;
}

/*
 * Operations are applied in the order they come, batched by runs of one kind:
 * a set after pending clears flushes the clears first (and vice versa), so a
 * prefix cleared then set again within one pull ends up set.
 */
static int xdp_set(struct backend *b, const struct cs_prefix *p, uint64_t expires, uint64_t id,
		   uint8_t origin)
{
	int err = flush_clears(b);

	if (err)
		return err;
	err = batch_reserve(&b->set);
	if (err)
		return err;
	b->set.p[b->set.n] = *p;
	b->set.ban[b->set.n] = (struct cs_ban){ .expires_ns = expires, .decision_id = id,
						.origin = origin, .type = CS_TYPE_BAN };
	/* a startup streams in: write as it comes, in large batches, memory bounded */
	return ++b->set.n == FLUSH_AT ? flush_sets(b) : 0;
}

static int xdp_clear(struct backend *b, const struct cs_prefix *p)
{
	int err = flush_sets(b);

	if (err)
		return err;
	err = vec_reserve((void **)&b->clr_p, &b->capclr, b->nclr, sizeof(*b->clr_p), BATCH_FIRST);

	if (err)
		return err;
	b->clr_p[b->nclr++] = *p;
	return 0;
}

static int xdp_commit(struct backend *b, bool full, size_t *failed)
{
	int err = flush_sets(b), e2 = flush_clears(b);

	*failed = b->nfailed;
	b->nfailed = 0;
	/* a startup's batch is large; the deltas after it are small */
	if (full)
		batch_free(&b->set);
	return err ? err : e2;
}

static int xdp_for_each(struct backend *b,
			int (*fn)(const struct cs_prefix *p, const struct cs_ban *ban, void *arg),
			void *arg)
{
	return xdp_loader_for_each_ban(b->loader, fn, arg);
}

static void xdp_stats(struct backend *b, struct cs_stat *counters, uint32_t *modes, uint32_t *n)
{
	if (xdp_loader_stats(b->loader, counters))
		memset(counters, 0, sizeof(struct cs_stat) * CS_STAT_MAX);
	memcpy(modes, b->modes, sizeof(b->modes));
	*n = b->nifaces;
}

bool backend_plane_starts_empty(const struct bouncer_config *cfg)
{
	return cfg->mode == BOUNCER_MODE_XDP && !xdp_loader_pins_present(cfg->pin_path);
}

bool backend_xdp_reused_pins(const struct backend *b)
{
	return b && xdp_loader_reused_pins(b->loader);
}

bool backend_xdp_dispatched(const struct backend *b)
{
	return b && xdp_loader_dispatched(b->loader);
}

BACKEND_OPS(xdp, "xdp");
