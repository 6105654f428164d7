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

void cs_bouncer_clear(struct cs_bouncer *b)
{
	if (!b)
		return;
	free(b->name);
	free(b->api_key);
	free(b->ip_address);
	free(b->type);
	free(b->version);
	free(b->auth_type);
	memset(b, 0, sizeof(*b));
}

void cs_bouncers_free(struct cs_bouncer *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cs_bouncer_clear(&v[i]);
	free(v);
}

/* ---- bouncers ----------------------------------------------------------------- */

static void bouncer_from_row(struct dbstmt *s, void *elem, void *arg)
{
	struct cs_bouncer *b = elem;

	b->id = col_int(s, 0);
	b->created_at = col_int(s, 1);
	b->updated_at = col_int(s, 2);
	b->name = col_text(s, 3);
	b->api_key = col_text(s, 4);
	b->revoked = col_int(s, 5);
	b->ip_address = col_text(s, 6);
	b->type = col_text(s, 7);
	b->version = col_text(s, 8);
	b->until = col_int(s, 9);
	b->last_pull = col_int(s, 10);
	b->auth_type = col_text(s, 11);
}

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
		s = stmt(db, ST_BOUNCER_BY_NAME);
		bind_text(s, 1, name);
		err = db_row(db, s, bouncer_from_row, out, NULL);
		if (!err && strcmp(out->auth_type, "tls")) {
			cs_bouncer_clear(out);
			err = -EPERM;
		}
	}
	return txn_end(db, err);
}

int cs_db_bouncer_by_key(struct cs_db *db, const char *key_hash, struct cs_bouncer *out)
{
	struct dbstmt *s;
	int err = txn_begin_read(db);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	s = stmt(db, ST_BOUNCER_BY_KEY);
	bind_text(s, 1, key_hash);
	return txn_end(db, db_row(db, s, bouncer_from_row, out, NULL));
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

int cs_db_bouncer_delete(struct cs_db *db, const char *name)
{
	return db_write(db, ST_BOUNCER_DELETE, true, "t", name);
}

int cs_db_bouncer_list(struct cs_db *db, struct cs_bouncer **out, size_t *n)
{
	void *v = NULL;
	int err = txn_begin_read(db);

	*out = NULL;
	*n = 0;
	if (err)
		return err;
	err = db_rows(db, stmt(db, ST_BOUNCER_LIST), sizeof(**out), bouncer_from_row, NULL, &v, n);
	err = txn_end(db, err);
	if (err) {
		cs_bouncers_free(v, *n);
		*n = 0;
		return err;
	}
	*out = v;
	return 0;
}
