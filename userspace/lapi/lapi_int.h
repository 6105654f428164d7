/* SPDX-License-Identifier: MIT */
/* LAPI internals shared by the server files, the handlers, codec.c, jwt.c and metrics.c. */
#ifndef CS_LAPI_INT_H
#define CS_LAPI_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>

#include "common/dlist.h"
#include "common/strbuf.h"
#include "db/db.h"
#include "lapi/dedupe.h"
#include "lapi/lapi.h"
#include "notify/notify.h"
#include "profiles/profiles.h"

/* Bounds on everything that comes from outside (STYLE 8); -D overridable. */
#ifndef LAPI_MAX_BODY
#define LAPI_MAX_BODY (16u << 20) /* authenticated machines (README: 16 MiB) */
#endif
#ifndef LAPI_MAX_BODY_INFLIGHT
/* all request bodies being received at once: four full-size uploads; more wait */
#define LAPI_MAX_BODY_INFLIGHT (64u << 20)
#endif
#ifndef LAPI_MAX_PENDING_MACHINES
#define LAPI_MAX_PENDING_MACHINES 1000 /* self-registered, not yet validated */
/* alerts remembered by uuid: an agent's retries come within minutes */
#define LAPI_DEDUPE_ALERTS 65536
#endif
/* per source address (IPv6: per /64): bursts, then one more per period */
#define LAPI_REGISTER_BURST 10
#define LAPI_REGISTER_PERIOD (60 * NSEC_PER_SEC)
#define LAPI_LOGIN_FAIL_BURST 10
#define LAPI_LOGIN_FAIL_PERIOD (3 * NSEC_PER_SEC)
#ifndef LAPI_HEADER_TIMEOUT
#define LAPI_HEADER_TIMEOUT (10 * NSEC_PER_SEC) /* connect to end of request headers */
#endif
#define LAPI_ANON_IDLE_TIMEOUT 10		/* s, idle unauthenticated connection */
#define LAPI_RESERVED_SHARE 4			/* 1/4 of max_connections */
#define LAPI_KNOWN_SOURCE_TTL (24 * 3600 * NSEC_PER_SEC)
#ifndef LAPI_MAX_BODY_ANON
#define LAPI_MAX_BODY_ANON (64u << 10) /* unauthenticated routes, bouncer routes */
#endif
#ifndef LAPI_MAX_JSON_DEPTH
#define LAPI_MAX_JSON_DEPTH 32
#endif
#ifndef LAPI_MAX_QUERY_ARGS
#define LAPI_MAX_QUERY_ARGS 32
#endif
#ifndef LAPI_MAX_LIST_ITEMS
#define LAPI_MAX_LIST_ITEMS 64
#endif
#define LAPI_STREAM_BLOCK (64u << 10) /* bytes MHD asks for at a time from a streamed body */
#define LAPI_JWT_LIFETIME (3600LL * NSEC_PER_SEC)
#define LAPI_JWT_SECRET_LEN 64
#define LAPI_MAX_ID 256

/* ---- metrics ---- */
enum metric_family {
	M_ROUTE_REQUESTS,   /* route, method */
	M_MACHINE_REQUESTS, /* machine, route, method */
	M_BOUNCER_REQUESTS, /* bouncer, route, method */
	M_DECISIONS_OK,	    /* bouncer */
	M_DECISIONS_KO,	    /* bouncer */
	M__COUNTERS,
};
struct cs_metrics;
/* aggregated: only cs_info and cs_lapi_route_requests_total (prometheus.level) */
struct cs_metrics *cs_metrics_new(bool aggregated);
void cs_metrics_free(struct cs_metrics *m);
void cs_metrics_inc(struct cs_metrics *m, enum metric_family f, const char *a, const char *b,
		    const char *c);
void cs_metrics_observe(struct cs_metrics *m, const char *endpoint, const char *method,
			double seconds);
/* Prometheus text exposition; gauges recomputed from db. malloc'ed. */
char *cs_metrics_render(struct cs_metrics *m, struct cs_db *db, size_t *len);

/* ---- jwt ---- */
int jwt_sign(const uint8_t *secret, size_t slen, const char *id, int64_t now, int64_t lifetime,
	     char **token, int64_t *exp);
/*
 * 0 and the id claim, or -EACCES with a gin-jwt style message. A token expired
 * for less than `leeway` is still accepted (refresh window, MaxRefresh).
 */
