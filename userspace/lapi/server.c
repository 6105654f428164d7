// SPDX-License-Identifier: MIT
/*
 * LAPI server lifecycle: configuration, listeners, worker threads, start/stop.
 * The route table is routes.c, authentication auth.c, the request plumbing
 * request.c, alert storage queue.c. Handlers (h_*.c) do decode -> validate ->
 * db -> encode.
 *
 * Threading model: MHD_USE_EPOLL_INTERNAL_THREAD with a small thread pool.
 * epoll keeps hundreds of idle keep-alive bouncer connections cheap (no
 * thread per connection), and a pool of a few threads means one slow request
 * (a startup stream of a million decisions) does not stall health checks and
 * other bouncers. More threads would not help: the single SQLite handle is
 * serialized by the db module's mutex.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/condwait.h"
#include "common/gotime.h"
#include "common/log.h"
#include "common/pwhash.h"
#include "common/readfile.h"
#include "common/sha2.h"
#include "common/worker.h"
#include "lapi/lapi_int.h"

static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char ps[16];
	int rc;

	snprintf(ps, sizeof(ps), "%d", port);
	rc = getaddrinfo(host && *host ? host : "0.0.0.0", ps, &hints, &res);
	if (rc || !res) {
		log_error("cannot resolve listen address '%s': %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int parse_listen_uri(const char *uri, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[256];
	const char *colon;
	long port;
	char *end;

	if (uri[0] == '[') {
		const char *rb = strchr(uri, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - uri - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(rb - uri - 1), uri + 1);
		colon = rb + 1;
	} else {
		colon = strrchr(uri, ':');
		if (!colon || (size_t)(colon - uri) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - uri), uri);
	}
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -EINVAL;
	return resolve(host, (int)port, ss, sl);
}

static char *read_pem(const char *path)
{
	char *buf = NULL;
	size_t n = 0;
	int err = cs_read_file(path, 1 << 20, &buf, &n);

	if (!err && !n)
		err = -ENODATA;
	if (err) {
		log_error("cannot read %s: %s", path, strerror(-err));
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * libmicrohttpd zeroes a connection's memory pool for every request (~7 % of the
 * CPU of a delta pull at 32 KiB), but a chunked streamed answer (a startup pull)
 * takes its chunk buffer from the pool's free space, and MHD 0.9 has no other
 * setting for it (MHD_OPTION_CONNECTION_MEMORY_INCREMENT sizes reads, the
 * callback's block size is not used for chunks): at 8 KiB a 1M startup pull went
 * out in ~7 KiB chunks, 0.59 s against 0.41 s at 32 KiB (median of 9 each,
 * alternated, load ~9); delta pulls lose some (44-46k/s at 8 KiB, 36-44k/s at
 * 32 KiB, 100 conns, load 6-9, noisy). The pool also holds a request's line and headers (a pull
 * or a JWT: well under 1 KiB; 20 KiB are taken, 40 KiB get 431) and the reads of a
 * body, which request.c copies out as they arrive.
 */
#define LAPI_CONN_MEMORY (32u << 10)

static struct MHD_Daemon *start_daemon(const struct cs_lapi_config *cfg, const char *what,
				       struct sockaddr_storage *ss, MHD_AccessHandlerCallback cb,
				       void *cls, bool with_completed, unsigned threads, bool tls,
				       const char *trust)
{
	/* suspend/resume: alert pushes wait for their group commit off the MHD threads (commit.c) */
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	char *cert = NULL, *key = NULL;
	struct MHD_Daemon *d = NULL;

	if (ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (tls) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			log_error("this libmicrohttpd has no TLS support");
			return NULL;
		}
		cert = read_pem(cfg->tls_cert_file);
		key = read_pem(cfg->tls_key_file);
		if (!cert || !key)
			goto out;
		flags |= MHD_USE_TLS;
	}
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_SOCK_ADDR, 0, ss },
		{ MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, NULL },
		{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_per_ip, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, LAPI_CONN_MEMORY, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)(with_completed ? lapi_on_completed : NULL),
		  NULL },
		/* the LAPI listener tracks its connections (conns.c); MHD's default
		 * SO_REUSEADDR, never SO_REUSEPORT: a second process must not get a share
		 * of our port's connections */
		{ with_completed ? MHD_OPTION_NOTIFY_CONNECTION : MHD_OPTION_CONNECTION_LIMIT,
		  with_completed ? (intptr_t)lapi_conn_notify : (intptr_t)cfg->max_connections,
		  with_completed ? cls : NULL },
		/* TLS >= 1.2, like the Go server */
		{ tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, key },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" },
		/* a CA: MHD asks for client certificates (tlsauth.c verifies them) */
		{ tls && trust ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, (void *)trust },
		{ MHD_OPTION_END, 0, NULL },
	};

	d = MHD_start_daemon(flags, 0, with_completed ? lapi_conn_accept : NULL, cls, cb, cls,
			     MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!d)
		log_error("cannot start the %s listener (address in use?)", what);
