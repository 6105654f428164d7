// SPDX-License-Identifier: MIT
/*
 * Action plans (upstream's hubops): install, remove, upgrade and purge become a
 * list of download / enable / disable / purge steps with dependencies resolved
 * the way CrowdSec resolves them; apply.c carries a plan out.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/vec.h"
#include "hub/hub.h"
#include "hub/hub_int.h"
#include "hub/plan_int.h"

#define PLAN_MAX_CMDS 100000
#define PLAN_MAX_DEPTH 32

struct hub_plan *hub_plan_new(struct hub *h)
{
	struct hub_plan *p = calloc(1, sizeof(*p));

	if (p)
		p->h = h;
	return p;
}

void hub_plan_free(struct hub_plan *p)
{
	if (!p)
		return;
	free(p->cmds);
	free(p);
}

size_t hub_plan_len(const struct hub_plan *p)
{
	return p->ncmds + (p->refresh_data ? 1 : 0);
}

bool hub_plan_has(const struct hub_plan *p, enum hub_op op, const struct hub_item *it)
{
	for (size_t i = 0; i < p->ncmds; i++)
		if (p->cmds[i].op == op && p->cmds[i].it == it)
			return true;
	return false;
}

static int append(struct hub_plan *p, enum hub_op op, struct hub_item *it, bool force)
{
	if (hub_plan_has(p, op, it))
		return 0;
	if (p->ncmds >= PLAN_MAX_CMDS)
		return -E2BIG;
	if (vec_reserve((void **)&p->cmds, &p->cmds_cap, p->ncmds, sizeof(*p->cmds), 16))
		return -ENOMEM;
	p->cmds[p->ncmds++] = (struct hub_cmd){ .op = op, .it = it, .force = force };
	return 0;
}

static void fq(const struct hub_item *it, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%s", hub_type_name(it->type), it->name);
}

/* Sub-items of the latest version (index) or of the installed one. */
static size_t subs_of(struct hub *h, struct hub_item *it, bool latest, struct hub_item **out,
		      size_t max)
{
	json_t *deps;
	size_t n;

	if (it->type != HUB_COLLECTIONS)
		return 0;
	if (latest) {
		n = 0;
		for (int t = 0; t < HUB_NTYPES; t++)
			for (size_t i = 0; i < it->ndeps[t]; i++) {
				struct hub_item *s = hub_get(h, t, it->deps[t][i]);

				if (s && n < max)
					out[n++] = s;
			}
		return n;
	}
	deps = hub_item_current_deps(it);
	n = hub_deps_items(h, deps, out, max);
	json_decref(deps);
	return n;
}

static int add_enable(struct hub_plan *p, struct hub_item *it, bool force, bool latest,
		      int depth, char *err, size_t errlen);
static int add_disable(struct hub_plan *p, struct hub_item *it, bool force, int depth,
		       char *err, size_t errlen);

static int add_download(struct hub_plan *p, struct hub_item *it, bool force, int depth,
			char *err, size_t errlen)
{
	struct hub_item *old[512], *latest[512];
	size_t nold = 0, nlatest;
	char name[PATH_MAX];
	int rc;

	if (depth > PLAN_MAX_DEPTH) {
		snprintf(err, errlen, "collections:%s: dependencies nested too deep", it->name);
		return -ELOOP;
	}
	fq(it, name, sizeof(name));
	if (it->local) {
		log_info("%s - not downloading local item", name);
		return 0;
	}
	if (it->tainted && !force) {
		log_warn("%s is tainted, use '--force' to overwrite", name);
		return 0;
	}
	if (hub_item_installed(it))
		nold = subs_of(p->h, it, false, old, 512);
	nlatest = subs_of(p->h, it, true, latest, 512);
	for (size_t i = 0; i < nlatest; i++) {
		if ((rc = add_download(p, latest[i], force, depth + 1, err, errlen)))
			return rc;
		if (hub_item_installed(it)) {
			/* upgrading an installed collection enables its new members */
			if ((rc = add_enable(p, latest[i], force, false, depth + 1, err, errlen)))
				return rc;
			for (size_t j = 0; j < nold; j++)
				if (old[j] == latest[i])
					old[j] = NULL;
		}
	}
	for (size_t j = 0; j < nold; j++)
		if (old[j] && (rc = add_disable(p, old[j], force, depth + 1, err, errlen)))
			return rc;
	if (hub_item_downloaded(it) && it->up_to_date)
		return 0;
	return append(p, HUB_OP_DOWNLOAD, it, force);
}

