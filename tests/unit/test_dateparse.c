// SPDX-License-Identifier: MIT
/* ParseDate: Go layouts, the built-in list, year inference, RFC 3339 rendering (spec 4.1). */
#include <errno.h>
#include <stdlib.h>

#include "parser/dateparse.h"
#include "parser/event.h"
#include "../lib/test.h"


/* "now" for year inference: 2026-03-01T00:00:00Z. */
static const struct cs_time now = { .sec = 1772323200, .nsec = 0, .off = 0 };

struct case_ {
	const char *in;
	const char *fmt;
	const char *want; /* NULL: must fail */
};

static const struct case_ cases[] = {
	/* RFC 3339, with and without fraction and zone */
	{ "2021-09-29T14:11:34+02:00", NULL, "2021-09-29T14:11:34+02:00" },
	{ "2023-01-27T11:02:49.123Z", NULL, "2023-01-27T11:02:49.123Z" },
	{ "2023-01-27T11:02:49.120000Z", NULL, "2023-01-27T11:02:49.12Z" },
	{ "2021-01-01T10:00:00.5Z", NULL, "2021-01-01T10:00:00.5Z" },
	{ "2021-01-01T10:00:00+00:00", NULL, "2021-01-01T10:00:00Z" },
	{ "2022-02-13T10:42:17", NULL, "2022-02-13T10:42:17Z" },
	/* nginx / apache */
	{ "29/Sep/2021:14:11:34 +0200", NULL, "2021-09-29T14:11:34+02:00" },
	{ "04/Jan/2020:07:25:02 +0000", NULL, "2020-01-04T07:25:02Z" },
	{ "04/jan/2020:07:25:02 -0530", NULL, "2020-01-04T07:25:02-05:30" },
	/* syslog without a year: the current UTC year */
	{ "Feb 12 14:10:21", NULL, "2026-02-12T14:10:21Z" },
	{ "Sep  6 09:57:21", NULL, "2026-09-06T09:57:21Z" },
	/* Feb 29 of year 0 + 2026 years normalises to Mar 1 */
	{ "Feb 29 10:00:00", NULL, "2026-03-01T10:00:00Z" },
	{ "Tue Feb 7 10:00:00 2023", NULL, "2023-02-07T10:00:00Z" },
	{ "2023/02/07", NULL, "2023-02-07T00:00:00Z" },
	{ "2023-02-07 10:00", NULL, "2023-02-07T10:00:00Z" },
	{ "2023-02-07 10:00:01", NULL, "2023-02-07T10:00:01Z" },
	{ "2023/02/07 10:00:01", NULL, "2023-02-07T10:00:01Z" },
	{ "02/07/2023 10:00:01", NULL, "2023-02-07T10:00:01Z" },
	{ "2023-02-07 10:00:01.5 +0100 CET", NULL, "2023-02-07T10:00:01.5+01:00" },
	{ "Tue Feb 07 10:00:01.123456 2023", NULL, "2023-02-07T10:00:01.123456Z" },
	/* epoch fallback (TZ=UTC) */
	{ "1756494783", NULL, "2025-08-29T19:13:03Z" },
	{ "1756494783.25", NULL, "2025-08-29T19:13:03Z" },
	/* StrTimeFormat first */
	{ "0613 10:22:21.684962", "0102 15:04:05", "2026-06-13T10:22:21.684962Z" },
	{ "2022-02-13T10:42:17.813Z", "2006-01-02T15:04:05.999Z", "2022-02-13T10:42:17.813Z" },
	{ "06/13/2023, 3:04:05 PM", "01/02/2006, 3:04:05 PM", "2023-06-13T15:04:05Z" },
	{ "Mon Jan  2 15:04:05 2023", "Mon Jan _2 15:04:05 2006", "2023-01-02T15:04:05Z" },
	{ "2023-02-07 10:00:01,123", "2006-01-02 15:04:05,999999999", "2023-02-07T10:00:01.123Z" },
	/* failures */
	{ "", NULL, NULL },
	{ "not a date", NULL, NULL },
	{ "2023-02-30 10:00:00", NULL, NULL },
	{ "2023-02-07 10:00:01 trailing", NULL, NULL },
	{ "-5", NULL, NULL },
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct case_ *c = &cases[i];
		struct cs_time t;
		char buf[CS_TIME_STRLEN];
		int err = cs_dateparse(c->in, c->fmt, &now, &t);

		if (!c->want) {
			ASSERT_EQ(err, -EINVAL, c->in);
			continue;
		}
		if (!ASSERT_OK(err, c->in))
			continue;
		ASSERT_OK(cs_time_format(&t, buf, sizeof(buf)), c->in);
		ASSERT_STREQ(buf, c->want, c->in);
	}
}

