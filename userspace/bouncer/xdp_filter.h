/* SPDX-License-Identifier: MIT */
/*
 * The fast-path index in front of the ban maps: the negative filter, and the host
 * index and the range index of each family (bpf/bouncer_maps.h says what they are
 * and why they never hide a ban). They and their config are pinned BPF array maps that this module maps
 * into memory, so they live as long as the ban list does and every process
 * sharing the pins sees one index.
 *
 * The contract with the loader, which owns the maps: xdp_filter_add() for every
 * prefix before it goes into a map, xdp_filter_resync() for those that then failed
 * to go in; xdp_filter_remove() for every prefix gone out of a map (or found
 * absent), xdp_filter_removed() with their count; when that says so, a rebuild
 * from the maps' contents (build_new, build_add for every entry, build_commit)
 * drops the filter's stale bits and the buckets' stale overflow marks.
 * Writers hold the pin lock: a rebuild must not run beside an insert. Prefixes
 * are canonical (host bits zero), as cs_prefix_parse() makes them.
 *
 * The indexes are mapped a window (2 MiB) at a time, and the calls take many
 * prefixes at once so that each window is mapped once per call: the indexes are
 * 96 MiB at 1M hosts per family (as much again for 1M ranges per family), memory
 * of the kernel's that a whole mapping
 * would count again in this process's RSS. A window that cannot be mapped turns
 * its index off (the program then asks the filter and the host hash) until a
 * rebuild, which xdp_filter_removed() then asks for.
 */
#ifndef CS_XDP_FILTER_H
#define CS_XDP_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "bpf/bouncer_maps.h"
#include "common/ipaddr.h"

struct xdp_filter;
struct xdp_filter_build;

/* log2 of the word count for a ban list of `capacity` entries in all (~8 bits each). */
uint32_t xdp_filter_log2_for(uint64_t capacity);
/* Index buckets for a host or range map of max_hosts entries of family AF_INET or
 * AF_INET6 (a power of two). */
uint32_t xdp_filter_host_buckets_for(int family, uint64_t max_hosts);

/* Map the config (cfg_fd), the words (words_fd, n_words of them) and the indexes
 * (index_fd[]: IPv4 hosts, IPv6 hosts, IPv4 ranges, IPv6 ranges; n_buckets[] each),
 * all powers of two. When
 * reset is asked (a map was just created), or the config was never set up or not
 * for these sizes, *fresh says so and the filter and indexes are off (the program
 * probes the maps at every length in use) until a rebuild from the maps installs
 * them: the caller owes that rebuild before it attaches. An index is then emptied
 * only if it may hold something (index_reused[]: an old map, from its pin): a map
 * just created is zero, and touching its ~100 MiB would cost half a second. */
int xdp_filter_open(int cfg_fd, int words_fd, uint32_t n_words, const int index_fd[4],
		    const uint32_t n_buckets[4], const bool index_reused[4], bool reset,
		    struct xdp_filter **out, bool *fresh);
void xdp_filter_free(struct xdp_filter *f);

/* What the index knew of a prefix about to be written: whether its map holds it
 * already. /0, or a prefix of an overflowed bucket: unknown. */
enum xdp_filter_seen { XDP_SEEN_UNKNOWN = 0, XDP_SEEN_ABSENT, XDP_SEEN_PRESENT };

/* Before p[0..n) go into their maps: their lengths become probed, their bits set,
 * their verdict data indexed; seen (if not NULL) gets an enum xdp_filter_seen each. */
void xdp_filter_add(struct xdp_filter *f, const struct cs_prefix *p, const struct cs_ban *bans,
		    size_t n, uint8_t *seen);
/* p[0..n) failed to go in: index what the map holds now (now[i] where has[i]), or
 * nothing. */
void xdp_filter_resync(struct xdp_filter *f, const struct cs_prefix *p, const struct cs_ban *now,
		       const bool *has, size_t n);
/* p[0..n) are out of their maps: out of the indexes too. */
void xdp_filter_remove(struct xdp_filter *f, const struct cs_prefix *p, size_t n);
/* After n entries went out of the maps (0: none); true when a rebuild is owed: the
 * stale bits call for one, or an index is off after a window failed. */
bool xdp_filter_removed(struct xdp_filter *f, size_t n);

int xdp_filter_build_new(struct xdp_filter *f, struct xdp_filter_build **out);
void xdp_filter_build_add(struct xdp_filter_build *b, const struct cs_prefix *p,
			  const struct cs_ban *ban);
/* Installs the rebuilt filter, one word at a time (each state on the way is a
 * superset of the entries in the maps), and frees b. */
void xdp_filter_build_commit(struct xdp_filter *f, struct xdp_filter_build *b);
void xdp_filter_build_free(struct xdp_filter_build *b);

struct xdp_filter_info {
	uint32_t words;
	uint64_t bits_set;	 /* of words * 64: their share drives the false-positive rate */
	uint64_t removed;	 /* stale entries since the last rebuild */
	uint64_t rebuilds;
	unsigned lens_v4, lens_v6; /* how many prefix lengths are probed */
};
void xdp_filter_info(const struct xdp_filter *f, struct xdp_filter_info *out);

#endif /* CS_XDP_FILTER_H */
