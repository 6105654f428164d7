// SPDX-License-Identifier: MIT
/*
 * /v1/alerts: push (profiles -> decisions), search, get, delete.
 *
 * Status codes: bad input (malformed JSON, wrong types, missing fields, bad
 * filters, bad ip/range) is 400 with 1.4.6's message text. 1.4.6 itself answers
 * 500 for schema-validation and filter errors; no Debian client looks at the
 * code beyond 2xx/non-2xx, and a 4xx tells the truth about whose fault it is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "lapi/lapi_int.h"

#define BAD_INPUT 400

static bool parse_id(const char *s, int64_t *id)
{
	char *end;
	long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*id = v;
	return true;
}

/* The "validation failure list" answer of 1.4.6 for missing fields. */
static void reply_missing(struct req *r, json_t *miss)
{
	char buf[4096] = "validation failure list:";
	size_t k;
	json_t *m;

	json_array_foreach(miss, k, m) {
		size_t bl = strlen(buf);

		snprintf(buf + bl, sizeof(buf) - bl, "\n%s", json_string_value(m));
	}
	reply_msg(r, BAD_INPUT, "%s", buf);
}

/* A push between its decode and its answer (the connection may be suspended meanwhile). */
struct push {
	struct cs_lapi *l;
	struct cs_alert **v;
	size_t n;
	int64_t *ids;
	struct lapi_store st;
};

static void push_free(void *arg)
{
	struct push *p = arg;

	if (!p)
		return;
	if (p->st.keep) { /* committed, but the listener stopped before answering */
		char msg[256];

		lapi_store_end(p->l, &p->st, p->st.commit.err, msg, sizeof(msg));
	}
	cs_alerts_free(p->v, p->n);
	free(p->ids);
	free(p);
}

/* After the commit: the 201 answer with the new ids, or the error. */
static void push_answer(struct req *r, struct push *p, int err)
{
	char msg[1024] = "";
	struct sbuf ids = { 0 };
	char *body;
	size_t len;
	int ret = lapi_store_end(r->l, &p->st, err, msg, sizeof(msg));

	if (ret == -EINVAL) {
		reply_msg(r, BAD_INPUT, "%s", msg);
		return;
	} else if (ret == -EACCES) { /* the insert found the owner gone: which answer */
		if (auth_machine_row(r))
			reply_jwt_error(r, "machine not validated");
		return;
	} else if (ret == -EAGAIN) {
		reply_msg(r, 503, "%s", msg);
		return;
	} else if (ret) {
		reply_msg(r, 500, "%s", msg);
		return;
	}
	/* ["id",...] written as it goes: no DOM (nor printf) for a list of numbers */
	sb_putc(&ids, '[');
	for (size_t i = 0; i < p->n; i++) {
		if (p->ids[i] <= 0) /* 0: allowlisted, not stored */
			continue;
		sb_puts(&ids, ids.len > 1 ? ",\"" : "\"");
		sb_put_u64(&ids, (unsigned long long)p->ids[i]);
		sb_putc(&ids, '"');
	}
	sb_putc(&ids, ']');
	body = sb_take(&ids, &len);
	if (!body)
		reply_msg(r, 500, "out of memory");
	else
		reply_raw(r, 201, "application/json; charset=utf-8", body, len);
}

static void push_resumed(struct req *r)
{
	struct push *p = r->pending;

	r->pending = NULL;
	r->resume = NULL;
	push_answer(r, p, p->st.commit.err);
	push_free(p);
}

/*
 * SQLite: the push answered once in the alert journal (journal.c), its machine
 * checked first (nothing looks it up later). false: not journaled (PostgreSQL,
 * an import, a full journal), the group commit takes it.
 */
