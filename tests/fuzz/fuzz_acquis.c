// SPDX-License-Identifier: MIT
/*
 * acquis.yaml (several documents, ${VAR} expansion) from the input, and the
 * input's first line as a -dsn.
 */
#include "fuzz.h"

#include "acquisition/acq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acq_config cfg = { 0 };
	char err[512], *dsn, *rest;
	const char *labels[] = { "a:b", "type:x" };

	fuzz_quiet();
	acq_config_load_buf(&cfg, "acquis.yaml", (const char *)data, size, err, sizeof(err));
	acq_config_free(&cfg);
	fuzz_split(data, size, &dsn, &rest);
	memset(&cfg, 0, sizeof(cfg));
	acq_config_from_dsn(&cfg, dsn, "syslog", labels, 2, err, sizeof(err));
	acq_config_free(&cfg);
	free(dsn);
	free(rest);
	return 0;
}
