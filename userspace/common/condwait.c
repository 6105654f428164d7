// SPDX-License-Identifier: MIT
#include "common/condwait.h"

#include <errno.h>

int cs_cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;
	int err = pthread_condattr_init(&a);

	if (err)
		return -err;
	err = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (!err)
		err = pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
	return -err;
}

struct timespec cs_mono_deadline(long long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ms > 0) {
		ts.tv_sec += (time_t)(ms / 1000);
		ts.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
	}
	return ts;
}

int cs_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *deadline)
{
	return pthread_cond_timedwait(c, m, deadline) == ETIMEDOUT ? ETIMEDOUT : 0;
}

int cs_cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, long long ms)
{
	struct timespec until = cs_mono_deadline(ms);

	return cs_cond_wait_until(c, m, &until);
}
