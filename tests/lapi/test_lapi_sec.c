// SPDX-License-Identifier: MIT
/*
 * Security findings of issue 12, each pinned by the check that failed before its
 * fix (several only show under the ASan build: make SANITIZE=address,undefined):
 * bounded base64url decoding in JWT verification and stored password hashes, the
 * event meta that leaked when stripped, invalid UTF-8 on its way into JSON.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/pwhash.h"
#include "common/sha2.h"
#include "common/utf8.h"
#include "lapi/lapi_int.h"
#include "../lib/test.h"

static void test_b64url_bounded(void)
{
	uint8_t out[8];

	ASSERT_EQ(b64url_decode("QUFB", 4, out, 3), 3, "exact fit");
	ASSERT_TRUE(!memcmp(out, "AAA", 3), "decoded bytes");
	ASSERT_EQ(b64url_decode("QUFBQQ", 6, out, 4), 4, "partial group fits");
	ASSERT_EQ(b64url_decode("QUFBQQ", 6, out, 3), -EMSGSIZE, "one byte too many");
	ASSERT_EQ(b64url_decode("QU=B", 4, out, sizeof(out)), -EINVAL, "outside the alphabet");
}

/* A token whose signature part decodes to 300 bytes: before the fix it was written
 * into a 36-byte stack buffer, before any authentication. */
static void test_jwt_long_signature(void)
{
	uint8_t secret[64] = { 7 };
	char tok[1024] = "a.b.", id[64], msg[128];

	for (int i = 0; i < 100; i++)
		strcat(tok, "QUFB");
	ASSERT_EQ(jwt_verify(secret, sizeof(secret), tok, gotime_now(), 0, id, sizeof(id), msg,
			     sizeof(msg)),
		  -EACCES, "400-byte signature refused");
	ASSERT_STREQ(msg, "signature is invalid", "signature message");
}

/* A stored hash is outside input too (a database another program wrote): a salt
 * of 95 characters decodes to 71 bytes. */
