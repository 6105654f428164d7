// SPDX-License-Identifier: MIT
/*
 * The detector end to end in replay mode: a config dir in CrowdSec's layout (hub
 * parsers, our ssh-bf scenario), a log replayed through -dsn, alerts collected
 * from the callback. Also: a broken scenario fails the load with file:line.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "agent/agent.h"
#include "common/readfile.h"
#include "common/sha2.h"
#include "../lib/test.h"

static char hub[PATH_MAX], root[PATH_MAX];

static int put_link(const char *target, const char *link)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", link);
	*strrchr(dir, '/') = '\0';
	if (mkdir(dir, 0755) && errno != EEXIST) {
		char parent[PATH_MAX];

		snprintf(parent, sizeof(parent), "%s", dir);
		*strrchr(parent, '/') = '\0';
		mkdir(parent, 0755);
		mkdir(dir, 0755);
	}
	return symlink(target, link);
}

struct sink {
	int alerts;
	char first_source[64];
	char first_scenario[128];
	char first_version[32];
	long first_count;
};

static int on_alert(json_t *alerts, void *arg)
{
	struct sink *s = arg;
	size_t i;
	json_t *a;

	json_array_foreach(alerts, i, a) {
		if (!s->alerts++) {
			snprintf(s->first_source, sizeof(s->first_source), "%s",
				 json_string_value(json_object_get(json_object_get(a, "source"), "value")) ?: "");
			snprintf(s->first_scenario, sizeof(s->first_scenario), "%s",
				 json_string_value(json_object_get(a, "scenario")) ?: "");
			s->first_count = (long)json_integer_value(json_object_get(a, "events_count"));
			snprintf(s->first_version, sizeof(s->first_version), "%s",
				 json_string_value(json_object_get(a, "scenario_version")) ?: "(none)");
		}
	}
	return 0;
}

static void setup(void)
{
	char p[PATH_MAX * 2], t[PATH_MAX * 2];
	static const char *const parsers[][2] = {
		{ "s00-raw", "syslog-logs.yaml" },
		{ "s01-parse", "sshd-logs.yaml" },
		{ "s02-enrich", "dateparse-enrich.yaml" },
	};

	snprintf(root, sizeof(root), "/tmp/test_agent.XXXXXX");
	if (t_scratch_dir(root))
		exit(1);
	for (size_t i = 0; i < 3; i++) {
		snprintf(t, sizeof(t), "%s/parsers/%s/crowdsecurity/%s", hub, parsers[i][0], parsers[i][1]);
		snprintf(p, sizeof(p), "%s/parsers/%s/%s", root, parsers[i][0], parsers[i][1]);
		put_link(t, p);
	}
	snprintf(t, sizeof(t), "%s/patterns", hub);
	snprintf(p, sizeof(p), "%s/patterns", root);
	if (symlink(t, p))
		exit(1);
	/* the repository's own scenario (make test runs from the top of the tree) */
	{
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)))
			exit(1);
		snprintf(t, sizeof(t), "%s/scenarios/crowdsec-xdp/ssh-bf.yaml", cwd);
	}
	snprintf(p, sizeof(p), "%s/scenarios/ssh-bf.yaml", root);
	put_link(t, p);
}

static void write_log(const char *path, int attempts, const char *ip)
{
	FILE *f = fopen(path, "w");

	for (int i = 0; i < attempts; i++)
		fprintf(f, "Mar  2 00:00:%02d bastion sshd[%d]: Failed password for root from %s "
			   "port %d ssh2\n", i, 100 + i, ip, 40000 + i);
	/* a benign line and an unparsable one */
	fprintf(f, "Mar  2 00:01:00 bastion CRON[1]: pam_unix(cron:session): session opened\n");
	fprintf(f, "garbage \x01\x02 line\n");
	fclose(f);
}

/*
 * One replay of 12 failed logins with this hub index (NULL: none) on `workers`
 * threads (0: none), `budget` lines a round, each round followed by `ticks`
 * ticks as live mode's clock would; the sink's first alert, and the agent's
 * counters in *st when st is not NULL.
 */
