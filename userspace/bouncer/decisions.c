// SPDX-License-Identifier: MIT
#include "bouncer/decisions.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct dec {
	uint64_t id;
	uint64_t expires;
	uint8_t origin;
};

enum slot_state { SLOT_EMPTY = 0, SLOT_USED, SLOT_TOMB };

/* One per prefix. Most prefixes carry one decision: it lives inline, so a million
 * bans cost no per-entry allocation. */
struct pentry {
	uint8_t state, family, plen;
	uint8_t addr[16];
	uint32_t n, cap; /* cap > 1: decisions are in many[] */
	union {
		struct dec one;
		struct dec *many;
	};
};

struct dmodel {
	struct pentry *slots;
	size_t cap, used, tombs, ndec;
	uint64_t next_expiry; /* lower bound: no decision expires before it */
};

static struct dec *decs_of(struct pentry *e)
{
	return e->cap > 1 ? e->many : &e->one;
}

static uint64_t hash_prefix(const struct cs_prefix *p)
{
	uint64_t h = 1469598103934665603ULL ^ ((uint64_t)p->family << 8 | p->plen);

	for (int i = 0; i < 16; i++)
		h = (h ^ p->addr[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static bool same(const struct pentry *e, const struct cs_prefix *p)
{
	return e->family == (uint8_t)p->family && e->plen == p->plen &&
	       !memcmp(e->addr, p->addr, 16);
}

static struct pentry *find(const struct dmodel *m, const struct cs_prefix *p, struct pentry **free_slot)
{
	size_t mask = m->cap - 1, i = hash_prefix(p) & mask;

	if (free_slot)
		*free_slot = NULL;
	for (;;) {
		struct pentry *e = &m->slots[i];

		if (e->state == SLOT_EMPTY) {
			if (free_slot && !*free_slot)
				*free_slot = e;
			return NULL;
		}
		if (e->state == SLOT_TOMB) {
			if (free_slot && !*free_slot)
				*free_slot = e;
		} else if (same(e, p)) {
			return e;
		}
		i = (i + 1) & mask;
	}
}

static int rehash(struct dmodel *m, size_t cap)
{
	struct pentry *old = m->slots;
	size_t oldcap = m->cap;

	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return -ENOMEM;
	}
	m->cap = cap;
	m->tombs = 0;
	for (size_t i = 0; i < oldcap; i++) {
		struct cs_prefix p = { .family = old[i].family, .plen = old[i].plen };
		struct pentry *slot;

		if (old[i].state != SLOT_USED)
			continue;
		memcpy(p.addr, old[i].addr, 16);
		find(m, &p, &slot);
		*slot = old[i];
	}
	free(old);
	return 0;
}

int dmodel_new(struct dmodel **out)
{
	struct dmodel *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->cap = 1024;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return -ENOMEM;
	}
	m->next_expiry = UINT64_MAX;
	*out = m;
	return 0;
}

static void entry_release(struct pentry *e)
{
	if (e->cap > 1)
		free(e->many);
	e->cap = e->n = 0;
}

void dmodel_clear(struct dmodel *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].state == SLOT_USED)
			entry_release(&m->slots[i]);
	memset(m->slots, 0, m->cap * sizeof(*m->slots));
	m->used = m->tombs = m->ndec = 0;
	m->next_expiry = UINT64_MAX;
}

void dmodel_free(struct dmodel *m)
{
	if (!m)
		return;
	dmodel_clear(m);
	free(m->slots);
	free(m);
}

static void effect_of(struct pentry *e, struct deffect *out)
{
	struct dec *d = decs_of(e), *best = NULL;

	memset(out, 0, sizeof(*out));
	out->prefix.family = e->family;
	out->prefix.plen = e->plen;
	memcpy(out->prefix.addr, e->addr, 16);
	for (uint32_t i = 0; i < e->n; i++)
		if (!best || d[i].expires > best->expires)
			best = &d[i];
	if (best) {
		out->present = true;
		out->expires = best->expires;
		out->id = best->id;
		out->origin = best->origin;
	}
}

static void remove_entry(struct dmodel *m, struct pentry *e)
{
	entry_release(e);
	e->state = SLOT_TOMB;
	m->used--;
	m->tombs++;
}

