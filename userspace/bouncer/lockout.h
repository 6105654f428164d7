/* SPDX-License-Identifier: MIT */
/*
 * Lock-out safety: a ban must never cut the machine off from itself or its
 * operator's way in. Loopback and every address of the machine's own interfaces
 * (in the current network namespace) are protected unless the caller forces it.
 *
 * Addresses come and go (DHCP, an operator's `ip addr add`): the guard subscribes to
 * the kernel's address notifications (rtnetlink) when it is created, and
 * lockout_refresh() re-reads the addresses whenever one arrived. A long-running
 * caller refreshes before each batch it checks.
 */
#ifndef CS_LOCKOUT_H
#define CS_LOCKOUT_H

#include <stddef.h>

#include "common/ipaddr.h"

struct lockout;

/* The protected addresses now (loopback ranges + interface addresses), and a
 * subscription to their changes. */
int lockout_new(struct lockout **out);
void lockout_free(struct lockout *lo);
/* Re-reads the addresses if the kernel reported a change since the last call (or
 * lost notifications); cheap otherwise (one non-blocking read). 0 or -errno (the
 * previous list stays in force on error). */
int lockout_refresh(struct lockout *lo);
/* 1 if p overlaps a protected address (what says which, e.g. "198.18.0.2 on veth0"),
 * 0 if not. */
int lockout_check(const struct lockout *lo, const struct cs_prefix *p, char *what, size_t len);

#endif /* CS_LOCKOUT_H */