static bool push_journaled(struct req *r, struct push *p)
{
	char msg[1024] = "";
	struct jsub *s;

	if (!r->l->journal)
		return false;
	if (r->row_deferred && !auth_machine_row(r)) { /* replied 401 (or 500) */
		lapi_store_end(r->l, &p->st, -EACCES, msg, sizeof(msg));
		push_free(p);
		return true;
	}
	if (lapi_journal_append(r->l, &p->st, &s))
		return false;
	push_answer(r, p, 0); /* ids, notifications, signals, the uuids remembered */
	lapi_journal_commit(r->l, s, p->v, p->n);
	p->v = NULL;
	push_free(p);
	return true;
}

/*
 * Profiles, then the journal, else the group commit with the connection
 * suspended meanwhile (push_resumed answers). Takes v.
 */
static void push_store(struct req *r, struct cs_alert **v, size_t n, int64_t now)
{
	struct push *p = calloc(1, sizeof(*p));
	char msg[1024] = "";
	int ret;

	if (!p || !(p->ids = calloc(n + 1, sizeof(*p->ids)))) {
		cs_alerts_free(v, n);
		free(p);
		reply_msg(r, 500, "out of memory");
		return;
	}
	p->l = r->l;
	p->v = v;
	p->n = n;
	for (size_t i = 0; i < n; i++) /* the machine's row: checked where they are stored */
		v[i]->owner_must_be_validated = true;
	ret = lapi_store_begin(r->l, &p->st, v, n, r->machine, now, p->ids, msg, sizeof(msg));
	if (ret) {
		reply_msg(r, ret == -EINVAL ? BAD_INPUT : 500, "%s", msg);
		push_free(p);
		return;
	}
	if (p->st.commit.n && push_journaled(r, p))
		return;
	if (p->st.commit.n) {
		/* set before the connection can be resumed: the writer may do it at once */
		r->pending = p;
		r->pending_free = push_free;
		r->resume = push_resumed;
		ret = lapi_commit_suspend(r->l, &p->st.commit, r->conn);
		if (ret == -EINPROGRESS)
			return;
		r->pending = NULL;
		r->pending_free = NULL;
		r->resume = NULL;
	} else if (r->row_deferred && !auth_machine_row(r)) { /* no insert looked it up: 401 */
		lapi_store_end(r->l, &p->st, -EACCES, msg, sizeof(msg));
		push_free(p);
		return;
	}
	push_answer(r, p, ret);
	push_free(p);
}

/*
 * A bulk body (cscli decisions import): decisions decoded in place by the
 * scanner; malformed JSON is reported with the scanner's message.
 */
static void push_bulk(struct req *r, int64_t now)
{
	struct alerts_bulk b;
	json_t *miss = json_array();
	char msg[1024] = "";
	int ret;

	if (!miss) {
		reply_msg(r, 500, "out of memory");
		return;
	}
	/* no depth pre-pass here: the scanner bounds every value it steps over */
	ret = alerts_bulk_decode(r->body, r->len, now, &b, msg, sizeof(msg), miss);
	if (ret == -EBADMSG || ret == -EPROTO)
		reply_msg(r, BAD_INPUT, "%s", msg);
	else if (ret == -EINVAL)
		reply_missing(r, miss);
	else if (ret)
		reply_msg(r, 500, "out of memory");
	else {
		/* the store sets each alert's owner */
		push_store(r, b.v, b.n, now); /* takes the alerts; the body they borrow stays */
		b.v = NULL;
		b.n = 0;
	}
	alerts_bulk_free(&b);
	json_decref(miss);
}

