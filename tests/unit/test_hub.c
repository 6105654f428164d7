// SPDX-License-Identifier: MIT
/*
 * userspace/hub without the network: index shape checks, version comparison,
 * local state (downloaded, enabled, tainted and its spread, local items, a
 * dependency cycle) and plans (dependencies, members shared with another
 * collection kept on remove, tainted items needing --force), on a hub written
 * into a temporary directory.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "hub/hub.h"
#include "hub/hub_int.h"
#include "hub/plan_int.h"
#include "../lib/test.h"

static char dir[] = "/tmp/test_hub.XXXXXX";

static void put(const char *rel, const char *text)
{
	char p[PATH_MAX], d[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	snprintf(d, sizeof(d), "%s", p);
	*strrchr(d, '/') = '\0';
	hub_mkdir_p(d, 0755);
	FILE *f = fopen(p, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void link_in(const char *hubrel, const char *cfgrel)
{
	char t[PATH_MAX], l[PATH_MAX], d[PATH_MAX];

	snprintf(t, sizeof(t), "%s/hub/%s", dir, hubrel);
	snprintf(l, sizeof(l), "%s/etc/%s", dir, cfgrel);
	snprintf(d, sizeof(d), "%s", l);
	*strrchr(d, '/') = '\0';
	hub_mkdir_p(d, 0755);
	if (symlink(t, l))
		perror(l);
}

static const char *P1 = "name: a/p1\nfilter: 1 == 1\n";
static const char *S1 = "name: a/s1\ntype: trigger\nfilter: 1 == 1\n";
static const char *S2 = "name: a/s2\ntype: trigger\nfilter: 1 == 1\n";
static const char *C1 = "parsers:\n - a/p1\nscenarios:\n - a/s1\n";
static const char *C2 = "scenarios:\n - a/s1\n - a/s2\n";

/* The index: p1, s1, s2, c1 (p1 + s1), c2 (s1 + s2); c1 has an old version 0.1. */
static void write_index(const char *extra)
{
	char d[5][65], buf[8192];

	hub_sha256_hex(P1, strlen(P1), d[0]);
	hub_sha256_hex(S1, strlen(S1), d[1]);
	hub_sha256_hex(S2, strlen(S2), d[2]);
	hub_sha256_hex(C1, strlen(C1), d[3]);
	hub_sha256_hex(C2, strlen(C2), d[4]);
	snprintf(buf, sizeof(buf),
		 "{\"parsers\":{\"a/p1\":{\"path\":\"parsers/s01-parse/a/p1.yaml\",\"stage\":\"s01-parse\","
		 "\"version\":\"1.0\",\"versions\":{\"1.0\":{\"digest\":\"%s\"}}}},"
		 "\"scenarios\":{\"a/s1\":{\"path\":\"scenarios/a/s1.yaml\",\"version\":\"1.0\","
		 "\"versions\":{\"1.0\":{\"digest\":\"%s\"}}},"
		 "\"a/s2\":{\"path\":\"scenarios/a/s2.yaml\",\"version\":\"1.0\","
		 "\"versions\":{\"1.0\":{\"digest\":\"%s\"}}}},"
		 "\"collections\":{\"a/c1\":{\"path\":\"collections/a/c1.yaml\",\"version\":\"0.2\","
		 "\"versions\":{\"0.1\":{\"digest\":\"%064d\"},\"0.2\":{\"digest\":\"%s\"}},"
		 "\"parsers\":[\"a/p1\"],\"scenarios\":[\"a/s1\"]},"
		 "\"a/c2\":{\"path\":\"collections/a/c2.yaml\",\"version\":\"1.0\","
		 "\"versions\":{\"1.0\":{\"digest\":\"%s\"}},\"scenarios\":[\"a/s1\",\"a/s2\"]%s}}}",
		 d[0], d[1], d[2], 0, d[3], d[4], extra);
	put("hub/.index.json", buf);
}

static void download_all(void)
{
	put("hub/parsers/s01-parse/a/p1.yaml", P1);
	put("hub/scenarios/a/s1.yaml", S1);
	put("hub/scenarios/a/s2.yaml", S2);
	put("hub/collections/a/c1.yaml", C1);
	put("hub/collections/a/c2.yaml", C2);
}

static struct hub_config cfg;

static struct hub *open_hub(char *err, size_t len)
{
	struct hub *h = NULL;

	if (hub_open(&cfg, &h, err, len))
		return NULL;
	return h;
}

