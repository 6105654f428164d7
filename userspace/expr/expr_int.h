/* SPDX-License-Identifier: MIT */
/*
 * expr internals shared by the lexer/parser, checker, evaluator, builtins and
 * helpers. Not part of the public API (expr.h).
 */
#ifndef CS_EXPR_INT_H
#define CS_EXPR_INT_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/strbuf.h"
#include "expr/expr.h"

#define EXPR_MAX_DEPTH 200		/* AST nesting: bounds every recursion */
#define EXPR_MAX_SOURCE (256 * 1024)	/* bytes of expression text */
#define EXPR_MAX_ALLOC (64u << 20)	/* largest string/array an expression may build */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- per-evaluation budgets ---- */

/*
 * Bytes an evaluation may still allocate (strings, arrays, maps), charged on
 * allocation and never credited back: a cap on the work an expression can
 * make the process do, not an accounting of live memory. Only active inside
 * expr_eval() on this thread.
 */
extern __thread int64_t expr_mem_left;
extern __thread bool expr_mem_limited;

static inline bool mem_charge(size_t n)
{
	if (!expr_mem_limited)
		return true;
	if ((int64_t)n > expr_mem_left)
		return false;
	expr_mem_left -= n;
	return true;
}

/* ---- values ---- */

struct expr_map {
	int refcnt;
	uint32_t len, cap;
	struct expr_str **keys;
	struct expr_value *vals;
	uint32_t *slots;	/* open-addressing index into keys/vals (+1), or NULL */
	uint32_t nslots;
};

static inline void ref_get(int *refcnt)
{
	__atomic_fetch_add(refcnt, 1, __ATOMIC_RELAXED);
}

/* True when the last reference is gone. */
static inline bool ref_put(int *refcnt)
{
	return __atomic_sub_fetch(refcnt, 1, __ATOMIC_ACQ_REL) == 0;
}

/* A new string value that takes ownership of nothing: bytes are copied. */
struct expr_str *xstr_new(const char *s, size_t len);
/* A string of len bytes to fill in (s[len] is already NUL). */
struct expr_str *xstr_alloc(size_t len);
static inline struct expr_value xstr_value(struct expr_str *s)
{
	return (struct expr_value){ .kind = EXPR_STRING, .s = s };
}

/* expr_value_release() of each of v[0..n), then free(v): an owned array of values. */
void expr_values_free(struct expr_value *v, size_t n);

int xmap_find(const struct expr_map *m, const char *key, size_t klen);
int expr_map_set_keyn_take(struct expr_value *map, const char *key, size_t klen,
			   struct expr_value value);

/* Text an expression builds: common/strbuf bounded like every expression allocation. */
#define EXPR_SBUF { .max = EXPR_MAX_ALLOC }
/* Hands the buffer to a new string value (also when empty). -ENOMEM on error. */
int sb_to_value(struct sbuf *sb, struct expr_value *out);
void value_format_sb(struct sbuf *sb, const struct expr_value *v, int depth);
void format_float(double f, char *buf, size_t size);	/* Go %v of a float64 */
void format_time(int64_t ns, int32_t off, char *buf, size_t size);	/* RFC 3339 nano */
/* RFC 3339 (and a few Go layouts) -> time; -EINVAL if not recognised. */
int parse_time(const char *s, int64_t *ns, int32_t *off);

/* Value of a hexadecimal digit, -1 if c is not one (string escapes, URL escapes). */
static inline int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Number of UTF-8 characters (invalid bytes count one each). */
size_t utf8_len(const char *s, size_t len);

/* ---- context ---- */

struct expr_ctx {
	void *priv;
	void *user;
	const struct expr_env *env;
	char msg[256];
	bool has_msg;
};

/* ---- functions / env ---- */

struct env_var {
	char *name;
	const struct expr_type *type;
};

struct expr_env {
	struct env_var *vars;
	int nvars;
	size_t capvars;
	const struct expr_func **funcs;
	int nfuncs;
	size_t capfuncs;
	struct cs_stash *stash; /* borrowed: SetInStash/GetFromStash */
	struct expr_runtime *rt; /* borrowed: data files */
};

const struct expr_func *env_find_func(const struct expr_env *env, const char *name);

/* Declared kind of argument i: args[i], the variadic tail uses args[min_args]. */
static inline enum expr_kind func_arg_kind(const struct expr_func *fn, int i)
{
	if (fn->max_args < 0 && i > fn->min_args)
		i = fn->min_args;
	if (i >= EXPR_MAX_ARGS)
		i = EXPR_MAX_ARGS - 1;
	return fn->args[i];
}

