// SPDX-License-Identifier: MIT
/*
 * /v1/decisions (bouncer query, machine soft-delete) and /v1/decisions/stream
 * (contract sections 2.9-2.12 and 3). Filter errors are 400 (see h_alerts.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "common/gotime.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/utf8.h"
#include "lapi/lapi_int.h"

#define BAD_INPUT 400

enum dmode { DM_GET, DM_STREAM, DM_DELETE };

struct dlists {
	char *items[4][LAPI_MAX_LIST_ITEMS];
	size_t n[4];
};

static void dlists_free(struct dlists *l)
{
	for (int k = 0; k < 4; k++)
		for (size_t i = 0; i < l->n[k]; i++)
			free(l->items[k][i]);
}

/* Split a comma list into slot k; 0 or -E2BIG. */
static int split_list(struct dlists *l, int k, const char *v, bool scopes)
{
	const char *p = v;

	while (*p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		char *item;

		if (n) {
			if (l->n[k] >= LAPI_MAX_LIST_ITEMS)
				return -E2BIG;
			item = strndup(p, n);
			if (!item)
				return -ENOMEM;
			if (scopes) {
				const char *ns = cs_scope_normalize(item);

				if (ns != item) {
					free(item);
					item = strdup(ns);
					if (!item)
						return -ENOMEM;
				}
			}
			l->items[k][l->n[k]++] = item;
		}
		p += n + (c ? 1 : 0);
	}
	return 0;
}

static const char *const delete_keys[] = { "scopes", "origin", "value", "type",
					   "scenario", "ip",	 "range", "contains" };

static int dfilter_parse(struct req *r, enum dmode mode, struct cs_dfilter *f,
			 struct dlists *l)
{
	const char *v;
	int ret = 0;

	memset(f, 0, sizeof(*f));
	memset(l, 0, sizeof(*l));
	f->contains = true;
	if (mode == DM_DELETE) {
		const struct qarg *unknown =
			req_unknown_arg(r, delete_keys, sizeof(delete_keys) / sizeof(delete_keys[0]));

		if (unknown) {
			reply_msg(r, BAD_INPUT, "'%s' doesn't exist: invalid filter", unknown->key);
			return -EINVAL;
		}
		f->include_simulated = true;
		if ((v = req_arg(r, "scopes")) && !(ret = split_list(l, 0, "x", false))) {
			free(l->items[0][0]);
			l->items[0][0] = strdup(v);
			if (!l->items[0][0])
				ret = -ENOMEM;
		}
		if (!ret && (v = req_arg(r, "origin")) && !(ret = split_list(l, 1, "x", false))) {
			free(l->items[1][0]);
			l->items[1][0] = strdup(v);
			if (!l->items[1][0])
				ret = -ENOMEM;
		}
		f->scenario = req_arg(r, "scenario");
	} else {
		v = req_arg(r, "scopes");
		if (!v && mode == DM_STREAM)
			v = "ip,range";
		if (v)
			ret = split_list(l, 0, v, true);
		if (!ret && (v = req_arg(r, "origins")))
			ret = split_list(l, 1, v, false);
		if (!ret && (v = req_arg(r, "scenarios_containing")))
			ret = split_list(l, 2, v, false);
		if (!ret && (v = req_arg(r, "scenarios_not_containing")))
			ret = split_list(l, 3, v, false);
		v = req_arg(r, "simulated");
		f->include_simulated = v && strcmp(v, "false");
		v = req_arg(r, "dedup");
		f->no_dedup = v && !strcmp(v, "false");
	}
	if (ret) {
		reply_msg(r, BAD_INPUT, "filter list too long (max %d items)", LAPI_MAX_LIST_ITEMS);
		dlists_free(l);
		return -EINVAL;
	}
	f->scopes = l->items[0];
	f->n_scopes = l->n[0];
	f->origins = l->items[1];
	f->n_origins = l->n[1];
	f->sc_contains = l->items[2];
	f->n_sc_contains = l->n[2];
	f->sc_not_contains = l->items[3];
	f->n_sc_not_contains = l->n[3];
	f->value = req_arg(r, "value");
	f->type = req_arg(r, "type");
	if (req_range_filter(r, &f->range, &f->has_range, &f->contains)) {
		dlists_free(l);
		return -EINVAL;
	}
	return 0;
}

