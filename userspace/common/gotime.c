// SPDX-License-Identifier: MIT
/* Go-compatible time/duration text; see gotime.h. */
#include "common/gotime.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t gotime_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static const struct {
	const char *name;
	uint64_t mult;
} units[] = {
	{ "ns", 1ULL },
	{ "us", 1000ULL },
	{ "\xc2\xb5s", 1000ULL }, /* U+00B5 micro sign */
	{ "\xce\xbcs", 1000ULL }, /* U+03BC greek mu */
	{ "ms", 1000000ULL },
	{ "s", 1000000000ULL },
	{ "m", 60000000000ULL },
	{ "h", 3600000000000ULL },
};

int gotime_parse_duration(const char *s, int64_t *ns)
{
	bool neg = false;
	long double total = 0;

	if (!s || !*s)
		return -EINVAL;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		uint64_t ip = 0, fp = 0, fscale = 1;
		bool digits = false;
		size_t best = 0, ul;
		int ui = -1;

		while (isdigit((unsigned char)*s)) {
			if (ip > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			ip = ip * 10 + (uint64_t)(*s++ - '0');
			digits = true;
		}
		if (*s == '.') {
			s++;
			while (isdigit((unsigned char)*s)) {
				if (fscale < 1000000000000000000ULL) {
					fp = fp * 10 + (uint64_t)(*s - '0');
					fscale *= 10;
				}
				s++;
				digits = true;
			}
		}
		if (!digits)
			return -EINVAL;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			ul = strlen(units[i].name);
			if (!strncmp(s, units[i].name, ul) && ul > best) {
				best = ul;
				ui = (int)i;
			}
		}
		if (ui < 0)
			return -EINVAL;
		s += best;
		total += (long double)ip * units[ui].mult +
			 (long double)fp * units[ui].mult / (long double)fscale;
		if (total > 9223372036854775807.0L)
			return -ERANGE;
	}
	*ns = (int64_t)(neg ? -total : total);
	return 0;
}

int gotime_parse_duration_days(const char *s, int64_t *ns)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= 2 && s[n - 1] == 'd') {
		char *end;
		long long d;

		errno = 0;
		d = strtoll(s, &end, 10);
		if (errno || end != s + n - 1 || d < 0 || d > 100000)
			return -EINVAL;
		*ns = d * 24 * 3600 * NSEC_PER_SEC;
		return 0;
	}
	return gotime_parse_duration(s, ns);
}

int64_t gotime_deadline(int64_t start, int64_t duration)
{
	if (duration > GOTIME_MAX_SPAN)
		duration = GOTIME_MAX_SPAN;
	if (duration > 0 && start > INT64_MAX - duration)
		return INT64_MAX;
	if (duration < 0 && start < INT64_MIN - duration)
		return INT64_MIN;
	return start + duration;
}

/* Go's fmtFrac: digits of v % 10^prec without trailing zeros, with a dot. */
static int fmt_frac(char *out, uint64_t v, int prec, uint64_t *rest)
{
	char tmp[24];
	int n = 0;
	bool print = false;

	for (int i = 0; i < prec; i++) {
		int digit = v % 10;

		print = print || digit != 0;
		if (print)
			tmp[n++] = (char)('0' + digit);
		v /= 10;
	}
	*rest = v;
	if (!n)
		return 0;
	out[0] = '.';
	for (int i = 0; i < n; i++)
		out[1 + i] = tmp[n - 1 - i];
	return n + 1;
}

