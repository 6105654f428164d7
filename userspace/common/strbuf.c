// SPDX-License-Identifier: MIT
#include "common/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(struct sbuf *sb, size_t extra)
{
	size_t max = sb->max ? sb->max : CS_SBUF_MAX, need, cap;
	char *p;

	if (sb->err)
		return sb->err;
	if (extra > max || sb->len > max - extra)
		return sb->err = -E2BIG;
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(sb->buf, cap);
	if (!p)
		return sb->err = -ENOMEM;
	sb->buf = p;
	sb->cap = cap;
	return 0;
}

void sb_putn(struct sbuf *sb, const void *s, size_t n)
{
	if (grow(sb, n))
		return;
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

char *sb_room(struct sbuf *sb, size_t n)
{
	return grow(sb, n) ? NULL : sb->buf + sb->len;
}

void sb_puts(struct sbuf *sb, const char *s)
{
	sb_putn(sb, s, strlen(s));
}

void sb_putc(struct sbuf *sb, char c)
{
	sb_putn(sb, &c, 1);
}

void sb_put_u64(struct sbuf *sb, unsigned long long v)
{
	char num[24], *p = num + sizeof(num);

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	sb_putn(sb, p, (size_t)(num + sizeof(num) - p));
}

void sb_vprintf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	if (sb->err) /* a failed buffer stays failed: skip the (possibly wide) formatting */
		return;
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		if (!sb->err)
			sb->err = -EINVAL;
		return;
	}
	if (grow(sb, (size_t)n))
		return;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

void sb_free(struct sbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	sb->err = 0;
}

char *sb_take(struct sbuf *sb, size_t *len)
{
	char *s;

	if (!sb->err && !sb->buf)
		sb_putn(sb, "", 0);
	if (sb->err) {
		sb_free(sb);
		return NULL;
	}
	s = sb->buf;
	if (len)
		*len = sb->len;
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	return s;
}