static void sb_list(struct sbuf *b, const struct cs_decision *v, size_t n);
static char *sb_render(const struct cs_decision *v, size_t n, size_t *len);

void h_decisions_get(struct req *r)
{
	int64_t now = gotime_now();
	struct cs_decision *v = NULL;
	struct cs_dfilter f;
	struct dlists l;
	size_t n = 0;

	if (!lapi_journal_read_ready(r)) /* what was acknowledged before is visible, or 503 */
		return;
	if (dfilter_parse(r, DM_GET, &f, &l))
		return;
	if (cs_db_decisions_active(r->l->db, &f, now, &v, &n)) {
		reply_msg(r, 500, "database error: %s", cs_db_errmsg(r->l->db));
		goto out;
	}
	cs_metrics_inc(r->l->metrics, n ? M_DECISIONS_OK : M_DECISIONS_KO, r->bouncer.name, NULL,
		       NULL);
	if (now - r->bouncer.last_pull >= 60 * NSEC_PER_SEC)
		bcache_pulled(r->l, &r->bouncer, now, true);
	if (r->head)
		reply_raw(r, 200, "text/plain; charset=utf-8", NULL, 0);
	else {
		size_t len = 0;
		char *body = sb_render(v, n, &len);

		if (body)
			reply_raw(r, 200, "application/json; charset=utf-8", body, len);
		else
			reply_msg(r, 500, "out of memory");
	}
out:
	cs_decisions_free(v, n);
	dlists_free(&l);
}

/*
 * The stream body is built incrementally (one small jansson object per
 * decision) so a startup answer with a million decisions never holds a
 * million json_t at once (common/strbuf).
 */

/*
 * A JSON string for the stream. Strings made only of characters that never
 * need escaping (IPs, CIDRs, scenario names...) are copied as they are; any
 * other goes through jansson. Same bytes as json_dumps, several times faster
 * on a million-decision startup answer.
 */
static bool plain_char[256];
static pthread_once_t plain_once = PTHREAD_ONCE_INIT;