void gotime_format_duration(int64_t d, char *buf, size_t len)
{
	uint64_t u = d < 0 ? -(uint64_t)d : (uint64_t)d;
	char frac[24] = "";
	int fl;

	if (u == 0) {
		snprintf(buf, len, "0s");
	} else if (u < 1000ULL) {
		snprintf(buf, len, "%s%lluns", d < 0 ? "-" : "", (unsigned long long)u);
	} else if (u < 1000000ULL) {
		fl = fmt_frac(frac, u, 3, &u);
		snprintf(buf, len, "%s%llu%.*s\xc2\xb5s", d < 0 ? "-" : "", (unsigned long long)u,
			 fl, frac);
	} else if (u < 1000000000ULL) {
		fl = fmt_frac(frac, u, 6, &u);
		snprintf(buf, len, "%s%llu%.*sms", d < 0 ? "-" : "", (unsigned long long)u, fl,
			 frac);
	} else {
		unsigned long long secs, mins, hours;

		fl = fmt_frac(frac, u, 9, &u);
		secs = u % 60;
		u /= 60;
		if (!u) {
			snprintf(buf, len, "%s%llu%.*ss", d < 0 ? "-" : "", secs, fl, frac);
			return;
		}
		mins = u % 60;
		hours = u / 60;
		if (!hours)
			snprintf(buf, len, "%s%llum%llu%.*ss", d < 0 ? "-" : "", mins, secs, fl,
				 frac);
		else
			snprintf(buf, len, "%s%lluh%llum%llu%.*ss", d < 0 ? "-" : "", hours, mins,
				 secs, fl, frac);
	}
}

static int digits(const char **s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return -EINVAL;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

int gotime_parse_rfc3339_zone(const char *s, unsigned int flags, int64_t *ns, int32_t *zone)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0;
	int64_t frac = 0, scale = NSEC_PER_SEC, off = 0;
	struct tm tm = { 0 };

	if (!s)
		return -EINVAL;
	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
	    digits(&s, 2, &d))
		return -EINVAL;
	if (!*s && (flags & GOTIME_DATE_ONLY)) {
		h = mi = sec = 0;
		goto fields;
	}
	if ((*s != 'T' && *s != 't' && *s != ' ') || !*s++ || digits(&s, 2, &h) ||
	    *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' || digits(&s, 2, &sec))
		return -EINVAL;
fields:
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		while (isdigit((unsigned char)*s)) {
			if (scale > 1) {
				scale /= 10;
				frac += (*s - '0') * scale;
			}
			s++;
		}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1;

		if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		off = sign * ((int64_t)oh * 3600 + om * 60);
	} else if (*s || !(flags & GOTIME_ZONE_OPTIONAL)) {
		return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	/* int64 nanoseconds end in 2262 (and start in 1677): later is out of range */
	if (__builtin_mul_overflow((int64_t)timegm(&tm) - off, NSEC_PER_SEC, ns) ||
	    __builtin_add_overflow(*ns, frac, ns))
		return -ERANGE;
	if (zone)
		*zone = (int32_t)off;
	return 0;
}

int gotime_parse_rfc3339(const char *s, int64_t *ns)
{
	return gotime_parse_rfc3339_zone(s, 0, ns, NULL);
}

static void split(int64_t ns, struct tm *tm, long *nsec)
{
	time_t secs = (time_t)(ns / NSEC_PER_SEC);
	long rem = (long)(ns % NSEC_PER_SEC);

	if (rem < 0) {
		rem += NSEC_PER_SEC;
		secs--;
	}
	gmtime_r(&secs, tm);
	*nsec = rem;
}

void gotime_format_rfc3339(int64_t ns, char *buf, size_t len)
{
	struct cs_time t = { .sec = ns / NSEC_PER_SEC - (ns % NSEC_PER_SEC < 0) };

	gotime_format_time(&t, false, buf, len);
}

static int trimmed_frac(long nsec, char *out)
{
	uint64_t rest;

	return fmt_frac(out, (uint64_t)nsec, 9, &rest);
}

