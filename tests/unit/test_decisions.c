// SPDX-License-Identifier: MIT
/* The bouncer's decision model: overlaps, deletes, expiry, and what it reports. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "bouncer/decisions.h"
#include "../lib/test.h"

struct log {
	int n;
	struct deffect last;
};

static void record(const struct deffect *e, void *arg)
{
	struct log *l = arg;

	l->n++;
	l->last = *e;
}

static struct cs_prefix P(const char *s)
{
	struct cs_prefix p;

	cs_prefix_parse(s, CS_PREFIX_STRICT, &p);
	return p;
}

static void test_overlaps(void)
{
	struct dmodel *m = NULL;
	struct log lg = {};
	struct cs_prefix a = P("198.18.0.1");

	if (!ASSERT_OK(dmodel_new(&m), "new"))
		return;
	dmodel_add(m, &a, 1, 1000, 0, record, &lg);
	ASSERT_EQ(lg.n, 1, "first decision reported");
	ASSERT_TRUE(lg.last.present, "present");
	ASSERT_EQ(lg.last.expires, 1000, "expiry of the only decision");
	dmodel_add(m, &a, 2, 5000, 1, record, &lg);
	ASSERT_EQ(lg.n, 2, "longer decision changes the entry");
	ASSERT_EQ(lg.last.expires, 5000, "longest wins");
	ASSERT_EQ(lg.last.origin, 1, "origin of the longest");
	dmodel_add(m, &a, 3, 2000, 2, record, &lg);
	ASSERT_EQ(lg.n, 2, "shorter third decision changes nothing");
	ASSERT_EQ(dmodel_decisions(m), 3, "three decisions");
	ASSERT_EQ(dmodel_prefixes(m), 1, "one prefix");

	dmodel_del(m, &a, 2, record, &lg);
	ASSERT_EQ(lg.n, 3, "deleting the longest is reported");
	ASSERT_TRUE(lg.last.present, "still banned by the others");
	ASSERT_EQ(lg.last.expires, 2000, "next longest takes over");
	ASSERT_EQ(lg.last.id, 3, "its id");
	dmodel_del(m, &a, 2, record, &lg);
	ASSERT_EQ(lg.n, 3, "re-sent deletion is a no-op");
	dmodel_del(m, &a, 99, record, &lg);
	ASSERT_EQ(lg.n, 3, "unknown id is a no-op");
	dmodel_del(m, &a, 1, record, &lg);
	ASSERT_EQ(lg.n, 3, "deleting a shorter one changes nothing");
	dmodel_del(m, &a, 3, record, &lg);
	ASSERT_EQ(lg.n, 4, "last deletion reported");
	ASSERT_TRUE(!lg.last.present, "gone");
	ASSERT_EQ(dmodel_prefixes(m), 0, "no prefix left");
	dmodel_free(m);
}

static void test_expiry(void)
{
	struct dmodel *m = NULL;
	struct log lg = {};
	struct cs_prefix a = P("198.18.0.1"), r = P("198.18.0.0/24"), v6 = P("2001:db8::/64");

	if (!ASSERT_OK(dmodel_new(&m), "new"))
		return;
	dmodel_add(m, &a, 1, 100, 0, NULL, NULL);
	dmodel_add(m, &a, 2, 300, 0, NULL, NULL);
	dmodel_add(m, &r, 3, 200, 0, NULL, NULL);
	dmodel_add(m, &v6, 4, 400, 0, NULL, NULL);
	ASSERT_EQ(dmodel_next_expiry(m), 100, "next expiry");
	dmodel_expire(m, 50, record, &lg);
	ASSERT_EQ(lg.n, 0, "nothing expired yet");
	dmodel_expire(m, 100, record, &lg);
	ASSERT_EQ(lg.n, 0, "shorter of two expired silently");
	ASSERT_EQ(dmodel_decisions(m), 3, "one decision gone");
	dmodel_expire(m, 250, record, &lg);
	ASSERT_EQ(lg.n, 1, "range expired");
	ASSERT_TRUE(!lg.last.present && lg.last.prefix.plen == 24, "the /24 is removed");
	dmodel_expire(m, 1000, record, &lg);
	ASSERT_EQ(lg.n, 3, "the rest expired");
	ASSERT_EQ(dmodel_prefixes(m), 0, "empty");
	ASSERT_EQ(dmodel_next_expiry(m), UINT64_MAX, "no next expiry");
	dmodel_free(m);
}

static int count;
static void counter(const struct deffect *e, void *arg)
{
	(void)arg;
	count += e->present;
}

static void test_many(void)
{
	struct dmodel *m = NULL;
	enum { N = 200000 };

	if (!ASSERT_OK(dmodel_new(&m), "new"))
		return;
	for (uint32_t i = 0; i < N; i++) {
		struct cs_prefix p = { .family = 2, .plen = 32 };

		p.addr[0] = 198, p.addr[1] = (uint8_t)(18 + (i >> 16)), p.addr[2] = (uint8_t)(i >> 8);
		p.addr[3] = (uint8_t)i;
		dmodel_add(m, &p, i, 1000 + i, 0, NULL, NULL);
		if (i % 2)
			dmodel_del(m, &p, i, NULL, NULL);
	}
	ASSERT_EQ(dmodel_prefixes(m), N / 2, "half remain after churn");
	count = 0;
	dmodel_for_each(m, counter, NULL);
	ASSERT_EQ(count, N / 2, "walk sees them");
	dmodel_expire(m, 1000 + N / 2 - 1, NULL, NULL);
	ASSERT_EQ(dmodel_prefixes(m), N / 4, "expiry removes the older half");
	dmodel_clear(m);
	ASSERT_EQ(dmodel_decisions(m), 0, "clear");
	dmodel_free(m);
	dmodel_free(NULL);
}

/*
 * Expiry looks at what is due, not at the whole model: with 100k decisions expiring
 * one a second, a pass visits the few due (and the stale items churn left behind,
 * bounded by it), and removes exactly those.
 */