int dmodel_add(struct dmodel *m, const struct cs_prefix *p, uint64_t id, uint64_t expires,
	       uint8_t origin, deffect_fn fn, void *arg)
{
	struct pentry *e, *slot;
	struct deffect before, after;
	struct dec *d;
	int err;

	if ((m->used + m->tombs + 1) * 10 > m->cap * 7) {
		err = rehash(m, m->used * 10 > m->cap * 4 ? m->cap * 2 : m->cap);
		if (err)
			return err;
	}
	e = find(m, p, &slot);
	if (!e) {
		e = slot;
		if (e->state == SLOT_TOMB)
			m->tombs--;
		memset(e, 0, sizeof(*e));
		e->state = SLOT_USED;
		e->family = (uint8_t)p->family;
		e->plen = p->plen;
		memcpy(e->addr, p->addr, 16);
		e->cap = 1;
		m->used++;
	}
	effect_of(e, &before);
	d = decs_of(e);
	for (uint32_t i = 0; i < e->n; i++) {
		if (d[i].id == id) {
			d[i].expires = expires;
			d[i].origin = origin;
			goto report;
		}
	}
	if (e->n == e->cap) {
		uint32_t ncap = e->cap * 2;
		struct dec *nd = malloc(ncap * sizeof(*nd));

		if (!nd)
			return -ENOMEM;
		memcpy(nd, d, e->n * sizeof(*nd));
		if (e->cap > 1)
			free(e->many);
		e->many = nd;
		e->cap = ncap;
		d = nd;
	}
	d[e->n++] = (struct dec){ .id = id, .expires = expires, .origin = origin };
	m->ndec++;
report:
	if (expires < m->next_expiry)
		m->next_expiry = expires;
	effect_of(e, &after);
	if (fn && (!before.present || before.expires != after.expires || before.id != after.id ||
		   before.origin != after.origin))
		fn(&after, arg);
	return 0;
}

int dmodel_del(struct dmodel *m, const struct cs_prefix *p, uint64_t id, deffect_fn fn, void *arg)
{
	struct pentry *e = find(m, p, NULL);
	struct deffect before, after;
	struct dec *d;

	if (!e)
		return 0;
	effect_of(e, &before);
	d = decs_of(e);
	for (uint32_t i = 0; i < e->n; i++) {
		if (d[i].id != id)
			continue;
		d[i] = d[--e->n];
		m->ndec--;
		effect_of(e, &after);
		if (!e->n)
			remove_entry(m, e);
		if (fn && (after.present != before.present || after.expires != before.expires ||
			   after.id != before.id || after.origin != before.origin))
			fn(&after, arg);
		return 0;
	}
	return 0;
}

void dmodel_expire(struct dmodel *m, uint64_t now, deffect_fn fn, void *arg)
{
	uint64_t next = UINT64_MAX;

	if (now < m->next_expiry)
		return;
	for (size_t s = 0; s < m->cap; s++) {
		struct pentry *e = &m->slots[s];
		struct deffect before, after;
		struct dec *d;
		bool changed = false;

		if (e->state != SLOT_USED)
			continue;
		effect_of(e, &before);
		d = decs_of(e);
		for (uint32_t i = 0; i < e->n;) {
			if (d[i].expires <= now) {
				d[i] = d[--e->n];
				m->ndec--;
				changed = true;
				continue;
			}
			if (d[i].expires < next)
				next = d[i].expires;
			i++;
		}
		if (!changed)
			continue;
		effect_of(e, &after);
		if (!e->n)
			remove_entry(m, e);
		if (fn && (after.present != before.present || after.expires != before.expires ||
			   after.id != before.id))
			fn(&after, arg);
	}
	m->next_expiry = next;
}

void dmodel_for_each(const struct dmodel *m, deffect_fn fn, void *arg)
{
	for (size_t s = 0; s < m->cap; s++) {
		struct deffect eff;

		if (m->slots[s].state != SLOT_USED)
			continue;
		effect_of(&m->slots[s], &eff);
		fn(&eff, arg);
	}
}

bool dmodel_has(const struct dmodel *m, const struct cs_prefix *p)
{
	return find(m, p, NULL) != NULL;
}

size_t dmodel_prefixes(const struct dmodel *m)
{
	return m->used;
}

size_t dmodel_decisions(const struct dmodel *m)
{
	return m->ndec;
}

uint64_t dmodel_next_expiry(const struct dmodel *m)
{
	return m->next_expiry;
}
