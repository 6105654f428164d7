/* SPDX-License-Identifier: MIT */
/* Private to parser/: the loaded tree shared by parser.c (lifetime), load.c and run.c. */
#ifndef CS_PARSER_INT_H
#define CS_PARSER_INT_H

#include "expr/expr.h"
#include "parser/enrich.h"
#include "parser/grok.h"
#include "parser/parser.h"
#include "common/stash.h"
#include "common/strmap.h"

enum static_kind { ST_META, ST_PARSED, ST_ENRICHED, ST_TARGET, ST_METHOD };

struct cs_static {
	enum static_kind kind;
	char *key;		  /* meta/parsed/enriched key, target path or method */
	const struct strmap_key *skey; /* meta/parsed/enriched: key interned (NULL: no room) */
	const struct cs_enricher *method;
	char *value;		  /* constant (wins over expression) */
	size_t value_len;
	struct expr_prog *expr;
	/*
	 * The expression is a plain field read (evt.Parsed.x): cs_event_path()'s
	 * resolution of it, read without the evaluator; 0 to evaluate.
	 */
	uintptr_t path;
	uintptr_t target; /* a target's path, cs_event_target(): 0 to set it by name */
};

struct cs_statics {
	struct cs_static *v;
	size_t n;
	bool sets_stage; /* one of them is `target: evt.Stage` */
};

struct cs_whitelist {
	char *reason;
	struct cs_prefix *ips;
	size_t nips;
	struct cs_prefix *cidrs;
	size_t ncidrs;
	struct expr_prog **exprs;
	size_t nexprs;
	const struct strmap_key *source_ip; /* Meta.source_ip, read on every line (NULL: by name) */
};

struct cs_stash_def {
	char *name;
	struct expr_prog *key, *value;
	int64_t ttl_ns;
	size_t size;
};

struct cs_node {
	char *name;
	bool next_stage;
	bool debug;
	struct expr_prog *filter;
	/*
	 * The filter's first test, `evt.X.KEY == 'lit'` / `in [...]` (expr_prog_guard),
	 * and cs_event_path()'s resolution of evt.X.KEY: a value none of the
	 * literals is decides the filter false without evaluating it; 0: no guard.
	 */
	struct expr_guard guard;
	uintptr_t guard_path;
	/*
	 * A filter that is one test of a string field (expr_prog_test), decided from
	 * the event: the field is a string field (test_path), a map key (test_map,
	 * test_key) or a label (test_key in Line.Labels); none set: evaluate it.
	 */
	struct expr_test test;
	uintptr_t test_path;
	enum cs_event_map test_map;
	const struct strmap_key *test_key;
	/* grok */
	struct grok *grok;
	char *apply_on;
	bool apply_raw;			     /* apply_on: Line.Raw */
	const struct strmap_key *apply_key; /* apply_on: a Parsed key, interned (NULL: no room) */
	struct expr_prog *grok_expr;
	struct cs_statics grok_statics;
	struct cs_node *children;
	size_t nchildren;
	struct cs_statics statics;
	struct cs_whitelist *wl;
	struct cs_stash_def *stash;
	size_t nstash;
	/* where it was defined, for messages */
	char *file;
	int line;
};

/* A top-level node and the keys it is sorted by (installed path, then document order). */
struct cs_top {
	struct cs_node node;
	char *stage;
	size_t stage_idx; /* in cs_parsers.stages, once sorted */
	char *install_name;
	size_t seq;
};

struct cs_parsers {
	struct grok_lib *lib;
	struct expr_env *env;
	struct cs_top *tops;
	size_t ntops, captops, seq;
	bool sorted;
	char **stages;
	size_t nstages;
	struct cs_stash *stash; /* `stash:` sections, SetInStash, GetFromStash */
	struct expr_runtime *rt; /* data files */
	char last_error[768];	   /* "file:line: message" of the last load error */
	void (*clock)(struct cs_time *now, void *arg);
	void *clock_arg;
	char *geoip_dir;	  /* where GeoLite2-{City,ASN}.mmdb are looked for */
	struct cs_geoip *geoip;	  /* opened at the first GeoIP static; NULL before */
	bool geoip_logged;	  /* "no GeoIP database" said once */
};

#endif
