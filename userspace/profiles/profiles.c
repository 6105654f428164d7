// SPDX-License-Identifier: MIT
/* profiles.yaml loading and evaluation; see profiles.h. */
#include "profiles/profiles.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/vec.h"
#include "common/yamljson.h"

#define PROFILE_DEFAULT_DURATION (4 * 3600 * NSEC_PER_SEC)

struct profile_decision {
	char *type;
	char *scope;  /* NULL: the alert's source scope */
	char *origin; /* NULL: "crowdsec" */
	int64_t duration;
	bool simulated;
};

struct profile {
	char *name;
	void *duration_expr;
	void **filters;
	size_t n_filters;
	struct profile_decision *decisions;
	size_t n_decisions;
	bool on_success_break;
	char **notifications; /* names of notification_dir's configurations */
	size_t n_notifications;
};

struct cs_profiles {
	const struct cs_profile_filter_ops *ops;
	struct profile *v;
	size_t n;
};

/* ---- loading ---------------------------------------------------------------------- */

static void profile_clear(const struct cs_profile_filter_ops *ops, struct profile *p)
{
	free(p->name);
	if (p->duration_expr)
		ops->free(p->duration_expr);
	for (size_t i = 0; i < p->n_filters; i++)
		ops->free(p->filters[i]);
	free(p->filters);
	for (size_t i = 0; i < p->n_decisions; i++) {
		free(p->decisions[i].type);
		free(p->decisions[i].scope);
		free(p->decisions[i].origin);
	}
	free(p->decisions);
	strv_free(p->notifications, p->n_notifications);
}

void cs_profiles_free(struct cs_profiles *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		profile_clear(p->ops, &p->v[i]);
	free(p->v);
	free(p);
}

size_t cs_profiles_count(const struct cs_profiles *p)
{
	return p ? p->n : 0;
}

static int load_profile(const struct cs_profile_filter_ops *ops, json_t *doc, const char *path,
			size_t idx, struct profile *p, char *err, size_t errlen)
{
	json_t *filters = json_object_get(doc, "filters");
	json_t *decs = json_object_get(doc, "decisions");
	const char *name = yamljson_get_str(doc, "name", "");
	const char *ons = yamljson_get_str(doc, "on_success", "");
	size_t i;
	json_t *v;
	int ret;

	p->name = strdup(name);
	if (!p->name)
		return -ENOMEM;
	p->on_success_break = !strcmp(ons, "break");
	{
		json_t *notifs = json_object_get(doc, "notifications");

		if (notifs && !json_is_array(notifs) && !json_is_null(notifs)) {
			snprintf(err, errlen, "%s: profile '%s': notifications must be a list", path,
				 name);
			return -EINVAL;
		}
		json_array_foreach(notifs, i, v) {
			if (!json_is_string(v)) {
				snprintf(err, errlen, "%s: profile '%s': notification %zu is not a string",
					 path, name, i);
				return -EINVAL;
			}
			if (strv_push(&p->notifications, &p->n_notifications, json_string_value(v)))
				return -ENOMEM;
		}
	}
	if (json_is_string(json_object_get(doc, "duration_expr"))) {
		char e[512] = "";
		const char *src = json_string_value(json_object_get(doc, "duration_expr"));

		if (!ops->eval_text || ops->compile(src, &p->duration_expr, e, sizeof(e))) {
			snprintf(err, errlen, "%s: profile '%s': duration_expr: %s", path, name,
				 *e ? e : "not supported by this filter engine");
			return -EINVAL;
		}
	}
	if (filters && !json_is_array(filters)) {
		snprintf(err, errlen, "%s: profile %zu ('%s'): filters must be a list", path, idx,
			 name);
		return -EINVAL;
	}
	p->filters = calloc(json_array_size(filters) + 1, sizeof(void *));
	p->decisions = calloc(json_array_size(decs) + 1, sizeof(*p->decisions));
	if (!p->filters || !p->decisions)
		return -ENOMEM;
	json_array_foreach(filters, i, v) {
		char e[512] = "";

		if (!json_is_string(v)) {
			snprintf(err, errlen, "%s: profile '%s': filter %zu is not a string", path,
				 name, i);
			return -EINVAL;
		}
		ret = ops->compile(json_string_value(v), &p->filters[p->n_filters], e, sizeof(e));
		if (ret) {
			snprintf(err, errlen, "%s: profile '%s': filter %zu: %s", path, name, i, e);
			return ret;
		}
		p->n_filters++;
	}
	json_array_foreach(decs, i, v) {
		struct profile_decision *d = &p->decisions[p->n_decisions];
		const char *type = yamljson_get_str(v, "type", NULL);
		const char *dur = yamljson_get_str(v, "duration", "4h");
		const char *scope = yamljson_get_str(v, "scope", NULL);
		const char *origin = yamljson_get_str(v, "origin", NULL);

		if (!json_is_object(v) || !type) {
			snprintf(err, errlen, "%s: profile '%s': decision %zu needs a type", path,
				 name, i);
			return -EINVAL;
		}
		if (gotime_parse_duration(dur, &d->duration)) {
			snprintf(err, errlen, "%s: profile '%s': decision %zu: bad duration '%s'",
				 path, name, i, dur);
			return -EINVAL;
		}
		d->type = strdup(type);
		d->scope = scope ? strdup(scope) : NULL;
		d->origin = origin ? strdup(origin) : NULL;
		d->simulated = yamljson_get_bool(v, "simulated", false);
		p->n_decisions++;
		if (!d->type)
			return -ENOMEM;
	}
	return 0;
}

