// SPDX-License-Identifier: MIT
/* profiles.yaml: the input is loaded as the LAPI's profiles file. */
#include "fuzz.h"

#include "profiles/profiles.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_profiles *p = NULL;
	char path[64], err[512];
	int fd;

	fuzz_quiet();
	fd = fuzz_file(data, size, path, sizeof(path));
	if (!cs_profiles_load(path, &p, err, sizeof(err)))
		cs_profiles_free(p);
	close(fd);
	return 0;
}
