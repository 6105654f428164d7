/* SPDX-License-Identifier: MIT */
/*
 * Time and duration text in the formats CrowdSec (Go) puts on the wire:
 * time.Duration.String()/ParseDuration, RFC3339 in and out, and
 * time.Time.String() ("2026-11-25 07:43:05 +0000 UTC"). Times are int64
 * nanoseconds since the Unix epoch, UTC. Pure functions, thread-safe.
 */
#ifndef CS_GOTIME_H
#define CS_GOTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NSEC_PER_SEC 1000000000LL
#define GOTIME_STRLEN 64

/*
 * The one time type: an instant plus the zone offset it was written with.
 * Seconds, not int64 nanoseconds, so that year-less log dates (year 0) fit.
 */
struct cs_time {
	int64_t sec;  /* Unix seconds (UTC) */
	int32_t nsec; /* 0..999999999 */
	int32_t off;  /* seconds east of UTC, used for rendering only */
};

#define CS_TIME_STRLEN 64

static inline bool cs_time_is_zero(const struct cs_time *t)
{
	return !t->sec && !t->nsec;
}

/*
 * The one RFC 3339 formatter: "2026-11-25T09:43:18.5+02:00" in t's zone ("Z"
 * for offset 0), the fraction (trailing zeros trimmed, Go's RFC3339Nano) only
 * when frac. 0 or -ENOSPC.
 */
int gotime_format_time(const struct cs_time *t, bool frac, char *buf, size_t len);
/* Days since 1970-01-01 -> proleptic Gregorian date (any year, no libc). */
void gotime_civil_from_days(int64_t days, long *y, int *m, int *d);

int64_t gotime_now(void);
/* Go ParseDuration ("4h", "1h30m", "-1.5s", "300ms", "0"): 0 or -EINVAL/-ERANGE. */
int gotime_parse_duration(const char *s, int64_t *ns);
/* Like gotime_parse_duration, plus CrowdSec's "<N>d" (N x 24h) shorthand. */
int gotime_parse_duration_days(const char *s, int64_t *ns);
/*
 * The end of something that starts at `start` and lasts `duration` (a decision's
 * until): a duration past GOTIME_MAX_SPAN counts as GOTIME_MAX_SPAN and the sum
 * saturates at INT64_MAX, so "2562047h" (Go's largest) is a very long ban, never
 * an int64 overflow that stores it already expired. Whoever reads the span back
 * (a bouncer adding it to its clock) stays far from overflowing too.
 */
#define GOTIME_MAX_SPAN (100LL * 365 * 24 * 3600 * NSEC_PER_SEC)
int64_t gotime_deadline(int64_t start, int64_t duration);
/* Go Duration.String(): "3h59m58.21124194s", "-6.4s", "850µs", "0s". */
void gotime_format_duration(int64_t ns, char *buf, size_t len);
/*
 * RFC3339 with optional fraction and Z or +hh:mm offset: 0, -EINVAL, or -ERANGE
 * for a time int64 nanoseconds cannot hold (before 1677, after 2262).
 */
int gotime_parse_rfc3339(const char *s, int64_t *ns);
/*
 * The same, keeping the zone offset it was written in (*zone, seconds east of
 * UTC; zone may be NULL). flags: GOTIME_ZONE_OPTIONAL (no zone: UTC),
 * GOTIME_DATE_ONLY ("2006-01-02" alone: midnight UTC). The one RFC 3339 parser.
 */
#define GOTIME_ZONE_OPTIONAL 1u
#define GOTIME_DATE_ONLY 2u
int gotime_parse_rfc3339_zone(const char *s, unsigned int flags, int64_t *ns, int32_t *zone);
/* "2026-11-25T07:43:05Z" (seconds, UTC). */
void gotime_format_rfc3339(int64_t ns, char *buf, size_t len);
/* "2026-11-25T07:43:18.298082729Z" (Go RFC3339Nano: trailing zeros trimmed). */
void gotime_format_rfc3339nano(int64_t ns, char *buf, size_t len);
/* The same in a zone: "2026-11-25T09:43:18.5+02:00" ("Z" for offset 0). */
void gotime_format_rfc3339nano_zone(int64_t ns, int32_t zone, char *buf, size_t len);
/* Go Time.String() for UTC: "2026-11-25 07:43:05.5 +0000 UTC". */
void gotime_format_gostring(int64_t ns, char *buf, size_t len);

#endif /* CS_GOTIME_H */
