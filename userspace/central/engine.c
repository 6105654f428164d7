// SPDX-License-Identifier: MIT
/*
 * The engine: a batch of signals is one transaction that stores them, judges
 * each reported IP over its window (rules.c) and lists, renews or leaves it;
 * a pull walks the listings that changed since the member's last pull.
 *
 * Who reported an IP comes from the supporters index (index.h) when this
 * server owns the database (SQLite), from SQL when servers share it
 * (PostgreSQL). The safe list and the index's reporters are reloaded when the
 * store's generation moves (an operator's change, here or in another process).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/central.h"
#include "central/index.h"
#include "common/gotime.h"
#include "common/ipaddr.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/strmap.h"
#include "common/vec.h"
#include "parser/enrich.h"

/*
 * A write stamped just before a pull may commit just after it (the stamp is
 * taken before the lock): deltas look this far back. Re-sent entries are
 * harmless, the member replaces them.
 */
#define CENTRAL_PULL_SLACK (5 * NSEC_PER_SEC)
#define CENTRAL_MAX_LISTING_SCENARIOS 16

struct central {
	struct cs_db *db;
	struct cs_central_store *st;
	struct central_rules rules;
	struct cs_prefix reserved[32];
	size_t n_reserved;
	struct cs_geoip *geo; /* ASN networks (NULL: prefixes only) */
	const struct cs_enricher *asn;
	struct crowd_index *idx; /* SQLite: built by the first batch */
	struct safe_set *safe;	 /* as of generation gen */
	int64_t gen;
};

static void safe_set_free(struct safe_set *s);

int central_open(const char *db_path, const char *pg_conninfo, long max_conns,
		 const struct central_rules *rules, struct central **out)
{
	struct central *c = calloc(1, sizeof(*c));
	int err;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->rules = *rules;
	for (size_t i = 0; central_reserved_ranges[i] && c->n_reserved < 32; i++)
		if (!cs_prefix_parse(central_reserved_ranges[i], CS_PREFIX_STRICT,
				     &c->reserved[c->n_reserved]))
			c->n_reserved++;
	err = cs_db_connect(db_path, pg_conninfo, max_conns, &c->db);
	if (!err)
		err = cs_db_central_open(c->db, &c->st);
	if (err) {
		log_error("%s: cannot open the central database: %s",
			  pg_conninfo ? "db_config (postgresql)" : db_path, strerror(-err));
		central_close(c);
		return err;
	}
	*out = c;
	return 0;
}

/* The in-memory index and the safe set computed from it live and go together. */
static void index_drop(struct central *c)
{
	crowd_index_free(c->idx);
	c->idx = NULL;
	safe_set_free(c->safe);
	c->safe = NULL;
}

void central_close(struct central *c)
{
	if (!c)
		return;
	cs_db_central_close(c->st);
	cs_db_close(c->db);
	cs_geoip_free(c->geo);
	index_drop(c);
	free(c);
}

int central_set_geoip(struct central *c, const char *dir)
{
	int err = cs_geoip_open(dir, &c->geo);

	if (err)
		return err;
	c->asn = cs_geoip_has_asn(c->geo) ? cs_enricher_find("GeoIpASN", c->geo) : NULL;
	return c->asn ? 0 : -ENOENT;
}

/* A reporter's network: its AS when the ASN database knows it, else its prefix. */
static int net_of(struct central *c, const char *ip, char *net, size_t len)
{
	const struct cs_enrich_ctx ctx = { .geoip = c->geo };
	struct strmap *out = c->asn ? strmap_new() : NULL;
	const char *asn = NULL;
	bool known;

	if (out && !c->asn->fn(ip, strlen(ip), NULL, &ctx, out))
		asn = strmap_get(out, "ASNNumber");
	known = asn && strcmp(asn, "0"); /* "0": not in the database */
	if (known)
		snprintf(net, len, "AS%s", asn);
	strmap_free(out);
	return known ? 0 : central_net_of(&c->rules, ip, net, len);
}

const struct central_rules *central_rules(const struct central *c)
{
	return &c->rules;
}

struct cs_central_store *central_store(struct central *c)
{
	return c->st;
}

/* ---- safe list (inside a transaction) ---- */

struct safe_set {
	struct cs_central_safe *rows;
	struct cs_prefix *p;
	size_t n;
};

