/* SPDX-License-Identifier: MIT */
/*
 * A subset of Go's text/template, enough for CrowdSec's notification formats
 * (the shipped http/slack/email/file/splunk files and the docs' examples), run
 * on JSON data (a models.Alert list as the LAPI encodes it).
 *
 * Supported: text and {{actions}} with {{- -}} trimming, comments (slash-star inside braces),
 * {{.}}, field paths {{.Source.IP}} (matched to JSON keys case-insensitively,
 * ignoring "_": .StartAt finds "start_at"), variables ($, $x := ..., $x = ...),
 * pipelines (a | f b), parenthesised pipelines, string/number/bool/nil
 * literals, {{if}}/{{else if}}/{{else}}, {{range}} (with $i, $v := and else),
 * {{with}}, and the functions toJson, toPrettyJson, len, index, lower, upper,
 * trim, print, printf (%s %d %v %q %%), eq, ne, lt, le, gt, ge, not, and, or,
 * default.
 *
 * Anything else fails gotmpl_parse() with "name:line: message".
 * Output is bounded by GOTMPL_MAX_OUTPUT, nesting by GOTMPL_MAX_DEPTH.
 */
#ifndef CS_GOTMPL_H
#define CS_GOTMPL_H

#include <jansson.h>
#include <stddef.h>

#define GOTMPL_MAX_OUTPUT (4u << 20)
#define GOTMPL_MAX_DEPTH 64

struct gotmpl;

/* 0, -EINVAL (err: "name:line: message") or -ENOMEM. */
int gotmpl_parse(const char *name, const char *text, struct gotmpl **out, char *err, size_t errlen);
/* The same for a template that starts at line first_line of file name. */
int gotmpl_parse_at(const char *name, int first_line, const char *text, struct gotmpl **out,
		    char *err, size_t errlen);
/* Run on data; *out (NUL-terminated, the caller frees) and *len. 0 or -errno with err. */
int gotmpl_exec(const struct gotmpl *t, json_t *data, char **out, size_t *len, char *err,
		size_t errlen);
void gotmpl_free(struct gotmpl *t);

#endif /* CS_GOTMPL_H */
