/* SPDX-License-Identifier: MIT */
/*
 * The local hub, as CrowdSec's cwhub/hubops packages keep it (hub-format.md 12):
 *
 *   <hub_dir>/.index.json                         the index (cscli hub update)
 *   <hub_dir>/<type>/[<stage>/]<author>/<f>.yaml   downloaded copies of items
 *   <config_dir>/<type>/[<stage>/]<f>.yaml         enabled items: symlinks into hub_dir,
 *                                                  or local files (the user's own)
 *   <data_dir>/<dest_file>                         data files items declare (`data:`)
 *
 *   struct hub_config cfg;   hub_config_load("/etc/crowdsec/config.yaml", &cfg, err, len)
 *   struct hub *h;           hub_open(&cfg, &h, err, len)   index + local state
 *   hub_plan_install(...)    build a plan (dependencies resolved), then
 *   hub_plan_execute(...)    fetch and check everything, then commit all or nothing
 *   hub_close(h); hub_config_clear(&cfg);
 *
 * Item state follows upstream: an item is downloaded when its file is in hub_dir,
 * installed (enabled) when config_dir has a file for it, tainted when an installed
 * file's sha256 matches no version of the index (taint spreads to the collections
 * that contain it), local when the enabled file is not a link into hub_dir.
 *
 * Atomicity (stricter than upstream): a plan first downloads every item and data
 * file into temporary files and checks each item's sha256 against the index; only
 * then are files renamed into place and links made, with a journal that undoes
 * every step if one fails. A bad digest, a failed download or a full disk leaves
 * the previous state.
 *
 * Errors: functions return 0 or -errno and write a message naming the item and
 * the cause into err. Not thread-safe (one hub per command). Processes: hub_open()
 * and hub_update_index() take an exclusive lock on <hub_dir>/.cscli.lock (waiting
 * up to HUB_LOCK_WAIT_S), so two cscli never change the hub at once.
 */
#ifndef CS_HUB_H
#define CS_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

/* Item types, in upstream's order (collections last: their members come first). */
enum hub_type {
	HUB_PARSERS,
	HUB_POSTOVERFLOWS,
	HUB_SCENARIOS,
	HUB_CONTEXTS,
	HUB_APPSEC_CONFIGS,
	HUB_APPSEC_RULES,
	HUB_COLLECTIONS,
	HUB_NTYPES,
};

/* "parsers", ...; hub_type_parse() also takes the singular; -EINVAL if unknown. */
const char *hub_type_name(enum hub_type t);
int hub_type_parse(const char *s);

#define HUB_DEFAULT_URL "https://cdn-hub.crowdsec.net/crowdsecurity/master"
#define HUB_MAX_INDEX_BYTES (64u << 20)
#define HUB_MAX_ITEM_BYTES (8u << 20)
#define HUB_MAX_DATA_BYTES (512u << 20)
#define HUB_MAX_ITEMS 100000
#define HUB_LOCK_WAIT_S 60

struct hub_config {
	char *config_dir; /* config_paths.config_dir: where items are enabled */
	char *hub_dir;	  /* config_paths.hub_dir: required */
	char *index_path; /* config_paths.index_path, default <hub_dir>/.index.json */
	char *data_dir;	  /* config_paths.data_dir: required */
	char *hub_url;	  /* cscli.hub_url, default HUB_DEFAULT_URL; no trailing '/' */
	char *hub_data_url; /* cscli.hub_data_url: data files from <it>/<dest_file>; NULL = source_url */
	bool quiet;	  /* no progress lines on stdout */
};

/* Reads config.yaml (+ .local). 0 or -errno with err naming the missing key. */
int hub_config_load(const char *path, struct hub_config *cfg, char *err, size_t errlen);
void hub_config_clear(struct hub_config *cfg);

struct hub_version {
	char *version;
	char digest[65];
	bool deprecated;
};

struct hub_item {
	enum hub_type type;
	char *name;	   /* author/name (local items: the file's name: or its file name) */
	char *stage;	   /* parsers/postoverflows, else NULL */
	char *file_name;   /* basename of path */
	char *remote_path; /* index `path`, relative to the hub root (NULL for local items) */
	char *version;	   /* latest */
	char *description;
	char *author;
	struct hub_version *versions;
	size_t nversions;
	char **deps[HUB_NTYPES]; /* collections: members of the latest version (index) */
	size_t ndeps[HUB_NTYPES];
	json_t *index_entry;	 /* the index object (borrowed from the hub), NULL for local */

	/* local state (hub_open) */
	char *local_path;    /* enabled file in config_dir (link or local file) */
	char *download_path; /* copy in hub_dir */
	char *local_version; /* version whose digest matches, "?" if none */
	char local_hash[65];
	bool local, up_to_date, tainted;
	char **tainted_by; /* "type:name" */
	size_t ntainted_by;
	char **belongs_to; /* collections (direct or not) that contain it */
	size_t nbelongs_to;
};

