// SPDX-License-Identifier: MIT
/* JSON pull scanner; see jscan.h. */
#include "common/jscan.h"
#include "common/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

void jscan_init(struct jscan *s, char *text, size_t len, int max_depth)
{
	s->text = text;
	s->p = text;
	s->end = text + len;
	s->max_depth = max_depth;
	s->err[0] = '\0';
}

void jscan_fail(struct jscan *s, const char *what)
{
	if (!s->err[0])
		snprintf(s->err, sizeof(s->err), "%s at byte %zu", what, (size_t)(s->p - s->text));
	s->p = s->end;
}

int jscan_peek(struct jscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
	return s->p < s->end && !s->err[0] ? (unsigned char)*s->p : 0;
}

bool jscan_eat(struct jscan *s, char c)
{
	if (jscan_peek(s) != (unsigned char)c)
		return false;
	s->p++;
	return true;
}

bool jscan_expect(struct jscan *s, char c)
{
	char what[32];

	if (jscan_eat(s, c))
		return true;
	snprintf(what, sizeof(what), "expected '%c'", c);
	jscan_fail(s, s->p >= s->end ? "unexpected end of input" : what);
	return false;
}

static int hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static char *put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | (cp >> 6));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | (cp >> 12));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | (cp >> 18));
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/*
 * The end of the run of bytes from p that need no decoding: stops at '"', '\\'
 * or a control character (or end). Most strings (keys, addresses, dates) are
 * one such run: eight bytes per step, and no byte copied onto itself.
 */
static const char *plain_run(const char *p, const char *end)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

	while (end - p >= 8) {
		uint64_t w, quote, bslash;

		memcpy(&w, p, 8);
		quote = w ^ (ones * '"');
		bslash = w ^ (ones * '\\');
		/* a zero byte in quote or bslash, or a byte under 0x20 in w (exact tests of presence) */
		if (((quote - ones) & ~quote & highs) | ((bslash - ones) & ~bslash & highs) |
		    ((w - ones * 0x20) & ~w & highs))
			break;
		p += 8;
	}
	while (p < end && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\')
		p++;
	return p;
}

/* inlined into jscan_string (the LAPI's alert ingest), called by the others */
static inline int unescape(const char **pp, const char *end, char **out)
{
	const char *p = *pp;
	char *o = *out;
	int err = 0;

	if (o == p) /* in place: the plain run is already where it belongs */
		o = (char *)(p = plain_run(p, end));
	while (p < end && *p != '"') {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20) {
			err = JSCAN_CTRL;
			goto out;
		}
		if (c != '\\') {
			*o++ = *p++;
			continue;
		}
		if (p + 1 >= end)
			break;
		switch (p[1]) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			int hi = end - p >= 6 ? hex4(p + 2) : -1, lo;
			uint32_t cp = (uint32_t)hi;

			if (hi <= 0 || (hi >= 0xdc00 && hi <= 0xdfff)) /* \u0000: as jansson */
				goto bad_escape;
			if (hi >= 0xd800 && hi <= 0xdbff) { /* a surrogate pair: 12 bytes of text */
				if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
				    (lo = hex4(p + 8)) < 0xdc00 || lo > 0xdfff)
					goto bad_escape;
				cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
				p += 6;
			}
			o = put_utf8(o, cp); /* never longer than the escape it replaces */
			p += 6;
			continue;
		}
		default:
			goto bad_escape;
		}
		p += 2;
	}
	if (p >= end || *p != '"')
		err = JSCAN_UNTERMINATED;
	goto out;
bad_escape:
	err = JSCAN_ESCAPE;
out:
	*pp = p;
	*out = o;
	return err;
}

int jscan_unescape(const char **pp, const char *end, char **out)
{
	return unescape(pp, end, out);
}

char *jscan_string(struct jscan *s, size_t *len)
{
	static const char *const why[] = { [JSCAN_CTRL] = "control character in string",
					   [JSCAN_ESCAPE] = "invalid escape in string",
					   [JSCAN_UNTERMINATED] = "unterminated string" };
	const char *p;
	char *start, *o;
	int err;

	if (!jscan_expect(s, '"'))
		return NULL;
	start = o = s->p;
	p = start;
	err = unescape(&p, s->end, &o);
	s->p = (char *)p;
	if (err) {
		jscan_fail(s, why[err]);
		return NULL;
	}
	*o = '\0';
	/* escapes decode to valid UTF-8; the raw bytes are checked once, decoded */
	if (!utf8_valid(start, (size_t)(o - start))) {
		s->p = start;
		jscan_fail(s, "invalid UTF-8 in string");
		return NULL;
	}
	s->p++;
	if (len)
		*len = (size_t)(o - start);
	return start;
}

static bool is_digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

static const char *digits_end(const char *p, const char *end)
{
	while (is_digit(p, end))
		p++;
	return p;
}