static void plain_init(void)
{
	for (int c = 0; c < 256; c++)
		plain_char[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				(c >= '0' && c <= '9') || (c && strchr(" ._:/-'()+,;=@#", c));
}

static void sb_str(struct sbuf *b, const char *s)
{
	const char *p;

	pthread_once(&plain_once, plain_init);
	for (p = s; plain_char[(unsigned char)*p]; p++)
		;
	if (!*p) {
		sb_putn(b, "\"", 1);
		sb_putn(b, s, (size_t)(p - s));
		sb_putn(b, "\"", 1);
		return;
	}
	json_t *j = utf8_json_string(s);
	char *e = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	json_decref(j);
	if (!e) {
		b->err = -ENOMEM;
		return;
	}
	sb_putn(b, e, strlen(e));
	free(e);
}

/*
 * The last duration rendered: a startup answer of an imported list has one
 * until for a million rows, and Go's duration format is the costly part.
 */
struct dur_cache {
	int64_t duration;
	bool valid;
	size_t len;
	char text[GOTIME_STRLEN];
};

static void sb_item_dur(struct sbuf *b, const struct cs_decision *d, bool first,
			struct dur_cache *dc)
{
	if (!dc->valid || dc->duration != d->duration) {
		gotime_format_duration(d->duration, dc->text, sizeof(dc->text));
		dc->len = strlen(dc->text);
		dc->duration = d->duration;
		dc->valid = true;
	}
	sb_putn(b, first ? "{\"duration\":\"" : ",{\"duration\":\"", first ? 13 : 14);
	sb_putn(b, dc->text, dc->len);
	sb_putn(b, "\",\"id\":", 7);
	sb_put_u64(b, d->id < 0 ? 0 : (unsigned long long)d->id);
	sb_putn(b, ",\"origin\":", 10);
	sb_str(b, d->origin ? d->origin : "");
	sb_putn(b, ",\"scenario\":", 12);
	sb_str(b, d->scenario ? d->scenario : "");
	sb_putn(b, ",\"scope\":", 9);
	sb_str(b, d->scope ? d->scope : "");
	sb_putn(b, ",\"type\":", 8);
	sb_str(b, d->type ? d->type : "");
	sb_putn(b, ",\"value\":", 9);
	sb_str(b, d->value ? d->value : "");
	sb_putn(b, "}", 1);
}

static void sb_item(struct sbuf *b, const struct cs_decision *d, bool first)
{
	struct dur_cache dc = { 0 };

	sb_item_dur(b, d, first, &dc);
}

static void sb_list(struct sbuf *b, const struct cs_decision *v, size_t n)
{
	if (!n) {
		sb_putn(b, "null", 4);
		return;
	}
	sb_putn(b, "[", 1);
	for (size_t i = 0; i < n && !b->err; i++)
		sb_item(b, &v[i], i == 0);
	sb_putn(b, "]", 1);
}

static char *sb_render(const struct cs_decision *v, size_t n, size_t *len)
{
	struct sbuf b = { 0 };

	sb_list(&b, v, n);
	if (b.err) {
		sb_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.buf;
}

/* Stream rendering state: rows arrive deleted first, then new (db.h). */
struct stream_out {
	struct sbuf b;
	int phase; /* 0: nothing yet, 1: in deleted, 2: in new */
	size_t count;
	struct dur_cache dur;
};

/* close the list of the current phase ("null" when it had no element) */
static void stream_close(struct stream_out *o)
{
	sb_putn(&o->b, o->count ? "]" : "null", o->count ? 1 : 4);
}

static void stream_advance(struct stream_out *o, int want)
{
	while (o->phase < want) {
		if (o->phase == 1)
			stream_close(o);
		o->phase++;
		o->count = 0;
		sb_putn(&o->b, o->phase == 1 ? "{\"deleted\":" : ",\"new\":", o->phase == 1 ? 11 : 7);
	}
}

static int stream_row(void *ctx, bool deleted, const struct cs_decision *d)
{
	struct stream_out *o = ctx;

	stream_advance(o, deleted ? 1 : 2);
	if (!o->count)
		sb_putn(&o->b, "[", 1);
	sb_item_dur(&o->b, d, o->count == 0, &o->dur);
	o->count++;
	return o->b.err;
}

static void stream_finish(struct stream_out *o)
{
	stream_advance(o, 2);
	stream_close(o);
	sb_putn(&o->b, "}", 1);
}

#define STREAM_ROWS_PER_STEP 512 /* rows rendered per lock of the stream index */

/*
 * A startup answer walked from the stream index as MHD sends it, gzip'ed when
 * the client asked for it (level 1: the Go bouncers ask, and a million
 * decisions shrink ~10x for ~1 s of CPU; loopback clients get it plain).
 */
struct stream_body {
	struct cs_db_stream *st;
	struct stream_out o;
	size_t off; /* bytes of o.b already handed to MHD (or to zlib) */
	bool done;
	bool gzip, zdone;
	z_stream zs;
};

/* Render more rows into o.b (what was consumed is dropped first); -1 on error. */
static int stream_body_fill(struct stream_body *sb)
{
	int ret;

	if (sb->off) {
		memmove(sb->o.b.buf, sb->o.b.buf + sb->off, sb->o.b.len - sb->off);
		sb->o.b.len -= sb->off;
		sb->off = 0;
	}
	ret = cs_db_stream_next(sb->st, STREAM_ROWS_PER_STEP, stream_row, &sb->o);
	if (ret < 0 || sb->o.b.err) {
		log_warn("startup stream aborted (%d)", ret);
		return -1;
	}
	if (!ret) {
		stream_finish(&sb->o);
		sb->done = !sb->o.b.err;
		return sb->o.b.err ? -1 : 0;
	}
	return 0;
}

static ssize_t stream_body_gzip(struct stream_body *sb, char *buf, size_t max)
{
	sb->zs.next_out = (Bytef *)buf;
	sb->zs.avail_out = (uInt)max;
	while (sb->zs.avail_out && !sb->zdone) {
		int zr;

		if (sb->off == sb->o.b.len && !sb->done) {
			if (stream_body_fill(sb))
				return MHD_CONTENT_READER_END_WITH_ERROR;
			continue;
		}
		sb->zs.next_in = (Bytef *)sb->o.b.buf + sb->off;
		sb->zs.avail_in = (uInt)(sb->o.b.len - sb->off);
		zr = deflate(&sb->zs, sb->done ? Z_FINISH : Z_NO_FLUSH);
		sb->off = sb->o.b.len - sb->zs.avail_in;
		if (zr == Z_STREAM_END)
			sb->zdone = true;
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (sb->zs.avail_out == max && sb->zdone)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return (ssize_t)(max - sb->zs.avail_out);
}

static ssize_t stream_body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream_body *sb = cls;
	size_t n;

	if (sb->gzip)
		return stream_body_gzip(sb, buf, max);
	while (!sb->done && sb->o.b.len - sb->off < max)
		if (stream_body_fill(sb))
			return MHD_CONTENT_READER_END_WITH_ERROR;
	n = sb->o.b.len - sb->off;
	if (!n)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n > max)
		n = max;
	memcpy(buf, sb->o.b.buf + sb->off, n);
	sb->off += n;
	return (ssize_t)n;
}

static void stream_body_free(void *cls)
{
	struct stream_body *sb = cls;

	cs_db_stream_end(sb->st);
	if (sb->gzip)
		deflateEnd(&sb->zs);
	sb_free(&sb->o.b);
	free(sb);
}

/* gzip accepted, and worth it: not on loopback, where it only costs CPU */
static bool wants_gzip(struct req *r)
{
	const char *ae = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept-Encoding");

	return ae && strstr(ae, "gzip") && strcmp(r->ip, "127.0.0.1") && strcmp(r->ip, "::1");
}

/*
 * 1.4.6 semantics from SQL, for the filters the stream index does not serve;
 * the bouncer's last_pull is the caller's to record.
 */
static int stream_sql(struct req *r, const struct cs_dfilter *f, bool startup, int64_t now,
		      struct stream_out *o)
{
	return cs_db_decisions_stream_each(r->l->db, f, startup, r->bouncer.last_pull, now, 0,
					   stream_row, o);
}

/*
 * The answer from the bouncer's last_pull: a startup answer from the index is
 * left in *st (rendered as it is sent), any other goes through o.
 */
static int stream_collect(struct req *r, const struct cs_dfilter *f, bool startup, int64_t now,
			  struct cs_db_stream **st, struct stream_out *o, int64_t *stamp)
{
	int err;

	*stamp = now;
	err = cs_db_stream_begin(r->l->db, f, startup, r->bouncer.last_pull, now, st, stamp);
	if (err == -EOPNOTSUPP)
		return stream_sql(r, f, startup, now, o);
	if (err || startup) /* rendered as it is sent, or HEAD: the headers only */
		return err;
	while ((err = cs_db_stream_next(*st, STREAM_ROWS_PER_STEP, stream_row, o)) > 0)
		;
	return err;
}

void h_stream(struct req *r)
{
	int64_t now = gotime_now(), stamp = now;
	const char *su = req_arg(r, "startup");
	bool startup = su && !strcmp(su, "true");
	struct stream_out o = { 0 };
	struct cs_db_stream *st = NULL;
	struct cs_dfilter f;
	struct dlists l;
	int err;

	if (!lapi_journal_read_ready(r)) /* what was acknowledged before is visible, or 503 */
		return;
	if (dfilter_parse(r, DM_STREAM, &f, &l))
		return;
	err = stream_collect(r, &f, startup, now, &st, &o, &stamp);
	/* a delta with rows: did another replica send them since our cached last_pull? */
	if (!err && !startup && o.phase && bcache_recheck(r->l, &r->bouncer) > 0) {
		cs_db_stream_end(st);
		st = NULL;
		sb_free(&o.b);
		o = (struct stream_out){ 0 };
		err = stream_collect(r, &f, startup, now, &st, &o, &stamp);
	}
	if (!err && startup && !r->head && st) {
		/* rendered as it is sent: a million decisions never sit in memory twice */
		struct stream_body *sb = calloc(1, sizeof(*sb));

		if (!sb) {
			err = -ENOMEM;
		} else {
			sb->st = st;
			st = NULL;
			sb->gzip = wants_gzip(r) && deflateInit2(&sb->zs, 1, Z_DEFLATED, 15 + 16, 8,
								  Z_DEFAULT_STRATEGY) == Z_OK;
			r->content_encoding = sb->gzip ? "gzip" : NULL;
			r->status = 200;
			r->ctype = "application/json; charset=utf-8";
			r->reader = stream_body_read;
			r->reader_cls = sb;
			r->reader_free = stream_body_free;
			bcache_pulled(r->l, &r->bouncer, stamp, true);
			goto out;
		}
	}
	if (err) {
		reply_msg(r, 500, "%s", err == -ENOMEM ? "out of memory" : "database error");
		goto out;
	}
	bcache_pulled(r->l, &r->bouncer, stamp, startup || o.phase);
	stream_finish(&o);
	if (o.b.err) {
		reply_msg(r, 500, "out of memory");
		goto out;
	}
	if (r->head && startup) {
		reply_raw(r, 200, "text/plain; charset=utf-8", NULL, 0);
		goto out;
	}
	reply_raw(r, 200, "application/json; charset=utf-8", o.b.buf, o.b.len);
	o.b.buf = NULL;
out:
	cs_db_stream_end(st);
	sb_free(&o.b);
	dlists_free(&l);
}

void h_decisions_delete(struct req *r)
{
	struct cs_dfilter f;
	struct dlists l;
	char b[32];
	long n = 0;

	if (!lapi_journal_read_ready(r)) /* what was acknowledged before is visible, or 503 */
		return;
	if (dfilter_parse(r, DM_DELETE, &f, &l))
		return;
	if (cs_db_decisions_expire(r->l->db, &f, gotime_now(), &n)) {
		reply_msg(r, 500, "database error: %s", cs_db_errmsg(r->l->db));
	} else {
		snprintf(b, sizeof(b), "%ld", n);
		reply_json(r, 200, json_pack("{s:s}", "nbDeleted", b));
	}
	dlists_free(&l);
}

void h_decision_delete(struct req *r)
{
	char *end;
	long long id;
	int ret;

	if (!lapi_journal_read_ready(r)) /* what was acknowledged before is visible, or 503 */
		return;
	errno = 0;
	id = r->param && *r->param != '-' && *r->param != '+' ? strtoll(r->param, &end, 10) : -1;
	if (id < 0 || errno || *end) {
		reply_msg(r, BAD_INPUT, "decision_id must be valid integer");
		return;
	}
	ret = cs_db_decision_expire_id(r->l->db, id, gotime_now());
	if (ret == -ENOENT)
		reply_msg(r, 404, "decision with id '%lld' doesn't exist: unable to delete", id);
	else if (ret)
		reply_msg(r, 500, "database error: %s", cs_db_errmsg(r->l->db));
	else
		reply_json(r, 200, json_pack("{s:s}", "nbDeleted", "1"));
}