static int profiles_from_docs(json_t *docs, const char *path, struct cs_profiles **out,
			      char *err, size_t errlen)
{
	struct cs_profiles *ps = calloc(1, sizeof(*ps));
	size_t i;
	json_t *doc;
	int ret = 0;

	if (!ps)
		return -ENOMEM;
	ps->ops = &cs_profile_expr_filter_ops;
	ps->v = calloc(json_array_size(docs) + 1, sizeof(*ps->v));
	if (!ps->v) {
		ret = -ENOMEM;
		goto out;
	}
	json_array_foreach(docs, i, doc) {
		if (json_is_null(doc))
			continue;
		if (!json_is_object(doc)) {
			snprintf(err, errlen, "%s: document %zu is not a mapping", path, i);
			ret = -EINVAL;
			goto out;
		}
		ret = load_profile(ps->ops, doc, path, i, &ps->v[ps->n++], err, errlen);
		if (ret)
			goto out;
	}
out:
	if (ret)
		cs_profiles_free(ps);
	else
		*out = ps;
	return ret;
}

int cs_profiles_load(const char *path, struct cs_profiles **out, char *err, size_t errlen)
{
	json_t *docs = yamljson_load_file(path, true, err, errlen);
	int ret;

	*out = NULL;
	if (!docs)
		return -EINVAL;
	ret = profiles_from_docs(docs, path, out, err, errlen);
	json_decref(docs);
	return ret;
}

int cs_profiles_default(struct cs_profiles **out)
{
	static const char text[] =
		"name: default_ip_remediation\n"
		"filters:\n"
		" - Alert.Remediation == true && Alert.GetScope() == \"Ip\"\n"
		"decisions:\n"
		" - type: ban\n"
		"   duration: 4h\n"
		"on_success: break\n"
		"---\n"
		"name: default_range_remediation\n"
		"filters:\n"
		" - Alert.Remediation == true && Alert.GetScope() == \"Range\"\n"
		"decisions:\n"
		" - type: ban\n"
		"   duration: 4h\n"
		"on_success: break\n";
	char err[256];
	json_t *docs = yamljson_load_string(text, sizeof(text) - 1, "default", err, sizeof(err));
	int ret;

	*out = NULL;
	if (!docs)
		return -EINVAL;
	ret = profiles_from_docs(docs, "default", out, err, sizeof(err));
	json_decref(docs);
	return ret;
}

