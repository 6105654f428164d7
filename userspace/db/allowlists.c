// SPDX-License-Identifier: MIT
/*
 * Allowlists (CrowdSec 1.6.6+): named lists of IPs and ranges that never get a
 * decision. Items keep the decisions' range encoding (ip_size, start/end with
 * suffix), so "is this covered" and "which decisions does this cover" are the
 * same containment tests as the decision lookups, both ways (an item inside
 * the value's range, or the value inside an item's range), as upstream does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/db_int.h"
#include "common/strbuf.h"

/* Bounds on what a caller may ask (the values come from cscli or the LAPI). */
#define ALLOWLIST_MAX_NAME 256
#define ALLOWLIST_MAX_DESC 4096
#define ALLOWLIST_MAX_REASON (64u << 10)

/* item i and a range bound by bind_range at ?1..?5: either contains the other */
#define ITEM_OVERLAPS_PARAMS                                                              \
	"i.ip_size = ?5 AND (((i.start_ip, i.start_suffix) <= (?1, ?3) AND"                \
	" (i.end_ip, i.end_suffix) >= (?2, ?4)) OR ((i.start_ip, i.start_suffix) >= (?1, ?3)" \
	" AND (i.end_ip, i.end_suffix) <= (?2, ?4)))"

static int prep(struct cs_db *db, const char *sql, struct dbstmt **s)
{
	return db_prepare(db, sql, s);
}

static int list_id(struct cs_db *db, const char *name, int64_t *id, bool *console)
{
	struct dbstmt *s;
	int rc, err = prep(db, "SELECT id, from_console FROM allowlists WHERE name = ?", &s);

	if (err)
		return err;
	bind_text(s, 1, name);
	rc = db_step(s);
	if (rc == DB_ROW) {
		*id = col_int(s, 0);
		if (console)
			*console = col_int(s, 1);
		err = 0;
	} else {
		err = rc == DB_DONE ? -ENOENT : sql_err(db, rc);
	}
	db_finalize(s);
	return err;
}

int cs_db_allowlist_create(struct cs_db *db, const char *name, const char *description,
			   int64_t now)
{
	struct dbstmt *s;
	int err;

	if (!name || !*name || strlen(name) > ALLOWLIST_MAX_NAME ||
	    (description && strlen(description) > ALLOWLIST_MAX_DESC))
		return -EINVAL;
	err = txn_begin(db);
	if (err)
		return err;
	err = prep(db, "INSERT INTO allowlists (created_at, updated_at, name, description)"
		       " VALUES (?1, ?1, ?2, ?3)", &s);
	if (!err) {
		bind_int(s, 1, now);
		bind_text(s, 2, name);
		bind_text(s, 3, description);
		err = exec_stmt(db, s);
		db_finalize(s);
	}
	return txn_end(db, err);
}

int cs_db_allowlist_delete(struct cs_db *db, const char *name)
{
	int64_t id;
	int err = txn_begin(db);

	if (err)
		return err;
	err = list_id(db, name, &id, NULL);
	if (!err)
		err = db_exec_int(db, "DELETE FROM allowlist_items WHERE allowlist_id = ?", id, NULL);
	if (!err)
		err = db_exec_int(db, "DELETE FROM allowlists WHERE id = ?", id, NULL);
	return txn_end(db, err);
}

/* ST_ALLOWLIST_ITEMS_LIVE's columns */
static const struct db_fields item_table = {
	sizeof(struct cs_allowlist_item),
	{
		DB_FIELD(struct cs_allowlist_item, value, DBF_TEXT),
		DB_FIELD(struct cs_allowlist_item, comment, DBF_TEXT),
		DB_FIELD(struct cs_allowlist_item, created_at, DBF_INT),
		DB_FIELD(struct cs_allowlist_item, expires_at, DBF_INT),
	},
};

static int load_items(struct cs_db *db, struct cs_allowlist *a, int64_t now)
{
	struct dbstmt *s = stmt(db, ST_ALLOWLIST_ITEMS_LIVE);
	void *v = NULL;
	int err;

	if (!s)
		return -EIO;
	bind_int(s, 1, a->id);
	bind_int(s, 2, now);
	err = db_fields_rows(db, s, &item_table, &v, &a->nitems);
	a->items = v; /* what was read, on error too: cs_allowlist_clear() frees it */
	return err;
}

