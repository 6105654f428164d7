// SPDX-License-Identifier: MIT
/*
 * The nftables fallback, through libnftables. It owns two tables and nothing else
 * (`table ip crowdsec`, `table ip6 crowdsec6`, names configurable), each with a
 * hash set for hosts, an interval set for ranges (both with element timeouts, so
 * bans expire on time by themselves) and an input-hook chain that drops their
 * members. Every commit is one nft transaction, its elements grouped into commands
 * of up to NFT_CHUNK (nft parses each command on its own: a million one-element
 * commands take minutes). A transaction holds at most NFT_TXN_MAX elements: a
 * startup of a million goes in as several (libnftables needs ~500 bytes an element
 * while it builds one); a normal pull is one. An element that may be there is added
 * (a no-op if it is) before it is deleted, so an element nft already expired
 * cannot fail the transaction; if it still fails as a whole, its commands are
 * retried one by one so a bad one costs only itself.
 *
 * Known limit: nftables interval sets refuse overlapping ranges; a range nested in
 * another banned range is reported and skipped (the outer one drops it anyway).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <jansson.h>
#include <nftables/libnftables.h>

#include "bouncer/backend.h"
#include "bouncer/decisions.h"
#include "bouncer/xdp_loader.h"
#include "common/log.h"

struct backend {
	const struct bouncer_config *cfg;
	struct nft_ctx *nft;
	struct dmodel *present; /* what we believe is in the sets, with expiry */
	char *buf;		/* the pending transaction, one command per line */
	size_t len, cap;
	/* the command being filled: kind, family, set, elements so far */
	int run_kind, run_family;
	char run_set[128];
	size_t run_n;
	size_t txn_n; /* elements in the pending transaction */
	size_t auto_failed; /* failures of transactions committed early */
	uint64_t errors;
	uint64_t last_expire;
};

#define NFT_CHUNK 8192
#define NFT_TXN_MAX 65536

enum run_kind { RUN_NONE, RUN_ADD, RUN_ADD_TIMEOUT, RUN_DELETE };

static const char *table_of(const struct backend *b, int family)
{
	return family == AF_INET ? b->cfg->nft_table4 : b->cfg->nft_table6;
}

static void set_of(const struct backend *b, const struct cs_prefix *p, char *out, size_t len)
{
	snprintf(out, len, "%s-%s", table_of(b, p->family),
		 cs_prefix_is_host(p) ? "blacklists" : "ranges");
}

static int run(struct backend *b, const char *cmds, bool quiet)
{
	int rc = nft_run_cmd_from_buffer(b->nft, cmds);

	if (rc && !quiet) {
		const char *e = nft_ctx_get_error_buffer(b->nft);

		log_warn("nftables: %s", e && *e ? e : "command failed");
	}
	return rc ? -EIO : 0;
}

static int append(struct backend *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int append(struct backend *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if (b->len + (size_t)n + 1 < b->cap)
			break;
		{
			size_t ncap = b->cap ? b->cap * 2 : 1 << 16;
			char *nb = realloc(b->buf, ncap);

			if (!nb)
				return -ENOMEM;
			b->buf = nb;
			b->cap = ncap;
		}
	}
	b->len += (size_t)n;
	return 0;
}

static int end_run(struct backend *b)
{
	int err = 0;

	if (b->run_kind != RUN_NONE)
		err = append(b, " }\n");
	b->run_kind = RUN_NONE;
	b->run_n = 0;
	return err;
}

/* Adds one element to the command being filled, or starts the next one. */
static int element(struct backend *b, int kind, const struct cs_prefix *p, unsigned long long secs)
{
	char txt[CS_PREFIX_STRLEN], set[128];
	const char *fam = p->family == AF_INET ? "ip" : "ip6";
	int err = 0;

	cs_prefix_format(p, false, txt, sizeof(txt));
	set_of(b, p, set, sizeof(set));
	if (b->run_kind != kind || b->run_family != p->family || strcmp(b->run_set, set) ||
	    b->run_n == NFT_CHUNK) {
		err = end_run(b);
		if (!err)
			err = append(b, "%s element %s %s %s {", kind == RUN_DELETE ? "delete" : "add", fam,
				     table_of(b, p->family), set);
		if (err)
			return err;
		b->run_kind = kind;
		b->run_family = p->family;
		snprintf(b->run_set, sizeof(b->run_set), "%s", set);
	}
	if (kind == RUN_ADD_TIMEOUT)
		err = append(b, "%s %s timeout %llus", b->run_n ? "," : "", txt, secs);
	else
		err = append(b, "%s %s", b->run_n ? "," : "", txt);
	b->run_n++;
	b->txn_n++;
	return err;
}

