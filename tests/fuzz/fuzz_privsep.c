// SPDX-License-Identifier: MIT
/*
 * The applier's decoder of the fetcher's records (privsep.h): the input is one
 * SEQPACKET message as a compromised fetcher could send it. A torn message is
 * refused whole, as the applier does; every record is decoded, and what the
 * decoder accepts must be a well-formed prefix (checked here: no host bit set
 * past the length, a length the family allows), which then goes into a model.
 */
#include "fuzz.h"

#include <sys/socket.h>

#include "bouncer/decisions.h"
#include "bouncer/privsep.h"

static void effect(const struct deffect *e, void *arg)
{
	(void)e, (void)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmodel *m = NULL;

	if (size % sizeof(struct ps_msg) || size > PS_MAX_RECORDS * sizeof(struct ps_msg))
		return 0;
	if (dmodel_new(&m))
		abort();
	for (size_t i = 0; i < size / sizeof(struct ps_msg); i++) {
		struct ps_msg msg;
		struct cs_prefix p;
		char txt[CS_PREFIX_STRLEN];
		int max;

		memcpy(&msg, data + i * sizeof(msg), sizeof(msg));
		if (ps_decode_ban(&msg, &p))
			continue;
		if (p.family != AF_INET && p.family != AF_INET6)
			abort();
		max = cs_prefix_max_len(p.family);
		if (p.plen > max)
			abort();
		for (int bit = p.plen; bit < 128; bit++)
			if (p.addr[bit / 8] & (0x80 >> (bit % 8)))
				abort();
		if (cs_prefix_format(&p, true, txt, sizeof(txt)) < 0)
			abort();
		if (msg.type == PS_SET) {
			if (msg.ban.origin >= CS_ORIGIN_MAX)
				abort();
			dmodel_add(m, &p, msg.ban.decision_id, msg.ban.expires_boot_ns,
				   msg.ban.origin, effect, NULL);
		} else {
			dmodel_del(m, &p, msg.ban.decision_id, effect, NULL);
		}
	}
	dmodel_for_each(m, effect, NULL);
	dmodel_free(m);
	return 0;
}