static void test_index_shapes(void)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "not json", "not a valid hub index" },
		{ "[1]", "not a JSON object" },
		{ "{\"parsers\": []}", "'parsers' is not an object" },
		{ "{\"parsers\": {\"a/b\": null}}", "parsers:a/b has no index metadata" },
		{ "{\"parsers\": {\"a/b\": {\"version\": \"1.0\"}}}", "no valid download path" },
		{ "{\"scenarios\": {\"a/b\": {\"path\": \"../../etc/passwd\", \"version\": \"1\","
		  " \"versions\": {\"1\": {\"digest\": \"x\"}}}}}", "no valid download path" },
		{ "{\"parsers\": {\"a/b\": {\"path\": \"parsers/a/b.yaml\", \"version\": \"1\","
		  " \"versions\": {\"1\": {\"digest\": \"00\"}}}}}", "has no stage" },
		{ "{\"scenarios\": {\"a/b\": {\"path\": \"scenarios/a/b.yaml\", \"version\": \"2\","
		  " \"versions\": {\"1\": {\"digest\": \"00\"}}}}}", "latest version missing" },
		{ "{\"scenarios\": {\"a/b\": {\"path\": \"scenarios/a/b.yaml\", \"version\": \"1\","
		  " \"versions\": {\"1\": {\"digest\": \"00\"}}}}}", "no valid digest" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hub h = { .cfg = &cfg };
		char err[1024] = "", name[64];
		int rc = hub_index_parse(&h, bad[i].text, strlen(bad[i].text), "idx", err,
					 sizeof(err));

		snprintf(name, sizeof(name), "bad index %zu refused", i);
		ASSERT_TRUE(rc < 0, name);
		snprintf(name, sizeof(name), "bad index %zu says why", i);
		if (!ASSERT_TRUE(strstr(err, bad[i].why) != NULL, name))
			fprintf(stderr, "  got: %s\n", err);
		for (size_t k = 0; k < h.nitems; k++)
			hub_item_free(h.items[k]);
		free(h.items);
		json_decref(h.index);
	}
}

static void test_versions(void)
{
	int cmp = 9;

	ASSERT_TRUE(!hub_version_cmp("0.10", "0.9", &cmp) && cmp > 0, "0.10 > 0.9 (numbers, not text)");
	ASSERT_TRUE(!hub_version_cmp("1.0", "1", &cmp) && cmp == 0, "1.0 == 1");
	ASSERT_TRUE(!hub_version_cmp("v2.1", "2.2", &cmp) && cmp < 0, "v prefix");
	ASSERT_EQ(hub_version_cmp("?", "1.0", &cmp), -EINVAL, "? is not a version");
	ASSERT_EQ(hub_version_cmp("1.x", "1.0", &cmp), -EINVAL, "1.x is not a version");
}

