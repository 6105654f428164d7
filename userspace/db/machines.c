// SPDX-License-Identifier: MIT
/*
 * The machines table (watchers).
 */
#include "db/db_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"

void cs_machine_clear(struct cs_machine *m)
{
	if (!m)
		return;
	free(m->machine_id);
	free(m->password);
	free(m->ip_address);
	free(m->scenarios);
	free(m->version);
	free(m->status);
	free(m->auth_type);
	memset(m, 0, sizeof(*m));
}

void cs_machines_free(struct cs_machine *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cs_machine_clear(&v[i]);
	free(v);
}

/* ---- machines ----------------------------------------------------------------- */

static void machine_from_row(sqlite3_stmt *s, void *elem, void *arg)
{
	struct cs_machine *m = elem;

	m->id = sqlite3_column_int64(s, 0);
	m->created_at = sqlite3_column_int64(s, 1);
	m->updated_at = sqlite3_column_int64(s, 2);
	m->last_push = sqlite3_column_int64(s, 3);
	m->last_heartbeat = sqlite3_column_int64(s, 4);
	m->machine_id = col_text(s, 5);
	m->password = col_text(s, 6);
	m->ip_address = col_text(s, 7);
	m->scenarios = col_text(s, 8);
	m->version = col_text(s, 9);
	m->is_validated = sqlite3_column_int(s, 10);
	m->status = col_text(s, 11);
	m->auth_type = col_text(s, 12);
}

int cs_db_machine_add(struct cs_db *db, const char *machine_id, const char *pwhash,
		      const char *ip, bool validated, bool force, int64_t now)
{
	sqlite3_stmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = stmt(db, ST_MACHINE_INSERT);
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, machine_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, ip ? ip : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, validated);
	err = exec_stmt(db, s);
	if (err == -EEXIST && force) {
		s = stmt(db, ST_MACHINE_FORCE);
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_text(s, 2, machine_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, pwhash, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 5, validated);
		err = exec_stmt(db, s);
	}
	return txn_end(db, err);
}

/*
 * TLS client-certificate machine (1.4.6: "<CN>@<ip>", validated, auth_type tls, a random
 * password nobody knows): created on first login. -EPERM if the id exists with another
 * auth type.
 */
int cs_db_machine_tls(struct cs_db *db, const char *machine_id, const char *pwhash, int64_t now,
		      bool *created)
{
	sqlite3_stmt *s;
	int rc, err = txn_begin(db);

	*created = false;
	if (err)
		return err;
	s = stmt(db, ST_MACHINE_INSERT_TLS);
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_text(s, 2, machine_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, pwhash, -1, SQLITE_STATIC);
	err = exec_stmt(db, s);
	if (!err)
		*created = sqlite3_changes(db->h) > 0;
	if (!err) {
		s = stmt(db, ST_MACHINE_GET);
		sqlite3_bind_text(s, 1, machine_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			err = rc == SQLITE_DONE ? -ENOENT : sql_err(db, rc);
		else if (strcmp((const char *)sqlite3_column_text(s, 12), "tls"))
			err = -EPERM;
		sqlite3_reset(s);
	}
	return txn_end(db, err);
}

int cs_db_machine_get(struct cs_db *db, const char *machine_id, struct cs_machine *out)
{
	sqlite3_stmt *s;
	int err = txn_begin_read(db);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	s = stmt(db, ST_MACHINE_GET);
	sqlite3_bind_text(s, 1, machine_id, -1, SQLITE_STATIC);
	return txn_end(db, db_row(db, s, machine_from_row, out, NULL));
}

int cs_db_machine_login(struct cs_db *db, const char *machine_id, const char *ip,
			const char *version, const char *scenarios, int64_t now)
{
	return db_write(db, ST_MACHINE_LOGIN, true, "tttti", machine_id, ip, version, scenarios,
			now);
}

int cs_db_machine_heartbeat(struct cs_db *db, const char *machine_id, int64_t now)
{
	return db_write(db, ST_MACHINE_HEARTBEAT, true, "ti", machine_id, now);
}

int cs_db_machine_validate(struct cs_db *db, const char *machine_id, int64_t now)
{
	return db_write(db, ST_MACHINE_VALIDATE, true, "ti", machine_id, now);
}

int cs_db_machine_delete(struct cs_db *db, const char *machine_id)
{
	return db_write(db, ST_MACHINE_DELETE, true, "t", machine_id);
}

static void count_from_row(sqlite3_stmt *s, void *elem, void *arg)
{
	*(int64_t *)elem = sqlite3_column_int64(s, 0);
}

int cs_db_machine_pending(struct cs_db *db, int64_t *n)
{
	int err = txn_begin_read(db);

	*n = 0;
	if (err)
		return err;
	return txn_end(db, db_row(db, stmt(db, ST_MACHINE_PENDING), count_from_row, n, NULL));
}

int cs_db_machine_list(struct cs_db *db, struct cs_machine **out, size_t *n)
{
	void *v = NULL;
	int err = txn_begin_read(db);

	*out = NULL;
	*n = 0;
	if (err)
		return err;
	err = db_rows(db, stmt(db, ST_MACHINE_LIST), sizeof(**out), machine_from_row, NULL, &v, n);
	err = txn_end(db, err);
	if (err) {
		cs_machines_free(v, *n);
		*n = 0;
		return err;
	}
	*out = v;
	return 0;
}
