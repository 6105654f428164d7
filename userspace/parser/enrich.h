/* SPDX-License-Identifier: MIT */
/*
 * Enrichment methods: what a `method: X` static calls (hub-format.md section 4).
 * Each takes the static's value and the event and writes keys into `out`,
 * which the caller merges into evt.Enriched. A method that is not available
 * (GeoIP without a database) is simply not found: the static is skipped.
 *
 * GeoIpCity, GeoIpASN and IpToRange (spec 4.2) read GeoLite2-City.mmdb and
 * GeoLite2-ASN.mmdb (libmaxminddb) from a directory, opened once (at load)
 * read-only; lookups are thread-safe.
 */
#ifndef CS_ENRICH_H
#define CS_ENRICH_H

#include <stdbool.h>
#include <stddef.h>

struct cs_event;
struct strmap;

struct cs_time;
struct cs_geoip;

struct cs_enrich_ctx {
	const struct cs_time *now;    /* the pipeline's clock (injected: deterministic) */
	bool now_coarse;	      /* now is the wall clock's tick: read it exactly to keep it */
	const struct cs_geoip *geoip; /* NULL = no GeoIP database */
};

typedef int (*cs_enrich_fn)(const char *value, size_t len, struct cs_event *evt,
			    const struct cs_enrich_ctx *ctx, struct strmap *out);

struct cs_enricher {
	const char *name;
	cs_enrich_fn fn;
	bool call_on_empty; /* ParseDate runs even on "" (then yields "now") */
};

/* NULL if `name` is unknown or unavailable here (`geo` may be NULL). */
const struct cs_enricher *cs_enricher_find(const char *name, const struct cs_geoip *geo);
/* Known to CrowdSec but needing something this host lacks (a GeoIP database). */
const char *cs_enricher_unavailable_reason(const char *name, const struct cs_geoip *geo);
/* Is `name` one of the GeoIP methods? */
bool cs_enricher_is_geoip(const char *name);

/*
 * Open <dir>/GeoLite2-City.mmdb and <dir>/GeoLite2-ASN.mmdb, whichever exist
 * (a missing file only disables its methods). 0 and *out set (possibly with
 * no database), or -ENOMEM. A file that exists but is not a valid database is
 * logged and ignored.
 */
int cs_geoip_open(const char *dir, struct cs_geoip **out);
void cs_geoip_free(struct cs_geoip *g);
bool cs_geoip_has_city(const struct cs_geoip *g);
bool cs_geoip_has_asn(const struct cs_geoip *g);

#endif /* CS_ENRICH_H */
