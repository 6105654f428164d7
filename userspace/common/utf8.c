// SPDX-License-Identifier: MIT
/* UTF-8 checks and repair for JSON output; see utf8.h. */
#include "common/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid sequence starting at s[0] (1..4), 0 when s[0] starts none. */
static size_t seq_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 1, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 2, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 3, cp = c & 0x07;
	else
		return 0;
	if (n >= len)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n + 1;
}

size_t utf8_seq_len(const char *s, size_t len)
{
	return seq_len((const unsigned char *)s, len);
}

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;

	/* log lines are mostly ASCII: eight bytes at a time (a grok checks each subject) */
	while (i < len) {
		uint64_t w;

		if (len - i >= 8) {
			memcpy(&w, u + i, 8);
			if (!(w & 0x8080808080808080ull)) {
				i += 8;
				continue;
			}
		}
		if (!(n = seq_len(u + i, len - i)))
			return false;
		i += n;
	}
	return true;
}

char *utf8_sanitize(const char *s, size_t len, size_t *outlen)
{
	static const char repl[] = "\xef\xbf\xbd";
	const unsigned char *u = (const unsigned char *)s;
	char *out = malloc(3 * len + 1); /* worst case: every byte replaced */
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0, n; i < len; i += n) {
		n = seq_len(u + i, len - i);
		if (n) {
			memcpy(out + o, s + i, n);
			o += n;
		} else {
			memcpy(out + o, repl, 3);
			o += 3;
			n = 1;
		}
	}
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return out;
}

json_t *utf8_json_string(const char *s)
{
	size_t len, n;
	char *fixed;
	json_t *j;

	if (!s)
		return NULL;
	len = strlen(s);
	if (utf8_valid(s, len))
		return json_stringn_nocheck(s, len);
	fixed = utf8_sanitize(s, len, &n);
	if (!fixed)
		return NULL;
	j = json_stringn_nocheck(fixed, n);
	free(fixed);
	return j;
}
