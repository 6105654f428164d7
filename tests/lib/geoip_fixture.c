// SPDX-License-Identifier: MIT
#include "geoip_fixture.h"
#include "test.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* tests/tools, from the working directory (the repository root under `make test`)
 * or from the program's location (<root>/build-dir/tests/tier/test_x). */
static int tools_dir(char *out, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (!access("tests/tools/mkmmdb.py", R_OK)) {
		snprintf(out, size, "tests/tools");
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	for (int i = 0; i < 4; i++)
		dirname(exe);
	if ((size_t)snprintf(out, size, "%s/tests/tools", exe) >= size)
		return -1;
	return 0;
}

static int run_mkmmdb(const char *tools, const char *dir, const char *file, const char *type,
		      const char *spec)
{
	char cmd[3 * PATH_MAX];
	int rc;

	snprintf(cmd, sizeof(cmd), "python3 '%s/mkmmdb.py' '%s/%s' '%s' '%s/geoip/%s' 2>&1", tools,
		 dir, file, type, tools, spec);
	rc = system(cmd);
	return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0 ? 0 : -1;
}

int t_geoip_make(char *dir, size_t size, bool with_asn, char *why, size_t why_size)
{
	char tools[PATH_MAX], path[PATH_MAX + 16];

	if (tools_dir(tools, sizeof(tools))) {
		snprintf(why, why_size, "tests/tools not found");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/mkmmdb.py", tools);
	if (access(path, R_OK)) {
		snprintf(why, why_size, "%s not found", path);
		return -1;
	}
	if (system("python3 -c '' >/dev/null 2>&1")) {
		snprintf(why, why_size, "python3 is needed to write the test databases");
		return -1;
	}
	snprintf(dir, size, "/tmp/cs-geoip.XXXXXX");
	if (!mkdtemp(dir)) {
		snprintf(why, why_size, "mkdtemp failed");
		return -1;
	}
	if (run_mkmmdb(tools, dir, "GeoLite2-City.mmdb", "GeoLite2-City", "city.json") ||
	    (with_asn && run_mkmmdb(tools, dir, "GeoLite2-ASN.mmdb", "GeoLite2-ASN", "asn.json"))) {
		snprintf(why, why_size, "mkmmdb.py failed");
		t_geoip_remove(dir);
		return -1;
	}
	return 0;
}

bool t_geoip_make_or_skip(char *dir, size_t size, bool with_asn, int checks)
{
	char why[256];

	if (!t_geoip_make(dir, size, with_asn, why, sizeof(why)))
		return true;
	TEST_SKIP(checks, why);
	return false;
}

void t_geoip_remove(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/GeoLite2-City.mmdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/GeoLite2-ASN.mmdb", dir);
	unlink(path);
	rmdir(dir);
}

const char *t_geoip_for_hub(char *dir, size_t size, bool *made)
{
	char why[256];

	*made = false;
	if (getenv("GEOIP_DIR"))
		return getenv("GEOIP_DIR");
	if (t_geoip_make(dir, size, true, why, sizeof(why))) {
		fprintf(stderr, "no test GeoIP databases: %s\n", why);
		return NULL;
	}
	*made = true;
	return dir;
}
