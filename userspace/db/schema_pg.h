/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL schema: the tables of schema.h (same names, columns, integer
 * nanosecond timestamps) in PostgreSQL's types, applied by pg_migrate() under
 * schema_version: migration i brings the database from version i to i+1.
 * Append only. Text compares bytewise (COLLATE "C") as SQLite's does, whatever
 * the database's locale. Each SQLite migration has its PostgreSQL twin here
 * (version numbers differ: version 1 here is SQLite's 1 to 3).
 */
#ifndef CS_DB_SCHEMA_PG_H
#define CS_DB_SCHEMA_PG_H

#include "db/schema.h"

#define PGT "TEXT COLLATE \"C\""

static const char *const db_migrations_pg[] = {
	/* 0 -> 1: schema.h's versions 1 to 3 */
	"CREATE TABLE machines ("
	" id BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL, last_push BIGINT, last_heartbeat BIGINT,"
	" machine_id " PGT " NOT NULL UNIQUE, password " PGT " NOT NULL,"
	" ip_address " PGT " NOT NULL DEFAULT '', scenarios " PGT " NOT NULL DEFAULT '',"
	" version " PGT " NOT NULL DEFAULT '', is_validated BIGINT NOT NULL DEFAULT 0,"
	" status " PGT " NOT NULL DEFAULT '', auth_type " PGT " NOT NULL DEFAULT 'password');"
	"CREATE TABLE bouncers ("
	" id BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL, name " PGT " NOT NULL UNIQUE, api_key " PGT " NOT NULL,"
	" revoked BIGINT NOT NULL DEFAULT 0, ip_address " PGT " NOT NULL DEFAULT '',"
	" type " PGT " NOT NULL DEFAULT '', version " PGT " NOT NULL DEFAULT '', until BIGINT,"
	" last_pull BIGINT NOT NULL, auth_type " PGT " NOT NULL DEFAULT 'api-key');"
	"CREATE INDEX bouncers_api_key ON bouncers(api_key);"
	"CREATE TABLE alerts ("
	" id BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL, scenario " PGT " NOT NULL, bucket_id " PGT " DEFAULT '',"
	" message " PGT " NOT NULL DEFAULT '', events_count BIGINT NOT NULL DEFAULT 0,"
	" started_at BIGINT NOT NULL, stopped_at BIGINT NOT NULL,"
	" source_ip " PGT " NOT NULL DEFAULT '', source_range " PGT " NOT NULL DEFAULT '',"
	" source_as_number " PGT " NOT NULL DEFAULT '', source_as_name " PGT " NOT NULL DEFAULT '',"
	" source_country " PGT " NOT NULL DEFAULT '', source_latitude DOUBLE PRECISION NOT NULL"
	" DEFAULT 0, source_longitude DOUBLE PRECISION NOT NULL DEFAULT 0,"
	" source_scope " PGT " NOT NULL DEFAULT '', source_value " PGT " NOT NULL DEFAULT '',"
	" capacity BIGINT NOT NULL DEFAULT 0, leak_speed " PGT " NOT NULL DEFAULT '',"
	" scenario_version " PGT " NOT NULL DEFAULT '', scenario_hash " PGT " NOT NULL DEFAULT '',"
	" simulated BIGINT NOT NULL DEFAULT 0,"
	" machine_alerts BIGINT REFERENCES machines(id) ON DELETE SET NULL);"
	"CREATE INDEX alerts_created_at ON alerts(created_at);"
	"CREATE INDEX alerts_machine ON alerts(machine_alerts);"
	"CREATE TABLE decisions ("
	" id BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL, until BIGINT NOT NULL, scenario " PGT " NOT NULL,"
	" type " PGT " NOT NULL, start_ip BIGINT NOT NULL DEFAULT 0,"
	" end_ip BIGINT NOT NULL DEFAULT 0, start_suffix BIGINT NOT NULL DEFAULT 0,"
	" end_suffix BIGINT NOT NULL DEFAULT 0, ip_size BIGINT NOT NULL DEFAULT 0,"
	" scope " PGT " NOT NULL, value " PGT " NOT NULL, origin " PGT " NOT NULL,"
	" simulated BIGINT NOT NULL DEFAULT 0,"
	" alert_decisions BIGINT REFERENCES alerts(id) ON DELETE CASCADE,"
	/* the change sequence (decisions_epoch.n) of the transaction that wrote it */
	" seq BIGINT NOT NULL DEFAULT 0);"
	DECISIONS_INDEXES
	"CREATE INDEX decisions_seq ON decisions(seq);"
	"CREATE TABLE events ("
	" id BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL, time BIGINT NOT NULL, serialized " PGT " NOT NULL,"
	" alert_events BIGINT REFERENCES alerts(id) ON DELETE CASCADE);"
	"CREATE INDEX events_alert ON events(alert_events);"
	"CREATE TABLE meta ("
	" id BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL, key " PGT " NOT NULL, value " PGT " NOT NULL,"
	" alert_metas BIGINT REFERENCES alerts(id) ON DELETE CASCADE);"
	"CREATE INDEX meta_alert ON meta(alert_metas);"
	"CREATE TABLE allowlists ("
	" id BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL, name " PGT " NOT NULL UNIQUE,"
	" description " PGT " NOT NULL DEFAULT '', allowlist_id " PGT " NOT NULL DEFAULT '',"
	" from_console BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE allowlist_items ("
	" id BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL, expires_at BIGINT, comment " PGT " NOT NULL DEFAULT '',"
	" value " PGT " NOT NULL, start_ip BIGINT NOT NULL, end_ip BIGINT NOT NULL,"
	" start_suffix BIGINT NOT NULL, end_suffix BIGINT NOT NULL, ip_size BIGINT NOT NULL,"
	" allowlist_id BIGINT NOT NULL REFERENCES allowlists(id) ON DELETE CASCADE);"
	"CREATE INDEX allowlist_items_list ON allowlist_items(allowlist_id);"
	"CREATE INDEX allowlist_items_range ON allowlist_items(ip_size, start_ip, start_suffix,"
	" end_ip, end_suffix);"
	/*
	 * The replicas' shared view of decision changes (db/stream.c): n, the change
	 * sequence, taken once per writing transaction (its row lock orders writers);
	 * hard, hard deletes (a reload); issued, the latest last_pull any replica
	 * handed out (writers stamp after it).
	 */
	"CREATE TABLE decisions_epoch (n BIGINT NOT NULL, hard BIGINT NOT NULL,"
	" issued BIGINT NOT NULL);"
	"INSERT INTO decisions_epoch VALUES (0, 0, 0);"
	/* a writer that did not take its sequence (cscli) gets one here */
	"CREATE FUNCTION decisions_seq() RETURNS trigger LANGUAGE plpgsql AS $$"
	" DECLARE s text := current_setting('cs.seq', true);"
	" BEGIN"
	"  IF s IS NULL OR s = '' THEN"
	"   UPDATE decisions_epoch SET n = n + 1 RETURNING n INTO NEW.seq;"
	"   PERFORM set_config('cs.seq', NEW.seq::text, true);"
	"  ELSE NEW.seq := s::bigint; END IF;"
	"  RETURN NEW;"
	" END $$;"
	"CREATE TRIGGER decisions_seq BEFORE INSERT OR UPDATE OF until ON decisions"
	" FOR EACH ROW EXECUTE FUNCTION decisions_seq();"
	"CREATE FUNCTION decisions_hard() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN UPDATE decisions_epoch SET hard = hard + 1; RETURN NULL; END $$;"
	"CREATE TRIGGER decisions_hard AFTER DELETE ON decisions"
	" FOR EACH STATEMENT EXECUTE FUNCTION decisions_hard();"
	/* SQLite's instr(), which the shared filter SQL uses */
	"CREATE FUNCTION instr(text, text) RETURNS integer LANGUAGE sql IMMUTABLE"
	" AS 'SELECT strpos($1, $2)';",
	/* 1 -> 2: schema.h's version 4 (usage metrics) */
	"CREATE TABLE metrics ("
	" id BIGSERIAL PRIMARY KEY, generated_type " PGT " NOT NULL,"
	" generated_by " PGT " NOT NULL, received_at BIGINT NOT NULL, pushed_at BIGINT,"
	" payload " PGT " NOT NULL);"
	"CREATE INDEX metrics_by ON metrics(generated_type, generated_by, received_at);"
	"ALTER TABLE bouncers ADD COLUMN os " PGT " NOT NULL DEFAULT '';"
	"ALTER TABLE bouncers ADD COLUMN featureflags " PGT " NOT NULL DEFAULT '';"
	"ALTER TABLE machines ADD COLUMN os " PGT " NOT NULL DEFAULT '';"
	"ALTER TABLE machines ADD COLUMN featureflags " PGT " NOT NULL DEFAULT '';",
	/* 2 -> 3: housekeeping that one replica does for all (cs_db_cluster_claim) */
	"CREATE TABLE cluster_jobs (name " PGT " PRIMARY KEY, last_run BIGINT NOT NULL);",
	/*
	 * 3 -> 4: when the replicas' bouncer caches must look again
	 * (cs_db_bouncers_epoch()): a bouncer deleted, renamed, re-keyed or revoked.
	 * last_pull and the seen-at columns do not count: the caches tolerate them stale.
	 */
	"CREATE TABLE bouncers_epoch (n BIGINT NOT NULL);"
	"INSERT INTO bouncers_epoch VALUES (0);"
	"CREATE FUNCTION bouncers_epoch() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN UPDATE bouncers_epoch SET n = n + 1; RETURN NULL; END $$;"
	"CREATE TRIGGER bouncers_epoch AFTER DELETE OR UPDATE OF name, api_key, revoked,"
	" auth_type ON bouncers FOR EACH STATEMENT EXECUTE FUNCTION bouncers_epoch();",
	/* 4 -> 5: schema.h's version 5 (the alerts' uuid) */
	ALERTS_UUID,
	/* 5 -> 6: schema.h's version 6 (one index for the alerts' owner and uuid) */
	ALERTS_MACHINE_UUID,
	/* 6 -> 7: schema.h's version 7 (one index for the decisions' address and value) */
	DECISIONS_ADDR,
};

#endif /* CS_DB_SCHEMA_PG_H */