/* ---- regex ---- */

#define EXPR_REGEX_MATCH_LIMIT 2000000u	/* a backtracking pattern cannot hang a routine */
#define EXPR_REGEX_DEPTH_LIMIT 10000u

struct expr_regex *regex_ref(struct expr_regex *re);
void regex_put(struct expr_regex *re);
/* regex_put() of each of v[0..n), then free(v): an owned array of references. */
void regex_put_all(struct expr_regex **v, size_t n);
const char *regex_pattern(const struct expr_regex *re);
/* RE2 syntax -> the PCRE2 (and Hyperscan) pattern of the same meaning; malloc'ed, NULL: ENOMEM. */
char *regex_translate(const char *p);

/*
 * Many regexes at once, "does any of them match" (RegexpInFile, any(list,
 * { x matches # })): the patterns Vectorscan takes with PCRE2's meaning go
 * into one database scanned once; the others are searched one by one.
 */
struct multire;
/* Takes a new reference to each compiled regex. 0 or -ENOMEM. */
int multire_build(struct expr_regex *const *res, size_t n, struct multire **out);
void multire_free(struct multire *m);
/* 1 if one matches, 0 if none does, -E2BIG if one hit a limit (and none matched), -errno. */
int multire_any(const struct multire *m, const char *s, size_t len);
/* 1 match, 0 none, -E2BIG limit hit, -ENOMEM; with the calling thread's vm. */
int regex_search(const struct expr_regex *re, const char *s, size_t len);

/* ---- the evaluation runtime of one thread (vm.c) ---- */

#define EXPR_VM_REGEX_SLOTS 512	/* even: pairs of ways */
#define EXPR_VM_MEMO_SLOTS 512
#define EXPR_VM_MEMO_MAX_LEN 1024	/* bytes of a memoised argument */

/* One pure string function applied to one (immutable, referenced) string. */
struct vm_memo {
	const void *fn;
	struct expr_str *in, *out;
};

#define EXPR_VM_STRSET_SLOTS 64
#define EXPR_VM_FILE_SLOTS 32
#define EXPR_VM_HS_SLOTS 16
#define EXPR_VM_FIELD_SLOTS 256	/* even: pairs of ways */
#define EXPR_VM_GRAVE_SLOTS 64	/* cache evictions kept until the evaluation ends */
#define EXPR_VM_RESULT_SLOTS 128	/* even: pairs of ways */
#define EXPR_VM_RESULT_LEN 232	/* bytes of a subject kept (a user agent fits) */

/* The answer a set of patterns gave for one subject, by content (vm_result_get). */
struct vm_result {
	uint64_t id;	/* of the pattern set; 0: empty */
	uint64_t hash;
	uint32_t len;
	int16_t result;	/* 0, 1 or -E2BIG */
	bool hit;	/* asked for again since it was put: kept before fresh answers */
	char s[EXPR_VM_RESULT_LEN];
};

#define EXPR_VM_FIELD_KEY 36	/* bytes of a cached key: field names are short */

/*
 * A value a versioned host map returned for key (expr_host_ops.version). The
 * key is a copy, not a reference: no shared reference count written per miss
 * (the keys are the programs' constants, read by every worker).
 */
struct vm_field {
	uint64_t version;	/* 0: empty */
	/* the host's resolved key (vm_path_value): found without comparing names; 0: none */
	uintptr_t path;
	uint32_t klen;
	char key[EXPR_VM_FIELD_KEY];
	struct expr_value val;
};

/* A thread's own copy of a data file's lines (vm_file_lines). */
struct vm_file {
	uint64_t id;		/* the file's; 0: empty */
	struct expr_value lines;
};

struct vm_strset {
	struct expr_value list;	/* a reference: keeps the key's address unique */
	int op, cmap;
	struct strset *set;	/* NULL: not indexable (not all strings) */
};