void h_alerts_push(struct req *r)
{
	json_t *j, *miss = NULL, *el;
	struct cs_alert **v = NULL;
	int64_t now = gotime_now();
	char msg[1024] = "";
	size_t n = 0, i;
	int ret = 0;

	if (r->len > LAPI_BULK_BODY && r->body[strspn(r->body, " \t\r\n")] == '[') {
		push_bulk(r, now);
		return;
	}
	/* the usual body, without a DOM; anything it declines takes the path below */
	if (r->len && !codec_alerts_fast(r->body, r->len, now, &v, &n)) {
		req_body_release(r);
		push_store(r, v, n, now); /* takes v; the store sets each alert's owner */
		return;
	}
	j = req_json(r);
	if (!j)
		return;
	/* a bulk import can be hundreds of MB: drop each representation once decoded */
	req_body_release(r);
	if (!json_is_array(j)) {
		reply_msg(r, BAD_INPUT,
			  "json: cannot unmarshal %s into Go value of type models.AddAlertsRequest",
			  json_is_object(j) ? "object" : "value");
		goto out;
	}
	miss = json_array();
	v = calloc(json_array_size(j) + 1, sizeof(*v));
	if (!miss || !v) {
		reply_msg(r, 500, "out of memory");
		goto out;
	}
	json_array_foreach(j, i, el) {
		int e = codec_alert_decode(el, i, now, &v[n], msg, sizeof(msg), miss);

		if (e == -EBADMSG || e == -ENOMEM) {
			ret = e;
			break;
		}
		if (e) {
			ret = ret ? ret : e;
			continue;
		}
		n++;
	}
	if (ret == -EBADMSG) {
		reply_msg(r, BAD_INPUT, "%s", msg);
		goto out;
	} else if (ret == -EINVAL) {
		reply_missing(r, miss);
		goto out;
	} else if (ret) {
		reply_msg(r, 500, "out of memory");
		goto out;
	}
	json_decref(j);
	j = NULL;
	push_store(r, v, n, now); /* takes v; the store sets each alert's owner */
	v = NULL;
	n = 0;
out:
	cs_alerts_free(v, n);
	json_decref(miss);
	json_decref(j);
}

static const char *const alert_filter_keys[] = {
	"scope",       "value",	       "scenario",	      "ip",	   "range",
	"contains",    "since",	       "until",		      "created_before", "decision_type",
	"origin",      "include_capi", "has_active_decision", "simulated", "limit",
	"sort",
};

static int rel_time(struct req *r, const char *v, int64_t now, int64_t *out)
{
	int64_t d;

	if (gotime_parse_duration_days(v, &d)) {
		reply_msg(r, BAD_INPUT, "while parsing duration: time: invalid duration \"%s\"", v);
		return -EINVAL;
	}
	*out = now - d;
	return 0;
}

static int afilter_parse(struct req *r, struct cs_afilter *f, int64_t now)
{
	const struct qarg *unknown;
	const char *v;
	bool b;

	memset(f, 0, sizeof(*f));
	f->has_active_decision = -1;
	f->contains = true;
	f->limit = 100;
	unknown = req_unknown_arg(r, alert_filter_keys,
				  sizeof(alert_filter_keys) / sizeof(alert_filter_keys[0]));
	if (unknown) {
		reply_msg(r, BAD_INPUT, "Filter parameter '%s' is unknown (=%s): invalid filter",
			  unknown->key, unknown->val);
		return -EINVAL;
	}
	f->scope = req_arg(r, "scope");
	f->value = req_arg(r, "value");
	f->scenario = req_arg(r, "scenario");
	f->decision_type = req_arg(r, "decision_type");
	f->origin = req_arg(r, "origin");
	if (req_range_filter(r, &f->range, &f->has_range, &f->contains))
		return -EINVAL;
	if ((v = req_arg(r, "since")) && rel_time(r, v, now, &f->since))
		return -EINVAL;
	f->has_since = v != NULL;
	if ((v = req_arg(r, "until")) && rel_time(r, v, now, &f->until))
		return -EINVAL;
	f->has_until = v != NULL;
	if ((v = req_arg(r, "created_before")) && rel_time(r, v, now, &f->created_before))
		return -EINVAL;
	f->has_created_before = v != NULL;
	if ((v = req_arg(r, "include_capi")) && go_parse_bool(v, &b))
		f->exclude_capi = !b;
	if (f->origin)
		f->exclude_capi = false;
	if ((v = req_arg(r, "has_active_decision"))) {
		if (!go_parse_bool(v, &b)) {
			reply_msg(r, BAD_INPUT, "'%s' is not a boolean: strconv.ParseBool: parsing"
						" \"%s\": invalid syntax: unable to parse type", v, v);
			return -EINVAL;
		}
		f->has_active_decision = b;
	}
	if ((v = req_arg(r, "simulated")) && go_parse_bool(v, &b))
		f->exclude_simulated = !b;
	if ((v = req_arg(r, "limit"))) {
		char *end;

		errno = 0;
		f->limit = strtol(v, &end, 10);
		if (errno || !*v || *end || f->limit < 0) {
			reply_msg(r, BAD_INPUT, "bad limit in parameters: [%s]", v);
			return -EINVAL;
		}
	}
	v = req_arg(r, "sort");
	f->sort_asc = v && !strcmp(v, "ASC");
	return 0;
}

