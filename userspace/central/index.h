/* SPDX-License-Identifier: MIT */
/*
 * Private to central/: the supporters index, what the consensus judges from
 * when one server owns the database (SQLite). Per reported IP, its distinct
 * reporters within the window (latest report, a scenario, whether a report is
 * still pending); per reporter, what judging needs of it (network, trust,
 * blocked). Built from the database on the server's first batch, then kept by
 * the engine: judging a signal reads memory instead of grouping rows in SQL.
 *
 * On PostgreSQL several servers share the tables and none of them sees the
 * others' reports in its memory: the engine judges from SQL there.
 */
#ifndef CS_CENTRAL_INDEX_H
#define CS_CENTRAL_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/central.h"

/*
 * Distinct reporters kept per IP. A full IP keeps its most trusted reporters
 * (a thousand fresh sybils cannot push out the reporters that count).
 */
#define CROWD_MAX_IP_SUPPORTERS 4096

struct crowd_index;

int crowd_index_new(struct crowd_index **out);
void crowd_index_free(struct crowd_index *x);

/* A reporter's judging view, added or updated from its row. 0 or -ENOMEM. */
int crowd_rep_set(struct crowd_index *x, const struct cs_central_reporter *r);

/*
 * A report of ip by reporter at `at` (pending: not late). The reporter is
 * known to the index (crowd_rep_set) or gets trust 0. 0 or -ENOMEM.
 */
int crowd_report(struct crowd_index *x, const char *ip, const char *reporter,
		 const char *scenario, int64_t at, bool pending);

/*
 * The reporters of ip since `since`, as the SQL support query gives them but
 * with borrowed strings: free the array alone (free()). Older entries are
 * dropped on the way.
 */
int crowd_support(struct crowd_index *x, const char *ip, int64_t since,
		  struct cs_central_support **out, size_t *n);
/* The IP was listed: its pending reports are confirmed. */
void crowd_confirmed(struct crowd_index *x, const char *ip);
/* Forget reports older than since. */
void crowd_prune(struct crowd_index *x, int64_t since);
size_t crowd_ips(const struct crowd_index *x);

#endif /* CS_CENTRAL_INDEX_H */
