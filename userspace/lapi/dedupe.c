// SPDX-License-Identifier: MIT
#include "lapi/dedupe.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

struct alert_dedupe {
	pthread_mutex_t lock;
	struct cs_hmap *ids;	/* "machine\0uuid" -> id (stored in the pointer) */
	char **fifo;		/* the keys, oldest at head */
	size_t *fifo_len;
	size_t cap, head, n;
};

/* The key holds a NUL between machine and uuid: neither may contain one. */
static char *make_key(const char *machine, const char *uuid, size_t *len)
{
	size_t ml = strlen(machine), ul = strlen(uuid);
	char *k = malloc(ml + ul + 2);

	if (!k)
		return NULL;
	memcpy(k, machine, ml + 1);
	memcpy(k + ml + 1, uuid, ul + 1);
	*len = ml + ul + 1;
	return k;
}

void alert_dedupe_free(struct alert_dedupe *d)
{
	if (!d)
		return;
	for (size_t i = 0; d->fifo && i < d->n; i++)
		free(d->fifo[(d->head + i) % d->cap]);
	free(d->fifo);
	free(d->fifo_len);
	cs_hmap_free(d->ids, NULL);
	if (d->ids)
		pthread_mutex_destroy(&d->lock);
	free(d);
}

int alert_dedupe_new(size_t cap, struct alert_dedupe **out)
{
	struct alert_dedupe *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->cap = cap ? cap : 1;
	d->ids = cs_hmap_new();
	d->fifo = calloc(d->cap, sizeof(*d->fifo));
	d->fifo_len = calloc(d->cap, sizeof(*d->fifo_len));
	if (!d->ids || !d->fifo || !d->fifo_len) {
		alert_dedupe_free(d);
		return -ENOMEM;
	}
	pthread_mutex_init(&d->lock, NULL);
	*out = d;
	return 0;
}

int64_t alert_dedupe_get(struct alert_dedupe *d, const char *machine, const char *uuid)
{
	size_t len;
	char *k = make_key(machine, uuid, &len);
	int64_t id;

	if (!k)
		return 0;
	pthread_mutex_lock(&d->lock);
	id = (int64_t)(intptr_t)cs_hmap_get(d->ids, k, len);
	pthread_mutex_unlock(&d->lock);
	free(k);
	return id;
}

/* Remembers id under the key unless one is there: 0 with *had (that id, or 0), or -ENOMEM. */
static int remember(struct alert_dedupe *d, const char *machine, const char *uuid, int64_t id,
		    int64_t *had)
{
	size_t len;
	char *k = make_key(machine, uuid, &len);
	void *old = NULL;
	int err;

	*had = 0;
	if (!k)
		return -ENOMEM;
	pthread_mutex_lock(&d->lock);
	if ((*had = (int64_t)(intptr_t)cs_hmap_get(d->ids, k, len))) {
		pthread_mutex_unlock(&d->lock);
		free(k);
		return 0;
	}
	if (d->n == d->cap) {
		char *oldest = d->fifo[d->head];

		cs_hmap_del(d->ids, oldest, d->fifo_len[d->head]);
		free(oldest);
		d->head = (d->head + 1) % d->cap;
		d->n--;
	}
	err = cs_hmap_put(d->ids, k, len, (void *)(intptr_t)id, &old);
	if (!err) {
		size_t tail = (d->head + d->n++) % d->cap;

		d->fifo[tail] = k;
		d->fifo_len[tail] = len;
	} else {
		free(k);
	}
	pthread_mutex_unlock(&d->lock);
	return err;
}

int alert_dedupe_put(struct alert_dedupe *d, const char *machine, const char *uuid, int64_t id)
{
	int64_t had;

	return remember(d, machine, uuid, id, &had);
}

int64_t alert_dedupe_claim(struct alert_dedupe *d, const char *machine, const char *uuid,
			   int64_t id)
{
	int64_t had;

	return remember(d, machine, uuid, id, &had) ? 0 : had ? had : id;
}
