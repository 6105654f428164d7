// SPDX-License-Identifier: MIT
/* The counters behind tests/lib/test.h, linked into every C test program. */
#include "test.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

int t_lane_port(int base)
{
	const char *lane = getenv("TEST_LANE");
	char *end;
	long n;

	if (!lane || !*lane)
		return base;
	n = strtol(lane, &end, 10);
	return *end || n < 0 || n > 9 ? base : base + 1000 * (int)n;
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

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

int t_rmtree(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) ? -1 : 0;
}

static const char *scratch;
static pid_t scratch_owner; /* a forked child that calls exit() leaves it alone */

static void scratch_remove(void)
{
	if (getpid() == scratch_owner && t_rmtree(scratch))
		fprintf(stderr, "cleanup of %s failed\n", scratch);
}

int t_scratch_dir(char *tmpl)
{
	if (scratch || !mkdtemp(tmpl)) {
		perror(scratch ? "one scratch directory per program" : "mkdtemp");
		return -1;
	}
	scratch = tmpl;
	scratch_owner = getpid();
	return atexit(scratch_remove) ? -1 : 0;
}
