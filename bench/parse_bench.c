// SPDX-License-Identifier: MIT
/*
 * Parse throughput (not a test): every line of a log through the hub parsers on
 * one thread, in replay (time machine) mode, as `crowdsec -dsn file://` would.
 *   parse_bench HUB_DIR TYPE LOG     prints: lines, parsed, seconds, lines/s, user CPU s
 * The parsers are the ones CrowdSec's replay of that log type goes through
 * (syslog-logs, sshd-logs or nginx-logs, dateparse-enrich, http-logs, whitelists).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "parser/event.h"
#include "parser/parser.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char *const files[][2] = {
		{ "s00-raw", "parsers/s00-raw/crowdsecurity/syslog-logs.yaml" },
		{ "s01-parse", "parsers/s01-parse/crowdsecurity/sshd-logs.yaml" },
		{ "s01-parse", "parsers/s01-parse/crowdsecurity/nginx-logs.yaml" },
		{ "s02-enrich", "parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml" },
		{ "s02-enrich", "parsers/s02-enrich/crowdsecurity/http-logs.yaml" },
		{ "s02-enrich", "parsers/s02-enrich/crowdsecurity/whitelists.yaml" },
	};
	char pat[1024], data[1024], path[1024], *line = NULL;
	struct cs_parser_opts o = { 0 };
	struct cs_parsers *p = NULL;
	unsigned long lines = 0, kept = 0;
	size_t cap = 0;
	ssize_t n;
	struct rusage ru;
	double t0, t;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: parse_bench HUB_DIR TYPE LOG\n");
		return 2;
	}
	snprintf(pat, sizeof(pat), "%s/patterns", argv[1]);
	snprintf(data, sizeof(data), "%s/data", argv[1]);
	o.patterns_dir = pat;
	o.data_dir = data;
	if (cs_parsers_new(&o, &p))
		return 1;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", argv[1], files[i][1]);
		if (cs_parsers_load_file(p, files[i][0], path, NULL)) {
			fprintf(stderr, "%s\n", cs_parsers_last_error(p));
			return 1;
		}
	}
	cs_parsers_ready(p);
	f = fopen(argv[3], "r");
	if (!f)
		return 1;
	t0 = now_s();
	while ((n = getline(&line, &cap, f)) > 0) {
		struct cs_event *evt = NULL;

		if (cs_event_new(&evt))
			break;
		cs_event_set_line(evt, line, (size_t)n, argv[3], "file", argv[2]);
		evt->expect_mode = CS_MODE_TIMEMACHINE;
		if (!cs_parse(p, evt, NULL, NULL) && evt->process && !evt->whitelisted)
			kept++;
		cs_event_free(evt);
		lines++;
	}
	t = now_s() - t0;
	getrusage(RUSAGE_SELF, &ru);
	printf("%lu\t%lu\t%.2f\t%.0f\t%.2f\t%ld\n", lines, kept, t, (double)lines / t,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6, ru.ru_maxrss);
	free(line);
	fclose(f);
	cs_parsers_free(p);
	return 0;
}
