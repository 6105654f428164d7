// SPDX-License-Identifier: MIT
/*
 * The two LAPI bodies read before any credential: POST /v1/watchers (machine
 * registration) when the first byte is even, POST /v1/watchers/login when odd;
 * the rest is the JSON body as sent. The database knows one validated machine.
 * (Past the body, login needs the connection's User-Agent, which a harness has
 * not: the password check is covered by the LAPI tests.)
 */
#include "fuzz.h"

#include "common/gotime.h"
#include "common/pwhash.h"
#include "lapi/lapi_int.h"

static struct cs_lapi lapi;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char hash[PWHASH_LEN];

	fuzz_quiet();
	if (cs_db_open(":memory:", &lapi.db) || !(lapi.metrics = cs_metrics_new(false)) ||
	    !(lapi.rl_register = ratelimit_new(LAPI_REGISTER_BURST, LAPI_REGISTER_PERIOD)) ||
	    !(lapi.rl_login_fail = ratelimit_new(LAPI_LOGIN_FAIL_BURST, LAPI_LOGIN_FAIL_PERIOD)) ||
	    !(lapi.known_sources = ratelimit_new(1, 1)) || cs_pwhash_make("fuzz-password", hash) ||
	    cs_db_machine_add(lapi.db, "fuzz-machine", hash, "198.18.0.9", true, false,
			      gotime_now()))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req r = { .l = &lapi, .method = "POST", .ip = "198.18.0.9" };

	if (!size)
		return 0;
	r.body = fuzz_cstr(data + 1, size - 1); /* the NUL past the end is not part of it */
	r.len = r.cap = size - 1;
	r.url = data[0] & 1 ? "/v1/watchers/login" : "/v1/watchers";
	if (data[0] & 1)
		h_login(&r);
	else
		h_register(&r);
	free(r.rbody);
	free(r.location);
	free(r.body);
	return 0;
}
