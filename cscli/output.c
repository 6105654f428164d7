// SPDX-License-Identifier: MIT
/* cscli output: the one place that formats tables, JSON, CSV and log lines. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/gotime.h"
#include "common/utf8.h"
#include "common/vec.h"
#include "cscli/cscli.h"

char *term_escape(const char *s)
{
	size_t len = s ? strlen(s) : 0, o = 0;
	char *out = malloc(6 * len + 1); /* "\u009b" is the longest escape of one byte */

	if (!out)
		return NULL;
	for (size_t i = 0, n; i < len; i += n) {
		unsigned char c = (unsigned char)s[i];

		n = utf8_seq_len(s + i, len - i);
		if (c == '\n' || c == '\t' || c == '\r') {
			out[o++] = '\\';
			out[o++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
		} else if (c < 0x20 || c == 0x7f || !n) { /* C0, DEL, a byte that is no UTF-8 */
			o += (size_t)sprintf(out + o, "\\x%02x", c);
			n = 1;
		} else if (n == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0) { /* C1: CSI... */
			o += (size_t)sprintf(out + o, "\\u%04x", (unsigned char)s[i + 1]);
		} else {
			memcpy(out + o, s + i, n);
			o += n;
		}
	}
	out[o] = '\0';
	return out;
}

void term_puts(const char *s, FILE *f)
{
	char *e = term_escape(s);

	if (e)
		fputs(e, f);
	free(e);
}

void cli_log(const char *level, const char *fmt, ...)
{
	char msg[2048], stamp[32], esc[4096], *safe;
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
		esc[o++] = *p;
	}
	esc[o] = '\0';
	/* names in messages come from outside (machine ids registered without auth) */
	safe = term_escape(esc);
	if (safe)
		snprintf(esc, sizeof(esc), "%s", safe);
	free(safe);
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
	if (vec_reserve((void **)&t->cells, &t->rows_cap, t->nrows, t->ncols * sizeof(char *), 64))
		return;
	/* cells hold what outside parties chose: no control character reaches the terminal */
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = term_escape(row[i] ? row[i] : "");
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

#define TABLE_WRAP 50 /* box tables wrap longer cells on spaces, like cscli 1.4.6 */

/* Line `n` (0-based) of a cell wrapped at TABLE_WRAP columns, into buf; false past the end. */
static bool cell_line(const char *s, size_t n, char *buf, size_t len)
{
	size_t line = 0;

	for (;;) {
		const char *end = s, *brk = NULL;
		size_t w = 0;

		/* take words while they fit; a single long word is cut */
		while (*end) {
			const char *word = end;

			while (*end == ' ')
				end++;
			while (*end && *end != ' ')
				end++;
			char tmp[1024];
			size_t l = (size_t)(end - s) < sizeof(tmp) - 1 ? (size_t)(end - s) : sizeof(tmp) - 1;

			memcpy(tmp, s, l);
			tmp[l] = '\0';
			w = dwidth(tmp);
			if (w > TABLE_WRAP) {
				end = brk ? brk : (word == s ? s + TABLE_WRAP : word);
				break;
			}
			brk = end;
		}
		if (line == n) {
			snprintf(buf, len, "%.*s", (int)(end - s), s);
			return true;
		}
		if (!*end)
			return false;
		s = end;
		while (*s == ' ')
			s++;
		if (!*s)
			return false;
		line++;
	}
}

static size_t cell_lines(const char *s, size_t *maxw)
{
	char buf[1024];
	size_t n = 0;

	while (cell_line(s, n, buf, sizeof(buf))) {
		if (dwidth(buf) > *maxw)
			*maxw = dwidth(buf);
		n++;
	}
	return n ? n : 1;
}

static void rule(const size_t *w, size_t ncols)
{
	for (size_t c = 0; c < ncols; c++) {
		putchar('+');
		for (size_t i = 0; i < w[c] + 2; i++)
			putchar('-');
	}
	printf("+\n");
}

void table_print(struct table *t, bool box)
{
	size_t *w = calloc(t->ncols, sizeof(*w)), total = 0;

	if (!w)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			if (box)
				cell_lines(s, &w[c]);
			else if (dwidth(s) > w[c])
				w[c] = dwidth(s);
		}
	if (box) {
		rule(w, t->ncols);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t nl = 1;

			for (size_t c = 0; c < t->ncols; c++) {
				size_t dummy = 0, k = cell_lines(t->cells[r * t->ncols + c], &dummy);

				nl = k > nl ? k : nl;
			}
			for (size_t l = 0; l < nl; l++) {
				for (size_t c = 0; c < t->ncols; c++) {
					char buf[1024] = "";
					size_t sw, left;

					cell_line(t->cells[r * t->ncols + c], l, buf, sizeof(buf));
					sw = dwidth(buf);
					left = r ? 0 : (w[c] - sw) / 2; /* headers centred */
					printf("| ");
					pad(left);
					fputs(buf, stdout);
					pad(w[c] - sw - left + 1);
				}
				printf("|\n");
			}
			if (r == 0)
				rule(w, t->ncols);
		}
		rule(w, t->ncols);
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

