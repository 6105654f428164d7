// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>

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
	{ "", -EINVAL, 0, NULL },
	{ "4", -EINVAL, 0, NULL },
	{ "h", -EINVAL, 0, NULL },
	{ "4d", -EINVAL, 0, NULL },
	{ "4h ", -EINVAL, 0, NULL },
	{ "99999999999999h", -ERANGE, 0, NULL },
};

int main(void)
{
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
