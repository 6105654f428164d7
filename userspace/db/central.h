/* SPDX-License-Identifier: MIT */
/*
 * The crowd's tables (crowdsec-central, userspace/central/): reporters and their
 * trust, the signals they sent, the community blocklist, the safe list. They live
 * beside the LAPI schema in a cs_db file (the reporters' credentials are the
 * machines table) and are created on open, outside the LAPI's migrations.
 *
 * Privacy by construction: a signal row holds the reported IP, the scenario's
 * name/hash/version, its start/stop and reception times and the reporter's id;
 * there is no column for anything else.
 *
 * Every call except open/close runs inside cs_db_central_begin()/_end(), which
 * hold the db's lock: a batch of signals is one transaction.
 */
#ifndef CS_DB_CENTRAL_H
#define CS_DB_CENTRAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

struct cs_central_store;

int cs_db_central_open(struct cs_db *db, struct cs_central_store **out);
void cs_db_central_close(struct cs_central_store *st);

int cs_db_central_begin(struct cs_central_store *st);
/* Commit when err == 0, roll back otherwise; returns err or the commit's. */
int cs_db_central_end(struct cs_central_store *st, int err);
/* cs_db_central_end in two steps, for callers that must act on the outcome
 * (drop in-memory state that mirrors a rolled-back write) while still holding
 * the store's lock. */
int cs_db_central_finish(struct cs_central_store *st, int err);
void cs_db_central_unlock(struct cs_central_store *st);

struct cs_central_reporter {
	char *id;
	char *net;	   /* the network it reports from ("198.18.0.0/24") */
	double trust;	   /* 0..1 */
	long confirmed;	   /* reports later confirmed by others */
	long contradicted; /* reports of safe-list addresses */
	long unconfirmed;  /* reports that never became a listing */
	bool blocked;	   /* by the operator: its reports are refused and do not count */
	double tokens;	   /* rate limit bucket */
	int64_t tokens_at, created_at, last_pull;
};
void cs_central_reporter_clear(struct cs_central_reporter *r);
void cs_central_reporters_free(struct cs_central_reporter *v, size_t n);
/* -ENOENT when the reporter never reported nor pulled. */
int cs_db_central_reporter_get(struct cs_central_store *st, const char *id,
			       struct cs_central_reporter *out);
/* Insert or replace every field. */
int cs_db_central_reporter_put(struct cs_central_store *st, const struct cs_central_reporter *r);
int cs_db_central_reporter_list(struct cs_central_store *st, struct cs_central_reporter **out,
				size_t *n);

enum cs_central_signal_state {
	CS_SIGNAL_PENDING,     /* not judged yet (a listing at or after it confirms it) */
	CS_SIGNAL_CONFIRMED,   /* judged by the purge: its IP was listed at or after it */
	CS_SIGNAL_UNCONFIRMED, /* judged by the purge: left the window without a listing */
	CS_SIGNAL_LATE,	       /* the IP was already listed: neither confirms nor contradicts */
};

struct cs_central_signal {
	const char *ip, *scenario, *scenario_hash, *scenario_version;
	int64_t start_at, stop_at;
};
int cs_db_central_signal_add(struct cs_central_store *st, const char *reporter,
			     const struct cs_central_signal *s, int64_t now,
			     enum cs_central_signal_state state);

/* One distinct reporter of an IP within the window. */
struct cs_central_support {
	char *reporter, *net, *scenario;
	double trust;
	bool blocked;
	bool pending; /* it has a report not yet confirmed by a listing (not late) */
	int64_t last_at;
};
void cs_central_supports_free(struct cs_central_support *v, size_t n);
/* Pending: reports in state PENDING received after pending_after (the IP's last
 * listing, or 0). */
int cs_db_central_support(struct cs_central_store *st, const char *ip, int64_t since,
			  int64_t pending_after, struct cs_central_support **out, size_t *n);
/*
 * Every (ip, reporter) with reports since `since`: the latest one's time and a
 * scenario, and whether one of them is pending (not confirmed by a listing of
 * the IP made at or after it, not late). For an in-memory index at start.
 */
typedef int (*cs_central_window_cb)(const char *ip, const char *reporter, int64_t last_at,
				    const char *scenario, bool pending, void *ctx);
int cs_db_central_window(struct cs_central_store *st, int64_t since, cs_central_window_cb cb,
			 void *ctx);

/*
 * A number every change made outside the signal path (an operator's block,
 * safe list edit, purge) increments, in whichever process: a server caching
 * reporters or the safe list reloads them when it moves.
 */
int cs_db_central_generation(struct cs_central_store *st, int64_t *gen);
int cs_db_central_bump(struct cs_central_store *st);

struct cs_central_listing {
	char *ip;
	char *scenarios; /* comma-separated, the scenarios its reporters saw */
	int64_t listed_at, updated_at, until;
};
void cs_central_listing_clear(struct cs_central_listing *l);
int cs_db_central_listing_get(struct cs_central_store *st, const char *ip,
			      struct cs_central_listing *out);
int cs_db_central_listing_put(struct cs_central_store *st, const struct cs_central_listing *l);
/*
 * Listings with until > live_after and updated_at > updated_after (startup:
 * updated_after = INT64_MIN), or with until in (ended_after, ended_until] when
 * `ended` is set. cb returns non-zero to stop (returned).
 */
typedef int (*cs_central_listing_cb)(const struct cs_central_listing *l, void *ctx);
int cs_db_central_listings_live(struct cs_central_store *st, int64_t live_after,
				int64_t updated_after, cs_central_listing_cb cb, void *ctx);
int cs_db_central_listings_ended(struct cs_central_store *st, int64_t after, int64_t until,
				 cs_central_listing_cb cb, void *ctx);

struct cs_central_safe {
	char *range, *comment;
};
void cs_central_safe_free(struct cs_central_safe *v, size_t n);
int cs_db_central_safe_list(struct cs_central_store *st, struct cs_central_safe **out, size_t *n);
/* -EEXIST when present */
int cs_db_central_safe_add(struct cs_central_store *st, const char *range, const char *comment,
			   int64_t now);
/* -ENOENT when absent */
int cs_db_central_safe_remove(struct cs_central_store *st, const char *range);

/*
 * Pending signals received before `judge_before` are judged: those whose IP was
 * not listed at or after them become unconfirmed (cb is called once per reporter
 * with their count), the others confirmed. Then signals received before
 * `signals_before` and listings that ended before `listings_before` are deleted.
 */
typedef void (*cs_central_judged_cb)(const char *reporter, long n, void *ctx);
int cs_db_central_purge(struct cs_central_store *st, int64_t judge_before,
			int64_t signals_before, int64_t listings_before, cs_central_judged_cb cb,
			void *ctx, long *deleted);
/* Counts for the admin CLI and metrics. */
int cs_db_central_counts(struct cs_central_store *st, int64_t now, long *reporters, long *signals,
			 long *listed);

#endif /* CS_DB_CENTRAL_H */