static void test_state_and_plans(void)
{
	char err[1024];
	struct hub *h;
	struct hub_plan *p;
	struct hub_item *c1, *c2, *s1, *p1;

	write_index("");
	/* nothing downloaded: install c1 = download p1, s1, c1 and enable them */
	h = open_hub(err, sizeof(err));
	if (!ASSERT_TRUE(h != NULL, "open the hub")) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	c1 = hub_get(h, HUB_COLLECTIONS, "a/c1");
	p = hub_plan_new(h);
	ASSERT_OK(hub_plan_install(p, c1, false, false, err, sizeof(err)), "plan install c1");
	ASSERT_EQ(p->ncmds, 6, "download + enable of p1, s1, c1");
	ASSERT_TRUE(hub_plan_has(p, HUB_OP_DOWNLOAD, hub_get(h, HUB_PARSERS, "a/p1")), "p1 downloaded");
	ASSERT_TRUE(hub_plan_has(p, HUB_OP_ENABLE, hub_get(h, HUB_SCENARIOS, "a/s1")), "s1 enabled");
	ASSERT_TRUE(!hub_plan_has(p, HUB_OP_DOWNLOAD, hub_get(h, HUB_SCENARIOS, "a/s2")),
		    "s2 not part of c1");
	hub_plan_free(p);
	hub_close(h);

	/* downloaded and enabled as cscli does: links in the config dir */
	download_all();
	link_in("parsers/s01-parse/a/p1.yaml", "parsers/s01-parse/p1.yaml");
	link_in("scenarios/a/s1.yaml", "scenarios/s1.yaml");
	link_in("scenarios/a/s2.yaml", "scenarios/s2.yaml");
	link_in("collections/a/c1.yaml", "collections/c1.yaml");
	link_in("collections/a/c2.yaml", "collections/c2.yaml");
	put("etc/scenarios/mine.yaml", "name: me/mine\ntype: trigger\nfilter: 1 == 1\n");
	h = open_hub(err, sizeof(err));
	if (!ASSERT_TRUE(h != NULL, "reopen")) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	c1 = hub_get(h, HUB_COLLECTIONS, "a/c1");
	c2 = hub_get(h, HUB_COLLECTIONS, "a/c2");
	s1 = hub_get(h, HUB_SCENARIOS, "a/s1");
	p1 = hub_get(h, HUB_PARSERS, "a/p1");
	ASSERT_TRUE(hub_item_installed(c1) && hub_item_downloaded(c1) && c1->up_to_date,
		    "c1 enabled, downloaded, up to date");
	ASSERT_STREQ(c1->local_version, "0.2", "c1 version from its digest");
	ASSERT_EQ(s1->nbelongs_to, 2, "s1 belongs to c1 and c2");
	struct hub_item *mine = hub_get(h, HUB_SCENARIOS, "me/mine");

	ASSERT_TRUE(mine && mine->local && hub_item_installed(mine), "a local file is a local item");
	/* remove c1: p1 goes, s1 stays (c2 needs it) */
	p = hub_plan_new(h);
	ASSERT_OK(hub_plan_remove(p, c1, false, false, err, sizeof(err)), "plan remove c1");
	ASSERT_TRUE(hub_plan_has(p, HUB_OP_DISABLE, p1), "p1 disabled with c1");
	ASSERT_TRUE(!hub_plan_has(p, HUB_OP_DISABLE, s1), "s1 kept for c2");
	ASSERT_TRUE(hub_plan_has(p, HUB_OP_DISABLE, c1), "c1 disabled");
	hub_plan_free(p);
	/* a local item is never downloaded over */
	p = hub_plan_new(h);
	ASSERT_OK(hub_plan_upgrade(p, mine, false, err, sizeof(err)), "upgrade a local item");
	ASSERT_EQ(p->ncmds, 0, "nothing to do for a local item");
	hub_plan_free(p);
	hub_close(h);

	/* a local edit taints s1, and c1 and c2 through it */
	put("hub/scenarios/a/s1.yaml", "name: a/s1\ntype: trigger\nfilter: 2 == 2\n");
	h = open_hub(err, sizeof(err));
	if (!ASSERT_TRUE(h != NULL, "reopen after an edit"))
		return;
	s1 = hub_get(h, HUB_SCENARIOS, "a/s1");
	c1 = hub_get(h, HUB_COLLECTIONS, "a/c1");
	c2 = hub_get(h, HUB_COLLECTIONS, "a/c2");
	ASSERT_TRUE(s1->tainted && !s1->up_to_date, "edited s1 tainted");
	ASSERT_STREQ(s1->local_version, "?", "no version matches an edited file");
	ASSERT_TRUE(c1->tainted && c2->tainted, "taint spreads to both collections");
	ASSERT_TRUE(c1->ntainted_by == 1 && !strcmp(c1->tainted_by[0], "scenarios:a/s1"),
		    "tainted_by names the member");
	p = hub_plan_new(h);
	ASSERT_EQ(hub_plan_remove(p, s1, false, false, err, sizeof(err)), -EPERM,
		  "removing a tainted item needs --force");
	ASSERT_TRUE(strstr(err, "--force") != NULL, "and says so");
	hub_plan_free(p);
	p = hub_plan_new(h);
	ASSERT_OK(hub_plan_upgrade(p, s1, false, err, sizeof(err)), "upgrade tainted, no force");
	ASSERT_EQ(p->ncmds, 0, "a tainted item is not overwritten without --force");
	ASSERT_OK(hub_plan_upgrade(p, s1, true, err, sizeof(err)), "upgrade --force");
	ASSERT_TRUE(hub_plan_has(p, HUB_OP_DOWNLOAD, s1), "--force downloads it again");
	hub_plan_free(p);
	hub_close(h);

	/* a dependency cycle is an error naming the collection */
	write_index(",\"collections\":[\"a/c2\"]");
	h = open_hub(err, sizeof(err));
	ASSERT_TRUE(h == NULL && strstr(err, "circular dependency"), "cycle refused");
	hub_close(h);
}

int main(void)
{
	char p[PATH_MAX + 64];

	log_set_level(LOG_LVL_ERROR);
	if (t_scratch_dir(dir))
		return 1;
	snprintf(p, sizeof(p), "%s/config.yaml", dir);
	FILE *f = fopen(p, "w");

	if (!f)
		return 1;
	fprintf(f, "config_paths:\n  config_dir: %s/etc/\n  data_dir: %s/data/\n  hub_dir: %s/hub/\n",
		dir, dir, dir);
	fclose(f);
	{
		char err[512];

		if (!ASSERT_OK(hub_config_load(p, &cfg, err, sizeof(err)), "config"))
			return TEST_SUMMARY();
		ASSERT_STREQ(cfg.hub_url, HUB_DEFAULT_URL, "default hub url");
	}
	cfg.quiet = true;
	test_index_shapes();
	test_versions();
	test_state_and_plans();
	hub_config_clear(&cfg);
	return TEST_SUMMARY();
}
