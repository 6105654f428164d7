// SPDX-License-Identifier: MIT
/* The hub test programs' set-up and tear-down (see hub_fixture.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "expr/expr.h"
#include "geoip_fixture.h"
#include "hub_fixture.h"
#include "test.h"

void t_hub_open(struct t_hub *h)
{
	memset(h, 0, sizeof(*h));
	h->o.hub_dir = t_shared("hub");
	h->o.verbose = true;
	h->o.geoip_dir = t_geoip_for_hub(h->geoip, sizeof(h->geoip), &h->made);
	setenv("TZ", "UTC", 1);
	tzset();
}

int t_hub_close(struct t_hub *h, const struct hubtest_summary *sum)
{
	t_pass += sum->passed;
	t_fail += sum->failed;
	t_skip += sum->skipped;
	if (h->made)
		t_geoip_remove(h->geoip);
	expr_cleanup();
	return TEST_SUMMARY();
}
