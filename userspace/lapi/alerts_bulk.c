// SPDX-License-Identifier: MIT
/*
 * Large POST /v1/alerts bodies (`cscli decisions import`: one alert carrying up
 * to millions of decisions). jansson would build ~1.2 KiB of objects per
 * decision and take ~10 us each; here each alert's "decisions" array is walked
 * with the jscan pull scanner and its strings are decoded in place in the
 * request body, which the decisions then borrow. Every other member of the
 * alert is small and goes through jansson and codec_alert_decode() as usual,
 * so alert-level validation and messages are the normal path's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/jscan.h"
#include "common/vec.h"
#include "lapi/lapi_int.h"

static const char *const decision_fields[] = { "duration", "origin", "scenario",
					       "scope",	   "type",   "value" };
#define N_DECISION_FIELDS (sizeof(decision_fields) / sizeof(decision_fields[0]))

struct bulk_ctx {
	struct jscan s;
	size_t idx; /* alert index */
	char *msg;
	size_t msglen;
	json_t *missing;
	int err;
	const char *last_duration; /* the last valid duration (in the body) and its value */
	int64_t last_parsed;
};

static void bulk_type_error(struct bulk_ctx *c, const char *kind, const char *field)
{
	if (c->err == -EBADMSG)
		return;
	snprintf(c->msg, c->msglen,
		 "json: cannot unmarshal %s into Go struct field Decision.%s of type string", kind,
		 field);
	c->err = -EBADMSG;
}

/* decision_fields[]'s index of key, N_DECISION_FIELDS if none: one strcmp a key
 * (a linear search cost ~3 each, ~25 a decision: a tenth of the decode) */
static size_t decision_field(const char *key)
{
	size_t k;

	switch (key[0]) {
	case 'd': k = 0; break;
	case 'o': k = 1; break;
	case 's': k = key[1] == 'c' && key[2] == 'e' ? 2 : 3; break;
	case 't': k = 4; break;
	case 'v': k = 5; break;
	default: return N_DECISION_FIELDS;
	}
	return strcmp(key, decision_fields[k]) ? N_DECISION_FIELDS : k;
}

/* One element of a decisions array: the same checks as codec.c's decode_decision. */
static void bulk_decision(struct bulk_ctx *c, size_t j, struct cs_decision *d)
{
	char *val[N_DECISION_FIELDS] = { 0 }, *key, *b, *e;
	bool first = true;

	if (jscan_peek(&c->s) != '{') {
		if (c->err != -EBADMSG) {
			snprintf(c->msg, c->msglen,
				 "json: cannot unmarshal %s into Go struct field Alert.decisions of"
				 " type models.Decision",
				 jscan_kind(&c->s));
			c->err = -EBADMSG;
		}
		jscan_skip(&c->s, &b, &e);
		return;
	}
	c->s.p++;
	while ((key = jscan_next_key(&c->s, first))) {
		size_t k;

		first = false;
		k = decision_field(key);
		if (k == N_DECISION_FIELDS || jscan_peek(&c->s) == 'n') {
			if (k < N_DECISION_FIELDS)
				val[k] = NULL; /* null is "absent" (a later duplicate key wins) */
			jscan_skip(&c->s, &b, &e);
		} else if (jscan_peek(&c->s) != '"') {
			bulk_type_error(c, jscan_kind(&c->s), decision_fields[k]);
			jscan_skip(&c->s, &b, &e);
		} else {
			val[k] = jscan_string(&c->s, NULL);
		}
	}
	if (jscan_failed(&c->s))
		return;
	for (size_t k = 0; k < N_DECISION_FIELDS; k++) {
		if (val[k])
			continue;
		char buf[128];

		snprintf(buf, sizeof(buf), "%zu.decisions.%zu.%s in body is required", c->idx, j,
			 decision_fields[k]);
		json_array_append_new(c->missing, json_string(buf));
		if (!c->err)
			c->err = -EINVAL;
	}
	if (val[0] && c->last_duration && !strcmp(val[0], c->last_duration)) {
		d->duration = c->last_parsed; /* an import: the same duration all along */
	} else if (val[0] && gotime_parse_duration(val[0], &d->duration)) {
		if (!c->err) {
			snprintf(c->msg, c->msglen,
				 "decision duration '%s' : time: invalid duration \"%s\"", val[0],
				 val[0]);
			c->err = -EBADMSG;
		}
	} else if (val[0]) {
		c->last_duration = val[0];
		c->last_parsed = d->duration;
	}
	d->origin = val[1];
	d->scenario = val[2];
	d->scope = val[3];
	d->type = val[4];
	d->value = val[5];
}

