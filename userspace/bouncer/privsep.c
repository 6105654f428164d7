// SPDX-License-Identifier: MIT
/*
 * The applier's reading of the fetcher's records (privsep.h): the fetcher may be
 * compromised, so every field is checked before anything reaches the data plane.
 */
#include "bouncer/privsep.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

static bool valid_prefix(const struct ps_prefix *pp, struct cs_prefix *p)
{
	int max;

	if (pp->family != 4 && pp->family != 6)
		return false;
	memset(p, 0, sizeof(*p));
	p->family = pp->family == 4 ? AF_INET : AF_INET6;
	max = cs_prefix_max_len(p->family);
	if (pp->plen > max)
		return false;
	p->plen = pp->plen;
	memcpy(p->addr, pp->addr, (size_t)max / 8);
	if (pp->family == 4 && memcmp(pp->addr + 4, "\0\0\0\0\0\0\0\0\0\0\0\0", 12))
		return false;
	for (int bit = p->plen; bit < max; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

int ps_decode_ban(const struct ps_msg *m, struct cs_prefix *p)
{
	if (m->type != PS_SET && m->type != PS_CLEAR && m->type != PS_HAVE)
		return -EBADMSG;
	if (!valid_prefix(&m->ban.prefix, p))
		return -EBADMSG;
	if (m->type != PS_CLEAR && m->ban.origin >= CS_ORIGIN_MAX)
		return -EBADMSG;
	return 0;
}
