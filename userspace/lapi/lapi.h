/* SPDX-License-Identifier: MIT */
/*
 * The Local API server (CrowdSec 1.4.6 wire contract, spec/lapi-contract.md):
 * libmicrohttpd + jansson over the db module, with profiles turning alerts into
 * decisions and a Prometheus endpoint.
 *
 *   struct cs_lapi_config cfg;
 *   cs_lapi_config_load("/etc/crowdsec/config.yaml", &cfg, err, sizeof(err));
 *   cs_lapi_start(&cfg, &lapi);      listening when this returns 0
 *   ...                              cs_lapi_alert_submit() from the detector
 *   cs_lapi_stop(lapi);              stops listeners, closes the database
 *
 * Threading: the server runs its own threads (see server.c); every public
 * function here is safe to call from any thread once cs_lapi_start() returned.
 */
#ifndef CS_LAPI_H
#define CS_LAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define LAPI_VERSION "v1.4.6-c"

struct route;

struct cs_lapi_config {
	bool enable;		/* api.server.enable (default true) */
	bool dashboard;		/* api.server.dashboard: the web dashboard (default false) */
	char *log_level;	/* api.server.log_level, else common.log_level (NULL: unset) */
	char *listen_uri;	/* api.server.listen_uri, "127.0.0.1:8080" */
	char *db_path;		/* db_config.db_path */
	char *db_conninfo;	/* db_config.type postgresql: libpq's; NULL for SQLite */
	long db_max_conns;	/* db_config.max_open_conns: the PostgreSQL pool (0: 4) */
	/*
	 * db_config.sqlite_synchronous (ours): "normal" (default, CrowdSec's WAL
	 * setting): an acknowledged write survives a crash of the LAPI, the last ones
	 * may roll back on a power cut; "full": an fsync per commit, survives that too.
	 */
	bool db_sync_full;
	/*
	 * db_config.alert_journal (ours, default true): SQLite only; agents' pushes are
	 * acknowledged once in the alert journal next to the database (lapi/journal.c)
	 * instead of after their COMMIT. false: every push waits for its COMMIT.
	 */
	bool alert_journal_off;
	char *profiles_path;	/* api.server.profiles_path; NULL/missing file: default */
	char *notification_dir; /* config_paths.notification_dir (profiles' notifications:) */
	char **trusted_ips;	/* api.server.trusted_ips (IPs or CIDRs) */
	size_t n_trusted_ips;
	bool use_forwarded_for;	/* api.server.use_forwarded_for_headers */
	char **trusted_proxies;	/* api.server.trusted_proxies (none: loopback) */
	size_t n_trusted_proxies;
	char *credentials_path; /* api.client.credentials_path (cscli) */
	/* api.server.online_client: membership of a crowd (capi.c); NULL: none */
	char *online_credentials_path;	/* .credentials_path (url, login, password) */
	int64_t online_push_interval;	/* .push_interval (ours), default 10 s */
	int64_t online_pull_interval;	/* .pull_interval (ours), default 1 min */
	char *config_dir;		/* config_paths.config_dir: the scenarios a member runs */
	char *hub_index_path;		/* config_paths.index_path, else <hub_dir>/.index.json */
	bool insecure_skip_verify; /* api.client.insecure_skip_verify (cscli) */
	char *tls_cert_file;	/* api.server.tls.cert_file: HTTPS when both are set */
	char *tls_key_file;	/* api.server.tls.key_file */
	/* api.server.tls.client_verification (Go's tls.ClientAuthType order) */
	enum cs_tls_client_verify {
		CS_TLS_NO_CLIENT_CERT,
		CS_TLS_REQUEST_CLIENT_CERT,
		CS_TLS_REQUIRE_ANY_CLIENT_CERT,
		CS_TLS_VERIFY_CLIENT_CERT_IF_GIVEN, /* default */
		CS_TLS_REQUIRE_AND_VERIFY_CLIENT_CERT,
	} tls_client_verification;
	char *tls_ca_cert_path;	/* api.server.tls.ca_cert_path: client certs are asked for when set */
	char *tls_crl_path;	/* api.server.tls.crl_path (read at start) */
	char **agents_allowed_ou;	/* api.server.tls.agents_allowed_ou, ["agent-ou"] */
	size_t n_agents_allowed_ou;
	char **bouncers_allowed_ou;	/* api.server.tls.bouncers_allowed_ou, ["bouncer-ou"] */
	size_t n_bouncers_allowed_ou;
	int64_t flush_max_age;	/* db_config.flush.max_age (ns, 0 = none) */
	long flush_max_items;	/* db_config.flush.max_items (0 = none) */
	bool prometheus_enabled;
	bool prometheus_aggregated; /* prometheus.level: aggregated (no per-client series) */
	char *prometheus_addr;
	int prometheus_port;
	/* bounds (not in CrowdSec's file; api.server.max_body_bytes etc. override) */
	size_t max_body;
	unsigned max_connections;
	unsigned max_per_ip;
	unsigned threads;
	unsigned conn_timeout;
	/* another API served by this server (crowdsec-central): its route table
	 * (lapi_int.h) instead of the LAPI's, and its state for the handlers */
	const struct route *routes;
	size_t n_routes;
	void *app;
};