static int bulk_decisions(struct bulk_ctx *c, struct cs_decision **out, size_t *n)
{
	struct cs_decision *v = NULL;
	size_t cnt = 0, cap = 0;
	bool first = true;

	c->s.p++; /* '[' */
	while (jscan_next_elem(&c->s, first) && c->err != -EBADMSG) {
		first = false;
		if (vec_reserve((void **)&v, &cap, cnt, sizeof(*v), 64)) {
			free(v);
			return -ENOMEM;
		}
		memset(&v[cnt], 0, sizeof(v[cnt]));
		bulk_decision(c, cnt, &v[cnt]);
		cnt++;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* One alert: its members except "decisions" become a jansson object. */
static int bulk_alert(struct bulk_ctx *c, int64_t now, struct cs_alert **out)
{
	struct cs_decision *dv = NULL;
	size_t dn = 0;
	bool first = true, have_dv = false;
	json_t *o = json_object();
	char *key, *b, *e;
	int ret;

	if (!o)
		return -ENOMEM;
	c->s.p++; /* '{' */
	while ((key = jscan_next_key(&c->s, first))) {
		first = false;
		if (!strcmp(key, "decisions") && jscan_peek(&c->s) == '[') {
			free(dv); /* a duplicate key: the last one wins, as in jansson */
			json_object_del(o, "decisions");
			ret = bulk_decisions(c, &dv, &dn);
			if (ret) {
				json_decref(o);
				return ret;
			}
			have_dv = true;
			if (c->err == -EBADMSG)
				break;
			continue;
		}
		if (!jscan_skip(&c->s, &b, &e))
			break;
		json_t *v = json_loadb(b, (size_t)(e - b), JSON_DECODE_ANY, NULL);

		if (!v) {
			jscan_fail(&c->s, "invalid value");
			break;
		}
		if (!strcmp(key, "decisions")) {
			free(dv);
			dv = NULL;
			dn = 0;
			have_dv = false;
		}
		json_object_set_new(o, key, v);
	}
	if (jscan_failed(&c->s) || c->err == -EBADMSG) {
		free(dv);
		json_decref(o);
		return c->err == -EBADMSG ? -EBADMSG : -EPROTO;
	}
	ret = codec_alert_decode(o, c->idx, now, out, c->msg, c->msglen, c->missing);
	json_decref(o);
	if (ret == -EINVAL || !ret) {
		if (c->err && !ret)
			ret = c->err;
		if (*out && have_dv) {
			(*out)->decisions = dv;
			(*out)->n_decisions = dn;
			(*out)->decisions_borrowed = true;
			dv = NULL;
		}
	}
	free(dv);
	return ret ? ret : c->err;
}

int alerts_bulk_decode(char *body, size_t len, int64_t now, struct alerts_bulk *out, char *msg,
		       size_t msglen, json_t *missing)
{
	struct bulk_ctx c = { .msg = msg, .msglen = msglen, .missing = missing };
	size_t cap = 0;
	bool first = true;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	jscan_init(&c.s, body, len, LAPI_MAX_JSON_DEPTH);
	if (!jscan_eat(&c.s, '['))
		return -EPROTO;
	for (c.idx = 0; jscan_next_elem(&c.s, first); c.idx++) {
		struct cs_alert *a = NULL;
		int e;

		first = false;
		if (vec_reserve((void **)&out->v, &cap, out->n, sizeof(*out->v), 8)) {
			ret = -ENOMEM;
			break;
		}
		c.err = 0;
		if (jscan_peek(&c.s) != '{') {
			snprintf(msg, msglen,
				 "json: cannot unmarshal %s into Go value of type models.Alert",
				 jscan_kind(&c.s));
			ret = -EBADMSG;
			break;
		}
		e = bulk_alert(&c, now, &a);
		if (a)
			out->v[out->n++] = a;
		if (e == -EBADMSG || e == -ENOMEM || e == -EPROTO) {
			ret = e;
			break;
		}
		if (e && !ret)
			ret = e;
	}
	if (!ret && jscan_failed(&c.s))
		ret = -EPROTO;
	if (!ret && jscan_peek(&c.s)) {
		jscan_fail(&c.s, "trailing data");
		ret = -EPROTO;
	}
	if (ret == -EPROTO)
		snprintf(msg, msglen, "%s", c.s.err);
	return ret;
}

void alerts_bulk_free(struct alerts_bulk *b)
{
	cs_alerts_free(b->v, b->n);
	memset(b, 0, sizeof(*b));
}
