// SPDX-License-Identifier: MIT
/*
 * crowdsec-xdp-bouncer: the only privileged process of the system. This stage
 * offers the manual data-plane commands; the decision-stream daemon builds on the
 * same loader.
 */
#include <stdio.h>
#include <string.h>

#include "bouncer/manual.h"
#include "bouncer/xdp_loader.h"
#include "common/log.h"

int main(int argc, char **argv)
{
	int first = 1;

	xdp_loader_setup_logging();
	while (first < argc && argv[first][0] == '-') {
		if (!strcmp(argv[first], "-h") || !strcmp(argv[first], "--help")) {
			bouncer_manual_usage(stdout);
			return 0;
		}
		if (!strcmp(argv[first], "-v"))
			log_set_level(LOG_LVL_DEBUG);
		else if (!strcmp(argv[first], "--pin-dir") && first + 1 < argc)
			break; /* handled with the command's options */
		else {
			fprintf(stderr, "Error: unknown option '%s' (see --help)\n", argv[first]);
			return BX_USAGE;
		}
		first++;
	}
	if (first < argc && !strcmp(argv[first], "--pin-dir")) {
		/* move "--pin-dir DIR" after the command so one parser sees it */
		char *opt = argv[first], *val = argv[first + 1];

		memmove(argv + first, argv + first + 2, (size_t)(argc - first - 2) * sizeof(*argv));
		argv[argc - 2] = opt;
		argv[argc - 1] = val;
	}
	if (first >= argc || !bouncer_manual_is_command(argv[first])) {
		bouncer_manual_usage(stderr);
		return BX_USAGE;
	}
	return bouncer_manual_main(argc - first + 1, argv + first - 1);
}