static int add_enable(struct hub_plan *p, struct hub_item *it, bool force, bool latest,
		      int depth, char *err, size_t errlen)
{
	struct hub_item *subs[512];
	size_t n;
	int rc;

	if (depth > PLAN_MAX_DEPTH) {
		snprintf(err, errlen, "collections:%s: dependencies nested too deep", it->name);
		return -ELOOP;
	}
	n = subs_of(p->h, it, latest || !hub_item_installed(it), subs, 512);
	for (size_t i = 0; i < n; i++)
		if ((rc = add_enable(p, subs[i], force, false, depth + 1, err, errlen)))
			return rc;
	if (hub_item_installed(it))
		return 0;
	return append(p, HUB_OP_ENABLE, it, force);
}

static bool in_list(struct hub_item *const *v, size_t n, const struct hub_item *it)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == it)
			return true;
	return false;
}

/* Members that no other installed collection needs (upstream SafeToRemoveDeps). */
static int safe_to_remove(struct hub *h, struct hub_item *it, struct hub_item **out, size_t max,
			  size_t *nout, char *err, size_t errlen)
{
	struct hub_item **desc = NULL, *subs[512], *anc[512];
	size_t ndesc = 0, nsubs, nanc = 0;
	int rc = 0;

	*nout = 0;
	if (it->type != HUB_COLLECTIONS)
		return 0;
	rc = hub_descendants(h, it, &desc, &ndesc);
	if (rc) {
		snprintf(err, errlen, "collections:%s: %s", it->name,
			 rc == -ELOOP ? "circular dependency detected" : strerror(-rc));
		free(desc);
		return rc;
	}
	for (size_t i = 0; i < it->nbelongs_to && nanc < 512; i++) {
		struct hub_item *a = hub_get(h, HUB_COLLECTIONS, it->belongs_to[i]);

		if (a)
			anc[nanc++] = a;
	}
	nsubs = subs_of(h, it, false, subs, 512);
	for (size_t i = 0; i < nsubs; i++) {
		bool safe = true;

		for (size_t j = 0; j < subs[i]->nbelongs_to && safe; j++) {
			struct hub_item *par = hub_get(h, HUB_COLLECTIONS, subs[i]->belongs_to[j]);

			if (!par || !hub_item_installed(par) || par == it || in_list(anc, nanc, par))
				continue;
			if (!in_list(desc, ndesc, par))
				safe = false; /* also belongs to an unrelated installed collection */
		}
		if (safe && *nout < max)
			out[(*nout)++] = subs[i];
	}
	free(desc);
	return 0;
}

static int add_disable(struct hub_plan *p, struct hub_item *it, bool force, int depth,
		       char *err, size_t errlen)
{
	struct hub_item *subs[512];
	char name[PATH_MAX];
	size_t n;
	int rc;

	fq(it, name, sizeof(name));
	if (depth > PLAN_MAX_DEPTH) {
		snprintf(err, errlen, "%s: dependencies nested too deep", name);
		return -ELOOP;
	}
	if (it->local) {
		log_warn("%s is a local item, please delete manually", name);
		return 0;
	}
	if (it->tainted && !force) {
		snprintf(err, errlen, "%s is tainted, use '--force' to remove", it->name);
		return -EPERM;
	}
	if (!hub_item_installed(it))
		return 0;
	if ((rc = safe_to_remove(p->h, it, subs, 512, &n, err, errlen)))
		return rc;
	for (size_t i = 0; i < n; i++)
		if (hub_item_installed(subs[i]) &&
		    (rc = add_disable(p, subs[i], force, depth + 1, err, errlen)))
			return rc;
	return append(p, HUB_OP_DISABLE, it, force);
}

static int add_purge(struct hub_plan *p, struct hub_item *it, bool force, int depth, char *err,
		     size_t errlen)
{
	struct hub_item *subs[512];
	size_t n;
	int rc;

	if (it->local)
		return 0;
	if (depth > PLAN_MAX_DEPTH) {
		snprintf(err, errlen, "%s: dependencies nested too deep", it->name);
		return -ELOOP;
	}
	if (it->tainted && !force) {
		snprintf(err, errlen, "%s is tainted, use '--force' to remove", it->name);
		return -EPERM;
	}
	if ((rc = safe_to_remove(p->h, it, subs, 512, &n, err, errlen)))
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = add_purge(p, subs[i], force, depth + 1, err, errlen)))
			return rc;
	if (!hub_item_downloaded(it))
		return 0;
	return append(p, HUB_OP_PURGE, it, force);
}