int jwt_verify(const uint8_t *secret, size_t slen, const char *token, int64_t now,
	       int64_t leeway, char *id, size_t idlen, char *msg, size_t msglen);
/* The same, and *exp: the token's expiry (ns, without the leeway) once verified. */
int jwt_verify_exp(const uint8_t *secret, size_t slen, const char *token, int64_t now,
		   int64_t leeway, char *id, size_t idlen, char *msg, size_t msglen, int64_t *exp);

/* ---- codec ---- */
/*
 * Decode one element of the POST /v1/alerts array. Type errors return -EBADMSG
 * with a message; missing required fields are appended to `missing` (one line
 * each, prefixed by index) and return -EINVAL.
 */
int codec_alert_decode(json_t *o, size_t idx, int64_t now, struct cs_alert **out, char *msg,
		       size_t msglen, json_t *missing);
json_t *codec_alert_encode(const struct cs_alert *a);
json_t *codec_decision_encode(const struct cs_decision *d, bool with_simulated);
/* Array of decisions, or json null when empty (1.4.6). */
json_t *codec_decisions_encode(const struct cs_decision *v, size_t n, bool with_simulated);
/*
 * Large POST /v1/alerts bodies (alerts_bulk.c): decisions are scanned in place
 * and borrow the body's bytes, so the body must outlive the alerts.
 * 0, -EBADMSG (msg), -EINVAL (missing filled), -EPROTO (malformed JSON, msg), -ENOMEM.
 * v/n are set in every case; release with alerts_bulk_free().
 */
#define LAPI_BULK_BODY (1u << 20) /* bodies above this take the scanner path */
struct alerts_bulk {
	struct cs_alert **v; /* decisions_borrowed: their strings point into the body */
	size_t n;
};
int alerts_bulk_decode(char *body, size_t len, int64_t now, struct alerts_bulk *out, char *msg,
		       size_t msglen, json_t *missing);
void alerts_bulk_free(struct alerts_bulk *b);
/*
 * The usual POST /v1/alerts body decoded without a DOM (codec_fast.c): 0 with
 * the alerts exactly as codec_alert_decode() makes them, -EAGAIN for anything
 * it leaves to that path (every error, every unusual shape), -ENOMEM.
 */
int codec_alerts_fast(const char *body, size_t len, int64_t now, struct cs_alert ***out,
		      size_t *n);
/* An event's serialized meta longer than this has its long values stripped (1.4.6). */
#define LAPI_EVENT_META_MAX 8191
/* Nesting depth of a JSON text without parsing it (strings skipped). */
int codec_json_depth(const char *s, size_t len);
/* A JSON value's type as Go's encoding/json names it in errors ("string", "number", ...). */
const char *codec_json_type(const json_t *v);
char *codec_dump(json_t *j, size_t *len);

/* ---- server ---- */
struct cs_lapi {
	struct cs_lapi_config cfg;
	struct cs_db *db;
	struct cs_profiles *profiles;
	struct cs_notify *notify; /* profiles' notifications: (NULL: none) */
	struct cs_metrics *metrics;
	struct MHD_Daemon *httpd;
	struct MHD_Daemon *prom;
	uint8_t secret[LAPI_JWT_SECRET_LEN];
	size_t secret_len;
	struct cs_prefix *trusted;
	size_t n_trusted;
	struct cs_prefix *proxies;
	size_t n_proxies;
	void *tls_trust; /* gnutls_x509_trust_list_t: client certificates are asked for */
	/* detector alert queue (cs_lapi_alert_enqueue) */
	pthread_t qworker;
	bool qworker_running;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;	   /* work available or stopping */
	pthread_cond_t qdone;	   /* queue drained */
	struct cs_alert **queue;   /* ring of LAPI_ALERT_QUEUE_MAX */
	size_t qhead, qlen;
	bool qbusy, qstopping;
	unsigned long qdropped;
	struct lapi_committer *committer; /* commit.c: group commit of alerts */
	struct lapi_journal *journal;	  /* journal.c: pushes acknowledged once journaled */
	struct bouncer_cache *bcache; /* bouncer_cache.c */
	struct alert_dedupe *dedupe;  /* dedupe.c: alerts sent again after a lost answer */
	struct allowlist_cache *alcache; /* h_allowlists.c */
	pthread_t sloader;	      /* loads the db's stream index at start */
	bool sloader_running;
	size_t body_inflight; /* bytes held by request bodies being received (atomic) */
	struct cs_ratelimit *rl_register, *rl_login_fail;
	struct cs_ratelimit *known_sources; /* authenticated lately (conns.c) */
	pthread_mutex_t conn_lock;
	struct cs_dlist conns; /* open LAPI connections (struct lapi_conn) */
	unsigned n_conns;
	pthread_t reaper;
	bool reaper_running;
	struct capi *capi; /* capi.c: member of a crowd (api.server.online_client) */
	/* housekeeping thread (db_config.flush) */
	pthread_t flusher;
	bool flusher_running;
	bool stopping;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
};

