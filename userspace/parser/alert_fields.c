// SPDX-License-Identifier: MIT
/* models.Alert's plain fields as expressions read them (see event.h). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "expr/expr.h"
#include "parser/event.h"

enum { F_STR, F_INT, F_BOOL };

static const struct {
	const char *name;
	size_t off;
	int kind;
} alert_fields[] = {
	{ "Scenario", offsetof(struct cs_alert_fields, scenario), F_STR },
	{ "ScenarioHash", offsetof(struct cs_alert_fields, scenario_hash), F_STR },
	{ "ScenarioVersion", offsetof(struct cs_alert_fields, scenario_version), F_STR },
	{ "Message", offsetof(struct cs_alert_fields, message), F_STR },
	{ "Leakspeed", offsetof(struct cs_alert_fields, leakspeed), F_STR },
	{ "MachineID", offsetof(struct cs_alert_fields, machine_id), F_STR },
	{ "StartAt", offsetof(struct cs_alert_fields, start_at), F_STR },
	{ "StopAt", offsetof(struct cs_alert_fields, stop_at), F_STR },
	{ "Capacity", offsetof(struct cs_alert_fields, capacity), F_INT },
	{ "EventsCount", offsetof(struct cs_alert_fields, events_count), F_INT },
	{ "Simulated", offsetof(struct cs_alert_fields, simulated), F_BOOL },
	{ "Remediation", offsetof(struct cs_alert_fields, remediation), F_BOOL },
};

int cs_alert_fields_get(const struct cs_alert_fields *f, const char *name, struct expr_value *out)
{
	for (size_t i = 0; i < sizeof(alert_fields) / sizeof(alert_fields[0]); i++) {
		const char *at = (const char *)f + alert_fields[i].off;

		if (strcmp(name, alert_fields[i].name))
			continue;
		if (alert_fields[i].kind == F_INT)
			return *out = expr_int(*(const int64_t *)at), 0;
		if (alert_fields[i].kind == F_BOOL)
			return *out = expr_bool(*(const bool *)at), 0;
		return expr_string(*(const char *const *)at ? *(const char *const *)at : "", out);
	}
	return -ENOENT;
}
