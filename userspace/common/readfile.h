/* SPDX-License-Identifier: MIT */
/*
 * A whole file into memory, bounded: what the daemons read at start (PEM
 * certificates, CRLs, configuration) so a wrong path cannot make them swallow
 * an unbounded file.
 */
#ifndef CS_READFILE_H
#define CS_READFILE_H

#include <stddef.h>

/*
 * path's bytes, NUL-terminated, in *out (malloc'd) and their count in *len.
 * 0, or -errno of the open/read, -EFBIG beyond max bytes, -ENOMEM.
 */
int cs_read_file(const char *path, size_t max, char **out, size_t *len);

#endif /* CS_READFILE_H */
