// SPDX-License-Identifier: MIT
/* The bouncer's reading of /v1/decisions/stream answers: accepted shapes, garbage
 * refused with a reason, and the same result whatever the chunks the bytes come in. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bouncer/fetcher.h"
#include "bouncer/stream.h"
#include "../lib/test.h"

struct counts {
	int n_new, n_del;
	long long id_sum;
};

static int count_item(int which, size_t idx, const struct stream_decision *d, void *arg)
{
	struct counts *c = arg;

	(void)idx;
	if (which == STREAM_NEW)
		c->n_new++;
	else
		c->n_del++;
	c->id_sum += d->id;
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
	/* values that are JSON but no decision, and JSON that is not */
	{ "{\"new\":[{\"id\":1.5,\"value\":\"x\",\"scope\":\"Ip\",\"type\":\"ban\",\"duration\":\"1h\"}]}",
	  -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[{\"id\":99999999999999999999,\"value\":\"x\",\"scope\":\"Ip\",\"type\":\"ban\","
	  "\"duration\":\"1h\"}]}", -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[{\"id\":1,\"value\":\"198.18.0.1\\u0000x\",\"scope\":\"Ip\",\"type\":\"ban\","
	  "\"duration\":\"1h\"}]}", -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[{\"id\":1,\"value\":\"a\tb\",\"scope\":\"Ip\",\"type\":\"ban\",\"duration\":\"1h\"}]}",
	  -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[{\"id\":1,\"value\":[],\"scope\":\"Ip\",\"type\":\"ban\",\"duration\":\"1h\"}]}",
	  -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[{\"id\":1,\"value\":\"x\",\"scope\":\"Ip\",\"type\":\"ban\",\"duration\":\"1h\",}]}",
	  -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[{\"id\":1,\"value\":\"x\",\"scope\":\"Ip\",\"type\":\"ban\",\"duration\":\"1h\","
	  "\"meta\":[1,{\"a\":[tru]}]}]}", -EBADMSG, 0, 0, 0 },
	{ "{\"new\":[{\"id\":1,\"value\":\"x\",\"scope\":\"Ip\",\"type\":\"ban\",\"duration\":\"1h\"]}",
	  -EBADMSG, 0, 0, 0 },
	/* other fields of any JSON shape are skipped; escapes decoded */
	{ "{\"new\":[{\"id\":-4,\"value\":\"198.18.0.\\u0031\",\"scope\":\"Ip\",\"type\":\"ban\","
	  "\"duration\":\"1h\",\"until\":null,\"simulated\":false,\"meta\":[1.5e3,{\"k\":[true,\"\\ud83d\\ude00\"]}]}]}",
	  0, 1, 0, -4 },
};

/* The decoded fields, escapes included. */
static int check_fields(int which, size_t idx, const struct stream_decision *d, void *arg)
{
	(void)which, (void)idx;
	*(int *)arg = !strcmp(d->value, "198.18.0.1\"/") && !strcmp(d->scope, "Ip") &&
		      !strcmp(d->origin, "CAPI") && d->scenario == NULL && d->id == 7;
	return 0;
}

static int refuse(int which, size_t idx, const struct stream_decision *d, void *arg)
{
	(void)which, (void)idx, (void)d, (void)arg;
	return -ECANCELED;
}

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct counts c = {};
		char why[256] = "", name[64];
		int err = stream_walk(cases[i].body, strlen(cases[i].body), NULL, NULL, why, sizeof(why));

		snprintf(name, sizeof(name), "stream case %zu", i);
		if (!ASSERT_EQ(err, cases[i].err, name)) {
			fprintf(stderr, "     body: %s\n     why: %s\n", cases[i].body, why);
			continue;
		}
		if (err) {
			ASSERT_TRUE(why[0] != '\0', "refusal says why");
			continue;
		}
		ASSERT_OK(stream_walk(cases[i].body, strlen(cases[i].body), count_item, &c, why,
				      sizeof(why)), name);
		ASSERT_EQ(c.n_new, cases[i].n_new, name);
		ASSERT_EQ(c.n_del, cases[i].n_del, name);
		ASSERT_EQ(c.id_sum, cases[i].ids, name);
	}
	/* every case again, cut in two at every byte: same verdict, same items */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].body);
		int bad = 0;

		for (size_t cut = 0; cut <= len; cut++) {
			struct counts c = {};
			struct stream_parser *sp;
			int err;

			if (stream_parser_new(count_item, &c, &sp))
				break;
			err = stream_parser_feed(sp, cases[i].body, cut);
			if (!err)
				err = stream_parser_feed(sp, cases[i].body + cut, len - cut);
			if (!err)
				err = stream_parser_finish(sp);
			stream_parser_free(sp);
			bad += err != cases[i].err ||
			       (!err && (c.n_new != cases[i].n_new || c.n_del != cases[i].n_del ||
					 c.id_sum != cases[i].ids));
		}
		char name[64];

		snprintf(name, sizeof(name), "stream case %zu, fed in two pieces", i);
		ASSERT_EQ(bad, 0, name);
	}
	{
		const char *body = "{\"new\":[{\"id\":7,\"value\":\"198.18.0.1\\\"\\/\",\"scope\":\"Ip\","
				   "\"type\":\"ban\",\"duration\":\"1h\",\"origin\":\"CAPI\"}]}";
		int ok = 0;

		ASSERT_OK(stream_walk(body, strlen(body), check_fields, &ok, NULL, 0), "escapes");
		ASSERT_TRUE(ok, "fields decoded, escapes and all");
	}
	{
		/* a decision past the object bound is refused, not buffered */
		size_t n = STREAM_MAX_OBJECT + 100;
		char *body = malloc(n + 64), why[256] = "";

		if (body) {
			int off = sprintf(body, "{\"new\":[{\"id\":1,\"pad\":\"");

			memset(body + off, 'a', n);
			strcpy(body + off + n, "\"}]}");
			ASSERT_EQ(stream_walk(body, strlen(body), NULL, NULL, why, sizeof(why)), -EBADMSG,
				  "oversized decision refused");
			ASSERT_TRUE(strstr(why, "longer than") != NULL, "oversized: says why");
			free(body);
		}
	}
	{
		/* the callback's refusal stops the walk with its value */
		char why[256] = "";
		const char *body = "{\"new\":[" D(1, "198.18.0.1") "," D(2, "198.18.0.2") "]}";

		ASSERT_EQ(stream_walk(body, strlen(body), refuse, NULL, why, sizeof(why)), -ECANCELED,
			  "callback error stops the walk");
	}
	return TEST_SUMMARY();
}
