// SPDX-License-Identifier: MIT
/*
 * The detector's door into an in-process LAPI: alerts arrive as the JSON the
 * bucket engine builds (the POST /v1/alerts body), are decoded by the same codec
 * the HTTP route uses, and queued (cs_lapi_alert_enqueue), so an alert goes through
 * exactly the validation and profiles a remote agent's would.
 */
#include <errno.h>
#include <stdio.h>
#include "common/gotime.h"
#include "common/log.h"
#include "lapi/lapi_int.h"

int cs_lapi_alerts_enqueue_json(struct cs_lapi *l, json_t *alerts, const char *machine_id)
{
	int64_t now = gotime_now(); /* the alerts' time: the wall clock is right here */
	size_t i;
	json_t *o;
	int err = 0;

	json_array_foreach(alerts, i, o) {
		struct cs_alert *a = NULL;
		json_t *missing = json_array();
		char msg[256] = "";
		int e = codec_alert_decode(o, i, now, &a, msg, sizeof(msg), missing);

		json_decref(missing);
		if (e) {
			log_warn("alert %zu not stored: %s", i, msg[0] ? msg : "missing fields");
			err = err ? err : e;
			continue;
		}
		e = cs_lapi_alert_enqueue(l, a, machine_id); /* owns `a` from here */
		if (e)
			err = err ? err : e;
	}
	return err;
}
