/* SPDX-License-Identifier: MIT */
/*
 * Every bound the parsing half puts on what comes from outside (log lines,
 * hub YAML), in one place; each can be overridden with -D at build time.
 */
#ifndef CS_PARSER_LIMITS_H
#define CS_PARSER_LIMITS_H

/* Longest log line kept; longer ones are cut (CrowdSec's reader buffer is 64 KiB). */
#ifndef CS_LINE_MAX
#define CS_LINE_MAX (64 * 1024)
#endif

/* PCRE2 backtracking budget per grok match; a line that exhausts it is "no match". */
#ifndef CS_GROK_MATCH_LIMIT
#define CS_GROK_MATCH_LIMIT 1000000
#endif

/* PCRE2 interpreter recursion depth (the JIT is bounded by its stack instead). */
#ifndef CS_GROK_DEPTH_LIMIT
#define CS_GROK_DEPTH_LIMIT 5000
#endif

/* %{X} references nest about 6 deep in the base library; deeper is a cycle. */
#ifndef CS_GROK_MAX_NESTING
#define CS_GROK_MAX_NESTING 64
#endif

/* A parser file is read whole; the hub's largest are a few KiB. */
#ifndef CS_PARSER_FILE_MAX
#define CS_PARSER_FILE_MAX (16u << 20)
#endif

/* Parser sub-nodes nest 3 deep in the hub. */
#ifndef CS_NODE_MAX_DEPTH
#define CS_NODE_MAX_DEPTH 16
#endif

#endif /* CS_PARSER_LIMITS_H */
