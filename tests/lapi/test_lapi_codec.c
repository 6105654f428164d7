// SPDX-License-Identifier: MIT
/*
 * JSON codec (POST /v1/alerts decoding and validation, 1.4.6 rendering rules),
 * JWT signing/verification, and profiles (default file, built-in filters,
 * on_success, origins, simulated).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/gotime.h"
#include "common/log.h"
#include "common/yamljson.h"
#include "expr/expr.h"
#include "lapi/lapi_int.h"
#include "../lib/test.h"

static const char agent_alert[] =
	"{\"capacity\":5,\"decisions\":null,\"events\":[{\"meta\":[{\"key\":\"source_ip\","
	"\"value\":\"198.18.9.9\"},{\"key\":\"service\",\"value\":\"ssh\"}],\"timestamp\":"
	"\"2026-11-25T07:44:29Z\"}],\"events_count\":6,\"labels\":null,\"leakspeed\":\"10s\","
	"\"message\":\"Ip 198.18.9.9 performed 'crowdsecurity/ssh-bf'\",\"remediation\":true,"
	"\"scenario\":\"crowdsecurity/ssh-bf\",\"scenario_hash\":\"4441\",\"scenario_version\":"
	"\"0.1\",\"simulated\":false,\"source\":{\"ip\":\"198.18.9.9\",\"scope\":\"Ip\","
	"\"value\":\"198.18.9.9\"},\"start_at\":\"2026-11-25T07:44:29Z\",\"stop_at\":"
	"\"2026-11-25T07:44:29Z\"}";

static struct cs_alert *decode(const char *text, int *err, char *msg, size_t ml, json_t *miss)
{
	json_t *j = json_loads(text, 0, NULL);
	struct cs_alert *a = NULL;

	*err = j ? codec_alert_decode(j, 0, 0, &a, msg, ml, miss) : -99;
	json_decref(j);
	return a;
}

static void test_decode(void)
{
	char msg[512] = "";
	json_t *miss = json_array();
	struct cs_alert *a;
	int err;

	a = decode(agent_alert, &err, msg, sizeof(msg), miss);
	if (ASSERT_OK(err, "agent alert decodes")) {
		ASSERT_STREQ(a->scenario, "crowdsecurity/ssh-bf", "scenario");
		ASSERT_EQ(a->n_events, 1, "one event");
		ASSERT_TRUE(a->remediation, "remediation");
		ASSERT_EQ(a->n_decisions, 0, "decisions null");
		ASSERT_STREQ(a->src_value, "198.18.9.9", "source value");
		ASSERT_TRUE(strstr(a->events[0].meta_json, "source_ip") != NULL, "event meta kept");
	}
	cs_alert_free(a);

	a = decode("{\"scenario\":\"x\"}", &err, msg, sizeof(msg), miss);
	ASSERT_EQ(err, -EINVAL, "missing fields");
	ASSERT_TRUE(a == NULL, "nothing returned");
	ASSERT_TRUE(json_array_size(miss) >= 8, "each missing field listed");
	ASSERT_STREQ(json_string_value(json_array_get(miss, 0)), "0.capacity in body is required",
		     "1.4.6 wording");

	a = decode("{\"capacity\":\"five\"}", &err, msg, sizeof(msg), miss);
	ASSERT_EQ(err, -EBADMSG, "wrong type");
	ASSERT_TRUE(strstr(msg, "cannot unmarshal string") != NULL, "type message");

	{
		char buf[4096];

		snprintf(buf, sizeof(buf), "%.*s,\"decisions\":[{\"duration\":\"forever\","
			 "\"origin\":\"cscli\",\"scenario\":\"s\",\"scope\":\"Ip\",\"type\":\"ban\","
			 "\"value\":\"198.18.0.1\"}]}", (int)strlen(agent_alert) - 1, agent_alert);
		/* the duplicated "decisions" key: the later one wins in jansson */
		a = decode(buf, &err, msg, sizeof(msg), miss);
		ASSERT_EQ(err, -EBADMSG, "bad decision duration");
		ASSERT_TRUE(strstr(msg, "decision duration 'forever'") != NULL, "duration message");
	}
	json_decref(miss);
}

