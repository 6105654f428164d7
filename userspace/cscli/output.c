// SPDX-License-Identifier: MIT
/* cscli output: the one place that formats tables, JSON, CSV and log lines. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/gotime.h"
#include "cscli/cscli.h"

void cli_log(const char *level, const char *fmt, ...)
{
	char msg[2048], stamp[32], esc[4096];
	time_t now = time(NULL);
	struct tm tm;
	size_t o = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%d-%m-%Y %H:%M:%S", &tm);
	for (const char *p = msg; *p && o + 3 < sizeof(esc); p++) {
		if (*p == '"' || *p == '\\')
			esc[o++] = '\\';
		if (*p == '\n') {
			esc[o++] = '\\';
			esc[o++] = 'n';
			continue;
		}
		esc[o++] = *p;
	}
	esc[o] = '\0';
	fprintf(stderr, "time=\"%s\" level=%s msg=\"%s\"\n", stamp, level, esc);
}

/* Display width: code points, variation selectors 0, emoji planes 2. */
static size_t dwidth(const char *s)
{
	size_t w = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		uint32_t cp;
		int n;

		if (*p < 0x80) {
			cp = *p;
			n = 1;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			n = 2;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			n = 3;
		} else {
			cp = *p & 0x07;
			n = 4;
		}
		for (int i = 1; i < n; i++) {
			if (!p[i]) {
				n = i;
				break;
			}
			cp = cp << 6 | (p[i] & 0x3f);
		}
		p += n;
		if (cp == 0xfe0f || cp == 0x200d)
			continue;
		w += cp >= 0x1f000 ? 2 : 1;
	}
	return w;
}

void table_init(struct table *t, size_t ncols, const char *const *header)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	table_add(t, header);
}

void table_add(struct table *t, const char *const *row)
{
	char **p = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(char *));

	if (!p)
		return;
	t->cells = p;
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(row[i] ? row[i] : "");
	t->nrows++;
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

static void pad(size_t n)
{
	while (n--)
		putchar(' ');
}

void table_print(struct table *t, bool box)
{
	size_t *w = calloc(t->ncols, sizeof(*w)), total = 0;

	if (!w)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t cw = dwidth(t->cells[r * t->ncols + c]);

			if (cw > w[c])
				w[c] = cw;
		}
	if (box) {
		for (int pass = 0; pass < 3; pass++) {
			if (pass == 1) {
				for (size_t r = 0; r < t->nrows; r++) {
					for (size_t c = 0; c < t->ncols; c++) {
						const char *s = t->cells[r * t->ncols + c];
						size_t sw = dwidth(s), l = r ? 0 : (w[c] - sw) / 2;

						printf("| ");
						pad(l);
						fputs(s, stdout);
						pad(w[c] - sw - l + 1);
					}
					printf("|\n");
					if (r == 0) {
						for (size_t c = 0; c < t->ncols; c++) {
							putchar('+');
							for (size_t i = 0; i < w[c] + 2; i++)
								putchar('-');
						}
						printf("+\n");
					}
				}
				continue;
			}
			for (size_t c = 0; c < t->ncols; c++) {
				putchar('+');
				for (size_t i = 0; i < w[c] + 2; i++)
					putchar('-');
			}
			printf("+\n");
		}
		free(w);
		return;
	}
	for (size_t c = 0; c < t->ncols; c++)
		total += w[c] + (c ? 3 : 0);
	total += 2;
	for (size_t r = 0; r < t->nrows; r++) {
		if (r <= 1) {
			for (size_t i = 0; i < total; i++)
				putchar('-');
			putchar('\n');
		}
		putchar(' ');
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			fputs(s, stdout);
			pad(w[c] - dwidth(s) + (c + 1 < t->ncols ? 3 : 1));
		}
		putchar('\n');
	}
	for (size_t i = 0; i < total; i++)
		putchar('-');
	putchar('\n');
	free(w);
}

void print_json(json_t *j, int indent, bool nl)
{
	char *s = json_dumps(j, JSON_INDENT(indent) | JSON_ENCODE_ANY);

	if (s) {
		fputs(s, stdout);
		if (nl)
			putchar('\n');
	}
	free(s);
}

void csv_field(const char *s, bool last)
{
	s = s ? s : "";
	if (strpbrk(s, ",\"\n")) {
		putchar('"');
		for (; *s; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else {
		fputs(s, stdout);
	}
	putchar(last ? '\n' : ',');
}

void fmt_time(int64_t t, bool nano, char *buf, size_t len)
{
	if (!t) {
		snprintf(buf, len, "0001-01-01T00:00:00Z"); /* Go's zero time */
		return;
	}
	if (nano)
		gotime_format_rfc3339nano(t, buf, len);
	else
		gotime_format_rfc3339(t, buf, len);
}
