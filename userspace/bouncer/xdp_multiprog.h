/* SPDX-License-Identifier: MIT */
/*
 * Attachment through libxdp's dispatcher, for an interface shared with other XDP
 * programs (a load balancer, a DDoS filter loaded with xdp-loader or xdp-filter).
 * The dispatcher runs its programs by priority, lowest first; a program that returns
 * XDP_PASS hands the packet to the next one, so ours drops its bans and passes the
 * rest on. libxdp builds a new dispatcher for every change and swaps it in with one
 * atomic netlink replace; each program hangs on it through a freplace link that
 * libxdp pins under /sys/fs/bpf/xdp/. Replacing ours is therefore "attach the new one,
 * then remove the old one": two atomic swaps, each leaving one of ours in the chain.
 *
 * libxdp asks the kernel for programs by id, which needs CAP_SYS_ADMIN, and loads
 * ours as an extension program (CAP_PERFMON). Apart from xdp_loader.c because
 * libxdp.h's enum xdp_attach_mode clashes with ours. int returns are 0 or -errno.
 */
#ifndef CS_XDP_MULTIPROG_H
#define CS_XDP_MULTIPROG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

struct bpf_object;

#define XDP_MP_DEFAULT_PRIO 20 /* before libxdp's default (50): drop before others work */

/* 1 when ifindex runs libxdp's dispatcher, 0 when it runs nothing or another kind of
 * program, -errno when it cannot be told. */
int xdp_mp_present(int ifindex);

/* Attach the program of obj (opened, not loaded: libxdp loads it as an extension of
 * the dispatcher; maps pinned by name are reused) to ifindex at priority prio.
 * generic asks for SKB mode when the interface has no dispatcher yet; an existing one
 * imposes its mode, reported in *generic_out. *prog_id: the program as loaded.
 * -EOPNOTSUPP: libxdp could not run its dispatcher here (the kernel refused extension
 * programs) and nothing stays attached. */
int xdp_mp_attach(struct bpf_object *obj, int ifindex, unsigned prio, bool generic,
		  bool *generic_out, uint32_t *prog_id);

/* Whether program prog_id is one of ifindex's dispatcher's programs. */
bool xdp_mp_has(int ifindex, uint32_t prog_id);

/* Remove program prog_id from ifindex's dispatcher: -ENOENT when it is not there. */
int xdp_mp_detach(int ifindex, uint32_t prog_id);

/* Route libxdp's messages through our logger, one level quieter (as xdp-tools do). */
void xdp_mp_setup_logging(void);
/* That demotion, for libbpf's messages too (the levels of both are the same). */
int xdp_mp_log_demoted(int level, const char *fmt, va_list ap);

#endif /* CS_XDP_MULTIPROG_H */
