/* SPDX-License-Identifier: MIT */
/*
 * expr: CrowdSec's expression language (the Go expr-lang/expr v1.17 dialect the
 * hub is written in), compiled once at load time and evaluated many times.
 *
 *   env = expr_env_new();                     variables, functions, helpers
 *   expr_env_add_var(env, "evt", &event_type);
 *   expr_env_add_helpers(env, EXPR_HELPERS_CROWDSEC);
 *   expr_compile(env, "evt.Meta.log_type == 'ssh_failed-auth'", &prog, &err);
 *   ...
 *   vars[0] = expr_host(&event_ops, event);   one value per declared variable
 *   rc = expr_eval_bool(prog, vars, NULL, &match, &err);
 *
 * Errors: every int return is 0 or -errno. Compile errors (syntax, unknown
 * identifier, unknown function, wrong arity or argument kind, unknown field or
 * method of a host type that declares them, operators on incompatible known
 * types such as `evt.Meta.x > 5`, invalid constant regex, nesting deeper than
 * 200) carry a 1-based line/column in struct expr_error. Run-time errors (type mismatch, index out of range, member
 * access on nil, a helper failing) make expr_eval() return a negative errno
 * (-EINVAL, -ERANGE, -ENOENT, -ENOMEM, -E2BIG...) with a message; they never crash.
 *
 * Values and ownership: struct expr_value is a small tagged value passed by
 * value. Strings, arrays and maps are immutable-after-build heap objects with an
 * atomic reference count, so a compiled program can be evaluated from several
 * threads at once. Rules:
 *   - a function that writes a value to `*out` hands the caller ONE reference;
 *     release it with expr_value_release();
 *   - values passed as arguments (callback args, expr_array_push's container...)
 *     are borrowed unless the function name says "take";
 *   - host objects (EXPR_HOST) are NOT reference counted by default: the host
 *     guarantees the object lives for the whole evaluation (an Event outlives the
 *     expression run on it). A host type may set ref/unref to opt in.
 *
 * Go maps: expose one either as a native EXPR_MAP value or as a MAPLIKE host
 * view. A missing key yields the zero value of the element type: the static
 * type for native maps (map[string]string => ""), the host's get() otherwise.
 *
 * Thread safety: an expr_env is built single-threaded and must not change
 * after the first compile; programs are read-only and can be evaluated
 * concurrently. What an evaluation changes (limits, the cache of regexes
 * compiled at run time, the memo of pure string functions) lives in the
 * evaluation runtime of the calling thread (struct expr_vm, below), never in
 * the program or the process. The data-file registry is read-locked.
 */
#ifndef CS_EXPR_H
#define CS_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct expr_env;
struct expr_prog;
struct expr_ctx;
struct expr_host_ops;
typedef struct json_t json_t;

/* ---- value kinds and static types -------------------------------------------- */

/*
 * One enum for both run-time values and compile-time types. EXPR_ANY is only a
 * static type ("unknown until run time", e.g. anything inside evt.Unmarshaled);
 * a run-time value never has it.
 */
enum expr_kind {
	EXPR_ANY = 0,
	EXPR_NIL,
	EXPR_BOOL,
	EXPR_INT,	/* int64 */
	EXPR_FLOAT,	/* double */
	EXPR_STRING,	/* byte string, NUL-terminated for convenience, may hold NULs */
	EXPR_ARRAY,
	EXPR_MAP,	/* string keys (Go map[string]T) */
	EXPR_DURATION,	/* int64 nanoseconds (Go time.Duration) */
	EXPR_TIME,	/* instant + zone offset (Go time.Time) */
	EXPR_HOST,	/* object owned by the embedding engine, see expr_host_ops */
	EXPR_KIND_MAX,
};

const char *expr_kind_name(enum expr_kind kind);	/* "string", "map"... */

/*
 * Static type, used at compile time to reject unknown fields, wrong arity and
 * operators on incompatible known types. Element type NULL means "any".
 * Example: evt.Meta is { EXPR_MAP, &expr_type_string }, so evt.Meta.x is a string.
 */
