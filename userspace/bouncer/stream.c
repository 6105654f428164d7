// SPDX-License-Identifier: MIT
#include "bouncer/stream.h"
#include "common/jscan.h"
#include "common/vec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum state {
	S_START,	/* before '{' */
	S_FIRST_KEY,	/* after '{': a key or '}' */
	S_KEY_START,	/* after ',': a key */
	S_KEY,		/* inside a key's quotes */
	S_COLON,
	S_VALUE,	/* null or '[' */
	S_NULL,		/* inside "null" */
	S_FIRST_ITEM,	/* after '[': an object or ']' */
	S_ITEM,		/* after ',': an object */
	S_OBJECT,	/* inside a decision object */
	S_AFTER_ITEM,	/* ',' or ']' */
	S_AFTER_PAIR,	/* ',' or '}' */
	S_DONE,		/* whitespace only */
};

struct stream_parser {
	stream_item_fn fn;
	void *arg;
	enum state st;
	int err;
	uint64_t off; /* bytes consumed so far, for messages */
	bool seen[2];
	int which;
	size_t idx;
	char key[16];
	size_t keylen, litlen;
	/* the object being delimited */
	char *obj;
	size_t objlen, objcap;
	int depth;
	bool in_str, esc;
	char *scratch; /* decoded strings of one object */
	size_t scratchcap;
	char why[200];
	bool id_optional; /* a central API's blocklist entries carry no id */
};

static int fail(struct stream_parser *sp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct stream_parser *sp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sp->why, sizeof(sp->why), fmt, ap);
	va_end(ap);
	sp->err = -EBADMSG;
	return sp->err;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *list_name(int which)
{
	return which == STREAM_NEW ? "new" : "deleted";
}

/* What the frame refuses, and how it says so. */
enum frame_error { E_SYNTAX, E_NOT_OBJECT, E_UNEXPECTED, E_NEITHER, E_NOT_DECISION, E_TRAILING };

static int frame_fail(struct stream_parser *sp, enum frame_error e)
{
	unsigned long long off = sp->off;

	switch (e) {
	case E_NOT_OBJECT:
		return fail(sp, "not a JSON object");
	case E_UNEXPECTED:
		return fail(sp, "unexpected content at byte %llu (only \"new\" and \"deleted\" are "
				"expected)", off);
	case E_NEITHER:
		return fail(sp, "'%s' is neither null nor a list", list_name(sp->which));
	case E_NOT_DECISION:
		return fail(sp, "%s[%zu]: not a decision (value, scope, type, duration, id)",
			    list_name(sp->which), sp->idx);
	case E_TRAILING:
		return fail(sp, "trailing content at byte %llu", off);
	default:
		return fail(sp, "malformed JSON at byte %llu", off);
	}
}

/*
 * The frame's punctuation: in a state, the byte on[k] leads to to[k]; any other
 * byte but white space is the error bad. Keys, "null" and decisions are read byte
 * by byte elsewhere (S_KEY, S_NULL and S_OBJECT have no row).
 */
static const struct {
	char on[3];
	enum state to[2];
	enum frame_error bad;
} frame[] = {
	[S_START] = { "{", { S_FIRST_KEY }, E_NOT_OBJECT },
	[S_FIRST_KEY] = { "}\"", { S_DONE, S_KEY }, E_UNEXPECTED },
	[S_KEY_START] = { "\"", { S_KEY }, E_UNEXPECTED },
	[S_COLON] = { ":", { S_VALUE }, E_SYNTAX },
	[S_VALUE] = { "[n", { S_FIRST_ITEM, S_NULL }, E_NEITHER },
	[S_FIRST_ITEM] = { "]{", { S_AFTER_PAIR, S_OBJECT }, E_NOT_DECISION },
	[S_ITEM] = { "{", { S_OBJECT }, E_NOT_DECISION },
	[S_AFTER_ITEM] = { ",]", { S_ITEM, S_AFTER_PAIR }, E_SYNTAX },
	[S_AFTER_PAIR] = { ",}", { S_KEY_START, S_DONE }, E_SYNTAX },
	[S_DONE] = { .bad = E_TRAILING },
};

/* ---- one decision object ------------------------------------------------------------ */

struct cursor {
	const char *p, *end;
	char *out, *out_end; /* where decoded strings go */
};

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && is_ws(*c->p))
		c->p++;
}

