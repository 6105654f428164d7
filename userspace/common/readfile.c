// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/readfile.h"
#include "common/vec.h"

int cs_read_stream(FILE *f, size_t max, char **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0, cap = 0, got;
	int rc = 0;

	*out = NULL;
	do {
		/* room for a read of 64 KiB and the NUL, one byte beyond max to see it exceeded */
		if (vec_reserve((void **)&buf, &cap, n + 65536, 1, 65536 + 1)) {
			rc = -ENOMEM;
			break;
		}
		got = fread(buf + n, 1, cap - n - 1 < max + 1 - n ? cap - n - 1 : max + 1 - n, f);
		n += got;
	} while (got && n <= max);
	if (!rc && n > max)
		rc = -EFBIG;
	else if (!rc && ferror(f))
		rc = -EIO;
	if (rc) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

int cs_read_file(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	int rc;

	*out = NULL;
	if (!f)
		return -errno;
	rc = cs_read_stream(f, max, out, len);
	fclose(f);
	return rc;
}

bool cs_is_yaml_name(const char *name)
{
	size_t l = strlen(name);

	return (l > 5 && !strcmp(name + l - 5, ".yaml")) || (l > 4 && !strcmp(name + l - 4, ".yml"));
}

bool cs_keep_yaml_name(const char *dir, const char *name, void *arg)
{
	(void)dir;
	(void)arg;
	return cs_is_yaml_name(name);
}
