/* SPDX-License-Identifier: MIT */
/*
 * LAPI storage on SQLite: machines, bouncers, alerts (+events, meta) and
 * decisions, with CrowdSec 1.4.6 semantics (soft-deleted decisions, the
 * per-bouncer stream delta, longest-decision-wins de-duplication).
 *
 * Ownership/threading: one struct cs_db owns the only sqlite3 handle. Every
 * public function takes the handle's mutex and runs as one transaction, so
 * callers on any thread see all-or-nothing effects. Times are int64 nanoseconds
 * since the epoch (UTC) and are passed in by the caller (injectable clock).
 *
 * Storage choices: timestamps are integers (index-friendly); Ip/Range decisions
 * carry CrowdSec's five range integers (ip_size, start/end ip, start/end
 * suffix: order-preserving signed 64-bit halves of the 128-bit address), so
 * containment queries are index lookups (see query.c, range_cond()).
 */
#ifndef CS_DB_H
#define CS_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"

struct cs_db;

struct cs_meta {
	char *key;
	char *value;
};

struct cs_alert_event {
	int64_t timestamp;
	char *meta_json; /* the event's meta array, serialized JSON ("null" if none) */
};

struct cs_decision {
	int64_t id;
	int64_t created_at;
	int64_t until;
	int64_t duration; /* input: requested duration; output: until - now */
	char *scenario;
	char *type;
	char *scope;
	char *value;
	char *origin;
	bool simulated;
	int64_t alert_id;
};

struct cs_alert {
	int64_t id;
	int64_t created_at;
	char *machine_id; /* output: owner ("N/A" if deleted); input: set by the LAPI */
	char *uuid;	  /* input only (CrowdSec 1.6+ agents, ours): retries are recognised by it */
	bool stored_before; /* output of cs_db_alerts_insert(): its machine's uuid was there */
	/* input of cs_db_alerts_insert() (an agent's push): its owner must be a validated
	 * machine when it is stored, looked up in the insert's own transaction */
	bool owner_must_be_validated;
	/* input of cs_db_alerts_insert() (SQLite): id and its decisions' ids are given,
	 * taken by cs_db_alert_ids_take() (the LAPI's journal answers with them) */
	bool ids_given;
	char *scenario;
	char *scenario_hash;
	char *scenario_version;
	char *message;
	char *leakspeed;
	int64_t events_count;
	int64_t capacity;
	int64_t start_at;
	int64_t stop_at;
	bool simulated;
	bool remediation;
	char *src_scope;
	char *src_value;
	char *src_ip;
	char *src_range;
	char *src_as_number;
	char *src_as_name;
	char *src_cn;
	double src_latitude;
	double src_longitude;
	struct cs_alert_event *events;
	size_t n_events;
	struct cs_meta *meta;
	size_t n_meta;
	struct cs_decision *decisions;
	size_t n_decisions;
	/* the decisions' strings point into a buffer someone else owns (a request
	 * body decoded in place): cs_alert_free() and cs_decision_clear() callers
	 * that see it free only the array */
	bool decisions_borrowed;
};

void cs_decision_clear(struct cs_decision *d);
/* Frees the members and the struct itself; accepts NULL. */
void cs_alert_free(struct cs_alert *a);
void cs_alerts_free(struct cs_alert **v, size_t n);
/* What malloc(n) takes from the heap on glibc: its header, 16-byte steps, 32 at least. */
size_t db_heap_block(size_t n);
/*
 * The heap a decoded alert takes (glibc's block sizes): what cs_alert_free()
 * gives back, walked by the same field tables. Borrowed decisions count as the
 * array only, as cs_alert_free() frees only that.
 */
size_t cs_alert_heap(const struct cs_alert *a);
/* The heap a decision's texts take (the decision itself is its array's). */
size_t cs_decision_heap(const struct cs_decision *d);
void cs_decisions_free(struct cs_decision *v, size_t n);

