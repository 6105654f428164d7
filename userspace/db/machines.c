// SPDX-License-Identifier: MIT
/*
 * The machines table (watchers).
 */
#include "db/db_int.h"

#include <arpa/inet.h>
#include <errno.h>
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

static void machine_from_row(struct dbstmt *s, void *elem, void *arg)
{
	struct cs_machine *m = elem;

	m->id = col_int(s, 0);
	m->created_at = col_int(s, 1);
	m->updated_at = col_int(s, 2);
	m->last_push = col_int(s, 3);
	m->last_heartbeat = col_int(s, 4);
	m->machine_id = col_text(s, 5);
	m->password = col_text(s, 6);
	m->ip_address = col_text(s, 7);
	m->scenarios = col_text(s, 8);
	m->version = col_text(s, 9);
	m->is_validated = col_int(s, 10);
	m->status = col_text(s, 11);
	m->auth_type = col_text(s, 12);
}

int cs_db_machine_add(struct cs_db *db, const char *machine_id, const char *pwhash,
		      const char *ip, bool validated, bool force, int64_t now)
{
	struct dbstmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = stmt(db, ST_MACHINE_INSERT);
	bind_int(s, 1, now);
	bind_text(s, 2, machine_id);
	bind_text(s, 3, pwhash);
	bind_text(s, 4, ip ? ip : "");
	bind_int(s, 5, validated);
	err = exec_stmt(db, s);
	if (!err && !db_changes(db))
		err = -EEXIST;
	if (err == -EEXIST && force) {
		s = stmt(db, ST_MACHINE_FORCE);
		bind_int(s, 1, now);
		bind_text(s, 2, machine_id);
		bind_text(s, 3, pwhash);
		bind_int(s, 5, validated);
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
	struct dbstmt *s;
	int rc, err = txn_begin(db);

	*created = false;
	if (err)
		return err;
	s = stmt(db, ST_MACHINE_INSERT_TLS);
	bind_int(s, 1, now);
	bind_text(s, 2, machine_id);
	bind_text(s, 3, pwhash);
	err = exec_stmt(db, s);
	if (!err)
		*created = db_changes(db) > 0;
	if (!err) {
		s = stmt(db, ST_MACHINE_GET);
		bind_text(s, 1, machine_id);
		rc = db_step(s);
		if (rc != DB_ROW)
			err = rc == DB_DONE ? -ENOENT : sql_err(db, rc);
		else if (strcmp(col_str(s, 12), "tls"))
			err = -EPERM;
		db_reset(s);
	}
	return txn_end(db, err);
}

int cs_db_machine_get(struct cs_db *db, const char *machine_id, struct cs_machine *out)
{
	struct dbstmt *s;
	int err = txn_begin_read(db);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	s = stmt(db, ST_MACHINE_GET);
	bind_text(s, 1, machine_id);
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

static void count_from_row(struct dbstmt *s, void *elem, void *arg)
{
	*(int64_t *)elem = col_int(s, 0);
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
