// SPDX-License-Identifier: MIT
/*
 * crowdsec: composition root of the detector and the Local API, with CrowdSec's
 * command line:
 *
 *   crowdsec [-c config.yaml]                    detector + LAPI (daemon)
 *   crowdsec -t                                  test the whole configuration
 *   crowdsec -dsn file:///x.log -type nginx      one-shot replay on event time
 *   crowdsec -no-api | -no-cs                    detector only (pushes to a remote
 *                                                LAPI) | LAPI only
 *   -stdout-alerts                               (ours) alerts as JSON lines on
 *                                                stdout instead of the LAPI
 *   -workers N                                   (ours) detector threads; default
 *                                                crowdsec_service.detector_workers,
 *                                                else the number of CPUs
 *
 * One thread reads for the detector on an epoll loop (acquisition fd, a 1 s timer
 * for bucket housekeeping, signals) and hands the lines to the detector's worker
 * threads (parse, scenarios); the LAPI runs its own threads and owns the
 * database. Alerts cross over through the LAPI's queue (cs_lapi_alerts_enqueue_json).
 * SIGHUP rebuilds the detector from the files and swaps it in only if it loads;
 * the acquisition (open files, offsets) carries over, so no line is lost or read
 * twice. SIGTERM/SIGINT stop cleanly: queued alerts are stored first.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <jansson.h>

#include "agent/agent.h"
#include "agent/lapi_push.h"
#include "common/log.h"
#include "common/yamljson.h"
#include "lapi/lapi.h"
#include "profiles/profiles.h"

#define MAX_LABELS 16
#define MAX_WORKERS 64

struct opts {
	const char *config;
	const char *dsn, *type;
	const char *labels[MAX_LABELS];
	size_t nlabels;
	long workers; /* -workers; 0: not given */
	bool test_only, no_api, no_cs, stdout_alerts, level_set;
};

struct sink {
	struct cs_lapi *lapi;
	struct lapi_push *push;
	char machine_id[128];
	unsigned long sent, failed;
	bool replay; /* -dsn: stdout is flushed when the run ends, not after each alert */
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: crowdsec [-c CONFIG] [-t] [-dsn DSN -type TYPE [-label k:v]...]\n"
		   "                [-no-api] [-no-cs] [-stdout-alerts] [-workers N]\n"
		   "                [-debug|-info|-warning|-error]\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;

		if (a[0] == '-' && a[1] == '-')
			a++; /* Go's flag package takes -x and --x */
		if (!strcmp(a, "-c") && has_val)
			o->config = argv[++i];
		else if (!strcmp(a, "-dsn") && has_val)
			o->dsn = argv[++i];
		else if (!strcmp(a, "-type") && has_val)
			o->type = argv[++i];
		else if (!strcmp(a, "-label") && has_val && o->nlabels < MAX_LABELS)
			o->labels[o->nlabels++] = argv[++i];
		else if (!strcmp(a, "-workers") && has_val) {
			char *end;

			o->workers = strtol(argv[++i], &end, 10);
			if (*end || o->workers < 1 || o->workers > MAX_WORKERS) {
				fprintf(stderr, "crowdsec: -workers takes 1 to %d\n", MAX_WORKERS);
				return -EINVAL;
			}
		} else if (!strcmp(a, "-t"))
			o->test_only = true;
		else if (!strcmp(a, "-no-api"))
			o->no_api = true;
		else if (!strcmp(a, "-no-cs"))
			o->no_cs = true;
		else if (!strcmp(a, "-stdout-alerts"))
			o->stdout_alerts = true;
		else if (!strcmp(a, "-debug") || !strcmp(a, "-trace") || !strcmp(a, "-info") ||
			 !strcmp(a, "-warning") || !strcmp(a, "-error")) {
			log_set_level(log_level_parse(a + 1));
			o->level_set = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "-help")) {
			usage(stdout);
			exit(0);
		} else {
			fprintf(stderr, "crowdsec: unknown or incomplete option '%s'\n", argv[i]);
			usage(stderr);
			return -EINVAL;
		}
	}
	if (o->dsn && !o->type) {
		fprintf(stderr, "crowdsec: -dsn needs -type (the log type, e.g. syslog, nginx)\n");
		return -EINVAL;
	}
	if (o->no_api && o->no_cs) {
		fprintf(stderr, "crowdsec: -no-api and -no-cs together leave nothing to run\n");
		return -EINVAL;
	}
	return 0;
}

