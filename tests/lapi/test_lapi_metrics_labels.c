// SPDX-License-Identifier: MIT
/*
 * The LAPI's Prometheus series: labels sorted by name as the Go client prints
 * them, values escaped (quote, backslash, newline), one series per label set
 * however often it is counted, an overlong value cut without overflowing.
 */
#include <stdlib.h>
#include <string.h>

#include "lapi/lapi_int.h"
#include "../lib/test.h"

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

int main(void)
{
	struct cs_metrics *m = cs_metrics_new(false);
	char *big = malloc(5000), *out;
	size_t len = 0;

	if (!ASSERT_TRUE(m && big, "metrics"))
		return TEST_SUMMARY();
	for (int i = 0; i < 3; i++)
		cs_metrics_inc(m, M_MACHINE_REQUESTS, "ag\"e\\nt\n1", "/v1/alerts", "POST");
	cs_metrics_inc(m, M_ROUTE_REQUESTS, "/v1/alerts", "POST", NULL);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	cs_metrics_inc(m, M_MACHINE_REQUESTS, big, big, big);
	cs_metrics_observe(m, "/v1/alerts", "POST", 0.001);
	out = cs_metrics_render(m, NULL, &len);
	if (ASSERT_TRUE(out != NULL, "rendered")) {
		ASSERT_TRUE(strstr(out, "cs_lapi_machine_requests_total{machine=\"ag\\\"e\\\\nt\\n1\","
					"method=\"POST\",route=\"/v1/alerts\"} 3\n") != NULL,
			    "sorted labels, escaped value, one series counted 3 times");
		ASSERT_TRUE(strstr(out, "cs_lapi_route_requests_total{method=\"POST\","
					"route=\"/v1/alerts\"} 1\n") != NULL,
			    "two labels sorted");
		ASSERT_TRUE(strstr(out, "endpoint=\"/v1/alerts\",method=\"POST\"") != NULL,
			    "histogram labels");
		ASSERT_EQ(count(out, "xxxxxxxxxx\""), (size_t)3, "each overlong value cut, closed");
		ASSERT_TRUE(strlen(out) == len, "length");
	}
	free(out);
	free(big);
	cs_metrics_free(m);
	return TEST_SUMMARY();
}
