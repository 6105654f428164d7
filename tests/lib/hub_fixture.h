/* SPDX-License-Identifier: MIT */
/*
 * What the hub test programs (tests/hub/test_hubtest*.c) share around their
 * run: the shared hub, GeoIP databases for the tests whose parsers name them
 * (tests/lib/geoip_fixture.h), UTC; then the run's summary as the program's
 * counts, the databases removed and expr's caches freed.
 *
 *   struct t_hub h;
 *   t_hub_open(&h);
 *   hubtest_run_all(&h.o, names, n, &sum);
 *   return t_hub_close(&h, &sum);
 */
#ifndef CS_TEST_HUB_FIXTURE_H
#define CS_TEST_HUB_FIXTURE_H

#include <stdbool.h>

#include "hubtest/hubtest.h"

struct t_hub {
	struct hubtest_opts o; /* hub_dir, geoip_dir (NULL: none), verbose */
	char geoip[256];
	bool made;
};

void t_hub_open(struct t_hub *h);
/* Adds sum to the test counts, cleans up; returns TEST_SUMMARY(). */
int t_hub_close(struct t_hub *h, const struct hubtest_summary *sum);

#endif /* CS_TEST_HUB_FIXTURE_H */
