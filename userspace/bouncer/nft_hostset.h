/* SPDX-License-Identifier: MIT */
/*
 * Which hosts the nftables backend has put in its sets, in 5 bytes an IPv4 host
 * (9 an IPv6 one), at most 3/4 of the slots used: the backend must know whether an
 * element is there (nft cannot change an element's timeout in place: an update is
 * a delete and an add) without asking the kernel per element. IPv4 hosts are kept
 * exactly; IPv6 hosts as a 64-bit fingerprint (two hosts sharing one make at worst
 * an add-delete-add where an add would do).
 * Each host carries a small tag: the round of the pending transaction that last
 * touched it (see backend_nft.c). Open addressing, single-threaded.
 */
#ifndef CS_BOUNCER_NFT_HOSTSET_H
#define CS_BOUNCER_NFT_HOSTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"

struct hostset;

int hostset_new(struct hostset **out);
void hostset_free(struct hostset *h);
/* Whether p is in; its tag in *tag (optional). */
bool hostset_get(const struct hostset *h, const struct cs_prefix *p, uint8_t *tag);
/* Adds p or updates its tag: 0 or -ENOMEM. */
int hostset_put(struct hostset *h, const struct cs_prefix *p, uint8_t tag);
void hostset_del(struct hostset *h, const struct cs_prefix *p);
void hostset_clear(struct hostset *h);
size_t hostset_count(const struct hostset *h);

#endif /* CS_BOUNCER_NFT_HOSTSET_H */
