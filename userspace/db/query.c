// SPDX-License-Identifier: MIT
/*
 * Query building: filter structs (db.h) to SQL text with bound values. User
 * values are always bound; only structure and integers computed here are spliced.
 */
#include "db/db_int.h"

#include <stdarg.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/vec.h"

void qb_add(struct qb *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(&q->sql, fmt, ap);
	va_end(ap);
}

void qb_bind(struct qb *q, bool is_text, int64_t i, const char *s)
{
	if (q->err)
		return;
	if (vec_reserve((void **)&q->b, &q->bcap, q->nb, sizeof(*q->b), 16)) {
		q->err = -ENOMEM;
		return;
	}
	q->b[q->nb++] = (struct qbind){ is_text, i, s };
}

void qb_free(struct qb *q)
{
	sb_free(&q->sql);
	free(q->b);
}

int qb_prepare(struct cs_db *db, struct qb *q, struct dbstmt **out)
{
	struct dbstmt *s;

	*out = NULL;
	if (q->err || q->sql.err)
		return q->err ? q->err : q->sql.err;
	if (db_prepare(db, q->sql.buf, &s))
		return -EIO;
	for (size_t i = 0; i < q->nb; i++) {
		if (q->b[i].is_text)
			bind_text(s, i + 1, q->b[i].s);
		else
			bind_int(s, i + 1, q->b[i].i);
	}
	*out = s;
	return 0;
}

static void qb_in_list(struct qb *q, const char *col, char **v, size_t n)
{
	qb_add(q, " AND %s IN (", col);
	for (size_t i = 0; i < n; i++) {
		qb_add(q, "%s?", i ? ", " : "");
		qb_text(q, v[i]);
	}
	qb_add(q, ")");
}

/*
 * Range condition on decisions alias `a`. contains=true: the decision holds
 * the query range. Every Ip/Range decision is a CIDR, so a decision holding
 * address q is one of the networks of q (one per prefix length): we look those
 * up exactly in decisions_addr (33 or 129 index probes) instead of scanning
 * all rows with start <= q. contains=false: the decision lies inside the query
 * range, an index range scan on (ip_size, start_ip, start_suffix).
 */
static void range_cond(struct qb *q, const char *a, const struct cs_prefix *p, bool contains)
{
	struct cs_range r;

	if (!contains) {
		cs_range_encode(p, &r);
		/* start <= end is implied; stating it bounds the index range scan */
		qb_add(q,
		       " AND %s.ip_size = ? AND (%s.start_ip, %s.start_suffix) >= (?, ?)"
		       " AND (%s.start_ip, %s.start_suffix) <= (?, ?)"
		       " AND (%s.end_ip, %s.end_suffix) <= (?, ?)",
		       a, a, a, a, a, a, a);
		qb_int(q, r.ip_size);
		qb_int(q, r.start_ip);
		qb_int(q, r.start_suffix);
		qb_int(q, r.end_ip);
		qb_int(q, r.end_suffix);
		qb_int(q, r.end_ip);
		qb_int(q, r.end_suffix);
		return;
	}
	qb_add(q, " AND %s.id IN (", a);
	for (int len = 0; len <= p->plen; len++) {
		struct cs_prefix net = *p;

		cs_prefix_set_len(&net, len);
		cs_range_encode(&net, &r);
		qb_add(q,
		       "%sSELECT id FROM decisions WHERE ip_size = %d AND start_ip = %lld"
		       " AND start_suffix = %lld AND end_ip = %lld AND end_suffix = %lld",
		       len ? " UNION ALL " : "", r.ip_size, (long long)r.start_ip,
		       (long long)r.start_suffix, (long long)r.end_ip, (long long)r.end_suffix);
	}
	qb_add(q, ")");
}

/* sql (one ? parameter) when the filter sets v: NULL means "any". */
static void text_cond(struct qb *q, const char *sql, const char *v)
{
	if (!v)
		return;
	qb_add(q, "%s", sql);
	qb_text(q, v);
}

/*
 * d.value = v, looked up in decisions_addr (schema.h): the rows with that value
 * have the range value_range() gives it (Ip and Range scopes) or none (the
 * other scopes), so one of the two exact keys below finds each of them.
 */
static void value_cond(struct qb *q, const char *v)
{
	static const char key[] = "(d.ip_size = ? AND d.start_ip = ? AND d.start_suffix = ?"
				  " AND d.end_ip = ? AND d.end_suffix = ? AND d.value = ?)";
	struct cs_range r = { 0 }, none = { 0 };
	bool addr;

	if (!v)
		return;
	addr = !value_range(v, &r) && r.ip_size;
	for (int k = 0; k < 1 + addr; k++) {
		const struct cs_range *at = k ? &r : &none;

		qb_add(q, "%s%s", k ? " OR " : " AND (", key);
		qb_int(q, at->ip_size);
		qb_int(q, at->start_ip);
		qb_int(q, at->start_suffix);
		qb_int(q, at->end_ip);
		qb_int(q, at->end_suffix);
		qb_text(q, v);
	}
	qb_add(q, ")");
}