/* How many alerts went out, or why not: a delivery problem never stops detection. */
static void sink_count(struct sink *s, size_t nalerts, int err)
{
	if (err) {
		s->failed += nalerts;
		log_warn("%zu alert(s) not %s: %s", nalerts, s->push ? "spooled" : "delivered",
			 strerror(-err));
	} else {
		s->sent += nalerts;
	}
}

/* The in-process Local API takes the alerts as JSON. */
static int on_alert(json_t *alerts, void *arg)
{
	struct sink *s = arg;

	sink_count(s, json_array_size(alerts),
		   s->lapi ? cs_lapi_alerts_enqueue_json(s->lapi, alerts, s->machine_id) : -ENOTCONN);
	return 0;
}

/*
 * The other sinks take text, rendered by the detector's worker that built the
 * alerts (thread-safe: no sink state) and handed to on_text in order: one JSON
 * line per alert on stdout (the agent's render_lines), or the body of a POST
 * /v1/alerts for the push.
 */
static char *render_push(json_t *alerts, size_t *len, void *arg)
{
	return lapi_push_render(alerts, len);
}

static int on_text(const char *text, size_t len, size_t nalerts, void *arg)
{
	struct sink *s = arg;
	int err = 0;

	if (s->push) {
		err = lapi_push_body(s->push, text, len);
	} else {
		/* a replay's are flushed when it ends (or the buffer fills): see main() */
		fwrite(text, 1, len, stdout);
		if (!s->replay)
			fflush(stdout);
	}
	sink_count(s, nalerts, err);
	return 0;
}

/* What the detector needs from config.yaml (CrowdSec's layout and defaults). */
struct paths {
	char config_dir[PATH_MAX], data_dir[PATH_MAX], simulation[PATH_MAX];
	char acquis[PATH_MAX], acquis_dir[PATH_MAX], credentials[PATH_MAX];
	char patterns[PATH_MAX + 16], hub_index[PATH_MAX + 16];
	long workers; /* crowdsec_service.detector_workers; 0: not set */
};

