// SPDX-License-Identifier: MIT
/*
 * Parser YAML (hub parsers/STAGE/NAME.yaml): the input is loaded as the nodes of one
 * stage; when it loads, two log lines go through it.
 */
#include "fuzz.h"

#include "parser/event.h"
#include "parser/parser.h"

static const char *const lines[] = {
	"Dec  4 10:00:00 host sshd[1]: Failed password for root from 198.18.0.1 port 22 ssh2",
	"198.18.0.2 - - [04/Dec/2024:10:00:00 +0000] \"GET /admin HTTP/1.1\" 404 12 \"-\" \"x\"",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *yaml = fuzz_cstr(data, size);
	struct cs_parsers *p = NULL;

	if (cs_parsers_new(&(struct cs_parser_opts){ 0 }, &p))
		abort();
	if (!cs_parsers_load_string(p, "s00-raw", "fuzz.yaml", yaml) && !cs_parsers_ready(p)) {
		for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
			struct cs_event *evt = NULL;

			if (cs_event_new(&evt) ||
			    cs_event_set_line(evt, lines[i], strlen(lines[i]), "/var/log/x.log",
					      "file", i ? "nginx" : "syslog"))
				abort();
			cs_parse(p, evt, NULL, NULL);
			cs_event_free(evt);
		}
	}
	cs_parsers_free(p);
	free(yaml);
	return 0;
}
