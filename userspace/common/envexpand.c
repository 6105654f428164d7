// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/envexpand.h"

char *env_expand(const char *in, size_t len, bool strict, size_t *outlen)
{
	size_t cap = len + 64, o = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		const char *val = NULL;
		char name[256], one[2] = { 0, 0 };
		size_t nl = 0;

		if (in[i] == '$' && i + 1 < len &&
		    (in[i + 1] == '{' || isalpha((unsigned char)in[i + 1]) || in[i + 1] == '_')) {
			size_t j = i + 1;
			bool brace = in[j] == '{';

			if (brace)
				j++;
			while (j < len && (isalnum((unsigned char)in[j]) || in[j] == '_') &&
			       nl < sizeof(name) - 1)
				name[nl++] = in[j++];
			name[nl] = '\0';
			if (brace && (j >= len || in[j] != '}')) {
				val = NULL;
				nl = 0;
			} else {
				if (brace)
					j++;
				val = getenv(name);
				if (!val && strict)
					nl = 0; /* copied byte by byte below */
				else
					i = j;
				if (!val && !strict)
					val = "";
			}
		}
		if (!val) {
			one[0] = in[i++];
			val = one;
			if (!val[0]) { /* NUL byte in input: copy as is */
				if (o + 1 >= cap) {
					char *p = realloc(out, cap *= 2);

					if (!p) {
						free(out);
						return NULL;
					}
					out = p;
				}
				out[o++] = '\0';
				continue;
			}
		}
		size_t vl = strlen(val);

		if (o + vl + 1 >= cap) {
			cap = (o + vl + 1) * 2;
			char *p = realloc(out, cap);

			if (!p) {
				free(out);
				return NULL;
			}
			out = p;
		}
		memcpy(out + o, val, vl);
		o += vl;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}