static int create_tables(struct backend *b)
{
	char cmd[2048];
	int fams[2] = { AF_INET, AF_INET6 }, err = 0;

	for (int i = 0; i < 2; i++) {
		const char *fam = fams[i] == AF_INET ? "ip" : "ip6";
		const char *t = table_of(b, fams[i]);
		const char *type = fams[i] == AF_INET ? "ipv4_addr" : "ipv6_addr";

		if ((fams[i] == AF_INET && !b->cfg->ipv4) || (fams[i] == AF_INET6 && !b->cfg->ipv6))
			continue;
		/* "add" is idempotent: a restart keeps the elements (no unfiltered window) */
		snprintf(cmd, sizeof(cmd),
			 "add table %s %s\n"
			 "add set %s %s %s-blacklists { type %s; flags timeout; }\n"
			 "add set %s %s %s-ranges { type %s; flags interval, timeout; }\n"
			 "add chain %s %s %s { type filter hook input priority %d; policy accept; }\n"
			 "flush chain %s %s %s\n"
			 "add rule %s %s %s %s saddr @%s-blacklists drop\n"
			 "add rule %s %s %s %s saddr @%s-ranges drop\n",
			 fam, t, fam, t, t, type, fam, t, t, type, fam, t, b->cfg->nft_chain,
			 b->cfg->nft_priority, fam, t, b->cfg->nft_chain, fam, t,
			 b->cfg->nft_chain, fam, t, fam, t, b->cfg->nft_chain, fam, t);
		err = run(b, cmd, false);
		if (err)
			return err;
	}
	return 0;
}

static uint64_t boot_ns(void)
{
	return xdp_loader_boot_ns();
}

/* Parses one set element of `nft -j list set` into a prefix; returns 0 on success. */
static int element_prefix(json_t *e, int family, struct cs_prefix *p)
{
	json_t *val = e, *pfx;
	char txt[80];

	if (json_is_object(e) && json_object_get(e, "elem"))
		val = json_object_get(json_object_get(e, "elem"), "val");
	if (json_is_string(val))
		return cs_prefix_parse(json_string_value(val), CS_PREFIX_STRICT, p);
	pfx = json_object_get(val, "prefix");
	if (pfx) {
		snprintf(txt, sizeof(txt), "%s/%lld", json_string_value(json_object_get(pfx, "addr")) ?: "",
			 (long long)json_integer_value(json_object_get(pfx, "len")));
		return cs_prefix_parse(txt, CS_PREFIX_STRICT, p);
	}
	(void)family;
	return -EINVAL;
}

/* Learn what a previous run left in the sets, so the sweep after resync can see it. */
static int load_present(struct backend *b)
{
	int fams[2] = { AF_INET, AF_INET6 };

	nft_ctx_output_set_flags(b->nft, NFT_CTX_OUTPUT_JSON);
	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < 2; k++) {
			struct cs_prefix probe = { .family = fams[i], .plen = k ? 0 : 128 };
			char set[128], cmd[256];
			json_t *root, *arr;
			json_error_t jerr;
			size_t idx;
			json_t *it;

			if (fams[i] == AF_INET && !k)
				probe.plen = 32;
			set_of(b, &probe, set, sizeof(set));
			snprintf(cmd, sizeof(cmd), "list set %s %s %s", fams[i] == AF_INET ? "ip" : "ip6",
				 table_of(b, fams[i]), set);
			if (run(b, cmd, true))
				continue;
			root = json_loads(nft_ctx_get_output_buffer(b->nft), 0, &jerr);
			arr = json_object_get(root, "nftables");
			json_array_foreach(arr, idx, it) {
				json_t *elems = json_object_get(json_object_get(it, "set"), "elem");
				size_t j;
				json_t *e;

				json_array_foreach(elems, j, e) {
					struct cs_prefix p;
					json_t *exp = json_object_get(json_object_get(e, "elem"), "expires");
					uint64_t expires = exp ? boot_ns() + (uint64_t)json_integer_value(exp) *
										 1000000000ULL
							       : UINT64_MAX;

					/* id 0: unknown, matched on the expiry alone */
					if (!element_prefix(e, fams[i], &p))
						dmodel_applied(b->present, &p, 0, expires, 0);
				}
			}
			json_decref(root);
		}
	}
	nft_ctx_output_set_flags(b->nft, 0);
	return 0;
}

