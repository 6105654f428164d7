/* SPDX-License-Identifier: MIT */
/*
 * Enrichment methods: what a `method: X` static calls (hub-format.md section 4).
 * Each takes the static's value and the event and writes keys into `out`,
 * which the caller merges into evt.Enriched. A method that is not available
 * (GeoIP without a database) is simply not found: the static is skipped.
 */
#ifndef CS_ENRICH_H
#define CS_ENRICH_H

#include <stdbool.h>
#include <stddef.h>

struct cs_event;
struct strmap;

struct cs_time;

/* `now` is the pipeline's clock (injected, so replays and tests are deterministic). */
typedef int (*cs_enrich_fn)(const char *value, size_t len, struct cs_event *evt,
			    const struct cs_time *now, struct strmap *out);

struct cs_enricher {
	const char *name;
	cs_enrich_fn fn;
	bool call_on_empty; /* ParseDate runs even on "" (then yields "now") */
};

/* NULL if `name` is unknown or unavailable here. */
const struct cs_enricher *cs_enricher_find(const char *name);
/* Known to CrowdSec but needing something this host lacks (a GeoIP database). */
const char *cs_enricher_unavailable_reason(const char *name);

#endif /* CS_ENRICH_H */
