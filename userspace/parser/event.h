/* SPDX-License-Identifier: MIT */
/*
 * The Event: one log line (or one bucket overflow) on its way through the
 * engine, with the fields CrowdSec's types.Event has (hub-format.md section 1),
 * and its exposure to expressions as the host object `evt`; also models.Source,
 * which overflows and profile filters show.
 *
 * Ownership: an event owns every string and map it points to; cs_event_free()
 * releases them all. Strings hold arbitrary bytes (Line.Raw keeps NULs and
 * invalid UTF-8; its length is line.raw_len), NUL-terminated for convenience.
 * The overflow part belongs to the bucket engine: it plugs in through
 * struct cs_overflow_ops so that this module does not depend on it.
 */
#ifndef CS_EVENT_H
#define CS_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expr/expr.h"
#include "parser/dateparse.h"
#include "parser/parser_limits.h"

struct strmap;

enum cs_event_type {
	CS_EVT_LOG = 0,
	CS_EVT_OVFLW = 1,
	CS_EVT_APPSEC = 2,
};

enum cs_expect_mode {
	CS_MODE_LIVE = 0,
	CS_MODE_TIMEMACHINE = 1,
};


struct cs_line {
	char *raw;
	size_t raw_len;
	char *src;
	char *module;
	struct cs_time time;
	struct strmap *labels;
	bool process;
};

/*
 * How an overflow payload (RuntimeAlert) is handled; supplied by the bucket
 * engine. expr is what `evt.Overflow` evaluates to; get_meta implements
 * GetMeta() for overflow events; sources lists the keys of Sources (whitelists).
 */
struct cs_overflow_ops {
	const struct expr_host_ops *expr;
	const struct expr_type *type; /* static type of evt.Overflow (NULL = any) */
	void *(*dup)(const void *ovf);
	void (*free)(void *ovf);
	const char *(*get_meta)(const void *ovf, const char *key);
	/* Calls fn for each source key; stops and returns fn's value if non-zero. */
	int (*for_each_source)(const void *ovf, int (*fn)(const char *src, void *arg),
			       void *arg);
	/* A postoverflow whitelist matched: set Overflow.Whitelisted (spec 3.3 step 2). */
	void (*set_whitelisted)(void *ovf);
	/* A postoverflow static with `target: evt.Overflow....` (ipv6_to_range). Optional. */
	int (*set_target)(void *ovf, const char *path, const char *val, size_t len);
};

/*
 * An instant beside the RFC 3339 text it was written as, kept only when parsing
 * that text gives the instant back exactly (text "" otherwise).
 */
struct cs_known_time {
	struct cs_time t;
	char text[CS_TIME_STRLEN];
};

struct cs_event {
	enum cs_event_type type;
	enum cs_expect_mode expect_mode;
	bool whitelisted;
	char *whitelist_reason;
	char *stage;
	struct cs_line line;
	struct strmap *parsed;
	struct strmap *enriched;
	struct strmap *meta;
	struct expr_value unmarshaled; /* EXPR_MAP: map[string]any */
	struct cs_time time;
	char *str_time;
	char *str_time_format;
	char *marshaled_time;
	struct cs_known_time known_time; /* what ParseDate read and wrote (below) */
	bool process;
	void *overflow; /* owned; see overflow_ops */
	const struct cs_overflow_ops *overflow_ops;
};

/* An empty LOG event with all maps created. 0 or -ENOMEM. */
int cs_event_new(struct cs_event **out);
/*
 * Freed events wait in a bounded pool of the calling thread for its next
 * cs_event_new() (their tables kept: no malloc per line), released at thread exit.
 */
void cs_event_free(struct cs_event *evt);
/* Deep copy (the parser results of hubtest are snapshots). 0 or -ENOMEM. */
int cs_event_dup(const struct cs_event *evt, struct cs_event **out);

/*
 * Fill the acquisition part as the file datasource does (spec section 2): the
 * line without its terminator ("\n", "\r\n"), cut at CS_LINE_MAX; Type LOG,
 * Process true, Module, Src, Labels.type, Line.Time = now (cs_time_now_coarse).
 */
int cs_event_set_line(struct cs_event *evt, const char *raw, size_t len, const char *src,
		      const char *module, const char *log_type);

/* Replace a string field (e.g. &evt->str_time) with a copy of val (NULL = ""). */
int cs_event_set_str(char **field, const char *val);

/*
 * MarshaledTime as an instant. Buckets pour at it, and most events carry the
 * text the ParseDate enricher just formatted from an instant it had (a static
 * copies Enriched.MarshaledTime there): cs_event_format_time() formats t (RFC
 * 3339 nano, cs_time_format) into buf and remembers (t, text) in the event when
 * that text reads back as exactly t; cs_event_marshaled_time() takes t while
 * MarshaledTime is still that text, and parses any other text as RFC 3339.
 * 0, -ENOSPC (format), -EINVAL (an empty or unreadable MarshaledTime).
 */