static int nft_open(const struct bouncer_config *cfg, struct backend **out)
{
	struct backend *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	b->cfg = cfg;
	err = dmodel_new(&b->present);
	if (err)
		goto fail;
	b->nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!b->nft) {
		err = -ENOMEM;
		goto fail;
	}
	nft_ctx_buffer_output(b->nft);
	nft_ctx_buffer_error(b->nft);
	err = create_tables(b);
	if (err) {
		err = -EOPNOTSUPP;
		goto fail;
	}
	load_present(b);
	log_info("nftables: tables %s/%s ready (%zu elements kept from before)", cfg->nft_table4,
		 cfg->nft_table6, dmodel_prefixes(b->present));
	*out = b;
	return 0;
fail:
	if (b->nft)
		nft_ctx_free(b->nft);
	dmodel_free(b->present);
	free(b);
	return err;
}

static bool family_enabled(const struct backend *b, int family)
{
	return family == AF_INET ? b->cfg->ipv4 : b->cfg->ipv6;
}

static int nft_commit(struct backend *b, size_t *failed);

/* A big pull goes in as several transactions (memory): each is whole. */
static int commit_early(struct backend *b)
{
	size_t failed = 0;
	int err;

	if (b->txn_n < NFT_TXN_MAX)
		return 0;
	err = nft_commit(b, &failed);
	b->auto_failed += failed;
	return err;
}

/* nft expires elements itself: the model of what is there follows at most once a
 * second (it only chooses between a plain add and add-delete-add). */
static void expire_present(struct backend *b, uint64_t now)
{
	if (now < b->last_expire + 1000000000ULL)
		return;
	b->last_expire = now;
	dmodel_expire(b->present, now, NULL, NULL);
}

static int nft_set(struct backend *b, const struct cs_prefix *p, uint64_t expires, uint64_t id,
		   uint8_t origin)
{
	uint64_t now = boot_ns();
	unsigned long long secs;
	int err = 0;

	if (!family_enabled(b, p->family) || expires <= now)
		return 0;
	secs = (expires - now + 999999999ULL) / 1000000000ULL;
	expire_present(b, now);
	/* A timeout cannot be changed in place: delete and add in the same transaction
	 * (after an add, so that the delete finds it even if nft just expired it). */
	if (dmodel_has(b->present, p)) {
		err = element(b, RUN_ADD, p, 0);
		if (!err)
			err = element(b, RUN_DELETE, p, 0);
	}
	if (!err)
		err = element(b, RUN_ADD_TIMEOUT, p, secs);
	if (!err)
		err = dmodel_applied(b->present, p, id, expires, origin);
	return err ? err : commit_early(b);
}

static int nft_clear(struct backend *b, const struct cs_prefix *p)
{
	int err;

	if (!family_enabled(b, p->family))
		return 0;
	expire_present(b, boot_ns());
	if (!dmodel_has(b->present, p))
		return 0; /* not there: nothing to delete */
	dmodel_forget(b->present, p);
	err = element(b, RUN_ADD, p, 0);
	if (!err)
		err = element(b, RUN_DELETE, p, 0);
	return err ? err : commit_early(b);
}