/* AUTH_EITHER: a bouncer's API key or a machine's JWT (upstream's eitherAuth) */
/*
 * AUTH_JWT_PUSH (alert pushes): the token at the request, the machine's row in the
 * transaction that stores its alerts (cs_alert.owner_must_be_validated), where the
 * insert looks the owner up anyway: no read of its own per request.
 */
enum auth_kind {
	AUTH_NONE,
	AUTH_JWT,
	AUTH_JWT_PUSH,
	AUTH_JWT_REFRESH,
	AUTH_JWT_TRUSTED,
	AUTH_APIKEY,
	AUTH_EITHER
};

struct qarg {
	char *key;
	char *val;
};

struct req {
	struct cs_lapi *l;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	bool head;
	int64_t t0;
	char ip[INET6_ADDRSTRLEN];
	char *body;
	size_t len, cap;
	bool too_big;
	const char *param; /* {id} path segment */
	const struct route *route; /* NULL: unknown path or method */
	bool path_known;
	bool authed;	   /* machine token already checked (before the body) */
	bool row_deferred; /* AUTH_JWT_PUSH: the machine's row is checked by its answer */
	const char *ua;	   /* the User-Agent h_login takes instead of the header's (dashboard.c) */
	size_t body_cap;
	struct qarg args[LAPI_MAX_QUERY_ARGS];
	size_t nargs;
	bool too_many_args;
	/* auth results */
	struct cs_bouncer bouncer;
	bool is_bouncer;
	char machine[LAPI_MAX_ID];
	/* reply */
	int status;
	char *rbody;
	size_t rlen;
	const char *ctype;
	bool www_auth;
	bool nocache;
	bool page; /* a dashboard page or script: its security headers (request.c) */
	char *location;
	const char *content_encoding; /* "gzip" for a compressed streamed body */
	/* a streamed body (rbody unused): MHD pulls it through reader */
	MHD_ContentReaderCallback reader;
	void *reader_cls;
	MHD_ContentReaderFreeCallback reader_free;
	/* a handler that suspended the connection: answers when it is resumed */
	void (*resume)(struct req *r);
	void *pending; /* the handler's state meanwhile, released by pending_free */
	void (*pending_free)(void *pending);
};

typedef void (*handler_fn)(struct req *r);

/* ---- TLS client-certificate auth (tlsauth.c) ---- */
enum tls_peer { TLS_PEER_NONE, TLS_PEER_OK, TLS_PEER_BAD };
/* Load ca_cert_path (+crl_path); *ca_pem (caller frees) goes to MHD_OPTION_HTTPS_MEM_TRUST. */
int tlsauth_init(struct cs_lapi *l, char **ca_pem);
void tlsauth_free(struct cs_lapi *l);
/* NONE: no client certificate; OK: verified, OU allowed for the role, cn = its CN. */
enum tls_peer tlsauth_check(struct req *r, bool bouncer, char *cn, size_t cnlen);
/* Require*ClientCert and the peer sent none. */
bool tlsauth_required_missing(struct req *r);


struct route {
	const char *method;
	const char *path; /* a trailing "/{id}" matches one segment */
	enum auth_kind auth;
	handler_fn fn;
};

