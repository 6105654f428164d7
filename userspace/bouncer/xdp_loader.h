/* SPDX-License-Identifier: MIT */
/*
 * The XDP backend's loader: owns the skeleton, the pins under one directory and
 * the attachments. The state lives in bpffs, not in this process: pinned maps keep
 * the ban list, and one pinned bpf_link per interface keeps the program attached.
 * So a process can exit, and a new one picks up the same state; re-attaching
 * swaps the program inside the existing link (bpf_link_update), which is atomic:
 * there is no moment without filtering.
 *
 * On an interface that runs libxdp's dispatcher (other XDP programs loaded with
 * xdp-loader, xdp-filter, ...), or everywhere with XDP_DISPATCHER_ALWAYS, the program
 * joins the dispatcher instead, at a priority (xdp_multiprog.h); a pin of the program
 * (mprog_<iface>) marks it ours. Re-attaching there adds the new program, then
 * removes the old one: each step atomic, ours always in the chain.
 *
 * Every mutating entry point holds an flock on the pin directory (two CLIs can't
 * race). All int returns are 0 or -errno; the free function accepts NULL.
 */
#ifndef CS_XDP_LOADER_H
#define CS_XDP_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "bpf/bouncer_maps.h"
#include "common/ipaddr.h"

_Static_assert(sizeof(struct cs_ban) == 24, "ABI: cs_ban layout");
_Static_assert(sizeof(struct cs_lpm_v4) == 8, "ABI: cs_lpm_v4 layout");
_Static_assert(sizeof(struct cs_lpm_v6) == 20, "ABI: cs_lpm_v6 layout");
_Static_assert(sizeof(struct cs_stat) == 16, "ABI: cs_stat layout");
_Static_assert(sizeof(struct cs_host_v4) == 4, "ABI: cs_host_v4 layout");
_Static_assert(sizeof(enum cs_origin) == 1, "ABI: cs_origin is one byte");
_Static_assert(sizeof(struct cs_filter_cfg) == 64, "ABI: cs_filter_cfg layout");
_Static_assert(sizeof(struct cs_host_bucket) == 64, "ABI: one cache line per host bucket");
_Static_assert(sizeof(struct cs_host6_half) == 64, "ABI: one cache line per IPv6 host half-bucket");
_Static_assert(sizeof(struct cs_host6_bucket) == 128, "ABI: two lines per IPv6 host bucket");
_Static_assert(sizeof(struct cs_counts) == 32, "ABI: cs_counts layout");

enum xdp_attach_mode {
	XDP_MODE_AUTO = 0, /* native, falling back to generic */
	XDP_MODE_NATIVE,
	XDP_MODE_GENERIC,
};

enum xdp_dispatcher_use {
	XDP_DISPATCHER_AUTO = 0, /* through libxdp's dispatcher when one is on the interface */
	XDP_DISPATCHER_ALWAYS,	 /* always (other libxdp programs can join later) */
	XDP_DISPATCHER_NEVER,	 /* never: a plain bpf_link (another program means failure) */
};

/* "auto", "always", "never" -> enum xdp_dispatcher_use; -EINVAL otherwise */
int xdp_dispatcher_parse(const char *s);
#define XDP_PRIORITY_MAX 1000 /* manual.c and config.c say 1..1000 */

struct xdp_loader_opts {
	const char *pin_dir;  /* NULL: CS_PIN_ROOT */
	uint32_t max_hosts;   /* per family; 0: default. Ignored when pins exist. */
	uint32_t max_ranges;  /* per family; 0: default. Ignored when pins exist. */
	bool dry_run;	      /* count would-be drops but pass them */
	bool no_expiry;	      /* do not enforce expires_ns in the fast path */
	bool unpinned;	      /* private maps, nothing pinned (BPF_PROG_TEST_RUN tests) */
	bool existing_only;   /* read-only use: -ENOENT, and nothing created, unless every
			       * map is already pinned in pin_dir; no program is loaded,
			       * ban/unban/attach answer -EROFS (detach works) */
	enum xdp_dispatcher_use dispatcher;
	unsigned priority;    /* in libxdp's dispatcher, lowest runs first; 0: default */
};

struct xdp_loader;

int xdp_loader_open(const struct xdp_loader_opts *opts, struct xdp_loader **out);
/* Whether pin_dir (NULL: CS_PIN_ROOT) holds anything, so that a ban list may be in
 * place; true also when that cannot be told (an error other than its absence). */