static void test_encode(void)
{
	struct cs_decision d = { .id = 7, .duration = -6411377973LL, .origin = "cscli",
				 .scenario = "s", .scope = "Ip", .type = "ban",
				 .value = "198.18.0.9" };
	struct cs_alert a = { .id = 3, .scenario = "s", .src_scope = "Ip", .src_value = "v",
			      .start_at = 1795592585LL * NSEC_PER_SEC };
	json_t *j;
	size_t len;
	char *s;

	j = codec_decision_encode(&d, false);
	s = codec_dump(j, &len);
	ASSERT_STREQ(s, "{\"duration\":\"-6.411377973s\",\"id\":7,\"origin\":\"cscli\","
			"\"scenario\":\"s\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.0.9\"}",
		     "decision bytes");
	free(s);
	json_decref(j);
	j = codec_decisions_encode(NULL, 0, false);
	ASSERT_TRUE(json_is_null(j), "empty list is null");
	json_decref(j);
	j = codec_alert_encode(&a);
	ASSERT_TRUE(json_is_null(json_object_get(j, "decisions")), "alert decisions null");
	ASSERT_TRUE(json_is_null(json_object_get(j, "events")), "alert events null");
	ASSERT_TRUE(json_is_null(json_object_get(j, "labels")), "labels null");
	ASSERT_TRUE(!json_object_get(j, "meta"), "meta omitted");
	ASSERT_STREQ(json_string_value(json_object_get(j, "start_at")),
		     "2026-11-25 07:43:05 +0000 UTC", "start_at Go String()");
	ASSERT_STREQ(json_string_value(json_object_get(j, "machine_id")), "N/A", "machine N/A");
	json_decref(j);
	ASSERT_EQ(codec_json_depth("[[[{\"a\":\"[[[[\"}]]]", 18), 4, "depth skips strings");
}

static void test_jwt(void)
{
	uint8_t secret[64] = { 1, 2, 3 };
	char *tok = NULL, id[64], msg[128];
	int64_t exp, now = gotime_now();

	ASSERT_OK(jwt_sign(secret, 64, "m1", now, 3600LL * NSEC_PER_SEC, &tok, &exp), "sign");
	ASSERT_TRUE(!strncmp(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37), "HS256 header");
	ASSERT_OK(jwt_verify(secret, 64, tok, now, 0, id, sizeof(id), msg, sizeof(msg)), "verify");
	ASSERT_STREQ(id, "m1", "id claim");
	ASSERT_EQ(jwt_verify(secret, 64, tok, now + 7200LL * NSEC_PER_SEC, 0, id, sizeof(id), msg,
			     sizeof(msg)),
		  -EACCES, "expired");
	ASSERT_STREQ(msg, "Token is expired", "expired message");
	ASSERT_OK(jwt_verify(secret, 64, tok, now + 5400LL * NSEC_PER_SEC, 3600LL * NSEC_PER_SEC, id,
			     sizeof(id), msg, sizeof(msg)),
		  "expired within the refresh window");
	tok[strlen(tok) - 2] ^= 1;
	ASSERT_EQ(jwt_verify(secret, 64, tok, now, 0, id, sizeof(id), msg, sizeof(msg)), -EACCES,
		  "tampered");
	ASSERT_STREQ(msg, "signature is invalid", "tampered message");
	ASSERT_EQ(jwt_verify(secret, 64, "garbage", now, 0, id, sizeof(id), msg, sizeof(msg)),
		  -EACCES, "garbage");
	free(tok);
}

