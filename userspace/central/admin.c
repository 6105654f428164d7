// SPDX-License-Identifier: MIT
/*
 * The operator's commands, on the database directly (the server need not run):
 *   reporters list | reporters block ID | reporters unblock ID
 *   safe list | safe add RANGE [COMMENT] | safe remove RANGE
 *   explain IP | purge | status
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "central/central.h"
#include "common/gotime.h"
#include "common/ipaddr.h"

static int fail(const char *what, int err)
{
	fprintf(stderr, "crowdsec-central: %s: %s\n", what,
		err == -EINVAL || err == -ERANGE || err == -EDOM ? cs_prefix_strerror(err)
		: err == -EEXIST				 ? "already there"
		: err == -ENOENT				 ? "not found"
								 : strerror(-err));
	return 1;
}

static int reporters_list(struct central *c)
{
	struct cs_central_reporter *v = NULL;
	size_t n = 0;
	int err = cs_db_central_begin(central_store(c));

	if (!err)
		err = cs_db_central_end(central_store(c),
					cs_db_central_reporter_list(central_store(c), &v, &n));
	if (err) {
		cs_central_reporters_free(v, n);
		return fail("reporters", err);
	}
	printf("%-48s %-20s %6s %9s %12s %11s %s\n", "REPORTER", "NETWORK", "TRUST", "CONFIRMED",
	       "CONTRADICTED", "UNCONFIRMED", "STATE");
	for (size_t i = 0; i < n; i++)
		printf("%-48s %-20s %6.2f %9ld %12ld %11ld %s\n", v[i].id, *v[i].net ? v[i].net : "-",
		       v[i].trust, v[i].confirmed, v[i].contradicted, v[i].unconfirmed,
		       v[i].blocked ? "blocked"
		       : v[i].trust < central_rules(c)->trust_min ? "no say"
								     : "ok");
	cs_central_reporters_free(v, n);
	return 0;
}

static int safe_list(struct central *c)
{
	struct cs_central_safe *v = NULL;
	size_t n = 0;
	int err = cs_db_central_begin(central_store(c));

	if (!err)
		err = cs_db_central_end(central_store(c),
					cs_db_central_safe_list(central_store(c), &v, &n));
	if (err) {
		cs_central_safe_free(v, n);
		return fail("safe list", err);
	}
	for (size_t i = 0; central_reserved_ranges[i]; i++)
		printf("%-43s (built in: reserved)\n", central_reserved_ranges[i]);
	for (size_t i = 0; i < n; i++)
		printf("%-43s %s\n", v[i].range, v[i].comment);
	cs_central_safe_free(v, n);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "commands: serve | reporters list|block ID|unblock ID | safe list|add RANGE"
			" [COMMENT]|remove RANGE | explain IP | purge | status\n");
}

int central_admin(struct central *c, int argc, char **argv)
{
	int64_t now = gotime_now();
	const char *cmd = argc > 0 ? argv[0] : "";
	const char *sub = argc > 1 ? argv[1] : "";
	int err;

	if (!strcmp(cmd, "reporters") && (!*sub || !strcmp(sub, "list")))
		return reporters_list(c);
	if (!strcmp(cmd, "reporters") && argc == 3 &&
	    (!strcmp(sub, "block") || !strcmp(sub, "unblock"))) {
		err = central_block(c, argv[2], !strcmp(sub, "block"), now);
		if (err)
			return fail(argv[2], err);
		printf("reporter %s %sed\n", argv[2], sub);
		return 0;
	}
	if (!strcmp(cmd, "safe") && (!*sub || !strcmp(sub, "list")))
		return safe_list(c);
	if (!strcmp(cmd, "safe") && (argc == 3 || argc == 4) && !strcmp(sub, "add")) {
		err = central_safe_add(c, argv[2], argc == 4 ? argv[3] : "", now);
		if (err)
			return fail(argv[2], err);
		printf("%s added to the safe list\n", argv[2]);
		return 0;
	}
	if (!strcmp(cmd, "safe") && argc == 3 && !strcmp(sub, "remove")) {
		err = central_safe_remove(c, argv[2]);
		if (err)
			return fail(argv[2], err);
		printf("%s removed from the safe list\n", argv[2]);
		return 0;
	}
	if (!strcmp(cmd, "explain") && argc == 2) {
		char *text = NULL;

		err = central_explain(c, argv[1], now, &text);
		if (err)
			return fail(argv[1], err);
		fputs(text, stdout);
		free(text);
		return 0;
	}
	if (!strcmp(cmd, "purge") && argc == 1) {
		long n = 0;

		err = central_purge(c, now, &n);
		if (err)
			return fail("purge", err);
		printf("%ld signal(s) past retention deleted\n", n);
		return 0;
	}
	if (!strcmp(cmd, "status") && argc == 1) {
		long rep = 0, sig = 0, listed = 0;

		err = cs_db_central_begin(central_store(c));
		if (!err)
			err = cs_db_central_end(central_store(c),
						cs_db_central_counts(central_store(c), now, &rep,
								     &sig, &listed));
		if (err)
			return fail("status", err);
		printf("reporters: %ld\nsignals: %ld\nlisted: %ld\n", rep, sig, listed);
		return 0;
	}
	usage();
	return 2;
}
