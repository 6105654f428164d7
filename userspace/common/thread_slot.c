// SPDX-License-Identifier: MIT
#include "common/thread_slot.h"

/* Serialises the making of keys; taken once per slot. */
static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;

static int slot_state(struct thread_slot *s)
{
	int state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);

	if (state)
		return state;
	pthread_mutex_lock(&key_lock);
	if (!s->state) {
		int err = pthread_key_create(&s->key, s->destroy);

		__atomic_store_n(&s->state, err ? -err : 1, __ATOMIC_RELEASE);
	}
	state = s->state;
	pthread_mutex_unlock(&key_lock);
	return state;
}

void *thread_slot_get(struct thread_slot *s)
{
	return slot_state(s) > 0 ? pthread_getspecific(s->key) : NULL;
}

int thread_slot_set(struct thread_slot *s, void *obj)
{
	int state = slot_state(s);

	return state < 0 ? state : -pthread_setspecific(s->key, obj);
}