static int load_paths(const char *config, struct paths *p, char *err, size_t errlen)
{
	json_t *docs = yamljson_load_file(config, true, err, errlen), *root;
	const char *cfgdir;

	if (!docs)
		return -EINVAL;
	root = json_array_get(docs, 0);
	cfgdir = yamljson_get_str(root, "config_paths.config_dir", "/etc/crowdsec/");
	snprintf(p->config_dir, sizeof(p->config_dir), "%s", cfgdir);
	/* the files under it are named "<dir>/parsers/..." in messages: no "//" */
	for (size_t n = strlen(p->config_dir); n > 1 && p->config_dir[n - 1] == '/'; n--)
		p->config_dir[n - 1] = '\0';
	snprintf(p->data_dir, sizeof(p->data_dir), "%s",
		 yamljson_get_str(root, "config_paths.data_dir", "/var/lib/crowdsec/data/"));
	snprintf(p->simulation, sizeof(p->simulation), "%s",
		 yamljson_get_str(root, "config_paths.simulation_path", ""));
	snprintf(p->acquis, sizeof(p->acquis), "%s",
		 yamljson_get_str(root, "crowdsec_service.acquisition_path", ""));
	snprintf(p->acquis_dir, sizeof(p->acquis_dir), "%s",
		 yamljson_get_str(root, "crowdsec_service.acquisition_dir", ""));
	snprintf(p->credentials, sizeof(p->credentials), "%s",
		 yamljson_get_str(root, "api.client.credentials_path", ""));
	snprintf(p->patterns, sizeof(p->patterns), "%s/patterns", p->config_dir);
	/* as the LAPI finds it (lapi/config.c) */
	snprintf(p->hub_index, sizeof(p->hub_index), "%s/.index.json",
		 yamljson_get_str(root, "config_paths.hub_dir", "/etc/crowdsec/hub"));
	if (yamljson_get_str(root, "config_paths.index_path", NULL))
		snprintf(p->hub_index, sizeof(p->hub_index), "%s",
			 yamljson_get_str(root, "config_paths.index_path", NULL));
	{
		json_t *w = yamljson_get(root, "crowdsec_service.detector_workers");
		const char *sv = json_string_value(w);
		char *end = NULL;
		long n = -1;

		if (json_is_integer(w))
			n = (long)json_integer_value(w);
		else if (sv && *sv && (n = strtol(sv, &end, 10), *end))
			n = -1;
		p->workers = 0;
		if (w && (n < 1 || n > MAX_WORKERS)) {
			snprintf(err, errlen, "%s: crowdsec_service.detector_workers: 1 to %d",
				 config, MAX_WORKERS);
			json_decref(docs);
			return -EINVAL;
		}
		if (w)
			p->workers = n;
	}
	json_decref(docs);
	return 0;
}

/* -workers, else the config key, else one per CPU; 0 (no threads) for `crowdsec -t`. */
static unsigned int workers(const struct opts *o, const struct paths *p)
{
	long n = o->workers ? o->workers : p->workers ? p->workers : sysconf(_SC_NPROCESSORS_ONLN);

	if (o->test_only)
		return 0;
	return (unsigned int)(n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : n);
}

static int new_agent(const struct opts *o, const struct paths *p, struct sink *s,
		     struct cs_agent **out, char *err, size_t errlen)
{
	struct cs_agent_opts ao = {
		.config_dir = p->config_dir,
		.patterns_dir = p->patterns,
		.data_dir = p->data_dir,
		.acquis_path = p->acquis[0] ? p->acquis : NULL,
		.acquis_dir = p->acquis_dir[0] ? p->acquis_dir : NULL,
		.dsn = o->dsn,
		.type = o->type,
		.labels = o->labels,
		.nlabels = o->nlabels,
		.simulation_path = p->simulation[0] ? p->simulation : NULL,
		.hub_index_path = p->hub_index,
		.on_alert = on_alert,
		.render = s->lapi ? NULL : s->push ? render_push : NULL,
		.render_lines = !s->lapi && !s->push,
		.on_text = on_text,
		.arg = s,
		.workers = workers(o, p),
	};

	return cs_agent_new(&ao, out, err, errlen);
}

static void machine_name(const struct paths *p, struct sink *s)
{
	char err[256];
	json_t *docs = p->credentials[0] ? yamljson_load_file(p->credentials, false, err, sizeof(err))
					 : NULL;
	const char *login = docs ? yamljson_get_str(json_array_get(docs, 0), "login", NULL) : NULL;

	if (login)
		snprintf(s->machine_id, sizeof(s->machine_id), "%s", login);
	else if (gethostname(s->machine_id, sizeof(s->machine_id)))
		snprintf(s->machine_id, sizeof(s->machine_id), "localhost");
	json_decref(docs);
}

static int test_config(const struct opts *o, const struct paths *p, struct cs_lapi_config *lc)
{
	char err[1024] = "";
	struct cs_agent *a = NULL;
	struct cs_profiles *prof = NULL;
	struct sink s = { 0 };
	int rc = 0;

	if (!o->no_api && lc->profiles_path && access(lc->profiles_path, F_OK) == 0)
		rc = cs_profiles_load(lc->profiles_path, &prof, err, sizeof(err));
	if (!rc && !o->no_cs)
		rc = new_agent(o, p, &s, &a, err, sizeof(err));
	cs_agent_free(a);
	cs_profiles_free(prof);
	if (rc) {
		fprintf(stderr, "crowdsec: configuration error: %s\n", err);
		return 1;
	}
	printf("configuration OK\n");
	return 0;
}