void h_alerts_search(struct req *r)
{
	int64_t now = gotime_now();
	struct cs_alert **v = NULL;
	struct cs_afilter f;
	json_t *arr;
	size_t n = 0;

	if (!lapi_journal_read_ready(r)) /* what was acknowledged before is visible, or 503 */
		return;
	if (afilter_parse(r, &f, now))
		return;
	if (cs_db_alerts_search(r->l->db, &f, now, &v, &n)) {
		reply_msg(r, 500, "database error: %s", cs_db_errmsg(r->l->db));
		return;
	}
	if (r->head) {
		reply_raw(r, 200, "text/plain; charset=utf-8", NULL, 0);
		goto out;
	}
	if (!n) {
		reply_json(r, 200, json_null());
		goto out;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, codec_alert_encode(v[i]));
	reply_json(r, 200, arr);
out:
	cs_alerts_free(v, n);
}

void h_alerts_delete(struct req *r)
{
	int64_t now = gotime_now();
	struct cs_afilter f;
	char b[32];
	long n = 0;

	if (!lapi_journal_read_ready(r)) /* what was acknowledged before is visible, or 503 */
		return;
	if (afilter_parse(r, &f, now))
		return;
	f.limit = 0;
	if (cs_db_alerts_delete(r->l->db, &f, now, &n)) {
		reply_msg(r, 500, "database error: %s", cs_db_errmsg(r->l->db));
		return;
	}
	snprintf(b, sizeof(b), "%ld", n);
	reply_json(r, 200, json_pack("{s:s}", "nbDeleted", b));
}

/*
 * The alert a /v1/alerts/{id} request names, once what was acknowledged before it is
 * visible; false when the id is not an integer, or not visible in time (answered here).
 */
static bool alert_id_of(struct req *r, int64_t *id)
{
	if (!lapi_journal_read_ready(r)) /* answered 503 */
		return false;
	if (!parse_id(r->param, id)) {
		reply_msg(r, BAD_INPUT, "alert_id must be valid integer");
		return false;
	}
	return true;
}

void h_alert_get(struct req *r)
{
	struct cs_alert *a = NULL;
	int64_t id;
	int ret;

	if (!alert_id_of(r, &id))
		return;
	ret = cs_db_alert_get(r->l->db, id, gotime_now(), &a);
	if (ret == -ENOENT) {
		reply_msg(r, 404, "object not found");
		return;
	} else if (ret) {
		reply_msg(r, 500, "database error: %s", cs_db_errmsg(r->l->db));
		return;
	}
	if (r->head)
		reply_raw(r, 200, "text/plain; charset=utf-8", NULL, 0);
	else
		reply_json(r, 200, codec_alert_encode(a));
	cs_alert_free(a);
}

void h_alert_delete(struct req *r)
{
	int64_t id;
	int ret;

	if (!alert_id_of(r, &id))
		return;
	ret = cs_db_alert_delete(r->l->db, id);
	if (ret == -ENOENT)
		reply_msg(r, 404, "ent: alert not found");
	else if (ret)
		reply_msg(r, 500, "database error: %s", cs_db_errmsg(r->l->db));
	else
		reply_json(r, 200, json_pack("{s:s}", "nbDeleted", "1"));
}
