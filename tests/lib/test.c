// SPDX-License-Identifier: MIT
/* The counters behind tests/lib/test.h, linked into every C test program. */
#include "test.h"

int t_pass, t_fail, t_skip;
