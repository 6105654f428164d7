// SPDX-License-Identifier: MIT
/* The bouncer's usage metrics body: per-origin drops since the last report, the
 * active decisions gauge, and a body the LAPI's checks take. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bouncer/usage.h"
#include "tests/lib/test.h"

/* the value of item (name, unit, origin or NULL), -1 when absent */
static long long value(json_t *items, const char *name, const char *unit, const char *origin)
{
	size_t i;
	json_t *it;

	json_array_foreach(items, i, it) {
		const char *o = json_string_value(json_object_get(json_object_get(it, "labels"), "origin"));

		if (!strcmp(json_string_value(json_object_get(it, "name")), name) &&
		    !strcmp(json_string_value(json_object_get(it, "unit")), unit) &&
		    (origin ? o && !strcmp(o, origin) : !o))
			return json_integer_value(json_object_get(it, "value"));
	}
	return -1;
}

int main(void)
{
	struct ps_stats_msg prev = { .type = PS_STATS }, now = { .type = PS_STATS };
	uint64_t active[CS_ORIGIN_MAX] = { [CS_ORIGIN_CSCLI] = 3, [CS_ORIGIN_CAPI] = 1000 };
	struct usage_window w = { .startup_unix = 1700000000, .now_unix = 1700000600, .window_s = 600,
				  .os_name = "debian", .os_version = "12" };
	char *text;
	json_t *doc, *rc, *m, *items;

	prev.counters[CS_STAT_DROP_BASE + CS_ORIGIN_CSCLI] = (struct cs_stat){ 10, 1000 };
	now.counters[CS_STAT_DROP_BASE + CS_ORIGIN_CSCLI] = (struct cs_stat){ 15, 1600 };
	now.counters[CS_STAT_DROP_BASE + CS_ORIGIN_CROWDSEC] = (struct cs_stat){ 2, 120 };
	prev.counters[CS_STAT_PASS] = (struct cs_stat){ 100, 10000 };
	now.counters[CS_STAT_PASS] = (struct cs_stat){ 130, 13000 };

	text = usage_body(&w, &now, &prev, active);
	if (!ASSERT_TRUE(text != NULL, "a body"))
		return TEST_SUMMARY();
	doc = json_loads(text, 0, NULL);
	rc = json_array_get(json_object_get(doc, "remediation_components"), 0);
	ASSERT_EQ(json_array_size(json_object_get(doc, "remediation_components")), 1, "one component");
	ASSERT_STREQ(json_string_value(json_object_get(rc, "type")), "crowdsec-xdp-bouncer", "type");
	ASSERT_TRUE(json_is_string(json_object_get(rc, "version")), "version (required)");
	ASSERT_EQ(json_integer_value(json_object_get(rc, "utc_startup_timestamp")), 1700000000,
		  "utc_startup_timestamp (required)");
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(rc, "os"), "name")), "debian",
		     "os");
	m = json_array_get(json_object_get(rc, "metrics"), 0);
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(m, "meta"), "window_size_seconds")),
		  600, "window");
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(m, "meta"), "utc_now_timestamp")),
		  1700000600, "now");
	items = json_object_get(m, "items");
	ASSERT_EQ(value(items, "dropped", "packet", "cscli"), 5, "drops since the last report");
	ASSERT_EQ(value(items, "dropped", "byte", "cscli"), 600, "bytes since the last report");
	ASSERT_EQ(value(items, "dropped", "packet", "crowdsec"), 2, "another origin");
	ASSERT_EQ(value(items, "dropped", "packet", "CAPI"), 0, "an origin that dropped nothing: 0");
	ASSERT_EQ(value(items, "processed", "packet", NULL), 37, "processed: passed and dropped");
	ASSERT_EQ(value(items, "active_decisions", "ip", "CAPI"), 1000, "active decisions: a gauge");
	ASSERT_EQ(value(items, "active_decisions", "ip", "lists"), -1, "no decisions: no item");
	json_decref(doc);
	free(text);

	/* a data plane that restarted (counters below the last report) counts from zero */
	text = usage_body(&w, &prev, &now, active);
	doc = text ? json_loads(text, 0, NULL) : NULL;
	items = json_object_get(json_array_get(json_object_get(json_array_get(
			json_object_get(doc, "remediation_components"), 0), "metrics"), 0), "items");
	ASSERT_EQ(value(items, "dropped", "packet", "cscli"), 10, "restarted counters");
	json_decref(doc);
	free(text);

	/* no stats yet: only the gauge */
	text = usage_body(&w, NULL, NULL, active);
	ASSERT_TRUE(text && !strstr(text, "dropped") && strstr(text, "active_decisions"),
		    "before the first stats: decisions only");
	free(text);
	return TEST_SUMMARY();
}
