// SPDX-License-Identifier: MIT
/* Lists of owned strings (strv.h). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"
#include "common/vec.h"

int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));
	char *copy;

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(copy = strdup(s)))
		return -ENOMEM;
	nv[(*n)++] = copy;
	return 0;
}

bool strv_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

bool strv_del(char **v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(v[i], s)) {
			free(v[i]);
			v[i] = v[--*n];
			return true;
		}
	return false;
}

void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int strv_from_dir(const char *dir, bool (*keep)(const char *dir, const char *name, void *arg),
		  void *arg, char ***v, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;
	int err = 0;

	*v = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (keep && !keep(dir, de->d_name, arg)))
			continue;
		err = vec_reserve((void **)v, &cap, *n, sizeof(**v), 16);
		if (!err && !((*v)[*n] = strdup(de->d_name)))
			err = -ENOMEM;
		if (!err)
			(*n)++;
	}
	closedir(d);
	if (err) {
		strv_free(*v, *n);
		*v = NULL;
		*n = 0;
	} else if (*n) { /* qsort(NULL, 0, ...) is undefined */
		qsort(*v, *n, sizeof(**v), cmp_name);
	}
	return err;
}
