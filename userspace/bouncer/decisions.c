// SPDX-License-Identifier: MIT
#include "bouncer/decisions.h"
#include "common/hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Boot-time ns fit 60 bits for 36 years of uptime: the origin rides in the rest. */
struct dec {
	uint64_t id;
	uint64_t expires : 60;
	uint64_t origin : 4;
};

enum { E_APPLIED_ONLY = 1 };

/*
 * One per prefix, in a dense array. n == 0 with E_APPLIED_ONLY: no decision, `one`
 * is the value the data plane holds. n > 1: decisions in many[], whose capacity is
 * the power of two at or above n.
 */
struct pentry {
	uint8_t addr[16];
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t plen;
	uint8_t flags;
	uint8_t _pad;
	uint32_t n;
	union {
		struct dec one;
		struct dec *many;
	};
};

_Static_assert(sizeof(struct pentry) == 40, "a prefix and its decision in 40 bytes");

/* A slot: 8 bits of the prefix's hash (not those that pick the slot), then its entry
 * index + 1 in 24 bits. The hash bits spare a visit to the entry (a cache miss) for
 * most slots a probe passes by. */
#define SLOT_EMPTY 0U
#define SLOT_TOMB UINT32_MAX
#define SLOT_IDX(s) (((s) & 0xffffffU) - 1)
#define SLOT_TAG(h) ((uint32_t)((h) >> 56) << 24)
#define SLOT_MAKE(h, idx) (SLOT_TAG(h) | ((uint32_t)(idx) + 1))

/*
 * An expiry to look at: entry idx holds a decision (or an applied-only value) that
 * expires at `expires`. A min-heap of these finds what is due without walking the
 * model. An item goes stale when its decision changes or its entry moves (the
 * entry that moves gets an item of its own): looking at a stale one costs a visit
 * and no change, and the heap is rebuilt from the entries when stale items
 * outnumber half the live ones. 12 bytes a decision.
 */
struct due {
	uint64_t expires;
	uint32_t idx;
} __attribute__((packed));

struct dmodel {
	struct pentry *e; /* dense */
	uint32_t n, ecap;
	uint32_t *slot;	  /* open addressing on the prefix */
	uint32_t scap, tombs;
	size_t ndec;
	struct due *heap;
	size_t hn, hcap;
	bool heap_lost; /* an item could not be stored: the next expiry walks the model */
};

static struct dec *decs_of(struct pentry *e)
{
	return e->n > 1 ? e->many : &e->one;
}

/* Prefixes come from decisions on addresses attackers pick: the seeded hash keeps
 * them from crafting collisions in the model. */
static uint64_t hash_key(int family, uint8_t plen, const uint8_t *addr)
{
	uint8_t key[18] = { (uint8_t)family, plen };

	memcpy(key + 2, addr, 16);
	return cs_hash(key, sizeof(key));
}

static bool same(const struct pentry *e, const struct cs_prefix *p)
{
	return e->family == (uint8_t)p->family && e->plen == p->plen && !memcmp(e->addr, p->addr, 16);
}

/* The slot holding p, or (absent) the slot to put it in: the first tombstone met,
 * else the empty one that ended the probe. *hash: p's. */
static uint32_t *probe(const struct dmodel *m, const struct cs_prefix *p, bool *found, uint64_t *hash)
{
	uint64_t h = hash_key(p->family, p->plen, p->addr);
	uint32_t tag = SLOT_TAG(h), *tomb = NULL;
	size_t mask = m->scap - 1, i = h & mask;

	*hash = h;
	for (;;) {
		uint32_t *s = &m->slot[i];

		if (*s == SLOT_EMPTY) {
			*found = false;
			return tomb ? tomb : s;
		}
		if (*s == SLOT_TOMB) {
			if (!tomb)
				tomb = s;
		} else if ((*s & 0xff000000U) == tag && same(&m->e[SLOT_IDX(*s)], p)) {
			*found = true;
			return s;
		}
		i = (i + 1) & mask;
	}
}

static struct pentry *find(const struct dmodel *m, const struct cs_prefix *p)
{
	bool found;
	uint64_t h;
	uint32_t *s = probe(m, p, &found, &h);

	return found ? &m->e[SLOT_IDX(*s)] : NULL;
}

