// SPDX-License-Identifier: MIT
/*
 * Live buckets per GiB (not a test): SOURCES distinct addresses poured into the
 * first scenario of a hub file (crowdsecurity/ssh-bf: leaky, capacity 5) with
 * the Meta the hub's sshd parsers give (one user name per source), in replay mode, with the engine's default
 * limits. Round after round every source gets one event, 100 ns apart in event
 * time, until each is one event short of overflowing (capacity events), then
 * (unless -flood) the last round, where every one must overflow.
 *   bucket_mem SCENARIO.yaml SOURCES          the live-bucket table row
 *   bucket_mem SCENARIO.yaml SOURCES -flood   one event per source (a flood of
 *                                             unique sources: memory stays bounded)
 * Prints: sources events live_short overflows evicted peak_rss_mib seconds
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bucket/bucket.h"
#include "common/strmap.h"
#include "parser/dateparse.h"

static unsigned long overflows;

static int count(const struct cs_event *ovf, void *arg)
{
	(void)ovf;
	(void)arg;
	overflows++;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The first YAML document of the file. */
static char *first_doc(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL, *sep;
	size_t len = 0;

	if (!f || getdelim(&text, &len, '\0', f) < 0) {
		if (f)
			fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
	if ((sep = strstr(text, "\n---")))
		sep[1] = '\0';
	return text;
}

int main(int argc, char **argv)
{
	struct cs_bucket_opts o = { .mode = CS_BUCKET_REPLAY, .on_overflow = count };
	struct cs_buckets *b = NULL;
	struct cs_bucket_stats st;
	struct cs_event *evt = NULL;
	unsigned long n, events = 0;
	bool flood = argc == 4 && !strcmp(argv[3], "-flood");
	int rounds = 1, capacity = 5;
	size_t live_short = 0;
	char *doc, ip[32], ts[CS_TIME_STRLEN];
	struct rusage ru;
	double t0;

	if (argc < 3 || (argc == 4 && !flood)) {
		fprintf(stderr, "usage: bucket_mem SCENARIO.yaml SOURCES [-flood]\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	doc = first_doc(argv[1]);
	if (!doc || cs_buckets_new(&o, &b) || cs_buckets_load_string(b, argv[1], doc)) {
		fprintf(stderr, "bucket_mem: %s: %s\n", argv[1], b ? cs_buckets_last_error(b) : "");
		return 1;
	}
	if (strstr(doc, "capacity:"))
		capacity = atoi(strstr(doc, "capacity:") + 9);
	if (!flood)
		rounds = capacity + 1;
	if (cs_event_new(&evt))
		return 1;
	/* what crowdsecurity/syslog-logs + sshd-logs put in Meta for a failed password */
	strmap_set(evt->meta, "datasource_path", "/var/log/auth.log");
	strmap_set(evt->meta, "datasource_type", "file");
	strmap_set(evt->meta, "log_type", "ssh_failed-auth");
	strmap_set(evt->meta, "machine", "web-1");
	strmap_set(evt->meta, "service", "ssh");
	strmap_set(evt->meta, "target_user", "root");
	strmap_set(evt->meta, "source_ip", "");
	strmap_set(evt->meta, "timestamp", "");
	t0 = now_s();
	for (int r = 0; r < rounds; r++) {
		if (r == rounds - 1 && !flood) {
			cs_buckets_get_stats(b, &st);
			live_short = st.live;
		}
		for (unsigned long i = 0; i < n; i++) {
			/* 198.18.0.0/15 then 2001:db8::/32 past 131072 sources */
			struct cs_time t = { .sec = 1700000000 + (int64_t)(events / 10000000),
					     .nsec = (int32_t)(events % 10000000) * 100 };

			if (i < 131072)
				snprintf(ip, sizeof(ip), "198.%lu.%lu.%lu", 18 + (i >> 16),
					 (i >> 8) & 255, i & 255);
			else
				snprintf(ip, sizeof(ip), "2001:db8::%lx:%lx", i >> 16, i & 0xffff);
			cs_time_format(&t, ts, sizeof(ts));
			evt->time = t;
			if (strmap_set(evt->meta, "source_ip", ip) ||
			    strmap_set(evt->meta, "timestamp", ts) || /* dateparse-enrich */
			    cs_event_set_str(&evt->marshaled_time, ts) || cs_buckets_pour(b, evt))
				return 1;
			events++;
		}
	}
	cs_buckets_get_stats(b, &st);
	if (flood)
		live_short = st.live;
	getrusage(RUSAGE_SELF, &ru);
	printf("%lu %lu %zu %lu %llu %.0f %.1f\n", n, events, live_short, overflows,
	       (unsigned long long)st.evicted, ru.ru_maxrss / 1024.0, now_s() - t0);
	cs_event_free(evt);
	cs_buckets_free(b);
	free(doc);
	return 0;
}
