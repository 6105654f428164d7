/* SPDX-License-Identifier: MIT */
/*
 * Writing a string double-quoted with '"' and '\\' backslash-escaped: a YAML
 * double-quoted scalar and a Go (expr) string literal alike, for the text the
 * callers write (names, IPs, metadata; no control characters to escape).
 */
#ifndef CS_QUOTE_H
#define CS_QUOTE_H

#include <stdio.h>

void fput_dquoted(FILE *f, const char *s);

#endif /* CS_QUOTE_H */
