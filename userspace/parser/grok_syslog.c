// SPDX-License-Identifier: MIT
/*
 * Why each accepted shape reads like the regex (SYSLOGBASE2, then
 * " %{GREEDYDATA:message}"): the regex is tried leftmost-first, and for these
 * shapes the first path it tries succeeds, so its captures are that path's:
 *  - a three-letter month then spaces, day, hh:mm:ss: MONTH's alternatives that
 *    match a shorter prefix are followed by a letter, not by " +"; the day and
 *    the time are read by the first alternative that takes all their digits;
 *  - no '<' next: the optional facility is skipped;
 *  - the host, followed by a space: a name starting with a letter (IPV6 needs
 *    a ':' within its first five bytes, IPV4 a digit, so HOSTNAME takes it
 *    whole: labels of 1-63 [0-9A-Za-z-] starting alphanumeric, one dot
 *    between, one optional at the end), or a dotted quad whose four octets
 *    IPV4 takes whole. A host starting with a digit that is not such a quad may
 *    be read as two hosts ("1.2.3.45.6.7.8" gives "5.6.7.8"): not ours;
 *  - the program: PROG ([\x21-\x5a\x5c\x5e-\x7e]+, which holds ':') is
 *    greedy and gives back one byte at a time, so " prog[pid]: " or
 *    " prog: " (the ':' the last byte of the run) is taken; anything else
 *    makes " %{SYSLOGPROG}:" fail and its empty alternative match, and the
 *    message starts right after the host's space;
 *  - the message: `.*` up to the first '\n'.
 */
#include "parser/grok_syslog.h"

#include <string.h>

const char grok_syslog_pattern[] = "^%{SYSLOGLINE}";

const char *const grok_syslog_defs[][2] = {
	{ "SYSLOGBASE2",
	  "(?:%{SYSLOGTIMESTAMP:timestamp}|%{TIMESTAMP_ISO8601:timestamp8601}) "
	  "(?:%{SYSLOGFACILITY} )?%{SYSLOGHOST:logsource}+(?: %{SYSLOGPROG}:|)" },
	{ "SYSLOGLINE", "%{SYSLOGBASE2} %{GREEDYDATA:message}" },
	{ NULL, NULL },
};

static const char *const part_names[GROK_SYSLOG_NPARTS] = {
	[GROK_SYSLOG_TIMESTAMP] = "timestamp", [GROK_SYSLOG_TIMESTAMP8601] = "timestamp8601",
	[GROK_SYSLOG_FACILITY] = "facility",   [GROK_SYSLOG_PRIORITY] = "priority",
	[GROK_SYSLOG_LOGSOURCE] = "logsource", [GROK_SYSLOG_PROGRAM] = "program",
	[GROK_SYSLOG_PID] = "pid",	       [GROK_SYSLOG_MESSAGE] = "message",
};

const char *grok_syslog_part_name(enum grok_syslog_part part)
{
	return (unsigned)part < GROK_SYSLOG_NPARTS ? part_names[part] : NULL;
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool month3(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (size_t i = 0; i < sizeof(months) - 1; i += 3)
		if (!memcmp(s, months + i, 3))
			return true;
	return false;
}

/* Two digits a..b (both as text, b's first digit the same as a's or more). */
static bool two_digits(const char *s, char lo0, char hi0, char hi1_at_hi0)
{
	if (!digit(s[0]) || !digit(s[1]) || s[0] < lo0 || s[0] > hi0)
		return false;
	return s[0] < hi0 || s[1] <= hi1_at_hi0;
}

/* "Mmm dd hh:mm:ss" at s; its length, 0 when it is not that shape. */
static size_t read_timestamp(const char *s, size_t len)
{
	size_t i = 3;

	if (len < 16 || !month3(s) || s[3] != ' ')
		return 0;
	while (i < len && s[i] == ' ')
		i++;
	if (len - i < 11)
		return 0;
	if (digit(s[i + 1])) {
		/* 0[1-9] | [12][0-9] | 3[01] */
		if (!((s[i] == '0' && s[i + 1] != '0') || s[i] == '1' || s[i] == '2' ||
		      (s[i] == '3' && s[i + 1] <= '1')))
			return 0;
		i += 2;
	} else if (s[i] >= '1' && s[i] <= '9') {
		i++;
	} else {
		return 0;
	}
	if (len - i < 10 || s[i] != ' ')
		return 0;
	i++;
	/* HOUR 00-23, MINUTE, SECOND 00-59, then the space after the timestamp */
	if (!two_digits(s + i, '0', '2', '3') || s[i + 2] != ':' ||
	    !two_digits(s + i + 3, '0', '5', '9') || s[i + 5] != ':' ||
	    !two_digits(s + i + 6, '0', '5', '9') || s[i + 8] != ' ')
		return 0;
	return i + 8;
}

/* An IPV4 octet taken whole: 25[0-5] | 2[0-4][0-9] | [01]?[0-9][0-9]? */
static bool octet(const char *s, size_t n)
{
	if (n == 1 || n == 2)
		return true;
	if (n != 3)
		return false;
	if (s[0] == '0' || s[0] == '1')
		return true;
	return s[0] == '2' && (s[1] < '5' || (s[1] == '5' && s[2] <= '5'));
}

static bool dotted_quad(const char *s, size_t n)
{
	size_t start = 0, dots = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && digit(s[i]))
			continue;
		if (i < n && s[i] != '.')
			return false;
		if (!octet(s + start, i - start))
			return false;
		if (i < n && ++dots > 3)
			return false;
		start = i + 1;
	}
	return dots == 3;
}