static void safe_set_clear(struct safe_set *s)
{
	cs_central_safe_free(s->rows, s->n);
	free(s->p);
}

static void safe_set_free(struct safe_set *s)
{
	if (s)
		safe_set_clear(s);
	free(s);
}

static int safe_set_load(struct central *c, struct safe_set *s)
{
	int err = cs_db_central_safe_list(c->st, &s->rows, &s->n);

	if (err)
		return err;
	s->p = calloc(s->n + 1, sizeof(*s->p));
	if (!s->p)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++)
		if (cs_prefix_parse(s->rows[i].range, CS_PREFIX_MASK, &s->p[i]))
			s->p[i].family = -1; /* unreadable row: matches nothing */
	return 0;
}

static const char *safe_match(struct central *c, const struct safe_set *s,
			      const struct cs_prefix *ip)
{
	for (size_t i = 0; i < c->n_reserved; i++)
		if (cs_prefix_contains(&c->reserved[i], ip))
			return central_reserved_ranges[i];
	for (size_t i = 0; i < s->n; i++)
		if (s->p[i].family == ip->family && cs_prefix_contains(&s->p[i], ip))
			return s->rows[i].range;
	return NULL;
}

/* ---- ingest ---- */

static int reporter_load(struct central *c, const char *id, int64_t now,
			 struct cs_central_reporter *r)
{
	int err = cs_db_central_reporter_get(c->st, id, r);

	if (err != -ENOENT)
		return err;
	*r = (struct cs_central_reporter){
		.id = strdup(id),
		.net = strdup(""),
		.trust = c->rules.trust_new,
		.tokens = c->rules.rate_burst,
		.tokens_at = now,
		.created_at = now,
	};
	return r->id && r->net ? 0 : -ENOMEM;
}

static bool csv_has(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && !strncmp(p, item, n))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* The listing's scenarios: what it had plus what its reporters saw, bounded. */
static char *merge_scenarios(const char *had, const struct cs_central_support *v, size_t n)
{
	struct sbuf sb = { 0 };
	size_t count = 0;

	if (had && *had) {
		sb_puts(&sb, had);
		for (const char *p = had; p; p = strchr(p + 1, ','))
			count++;
	}
	for (size_t i = 0; i < n && count < CENTRAL_MAX_LISTING_SCENARIOS; i++) {
		if (!*v[i].scenario || (sb.len && csv_has(sb.buf, v[i].scenario)))
			continue;
		if (sb.len)
			sb_putc(&sb, ',');
		sb_puts(&sb, v[i].scenario);
		count++;
	}
	return sb_take(&sb, NULL);
}

/* A reporter's row changed: stored, and the index judges with it. */
static int rep_put(struct central *c, const struct cs_central_reporter *r)
{
	int err = cs_db_central_reporter_put(c->st, r);

	return !err && c->idx ? crowd_rep_set(c->idx, r) : err;
}

/* What the index needs of the reporter mid-batch (the row is written at the
 * batch's end); SQL judging joins the row, which must be written now. */
static int rep_sync(struct central *c, const struct cs_central_reporter *r)
{
	return c->idx ? crowd_rep_set(c->idx, r) : cs_db_central_reporter_put(c->st, r);
}

/* The SQLite index from the database, at the first batch. */
static int index_add(const char *ip, const char *reporter, int64_t last_at, const char *scenario,
		     bool pending, void *arg)
{
	return crowd_report(arg, ip, reporter, scenario, last_at, pending);
}

static int index_build(struct central *c, int64_t now, struct crowd_index **out)
{
	struct crowd_index *x = NULL;
	int err = crowd_index_new(&x);

	if (!err)
		err = cs_db_central_window(c->st, now - c->rules.window, index_add, x);
	if (err) {
		crowd_index_free(x);
		x = NULL;
	}
	*out = x;
	return err;
}

static int index_reload_reporters(struct central *c, struct crowd_index *x)
{
	struct cs_central_reporter *v = NULL;
	size_t n = 0;
	int err = cs_db_central_reporter_list(c->st, &v, &n);

	for (size_t i = 0; !err && i < n; i++)
		err = crowd_rep_set(x, &v[i]);
	cs_central_reporters_free(v, n);
	return err;
}

