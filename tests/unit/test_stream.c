// SPDX-License-Identifier: MIT
/* The bouncer's reading of /v1/decisions/stream answers: accepted shapes, and
 * garbage that must be refused whole (a garbage answer changes nothing). */
#include <errno.h>
#include <string.h>
#include <jansson.h>

#include "bouncer/fetcher.h"
#include "../lib/test.h"

struct counts {
	int n_new, n_del;
	long long id_sum;
};

static int count_item(int which, size_t idx, json_t *d, void *arg)
{
	struct counts *c = arg;

	(void)idx;
	if (which == STREAM_NEW)
		c->n_new++;
	else
		c->n_del++;
	c->id_sum += json_integer_value(json_object_get(d, "id"));
	return 0;
}

#define D(id, v) "{\"duration\":\"1h\",\"id\":" #id ",\"origin\":\"cscli\",\"scenario\":\"x\"," \
		 "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"" v "\"}"

static const struct {
	const char *body;
	int err, n_new, n_del;
	long long ids;
} cases[] = {
	{ "{\"deleted\":null,\"new\":null}", 0, 0, 0, 0 },
	{ "{\"deleted\":null,\"new\":[" D(1, "198.18.0.1") "]}", 0, 1, 0, 1 },
	{ "{\"deleted\":[" D(7, "198.18.0.9") "],\"new\":[" D(1, "198.18.0.1") "," D(2, "2001:db8::1") "]}",
	  0, 2, 1, 10 },
	/* upstream's form: arrays always, spaces, "new" first */
	{ "{\"new\": [], \"deleted\": []}", 0, 0, 0, 0 },
	{ " {\n \"new\" : [ " D(3, "198.18.0.3") " ] ,\n \"deleted\" : [ ] }\n", 0, 1, 0, 3 },
	{ "{\"new\":[{\"id\":5,\"value\":\"198.18.0.5\",\"scope\":\"Ip\",\"type\":\"ban\","
	  "\"duration\":\"1h\",\"note\":\"}]\"}]}", 0, 1, 0, 5 },
	/* garbage */
	{ "", -EBADMSG, 0, 0, 0 },
	{ "<html>502 Bad Gateway</html>", -EBADMSG, 0, 0, 0 },
	{ "[]", -EBADMSG, 0, 0, 0 },
	{ "{}", -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[" D(1, "198.18.0.1"), -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[" D(1, "198.18.0.1") "]", -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[" D(1, "198.18.0.1") "]} trailing", -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[" D(1, "198.18.0.1") "],\"new\":null}", -EBADMSG, 0, 0, 0 },
	{ "{\"new\":{}}", -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[1,2]}", -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[{\"id\":\"1\",\"value\":\"x\",\"scope\":\"Ip\",\"type\":\"ban\",\"duration\":\"1h\"}]}",
	  -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[{\"id\":1,\"scope\":\"Ip\",\"type\":\"ban\",\"duration\":\"1h\"}]}", -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[" D(1, "198.18.0.1") " " D(2, "198.18.0.2") "]}", -EBADMSG, 0, 0, 0 },
	{ "{\"other\":[]}", -EBADMSG, 0, 0, 0 },
	{ "{\"new\":nul}", -EBADMSG, 0, 0, 0 },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct counts c = {};
		char why[256] = "", name[64];
		int err = fetcher_parse_stream(cases[i].body, strlen(cases[i].body), why, sizeof(why));

		snprintf(name, sizeof(name), "stream case %zu", i);
		if (!ASSERT_EQ(err, cases[i].err, name)) {
			fprintf(stderr, "     body: %s\n     why: %s\n", cases[i].body, why);
			continue;
		}
		if (err) {
			ASSERT_TRUE(why[0] != '\0', "refusal says why");
			continue;
		}
		ASSERT_OK(fetcher_walk_stream(cases[i].body, strlen(cases[i].body), count_item, &c, why,
					      sizeof(why)), name);
		ASSERT_EQ(c.n_new, cases[i].n_new, name);
		ASSERT_EQ(c.n_del, cases[i].n_del, name);
		ASSERT_EQ(c.id_sum, cases[i].ids, name);
	}
	return TEST_SUMMARY();
}
