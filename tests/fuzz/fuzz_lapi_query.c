// SPDX-License-Identifier: MIT
/*
 * The LAPI's query arguments (decision and alert filters), as a bouncer or a
 * machine sends them: the input is a query string ("k=v&k=v", bytes as MHD hands
 * them over, decoded), given to GET /v1/decisions, GET and DELETE /v1/alerts and
 * DELETE /v1/decisions over a database holding one alert with decisions.
 */
#include "fuzz.h"

#include "common/gotime.h"
#include "lapi/lapi_int.h"

static struct cs_lapi lapi;

static const char seed_alert[] =
	"{\"scenario\":\"crowdsecurity/ssh-bf\",\"scenario_hash\":\"h\",\"scenario_version\":\"1\","
	"\"message\":\"m\",\"events_count\":5,\"start_at\":\"2024-12-04T10:00:00Z\","
	"\"stop_at\":\"2024-12-04T10:00:05Z\",\"capacity\":5,\"leakspeed\":\"10s\","
	"\"simulated\":false,\"events\":[],\"source\":{\"scope\":\"Ip\",\"value\":\"198.18.0.7\","
	"\"ip\":\"198.18.0.7\",\"cn\":\"FR\",\"as_number\":\"64500\"},"
	"\"decisions\":[{\"origin\":\"crowdsec\",\"type\":\"ban\",\"scope\":\"Ip\","
	"\"value\":\"198.18.0.7\",\"duration\":\"4h\",\"scenario\":\"crowdsecurity/ssh-bf\"},"
	"{\"origin\":\"cscli\",\"type\":\"captcha\",\"scope\":\"Range\","
	"\"value\":\"2001:db8::/48\",\"duration\":\"1h\",\"scenario\":\"manual\"}]}";

static void seed(void)
{
	json_t *j = json_loads(seed_alert, 0, NULL), *missing = json_array();
	struct cs_alert *a = NULL;
	char msg[256];
	int64_t id;

	if (!j || !missing || codec_alert_decode(j, 0, gotime_now(), &a, msg, sizeof(msg), missing) ||
	    cs_db_alerts_insert(lapi.db, &a, 1, "fuzz-machine", gotime_now(), &id))
		abort();
	cs_alert_free(a);
	json_decref(j);
	json_decref(missing);
}

/* Back to the one seeded alert, whatever the deletes took or left. */
static void reset(void)
{
	struct cs_afilter all = { .has_active_decision = -1, .contains = true };
	long n;

	if (cs_db_alerts_delete(lapi.db, &all, gotime_now(), &n))
		abort();
	seed();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if (cs_db_open(":memory:", &lapi.db) || !(lapi.metrics = cs_metrics_new(false)))
		abort();
	seed();
	return 0;
}

static void run(struct req *r, const char *method, void (*fn)(struct req *))
{
	r->method = method;
	fn(r);
	free(r->rbody);
	free(r->location);
	r->rbody = r->location = NULL;
	r->rlen = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = fuzz_cstr(data, size), *save = NULL;
	struct req r = { .l = &lapi, .url = "/v1/fuzz", .ip = "198.18.0.9" };

	snprintf(r.machine, sizeof(r.machine), "fuzz-machine");
	r.bouncer.last_pull = gotime_now(); /* pulled lately: no bouncer cache in play */
	for (char *kv = strtok_r(q, "&", &save); kv && r.nargs < LAPI_MAX_QUERY_ARGS;
	     kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');

		if (eq)
			*eq = '\0';
		r.args[r.nargs].key = kv;
		r.args[r.nargs].val = eq ? eq + 1 : kv + strlen(kv);
		r.nargs++;
	}
	run(&r, "GET", h_decisions_get);
	run(&r, "GET", h_alerts_search);
	run(&r, "DELETE", h_decisions_delete);
	reset();
	free(q);
	return 0;
}
