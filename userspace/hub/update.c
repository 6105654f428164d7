// SPDX-License-Identifier: MIT
/*
 * `cscli hub update`: the index from <hub_url>/.index.json, checked to be an
 * index (JSON, the right shape) before it replaces the local one atomically.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/readfile.h"
#include "hub/hub.h"
#include "hub/hub_int.h"

int hub_update_index(struct hub_config *cfg, bool *changed, char *err, size_t errlen)
{
	struct hub check = { .cfg = cfg };
	char url[PATH_MAX], why[1024], dir[PATH_MAX], *tmp = NULL, *body = NULL, *old = NULL;
	size_t len, oldlen;
	int fd = -1, lock = -1, rc;

	*changed = false;
	snprintf(url, sizeof(url), "%s/.index.json", cfg->hub_url);
	rc = hub_http_get(url, HUB_MAX_INDEX_BYTES, &body, &len, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "failed to update hub: %s", why);
		return rc;
	}
	rc = hub_index_parse(&check, body, len, url, why, sizeof(why));
	for (size_t i = 0; i < check.nitems; i++)
		hub_item_free(check.items[i]);
	free(check.items);
	json_decref(check.index);
	if (rc) {
		snprintf(err, errlen, "failed to update hub: %s", why);
		goto out;
	}
	if (!cs_read_file(cfg->index_path, HUB_MAX_INDEX_BYTES, &old, &oldlen) && oldlen == len &&
	    !memcmp(old, body, len))
		goto out; /* same content: nothing to do */
	snprintf(dir, sizeof(dir), "%s", cfg->index_path);
	if (strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if ((rc = hub_mkdir_p(dir, 0755))) {
		snprintf(err, errlen, "failed to update hub: while creating %s: %s", dir,
			 strerror(-rc));
		goto out;
	}
	lock = hub_lock(cfg);
	if (lock < -1) {
		rc = lock;
		snprintf(err, errlen, "failed to update hub: while locking %s/.cscli.lock: %s",
			 cfg->hub_dir, rc == -ETIMEDOUT ? "another cscli kept it too long" : strerror(-rc));
		goto out;
	}
	if (asprintf(&tmp, "%s.cscli-XXXXXX", cfg->index_path) < 0) {
		tmp = NULL;
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "failed to update hub: while creating a file beside %s: %s",
			 cfg->index_path, strerror(-rc));
		goto out;
	}
	rc = fchmod(fd, 0644) || write(fd, body, len) != (ssize_t)len || fsync(fd) ? -(errno ?: EIO) : 0;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, cfg->index_path))
		rc = -errno;
	if (rc) {
		snprintf(err, errlen, "failed to update hub: while writing %s: %s", cfg->index_path,
			 strerror(-rc));
		unlink(tmp);
		goto out;
	}
	*changed = true;
out:
	if (lock >= 0)
		close(lock);
	free(tmp);
	free(old);
	free(body);
	return rc;
}
