/* SPDX-License-Identifier: MIT */
/*
 * The negative filter in front of the ban maps (bpf/bouncer_maps.h says what it is
 * and why it can never hide a ban). Its words and its config are pinned BPF array
 * maps that this module maps into memory, so the filter lives as long as the ban
 * list does and every process sharing the pins sees one filter.
 *
 * The contract with the loader, which owns the maps: xdp_filter_add() for every
 * prefix before it goes into a map; xdp_filter_removed() after entries went out;
 * when that says so, a rebuild from the maps' contents (build_new, build_add for
 * every entry, build_commit) drops the stale bits. Writers hold the pin lock:
 * a rebuild must not run beside an insert. Prefixes are canonical (host bits
 * zero), as cs_prefix_parse() makes them.
 */
#ifndef CS_XDP_FILTER_H
#define CS_XDP_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"

struct xdp_filter;
struct xdp_filter_build;

/* log2 of the word count for a ban list of `capacity` entries in all (~8 bits each). */
uint32_t xdp_filter_log2_for(uint64_t capacity);

/* Map the config (cfg_fd) and the words (words_fd, n_words of them, a power of two).
 * When reset is asked (either map was just created), or the config was never set
 * up or not for this size, *fresh says so and the filter is off (the program
 * probes the maps at every length in use) until a rebuild from the maps installs
 * it: the caller owes that rebuild before it attaches. */
int xdp_filter_open(int cfg_fd, int words_fd, uint32_t n_words, bool reset,
		    struct xdp_filter **out, bool *fresh);
void xdp_filter_free(struct xdp_filter *f);

/* Before p goes into a map: its length becomes probed, its bits set. */
void xdp_filter_add(struct xdp_filter *f, const struct cs_prefix *p);
/* After n entries went out of the maps; true when the stale bits call for a rebuild. */
bool xdp_filter_removed(struct xdp_filter *f, size_t n);

int xdp_filter_build_new(const struct xdp_filter *f, struct xdp_filter_build **out);
void xdp_filter_build_add(struct xdp_filter_build *b, const struct cs_prefix *p);
/* Installs the rebuilt filter, one word at a time (each state on the way is a
 * superset of the entries in the maps), and frees b. */
void xdp_filter_build_commit(struct xdp_filter *f, struct xdp_filter_build *b);
void xdp_filter_build_free(struct xdp_filter_build *b);

struct xdp_filter_info {
	uint32_t words;
	uint64_t bits_set;	 /* share of set bits: the false-positive rate's driver */
	uint64_t removed;	 /* stale entries since the last rebuild */
	uint64_t rebuilds;
	unsigned lens_v4, lens_v6; /* how many prefix lengths are probed */
};
void xdp_filter_info(const struct xdp_filter *f, struct xdp_filter_info *out);

#endif /* CS_XDP_FILTER_H */