/*
 * Alerts for a remote LAPI wait in an outbox under data_dir, so that neither the
 * LAPI being away nor this agent restarting loses one; where data_dir cannot hold
 * it, the outbox stays in memory (said once).
 */
static int open_push(const struct paths *p, struct sink *s, char *err, size_t errlen)
{
	struct lapi_push_opts po = { .credentials_path = p->credentials };
	char spool[PATH_MAX + 16];
	int rc;

	snprintf(spool, sizeof(spool), "%s/agent-outbox", p->data_dir);
	po.spool_dir = spool;
	rc = lapi_push_new(&po, &s->push, err, errlen);
	if (rc && rc != -EINVAL && rc != -ENOMEM) {
		log_warn("%s: alerts wait in memory only", err);
		po.spool_dir = NULL;
		rc = lapi_push_new(&po, &s->push, err, errlen);
	}
	return rc;
}

static void log_stats(struct cs_agent *a, const struct sink *s)
{
	struct cs_agent_stats st;

	cs_agent_get_stats(a, &st);
	log_info("%llu lines read, %llu parsed, %llu unparsed, %llu whitelisted, %llu poured; "
		 "%llu alerts (%lu delivered, %lu not); %zu live buckets, %llu evicted",
		 (unsigned long long)st.lines, (unsigned long long)st.parsed,
		 (unsigned long long)st.unparsed, (unsigned long long)st.whitelisted,
		 (unsigned long long)st.poured, (unsigned long long)st.alerts, s->sent, s->failed,
		 (size_t)st.buckets_live, (unsigned long long)st.buckets_evicted);
	if (s->push) {
		struct lapi_push_stats ps;

		lapi_push_get_stats(s->push, &ps);
		log_info("Local API: %llu alerts acknowledged, %llu refused, %zu batch(es) pending, "
			 "%llu dropped (outbox full), %llu retries",
			 (unsigned long long)ps.delivered, (unsigned long long)ps.rejected,
			 ps.pending, (unsigned long long)ps.dropped, (unsigned long long)ps.retries);
	}
}

