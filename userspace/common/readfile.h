/* SPDX-License-Identifier: MIT */
/*
 * A whole file or stream into memory, bounded: what the programs read whole
 * (PEM certificates and CRLs, configuration, hub files, ban lists and decision
 * imports, possibly on standard input) so that a wrong path or an endless
 * pipe cannot make them swallow unbounded input.
 */
#ifndef CS_READFILE_H
#define CS_READFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * The rest of f, NUL-terminated, in *out (malloc'd) and its length in *len
 * (len may be NULL). 0, -EFBIG beyond max bytes, -EIO, -ENOMEM; *out is NULL
 * on error. f stays open.
 */
int cs_read_stream(FILE *f, size_t max, char **out, size_t *len);
/* The same for the file at path: also -errno of its open. */
int cs_read_file(const char *path, size_t max, char **out, size_t *len);

/* A configuration file's name: "*.yaml" or "*.yml" (CrowdSec reads both). */
bool cs_is_yaml_name(const char *name);
/* The same as a strv_from_dir() filter (dir and arg unused). */
bool cs_keep_yaml_name(const char *dir, const char *name, void *arg);

#endif /* CS_READFILE_H */
