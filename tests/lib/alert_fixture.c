// SPDX-License-Identifier: MIT
/* Alerts for tests, decoded as the LAPI decodes them (see alert_fixture.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_fixture.h"
#include "lapi/lapi_int.h"

struct cs_alert *t_alert_decode(const char *json, char *msg, size_t msglen)
{
	json_t *j = json_loads(json, 0, NULL), *missing = json_array();
	struct cs_alert *a = NULL;
	char *why;

	if (!j)
		snprintf(msg, msglen, "not JSON");
	else if (codec_alert_decode(j, 0, 0, &a, msg, msglen, missing) && json_array_size(missing)) {
		why = json_dumps(missing, JSON_COMPACT);
		snprintf(msg, msglen, "missing %s", why ? why : "fields");
		free(why);
	}
	json_decref(j);
	json_decref(missing);
	return a;
}

struct cs_alert *t_alert_new(const char *scenario, int64_t at, size_t n)
{
	struct cs_alert *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->scenario = strdup(scenario);
	a->start_at = a->stop_at = at;
	a->decisions = calloc(n ? n : 1, sizeof(*a->decisions));
	a->n_decisions = n;
	if (!a->scenario || !a->decisions) {
		cs_alert_free(a);
		return NULL;
	}
	return a;
}
