// SPDX-License-Identifier: MIT
/*
 * The LAPI's JSON decoders: a POST /v1/alerts body (alerts with their events,
 * meta, sources and decisions) taken as the route takes it (depth check, then
 * jansson, then codec_alert_decode per element); every alert that decodes is
 * encoded back as GET /v1/alerts would answer it, its decisions too. The same
 * bytes through the DOM-free decoder (codec_fast.c): whatever it accepts, the
 * route's DOM path must accept too and decode alike, or the harness aborts.
 */
#include "fuzz.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "lapi/lapi_int.h"

static bool same_str(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

/* What GET /v1/alerts shows of it, and what it does not (uuid, remediation, exact meta). */
static bool same_decoded(const struct cs_alert *x, const struct cs_alert *y)
{
	json_t *ex = codec_alert_encode(x), *ey = codec_alert_encode(y);
	size_t lx, ly;
	char *tx = ex ? codec_dump(ex, &lx) : NULL, *ty = ey ? codec_dump(ey, &ly) : NULL;
	bool same = tx && ty && !strcmp(tx, ty) && same_str(x->uuid, y->uuid) &&
		    x->remediation == y->remediation && x->src_latitude == y->src_latitude &&
		    x->src_longitude == y->src_longitude && x->n_events == y->n_events;

	for (size_t i = 0; same && i < x->n_events; i++)
		same = x->events[i].timestamp == y->events[i].timestamp &&
		       same_str(x->events[i].meta_json, y->events[i].meta_json);
	free(tx);
	free(ty);
	json_decref(ex);
	json_decref(ey);
	return same;
}

/* The fast decoder's answer checked against the DOM path's. */
static void check_fast(const uint8_t *data, size_t size)
{
	struct cs_alert **v;
	json_t *j, *miss;
	char msg[512];
	size_t n;

	if (!size || codec_alerts_fast((const char *)data, size, 1733300000LL * 1000000000, &v, &n))
		return;
	j = codec_json_depth((const char *)data, size) <= LAPI_MAX_JSON_DEPTH
		    ? json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL)
		    : NULL;
	miss = json_array();
	if (!j || !miss || !json_is_array(j) || json_array_size(j) != n)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct cs_alert *a = NULL;

		if (codec_alert_decode(json_array_get(j, i), i, 1733300000LL * 1000000000, &a, msg,
				       sizeof(msg), miss) ||
		    !same_decoded(v[i], a))
			abort();
		cs_alert_free(a);
	}
	cs_alerts_free(v, n);
	json_decref(miss);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j, *el, *miss;
	json_error_t jerr;
	char msg[512];
	size_t i;

	fuzz_quiet();
	check_fast(data, size);
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
