// SPDX-License-Identifier: MIT
/* The supporters index; see index.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "central/index.h"
#include "common/hash.h"
#include "common/vec.h"

struct crowd_rep {
	char *id, *net;
	double trust;
	bool blocked;
};

struct crowd_sup {
	struct crowd_rep *rep;
	char *scenario;
	int64_t last_at;
	bool pending;
};

struct crowd_ip {
	struct crowd_sup *v;
	size_t n, cap;
};

struct crowd_index {
	struct cs_hmap *reps; /* id -> struct crowd_rep */
	struct cs_hmap *ips;  /* ip -> struct crowd_ip */
};

static void rep_free(void *p)
{
	struct crowd_rep *r = p;

	if (!r)
		return;
	free(r->id);
	free(r->net);
	free(r);
}

static void ip_clear(struct crowd_ip *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].scenario);
	free(e->v);
}

static void ip_free(void *p)
{
	if (!p)
		return;
	ip_clear(p);
	free(p);
}

void crowd_index_free(struct crowd_index *x)
{
	if (!x)
		return;
	cs_hmap_free(x->ips, ip_free); /* before the reporters they point to */
	cs_hmap_free(x->reps, rep_free);
	free(x);
}

int crowd_index_new(struct crowd_index **out)
{
	struct crowd_index *x = calloc(1, sizeof(*x));

	*out = NULL;
	if (!x)
		return -ENOMEM;
	x->reps = cs_hmap_new();
	x->ips = cs_hmap_new();
	if (!x->reps || !x->ips) {
		crowd_index_free(x);
		return -ENOMEM;
	}
	*out = x;
	return 0;
}

static struct crowd_rep *rep_of(struct crowd_index *x, const char *id)
{
	struct crowd_rep *r = cs_hmap_get(x->reps, id, strlen(id));

	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->id = strdup(id)) || !(r->net = strdup("")) ||
	    cs_hmap_put(x->reps, id, strlen(id), r, NULL)) {
		rep_free(r);
		return NULL;
	}
	return r;
}

int crowd_rep_set(struct crowd_index *x, const struct cs_central_reporter *row)
{
	struct crowd_rep *r = rep_of(x, row->id);
	const char *net = row->net ? row->net : "";

	if (!r)
		return -ENOMEM;
	if (strcmp(r->net, net)) {
		char *copy = strdup(net);

		if (!copy)
			return -ENOMEM;
		free(r->net);
		r->net = copy;
	}
	r->trust = row->trust;
	r->blocked = row->blocked;
	return 0;
}

/* The entry a full IP gives up for a newcomer of trust t: its least trusted
 * (the oldest among equals), if less trusted than t. */
static struct crowd_sup *evictable(struct crowd_ip *e, double t)
{
	struct crowd_sup *worst = NULL;

	for (size_t i = 0; i < e->n; i++) {
		struct crowd_sup *s = &e->v[i];

		if (!worst || s->rep->trust < worst->rep->trust ||
		    (s->rep->trust == worst->rep->trust && s->last_at < worst->last_at))
			worst = s;
	}
	return worst && worst->rep->trust < t ? worst : NULL;
}

int crowd_report(struct crowd_index *x, const char *ip, const char *reporter,
		 const char *scenario, int64_t at, bool pending)
{
	struct crowd_rep *r = rep_of(x, reporter);
	struct crowd_ip *e = cs_hmap_get(x->ips, ip, strlen(ip));
	struct crowd_sup *s = NULL;
	char *sc;

	if (!r)
		return -ENOMEM;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e || cs_hmap_put(x->ips, ip, strlen(ip), e, NULL)) {
			free(e);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < e->n && !s; i++)
		if (e->v[i].rep == r)
			s = &e->v[i];
	if (!s && e->n >= CROWD_MAX_IP_SUPPORTERS) {
		s = evictable(e, r->trust);
		if (!s)
			return 0;
		free(s->scenario);
		*s = (struct crowd_sup){ .rep = r };
	}
	if (!s) {
		if (vec_reserve((void **)&e->v, &e->cap, e->n, sizeof(*e->v), 4))
			return -ENOMEM;
		s = &e->v[e->n++];
		*s = (struct crowd_sup){ .rep = r };
	}
	if (at >= s->last_at) {
		if (!s->scenario || strcmp(s->scenario, scenario ? scenario : "")) {
			sc = strdup(scenario ? scenario : "");
			if (!sc)
				return -ENOMEM;
			free(s->scenario);
			s->scenario = sc;
		}
		s->last_at = at;
	} else if (!s->scenario && !(s->scenario = strdup(scenario ? scenario : ""))) {
		return -ENOMEM;
	}
	s->pending |= pending;
	return 0;
}

/* Drops the entries older than since; whether none is left. */
static bool ip_prune(struct crowd_ip *e, int64_t since)
{
	size_t k = 0;

	for (size_t i = 0; i < e->n; i++) {
		if (e->v[i].last_at >= since)
			e->v[k++] = e->v[i];
		else
			free(e->v[i].scenario);
	}
	e->n = k;
	return k == 0;
}

int crowd_support(struct crowd_index *x, const char *ip, int64_t since,
		  struct cs_central_support **out, size_t *n)
{
	struct crowd_ip *e = cs_hmap_get(x->ips, ip, strlen(ip));

	*out = NULL;
	*n = 0;
	if (!e)
		return 0;
	if (ip_prune(e, since)) {
		ip_free(cs_hmap_del(x->ips, ip, strlen(ip)));
		return 0;
	}
	*out = malloc(e->n * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < e->n; i++)
		(*out)[i] = (struct cs_central_support){
			.reporter = e->v[i].rep->id,
			.net = e->v[i].rep->net,
			.scenario = e->v[i].scenario,
			.trust = e->v[i].rep->trust,
			.blocked = e->v[i].rep->blocked,
			.pending = e->v[i].pending,
			.last_at = e->v[i].last_at,
		};
	*n = e->n;
	return 0;
}

void crowd_confirmed(struct crowd_index *x, const char *ip)
{
	struct crowd_ip *e = cs_hmap_get(x->ips, ip, strlen(ip));

	for (size_t i = 0; e && i < e->n; i++)
		e->v[i].pending = false;
}

static int prune_one(const char *key, size_t len, void *val, void *arg)
{
	(void)key;
	(void)len;
	if (!ip_prune(val, *(const int64_t *)arg))
		return 0;
	ip_free(val);
	return CS_HMAP_DROP;
}

void crowd_prune(struct crowd_index *x, int64_t since)
{
	cs_hmap_each(x->ips, prune_one, &since);
}

size_t crowd_ips(const struct crowd_index *x)
{
	return cs_hmap_count(x->ips);
}
