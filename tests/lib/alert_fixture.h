/* SPDX-License-Identifier: MIT */
/*
 * An alert from the JSON an agent posts (one element of POST /v1/alerts), decoded
 * by the LAPI's codec: the way tests get a realistic struct cs_alert.
 */
#ifndef CS_TEST_ALERT_FIXTURE_H
#define CS_TEST_ALERT_FIXTURE_H

#include <stddef.h>

#include "db/db.h"

/* The alert (cs_alert_free() it), or NULL with why in msg (bad JSON, a missing field). */
struct cs_alert *t_alert_decode(const char *json, char *msg, size_t msglen);

#endif /* CS_TEST_ALERT_FIXTURE_H */
