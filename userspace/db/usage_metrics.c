// SPDX-License-Identifier: MIT
/*
 * The metrics table: usage metrics payloads as the LAPI received them (upstream
 * keeps them for the console and `cscli metrics show bouncers`), and the base
 * metrics' facts about their sender on its bouncers/machines row.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/db_int.h"

static int run(struct cs_db *db, struct qb *q)
{
	struct dbstmt *s = NULL;
	int err = qb_prepare(db, q, &s);

	if (!err)
		err = exec_stmt(db, s);
	db_finalize(s);
	qb_free(q);
	*q = (struct qb){ 0 }; /* ready for the next statement */
	return err;
}

int cs_db_usage_metric_add(struct cs_db *db, const char *generated_type, const char *by,
			   const char *version, const char *os, const char *featureflags,
			   const char *payload, int64_t now)
{
	bool rc = !strcmp(generated_type, "RC");
	struct qb q = { 0 };
	int err = txn_begin(db);

	if (err)
		return err;
	qb_add(&q, "INSERT INTO metrics (generated_type, generated_by, received_at, payload)"
		   " VALUES (?, ?, ?, ?)");
	qb_text(&q, generated_type);
	qb_text(&q, by);
	qb_int(&q, now);
	qb_text(&q, payload);
	err = run(db, &q);
	if (!err) {
		qb_add(&q, "DELETE FROM metrics WHERE received_at < ?1 OR (generated_type = ?2 AND"
			   " generated_by = ?3 AND id <= (SELECT id FROM metrics WHERE"
			   " generated_type = ?2 AND generated_by = ?3 ORDER BY id DESC LIMIT 1 OFFSET %d))",
		       CS_USAGE_METRICS_MAX_PER_SENDER);
		qb_int(&q, now - CS_USAGE_METRICS_MAX_AGE);
		qb_text(&q, generated_type);
		qb_text(&q, by);
		err = run(db, &q);
	}
	if (!err) {
		/* a bouncer's type and version come from its User-Agent (the LAPI caches them) */
		if (rc)
			qb_add(&q, "UPDATE bouncers SET os = ?, featureflags = ?, updated_at = ?"
				   " WHERE name = ?");
		else
			qb_add(&q, "UPDATE machines SET os = ?, featureflags = ?, updated_at = ?,"
				   " version = ? WHERE machine_id = ?");
		qb_text(&q, os);
		qb_text(&q, featureflags);
		qb_int(&q, now);
		if (!rc)
			qb_text(&q, version);
		qb_text(&q, by);
		err = run(db, &q);
	}
	return txn_end(db, err);
}

/* the columns cs_db_usage_metrics_list selects */
static const struct db_fields metric_table = {
	sizeof(struct cs_usage_metric),
	{
		DB_FIELD(struct cs_usage_metric, id, DBF_INT),
		DB_FIELD(struct cs_usage_metric, generated_type, DBF_TEXT),
		DB_FIELD(struct cs_usage_metric, generated_by, DBF_TEXT),
		DB_FIELD(struct cs_usage_metric, received_at, DBF_INT),
		DB_FIELD(struct cs_usage_metric, payload, DBF_TEXT),
	},
};

int cs_db_usage_metrics_list(struct cs_db *db, const char *generated_type,
			     struct cs_usage_metric **out, size_t *n)
{
	struct qb q = { 0 };
	struct dbstmt *s = NULL;
	int err;

	*out = NULL;
	*n = 0;
	qb_add(&q, "SELECT id, generated_type, generated_by, received_at, payload FROM metrics"
		   " WHERE generated_type = ? ORDER BY id");
	qb_text(&q, generated_type);
	if ((err = txn_begin_read(db))) {
		qb_free(&q);
		return err;
	}
	err = qb_prepare(db, &q, &s);
	qb_free(&q);
	if (!err)
		err = db_fields_rows(db, s, &metric_table, (void **)out, n);
	db_finalize(s);
	err = txn_end(db, err);
	if (err) {
		cs_usage_metrics_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return err;
}

void cs_usage_metrics_free(struct cs_usage_metric *v, size_t n)
{
	db_fields_free(&metric_table, v, n);
}