/*
 * Fill defaults then read a CrowdSec config.yaml (+ .local). 0 or -errno + err.
 * cfg is overwritten (do not call cs_lapi_config_defaults() first: it would
 * leak); release with cs_lapi_config_clear() in every case.
 */
int cs_lapi_config_load(const char *path, struct cs_lapi_config *cfg, char *err, size_t errlen);
void cs_lapi_config_defaults(struct cs_lapi_config *cfg);
typedef struct json_t json_t;
/*
 * CrowdSec's db_config engine keys of a loaded config's root (type, host, port,
 * user, password, db_name, sslmode, max_open_conns): *conninfo is libpq's
 * (malloc'ed) for PostgreSQL, NULL for SQLite. 0 or -errno + err naming path.
 */
int cs_lapi_db_config(json_t *root, const char *path, char **conninfo, long *max_conns,
		      char *err, size_t errlen);
void cs_lapi_config_clear(struct cs_lapi_config *cfg);
/* dst = src with its own copies of the strings and lists: 0 or -ENOMEM (clear dst either way). */
int cs_lapi_config_copy(struct cs_lapi_config *dst, const struct cs_lapi_config *src);

struct cs_lapi;

/* Open the database, load profiles, start listening. 0 or -errno (logged). */
int cs_lapi_start(const struct cs_lapi_config *cfg, struct cs_lapi **out);
/* Stop listening, wait for in-flight requests, close everything. NULL is fine. */
void cs_lapi_stop(struct cs_lapi *l);
/* The database handle owned by this LAPI (borrowed). */
struct cs_db *cs_lapi_db(struct cs_lapi *l);

/*
 * In-process alert submission (the detector's path, same semantics as
 * POST /v1/alerts from machine `machine_id`, which may be NULL): profiles add
 * decisions when the alert has none, then it is stored. Takes no ownership.
 * 0 and the new alert id, or -EINVAL (bad decision value/duration), -errno.
 */
int cs_lapi_alert_submit(struct cs_lapi *l, struct cs_alert *a, const char *machine_id,
			 int64_t *id);

/*
 * Asynchronous submission for the detector's event loop: takes ownership of `a`
 * (freed by the LAPI) and returns at once; a LAPI thread stores queued alerts in
 * batches (one transaction per batch), so the detector never waits for fsync.
 * The queue holds at most LAPI_ALERT_QUEUE_MAX alerts: -EAGAIN (alert freed,
 * counted in cs_lapi_alerts_dropped) when it is full, -ESHUTDOWN once stopping.
 * cs_lapi_stop() stores what is still queued before returning.
 */
#define LAPI_ALERT_QUEUE_MAX 10000
int cs_lapi_alert_enqueue(struct cs_lapi *l, struct cs_alert *a, const char *machine_id);
/* Wait until every alert enqueued so far is stored (tests, orderly shutdown). */
void cs_lapi_alert_flush(struct cs_lapi *l);
unsigned long cs_lapi_alerts_dropped(struct cs_lapi *l);

/*
 * The bucket engine's alerts (a POST /v1/alerts body: JSON array of models.Alert)
 * decoded and validated as the HTTP route would, then enqueued. Borrows `alerts`.
 * 0, or the first error (the other alerts are still enqueued).
 */
int cs_lapi_alerts_enqueue_json(struct cs_lapi *l, json_t *alerts, const char *machine_id);

#endif /* CS_LAPI_H */