/* An address range in CrowdSec's integer encoding (contract 4.7). */
struct cs_range {
	int ip_size; /* 4, 16, or 0 for "not an address" */
	int64_t start_ip, start_suffix, end_ip, end_suffix;
	int plen;
};
/* The storage encoding of a prefix parsed by cs_prefix_parse (common/ipaddr.h). */
void cs_range_encode(const struct cs_prefix *p, struct cs_range *out);

/* CrowdSec's spelling of the scopes it knows ("ip" -> "Ip", "as" -> "AS"); others as given. */
const char *cs_scope_normalize(const char *scope);

/* Decision filter shared by GET /v1/decisions, the stream and DELETE /v1/decisions. */
struct cs_dfilter {
	char **scopes;	/* scope IN (...) */
	size_t n_scopes;
	char **origins; /* origin IN (...) */
	size_t n_origins;
	char **sc_contains; /* scenario contains any (case-insensitive) */
	size_t n_sc_contains;
	char **sc_not_contains;
	size_t n_sc_not_contains;
	const char *value;
	const char *type;
	const char *scenario; /* exact */
	bool has_range;
	bool contains; /* true: decision contains the range; false: inside it */
	struct cs_prefix range;
	bool include_simulated;
	bool no_dedup;
	int64_t created_before; /* non-zero: created before it (what a new list replaces) */
};

struct cs_afilter {
	const char *scope, *value, *scenario, *decision_type, *origin;
	bool has_range, contains;
	struct cs_prefix range;
	bool has_since, has_until, has_created_before;
	int64_t since, until, created_before; /* absolute times */
	bool exclude_capi;	   /* include_capi=false */
	int has_active_decision;   /* -1 unset, 0 no decisions, 1 has an active one */
	bool exclude_simulated;
	long limit;		   /* 0 = no limit */
	bool sort_asc;
};

/* SQLite at path (created if absent), migrated to the current schema. */
int cs_db_open(const char *path, struct cs_db **out);
/*
 * pg_conninfo NULL: cs_db_open(path). Otherwise PostgreSQL through libpq with
 * this connection string (cs_db_pg_conninfo() builds one from db_config) and a
 * pool of max_conns connections (db_config.max_open_conns; <= 0: 4, at most
 * 32); they reconnect by themselves after the server restarts.
 */
int cs_db_connect(const char *path, const char *pg_conninfo, long max_conns, struct cs_db **out);
bool cs_db_is_pg(const struct cs_db *db);
/*
 * SQLite's commits (WAL): full, an fsync each (survives a power cut); else
 * synchronous=NORMAL, the WAL synced at checkpoints only (a commit survives a
 * crash of the process, the last ones may roll back on a power cut; never
 * corrupt). cs_db_open's default is full. No-op on PostgreSQL.
 */
int cs_db_sqlite_synchronous(struct cs_db *db, bool full);
/*
 * SQLite: every commit so far made durable, at synchronous=NORMAL too: an fsync
 * of the WAL (what FULL does at each commit; what is checkpointed was synced
 * into the database by the checkpoint). 0, -EIO; no-op on PostgreSQL.
 */
int cs_db_sqlite_wal_sync(struct cs_db *db);
/*
 * SQLite: the WAL size, in frames, past which the committing thread checkpoints
 * the log itself (a steady stream of commits never lets the background
 * checkpoint restart it). Default (frames <= 0): 64,000. Call before the first
 * commit; no-op on PostgreSQL.
 */
void cs_db_sqlite_wal_bound(struct cs_db *db, int frames);
/*
 * SQLite: the write connection's page cache now, in KiB: large (64 MiB) while
 * bulk writes go by (an alert of 128 decisions or more stored in the last 2 s,
 * and from the open until the first write), small (8 MiB) otherwise; db/lite.c
 * says why. 0 on PostgreSQL. For tests.
 */
long cs_db_sqlite_cache_kib(struct cs_db *db);
/*
 * Housekeeping every `every` ns that one LAPI does for all those sharing the
 * database: 1 when this caller is the one to run `job` now (and the next claim
 * waits `every` from now), 0 when another did within `every`, -errno. Always 1
 * on SQLite.
 */