struct expr_type {
	enum expr_kind kind;
	const struct expr_type *elem;		/* EXPR_ARRAY / EXPR_MAP elements */
	const struct expr_host_ops *host;	/* EXPR_HOST: its descriptor */
};

extern const struct expr_type expr_type_any, expr_type_nil, expr_type_bool, expr_type_int,
	expr_type_float, expr_type_string, expr_type_duration, expr_type_time,
	expr_type_array_any,		/* []any */
	expr_type_array_string,		/* []string */
	expr_type_map_any,		/* map[string]any: absent key => nil */
	expr_type_map_string;		/* map[string]string: absent key => "" */

/* ---- values ---------------------------------------------------------------------- */

struct expr_str {
	int refcnt;
	uint32_t len;
	char s[];		/* len bytes + a NUL */
};

struct expr_array {
	int refcnt;
	uint32_t len, cap;
	struct expr_value *items;
};

struct expr_map;		/* opaque: use expr_map_*() */

struct expr_value {
	enum expr_kind kind;
	union {
		bool b;
		int64_t i;
		double f;
		int64_t dur;			/* nanoseconds */
		struct {
			int64_t ns;		/* since the Unix epoch, UTC */
			int32_t off;		/* zone offset east of UTC, seconds */
		} t;
		struct expr_str *s;
		struct expr_array *a;
		struct expr_map *m;
		struct {
			const struct expr_host_ops *ops;
			void *obj;
		} h;
	};
};

#define EXPR_NIL_VALUE ((struct expr_value){ .kind = EXPR_NIL })
/*
 * Go's zero time.Time (year 1) is outside int64 nanoseconds; hosts pass
 * expr_time(EXPR_TIME_ZERO, 0) for an unset time so .IsZero() is true.
 */
#define EXPR_TIME_ZERO INT64_MIN

static inline struct expr_value expr_nil(void) { return EXPR_NIL_VALUE; }
static inline struct expr_value expr_bool(bool b)
{ return (struct expr_value){ .kind = EXPR_BOOL, .b = b }; }
static inline struct expr_value expr_int(int64_t i)
{ return (struct expr_value){ .kind = EXPR_INT, .i = i }; }
static inline struct expr_value expr_float(double f)
{ return (struct expr_value){ .kind = EXPR_FLOAT, .f = f }; }
static inline struct expr_value expr_duration(int64_t ns)
{ return (struct expr_value){ .kind = EXPR_DURATION, .dur = ns }; }
static inline struct expr_value expr_time(int64_t ns, int32_t off)
{ return (struct expr_value){ .kind = EXPR_TIME, .t = { ns, off } }; }
/* A borrowed host object (see the ownership note at the top). */
static inline struct expr_value expr_host(const struct expr_host_ops *ops, void *obj)
{ return (struct expr_value){ .kind = EXPR_HOST, .h = { ops, obj } }; }

/*
 * New strings. Return 0 or -ENOMEM; on success *out holds one reference.
 * expr_string() copies a C string, expr_stringn() len bytes (may contain NULs).
 */
