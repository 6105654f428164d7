// SPDX-License-Identifier: MIT
#include "parser/dateparse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Built-in layouts of ParseDate, in CrowdSec's order (hub-format.md 4.1). */
static const char *const builtin_layouts[] = {
	"2006-01-02T15:04:05Z07:00",
	"02/Jan/2006:15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"02-Jan-2006 15:04:05 europe/paris",
	"01/02/2006 15:04:05",
	"2006-01-02 15:04:05.999999999 -0700 MST",
	"Jan  2 15:04:05",
	"Mon Jan 02 15:04:05.000000 2006",
	"2006-01-02T15:04:05Z07:00",
	"2006/01/02",
	"2006/01/02 15:04",
	"2006-01-02",
	"2006-01-02 15:04",
	"2006/01/02 15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	NULL,
};

static const char *const month_names[] = { "January", "February", "March",     "April",
					   "May",     "June",     "July",      "August",
					   "September", "October", "November", "December" };
static const char *const day_names[] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
					 "Thursday", "Friday", "Saturday" };

/* Layout elements (Go's "std chunks") this parser understands. */
enum chunk {
	C_NONE,
	C_LONG_MONTH,	/* January */
	C_MONTH,	/* Jan */
	C_NUM_MONTH,	/* 1 */
	C_ZERO_MONTH,	/* 01 */
	C_LONG_WEEKDAY, /* Monday */
	C_WEEKDAY,	/* Mon */
	C_DAY,		/* 2 */
	C_UNDER_DAY,	/* _2 */
	C_ZERO_DAY,	/* 02 */
	C_HOUR,		/* 15 */
	C_HOUR12,	/* 3 */
	C_ZERO_HOUR12,	/* 03 */
	C_MINUTE,	/* 4 */
	C_ZERO_MINUTE,	/* 04 */
	C_SECOND,	/* 5 */
	C_ZERO_SECOND,	/* 05 */
	C_LONG_YEAR,	/* 2006 */
	C_YEAR,		/* 06 */
	C_PM,		/* PM */
	C_pm,		/* pm */
	C_TZ,		/* MST */
	C_ISO_TZ,	/* Z07:00 */
	C_ISO_TZ_NC,	/* Z0700 */
	C_ISO_TZ_SHORT, /* Z07 */
	C_NUM_TZ,	/* -0700 */
	C_NUM_COLON_TZ, /* -07:00 */
	C_NUM_SHORT_TZ, /* -07 */
	C_FRAC0,	/* .000 or ,000 : exactly that many digits */
	C_FRAC9,	/* .999 or ,999 : optional, any number of digits */
};