static void entry_prefix(const struct pentry *e, struct cs_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = e->family;
	p->plen = e->plen;
	memcpy(p->addr, e->addr, 16);
}

/* A zeroed slot table. A big one (8 MB at 1M prefixes) is probed at random once per
 * insert: on huge pages where the system has them, which spares most TLB misses. */
static uint32_t *slots_new(uint32_t scap)
{
	size_t len = (size_t)scap * sizeof(uint32_t), huge = 2U << 20;
	void *p = NULL;

	if (len < huge)
		return calloc(scap, sizeof(uint32_t));
	if (posix_memalign(&p, huge, len))
		return NULL;
	madvise(p, len, MADV_HUGEPAGE); /* advice: refused or off, the table works alike */
	memset(p, 0, len);
	return p;
}

static int reindex(struct dmodel *m, uint32_t scap)
{
	enum { AHEAD = 8 }; /* slots prefetched ahead of their insert */
	uint32_t *ns = slots_new(scap), mask = scap - 1;
	uint64_t ahead[AHEAD];

	if (!ns)
		return -ENOMEM;
	free(m->slot);
	m->slot = ns;
	m->scap = scap;
	m->tombs = 0;
	/* distinct prefixes, no tombstone: each goes in the first empty slot of its probe */
	for (uint32_t i = 0; i < m->n + AHEAD; i++) {
		if (i >= AHEAD) { /* entry i - AHEAD, whose slot was prefetched */
			uint32_t j = i - AHEAD;
			uint64_t h = ahead[j % AHEAD];
			uint32_t k = (uint32_t)h & mask;

			while (ns[k] != SLOT_EMPTY)
				k = (k + 1) & mask;
			ns[k] = SLOT_MAKE(h, j);
		}
		if (i < m->n) {
			const struct pentry *e = &m->e[i];
			uint64_t h = hash_key(e->family, e->plen, e->addr);

			ahead[i % AHEAD] = h;
			__builtin_prefetch(&ns[h & mask], 1);
		}
	}
	return 0;
}

/* ---- the expiry heap ---------------------------------------------------------------- */

static bool due_before(const struct due *a, const struct due *b)
{
	return a->expires < b->expires;
}

static void sift_down(struct due *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, min = i;
		struct due t;

		if (l < n && due_before(&h[l], &h[min]))
			min = l;
		if (l + 1 < n && due_before(&h[l + 1], &h[min]))
			min = l + 1;
		if (min == i)
			return;
		t = h[i], h[i] = h[min], h[min] = t;
		i = min;
	}
}

/* The earliest expiry of e's decisions (or its applied-only value), 0 if none. */
static uint64_t entry_first_expiry(const struct pentry *e)
{
	const struct dec *d = e->n > 1 ? e->many : &e->one;
	uint32_t n = (e->flags & E_APPLIED_ONLY) ? 1 : e->n;
	uint64_t first = 0;

	for (uint32_t i = 0; i < n; i++)
		if (d[i].expires && (!first || d[i].expires < first))
			first = d[i].expires;
	return first;
}

/* One item per entry that expires, and nothing stale. */
static void heap_rebuild(struct dmodel *m)
{
	if (m->hcap < m->n) {
		struct due *nh = realloc(m->heap, (size_t)m->n * sizeof(*nh));

		if (!nh) {
			m->heap_lost = true;
			return;
		}
		m->heap = nh;
		m->hcap = m->n;
	}
	m->hn = 0;
	for (uint32_t i = 0; i < m->n; i++) {
		uint64_t first = entry_first_expiry(&m->e[i]);

		if (first)
			m->heap[m->hn++] = (struct due){ .expires = first, .idx = i };
	}
	for (size_t i = m->hn / 2; i-- > 0;)
		sift_down(m->heap, m->hn, i);
	m->heap_lost = false;
}