struct expr_vm {
	uint64_t max_steps;
	size_t max_bytes;
	struct expr_regex *regex[EXPR_VM_REGEX_SLOTS];	/* run-time patterns */
	void *mctx;	/* pcre2_match_context: the match limits */
	void *md;	/* pcre2_match_data: one ovector pair, reused */
	struct vm_memo memo[EXPR_VM_MEMO_SLOTS];
	struct vm_strset strsets[EXPR_VM_STRSET_SLOTS];
	struct vm_file files[EXPR_VM_FILE_SLOTS];
	struct vm_field fields[EXPR_VM_FIELD_SLOTS];
	void *hs_scratch;	/* hs_scratch_t for every multire database */
	uint64_t hs_sized[EXPR_VM_HS_SLOTS];	/* ids of the databases it is sized for */
	/*
	 * The evaluator borrows the values of the memo and of the field cache
	 * (no reference taken): what the caches evict while an evaluation runs
	 * waits here until the outermost evaluation ends (depth back to 0).
	 * When it is full, the caches keep what they hold instead.
	 */
	int depth;
	int ngrave;
	struct expr_value grave[EXPR_VM_GRAVE_SLOTS];
	struct vm_result results[EXPR_VM_RESULT_SLOTS];
	char *pf_buf;	/* the prefilter's subjects mapped in place (prefilter.c), made on first use */
};

/* The calling thread's vm (made on first use); NULL only on ENOMEM. */
extern __thread struct expr_vm *vm_this_thread;	/* vm.c: expr_vm_use() or the own one */
struct expr_vm *vm_current_slow(void);
static inline struct expr_vm *vm_current(void)
{
	return vm_this_thread ? vm_this_thread : vm_current_slow();	/* one evaluation per filter */
}
/* New reference to a compiled run-time pattern, NULL with errbuf set if invalid. */
struct expr_regex *regex_cache_get(struct expr_vm *vm, const char *pattern, char *errbuf,
				   size_t errsize);
/*
 * Memo of fn(in) for pure functions of one string: keyed by the string object,
 * which is immutable and kept alive by the memo, so a hit is always right.
 * memo_peek lends its result (no reference): valid until the outermost
 * evaluation ends (the vm keeps what it evicts until then).
 */
struct expr_str *memo_peek(struct expr_vm *vm, const void *fn, const struct expr_str *in);
void memo_put(struct expr_vm *vm, const void *fn, struct expr_str *in, struct expr_str *out);
void memo_clear(struct expr_vm *vm);
/*
 * obj[key] of a versioned host map as the vm keeps it while the version holds
 * (khash: cs_hash of the key; constant keys have it from the compile step):
 * field_peek lends the value (valid until the outermost evaluation ends) or
 * returns NULL when the caller has to get() it, then field_put it.
 */
const struct expr_value *field_peek(struct expr_vm *vm, uint64_t version,
				    const struct expr_value *key, uint64_t khash);
/*
 * field_peek for a caller that has the value's bytes (s, len): also a string
 * the vm keeps under the same key for another version of the map, when it
 * holds the same bytes (a field that has the same value on every line is one
 * string object, with its memo, for all of them).
 */
const struct expr_value *field_find(struct expr_vm *vm, uint64_t version,
				    const struct expr_value *key, uint64_t khash, const char *s,
				    size_t len);
/* path: the host's resolved key when the caller has one (vm_path_value), else 0. */
void field_put(struct expr_vm *vm, uint64_t version, const struct expr_value *key,
	       uint64_t khash, uintptr_t path, const struct expr_value *val);
/*
 * VAR.NAME.KEY resolved when compiling (ops->path_key gave `path`; key is KEY,
 * khash its hash), read from obj whose map has version ver (0: not kept):
 * 0 with the value in *out, lent by the vm when *owned is false; 1 when it
 * cannot be read that way (ENOMEM): the general way says what is wrong.
 */
int vm_path_value(struct expr_vm *vm, const struct expr_host_ops *ops, void *obj,
		  uintptr_t path, uint64_t ver, const struct expr_value *key, uint64_t khash,
		  struct expr_value *out, bool *owned);
/*
 * Answers of immutable pattern sets (a multire, by its never-reused id) to
 * subjects, by content: the same user agent on a thousand lines is scanned by
 * RegexpInFile once. vm_result_get: whether the answer is kept, in *result
 * (subjects longer than EXPR_VM_RESULT_LEN never are). hash: cs_hash(s, len).
 */
bool vm_result_get(struct expr_vm *vm, uint64_t id, const char *s, size_t len, uint64_t hash,
		   int *result);
void vm_result_put(struct expr_vm *vm, uint64_t id, const char *s, size_t len, uint64_t hash,
		   int result);

