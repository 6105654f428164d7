// SPDX-License-Identifier: MIT
/* The LAPI side of notifications: profiles name them, stored alerts feed them. */
#include <errno.h>
#include <stdio.h>

#include "common/log.h"
#include "lapi/lapi_int.h"

struct check_ctx {
	struct cs_notify *n;
	char *err;
	size_t errlen;
	size_t count;
};

static int check_one(const char *profile, const char *name, void *arg)
{
	struct check_ctx *c = arg;
	char e[512];
	int ret;

	c->count++;
	if (!c->n) {
		snprintf(c->err, c->errlen, "profile '%s' names notification '%s' but no configuration was loaded",
			 profile, name);
		return -ENOENT;
	}
	ret = cs_notify_check(c->n, name, e, sizeof(e));
	if (ret)
		snprintf(c->err, c->errlen, "profile '%s': %s", profile, e);
	return ret;
}

static int count_one(const char *profile, const char *name, void *arg)
{
	(void)profile, (void)name;
	++*(size_t *)arg;
	return 0;
}

int lapi_notify_setup(struct cs_lapi *l, char *err, size_t errlen)
{
	struct check_ctx c = { .err = err, .errlen = errlen };
	size_t wanted = 0;
	int ret;

	cs_profiles_each_notification(l->profiles, count_one, &wanted);
	if (!wanted) /* upstream starts no plugin then either */
		return 0;
	ret = cs_notify_load(l->cfg.notification_dir, &l->notify, err, errlen);
	if (ret)
		return ret;
	c.n = l->notify;
	ret = cs_profiles_each_notification(l->profiles, check_one, &c);
	if (!ret)
		ret = cs_notify_start(l->notify);
	if (ret) {
		cs_notify_free(l->notify);
		l->notify = NULL;
		return ret;
	}
	log_info("notifications: %zu reference(s) from profiles", wanted);
	return 0;
}

void lapi_notify_alert(struct cs_lapi *l, const struct cs_alert *a, int64_t id, char *const *names,
		       size_t n)
{
	json_t *j;

	if (!l->notify || !n)
		return;
	j = codec_alert_encode(a);
	if (!j) {
		log_warn("notifications: out of memory encoding an alert");
		return;
	}
	json_object_set_new(j, "id", json_integer(id));
	for (size_t i = 0; i < n; i++)
		cs_notify_alert(l->notify, names[i], j);
	json_decref(j);
}
