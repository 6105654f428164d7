/* SPDX-License-Identifier: MIT */
/*
 * Schema migrations, applied in order by cs_db_open() under PRAGMA user_version:
 * migration i brings the database from version i to i+1. Append only; never edit
 * a migration that has shipped. Names follow CrowdSec 1.4.6's tables and columns;
 * timestamps are integer nanoseconds (UTC) instead of text.
 */
#ifndef CS_DB_SCHEMA_H
#define CS_DB_SCHEMA_H

/* The decisions' indexes of version 1, the same on both engines (schema_pg.h);
 * version 7 merges decisions_triple and decisions_range (DECISIONS_ADDR). */
#define DECISIONS_INDEXES                                                                  \
	/* stream deleted/expiry windows and "active" scans */                             \
	"CREATE INDEX decisions_until ON decisions(until);"                                \
	/* stream delta: created since the bouncer's last pull */                          \
	"CREATE INDEX decisions_created_at ON decisions(created_at);"                      \
	/* longest-decision-wins lookup per (value, type, scope) */                        \
	"CREATE INDEX decisions_triple ON decisions(value, type, scope, until);"           \
	/* containment: exact candidate-network lookups and inside-range scans */          \
	"CREATE INDEX decisions_range ON decisions(ip_size, start_ip, start_suffix, end_ip," \
	" end_suffix);"                                                                    \
	"CREATE INDEX decisions_alert ON decisions(alert_decisions);"

/* The alerts' uuid, the same on both engines (schema_pg.h). */
#define ALERTS_UUID                                                                        \
	"ALTER TABLE alerts ADD COLUMN uuid TEXT;"                                         \
	"CREATE UNIQUE INDEX alerts_uuid ON alerts(machine_alerts, uuid)"                  \
	" WHERE uuid IS NOT NULL;"

/*
 * The alerts' owner and uuid in one index, the same on both engines: (machine_alerts,
 * uuid) serves the uuid lookups and the machines' ON DELETE SET NULL alike, so an
 * alert with a uuid (every 1.6+ agent's) adds one index entry instead of two. NULL
 * uuids stay distinct on both engines.
 */
#define ALERTS_MACHINE_UUID                                                                \
	"DROP INDEX alerts_uuid;"                                                          \
	"DROP INDEX alerts_machine;"                                                       \
	"CREATE UNIQUE INDEX alerts_machine_uuid ON alerts(machine_alerts, uuid);"

/*
 * One index for the decisions' address and their value, the same on both
 * engines: an Ip or Range decision's value determines its range (db/range.c,
 * the same parse for every row stored), and any other scope's range is all
 * zeros, so (range, value, type, scope) finds what (value, type, scope) found
 * once the range is stated too (db/query.c), while its leading columns serve
 * the containment lookups as decisions_range did. Every decision stored writes
 * one index entry fewer: ~9% of the group-commit writer's instructions per
 * alert at 50 alerts per POST, a page fewer per commit at 1 (docs/BENCHMARKS.md).
 */
#define DECISIONS_ADDR                                                                     \
	"DROP INDEX decisions_triple;"                                                     \
	"DROP INDEX decisions_range;"                                                      \
	"CREATE INDEX decisions_addr ON decisions(ip_size, start_ip, start_suffix, end_ip," \
	" end_suffix, value, type, scope, until);"

/*
 * The foreign keys of alerts, decisions, events and meta checked at COMMIT
 * (SQLite only). Under an immediate foreign key an INSERT of many rows may
 * abort halfway, so SQLite keeps a statement journal for it, a copy of every
 * page the statement first writes: ~14% of the group-commit writer's
 * instructions per alert at groups of 10 (docs/BENCHMARKS.md). Deferred, a
 * violation fails the COMMIT, which rolls the transaction back as any error
 * does; ON DELETE actions still run at once. The definitions are edited in
 * place, SQLite's documented procedure for changing a foreign key constraint
 * (no row moves: a table of 1M decisions is not rebuilt); RESET reloads this
 * connection's schema, and the CREATE and DROP move the schema cookie so that
 * every other connection reloads it too. The edit needs writable_schema, which
 * SQLITE_DBCONFIG_DEFENSIVE refuses: turning that on would fail this migration
 * (cleanly, at start, the database left at version 7).
 */