static void test_pwhash_long_salt(void)
{
	char stored[256] = "$pbkdf2-sha256$1$";

	for (int i = 0; i < 95; i++)
		strcat(stored, "A");
	strcat(stored, "$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	ASSERT_TRUE(!cs_pwhash_verify("x", stored), "oversized salt refused");
}

/* An event whose meta is over 8 KiB is stored with its long values stripped; the
 * stripped value used to be allocated twice and one copy leaked, with every alert
 * pushed over HTTP. The heap in use must not grow with the number of decodes (and
 * LeakSanitizer reports the leak in the ASan build). */
static void test_meta_strip_no_leak(void)
{
	char *big = malloc(9000), *text = malloc(9500), msg[256];
	size_t before = 0, after;
	int err = 0;

	memset(big, 'x', 8999);
	big[8999] = '\0';
	snprintf(text, 9500,
		 "{\"capacity\":5,\"decisions\":null,\"events\":[{\"meta\":[{\"key\":\"k\","
		 "\"value\":\"%s\"}],\"timestamp\":\"2026-11-25T07:44:29Z\"}],"
		 "\"events_count\":1,\"labels\":null,\"leakspeed\":\"10s\",\"message\":\"m\","
		 "\"remediation\":true,\"scenario\":\"s\",\"scenario_hash\":\"h\","
		 "\"scenario_version\":\"1\",\"simulated\":false,\"source\":{\"ip\":\"198.18.9.9\","
		 "\"scope\":\"Ip\",\"value\":\"198.18.9.9\"},\"start_at\":\"2026-11-25T07:44:29Z\","
		 "\"stop_at\":\"2026-11-25T07:44:29Z\"}",
		 big);
	for (int i = 0; i < 300 && !err; i++) {
		json_t *j = json_loads(text, 0, NULL), *miss = json_array();
		struct cs_alert *a = NULL;

		err = j && miss ? codec_alert_decode(j, 0, 0, &a, msg, sizeof(msg), miss) : -ENOMEM;
		if (!err && i == 0)
			ASSERT_TRUE(a->n_events == 1 && a->events[0].meta_json &&
					    strstr(a->events[0].meta_json, "<stripped>"),
				    "long value stripped");
		cs_alert_free(a);
		json_decref(miss);
		json_decref(j);
		if (i == 9)
			before = mallinfo2().uordblks;
	}
	after = mallinfo2().uordblks;
	ASSERT_OK(err, "decode");
	ASSERT_TRUE(after < before + 64 * 1024, "heap does not grow per stripped meta");
	free(big);
	free(text);
}

static void test_utf8(void)
{
	json_t *j;
	char *s;

	ASSERT_TRUE(utf8_valid("h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10), "valid sequences");
	ASSERT_TRUE(!utf8_valid("\xc0\xaf", 2), "overlong refused");
	ASSERT_TRUE(!utf8_valid("\xed\xa0\x80", 3), "surrogate refused");
	ASSERT_TRUE(!utf8_valid("\xe2\x82", 2), "truncated sequence refused");
	s = utf8_sanitize("a\xff\xc3\xa9\xe2\x82", 6, NULL);
	ASSERT_STREQ(s, "a\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd", "each invalid byte is U+FFFD");
	free(s);
	j = utf8_json_string("Nikto/2.1.6)\xff");
	ASSERT_STREQ(json_string_value(j), "Nikto/2.1.6)\xef\xbf\xbd", "lossy JSON string");
	json_decref(j);
}

/* A ban of Go's largest duration, from now: stored as a very long ban (it used to
 * overflow int64 and be stored already expired). */
static void test_deadline(void)
{
	int64_t now = gotime_now(), d;

	ASSERT_OK(gotime_parse_duration("2562047h", &d), "Go's largest duration parses");
	ASSERT_EQ(gotime_deadline(now, d), now + GOTIME_MAX_SPAN, "capped at the maximum span");
	ASSERT_EQ(gotime_deadline(INT64_MAX - 5, 3600LL * NSEC_PER_SEC), INT64_MAX, "saturates");
	ASSERT_EQ(gotime_deadline(now, 4 * 3600LL * NSEC_PER_SEC), now + 4 * 3600LL * NSEC_PER_SEC,
		  "ordinary duration unchanged");
	ASSERT_EQ(gotime_deadline(now, -NSEC_PER_SEC), now - NSEC_PER_SEC, "negative kept");
}

/* Registration and failed-login limits: a burst per source, then one per period;
 * other sources unaffected; an IPv6 /64 is one source; time is injected. */
static void test_ratelimit(void)
{
	const int64_t p = 60 * NSEC_PER_SEC, t0 = 1000 * NSEC_PER_SEC;
	struct cs_ratelimit *rl = ratelimit_new(10, p);
	char ip[64];
	int n = 0;

	if (!ASSERT_TRUE(rl != NULL, "ratelimit_new"))
		return;
	for (int i = 0; i < 30; i++)
		if (ratelimit_allowed(rl, "198.18.0.1", t0)) {
			ratelimit_charge(rl, "198.18.0.1", t0);
			n++;
		}
	ASSERT_EQ(n, 10, "a burst of 10, then refused");
	ASSERT_TRUE(ratelimit_allowed(rl, "198.18.0.2", t0), "another address unaffected");
	ASSERT_TRUE(!ratelimit_allowed(rl, "198.18.0.1", t0 + p - 1), "still refused before a period");
	ASSERT_TRUE(ratelimit_allowed(rl, "198.18.0.1", t0 + p), "one more after a period");
	for (int i = 0; i < 10; i++)
		ratelimit_charge(rl, "2001:db8:1:2::1", t0);
	ASSERT_TRUE(!ratelimit_allowed(rl, "2001:db8:1:2:ffff::9", t0), "an IPv6 /64 is one source");
	ASSERT_TRUE(ratelimit_allowed(rl, "2001:db8:1:3::1", t0), "the next /64 is another");
	/* many sources: the table stays bounded and keeps working */
	for (int i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
		ratelimit_charge(rl, ip, t0 + i);
	}
	for (int i = 0; i < 10; i++)
		ratelimit_charge(rl, "198.18.0.3", t0 + 30000);
	ASSERT_TRUE(!ratelimit_allowed(rl, "198.18.0.3", t0 + 30000), "limit holds after a flood");
	ratelimit_free(rl);
}

int main(void)
{
	test_ratelimit();
	test_deadline();
	test_meta_strip_no_leak();
	test_utf8();
	test_b64url_bounded();
	test_jwt_long_signature();
	test_pwhash_long_salt();
	return TEST_SUMMARY();
}
