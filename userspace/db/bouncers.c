// SPDX-License-Identifier: MIT
/*
 * The bouncers table.
 */
#include "db/db_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"

/* BOUNCER_COLS */
static const struct db_fields bouncer_table = {
	sizeof(struct cs_bouncer),
	{
		DB_FIELD(struct cs_bouncer, id, DBF_INT),
		DB_FIELD(struct cs_bouncer, created_at, DBF_INT),
		DB_FIELD(struct cs_bouncer, updated_at, DBF_INT),
		DB_FIELD(struct cs_bouncer, name, DBF_TEXT),
		DB_FIELD(struct cs_bouncer, api_key, DBF_TEXT),
		DB_FIELD(struct cs_bouncer, revoked, DBF_BOOL),
		DB_FIELD(struct cs_bouncer, ip_address, DBF_TEXT),
		DB_FIELD(struct cs_bouncer, type, DBF_TEXT),
		DB_FIELD(struct cs_bouncer, version, DBF_TEXT),
		DB_FIELD(struct cs_bouncer, until, DBF_INT),
		DB_FIELD(struct cs_bouncer, last_pull, DBF_INT),
		DB_FIELD(struct cs_bouncer, auth_type, DBF_TEXT),
	},
};

void cs_bouncer_clear(struct cs_bouncer *b)
{
	db_fields_clear(&bouncer_table, b);
}

void cs_bouncers_free(struct cs_bouncer *v, size_t n)
{
	db_fields_free(&bouncer_table, v, n);
}

/* ---- bouncers ----------------------------------------------------------------- */

int cs_db_bouncer_add(struct cs_db *db, const char *name, const char *key_hash, int64_t now)
{
	return db_write(db, ST_BOUNCER_INSERT, false, "itt", now, name, key_hash);
}

/*
 * TLS client-certificate bouncer (1.4.6: "<CN>@<ip>", auth_type tls, the hash of a random
 * key nobody knows): created on first use. -EPERM if the name exists with another auth type.
 */
int cs_db_bouncer_tls(struct cs_db *db, const char *name, const char *key_hash, const char *ip,
		      int64_t now, struct cs_bouncer *out, bool *created)
{
	struct dbstmt *s;
	int err = txn_begin(db);

	memset(out, 0, sizeof(*out));
	*created = false;
	if (err)
		return err;
	s = stmt(db, ST_BOUNCER_INSERT_TLS);
	bind_int(s, 1, now);
	bind_text(s, 2, name);
	bind_text(s, 3, key_hash);
	bind_text(s, 4, ip ? ip : "");
	err = exec_stmt(db, s);
	if (!err)
		*created = db_changes(db) > 0;
	if (!err) {
		err = db_fields_by_key(db, ST_BOUNCER_BY_NAME, name, &bouncer_table, out);
		if (!err && strcmp(out->auth_type, "tls")) {
			cs_bouncer_clear(out);
			err = -EPERM;
		}
	}
	return txn_end(db, err);
}

int cs_db_bouncer_by_key(struct cs_db *db, const char *key_hash, struct cs_bouncer *out)
{
	int err = txn_begin_read(db);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	return txn_end(db, db_fields_by_key(db, ST_BOUNCER_BY_KEY, key_hash, &bouncer_table, out));
}

int cs_db_bouncer_seen(struct cs_db *db, int64_t id, const char *ip, const char *type,
		       const char *version, int64_t now)
{
	return db_write(db, ST_BOUNCER_SEEN, false, "ittti", id, ip, type, version, now);
}

int cs_db_bouncer_set_last_pull(struct cs_db *db, int64_t id, int64_t t)
{
	return cs_db_bouncers_set_last_pull(db, &id, &t, 1);
}

int cs_db_bouncers_set_last_pull(struct cs_db *db, const int64_t *ids, const int64_t *t,
				 size_t n)
{
	/* lost in a crash, a last_pull only makes the next delta re-send what the bouncer has */
	int err = txn_begin_lazy(db);

	if (err)
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		struct dbstmt *s = stmt(db, ST_BOUNCER_LAST_PULL);

		bind_int(s, 1, ids[i]);
		bind_int(s, 2, t[i]);
		err = exec_stmt(db, s);
	}
	return txn_end(db, err);
}

int cs_db_bouncers_epoch(struct cs_db *db, int64_t *n)
{
	struct dbstmt *s;
	int rc;

	if (!db->be->is_pg)
		return -EOPNOTSUPP;
	db_hold(db)->autocommit = true;
	s = stmt(db, ST_BOUNCERS_EPOCH);
	rc = s ? db_step(s) : -EIO;
	if (rc == DB_ROW)
		*n = col_int(s, 0);
	if (s)
		db_reset(s);
	return txn_end(db, rc == DB_ROW ? 0 : sql_err(db, rc == DB_DONE ? -EIO : rc));
}

int cs_db_bouncer_delete(struct cs_db *db, const char *name)
{
	return db_write(db, ST_BOUNCER_DELETE, true, "t", name);
}

int cs_db_bouncer_list(struct cs_db *db, struct cs_bouncer **out, size_t *n)
{
	return db_fields_list(db, ST_BOUNCER_LIST, &bouncer_table, (void **)out, n);
}
