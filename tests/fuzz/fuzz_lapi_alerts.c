// SPDX-License-Identifier: MIT
/*
 * The LAPI's JSON decoders: a POST /v1/alerts body (alerts with their events,
 * meta, sources and decisions) taken as the route takes it (depth check, then
 * jansson, then codec_alert_decode per element); every alert that decodes is
 * encoded back as GET /v1/alerts would answer it, its decisions too.
 */
#include "fuzz.h"

#include <jansson.h>

#include "db/db.h"
#include "lapi/lapi_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j, *el, *miss;
	json_error_t jerr;
	char msg[512];
	size_t i;

	fuzz_quiet();
	if (!size || codec_json_depth((const char *)data, size) > LAPI_MAX_JSON_DEPTH)
		return 0;
	j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
	if (!j)
		return 0;
	miss = json_array();
	if (!miss)
		abort();
	if (!json_is_array(j)) { /* the route refuses it; the decoder must too */
		json_t *one = json_array();

		json_array_append(one, j);
		json_decref(j);
		j = one;
	}
	json_array_foreach(j, i, el) {
		struct cs_alert *a = NULL;
		json_t *back;
		char *text;
		size_t len;

		if (codec_alert_decode(el, i, 1733300000LL * 1000000000, &a, msg, sizeof(msg), miss))
			continue;
		back = codec_alert_encode(a);
		text = back ? codec_dump(back, &len) : NULL;
		free(text);
		json_decref(back);
		back = codec_decisions_encode(a->decisions, a->n_decisions, true);
		json_decref(back);
		cs_alert_free(a);
	}
	json_decref(miss);
	json_decref(j);
	return 0;
}
