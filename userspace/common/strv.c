// SPDX-License-Identifier: MIT
/* Lists of owned strings (strv.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"

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
