/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 validation and the lossy conversion every string takes on its way into
 * JSON. Log lines and query strings carry whatever bytes an attacker chose, and
 * jansson refuses invalid UTF-8 (json_string returns NULL, json_pack fails),
 * which used to drop a whole alert or turn a 400 into a 500. Like Go's
 * encoding/json (what CrowdSec uses), each invalid byte becomes U+FFFD.
 */
#ifndef CS_UTF8_H
#define CS_UTF8_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
bool utf8_valid(const char *s, size_t len);
/* Length (1..4) of the valid sequence at the start of s[0..len), 0 if none (len > 0). */
size_t utf8_seq_len(const char *s, size_t len);
/* A NUL-terminated copy of s[0..len) with each invalid byte replaced by U+FFFD
 * (*outlen, if given, receives its length); NULL on allocation failure. */
char *utf8_sanitize(const char *s, size_t len, size_t *outlen);
/* json_string() that never refuses its input for its encoding: NULL only on
 * allocation failure (or s NULL). */
json_t *utf8_json_string(const char *s);

#endif /* CS_UTF8_H */