bool xdp_loader_pins_present(const char *pin_dir);
/* Whether l opened ban maps that were pinned already (not made by this open). */
bool xdp_loader_reused_pins(const struct xdp_loader *l);
/* Closes this process's handles; pins and attachments stay. */
void xdp_loader_free(struct xdp_loader *l);

int xdp_loader_prog_fd(const struct xdp_loader *l);
/* The skeleton itself, for benchmarks and tests that need raw map access. */
struct xdp_bouncer_bpf;
struct xdp_bouncer_bpf *xdp_loader_skel(struct xdp_loader *l);
/* Maps' capacity (per family) as loaded. */
void xdp_loader_capacity(const struct xdp_loader *l, uint32_t *hosts, uint32_t *ranges);

/* Attach to ifname, or atomically replace the program of our existing link there.
 * *attached reports the mode in use (native or generic). */
int xdp_loader_attach(struct xdp_loader *l, const char *ifname, enum xdp_attach_mode mode,
		      enum xdp_attach_mode *attached);
int xdp_loader_detach(struct xdp_loader *l, const char *ifname);
/* Whether this loader attached an interface through libxdp's dispatcher: detaching
 * from it later needs CAP_SYS_ADMIN and CAP_PERFMON (xdp_multiprog.h). */
bool xdp_loader_dispatched(const struct xdp_loader *l);

struct xdp_iface_status {
	char ifname[32];
	int ifindex;			/* 0 if the interface is gone */
	enum xdp_attach_mode mode;	/* as reported by the kernel */
	uint32_t prog_id;		/* program attached now, 0 if none */
	bool dispatcher;		/* through libxdp's dispatcher */
};
/* Calls fn for each interface we hold a link pin for. */
int xdp_loader_for_each_iface(struct xdp_loader *l,
			      int (*fn)(const struct xdp_iface_status *st, void *arg), void *arg);

/*
 * Add or replace bans. Prefixes are split between the host hashes and the range
 * hashes and written in batches, the negative filter first (bouncer_maps.h), each
 * map on its own: one full map does not stop the others. Returns the first error
 * (-ENOSPC: a map is full); *applied (if given) counts the entries written,
 * failed[i] (if given) is set for each entry that was not.
 */
int xdp_loader_ban(struct xdp_loader *l, const struct cs_prefix *prefixes,
		   const struct cs_ban *bans, size_t n, size_t *applied);
int xdp_loader_ban_each(struct xdp_loader *l, const struct cs_prefix *prefixes,
			const struct cs_ban *bans, size_t n, size_t *applied, bool *failed);
/* Remove bans; -ENOENT for an absent one is counted in *missing, not an error. */
int xdp_loader_unban(struct xdp_loader *l, const struct cs_prefix *prefixes, size_t n,
		     size_t *missing);
/* Look one exact prefix up (not longest match). -ENOENT if absent. */
int xdp_loader_get(struct xdp_loader *l, const struct cs_prefix *p, struct cs_ban *out);
/* Calls fn for every entry; fn returning non-zero stops the walk with that value. */
int xdp_loader_for_each_ban(struct xdp_loader *l,
			    int (*fn)(const struct cs_prefix *p, const struct cs_ban *b, void *arg),
			    void *arg);
/* Entries per ban map: IPv4 hosts, IPv4 ranges, IPv6 hosts, IPv6 ranges (cs_counts,
 * kept by every write; counted by a walk on pins that predate it). */
int xdp_loader_counts(struct xdp_loader *l, uint64_t out[4]);
struct xdp_filter_info;
/* The negative filter's fill and bookkeeping (xdp_filter.h). */
void xdp_loader_filter_info(struct xdp_loader *l, struct xdp_filter_info *out);

/* Sums the per-CPU counters into out[CS_STAT_MAX]. */
int xdp_loader_stats(struct xdp_loader *l, struct cs_stat *out);

/* Detach every link we pinned and remove the pins and the directory. */
int xdp_loader_uninstall(const char *pin_dir);

/* Route libbpf's messages through our logger, one level quieter (as xdp-tools do). */
void xdp_loader_setup_logging(void);

/* CLOCK_BOOTTIME now, the clock of cs_ban.expires_ns. */
uint64_t xdp_loader_boot_ns(void);

#endif /* CS_XDP_LOADER_H */
