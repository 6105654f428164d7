/* SPDX-License-Identifier: MIT */
/*
 * ${VAR} and $VAR from the environment in configuration text, as CrowdSec
 * expands its YAML files (config.yaml, acquisition): os.ExpandEnv, where an
 * unset variable becomes empty, or csstring.StrictExpand (strict), where it
 * stays as written. Replacement text is not rescanned.
 */
#ifndef CS_ENVEXPAND_H
#define CS_ENVEXPAND_H

#include <stdbool.h>
#include <stddef.h>

/* in[0..len) expanded, NUL-terminated (malloc'd; *outlen bytes), or NULL (no memory). */
char *env_expand(const char *in, size_t len, bool strict, size_t *outlen);

#endif /* CS_ENVEXPAND_H */
