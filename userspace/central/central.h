/* SPDX-License-Identifier: MIT */
/*
 * crowdsec-central: an open, self-hostable central API (CAPI) for a crowd of
 * CrowdSec-compatible Local APIs, and the consensus that turns their signals
 * into a community blocklist.
 *
 *   rules.c      the consensus rules (pure: tests drive them with their own clock)
 *   engine.c     signals in, listings out, over the db's central tables
 *   index.c      who reported each IP within the window, in memory (SQLite:
 *                one server owns the tables; PostgreSQL servers judge from SQL)
 *   api.c        the CAPI routes (v2 as CrowdSec 1.4.6 calls them, v3 as later
 *                versions do), served by the LAPI's HTTP server (userspace/lapi)
 *   admin.c      the operator's commands (reporters, safe list, explain, purge)
 *   config.c     central.yaml
 *
 *   struct central *c;
 *   central_open("/var/lib/crowdsec-central/central.db", NULL, 0, &rules, &c);
 *   central_ingest(c, reporter, peer_ip, signals, n, now, &res);
 *   central_pull(c, member, scenarios, startup, now, cb, ctx);
 *   central_close(c);
 *
 * Every function takes `now` (ns since the epoch): the tests inject time and
 * never sleep. The engine serializes on the db's lock (one transaction per call);
 * one struct central is used by one thread at a time (the server's handlers all
 * go through the db's lock).
 */
#ifndef CS_CENTRAL_H
#define CS_CENTRAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/central.h"

/* ---- rules.c ---- */
struct central_rules {
	unsigned min_reporters;	  /* distinct reporters (K), default 3 */
	unsigned min_networks;	  /* distinct reporter networks, default 2 */
	int v4_net_bits, v6_net_bits; /* what "one network" is: /24, /48 */
	int64_t window;		  /* reports older than this do not count: 24 h */
	int64_t listing_ttl;	  /* a listing lasts this long after its last confirmation */
	double threshold;	  /* sum over networks of the best trust there */
	double trust_new;	  /* a new reporter's trust (counts little) */
	double trust_confirmed;	  /* added per listing it helped make */
	double trust_unconfirmed; /* taken per report that never became a listing */
	double trust_safe_factor; /* trust multiplied by this per safe-list report */
	double trust_min;	  /* below this a reporter has no say */
	double rate_per_hour;	  /* signals a reporter may send, sustained */
	double rate_burst;	  /* and at once */
	int64_t retention;	  /* signals are deleted after this: 30 days */
};
void central_rules_default(struct central_rules *r);

/* A reporter's network ("198.18.0.0/24") from the address it sends from. */
int central_net_of(const struct central_rules *r, const char *ip, char *net, size_t len);

struct central_verdict {
	unsigned reporters; /* distinct, with a say (not blocked, trust >= trust_min) */
	unsigned networks;  /* distinct networks among them */
	double score;	    /* sum over networks of the best trust there */
	bool listed;
	char why[256]; /* the first rule that is not met, or "consensus" */
};
void central_judge(const struct central_rules *r, const struct cs_central_support *v, size_t n,
		   struct central_verdict *out);

/* Trust moves (clamped to [0, 1]). */
double central_trust_after_confirm(const struct central_rules *r, double t);
double central_trust_after_unconfirmed(const struct central_rules *r, double t, long n);
double central_trust_after_safe(const struct central_rules *r, double t);

/* Token bucket of a reporter: whether one more signal may pass at `now`. */
bool central_rate_take(const struct central_rules *r, double *tokens, int64_t *at, int64_t now);

/* Built-in safe ranges (loopback, private, link-local, multicast...): never listed. */
extern const char *const central_reserved_ranges[];

/* ---- engine.c ---- */
struct central;
/*
 * SQLite at db_path, or PostgreSQL when pg_conninfo is set (a pool of
 * max_conns connections, 0: the db's default): several servers may share one
 * PostgreSQL database and serve one crowd.
 */
int central_open(const char *db_path, const char *pg_conninfo, long max_conns,
		 const struct central_rules *rules, struct central **out);
