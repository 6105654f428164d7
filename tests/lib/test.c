// SPDX-License-Identifier: MIT
/* The counters behind tests/lib/test.h, linked into every C test program. */
#include "test.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/*
 * A copy: the caller's template may live on a stack frame that is gone (or
 * reused) by the time exit() runs the removal.
 */
static char scratch[PATH_MAX];
static pid_t scratch_owner; /* a forked child that calls exit() leaves it alone */

static void scratch_remove(void)
{
	if (getpid() == scratch_owner && t_rmtree(scratch))
		fprintf(stderr, "cleanup of %s failed\n", scratch);
}

int t_scratch_dir(char *tmpl)
{
	if (*scratch || strlen(tmpl) >= sizeof(scratch)) {
		fprintf(stderr, "t_scratch_dir(%s): %s\n", tmpl,
			*scratch ? "one scratch directory per program" : "template too long");
		return -1;
	}
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return -1;
	}
	strcpy(scratch, tmpl);
	scratch_owner = getpid();
	return atexit(scratch_remove) ? -1 : 0;
}
