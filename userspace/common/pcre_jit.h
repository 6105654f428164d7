/* SPDX-License-Identifier: MIT */
/*
 * PCRE2's JIT compiled on a pattern's first search instead of when it is
 * compiled. A detector loads a few hundred groks and ~600 data-file regexes
 * (bad_user_agents) and searches only the few its logs reach: JIT-compiling
 * them all cost about a fifth of the start-up CPU. JIT is an optimisation
 * (the interpreter gives the same answers), so errors are ignored as before.
 */
#ifndef CS_PCRE_JIT_H
#define CS_PCRE_JIT_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>
#include <stdbool.h>

void pcre_jit_first_search(pcre2_code *code, bool *done);

/*
 * Before every search of code: *done (false when code was compiled) says it
 * was JIT-compiled. Thread-safe: pcre2_jit_compile() changes code, so no
 * search may start before it has finished; after, code is read-only again.
 */
static inline void pcre_jit_once(pcre2_code *code, bool *done)
{
	if (!__atomic_load_n(done, __ATOMIC_ACQUIRE))
		pcre_jit_first_search(code, done);
}

#endif /* CS_PCRE_JIT_H */
