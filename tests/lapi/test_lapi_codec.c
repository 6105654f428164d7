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

/* Whether the list of missing fields has this message. */
static bool listed(json_t *miss, const char *want)
{
	size_t i;
	json_t *v;

	json_array_foreach(miss, i, v)
		if (!strcmp(json_string_value(v), want))
			return true;
	return false;
}

static const struct {
	const char *body, *want;
} wrong_types[] = {
	{ "{\"events\":{}}", "Go struct field Alert.events of type []*models.Event" },
	{ "{\"source\":[]}", "Go struct field Alert.source of type models.Source" },
};

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
	ASSERT_TRUE(listed(miss, "0.events in body is required"), "events missing");
	ASSERT_TRUE(listed(miss, "0.source in body is required"), "source missing");

	/* a member of another JSON type: Go's unmarshal error, naming the field's type */
	for (size_t i = 0; i < sizeof(wrong_types) / sizeof(wrong_types[0]); i++) {
		a = decode(wrong_types[i].body, &err, msg, sizeof(msg), miss);
		ASSERT_EQ(err, -EBADMSG, wrong_types[i].body);
		ASSERT_TRUE(strstr(msg, wrong_types[i].want) != NULL, msg);
		cs_alert_free(a);
	}

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

/* ---- the DOM-free decoder (codec_fast.c) against the codec ------------------------- */

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Every member the codec fills, compared exactly. */
static bool same_alert(const struct cs_alert *x, const struct cs_alert *y)
{
	if (!same_str(x->scenario, y->scenario) || !same_str(x->scenario_hash, y->scenario_hash) ||
	    !same_str(x->scenario_version, y->scenario_version) ||
	    !same_str(x->message, y->message) || !same_str(x->leakspeed, y->leakspeed) ||
	    !same_str(x->uuid, y->uuid) || x->events_count != y->events_count ||
	    x->capacity != y->capacity || x->start_at != y->start_at || x->stop_at != y->stop_at ||
	    x->simulated != y->simulated || x->remediation != y->remediation ||
	    !same_str(x->src_scope, y->src_scope) || !same_str(x->src_value, y->src_value) ||
	    !same_str(x->src_ip, y->src_ip) || !same_str(x->src_range, y->src_range) ||
	    !same_str(x->src_as_number, y->src_as_number) ||
	    !same_str(x->src_as_name, y->src_as_name) || !same_str(x->src_cn, y->src_cn) ||
	    x->src_latitude != y->src_latitude || x->src_longitude != y->src_longitude ||
	    x->n_events != y->n_events || x->n_meta != y->n_meta ||
	    x->n_decisions != y->n_decisions || !same_str(x->machine_id, y->machine_id))
		return false;
	for (size_t i = 0; i < x->n_events; i++)
		if (x->events[i].timestamp != y->events[i].timestamp ||
		    !same_str(x->events[i].meta_json, y->events[i].meta_json))
			return false;
	for (size_t i = 0; i < x->n_meta; i++)
		if (!same_str(x->meta[i].key, y->meta[i].key) ||
		    !same_str(x->meta[i].value, y->meta[i].value))
			return false;
	for (size_t i = 0; i < x->n_decisions; i++) {
		const struct cs_decision *a = &x->decisions[i], *b = &y->decisions[i];

		if (a->duration != b->duration || !same_str(a->origin, b->origin) ||
		    !same_str(a->scenario, b->scenario) || !same_str(a->scope, b->scope) ||
		    !same_str(a->type, b->type) || !same_str(a->value, b->value))
			return false;
	}
	return true;
}

/* The body as h_alerts_push's DOM path takes it: 0 when every alert decodes. */
static int dom_decode(const char *body, size_t len, struct cs_alert ***out, size_t *n)
{
	json_t *j, *miss = json_array();
	char msg[512];
	int err = 0;

	*out = NULL;
	*n = 0;
	if (codec_json_depth(body, len) > LAPI_MAX_JSON_DEPTH ||
	    !(j = json_loadb(body, len, JSON_DECODE_ANY, NULL))) {
		json_decref(miss);
		return -EPROTO;
	}
	if (!json_is_array(j)) {
		err = -EBADMSG;
	} else {
		*out = calloc(json_array_size(j) + 1, sizeof(**out));
		for (size_t i = 0; *out && !err && i < json_array_size(j); i++)
			if (!(err = codec_alert_decode(json_array_get(j, i), i, 7, &(*out)[i], msg,
						       sizeof(msg), miss)))
				++*n;
	}
	json_decref(j);
	json_decref(miss);
	return err;
}

/* Fast and DOM paths on one body: 1 both accept and agree, 0 fast declines, -1 they differ. */
static int fast_vs_dom(const char *body, size_t len)
{
	struct cs_alert **f, **d;
	size_t nf, nd;
	int ef = codec_alerts_fast(body, len, 7, &f, &nf), ed, res = 1;

	if (ef)
		return ef == -EAGAIN ? 0 : -1;
	ed = dom_decode(body, len, &d, &nd);
	if (ed || nd != nf)
		res = -1;
	for (size_t i = 0; res == 1 && i < nf; i++)
		if (!same_alert(f[i], d[i]))
			res = -1;
	cs_alerts_free(f, nf);
	cs_alerts_free(d, nd);
	return res;
}

