/* SPDX-License-Identifier: MIT */
/*
 * The bouncer's usage metrics (CrowdSec 1.6.3+, POST /v1/usage-metrics): what
 * the data plane dropped per origin of the ban (packets and bytes, counted
 * since the previous report), the active decisions per origin (a gauge) and
 * what it processed, as a remediation component's body that `cscli metrics
 * show bouncers` tabulates. Pure: the fetcher posts the text (a LAPI without
 * the route, 1.4.6, answers 404 and is left alone).
 */
#ifndef CS_BOUNCER_USAGE_H
#define CS_BOUNCER_USAGE_H

#include <stdint.h>

#include "bouncer/privsep.h"

struct usage_window {
	int64_t startup_unix; /* when the bouncer started */
	int64_t now_unix;
	int64_t window_s;     /* since the previous report (or startup) */
	const char *os_name, *os_version;
};

/*
 * The JSON body for the counters `now` minus `prev` (prev NULL: since start) and
 * the active decisions per origin. Malloc'd; NULL on allocation failure.
 */
char *usage_body(const struct usage_window *w, const struct ps_stats_msg *now,
		 const struct ps_stats_msg *prev, const uint64_t active[CS_ORIGIN_MAX]);

/* This machine's OS as upstream's osinfo names it (os-release ID and VERSION_ID,
 * else uname). */
void usage_os(char *name, size_t nlen, char *version, size_t vlen);

#endif /* CS_BOUNCER_USAGE_H */