static int safe_set_new(struct central *c, struct safe_set **out)
{
	struct safe_set *safe = calloc(1, sizeof(*safe));
	int err = safe ? safe_set_load(c, safe) : -ENOMEM;

	if (err) {
		safe_set_free(safe);
		safe = NULL;
	}
	*out = safe;
	return err;
}

/*
 * Inside the batch's transaction: the safe list to judge with. SQLite (one
 * connection: batches run one at a time): the cached one and the index, as of
 * the store's generation. PostgreSQL (batches run side by side on the pool's
 * connections): the batch's own copy (*owned).
 */
static int refresh(struct central *c, int64_t now, struct safe_set **safe, bool *owned)
{
	struct safe_set *fresh = NULL;
	int64_t gen;
	int err;

	*safe = NULL;
	*owned = cs_db_is_pg(c->db);
	if (*owned)
		return safe_set_new(c, safe);
	err = cs_db_central_generation(c->st, &gen);
	if (!err && (!c->safe || gen != c->gen)) {
		err = safe_set_new(c, &fresh);
		if (!err && !c->idx)
			err = index_build(c, now, &c->idx);
		if (!err) /* rows of reporters without a report in the window too */
			err = index_reload_reporters(c, c->idx);
		if (!err) {
			safe_set_free(c->safe);
			c->safe = fresh;
			fresh = NULL;
			c->gen = gen;
		}
		safe_set_free(fresh);
	}
	*safe = err ? NULL : c->safe;
	return err;
}

/* The reporters whose pending reports made a listing earn trust. */
static int confirm_reporters(struct central *c, const char *ip,
			     const struct cs_central_support *sup, size_t n,
			     struct cs_central_reporter *self)
{
	int err = 0;

	for (size_t i = 0; !err && i < n; i++) {
		struct cs_central_reporter r;

		if (!sup[i].pending)
			continue;
		if (!strcmp(sup[i].reporter, self->id)) {
			self->trust = central_trust_after_confirm(&c->rules, self->trust);
			self->confirmed++;
			continue;
		}
		err = cs_db_central_reporter_get(c->st, sup[i].reporter, &r);
		if (err == -ENOENT) {
			err = 0;
			continue;
		}
		if (!err) {
			r.trust = central_trust_after_confirm(&c->rules, r.trust);
			r.confirmed++;
			err = rep_put(c, &r);
		}
		cs_central_reporter_clear(&r);
	}
	if (!err && c->idx)
		crowd_confirmed(c->idx, ip);
	return err;
}

static int support_of(struct central *c, const char *ip, int64_t since, int64_t pending_after,
		      struct cs_central_support **sup, size_t *n)
{
	return c->idx ? crowd_support(c->idx, ip, since, sup, n)
		      : cs_db_central_support(c->st, ip, since, pending_after, sup, n);
}

static void support_free(struct central *c, struct cs_central_support *sup, size_t n)
{
	if (c->idx) /* the index lends its strings */
		free(sup);
	else
		cs_central_supports_free(sup, n);
}

/* One accepted signal: store it, judge its IP, list or renew. */
static int ingest_one(struct central *c, struct cs_central_reporter *rep, bool *rep_dirty,
		      const struct cs_central_signal *sg, int64_t now, bool *listed)
{
	struct cs_central_listing l = { 0 };
	struct cs_central_support *sup = NULL;
	struct central_verdict v;
	size_t n = 0;
	int64_t since = now - c->rules.window;
	bool live, had;
	int err = cs_db_central_listing_get(c->st, sg->ip, &l);

	if (err && err != -ENOENT)
		return err;
	had = !err;
	live = had && l.until > now;
	err = cs_db_central_signal_add(c->st, rep->id, sg, now,
				       live ? CS_SIGNAL_LATE : CS_SIGNAL_PENDING);
	if (!err && c->idx)
		err = crowd_report(c->idx, sg->ip, rep->id, sg->scenario, now, !live);
	/* a listing with more than half its life ahead needs no renewal yet: the
	 * report is kept (it counts when renewal comes due), the judgement skipped */
	if (!err && live && l.until - now > c->rules.listing_ttl / 2)
		goto out;
	if (!err && *rep_dirty) /* the judgement reads its trust and net */
		err = rep_sync(c, rep);
	*rep_dirty = err != 0;
	if (!err)
		err = support_of(c, sg->ip, since, had ? l.listed_at : 0, &sup, &n);
	if (err)
		goto out;
	central_judge(&c->rules, sup, n, &v);
	if (!v.listed)
		goto out;
	/* listed anew: its reporters are confirmed; renewed: it lasts from now */
	if (!live) {
		err = confirm_reporters(c, sg->ip, sup, n, rep);
		*rep_dirty = true; /* its own trust may have grown */
		if (err)
			goto out;
		free(l.ip);
		l.ip = strdup(sg->ip);
		l.listed_at = now;
	}
	char *sc = merge_scenarios(live ? l.scenarios : NULL, sup, n);

	free(l.scenarios);
	l.scenarios = sc;
	l.updated_at = now;
	l.until = now + c->rules.listing_ttl;
	err = l.ip && l.scenarios ? cs_db_central_listing_put(c->st, &l) : -ENOMEM;
	*listed = !err;
out:
	support_free(c, sup, n);
	cs_central_listing_clear(&l);
	return err;
}

