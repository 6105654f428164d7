// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/gotime.h"
#include "../lib/test.h"

#define S 1000000000LL

static const struct {
	const char *in;
	int err;
	int64_t ns;
	const char *fmt;
} cases[] = {
	{ "4h", 0, 4 * 3600 * S, "4h0m0s" },
	{ "1h30m", 0, 5400 * S, "1h30m0s" },
	{ "90s", 0, 90 * S, "1m30s" },
	{ "1.5s", 0, 1500000000LL, "1.5s" },
	{ "250ms", 0, 250000000LL, "250ms" },
	{ "10us", 0, 10000, "10µs" },
	{ "7ns", 0, 7, "7ns" },
	{ "-1s", 0, -S, "-1s" },
	{ "0", 0, 0, "0s" },
	{ "168h", 0, 168 * 3600 * S, "168h0m0s" },
	{ "59m58.5s", 0, 3598500000000LL, "59m58.5s" },
	{ "", -EINVAL, 0, NULL },
	{ "4 h", -EINVAL, 0, NULL },
	{ "4", -EINVAL, 0, NULL },
	{ "h", -EINVAL, 0, NULL },
	{ "4d", -EINVAL, 0, NULL },
	{ "4h ", -EINVAL, 0, NULL },
	{ "99999999999999h", -ERANGE, 0, NULL },
};

/* Go's time.Duration.String() of values no parse above gives. */
static const struct {
	int64_t ns;
	const char *fmt;
} formats[] = {
	{ 14359211241940LL, "3h59m19.21124194s" },
	{ -6411377973LL, "-6.411377973s" },
	{ 3605 * S, "1h0m5s" },
	{ 850000, "850\xc2\xb5s" },
	{ -14639109, "-14.639109ms" },
};

/* The one RFC 3339 parser/formatter (common/gotime), with the zone kept. */
static const struct {
	const char *in;
	unsigned int flags;
	int err;
	int64_t ns;
	int32_t zone;
	const char *fmt; /* formatted back in its zone */
} times[] = {
	{ "2026-11-25T09:43:18.5+02:00", 0, 0, 1795592598500000000LL, 7200,
	  "2026-11-25T09:43:18.5+02:00" },
	{ "2026-11-25T07:43:18Z", 0, 0, 1795592598000000000LL, 0, "2026-11-25T07:43:18Z" },
	{ "2026-11-25 07:43:18.000000001z", 0, 0, 1795592598000000001LL, 0,
	  "2026-11-25T07:43:18.000000001Z" },
	{ "2026-11-24T21:13:18-10:30", 0, 0, 1795592598000000000LL, -37800,
	  "2026-11-24T21:13:18-10:30" },
	{ "2026-11-25T07:43:18", 0, -EINVAL, 0, 0, NULL },
	{ "2026-11-25T07:43:18", GOTIME_ZONE_OPTIONAL, 0, 1795592598000000000LL, 0,
	  "2026-11-25T07:43:18Z" },
	{ "2026-11-25", 0, -EINVAL, 0, 0, NULL },
	{ "2026-11-25", GOTIME_DATE_ONLY | GOTIME_ZONE_OPTIONAL, 0, 1795564800000000000LL, 0,
	  "2026-11-25T00:00:00Z" },
	{ "2026-11-25T07:43:18+24:00", 0, -EINVAL, 0, 0, NULL },
	{ "2026-13-25T07:43:18Z", 0, -EINVAL, 0, 0, NULL },
	{ "2026-11-25 07:44", 0, -EINVAL, 0, 0, NULL },
	{ "2300-01-01T00:00:00Z", 0, -ERANGE, 0, 0, NULL },
};

static void test_rfc3339(void)
{
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		int64_t ns = 0;
		int32_t zone = 0;
		char buf[64];
		int err = gotime_parse_rfc3339_zone(times[i].in, times[i].flags, &ns, &zone);

		if (!ASSERT_EQ(err, times[i].err, times[i].in) || err)
			continue;
		ASSERT_EQ(ns, times[i].ns, times[i].in);
		ASSERT_EQ(zone, times[i].zone, times[i].in);
		gotime_format_rfc3339nano_zone(ns, zone, buf, sizeof(buf));
		ASSERT_STREQ(buf, times[i].fmt, times[i].in);
	}
}

/*
 * gotime_format_time writes the common case (four-digit years, offsets under 100
 * hours) by hand, given room for the longest such text (36 bytes), else with
 * printf: both give the same text for random instants, zones and fractions.
 */
