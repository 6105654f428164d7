// SPDX-License-Identifier: MIT
/* Loading notification_dir's configurations (CrowdSec's plugin YAML files). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/condwait.h"
#include "common/gotime.h"
#include "common/log.h"
#include "common/readfile.h"
#include "common/strv.h"
#include "common/vec.h"
#include "common/yamljson.h"
#include "notify/notify_int.h"

#define MAX_FILES 256

const struct notify_plugin notify_plugins[NT_OTHER] = {
	[NT_HTTP] = { "http", notify_http_load, notify_http_send },
	[NT_SLACK] = { "slack", notify_slack_load, notify_slack_send },
	[NT_EMAIL] = { "email", notify_email_load, notify_email_send },
	[NT_FILE] = { "file", notify_file_load, notify_file_send },
};

void notify_clear(struct notification *nt)
{
	char **strs[] = { &nt->name,	     &nt->type_name,	 &nt->file,	     &nt->url,
			  &nt->method,	     &nt->channel,	 &nt->username,	     &nt->icon_emoji,
			  &nt->icon_url,     &nt->smtp_host,	 &nt->smtp_username, &nt->smtp_password,
			  &nt->sender_email, &nt->sender_name,	 &nt->subject,	     &nt->helo_host,
			  &nt->auth_type,    &nt->log_path };

	notify_file_close(nt);
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	gotmpl_free(nt->format);
	strv_free(nt->headers, nt->nheaders);
	strv_free(nt->receivers, nt->nreceivers);
	json_decref(nt->pending);
	memset(nt, 0, sizeof(*nt));
	nt->fd = -1;
}

int notify_str(json_t *doc, const char *key, const char *def, const char *path, char **out,
	       char *err, size_t errlen)
{
	json_t *v = json_object_get(doc, key);
	const char *s = def;

	if (v && !json_is_null(v)) {
		if (!json_is_string(v)) {
			snprintf(err, errlen, "%s: %s: not a string", path, key);
			return -EINVAL;
		}
		s = json_string_value(v);
	}
	free(*out);
	*out = s ? strdup(s) : NULL;
	return s && !*out ? -ENOMEM : 0;
}

/* The line where the format's text starts ("format: |" puts it on the next line). */
static int format_line(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[4096];
	int line = 0, found = 1;

	if (!f)
		return 1;
	while (fgets(buf, sizeof(buf), f)) {
		line++;
		if (!strncmp(buf, "format:", 7)) {
			const char *rest = buf + 7 + strspn(buf + 7, " \t");

			found = *rest == '|' || *rest == '>' || *rest == '\n' ? line + 1 : line;
			break;
		}
	}
	fclose(f);
	return found;
}

int notify_duration(json_t *doc, const char *key, const char *path, int64_t *ns, char *err,
		    size_t errlen)
{
	json_t *v = json_object_get(doc, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || gotime_parse_duration(json_string_value(v), ns)) {
		snprintf(err, errlen, "%s: %s: not a duration", path, key);
		return -EINVAL;
	}
	return 0;
}

static int load_doc(json_t *doc, const char *path, struct notification *nt, char *err, size_t errlen)
{
	const char *name = yamljson_get_str(doc, "name", NULL);
	const char *type = yamljson_get_str(doc, "type", NULL);
	const char *format = yamljson_get_str(doc, "format", NULL);
	int ret;

	if (!name || !type) {
		snprintf(err, errlen, "%s: a notification needs a name and a type", path);
		return -EINVAL;
	}
	nt->name = strdup(name);
	nt->type_name = strdup(type);
	nt->file = strdup(path);
	if (!nt->name || !nt->type_name || !nt->file)
		return -ENOMEM;
	for (nt->type = 0; nt->type < NT_OTHER; nt->type++)
		if (!strcmp(type, notify_plugins[nt->type].type))
			break;
	nt->group_threshold = yamljson_get_long(doc, "group_threshold", 0);
	nt->max_retry = yamljson_get_long(doc, "max_retry", 1);
	nt->timeout_ns = 5000000000LL; /* upstream's plugin default */
	if ((ret = notify_duration(doc, "group_wait", path, &nt->group_wait_ns, err, errlen)) ||
	    (ret = notify_duration(doc, "timeout", path, &nt->timeout_ns, err, errlen)))
		return ret;
	if (nt->group_threshold < 0 || nt->max_retry < 0 || nt->max_retry > 100) {
		snprintf(err, errlen, "%s: group_threshold and max_retry must be small positive numbers",
			 path);
		return -EINVAL;
	}
	if (nt->type != NT_OTHER && (ret = notify_plugins[nt->type].load(doc, path, nt, err, errlen)))
		return ret;
	if (!format) {
		snprintf(err, errlen, "%s: notification '%s' has no format", path, name);
		return -EINVAL;
	}
	return gotmpl_parse_at(path, format_line(path), format, &nt->format, err, errlen);
}