static int oom(int rc, char *err, size_t errlen)
{
	if (rc == -ENOMEM || rc == -E2BIG)
		snprintf(err, errlen, "%s", rc == -E2BIG ? "plan too large" : "out of memory");
	return rc;
}

int hub_plan_install(struct hub_plan *p, struct hub_item *it, bool force, bool download_only,
		     char *err, size_t errlen)
{
	int rc = add_download(p, it, force, 0, err, errlen);

	if (!rc && !download_only)
		rc = add_enable(p, it, force, false, 0, err, errlen);
	return oom(rc, err, errlen);
}

int hub_plan_remove(struct hub_plan *p, struct hub_item *it, bool force, bool purge, char *err,
		    size_t errlen)
{
	int rc = add_disable(p, it, force, 0, err, errlen);

	if (!rc && purge)
		rc = add_purge(p, it, force, 0, err, errlen);
	return oom(rc, err, errlen);
}

int hub_plan_upgrade(struct hub_plan *p, struct hub_item *it, bool force, char *err,
		     size_t errlen)
{
	return oom(add_download(p, it, force, 0, err, errlen), err, errlen);
}

void hub_plan_refresh_data(struct hub_plan *p, bool force)
{
	p->refresh_data = true;
	p->refresh_force = force;
}

static const char *op_title(enum hub_op op)
{
	switch (op) {
	case HUB_OP_DOWNLOAD:
		return "\U0001F4E5 download";
	case HUB_OP_ENABLE:
		return "\u2705 enable";
	case HUB_OP_DISABLE:
		return "\u274C disable";
	default:
		return "\U0001F5D1 purge (delete source)";
	}
}

static void detail(const struct hub_cmd *c, char *buf, size_t len)
{
	const struct hub_item *it = c->it;

	if (c->op != HUB_OP_DOWNLOAD)
		snprintf(buf, len, "%s", it->name);
	else if (hub_item_downloaded(it))
		snprintf(buf, len, "%s (%s -> %s)", it->name, it->local_version ?: "?", it->version);
	else
		snprintf(buf, len, "%s (%s)", it->name, it->version);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void hub_plan_describe(const struct hub_plan *p, bool verbose, FILE *f)
{
	char buf[PATH_MAX];

	if (verbose) {
		for (size_t i = 0; i < p->ncmds; i++) {
			detail(&p->cmds[i], buf, sizeof(buf));
			fprintf(f, "%s %s:%s\n", op_title(p->cmds[i].op),
				hub_type_name(p->cmds[i].it->type), buf);
		}
	} else {
		static const enum hub_op order[] = { HUB_OP_DOWNLOAD, HUB_OP_ENABLE,
						     HUB_OP_DISABLE, HUB_OP_PURGE };
		char **names = calloc(p->ncmds + 1, sizeof(char *));

		for (size_t o = 0; names && o < 4; o++) {
			bool titled = false;

			/* collections first, as upstream walks the types backward */
			for (int t = HUB_NTYPES - 1; t >= 0; t--) {
				size_t n = 0;

				for (size_t i = 0; i < p->ncmds; i++) {
					if (p->cmds[i].op != order[o] || p->cmds[i].it->type != (enum hub_type)t)
						continue;
					detail(&p->cmds[i], buf, sizeof(buf));
					names[n++] = strdup(buf);
				}
				if (!n)
					continue;
				if (!titled)
					fprintf(f, "%s\n", op_title(order[o]));
				titled = true;
				qsort(names, n, sizeof(char *), cmp_str);
				fprintf(f, " %s: ", hub_type_name(t));
				for (size_t i = 0; i < n; i++) {
					fprintf(f, "%s%s", i ? ", " : "", names[i] ? names[i] : "?");
					free(names[i]);
				}
				fputc('\n', f);
			}
		}
		free(names);
	}
	if (p->refresh_data)
		fprintf(f, "\U0001F504 check & update data files\n");
}