/*
 * A string at c->p (on its opening quote), decoded to c->out (common/jscan's
 * decoder: a decoded string is never longer than its text). With keep, *s points
 * at it, NUL-terminated, and c->out moves past it; without, the room is reused.
 */
static int string(struct cursor *c, bool keep, const char **s, size_t *len)
{
	const char *p = c->p + 1;
	char *o = c->out;

	if (jscan_unescape(&p, c->end, &o))
		return -1;
	if (keep) {
		*o++ = '\0';
		*s = c->out;
		if (len)
			*len = (size_t)(o - c->out - 1);
		c->out = o;
	}
	c->p = p + 1;
	return 0;
}

/* A JSON number at c->p (jscan's grammar); *is_int when it has neither fraction nor exponent. */
static int number(struct cursor *c, bool *is_int)
{
	const char *e = jscan_number_end(c->p, c->end, is_int);

	if (!e)
		return -1;
	c->p = e;
	return 0;
}

/* Any JSON value, checked and skipped. */
static int skip_value(struct cursor *c, int depth)
{
	const char *e;

	skip_ws(c);
	if (c->p >= c->end)
		return -1;
	switch (*c->p) {
	case '"':
		return string(c, false, NULL, NULL);
	case '{':
	case '[': {
		char close = *c->p == '{' ? '}' : ']';
		bool obj = close == '}';

		if (depth >= STREAM_MAX_DEPTH)
			return -1;
		c->p++;
		skip_ws(c);
		if (c->p < c->end && *c->p == close) {
			c->p++;
			return 0;
		}
		for (;;) {
			if (obj) {
				skip_ws(c);
				if (c->p >= c->end || *c->p != '"' || string(c, false, NULL, NULL))
					return -1;
				skip_ws(c);
				if (c->p >= c->end || *c->p != ':')
					return -1;
				c->p++;
			}
			if (skip_value(c, depth + 1))
				return -1;
			skip_ws(c);
			if (c->p >= c->end)
				return -1;
			if (*c->p == close) {
				c->p++;
				return 0;
			}
			if (*c->p != ',')
				return -1;
			c->p++;
		}
	}
	default:
		if (!(e = jscan_scalar_end(c->p, c->end)))
			return -1;
		c->p = e;
		return 0;
	}
}

/* An integer that fits int64 (jansson's json_integer). */
static int integer(struct cursor *c, int64_t *v)
{
	const char *start = c->p;
	bool is_int, neg;
	uint64_t acc = 0;

	if (number(c, &is_int) || !is_int)
		return -1;
	neg = *start == '-';
	for (const char *q = start + neg; q < c->p; q++) {
		if (acc > (UINT64_MAX - 9) / 10)
			return -1;
		acc = acc * 10 + (uint64_t)(*q - '0');
	}
	if (acc > (uint64_t)INT64_MAX + neg)
		return -1;
	*v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return 0;
}

enum field { F_VALUE, F_SCOPE, F_TYPE, F_DURATION, F_ORIGIN, F_SCENARIO, F_ID, F_OTHER };

static enum field field_of(const char *k, size_t n)
{
	switch (n) {
	case 2:
		return memcmp(k, "id", 2) ? F_OTHER : F_ID;
	case 4:
		return memcmp(k, "type", 4) ? F_OTHER : F_TYPE;
	case 5:
		return !memcmp(k, "value", 5) ? F_VALUE : !memcmp(k, "scope", 5) ? F_SCOPE : F_OTHER;
	case 6:
		return memcmp(k, "origin", 6) ? F_OTHER : F_ORIGIN;
	case 8:
		return !memcmp(k, "duration", 8) ? F_DURATION : !memcmp(k, "scenario", 8) ? F_SCENARIO :
											 F_OTHER;
	default:
		return F_OTHER;
	}
}

/* Decodes one object; 1 if it is JSON but not a decision, -1 if it is not JSON. */
static int decode_object(const char *p, size_t len, char *scratch, bool need_id,
			 struct stream_decision *d)
{
	struct cursor c = { .p = p, .end = p + len, .out = scratch, .out_end = scratch + len };
	const char **str_of[F_ID] = { &d->value, &d->scope, &d->type, &d->duration, &d->origin,
				      &d->scenario };
	bool have_id = false, bad = false;