static void test_layout_rules(void)
{
	struct cs_time t;
	bool has_year;

	/* A run of spaces matches a run of spaces. */
	ASSERT_OK(cs_time_parse_layout("Jan  2 15:04:05", "Feb 12 14:10:21", &t, &has_year),
		  "space run");
	ASSERT_TRUE(!has_year, "no year");
	/* 02 needs two digits, 2 accepts one. */
	ASSERT_EQ(cs_time_parse_layout("2006-01-02", "2023-1-02", &t, NULL), -EINVAL, "01 fixed");
	ASSERT_OK(cs_time_parse_layout("2006-1-2", "2023-1-2", &t, NULL), "1 and 2 loose");
	/* Hours are validated. */
	ASSERT_EQ(cs_time_parse_layout("15:04", "24:00", &t, NULL), -EINVAL, "hour range");
	/* Offsets move the instant. */
	ASSERT_OK(cs_time_parse_layout("2006-01-02T15:04:05Z07:00", "1970-01-01T01:00:00+01:00", &t,
				       NULL),
		  "offset");
	ASSERT_EQ(t.sec, 0, "epoch with +01:00");
	ASSERT_EQ(t.off, 3600, "offset kept");
}

/* MarshaledTime set to text (as a static does), then read as an instant. */
static int set_and_read(struct cs_event *e, const char *text, struct cs_time *out)
{
	int err = cs_event_set_str(&e->marshaled_time, text);

	return err ?: cs_event_marshaled_time(e, out);
}

static bool same_time(const struct cs_time *a, const struct cs_time *b)
{
	return a->sec == b->sec && a->nsec == b->nsec && a->off == b->off;
}

/*
 * The event remembers an instant beside its text only when that text reads back
 * as exactly the instant (a bucket takes the instant for the text): four-digit
 * local years, offsets in whole minutes up to 24:59; the rest is parsed as text.
 */
