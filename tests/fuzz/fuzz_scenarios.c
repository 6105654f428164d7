// SPDX-License-Identifier: MIT
/*
 * Scenario YAML (hub scenarios/AUTHOR/NAME.yaml): the input is loaded; when it loads,
 * a few events from two sources are poured in replay mode and the buckets are
 * flushed (overflows build alerts).
 */
#include "fuzz.h"

#include "bucket/bucket.h"
#include "parser/event.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static int on_alert(json_t *alerts, void *arg)
{
	return 0;
}

static void pour(struct cs_buckets *b, int i)
{
	static const char line[] = "Failed password for root from 198.18.0.1 port 22 ssh2";
	char when[64], ip[32];
	struct cs_event *evt = NULL;

	snprintf(when, sizeof(when), "2024-12-04T10:00:%02d.%03dZ", i % 60, i * 7 % 1000);
	snprintf(ip, sizeof(ip), "198.18.0.%d", 1 + i % 2);
	if (cs_event_new(&evt) ||
	    cs_event_set_line(evt, line, sizeof(line) - 1, "/var/log/auth.log", "file", "syslog") ||
	    cs_event_set_target(evt, "MarshaledTime", when, strlen(when)) ||
	    cs_event_set_target(evt, "Meta.source_ip", ip, strlen(ip)) ||
	    cs_event_set_target(evt, "Meta.log_type", "ssh_failed-auth", 15) ||
	    cs_event_set_target(evt, "Meta.service", "ssh", 3) ||
	    cs_event_set_target(evt, "Parsed.sshd_invalid_user", "root", 4))
		abort();
	cs_buckets_pour(b, evt);
	cs_event_free(evt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cs_bucket_opts o = { .mode = CS_BUCKET_REPLAY, .on_alert = on_alert,
				    .max_buckets = 64, .max_events = 256 };
	char *yaml = fuzz_cstr(data, size);
	struct cs_buckets *b = NULL;

	if (cs_buckets_new(&o, &b))
		abort();
	if (!cs_buckets_load_string(b, "fuzz.yaml", yaml)) {
		for (int i = 0; i < 12; i++)
			pour(b, i);
		cs_buckets_flush(b);
	}
	cs_buckets_free(b);
	free(yaml);
	return 0;
}
