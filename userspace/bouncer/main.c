// SPDX-License-Identifier: MIT
/*
 * crowdsec-xdp-bouncer: the only privileged process of the system.
 *   crowdsec-xdp-bouncer -c FILE [-t]     run the daemon (or test the configuration)
 *   crowdsec-xdp-bouncer -c FILE --uninstall
 *   crowdsec-xdp-bouncer COMMAND ...      manual data-plane commands (see --help)
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bouncer/daemon.h"
#include "bouncer/manual.h"
#include "bouncer/xdp_loader.h"
#include "common/log.h"

#define DEFAULT_CONFIG "/etc/crowdsec/bouncers/crowdsec-xdp-bouncer.yaml"

static void usage(FILE *f)
{
	fprintf(f, "Usage: crowdsec-xdp-bouncer -c CONFIG [-t] [--uninstall] [-v]\n"
		   "  -c CONFIG     run the daemon with CONFIG (default %s)\n"
		   "  -t            test the configuration and exit\n"
		   "  --uninstall   remove the XDP program, the pins and the nftables tables\n"
		   "\n",
		DEFAULT_CONFIG);
	bouncer_manual_usage(f);
}

int main(int argc, char **argv)
{
	const char *config = NULL;
	bool test_only = false, uninstall = false;
	int first = 1;

	xdp_loader_setup_logging();
	while (first < argc && argv[first][0] == '-') {
		const char *a = argv[first];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-v")) {
			log_set_level(LOG_LVL_DEBUG);
		} else if (!strcmp(a, "-c") && first + 1 < argc) {
			config = argv[++first];
		} else if (!strcmp(a, "-t")) {
			test_only = true;
		} else if (!strcmp(a, "--uninstall")) {
			uninstall = true;
		} else if (!strcmp(a, "--pin-dir") && first + 1 < argc) {
			break; /* a manual command's option */
		} else {
			fprintf(stderr, "Error: unknown option '%s' (see --help)\n", a);
			return 2;
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
	if (first < argc) {
		if (!bouncer_manual_is_command(argv[first])) {
			usage(stderr);
			return BX_USAGE;
		}
		return bouncer_manual_main(argc - first + 1, argv + first - 1);
	}
	if (uninstall)
		return bouncer_uninstall(config ? config : DEFAULT_CONFIG);
	return bouncer_daemon_run(config ? config : DEFAULT_CONFIG, test_only);
}
