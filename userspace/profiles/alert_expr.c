// SPDX-License-Identifier: MIT
/*
 * The expr backend of profile filters: CrowdSec's `Alert` object (Go field and
 * method names of models.Alert, contract 5.4) as an expr host object, the
 * CrowdSec helpers, and GetDecisionsCount / GetDecisionsSinceCount answered
 * from the database passed to cs_profiles_apply().
 *
 * The environment is built once (pthread_once) and never changes afterwards,
 * as expr requires; programs are evaluated concurrently from LAPI threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/gotime.h"
#include "common/log.h"
#include "expr/expr.h"
#include "parser/event.h"
#include "profiles/profiles.h"

/* ---- Source ------------------------------------------------------------------------ */

static int str_out(const char *s, struct expr_value *out)
{
	return expr_string(s ? s : "", out);
}

/*
 * The Alert of an expression: the stored alert, and its Source as models.Alert
 * has it (a struct of its own; here a view borrowing the alert's src_* strings).
 */
struct alert_obj {
	const struct cs_alert *a;
	struct cs_source src;
};

static struct alert_obj alert_obj(const struct cs_alert *a)
{
	return (struct alert_obj){ a, { a->src_scope, a->src_value, a->src_ip, a->src_range,
					a->src_as_name, a->src_as_number, a->src_cn,
					a->src_latitude, a->src_longitude } };
}

/* ---- meta lists ([{Key, Value}]) ------------------------------------------------------ */

static int meta_item(const char *k, const char *v, struct expr_value *out)
{
	struct expr_value m, s;
	int err = expr_map_new(&m);

	if (err)
		return err;
	err = expr_string(k ? k : "", &s);
	if (!err)
		err = expr_map_set_take(&m, "Key", s);
	if (!err)
		err = expr_string(v ? v : "", &s);
	if (!err)
		err = expr_map_set_take(&m, "Value", s);
	if (err)
		expr_value_release(&m);
	else
		*out = m;
	return err;
}

static int meta_from_json(const char *text, struct expr_value *out)
{
	json_t *j = json_loads(text ? text : "null", JSON_DECODE_ANY, NULL), *it;
	struct expr_value arr;
	size_t i;
	int err = expr_array_new(json_array_size(j), &arr);

	if (err) {
		json_decref(j);
		return err;
	}
	json_array_foreach(j, i, it) {
		struct expr_value m;

		err = meta_item(json_string_value(json_object_get(it, "key")),
				json_string_value(json_object_get(it, "value")), &m);
		if (!err)
			err = expr_array_push_take(&arr, m);
		if (err)
			break;
	}
	json_decref(j);
	if (err)
		expr_value_release(&arr);
	else
		*out = arr;
	return err;
}

static int meta_lookup_json(const char *text, const char *key, struct expr_value *out)
{
	json_t *j = json_loads(text ? text : "null", JSON_DECODE_ANY, NULL), *it;
	const char *v = "";
	size_t i;
	int err;

	json_array_foreach(j, i, it) {
		const char *k = json_string_value(json_object_get(it, "key"));

		if (k && !strcmp(k, key)) {
			v = json_string_value(json_object_get(it, "value"));
			v = v ? v : "";
			break;
		}
	}
	err = expr_string(v, out);
	json_decref(j);
	return err;
}

/* ---- Event -------------------------------------------------------------------------------- */

static int ev_get(struct expr_ctx *c, void *obj, const char *name, struct expr_value *out)
{
	const struct cs_alert_event *e = obj;
	char ts[GOTIME_STRLEN];

	if (!strcmp(name, "Timestamp")) {
		gotime_format_rfc3339(e->timestamp, ts, sizeof(ts));
		return expr_string(ts, out);
	}
	if (!strcmp(name, "Meta"))
		return meta_from_json(e->meta_json, out);
	return -ENOENT;
}

