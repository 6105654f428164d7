// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/readfile.h"

int cs_read_file(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t got = 0;
	long n;
	int err = 0;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		err = errno ? -errno : -EIO;
	else if ((unsigned long)n > max)
		err = -EFBIG;
	else if (!(buf = malloc((size_t)n + 1)))
		err = -ENOMEM;
	else if ((got = fread(buf, 1, (size_t)n, f)) != (size_t)n && ferror(f))
		err = -EIO;
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	/* a file that shrank while read gives what it still had */
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}