static bool starts(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* The elements spelled by fixed text; where one is a prefix of another, the longer first. */
static const struct {
	const char *text;
	enum chunk kind;
} named_chunks[] = {
	{ "January", C_LONG_MONTH },  { "Jan", C_MONTH },	     { "Monday", C_LONG_WEEKDAY },
	{ "Mon", C_WEEKDAY },	      { "MST", C_TZ },		     { "15", C_HOUR },
	{ "2006", C_LONG_YEAR },      { "PM", C_PM },		     { "pm", C_pm },
	{ "-07:00", C_NUM_COLON_TZ }, { "-0700", C_NUM_TZ },	     { "-07", C_NUM_SHORT_TZ },
	{ "Z07:00", C_ISO_TZ },	      { "Z0700", C_ISO_TZ_NC },    { "Z07", C_ISO_TZ_SHORT },
};

/*
 * Find the next layout element at or after `l`: returns its start and sets
 * *kind and *len. Mirrors the precedence of Go's nextStdChunk.
 */
static const char *next_chunk(const char *l, enum chunk *kind, size_t *len)
{
	for (; *l; l++) {
		*kind = C_NONE;
		for (size_t i = 0; i < sizeof(named_chunks) / sizeof(named_chunks[0]); i++) {
			if (named_chunks[i].text[0] == *l && starts(l, named_chunks[i].text)) {
				*kind = named_chunks[i].kind;
				*len = strlen(named_chunks[i].text);
				return l;
			}
		}
		switch (*l) {
		case '0':
			if (l[1] >= '1' && l[1] <= '6') {
				static const enum chunk z[] = { C_ZERO_MONTH, C_ZERO_DAY, C_ZERO_HOUR12,
								C_ZERO_MINUTE, C_ZERO_SECOND, C_YEAR };
				*kind = z[l[1] - '1'];
				*len = 2;
			}
			break;
		case '1':
			*kind = C_NUM_MONTH, *len = 1;
			break;
		case '2':
			*kind = C_DAY, *len = 1;
			break;
		case '_':
			if (l[1] == '2' && !starts(l + 1, "2006"))
				*kind = C_UNDER_DAY, *len = 2;
			break;
		case '3':
		case '4':
		case '5': {
			static const enum chunk d[] = { C_HOUR12, C_MINUTE, C_SECOND };

			*kind = d[*l - '3'];
			*len = 1;
			break;
		}
		case '.':
		case ',':
			if (l[1] == '0' || l[1] == '9') {
				char c = l[1];
				size_t j = 1;

				while (l[j] == c)
					j++;
				/* A fraction only if not followed by another digit. */
				if (!isdigit((unsigned char)l[j]))
					*kind = c == '0' ? C_FRAC0 : C_FRAC9, *len = j;
			}
			break;
		}
		if (*kind != C_NONE)
			return l;
	}
	*kind = C_NONE;
	*len = 0;
	return l;
}

/* Up to `max` digits (at least one; exactly `max` if fixed). */
static int getnum(const char **v, int max, bool fixed, int *out)
{
	const char *s = *v;
	int n = 0, i = 0;

	while (i < max && isdigit((unsigned char)s[i]))
		n = n * 10 + (s[i++] - '0');
	if (!i || (fixed && i != max))
		return -EINVAL;
	*v = s + i;
	*out = n;
	return 0;
}

static int lookup_name(const char **v, const char *const *names, int n, bool abbrev)
{
	for (int i = 0; i < n; i++) {
		size_t len = abbrev ? 3 : strlen(names[i]);

		if (!strncasecmp(*v, names[i], len)) {
			*v += len;
			return i;
		}
	}
	return -1;
}

/* Go's skip(): literal text, where a run of spaces matches a run of spaces. */
static int skip_literal(const char **v, const char *lit, size_t len)
{
	const char *s = *v;
	size_t i = 0;

	while (i < len) {
		if (lit[i] == ' ') {
			if (*s && *s != ' ')
				return -EINVAL;
			while (i < len && lit[i] == ' ')
				i++;
			while (*s == ' ')
				s++;
			continue;
		}
		if (*s != lit[i])
			return -EINVAL;
		s++;
		i++;
	}
	*v = s;
	return 0;
}

static bool is_leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in(int month, long year)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return month == 2 && is_leap(year) ? 29 : d[month - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month may overflow day). */
static int64_t days_from_civil(long y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int parse_offset(const char **v, enum chunk kind, int *off)
{
	const char *s = *v;
	int sign, hh, mm = 0;

	if (*s != '+' && *s != '-')
		return -EINVAL;
	sign = *s++ == '-' ? -1 : 1;
	if (getnum(&s, 2, true, &hh))
		return -EINVAL;
	if (kind == C_NUM_COLON_TZ || kind == C_ISO_TZ) {
		if (*s++ != ':' || getnum(&s, 2, true, &mm))
			return -EINVAL;
	} else if (kind == C_NUM_TZ || kind == C_ISO_TZ_NC) {
		if (getnum(&s, 2, true, &mm))
			return -EINVAL;
	}
	if (hh > 24 || mm > 59)
		return -EINVAL;
	*off = sign * (hh * 3600 + mm * 60);
	*v = s;
	return 0;
}

/* Fraction digits at s (after the separator): nanoseconds, like Go. */
static int parse_frac(const char **v, size_t ndig, int32_t *nsec)
{
	const char *s = *v;
	int64_t ns = 0;
	size_t i;

	for (i = 0; i < ndig; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		if (i < 9)
			ns = ns * 10 + (s[i] - '0');
	}
	for (; i < 9; i++)
		ns *= 10;
	*nsec = (int32_t)ns;
	*v = s + ndig;
	return 0;
}

/* A separator ('.' or ',', already checked) and as many digits as the value has. */
static int parse_any_frac(const char **v, int32_t *nsec)
{
	size_t n = 1;

	while (isdigit((unsigned char)(*v)[n]))
		n++;
	(*v)++;
	return parse_frac(v, n - 1, nsec);
}

int cs_time_parse_layout(const char *layout, const char *value, struct cs_time *out,
			 bool *has_year)
{
	long year = 0;
	int month = 1, day = 1, hour = 0, min = 0, sec = 0, off = 0, n;
	int32_t nsec = 0;
	bool got_year = false, pm = false, am = false, hour12 = false, got_off = false;
	const char *l = layout, *v = value;

	for (;;) {
		enum chunk kind;
		size_t clen;
		const char *c = next_chunk(l, &kind, &clen);

		if (skip_literal(&v, l, c - l))
			return -EINVAL;
		if (kind == C_NONE)
			break;
		l = c + clen;
		switch (kind) {
		case C_LONG_YEAR:
			if (getnum(&v, 4, true, &n))
				return -EINVAL;
			year = n;
			got_year = true;
			break;
		case C_YEAR:
			if (getnum(&v, 2, true, &n))
				return -EINVAL;
			year = n >= 69 ? 1900 + n : 2000 + n;
			got_year = true;
			break;
		case C_LONG_MONTH:
		case C_MONTH:
			n = lookup_name(&v, month_names, 12, kind == C_MONTH);
			if (n < 0)
				return -EINVAL;
			month = n + 1;
			break;
		case C_NUM_MONTH:
		case C_ZERO_MONTH:
			if (getnum(&v, 2, kind == C_ZERO_MONTH, &month) || month < 1 || month > 12)
				return -EINVAL;
			break;
		case C_LONG_WEEKDAY:
		case C_WEEKDAY:
			/* Parsed and ignored, as Go does. */
			if (lookup_name(&v, day_names, 7, kind == C_WEEKDAY) < 0)
				return -EINVAL;
			break;
		case C_UNDER_DAY:
			if (*v == ' ')
				v++;
			/* fall through */
		case C_DAY:
		case C_ZERO_DAY:
			if (getnum(&v, 2, kind == C_ZERO_DAY, &day))
				return -EINVAL;
			break;
		case C_HOUR:
			if (getnum(&v, 2, false, &hour) || hour > 23)
				return -EINVAL;
			break;
		case C_HOUR12:
		case C_ZERO_HOUR12:
			if (getnum(&v, 2, kind == C_ZERO_HOUR12, &hour) || hour > 12)
				return -EINVAL;
			hour12 = true;
			break;
		case C_MINUTE:
		case C_ZERO_MINUTE:
			if (getnum(&v, 2, kind == C_ZERO_MINUTE, &min) || min > 59)
				return -EINVAL;
			break;
		case C_SECOND:
		case C_ZERO_SECOND:
			if (getnum(&v, 2, kind == C_ZERO_SECOND, &sec) || sec > 59)
				return -EINVAL;
			/* Go accepts a fraction here even when the layout has none. */
			if ((*v == '.' || *v == ',') && isdigit((unsigned char)v[1])) {
				enum chunk nk;
				size_t nl;
				const char *nc = next_chunk(l, &nk, &nl);

				if (nc == l && (nk == C_FRAC0 || nk == C_FRAC9))
					break;
				if (parse_any_frac(&v, &nsec))
					return -EINVAL;
			}
			break;
		case C_FRAC0:
			if (*v != '.' && *v != ',')
				return -EINVAL;
			v++;
			if (parse_frac(&v, clen - 1, &nsec))
				return -EINVAL;
			break;
		case C_FRAC9:
			if ((*v != '.' && *v != ',') || !isdigit((unsigned char)v[1]))
				break; /* optional */
			if (parse_any_frac(&v, &nsec))
				return -EINVAL;
			break;
		case C_PM:
		case C_pm:
			if (!strncasecmp(v, "PM", 2))
				pm = true;
			else if (!strncasecmp(v, "AM", 2))
				am = true;
			else
				return -EINVAL;
			v += 2;
			break;
		case C_ISO_TZ:
		case C_ISO_TZ_NC:
		case C_ISO_TZ_SHORT:
			if (*v == 'Z') {
				v++;
				off = 0;
				got_off = true;
				break;
			}
			/* fall through */
		case C_NUM_TZ:
		case C_NUM_COLON_TZ:
		case C_NUM_SHORT_TZ:
			if (parse_offset(&v, kind, &off))
				return -EINVAL;
			got_off = true;
			break;
		case C_TZ:
			/*
			 * A zone abbreviation: three or more upper-case letters (or UTC).
			 * Without a numeric offset elsewhere Go gives it offset 0.
			 */
			n = 0;
			while (isupper((unsigned char)v[n]))
				n++;
			if (n < 3)
				return -EINVAL;
			v += n;
			if (!got_off)
				off = 0;
			break;
		case C_NONE:
			break;
		}
	}
	if (*v)
		return -EINVAL; /* trailing text */
	if (hour12) {
		if (pm && hour < 12)
			hour += 12;
		else if (am && hour == 12)
			hour = 0;
	}
	if (day < 1 || day > days_in(month, year))
		return -EINVAL;
	out->sec = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - off;
	out->nsec = nsec;
	out->off = off;
	if (has_year)
		*has_year = got_year;
	return 0;
}

/* Go's AddDate(years, 0, 0): keep the wall clock, normalise Feb 29 -> Mar 1. */
static void add_years(struct cs_time *t, long years)
{
	int64_t local = t->sec + t->off;
	int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
	int64_t rem = local - days * 86400;
	long y;
	int m, d;

	gotime_civil_from_days(days, &y, &m, &d);
	t->sec = days_from_civil(y + years, m, 1) * 86400 + (int64_t)(d - 1) * 86400 + rem - t->off;
}

static int parse_epoch(const char *value, const struct cs_time *now, struct cs_time *out)
{
	int64_t sec = 0;
	const char *p = value;
	struct tm tm;
	time_t tt;

	(void)now;
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (sec > (INT64_MAX - 9) / 10)
			return -EINVAL;
		sec = sec * 10 + (*p - '0');
	}
	if ((*p && *p != '.') || sec <= 0)
		return -EINVAL;
	/* Upstream renders the epoch in the local zone (hubtest runs with TZ=UTC). */
	tt = (time_t)sec;
	if (!localtime_r(&tt, &tm))
		return -EINVAL;
	out->sec = sec;
	out->nsec = 0;
	out->off = (int32_t)tm.tm_gmtoff;
	return 0;
}

static int try_layout(const char *layout, const char *value, const struct cs_time *now,
		      struct cs_time *out)
{
	struct cs_time t;
	bool has_year;

	if (cs_time_parse_layout(layout, value, &t, &has_year))
		return -EINVAL;
	if (!has_year) {
		int64_t d = now->sec >= 0 ? now->sec / 86400 : (now->sec - 86399) / 86400;
		long y;
		int m, dd;

		gotime_civil_from_days(d, &y, &m, &dd);
		add_years(&t, y);
	}
	/* The zero instant (0001-01-01T00:00:00Z) counts as a failed parse. */
	if (t.sec == days_from_civil(1, 1, 1) * 86400 && !t.nsec)
		return -EINVAL;
	*out = t;
	return 0;
}

/*
 * The last date a thread read through a layout, by its text, the format and the
 * day of `now` (which gives a date written without a year its year): log lines
 * repeat the same second, and a syslog date is only found by the 7th layout.
 */
#define DATE_MEMO_TEXT 64

struct date_memo {
	char value[DATE_MEMO_TEXT], format[DATE_MEMO_TEXT];
	int64_t day;
	struct cs_time out;
	bool set;
};

static __thread struct date_memo date_memo;

static int parse_layouts(const char *value, const char *format, const struct cs_time *now,
			 struct cs_time *out)
{
	if (*format && !try_layout(format, value, now, out))
		return 0;
	for (size_t i = 0; builtin_layouts[i]; i++)
		if (!try_layout(builtin_layouts[i], value, now, out))
			return 0;
	return -EINVAL;
}

int cs_dateparse(const char *value, const char *format, const struct cs_time *now,
		 struct cs_time *out)
{
	struct date_memo *m = &date_memo;
	struct cs_time wall;
	int64_t day;
	bool memo;

	if (!value || !*value)
		return -EINVAL;
	if (!now) {
		cs_time_now(&wall);
		now = &wall;
	}
	if (!format)
		format = "";
	day = now->sec >= 0 ? now->sec / 86400 : (now->sec - 86399) / 86400;
	memo = strlen(value) < sizeof(m->value) && strlen(format) < sizeof(m->format);
	if (memo && m->set && m->day == day && !strcmp(m->value, value) &&
	    !strcmp(m->format, format)) {
		*out = m->out;
		return 0;
	}
	if (parse_layouts(value, format, now, out))
		return parse_epoch(value, now, out); /* local time: not kept */
	if (memo) {
		strcpy(m->value, value);
		strcpy(m->format, format);
		m->day = day;
		m->out = *out;
		m->set = true;
	}
	return 0;
}

int cs_time_format(const struct cs_time *t, char *buf, size_t len)
{
	return gotime_format_time(t, true, buf, len);
}

int cs_time_format_sec(const struct cs_time *t, char *buf, size_t len)
{
	return gotime_format_time(t, false, buf, len);
}

static void time_of_clock(clockid_t clock, struct cs_time *out)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	out->sec = ts.tv_sec;
	out->nsec = ts.tv_nsec;
	out->off = 0;
}

void cs_time_now(struct cs_time *out)
{
	time_of_clock(CLOCK_REALTIME, out);
}

void cs_time_now_coarse(struct cs_time *out)
{
	time_of_clock(CLOCK_REALTIME_COARSE, out);
}
