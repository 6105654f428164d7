/* SPDX-License-Identifier: MIT */
/* `cscli metrics show bouncers`: usage metrics bouncers reported (metrics_bouncers.c). */
#ifndef CSCLI_METRICS_BOUNCERS_H
#define CSCLI_METRICS_BOUNCERS_H

#include <jansson.h>
#include <stdbool.h>

struct cli;

/*
 * From the database: *agg = {bouncer: {origin: {metric: {unit: value}}}} (what
 * -o json prints under "bouncers") and *oldest = {bouncer: first unix time}.
 * 0, or -1 after printing why (both are objects either way; the caller frees).
 */
int metrics_bouncers_collect(struct cli *c, json_t **agg, json_t **oldest);
/* Upstream's tables, one per bouncer; show_empty: say so when there is none. */
void metrics_bouncers_print(json_t *agg, json_t *oldest, bool no_unit, bool show_empty);

#endif /* CSCLI_METRICS_BOUNCERS_H */