#define FOREIGN_KEYS_DEFERRED                                                              \
	"PRAGMA writable_schema = ON;"                                                     \
	"UPDATE sqlite_master SET sql = replace(sql, 'ON DELETE CASCADE',"                \
	" 'ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED') WHERE type = 'table'"        \
	" AND name IN ('decisions', 'events', 'meta') AND sql NOT LIKE '%DEFERRABLE%';"   \
	"UPDATE sqlite_master SET sql = replace(sql, 'ON DELETE SET NULL',"               \
	" 'ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED') WHERE type = 'table'"       \
	" AND name = 'alerts' AND sql NOT LIKE '%DEFERRABLE%';"                           \
	"PRAGMA writable_schema = RESET;"                                                  \
	"CREATE TABLE schema_cookie_moved (x); DROP TABLE schema_cookie_moved;"

static const char *const db_migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE machines ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL, last_push INTEGER, last_heartbeat INTEGER,"
	" machine_id TEXT NOT NULL UNIQUE, password TEXT NOT NULL,"
	" ip_address TEXT NOT NULL DEFAULT '', scenarios TEXT NOT NULL DEFAULT '',"
	" version TEXT NOT NULL DEFAULT '', is_validated INTEGER NOT NULL DEFAULT 0,"
	" status TEXT NOT NULL DEFAULT '', auth_type TEXT NOT NULL DEFAULT 'password');"
	"CREATE TABLE bouncers ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL, name TEXT NOT NULL UNIQUE, api_key TEXT NOT NULL,"
	" revoked INTEGER NOT NULL DEFAULT 0, ip_address TEXT NOT NULL DEFAULT '',"
	" type TEXT NOT NULL DEFAULT '', version TEXT NOT NULL DEFAULT '', until INTEGER,"
	" last_pull INTEGER NOT NULL, auth_type TEXT NOT NULL DEFAULT 'api-key');"
	"CREATE INDEX bouncers_api_key ON bouncers(api_key);"
	"CREATE TABLE alerts ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL, scenario TEXT NOT NULL, bucket_id TEXT DEFAULT '',"
	" message TEXT NOT NULL DEFAULT '', events_count INTEGER NOT NULL DEFAULT 0,"
	" started_at INTEGER NOT NULL, stopped_at INTEGER NOT NULL,"
	" source_ip TEXT NOT NULL DEFAULT '', source_range TEXT NOT NULL DEFAULT '',"
	" source_as_number TEXT NOT NULL DEFAULT '', source_as_name TEXT NOT NULL DEFAULT '',"
	" source_country TEXT NOT NULL DEFAULT '', source_latitude REAL NOT NULL DEFAULT 0,"
	" source_longitude REAL NOT NULL DEFAULT 0, source_scope TEXT NOT NULL DEFAULT '',"
	" source_value TEXT NOT NULL DEFAULT '', capacity INTEGER NOT NULL DEFAULT 0,"
	" leak_speed TEXT NOT NULL DEFAULT '', scenario_version TEXT NOT NULL DEFAULT '',"
	" scenario_hash TEXT NOT NULL DEFAULT '', simulated INTEGER NOT NULL DEFAULT 0,"
	" machine_alerts INTEGER REFERENCES machines(id) ON DELETE SET NULL);"
	"CREATE INDEX alerts_created_at ON alerts(created_at);"
	"CREATE INDEX alerts_machine ON alerts(machine_alerts);"
	"CREATE TABLE decisions ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL, until INTEGER NOT NULL, scenario TEXT NOT NULL,"
	" type TEXT NOT NULL, start_ip INTEGER NOT NULL DEFAULT 0,"
	" end_ip INTEGER NOT NULL DEFAULT 0, start_suffix INTEGER NOT NULL DEFAULT 0,"
	" end_suffix INTEGER NOT NULL DEFAULT 0, ip_size INTEGER NOT NULL DEFAULT 0,"
	" scope TEXT NOT NULL, value TEXT NOT NULL, origin TEXT NOT NULL,"
	" simulated INTEGER NOT NULL DEFAULT 0,"
	" alert_decisions INTEGER REFERENCES alerts(id) ON DELETE CASCADE);"
	DECISIONS_INDEXES
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL, time INTEGER NOT NULL, serialized TEXT NOT NULL,"
	" alert_events INTEGER REFERENCES alerts(id) ON DELETE CASCADE);"
	"CREATE INDEX events_alert ON events(alert_events);"
	"CREATE TABLE meta ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	" alert_metas INTEGER REFERENCES alerts(id) ON DELETE CASCADE);"
	"CREATE INDEX meta_alert ON meta(alert_metas);",
	/* 1 -> 2: allowlists (CrowdSec 1.6.6; not ent's allow_lists, which an imported
	 * Go database may still hold) */
	"CREATE TABLE allowlists ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL, name TEXT NOT NULL UNIQUE,"
	" description TEXT NOT NULL DEFAULT '', allowlist_id TEXT NOT NULL DEFAULT '',"
	" from_console INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE allowlist_items ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL, expires_at INTEGER, comment TEXT NOT NULL DEFAULT '',"
	" value TEXT NOT NULL, start_ip INTEGER NOT NULL, end_ip INTEGER NOT NULL,"
	" start_suffix INTEGER NOT NULL, end_suffix INTEGER NOT NULL, ip_size INTEGER NOT NULL,"
	" allowlist_id INTEGER NOT NULL REFERENCES allowlists(id) ON DELETE CASCADE);"
	"CREATE INDEX allowlist_items_list ON allowlist_items(allowlist_id);"
	"CREATE INDEX allowlist_items_range ON allowlist_items(ip_size, start_ip, start_suffix,"
	" end_ip, end_suffix);",
	/* 2 -> 3: a counter of decision rows changed or deleted, whoever did it (cscli
	 * writes the database directly): the LAPI's in-memory stream index compares it
	 * to know when it must reload (db/stream.c). Inserts do not count. */
	"CREATE TABLE decisions_epoch (n INTEGER NOT NULL);"
	"INSERT INTO decisions_epoch (n) VALUES (0);"
	"CREATE TRIGGER decisions_epoch_update AFTER UPDATE OF until ON decisions"
	" BEGIN UPDATE decisions_epoch SET n = n + 1; END;"
	"CREATE TRIGGER decisions_epoch_delete AFTER DELETE ON decisions"
	" BEGIN UPDATE decisions_epoch SET n = n + 1; END;",
	/* 3 -> 4: usage metrics (CrowdSec 1.6.3+ POST /v1/usage-metrics): the payloads
	 * as received (generated_type LP = log processor, RC = remediation component),
	 * and what the base metrics say about their sender. */
	"CREATE TABLE metrics ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, generated_type TEXT NOT NULL,"
	" generated_by TEXT NOT NULL, received_at INTEGER NOT NULL, pushed_at INTEGER,"
	" payload TEXT NOT NULL);"
	"CREATE INDEX metrics_by ON metrics(generated_type, generated_by, received_at);"
	"ALTER TABLE bouncers ADD COLUMN os TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE bouncers ADD COLUMN featureflags TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE machines ADD COLUMN os TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE machines ADD COLUMN featureflags TEXT NOT NULL DEFAULT '';",
	/* 4 -> 5: the agent's alert uuid (CrowdSec 1.6+), unique per machine: a batch sent
	 * again (its acknowledgement lost, the LAPI restarted or another replica) is
	 * stored once (cs_db_alerts_insert()) */
	ALERTS_UUID,
	/* 5 -> 6 */
	ALERTS_MACHINE_UUID,
	/* 6 -> 7 */
	DECISIONS_ADDR,
	/* 7 -> 8 */
	FOREIGN_KEYS_DEFERRED,
	/* 8 -> 9: how far the LAPI's alert journal is stored (lapi/journal.c): written in
	 * the transaction that stores the journal's alerts, so that a restart replays
	 * exactly what lies beyond it. One row. SQLite only: PostgreSQL has no journal. */
	("CREATE TABLE alert_journal (generation INTEGER NOT NULL, position INTEGER NOT NULL);"
	 "INSERT INTO alert_journal (generation, position) VALUES (0, 0);"),
};

#endif /* CS_DB_SCHEMA_H */
