/* SPDX-License-Identifier: MIT */
/*
 * A backend applies bans: XDP (pinned maps) or nftables (own tables). The applier
 * calls set/clear as the stream dictates, then commit once per pull. All returns
 * are 0 or -errno. -EOPNOTSUPP from open() means "not usable here": auto mode
 * moves to the next backend.
 */
#ifndef CS_BOUNCER_BACKEND_H
#define CS_BOUNCER_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "bouncer/config.h"
#include "bpf/bouncer_maps.h"
#include "common/ipaddr.h"

struct backend;

struct backend_ops {
	const char *name;
	int (*open)(const struct bouncer_config *cfg, struct backend **out);
	int (*set)(struct backend *b, const struct cs_prefix *p, uint64_t expires_boot_ns,
		   uint64_t id, uint8_t origin);
	int (*clear)(struct backend *b, const struct cs_prefix *p);
	/* Applies what is buffered. full: it completes a full state (the end of a
	 * startup pull), which a backend that cannot list what it holds cheaply may
	 * put in place of everything (nftables). *failed: how many sets and clears did
	 * not take since the last commit (a full map, say); the caller has them retried. */
	int (*commit)(struct backend *b, bool full, size_t *failed);
	/* Every prefix currently applied, with its ban (what the fetcher compares a
	 * full resynchronisation against). */
	int (*for_each)(struct backend *b,
			int (*fn)(const struct cs_prefix *p, const struct cs_ban *ban, void *arg),
			void *arg);
	void (*stats)(struct backend *b, struct cs_stat *counters, uint32_t *iface_modes,
		      uint32_t *n_ifaces);
	/* keep: leave the data plane filtering (pins, tables) when the process exits */
	void (*close)(struct backend *b, bool keep);
};

extern const struct backend_ops backend_xdp_ops, backend_nft_ops;

/*
 * A backend's ops from its functions prefix_open ... prefix_close: the list of
 * operations is written here only, and a backend missing one does not build.
 */
#define BACKEND_OPS(prefix, label)                                                             \
	const struct backend_ops backend_##prefix##_ops = {                                    \
		.name = label,                                                                 \
		.open = prefix##_open,                                                         \
		.set = prefix##_set,                                                           \
		.clear = prefix##_clear,                                                       \
		.commit = prefix##_commit,                                                     \
		.for_each = prefix##_for_each,                                                 \
		.stats = prefix##_stats,                                                       \
		.close = prefix##_close,                                                       \
	}

/* Whether the XDP backend b attached through libxdp's dispatcher (xdp_multiprog.h):
 * taking its program out again needs CAP_SYS_ADMIN and CAP_PERFMON. */
bool backend_xdp_dispatched(const struct backend *b);

/* Whether the data plane cfg asks for is sure to start empty: the XDP backend, without
 * the nftables fallback, and nothing pinned where its maps go (it will create them). */
bool backend_plane_starts_empty(const struct bouncer_config *cfg);

/* Whether the XDP backend b found its ban maps pinned already. */
bool backend_xdp_reused_pins(const struct backend *b);

/* Removes everything either backend may have left (pins, links, nft tables). */
int backend_uninstall(const struct bouncer_config *cfg);

#endif /* CS_BOUNCER_BACKEND_H */
