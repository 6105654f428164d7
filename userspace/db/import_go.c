// SPDX-License-Identifier: MIT
/*
 * Import of a database written by Go CrowdSec 1.4.6 (ent schema) into ours.
 */
#include "db/db_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/gotime.h"
#include "common/log.h"
#include "common/strbuf.h"

bool is_go_database(struct cs_db *db)
{
	sqlite3_stmt *s = NULL;
	bool found = false;

	if (sqlite3_prepare_v2(db_conn(db)->h,
			       "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'machines'",
			       -1, &s, NULL) == SQLITE_OK)
		found = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return found;
}

/* cs_ts(text): ent's "2026-11-25 07:48:58.379359153+00:00" -> ns (NULL -> 0) */
static void sql_cs_ts(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *t = sqlite3_value_text(argv[0]);
	char buf[64];
	int64_t ns = 0;

	if (t && strlen((const char *)t) < sizeof(buf)) {
		strcpy(buf, (const char *)t);
		if (strlen(buf) > 10 && buf[10] == ' ')
			buf[10] = 'T';
		if (gotime_parse_rfc3339(buf, &ns))
			ns = 0;
	}
	sqlite3_result_int64(ctx, ns);
}

/*
 * Keep everything the Go LAPI stored: rename its tables, create ours, copy with
 * timestamps converted, drop the old ones, all in one transaction. Bouncer keys
 * (SHA-512 hex) and machine passwords (bcrypt, see common/pwhash.c) keep working.
 */
int import_go_database(struct cs_db *db, const char *schema_v1)
{
	static const char *const tables[] = { "machines", "bouncers", "alerts",
					      "decisions", "events",   "meta" };
	struct sbuf b = { 0 }, *f = &b;
	char *sql, *msg = NULL;
	int rc;

	sb_puts(f, "PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE;");
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		sb_printf(f, "ALTER TABLE %s RENAME TO go_%s;", tables[i], tables[i]);
	/* their indexes keep their names and would clash with nothing, drop them with the tables */
	sb_puts(f, schema_v1);
	sb_puts(f, "INSERT INTO machines (id, created_at, updated_at, last_push, last_heartbeat,"
		   " machine_id, password, ip_address, scenarios, version, is_validated, status,"
		   " auth_type) SELECT id, cs_ts(created_at), cs_ts(updated_at), cs_ts(last_push),"
		   " cs_ts(last_heartbeat), machine_id, password, ip_address, ifnull(scenarios, ''),"
		   " ifnull(version, ''), is_validated, ifnull(status, ''), auth_type FROM go_machines;"
		   "INSERT INTO bouncers (id, created_at, updated_at, name, api_key, revoked, ip_address,"
		   " type, version, until, last_pull, auth_type) SELECT id, cs_ts(created_at),"
		   " cs_ts(updated_at), name, api_key, revoked, ifnull(ip_address, ''), ifnull(type, ''),"
		   " ifnull(version, ''), cs_ts(until), cs_ts(last_pull), auth_type FROM go_bouncers;"
		   "INSERT INTO alerts (id, created_at, updated_at, scenario, bucket_id, message,"
		   " events_count, started_at, stopped_at, source_ip, source_range, source_as_number,"
		   " source_as_name, source_country, source_latitude, source_longitude, source_scope,"
		   " source_value, capacity, leak_speed, scenario_version, scenario_hash, simulated,"
		   " machine_alerts) SELECT id, cs_ts(created_at), cs_ts(updated_at), scenario,"
		   " ifnull(bucket_id, ''), ifnull(message, ''), ifnull(events_count, 0),"
		   " cs_ts(started_at), cs_ts(stopped_at), ifnull(source_ip, ''),"
		   " ifnull(source_range, ''), ifnull(source_as_number, ''), ifnull(source_as_name, ''),"
		   " ifnull(source_country, ''), ifnull(source_latitude, 0), ifnull(source_longitude, 0),"
		   " ifnull(source_scope, ''), ifnull(source_value, ''), ifnull(capacity, 0),"
		   " ifnull(leak_speed, ''), ifnull(scenario_version, ''), ifnull(scenario_hash, ''),"
		   " simulated, machine_alerts FROM go_alerts;"
		   "INSERT INTO decisions (id, created_at, updated_at, until, scenario, type, start_ip,"
		   " end_ip, start_suffix, end_suffix, ip_size, scope, value, origin, simulated,"
		   " alert_decisions) SELECT id, cs_ts(created_at), cs_ts(updated_at), cs_ts(until),"
		   " scenario, type, ifnull(start_ip, 0), ifnull(end_ip, 0), ifnull(start_suffix, 0),"
		   " ifnull(end_suffix, 0), ifnull(ip_size, 0), scope, value, origin, simulated,"
		   " alert_decisions FROM go_decisions;"
		   "INSERT INTO events (id, created_at, updated_at, time, serialized, alert_events)"
		   " SELECT id, cs_ts(created_at), cs_ts(updated_at), cs_ts(time), serialized,"
		   " alert_events FROM go_events;"
		   "INSERT INTO meta (id, created_at, updated_at, key, value, alert_metas) SELECT id,"
		   " cs_ts(created_at), cs_ts(updated_at), key, value, alert_metas FROM go_meta;");
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		sb_printf(f, "DROP TABLE go_%s;", tables[i]);
	sb_puts(f, "PRAGMA user_version = 1; COMMIT; PRAGMA foreign_keys = ON;");
	sql = sb_take(&b, NULL);
	if (!sql)
		return -ENOMEM;
	sqlite3_create_function(db_conn(db)->h, "cs_ts", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				sql_cs_ts, NULL, NULL);
	rc = sqlite3_exec(db_conn(db)->h, sql, NULL, NULL, &msg);
	free(sql);
	if (rc != SQLITE_OK) {
		log_error("import of the CrowdSec (Go) database failed: %s", msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_exec(db_conn(db)->h, "ROLLBACK; PRAGMA foreign_keys = ON;", NULL, NULL, NULL);
		return -EIO;
	}
	log_warn("imported a CrowdSec (Go) database: bouncer keys and machine passwords (bcrypt)"
		 " are kept");
	return 0;
}
