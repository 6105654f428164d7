// SPDX-License-Identifier: MIT
#include "common/duration.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int64_t ns;
} units[] = {
	/* longest names first so "ms" is not read as "m" followed by junk */
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 }, /* U+00B5 micro sign */
	{ "\xce\xbcs", 1000 }, /* U+03BC greek mu */
	{ "ms", 1000000 },
	{ "s", 1000000000LL },
	{ "m", 60LL * 1000000000LL },
	{ "h", 3600LL * 1000000000LL },
};

int cs_duration_parse(const char *s, int64_t *out)
{
	bool neg = false;
	double total = 0;

	if (!s || !*s)
		return -EINVAL;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!strcmp(s, "0")) {
		*out = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		double v = 0, frac = 0, scale = 1;
		bool digits = false;
		size_t best = 0;
		int64_t unit = 0;

		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (*s++ - '0');
			digits = true;
		}
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9') {
				frac = frac * 10 + (*s++ - '0');
				scale *= 10;
				digits = true;
			}
		}
		if (!digits)
			return -EINVAL;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].name);

			if (n > best && !strncmp(s, units[i].name, n)) {
				best = n;
				unit = units[i].ns;
			}
		}
		if (!best)
			return -EINVAL;
		s += best;
		total += (v + frac / scale) * (double)unit;
		if (total > 9.2e18)
			return -ERANGE;
	}
	*out = neg ? -(int64_t)total : (int64_t)total;
	return 0;
}

int cs_duration_format(int64_t ns, char *buf, size_t len)
{
	uint64_t u = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
	const char *sign = ns < 0 ? "-" : "";
	int n;

	if (u == 0)
		n = snprintf(buf, len, "0s");
	else if (u < 1000)
		n = snprintf(buf, len, "%s%luns", sign, (unsigned long)u);
	else if (u < 1000000)
		n = snprintf(buf, len, "%s%gµs", sign, (double)u / 1e3);
	else if (u < 1000000000)
		n = snprintf(buf, len, "%s%gms", sign, (double)u / 1e6);
	else {
		uint64_t h = u / 3600000000000ULL, m = u / 60000000000ULL % 60;
		double sec = (double)(u % 60000000000ULL) / 1e9;
		char secs[32];

		snprintf(secs, sizeof(secs), "%.9f", sec);
		/* trim trailing zeros of the fraction, as Go does */
		for (char *e = secs + strlen(secs) - 1; *e == '0' || *e == '.'; e--) {
			bool dot = *e == '.';

			*e = '\0';
			if (dot)
				break;
		}
		if (h)
			n = snprintf(buf, len, "%s%luh%lum%ss", sign, (unsigned long)h,
				     (unsigned long)m, secs);
		else if (m)
			n = snprintf(buf, len, "%s%lum%ss", sign, (unsigned long)m, secs);
		else
			n = snprintf(buf, len, "%s%ss", sign, secs);
	}
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