static void int_cond(struct qb *q, bool has, const char *sql, int64_t v)
{
	if (!has)
		return;
	qb_add(q, "%s", sql);
	qb_int(q, v);
}

void dfilter_cond(struct qb *q, const struct cs_dfilter *f)
{
	if (f->n_scopes)
		qb_in_list(q, "d.scope", f->scopes, f->n_scopes);
	if (f->n_origins)
		qb_in_list(q, "d.origin", f->origins, f->n_origins);
	if (f->n_sc_contains) {
		qb_add(q, " AND (");
		for (size_t i = 0; i < f->n_sc_contains; i++) {
			qb_add(q, "%sinstr(lower(d.scenario), lower(?)) > 0", i ? " OR " : "");
			qb_text(q, f->sc_contains[i]);
		}
		qb_add(q, ")");
	}
	for (size_t i = 0; i < f->n_sc_not_contains; i++) {
		qb_add(q, " AND instr(lower(d.scenario), lower(?)) = 0");
		qb_text(q, f->sc_not_contains[i]);
	}
	value_cond(q, f->value);
	text_cond(q, " AND d.type = ?", f->type);
	text_cond(q, " AND d.scenario = ?", f->scenario);
	if (!f->include_simulated)
		qb_add(q, " AND d.simulated = 0");
	if (f->created_before) {
		qb_add(q, " AND d.created_at < ?");
		qb_int(q, f->created_before);
	}
	if (f->has_range)
		range_cond(q, "d", &f->range, f->contains);
}

/*
 * "Longest decision wins" per (value, type, scope), over the whole table. The
 * range, which the value determines, is stated for decisions_addr's sake.
 */
void dedup_cond(struct qb *q)
{
	qb_add(q, " AND d.id = (SELECT d2.id FROM decisions d2 WHERE d2.ip_size = d.ip_size"
		  " AND d2.start_ip = d.start_ip AND d2.start_suffix = d.start_suffix"
		  " AND d2.end_ip = d.end_ip AND d2.end_suffix = d.end_suffix"
		  " AND d2.value = d.value AND d2.type = d.type AND d2.scope = d.scope"
		  " ORDER BY d2.until DESC, d2.id DESC LIMIT 1)");
}

/* opens a subquery on the alert's decisions (alias d): the caller closes it */
#define ALERT_HAS_DECISION "EXISTS (SELECT 1 FROM decisions d WHERE d.alert_decisions = a.id"

void afilter_cond(struct qb *q, const struct cs_afilter *f, int64_t now)
{
	if (f->scope) {
		const char *sc = f->scope;

		if (!strcasecmp(sc, "ip"))
			sc = "Ip";
		else if (!strcasecmp(sc, "range"))
			sc = "Range";
		text_cond(q, " AND a.source_scope = ?", sc);
	}
	text_cond(q, " AND a.source_value = ?", f->value);
	text_cond(q, " AND " ALERT_HAS_DECISION " AND d.scenario = ?)", f->scenario);
	if (f->has_range) {
		qb_add(q, " AND " ALERT_HAS_DECISION);
		range_cond(q, "d", &f->range, f->contains);
		qb_add(q, ")");
	}
	int_cond(q, f->has_since, " AND a.started_at >= ?", f->since);
	int_cond(q, f->has_until, " AND a.started_at <= ?", f->until);
	int_cond(q, f->has_created_before, " AND a.created_at <= ?", f->created_before);
	text_cond(q, " AND " ALERT_HAS_DECISION " AND d.type = ?)", f->decision_type);
	text_cond(q, " AND " ALERT_HAS_DECISION " AND d.origin = ?)", f->origin);
	if (f->exclude_capi)
		qb_add(q, " AND " ALERT_HAS_DECISION
			  " AND d.origin IN ('crowdsec', 'cscli', 'console', 'cscli-import'))");
	if (f->has_active_decision == 1) {
		qb_add(q, " AND " ALERT_HAS_DECISION " AND d.until >= ?)");
		qb_int(q, now);
	} else if (f->has_active_decision == 0) {
		qb_add(q, " AND NOT EXISTS (SELECT 1 FROM decisions d"
			  " WHERE d.alert_decisions = a.id)");
	}
	if (f->exclude_simulated)
		qb_add(q, " AND a.simulated = 0");
}
