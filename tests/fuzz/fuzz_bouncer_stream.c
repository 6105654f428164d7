// SPDX-License-Identifier: MIT
/*
 * The bouncer's decoder of /v1/decisions/stream answers (item by item, no
 * whole-document tree): validated whole first, then walked again the way the
 * fetcher applies it (prefix, duration, origin) into a decision model.
 */
#include "fuzz.h"

#include <jansson.h>

#include "bouncer/decisions.h"
#include "bouncer/fetcher.h"
#include "common/gotime.h"
#include "common/ipaddr.h"

static void effect(const struct deffect *e, void *arg)
{
	(void)e, (void)arg;
}

static int apply(int which, size_t idx, json_t *d, void *arg)
{
	struct dmodel *m = arg;
	const char *value = json_string_value(json_object_get(d, "value"));
	const char *dur = json_string_value(json_object_get(d, "duration"));
	uint64_t id = (uint64_t)json_integer_value(json_object_get(d, "id"));
	struct cs_prefix p;
	char txt[CS_PREFIX_STRLEN];
	int64_t ns;

	if (!value || cs_prefix_parse(value, &p))
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

	fuzz_quiet();
	if (fetcher_parse_stream((const char *)data, size, why, sizeof(why)))
		return 0;
	if (dmodel_new(&m))
		abort();
	fetcher_walk_stream((const char *)data, size, apply, m, why, sizeof(why));
	dmodel_expire(m, 1000000000ULL, effect, NULL);
	dmodel_for_each(m, effect, NULL);
	dmodel_free(m);
	return 0;
}