int cs_db_cluster_claim(struct cs_db *db, const char *job, int64_t now, int64_t every);
/*
 * 0 when the database answers (PostgreSQL: reconnecting first if it must), else -errno.
 * SQLite: through the side connection while the main one is held, so it answers
 * during the stream index's load or a long write.
 */
int cs_db_ping(struct cs_db *db);
/*
 * libpq's connection string from CrowdSec's db_config keys (NULL or "": left to
 * libpq's defaults), each value quoted. *out is malloc'ed.
 */
int cs_db_pg_conninfo(const char *host, const char *port, const char *user,
		      const char *password, const char *db_name, const char *sslmode, char **out);
void cs_db_close(struct cs_db *db);

/* ---- machines ---- */
struct cs_machine {
	int64_t id, created_at, updated_at, last_push, last_heartbeat;
	char *machine_id, *password, *ip_address, *scenarios, *version, *status, *auth_type;
	bool is_validated;
};
void cs_machine_clear(struct cs_machine *m);
void cs_machines_free(struct cs_machine *v, size_t n);
/* -EEXIST if the id exists and !force (force replaces the password). */
int cs_db_machine_add(struct cs_db *db, const char *machine_id, const char *pwhash,
		      const char *ip, bool validated, bool force, int64_t now);
/* TLS-authenticated machine: created (validated, auth_type tls) unless it exists;
 * -EPERM if it exists with another auth type. */
int cs_db_machine_tls(struct cs_db *db, const char *machine_id, const char *pwhash, int64_t now,
		      bool *created);
int cs_db_machine_get(struct cs_db *db, const char *machine_id, struct cs_machine *out);
int cs_db_machine_login(struct cs_db *db, const char *machine_id, const char *ip,
			const char *version, const char *scenarios, int64_t now);
int cs_db_machine_heartbeat(struct cs_db *db, const char *machine_id, int64_t now);
int cs_db_machine_validate(struct cs_db *db, const char *machine_id, int64_t now);
int cs_db_machine_delete(struct cs_db *db, const char *machine_id);
int cs_db_machine_list(struct cs_db *db, struct cs_machine **out, size_t *n);
/* Machines registered and not validated yet (self-registration is capped on it). */
int cs_db_machine_pending(struct cs_db *db, int64_t *n);

/* ---- bouncers ---- */
struct cs_bouncer {
	int64_t id, created_at, updated_at, until, last_pull;
	char *name, *api_key, *ip_address, *type, *version, *auth_type;
	bool revoked;
};
void cs_bouncer_clear(struct cs_bouncer *b);
void cs_bouncers_free(struct cs_bouncer *v, size_t n);
int cs_db_bouncer_add(struct cs_db *db, const char *name, const char *key_hash, int64_t now);
/* TLS-authenticated bouncer: created (auth_type tls) unless it exists; -EPERM if it
 * exists with another auth type. */
int cs_db_bouncer_tls(struct cs_db *db, const char *name, const char *key_hash, const char *ip,
		      int64_t now, struct cs_bouncer *out, bool *created);
/* -ENOENT if no bouncer has this key hash. */
int cs_db_bouncer_by_key(struct cs_db *db, const char *key_hash, struct cs_bouncer *out);
int cs_db_bouncer_seen(struct cs_db *db, int64_t id, const char *ip, const char *type,
		       const char *version, int64_t now);
int cs_db_bouncer_set_last_pull(struct cs_db *db, int64_t id, int64_t t);
/* Several bouncers' last_pull in one transaction (the LAPI batches them); a last_pull
 * never goes back. */
int cs_db_bouncers_set_last_pull(struct cs_db *db, const int64_t *ids, const int64_t *t,
				 size_t n);
int cs_db_bouncer_delete(struct cs_db *db, const char *name);
/*
 * PostgreSQL: a number that changes whenever a bouncer is deleted, renamed,
 * re-keyed or revoked, by any process or replica (one cheap query): what a
 * replica caches of its bouncers is good while it stays the same, except
 * last_pull, which other replicas advance. -EOPNOTSUPP on SQLite
 * (cs_db_external_version() serves there).
 */
