/* SPDX-License-Identifier: MIT */
/*
 * Timestamps as CrowdSec's ParseDate enricher reads and writes them
 * (hub-format.md 4.1): a subset of Go's time.Parse layouts that covers every
 * layout the hub uses, the built-in list of layouts tried in order, the Unix
 * epoch fallback, and Go's RFC 3339 "nano" rendering.
 */
#ifndef CS_DATEPARSE_H
#define CS_DATEPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/gotime.h"

/*
 * Parse `value` with one Go layout ("2006-01-02T15:04:05Z07:00"). The whole
 * value must be consumed. A layout without a year yields year 0; callers that
 * want CrowdSec's behaviour use cs_dateparse(). 0 or -EINVAL.
 */
int cs_time_parse_layout(const char *layout, const char *value, struct cs_time *out,
			 bool *has_year);

/*
 * CrowdSec ParseDate: try `format` (if not NULL/empty), then the built-in
 * layouts, then a Unix epoch. A year-less date gets `now`'s UTC year. Returns 0
 * on success, -EINVAL if nothing matched (out untouched).
 */
int cs_dateparse(const char *value, const char *format, const struct cs_time *now,
		 struct cs_time *out);

/* Go's time.RFC3339Nano: trailing fraction zeros trimmed, "Z" for offset 0. */
int cs_time_format(const struct cs_time *t, char *buf, size_t len);
/* Go's time.RFC3339 (no fraction). */
int cs_time_format_sec(const struct cs_time *t, char *buf, size_t len);

/* The wall clock in UTC. */
void cs_time_now(struct cs_time *out);
/*
 * The same at the kernel tick's resolution (a few ms), a fifth of the cost:
 * for the "now"s every line takes (Line.Time, the parsers' default time and
 * ParseDate's reference for year-less dates), which nothing reads finer.
 */
void cs_time_now_coarse(struct cs_time *out);

#endif /* CS_DATEPARSE_H */