static struct sink replay_ticking(const char *hub_index, struct cs_agent_stats *st,
				  unsigned int workers, int budget, int ticks)
{
	char log[PATH_MAX * 2], dsn[PATH_MAX * 2 + 8], err[512] = "";
	struct sink s = { 0 };
	struct cs_agent_opts o = { .config_dir = root, .type = "syslog", .on_alert = on_alert,
				   .arg = &s, .hub_index_path = hub_index, .workers = workers };
	struct cs_agent *a = NULL;
	int guard = 0;

	snprintf(log, sizeof(log), "%s/auth.log", root);
	write_log(log, 12, "198.18.0.66");
	snprintf(dsn, sizeof(dsn), "file://%s", log);
	o.dsn = dsn;
	if (!ASSERT_OK(cs_agent_new(&o, &a, err, sizeof(err)), "agent loads")) {
		fprintf(stderr, "     %s\n", err);
		return s;
	}
	while (!cs_agent_done(a) && guard++ < 1000) {
		cs_agent_process(a, budget);
		for (int i = 0; i < ticks; i++)
			cs_agent_tick(a);
	}
	cs_agent_finish(a);
	if (st)
		cs_agent_get_stats(a, st);
	cs_agent_free(a);
	return s;
}

static struct sink replay_with(const char *hub_index, struct cs_agent_stats *st)
{
	return replay_ticking(hub_index, st, 0, 100, 0);
}

struct ticking_run {
	pthread_mutex_t mu;
	pthread_cond_t done_cv;
	bool done;
	unsigned int workers;
	struct sink s;
};

static void *ticking_main(void *arg)
{
	struct ticking_run *r = arg;
	struct sink s = replay_ticking(NULL, NULL, r->workers, 5, 2);

	pthread_mutex_lock(&r->mu);
	r->s = s;
	r->done = true;
	pthread_cond_signal(&r->done_cv);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/*
 * Ticks queued behind batches no worker took yet (live mode's clock runs while
 * the reader is ahead) never keep those batches from being taken: the replay
 * ends, with the alert of a replay without ticks. A watchdog turns a hang into a
 * failure: the stuck agent cannot be freed, so the program stops there.
 */
static void test_ticks_behind_backlog(void)
{
	static const unsigned int workers[] = { 1, 2, 4 };
	struct sink plain = replay_with(NULL, NULL);

	for (size_t i = 0; i < sizeof(workers) / sizeof(workers[0]); i++) {
		struct ticking_run *r = calloc(1, sizeof(*r));
		struct timespec until;
		pthread_condattr_t ca;
		pthread_t th;
		int rc = 0;

		if (!ASSERT_TRUE(r != NULL, "run allocated"))
			return;
		pthread_mutex_init(&r->mu, NULL);
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&r->done_cv, &ca);
		pthread_condattr_destroy(&ca);
		r->workers = workers[i];
		if (!ASSERT_OK(pthread_create(&th, NULL, ticking_main, r), "replay thread"))
			return;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += 120;
		pthread_mutex_lock(&r->mu);
		while (!r->done && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&r->done_cv, &r->mu, &until);
		pthread_mutex_unlock(&r->mu);
		if (!r->done) {
			ASSERT_TRUE(r->done, "replay with 2 ticks every 5 lines ends (hung 120 s)");
			fprintf(stderr, "     with %u worker(s)\n", workers[i]);
			TEST_SUMMARY();
			_exit(1);
		}
		pthread_join(th, NULL);
		ASSERT_TRUE(plain.alerts >= 1, "brute force detected without ticks");
		ASSERT_EQ(r->s.alerts, plain.alerts, "as many alerts with ticks");
		ASSERT_STREQ(r->s.first_source, plain.first_source, "same alert source with ticks");
		ASSERT_STREQ(r->s.first_scenario, plain.first_scenario, "same scenario with ticks");
		ASSERT_EQ(r->s.first_count, plain.first_count, "same events count with ticks");
		pthread_cond_destroy(&r->done_cv);
		pthread_mutex_destroy(&r->mu);
		free(r);
	}
}