static void test_expiry_visits(void)
{
	struct dmodel *m = NULL;
	enum { N = 100000 };
	const uint64_t s = 1000000000ULL;
	size_t visited;

	if (!ASSERT_OK(dmodel_new(&m), "new"))
		return;
	for (uint32_t i = 0; i < N; i++) {
		struct cs_prefix p = { .family = AF_INET, .plen = 32 };

		p.addr[0] = 198, p.addr[1] = (uint8_t)(18 + (i >> 16)), p.addr[2] = (uint8_t)(i >> 8);
		p.addr[3] = (uint8_t)i;
		dmodel_add(m, &p, i + 1, (1000 + i) * s, 0, NULL, NULL);
	}
	ASSERT_EQ(dmodel_next_expiry(m), 1000 * s, "next expiry: the first");
	visited = dmodel_expire(m, 1009 * s, NULL, NULL);
	ASSERT_EQ(visited, 10, "ten due, ten visited");
	ASSERT_EQ(dmodel_prefixes(m), N - 10, "ten gone");
	ASSERT_EQ(dmodel_next_expiry(m), 1010 * s, "next expiry: the eleventh");
	visited = dmodel_expire(m, 1009 * s, NULL, NULL);
	ASSERT_EQ(visited, 0, "nothing due: nothing visited");
	/* churn: the next 100 are extended past the end (stale items stay behind) */
	for (uint32_t i = 10; i < 110; i++) {
		struct cs_prefix p = { .family = AF_INET, .plen = 32 };

		p.addr[0] = 198, p.addr[1] = (uint8_t)(18 + (i >> 16)), p.addr[2] = (uint8_t)(i >> 8);
		p.addr[3] = (uint8_t)i;
		dmodel_add(m, &p, i + 1, (1000 + N + i) * s, 0, NULL, NULL);
	}
	visited = dmodel_expire(m, 1119 * s, NULL, NULL);
	ASSERT_TRUE(visited >= 10 && visited <= 210, "the due and the stale, not the model");
	ASSERT_EQ(dmodel_prefixes(m), N - 20, "only the ten due since went (the extended stay)");
	visited = dmodel_expire(m, (1000 + 2 * N) * s, NULL, NULL);
	ASSERT_EQ(dmodel_prefixes(m), 0, "all gone at the end");
	ASSERT_EQ(dmodel_next_expiry(m), UINT64_MAX, "none left to expire");
	dmodel_free(m);
}

