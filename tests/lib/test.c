// SPDX-License-Identifier: MIT
/* The counters behind tests/lib/test.h, linked into every C test program. */
#include "test.h"

#include <limits.h>
#include <stdlib.h>

int t_pass, t_fail, t_skip;

const char *t_shared(const char *sub)
{
	static char ring[4][PATH_MAX];
	static unsigned next;
	const char *dir = getenv("SHARED_DIR");
	char *buf;

	if (!dir || !*dir)
		dir = "/SHARED_DIR-not-set";
	buf = ring[next++ % 4];
	snprintf(buf, PATH_MAX, "%s/%s", dir, sub);
	return buf;
}

int t_write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;
	int bad;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	bad = fputs(text, f) < 0;
	return fclose(f) || bad ? -1 : 0;
}
