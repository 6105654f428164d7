// SPDX-License-Identifier: MIT
#include "parser/enrich.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "common/strmap.h"
#include "parser/dateparse.h"
#include "parser/event.h"

/* ParseDate: Enriched.MarshaledTime from the date text, or "now" (spec 4.1). */
static int enrich_parse_date(const char *value, size_t len, struct cs_event *evt,
			     const struct cs_time *now, struct strmap *out)
{
	char buf[CS_TIME_STRLEN];
	struct cs_time t;
	int err;

	err = cs_dateparse(value, evt->str_time_format, now, &t);
	if (err) {
		if (len)
			log_debug("ParseDate: cannot parse '%s', using now", value);
		t = *now;
	} else if (evt->expect_mode == CS_MODE_TIMEMACHINE) {
		/* Replay: the event lives at its log time (upstream sets evt.Time too). */
		evt->time = t;
	}
	err = cs_time_format(&t, buf, sizeof(buf));
	return err ? err : strmap_set(out, "MarshaledTime", buf);
}

/* UnmarshalJSON as a method: its input is ignored, Line.Raw is decoded (spec 4.4). */
static int enrich_unmarshal_json(const char *value, size_t len, struct cs_event *evt,
				 const struct cs_time *now, struct strmap *out)
{
	int err = cs_event_unmarshal_json(evt, evt->line.raw, evt->line.raw_len);

	if (err == -EINVAL) {
		log_warn("UnmarshalJSON: line is not a JSON object");
		err = 0;
	}
	return err;
}

static const struct cs_enricher enrichers[] = {
	{ "ParseDate", enrich_parse_date, true },
	{ "UnmarshalJSON", enrich_unmarshal_json, false },
};

const struct cs_enricher *cs_enricher_find(const char *name)
{
	for (size_t i = 0; i < sizeof(enrichers) / sizeof(enrichers[0]); i++)
		if (!strcmp(enrichers[i].name, name))
			return &enrichers[i];
	return NULL;
}

const char *cs_enricher_unavailable_reason(const char *name)
{
	if (!strcmp(name, "GeoIpCity") || !strcmp(name, "GeoIpASN") || !strcmp(name, "IpToRange"))
		return "no GeoIP database (GeoLite2-City/ASN.mmdb): GeoIP enrichment disabled";
	if (!strcmp(name, "reverse_dns"))
		return "reverse DNS enrichment is not supported";
	return NULL;
}
