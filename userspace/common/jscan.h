/* SPDX-License-Identifier: MIT */
/*
 * A pull scanner over JSON text, for inputs too large for a DOM: a million
 * decisions in one POST /v1/alerts body or one `cscli decisions import` file
 * (jansson needs ~1.2 KiB and ~10 us per decision object; this needs neither).
 *
 * The caller walks the structure itself: jscan_peek() says what comes next,
 * jscan_string() decodes a string IN PLACE (escapes resolved, UTF-8 checked,
 * NUL-terminated inside the text buffer, which must therefore be writable and
 * outlive the returned pointers), jscan_skip() steps over any value and gives
 * its raw text. The first error sticks: every later call fails and s->err
 * keeps a message naming the byte offset.
 */
#ifndef CS_JSCAN_H
#define CS_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

struct jscan {
	char *text;
	char *p;
	char *end;
	int max_depth;
	char err[96];
};

void jscan_init(struct jscan *s, char *text, size_t len, int max_depth);
static inline bool jscan_failed(const struct jscan *s)
{
	return s->err[0] != '\0';
}
/* The next non-blank byte without consuming it; 0 at the end or after an error. */
int jscan_peek(struct jscan *s);
/* Consume c if it is the next non-blank byte. */
bool jscan_eat(struct jscan *s, char c);
/* Expect c next (else error). */
bool jscan_expect(struct jscan *s, char c);
/* Decode the string at the cursor in place; NULL on error. */
char *jscan_string(struct jscan *s, size_t *len);
/* Step over one value; its raw text is [*begin, *endp). false on error. */
bool jscan_skip(struct jscan *s, char **begin, char **endp);
/* Go's name for the kind of value at the cursor ("string", "number", "object"...). */
const char *jscan_kind(struct jscan *s);
/*
 * Object iteration: call with first = true after '{' was eaten; returns the
 * next key (decoded in place, the ':' consumed) or NULL at '}' (consumed) or
 * on error (jscan_failed tells which).
 */
char *jscan_next_key(struct jscan *s, bool first);
/* Array iteration after '[' was eaten: true if an element follows (',' consumed). */
bool jscan_next_elem(struct jscan *s, bool first);
/* Fail with a message (kept if an error is already set). */
void jscan_fail(struct jscan *s, const char *what);

/*
 * The end of the number at p as RFC 8259 writes it (jansson's grammar, and Go's),
 * or NULL when none starts there; *is_int when it has neither fraction nor exponent.
 */
const char *jscan_number_end(const char *p, const char *end, bool *is_int);
/* The end of the number, true, false or null at p (checked as above), or NULL. */
const char *jscan_scalar_end(const char *p, const char *end);

/*
 * The one JSON string decoder (jscan_string's, and the bouncer's stream decoder's):
 * the body of a string from *p (just past its opening quote) to its closing quote,
 * escapes resolved, written at *out, which may be *p itself (a decoded string is
 * never longer than its text); no NUL is added and the raw bytes' UTF-8 is not
 * checked. 0 with *p on the closing quote and *out past the last byte written;
 * else *p on the offending byte and JSCAN_CTRL (a control character), JSCAN_ESCAPE
 * (a bad escape; \u0000 too, as jansson: it would cut a C string) or
 * JSCAN_UNTERMINATED.
 */
enum { JSCAN_CTRL = 1, JSCAN_ESCAPE, JSCAN_UNTERMINATED };
int jscan_unescape(const char **p, const char *end, char **out);

#endif /* CS_JSCAN_H */