void central_close(struct central *c);
/*
 * GeoLite2-ASN.mmdb in dir: a reporter's network is then its AS ("AS64496")
 * when the database knows its address (else its /24 or /48), so that a
 * thousand reporters in one AS weigh one. 0, or -ENOENT (no ASN database there).
 */
int central_set_geoip(struct central *c, const char *dir);
const struct central_rules *central_rules(const struct central *c);
struct cs_central_store *central_store(struct central *c);

/* Bounds on what one request may carry. */
#define CENTRAL_MAX_SIGNALS 1000 /* per batch (1.4.6 sends 50) */
#define CENTRAL_MAX_FIELD 256	 /* scenario names, hashes, versions */

struct central_ingest_result {
	size_t accepted;
	size_t rate_limited; /* over the reporter's rate */
	size_t ignored;	     /* tainted/custom/manual scenario, not an IP, bad address */
	size_t safe;	     /* safe-list addresses: contradict the reporter */
	size_t listed;	     /* IPs that entered (or re-entered) the blocklist */
	bool blocked;	     /* the reporter is blocked: nothing accepted */
};
/*
 * A batch of signals from `reporter`, sent from `peer_ip` (its network). The
 * signals must be untainted hub scenarios (hash and version set; the caller
 * checks the wire's scenario_trust). 0 or -errno.
 */
int central_ingest(struct central *c, const char *reporter, const char *peer_ip,
		   const struct cs_central_signal *v, size_t n, int64_t now,
		   struct central_ingest_result *res);

/* One entry of a pull; `deleted` entries carry only the IP. */
struct central_entry {
	const char *ip;
	const char *scenario; /* the first of the member's scenarios the listing has */
	int64_t until;
	bool deleted;
};
typedef int (*central_entry_cb)(const struct central_entry *e, void *ctx);
/*
 * The member's view of the blocklist: on startup every live listing for one of
 * `scenarios` (comma-separated, as the login stored them; NULL or "" = none),
 * else what changed since its last pull. The pull time is recorded.
 */
int central_pull(struct central *c, const char *member, const char *scenarios, bool startup,
		 int64_t now, central_entry_cb cb, void *ctx);

/* Admin (each its own transaction). */
int central_block(struct central *c, const char *reporter, bool blocked, int64_t now);
/* Adding a safe range ends the listings inside it at once. */
int central_safe_add(struct central *c, const char *range, const char *comment, int64_t now);
int central_safe_remove(struct central *c, const char *range);
/* Whether ip is on the safe list; *why the range (static or the row's). */
bool central_is_safe(struct central *c, const char *ip, char *why, size_t len);
/* A human explanation of why ip is (not) listed, malloc'ed. */
int central_explain(struct central *c, const char *ip, int64_t now, char **text);
/* Judge old reports, delete what is past retention. */
int central_purge(struct central *c, int64_t now, long *deleted);

/* ---- config.c: central.yaml ---- */
struct central_config {
	char *listen_uri; /* "127.0.0.1:8090" */
	char *db_path;	  /* "/var/lib/crowdsec-central/central.db" */
	char *db_conninfo; /* db_config.type postgresql: libpq's; NULL: SQLite at db_path */
	long db_max_conns; /* db_config.max_open_conns */
	char *log_level;
	char *geoip_dir; /* GeoLite2-ASN.mmdb: networks are ASes (NULL: /24, /48) */
	struct central_rules rules;
};
/* Defaults, then the file when path is set (a missing file is an error). */
int central_config_load(const char *path, struct central_config *cfg, char *err, size_t errlen);
void central_config_clear(struct central_config *cfg);

/* ---- api.c: the CAPI route table on the LAPI's server ---- */
struct cs_lapi_config;
void central_api_routes(struct cs_lapi_config *cfg, struct central *c);

/* ---- admin.c: `crowdsec-central COMMAND...`; returns the exit status ---- */
int central_admin(struct central *c, int argc, char **argv);

#endif /* CS_CENTRAL_H */