/* A resync against what the data plane holds writes only what differs. */
static void test_resync(void)
{
	struct dmodel *m = NULL;
	struct log lg = {};
	struct cs_prefix same = P("198.18.0.1"), moved = P("198.18.0.2"), stale = P("198.18.0.3"),
			 fresh = P("198.18.4.0/24"), unknown = P("2001:db8::1");
	const uint64_t s = 1000000000ULL;

	if (!ASSERT_OK(dmodel_new(&m), "new"))
		return;
	/* the dump: four entries in place */
	dmodel_applied(m, &same, 1, 100 * s, 2);
	dmodel_applied(m, &moved, 2, 100 * s, 2);
	dmodel_applied(m, &stale, 3, 100 * s, 2);
	dmodel_applied(m, &unknown, 0, 100 * s, 0); /* nftables: no id */
	ASSERT_EQ(dmodel_prefixes(m), 4, "dump loaded");
	ASSERT_EQ(dmodel_decisions(m), 0, "no decision yet");
	dmodel_begin_resync(m);
	/* the same decision, its expiry recomputed a second later: nothing to write */
	dmodel_add(m, &same, 1, 101 * s, 2, record, &lg);
	ASSERT_EQ(lg.n, 0, "same decision again: nothing written");
	dmodel_add(m, &unknown, 9, 100 * s + s / 2, 1, record, &lg);
	ASSERT_EQ(lg.n, 0, "unknown id, same expiry: nothing written");
	{
		struct cs_prefix far = P("198.18.0.9");
		struct log lf = {};

		dmodel_applied(m, &far, 7, 100 * s, 2);
		dmodel_add(m, &far, 7, 100 * s + DMODEL_EXPIRY_SLACK_NS + s, 2, record, &lf);
		ASSERT_EQ(lf.n, 1, "same id, expiry past the slack: written");
		dmodel_forget(m, &far);
	}
	/* another id: written */
	dmodel_add(m, &moved, 5, 100 * s, 2, record, &lg);
	ASSERT_EQ(lg.n, 1, "other id: written");
	ASSERT_EQ(lg.last.id, 5, "with its id");
	/* an expiry far off: written */
	dmodel_add(m, &fresh, 6, 50 * s, 1, record, &lg);
	ASSERT_EQ(lg.n, 2, "new prefix: written");
	ASSERT_TRUE(lg.last.present, "new prefix present");
	dmodel_end_resync(m, record, &lg);
	ASSERT_EQ(lg.n, 3, "one stale entry removed");
	ASSERT_TRUE(!lg.last.present && cs_prefix_equal(&lg.last.prefix, &stale), "the stale one");
	ASSERT_EQ(dmodel_prefixes(m), 4, "four prefixes after resync");
	ASSERT_EQ(dmodel_decisions(m), 4, "four decisions after resync");
	/* a second resync with the same state writes nothing at all */
	lg.n = 0;
	dmodel_begin_resync(m);
	dmodel_add(m, &same, 1, 100 * s, 2, record, &lg);
	dmodel_add(m, &moved, 5, 100 * s, 2, record, &lg);
	dmodel_add(m, &fresh, 6, 50 * s, 1, record, &lg);
	dmodel_add(m, &unknown, 9, 100 * s, 1, record, &lg);
	dmodel_end_resync(m, record, &lg);
	ASSERT_EQ(lg.n, 0, "unchanged resync: nothing written");
	/* applied-only entries expire too */
	dmodel_applied(m, &stale, 3, 10 * s, 2);
	dmodel_expire(m, 20 * s, record, &lg);
	ASSERT_EQ(lg.n, 1, "applied-only entry expired");
	ASSERT_TRUE(!dmodel_has(m, &stale), "and is gone");
	dmodel_forget(m, &fresh);
	ASSERT_EQ(dmodel_prefixes(m), 3, "forget");
	dmodel_free(m);
}

/*
 * Random adds, deletes, expiries and resyncs on 200 prefixes, against a plain
 * reference: after every step the effects reported so far must leave the "data
 * plane" equal to the reference's longest-lived decision per prefix.
 */
