/* SPDX-License-Identifier: MIT */
/*
 * cscli internals: global options, output helpers (tables, logrus-style log
 * lines), the LAPI HTTP client, and one function per command.
 *
 * Exit codes (never renumbered): 0 success, 1 any fatal error (CrowdSec's
 * log.Fatal), 2 usage error.
 */
#ifndef CSCLI_H
#define CSCLI_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lapi/lapi.h"

enum { EXIT_OK = 0, EXIT_FATAL = 1, EXIT_USAGE = 2 };
enum out_fmt { OUT_HUMAN, OUT_JSON, OUT_RAW };

struct cli {
	const char *config_path;
	enum out_fmt out;
	struct cs_lapi_config cfg;
	bool cfg_loaded;
};

/* logrus text format on stderr: time="25-11-2026 07:45:25" level=info msg="..." */
void cli_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define cli_info(...) cli_log("info", __VA_ARGS__)
#define cli_error(...) cli_log("error", __VA_ARGS__)
/* Logs at fatal level; the caller returns EXIT_FATAL. */
#define cli_fatal(...) cli_log("fatal", __VA_ARGS__)

/* Tables: rows of cells; box = "+--+" style (decisions), else borderless dashed. */
struct table {
	size_t ncols;
	char **cells; /* row-major, header first */
	size_t nrows; /* including the header */
	size_t rows_cap;
};
void table_init(struct table *t, size_t ncols, const char *const *header);
void table_add(struct table *t, const char *const *row);
void table_print(struct table *t, bool box);
void table_free(struct table *t);
/*
 * A listing in the three output formats: -o json an array of json(item),
 * -o raw csv_header then one CSV line a row, else a borderless table. row
 * fills ncols cells (raw: CSV words, else the table's glyphs) and may format
 * into its scratch buffers. item_size 0: items is a JSON array whose elements
 * are the items (-o json prints it as it is).
 */
#define CLI_ROW_SCRATCH 2
struct cli_listing {
	size_t ncols;
	const char *const *header;
	const char *csv_header;
	json_t *(*json)(const void *item);
	void (*row)(const void *item, bool raw, char scratch[CLI_ROW_SCRATCH][96],
		    const char **cells);
};
void cli_print_list(const struct cli *c, const struct cli_listing *l, const void *items,
		    size_t item_size, size_t n);
/*
 * `cscli bouncers|machines list`: fetch's rows of the database, printed as out
 * says, then dropped. EXIT_OK or EXIT_FATAL (logged as "unable to list <what>").
 */
struct cli_db_listing {
	const char *what;
	int (*fetch)(struct cs_db *db, void **items, size_t *n);
	void (*drop)(void *items, size_t n);
	size_t item_size;
	struct cli_listing out;
};
int cli_list_db(struct cli *c, const struct cli_db_listing *l);
/* prefix_fetch and prefix_drop of a cli_db_listing, over the database's typed list and free. */
#define CLI_DB_LISTING_FNS(prefix, type, list_fn, free_fn)                                     \
	static int prefix##_fetch(struct cs_db *db, void **items, size_t *n)                   \
	{                                                                                      \
		type *v = NULL;                                                                \
		int err = list_fn(db, &v, n);                                                  \
                                                                                               \
		*items = v;                                                                    \
		return err;                                                                    \
	}                                                                                      \
	static void prefix##_drop(void *items, size_t n)                                       \
	{                                                                                      \
		free_fn(items, n);                                                             \
	}
/* "Usage: cscli <usage>" on stderr when bad: the verb then returns EXIT_USAGE. */
bool cli_bad_usage(bool bad, const char *usage);
/* JSON to stdout with `indent` spaces; trailing newline only when nl. */
void print_json(json_t *j, int indent, bool nl);
/* The string member k of o, "" when absent or not a string. */
const char *jstr(json_t *o, const char *k);
/* A JSON tree as YAML on stdout (object keys in their order), as `inspect` prints items. */
void print_yaml(json_t *j);
/* RFC3339 (nano: RFC3339Nano); 0 prints Go's zero time. */
void fmt_time(int64_t t, bool nano, char *buf, size_t len);
/* An alert source's "AS_NUMBER AS_NAME" (either may be missing) into buf. */
void source_as(json_t *src, char *buf, size_t len);
/* CSV field (quoted when needed). */
void csv_field(const char *s, bool last);
/* s with control characters escaped (\n, \t, \x1b, \u009b) and bytes that are no
 * UTF-8 as \xNN: what outside parties chose (machine ids registered without auth,
 * log fields) cannot drive the terminal. Malloc'd; NULL on allocation failure.
 * Tables, CSV and log lines use it; term_puts writes s so escaped. */