/*
 * The scenario's hub version on its alerts, as 1.4.6's detector stamps it: the
 * version whose digest is the installed file's (a symlink into the hub), "?"
 * when no version has it (tainted); none without an index.
 */
static void test_scenario_version(void)
{
	char path[PATH_MAX * 2], idx[PATH_MAX * 2], hash[65], *text = NULL, *doc = NULL;
	uint8_t digest[SHA256_LEN];
	size_t len = 0;
	struct sink s;

	snprintf(path, sizeof(path), "%s/scenarios/ssh-bf.yaml", root);
	if (!ASSERT_OK(cs_read_file(path, 1 << 20, &text, &len), "scenario read"))
		return;
	sha256(text, len, digest);
	hex_encode(digest, sizeof(digest), hash);
	free(text);
	snprintf(idx, sizeof(idx), "%s/index.json", root);
	if (asprintf(&doc, "{\"scenarios\":{\"crowdsec-xdp/ssh-bf\":{\"path\":"
			   "\"scenarios/crowdsec-xdp/ssh-bf.yaml\",\"versions\":{"
			   "\"0.1\":{\"digest\":\"00\"},\"0.3\":{\"digest\":\"%s\"},"
			   "\"0.10\":{\"digest\":\"%s\"}}}}}", hash, hash) < 0)
		return;
	ASSERT_OK(t_write_file(root, "index.json", doc), "index written");
	s = replay_with(idx, NULL);
	ASSERT_STREQ(s.first_version, "0.10", "the highest version with the file's digest");
	ASSERT_OK(t_write_file(root, "index.json", "{\"scenarios\":{}}"), "index written");
	s = replay_with(idx, NULL);
	ASSERT_STREQ(s.first_version, "?", "no version has the digest: tainted");
	s = replay_with(NULL, NULL);
	ASSERT_STREQ(s.first_version, "", "no index: no version");
	free(doc);
	unlink(idx);
}

static void test_replay(void)
{
	struct cs_agent_stats st = { 0 };
	struct sink s = replay_with(NULL, &st);

	ASSERT_EQ(st.lines, 14, "every line read");
	ASSERT_EQ(st.parsed, 12, "sshd lines parsed");
	ASSERT_TRUE(s.alerts >= 1, "brute force detected");
	ASSERT_STREQ(s.first_source, "198.18.0.66", "alert source");
	ASSERT_TRUE(strstr(s.first_scenario, "ssh-bf") != NULL, "alert scenario");
	ASSERT_TRUE(s.first_count > 0, "events counted");
}

static void test_bad_scenario(void)
{
	char p[PATH_MAX * 2], err[512] = "";
	struct cs_agent_opts o = { .config_dir = root, .dsn = "file:///dev/null", .type = "syslog" };
	struct cs_agent *a = NULL;

	snprintf(p, sizeof(p), "%s/scenarios/zz-broken.yaml", root);
	ASSERT_OK(t_write_file(root, "scenarios/zz-broken.yaml",
			       "type: leaky\nname: me/broken\nfilter: \"evt.Meta.x ==\"\n"
			       "capacity: 5\nleakspeed: 10s\nlabels:\n  remediation: true\n"),
		  "broken scenario written");
	ASSERT_TRUE(cs_agent_new(&o, &a, err, sizeof(err)) < 0, "broken scenario refused");
	ASSERT_TRUE(strstr(err, "zz-broken.yaml") != NULL, "error names the file");
	ASSERT_TRUE(a == NULL, "nothing returned");
	unlink(p);
}

