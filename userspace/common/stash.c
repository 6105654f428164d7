// SPDX-License-Identifier: MIT
#include "common/stash.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/dlist.h"
#include "common/hash.h"

struct stash_ent {
	char *key, *val;
	int64_t expires; /* CLOCK_MONOTONIC ns, 0 = never */
	struct cs_dlink order;
};

struct stash_cache {
	size_t size;
	struct cs_hmap *ents;		   /* key -> struct stash_ent */
	struct cs_dlist order;		   /* write order, oldest first, for eviction */
};

struct cs_stash {
	pthread_mutex_t lock;
	struct cs_hmap *caches; /* name -> struct stash_cache */
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void ent_free(void *p)
{
	struct stash_ent *e = p;

	if (!e)
		return;
	free(e->key);
	free(e->val);
	free(e);
}

static void cache_free(void *p)
{
	struct stash_cache *c = p;

	if (!c)
		return;
	cs_hmap_free(c->ents, ent_free);
	free(c);
}

int cs_stash_new(struct cs_stash **out)
{
	struct cs_stash *s = calloc(1, sizeof(*s));

	if (!s || !(s->caches = cs_hmap_new())) {
		free(s);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

void cs_stash_free(struct cs_stash *s)
{
	if (!s)
		return;
	cs_hmap_free(s->caches, cache_free);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void drop(struct stash_cache *c, struct stash_ent *e)
{
	cs_dlist_unlink(&c->order, &e->order);
	cs_hmap_del(c->ents, e->key, strlen(e->key));
	ent_free(e);
}

static struct stash_cache *cache_get(struct cs_stash *s, const char *name, size_t size, int *err)
{
	struct stash_cache *c = cs_hmap_get(s->caches, name, strlen(name));

	*err = 0;
	if (c)
		return c;
	if (cs_hmap_count(s->caches) >= CS_STASH_MAX_CACHES) {
		*err = -ENOSPC;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->ents = cs_hmap_new()) ||
	    cs_hmap_put(s->caches, name, strlen(name), c, NULL)) {
		cache_free(c);
		*err = -ENOMEM;
		return NULL;
	}
	c->size = size ? size : CS_STASH_DEFAULT_SIZE;
	return c;
}

int cs_stash_set(struct cs_stash *s, const char *name, size_t size, int64_t ttl_ns,
		 const char *key, const char *val)
{
	struct stash_ent *e = calloc(1, sizeof(*e)), *old = NULL;
	struct stash_cache *c;
	int err = -ENOMEM;

	if (!e || !(e->key = strdup(key)) || !(e->val = strdup(val))) {
		ent_free(e);
		return -ENOMEM;
	}
	e->expires = ttl_ns > 0 ? mono_ns() + ttl_ns : 0;
	pthread_mutex_lock(&s->lock);
	c = cache_get(s, name, size, &err);
	if (!c)
		goto out;
	old = cs_hmap_get(c->ents, key, strlen(key));
	if (old)
		drop(c, old);
	else if (cs_hmap_count(c->ents) >= c->size && c->order.head)
		/* the oldest write goes */
		drop(c, cs_dlist_entry(c->order.head, struct stash_ent, order));
	err = cs_hmap_put(c->ents, e->key, strlen(e->key), e, NULL);
	if (err)
		goto out;
	cs_dlist_push_tail(&c->order, &e->order);
	e = NULL;
out:
	pthread_mutex_unlock(&s->lock);
	ent_free(e);
	return err;
}

int cs_stash_get(struct cs_stash *s, const char *name, const char *key, char **val)
{
	struct stash_cache *c;
	struct stash_ent *e;
	int err = -ENOENT;

	pthread_mutex_lock(&s->lock);
	c = cs_hmap_get(s->caches, name, strlen(name));
	e = c ? cs_hmap_get(c->ents, key, strlen(key)) : NULL;
	if (e && e->expires && e->expires <= mono_ns()) {
		drop(c, e);
	} else if (e) {
		*val = strdup(e->val);
		err = *val ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}
