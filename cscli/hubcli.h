/* SPDX-License-Identifier: MIT */
/* cscli's hub commands (cmd_hub.c, cmd_items.c): what they share. */
#ifndef CSCLI_HUBCLI_H
#define CSCLI_HUBCLI_H

#include "cscli/cscli.h"
#include "hub/hub.h"

/* Hub configuration (+ the index and local state when need_index); logs fatal on error. */
int hubcli_open(struct cli *c, struct hub_config *cfg, struct hub **h, bool need_index);
void hubcli_close(struct hub_config *cfg, struct hub *h);
void hubcli_warnings(const struct hub *h);
/* Upstream's item list (-o human: one table per type; json: {type: [...]}; raw: CSV). */
void hubcli_list(struct cli *c, struct hub *h, const bool types[HUB_NTYPES],
		 struct hub_item **const lists[HUB_NTYPES], const size_t counts[HUB_NTYPES],
		 bool omit_empty);
/* "can't find 'x' in parsers, did you mean 'y'?" (+ the type it does belong to). */
void hubcli_not_found(struct hub *h, enum hub_type t, const char *name, char *buf, size_t len);
/* Print the plan, run it (unless dry_run), print the reload hint. An exit code. */
int hubcli_execute(struct cli *c, struct hub_plan *p, bool dry_run);
#define hubcli_print_yaml print_yaml

#endif /* CSCLI_HUBCLI_H */
