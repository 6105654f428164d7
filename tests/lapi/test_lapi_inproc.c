// SPDX-License-Identifier: MIT
/*
 * The library API the detector uses: start the LAPI in-process, submit alerts
 * directly (profiles apply), see them over HTTP, stop cleanly. Loopback only.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/gotime.h"
#include "common/log.h"
#include "common/pwhash.h"
#include "lapi/lapi.h"
#include "../lib/lapi_fixture.h"
#include "../lib/test.h"

static char port[12] = "18491";

#define BODY_MAX (1 << 20)
static char body[BODY_MAX];

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
	size_t have = strlen(ud), room = BODY_MAX - 1 - have;

	strncat(ud, p, s * n < room ? s * n : room);
	return s * n;
}

static long get(const char *path, const char *key, char *body)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[256], hdr[256];
	long code = 0;

	body[0] = '\0';
	snprintf(url, sizeof(url), "http://127.0.0.1:%s%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	if (key) {
		snprintf(hdr, sizeof(hdr), "X-Api-Key: %s", key);
		h = curl_slist_append(h, hdr);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return code;
}

static struct cs_alert *detector_alert(const char *ip, bool remediation)
{
	struct cs_alert *a = calloc(1, sizeof(*a));

	a->scenario = strdup("crowdsecurity/ssh-bf");
	a->scenario_hash = strdup("");
	a->scenario_version = strdup("0.1");
	a->message = strdup("detector");
	a->leakspeed = strdup("10s");
	a->events_count = 6;
	a->capacity = 5;
	a->remediation = remediation;
	a->src_scope = strdup("Ip");
	a->src_value = strdup(ip);
	a->src_ip = strdup(ip);
	a->start_at = a->stop_at = gotime_now();
	return a;
}

int main(void)
{
	static char dir[] = "/tmp/cs-test-inproc-XXXXXX";
	char hash[APIKEY_HASH_LEN];
	struct cs_lapi_config cfg;
	struct cs_lapi *l = NULL;
	struct cs_alert *a;
	int64_t id = 0;

	log_set_level(LOG_LVL_ERROR);
	if (t_scratch_dir(dir))
		return 1;
	if (!ASSERT_OK(t_lapi_config(&cfg, dir), "config"))
		goto out;
	cfg.flush_max_items = 5000; /* runs the housekeeping thread */
	cfg.flush_max_age = 7 * 24 * 3600 * NSEC_PER_SEC;
	curl_global_init(CURL_GLOBAL_DEFAULT);

	{
		int p = 0;

		if (!ASSERT_OK(t_lapi_start(&cfg, 18491, 100, &l, &p), "start"))
			goto out;
		snprintf(port, sizeof(port), "%d", p);
	}
	ASSERT_EQ(get("/health", NULL, body), 200, "health over HTTP");
	cs_apikey_hash("inproc-key", hash);
	ASSERT_OK(cs_db_bouncer_add(cs_lapi_db(l), "b", hash, gotime_now()), "bouncer via db");

	a = detector_alert("198.18.44.4", true);
	ASSERT_OK(cs_lapi_alert_submit(l, a, NULL, &id), "submit");
	ASSERT_TRUE(id > 0, "alert id");
	ASSERT_EQ(a->n_decisions, 1, "profiles added the ban to the caller's alert");
	cs_alert_free(a);
	a = detector_alert("198.18.44.5", false);
	ASSERT_OK(cs_lapi_alert_submit(l, a, "nosuchmachine", &id), "submit w/o remediation");
	ASSERT_EQ(a->n_decisions, 0, "no remediation, no decision");
	cs_alert_free(a);
	a = detector_alert("not-an-ip", true);
	ASSERT_EQ(cs_lapi_alert_submit(l, a, NULL, &id), -EINVAL, "bad value refused");
	cs_alert_free(a);

	/* the detector's asynchronous path */
	for (int i = 0; i < 1000; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "198.19.%d.%d", i / 250, i % 250 + 1);
		if (cs_lapi_alert_enqueue(l, detector_alert(ip, true), NULL))
			break;
	}
	ASSERT_EQ(cs_lapi_alert_enqueue(l, detector_alert("bad value", true), NULL), 0, "enqueue bad");
	ASSERT_EQ(cs_lapi_alert_enqueue(l, detector_alert("198.19.9.9", true), NULL), 0,
		  "enqueue after bad");
	cs_lapi_alert_flush(l);
	{
		struct cs_dfilter f = { .include_simulated = true, .contains = false, .has_range = true };
		struct cs_decision *v = NULL;
		size_t n = 0;

		cs_prefix_parse("198.19.0.0/16", CS_PREFIX_MASK, &f.range);
		ASSERT_OK(cs_db_decisions_active(cs_lapi_db(l), &f, gotime_now(), &v, &n), "query");
		ASSERT_EQ(n, 1001, "1000 queued + 1 after the bad one, all stored");
		cs_decisions_free(v, n);
	}
	ASSERT_EQ(cs_lapi_alerts_dropped(l), 0, "nothing dropped");
	/* queued at stop time: stored before cs_lapi_stop returns */
	ASSERT_OK(cs_lapi_alert_enqueue(l, detector_alert("198.19.100.100", true), NULL),
		  "enqueue before stop");

	ASSERT_EQ(get("/v1/decisions/stream?startup=true", "inproc-key", body), 200, "stream");
	ASSERT_TRUE(strstr(body, "\"value\":\"198.18.44.4\"") != NULL, "submitted ban is streamed");
	ASSERT_TRUE(strstr(body, "198.18.44.5") == NULL, "no ban without remediation");
	ASSERT_TRUE(strstr(body, "not-an-ip") == NULL, "nothing partial stored");
	cs_lapi_stop(l);
	l = NULL;
	ASSERT_TRUE(get("/health", NULL, body) == 0, "stopped: port closed");
	/* restart on the same port right away (SO_REUSEADDR) */
	if (ASSERT_OK(cs_lapi_start(&cfg, &l), "restart")) {
		ASSERT_EQ(get("/v1/decisions?ip=198.18.44.4", "inproc-key", body), 200, "after restart");
		ASSERT_TRUE(strstr(body, "198.18.44.4") != NULL, "data kept");
		ASSERT_EQ(get("/v1/decisions?ip=198.19.100.100", "inproc-key", body), 200, "q");
		ASSERT_TRUE(strstr(body, "198.19.100.100") != NULL, "queue drained at stop");
	}
out:
	cs_lapi_stop(l);
	cs_lapi_stop(NULL);
	cs_lapi_config_clear(&cfg);
	curl_global_cleanup();
	return TEST_SUMMARY();
}
