/* SPDX-License-Identifier: MIT */
/*
 * The decoder of /v1/decisions/stream answers, fed as the bytes arrive: a startup
 * answer with a million decisions (~140 MB) is never held whole, and each decision
 * reaches the caller while the rest is still on the wire.
 *
 * The frame `{"new": [...] | null, "deleted": [...] | null}` (either order, either
 * key optional but not both) is matched byte by byte; each decision object is
 * delimited, then decoded on its own: the fields a bouncer needs are read, every
 * other value is checked as JSON and skipped. Anything else stops the decoder with
 * -EBADMSG and a reason naming the place (byte offset, list and index). Bounds: a
 * decision object is at most STREAM_MAX_OBJECT bytes and STREAM_MAX_DEPTH deep.
 *
 * Pure (no I/O, no allocation beyond one object buffer): fuzzed and unit-tested on
 * its own. Runs in the bouncer's unprivileged fetcher, and in the LAPI for its
 * community blocklist pull.
 */
#ifndef CS_BOUNCER_STREAM_H
#define CS_BOUNCER_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_MAX_OBJECT (64 * 1024)
#define STREAM_MAX_DEPTH 32

enum { STREAM_NEW = 0, STREAM_DELETED = 1 };

/* One decision; strings are NUL-terminated and valid during the callback only.
 * origin and scenario are NULL when absent. */
struct stream_decision {
	int64_t id;
	const char *value, *scope, *type, *duration, *origin, *scenario;
};

/* Called for every element of "new" (which = STREAM_NEW) and "deleted"; a non-zero
 * return stops the decoder with that value. */
typedef int (*stream_item_fn)(int which, size_t idx, const struct stream_decision *d, void *arg);

struct stream_parser;

int stream_parser_new(stream_item_fn fn, void *arg, struct stream_parser **out);
void stream_parser_free(struct stream_parser *sp);
/* Decisions without an id are accepted (id 0): a central API's blocklist (the
 * LAPI's CAPI pull, lapi/capi.c) has none. */
void stream_parser_id_optional(struct stream_parser *sp);
/* The next bytes of the answer. 0, -EBADMSG (see stream_parser_why), the callback's
 * error, or -ENOMEM. After an error, further calls return it again. */
int stream_parser_feed(struct stream_parser *sp, const char *data, size_t len);
/* The answer ended: -EBADMSG if it is incomplete or had neither list. */
int stream_parser_finish(struct stream_parser *sp);
const char *stream_parser_why(const struct stream_parser *sp);

/* A whole answer in one buffer: new + feed + finish; why gets the reason. */
int stream_walk(const char *body, size_t len, stream_item_fn fn, void *arg, char *why,
		size_t whylen);

#endif /* CS_BOUNCER_STREAM_H */
