// SPDX-License-Identifier: MIT
#include "bouncer/usage.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "bouncer/fetcher.h"

/* the origin labels upstream's cscli knows (CAPI, cscli, crowdsec, lists:...) */
static const char *const origin_label[CS_ORIGIN_MAX] = { "crowdsec", "cscli", "CAPI", "lists",
							 "other" };

static uint64_t delta(uint64_t now, uint64_t prev)
{
	return now >= prev ? now - prev : now; /* a restarted data plane counts from 0 */
}

static int item(json_t *items, const char *name, const char *unit, uint64_t value,
		const char *origin)
{
	json_t *it = json_pack("{s:s,s:s,s:I}", "name", name, "unit", unit, "value", (json_int_t)value);

	if (it && origin)
		json_object_set_new(it, "labels", json_pack("{s:s}", "origin", origin));
	return json_array_append_new(items, it);
}

char *usage_body(const struct usage_window *w, const struct ps_stats_msg *now,
		 const struct ps_stats_msg *prev, const uint64_t active[CS_ORIGIN_MAX])
{
	json_t *items = json_array(), *body;
	uint64_t pk = 0, by = 0;
	char *text = NULL;
	int err = !items;

	for (int o = 0; now && o < CS_ORIGIN_MAX; o++) {
		const struct cs_stat *c = &now->counters[CS_STAT_DROP_BASE + o];
		const struct cs_stat *p = prev ? &prev->counters[CS_STAT_DROP_BASE + o] : NULL;

		err |= item(items, "dropped", "packet", delta(c->packets, p ? p->packets : 0),
			    origin_label[o]);
		err |= item(items, "dropped", "byte", delta(c->bytes, p ? p->bytes : 0), origin_label[o]);
	}
	for (int i = 0; now && i < CS_STAT_MAX; i++) {
		pk += delta(now->counters[i].packets, prev ? prev->counters[i].packets : 0);
		by += delta(now->counters[i].bytes, prev ? prev->counters[i].bytes : 0);
	}
	if (now) {
		err |= item(items, "processed", "packet", pk, NULL);
		err |= item(items, "processed", "byte", by, NULL);
	}
	for (int o = 0; o < CS_ORIGIN_MAX; o++)
		if (active[o])
			err |= item(items, "active_decisions", "ip", active[o], origin_label[o]);
	body = err ? NULL
		   : json_pack("{s:[{s:s,s:s,s:s,s:{s:s,s:s},s:[],s:I,s:[{s:{s:I,s:I},s:O}]}]}",
			       "remediation_components", "version", BOUNCER_VERSION, "type",
			       "crowdsec-xdp-bouncer", "name", "crowdsec-xdp-bouncer", "os", "name",
			       w->os_name, "version", w->os_version, "feature_flags",
			       "utc_startup_timestamp", (json_int_t)w->startup_unix, "metrics", "meta",
			       "window_size_seconds", (json_int_t)w->window_s, "utc_now_timestamp",
			       (json_int_t)w->now_unix, "items", items);
	if (body)
		text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	json_decref(items);
	return text;
}

static void os_release_value(const char *line, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key), n;
	const char *v;

	if (strncmp(line, key, kl) || line[kl] != '=')
		return;
	v = line + kl + 1;
	if (*v == '"')
		v++;
	n = strcspn(v, "\"\n");
	snprintf(out, len, "%.*s", (int)n, v);
}

void usage_os(char *name, size_t nlen, char *version, size_t vlen)
{
	FILE *f = fopen("/etc/os-release", "re");
	struct utsname u;
	char line[256];

	*name = *version = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		os_release_value(line, "ID", name, nlen);
		os_release_value(line, "VERSION_ID", version, vlen);
	}
	if (f)
		fclose(f);
	if ((!*name || !*version) && !uname(&u)) {
		if (!*name)
			snprintf(name, nlen, "%s", u.sysname);
		if (!*version)
			snprintf(version, vlen, "%s", u.release);
	}
}