/*
 * *out: a new reference to the lines (an array of strings) of the data file
 * whose never-reused id is id, as the thread's own copy (the strings shared):
 * File() runs ~10 times per nginx line in every worker, and a reference count
 * written by all of them would move its cache line between the cores each
 * time. Without a vm or memory for the copy, a reference to lines itself.
 */
void vm_file_lines(struct expr_vm *vm, uint64_t id, const struct expr_value *lines,
		   struct expr_value *out);

/* Start and end of an evaluation on vm: the end of the outermost one drops
 * what the caches evicted meanwhile. */
static inline void vm_enter(struct expr_vm *vm)
{
	vm->depth++;
}
void vm_grave_flush(struct expr_vm *vm);
static inline void vm_leave(struct expr_vm *vm)
{
	if (--vm->depth == 0 && vm->ngrave)
		vm_grave_flush(vm);
}

/* ---- data files ---- */

/* New reference to the lines of a string file; an empty array if unknown. */
int data_file_lines(struct expr_runtime *rt, const char *name, struct expr_value *out);
int data_regexp_match(struct expr_runtime *rt, const char *name, const char *s, size_t len,
		      bool *out);
int data_lookup(struct expr_runtime *rt, const char *name, const char *s, size_t len,
		struct expr_value *out);
int data_file_map(struct expr_runtime *rt, const char *name, struct expr_value *out);

/* ---- helpers ---- */

extern const struct expr_func expr_crowdsec_helpers[];
extern const size_t expr_crowdsec_helpers_count;
extern const struct expr_func expr_hubtest_helpers[];
extern const size_t expr_hubtest_helpers_count;

/* Shorthands of the function tables (builtins.c, helpers.c): argument kinds, flags. */
#define T_S EXPR_STRING
#define T_I EXPR_INT
#define T_F EXPR_FLOAT
#define T_A EXPR_ARRAY
#define T_M EXPR_MAP
#define T_X EXPR_ANY
#define PURE EXPR_FN_PURE
#define RO EXPR_FN_READONLY

/* Shared pieces of builtins.c / helpers.c / eval.c. */
/* Go's white space below 0x80 (strings.TrimSpace, strings.Fields). */
#define EXPR_SPACES " \t\n\v\f\r"
static inline bool expr_in_set(const char *set, size_t n, unsigned char c)
{
	return memchr(set, c, n) != NULL;
}
/* Go strings.Trim/TrimLeft/TrimRight on bytes: what is in set[0..n) cut from the ends. */
int trim_common(const struct expr_value *s, const char *set, size_t n, bool left, bool right,
		struct expr_value *out);
int expr_sort_values(struct expr_value *arr, bool desc);
/* obj[key] with nil instead of errors (get()). */
int expr_fetch_lenient(struct expr_ctx *ctx, const struct expr_value *obj,
		       const struct expr_value *key, struct expr_value *out);
/* Go strings.SplitN / SplitAfterN: lim < 0 = all, 0 = empty list. */
int split_common(const char *s, size_t sl, const char *sep, size_t sepl, int64_t lim,
		 bool after, struct expr_value *out);
/* Go strings.Replace: lim < 0 = all. */
int replace_common(const struct expr_value *s, const struct expr_value *old,
		   const struct expr_value *new, int64_t lim, struct expr_value *out);
/* Standard base64 with padding; -EINVAL on anything else (Go StdEncoding). */
int base64_decode(const char *s, size_t l, struct expr_value *out);
int flatten_into(struct expr_value *out, const struct expr_value *v, int depth);
/* Appends v unless an equal value is already there. */
int uniq_into(struct expr_value *out, const struct expr_value *v);
int h_xml_get_node_value(struct expr_ctx *ctx, const struct expr_value *args, int nargs,
			 struct expr_value *out);
int h_xml_get_attribute_value(struct expr_ctx *ctx, const struct expr_value *args, int nargs,
			      struct expr_value *out);
/* ASCII and Latin-1 (U+00C0..U+00FE) case mapping, UTF-8 lengths unchanged. */
int case_map(const struct expr_value *s, bool upper, struct expr_value *out);
/* The same on bytes: the offset of the first byte it changes (len: none)... */
uint32_t case_first(const char *s, uint32_t len, bool upper);
/* ...and the mapping of s[i..len) into out, which holds a copy of s: the bytes that change. */
void case_map_rest(const char *s, uint32_t len, uint32_t i, bool upper, char *out);

int ctx_err(struct expr_ctx *ctx, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* CS_EXPR_INT_H */
