// SPDX-License-Identifier: MIT
/*
 * models.Alert's plain fields, one getter for the detector's RuntimeAlert and
 * the profiles' stored alert: each field read through the view, then through a
 * profile filter over a stored alert (the StartAt/StopAt formatting included).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "expr/expr.h"
#include "parser/event.h"
#include "profiles/profiles.h"
#include "../lib/alert_fixture.h"
#include "../lib/test.h"

static void test_view(void)
{
	const struct cs_alert_fields f = {
		.scenario = "a/b", .scenario_hash = "h", .scenario_version = "0.1",
		.message = "m", .leakspeed = "10s", .start_at = "s", .capacity = 5,
		.events_count = 6, .simulated = true,
	};
	static const struct {
		const char *name, *want; /* want: the formatted value */
		int kind;
	} cases[] = {
		{ "Scenario", "a/b", EXPR_STRING },	  { "ScenarioHash", "h", EXPR_STRING },
		{ "ScenarioVersion", "0.1", EXPR_STRING }, { "Message", "m", EXPR_STRING },
		{ "Leakspeed", "10s", EXPR_STRING },	  { "MachineID", "", EXPR_STRING },
		{ "StartAt", "s", EXPR_STRING },	  { "StopAt", "", EXPR_STRING },
		{ "Capacity", "5", EXPR_INT },		  { "EventsCount", "6", EXPR_INT },
		{ "Simulated", "true", EXPR_BOOL },	  { "Remediation", "false", EXPR_BOOL },
	};
	struct expr_value v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *txt;

		if (!ASSERT_OK(cs_alert_fields_get(&f, cases[i].name, &v), cases[i].name))
			continue;
		txt = expr_value_format(&v);
		ASSERT_STREQ(txt, cases[i].want, cases[i].name);
		ASSERT_EQ((int)v.kind, cases[i].kind, cases[i].name);
		free(txt);
		expr_value_release(&v);
	}
	ASSERT_EQ(cs_alert_fields_get(&f, "Source", &v), -ENOENT, "not a plain field");
}

static int apply(const char *filter, struct cs_alert *a)
{
	char path[] = "/tmp/cs-test-alert-fields-XXXXXX", err[256] = "";
	struct cs_profiles *p = NULL;
	int fd = mkstemp(path), ret = -EIO;
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f)
		return ret;
	fprintf(f, "name: t\nfilters:\n - %s\ndecisions:\n - type: ban\n   duration: 1h\n", filter);
	fclose(f);
	ret = cs_profiles_load(path, &p, err, sizeof(err));
	unlink(path);
	if (!ret)
		ret = cs_profiles_apply(p, a, NULL, err, sizeof(err));
	if (ret)
		fprintf(stderr, "%s: %s\n", filter, err);
	cs_profiles_free(p);
	return ret;
}

/* An alert as an agent posts it (machine_id is set by the LAPI, from the login). */
static const char posted[] =
	"{\"capacity\":5,\"events\":[],\"events_count\":6,\"leakspeed\":\"10s\",\"message\":\"msg\","
	"\"remediation\":true,\"scenario\":\"crowdsecurity/ssh-bf\",\"scenario_hash\":\"abc\","
	"\"scenario_version\":\"0.2\",\"simulated\":false,\"source\":{\"scope\":\"Ip\",\"value\":"
	"\"198.18.0.7\"},\"start_at\":\"2026-01-02T03:04:05Z\",\"stop_at\":\"2026-01-02T03:04:09Z\"}";

static void test_profile_alert(void)
{
	char msg[256] = "";
	struct cs_alert *a = t_alert_decode(posted, msg, sizeof(msg));

	if (!ASSERT_TRUE(a != NULL, "alert decodes")) {
		fprintf(stderr, "%s\n", msg);
		return;
	}
	a->machine_id = strdup("m1");
	ASSERT_OK(apply("Alert.ScenarioHash == 'nope'", a), "no match");
	ASSERT_EQ(a->n_decisions, 0, "a filter on a field that differs does not match");
	ASSERT_OK(apply("Alert.Scenario == 'crowdsecurity/ssh-bf' && Alert.ScenarioHash == 'abc' &&"
			" Alert.ScenarioVersion == '0.2' && Alert.Message == 'msg' &&"
			" Alert.Leakspeed == '10s' && Alert.MachineID == 'm1' &&"
			" Alert.StartAt == '2026-01-02T03:04:05Z' &&"
			" Alert.StopAt == '2026-01-02T03:04:09Z' && Alert.Capacity == 5 &&"
			" Alert.EventsCount == 6 && !Alert.Simulated && Alert.Remediation",
			a),
		  "every plain field");
	ASSERT_EQ(a->n_decisions, 1, "every plain field reads the stored alert");
	cs_alert_free(a);
}

int main(void)
{
	test_view();
	test_profile_alert();
	return TEST_SUMMARY();
}