static int ev_call(struct expr_ctx *c, void *obj, const char *m, const struct expr_value *args,
		   int nargs, struct expr_value *out)
{
	const struct cs_alert_event *e = obj;

	if (!strcmp(m, "GetMeta")) {
		if (args[0].kind != EXPR_STRING) {
			expr_ctx_errorf(c, "GetMeta: key must be a string");
			return -EINVAL;
		}
		return meta_lookup_json(e->meta_json, expr_str_cstr(&args[0]), out);
	}
	return -ENOENT;
}

static const struct expr_field ev_fields[] = {
	{ "Timestamp", &expr_type_string }, { "Meta", &expr_type_array_any }, { NULL },
};
static const struct expr_method ev_methods[] = {
	{ "GetMeta", 1, 1, &expr_type_string },
	{ NULL },
};
static const struct expr_host_ops event_ops = { EXPR_HOST_RECORD("Event", ev) };
static const struct expr_type event_type = { EXPR_HOST, NULL, &event_ops };

static int evs_len(struct expr_ctx *c, void *obj, int64_t *out)
{
	*out = (int64_t)((const struct cs_alert *)obj)->n_events;
	return 0;
}

static int evs_index(struct expr_ctx *c, void *obj, int64_t i, struct expr_value *out)
{
	*out = expr_host(&event_ops, &((struct cs_alert *)obj)->events[i]);
	return 0;
}

static const struct expr_host_ops events_ops = {
	.name = "[]*models.Event", .flags = EXPR_HOST_ARRAYLIKE, .elem = &event_type,
	.len = evs_len, .index = evs_index,
};
static const struct expr_type events_type = { EXPR_HOST, &event_type, &events_ops };

/* ---- Alert ---------------------------------------------------------------------------------- */

static int decisions_value(const struct cs_alert *a, struct expr_value *out)
{
	struct expr_value arr;
	int err = expr_array_new(a->n_decisions, &arr);

	for (size_t i = 0; !err && i < a->n_decisions; i++) {
		const struct cs_decision *d = &a->decisions[i];
		char dur[GOTIME_STRLEN];
		struct expr_value m, s;

		gotime_format_duration(d->duration, dur, sizeof(dur));
		err = expr_map_new(&m);
		if (err)
			break;
		const char *kv[][2] = { { "Duration", dur },	 { "Origin", d->origin },
					{ "Scenario", d->scenario }, { "Scope", d->scope },
					{ "Type", d->type },	     { "Value", d->value } };
		for (size_t k = 0; !err && k < sizeof(kv) / sizeof(kv[0]); k++) {
			err = str_out(kv[k][1], &s);
			if (!err)
				err = expr_map_set_take(&m, kv[k][0], s);
		}
		if (!err)
			err = expr_map_set_take(&m, "Simulated", expr_bool(d->simulated));
		if (!err)
			err = expr_array_push_take(&arr, m);
		else
			expr_value_release(&m);
	}
	if (err)
		expr_value_release(&arr);
	else
		*out = arr;
	return err;
}

