/* SPDX-License-Identifier: MIT */
/*
 * The detector ("crowdsec service"): acquisition -> parser stages -> scenarios ->
 * postoverflows -> alerts; lines are read on the daemon's event loop, parsed and
 * poured there or by `workers` threads (bucket shards, agent/pipeline.h).
 *
 *   struct cs_agent_opts o = { .config_dir = "/etc/crowdsec", .data_dir = ...,
 *                              .acquis_path = ".../acquis.yaml", .on_alert = push, ... };
 *   cs_agent_new(&o, &a, err, sizeof(err));     everything loaded and compiled here
 *   poll cs_agent_fd(a); on readable: cs_agent_process(a, 1000);
 *   every second: cs_agent_tick(a);             (live mode: leaks, counters)
 *   replay (-dsn): until cs_agent_done(a); then cs_agent_finish(a)
 *   cs_agent_free(a);
 *
 * Loading is all or nothing: any parser, scenario or acquisition error fails
 * cs_agent_new() with "file:line: message" in err, which is what `crowdsec -t` prints
 * and what lets SIGHUP keep the old agent when the new configuration is invalid.
 */
#ifndef CS_AGENT_H
#define CS_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nothing of the engine leaks through this header: the daemon only drives it. */
typedef struct json_t json_t;
typedef int (*cs_agent_alert_fn)(json_t *alerts, void *arg);
/*
 * Alerts as text (optional, both or neither): render turns an array of alerts
 * into bytes (malloc'd; NULL: out of memory, those alerts are lost) in the
 * worker thread that built them, so it must be thread-safe and is called in any
 * order; on_text then gets the texts in alert order, instead of on_alert. The
 * merge of the workers' output, which is serial, then only hands bytes on.
 */
typedef char *(*cs_agent_render_fn)(json_t *alerts, size_t *len, void *arg);
typedef int (*cs_agent_text_fn)(const char *text, size_t len, size_t nalerts, void *arg);

struct cs_agent;

struct cs_agent_opts {
	const char *config_dir;	   /* parsers/<stage>/, scenarios/, postoverflows/<stage>/ */
	const char *patterns_dir;  /* NULL: config_dir/patterns */
	const char *data_dir;	   /* data files */
	const char *acquis_path;   /* live: acquis.yaml */
	const char *acquis_dir;	   /* live: more acquis files (*.yaml), may be NULL */
	const char *dsn, *type;	   /* replay: -dsn file:///x.log -type nginx */
	const char *const *labels; /* -label key:value (replay) */
	size_t nlabels;
	const char *simulation_path; /* simulation.yaml, may be NULL */
	const char *hub_index_path;  /* .index.json: the scenarios' hub versions (NULL: none) */
	size_t max_buckets;	     /* 0: default */
	/* Worker threads that parse and pour (bucket shards, see agent/pipeline.h);
	 * 0: everything in the calling thread. The alerts are the same for any number. */
	unsigned int workers;
	cs_agent_alert_fn on_alert; /* alerts to send (POST /v1/alerts bodies) */
	cs_agent_render_fn render;  /* with on_text: alerts as text (above) */
	/* with on_text, instead of render: one JSON line per alert (compact, keys
	 * sorted), written by the engine without building JSON values */
	bool render_lines;
	cs_agent_text_fn on_text;
	void *arg;
};

struct cs_agent_stats {
	uint64_t lines, parsed, unparsed, whitelisted, poured, alerts;
	uint64_t buckets_live, buckets_evicted;
};

/*
 * simulation.yaml: `simulation: on|off` into *global, `exclusions` into *names
 * (NULL-terminated copies; free each and the array). A missing file is no
 * simulation. 0 or -errno with err naming the file and line.
 */
int cs_simulation_load(const char *path, char ***names, bool *global, char *err, size_t errlen);

int cs_agent_new(const struct cs_agent_opts *opts, struct cs_agent **out, char *err, size_t errlen);
void cs_agent_free(struct cs_agent *a);

int cs_agent_fd(const struct cs_agent *a);
/* Handle up to `budget` lines. Number handled or -errno. */
int cs_agent_process(struct cs_agent *a, int budget);
/* Live housekeeping (bucket expiry, counters). */
void cs_agent_tick(struct cs_agent *a);
/* Replay: every source has been read to its end. */
bool cs_agent_done(const struct cs_agent *a);
/* End of a replay: wait for the workers, then drop buckets that did not overflow. */
void cs_agent_finish(struct cs_agent *a);
/* From the thread that drives the agent: waits for the batches in flight first. */
void cs_agent_get_stats(const struct cs_agent *a, struct cs_agent_stats *st);
/* Swap the acquisition of `from` into `to` (SIGHUP with an unchanged acquis: no line
 * is lost or read twice); the line counters carry over. */
void cs_agent_take_acquisition(struct cs_agent *to, struct cs_agent *from);

#endif /* CS_AGENT_H */
