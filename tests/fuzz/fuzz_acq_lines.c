// SPDX-License-Identifier: MIT
/*
 * The acquisition's line splitter, fed the way the file source feeds it: the
 * input's first byte sets max_line (1..256, so that cuts happen), the second
 * seeds the sizes of the reads (1..64 bytes), the rest is the file. Every line
 * delivered must be what a whole-buffer reading of the file gives (split at "\n",
 * cut to max_line, cut at a NUL, a final "\r" dropped unless cut, empty lines
 * skipped), in order, none lost, none invented, whatever the read sizes.
 */
#include "fuzz.h"

#include "acquisition/acq_int.h"

struct expect {
	const char *data;
	size_t size, pos, max_line;
};

/* The next line a whole-buffer reading delivers (1: out, len and cut set), 0 at the end. */
static int next_line(struct expect *e, const char **out, size_t *len, bool *cut)
{
	while (e->pos < e->size) {
		const char *p = e->data + e->pos, *nl = memchr(p, '\n', e->size - e->pos);
		size_t seg = nl ? (size_t)(nl - p) : e->size - e->pos;
		const char *nul;

		e->pos += seg + (nl ? 1 : 0);
		*cut = seg > e->max_line;
		if (*cut)
			seg = e->max_line;
		if ((nul = memchr(p, '\0', seg)))
			seg = (size_t)(nul - p);
		if (seg && p[seg - 1] == '\r' && !*cut)
			seg--;
		if (seg) {
			*out = p;
			*len = seg;
			return 1;
		}
	}
	return 0;
}

static int on_line(const struct acq_line *l, void *arg)
{
	struct expect *e = arg;
	const char *want;
	size_t len;
	bool cut;

	if (!next_line(e, &want, &len, &cut) || l->len != len || memcmp(l->raw, want, len) ||
	    l->raw[len] || l->truncated != cut || memchr(l->raw, '\0', l->len))
		abort(); /* a line lost, invented or different from the file's */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct acq_config none;
	struct acq *a = NULL;
	struct acq_src src = { .ops = &acq_file_ops };
	struct acq_linebuf lb = { 0 };
	struct expect e;
	unsigned int budget = ~0u;
	uint32_t rnd;
	char *file, *chunk;
	size_t used;
	const char *tail;
	bool cut;

	if (size < 2)
		return 0;
	fuzz_quiet();
	e = (struct expect){ .data = (const char *)data + 2, .size = size - 2,
			     .max_line = (size_t)data[0] + 1 };
	rnd = data[1] * 2654435761u + 1;
	if (acq_new(&none, on_line, &e, &a))
		abort();
	src.acq = a;
	src.max_line = e.max_line;
	file = malloc(e.size + 1);
	if (!file)
		abort();
	memcpy(file, e.data, e.size);
	for (size_t off = 0; off < e.size;) {
		size_t n = 1 + (rnd >> 16) % 64;

		rnd = rnd * 1103515245u + 12345u;
		if (n > e.size - off)
			n = e.size - off;
		chunk = file + off; /* the splitter may write into what it was given */
		if (acq_linebuf_feed(&src, &lb, "fuzz", chunk, n, &used, &budget) || used != n)
			abort();
		off += n;
	}
	if (acq_linebuf_flush(&src, &lb, "fuzz", &budget))
		abort();
	if (next_line(&e, &tail, &used, &cut))
		abort(); /* a line of the file never came out */
	acq_linebuf_fini(&lb);
	acq_free(a);
	free(file);
	return 0;
}
