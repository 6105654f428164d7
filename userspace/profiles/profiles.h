/* SPDX-License-Identifier: MIT */
/*
 * profiles.yaml: turn an alert without decisions into decisions, with CrowdSec
 * 1.4.6 semantics (contract section 5): profiles in file order, filters OR-ed,
 * one decision set per true filter, on_success: break stops, on_failure has no
 * effect, origin "crowdsec" or "crowdsec/<origin>", until = stop_at + duration.
 *
 * Filters (and duration_expr) are compiled once at load by the expr engine,
 * through struct cs_profile_filter_ops (alert_expr.c: the Alert object and the
 * GetDecisionsCount helpers).
 *
 * Threading: a loaded struct cs_profiles is immutable; cs_profiles_apply() may run
 * on any thread concurrently.
 */
#ifndef CS_PROFILES_H
#define CS_PROFILES_H

#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"

struct cs_profiles;

struct cs_profile_filter_ops {
	const char *name;
	/* Compile src; 0 or -EINVAL with a message in err. */
	int (*compile)(const char *src, void **prog, char *err, size_t errlen);
	/* Evaluate against an alert; must yield a bool. 0 or -errno with err. */
	int (*eval)(void *prog, const struct cs_alert *a, struct cs_db *db, bool *match, char *err,
		    size_t errlen);
	/* Optional (duration_expr): evaluate to text. 0 or -errno with err. */
	int (*eval_text)(void *prog, const struct cs_alert *a, struct cs_db *db, char *out,
			 size_t outlen, char *err, size_t errlen);
	void (*free)(void *prog);
};

/*
 * The expr engine (userspace/expr): full CrowdSec expression language with the
 * Alert object, helpers, and GetDecisionsCount/GetDecisionsSinceCount on the db.
 */
extern const struct cs_profile_filter_ops cs_profile_expr_filter_ops;

/* Load a multi-document profiles file (+ .local); errors name the file. */
int cs_profiles_load(const char *path, struct cs_profiles **out, char *err, size_t errlen);
/* Debian's default profile: ban 4h for Ip alerts with remediation, plus Range. */
int cs_profiles_default(struct cs_profiles **out);
void cs_profiles_free(struct cs_profiles *p);
size_t cs_profiles_count(const struct cs_profiles *p);

/*
 * Append the decisions of the first matching profile to an alert that carries
 * none. db (may be NULL) serves GetDecisionsCount() in expressions. An alert that already has decisions is left alone. 0, or -errno with a
 * message (expression runtime error) in err.
 */
int cs_profiles_apply(const struct cs_profiles *p, struct cs_alert *a, struct cs_db *db,
		      char *err, size_t errlen);

/*
 * cs_profiles_apply(), and notify (nnotify entries) gets the `notifications:` names of the
 * profile that matched (owned by ps; none when no profile matched).
 */
int cs_profiles_apply_notify(const struct cs_profiles *p, struct cs_alert *a, struct cs_db *db,
			     char *const **notify, size_t *nnotify, char *err, size_t errlen);
/* fn(profile name, notification name) for every profile's notifications; stops on non-zero. */
int cs_profiles_each_notification(const struct cs_profiles *p,
				  int (*fn)(const char *profile, const char *name, void *arg), void *arg);

#endif /* CS_PROFILES_H */