char *term_escape(const char *s);
void term_puts(const char *s, FILE *f);

/* LAPI client (libcurl), logged in with the credentials file. */
struct lapi_client;
int client_open(struct cli *c, struct lapi_client **out);
/*
 * client_open() in two halves, so that a login goes on beside other work:
 * begin (any thread) loads the credentials and logs in, printing nothing; end
 * reports a failure as client_open() does and hands the client over, or
 * discard drops it silently (the work beside it failed first). cancel (may be
 * NULL, borrowed until begin returns): set by that work when it fails, it stops
 * the login in flight so that the failure is not held up by a slow LAPI.
 */
struct client_login {
	struct lapi_client *cl;
	int open_err, login_err;
	long status;
	char *resp, err[1024];
};
void client_login_begin(struct cli *c, struct client_login *l, const atomic_bool *cancel);
int client_login_end(struct cli *c, struct client_login *l, struct lapi_client **out);
void client_login_discard(struct client_login *l);
/* method + "/v1/..." (+query); body may be NULL. *resp is malloc'ed. */
int client_do(struct lapi_client *cl, const char *method, const char *path, const char *body,
	      long *status, char **resp);
/*
 * client_do + status check: a non-2xx is logged fatal as "<what><API error: msg>"
 * and returns -EIO. With out, the JSON answer (new reference).
 */
int client_call(struct lapi_client *cl, const char *method, const char *path, const char *body,
		const char *what, json_t **out);
const char *client_login(struct lapi_client *cl);
const char *client_url(struct lapi_client *cl);
void client_close(struct lapi_client *cl);
/* "API error: <message>" text from a non-2xx body. */
void api_error_text(const char *body, char *out, size_t len);

/* Query strings: collected then sorted by key (Go's url.Values.Encode order). */
struct query {
	char *k[32];
	char *v[32];
	size_t n;
};
void query_add(struct query *q, const char *k, const char *v);
char *query_encode(struct query *q); /* "a=b&c=d", frees nothing */
void query_free(struct query *q);

/* An object's or a verb's entry point: argv[0] is its name; returns an exit code. */
typedef int cli_cmd_fn(struct cli *c, int argc, char **argv);

/*
 * An object's verbs (cscli OBJECT VERB ...): the dispatch and the help of
 * every level. flags: one "  -x, --name type   what" line each, or NULL.
 */
struct verb {
	const char *name;
	const char *alias; /* or NULL */
	cli_cmd_fn *fn;
	const char *help;  /* one line */
	const char *args;  /* after "cscli OBJECT VERB": "[flags]", "ID [ID...]" */
	const char *flags;
};
/*
 * argv[0] is the object. No verb: its help on stderr, EXIT_USAGE; "help",
 * -h/--help: the object's help, or the verb's when one is named, on stdout,
 * EXIT_OK. Otherwise the configuration is loaded and the verb runs.
 */
int cli_run_verbs(struct cli *c, const char *object, const char *about, const struct verb *v,
		  size_t n, int argc, char **argv);
#define CLI_RUN_VERBS(c, object, about, verbs, argc, argv)                                     \
	cli_run_verbs((c), (object), (about), (verbs), sizeof(verbs) / sizeof((verbs)[0]), (argc), \
		      (argv))

/*
 * Verb flags (filters.c): a filter flag puts key=value (value: the argument, or
 * the fixed `value`) in the LAPI query; a flag without key is the verb's own.
 * valid (optional) refuses a bad argument: "<arg> isn't a valid <name>".
 */
enum cli_own { CLI_OWN_NONE, CLI_OWN_ALL, CLI_OWN_MACHINE, CLI_OWN_CONTAINED, CLI_OWN_ID,
	       CLI_OWN_LIMIT };
struct cli_flag {
	const char *name;
	int short_opt; /* 0: none */
	int has_arg;   /* getopt's no_argument / required_argument */
	const char *key;
	const char *value;
	bool (*valid)(const char *arg);
	enum cli_own own; /* no key: which field of struct cli_args it sets */
};
/* What the verbs' own flags said. */
struct cli_args {
	bool all, machine, contained;
	const char *id, *limit;
};
#define CLI_MAX_FLAGS 24
extern const struct cli_flag cf_all, cf_all_long, cf_id, cf_limit, cf_machine, cf_since, cf_until,
	cf_ip, cf_ip_checked, cf_range, cf_range_checked, cf_scenario, cf_scope, cf_value, cf_origin,
	cf_decision_type, cf_decision_type_t, cf_type_t, cf_contained, cf_contained_flag, cf_no_simu;
