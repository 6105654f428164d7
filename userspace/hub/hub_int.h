/* SPDX-License-Identifier: MIT */
/* Private to userspace/hub: helpers shared by its files. */
#ifndef CS_HUB_INT_H
#define CS_HUB_INT_H

#include "hub/hub.h"

/* A relative path that stays below its root: not absolute, no "." or ".." segment. */
bool hub_safe_rel_path(const char *p);
void hub_item_free(struct hub_item *it);
int hub_add_item(struct hub *h, struct hub_item *it);
/* Parse an index text into h (items + h->index). `what` names it in errors. */
int hub_index_parse(struct hub *h, const char *text, size_t len, const char *what, char *err,
		    size_t errlen);
/* Hub copy path <hub_dir>/<remote_path>, and install path <config_dir>/<type>/[<stage>/]<file>. */
int hub_download_path(const struct hub *h, const struct hub_item *it, char *buf, size_t len);
int hub_install_path(const struct hub *h, const struct hub_item *it, char *buf, size_t len);
/* The sub-items of a dependency object ({type: [names]}) that exist in the hub, in type order. */
size_t hub_deps_items(struct hub *h, json_t *deps, struct hub_item **out, size_t max);

/* Every member (direct or not) of a collection's installed version; -ELOOP on a cycle. */
int hub_descendants(struct hub *h, struct hub_item *it, struct hub_item ***out, size_t *n);

/* Exclusive lock on <hub_dir>/.cscli.lock: the fd (close to release), -1 when hub_dir
 * does not exist yet, or -errno (-ETIMEDOUT: another cscli kept it). */
int hub_lock(const struct hub_config *cfg);

#endif /* CS_HUB_INT_H */