static void test_known_time(void)
{
	static const struct cs_time edges[] = {
		{ 1767225600, 0, 7200 },	   { 1767225600, 500000000, -19800 },
		{ -62167219200, 0, 0 },		   { -62167219200, 0, -60 },
		{ -62167219201, 0, 0 },		   { 253402300799, 999999999, 0 },
		{ 253402300800, 0, 0 },		   { 253402300799, 0, 60 },
		{ 1767225600, 0, 24 * 3600 + 59 * 60 }, { 1767225600, 0, 25 * 3600 },
		{ 1767225600, 0, 3601 },	   { 0, 1, 0 },
	};
	static const bool known[] = { true, true, true, false, false, true,
				      false, false, true, false, false, true };
	struct cs_event *e = NULL;
	char buf[CS_TIME_STRLEN];
	struct cs_time got;
	uint64_t x = 88172645463325252ULL;
	size_t bad = 0, nknown = 0;
	bool has_year;

	if (!ASSERT_OK(cs_event_new(&e), "event"))
		return;
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		ASSERT_OK(cs_event_format_time(e, &edges[i], buf, sizeof(buf)), "format");
		ASSERT_EQ(e->known_time.text[0] != '\0', known[i], buf);
	}
	/* random instants and zones: whatever is remembered reads back exactly */
	for (int i = 0; i < 20000; i++) {
		struct cs_time t;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		t.sec = (int64_t)(x % 400000000000ULL) - 100000000000LL;
		t.nsec = (int32_t)((x >> 20) % 1000000000);
		t.off = (int32_t)((x >> 40) % 200000) - 100000;
		if (i % 3)
			t.off -= t.off % 60;
		if (cs_event_format_time(e, &t, buf, sizeof(buf)) || !e->known_time.text[0])
			continue;
		nknown++;
		if (strcmp(buf, e->known_time.text) ||
		    cs_time_parse_layout("2006-01-02T15:04:05Z07:00", buf, &got, &has_year) ||
		    !same_time(&got, &t))
			bad++;
	}
	ASSERT_EQ(bad, 0, "remembered instants read back from their text");
	ASSERT_TRUE(nknown > 5000, "most random instants are remembered");
	/* another text in MarshaledTime is parsed, not taken for the instant */
	ASSERT_OK(cs_event_format_time(e, &edges[0], buf, sizeof(buf)), "format");
	ASSERT_OK(set_and_read(e, "2026-01-01T00:01:01.25-01:00", &got), "other text");
	ASSERT_TRUE(got.sec == 1767225600 + 3661 && got.nsec == 250000000 && got.off == -3600,
		    "other text parsed");
	ASSERT_OK(set_and_read(e, buf, &got), "the known text");
	ASSERT_TRUE(same_time(&got, &edges[0]), "the known instant");
	ASSERT_EQ(set_and_read(e, "", &got), -EINVAL, "empty MarshaledTime");
	ASSERT_EQ(set_and_read(e, "yesterday", &got), -EINVAL, "unreadable MarshaledTime");
	cs_event_free(e);
}

/*
 * A thread keeps its last date: the same text read again must give the same
 * answer, and a different year of `now`, format or text a new one.
 */
static void test_repeats(void)
{
	struct cs_time now25 = { .sec = 1735689600 + 86400 * 40 }, /* 2025-02-10 */
		       now26 = { .sec = 1767225600 + 86400 * 40 }, /* 2026-02-10 */
		       t;
	char buf[CS_TIME_STRLEN];

	for (int i = 0; i < 2; i++) {
		ASSERT_OK(cs_dateparse("Mar  2 00:00:01", NULL, &now25, &t), "2025");
		ASSERT_OK(cs_time_format(&t, buf, sizeof(buf)), "format");
		ASSERT_STREQ(buf, "2025-03-02T00:00:01Z", "the year of now");
		ASSERT_OK(cs_dateparse("Mar  2 00:00:01", NULL, &now26, &t), "2026");
		ASSERT_OK(cs_time_format(&t, buf, sizeof(buf)), "format");
		ASSERT_STREQ(buf, "2026-03-02T00:00:01Z", "another year of now, the same text");
		ASSERT_OK(cs_dateparse("Mar  2 00:00:01", NULL, &now26, &t), "again");
		ASSERT_OK(cs_time_format(&t, buf, sizeof(buf)), "format");
		ASSERT_STREQ(buf, "2026-03-02T00:00:01Z", "the same text again");
		ASSERT_OK(cs_dateparse("01/02/2006 15:04:05", "02/01/2006 15:04:05", &now26, &t), "fmt");
		ASSERT_OK(cs_time_format(&t, buf, sizeof(buf)), "format");
		ASSERT_STREQ(buf, "2006-02-01T15:04:05Z", "with a format");
		ASSERT_OK(cs_dateparse("01/02/2006 15:04:05", NULL, &now26, &t), "no fmt");
		ASSERT_OK(cs_time_format(&t, buf, sizeof(buf)), "format");
		ASSERT_STREQ(buf, "2006-01-02T15:04:05Z", "the same text without it");
		ASSERT_EQ(cs_dateparse("Mar  2 00:00:0x", NULL, &now26, &t), -EINVAL, "bad");
	}
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	test_cases();
	test_layout_rules();
	test_known_time();
	test_repeats();
	return TEST_SUMMARY();
}
