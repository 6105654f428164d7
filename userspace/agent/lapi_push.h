/* SPDX-License-Identifier: MIT */
/*
 * The agent's client of a remote Local API (crowdsec -no-api, or an agent on another
 * machine): logs in with local_api_credentials.yaml (machine id + password -> JWT)
 * and pushes alerts with POST /v1/alerts, logging in again when the token expires
 * (the HTTP client is userspace/lapiclient, shared with cscli).
 */
#ifndef CS_AGENT_LAPI_PUSH_H
#define CS_AGENT_LAPI_PUSH_H

#include <jansson.h>

struct lapi_push;

/* Reads url/login/password from the credentials file. err gets "file: message". */
int lapi_push_new(const char *credentials_path, struct lapi_push **out, char *err, size_t errlen);
void lapi_push_free(struct lapi_push *p);
/*
 * POST the alerts (borrowed). Alerts the LAPI did not acknowledge because it was
 * unreachable or failed (5xx) are kept in memory, in order and bounded, and go
 * first at the next push or lapi_push_retry(): 0 then. -EACCES (login refused),
 * -EPROTO (refused for good).
 */
int lapi_push_alerts(struct lapi_push *p, json_t *alerts);
/* Try the kept alerts again (the caller's timer): 0 when none remain. */
int lapi_push_retry(struct lapi_push *p);

#endif /* CS_AGENT_LAPI_PUSH_H */