int main(int argc, char **argv)
{
	struct opts o = { .config = "/etc/crowdsec/config.yaml" };
	struct cs_lapi_config lc;
	struct paths paths;
	struct sink sink = { 0 };
	struct cs_agent *agent = NULL;
	int sfd = -1, tfd = -1, ep = -1, rc = 1, err;
	char msg[1024] = "";
	sigset_t mask;

	if (parse_args(argc, argv, &o))
		return 2;
	/* cs_lapi_config_load() fills the defaults itself (calling both leaked them) */
	if (cs_lapi_config_load(o.config, &lc, msg, sizeof(msg)) || load_paths(o.config, &paths, msg, sizeof(msg))) {
		log_msg(LOG_LVL_FATAL, "%s", msg);
		cs_lapi_config_clear(&lc);
		return 1;
	}
	if (!o.level_set && lc.log_level && log_level_parse(lc.log_level) >= 0)
		log_set_level(log_level_parse(lc.log_level));
	if (o.test_only) {
		rc = test_config(&o, &paths, &lc);
		cs_lapi_config_clear(&lc);
		return rc;
	}
	machine_name(&paths, &sink);
	/*
	 * A replay's alerts (a 300k-line sshd log: 6,000 alerts, 23 MB) went out
	 * 4 KiB a write(2) from the worker that merges batches: ~5,800 calls.
	 */
	sink.replay = o.dsn != NULL;
	if (sink.replay) {
		static char out_buf[1u << 20]; /* glibc ignores the size without a buffer */

		setvbuf(stdout, out_buf, _IOFBF, sizeof(out_buf));
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL); /* before any thread starts */
	signal(SIGPIPE, SIG_IGN);

	if (!o.no_api && !o.stdout_alerts && lc.enable) {
		err = cs_lapi_start(&lc, &sink.lapi);
		if (err) {
			log_msg(LOG_LVL_FATAL, "cannot start the Local API: %s", strerror(-err));
			goto out;
		}
	} else if (!o.no_cs && !o.stdout_alerts && paths.credentials[0]) {
		err = open_push(&paths, &sink, msg, sizeof(msg));
		if (err) {
			log_msg(LOG_LVL_FATAL, "%s", msg);
			goto out;
		}
	}
	if (o.no_cs) {
		int sig;

		sigdelset(&mask, SIGHUP);
		sigwait(&mask, &sig);
		log_info("signal %d received, shutting down", sig);
		rc = 0;
		goto out;
	}
	err = new_agent(&o, &paths, &sink, &agent, msg, sizeof(msg));
	if (err) {
		log_msg(LOG_LVL_FATAL, "%s", msg);
		goto out;
	}

	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || tfd < 0 || ep < 0)
		goto out;
	{
		struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
		struct epoll_event ev = { .events = EPOLLIN };

		timerfd_settime(tfd, 0, &its, NULL);
		ev.data.fd = sfd;
		epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
		ev.data.fd = tfd;
		epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
		ev.data.fd = cs_agent_fd(agent);
		epoll_ctl(ep, EPOLL_CTL_ADD, cs_agent_fd(agent), &ev);
	}
	for (;;) {
		struct epoll_event evs[4];
		int n;

		if (o.dsn && cs_agent_done(agent)) {
			cs_agent_finish(agent);
			rc = 0;
			break;
		}
		n = epoll_wait(ep, evs, 4, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == tfd) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) > 0 && !o.dsn)
					cs_agent_tick(agent);
			} else if (fd == sfd) {
				struct signalfd_siginfo si;
				struct cs_agent *fresh = NULL;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo != SIGHUP) {
					log_info("signal %d received, shutting down", (int)si.ssi_signo);
					rc = 0;
					goto stop;
				}
				/* Build the new detector beside the old; swap only if it loads. */
				log_info("SIGHUP: reloading the configuration");
				if (load_paths(o.config, &paths, msg, sizeof(msg)) ||
				    new_agent(&o, &paths, &sink, &fresh, msg, sizeof(msg))) {
					log_error("reload failed, keeping the running configuration: %s", msg);
					continue;
				}
				epoll_ctl(ep, EPOLL_CTL_DEL, cs_agent_fd(agent), NULL);
				cs_agent_take_acquisition(fresh, agent);
				cs_agent_free(agent);
				agent = fresh;
				{
					struct epoll_event ev = { .events = EPOLLIN, .data.fd = cs_agent_fd(agent) };

					epoll_ctl(ep, EPOLL_CTL_ADD, cs_agent_fd(agent), &ev);
				}
				log_info("reload done");
			} else {
				err = cs_agent_process(agent, 1000);
				if (err < 0 && err != -EAGAIN)
					log_warn("acquisition: %s", strerror(-err));
			}
		}
	}
stop:
	/* a replay ends when its file does: give the outbox a moment to empty first */
	if (sink.push && lapi_push_drain(sink.push, o.dsn ? 10000 : 2000))
		log_warn("the Local API has not acknowledged every alert yet");
	log_stats(agent, &sink);
out:
	cs_agent_free(agent);
	if (sink.lapi)
		cs_lapi_stop(sink.lapi); /* stores what is still queued */
	lapi_push_free(sink.push);
	cs_lapi_config_clear(&lc);
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	if (ep >= 0)
		close(ep);
	return rc;
}