enum { RP = 200, RD = 8 };
struct ref {
	uint64_t id[RP][RD], exp[RP][RD];
	int n[RP];
};
struct plane {
	bool present[RP];
	uint64_t exp[RP], id[RP];
};

static int pidx(const struct cs_prefix *p)
{
	return p->addr[2] * 256 + p->addr[3];
}

static void to_plane(const struct deffect *e, void *arg)
{
	struct plane *pl = arg;
	int i = pidx(&e->prefix);

	pl->present[i] = e->present;
	pl->exp[i] = e->expires;
	pl->id[i] = e->id;
}

static void test_random_against_reference(void)
{
	static struct ref r;
	static struct plane pl;
	struct dmodel *m = NULL;
	unsigned seed = 12345, bad = 0;
	uint64_t now = 1, next_id = 1;

	if (!ASSERT_OK(dmodel_new(&m), "new"))
		return;
	for (int step = 0; step < 40000 && !bad; step++) {
		int op = (int)(rand_r(&seed) % 100), i = (int)(rand_r(&seed) % RP);
		struct cs_prefix p = { .family = AF_INET, .plen = 32, .addr = { 198, 18, (uint8_t)(i / 256), (uint8_t)(i % 256) } };

		if (op < 55 && r.n[i] < RD) {
			uint64_t e = now + 1 + rand_r(&seed) % 500;

			r.id[i][r.n[i]] = next_id;
			r.exp[i][r.n[i]++] = e;
			dmodel_add(m, &p, next_id++, e, 0, to_plane, &pl);
		} else if (op < 85 && r.n[i]) {
			int k = (int)(rand_r(&seed) % (unsigned)r.n[i]);

			dmodel_del(m, &p, r.id[i][k], to_plane, &pl);
			r.id[i][k] = r.id[i][r.n[i] - 1];
			r.exp[i][k] = r.exp[i][--r.n[i]];
		} else if (op < 98) {
			now += rand_r(&seed) % 20;
			dmodel_expire(m, now, to_plane, &pl);
			for (int j = 0; j < RP; j++)
				for (int k = 0; k < r.n[j];)
					if (r.exp[j][k] <= now) {
						r.id[j][k] = r.id[j][r.n[j] - 1];
						r.exp[j][k] = r.exp[j][--r.n[j]];
					} else {
						k++;
					}
		} else {
			/* a full resync that says the same: nothing may change */
			dmodel_begin_resync(m);
			for (int j = 0; j < RP; j++) {
				struct cs_prefix q = { .family = AF_INET, .plen = 32, .addr = { 198, 18, (uint8_t)(j / 256), (uint8_t)(j % 256) } };

				for (int k = 0; k < r.n[j]; k++)
					dmodel_add(m, &q, r.id[j][k], r.exp[j][k], 0, to_plane, &pl);
			}
			dmodel_end_resync(m, to_plane, &pl);
		}
		for (int j = 0; j < RP; j++) {
			uint64_t best = 0, bid = 0;

			for (int k = 0; k < r.n[j]; k++)
				if (r.exp[j][k] > best)
					best = r.exp[j][k], bid = r.id[j][k];
			if (pl.present[j] != (r.n[j] > 0) || (r.n[j] && pl.exp[j] != best) ||
			    dmodel_has(m, &(struct cs_prefix){ .family = AF_INET, .plen = 32,
							       .addr = { 198, 18, (uint8_t)(j / 256), (uint8_t)(j % 256) } }) != (r.n[j] > 0)) {
				fprintf(stderr, "     step %d prefix %d: plane %d/%llu, reference %d/%llu (id %llu)\n", step, j,
					pl.present[j], (unsigned long long)pl.exp[j], r.n[j], (unsigned long long)best,
					(unsigned long long)bid);
				bad++;
				break;
			}
		}
	}
	ASSERT_EQ(bad, 0, "random operations: the reported effects match a plain reference");
	dmodel_free(m);
}

int main(void)
{
	test_random_against_reference();
	test_overlaps();
	test_expiry();
	test_expiry_visits();
	test_many();
	test_resync();
	return TEST_SUMMARY();
}