/* Replies (the body is copied or taken). */
void reply_json(struct req *r, int status, json_t *j); /* takes j */
void reply_raw(struct req *r, int status, const char *ctype, char *body, size_t len);
void reply_empty(struct req *r, int status);
void reply_msg(struct req *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void reply_jwt_error(struct req *r, const char *msg);
const char *req_arg(struct req *r, const char *key);
/* The first query argument whose key is none of keys[0..n), or NULL when all are known. */
const struct qarg *req_unknown_arg(const struct req *r, const char *const *keys, size_t n);
bool go_parse_bool(const char *s, bool *out);
/*
 * The address arguments every filter shares: `range` (else `ip`) parsed into
 * *range (*has_range set), `contains` into *contains. Replies 400 itself on bad
 * input; 0 or -EINVAL.
 */
int req_range_filter(struct req *r, struct cs_prefix *range, bool *has_range, bool *contains);

/*
 * Registration without a credential (h_register, the crowd's reporters): bounded per
 * source address. register_allowed charges r's address once, or replies 429 and says
 * false. register_machine stores id with pw's hash (validated or pending): 0, or it
 * replied the error (403 when id exists, 500) and returns it.
 */
bool register_allowed(struct req *r, int64_t now);
int register_machine(struct req *r, const char *id, const char *pw, bool validated, int64_t now);

/* handlers */
void h_health(struct req *r);
void h_register(struct req *r);
void h_login(struct req *r);
void h_refresh(struct req *r);
void h_heartbeat(struct req *r);
void h_alerts_push(struct req *r);
void h_alerts_search(struct req *r);
void h_alerts_delete(struct req *r);
void h_alert_get(struct req *r);
void h_alert_delete(struct req *r);
void h_decisions_get(struct req *r);
void h_decisions_delete(struct req *r);
void h_decision_delete(struct req *r);
void h_stream(struct req *r);
void h_allowlists_get(struct req *r);
void h_allowlist_get(struct req *r);
void h_allowlist_check(struct req *r);
void h_allowlists_check_bulk(struct req *r);
void h_usage_metrics(struct req *r);
void h_dashboard_asset(struct req *r);
void h_dashboard_login(struct req *r);
void h_dashboard_data(struct req *r);
/*
 * h_allowlists.c: an allowlisted IP or range gets no decision. Drops the alert's
 * allowlisted Ip/Range decisions; true when the whole alert is to be dropped (a
 * detector alert whose source is allowlisted, or nothing left of what it carried).
 */
bool lapi_allowlist_filter(struct cs_lapi *l, struct cs_alert *a, int64_t now);
/* The same for n alerts, the allowlists read once: drop[i] for v[i]. */
void lapi_allowlist_filter_all(struct cs_lapi *l, struct cs_alert *const *v, size_t n,
			       int64_t now, bool *drop);
/*
 * The live allowlists as last read, kept while cs_db_unchanged() vouches that
 * nobody wrote since but our own alert inserts, and until the first of their
 * items expires (SQLite; PostgreSQL reads them at every push).
 */
struct allowlist_cache *lapi_allowlist_cache_new(void);
void lapi_allowlist_cache_free(struct allowlist_cache *c);
/* Tests: pushes answered from the cache, and reads of the database. */
void lapi_allowlist_cache_counts(struct cs_lapi *l, unsigned long *hits, unsigned long *reads);

/*
 * API-key bouncers in memory (bouncer_cache.c): bcache_get() answers from
 * memory until the db says a bouncer changed, then from the db; last_pull is
 * kept here and written back in batches. 0, -ENOENT (no such key), -errno; out
 * is a copy. bcache_pulled(): `delivered` when the answer carried decisions
 * (on PostgreSQL such a last_pull is written at once, for the other replicas).
 * bcache_recheck(): on PostgreSQL, b's last_pull brought up to the one in the
 * database (another replica may have served b since): 1 when it moved, 0 when
 * not (always on SQLite), -errno.
 */
struct bouncer_cache;
int bcache_start(struct cs_lapi *l);
void bcache_stop(struct cs_lapi *l); /* writes what is pending */
int bcache_get(struct cs_lapi *l, const char *hash, struct cs_bouncer *out);
void bcache_seen(struct cs_lapi *l, const char *hash, const char *ip, const char *type,
		 const char *version);
void bcache_pulled(struct cs_lapi *l, const struct cs_bouncer *b, int64_t stamp, bool delivered);
int bcache_recheck(struct cs_lapi *l, struct cs_bouncer *b);
int bcache_flush(struct cs_lapi *l);
/* request.c: libmicrohttpd callbacks of the LAPI and Prometheus listeners */
enum MHD_Result lapi_on_request(void *cls, struct MHD_Connection *conn, const char *url,
				const char *method, const char *version, const char *upload,
				size_t *upload_size, void **con_cls);
void lapi_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		       enum MHD_RequestTerminationCode toe);
enum MHD_Result lapi_on_metrics(void *cls, struct MHD_Connection *conn, const char *url,
				const char *method, const char *version, const char *upload,
				size_t *upload_size, void **con_cls);

