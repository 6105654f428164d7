/* SPDX-License-Identifier: MIT */
/*
 * Service detection for `cscli setup` (upstream's detect.yaml, as a table):
 * which services run here (systemd unit files, running processes, log files
 * present), the hub collections each needs and the acquisition to read its logs.
 *
 *   struct setup_opts o = { .root = NULL };       "/" (tests give a fake root)
 *   json_t *plan = setup_detect(&o, err, len);    {"setup": [ {detected_service,
 *                                                  install: {collections}, datasource} ]}
 *   setup_acquis_yaml(entry, f)                    one acquisition document
 *
 * Pure inspection: nothing is written here (cscli applies the plan).
 */
#ifndef CS_SETUP_H
#define CS_SETUP_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

struct setup_opts {
	const char *root;	   /* prefix for every path looked at (/proc too); NULL = "/" */
	bool skip_systemd;	   /* don't ask systemctl for unit files */
	const char *const *force;  /* services reported even if not detected (NULL-terminated) */
	const char *const *ignore; /* services never reported */
	/* unit files, one name per line, instead of `systemctl list-unit-files` (tests) */
	const char *units_file;
};

/* The services this table knows, in order (NULL-terminated). */
const char *const *setup_services(void);
/* Detect; the plan as upstream's setup file (a new reference), or NULL and err. */
json_t *setup_detect(const struct setup_opts *o, char *err, size_t errlen);
/* Check a setup file's shape (from `detect`, or edited): 0, or -EINVAL and err. */
int setup_validate(json_t *plan, char *err, size_t errlen);
/* The acquisition document of one plan entry (its `datasource`), as YAML. */
void setup_acquis_yaml(json_t *entry, FILE *f);

#endif /* CS_SETUP_H */
