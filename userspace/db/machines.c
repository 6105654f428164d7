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

/* MACHINE_COLS */
static const struct db_fields machine_table = {
	sizeof(struct cs_machine),
	{
		DB_FIELD(struct cs_machine, id, DBF_INT),
		DB_FIELD(struct cs_machine, created_at, DBF_INT),
		DB_FIELD(struct cs_machine, updated_at, DBF_INT),
		DB_FIELD(struct cs_machine, last_push, DBF_INT),
		DB_FIELD(struct cs_machine, last_heartbeat, DBF_INT),
		DB_FIELD(struct cs_machine, machine_id, DBF_TEXT),
		DB_FIELD(struct cs_machine, password, DBF_TEXT),
		DB_FIELD(struct cs_machine, ip_address, DBF_TEXT),
		DB_FIELD(struct cs_machine, scenarios, DBF_TEXT),
		DB_FIELD(struct cs_machine, version, DBF_TEXT),
		DB_FIELD(struct cs_machine, is_validated, DBF_BOOL),
		DB_FIELD(struct cs_machine, status, DBF_TEXT),
		DB_FIELD(struct cs_machine, auth_type, DBF_TEXT),
	},
};

void cs_machine_clear(struct cs_machine *m)
{
	db_fields_clear(&machine_table, m);
}

void cs_machines_free(struct cs_machine *v, size_t n)
{
	db_fields_free(&machine_table, v, n);
}

/* ---- machines ----------------------------------------------------------------- */

/* ST_MACHINE_INSERT, _FORCE and _INSERT_TLS: ?1 the time, ?2 the id, ?3 the password hash */
static struct dbstmt *machine_stmt(struct cs_db *db, enum stmt_id id, int64_t now,
				   const char *machine_id, const char *pwhash)
{
	struct dbstmt *s = stmt(db, id);

	bind_int(s, 1, now);
	bind_text(s, 2, machine_id);
	bind_text(s, 3, pwhash);
	return s;
}

int cs_db_machine_add(struct cs_db *db, const char *machine_id, const char *pwhash,
		      const char *ip, bool validated, bool force, int64_t now)
{
	struct dbstmt *s;
	int err = txn_begin(db);

	if (err)
		return err;
	s = machine_stmt(db, ST_MACHINE_INSERT, now, machine_id, pwhash);
	bind_text(s, 4, ip ? ip : "");
	bind_int(s, 5, validated);
	err = exec_stmt(db, s);
	if (!err && !db_changes(db))
		err = -EEXIST;
	if (err == -EEXIST && force) {
		s = machine_stmt(db, ST_MACHINE_FORCE, now, machine_id, pwhash);
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
	err = exec_stmt(db, machine_stmt(db, ST_MACHINE_INSERT_TLS, now, machine_id, pwhash));
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
	/* every authenticated request asks: it must not queue behind an import */
	int err = txn_begin_read_committed(db);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	return txn_end(db, db_fields_by_key(db, ST_MACHINE_GET, machine_id, &machine_table, out));
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
	return db_fields_list(db, ST_MACHINE_LIST, &machine_table, (void **)out, n);
}