int expr_string(const char *s, struct expr_value *out);
int expr_stringn(const char *s, size_t len, struct expr_value *out);
int expr_stringf(struct expr_value *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The bytes of a string value (NUL-terminated), or NULL if v is not a string. */
static inline const char *expr_str_cstr(const struct expr_value *v)
{ return v->kind == EXPR_STRING ? v->s->s : NULL; }
static inline size_t expr_str_len(const struct expr_value *v)
{ return v->kind == EXPR_STRING ? v->s->len : 0; }

/* Arrays: build with push, then treat as immutable once shared. */
int expr_array_new(size_t cap_hint, struct expr_value *out);
/* Appends and TAKES the reference held by `item` (even on failure). */
int expr_array_push_take(struct expr_value *array, struct expr_value item);
/* Appends a new reference to `item` (borrowed). */
int expr_array_push(struct expr_value *array, const struct expr_value *item);
size_t expr_array_len(const struct expr_value *array);
/* Borrowed pointer to element i (0 <= i < len), NULL if out of range. */
const struct expr_value *expr_array_at(const struct expr_value *array, size_t i);
/* Convenience: an array of strings from a C vector. */
int expr_array_from_strings(const char *const *strv, size_t n, struct expr_value *out);

/* Maps with string keys; insertion order is kept (keys() returns it). */
int expr_map_new(struct expr_value *out);
/* Sets key (copied) to value, TAKING value's reference (even on failure). */
int expr_map_set_take(struct expr_value *map, const char *key, struct expr_value value);
int expr_map_set(struct expr_value *map, const char *key, const struct expr_value *value);
/* Borrowed pointer to the value for key, NULL if absent. */
const struct expr_value *expr_map_get(const struct expr_value *map, const char *key);
size_t expr_map_len(const struct expr_value *map);
/* i-th entry in insertion order: borrowed key and value; -ERANGE past the end. */
int expr_map_entry(const struct expr_value *map, size_t i, const char **key,
		   const struct expr_value **value);

/* A new reference to the same value (strings/arrays/maps: refcount + 1). */
struct expr_value expr_value_ref(const struct expr_value *v);
/* Drops the reference *v holds and sets it to nil. NULL and nil are fine. */
void expr_value_release(struct expr_value *v);

/*
 * Go semantics: 1 == 1.0, deep equality for containers, nil equals a NULL host
 * object, other different kinds are unequal.
 */
bool expr_value_equal(const struct expr_value *a, const struct expr_value *b);
/*
 * nil, or a host object with a NULL pointer (a nil Go pointer such as an
 * alert's absent Source): both compare equal to nil and stop `?.` chains.
 * Field access on a NULL host object is a run-time error; method calls still
 * reach the host's call() (Go methods like GetScope() accept nil receivers).
 */
static inline bool expr_value_is_nil(const struct expr_value *v)
{
	return v->kind == EXPR_NIL || (v->kind == EXPR_HOST && !v->h.obj);
}

/* Truthiness is not an expr concept: this is "kind == BOOL && b". */
static inline bool expr_value_true(const struct expr_value *v)
{ return v->kind == EXPR_BOOL && v->b; }

/*
 * Text form for logs and assert failure messages, like Go's fmt %v:
 * strings raw, floats shortest round-trip, durations "1m30s", times RFC 3339,
 * arrays "[a b]", maps "map[k:v]", host objects via ops->format or "<Name>".
 * Returns a malloc'ed string (caller frees) or NULL on ENOMEM.
 */
char *expr_value_format(const struct expr_value *v);

/* JSON bridge (jansson). Numbers: integral JSON integers => INT, reals => FLOAT. */
int expr_value_from_json(const json_t *json, struct expr_value *out);
/*
 * As Go's json.Unmarshal into an interface{}: every number is a FLOAT. What logs
 * feed in (UnmarshalJSON, fromJSON, JsonExtract*) goes through this one, because
 * hub content sees the difference: a status code put in a static reads
 * "401.000000", not "401".
 */
int expr_value_from_go_json(const json_t *json, struct expr_value *out);
/* New json_t reference; NULL on ENOMEM or for host objects (not serialisable). */
json_t *expr_value_to_json(const struct expr_value *v);

/* Go duration text ("1h2m3.5s", "300ms", "-1.5h") <-> nanoseconds. */
int expr_parse_duration(const char *s, int64_t *ns);
/* Go's Duration.String(): "1h0m0s", "1.5s", "0s". buf >= 32 bytes. */
void expr_format_duration(int64_t ns, char *buf, size_t size);

/* ---- host objects ----------------------------------------------------------------- */

/*
 * How the embedding engine exposes its own objects (Event, bucket, Alert, hubtest
 * results...) to expressions. One static descriptor per type; every callback is
 * optional. All run-time callbacks return 0 or -errno and may call
 * expr_ctx_errorf(ctx, ...) to give the expression error a message.
 *
 * Struct-like types (Event): list `fields`/`methods` so that unknown names are
 * compile errors; get() returns -ENOENT for a name it does not know.
 * Map-like types (evt.Meta as a live view): set EXPR_HOST_MAPLIKE; get() writes
 * the map's zero value ("" or nil) for an absent key and returns 0; has() answers
 * `key in obj`; keys() enumerates for keys()/values()/len(); set() (optional)
 * makes it a target for UnmarshalJSON/ParseKV/ParseKVLax.
 *
 * Example (a struct with one string field and one method):
 *
 *   static int ev_get(struct expr_ctx *c, void *obj, const char *name,
 *                     struct expr_value *out)
 *   {
 *           struct my_event *e = obj;
 *           if (!strcmp(name, "Raw"))
 *                   return expr_string(e->raw, out);
 *           if (!strcmp(name, "Meta"))   // a live map view, no copy
 *                   return *out = expr_host(&meta_ops, e->meta), 0;
 *           return -ENOENT;
 *   }
 *   static const struct expr_field ev_fields[] = {
 *           { "Raw", &expr_type_string }, { "Meta", &meta_type }, { NULL } };
 *   static const struct expr_method ev_methods[] = {
 *           { "GetMeta", 1, 1, &expr_type_string }, { NULL } };
 *   const struct expr_host_ops my_event_ops = { EXPR_HOST_RECORD("Event", ev) };
 *   const struct expr_type my_event_type = { EXPR_HOST, NULL, &my_event_ops };
 *   // meta_ops has .flags = EXPR_HOST_MAPLIKE, .elem = &expr_type_string
 * Array-like types (a queue of events): set EXPR_HOST_ARRAYLIKE and provide
 * len() and index() (index already normalised: 0 <= i < len).
 */
enum expr_host_flags {
	EXPR_HOST_MAPLIKE = 1 << 0,
	EXPR_HOST_ARRAYLIKE = 1 << 1,
};

struct expr_field {
	const char *name;
	const struct expr_type *type;	/* NULL = any */
};

struct expr_method {
	const char *name;
	int min_args, max_args;		/* max_args -1 = variadic */
	const struct expr_type *ret;	/* NULL = any */
};

/*
 * Values a callback writes to *out are references the caller will release:
 * strings/arrays/maps are new references; host objects are passed as
 * expr_host(ops, obj) (if ops has ref/unref, take a reference first).
 */
struct expr_host_ops {
	const char *name;		/* type name for messages: "Event" */
	unsigned int flags;		/* enum expr_host_flags */
	/* Compile-time schema; NULL table = any name accepted, checked at run time. */
	const struct expr_field *fields;	/* terminated by { NULL } */
	const struct expr_method *methods;	/* terminated by { NULL } */
	/* MAPLIKE only: static type of values (for absent keys, compile-time typing). */
	const struct expr_type *elem;

	int (*get)(struct expr_ctx *ctx, void *obj, const char *name, struct expr_value *out);
	int (*call)(struct expr_ctx *ctx, void *obj, const char *method,
		    const struct expr_value *args, int nargs, struct expr_value *out);
	int (*has)(struct expr_ctx *ctx, void *obj, const char *key, bool *out);
	int (*len)(struct expr_ctx *ctx, void *obj, int64_t *out);
	int (*index)(struct expr_ctx *ctx, void *obj, int64_t i, struct expr_value *out);
	/* MAPLIKE: all keys as a new array of strings. */
	int (*keys)(struct expr_ctx *ctx, void *obj, struct expr_value *out);
	/*
	 * MAPLIKE, writable targets only (evt.Unmarshaled): store a new reference
	 * to value under key. Lets UnmarshalJSON(s, evt.Unmarshaled, "k") and
	 * ParseKV() write into host maps. value is borrowed.
	 */
	int (*set)(struct expr_ctx *ctx, void *obj, const char *key, const struct expr_value *value);
	/*
	 * MAPLIKE, optional: a number that changes whenever the object's content
	 * changes and that no other object ever has. With it, the values get()
	 * returns are kept by the thread's vm and handed out again while the
	 * version holds: one string object per field and event, so string
	 * functions applied to it by many programs are computed once.
	 */
	uint64_t (*version)(const void *obj);
	/*
	 * Optional, with get(): VAR.name.key (evt.Meta.x) read in one step.
	 * path_key is asked once, when a program is compiled, with the constant
	 * name and key: a nonzero cookie when name is a map[string]string field
	 * with versioned content, 0 for the general way. path_get reads it: 0 with
	 * the map's version (as its version() gives it) and, when s is not NULL,
	 * the value's bytes (absent key: "", 0); or -ENOENT to take the general
	 * way (a nil map).
	 */
	uintptr_t (*path_key)(const char *name, const char *key);
	int (*path_get)(void *obj, uintptr_t cookie, const char **s, size_t *len,
			uint64_t *version);
	/* Equality of two objects of this type (default: same pointer). */
	bool (*equal)(const void *a, const void *b);
	/* Optional text form (malloc'ed) for expr_value_format / Sprintf %v. */
	char *(*format)(const void *obj);
	/* Optional: lets the evaluator keep an object alive in arrays it builds. */
	void (*ref)(void *obj);
	void (*unref)(void *obj);
};

/*
 * The ops of a record type whose parts follow one naming rule: P_fields,
 * P_methods, P_get and P_call. Other members may follow it in the initializer.
 */
#define EXPR_HOST_RECORD(type_name, P)                                                   \
	.name = (type_name), .fields = P##_fields, .methods = P##_methods, .get = P##_get, \
	.call = P##_call

/*
 * Map views (hostmap.c), live and without copies:
 *   expr_host(&expr_strmap_ops, m)  a struct strmap * (common/strmap.h) as a
 *       read-only map[string]string, absent keys "" (evt.Meta, evt.Parsed);
 *   expr_host(&expr_nmap_ops, &v)   a struct expr_value * holding a map (or nil)
 *       as a writable map[string]any, absent keys nil (evt.Unmarshaled).
 * The types are for field tables: { "Meta", &expr_type_strmap }.
 */
extern const struct expr_host_ops expr_strmap_ops, expr_nmap_ops;
extern const struct expr_type expr_type_strmap, expr_type_nmap;

/* ---- functions (builtins, CrowdSec helpers, host-registered) -------------------- */

#define EXPR_MAX_ARGS 8

/*
 * A callable. Arguments are checked before fn runs: arity at compile time and
 * kinds at run time (declared EXPR_ANY = no check; EXPR_FLOAT accepts an int,
 * converted). For variadic functions (max_args -1), args[min_args] is the kind
 * of every argument from min_args on.
 * args are borrowed; *out receives one reference. fn returns 0 or -errno.
 */
typedef int (*expr_fn)(struct expr_ctx *ctx, const struct expr_value *args, int nargs,
		       struct expr_value *out);

/*
 * What the compiler may assume of a function (default 0: nothing, any call may
 * have effects). PURE: the result depends only on the arguments and calling it
 * changes nothing: a call on constants is evaluated once at compile time, a
 * call inside a closure that does not depend on # is evaluated once per
 * evaluation. READONLY: changes nothing but reads state that is constant
 * during one evaluation (data files, the stash): only the second applies.
 */
enum expr_func_flags {
	EXPR_FN_PURE = 1 << 0,
	EXPR_FN_READONLY = 1 << 1,
};

struct expr_func {
	const char *name;
	expr_fn fn;
	int min_args, max_args;		/* max_args -1 = variadic */
	enum expr_kind args[EXPR_MAX_ARGS];
	const struct expr_type *ret;	/* NULL = any */
	void *priv;			/* expr_ctx_priv() inside fn */
	unsigned int flags;		/* enum expr_func_flags */
};

/* Context of the current call: registration priv, per-evaluation user pointer. */
void *expr_ctx_priv(const struct expr_ctx *ctx);
void *expr_ctx_user(const struct expr_ctx *ctx);
/* Sets the run-time error message (first one wins). */
void expr_ctx_errorf(struct expr_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- environment ----------------------------------------------------------------------- */

struct expr_env *expr_env_new(void);
/* Must outlive every program compiled against it. NULL is fine. */
void expr_env_free(struct expr_env *env);

/*
 * Declares a variable. Returns its slot (>= 0): expr_eval's vars[slot] is its
 * value. -EEXIST if the name is taken. type NULL = any. The env keeps `type`
 * by pointer (it must be static or outlive the env).
 */
int expr_env_add_var(struct expr_env *env, const char *name, const struct expr_type *type);
int expr_env_var_count(const struct expr_env *env);

/*
 * Registers a function. The env keeps `fn` by pointer (static storage). A later
 * registration with the same name replaces the earlier one (hosts override
 * helpers, e.g. a real GetDecisionsCount). -EINVAL on a malformed definition.
 */
int expr_env_add_func(struct expr_env *env, const struct expr_func *fn);
int expr_env_add_funcs(struct expr_env *env, const struct expr_func *fns, size_t n);

enum expr_helper_set {
	EXPR_HELPERS_CROWDSEC = 1 << 0,	/* section 9 helpers that need no Event internals */
	EXPR_HELPERS_HUBTEST = 1 << 1,	/* basename() for assert lines */
};
int expr_env_add_helpers(struct expr_env *env, unsigned int sets);
/*
 * The stash (common/stash.h) that SetInStash()/GetFromStash() use in programs
 * compiled against env: borrowed, owned by whoever owns the pipeline (the
 * parser instance). Without one, GetFromStash finds nothing and SetInStash fails.
 */
struct cs_stash;
void expr_env_set_stash(struct expr_env *env, struct cs_stash *stash);

/* ---- compile and evaluate ------------------------------------------------------------- */

struct expr_error {
	int line, column;	/* 1-based position in the source; 0 if none */
	int code;		/* the -errno also returned */
	char msg[256];
};

/*
 * Parses and checks src. Returns 0 and a program in *out, or -EINVAL (syntax or
 * check error; err tells where), -E2BIG (nesting too deep / too long), -ENOMEM.
 * err may be NULL.
 */
int expr_compile(const struct expr_env *env, const char *src, struct expr_prog **out,
		 struct expr_error *err);
void expr_prog_free(struct expr_prog *prog);
const char *expr_prog_source(const struct expr_prog *prog);
/* Static result type (EXPR_ANY when unknown): lets loaders reject a non-bool filter. */
enum expr_kind expr_prog_type(const struct expr_prog *prog);

/*
 * A cheap test that decides a filter when it fails: the filter's first
 * conjunct, when it is `VAR.FIELD.KEY == 'lit'` or `VAR.FIELD.KEY in ['lit', ...]`
 * (VAR an environment variable, FIELD and KEY names). When the value the host
 * gives for VAR.FIELD.KEY equals none of lits, the filter is false and its
 * evaluation could not have failed; otherwise it still has to be evaluated.
 * Most hub scenarios start with `evt.Meta.log_type in [...]` or
 * `evt.Meta.service == 'http'`.
 */
struct expr_guard {
	int var;			/* environment slot of VAR */
	const char *field, *key;
	const struct expr_value *lits;	/* strings, borrowed from the program */
	size_t nlits;
	/*
	 * What to evaluate once the guard passed (the value is one of lits): the
	 * program without its first conjunct, which is then true. Same value, same
	 * errors as the whole program, one field read and one test less. The
	 * program itself when it cannot be split. Borrowed from the program.
	 */
	const struct expr_prog *rest;
	bool rest_true;			/* rest is the constant true: the guard decides */
};

/* 1 and *g when prog starts with such a guard, else 0. */
int expr_prog_guard(const struct expr_prog *prog, struct expr_guard *g);
/*
 * 1 when prog is false, without error, whenever VAR.FIELD.KEY reads "" (the
 * key absent or empty), with the path's parts (borrowed), else 0: most hub CVE
 * scenarios are `Upper(evt.Meta.http_path) contains Upper('...') && ...`,
 * decided on an sshd line, which has no http_path, without evaluating them.
 */
int expr_prog_needs(const struct expr_prog *prog, int *var, const char **field, const char **key);
/*
 * 1 when the whole program is a plain field read, `VAR.FIELD` (*key NULL) or
 * `VAR.FIELD.KEY` (evt.Parsed.x): VAR's environment slot and the names
 * (borrowed from the program), so a host can read the field itself instead of
 * evaluating (the parser's statics copy such fields on every line). Else 0.
 */
int expr_prog_path(const struct expr_prog *prog, int *var, const char **field, const char **key);

/*
 * 1 when the whole program is one test of a field against a string literal:
 * `VAR.A == 'lit'`, `!=` or `startsWith`, with one to three names below VAR
 * (evt.StrTime != '', evt.Parsed.program startsWith 'nginx', evt.Line.Labels.type
 * == 'syslog'), so a host holding that field as a string decides it without the
 * evaluator: the parser's node filters, several on every line. A field the
 * evaluator reads as nil (an absent key) must still be evaluated. Else 0.
 */
enum expr_test_op { EXPR_TEST_EQ, EXPR_TEST_NE, EXPR_TEST_STARTS };
struct expr_test {
	int var;			/* environment slot of VAR */
	const char *names[3];		/* borrowed from the program */
	int nnames;
	enum expr_test_op op;
	const struct expr_value *lit;	/* a string, borrowed from the program */
};
int expr_prog_test(const struct expr_prog *prog, struct expr_test *t);

/*
 * Many filters' first tests decided at once per event (prefilter.c): a
 * filter whose first conjunct is an or of atoms `S op 'lit'` (contains,
 * startsWith, endsWith, ==), `S in [lits]` or `any(L, { S op # })` (L a
 * constant list or File() of a loaded file), S a field path VAR.FIELD.KEY
 * under Upper/Lower/PathUnescape/QueryUnescape, registers that clause; per
 * event, each S is evaluated once and scanned once for all the literals of
 * all the clauses, and a clause none of whose atoms holds is reported false:
 * the filter is then false, and its evaluation could not have failed. The
 * nginx CVE scenarios (`Upper(evt.Meta.http_path) contains '...'`) are
 * decided so without running their filters. Read-only once built: worker
 * threads run it at once (each with its own vm). It borrows the programs'
 * nodes: free it before them.
 */
#define EXPR_PREFILTER_MAX 256	/* clauses */
#define EXPR_PREFILTER_WORDS (EXPR_PREFILTER_MAX / 64)
struct expr_prefilter;
int expr_prefilter_new(struct expr_prefilter **out);
void expr_prefilter_free(struct expr_prefilter *pf);
/*
 * prog's first conjunct as clause *id: 1, or 0 when it has no such clause (or
 * there is no room: all programs must share one environment), -ENOMEM.
 */
int expr_prefilter_add(struct expr_prefilter *pf, const struct expr_prog *prog, size_t *id);
/* After the last add: the literal scans. 0 or -ENOMEM (then it decides nothing). */
int expr_prefilter_build(struct expr_prefilter *pf);
size_t expr_prefilter_count(const struct expr_prefilter *pf);
/*
 * For the event in vars (as the programs are evaluated with, on the calling
 * thread's vm): bit c of known_false (EXPR_PREFILTER_WORDS words) set when
 * clause c is false. Nothing is known when a limit of the thread's vm is set
 * low, or a subject is not a string or longer than 16 KiB.
 */
void expr_prefilter_run(const struct expr_prefilter *pf, const struct expr_value *vars,
			uint64_t *known_false);

/*
 * Whether the program runs in its flat form (a loop over typed operations
 * instead of the tree walk; same values, same errors): the shapes most hub
 * filters and statics have. For tests and explanations only.
 */
bool expr_prog_flat(const struct expr_prog *prog);

/*
 * Runs the program. vars has expr_env_var_count() values (borrowed), in slot
 * order; user is passed to functions/host callbacks (expr_ctx_user). On success
 * *out holds one reference. On failure *out is nil and err (optional) says why.
 */
int expr_eval(const struct expr_prog *prog, const struct expr_value *vars, void *user,
	      struct expr_value *out, struct expr_error *err);
/*
 * Per-evaluation limits of the calling thread's runtime (expr_vm_set_limits on
 * the thread's current vm): node evaluations (CPU) and bytes allocated for
 * strings/arrays/maps (memory). Exceeding either makes expr_eval() fail with
 * -E2BIG. 0 restores the default (10M steps, 256 MiB).
 */
void expr_set_limits(uint64_t max_steps, size_t max_bytes);

/* Same, requiring a bool result (-EINVAL "expected bool, got X" otherwise). */
int expr_eval_bool(const struct expr_prog *prog, const struct expr_value *vars, void *user,
		   bool *out, struct expr_error *err);

/* ---- the runtime of one detector: data files (section 10) ---------------------------------- */

/*
 * What File(), RegexpInFile(), LookupFile() and FileMap() read: the data files
 * of one detector (its parsers, postoverflows and scenarios share one), never
 * the process's. A reload builds a new runtime and so reads edited files again.
 * Reference counted: every holder (an environment's owner) takes a reference.
 */
struct expr_runtime;
/* data_dir: where dest_file names are read from ("" or NULL: the current directory). */
int expr_runtime_new(const char *data_dir, struct expr_runtime **out);
struct expr_runtime *expr_runtime_ref(struct expr_runtime *rt);
/* Drops a reference; the last one frees everything loaded. NULL is fine. */
void expr_runtime_put(struct expr_runtime *rt);
/*
 * Loads <data_dir>/<dest_file> once (a second load of the same name is a
 * no-op) with type "string", "regexp"/"regex" or "map"; any other type is
 * ignored (returns 0). A missing file returns -ENOENT and leaves the helpers
 * seeing an empty list. An invalid regex line is -EINVAL.
 */
int expr_runtime_load_data(struct expr_runtime *rt, const char *dest_file, const char *type);
/* The runtime the data helpers of programs compiled against env read (borrowed). */
void expr_env_set_runtime(struct expr_env *env, struct expr_runtime *rt);

/* ---- regexes (shared with other modules) ------------------------------------------------- */

/*
 * Go RE2 syntax compiled with PCRE2 (UTF, DOLLAR_ENDONLY, MATCH_INVALID_UTF,
 * JIT when available, bounded match/depth limits).
 */
struct expr_regex;
int expr_regex_compile(const char *pattern, struct expr_regex **out, char *errbuf,
		       size_t errsize);
/* 1 if it matches anywhere in s, 0 if not, -E2BIG if a limit was hit, -ENOMEM. */
int expr_regex_search(const struct expr_regex *re, const char *s, size_t len);
void expr_regex_free(struct expr_regex *re);

/*
 * XMLGetNodeValue/XMLGetAttributeValue need libxml2 at build time (libxml-2.0
 * in the Makefile's PKGS); without it they return "". True when they work.
 */
bool expr_xml_available(void);

/* ---- the evaluation runtime of one thread ---------------------------------------------------- */

/*
 * struct expr_vm holds what evaluating changes: the limits, the regexes
 * compiled at run time (`x matches evt.Meta.re`), the PCRE2 match block and
 * the memo of pure string functions (Upper(#) over a data file's lines is
 * computed once, not once per event). It is never locked: one thread uses it
 * at a time. expr_eval() uses the calling thread's current vm; a thread that
 * never installs one gets its own on first use, freed when the thread exits.
 *
 * Worker threads: make one vm per worker and install it at the start of the
 * thread (expr_vm_use(vm)), or do nothing and get the automatic one. Compiled
 * programs, environments and the data-file runtime stay shared read-only.
 */
struct expr_vm;
int expr_vm_new(struct expr_vm **out);
/* NULL is fine; must not be any thread's current vm any more. */
void expr_vm_free(struct expr_vm *vm);
/* See expr_set_limits(); 0 restores a default. */
void expr_vm_set_limits(struct expr_vm *vm, uint64_t max_steps, size_t max_bytes);
/* Makes vm the calling thread's current one (NULL: back to the automatic one). Returns the previous. */
struct expr_vm *expr_vm_use(struct expr_vm *vm);
/* expr_eval() on an explicit vm (owned by the calling thread). */
int expr_vm_eval(struct expr_vm *vm, const struct expr_prog *prog, const struct expr_value *vars,
		 void *user, struct expr_value *out, struct expr_error *err);

/* Frees the calling thread's automatic vm now; call at exit for clean valgrind runs. */
void expr_cleanup(void);

#endif /* CS_EXPR_H */
