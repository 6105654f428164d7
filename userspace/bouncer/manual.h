/* SPDX-License-Identifier: MIT */
/*
 * The bouncer's manual subcommands: drive the XDP data plane by hand
 * (xdp attach|detach|status|uninstall, ban|unban|list, stats).
 */
#ifndef CS_BOUNCER_MANUAL_H
#define CS_BOUNCER_MANUAL_H

#include <stdio.h>

/* Exit codes, documented in README.md and --help; never renumbered. */
enum bouncer_exit {
	BX_OK = 0,
	BX_ERR = 1,	   /* anything not listed below */
	BX_USAGE = 2,	   /* bad command line, or a prefix that does not parse */
	BX_NO_IFACE = 3,   /* unknown interface */
	BX_MAP_FULL = 4,   /* a ban map is full: nothing was applied */
	BX_LOCKOUT = 5,	   /* would ban loopback or a local address; use --force */
	BX_NOT_FOUND = 6,  /* unban of a prefix that is not banned */
	BX_NO_ATTACH = 7,  /* XDP could not be attached (busy, unsupported) */
};

/* Returns true if argv[0] names a manual subcommand. */
int bouncer_manual_is_command(const char *name);
int bouncer_manual_main(int argc, char **argv);
void bouncer_manual_usage(FILE *f);

#endif /* CS_BOUNCER_MANUAL_H */
