/* SPDX-License-Identifier: MIT */
/*
 * Stopping a background thread that sleeps on a condition variable: the one
 * handshake (set the flag under the lock, wake it, join) that the LAPI's
 * bouncer cache and the notification sender share, so a worker can never miss
 * its stop while it is between checking the flag and waiting.
 */
#ifndef CS_WORKER_H
#define CS_WORKER_H

#include <pthread.h>
#include <stdbool.h>

/*
 * Sets *stopping under lock, signals wake and joins thread. The worker checks
 * *stopping under lock before each wait on wake.
 */
static inline void cs_worker_stop(pthread_mutex_t *lock, pthread_cond_t *wake, bool *stopping,
				  pthread_t thread)
{
	pthread_mutex_lock(lock);
	*stopping = true;
	pthread_cond_signal(wake);
	pthread_mutex_unlock(lock);
	pthread_join(thread, NULL);
}

#endif /* CS_WORKER_H */