out:
	free(cert);
	free(key);
	return d;
}

static int copy_config(struct cs_lapi_config *dst, const struct cs_lapi_config *src)
{
	int err = cs_lapi_config_copy(dst, src);

	if (err)
		return err;
	if (!dst->max_body)
		dst->max_body = LAPI_MAX_BODY;
	if (!dst->threads)
		dst->threads = 4;
	if (!dst->max_connections)
		dst->max_connections = 1024;
	if (!dst->max_per_ip)
		dst->max_per_ip = 256;
	if (!dst->conn_timeout)
		dst->conn_timeout = 120;
	return 0;
}

static int load_secret(struct cs_lapi *l)
{
	const char *env = getenv("CS_LAPI_SECRET");

	if (env) {
		size_t n = strlen(env);

		if (n < LAPI_JWT_SECRET_LEN) {
			log_error("CS_LAPI_SECRET not strong enough");
			return -EINVAL;
		}
		if (n > sizeof(l->secret))
			n = sizeof(l->secret);
		memcpy(l->secret, env, n);
		l->secret_len = n;
		return 0;
	}
	l->secret_len = LAPI_JWT_SECRET_LEN;
	return random_bytes(l->secret, l->secret_len);
}

#define LAPI_FLUSH_PERIOD_SEC 60