void cli_print_list(const struct cli *c, const struct cli_listing *l, const void *items,
		    size_t item_size, size_t n)
{
	const char *cells[16];
	char scratch[CLI_ROW_SCRATCH][96];
	struct table t;
	json_t *arr;

	if (c->out == OUT_JSON && !item_size) {
		print_json((json_t *)items, 2, true);
		return;
	}
	if (c->out == OUT_JSON) {
		arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, l->json((const char *)items + i * item_size));
		print_json(arr, 2, true);
		json_decref(arr);
		return;
	}
	if (c->out == OUT_RAW)
		printf("%s\n", l->csv_header);
	else
		table_init(&t, l->ncols, l->header);
	for (size_t i = 0; i < n; i++) {
		const void *item = item_size ? (const void *)((const char *)items + i * item_size)
					     : (const void *)json_array_get((json_t *)items, i);

		l->row(item, c->out == OUT_RAW, scratch, cells);
		if (c->out != OUT_RAW)
			table_add(&t, cells);
		else
			for (size_t k = 0; k < l->ncols; k++)
				csv_field(cells[k], k + 1 == l->ncols);
	}
	if (c->out != OUT_RAW) {
		table_print(&t, false);
		table_free(&t);
	}
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

void source_as(json_t *src, char *buf, size_t len)
{
	const char *num = jstr(src, "as_number"), *name = jstr(src, "as_name");

	snprintf(buf, len, "%s%s%s", num, *num && *name ? " " : "", name);
}

void csv_field(const char *s, bool last)
{
	char *e = term_escape(s ? s : "");

	s = e ? e : "";
	if (strpbrk(s, ",\"")) {
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
	free(e);
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

static bool yaml_plain(const char *s)
{
	if (!*s || strchr("!&*-?:,[]{}#|>@`\"'%= ", *s) || strpbrk(s, ":#\n\"'\\\t") ||
	    s[strlen(s) - 1] == ' ')
		return false;
	/* words YAML would read as something else than a string */
	static const char *const special[] = { "true", "false", "yes", "no", "on", "off",
					       "null", "~", "y", "n" };
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (!strcasecmp(s, special[i]))
			return false;
	char *end;
	strtod(s, &end);
	return *end != '\0';
}

static void yaml_scalar(json_t *v)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (yaml_plain(s)) {
			fputs(s, stdout);
		} else {
			putchar('"');
			for (; *s; s++) {
				if (*s == '"' || *s == '\\')
					printf("\\%c", *s);
				else if (*s == '\n')
					fputs("\\n", stdout);
				else if (*s == '\t')
					fputs("\\t", stdout);
				else
					putchar(*s);
			}
			putchar('"');
		}
	} else if (json_is_true(v) || json_is_false(v)) {
		fputs(json_is_true(v) ? "true" : "false", stdout);
	} else if (json_is_null(v)) {
		fputs("null", stdout);
	} else {
		char *s = json_dumps(v, JSON_ENCODE_ANY);

		fputs(s ? s : "", stdout);
		free(s);
	}
}

static void yaml_node(json_t *j, int indent, bool in_seq);

static bool yaml_empty_container(json_t *v)
{
	return (json_is_object(v) && !json_object_size(v)) || (json_is_array(v) && !json_array_size(v));
}

static void yaml_node(json_t *j, int indent, bool in_seq)
{
	const char *k;
	json_t *v;
	size_t i;
	bool first = true;

	if (json_is_object(j)) {
		json_object_foreach(j, k, v) {
			if (!(first && in_seq))
				printf("%*s", indent, "");
			first = false;
			if (yaml_plain(k))
				printf("%s:", k);
			else
				printf("\"%s\":", k);
			if (yaml_empty_container(v)) {
				printf(" %s\n", json_is_object(v) ? "{}" : "[]");
			} else if (json_is_object(v)) {
				putchar('\n');
				yaml_node(v, indent + 2, false);
			} else if (json_is_array(v)) {
				putchar('\n');
				yaml_node(v, indent + 2, false);
			} else {
				putchar(' ');
				yaml_scalar(v);
				putchar('\n');
			}
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v) {
			printf("%*s- ", indent, "");
			if (yaml_empty_container(v)) {
				printf("%s\n", json_is_object(v) ? "{}" : "[]");
			} else if (json_is_object(v) || json_is_array(v)) {
				yaml_node(v, indent + 2, true);
			} else {
				yaml_scalar(v);
				putchar('\n');
			}
		}
	} else {
		printf("%*s", indent, "");
		yaml_scalar(j);
		putchar('\n');
	}
}

void print_yaml(json_t *j)
{
	yaml_node(j, 0, false);
}

const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}
