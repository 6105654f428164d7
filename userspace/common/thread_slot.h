/* SPDX-License-Identifier: MIT */
/*
 * One object per thread, freed by the slot's destructor when the thread exits:
 * what a hot path keeps between calls instead of making it on every call (a
 * grok match block, the parsers' method results, an expression vm). The
 * pthread key behind it is made on first use.
 *
 *   static struct thread_slot md_slot = THREAD_SLOT(md_free);
 *   md = thread_slot_get(&md_slot);            NULL: none yet for this thread
 *   err = thread_slot_set(&md_slot, md);       0 or -errno; NULL empties the slot
 */
#ifndef CS_THREAD_SLOT_H
#define CS_THREAD_SLOT_H

#include <pthread.h>

struct thread_slot {
	void (*destroy)(void *obj); /* at thread exit, on a slot's non-NULL object */
	pthread_key_t key;
	int state;		    /* 0: no key yet, 1: made, -errno: could not be made */
};

#define THREAD_SLOT(destroy_fn) { .destroy = (destroy_fn) }

/* This thread's object, or NULL. */
void *thread_slot_get(struct thread_slot *s);

/* Makes obj this thread's object (the previous one is not freed): 0 or -errno. */
int thread_slot_set(struct thread_slot *s, void *obj);

#endif /* CS_THREAD_SLOT_H */