/* The elements of a failed add command are not there: forget them, so that the
 * fetcher's resynchronisation sees them missing. Returns how many. */
static size_t forget_elements(struct backend *b, char *cmd)
{
	char *brace = strchr(cmd, '{'), *save = NULL, *tok;
	size_t n = 0;

	if (!brace)
		return 0;
	for (tok = strtok_r(brace + 1, ",}", &save); tok; tok = strtok_r(NULL, ",}", &save)) {
		char *sp;
		struct cs_prefix p;

		while (*tok == ' ')
			tok++;
		sp = strchr(tok, ' ');
		if (sp)
			*sp = '\0';
		if (*tok && !cs_prefix_parse(tok, CS_PREFIX_STRICT, &p)) {
			dmodel_forget(b->present, &p);
			n++;
		}
	}
	return n;
}

static int nft_commit(struct backend *b, size_t *failed)
{
	int err = 0;

	uint64_t t0 = boot_ns();
	size_t n = b->txn_n;

	*failed = b->auto_failed;
	b->auto_failed = 0;
	b->txn_n = 0;
	if (end_run(b))
		err = -ENOMEM;
	if (!b->len)
		return err;
	if (run(b, b->buf, true)) {
		/* salvage: one command at a time */
		char *line = b->buf, *nl;

		while (line && *line) {
			nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			if (*line && run(b, line, false)) {
				b->errors++;
				/* every element of a failed add; a failed delete leaves a ban in
				 * place that nft ends by its timeout */
				if (strncmp(line, "delete ", 7))
					*failed += forget_elements(b, line);
				err = -EIO;
			}
			line = nl ? nl + 1 : NULL;
		}
	}
	b->len = 0;
	if (b->buf)
		b->buf[0] = '\0';
	if (n >= NFT_CHUNK)
		log_debug("nftables: %zu element operations in one transaction, %.2f s", n,
			  (double)(boot_ns() - t0) / 1e9);
	return err;
}

struct walk {
	int (*fn)(const struct cs_prefix *p, const struct cs_ban *ban, void *arg);
	void *arg;
};

static void walk_cb(const struct deffect *e, void *arg)
{
	struct walk *w = arg;
	struct cs_ban ban = { .expires_ns = e->expires, .decision_id = e->id, .origin = e->origin,
			      .type = CS_TYPE_BAN, .prefixlen = e->prefix.plen };

	w->fn(&e->prefix, &ban, w->arg);
}

static int nft_for_each(struct backend *b,
			int (*fn)(const struct cs_prefix *p, const struct cs_ban *ban, void *arg),
			void *arg)
{
	struct walk w = { fn, arg };

	dmodel_for_each(b->present, walk_cb, &w);
	return 0;
}

static void nft_stats(struct backend *b, struct cs_stat *counters, uint32_t *modes, uint32_t *n)
{
	/* Reading nft counters lists the whole ruleset, sets included: minutes at 1M
	 * elements with nft 1.0.6. Not worth it for a fallback: counters stay zero. */
	memset(counters, 0, sizeof(struct cs_stat) * CS_STAT_MAX);
	(void)b, (void)modes;
	*n = 0;
}

static void delete_tables(struct backend *b)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "delete table ip %s", b->cfg->nft_table4);
	run(b, cmd, true);
	snprintf(cmd, sizeof(cmd), "delete table ip6 %s", b->cfg->nft_table6);
	run(b, cmd, true);
}

static void nft_close(struct backend *b, bool keep)
{
	if (!b)
		return;
	if (!keep)
		delete_tables(b);
	nft_ctx_free(b->nft);
	dmodel_free(b->present);
	free(b->buf);
	free(b);
}

BACKEND_OPS(nft, "nftables");

int backend_uninstall(const struct bouncer_config *cfg)
{
	struct backend b = { .cfg = cfg };
	int err;

	b.nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (b.nft) {
		nft_ctx_buffer_output(b.nft);
		nft_ctx_buffer_error(b.nft);
		delete_tables(&b);
		nft_ctx_free(b.nft);
	}
	err = xdp_loader_uninstall(cfg->pin_path);
	return err;
}
