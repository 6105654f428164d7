// SPDX-License-Identifier: MIT
/*
 * Go date parsing: the first line is a layout (Go's reference-time notation),
 * the rest a value parsed with that layout, with CrowdSec's ParseDate (the
 * layout first, then every built-in one, then epochs), and as RFC 3339 and a
 * duration; whatever parses is formatted back.
 */
#include "fuzz.h"

#include "common/gotime.h"
#include "parser/dateparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cs_time now = { .sec = 1733300000 };
	char *layout, *value, buf[CS_TIME_STRLEN];
	struct cs_time t;
	bool has_year;
	int64_t ns;

	fuzz_quiet();
	fuzz_split(data, size, &layout, &value);
	if (!cs_time_parse_layout(layout, value, &t, &has_year)) {
		cs_time_format(&t, buf, sizeof(buf));
		cs_time_format_sec(&t, buf, sizeof(buf));
	}
	if (!cs_dateparse(value, layout, &now, &t))
		cs_time_format(&t, buf, sizeof(buf));
	if (!gotime_parse_rfc3339(value, &ns)) {
		gotime_format_rfc3339nano(ns, buf, sizeof(buf));
		gotime_format_gostring(ns, buf, sizeof(buf));
	}
	if (!gotime_parse_duration(value, &ns))
		gotime_format_duration(ns, buf, sizeof(buf));
	if (!gotime_parse_duration_days(value, &ns))
		gotime_format_duration(ns, buf, sizeof(buf));
	free(layout);
	free(value);
	return 0;
}
