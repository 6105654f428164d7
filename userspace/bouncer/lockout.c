// SPDX-License-Identifier: MIT
#include "bouncer/lockout.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "common/vec.h"

struct protected_addr {
	struct cs_prefix prefix;
	char ifname[IF_NAMESIZE];
};

struct lockout {
	struct protected_addr *addrs;
	size_t n, cap;
	int nl_fd; /* rtnetlink address notifications; -1 if unavailable */
};

static int push(struct lockout *lo, const struct cs_prefix *p, const char *ifname)
{
	if (vec_reserve((void **)&lo->addrs, &lo->cap, lo->n, sizeof(*lo->addrs), 16))
		return -ENOMEM;
	lo->addrs[lo->n].prefix = *p;
	snprintf(lo->addrs[lo->n].ifname, sizeof(lo->addrs[lo->n].ifname), "%s", ifname);
	lo->n++;
	return 0;
}

/* Builds the list aside and swaps it in: on error the previous one stays. */
static int load_addresses(struct lockout *cur)
{
	struct lockout fresh = { 0 }, *lo = &fresh;
	struct ifaddrs *ifa = NULL, *i;
	struct cs_prefix p;
	int err;

	cs_prefix_parse("127.0.0.0/8", CS_PREFIX_STRICT, &p);
	err = push(lo, &p, "loopback");
	if (!err) {
		cs_prefix_parse("::1", CS_PREFIX_STRICT, &p);
		err = push(lo, &p, "loopback");
	}
	if (!err && getifaddrs(&ifa))
		err = -errno;
	for (i = ifa; i && !err; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		memset(&p, 0, sizeof(p));
		if (i->ifa_addr->sa_family == AF_INET) {
			p.family = AF_INET, p.plen = 32;
			memcpy(p.addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			p.family = AF_INET6, p.plen = 128;
			memcpy(p.addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		err = push(lo, &p, i->ifa_name);
	}
	freeifaddrs(ifa);
	if (err) {
		free(fresh.addrs);
		return err;
	}
	free(cur->addrs);
	cur->addrs = fresh.addrs;
	cur->n = fresh.n;
	cur->cap = fresh.cap;
	return 0;
}

/* Subscribed before the first read, so no change can fall between the two. */
static int subscribe(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

void lockout_free(struct lockout *lo)
{
	if (!lo)
		return;
	if (lo->nl_fd >= 0)
		close(lo->nl_fd);
	free(lo->addrs);
	free(lo);
}

int lockout_new(struct lockout **out)
{
	struct lockout *lo;
	int err;

	lo = calloc(1, sizeof(*lo));
	if (!lo)
		return -ENOMEM;
	lo->nl_fd = subscribe();
	err = load_addresses(lo);
	if (err) {
		lockout_free(lo);
		return err;
	}
	*out = lo;
	return 0;
}

int lockout_refresh(struct lockout *lo)
{
	char buf[8192];
	bool changed = false;
	ssize_t n;

	if (lo->nl_fd < 0) /* no notifications here: re-read every time */
		return load_addresses(lo);
	while ((n = recv(lo->nl_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0 || (n < 0 && errno == ENOBUFS))
		changed = true; /* any message, or lost ones: what they said is in getifaddrs */
	if (!changed)
		return 0;
	return load_addresses(lo);
}

int lockout_check(const struct lockout *lo, const struct cs_prefix *p, char *what, size_t len)
{
	for (size_t i = 0; i < lo->n; i++) {
		char a[CS_PREFIX_STRLEN];

		if (!cs_prefix_overlaps(&lo->addrs[i].prefix, p))
			continue;
		cs_prefix_format(&lo->addrs[i].prefix, false, a, sizeof(a));
		snprintf(what, len, "%s (%s)", a, lo->addrs[i].ifname);
		return 1;
	}
	return 0;
}