int central_ingest(struct central *c, const char *reporter, const char *peer_ip,
		   const struct cs_central_signal *v, size_t n, int64_t now,
		   struct central_ingest_result *res)
{
	struct cs_central_reporter rep = { 0 };
	struct safe_set *safe = NULL;
	char net[CS_PREFIX_STRLEN] = "";
	bool dirty = true, own_safe = false;
	int err;

	memset(res, 0, sizeof(*res));
	err = cs_db_central_begin(c->st);
	if (err)
		return err;
	err = refresh(c, now, &safe, &own_safe);
	if (!err)
		err = reporter_load(c, reporter, now, &rep);
	if (err)
		goto out;
	if (rep.blocked) {
		res->blocked = true;
		goto out;
	}
	if (peer_ip && !net_of(c, peer_ip, net, sizeof(net)) &&
	    strcmp(net, rep.net)) {
		free(rep.net);
		rep.net = strdup(net);
		if (!rep.net) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; !err && i < n; i++) {
		struct cs_central_signal sg = v[i];
		char ip[CS_PREFIX_STRLEN];
		struct cs_prefix p;
		bool listed = false;

		if (!sg.ip || cs_addr_parse(sg.ip, &p) || cs_prefix_format(&p, false, ip, sizeof(ip))) {
			res->ignored++;
			continue;
		}
		sg.ip = ip;
		if (safe_match(c, safe, &p)) {
			/* a contradiction: never stored, never counted, costs trust */
			rep.contradicted++;
			rep.trust = central_trust_after_safe(&c->rules, rep.trust);
			dirty = true;
			res->safe++;
			continue;
		}
		if (!central_rate_take(&c->rules, &rep.tokens, &rep.tokens_at, now)) {
			res->rate_limited++;
			continue;
		}
		err = ingest_one(c, &rep, &dirty, &sg, now, &listed);
		res->accepted += !err;
		res->listed += listed;
	}
	if (!err)
		err = rep_put(c, &rep);
out:
	err = cs_db_central_finish(c->st, err);
	/* the index holds what was rolled back: rebuilt at the next batch; freed
	 * under the lock, which other batches take before they use it */
	if (err && c->idx)
		index_drop(c);
	cs_db_central_unlock(c->st);
	if (own_safe)
		safe_set_free(safe);
	cs_central_reporter_clear(&rep);
	return err;
}

/* ---- pull ---- */

struct pull_ctx {
	const char *scenarios;
	bool deleted;
	central_entry_cb cb;
	void *ctx;
};

/* The first of the member's scenarios that the listing has (a member gets what
 * it runs, as CrowdSec tailors its lists). */
static const char *member_scenario(const char *mine, const char *listing, char *buf, size_t len)
{
	for (const char *p = mine; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n && n < len) {
			memcpy(buf, p, n);
			buf[n] = '\0';
			if (csv_has(listing, buf))
				return buf;
		}
		p = comma ? comma + 1 : NULL;
	}
	return NULL;
}

static int pull_one(const struct cs_central_listing *l, void *arg)
{
	struct pull_ctx *pc = arg;
	char buf[CENTRAL_MAX_FIELD + 1];
	struct central_entry e = { .ip = l->ip, .until = l->until, .deleted = pc->deleted };

	if (pc->deleted) /* a deletion the member may not need is harmless */
		return pc->cb(&e, pc->ctx);
	e.scenario = member_scenario(pc->scenarios, l->scenarios, buf, sizeof(buf));
	return e.scenario ? pc->cb(&e, pc->ctx) : 0;
}

