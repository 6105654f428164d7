// SPDX-License-Identifier: MIT
/* Double-quoted output (see quote.h). */
#include "common/quote.h"

void fput_dquoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}
