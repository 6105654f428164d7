/* SPDX-License-Identifier: MIT */
/* The bouncer daemon: the applier (privileged) and the fetcher it forks. */
#ifndef CS_BOUNCER_DAEMON_H
#define CS_BOUNCER_DAEMON_H

#include <stdbool.h>

/* Returns the process exit code. */
int bouncer_daemon_run(const char *config_path, bool test_only);
int bouncer_uninstall(const char *config_path);

#endif /* CS_BOUNCER_DAEMON_H */
