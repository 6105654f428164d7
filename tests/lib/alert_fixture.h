/* SPDX-License-Identifier: MIT */
/*
 * An alert from the JSON an agent posts (one element of POST /v1/alerts), decoded
 * by the LAPI's codec: the way tests get a realistic struct cs_alert.
 */
#ifndef CS_TEST_ALERT_FIXTURE_H
#define CS_TEST_ALERT_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

/* The alert (cs_alert_free() it), or NULL with why in msg (bad JSON, a missing field). */
struct cs_alert *t_alert_decode(const char *json, char *msg, size_t msglen);

/*
 * An alert of scenario that starts and stops at `at` (ns) with n zeroed
 * decisions for the test to fill (cs_alert_free() it); NULL without memory.
 */
struct cs_alert *t_alert_new(const char *scenario, int64_t at, size_t n);

#endif /* CS_TEST_ALERT_FIXTURE_H */
