/* SPDX-License-Identifier: MIT */
#ifndef CS_GROK_BUILTIN_H
#define CS_GROK_BUILTIN_H

struct grok_builtin {
	const char *name;
	const char *regex;
};

/* Terminated by { NULL, NULL }. */
extern const struct grok_builtin grok_builtins[];

#endif /* CS_GROK_BUILTIN_H */