/*
 * A verb's flags that only store what they say: a flag with str takes an
 * argument and sets *str to it (after valid, when given, accepted it: else
 * "<arg> isn't a valid <name>"); one with set sets *set; one with neither is
 * accepted and ignored (1.4.6 flags that change nothing here; takes_arg says
 * whether it swallows an argument).
 */
struct cli_opt {
	const char *name;
	int short_opt; /* 0: none */
	const char **str;
	bool *set;
	bool (*valid)(const char *arg);
	bool takes_arg;
};
/*
 * getopt_long over opts: 0, EXIT_USAGE (getopt said why) or EXIT_FATAL (a
 * refused value, logged). The positional arguments stay in argv[optind..].
 */
int cli_getopt(int argc, char **argv, const struct cli_opt *opts, size_t n);
#define CLI_GETOPT(argc, argv, opts)                                                           \
	cli_getopt((argc), (argv), (opts), sizeof(opts) / sizeof((opts)[0]))
/*
 * getopt_long over the verb's flags: filter flags fill q, own flags fill a.
 * 0, EXIT_USAGE (getopt said why) or EXIT_FATAL (a refused value, logged).
 */
int cli_parse_flags(int argc, char **argv, const struct cli_flag *const *f, size_t n,
		    struct query *q, struct cli_args *a);
#define CLI_PARSE_FLAGS(argc, argv, flags, q, a)                                               \
	cli_parse_flags((argc), (argv), (flags), sizeof(flags) / sizeof((flags)[0]), (q), (a))
/*
 * `cscli alerts|decisions delete`: the filters (or --all, or --id N) to a
 * DELETE on /v1/<object>, then "<nbDeleted> <noun>(s) deleted". The texts are
 * 1.4.6's, which differ between the two.
 */
struct cli_delete {
	const char *object;	 /* "alerts": the route and the usage line */
	const char *noun;	 /* "alert" */
	const char *need_filter; /* no filter and no --all */
	const char *bad_id;	 /* a format taking the id */
	const char *fail_one, *fail_many;
	const char *all_query;	 /* the query of --all */
	bool limit0;		 /* filtered deletes carry limit=0 */
	const struct cli_flag *const *flags;
	size_t nflags;
};
int cli_delete(struct cli *c, const struct cli_delete *d, int argc, char **argv);
/*
 * `cscli alerts|decisions list`: the filters to GET /v1/alerts (has_active_decision
 * first when active_only, as 1.4.6 orders them, then include_capi and limit; args
 * holds the default limit). EXIT_OK with *alerts to print, or NULL when -o json
 * printed them already; else the exit code (reported with `fail`).
 */
int cli_alerts_get(struct cli *c, int argc, char **argv, const struct cli_flag *const *flags,
		   size_t nflags, bool active_only, const char *fail, struct cli_args *args,
		   json_t **alerts);
bool cli_valid_ip(const char *s);
bool cli_valid_range(const char *s);

/* Entry point of the cscli program. */
int cscli_main(int argc, char **argv);
/* Load -c's configuration once (verbs that need it call it). 0 or -1 (reported). */
int cli_load_config(struct cli *c);
/* The configuration's database, for the verbs that work on it directly. 0 or -1 (reported). */
int cli_open_db(struct cli *c, struct cs_db **db);
/* the objects (cscli OBJECT ...) */
cli_cmd_fn cmd_metrics, cmd_bouncers, cmd_machines, cmd_decisions, cmd_alerts, cmd_hubtest,
	cmd_lapi, cmd_capi, cmd_hub, cmd_explain, cmd_allowlists, cmd_simulation, cmd_config,
	cmd_version, cmd_completion, cmd_setup;
/* collections|parsers|scenarios|postoverflows|contexts|appsec-*: argv[0] is the type. */
cli_cmd_fn cmd_items;
/* cscli decisions import (cmd_decisions_import.c) */
cli_cmd_fn decisions_import;
/* A credentials file (url, login, password; mode 0600), or stdout for "-": 0 or -errno. */
int cli_write_creds(const char *file, const char *url, const char *login, const char *pw);
/* GET /v1/allowlists/check/VALUE: 1 (and *reason, to free) if allowlisted, 0, or -EIO (logged). */
int allowlist_check(struct lapi_client *cl, const char *value, char **reason);

#endif /* CSCLI_H */