/* routes.c */
/* The route for (method, path); sets r->route, r->param, r->path_known. */
void lapi_find_route(struct req *r);
/* Checks the route's authentication, then runs its handler (or replies 301/404/405/413). */
void lapi_dispatch(struct req *r);

/* auth.c: each replies itself (403/401) and returns false when refused */
bool auth_bouncer(struct req *r);
bool auth_machine(struct req *r, int64_t leeway);
/* r->machine (its token checked) is still there and validated: an AUTH_JWT_PUSH
 * request whose alerts reached no insert, or whose insert refused the owner. */
bool auth_machine_row(struct req *r);
/* Before answering a push whose row the headers left to the insert: a 4xx for a
 * gone machine becomes its 401; the machine is counted once its row checked out. */
void auth_push_settle(struct req *r);
bool ip_trusted(struct req *r);
/* Replaces r->ip by the X-Forwarded-For client when the peer is a trusted proxy. */
void forwarded_ip(struct req *r);

/* queue.c: the detector's alert queue worker (cs_lapi_alert_enqueue) */
void *lapi_queue_main(void *arg);

/* ratelimit.c: per-source limits (GCRA) for registration and failed logins */
struct cs_ratelimit;
struct cs_ratelimit *ratelimit_new(unsigned burst, int64_t period);
void ratelimit_free(struct cs_ratelimit *rl);
/* Whether `ip` may make one more request now (charges nothing). */
bool ratelimit_allowed(struct cs_ratelimit *rl, const char *ip, int64_t now);
/* Count one request of `ip`. */
void ratelimit_charge(struct cs_ratelimit *rl, const char *ip, int64_t now);
/* As a set of sources: remember `ip` at `now`; whether it was remembered since `since`. */
void ratelimit_mark(struct cs_ratelimit *rl, const char *ip, int64_t now);
bool ratelimit_marked_since(struct cs_ratelimit *rl, const char *ip, int64_t since);

/*
 * conns.c: connections that cost nothing to open must not crowd out the clients
 * that matter. A connection must send its request headers within
 * LAPI_HEADER_TIMEOUT (cut otherwise, however slowly it trickles); unauthenticated
 * requests get a short idle timeout; and the last LAPI_RESERVED_SHARE of the
 * connection limit is kept for sources that authenticated lately (bouncers,
 * agents), so idle half-sent requests from any number of addresses cannot lock
 * them out.
 */
struct lapi_conn;
/* A socket address as text (v4-mapped IPv6 as IPv4); "" when none. */
void lapi_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len);
void lapi_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		      enum MHD_ConnectionNotificationCode code);
enum MHD_Result lapi_conn_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
/* The headers of a request arrived on r's connection. */
void lapi_conn_request(struct req *r);
/* r's socket peer as lapi_sockaddr_str writes it (formatted once per connection). */
void lapi_conn_peer(struct req *r, char *buf, size_t len);
/* A credential checked out on r: its source is known, its connection keeps the long idle timeout. */
void lapi_conn_authenticated(struct req *r);
/*
 * A machine token verified on r's connection is remembered there (agents send the
 * same one for an hour): lapi_conn_jwt_get copies its machine to id when tok is
 * that token and it has not expired at now; the signature is then not computed again.
 */
bool lapi_conn_jwt_get(struct req *r, const char *tok, int64_t now, char *id, size_t idlen);
void lapi_conn_jwt_put(struct req *r, const char *tok, const char *id, int64_t exp);
/* Cuts connections past the header deadline, once a second until the LAPI stops. */
void *lapi_conn_reaper_main(void *arg);

/* Parse the request body as JSON with the depth bound; replies 400 itself on error. */
json_t *req_json(struct req *r);
/* Free the request body and return its bytes to the in-flight bound. */
void req_body_release(struct req *r);
/* ---- commit.c: group commit ---- */
/* The writer thread: started once the db is open, stopped after the last alert producer. */
int lapi_committer_start(struct cs_lapi *l);
/* Stores what was handed in, then joins the writer; later commits store by themselves. */
void lapi_committer_stop(struct cs_lapi *l);
/*
 * One submission: cs_db_alerts_insert(l->db, v, n, NULL, now, ids) (each alert
 * names its owner), in one transaction with whatever else is handed in
 * meanwhile. err is 0 once the transaction committed; on a failure nothing of
 * v is stored and msg, when not NULL, gets the database's error text.
 */