/* ---- evaluation --------------------------------------------------------------------- */

static int add_decisions(const struct cs_profiles *ps, const struct profile *p,
			 struct cs_alert *a, struct cs_db *db)
{
	int64_t dexpr = 0;
	bool has_dexpr = false;

	if (p->duration_expr) {
		char txt[128], e[256];

		if (!ps->ops->eval_text(p->duration_expr, a, db, txt, sizeof(txt), e, sizeof(e)) &&
		    !gotime_parse_duration(txt, &dexpr))
			has_dexpr = true;
		else
			log_warn("profile '%s': duration_expr gave no valid duration, using the"
				 " decision's duration", p->name);
	}
	size_t n = a->n_decisions + p->n_decisions;
	size_t cap = a->n_decisions; /* the alert's array is no larger than its decisions */

	if (vec_reserve((void **)&a->decisions, &cap, n ? n - 1 : 0, sizeof(*a->decisions),
			n ? n : 1))
		return -ENOMEM;
	for (size_t i = 0; i < p->n_decisions; i++) {
		const struct profile_decision *t = &p->decisions[i];
		struct cs_decision *d = &a->decisions[a->n_decisions];
		char origin[256];

		memset(d, 0, sizeof(*d));
		if (t->origin)
			snprintf(origin, sizeof(origin), "crowdsec/%s", t->origin);
		else
			snprintf(origin, sizeof(origin), "crowdsec");
		d->type = strdup(t->type);
		d->scope = strdup(t->scope ? t->scope : a->src_scope ? a->src_scope : "");
		d->value = strdup(a->src_value ? a->src_value : "");
		d->origin = strdup(origin);
		d->scenario = strdup(a->scenario ? a->scenario : "");
		d->duration = has_dexpr ? dexpr : t->duration;
		d->simulated = t->simulated || a->simulated;
		a->n_decisions++;
		if (!d->type || !d->scope || !d->value || !d->origin || !d->scenario)
			return -ENOMEM;
	}
	return 0;
}

int cs_profiles_apply(const struct cs_profiles *ps, struct cs_alert *a, struct cs_db *db,
		      char *err, size_t errlen)
{
	return cs_profiles_apply_notify(ps, a, db, NULL, NULL, err, errlen);
}

int cs_profiles_each_notification(const struct cs_profiles *ps,
				  int (*fn)(const char *profile, const char *name, void *arg), void *arg)
{
	int ret = 0;

	for (size_t i = 0; ps && !ret && i < ps->n; i++)
		for (size_t j = 0; !ret && j < ps->v[i].n_notifications; j++)
			ret = fn(ps->v[i].name, ps->v[i].notifications[j], arg);
	return ret;
}

int cs_profiles_apply_notify(const struct cs_profiles *ps, struct cs_alert *a, struct cs_db *db,
			     char *const **notify, size_t *nnotify, char *err, size_t errlen)
{
	if (notify) {
		*notify = NULL;
		*nnotify = 0;
	}
	if (!ps || a->n_decisions)
		return 0;
	for (size_t i = 0; i < ps->n; i++) {
		const struct profile *p = &ps->v[i];
		bool matched = false;

		for (size_t f = 0; f < p->n_filters; f++) {
			bool m = false;
			int ret = ps->ops->eval(p->filters[f], a, db, &m, err, errlen);

			if (ret)
				return ret;
			if (!m)
				continue;
			matched = true;
			ret = add_decisions(ps, p, a, db);
			if (ret)
				return ret;
		}
		/* Later profiles see the decisions and add none (1.4.6), so stop here. */
		if (matched) {
			if (notify) {
				*notify = p->notifications;
				*nnotify = p->n_notifications;
			}
			break;
		}
	}
	return 0;
}