/* HOSTNAME taken whole: the labels are checked here, the bytes by the caller. */
static bool host_name(const char *s, size_t n)
{
	size_t label = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '.') {
			if (!label && s[i] == '-')
				return false;
			if (++label > 63)
				return false;
			continue;
		}
		if (!label)
			return false;
		label = 0;
	}
	return true;
}

static bool host_byte(char c)
{
	return alpha(c) || digit(c) || c == '.' || c == '-';
}

static bool prog_byte(char c)
{
	unsigned char u = (unsigned char)c;

	return u >= 0x21 && u <= 0x7e && u != '[' && u != ']';
}

bool grok_syslog_read(const char *s, size_t len, struct grok_span parts[GROK_SYSLOG_NPARTS])
{
	size_t ts = read_timestamp(s, len), h0, h1, r0, r1, m0;
	const char *nl;

	if (!ts)
		return false;
	h0 = ts + 1;
	if (h0 >= len || !(alpha(s[h0]) || digit(s[h0])))
		return false; /* '<' (a facility) among others */
	for (h1 = h0; h1 < len && host_byte(s[h1]); h1++)
		;
	if (h1 >= len || s[h1] != ' ')
		return false;
	if (alpha(s[h0]) ? !host_name(s + h0, h1 - h0) : !dotted_quad(s + h0, h1 - h0))
		return false;

	memset(parts, 0, sizeof(*parts) * GROK_SYSLOG_NPARTS);
	parts[GROK_SYSLOG_TIMESTAMP] = (struct grok_span){ 0, ts };
	parts[GROK_SYSLOG_LOGSOURCE] = (struct grok_span){ h0, h1 - h0 };
	r0 = h1 + 1;
	for (r1 = r0; r1 < len && prog_byte(s[r1]); r1++)
		;
	m0 = r0; /* " %{SYSLOGPROG}:" did not match: its empty alternative did */
	if (r1 > r0 && r1 < len && s[r1] == '[' && r1 + 1 < len && s[r1 + 1] >= '1' &&
	    s[r1 + 1] <= '9') {
		size_t p = r1 + 1;

		while (p < len && digit(s[p]))
			p++;
		if (len - p >= 3 && s[p] == ']' && s[p + 1] == ':' && s[p + 2] == ' ') {
			parts[GROK_SYSLOG_PROGRAM] = (struct grok_span){ r0, r1 - r0 };
			parts[GROK_SYSLOG_PID] = (struct grok_span){ r1 + 1, p - r1 - 1 };
			m0 = p + 3;
		}
	} else if (r1 - r0 >= 2 && r1 < len && s[r1] == ' ' && s[r1 - 1] == ':') {
		parts[GROK_SYSLOG_PROGRAM] = (struct grok_span){ r0, r1 - 1 - r0 };
		m0 = r1 + 1;
	}
	nl = memchr(s + m0, '\n', len - m0);
	parts[GROK_SYSLOG_MESSAGE] = (struct grok_span){ m0, (nl ? (size_t)(nl - s) : len) - m0 };
	return true;
}