struct lapi_commit_req {
	struct cs_alert *const *v;
	size_t n;
	int64_t now;
	int64_t *ids;
	int err;
	char *msg; /* written by the thread that holds the connection */
	size_t msglen;
	/* private to commit.c */
	struct MHD_Connection *conn; /* suspended: resumed once stored */
	bool done;
	struct lapi_commit_req *next;
};
/* Hands r to the writer and returns r->err once it is stored (or failed). */
int lapi_commit_wait(struct cs_lapi *l, struct lapi_commit_req *r);
/*
 * From a request handler: hands r to the writer and suspends conn; returns
 * -EINPROGRESS, and the writer resumes conn once r->err is set (the access
 * handler then runs again). -EAGAIN, nothing stored: too many alerts wait
 * already. When the writer does not suspend (the listener stops), r is stored
 * at once as by lapi_commit_wait. r must stay in place until conn is resumed.
 */
int lapi_commit_suspend(struct cs_lapi *l, struct lapi_commit_req *r, struct MHD_Connection *conn);
/* Before stopping the listener: no more suspensions, and every suspended connection resumed. */
void lapi_committer_quiesce(struct cs_lapi *l);
/* lapi_commit_wait on {v, n, now, ids, msg, msglen}. */
int lapi_commit_alerts(struct cs_lapi *l, struct cs_alert *const *v, size_t n, int64_t now,
		       int64_t *ids, char *msg, size_t msglen);
/* Submissions waiting for the writer, and taken by it since start (tests wait on them). */
void lapi_commit_counts(struct cs_lapi *l, size_t *queued, size_t *taken);
/* Tests: the writer takes nothing while paused; the bound on waiting alerts (0: the default). */
void lapi_commit_test_hold(struct cs_lapi *l, bool paused, size_t max_queued_alerts);

/* ---- journal.c: the alert journal (SQLite) ---- */
/*
 * Opens the journal next to the database, stores what it holds beyond the
 * database's position (before the LAPI listens), starts its writer. 0 and no
 * journal on PostgreSQL or when db_config.alert_journal is false.
 */
int lapi_journal_start(struct cs_lapi *l);
/* Stores what was appended (else the next start does), then joins the writer. */
void lapi_journal_stop(struct cs_lapi *l);
/*
 * After lapi_store_begin: gives st's alerts (st->keep[0..nk)) their ids (in
 * st->kids) and appends them to the journal with one write(). 0 and *out: the
 * caller runs lapi_store_end(..., 0, ...) then hands the alerts over with
 * lapi_journal_commit. Else nothing was appended and the group commit takes
 * them: -EOPNOTSUPP (no journal), -E2BIG (too large for a record: imports),
 * -ENOSPC (the journal is full), -EAGAIN, -ENOMEM, -errno (the write failed).
 */
struct jsub;
struct lapi_store;
int lapi_journal_append(struct cs_lapi *l, struct lapi_store *st, struct jsub **out);
/* The push's alerts (all its array, n of them) are the writer's from now on. */
void lapi_journal_commit(struct cs_lapi *l, struct jsub *s, struct cs_alert **all, size_t n);
/*
 * Around any other insert of alerts (the group commit, the crowd's pulls): on,
 * appends go to the group commit instead and what was appended is stored first;
 * off, appends resume. Ids then grow in the order rows are stored (db/stream.c).
 * On: 0, or -EAGAIN when not stored after 10 s (logged): not on, no insert, the
 * caller answers 503 / retries later.
 */
int lapi_journal_exclusive(struct cs_lapi *l, bool on);
/*
 * Before a read of alerts or decisions: waits until what was journaled before is
 * stored, 10 s at most: 0, or -ETIMEDOUT (logged).
 */
int lapi_journal_sync(struct cs_lapi *l);
/* A handler's lapi_journal_sync: true to go on, false when answered 503 (not stored in time). */
bool lapi_journal_read_ready(struct req *r);
/* Tests: the writer stores nothing while held; the cap on unstored bytes (0: the default). */
void lapi_journal_test_hold(struct cs_lapi *l, bool hold, size_t cap);
/* Tests: how long a read waits for the writer at most (0: the default, 10 s). */
void lapi_journal_test_sync_wait(struct cs_lapi *l, long long ms);
/* Tests: the next n appends wait for each other at the journal's lock (pushes racing). */
void lapi_journal_test_gate(struct cs_lapi *l, unsigned n);
/*
 * Tests, the LAPI idle: a new, empty dedupe map of `size` uuids (0: the default),
 * and the journal's bound on unstored alerts with it. 0 or -ENOMEM.
 */