/* simulation.yaml: a repeated `exclusions` key once wrote past the second list */
static void test_simulation_file(void)
{
	char p[PATH_MAX * 2], err[512] = "", **names = NULL;
	bool global = false;

	snprintf(p, sizeof(p), "%s/simulation.yaml", root);
	ASSERT_OK(t_write_file(root, "simulation.yaml",
			       "simulation: on\nexclusions:\n  - a/one\n  - a/two\n  - a/three\n"
			       "exclusions:\n  - b/last\n"), "simulation.yaml written");
	if (ASSERT_OK(cs_simulation_load(p, &names, &global, err, sizeof(err)), "loaded") &&
	    ASSERT_TRUE(names != NULL, "a list")) {
		ASSERT_TRUE(global, "simulation: on");
		ASSERT_STREQ(names[0], "b/last", "the last exclusions list wins");
		ASSERT_TRUE(names[1] == NULL, "and only it");
		for (size_t i = 0; names[i]; i++)
			free(names[i]);
		free(names);
	}
	ASSERT_OK(t_write_file(root, "simulation.yaml", "simulation: [\n"), "bad YAML written");
	ASSERT_TRUE(cs_simulation_load(p, &names, &global, err, sizeof(err)) < 0, "bad YAML refused");
	ASSERT_TRUE(strstr(err, "simulation.yaml:") != NULL, "error names the file and line");
	/* as upstream's yaml.Unmarshal into its struct: a list is an error, not "off" */
	ASSERT_OK(t_write_file(root, "simulation.yaml", "- a/one\n"), "a list written");
	ASSERT_EQ(cs_simulation_load(p, &names, &global, err, sizeof(err)), -EINVAL, "a list refused");
	ASSERT_TRUE(strstr(err, "simulation.yaml:1: not a mapping") != NULL, "error names the place");
	ASSERT_OK(t_write_file(root, "simulation.yaml", "# nothing yet\n"), "an empty file written");
	ASSERT_OK(cs_simulation_load(p, &names, &global, err, sizeof(err)), "an empty file: off");
	ASSERT_TRUE(!names && !global, "nothing in simulation");
	unlink(p);
}

/* acquisition_dir: its *.yaml and *.yml files (as upstream), nothing else */
static void test_acquis_dir(void)
{
	char dir[PATH_MAX * 2], err[512] = "";
	struct cs_agent_opts o = { .config_dir = root, .acquis_dir = dir };
	struct cs_agent *a = NULL;

	snprintf(dir, sizeof(dir), "%s/acquis.d", root);
	ASSERT_OK(mkdir(dir, 0755), "acquis.d made");
	ASSERT_OK(t_write_file(root, "acquis.d/a.yaml",
			       "filenames:\n  - /dev/null\nlabels:\n  type: syslog\n"),
		  "a.yaml written");
	ASSERT_OK(t_write_file(root, "acquis.d/notes.txt", "not: [yaml\n"), "notes.txt written");
	if (ASSERT_OK(cs_agent_new(&o, &a, err, sizeof(err)), "*.yaml read, other files not"))
		cs_agent_free(a);
	else
		fprintf(stderr, "     %s\n", err);
	a = NULL;
	ASSERT_OK(t_write_file(root, "acquis.d/b.yml", "source: nosuch\n"), "b.yml written");
	ASSERT_TRUE(cs_agent_new(&o, &a, err, sizeof(err)) < 0, "*.yml read too");
	ASSERT_TRUE(strstr(err, "b.yml") != NULL, "its error names the file");
	cs_agent_free(a);
}

int main(void)
{
	snprintf(hub, sizeof(hub), "%s", t_shared("hub"));
	if (access(hub, F_OK)) {
		TEST_SKIP(1, "hub not found (SHARED_DIR)");
		return TEST_SUMMARY();
	}
	{
		char abs[PATH_MAX];

		if (!realpath(hub, abs))
			return 1;
		snprintf(hub, sizeof(hub), "%s", abs);
	}
	setup();
	test_replay();
	test_ticks_behind_backlog();
	test_scenario_version();
	test_bad_scenario();
	test_simulation_file();
	test_acquis_dir();
	return TEST_SUMMARY();
}
