// SPDX-License-Identifier: MIT
/* The bouncer's YAML configuration (crowdsec-xdp-bouncer.yaml) from the input. */
#include "fuzz.h"

#include "bouncer/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bouncer_config cfg;
	char path[64], err[512];
	int fd;

	fuzz_quiet();
	fd = fuzz_file(data, size, path, sizeof(path));
	if (!bouncer_config_load(path, &cfg, err, sizeof(err)))
		bouncer_config_free(&cfg);
	close(fd);
	return 0;
}
