// SPDX-License-Identifier: MIT
/* The detector's Prometheus registry: names, labels, escaping, histograms, the cap, threads. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "tests/lib/test.h"


static char *render(void)
{
	struct sbuf sb = { 0 };

	cs_dmetrics_render(&sb);
	return sb_take(&sb, NULL);
}

static void *adder(void *arg)
{
	for (int i = 0; i < 100000; i++)
		cs_metric_add(cs_metric_get(CSM_PARSER_HITS, "/var/log/x", "file", NULL), 1);
	return arg;
}

/* what the rendered page must hold after main()'s updates */
static const struct {
	const char *needle, *name;
} expected[] = {
	{ "# TYPE cs_filesource_hits_total counter\n",
	  "TYPE line" },
	{ "cs_filesource_hits_total{source=\"/var/log/auth.log\"} 3\n",
	  "file hits with its source" },
	{ "cs_node_hits_ok_total{source=\"/l\",type=\"file\","
	  "name=\"crowdsecurity/sshd-logs\"} 2\n",
	  "node labels in upstream's order" },
	{ "cs_bucket_overflowed_total{name=\"crowdsecurity/ssh-bf\"} 1\n",
	  "overflow by scenario" },
	{ "{source=\"a\\\"b\\\\c\\nd\"} 1\n",
	  "label escaping" },
	{ "cs_parsing_time_seconds_bucket{type=\"file\",source=\"/l\","
	  "le=\"0.001\"} 1\n",
	  "histogram bucket is cumulative" },
	{ "cs_parsing_time_seconds_bucket{type=\"file\",source=\"/l\","
	  "le=\"+Inf\"} 2\n",
	  "+Inf bucket counts everything" },
	{ "cs_parsing_time_seconds_count{type=\"file\",source=\"/l\"} 2\n",
	  "histogram count" },
	{ "# TYPE cs_scenario_cpu_seconds_total counter\n"
	  "cs_scenario_cpu_seconds_total{name=\"crowdsecurity/ssh-bf\"} 1.500000000\n",
	  "per-scenario time: kept in ns, shown in seconds" },
};

int main(void)
{
	struct cs_metric_series *a, *b;
	pthread_t th[2];
	char *txt;
	int n = 0;

	a = cs_metric_get(CSM_FILE_HITS, "/var/log/auth.log", NULL, NULL);
	b = cs_metric_get(CSM_FILE_HITS, "/var/log/auth.log", NULL, NULL);
	ASSERT_TRUE(a && a == b, "same labels give the same series");
	cs_metric_add(a, 3);
	cs_metric_add(cs_metric_get(CSM_NODE_OK, "/l", "file", "crowdsecurity/sshd-logs"), 2);
	cs_metric_add(cs_metric_get(CSM_BUCKET_OVERFLOWED, "crowdsecurity/ssh-bf", NULL, NULL), 1);
	cs_metric_add(cs_metric_get(CSM_FILE_HITS, "a\"b\\c\nd", NULL, NULL), 1);
	cs_metric_observe_ns(cs_metric_get(CSM_PARSING_TIME, "file", "/l", NULL), 700000);
	cs_metric_observe_ns(cs_metric_get(CSM_PARSING_TIME, "file", "/l", NULL), 50000000);
	cs_metric_add(cs_metric_get(CSM_SCENARIO_CPU, "crowdsecurity/ssh-bf", NULL, NULL), 1500000000);
	cs_metric_add(NULL, 1); /* a full registry's NULL is ignored */
	txt = render();
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		ASSERT_TRUE(txt && strstr(txt, expected[i].needle), expected[i].name);
	ASSERT_TRUE(txt && !strstr(txt, "cs_journalctlsource_hits_total"), "empty family left out");
	free(txt);

	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, adder, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ASSERT_EQ(atomic_load(&cs_metric_get(CSM_PARSER_HITS, "/var/log/x", "file", NULL)->value),
		  200000, "concurrent adds are not lost");

	/* a thread's kept observations, flushed: the series reads as if observed one by one */
	{
		static const uint64_t ns[] = { 700000, 50000000, 3, 700000, 99000000000ULL };
		struct cs_metric_series *one = cs_metric_get(CSM_PARSING_TIME, "file", "/one", NULL);
		struct cs_metric_series *kept = cs_metric_get(CSM_PARSING_TIME, "file", "/kept", NULL);
		struct cs_metric_hist h = { 0 };
		bool same;

		for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
			cs_metric_observe_ns(one, ns[i]);
			cs_metric_hist_observe(&h, ns[i]);
		}
		ASSERT_EQ(atomic_load(&kept->value), 0, "nothing added before the flush");
		cs_metric_hist_flush(kept, &h);
		same = one && kept && atomic_load(&one->value) == atomic_load(&kept->value) &&
		       atomic_load(&one->sum_ns) == atomic_load(&kept->sum_ns);
		for (int i = 0; same && i < CS_METRICS_NBUCKETS; i++)
			same = atomic_load(&one->bucket[i]) == atomic_load(&kept->bucket[i]);
		ASSERT_TRUE(same && atomic_load(&kept->value) == 5, "flushed histogram = observed one");
		ASSERT_EQ(h.n, 0, "the flush empties the kept observations");
		cs_metric_hist_flush(kept, &h);
		ASSERT_EQ(atomic_load(&kept->value), 5, "an empty flush adds nothing");
	}

	cs_dmetrics_reset();
	for (int i = 0; i < CS_METRICS_MAX_SERIES + 10; i++) {
		char l[32];

		snprintf(l, sizeof(l), "s%d", i);
		n += cs_metric_get(CSM_BUCKETS, l, NULL, NULL) != NULL;
	}
	ASSERT_EQ(n, CS_METRICS_MAX_SERIES, "the registry is capped");
	cs_dmetrics_reset();
	return TEST_SUMMARY();
}