int cs_db_bouncers_epoch(struct cs_db *db, int64_t *n);
/*
 * A number that changes whenever another connection (cscli, sqlite3) committed
 * to the database: what this handle caches may be stale. -EBUSY instead of
 * waiting when the handle is in use.
 */
int cs_db_external_version(struct cs_db *db, int64_t *version);
/*
 * SQLite in WAL mode: a cache of tables that alert inserts never write (the
 * allowlists) kept exact without a read per use. Take a mark before reading
 * them, stamp it once the cache holds what was read; cs_db_unchanged() is then
 * true while nobody committed since but this process's alert inserts (each
 * vouches for its own commit): another process (cscli) or any other write of
 * ours moves the counter past the stamp. One stamp per handle. -EOPNOTSUPP /
 * false on PostgreSQL, without a WAL, or before the first alert insert.
 */
int cs_db_change_mark(struct cs_db *db, uint32_t *mark);
void cs_db_stamp(struct cs_db *db, uint32_t mark);
bool cs_db_unchanged(struct cs_db *db);
int cs_db_bouncer_list(struct cs_db *db, struct cs_bouncer **out, size_t *n);

/* ---- alerts ---- */
/*
 * Insert alerts (with their events, meta and decisions) in one transaction;
 * decisions get until = stop_at + duration. ids[] receives the new alert ids.
 * The owner is machine_id, or each alert's own machine_id when that is NULL.
 * Returns -EINVAL (nothing stored) if a decision's Ip/Range value is unparsable.
 * An alert whose owner already has an alert with its uuid is not stored again,
 * on any LAPI sharing the database: ids[] gets the stored one's id and the alert
 * stored_before. -EACCES (nothing stored) if an alert owner_must_be_validated
 * belongs to a machine that is missing or not validated.
 */
int cs_db_alerts_insert(struct cs_db *db, struct cs_alert *const *alerts, size_t n,
			const char *machine_id, int64_t now, int64_t *ids);
/*
 * SQLite: ids come from one counter per table, so that they can be handed out
 * before the rows are stored (the LAPI's alert journal): cs_db_alert_ids_init()
 * reads where the tables are (before the first take; every insert keeps the
 * counters above what is stored), cs_db_alert_ids_take() reserves nalerts and
 * ndecisions consecutive ids. -EOPNOTSUPP on PostgreSQL, -EAGAIN before init.
 */
int cs_db_alert_ids_init(struct cs_db *db);
int cs_db_alert_ids_take(struct cs_db *db, size_t nalerts, size_t ndecisions, int64_t *alert0,
			 int64_t *decision0);
/*
 * SQLite: cs_db_alerts_insert() (each alert names its owner) that also records,
 * in the same transaction, how far the journal they come from is stored
 * (schema version 9's alert_journal); cs_db_journal_get() reads it back.
 */
int cs_db_alerts_insert_journaled(struct cs_db *db, struct cs_alert *const *alerts, size_t n,
				  int64_t now, int64_t *ids, int64_t generation, int64_t position);
int cs_db_journal_get(struct cs_db *db, int64_t *generation, int64_t *position);
/* The last `max` alerts stored with a uuid and an owner, oldest first: fn(machine, uuid, id). */
typedef void (*cs_db_uuid_cb)(void *ctx, const char *machine, const char *uuid, int64_t id);
int cs_db_alerts_recent_uuids(struct cs_db *db, long max, cs_db_uuid_cb fn, void *ctx);
int cs_db_alerts_search(struct cs_db *db, const struct cs_afilter *f, int64_t now,
			struct cs_alert ***out, size_t *n);
/* -ENOENT if absent. */
int cs_db_alert_get(struct cs_db *db, int64_t id, int64_t now, struct cs_alert **out);
int cs_db_alert_delete(struct cs_db *db, int64_t id);
int cs_db_alerts_delete(struct cs_db *db, const struct cs_afilter *f, int64_t now, long *n);
/* Alerts per scenario for the cs_alerts gauge (include_capi=false semantics). */
typedef void (*cs_db_count_cb)(void *ctx, const char *k1, const char *k2, const char *k3,
			       long count);