const char *jscan_number_end(const char *p, const char *end, bool *is_int)
{
	if (p < end && *p == '-')
		p++;
	if (!is_digit(p, end))
		return NULL;
	p = *p == '0' ? p + 1 : digits_end(p, end);
	*is_int = true;
	if (p < end && *p == '.') {
		if (!is_digit(++p, end))
			return NULL;
		p = digits_end(p, end);
		*is_int = false;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (!is_digit(p, end))
			return NULL;
		p = digits_end(p, end);
		*is_int = false;
	}
	return p;
}

const char *jscan_scalar_end(const char *p, const char *end)
{
	static const char *const lits[] = { "true", "false", "null" };
	bool is_int;

	for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		size_t n = strlen(lits[i]);

		if ((size_t)(end - p) >= n && !memcmp(p, lits[i], n))
			return p + n;
	}
	return jscan_number_end(p, end, &is_int);
}

/* Step over a string without decoding it (the text stays as it was). */
static bool skip_string(struct jscan *s)
{
	char *p = s->p + 1;

	while (p < s->end && *p != '"') {
		if ((unsigned char)*p < 0x20) {
			s->p = p;
			jscan_fail(s, "control character in string");
			return false;
		}
		p += *p == '\\' ? 2 : 1;
	}
	if (p >= s->end) {
		jscan_fail(s, "unterminated string");
		return false;
	}
	s->p = p + 1;
	return true;
}

static bool skip_literal(struct jscan *s)
{
	static const char *const lits[] = { "true", "false", "null" };
	char *p = s->p;

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(lits[i]);

		if ((size_t)(s->end - p) >= n && !memcmp(p, lits[i], n)) {
			s->p += n;
			return true;
		}
	}
	if (*p == '-' || (*p >= '0' && *p <= '9')) {
		p++;
		while (p < s->end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' ||
				      *p == 'E' || *p == '+' || *p == '-'))
			p++;
		s->p = p;
		return true;
	}
	jscan_fail(s, "invalid value");
	return false;
}

/*
 * Containers are skipped with an explicit stack (no recursion), bounded by the
 * caller's max_depth (at most JSCAN_STACK), the limit the DOM parser enforces.
 */
#define JSCAN_STACK 64

bool jscan_skip(struct jscan *s, char **begin, char **endp)
{
	char stack[JSCAN_STACK];
	int depth = 0;

	if (!jscan_peek(s)) {
		jscan_fail(s, "unexpected end of input");
		return false;
	}
	*begin = s->p;
	for (;;) {
		int c = jscan_peek(s);

		/* a value */
		if (c == '{' || c == '[') {
			if (depth >= s->max_depth || depth >= JSCAN_STACK) {
				jscan_fail(s, "nesting too deep");
				return false;
			}
			stack[depth++] = (char)c;
			s->p++;
			if (jscan_eat(s, c == '{' ? '}' : ']')) {
				depth--;
			} else {
				if (c == '{' && (jscan_peek(s) != '"' || !skip_string(s) ||
						 !jscan_expect(s, ':')))
					return jscan_fail(s, "expected a key"), false;
				continue; /* the first member */
			}
		} else if (c == '"' ? !skip_string(s) : !skip_literal(s)) {
			return false;
		}
		/* after a value: close finished containers, or step to the next member */
		for (;;) {
			int d;

			if (!depth) {
				*endp = s->p;
				return true;
			}
			d = jscan_peek(s);
			if (d == (stack[depth - 1] == '{' ? '}' : ']')) {
				s->p++;
				depth--;
				continue;
			}
			if (d != ',') {
				jscan_fail(s, d ? "expected ',' or a closing bracket"
						: "unexpected end of input");
				return false;
			}
			s->p++;
			if (stack[depth - 1] == '{' &&
			    (jscan_peek(s) != '"' || !skip_string(s) || !jscan_expect(s, ':')))
				return jscan_fail(s, "expected a key"), false;
			break;
		}
	}
}

const char *jscan_kind(struct jscan *s)
{
	switch (jscan_peek(s)) {
	case '"': return "string";
	case '{': return "object";
	case '[': return "array";
	case 't':
	case 'f': return "bool";
	case 'n': return "null";
	default: return "number";
	}
}

char *jscan_next_key(struct jscan *s, bool first)
{
	char *k;

	if (jscan_eat(s, '}'))
		return NULL;
	if (!first && !jscan_expect(s, ','))
		return NULL;
	k = jscan_string(s, NULL);
	if (!k || !jscan_expect(s, ':'))
		return NULL;
	return k;
}

bool jscan_next_elem(struct jscan *s, bool first)
{
	if (jscan_eat(s, ']'))
		return false;
	if (!first && !jscan_expect(s, ','))
		return false;
	if (!jscan_peek(s)) {
		jscan_fail(s, "unexpected end of input");
		return false;
	}
	return true;
}
