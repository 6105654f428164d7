// SPDX-License-Identifier: MIT
/*
 * The bouncer's decoder of /v1/decisions/stream answers (stream.h: fed as the
 * bytes arrive): walked whole the way the fetcher applies it (prefix, duration,
 * origin) into a decision model, then fed again cut in two at a point the input
 * chooses, which must give the same verdict.
 */
#include "fuzz.h"

#include "bouncer/decisions.h"
#include "bouncer/stream.h"
#include "common/gotime.h"
#include "common/ipaddr.h"

static void effect(const struct deffect *e, void *arg)
{
	(void)e, (void)arg;
}

static int apply(int which, size_t idx, const struct stream_decision *d, void *arg)
{
	struct dmodel *m = arg;
	const char *value = d->value;
	const char *dur = d->duration;
	uint64_t id = (uint64_t)d->id;
	struct cs_prefix p;
	char txt[CS_PREFIX_STRLEN];
	int64_t ns;

	if (!value || cs_prefix_parse(value, CS_PREFIX_MASK, &p))
		return 0;
	cs_prefix_format(&p, true, txt, sizeof(txt));
	if (which == STREAM_DELETED)
		return dmodel_del(m, &p, id, effect, NULL), 0;
	if (!dur || gotime_parse_duration(dur, &ns) || ns <= 0)
		return 0;
	dmodel_add(m, &p, id, (uint64_t)ns, (uint8_t)(idx % 5), effect, NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];
	struct dmodel *m = NULL;

	struct stream_parser *sp;
	size_t cut = size ? data[0] % size : 0;
	int whole, split;

	fuzz_quiet();
	if (dmodel_new(&m))
		abort();
	whole = stream_walk((const char *)data, size, apply, m, why, sizeof(why));
	if (stream_parser_new(NULL, NULL, &sp))
		abort();
	split = stream_parser_feed(sp, (const char *)data, cut);
	if (!split)
		split = stream_parser_feed(sp, (const char *)data + cut, size - cut);
	if (!split)
		split = stream_parser_finish(sp);
	stream_parser_free(sp);
	if (split != whole)
		abort();
	dmodel_expire(m, 1000000000ULL, effect, NULL);
	dmodel_for_each(m, effect, NULL);
	dmodel_free(m);
	return 0;
}
