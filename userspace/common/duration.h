/* SPDX-License-Identifier: MIT */
/* Go-style durations ("4h", "1h30m", "250ms", "-1s"), as CrowdSec writes them. */
#ifndef CS_DURATION_H
#define CS_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parse into nanoseconds. -EINVAL on bad syntax or unknown unit, -ERANGE on overflow. */
int cs_duration_parse(const char *text, int64_t *ns);
/* Format like Go's time.Duration.String(): "4h0m0s", "1m30.5s", "250ms". */
int cs_duration_format(int64_t ns, char *buf, size_t len);

#endif /* CS_DURATION_H */