void gotime_civil_from_days(int64_t z, long *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

/* The longest text format_fast writes: "2006-01-02T15:04:05.999999999-07:00" and the NUL. */
#define FAST_LEN 36

static char *put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/*
 * gotime_format_time without printf (every parsed line and every alert event
 * formats a time): four-digit years, offsets under 100 hours, room for FAST_LEN.
 */
static int format_fast(const struct cs_time *t, bool frac, long y, int m, int d, int rem,
		       char *buf)
{
	char *p = buf;
	int off = t->off < 0 ? -t->off : t->off;

	p = put2(p, (int)(y / 100));
	p = put2(p, (int)(y % 100));
	*p++ = '-';
	p = put2(p, m);
	*p++ = '-';
	p = put2(p, d);
	*p++ = 'T';
	p = put2(p, rem / 3600);
	*p++ = ':';
	p = put2(p, rem % 3600 / 60);
	*p++ = ':';
	p = put2(p, rem % 60);
	if (frac && t->nsec) {
		int32_t ns = t->nsec;
		int n = 9;

		while (ns % 10 == 0) {
			ns /= 10;
			n--;
		}
		*p++ = '.';
		for (int i = n - 1; i >= 0; i--, ns /= 10)
			p[i] = (char)('0' + ns % 10);
		p += n;
	}
	if (!t->off) {
		*p++ = 'Z';
	} else {
		*p++ = t->off < 0 ? '-' : '+';
		p = put2(p, off / 3600);
		*p++ = ':';
		p = put2(p, off % 3600 / 60);
	}
	*p = '\0';
	return 0;
}

int gotime_format_time(const struct cs_time *t, bool frac, char *buf, size_t len)
{
	int64_t local = t->sec + t->off;
	int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
	int64_t rem = local - days * 86400;
	char fbuf[16] = "", zbuf[16];
	long y;
	int m, d, n;

	gotime_civil_from_days(days, &y, &m, &d);
	if (y >= 0 && y <= 9999 && t->nsec >= 0 && t->nsec < NSEC_PER_SEC &&
	    t->off > -100 * 3600 && t->off < 100 * 3600 && len >= FAST_LEN)
		return format_fast(t, frac, y, m, d, (int)rem, buf);
	if (frac && t->nsec) {
		snprintf(fbuf, sizeof(fbuf), ".%09d", (int)t->nsec);
		for (n = strlen(fbuf); fbuf[n - 1] == '0'; n--)
			fbuf[n - 1] = '\0';
	}
	if (!t->off)
		snprintf(zbuf, sizeof(zbuf), "Z");
	else
		snprintf(zbuf, sizeof(zbuf), "%c%02d:%02d", t->off < 0 ? '-' : '+',
			 abs(t->off) / 3600, abs(t->off) % 3600 / 60);
	/* Go pads the year's digits, after the sign: -0001, not -001 */
	n = snprintf(buf, len, "%s%04ld-%02d-%02dT%02d:%02d:%02d%s%s", y < 0 ? "-" : "",
		     y < 0 ? -y : y, m, d, (int)(rem / 3600), (int)(rem % 3600 / 60),
		     (int)(rem % 60), fbuf, zbuf);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

void gotime_format_rfc3339nano_zone(int64_t ns, int32_t zone, char *buf, size_t len)
{
	struct cs_time t = { .sec = ns / NSEC_PER_SEC, .nsec = (int32_t)(ns % NSEC_PER_SEC),
			     .off = zone };

	if (t.nsec < 0) {
		t.nsec += NSEC_PER_SEC;
		t.sec--;
	}
	gotime_format_time(&t, true, buf, len);
}

void gotime_format_rfc3339nano(int64_t ns, char *buf, size_t len)
{
	gotime_format_rfc3339nano_zone(ns, 0, buf, len);
}

void gotime_format_gostring(int64_t ns, char *buf, size_t len)
{
	char base[40], frac[16];
	struct tm tm;
	long nsec;
	int fl;

	split(ns, &tm, &nsec);
	strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm);
	fl = trimmed_frac(nsec, frac);
	snprintf(buf, len, "%s%.*s +0000 UTC", base, fl, frac);
}