static const char rich_alert[] =
	"{\"capacity\":-3,\"decisions\":[{\"duration\":\"1h30m\",\"origin\":\"cscli\","
	"\"scenario\":\"manual 'ban' from 'x'\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":"
	"\"198.18.7.7\",\"id\":0,\"simulated\":false,\"until\":null}],\"events\":[{\"meta\":"
	"[{\"key\":\"a\\\"b\\\\c\\/d\",\"value\":\"\\u00e9t\\u00e9 \\ud83d\\ude00\"},{\"key\":\"\","
	"\"value\":\"v\"},{\"key\":\"k\",\"value\":null},{}],\"timestamp\":\"2026-11-25T07:44:29."
	"123456789+02:00\"},{\"timestamp\":\"not a time\",\"meta\":null},{\"meta\":[],\"timestamp\":"
	"\"2026-01-01T00:00:00Z\",\"extra\":1.5e3}],\"events_count\":2147483647,\"labels\":[\"x\","
	"1,true,null],\"leakspeed\":\"\",\"message\":\"m\\n\\t\",\"remediation\":null,\"scenario\":"
	"\"s\",\"scenario_hash\":\"h\",\"scenario_version\":\"v\",\"simulated\":true,\"source\":{"
	"\"as_name\":null,\"as_number\":\"64500\",\"cn\":\"FR\",\"ip\":\"198.18.7.7\",\"latitude\":"
	"48.8566,\"longitude\":-2,\"range\":\"198.18.0.0/16\",\"scope\":\"Ip\",\"value\":"
	"\"198.18.7.7\",\"unknown\":\"x\"},\"start_at\":\"2026-11-25T07:44:29Z\",\"stop_at\":"
	"\"bad\",\"uuid\":\"0b3d-uuid\",\"meta\":[{\"key\":\"mk\",\"value\":\"mv\"},{\"key\":null}],"
	"\"id\":12,\"created_at\":\"\"}";

