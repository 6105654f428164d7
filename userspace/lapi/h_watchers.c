// SPDX-License-Identifier: MIT
/* /health, machine registration, login (JWT), token refresh, heartbeat. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/log.h"
#include "common/pwhash.h"
#include "lapi/lapi_int.h"

/*
 * CrowdSec always says "up" (a liveness check: its checker has no checks); a LAPI
 * whose database is unreachable says so instead. It answers while the stream index
 * loads (cs_db_ping() does not wait for it): decision streams wait for the index.
 */
void h_health(struct req *r)
{
	if (cs_db_ping(r->l->db))
		reply_json(r, 503, json_pack("{s:s, s:s}", "status", "down", "message",
					     "database unreachable"));
	else
		reply_json(r, 200, json_pack("{s:s}", "status", "up"));
	r->nocache = true;
}

/* A machine_id/password field: present, a string, sane length. */
static const char *cred_field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;

	if (!s || !*s || strlen(s) >= LAPI_MAX_ID || strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

bool register_allowed(struct req *r, int64_t now)
{
	if (!ratelimit_allowed(r->l->rl_register, r->ip, now)) {
		reply_msg(r, 429, "too many registrations from %s, retry later", r->ip);
		return false;
	}
	ratelimit_charge(r->l->rl_register, r->ip, now);
	return true;
}

int register_machine(struct req *r, const char *id, const char *pw, bool validated, int64_t now)
{
	char hash[PWHASH_LEN];
	int ret = cs_pwhash_make(pw, hash);

	if (!ret)
		ret = cs_db_machine_add(r->l->db, id, hash, r->ip, validated, false, now);
	if (ret == -EEXIST)
		reply_msg(r, 403, "user '%s': user already exist", id);
	else if (ret)
		reply_msg(r, 500, "unable to create machine: %s", strerror(-ret));
	return ret;
}

void h_register(struct req *r)
{
	json_t *j = req_json(r);
	const char *id, *pw;
	int64_t now = gotime_now(), pending;
	int ret;

	if (!j)
		return;
	if (!json_is_object(j)) {
		reply_msg(r, 400, "json: cannot unmarshal %s into Go value of type"
				  " models.WatcherRegistrationRequest",
			  json_is_array(j) ? "array" : "value");
		goto out;
	}
	id = cred_field(j, "machine_id");
	pw = cred_field(j, "password");
	if (!id || !pw) {
		reply_msg(r, 400, "validation failure list:\n%s in body is required",
			  !id ? "machine_id" : "password");
		goto out;
	}
	/* registration needs no credential: bounded per source and in total */
	if (!register_allowed(r, now))
		goto out;
	ret = cs_db_machine_pending(r->l->db, &pending);
	if (!ret && pending >= LAPI_MAX_PENDING_MACHINES) {
		log_warn("registration of '%s' refused: %lld machines wait for validation", id,
			 (long long)pending);
		reply_msg(r, 403, "too many machines waiting for validation (max %d)",
			  LAPI_MAX_PENDING_MACHINES);
		goto out;
	}
	if (ret)
		reply_msg(r, 500, "unable to create machine: %s", strerror(-ret));
	else if (!register_machine(r, id, pw, false, now))
		reply_empty(r, 201);
out:
	json_decref(j);
}

static void issue_token(struct req *r, const char *id)
{
	char *tok = NULL, exp[GOTIME_STRLEN];
	int64_t e;

	if (jwt_sign(r->l->secret, r->l->secret_len, id, gotime_now(), LAPI_JWT_LIFETIME, &tok,
		     &e)) {
		reply_msg(r, 500, "cannot sign token");
		return;
	}
	gotime_format_rfc3339(e, exp, sizeof(exp));
	reply_json(r, 200, json_pack("{s:i,s:s,s:s}", "code", 200, "expire", exp, "token", tok));
	free(tok);
}

/*
 * 1.4.6 flow for an agent's client certificate: the machine "<CN>@<ip>" is created
 * on first login (validated, auth_type tls, a random password nobody knows);
 * an existing machine of that id must be a TLS one.
 */
static bool tls_login(struct req *r, const char *id)
{
	struct cs_machine m = { 0 };
	char rnd[33], hash[PWHASH_LEN], msg[LAPI_MAX_ID + 96];
	bool created = false;
	int ret = cs_db_machine_get(r->l->db, id, &m);

	if (ret == -ENOENT) {
		if (cs_random_string(rnd, 32, true) || cs_pwhash_make(rnd, hash)) {
			reply_msg(r, 500, "cannot generate a password");
			return false;
		}
		ret = cs_db_machine_tls(r->l->db, id, hash, gotime_now(), &created);
		if (!ret && created)
			log_info("TLS machine %s created", id);
	} else if (!ret && strcmp(m.auth_type, "tls")) {
		ret = -EPERM;
	}
	if (ret == -EPERM) {
		snprintf(msg, sizeof(msg),
			 "machine %s attempted to auth with TLS cert but it is configured to use %s",
			 id, m.auth_type ? m.auth_type : "password");
		reply_jwt_error(r, msg);
	} else if (ret) {
		reply_msg(r, 500, "database error");
	}
	cs_machine_clear(&m);
	return !ret;
}

void h_login(struct req *r)
{
	const char *ua = r->ua ? r->ua
			       : MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "User-Agent");
	const char *id, *pw, *slash;
	struct cs_machine m = { 0 };
	char *scen = NULL, cn[200], tls_id[LAPI_MAX_ID];
	json_t *j = NULL, *sc;
	json_error_t jerr;
	int64_t now = gotime_now();
	int ret;
	enum tls_peer tp = tlsauth_check(r, false, cn, sizeof(cn));

	if (tp == TLS_PEER_BAD) {
		reply_msg(r, 403, "access forbidden");
		return;
	}
	if (tp == TLS_PEER_OK) {
		snprintf(tls_id, sizeof(tls_id), "%s@%s", cn, r->ip);
		if (!tls_login(r, tls_id))
			return;
		if (!r->len || codec_json_depth(r->body, r->len) > LAPI_MAX_JSON_DEPTH ||
		    !(j = json_loadb(r->body, r->len, 0, &jerr)) || !json_is_object(j)) {
			reply_jwt_error(r, "missing scenarios list in login request: unexpected EOF");
			goto out;
		}
		id = tls_id;
		slash = ua ? strchr(ua, '/') : NULL;
		if (!slash || strchr(slash + 1, '/')) {
			reply_jwt_error(r, "incorrect Username or Password");
			goto out;
		}
		if (cs_db_machine_get(r->l->db, id, &m)) {
			reply_msg(r, 500, "database error");
			goto out;
		}
		goto login;
	}
	if (!r->len || codec_json_depth(r->body, r->len) > LAPI_MAX_JSON_DEPTH ||
	    !(j = json_loadb(r->body, r->len, 0, &jerr))) {
		reply_jwt_error(r, "missing: unexpected EOF");
		return;
	}
	id = cred_field(j, "machine_id");
	pw = cred_field(j, "password");
	if (!id || !pw) {
		reply_jwt_error(r, "input format error");
		goto out;
	}
	slash = ua ? strchr(ua, '/') : NULL;
	if (!slash || strchr(slash + 1, '/')) {
		reply_jwt_error(r, "incorrect Username or Password");
		goto out;
	}
	/* password guessing is bounded per source: failures are counted, and past the
	 * burst no password is even checked (each check is a PBKDF2) */
	if (!ratelimit_allowed(r->l->rl_login_fail, r->ip, now)) {
		reply_msg(r, 429, "too many failed logins from %s, retry later", r->ip);
		goto out;
	}
	ret = cs_db_machine_get(r->l->db, id, &m);
	if (ret == -ENOENT) {
		ratelimit_charge(r->l->rl_login_fail, r->ip, now);
		reply_jwt_error(r, "ent: machine not found");
		goto out;
	} else if (ret) {
		reply_msg(r, 500, "database error");
		goto out;
	}
	if (strcmp(m.auth_type, "password")) {
		char msg[LAPI_MAX_ID + 96];

		snprintf(msg, sizeof(msg),
			 "machine %s attempted to auth with password but it is configured to use tls",
			 id);
		reply_jwt_error(r, msg);
		goto out;
	}
	if (!cs_pwhash_verify(pw, m.password)) {
		ratelimit_charge(r->l->rl_login_fail, r->ip, now);
		reply_jwt_error(r, "incorrect Username or Password");
		goto out;
	}
	if (!m.is_validated) {
		char msg[LAPI_MAX_ID + 32];

		snprintf(msg, sizeof(msg), "machine %s not validated", id);
		reply_jwt_error(r, msg);
		goto out;
	}
login:
	sc = json_object_get(j, "scenarios");
	if (json_is_array(sc) && json_array_size(sc)) {
		size_t i, len = 0;
		json_t *it;

		json_array_foreach(sc, i, it)
			len += json_is_string(it) ? json_string_length(it) + 1 : 0;
		scen = calloc(1, len + 1);
		json_array_foreach(sc, i, it) {
			if (!scen || !json_is_string(it))
				continue;
			if (*scen)
				strcat(scen, ",");
			strcat(scen, json_string_value(it));
		}
	}
	if (strcmp(m.ip_address, r->ip) && *m.ip_address)
		log_warn("machine %s: new IP address %s (was %s)", id, r->ip, m.ip_address);
	cs_db_machine_login(r->l->db, id, r->ip, slash + 1, scen, now);
	lapi_conn_authenticated(r);
	issue_token(r, id);
out:
	free(scen);
	cs_machine_clear(&m);
	json_decref(j);
}

void h_refresh(struct req *r)
{
	issue_token(r, r->machine);
}

void h_heartbeat(struct req *r)
{
	int ret = cs_db_machine_heartbeat(r->l->db, r->machine, gotime_now());

	if (ret && ret != -ENOENT)
		reply_msg(r, 500, "database error");
	else
		reply_empty(r, 200);
}
