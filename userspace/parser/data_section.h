/* SPDX-License-Identifier: MIT */
/*
 * The `data:` section of a parser node or a scenario (hub-format.md 10): each
 * entry {dest_file, type, source_url, strategy, size, ttl} with a type is
 * loaded into the detector's expr runtime; a missing file is a warning (its
 * helpers see an empty list), anything malformed an error naming file:line.
 */
#ifndef CS_PARSER_DATA_SECTION_H
#define CS_PARSER_DATA_SECTION_H

#include "common/ywalk.h"

struct expr_runtime;

int cs_data_section_load(struct ywalk *w, const yaml_node_t *seq, struct expr_runtime *rt);

#endif /* CS_PARSER_DATA_SECTION_H */
