/* SPDX-License-Identifier: MIT */
/* Notification internals shared by config.c and deliver.c. */
#ifndef CS_NOTIFY_INT_H
#define CS_NOTIFY_INT_H

#include <pthread.h>
#include <stdint.h>

#include "gotmpl/gotmpl.h"
#include "notify/notify.h"

enum notify_type { NT_HTTP, NT_FILE, NT_OTHER };

struct notification {
	char *name, *type_name, *file;
	enum notify_type type;
	struct gotmpl *format;
	int64_t group_wait_ns, timeout_ns;
	long group_threshold, max_retry;
	/* http */
	char *url, *method;
	char **headers; /* "Key: value" */
	size_t nheaders;
	bool skip_tls_verify;
	/* file */
	char *log_path;
	/* the batch waiting (under cs_notify.lock) */
	json_t *pending;
	int64_t first_ns; /* CLOCK_MONOTONIC of the batch's first alert */
	unsigned long dropped;
};

struct cs_notify {
	struct notification *v;
	size_t n;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t worker;
	bool running, stopping;
};

int64_t notify_now_ns(void);
void notify_clear(struct notification *nt);
/* Render and deliver one batch (a JSON array), with retries. 0 or -errno (logged). */
int notify_deliver(struct notification *nt, json_t *batch);

#endif /* CS_NOTIFY_INT_H */
