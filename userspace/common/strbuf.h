/* SPDX-License-Identifier: MIT */
/*
 * A growable byte buffer, always NUL-terminated, with a size bound. Errors are
 * sticky: after the first failure every call does nothing, and the owner looks
 * at `err` once at the end (or lets sb_take() say it).
 *
 *   struct sbuf sb = { .max = 1 << 20 };     ({ 0 }: bounded by CS_SBUF_MAX)
 *   sb_puts(&sb, "a="); sb_printf(&sb, "%d", 1);
 *   char *s = sb_take(&sb, &len);             NULL (and sb.err) on failure
 */
#ifndef CS_STRBUF_H
#define CS_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#define CS_SBUF_MAX ((size_t)1 << 31)

struct sbuf {
	char *buf;  /* NULL until something is written */
	size_t len, cap;
	size_t max; /* the content may not grow past this; 0 = CS_SBUF_MAX */
	int err;    /* 0, -ENOMEM, or -E2BIG when max would be passed */
};

void sb_putn(struct sbuf *sb, const void *s, size_t n);
void sb_puts(struct sbuf *sb, const char *s);
void sb_putc(struct sbuf *sb, char c);
/* v in decimal (ids in JSON answers: no printf per number). */
void sb_put_u64(struct sbuf *sb, unsigned long long v);
void sb_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct sbuf *sb, const char *fmt, va_list ap);
/*
 * Room for n more bytes at buf + len, for a writer that knows its worst case
 * (the alert lines: one check per item instead of one per piece): write up to
 * n bytes there, then count them with sb_wrote(). NULL after an error.
 */
char *sb_room(struct sbuf *sb, size_t n);
static inline void sb_wrote(struct sbuf *sb, size_t n)
{
	sb->len += n;
	sb->buf[sb->len] = '\0';
}
/* Frees the content and clears the error; the bound stays. */
void sb_free(struct sbuf *sb);
/*
 * Hands the content over (the caller frees it; "" when nothing was written) and
 * empties the buffer; *len (optional) gets its length. NULL after an error.
 */
char *sb_take(struct sbuf *sb, size_t *len);

#endif /* CS_STRBUF_H */
