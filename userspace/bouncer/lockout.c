// SPDX-License-Identifier: MIT
#include "bouncer/lockout.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct protected_addr {
	struct cs_prefix prefix;
	char ifname[IF_NAMESIZE];
};

struct lockout {
	struct protected_addr *addrs;
	size_t n;
};

static int push(struct lockout *lo, const struct cs_prefix *p, const char *ifname)
{
	struct protected_addr *a = realloc(lo->addrs, (lo->n + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	lo->addrs = a;
	a[lo->n].prefix = *p;
	snprintf(a[lo->n].ifname, sizeof(a[lo->n].ifname), "%s", ifname);
	lo->n++;
	return 0;
}

int lockout_new(struct lockout **out)
{
	struct ifaddrs *ifa = NULL, *i;
	struct lockout *lo;
	struct cs_prefix p;
	int err;

	lo = calloc(1, sizeof(*lo));
	if (!lo)
		return -ENOMEM;
	cs_prefix_parse("127.0.0.0/8", CS_PREFIX_STRICT, &p);
	err = push(lo, &p, "loopback");
	if (!err) {
		cs_prefix_parse("::1", CS_PREFIX_STRICT, &p);
		err = push(lo, &p, "loopback");
	}
	if (err)
		goto err;
	if (getifaddrs(&ifa)) {
		err = -errno;
		goto err;
	}
	for (i = ifa; i; i = i->ifa_next) {
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
		if (err)
			goto err;
	}
	freeifaddrs(ifa);
	*out = lo;
	return 0;
err:
	freeifaddrs(ifa);
	lockout_free(lo);
	return err;
}

void lockout_free(struct lockout *lo)
{
	if (!lo)
		return;
	free(lo->addrs);
	free(lo);
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
