// SPDX-License-Identifier: MIT
/*
 * grok: the first line of the input is a pattern (expanded against the built-in
 * library, then compiled by PCRE2), the rest is matched against it.
 */
#include "fuzz.h"

#include "common/strmap.h"
#include "parser/grok.h"

static struct grok_lib *lib;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if (grok_lib_new(&lib) || grok_lib_add_builtins(lib))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grok *g = NULL;
	char *pattern, *subject, errbuf[256];
	size_t len = fuzz_split(data, size, &pattern, &subject);

	if (!grok_compile(lib, pattern, &g, errbuf, sizeof(errbuf))) {
		struct strmap *m = strmap_new();

		if (!m)
			abort();
		grok_match(g, subject, len, m);
		for (size_t i = 0; i < grok_nfields(g); i++)
			(void)grok_field(g, i);
		strmap_free(m);
		grok_free(g);
	}
	free(pattern);
	free(subject);
	return 0;
}
