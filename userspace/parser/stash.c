// SPDX-License-Identifier: MIT
#include "parser/stash.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct stash_ent {
	char *key, *val;
	int64_t expires; /* CLOCK_MONOTONIC ns */
};

/* Caches are small (hub default 100 entries): a plain array in write order. */
struct stash_cache {
	char *name;
	size_t size;
	struct stash_ent *ents;
	size_t n;
	struct stash_cache *next;
};

struct cs_stash_store {
	pthread_mutex_t lock;
	struct stash_cache *caches;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int cs_stash_store_new(struct cs_stash_store **out)
{
	struct cs_stash_store *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

void cs_stash_store_free(struct cs_stash_store *s)
{
	if (!s)
		return;
	while (s->caches) {
		struct stash_cache *c = s->caches;

		s->caches = c->next;
		for (size_t i = 0; i < c->n; i++) {
			free(c->ents[i].key);
			free(c->ents[i].val);
		}
		free(c->ents);
		free(c->name);
		free(c);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static struct stash_cache *find_cache(struct cs_stash_store *s, const char *name)
{
	for (struct stash_cache *c = s->caches; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static void drop(struct stash_cache *c, size_t i)
{
	free(c->ents[i].key);
	free(c->ents[i].val);
	memmove(&c->ents[i], &c->ents[i + 1], (c->n - i - 1) * sizeof(*c->ents));
	c->n--;
}

int cs_stash_set(struct cs_stash_store *s, const char *name, size_t size, int64_t ttl_ns,
		 const char *key, const char *val)
{
	struct stash_cache *c;
	char *k = strdup(key), *v = strdup(val);
	int err = -ENOMEM;

	if (!k || !v)
		goto out;
	pthread_mutex_lock(&s->lock);
	c = find_cache(s, name);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c || !(c->name = strdup(name)) ||
		    !(c->ents = calloc(size ? size : 1, sizeof(*c->ents)))) {
			if (c)
				free(c->name);
			free(c);
			goto unlock;
		}
		c->size = size ? size : 1;
		c->next = s->caches;
		s->caches = c;
	}
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->ents[i].key, key)) {
			drop(c, i);
			break;
		}
	if (c->n == c->size)
		drop(c, 0); /* the oldest write goes */
	c->ents[c->n++] = (struct stash_ent){ k, v, mono_ns() + ttl_ns };
	k = v = NULL;
	err = 0;
unlock:
	pthread_mutex_unlock(&s->lock);
out:
	free(k);
	free(v);
	return err;
}

int cs_stash_get(struct cs_stash_store *s, const char *name, const char *key, char **val)
{
	struct stash_cache *c;
	int err = -ENOENT;

	pthread_mutex_lock(&s->lock);
	c = find_cache(s, name);
	for (size_t i = 0; c && i < c->n; i++) {
		if (strcmp(c->ents[i].key, key))
			continue;
		if (c->ents[i].expires < mono_ns()) {
			drop(c, i);
			break;
		}
		*val = strdup(c->ents[i].val);
		err = *val ? 0 : -ENOMEM;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}