int lapi_journal_test_dedupe(struct cs_lapi *l, size_t size);
/* Tests: the size past which the file takes no more records until cut (0: the default). */
void lapi_journal_test_rotate(struct cs_lapi *l, size_t rotate);
/* Tests: records appended and stored since start. */
void lapi_journal_counts(struct cs_lapi *l, unsigned long *appended, unsigned long *stored);
/* Tests: the reads and inserts waiting now for what was appended to be stored. */
int lapi_journal_waiters(struct cs_lapi *l);
/*
 * The record codec (a push's alerts after the profiles, with their ids):
 * journal_encode appends the payload to b (0, -ENOMEM, -E2BIG past the record
 * bound); journal_decode reads one back (every bound checked: 0, -EBADMSG for
 * anything malformed, -ENOMEM), the alerts ids_given.
 */
int journal_encode(struct sbuf *b, int64_t now, struct cs_alert *const *v, size_t n);
int journal_decode(const void *buf, size_t len, int64_t *now, struct cs_alert ***out, size_t *n);

/* ---- queue.c: storing alerts ---- */
/*
 * Storing alerts (queue.c): dedupe by uuid, allowlists, profiles, the group
 * commit, then the notifications and the crowd's signals. ids[i] is v[i]'s id
 * (0: allowlisted, not stored). -EINVAL (bad decision value, msg), -EAGAIN (too
 * many alerts wait to be stored, nothing stored), -EIO/-ENOMEM/-errno (msg).
 */
int lapi_store_alerts(struct cs_lapi *l, struct cs_alert **v, size_t n, const char *machine,
		      int64_t now, int64_t *ids, char *msg, size_t msglen);
/*
 * The same in two halves around the commit, for a handler that suspends its
 * connection meanwhile: lapi_store_begin runs everything before the commit and
 * fills st->commit (st->commit.n alerts to commit; on an error it released st);
 * after the commit of st->commit (or none when st->commit.n is 0),
 * lapi_store_end(..., st->commit.err) runs the rest and releases st. v, ids and
 * machine must outlive st.
 */
struct lapi_store {
	struct cs_alert **v;
	size_t n;
	const char *machine;
	int64_t now;
	int64_t *ids;
	struct cs_alert **keep; /* the alerts to store; keep to drop: one block (queue.c) */
	int64_t *kids;
	char *const **notify;
	size_t *nnotify;
	bool *drop;
	size_t nk;
	char dberr[256];
	struct lapi_commit_req commit;
};
int lapi_store_begin(struct cs_lapi *l, struct lapi_store *st, struct cs_alert **v, size_t n,
		     const char *machine, int64_t now, int64_t *ids, char *msg, size_t msglen);
int lapi_store_end(struct cs_lapi *l, struct lapi_store *st, int err, char *msg, size_t msglen);
/*
 * The uuids of alerts just stored (ids[i]: v[i]'s), remembered by their owner
 * before another writer may store (commit.c, inside lapi_journal_exclusive): a
 * push of one of them racing this one is answered with the stored id.
 */
void lapi_store_remember(struct cs_lapi *l, struct cs_alert *const *v, size_t n,
			 const int64_t *ids);


/* ---- capi.c: the LAPI as a member of a crowd ---- */
/* Starts pushing and pulling when api.server.online_client is set (else 0, nothing). */
int capi_start(struct cs_lapi *l);
/* After the last producer of alerts stopped and l->stopping is set: pushes what is queued. */
void capi_stop(struct cs_lapi *l);
/* Stored alerts whose signals the crowd gets (non-simulated, untainted, not manual). */
void capi_signal_alerts(struct cs_lapi *l, struct cs_alert *const *v, size_t n, int64_t now);

/* ---- notifications (notify.c) ---- */
/* Load notification_dir when a profile names notifications, check the names, start delivery. */
int lapi_notify_setup(struct cs_lapi *l, char *err, size_t errlen);
/* Hand a stored alert (its id set) to the notifications its profile named. */
void lapi_notify_alert(struct cs_lapi *l, const struct cs_alert *a, int64_t id, char *const *names,
		       size_t n);

#endif /* CS_LAPI_INT_H */
