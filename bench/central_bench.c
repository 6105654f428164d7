// SPDX-License-Identifier: MIT
/*
 * crowdsec-central's engine, in process (the HTTP layer is the LAPI's, measured by
 * bench_lapi): signals ingested per second in batches of 50 (1.4.6's size) from
 * REPORTERS reporters over /24s; a blocklist of N listings; a member's startup pull
 * of it; its delta pull with nothing new; MEMBERS members each pulling a delta.
 *
 *   central_bench DIR N SIGNALS REPORTERS MEMBERS
 * Prints one line "key value unit" per figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "central/central.h"
#include "common/gotime.h"
#include "common/log.h"

#define SSH "crowdsecurity/ssh-bf"

static double secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of this process (the checkpointer's thread included): a figure a
 * busy machine disturbs less than the wall clock. */
static double cpu_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count(const struct central_entry *e, void *arg)
{
	(void)e;
	++*(long *)arg;
	return 0;
}

static int fill(struct central *c, long n, int64_t now)
{
	struct cs_central_store *st = central_store(c);
	char ip[32];
	int err = cs_db_central_begin(st);

	for (long i = 0; !err && i < n; i++) {
		struct cs_central_listing l = { .ip = ip, .scenarios = (char *)SSH,
						.listed_at = now - 60 * NSEC_PER_SEC,
						.updated_at = now - 60 * NSEC_PER_SEC,
						.until = now + 24 * 3600 * NSEC_PER_SEC };

		snprintf(ip, sizeof(ip), "%ld.%ld.%ld.%ld", 1 + i / 16581375 % 223,
			 i / 65025 % 255, i / 255 % 255, 1 + i % 254);
		err = cs_db_central_listing_put(st, &l);
	}
	return cs_db_central_end(st, err);
}

int main(int argc, char **argv)
{
	struct central_rules r;
	struct central *c = NULL;
	char path[512];
	long n, nsig, nrep, nmem, got = 0;
	int64_t now = gotime_now();
	double t;

	if (argc != 6) {
		fprintf(stderr, "usage: central_bench DIR N SIGNALS REPORTERS MEMBERS\n");
		return 2;
	}
	n = atol(argv[2]);
	nsig = atol(argv[3]);
	nrep = atol(argv[4]);
	nmem = atol(argv[5]);
	log_set_level(LOG_LVL_ERROR);
	central_rules_default(&r);
	r.rate_burst = 1e9; /* the rate limit is not what is measured */
	snprintf(path, sizeof(path), "%s/central.db", argv[1]);
	if (central_open(path, getenv("CENTRAL_PG_CONNINFO"), 0, &r, &c))
		return 1;

	/* (1) ingest: batches of 50, IPs from a pool so that consensus happens */
	struct cs_central_signal batch[50];
	char ips[50][32], who[32], from[32];
	long listed = 0;
	double cpu = cpu_secs();

	t = secs();
	for (long i = 0; i < nsig; i += 50) {
		struct central_ingest_result res;
		long rep = (i / 50) % nrep;

		for (int k = 0; k < 50; k++) {
			long v = (i + k) * 7919 % 20000;

			snprintf(ips[k], sizeof(ips[k]), "198.19.%ld.%ld", v / 250, 1 + v % 250);
			batch[k] = (struct cs_central_signal){ .ip = ips[k], .scenario = SSH,
							       .scenario_hash = "h",
							       .scenario_version = "1.0",
							       .start_at = now, .stop_at = now };
		}
		snprintf(who, sizeof(who), "reporter%ld", rep);
		snprintf(from, sizeof(from), "198.18.%ld.1", rep % 250);
		if (central_ingest(c, who, from, batch, 50, now + i, &res))
			return 1;
		listed += (long)res.listed;
	}
	t = secs() - t;
	cpu = cpu_secs() - cpu;
	printf("ingest_signals %ld signals\n", nsig);
	printf("ingest_rate %.0f signals/s\n", (double)nsig / t);
	printf("ingest_rate_cpu %.0f signals per CPU second\n", (double)nsig / cpu);
	printf("ingest_listed %ld listings\n", listed);

	/* (2) a large blocklist */
	t = secs();
	if (fill(c, n, now))
		return 1;
	printf("fill_time %.2f s (%ld listings, setup)\n", secs() - t, n);

	/* (3) startup pull */
	now += 3600 * NSEC_PER_SEC;
	t = secs();
	if (central_pull(c, "member0", SSH, true, now, count, &got))
		return 1;
	printf("startup_pull %.3f s (%ld entries)\n", secs() - t, got);

	/* (4) delta pulls with nothing new */
	int rounds = 200;

	t = secs();
	for (int i = 0; i < rounds; i++) {
		got = 0;
		if (central_pull(c, "member0", SSH, false, now + (i + 1) * 60 * NSEC_PER_SEC, count,
				 &got))
			return 1;
	}
	printf("delta_pull_empty %.3f ms (mean of %d, %ld entries in the last)\n",
	       (secs() - t) * 1e3 / rounds, rounds, got);

	/* (5) many members: each one delta (their first pull recorded beforehand) */
	struct cs_central_store *st = central_store(c);
	int64_t later = now + (rounds + 10) * 60 * NSEC_PER_SEC;

	if (cs_db_central_begin(st))
		return 1;
	for (long i = 0; i < nmem; i++) {
		struct cs_central_reporter m = { .id = who, .net = (char *)"", .trust = 0.4,
						 .last_pull = later - 60 * NSEC_PER_SEC };

		snprintf(who, sizeof(who), "member%ld", i + 1);
		cs_db_central_reporter_put(st, &m);
	}
	cs_db_central_end(st, 0);
	t = secs();
	for (long i = 0; i < nmem; i++) {
		snprintf(who, sizeof(who), "member%ld", i + 1);
		if (central_pull(c, who, SSH, false, later, count, &got))
			return 1;
	}
	t = secs() - t;
	printf("members %ld members\n", nmem);
	printf("members_delta_rate %.0f pulls/s\n", (double)nmem / t);
	central_close(c);
	return 0;
}
