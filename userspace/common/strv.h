/* SPDX-License-Identifier: MIT */
/*
 * Lists of owned strings (char **v, size_t n): push a copy, look one up, free
 * them all, a directory's sorted names. The one string list of the tree (hub
 * names, setup facts, cscli simulation exclusions, pattern and stage files).
 */
#ifndef CS_STRV_H
#define CS_STRV_H

#include <stdbool.h>
#include <stddef.h>

/* Append a copy of s: 0 or -ENOMEM (list unchanged). */
int strv_push(char ***v, size_t *n, const char *s);
bool strv_has(char *const *v, size_t n, const char *s);
/* Remove the first s (order not kept); false if absent. */
bool strv_del(char **v, size_t *n, const char *s);
/* Frees every string and the array; NULL is fine. */
void strv_free(char **v, size_t n);
/*
 * The names in directory dir that keep(dir, name, arg) accepts (keep NULL: all),
 * sorted by strcmp; names starting with '.' (".", "..", hidden files) never.
 * 0 (*v NULL when none), -errno of opendir(), or -ENOMEM (nothing left allocated).
 */
int strv_from_dir(const char *dir, bool (*keep)(const char *dir, const char *name, void *arg),
		  void *arg, char ***v, size_t *n);

#endif /* CS_STRV_H */