int cs_db_alerts_count(struct cs_db *db, cs_db_count_cb cb, void *ctx);

/* ---- decisions ---- */
int cs_db_decisions_active(struct cs_db *db, const struct cs_dfilter *f, int64_t now,
			   struct cs_decision **out, size_t *n);
/*
 * The stream answer for a bouncer whose previous pull was at last_pull; in the
 * same transaction, the bouncer's last_pull becomes now (bouncer_id > 0).
 */
int cs_db_decisions_stream(struct cs_db *db, const struct cs_dfilter *f, bool startup,
			   int64_t last_pull, int64_t now, int64_t bouncer_id,
			   struct cs_decision **new_out, size_t *n_new, struct cs_decision **del_out,
			   size_t *n_del);
/*
 * Same, row by row without copies: cb sees the deleted list first, then the new
 * one; `d` (and its strings) is only valid during the call. A non-zero return
 * from cb aborts (and is returned). The db lock is held throughout: keep cb cheap.
 */
typedef int (*cs_db_decision_cb)(void *ctx, bool deleted, const struct cs_decision *d);
int cs_db_decisions_stream_each(struct cs_db *db, const struct cs_dfilter *f, bool startup,
				int64_t last_pull, int64_t now, int64_t bouncer_id,
				cs_db_decision_cb cb, void *ctx);
/*
 * The stream index (stream.c): every Ip/Range decision row in memory, so that
 * /v1/decisions/stream costs what changed since the bouncer's last pull (a pull
 * with nothing new touches no database page) and a startup answer is walked
 * from memory. Decisions must only be written through this handle.
 *
 * cs_db_stream_load() fills the index once (the LAPI calls it at start): from the
 * snapshot a clean stop saved when it still matches the database, else from
 * SQLite; until it has, cs_db_stream_begin() returns -EOPNOTSUPP, and while it
 * runs callers wait.
 * begin: -EOPNOTSUPP when the filter needs SQL (scenario/value/type/range
 * filters, scopes other than Ip/Range): use cs_db_decisions_stream_each.
 * dedup=false is served from the index too (every row, not one per value).
 * Otherwise *stamp is what to record as the bouncer's last_pull (it can be a
 * little before now while a write is in flight, never after).
 * next: up to max rows through cb, the deleted list first; 1 while more remain,
 * 0 when done, -ESTALE if the index was rebuilt since begin (start over), or
 * cb's error. The index is locked only inside each call.
 */
int cs_db_stream_load(struct cs_db *db);
/*
 * SQLite: the index saved beside the database (DB_PATH.stream) at a clean stop, in
 * step with the database, so that the next load reads it instead of every row; the
 * load takes it only for the same database with no decision changed or deleted
 * since (rows appended since are read from SQLite), else reads SQLite. 0 also when
 * there is nothing to save (PostgreSQL, in-memory, index not loaded or behind).
 */
int cs_db_stream_save(struct cs_db *db);
/* The last load started from that snapshot (logs, tests). */
bool cs_db_stream_from_snapshot(struct cs_db *db);
struct cs_db_stream;
int cs_db_stream_begin(struct cs_db *db, const struct cs_dfilter *f, bool startup,
		       int64_t last_pull, int64_t now, struct cs_db_stream **out, int64_t *stamp);
int cs_db_stream_next(struct cs_db_stream *st, size_t max, cs_db_decision_cb cb, void *ctx);
void cs_db_stream_end(struct cs_db_stream *st);

/* Soft delete (until = now) of active matching decisions; *n = rows changed. */
int cs_db_decisions_expire(struct cs_db *db, const struct cs_dfilter *f, int64_t now, long *n);
/* Soft delete one decision whatever its state; -ENOENT if absent. */
int cs_db_decision_expire_id(struct cs_db *db, int64_t id, int64_t now);
/* Number of decisions (any state) whose range contains value (GetDecisionsCount). */
int cs_db_decisions_count_ip(struct cs_db *db, const char *value, int64_t since, long *n);
/* Active decisions grouped by (scenario, origin, type) for cs_active_decisions. */
int cs_db_decisions_count_active(struct cs_db *db, int64_t now, cs_db_count_cb cb, void *ctx);