int cs_event_format_time(struct cs_event *evt, const struct cs_time *t, char *buf, size_t len);
int cs_event_marshaled_time(const struct cs_event *evt, struct cs_time *out);

/* evt.GetMeta(key): "" when absent. */
const char *cs_event_get_meta(const struct cs_event *evt, const char *key);
/* "log", "overflow" or "unknown". */
const char *cs_event_type_name(const struct cs_event *evt);

/*
 * Set a string field by path as `target:` statics do: "evt." is optional,
 * then StrTime, StrTimeFormat, MarshaledTime, WhitelistReason, Stage,
 * Line.Raw/Src/Module, or the first key below a map (Meta.x, Parsed.x,
 * Enriched.x, Line.Labels.x). -ENOENT for a path that names no string field.
 */
int cs_event_set_target(struct cs_event *evt, const char *path, const char *val, size_t len);
/*
 * The same path resolved once (a static's target, at load): 0 when it is to be
 * set by name (an Overflow field, no such field, no room to intern its key);
 * cs_event_set_target_at() then sets it as cs_event_set_target() would.
 */
uintptr_t cs_event_target(const char *path);
int cs_event_set_target_at(struct cs_event *evt, uintptr_t target, const char *val, size_t len);

/*
 * The maps of an event an expression names by evt.Meta / evt.Parsed / evt.Enriched:
 * one reading of those names for the expression hooks, statics and the buckets'
 * routing shortcuts. CS_EVT_NONE for any other field.
 */
enum cs_event_map { CS_EVT_NONE, CS_EVT_META, CS_EVT_PARSED, CS_EVT_ENRICHED };
enum cs_event_map cs_event_map_named(const char *field);

static inline const struct strmap *cs_event_map_of(const struct cs_event *evt,
						   enum cs_event_map m)
{
	return m == CS_EVT_META	    ? evt->meta :
	       m == CS_EVT_PARSED   ? evt->parsed :
	       m == CS_EVT_ENRICHED ? evt->enriched : NULL;
}

/*
 * A string field named by a plain expression path (expr_prog_path(): evt.Parsed.x,
 * evt.Meta.x, evt.Enriched.x, evt.Line.Raw/Src/Module, evt.StrTime...) read
 * without the evaluator. cs_event_path() resolves the names once: 0 when they
 * are not such a field (evaluate instead). cs_event_path_read() gives the bytes
 * the expression gives ("" for an absent key or an unset field), valid until
 * that field or key is set again; -ENOENT when the event has no such map.
 */
uintptr_t cs_event_path(const char *field, const char *key);
int cs_event_path_read(const struct cs_event *evt, uintptr_t path, const char **s, size_t *len);

/* Merge the top-level keys of a JSON object text into Unmarshaled. -EINVAL if not JSON. */
int cs_event_unmarshal_json(struct cs_event *evt, const char *json, size_t len);

/* ---- expression binding -------------------------------------------------------- */

/* The static type of `evt`: declare with expr_env_add_var(env, "evt", &cs_event_expr_type). */
extern const struct expr_type cs_event_expr_type;
extern const struct expr_host_ops cs_event_expr_ops;

static inline struct expr_value cs_event_value(struct cs_event *evt)
{
	return expr_host(&cs_event_expr_ops, evt);
}

/*
 * models.Source, one definition for every place that shows one to expressions:
 * evt.Overflow.Alert.Source and evt.Overflow.Sources[ip] in the detector (the
 * bucket engine owns these strings), Alert.Source in profile filters (a view
 * that borrows the stored alert's strings). NULL strings read as "".
 *
 *   expr_host(&cs_source_expr_ops, src)      { "Source", &cs_source_expr_type }
 */
struct cs_source {
	char *scope, *value, *ip, *range, *as_name, *as_number, *cn;
	double lat, lon; /* float32 in Go: the detector stores strtof() values */
};

extern const struct expr_host_ops cs_source_expr_ops;
extern const struct expr_type cs_source_expr_type;
/* Its strings by their Go names (common/record.h): the getter, the free and the copy. */
struct rec_schema;
extern const struct rec_schema cs_source_schema;

/*
 * models.Alert's plain fields, one getter for both places that show an Alert
 * to expressions: the detector's RuntimeAlert (bucket/alert.c) and the stored
 * alert of profile filters (profiles/alert_expr.c). Each fills this view from
 * its own record; NULL strings read as "".
 */
struct cs_alert_fields {
	const char *scenario, *scenario_hash, *scenario_version, *message, *leakspeed;
	const char *machine_id, *start_at, *stop_at;
	int64_t capacity, events_count;
	bool simulated, remediation;
};

/* The field called name ("Scenario", "Capacity", ...): 0, -ENOMEM, or -ENOENT (not one of them). */
int cs_alert_fields_get(const struct cs_alert_fields *f, const char *name,
			struct expr_value *out);

#endif /* CS_EVENT_H */
