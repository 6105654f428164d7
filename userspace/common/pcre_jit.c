// SPDX-License-Identifier: MIT
#include "common/pcre_jit.h"

#include <pthread.h>

/* One lock for all patterns: each is compiled once, and searches wait only for their own. */
static pthread_mutex_t jit_mu = PTHREAD_MUTEX_INITIALIZER;

void pcre_jit_first_search(pcre2_code *code, bool *done)
{
	pthread_mutex_lock(&jit_mu);
	if (!__atomic_load_n(done, __ATOMIC_RELAXED)) {
		pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
		__atomic_store_n(done, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&jit_mu);
}