/* ST_ALLOWLISTS_ALL's columns (the items come from their own query) */
static const struct db_fields list_table = {
	sizeof(struct cs_allowlist),
	{
		DB_FIELD(struct cs_allowlist, id, DBF_INT),
		DB_FIELD(struct cs_allowlist, name, DBF_TEXT),
		DB_FIELD(struct cs_allowlist, description, DBF_TEXT),
		DB_FIELD(struct cs_allowlist, allowlist_id, DBF_TEXT),
		DB_FIELD(struct cs_allowlist, from_console, DBF_BOOL),
		DB_FIELD(struct cs_allowlist, created_at, DBF_INT),
		DB_FIELD(struct cs_allowlist, updated_at, DBF_INT),
	},
};

void cs_allowlist_clear(struct cs_allowlist *a)
{
	if (!a)
		return;
	db_fields_free(&item_table, a->items, a->nitems);
	db_fields_clear(&list_table, a);
}

void cs_allowlists_free(struct cs_allowlist *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cs_allowlist_clear(&v[i]);
	free(v);
}

static int lists_query(struct cs_db *db, const char *name, bool with_items, int64_t now,
		       struct cs_allowlist **out, size_t *n)
{
	struct dbstmt *s = NULL;
	void *v = NULL;
	size_t cnt = 0;
	int err = name ? prep(db, "SELECT id, name, description, allowlist_id, from_console,"
				      " created_at, updated_at FROM allowlists WHERE name = ?", &s)
			   : (s = stmt(db, ST_ALLOWLISTS_ALL)) ? 0 : -EIO;