int central_pull(struct central *c, const char *member, const char *scenarios, bool startup,
		 int64_t now, central_entry_cb cb, void *ctx)
{
	struct cs_central_reporter rep = { 0 };
	struct pull_ctx pc = { .scenarios = scenarios, .cb = cb, .ctx = ctx };
	int err = cs_db_central_begin(c->st);

	if (err)
		return err;
	err = reporter_load(c, member, now, &rep);
	if (err)
		goto out;
	if (startup || !rep.last_pull) {
		err = cs_db_central_listings_live(c->st, now, INT64_MIN, pull_one, &pc);
	} else {
		int64_t since = rep.last_pull - CENTRAL_PULL_SLACK;

		err = cs_db_central_listings_live(c->st, now, since, pull_one, &pc);
		pc.deleted = true;
		if (!err)
			err = cs_db_central_listings_ended(c->st, since, now, pull_one, &pc);
	}
	rep.last_pull = now;
	if (!err)
		err = cs_db_central_reporter_put(c->st, &rep);
out:
	err = cs_db_central_end(c->st, err);
	cs_central_reporter_clear(&rep);
	return err;
}

/* ---- admin ---- */

int central_block(struct central *c, const char *reporter, bool blocked, int64_t now)
{
	struct cs_central_reporter rep = { 0 };
	int err = cs_db_central_begin(c->st);

	if (err)
		return err;
	err = reporter_load(c, reporter, now, &rep);
	if (!err) {
		rep.blocked = blocked;
		err = cs_db_central_reporter_put(c->st, &rep);
	}
	if (!err)
		err = cs_db_central_bump(c->st);
	cs_central_reporter_clear(&rep);
	return cs_db_central_end(c->st, err);
}

struct ip_list {
	char **v;
	size_t n, cap;
	const struct cs_prefix *inside;
};

static int collect_inside(const struct cs_central_listing *l, void *arg)
{
	struct ip_list *il = arg;
	struct cs_prefix p;

	if (cs_addr_parse(l->ip, &p) || p.family != il->inside->family ||
	    !cs_prefix_contains(il->inside, &p))
		return 0;
	if (vec_reserve((void **)&il->v, &il->cap, il->n, sizeof(char *), 16))
		return -ENOMEM;
	il->v[il->n] = strdup(l->ip);
	return il->v[il->n++] ? 0 : -ENOMEM;
}

/* The operator's range, refused with host bits set, in its one spelling; then the
 * transaction begins. */
static int safe_edit_begin(struct central *c, const char *range, struct cs_prefix *p,
			   char canon[CS_PREFIX_STRLEN])
{
	int err = cs_prefix_parse(range, CS_PREFIX_STRICT, p);

	if (err)
		return err;
	cs_prefix_format(p, true, canon, CS_PREFIX_STRLEN);
	return cs_db_central_begin(c->st);
}

int central_safe_add(struct central *c, const char *range, const char *comment, int64_t now)
{
	struct cs_prefix p;
	char canon[CS_PREFIX_STRLEN];
	struct ip_list il = { .inside = &p };
	int err = safe_edit_begin(c, range, &p, canon);

	if (err)
		return err;
	err = cs_db_central_safe_add(c->st, canon, comment, now);
	if (!err)
		err = cs_db_central_bump(c->st);
	if (!err)
		err = cs_db_central_listings_live(c->st, now, INT64_MIN, collect_inside, &il);
	for (size_t i = 0; !err && i < il.n; i++) {
		struct cs_central_listing l;

		err = cs_db_central_listing_get(c->st, il.v[i], &l);
		if (!err) {
			l.until = now; /* the next delta of every member deletes it */
			l.updated_at = now;
			err = cs_db_central_listing_put(c->st, &l);
		}
		cs_central_listing_clear(&l);
	}
	for (size_t i = 0; i < il.n; i++)
		free(il.v[i]);
	free(il.v);
	return cs_db_central_end(c->st, err);
}

int central_safe_remove(struct central *c, const char *range)
{
	struct cs_prefix p;
	char canon[CS_PREFIX_STRLEN];
	int err = safe_edit_begin(c, range, &p, canon);

	if (err)
		return err;
	err = cs_db_central_safe_remove(c->st, canon);
	if (!err)
		err = cs_db_central_bump(c->st);
	return cs_db_central_end(c->st, err);
}

