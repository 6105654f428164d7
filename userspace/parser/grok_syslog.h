/* SPDX-License-Identifier: MIT */
/*
 * `^%{SYSLOGLINE}` (the hub's syslog-logs parser, tried on every syslog line)
 * read without PCRE2 for the shapes nearly every line has:
 *   "Mmm dd hh:mm:ss host prog[pid]: message", "... host prog: message",
 *   "... host message", host a DNS name starting with a letter or an IPv4
 *   address. For those, the reader gives exactly the spans the regex
 *   (leftmost-first backtracking) gives; for anything else (ISO 8601 dates,
 *   a facility, IPv6 or odd hosts, fractional seconds...) it says "not mine"
 *   and the caller runs the regex. tests/unit/test_grok.c compares both on
 *   many lines.
 */
#ifndef CS_GROK_SYSLOG_H
#define CS_GROK_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>

/* The names SYSLOGLINE captures; a part that did not take part is "". */
enum grok_syslog_part {
	GROK_SYSLOG_TIMESTAMP,
	GROK_SYSLOG_TIMESTAMP8601,
	GROK_SYSLOG_FACILITY,
	GROK_SYSLOG_PRIORITY,
	GROK_SYSLOG_LOGSOURCE,
	GROK_SYSLOG_PROGRAM,
	GROK_SYSLOG_PID,
	GROK_SYSLOG_MESSAGE,
	GROK_SYSLOG_NPARTS,
};

struct grok_span {
	size_t off, len;
};

/* The capture name of a part, NULL past the end. */
const char *grok_syslog_part_name(enum grok_syslog_part part);

/* The pattern, in the hub's words, whose regex this reader stands for. */
extern const char grok_syslog_pattern[];
extern const char *const grok_syslog_defs[][2]; /* NAME, REGEX; NULL-terminated */

/*
 * true: s is one of the shapes above, and parts[] holds every span (len 0
 * for a part that did not take part); false: run the regex.
 */
bool grok_syslog_read(const char *s, size_t len, struct grok_span parts[GROK_SYSLOG_NPARTS]);

#endif /* CS_GROK_SYSLOG_H */
