/* SPDX-License-Identifier: MIT */
/*
 * Grok: named regex building blocks (%{NAME} / %{NAME:field}) expanded into one
 * PCRE2 regex, compiled once (JIT when available) and matched with bounded work.
 *
 * Semantics follow CrowdSec (hub-format.md section 5):
 *  - the library is the built-in base patterns, then pattern files, then the
 *    pattern_syntax blocks of parser nodes (first definition wins there);
 *  - %{NAME:field} captures `field`, and so do the fields named inside NAME,
 *    recursively; inline (?P<x>...) groups are matched but never reported;
 *  - duplicate field names: the last top-level one wins, a top-level one wins
 *    over a nested one, the last nested one wins among nested ones;
 *  - every captured name is reported, "" when its group did not take part;
 *  - Go RE2 dialect: `$` only at the very end, ASCII \d\w\b, invalid UTF-8 in
 *    the subject is matched byte by byte, never an error.
 * A match that hits the backtracking limits is reported as "no match".
 * A compiled struct grok is immutable and safe to share between threads.
 */
#ifndef CS_GROK_H
#define CS_GROK_H

#include <stdbool.h>
#include <stddef.h>

struct grok_lib;
struct grok;
struct strmap;

int grok_lib_new(struct grok_lib **out);
void grok_lib_free(struct grok_lib *lib);
/* The 88 patterns CrowdSec compiles in (spec Appendix A). */
int grok_lib_add_builtins(struct grok_lib *lib);
/*
 * Add one pattern. -EEXIST if the name exists (the old definition is kept:
 * callers decide whether that is an error or a warning), -EINVAL for a name
 * that is not \w+.
 */
int grok_lib_add(struct grok_lib *lib, const char *name, const char *regex);
bool grok_lib_has(const struct grok_lib *lib, const char *name);
/* One "NAME REGEX" per line; '#' comments and blank lines ignored. */
int grok_lib_load_file(struct grok_lib *lib, const char *path);
/* Every file of dir whose name has no '.', in alphabetical order. */
int grok_lib_load_dir(struct grok_lib *lib, const char *dir);

/*
 * Expand and compile `pattern`. On error returns -EINVAL (unknown pattern,
 * recursion too deep, regex syntax) and, if errbuf is given, a message.
 */
int grok_compile(const struct grok_lib *lib, const char *pattern, struct grok **out,
		 char *errbuf, size_t errlen);
/* Compile the library pattern called `name` (grok: name: X). */
int grok_compile_name(const struct grok_lib *lib, const char *name, struct grok **out,
		      char *errbuf, size_t errlen);
void grok_free(struct grok *g);

/* Names reported by a match, in the order of the expanded regex. */
size_t grok_nfields(const struct grok *g);
const char *grok_field(const struct grok *g, size_t i);

/*
 * The literals every match holds, longest first (not NUL-terminated): a subject
 * without one of them is answered "no match" before the regex runs.
 */
size_t grok_nliterals(const struct grok *g);
const char *grok_literal(const struct grok *g, size_t i, size_t *len);
/* false when subj lacks one of them (grok_match() would say "no match"). */
bool grok_may_match(const struct grok *g, const char *subj, size_t len);
/* grok_match() of a subject grok_may_match() said true of: its literals are not searched again. */
int grok_match_checked(const struct grok *g, const char *subj, size_t len, struct strmap *out);

/* Does grok_match() read most subjects without PCRE2 (`^%{SYSLOGLINE}`, grok_syslog.h)? */
bool grok_reads_syslog(const struct grok *g);

/*
 * Search `subj` (len bytes, may hold NUL and invalid UTF-8). Returns 1 on a
 * match and, if `out` is given, sets every field in it; 0 on no match (out
 * untouched) — including when the match or depth limit was hit; -ENOMEM.
 * `subj` must not point into `out` (a capture may replace the value it reads).
 */
int grok_match(const struct grok *g, const char *subj, size_t len, struct strmap *out);

/* Bounded-work knobs shared by all matches (defaults suit 64 KiB lines). */
void grok_set_limits(unsigned int match_limit, unsigned int depth_limit);

#endif /* CS_GROK_H */