static void test_format_paths(void)
{
	static const struct cs_time fixed[] = {
		{ 0, 0, 0 },		       { -62167219200, 1, 60 },	  { 253402300799, 999999999, 0 },
		{ 1767225600, 500000000, 19800 }, { 1767225600, 120, -3599 }, { 1767225600, 0, 359940 },
		{ -62198755200, 0, 0 },
	};
	static const char *const want[] = {
		"1970-01-01T00:00:00Z",		    "0000-01-01T00:01:00.000000001+00:01",
		"9999-12-31T23:59:59.999999999Z", "2026-01-01T05:30:00.5+05:30",
		"2025-12-31T23:00:01.00000012-00:59", "2026-01-05T03:59:00+99:59",
		"-0001-01-01T00:00:00Z", /* Go pads after the sign */
	};
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t same = 0, compared = 0;
	char fast[64], slow[35];

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		ASSERT_OK(gotime_format_time(&fixed[i], true, fast, sizeof(fast)), want[i]);
		ASSERT_STREQ(fast, want[i], want[i]);
	}
	for (int i = 0; i < 20000; i++) {
		struct cs_time t;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		t.sec = (int64_t)(x % 320000000000ULL) - 62167219200LL;
		t.nsec = (int32_t)((x >> 13) % 1000000000) / (int32_t)(1 + (x >> 50) % 1000000);
		t.off = (int32_t)((x >> 30) % 720000) - 360000;
		if (i % 2)
			t.off -= t.off % 60;
		if (gotime_format_time(&t, i % 4 != 0, fast, sizeof(fast)) ||
		    gotime_format_time(&t, i % 4 != 0, slow, sizeof(slow)))
			continue;
		compared++;
		same += !strcmp(fast, slow);
	}
	ASSERT_TRUE(compared > 5000, "most random instants compared");
	ASSERT_EQ(same, compared, "hand-written and printf texts agree");
}

int main(void)
{
	test_rfc3339();
	test_format_paths();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ns = 0;
		char buf[64];

		int err = gotime_parse_duration(cases[i].in, &ns);

		/* bad syntax and overflow are both refusals; which errno is secondary */
		if (!ASSERT_EQ(err < 0, cases[i].err < 0, cases[i].in) || cases[i].err)
			continue;
		ASSERT_EQ(ns, cases[i].ns, cases[i].in);
		gotime_format_duration(ns, buf, sizeof(buf));
		ASSERT_STREQ(buf, cases[i].fmt, cases[i].in);
	}
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		char buf[64];

		gotime_format_duration(formats[i].ns, buf, sizeof(buf));
		ASSERT_STREQ(buf, formats[i].fmt, formats[i].fmt);
	}
	/* days (cscli's durations), Go's String() of a time, an offset read back as UTC */
	{
		int64_t ns = 0;
		char buf[64];

		ASSERT_OK(gotime_parse_duration_days("7d", &ns), "7d");
		ASSERT_EQ(ns, 7 * 24 * 3600 * S, "7d value");
		ASSERT_OK(gotime_parse_rfc3339("2026-11-25T07:44:29Z", &ns), "rfc3339");
		gotime_format_gostring(ns, buf, sizeof(buf));
		ASSERT_STREQ(buf, "2026-11-25 07:44:29 +0000 UTC", "Go's String()");
		ASSERT_OK(gotime_parse_rfc3339("2026-11-25T08:44:29.5+01:00", &ns), "offset");
		gotime_format_rfc3339nano(ns, buf, sizeof(buf));
		ASSERT_STREQ(buf, "2026-11-25T07:44:29.5Z", "offset as UTC");
	}
	/* RFC 3339 at and past the int64 nanosecond range (fuzzing: UBSan overflow) */
	{
		int64_t ns = 0;

		ASSERT_OK(gotime_parse_rfc3339("2262-04-11T23:47:16.854775807Z", &ns), "last ns");
		ASSERT_EQ(ns, INT64_MAX, "last ns value");
		ASSERT_EQ(gotime_parse_rfc3339("2262-04-11T23:47:17Z", &ns), -ERANGE, "past 2262");
		ASSERT_EQ(gotime_parse_rfc3339("6713-01-01T00:00:00-23:59", &ns), -ERANGE, "year 6713");
		ASSERT_EQ(gotime_parse_rfc3339("1677-09-21T00:12:43Z", &ns), -ERANGE, "before 1677");
	}
	return TEST_SUMMARY();
}
