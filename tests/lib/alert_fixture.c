// SPDX-License-Identifier: MIT
/* Alerts for tests, decoded as the LAPI decodes them (see alert_fixture.h). */
#include <stdio.h>
#include <stdlib.h>

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