/* db_config.flush, once a minute like 1.4.6; waits on a condvar so stop is prompt. */
static void *flusher_main(void *arg)
{
	struct cs_lapi *l = arg;
	struct timespec until;

	pthread_mutex_lock(&l->stop_lock);
	while (!l->stopping) {
		int64_t now = gotime_now();
		long n = 0;

		pthread_mutex_unlock(&l->stop_lock);
		/* replicas on one PostgreSQL: one of them per period (a little less, for jitter) */
		if (cs_db_cluster_claim(l->db, "flush", now,
					(LAPI_FLUSH_PERIOD_SEC - 5) * NSEC_PER_SEC) == 1 &&
		    !cs_db_flush(l->db, l->cfg.flush_max_age ? now - l->cfg.flush_max_age : 0,
				 l->cfg.flush_max_items, &n) &&
		    n)
			log_info("flush: %ld alert(s) deleted", n);
		pthread_mutex_lock(&l->stop_lock);
		until = cs_mono_deadline(LAPI_FLUSH_PERIOD_SEC * 1000LL);
		while (!l->stopping && cs_cond_wait_until(&l->stop_cond, &l->stop_lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&l->stop_lock);
	return NULL;
}

static void *stream_loader(void *arg)
{
	struct cs_lapi *l = arg;

	cs_db_stream_load(l->db);
	return NULL;
}

/* A configured list of addresses and ranges (host bits masked); an invalid entry is named. */
static int parse_prefixes(const char *what, char *const *v, size_t n, struct cs_prefix **out,
			  size_t *nout)
{
	*out = calloc(n + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (*nout = 0; *nout < n; ++*nout) {
		if (cs_prefix_parse(v[*nout], CS_PREFIX_MASK, &(*out)[*nout])) {
			log_error("invalid %s entry '%s'", what, v[*nout]);
			return -EINVAL;
		}
	}
	return 0;
}

void cs_lapi_stop(struct cs_lapi *l)
{
	if (!l)
		return;
	if (l->qworker_running) { /* stores what is queued, then exits */
		cs_worker_stop(&l->qlock, &l->qcond, &l->qstopping, l->qworker);
		l->qworker_running = false;
	}
	pthread_mutex_lock(&l->stop_lock);
	l->stopping = true;
	pthread_cond_broadcast(&l->stop_cond); /* the flusher and the reaper */
	pthread_mutex_unlock(&l->stop_lock);
	if (l->flusher_running)
		pthread_join(l->flusher, NULL);
	if (l->reaper_running)
		pthread_join(l->reaper, NULL);
	if (l->prom)
		MHD_stop_daemon(l->prom);
	lapi_committer_quiesce(l); /* MHD must not stop with suspended connections */
	if (l->httpd)
		MHD_stop_daemon(l->httpd);
	lapi_committer_stop(l); /* after the handlers and the queue worker */
	capi_stop(l); /* after the last alert producer */
	/* after the handlers and every other alert writer (each may wait for its writer) */
	lapi_journal_stop(l);
	if (l->sloader_running)
		pthread_join(l->sloader, NULL);
	bcache_stop(l);
	if (l->db) /* the next start loads the stream index from it (after the last writer) */
		cs_db_stream_save(l->db);
	cs_notify_free(l->notify); /* after the last producer (handlers, queue worker) */
	l->notify = NULL;
	cs_db_close(l->db);
	cs_profiles_free(l->profiles);
	cs_metrics_free(l->metrics);
	ratelimit_free(l->rl_register);
	ratelimit_free(l->rl_login_fail);
	ratelimit_free(l->known_sources);
	alert_dedupe_free(l->dedupe);
	lapi_allowlist_cache_free(l->alcache);
	free(l->trusted);
	free(l->proxies);
	tlsauth_free(l);
	cs_lapi_config_clear(&l->cfg);
	memset(l->secret, 0, sizeof(l->secret));
	pthread_cond_destroy(&l->stop_cond);
	pthread_mutex_destroy(&l->stop_lock);
	for (size_t i = 0; l->queue && i < l->qlen; i++) /* only if the worker never ran */
		cs_alert_free(l->queue[(l->qhead + i) % LAPI_ALERT_QUEUE_MAX]);
	free(l->queue);
	pthread_cond_destroy(&l->qcond);
	pthread_cond_destroy(&l->qdone);
	pthread_mutex_destroy(&l->qlock);
	pthread_mutex_destroy(&l->conn_lock);
	free(l);
}

int cs_lapi_start(const struct cs_lapi_config *cfg, struct cs_lapi **out)
{
	struct sockaddr_storage ss, ps;
	socklen_t sl;
	struct cs_lapi *l = calloc(1, sizeof(*l));
	char err[1024] = "";
	int ret;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->stop_lock, NULL);
	cs_cond_init_mono(&l->stop_cond); /* its waits: cs_cond_wait_* */
	pthread_mutex_init(&l->qlock, NULL);
	cs_cond_init_mono(&l->qcond);
	pthread_cond_init(&l->qdone, NULL);
	pthread_mutex_init(&l->conn_lock, NULL);
	ret = copy_config(&l->cfg, cfg);
	if (ret)
		goto fail;
	ret = parse_listen_uri(l->cfg.listen_uri, &ss, &sl);
	if (ret) {
		log_error("invalid api.server.listen_uri '%s'", l->cfg.listen_uri);
		goto fail;
	}
	ret = parse_prefixes("trusted_ips", l->cfg.trusted_ips, l->cfg.n_trusted_ips, &l->trusted,
			     &l->n_trusted);
	if (!ret)
		ret = parse_prefixes("trusted_proxies", l->cfg.trusted_proxies,
				     l->cfg.n_trusted_proxies, &l->proxies, &l->n_proxies);
	if (ret)
		goto fail;
	ret = load_secret(l);
	if (ret)
		goto fail;
	l->metrics = cs_metrics_new(l->cfg.prometheus_aggregated);
	l->rl_register = ratelimit_new(LAPI_REGISTER_BURST, LAPI_REGISTER_PERIOD);
	l->rl_login_fail = ratelimit_new(LAPI_LOGIN_FAIL_BURST, LAPI_LOGIN_FAIL_PERIOD);
	l->known_sources = ratelimit_new(1, 1);
	l->alcache = lapi_allowlist_cache_new();
	if (alert_dedupe_new(LAPI_DEDUPE_ALERTS, &l->dedupe) || !l->metrics || !l->rl_register ||
	    !l->rl_login_fail || !l->known_sources || !l->alcache) {
		ret = -ENOMEM;
		goto fail;
	}
	if (l->cfg.profiles_path && access(l->cfg.profiles_path, F_OK) == 0) {
		ret = cs_profiles_load(l->cfg.profiles_path, &l->profiles, err, sizeof(err));
		if (ret) {
			log_error("profiles: %s", err);
			goto fail;
		}
	} else {
		if (l->cfg.profiles_path)
			log_warn("profiles file %s not found, using the default profiles",
				 l->cfg.profiles_path);
		ret = cs_profiles_default(&l->profiles);
		if (ret)
			goto fail;
	}
	log_info("loaded %zu profile(s)", cs_profiles_count(l->profiles));
	ret = lapi_notify_setup(l, err, sizeof(err));
	if (ret) {
		log_error("notifications: %s", err);
		goto fail;
	}
	ret = cs_db_connect(l->cfg.db_path, l->cfg.db_conninfo, l->cfg.db_max_conns, &l->db);
	if (ret)
		goto fail;
	/* CrowdSec's SQLite in WAL mode runs synchronous=NORMAL: acknowledged survives kill -9 */
	ret = cs_db_sqlite_synchronous(l->db, l->cfg.db_sync_full);
	if (ret)
		goto fail;
	if (!cs_db_is_pg(l->db))
		log_info("SQLite commits: synchronous=%s (db_config.sqlite_synchronous)",
			 l->cfg.db_sync_full ? "FULL, an fsync each" : "NORMAL, WAL synced at checkpoints");
	ret = bcache_start(l);
	if (!ret)
		ret = lapi_committer_start(l);
	if (!ret) /* before listening: a start stores what the last run acknowledged */
		ret = lapi_journal_start(l);
	if (ret)
		goto fail;
	/* listening does not wait for it; stream pulls do (a few hundred ms at 1M) */
	ret = -pthread_create(&l->sloader, NULL, stream_loader, l);
	if (ret)
		goto fail;
	l->sloader_running = true;
	char *ca_pem = NULL;

	ret = tlsauth_init(l, &ca_pem);
	if (ret)
		goto fail;
	l->httpd = start_daemon(&l->cfg, "LAPI", &ss, lapi_on_request, l, true, l->cfg.threads,
				l->cfg.tls_cert_file && l->cfg.tls_key_file, ca_pem);
	free(ca_pem);
	if (!l->httpd) {
		ret = -EADDRINUSE;
		goto fail;
	}
	log_info("CrowdSec Local API listening on %s://%s",
		 l->cfg.tls_cert_file && l->cfg.tls_key_file ? "https" : "http", l->cfg.listen_uri);
	if (l->cfg.prometheus_enabled) {
		ret = resolve(l->cfg.prometheus_addr, l->cfg.prometheus_port, &ps, &sl);
		if (!ret) {
			l->prom = start_daemon(&l->cfg, "prometheus", &ps, lapi_on_metrics, l, false, 1,
					       false, NULL);
			if (!l->prom)
				ret = -EADDRINUSE;
		}
		if (ret)
			goto fail;
		log_info("prometheus metrics on http://%s:%d/metrics", l->cfg.prometheus_addr,
			 l->cfg.prometheus_port);
	}
	l->queue = calloc(LAPI_ALERT_QUEUE_MAX, sizeof(*l->queue));
	if (!l->queue) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = -pthread_create(&l->qworker, NULL, lapi_queue_main, l);
	if (ret)
		goto fail;
	l->qworker_running = true;
	ret = -pthread_create(&l->reaper, NULL, lapi_conn_reaper_main, l);
	if (ret)
		goto fail;
	l->reaper_running = true;
	ret = capi_start(l);
	if (ret)
		goto fail;
	if (l->cfg.flush_max_age || l->cfg.flush_max_items) {
		ret = -pthread_create(&l->flusher, NULL, flusher_main, l);
		if (ret)
			goto fail;
		l->flusher_running = true;
	}
	*out = l;
	return 0;
fail:
	cs_lapi_stop(l);
	return ret;
}

struct cs_db *cs_lapi_db(struct cs_lapi *l)
{
	return l ? l->db : NULL;
}
