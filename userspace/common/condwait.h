/* SPDX-License-Identifier: MIT */
/*
 * Timed waits on a condition variable, measured on CLOCK_MONOTONIC: a step of
 * the wall clock (NTP, `date -s`) neither ends a wait early nor makes it last
 * the size of the step. pthread_cond_timedwait reads its deadline on the
 * clock the condition variable was made with, so the variable must come from
 * cs_cond_init_mono and its deadlines from cs_mono_deadline.
 */
#ifndef CS_CONDWAIT_H
#define CS_CONDWAIT_H

#include <pthread.h>
#include <time.h>

/* pthread_cond_init on the monotonic clock: 0 or -errno. */
int cs_cond_init_mono(pthread_cond_t *c);
/* The monotonic time MS milliseconds from now (ms <= 0: now). */
struct timespec cs_mono_deadline(long long ms);
/* Until the deadline or a wake-up (spurious ones included): 0, or ETIMEDOUT once it passed. */
int cs_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *deadline);
/* At most MS milliseconds, or until a wake-up: 0 or ETIMEDOUT. */
int cs_cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, long long ms);

#endif /* CS_CONDWAIT_H */