static void test_profiles(void)
{
	struct cs_profiles *p = NULL;
	struct cs_alert *a;
	char err[512] = "", path[] = "/tmp/cs-test-profiles-XXXXXX";
	json_t *miss = json_array();
	int e, fd;
	FILE *f;

	ASSERT_OK(cs_profiles_default(&p), "default profiles");
	a = decode(agent_alert, &e, err, sizeof(err), miss);
	if (ASSERT_TRUE(a != NULL, "alert")) {
		ASSERT_OK(cs_profiles_apply(p, a, NULL, err, sizeof(err)), "apply");
		ASSERT_EQ(a->n_decisions, 1, "one ban");
		ASSERT_STREQ(a->decisions[0].type, "ban", "type ban");
		ASSERT_EQ(a->decisions[0].duration, 4 * 3600 * NSEC_PER_SEC, "4h");
		ASSERT_STREQ(a->decisions[0].origin, "crowdsec", "origin crowdsec");
		ASSERT_STREQ(a->decisions[0].value, "198.18.9.9", "value");
		a->remediation = false;
		cs_decisions_free(a->decisions, a->n_decisions);
		a->decisions = NULL;
		a->n_decisions = 0;
		ASSERT_OK(cs_profiles_apply(p, a, NULL, err, sizeof(err)), "apply no remediation");
		ASSERT_EQ(a->n_decisions, 0, "no remediation, no decision");
	}
	cs_alert_free(a);
	cs_profiles_free(p);

	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!ASSERT_TRUE(f != NULL, "tmp file"))
		goto out;
	fprintf(f, "name: captcha_ssh\nfilters:\n - Alert.GetScenario() == 'crowdsecurity/ssh-bf'"
		   "\n - Alert.GetScope() == 'Ip'\ndecisions:\n - type: captcha\n   duration: 1h\n"
		   "   origin: custom\non_success: break\n---\nname: never\nfilters:\n - false\n"
		   "decisions:\n - type: ban\n");
	fclose(f);
	ASSERT_OK(cs_profiles_load(path, &p, err, sizeof(err)), "load file");
	ASSERT_EQ(cs_profiles_count(p), 2, "two profiles");
	a = decode(agent_alert, &e, err, sizeof(err), miss);
	if (a) {
		ASSERT_OK(cs_profiles_apply(p, a, NULL, err, sizeof(err)), "apply file");
		ASSERT_EQ(a->n_decisions, 2, "two true filters, two decisions (1.4.6)");
		ASSERT_STREQ(a->decisions[0].origin, "crowdsec/custom", "template origin");
		ASSERT_STREQ(a->decisions[0].type, "captcha", "captcha");
	}
	cs_alert_free(a);
	cs_profiles_free(p);
	p = NULL;
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "name: bad\nfilters:\n - Alert.Foo() matches 'x'\ndecisions:\n - type: ban\n");
		fclose(f);
	}
	ASSERT_EQ(cs_profiles_load(path, &p, err, sizeof(err)), -EINVAL, "unsupported filter");
	ASSERT_TRUE(strstr(err, "filter 0") != NULL, "error names the filter");
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "name: x\nfilters: [\n");
		fclose(f);
	}
	ASSERT_EQ(cs_profiles_load(path, &p, err, sizeof(err)), -EINVAL, "bad yaml");
	ASSERT_TRUE(strstr(err, path) != NULL, "error names the file");
out:
	unlink(path);
	json_decref(miss);
}

static struct cs_profiles *load_text(const char *text, char *err, size_t errlen, int *ret)
{
	char path[] = "/tmp/cs-test-profiles-XXXXXX";
	struct cs_profiles *p = NULL;
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	*ret = -EIO;
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	*ret = cs_profiles_load(path, &p, err, errlen);
	unlink(path);
	return p;
}

