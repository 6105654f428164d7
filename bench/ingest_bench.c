// SPDX-License-Identifier: MIT
/*
 * The LAPI's alert store in process, without HTTP: what the group-commit
 * writer (lapi/commit.c) spends per alert in cs_db_alerts_insert(), on a
 * database that may already hold an import (PREFILL decisions, one alert,
 * as `cscli decisions import` stores them). Alerts are shaped as the LAPI
 * hands them over after its profile: an agent's alert with its source, one
 * 4h ban on it, EVENTS events and META meta, owned by a validated machine.
 *
 *   ingest_bench DB PREFILL ALERTS GROUP EVENTS META
 * Prints "key value unit" lines: the writer thread's CPU per alert (this
 * thread; SQLite's own checkpoints run in it too), the wall time per alert,
 * the background checkpointer's CPU per alert. GROUP is the alerts of one
 * group commit (~500 at 50 alerts per POST with 10 connections, <= 10 at 1).
 * WAL_BOUND=frames in the environment: cs_db_sqlite_wal_bound().
 *
 * On a shared machine CPU time moves with the load by +-10%; instructions do
 * not: copy a prefilled database and count those of the inserts alone with
 *   valgrind --tool=callgrind --toggle-collect=cs_db_alerts_insert \
 *     ingest_bench COPY 0 5000 500 0 0
 * (user space only: the kernel's part of the WAL writes is not in it).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/gotime.h"
#include "common/log.h"
#include "db/db.h"

#define MACHINE "bench-machine"

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *fmt_ip(long i)
{
	char ip[32];

	snprintf(ip, sizeof(ip), "%ld.%ld.%ld.%ld", 100 + (i >> 24) % 100, (i >> 16) & 255,
		 (i >> 8) & 255, i & 255);
	return strdup(ip);
}

static int prefill(struct cs_db *db, long n, int64_t now)
{
	struct cs_alert *a = calloc(1, sizeof(*a));
	int64_t id;
	int err;

	a->scenario = strdup("import");
	a->start_at = a->stop_at = now;
	a->decisions = calloc((size_t)n, sizeof(*a->decisions));
	a->n_decisions = (size_t)n;
	for (long i = 0; i < n; i++) {
		struct cs_decision *d = &a->decisions[i];

		d->value = fmt_ip(4194304 + i); /* 100.64.0.0 + i */
		d->scope = strdup("Ip");
		d->type = strdup("ban");
		d->origin = strdup("cscli-import");
		d->scenario = strdup("bench-import");
		d->duration = 4 * 3600 * NSEC_PER_SEC;
	}
	err = cs_db_alerts_insert(db, &a, 1, NULL, now, &id);
	cs_alert_free(a);
	return err;
}

static struct cs_alert *agent_alert(long i, int64_t now, int events, int meta)
{
	struct cs_alert *a = calloc(1, sizeof(*a));
	char msg[96];

	if (!a)
		return NULL;
	a->machine_id = strdup(MACHINE);
	a->owner_must_be_validated = true;
	a->start_at = now - NSEC_PER_SEC;
	a->stop_at = now;
	a->src_value = fmt_ip(8388608 + i); /* 100.128.0.0 + i */
	a->src_scope = strdup("Ip");
	a->scenario = strdup("crowdsecurity/ssh-bf");
	a->scenario_hash = strdup("4441dcff07020f6690d998b7101e642359ba405c2abb83565bbbdcee36de280f");
	a->scenario_version = strdup("0.1");
	a->capacity = 5;
	a->leakspeed = strdup("10s");
	a->events_count = 6;
	a->src_ip = strdup(a->src_value);
	a->src_range = strdup("100.128.0.0/10");
	a->src_as_number = strdup("64496");
	a->src_as_name = strdup("BENCH-AS");
	a->src_cn = strdup("FR");
	snprintf(msg, sizeof(msg), "Ip %s performed 'crowdsecurity/ssh-bf' (6 events over 1s)",
		 a->src_value);
	a->message = strdup(msg);
	a->n_events = (size_t)events;
	a->events = calloc((size_t)events + 1, sizeof(*a->events));
	for (int e = 0; e < events; e++) {
		a->events[e].timestamp = now - (events - e) * NSEC_PER_SEC / 10;
		a->events[e].meta_json = strdup(
			"[{\"key\":\"ASNNumber\",\"value\":\"64496\"},{\"key\":\"IsInEU\",\"value\":\"true\"},"
			"{\"key\":\"SourceRange\",\"value\":\"100.128.0.0/10\"},{\"key\":\"log_type\","
			"\"value\":\"ssh_failed-auth\"},{\"key\":\"service\",\"value\":\"ssh\"},"
			"{\"key\":\"source_ip\",\"value\":\"100.128.0.1\"},{\"key\":\"target_user\","
			"\"value\":\"root\"},{\"key\":\"timestamp\",\"value\":\"2026-12-05T12:00:00Z\"}]");
	}
	a->n_meta = (size_t)meta;
	a->meta = calloc((size_t)meta + 1, sizeof(*a->meta));
	for (int m = 0; m < meta; m++) {
		a->meta[m].key = strdup("target_user");
		a->meta[m].value = strdup("[\"root\"]");
	}
	a->n_decisions = 1;
	a->decisions = calloc(1, sizeof(*a->decisions));
	a->decisions->value = strdup(a->src_value);
	a->decisions->scope = strdup("Ip");
	a->decisions->type = strdup("ban");
	a->decisions->origin = strdup("crowdsec");
	a->decisions->scenario = strdup(a->scenario);
	a->decisions->duration = 4 * 3600 * NSEC_PER_SEC;
	return a;
}

