/* SPDX-License-Identifier: MIT */
/*
 * CrowdSec's notifications: the configurations of config_paths.notification_dir
 * (one YAML file per notification: type, name, format, group_wait, group_threshold,
 * max_retry, timeout and the plugin's keys) and their delivery.
 *
 * Plugins (upstream's keys): http (url, method, headers, skip_tls_verification),
 * slack (webhook, channel, username, icon_emoji, icon_url), email (SMTP with
 * ssltls/starttls, auth login/plain/crammd5) and file (log_path, rotate). `format` is a Go template (gotmpl) run on the list of alerts of a
 * batch (models.Alert JSON). A batch goes when group_threshold alerts are
 * waiting or group_wait has passed since its first alert (neither set: each
 * alert alone).
 *
 * Threading: cs_notify_alert() only appends to a bounded queue (never blocks on
 * delivery); one worker thread, for all plugins, renders and delivers, each attempt cut by
 * `timeout`, retried max_retry times. A full queue drops the alert, logged.
 */
#ifndef CS_NOTIFY_H
#define CS_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CS_NOTIFY_QUEUE_MAX 10000 /* alerts waiting per notification */

struct cs_notify;

/*
 * Load every *.yaml / *.yml of dir (a missing dir holds none). A bad file
 * (unknown key type, template that does not parse) fails with "file:line: ...".
 * Configurations of types we do not deliver (upstream's sentinel, ...) are kept but
 * refused by cs_notify_check() when a profile names them.
 */
int cs_notify_load(const char *dir, struct cs_notify **out, char *err, size_t errlen);
/* 0 if `name` is loaded and deliverable, else -ENOENT/-ENOTSUP with a message. */
int cs_notify_check(const struct cs_notify *n, const char *name, char *err, size_t errlen);
/* Start the delivery thread. 0 or -errno. */
int cs_notify_start(struct cs_notify *n);
/* Queue a copy of one alert (a models.Alert JSON object) for notification `name`. */
void cs_notify_alert(struct cs_notify *n, const char *name, json_t *alert);
/* Stop the thread (what is waiting in group_wait is sent first) and free. NULL is fine. */
void cs_notify_free(struct cs_notify *n);

#endif /* CS_NOTIFY_H */