static void test_fast_decode(void)
{
	char body[8192], err[64];
	size_t len;
	/* accepted, and decoded as the codec decodes them */
	const char *agree[] = {
		"[%s]", "[%s,%s]", " \n[ %s ]\t\r\n",
	};
	/* declined: the DOM path answers (its messages) */
	const char *decline[] = {
		"{\"a\":%s}",	/* not an array */
		"[]",		/* nothing to decode */
		"[%s]x",	/* trailing bytes */
		"[%s,]",	/* trailing comma */
		"[%s,1]",	/* not an object */
	};
	/* one member of the agent alert changed: "FROM" -> "TO" must be declined */
	const char *const edits[][2] = {
		{ "\"capacity\":5", "\"capacity\":5.0" },
		{ "\"capacity\":5", "\"capacity\":05" },
		{ "\"capacity\":5", "\"capacity\":2147483648" },
		{ "\"capacity\":5", "\"capacity\":\"5\"" },
		{ "\"capacity\":5", "\"capacity\":null" },
		{ "\"capacity\":5", "\"capacity\":5,\"capacity\":6" },
		{ "\"events_count\":6,", "" },
		{ "\"simulated\":false", "\"simulated\":null" },
		{ "\"simulated\":false", "\"simulated\":fals" },
		{ "\"remediation\":true", "\"remediation\":1" },
		{ "\"labels\":null", "\"labels\":{}" },
		{ "\"labels\":null", "\"labels\":[[1]]" },
		{ "\"decisions\":null", "\"decisions\":[{\"duration\":\"4h\"}]" },
		{ "\"decisions\":null", "\"decisions\":{}" },
		{ "\"scope\":\"Ip\"", "\"scope\":null" },
		{ "\"scope\":\"Ip\"", "\"scope\":1" },
		{ "\"ip\":\"198.18.9.9\",", "\"latitude\":\"48\"," },
		{ "\"ip\":\"198.18.9.9\",", "\"latitude\":1.," },
		{ "\"ip\":\"198.18.9.9\",", "\"latitude\":-," },
		{ "\"ip\":\"198.18.9.9\",", "\"latitude\":1e999," },
		{ "\"service\"", "\"ser\\u0000vice\"" },
		{ "\"service\"", "\"ser\\nvice\"" },
		{ "\"value\":\"ssh\"", "\"value\":5" },
		{ "\"timestamp\"", "\"time\"" },
		{ "\"leakspeed\":\"10s\"", "\"leakspeed\":\"10s\",\"x\":{}" },
		{ "\"leakspeed\":\"10s\"", "\"leakspeed\":\"\\x\"" },
		{ "\"leakspeed\":\"10s\"", "\"leakspeed\":\"\xff\"" },
		{ "\"stop_at\"", "\"stop_at\"" }, /* unchanged: accepted */
	};
	/* one member of the rich alert changed: still accepted, still decoded alike */
	const char *const rich_edits[][2] = {
		{ "\"0b3d-uuid\"", "\"\"" },
		{ "\"0b3d-uuid\"", "\"0123456789012345678901234567890123456789012345678901234567890123x\"" },
		{ "\"remediation\":null", "\"remediation\":true" },
		{ "\"latitude\":48.8566", "\"latitude\":1E-400" },
		{ "\"longitude\":-2", "\"longitude\":-0" },
		{ "\"capacity\":-3", "\"capacity\":-2147483648" },
		{ "\"duration\":\"1h30m\"", "\"duration\":\"-5m\"" },
	};
	struct cs_alert **v;
	size_t n;
	int bad = 0;

	for (size_t i = 0; i < sizeof(rich_edits) / sizeof(rich_edits[0]); i++) {
		const char *at = strstr(rich_alert, rich_edits[i][0]);

		if (!ASSERT_TRUE(at != NULL, rich_edits[i][0]))
			continue;
		snprintf(body, sizeof(body), "[%.*s%s%s]", (int)(at - rich_alert), rich_alert,
			 rich_edits[i][1], at + strlen(rich_edits[i][0]));
		snprintf(err, sizeof(err), "rich edit %zu: fast decode = codec", i);
		ASSERT_EQ(fast_vs_dom(body, strlen(body)), 1, err);
	}

	for (size_t i = 0; i < sizeof(agree) / sizeof(agree[0]); i++) {
		for (int which = 0; which < 2; which++) {
			const char *a = which ? rich_alert : agent_alert;

			snprintf(body, sizeof(body), agree[i], a, a);
			snprintf(err, sizeof(err), "fast decode = codec (%zu, %s)", i,
				 which ? "rich" : "agent");
			ASSERT_EQ(fast_vs_dom(body, strlen(body)), 1, err);
		}
	}
	for (size_t i = 0; i < sizeof(decline) / sizeof(decline[0]); i++) {
		snprintf(body, sizeof(body), decline[i], agent_alert);
		snprintf(err, sizeof(err), "declined: %s", decline[i]);
		ASSERT_EQ(codec_alerts_fast(body, strlen(body), 7, &v, &n), -EAGAIN, err);
	}
	ASSERT_EQ(codec_alerts_fast("[x]\0", 4, 7, &v, &n), -EAGAIN, "a NUL after the array declined");
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		const char *at = strstr(agent_alert, edits[i][0]);
		int want = strcmp(edits[i][0], edits[i][1]) ? -EAGAIN : 0;
		int got;

		if (!ASSERT_TRUE(at != NULL, edits[i][0]))
			continue;
		snprintf(body, sizeof(body), "[%.*s%s%s]", (int)(at - agent_alert), agent_alert,
			 edits[i][1], at + strlen(edits[i][0]));
		got = codec_alerts_fast(body, strlen(body), 7, &v, &n);
		if (!got)
			cs_alerts_free(v, n);
		snprintf(err, sizeof(err), "edit %zu (%s) %s", i, edits[i][1],
			 want ? "declined" : "accepted");
		ASSERT_EQ(got, want, err);
	}
	/* an event meta past 8191 bytes is stripped by the codec: declined here */
	{
		char big[9000];
		int o = snprintf(big, sizeof(big), "[%.*s", (int)(strstr(agent_alert, "ssh\"") -
								   agent_alert), agent_alert);

		memset(big + o, 'z', 8300);
		snprintf(big + o + 8300, sizeof(big) - (size_t)o - 8300, "%s]",
			 strstr(agent_alert, "ssh\"") + 3);
		ASSERT_EQ(codec_alerts_fast(big, strlen(big), 7, &v, &n), -EAGAIN,
			  "over-long event meta declined");
	}
	/* mutated bodies: whatever the fast path accepts, the codec decodes alike */
	snprintf(body, sizeof(body), "[%s,%s]", rich_alert, agent_alert);
	len = strlen(body);
	{
		char *buf = malloc(len + 1);
		unsigned seed = 7;
		int accepted = 0;

		for (int round = 0; buf && round < 20000; round++) {
			int r;

			memcpy(buf, body, len + 1);
			for (int k = 0; k < 1 + round % 3; k++) {
				seed = seed * 1103515245 + 12345;
				buf[(seed >> 8) % len] = (char)(seed >> 20);
			}
			r = fast_vs_dom(buf, len);
			accepted += r == 1;
			if (r < 0 && bad++ < 3)
				fprintf(stderr, "fast and DOM decode differ on: %s\n", buf);
		}
		free(buf);
		ASSERT_EQ(bad, 0, "mutated bodies: the fast path never disagrees with the codec");
		ASSERT_TRUE(accepted > 100, "mutated bodies: some still take the fast path");
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
	test_fast_decode();
	expr_cleanup();
	return TEST_SUMMARY();
}