/* Entry idx expires at `expires` (0: never). */
static void heap_push(struct dmodel *m, uint64_t expires, uint32_t idx)
{
	size_t i;

	if (!expires || m->heap_lost)
		return;
	if (m->hn > (size_t)m->n + m->n / 2 + 4096) {
		heap_rebuild(m); /* mostly stale: it holds idx's expiry too */
		return;
	}
	if (m->hn == m->hcap) {
		size_t ncap = m->hcap ? m->hcap + m->hcap / 2 : 1024;
		struct due *nh = realloc(m->heap, ncap * sizeof(*nh));

		if (!nh) {
			m->heap_lost = true;
			return;
		}
		m->heap = nh;
		m->hcap = ncap;
	}
	i = m->hn++;
	m->heap[i] = (struct due){ .expires = expires, .idx = idx };
	while (i && due_before(&m->heap[i], &m->heap[(i - 1) / 2])) {
		struct due t = m->heap[i];

		m->heap[i] = m->heap[(i - 1) / 2];
		m->heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static void heap_pop(struct dmodel *m)
{
	m->heap[0] = m->heap[--m->hn];
	sift_down(m->heap, m->hn, 0);
}

int dmodel_new(struct dmodel **out)
{
	struct dmodel *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->scap = 1024;
	m->slot = calloc(m->scap, sizeof(*m->slot));
	if (!m->slot) {
		free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

void dmodel_clear(struct dmodel *m)
{
	for (uint32_t i = 0; i < m->n; i++)
		if (m->e[i].n > 1)
			free(m->e[i].many);
	free(m->e);
	m->e = NULL;
	m->n = m->ecap = 0;
	memset(m->slot, 0, m->scap * sizeof(*m->slot));
	m->tombs = 0;
	m->ndec = 0;
	m->hn = 0;
	m->heap_lost = false;
}

void dmodel_free(struct dmodel *m)
{
	if (!m)
		return;
	dmodel_clear(m);
	free(m->slot);
	free(m->heap);
	free(m);
}

static void effect_of(struct pentry *e, struct deffect *out)
{
	struct dec *d = decs_of(e), *best = NULL;

	memset(out, 0, sizeof(*out));
	entry_prefix(e, &out->prefix);
	if (e->flags & E_APPLIED_ONLY)
		best = &e->one;
	for (uint32_t i = 0; i < e->n; i++)
		if (!best || d[i].expires > best->expires)
			best = &d[i];
	if (best) {
		out->present = true;
		out->expires = best->expires;
		out->id = best->id;
		out->origin = (uint8_t)best->origin;
	}
}

static bool effect_differs(const struct deffect *a, const struct deffect *b)
{
	return a->present != b->present || a->expires != b->expires || a->id != b->id ||
	       a->origin != b->origin;
}

/* The slot, the entry and its decisions go; the last entry moves into the hole. */
static void remove_entry(struct dmodel *m, struct pentry *e)
{
	uint32_t idx = (uint32_t)(e - m->e), last = m->n - 1;
	struct cs_prefix p;
	uint32_t *s;
	uint64_t h;
	bool found;

	if (e->n > 1)
		free(e->many);
	entry_prefix(e, &p);
	*probe(m, &p, &found, &h) = SLOT_TOMB;
	m->tombs++;
	if (idx != last) {
		entry_prefix(&m->e[last], &p);
		s = probe(m, &p, &found, &h);
		*s = SLOT_MAKE(h, idx);
		m->e[idx] = m->e[last];
		heap_push(m, entry_first_expiry(&m->e[idx]), idx);
	}
	m->n--;
}

/* Finds p, or makes room for it and creates it (no decision, no flag). */
static int find_or_create(struct dmodel *m, const struct cs_prefix *p, struct pentry **out)
{
	uint32_t *s;
	uint64_t h;
	bool found;
	int err;

	if ((size_t)(m->n + m->tombs + 1) * 2 > m->scap) {
		err = reindex(m, (size_t)m->n * 4 > m->scap ? m->scap * 2 : m->scap);
		if (err)
			return err;
	}
	s = probe(m, p, &found, &h);
	if (found) {
		*out = &m->e[SLOT_IDX(*s)];
		return 0;
	}
	if (m->n >= DMODEL_MAX_PREFIXES)
		return -ENOSPC;
	if (m->n == m->ecap) {
		uint32_t ncap = m->ecap ? m->ecap + m->ecap / 2 : 1024;
		struct pentry *ne = realloc(m->e, (size_t)ncap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		m->e = ne;
		m->ecap = ncap;
	}
	if (*s == SLOT_TOMB)
		m->tombs--;
	*s = SLOT_MAKE(h, m->n);
	*out = &m->e[m->n++];
	memset(*out, 0, sizeof(**out));
	memcpy((*out)->addr, p->addr, 16);
	(*out)->family = (uint8_t)p->family;
	(*out)->plen = p->plen;
	return 0;
}

static int push_dec(struct pentry *e, const struct dec *d)
{
	if (e->n == 0) {
		e->one = *d;
	} else if (e->n == 1) {
		struct dec *many = malloc(2 * sizeof(*many));

		if (!many)
			return -ENOMEM;
		many[0] = e->one;
		e->many = many;
	} else if (!(e->n & (e->n - 1))) {
		struct dec *many = realloc(e->many, 2 * e->n * sizeof(*many));

		if (!many)
			return -ENOMEM;
		e->many = many;
	}
	if (e->n >= 1)
		e->many[e->n] = *d;
	e->n++;
	return 0;
}

static void drop_dec(struct pentry *e, uint32_t i)
{
	struct dec *d = decs_of(e);

	d[i] = d[e->n - 1];
	if (--e->n == 1) {
		struct dec *many = e->many;

		e->one = many[0];
		free(many);
	}
}

int dmodel_add(struct dmodel *m, const struct cs_prefix *p, uint64_t id, uint64_t expires,
	       uint8_t origin, deffect_fn fn, void *arg)
{
	struct dec nd = { .id = id, .expires = expires, .origin = origin & 15 };
	struct deffect before, after;
	struct pentry *e;
	struct dec *d;
	bool was_applied_only;
	int err = find_or_create(m, p, &e);

	if (err)
		return err;
	effect_of(e, &before);
	was_applied_only = e->flags & E_APPLIED_ONLY;
	if (was_applied_only) {
		/* the first decision for a prefix in place: the same one again writes nothing */
		struct dec *old = &e->one;
		uint64_t slack = old->expires > nd.expires ? old->expires - nd.expires :
							     nd.expires - old->expires;

		e->flags &= (uint8_t)~E_APPLIED_ONLY;
		e->n = 0;
		if (((old->id == id && old->origin == nd.origin) || !old->id) &&
		    slack <= DMODEL_EXPIRY_SLACK_NS) {
			nd.expires = old->expires; /* what the data plane has */
			e->one = nd;
			e->n = 1;
			m->ndec++;
			heap_push(m, nd.expires, (uint32_t)(e - m->e));
			return 0;
		}
	}
	d = decs_of(e);
	for (uint32_t i = 0; i < e->n; i++) {
		if (d[i].id == id) {
			d[i] = nd;
			goto report;
		}
	}
	if (e->n >= DMODEL_MAX_PER_PREFIX)
		return -E2BIG;
	err = push_dec(e, &nd); /* cannot fail on an empty entry: no entry is left empty */
	if (err)
		return err;
	m->ndec++;
report:
	heap_push(m, nd.expires, (uint32_t)(e - m->e));
	effect_of(e, &after);
	if (fn && effect_differs(&before, &after))
		fn(&after, arg);
	return 0;
}

int dmodel_del(struct dmodel *m, const struct cs_prefix *p, uint64_t id, deffect_fn fn, void *arg)
{
	struct pentry *e = find(m, p);
	struct deffect before, after;
	struct dec *d;

	if (!e || (e->flags & E_APPLIED_ONLY))
		return 0;
	d = decs_of(e);
	for (uint32_t i = 0; i < e->n; i++) {
		if (d[i].id != id)
			continue;
		effect_of(e, &before);
		drop_dec(e, i);
		m->ndec--;
		effect_of(e, &after);
		if (!e->n)
			remove_entry(m, e);
		if (fn && effect_differs(&before, &after))
			fn(&after, arg);
		return 0;
	}
	return 0;
}

/* Drops entry i's decisions with expires <= now (an applied-only entry past its
 * value's); the last entry may move into i. */
static void expire_entry(struct dmodel *m, uint32_t i, uint64_t now, deffect_fn fn, void *arg)
{
	struct pentry *e = &m->e[i];
	struct deffect before, after;
	bool changed = false;
	struct dec *d;

	if (e->flags & E_APPLIED_ONLY) {
		if (!e->one.expires || e->one.expires > now)
			return;
		effect_of(e, &before);
		remove_entry(m, e);
		before.present = false;
		if (fn)
			fn(&before, arg);
		return;
	}
	d = decs_of(e);
	for (uint32_t j = 0; j < e->n; j++)
		changed |= d[j].expires <= now;
	if (!changed)
		return;
	effect_of(e, &before);
	for (uint32_t j = 0; j < e->n;) {
		if (decs_of(e)[j].expires <= now) {
			drop_dec(e, j);
			m->ndec--;
		} else {
			j++;
		}
	}
	effect_of(e, &after);
	if (!e->n)
		remove_entry(m, e);
	if (fn && effect_differs(&before, &after))
		fn(&after, arg);
}

size_t dmodel_expire(struct dmodel *m, uint64_t now, deffect_fn fn, void *arg)
{
	size_t visited = 0;

	if (m->heap_lost) {
		/* downwards: removing moves the last entry, already seen, into the hole */
		for (uint32_t i = m->n; i-- > 0; visited++)
			expire_entry(m, i, now, fn, arg);
		heap_rebuild(m);
		return visited;
	}
	while (m->hn && m->heap[0].expires <= now) {
		uint32_t i = m->heap[0].idx;

		heap_pop(m);
		visited++;
		if (i >= m->n)
			continue; /* stale: that entry went */
		expire_entry(m, i, now, fn, arg);
		/* what is left there (the same entry or one moved in) keeps an item */
		if (i < m->n)
			heap_push(m, entry_first_expiry(&m->e[i]), i);
	}
	return visited;
}

void dmodel_for_each(const struct dmodel *m, deffect_fn fn, void *arg)
{
	for (uint32_t i = 0; i < m->n; i++) {
		struct deffect eff;

		effect_of(&m->e[i], &eff);
		if (eff.present)
			fn(&eff, arg);
	}
}

int dmodel_applied(struct dmodel *m, const struct cs_prefix *p, uint64_t id, uint64_t expires,
		   uint8_t origin)
{
	struct pentry *e;
	int err = find_or_create(m, p, &e);

	if (err)
		return err;
	if (e->n > 1)
		free(e->many);
	m->ndec -= e->n;
	e->n = 0;
	e->flags |= E_APPLIED_ONLY;
	e->one = (struct dec){ .id = id, .expires = expires, .origin = origin & 15 };
	heap_push(m, expires, (uint32_t)(e - m->e));
	return 0;
}

void dmodel_begin_resync(struct dmodel *m)
{
	for (uint32_t i = 0; i < m->n; i++) {
		struct pentry *e = &m->e[i];
		struct deffect eff;

		if (e->flags & E_APPLIED_ONLY)
			continue;
		effect_of(e, &eff);
		if (e->n > 1)
			free(e->many);
		e->n = 0;
		e->flags |= E_APPLIED_ONLY;
		e->one = (struct dec){ .id = eff.id, .expires = eff.expires, .origin = eff.origin };
	}
	m->ndec = 0;
	heap_rebuild(m); /* each entry's value is its latest expiry now */
}

void dmodel_end_resync(struct dmodel *m, deffect_fn fn, void *arg)
{
	for (uint32_t i = m->n; i-- > 0;) {
		struct pentry *e = &m->e[i];
		struct deffect gone;

		if (!(e->flags & E_APPLIED_ONLY))
			continue;
		effect_of(e, &gone);
		gone.present = false;
		remove_entry(m, e);
		if (fn)
			fn(&gone, arg);
	}
}

void dmodel_forget(struct dmodel *m, const struct cs_prefix *p)
{
	struct pentry *e = find(m, p);

	if (!e)
		return;
	if (!(e->flags & E_APPLIED_ONLY))
		m->ndec -= e->n;
	remove_entry(m, e);
}

bool dmodel_has(const struct dmodel *m, const struct cs_prefix *p)
{
	return find(m, p) != NULL;
}

size_t dmodel_prefixes(const struct dmodel *m)
{
	return m->n;
}

size_t dmodel_decisions(const struct dmodel *m)
{
	return m->ndec;
}

uint64_t dmodel_next_expiry(const struct dmodel *m)
{
	if (m->heap_lost)
		return 0;
	/* a stale item may come first: an expiry pass then finds nothing to do */
	return m->hn ? m->heap[0].expires : UINT64_MAX;
}
