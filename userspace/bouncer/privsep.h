/* SPDX-License-Identifier: MIT */
/*
 * The bouncer runs as two processes (OpenBSD-style privilege separation):
 *   - the applier keeps CAP_BPF/CAP_NET_ADMIN and touches only the data plane;
 *   - the fetcher, forked off and stripped of every privilege, speaks HTTP to the
 *     LAPI (libcurl, jansson), keeps the decision model and serves metrics.
 * They talk over a SOCK_SEQPACKET socketpair with fixed-size records, which the
 * applier validates field by field: nothing the network sends is parsed where the
 * privileges are.
 */
#ifndef CS_BOUNCER_PRIVSEP_H
#define CS_BOUNCER_PRIVSEP_H

#include <stdint.h>
#include <linux/types.h>

#include "bpf/bouncer_maps.h"
#include "common/ipaddr.h"

enum ps_type {
	/* fetcher -> applier */
	PS_SET = 1,	 /* ban this prefix (or update its ban) */
	PS_CLEAR,	 /* unban this prefix */
	PS_FLUSH,	 /* end of one pull: apply what is buffered */
	PS_SYNC_END,	 /* end of a full resynchronisation: as PS_FLUSH, and if nothing
			  * failed, everything is applied again */
	PS_STATS_REQ,	 /* send PS_STATS */
	PS_DUMP_REQ,	 /* list the data plane: PS_HAVE records, then PS_DUMP_END */
	/* applier -> fetcher */
	PS_STATS,	 /* a ps_stats_msg, one per packet */
	PS_APPLY_FAILED, /* ban.decision_id sets/clears did not take (a full map):
			  * resynchronise */
	PS_HAVE,	 /* an entry of the data plane: prefix, origin, expiry, id */
	PS_DUMP_END,
};

struct ps_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t plen;
	uint8_t addr[16];
};

/* 48 bytes a record, many records a packet (a 1M-decision startup is 1M of them:
 * keep them small). Both ways: the dump comes back in the same records. */
struct ps_msg {
	uint32_t type;
	uint32_t _pad;
	struct {
		struct ps_prefix prefix;
		uint8_t origin;
		uint8_t _pad2[5];
		uint64_t expires_boot_ns;
		uint64_t decision_id;
	} ban;
};

/* applier -> fetcher, in answer to PS_STATS_REQ: one per packet. */
struct ps_stats_msg {
	uint32_t type; /* PS_STATS */
	uint32_t backend; /* 0 xdp, 1 nftables */
	struct cs_stat counters[CS_STAT_MAX];
	uint32_t n_ifaces;
	uint32_t iface_mode[8]; /* enum xdp_attach_mode per configured interface */
	uint64_t apply_errors;	 /* records refused by validation */
	uint64_t apply_failures; /* sets/clears the backend could not apply */
};

_Static_assert(sizeof(struct ps_msg) == 48, "privsep record size");

/* Records per packet at most: the applier's receive buffer holds exactly this many
 * (a SEQPACKET read shorter than the packet would drop the rest). */
#define PS_MAX_RECORDS 1024

/*
 * A PS_SET or PS_CLEAR record as the applier takes it (and a PS_HAVE as the
 * fetcher does): family 4 or 6, a length
 * the family allows, no address bit past it (nor past 4 bytes for IPv4), an
 * origin the data plane counts. 0 and the prefix in *p, or -EBADMSG.
 */
int ps_decode_ban(const struct ps_msg *m, struct cs_prefix *p);

#endif /* CS_BOUNCER_PRIVSEP_H */