	memset(d, 0, sizeof(*d));
	if (c.p >= c.end || *c.p != '{')
		return -1;
	c.p++;
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}')
		return 1;
	for (;;) {
		const char *key;
		size_t klen;
		enum field f;

		skip_ws(&c);
		if (c.p >= c.end || *c.p != '"' || string(&c, true, &key, &klen))
			return -1;
		f = field_of(key, klen);
		c.out = (char *)key; /* the key's bytes are not needed any more */
		skip_ws(&c);
		if (c.p >= c.end || *c.p != ':')
			return -1;
		c.p++;
		skip_ws(&c);
		if (c.p >= c.end)
			return -1;
		if (f == F_ID) {
			if (*c.p == '-' || (*c.p >= '0' && *c.p <= '9')) {
				if (integer(&c, &d->id)) {
					/* a real or a huge number: JSON, but no decision id */
					c.p = c.p; /* restart from the value */
					if (skip_value(&c, 1))
						return -1;
					bad = true;
				}
				have_id = !bad;
			} else {
				if (skip_value(&c, 1))
					return -1;
				bad = true;
			}
		} else if (f != F_OTHER && *c.p == '"') {
			if (string(&c, true, str_of[f], NULL))
				return -1;
		} else {
			if (skip_value(&c, 1))
				return -1;
			if (f != F_OTHER)
				bad = true; /* a known field of the wrong type */
		}
		skip_ws(&c);
		if (c.p >= c.end)
			return -1;
		if (*c.p == '}') {
			c.p++;
			break;
		}
		if (*c.p != ',')
			return -1;
		c.p++;
	}
	skip_ws(&c);
	if (c.p != c.end)
		return -1;
	if (bad || (need_id && !have_id) || !d->value || !d->scope || !d->type || !d->duration)
		return 1;
	return 0;
}

/* ---- the frame ---------------------------------------------------------------------- */

int stream_parser_new(stream_item_fn fn, void *arg, struct stream_parser **out)
{
	struct stream_parser *sp = calloc(1, sizeof(*sp));

	if (!sp)
		return -ENOMEM;
	sp->fn = fn;
	sp->arg = arg;
	*out = sp;
	return 0;
}

void stream_parser_free(struct stream_parser *sp)
{
	if (!sp)
		return;
	free(sp->obj);
	free(sp->scratch);
	free(sp);
}

void stream_parser_id_optional(struct stream_parser *sp)
{
	sp->id_optional = true;
}

const char *stream_parser_why(const struct stream_parser *sp)
{
	return sp->why;
}

static int emit(struct stream_parser *sp, const char *p, size_t len)
{
	struct stream_decision d;
	int rc, err;

	/* room for the decoded copy and its NUL */
	err = vec_reserve((void **)&sp->scratch, &sp->scratchcap, len, 1, 1024);
	if (err)
		return sp->err = err;
	rc = decode_object(p, len, sp->scratch, !sp->id_optional, &d);
	if (rc < 0)
		return fail(sp, "%s[%zu]: malformed JSON (ending at byte %llu)", list_name(sp->which),
			    sp->idx, (unsigned long long)sp->off);
	if (rc > 0)
		return frame_fail(sp, E_NOT_DECISION);
	err = sp->fn ? sp->fn(sp->which, sp->idx, &d, sp->arg) : 0;
	if (err) {
		if (!sp->why[0])
			snprintf(sp->why, sizeof(sp->why), "%s[%zu]: refused by the caller",
				 list_name(sp->which), sp->idx);
		return sp->err = err;
	}
	sp->idx++;
	return 0;
}

/*
 * Delimits the object from data[i]: returns how many bytes belong to it, and sets
 * *complete when its closing brace was among them.
 */
static size_t scan_object(struct stream_parser *sp, const char *data, size_t len, bool *complete)
{
	size_t i = 0;

	*complete = false;
	for (; i < len; i++) {
		char ch = data[i];

		if (sp->in_str) {
			if (sp->esc) {
				sp->esc = false;
			} else if (ch == '\\') {
				sp->esc = true;
			} else if (ch == '"') {
				sp->in_str = false;
			} else {
				/* most bytes are inside strings: jump to the closing quote when
				 * no escape comes before it */
				const char *q = memchr(data + i, '"', len - i);
				size_t stop = q ? (size_t)(q - data) : len;

				if (!memchr(data + i, '\\', stop - i))
					i = stop - 1;
			}
			continue;
		}
		if (ch == '"') {
			sp->in_str = true;
		} else if (ch == '{' || ch == '[') {
			sp->depth++;
		} else if (ch == '}' || ch == ']') {
			if (--sp->depth == 0) {
				*complete = true;
				return i + 1;
			}
		}
	}
	return i;
}