	if (err)
		return err;
	if (name)
		bind_text(s, 1, name);
	err = db_fields_rows(db, s, &list_table, &v, &cnt);
	if (name)
		db_finalize(s);
	for (size_t i = 0; !err && with_items && i < cnt; i++)
		err = load_items(db, (struct cs_allowlist *)v + i, now);
	if (err) {
		cs_allowlists_free(v, cnt);
		return err;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int cs_db_allowlist_list(struct cs_db *db, bool with_items, int64_t now,
			 struct cs_allowlist **out, size_t *n)
{
	/* every alert push reads them: not behind the group commit holding the handle */
	int err = txn_begin_read_committed(db);

	*out = NULL;
	*n = 0;
	if (err)
		return err;
	return txn_end(db, lists_query(db, NULL, with_items, now, out, n));
}

int cs_db_allowlist_get(struct cs_db *db, const char *name, bool with_items, int64_t now,
			struct cs_allowlist *out)
{
	struct cs_allowlist *v = NULL;
	size_t n = 0;
	int err = txn_begin_read(db);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	err = txn_end(db, lists_query(db, name, with_items, now, &v, &n));
	if (!err && !n)
		err = -ENOENT;
	if (!err) {
		*out = v[0];
		for (size_t i = 1; i < n; i++)
			cs_allowlist_clear(&v[i]);
		free(v);
	} else {
		cs_allowlists_free(v, n);
	}
	return err;
}

int cs_db_allowlist_add(struct cs_db *db, const char *name,
			const struct cs_allowlist_item *items, size_t n, int64_t now, long *added)
{
	struct dbstmt *ins = NULL, *dup = NULL, *touch = NULL;
	int64_t id;
	int err;

	*added = 0;
	for (size_t i = 0; i < n; i++) {
		struct cs_range r;

		if (!items[i].value || value_range(items[i].value, &r) || !r.ip_size ||
		    (items[i].comment && strlen(items[i].comment) > ALLOWLIST_MAX_DESC))
			return -EINVAL;
	}
	err = txn_begin(db);
	if (err)
		return err;
	err = list_id(db, name, &id, NULL);
	if (!err)
		err = prep(db, "INSERT INTO allowlist_items (created_at, updated_at, expires_at,"
			       " comment, value, start_ip, end_ip, start_suffix, end_suffix, ip_size,"
			       " allowlist_id) VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			   &ins);
	if (!err)
		err = prep(db, "SELECT 1 FROM allowlist_items WHERE allowlist_id = ? AND value = ?",
			   &dup);
	if (!err)
		err = prep(db, "UPDATE allowlists SET updated_at = ? WHERE id = ?", &touch);
	for (size_t i = 0; !err && i < n; i++) {
		struct cs_range r;
		int rc;

		value_range(items[i].value, &r);
		bind_int(dup, 1, id);
		bind_text(dup, 2, items[i].value);
		rc = db_step(dup);
		db_reset(dup);
		if (rc == DB_ROW)
			continue; /* already there: upstream warns and skips */
		bind_int(ins, 1, now);
		if (items[i].expires_at)
			bind_int(ins, 2, items[i].expires_at);
		else
			bind_null(ins, 2);
		bind_text(ins, 3, items[i].comment);
		bind_text(ins, 4, items[i].value);
		bind_range(ins, 5, &r);
		bind_int(ins, 10, id);
		err = exec_stmt(db, ins);
		if (!err)
			(*added)++;
	}
	if (!err && *added) {
		bind_int(touch, 1, now);
		bind_int(touch, 2, id);
		err = exec_stmt(db, touch);
	}
	db_finalize(ins);
	db_finalize(dup);
	db_finalize(touch);
	return txn_end(db, err);
}

int cs_db_allowlist_remove(struct cs_db *db, const char *name, char *const *values, size_t n,
			   long *removed)
{
	struct dbstmt *s = NULL;
	int64_t id;
	int err;

	*removed = 0;
	err = txn_begin(db);
	if (err)
		return err;
	err = list_id(db, name, &id, NULL);
	if (!err)
		err = prep(db, "DELETE FROM allowlist_items WHERE allowlist_id = ? AND value = ?", &s);
	for (size_t i = 0; !err && i < n; i++) {
		bind_int(s, 1, id);
		bind_text(s, 2, values[i]);
		err = exec_stmt(db, s);
		if (!err)
			*removed += db_changes(db);
	}
	db_finalize(s);
	return txn_end(db, err);
}

/* reasons "value from list (comment)", sorted by list name, joined by ", " */
static int reasons(struct cs_db *db, const struct cs_range *r, int64_t now, char **out)
{
	struct dbstmt *s;
	struct sbuf b = { 0 };
	int rc, n = 0, err = prep(db, "SELECT i.value, l.name, i.comment FROM allowlist_items i"
				      " JOIN allowlists l ON l.id = i.allowlist_id WHERE "
				      ITEM_OVERLAPS_PARAMS " AND (i.expires_at IS NULL OR"
				      " i.expires_at >= ?6) ORDER BY l.name, i.id", &s);

	*out = NULL;
	if (err)
		return err;
	bind_range(s, 1, r);
	bind_int(s, 6, now);
	while ((rc = db_step(s)) == DB_ROW) {
		const char *comment = col_str(s, 2);

		if (b.len > ALLOWLIST_MAX_REASON)
			continue; /* enough to say why */
		sb_printf(&b, "%s%s from %s", n++ ? ", " : "", col_str(s, 0), col_str(s, 1));
		if (comment && *comment)
			sb_printf(&b, " (%s)", comment);
	}
	if (rc != DB_DONE)
		err = sql_err(db, rc);
	db_finalize(s);
	if (err || !n) {
		sb_free(&b);
		return err ? err : 0;
	}
	*out = sb_take(&b, NULL);
	return *out ? 1 : -ENOMEM;
}

int cs_db_allowlisted(struct cs_db *db, const char *value, int64_t now, char **reason)
{
	struct cs_range r;
	char *why = NULL;
	int err;

	if (reason)
		*reason = NULL;
	if (!value || value_range(value, &r) || !r.ip_size)
		return -EINVAL;
	err = txn_begin_read(db);
	if (err)
		return err;
	err = reasons(db, &r, now, &why);
	err = txn_end(db, err < 0 ? err : 0) ?: (why ? 1 : 0);
	if (reason && err == 1)
		*reason = why;
	else
		free(why);
	return err;
}

/* every active address decision an allowlist item covers or lies inside: expired
 * now, so bouncers get it in the stream's "deleted" */
static const char expire_allowlisted[] =
	"UPDATE decisions SET until = ?1, updated_at = ?1 WHERE until > ?1"
	" AND ip_size IN (4, 16) AND EXISTS (SELECT 1 FROM allowlist_items i"
	" WHERE (i.expires_at IS NULL OR i.expires_at >= ?1)"
	" AND i.ip_size = decisions.ip_size AND"
	" (((i.start_ip, i.start_suffix) <= (decisions.start_ip, decisions.start_suffix)"
	" AND (i.end_ip, i.end_suffix) >= (decisions.end_ip, decisions.end_suffix)) OR"
	" ((i.start_ip, i.start_suffix) >= (decisions.start_ip, decisions.start_suffix)"
	" AND (i.end_ip, i.end_suffix) <= (decisions.end_ip, decisions.end_suffix))))";

int cs_db_allowlists_apply(struct cs_db *db, int64_t now, long *expired)
{
	int err;

	*expired = 0;
	err = txn_begin(db);
	if (err)
		return err;
	err = db_exec_int(db, expire_allowlisted, now, expired);
	return txn_end(db, err);
}
