/* SPDX-License-Identifier: MIT */
/*
 * Lock-out safety: a ban must never cut the machine off from itself or its
 * operator's way in. Loopback and every address of the machine's own interfaces
 * (in the current network namespace) are protected unless the caller forces it.
 */
#ifndef CS_LOCKOUT_H
#define CS_LOCKOUT_H

#include <stddef.h>

#include "common/ipaddr.h"

struct lockout;

/* Snapshot of the protected addresses (loopback ranges + interface addresses). */
int lockout_new(struct lockout **out);
void lockout_free(struct lockout *lo);
/* 1 if p overlaps a protected address (what says which, e.g. "198.18.0.2 on veth0"),
 * 0 if not. */
int lockout_check(const struct lockout *lo, const struct cs_prefix *p, char *what, size_t len);

#endif /* CS_LOCKOUT_H */