static int load_file(struct cs_notify *n, const char *path, char *err, size_t errlen)
{
	json_t *docs = yamljson_load_file_strict_env(path, err, errlen), *doc;
	size_t i;
	int ret = 0;

	if (!docs)
		return -EINVAL;
	json_array_foreach(docs, i, doc) {
		if (json_is_null(doc))
			continue;
		if (!json_is_object(doc)) {
			snprintf(err, errlen, "%s: document %zu is not a map", path, i + 1);
			ret = -EINVAL;
			break;
		}
		if (vec_reserve((void **)&n->v, &n->cap, n->n, sizeof(*n->v), 4)) {
			ret = -ENOMEM;
			break;
		}
		memset(&n->v[n->n], 0, sizeof(*n->v));
		n->v[n->n].fd = -1;
		ret = load_doc(doc, path, &n->v[n->n], err, errlen);
		n->n++;
		if (ret)
			break;
		for (size_t j = 0; j + 1 < n->n; j++)
			if (!strcmp(n->v[j].name, n->v[n->n - 1].name)) {
				snprintf(err, errlen, "%s: notification '%s' is also defined in %s", path,
					 n->v[j].name, n->v[j].file);
				ret = -EINVAL;
				break;
			}
		if (ret)
			break;
	}
	json_decref(docs);
	return ret;
}

int cs_notify_load(const char *dir, struct cs_notify **out, char *err, size_t errlen)
{
	struct cs_notify *n = calloc(1, sizeof(*n));
	char **files = NULL;
	size_t nfiles = 0;
	int ret = 0;

	*out = NULL;
	if (!n)
		return -ENOMEM;
	pthread_mutex_init(&n->lock, NULL);
	cs_cond_init_mono(&n->wake); /* deliver.c waits on the monotonic clock */
	/* a directory that cannot be read has no notification: as before */
	if (dir && strv_from_dir(dir, cs_keep_yaml_name, NULL, &files, &nfiles) == -ENOMEM)
		ret = -ENOMEM;
	if (nfiles > MAX_FILES) {
		snprintf(err, errlen, "%s: more than %d notification files", dir, MAX_FILES);
		ret = -E2BIG;
	}
	for (size_t i = 0; !ret && i < nfiles; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
			 files[i]);
		ret = load_file(n, path, err, errlen);
	}
	strv_free(files, nfiles);
	if (ret) {
		cs_notify_free(n);
		return ret;
	}
	*out = n;
	return 0;
}

int cs_notify_check(const struct cs_notify *n, const char *name, char *err, size_t errlen)
{
	for (size_t i = 0; n && i < n->n; i++) {
		if (strcmp(n->v[i].name, name))
			continue;
		if (n->v[i].type == NT_OTHER) {
			snprintf(err, errlen, "%s: notification '%s': type '%s' is not supported (http, slack, email, file)",
				 n->v[i].file, name, n->v[i].type_name);
			return -ENOTSUP;
		}
		return 0;
	}
	snprintf(err, errlen, "notification '%s' is not defined in notification_dir", name);
	return -ENOENT;
}