static void test_profiles_expr(void)
{
	struct cs_profiles *p;
	struct cs_alert *a;
	char err[512] = "";
	json_t *miss = json_array();
	int e, ret;

	p = load_text("name: expr\nfilters:\n"
		      " - Alert.GetScenario() in ['x/y', 'crowdsecurity/ssh-bf'] &&"
		      " Alert.Source.IP startsWith '198.18.' && Alert.Events[0].GetMeta('service')"
		      " == 'ssh' && len(Alert.Events) == 1 && Alert.EventsCount > 5\n"
		      "decisions:\n - type: ban\n   duration: 1h\n"
		      "duration_expr: Sprintf('%dh', (GetDecisionsCount(Alert.GetValue()) + 1) * 4)\n"
		      "on_success: break\n",
		      err, sizeof(err), &ret);
	if (!ASSERT_OK(ret, "expr profile loads"))
		fprintf(stderr, "%s\n", err);
	a = decode(agent_alert, &e, err, sizeof(err), miss);
	if (p && a) {
		ASSERT_OK(cs_profiles_apply(p, a, NULL, err, sizeof(err)), "expr apply");
		ASSERT_EQ(a->n_decisions, 1, "expr filter matched");
		if (a->n_decisions)
			ASSERT_EQ(a->decisions[0].duration, 4 * 3600 * NSEC_PER_SEC,
				  "duration_expr: (0 + 1) * 4h");
	}
	cs_alert_free(a);
	cs_profiles_free(p);

	p = load_text("name: bad\nfilters:\n - Alert.Nope == 1\ndecisions:\n - type: ban\n", err,
		      sizeof(err), &ret);
	ASSERT_EQ(ret, -EINVAL, "unknown field is a load error");
	ASSERT_TRUE(strstr(err, "Alert.Nope") != NULL, "error quotes the expression");
	cs_profiles_free(p);

	p = load_text("name: notbool\nfilters:\n - Alert.GetScope()\ndecisions:\n - type: ban\n",
		      err, sizeof(err), &ret);
	a = decode(agent_alert, &e, err, sizeof(err), miss);
	if (p && a)
		ASSERT_TRUE(cs_profiles_apply(p, a, NULL, err, sizeof(err)) < 0,
			    "non-bool filter fails at run time");
	cs_alert_free(a);
	cs_profiles_free(p);

	json_decref(miss);
}

/* Hostile input: every truncation and many byte flips of a real alert must decode
 * or fail cleanly (run under ASan/valgrind for the real check). */
static void test_hostile(void)
{
	size_t len = strlen(agent_alert), ok = 0, bad = 0;
	char *buf = malloc(len + 1);
	unsigned seed = 1;
	char err[256];

	for (size_t cut = 0; buf && cut <= len; cut++) {
		json_t *miss = json_array(), *j;
		struct cs_alert *a = NULL;

		memcpy(buf, agent_alert, len + 1);
		buf[cut] = '\0';
		j = json_loads(buf, 0, NULL);
		if (j && !codec_alert_decode(j, 0, 0, &a, err, sizeof(err), miss))
			ok++;
		else
			bad++;
		cs_alert_free(a);
		json_decref(j);
		json_decref(miss);
	}
	for (int round = 0; buf && round < 3000; round++) {
		json_t *miss = json_array(), *j;
		struct cs_alert *a = NULL;

		memcpy(buf, agent_alert, len + 1);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245 + 12345;
			buf[(seed >> 8) % len] = (char)(seed >> 20);
		}
		j = json_loadb(buf, len, 0, NULL);
		if (j && !codec_alert_decode(j, 0, 0, &a, err, sizeof(err), miss)) {
			json_t *out = codec_alert_encode(a);

			json_decref(out);
			ok++;
		} else {
			bad++;
		}
		cs_alert_free(a);
		json_decref(j);
		json_decref(miss);
	}
	free(buf);
	ASSERT_TRUE(ok > 0 && bad > 0, "hostile inputs handled (no crash)");
	{
		char e[256];
		char deep[300];
		json_t *d;

		memset(deep, '-', sizeof(deep));
		for (int i = 0; i < 100; i++) {
			deep[2 * i] = '-';
			deep[2 * i + 1] = ' ';
		}
		deep[200] = 'x';
		deep[201] = '\0';
		d = yamljson_load_string(deep, strlen(deep), "deep", e, sizeof(e));
		ASSERT_TRUE(d == NULL && strstr(e, "too deep"), "YAML nesting bounded");
		json_decref(d);
		d = yamljson_load_string("a: &x 1\nb: *x\n", 14, "alias", e, sizeof(e));
		ASSERT_TRUE(d == NULL && strstr(e, "aliases"), "YAML aliases refused");
		json_decref(d);
		d = yamljson_load_string("a: [1, 2\n", 9, "bad", e, sizeof(e));
		ASSERT_TRUE(d == NULL && strstr(e, "bad:"), "YAML error names the file");
		json_decref(d);
	}
}

int main(void)
{
	log_set_level(LOG_LVL_ERROR);
	test_decode();
	test_encode();
	test_jwt();
	test_profiles();
	test_profiles_expr();
	test_hostile();
	expr_cleanup();
	return TEST_SUMMARY();
}
