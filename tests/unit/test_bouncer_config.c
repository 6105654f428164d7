// SPDX-License-Identifier: MIT
/* The bouncer's configuration file: what it accepts, and errors that name file:line and key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "bouncer/backend.h"
#include "bouncer/config.h"
#include "tests/lib/test.h"

static char dir[] = "/tmp/cs-test-bcfg-XXXXXX";

/* bouncer_config_load() of text written to DIR/b.yaml; err gets what follows "DIR/b.yaml:" */
static int load(const char *text, struct bouncer_config *cfg, char *err, size_t errlen)
{
	char path[64], full[512] = "";
	size_t plen;
	int rc;

	snprintf(path, sizeof(path), "%s/b.yaml", dir);
	t_write_file(dir, "b.yaml", text);
	memset(cfg, 0, sizeof(*cfg));
	rc = bouncer_config_load(path, cfg, full, sizeof(full));
	plen = strlen(path);
	snprintf(err, errlen, "%s", !strncmp(full, path, plen) ? full + plen : full);
	return rc;
}

#define GOOD "api_url: http://127.0.0.1:8080\napi_key: k\nmode: nftables\n"

static const struct {
	const char *name, *yaml, *want; /* want: the start of the error after the path */
} bad[] = {
	{ "syntax error", GOOD "interfaces: [eth0\n", ":5: YAML error: " },
	{ "not a mapping", "- a\n", ":1: configuration: expected a mapping" },
	{ "key not a string", GOOD "[a]: 1\n", ":4: configuration: keys must be strings" },
	{ "section not a mapping", GOOD "prometheus: [1]\n", ":4: prometheus: expected a mapping" },
	{ "section key not a string", GOOD "nftables:\n  [a]: 1\n",
	  ":5: nftables: keys must be strings" },
	{ "list item not a string", GOOD "interfaces: [[eth0]]\n",
	  ":4: interfaces: list items must be strings" },
	{ "list not a list", GOOD "interfaces: {a: b}\n", ":4: interfaces: expected a list" },
	{ "empty file", "", ":0: empty configuration" },
	{ "api_url missing", "api_key: k\nmode: nftables\n", ":1: api_url is required" },
};

static void test_errors(void)
{
	struct bouncer_config cfg;
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(load(bad[i].yaml, &cfg, err, sizeof(err)), -EINVAL, bad[i].name);
		if (!ASSERT_TRUE(!strncmp(err, bad[i].want, strlen(bad[i].want)), bad[i].name))
			fprintf(stderr, "  got: %s\n  want: %s...\n", err, bad[i].want);
	}
}

static void test_good(void)
{
	struct bouncer_config cfg;
	char err[512];

	if (!ASSERT_OK(load(GOOD "interfaces: [eth0, eth1]\nprometheus:\n  enabled: false\n", &cfg,
			    err, sizeof(err)),
		       "a good configuration loads"))
		fprintf(stderr, "  got: %s\n", err);
	ASSERT_STREQ(cfg.api_url, "http://127.0.0.1:8080/", "api_url gets its trailing slash");
	ASSERT_TRUE(cfg.interfaces.n == 2 && !strcmp(cfg.interfaces.v[1], "eth1"), "the list");
	bouncer_config_free(&cfg);
}

static void test_files(void)
{
	struct bouncer_config cfg;
	char path[64], err[512] = "", *big;
	size_t n = (1u << 20) + 16;

	snprintf(path, sizeof(path), "%s/none.yaml", dir);
	memset(&cfg, 0, sizeof(cfg));
	ASSERT_EQ(bouncer_config_load(path, &cfg, err, sizeof(err)), -ENOENT, "a missing file");
	ASSERT_TRUE(strstr(err, "none.yaml: ") != NULL, "the missing file named");
	big = malloc(n + 1);
	if (!ASSERT_TRUE(big != NULL, "memory"))
		return;
	memset(big, '#', n);
	big[n] = 0;
	ASSERT_EQ(load(big, &cfg, err, sizeof(err)), -EFBIG, "a file too large to be a configuration");
	free(big);
}

/* Whether the fetcher may skip listing the data plane: only when the config pins
 * the XDP backend and nothing is pinned where its maps go. */
static void test_plane_starts_empty(void)
{
	char pins[512];
	struct bouncer_config cfg = { .mode = BOUNCER_MODE_XDP, .pin_path = pins };

	snprintf(pins, sizeof(pins), "%s/pins", dir);
	ASSERT_TRUE(backend_plane_starts_empty(&cfg), "xdp, no pin directory: empty");
	ASSERT_EQ(mkdir(pins, 0700), 0, "pin directory made");
	ASSERT_TRUE(backend_plane_starts_empty(&cfg), "xdp, an empty pin directory: empty");
	t_write_file(pins, "cs_hosts_v4", "");
	ASSERT_TRUE(!backend_plane_starts_empty(&cfg), "xdp, something pinned: may hold bans");
	cfg.mode = BOUNCER_MODE_AUTO;
	snprintf(pins, sizeof(pins), "%s/nothing-here", dir);
	ASSERT_TRUE(!backend_plane_starts_empty(&cfg),
		     "auto: nftables may take over, with its tables kept: not known");
	cfg.mode = BOUNCER_MODE_NFTABLES;
	ASSERT_TRUE(!backend_plane_starts_empty(&cfg), "nftables: not known");
}

int main(void)
{
	if (!ASSERT_TRUE(mkdtemp(dir) != NULL, "scratch dir"))
		return TEST_SUMMARY();
	test_errors();
	test_good();
	test_files();
	test_plane_starts_empty();
	t_rmtree(dir);
	return TEST_SUMMARY();
}