bool central_is_safe(struct central *c, const char *ip, char *why, size_t len)
{
	struct safe_set safe = { 0 };
	struct cs_prefix p;
	const char *m = NULL;

	if (cs_addr_parse(ip, &p))
		return false;
	if (!cs_db_central_begin(c->st)) {
		if (!safe_set_load(c, &safe))
			m = safe_match(c, &safe, &p);
		if (m)
			snprintf(why, len, "%s", m);
		cs_db_central_end(c->st, 0);
	}
	safe_set_clear(&safe);
	return m != NULL;
}

int central_explain(struct central *c, const char *ip_text, int64_t now, char **text)
{
	struct sbuf sb = { 0 };
	struct cs_central_listing l = { 0 };
	struct cs_central_support *sup = NULL;
	struct central_verdict v;
	struct cs_prefix p;
	char ip[CS_PREFIX_STRLEN], why[CS_PREFIX_STRLEN + 32], t[GOTIME_STRLEN];
	size_t n = 0;
	int err;

	*text = NULL;
	err = cs_addr_parse(ip_text, &p);
	if (err)
		return err;
	cs_prefix_format(&p, false, ip, sizeof(ip));
	if (central_is_safe(c, ip, why, sizeof(why)))
		sb_printf(&sb, "%s is on the safe list (%s): never listed\n", ip, why);
	err = cs_db_central_begin(c->st);
	if (err)
		return err;
	err = cs_db_central_listing_get(c->st, ip, &l);
	if (!err) {
		gotime_format_rfc3339(l.until, t, sizeof(t));
		sb_printf(&sb, "%s %s (until %s), scenarios: %s\n", ip,
			  l.until > now ? "is listed" : "was listed", t, l.scenarios);
	} else if (err == -ENOENT) {
		sb_printf(&sb, "%s is not listed\n", ip);
		err = 0;
	}
	if (!err)
		err = cs_db_central_support(c->st, ip, now - c->rules.window, 0, &sup, &n);
	cs_db_central_end(c->st, 0);
	if (!err) {
		central_judge(&c->rules, sup, n, &v);
		sb_printf(&sb, "window: %zu reporter(s); %s\n", n, v.why);
		for (size_t i = 0; i < n; i++) {
			gotime_format_rfc3339(sup[i].last_at, t, sizeof(t));
			sb_printf(&sb, "  %s  net %s  trust %.2f%s  last %s  %s\n", sup[i].reporter,
				  sup[i].net, sup[i].trust,
				  sup[i].blocked ? " (blocked)"
				  : sup[i].trust < c->rules.trust_min ? " (no say)" : "",
				  t, sup[i].scenario);
		}
	}
	cs_central_supports_free(sup, n);
	cs_central_listing_clear(&l);
	if (err) {
		sb_free(&sb);
		return err;
	}
	*text = sb_take(&sb, NULL);
	return *text ? 0 : -ENOMEM;
}

struct judged_ctx {
	struct central *c;
	int err;
};

static void judged_one(const char *id, long n, void *arg)
{
	struct judged_ctx *jc = arg;
	struct cs_central_reporter r;

	if (jc->err || !id)
		return;
	jc->err = cs_db_central_reporter_get(jc->c->st, id, &r);
	if (jc->err == -ENOENT) {
		jc->err = 0;
		return;
	}
	if (!jc->err) {
		r.trust = central_trust_after_unconfirmed(&jc->c->rules, r.trust, n);
		r.unconfirmed += n;
		jc->err = rep_put(jc->c, &r); /* the index judges with the lowered trust too */
	}
	cs_central_reporter_clear(&r);
}

int central_purge(struct central *c, int64_t now, long *deleted)
{
	struct judged_ctx jc = { .c = c };
	int err = cs_db_central_begin(c->st);

	if (err)
		return err;
	err = cs_db_central_purge(c->st, now - c->rules.window, now - c->rules.retention,
				  now - c->rules.retention, judged_one, &jc, deleted);
	/* under the store's lock, as every batch that reads the index; what falls
	 * out of the window counts for nothing even if the commit fails */
	if (!err && !jc.err && c->idx)
		crowd_prune(c->idx, now - c->rules.window);
	return cs_db_central_end(c->st, err ? err : jc.err);
}