static int alert_get(struct expr_ctx *c, void *obj, const char *name, struct expr_value *out)
{
	struct alert_obj *o = obj;
	const struct cs_alert *a = o->a;
	char start[GOTIME_STRLEN] = "", stop[GOTIME_STRLEN] = "";
	struct cs_alert_fields f = {
		.scenario = a->scenario, .scenario_hash = a->scenario_hash,
		.scenario_version = a->scenario_version, .message = a->message,
		.leakspeed = a->leakspeed, .machine_id = a->machine_id, .start_at = start,
		.stop_at = stop, .capacity = a->capacity, .events_count = a->events_count,
		.simulated = a->simulated, .remediation = a->remediation,
	};
	int err;

	if (!strcmp(name, "StartAt"))
		gotime_format_rfc3339(a->start_at, start, sizeof(start));
	else if (!strcmp(name, "StopAt"))
		gotime_format_rfc3339(a->stop_at, stop, sizeof(stop));
	err = cs_alert_fields_get(&f, name, out);
	if (err != -ENOENT)
		return err;
	if (!strcmp(name, "Source"))
		return *out = expr_host(&cs_source_expr_ops, &o->src), 0;
	if (!strcmp(name, "Events"))
		return *out = expr_host(&events_ops, (void *)a), 0;
	if (!strcmp(name, "Labels"))
		return expr_array_new(0, out);
	if (!strcmp(name, "Meta")) {
		struct expr_value arr;

		err = expr_array_new(a->n_meta, &arr);
		for (size_t i = 0; !err && i < a->n_meta; i++) {
			struct expr_value m;

			err = meta_item(a->meta[i].key, a->meta[i].value, &m);
			if (!err)
				err = expr_array_push_take(&arr, m);
		}
		if (err)
			expr_value_release(&arr);
		else
			*out = arr;
		return err;
	}
	if (!strcmp(name, "Decisions"))
		return decisions_value(a, out);
	return -ENOENT;
}

static int alert_call(struct expr_ctx *c, void *obj, const char *m, const struct expr_value *args,
		      int nargs, struct expr_value *out)
{
	struct alert_obj *o = obj;
	const struct cs_alert *a = o->a;

	/* models.Alert's GetScope/GetValue are its source's */
	if (!strcmp(m, "GetScope") || !strcmp(m, "GetValue"))
		return cs_source_expr_ops.call(c, &o->src, m, args, nargs, out);
	if (!strcmp(m, "GetScenario"))
		return str_out(a->scenario, out);
	if (!strcmp(m, "GetEventsCount"))
		return *out = expr_int(a->events_count), 0;
	if (!strcmp(m, "HasRemediation"))
		return *out = expr_bool(true), 0;
	if (!strcmp(m, "GetMeta")) {
		if (args[0].kind != EXPR_STRING) {
			expr_ctx_errorf(c, "GetMeta: key must be a string");
			return -EINVAL;
		}
		for (size_t i = 0; i < a->n_meta; i++)
			if (a->meta[i].key && !strcmp(a->meta[i].key, expr_str_cstr(&args[0])))
				return str_out(a->meta[i].value, out);
		return expr_string("", out);
	}
	return -ENOENT;
}

static const struct expr_field alert_fields[] = {
	{ "Scenario", &expr_type_string },
	{ "ScenarioHash", &expr_type_string },
	{ "ScenarioVersion", &expr_type_string },
	{ "Message", &expr_type_string },
	{ "Leakspeed", &expr_type_string },
	{ "MachineID", &expr_type_string },
	{ "EventsCount", &expr_type_int },
	{ "Capacity", &expr_type_int },
	{ "Simulated", &expr_type_bool },
	{ "Remediation", &expr_type_bool },
	{ "StartAt", &expr_type_string },
	{ "StopAt", &expr_type_string },
	{ "Source", &cs_source_expr_type },
	{ "Events", &events_type },
	{ "Labels", &expr_type_array_string },
	{ "Meta", &expr_type_array_any },
	{ "Decisions", &expr_type_array_any },
	{ NULL },
};
static const struct expr_method alert_methods[] = {
	{ "GetScope", 0, 0, &expr_type_string },    { "GetValue", 0, 0, &expr_type_string },
	{ "GetScenario", 0, 0, &expr_type_string }, { "GetEventsCount", 0, 0, &expr_type_int },
	{ "GetMeta", 1, 1, &expr_type_string },	    { "HasRemediation", 0, 0, &expr_type_bool },
	{ NULL },
};
static const struct expr_host_ops alert_ops = { EXPR_HOST_RECORD("Alert", alert) };
static const struct expr_type alert_type = { EXPR_HOST, NULL, &alert_ops };

/* ---- database helpers --------------------------------------------------------------------------- */