/* ---- allowlists (CrowdSec 1.6.6+): IPs and ranges that never get a decision ---- */
struct cs_allowlist_item {
	char *value;	    /* IP or CIDR as given */
	char *comment;
	int64_t created_at;
	int64_t expires_at; /* 0: never */
};

struct cs_allowlist {
	int64_t id;
	char *name, *description, *allowlist_id; /* allowlist_id: the console's, "" here */
	bool from_console;
	int64_t created_at, updated_at;
	struct cs_allowlist_item *items; /* live items only (not expired at `now`) */
	size_t nitems;
};

/* -EEXIST if the name is taken, -EINVAL for an empty or oversized name. */
int cs_db_allowlist_create(struct cs_db *db, const char *name, const char *description,
			   int64_t now);
/* The list and its items; -ENOENT if there is no such list. */
int cs_db_allowlist_delete(struct cs_db *db, const char *name);
int cs_db_allowlist_list(struct cs_db *db, bool with_items, int64_t now,
			 struct cs_allowlist **out, size_t *n);
int cs_db_allowlist_get(struct cs_db *db, const char *name, bool with_items, int64_t now,
			struct cs_allowlist *out);
void cs_allowlist_clear(struct cs_allowlist *a);
void cs_allowlists_free(struct cs_allowlist *v, size_t n);
/*
 * Add items (values already in the list are skipped): all or nothing; -EINVAL if a
 * value is not an IP or CIDR, -ENOENT if the list does not exist. *added counts.
 */
int cs_db_allowlist_add(struct cs_db *db, const char *name,
			const struct cs_allowlist_item *items, size_t n, int64_t now, long *added);
int cs_db_allowlist_remove(struct cs_db *db, const char *name, char *const *values, size_t n,
			   long *removed);
/*
 * Is `value` (IP or CIDR) covered by a live item, or does it cover one? 1 (and
 * *reason "v from list (comment), ..." if asked; free it), 0, -EINVAL if value
 * is not an address, or -errno.
 */
int cs_db_allowlisted(struct cs_db *db, const char *value, int64_t now, char **reason);
/* Expire every active decision an allowlist item covers or lies inside. */
int cs_db_allowlists_apply(struct cs_db *db, int64_t now, long *expired);

/* ---- usage metrics (CrowdSec 1.6.3+, POST /v1/usage-metrics) ---- */
#define CS_USAGE_METRICS_MAX_AGE (7LL * 86400 * 1000000000LL) /* upstream's metrics_max_age */
#define CS_USAGE_METRICS_MAX_PER_SENDER 2000
struct cs_usage_metric {
	int64_t id, received_at;
	char *generated_type, *generated_by, *payload;
};
void cs_usage_metrics_free(struct cs_usage_metric *v, size_t n);
/*
 * Store one payload (JSON text) from `by` (a bouncer name or machine id) of
 * generated_type "LP" or "RC", and what its base metrics say about it ("os/version",
 * feature flags joined by ","; a machine's version too). Payloads past
 * CS_USAGE_METRICS_MAX_AGE, and a sender's beyond its newest
 * CS_USAGE_METRICS_MAX_PER_SENDER, go in the same transaction.
 */
int cs_db_usage_metric_add(struct cs_db *db, const char *generated_type, const char *by,
			   const char *version, const char *os, const char *featureflags,
			   const char *payload, int64_t now);
/* Every stored payload of generated_type, oldest first. */
int cs_db_usage_metrics_list(struct cs_db *db, const char *generated_type,
			     struct cs_usage_metric **out, size_t *n);

/*
 * Housekeeping (db_config.flush): delete alerts created before `before` (0: no
 * age limit) and the oldest beyond `max_items` (0: no count limit); their
 * decisions, events and meta go by cascade. *n = alerts deleted.
 */
int cs_db_flush(struct cs_db *db, int64_t before, long max_items, long *n);

const char *cs_db_errmsg(struct cs_db *db);

#endif /* CS_DB_H */
