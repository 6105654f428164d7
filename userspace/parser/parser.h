/* SPDX-License-Identifier: MIT */
/*
 * The parser pipeline: hub parser files (s00-raw, s01-parse, s02-enrich...)
 * loaded from YAML, run on one Event at a time (hub-format.md section 3).
 *
 *   struct cs_parser_opts o = { .patterns_dir = ".../patterns", .data_dir = ".../data" };
 *   cs_parsers_new(&o, &p);
 *   cs_parsers_load_dir(p, "/etc/crowdsec/parsers");     <dir>/<stage>/<file>.yaml
 *   or cs_parsers_load_file(p, "s01-parse", "/path/sshd-logs.yaml", NULL);
 *   cs_parsers_ready(p);
 *   cs_event_new(&evt); cs_event_set_line(evt, line, len, src, "file", "syslog");
 *   evt->expect_mode = CS_MODE_TIMEMACHINE;  (replay: ParseDate sets evt->time)
 *   cs_parse(p, evt, NULL, NULL);          0: evt->process says keep/drop
 *   keep = evt->process && !evt->whitelisted; the time is evt->marshaled_time
 *
 * Postoverflows are the same machinery in a second instance (their own grok
 * library and stages s00-enrich, s01-whitelist), run on OVFLW events whose
 * overflow part is plugged in through struct cs_overflow_ops.
 *
 * Loading never runs anything: every expression is compiled and every grok
 * expanded at load time, and any problem is an error naming file:line.
 * Load everything, then call cs_parsers_ready() once; from then on a struct
 * cs_parsers is read-only except for the stash caches (locked), so several
 * threads may call cs_parse() on different events.
 */
#ifndef CS_PARSER_H
#define CS_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "parser/event.h"

struct cs_parsers;
struct expr_env;
struct expr_runtime;

struct cs_parser_opts {
	const char *patterns_dir; /* grok pattern files; NULL = built-in patterns only */
	const char *data_dir;	  /* data files (`data:`); NULL = none */
	/*
	 * Optional: the detector's expr runtime (data files), shared with its
	 * scenarios; the parser takes a reference. NULL = a private one on data_dir.
	 */
	struct expr_runtime *runtime;
	/* GeoLite2-City.mmdb / GeoLite2-ASN.mmdb for GeoIpCity, GeoIpASN, IpToRange; NULL = data_dir */
	const char *geoip_dir;
	/*
	 * Optional: extra functions for expressions (e.g. a real GetDecisionsCount).
	 * Called once after the helpers are registered, before anything is compiled.
	 */
	int (*setup_env)(struct expr_env *env, void *arg);
	void *setup_arg;
	/*
	 * Optional clock ("now": year of syslog dates, ParseDate's fallback, a
	 * zero evt.Time). NULL = the wall clock in UTC: its tick for a date's
	 * year (cs_time_now_coarse), to the nanosecond for a time an event keeps.
	 */
	void (*clock)(struct cs_time *now, void *arg);
	void *clock_arg;
};

int cs_parsers_new(const struct cs_parser_opts *opts, struct cs_parsers **out);
void cs_parsers_free(struct cs_parsers *p);

/*
 * Load every YAML document of `path` as nodes of `stage`. `install_name` is
 * the file name the node order is sorted by (the installed name, without the
 * author directory); NULL = basename(path). 0 or -errno (logged with file:line).
 */
int cs_parsers_load_file(struct cs_parsers *p, const char *stage, const char *path,
			 const char *install_name);
/* Load <dir>/<stage>/<file>.{yaml,yml} for every stage directory. */
int cs_parsers_load_dir(struct cs_parsers *p, const char *dir);
/* Load nodes from a YAML text (tests, hubtest override_statics). */
int cs_parsers_load_string(struct cs_parsers *p, const char *stage, const char *name,
			   const char *yaml);

/*
 * Sort the nodes and fix the stage list. cs_parse() does it on first use; call
 * it yourself before parsing from several threads. 0 or -ENOMEM.
 */
int cs_parsers_ready(struct cs_parsers *p);

/* "file:line: message" of the last load error ("" if none). */
const char *cs_parsers_last_error(const struct cs_parsers *p);

/* The sorted list of stages that have nodes. */
size_t cs_parsers_nstages(const struct cs_parsers *p);
const char *cs_parsers_stage(const struct cs_parsers *p, size_t i);

/*
 * Called after every top-level node tried on an event (hubtest's parser dump):
 * the event as the node left it. Return non-zero to abort the parse with it.
 */
typedef int (*cs_parse_observer)(const char *stage, const char *node, const struct cs_event *evt,
				 bool success, void *arg);

/*
 * Run the stages on evt (spec 3.4). Returns 0 when the event went through the
 * pipeline — evt->process then tells whether it is kept (false: dropped by a
 * stage) — or a negative errno when a node errored or the event has no
 * Line.Module (spec section 2): the event is to be discarded. Whitelisted events come out with process true and whitelisted
 * set: the caller must not pour them into scenarios.
 */
int cs_parse(struct cs_parsers *p, struct cs_event *evt, cs_parse_observer obs, void *arg);

/* The expression environment (var `evt` + helpers), e.g. to compile more expressions. */
const struct expr_env *cs_parsers_env(const struct cs_parsers *p);

#endif /* CS_PARSER_H */