struct hub {
	struct hub_config *cfg; /* borrowed */
	json_t *index;
	struct hub_item **items;
	size_t nitems, items_cap;
	char **warnings;
	size_t nwarnings;
	int lock_fd; /* <hub_dir>/.cscli.lock, held from hub_open to hub_close */
};

/*
 * Load the index (shape checked: an object of types, each item with a path, a
 * version present in versions, 64-hex digests, a stage for parsers) and the
 * local state. A missing index is -ENOENT ("run 'cscli hub update'").
 */
int hub_open(struct hub_config *cfg, struct hub **out, char *err, size_t errlen);
void hub_close(struct hub *h);
struct hub_item *hub_get(struct hub *h, enum hub_type t, const char *name);
/* Items of a type sorted by name (case-insensitive); *n set. Free the array only. */
struct hub_item **hub_items_of(struct hub *h, enum hub_type t, bool installed_only, size_t *n);

/* Upstream's status strings: "enabled,tainted", "disabled,update-available", ... */
void hub_item_status(const struct hub_item *it, char *buf, size_t len);
/* The status emoji upstream prints beside it. */
const char *hub_item_emoji(const struct hub_item *it);
static inline bool hub_item_installed(const struct hub_item *it) { return it->local_path; }
static inline bool hub_item_downloaded(const struct hub_item *it) { return it->download_path; }
/* Members of the installed version (the installed file if outdated, else the index). */
json_t *hub_item_current_deps(const struct hub_item *it);
/* `cscli <type> inspect -o json` object (new reference). */
json_t *hub_item_to_json(const struct hub_item *it);

/*
 * `cscli hub update`: fetch <hub_url>/.index.json, check it parses as an index,
 * replace index_path atomically. *changed false when the content was the same.
 */
int hub_update_index(struct hub_config *cfg, bool *changed, char *err, size_t errlen);

/* ---- plans (hubops) ---- */
enum hub_op { HUB_OP_DOWNLOAD, HUB_OP_ENABLE, HUB_OP_DISABLE, HUB_OP_PURGE };

struct hub_plan;
struct hub_plan *hub_plan_new(struct hub *h);
void hub_plan_free(struct hub_plan *p);
/* Install (download + enable unless download_only) with every dependency. */
int hub_plan_install(struct hub_plan *p, struct hub_item *it, bool force, bool download_only,
		     char *err, size_t errlen);
/* Remove (disable, + purge the hub copy) with the members no other collection needs. */
int hub_plan_remove(struct hub_plan *p, struct hub_item *it, bool force, bool purge, char *err,
		    size_t errlen);
/* Upgrade to the index's latest version (new members enabled, dropped ones disabled). */
int hub_plan_upgrade(struct hub_plan *p, struct hub_item *it, bool force, char *err,
		     size_t errlen);
/* Also refresh the data files of every installed item (hub upgrade). */
void hub_plan_refresh_data(struct hub_plan *p, bool force);
size_t hub_plan_len(const struct hub_plan *p);
/* Upstream's "Action plan:" text (compact: grouped by operation and type). */
void hub_plan_describe(const struct hub_plan *p, bool verbose, FILE *f);
/*
 * Fetch, verify, commit. On any error nothing is left changed and err names the
 * item and the cause. *reload_needed tells whether crowdsec must reload.
 */
int hub_plan_execute(struct hub_plan *p, bool *reload_needed, char *err, size_t errlen);

/* ---- HTTP (libcurl), bounded: cscli's one GET (the plan, hub update, cscli metrics) ---- */
/* GET url into a malloc'ed buffer (NUL-terminated, *len without it). */
int hub_http_get(const char *url, size_t max, char **body, size_t *len, char *err, size_t errlen);
/* GET url into an open file. */
int hub_http_get_file(const char *url, size_t max, FILE *f, char *err, size_t errlen);

/* ---- helpers shared by the files of the module ---- */
int hub_mkdir_p(const char *dir, mode_t mode);
/* sha256 of a file as 64 lowercase hex digits. 0 or -errno. */
int hub_sha256_file(const char *path, char out[65]);
void hub_sha256_hex(const void *data, size_t len, char out[65]);
/* The version whose digest is `hash`, newest first; NULL if none. */
const char *hub_item_version_of(const struct hub_item *it, const char *hash);
/* Dotted-number version comparison (semver-ish) into *cmp (<0, 0, >0); -EINVAL if not numbers. */
int hub_version_cmp(const char *a, const char *b, int *cmp);

#endif /* CS_HUB_H */