/* CPU seconds of this process's thread named name (SQLite's checkpointer), 0 if none. */
static double thread_cpu(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	double s = 0;

	while (d && (e = readdir(d))) {
		char path[300], comm[64] = "";
		unsigned long ut = 0, st = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		comm[strcspn(comm, "\n")] = 0;
		if (strcmp(comm, name))
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (fscanf(f, "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			   &st) == 2)
			s += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
		fclose(f);
	}
	if (d)
		closedir(d);
	return s;
}

int main(int argc, char **argv)
{
	struct cs_db *db = NULL;
	long arg[5], pre, n, group;
	int events, meta, err;
	int64_t now = gotime_now();
	double cpu = 0, wall = 0;

	for (int i = 0; i < 5 && argc == 7; i++)
		arg[i] = atol(argv[2 + i]);
	if (argc != 7 || arg[2] < 1 || arg[1] < arg[2] || arg[3] < 0 || arg[4] < 0 ||
	    arg[3] > 1000 || arg[4] > 1000) {
		fprintf(stderr, "usage: ingest_bench DB PREFILL ALERTS GROUP EVENTS META\n");
		return 2;
	}
	pre = arg[0];
	n = arg[1];
	group = arg[2];
	events = (int)arg[3];
	meta = (int)arg[4];
	log_set_level(LOG_LVL_WARN);
	if ((err = cs_db_open(argv[1], &db)) || (err = cs_db_sqlite_synchronous(db, false))) {
		fprintf(stderr, "open %s: %d\n", argv[1], err);
		return 1;
	}
	if (getenv("WAL_BOUND")) /* frames past which the writer checkpoints itself */
		cs_db_sqlite_wal_bound(db, atoi(getenv("WAL_BOUND")));
	(void)cs_db_machine_add(db, MACHINE, "x", "127.0.0.1", true, true, now);
	if (pre > 0 && (err = prefill(db, pre, now))) {
		fprintf(stderr, "prefill: %d\n", err);
		return 1;
	}
	for (long done = 0; done < n; done += group) {
		struct cs_alert **v = calloc((size_t)group, sizeof(*v));
		int64_t *ids = calloc((size_t)group, sizeof(*ids));
		double c0, w0;

		for (long i = 0; v && i < group; i++)
			if (!(v[i] = agent_alert(done + i, now, events, meta)))
				break;
		if (!v || !ids || !v[group - 1]) {
			fprintf(stderr, "out of memory\n");
			return 1;
		}
		c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
		w0 = clock_s(CLOCK_MONOTONIC);
		err = cs_db_alerts_insert(db, v, (size_t)group, NULL, now, ids);
		cpu += clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
		wall += clock_s(CLOCK_MONOTONIC) - w0;
		cs_alerts_free(v, (size_t)group);
		free(ids);
		if (err) {
			fprintf(stderr, "insert: %d\n", err);
			return 1;
		}
		now += NSEC_PER_SEC / 1000;
	}
	printf("writer_cpu_per_alert %.2f us\n", cpu * 1e6 / (double)n);
	printf("wall_per_alert %.2f us\n", wall * 1e6 / (double)n);
	printf("checkpointer_cpu_per_alert %.2f us\n", thread_cpu("sqlite-ckpt") * 1e6 / (double)n);
	cs_db_close(db);
	return 0;
}