int stream_parser_feed(struct stream_parser *sp, const char *data, size_t len)
{
	const char *hit;
	size_t i = 0;

	if (sp->err)
		return sp->err;
	while (i < len) {
		char ch = data[i];

		if (sp->st == S_OBJECT) {
			bool complete;
			size_t n = scan_object(sp, data + i, len - i, &complete);

			if (sp->objlen + n > STREAM_MAX_OBJECT)
				return fail(sp, "%s[%zu]: a decision longer than %d bytes",
					    list_name(sp->which), sp->idx, STREAM_MAX_OBJECT);
			if (complete && !sp->objlen) {
				/* the whole object in this chunk: decode it in place */
				sp->off += n;
				if (emit(sp, data + i, n))
					return sp->err;
			} else {
				if (vec_reserve((void **)&sp->obj, &sp->objcap, sp->objlen + n, 1,
						1024))
					return sp->err = -ENOMEM;
				memcpy(sp->obj + sp->objlen, data + i, n);
				sp->objlen += n;
				sp->off += n;
				if (complete) {
					int err = emit(sp, sp->obj, sp->objlen);

					sp->objlen = 0;
					if (err)
						return err;
				}
			}
			i += n;
			if (complete)
				sp->st = S_AFTER_ITEM;
			continue;
		}
		i++;
		sp->off++;
		if (sp->st == S_KEY) {
			if (ch == '"') {
				int which = -1;

				if (sp->keylen == 3 && !memcmp(sp->key, "new", 3))
					which = STREAM_NEW;
				else if (sp->keylen == 7 && !memcmp(sp->key, "deleted", 7))
					which = STREAM_DELETED;
				if (which < 0)
					return frame_fail(sp, E_UNEXPECTED);
				if (sp->seen[which])
					return fail(sp, "duplicate key \"%s\" at byte %llu", list_name(which),
						    (unsigned long long)sp->off);
				sp->seen[which] = true;
				sp->which = which;
				sp->idx = 0;
				sp->st = S_COLON;
			} else if (sp->keylen == sizeof(sp->key) || ch == '\\') {
				return frame_fail(sp, E_UNEXPECTED);
			} else {
				sp->key[sp->keylen++] = ch;
			}
			continue;
		}
		if (sp->st == S_NULL) {
			if (ch != "null"[sp->litlen])
				return frame_fail(sp, E_NEITHER);
			if (++sp->litlen == 4)
				sp->st = S_AFTER_PAIR;
			continue;
		}
		if (is_ws(ch))
			continue;
		hit = ch ? strchr(frame[sp->st].on, ch) : NULL;
		if (!hit)
			return frame_fail(sp, frame[sp->st].bad);
		sp->st = frame[sp->st].to[hit - frame[sp->st].on];
		/* what a key, a "null" and a decision start with */
		if (sp->st == S_KEY) {
			sp->keylen = 0;
		} else if (sp->st == S_NULL) {
			sp->litlen = 1;
		} else if (sp->st == S_OBJECT) {
			/* back up one byte: the object scanner starts on its brace */
			i--;
			sp->off--;
			sp->depth = 0;
			sp->in_str = sp->esc = false;
			sp->objlen = 0;
		}
	}
	return 0;
}

int stream_parser_finish(struct stream_parser *sp)
{
	if (sp->err)
		return sp->err;
	if (sp->st == S_START)
		return frame_fail(sp, E_NOT_OBJECT);
	if (sp->st != S_DONE)
		return fail(sp, "malformed JSON: the answer ends at byte %llu, inside %s",
			    (unsigned long long)sp->off, sp->st == S_OBJECT ? "a decision" : "the frame");
	if (!sp->seen[0] && !sp->seen[1])
		return fail(sp, "neither 'new' nor 'deleted' in the answer");
	return 0;
}

int stream_walk(const char *body, size_t len, stream_item_fn fn, void *arg, char *why, size_t whylen)
{
	struct stream_parser *sp;
	int err = stream_parser_new(fn, arg, &sp);

	if (err)
		return err;
	err = stream_parser_feed(sp, body, len);
	if (!err)
		err = stream_parser_finish(sp);
	if (err && why)
		snprintf(why, whylen, "%s", sp->why[0] ? sp->why : "out of memory");
	stream_parser_free(sp);
	return err;
}