static int h_decisions_count(struct expr_ctx *c, const struct expr_value *args, int nargs,
			     struct expr_value *out)
{
	struct cs_db *db = expr_ctx_user(c);
	int64_t since = INT64_MIN, d;
	long n = 0;

	if (nargs == 2) {
		if (gotime_parse_duration(expr_str_cstr(&args[1]), &d)) {
			expr_ctx_errorf(c, "GetDecisionsSinceCount: bad duration '%s'",
					expr_str_cstr(&args[1]));
			return -EINVAL;
		}
		since = gotime_now() - d;
	}
	if (db && cs_db_decisions_count_ip(db, expr_str_cstr(&args[0]), since, &n)) {
		expr_ctx_errorf(c, "GetDecisionsCount: database error");
		return -EIO;
	}
	*out = expr_int(n);
	return 0;
}

static const struct expr_func db_funcs[] = {
	{ "GetDecisionsCount", h_decisions_count, 1, 1, { EXPR_STRING }, &expr_type_int, NULL, 0 },
	{ "GetDecisionsSinceCount", h_decisions_count, 2, 2, { EXPR_STRING, EXPR_STRING },
	  &expr_type_int, NULL, 0 },
};

/* ---- the backend -------------------------------------------------------------------------------- */

static struct expr_env *env;
static int env_err;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void env_build(void)
{
	env = expr_env_new();
	if (!env) {
		env_err = -ENOMEM;
		return;
	}
	if (expr_env_add_var(env, "Alert", &alert_type) != 0 ||
	    expr_env_add_helpers(env, EXPR_HELPERS_CROWDSEC) ||
	    expr_env_add_funcs(env, db_funcs, sizeof(db_funcs) / sizeof(db_funcs[0])))
		env_err = -EINVAL;
}

static int x_compile(const char *src, void **out, char *err, size_t errlen)
{
	struct expr_error e = { 0 };
	struct expr_prog *prog = NULL;
	int ret;

	pthread_once(&env_once, env_build);
	if (env_err) {
		snprintf(err, errlen, "expr environment: %s", strerror(-env_err));
		return env_err;
	}
	ret = expr_compile(env, src, &prog, &e);
	if (ret) {
		snprintf(err, errlen, "compilation of '%s' failed: %d:%d: %s", src, e.line, e.column,
			 e.msg);
		return ret;
	}
	*out = prog;
	return 0;
}

static int x_eval(void *prog, const struct cs_alert *a, struct cs_db *db, bool *match, char *err,
		  size_t errlen)
{
	struct alert_obj o = alert_obj(a);
	struct expr_value vars[1] = { expr_host(&alert_ops, &o) };
	struct expr_error e = { 0 };
	int ret = expr_eval_bool(prog, vars, db, match, &e);

	if (ret)
		snprintf(err, errlen, "while running expression %s: %s", expr_prog_source(prog),
			 e.msg);
	return ret;
}

static int x_eval_text(void *prog, const struct cs_alert *a, struct cs_db *db, char *out,
		       size_t outlen, char *err, size_t errlen)
{
	struct alert_obj o = alert_obj(a);
	struct expr_value vars[1] = { expr_host(&alert_ops, &o) }, res = expr_nil();
	struct expr_error e = { 0 };
	char *txt;
	int ret = expr_eval(prog, vars, db, &res, &e);

	if (ret) {
		snprintf(err, errlen, "while running expression %s: %s", expr_prog_source(prog),
			 e.msg);
		return ret;
	}
	txt = expr_value_format(&res);
	expr_value_release(&res);
	if (!txt)
		return -ENOMEM;
	snprintf(out, outlen, "%s", txt);
	free(txt);
	return 0;
}

static void x_free(void *prog)
{
	expr_prog_free(prog);
}

const struct cs_profile_filter_ops cs_profile_expr_filter_ops = {
	.name = "expr",
	.compile = x_compile,
	.eval = x_eval,
	.eval_text = x_eval_text,
	.free = x_free,
};
