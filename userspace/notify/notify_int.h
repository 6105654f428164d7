/* SPDX-License-Identifier: MIT */
/* Notification internals shared by config.c, deliver.c and the plugins (plugin_*.c). */
#ifndef CS_NOTIFY_INT_H
#define CS_NOTIFY_INT_H

#include <pthread.h>
#include <stdint.h>

#include "gotmpl/gotmpl.h"
#include "notify/notify.h"

enum notify_type { NT_HTTP, NT_SLACK, NT_EMAIL, NT_FILE, NT_OTHER };

struct notification;

/* A plugin: the type name of its files, its keys' loader and its delivery of one text. */
struct notify_plugin {
	const char *type;
	int (*load)(json_t *doc, const char *path, struct notification *nt, char *err, size_t errlen);
	int (*send)(struct notification *nt, const char *text, size_t len);
};

/* Indexed by enum notify_type (NT_OTHER excluded). */
extern const struct notify_plugin notify_plugins[NT_OTHER];
enum notify_tls { NT_TLS_NONE, NT_TLS_STARTTLS, NT_TLS_SSL };

struct notification {
	char *name, *type_name, *file;
	enum notify_type type;
	struct gotmpl *format;
	int64_t group_wait_ns, timeout_ns;
	long group_threshold, max_retry;
	/* http (url, method, headers) and slack (url is the webhook) */
	char *url, *method;
	char **headers; /* "Key: value" */
	size_t nheaders;
	bool skip_tls_verify; /* http, email */
	char *channel, *username, *icon_emoji, *icon_url;
	/* email */
	char *smtp_host, *smtp_username, *smtp_password, *sender_email, *sender_name, *subject,
		*helo_host, *auth_type;
	char **receivers;
	size_t nreceivers;
	long smtp_port;
	enum notify_tls tls;
	int64_t connect_timeout_ns;
	/* file */
	char *log_path;
	bool rotate, compress;
	long max_size_mb, max_files, max_age_days;
	int fd;	      /* open log_path, -1 when closed */
	int64_t size; /* bytes in log_path as we know it */
	/* the batch waiting (under cs_notify.lock) */
	json_t *pending;
	int64_t first_ns; /* CLOCK_MONOTONIC of the batch's first alert */
	unsigned long dropped;
};

struct cs_notify {
	struct notification *v;
	size_t n, cap;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t worker;
	bool running, stopping;
};

int64_t notify_now_ns(void);
void notify_clear(struct notification *nt);
/* Render and deliver one batch (a JSON array), with retries. 0 or -errno (logged). */
int notify_deliver(struct notification *nt, json_t *batch);

/* Config helpers (config.c): a string key copied (absent: def, may be NULL); a
 * duration key; both say "path: key: ..." when the value has the wrong type. */
int notify_str(json_t *doc, const char *key, const char *def, const char *path, char **out,
	       char *err, size_t errlen);
int notify_duration(json_t *doc, const char *key, const char *path, int64_t *ns, char *err,
		    size_t errlen);

/* The plugins: each reads its own keys and delivers one rendered text. */
int notify_http_load(json_t *doc, const char *path, struct notification *nt, char *err,
		     size_t errlen);
int notify_slack_load(json_t *doc, const char *path, struct notification *nt, char *err,
		      size_t errlen);
int notify_http_send(struct notification *nt, const char *body, size_t len);
int notify_slack_send(struct notification *nt, const char *text, size_t len);
int notify_email_load(json_t *doc, const char *path, struct notification *nt, char *err,
		      size_t errlen);
int notify_email_send(struct notification *nt, const char *text, size_t len);
int notify_file_load(json_t *doc, const char *path, struct notification *nt, char *err,
		     size_t errlen);
int notify_file_send(struct notification *nt, const char *text, size_t len);
void notify_file_close(struct notification *nt);

#endif /* CS_NOTIFY_INT_H */
