// SPDX-License-Identifier: MIT
/*
 * The nftables backend in a network namespace of this process's own (gone with
 * it: nothing to clean up), driven as the applier drives it (set/clear, then one
 * commit per pull). What landed is read back with `nft -j list set`; what each
 * commit did is counted from nftables' own notifications (one NEWGEN per committed
 * transaction, one element item per element added or deleted), read until the
 * transaction's NEWGEN with a bound, never by timing.
 *
 *  1. a pull of hosts (more than one netlink message) and nested, adjacent and
 *     IPv6 ranges is ONE transaction; the interval sets hold the union;
 *  2. a pull of a handful of changes touches only those elements; lifting a host
 *     inside a banned range keeps the range, lifting a range brings back the one
 *     it covered;
 *  3. reopened on what it left (a restart), the backend lists it back;
 *  4. a transaction the kernel refuses is retried message by message: only the bad
 *     message's elements fail.
 */
#include "bouncer/backend.h"
#include "bouncer/xdp_loader.h"
#include "common/log.h"
#include "../lib/test.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#define N_HOSTS 3000 /* past one message (~2,000 IPv4 elements) */
#define WAIT_MS 10000

static char t4[32], t6[32];
static int mon = -1;

struct counts {
	int gens, added, deleted;
};

static int count_items(const struct nlmsghdr *h)
{
	const uint8_t *p = (const uint8_t *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	const uint8_t *end = (const uint8_t *)h + h->nlmsg_len;
	int n = 0;

	for (const struct nlattr *a = (const void *)p; (const uint8_t *)a + NLA_HDRLEN <= end &&
						       a->nla_len >= NLA_HDRLEN;
	     a = (const void *)((const uint8_t *)a + NLA_ALIGN(a->nla_len))) {
		const uint8_t *lend = (const uint8_t *)a + a->nla_len;

		if ((a->nla_type & NLA_TYPE_MASK) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		for (const struct nlattr *it = (const void *)((const uint8_t *)a + NLA_HDRLEN);
		     (const uint8_t *)it + NLA_HDRLEN <= lend && it->nla_len >= NLA_HDRLEN;
		     it = (const void *)((const uint8_t *)it + NLA_ALIGN(it->nla_len)))
			n++;
	}
	return n;
}

/* The notifications up to and including `gens` transactions' NEWGEN (bounded). */
/* One recv() of the notification socket into *c: 0, or -1 when nothing is queued. */
static int read_one(struct counts *c)
{
	static uint8_t buf[1 << 16];
	ssize_t len = recv(mon, buf, sizeof(buf), MSG_DONTWAIT);

	if (len < 0) {
		if (errno == ENOBUFS)
			fprintf(stderr, "notifications overflowed\n");
		return errno == ENOBUFS ? 0 : -1;
	}
	for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
		switch (h->nlmsg_type & 0xff) {
		case NFT_MSG_NEWGEN:
			c->gens++;
			break;
		case NFT_MSG_NEWSETELEM:
			c->added += count_items(h);
			break;
		case NFT_MSG_DELSETELEM:
			c->deleted += count_items(h);
			break;
		}
	}
	return 0;
}

static struct counts read_notifications(int gens)
{
	struct counts c = { 0 };
	int waited = 0;

	while (c.gens < gens && waited < WAIT_MS) {
		struct pollfd pfd = { .fd = mon, .events = POLLIN };

		if (poll(&pfd, 1, 100) <= 0) {
			waited += 100;
			continue;
		}
		read_one(&c);
	}
	return c;
}

/*
 * Everything queued now. The kernel queues a transaction's notifications before
 * the sendmsg() that carried it returns, so after a call that committed (an nft
 * command, the backend's open or commit) all of its are here: no waiting.
 */
static struct counts drain_notifications(void)
{
	struct counts c = { 0 };

	while (!read_one(&c))
		;
	return c;
}

/* `nft -j list set` of a set: its elements as text ("198.18.0.1", "198.18.1.0/24"). */
static int list_set(const char *fam, const char *table, const char *set, char ***out)
{
	char cmd[256], **v = NULL;
	FILE *f;
	json_t *root, *arr, *it;
	json_error_t jerr;
	size_t i, n = 0;

	snprintf(cmd, sizeof(cmd), "nft -j list set %s %s %s 2>/dev/null", fam, table, set);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	root = json_loadf(f, 0, &jerr);
	pclose(f);
	arr = json_object_get(root, "nftables");
	json_array_foreach(arr, i, it) {
		json_t *elems = json_object_get(json_object_get(it, "set"), "elem"), *e;
		size_t j;

		v = realloc(v, (n + json_array_size(elems) + 1) * sizeof(*v));
		json_array_foreach(elems, j, e) {
			json_t *val = json_object_get(json_object_get(e, "elem"), "val") ?: e;
			json_t *pfx = json_object_get(val, "prefix");
			char txt[80];

			if (pfx)
				snprintf(txt, sizeof(txt), "%s/%lld",
					 json_string_value(json_object_get(pfx, "addr")),
					 (long long)json_integer_value(json_object_get(pfx, "len")));
			else
				snprintf(txt, sizeof(txt), "%s", json_string_value(val) ?: "?");
			v[n++] = strdup(txt);
		}
	}
	json_decref(root);
	if (v)
		v[n] = NULL;
	*out = v;
	return (int)n;
}

static bool has(char **v, const char *what)
{
	for (; v && *v; v++)
		if (!strcmp(*v, what))
			return true;
	return false;
}

static void free_list(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static struct cs_prefix pfx(const char *text)
{
	struct cs_prefix p;

	if (cs_prefix_parse(text, CS_PREFIX_STRICT, &p))
		abort();
	return p;
}

static struct cs_prefix host4(int i)
{
	struct cs_prefix p = { .family = AF_INET, .plen = 32,
			       .addr = { 198, 19, (uint8_t)(i >> 8), (uint8_t)i } };

	return p;
}

/* A restart of the backend on the tables it kept; its tables' notifications read. */
static bool reopen(struct backend **b, const struct bouncer_config *cfg, const char *why)
{
	backend_nft_ops.close(*b, true);
	*b = NULL;
	if (!ASSERT_OK(backend_nft_ops.open(cfg, b), why))
		return false;
	drain_notifications();
	return true;
}

/* The IPv6 table deleted behind the backend's back: its next transaction is refused. */
static void drop_ip6_table(const char *why)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "nft delete table ip6 %s", t6);
	ASSERT_EQ(system(cmd), 0, why);
}

static int set(struct backend *b, const char *text, uint64_t expires)
{
	struct cs_prefix p = pfx(text);

	return backend_nft_ops.set(b, &p, expires, 1, 1);
}

static int clear(struct backend *b, const char *text)
{
	struct cs_prefix p = pfx(text);

	return backend_nft_ops.clear(b, &p);
}

struct tally {
	int hosts, ranges;
	bool seen_range, seen_inner;
};

static int tally_cb(const struct cs_prefix *p, const struct cs_ban *ban, void *arg)
{
	struct tally *t = arg;
	char txt[CS_PREFIX_STRLEN];

	cs_prefix_format(p, false, txt, sizeof(txt));
	if (cs_prefix_is_host(p))
		t->hosts++;
	else
		t->ranges++;
	t->seen_range |= !strcmp(txt, "198.18.1.0/24");
	t->seen_inner |= !strcmp(txt, "198.18.2.0/25");
	(void)ban;
	return 0;
}

int main(void)
{
	struct bouncer_config cfg = { .ipv4 = true, .ipv6 = true, .nft_chain = "c", .nft_priority = -10 };
	struct backend *b = NULL;
	uint64_t now, hour;
	size_t failed = 99;
	struct counts c;
	char **v = NULL;
	char h6[64];
	int n;

	if (geteuid() != 0) {
		TEST_SKIP(1, "needs root (a network namespace and nftables)");
		return TEST_SUMMARY();
	}
	if (unshare(CLONE_NEWNET)) {
		TEST_SKIP(1, "cannot create a network namespace");
		return TEST_SUMMARY();
	}
	log_set_level(LOG_LVL_WARN);
	snprintf(t4, sizeof(t4), "tnft%d", (int)getpid());
	snprintf(t6, sizeof(t6), "tnft%d6", (int)getpid());
	snprintf(h6, sizeof(h6), "%s-blacklists", t6);
	cfg.nft_table4 = t4;
	cfg.nft_table6 = t6;
	if (!ASSERT_OK(backend_nft_ops.open(&cfg, &b), "open: tables created"))
		return TEST_SUMMARY();
	mon = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	setsockopt(mon, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ 64 << 20 }, sizeof(int));
	{
		struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
					  .nl_groups = 1U << (NFNLGRP_NFTABLES - 1) };

		if (!ASSERT_OK(bind(mon, (struct sockaddr *)&sa, sizeof(sa)),
			       "listen to nftables' notifications"))
			goto out;
	}

	/* 1. one pull: hosts, a host inside a range, nested/adjacent/IPv6 ranges */
	now = xdp_loader_boot_ns();
	hour = now + 3600ULL * 1000000000ULL;
	for (int i = 0; i < N_HOSTS; i++) {
		struct cs_prefix p = host4(i);

		backend_nft_ops.set(b, &p, hour, (uint64_t)i + 1, 1);
	}
	set(b, "198.18.1.5", hour);	/* inside the next */
	set(b, "198.18.1.0/24", hour);
	set(b, "198.18.2.0/25", hour);	/* covered by the next */
	set(b, "198.18.2.0/23", hour);
	set(b, "198.18.4.0/24", hour);	/* adjacent to the next */
	set(b, "198.18.5.0/24", hour);
	set(b, "2001:db8:1::5", hour);
	set(b, "2001:db8:1::/48", hour);
	set(b, "2001:db8:1:2::/64", hour); /* covered */
	ASSERT_OK(backend_nft_ops.commit(b, true, &failed), "pull 1 committed");
	ASSERT_EQ(failed, 0, "pull 1: nothing failed");
	c = read_notifications(1);
	ASSERT_EQ(c.gens, 1, "pull 1 is one transaction");
	/* hosts + 4 ranges as start and end + an IPv6 host + an IPv6 range */
	ASSERT_EQ(c.added, N_HOSTS + 1 + 4 * 2 + 1 + 2, "pull 1: every element added once");
	ASSERT_EQ(c.deleted, 0, "pull 1: nothing deleted");

	n = list_set("ip", t4, "tnft-x", &v); /* no such set: nft says nothing */
	free_list(v);
	ASSERT_EQ(n, 0, "listing reads nothing from a missing set");
	{
		char s4[64];

		snprintf(s4, sizeof(s4), "%s-blacklists", t4);
		n = list_set("ip", t4, s4, &v);
		ASSERT_EQ(n, N_HOSTS + 1, "nft lists every IPv4 host");
		ASSERT_TRUE(has(v, "198.19.0.0") && has(v, "198.19.11.183") && has(v, "198.18.1.5"),
			    "first, last and the in-range host are there");
		free_list(v);
		snprintf(s4, sizeof(s4), "%s-ranges", t4);
		n = list_set("ip", t4, s4, &v);
		ASSERT_EQ(n, 4, "the interval set holds the union (the covered /25 is not separate)");
		ASSERT_TRUE(has(v, "198.18.1.0/24") && has(v, "198.18.2.0/23") &&
				    has(v, "198.18.4.0/24") && has(v, "198.18.5.0/24"),
			    "ranges as prefixes, adjacent ones kept apart");
		free_list(v);
	}
	{
		char s6[64];

		snprintf(s6, sizeof(s6), "%s-ranges", t6);
		n = list_set("ip6", t6, s6, &v);
		ASSERT_TRUE(n == 1 && has(v, "2001:db8:1::/48"), "IPv6 interval set: the cover only");
		free_list(v);
		n = list_set("ip6", t6, h6, &v);
		ASSERT_TRUE(n == 1 && has(v, "2001:db8:1::5"), "IPv6 host set");
		free_list(v);
	}

	/* 2. a handful of changes: only those elements */
	for (int i = 0; i < 3; i++) {
		struct cs_prefix p = host4(i);

		backend_nft_ops.clear(b, &p);
	}
	clear(b, "198.18.1.5");		      /* a host inside a banned range */
	clear(b, "198.18.2.0/23");	      /* the cover: its /25 comes back */
	set(b, "198.18.9.9", hour);	      /* new */
	set(b, "198.19.0.10", hour + 1000000000ULL); /* a longer ban: delete + add */
	clear(b, "198.18.7.7");		      /* never banned: nothing */
	failed = 99;
	ASSERT_OK(backend_nft_ops.commit(b, false, &failed), "pull 2 committed");
	ASSERT_EQ(failed, 0, "pull 2: nothing failed");
	c = read_notifications(1);
	ASSERT_EQ(c.gens, 1, "pull 2 is one transaction");
	ASSERT_EQ(c.deleted, 3 + 1 + 2 + 1, "pull 2 deletes 4 hosts, the cover (start, end), the updated host");
	/* the /25 (start, end), the new host, the updated host; and, where the kernel
	 * reports it as an update, the add-before-delete of the 5 hosts and the cover */
	ASSERT_TRUE(c.added >= 2 + 1 + 1 && c.added <= 2 + 1 + 1 + 5 + 2,
		    "pull 2 adds only what changed");
	{
		char s4[64];

		snprintf(s4, sizeof(s4), "%s-blacklists", t4);
		n = list_set("ip", t4, s4, &v);
		ASSERT_EQ(n, N_HOSTS + 1 - 4 + 1, "hosts after pull 2");
		ASSERT_TRUE(!has(v, "198.19.0.0") && !has(v, "198.18.1.5") && has(v, "198.18.9.9") &&
				    has(v, "198.19.0.10") && has(v, "198.19.0.3"),
			    "the lifted hosts are gone, the others stay");
		free_list(v);
		snprintf(s4, sizeof(s4), "%s-ranges", t4);
		n = list_set("ip", t4, s4, &v);
		ASSERT_TRUE(n == 4 && has(v, "198.18.1.0/24") && has(v, "198.18.2.0/25") &&
				    !has(v, "198.18.2.0/23"),
			    "the range around the lifted host stays; the covered /25 is back");
		free_list(v);
	}

	/* 3. a restart on what is there: the ranges are listed back; the hosts stay
	 * in place until the first full state replaces them in one transaction
	 * (a partial pull before it is held, not applied alone) */
	backend_nft_ops.close(b, true);
	b = NULL;
	if (!ASSERT_OK(backend_nft_ops.open(&cfg, &b), "reopened on the tables left"))
		goto out;
	c = drain_notifications(); /* the tables' "add" at open: one transaction a family */
	ASSERT_EQ(c.gens, 2, "reopen: one transaction for each family's tables");
	{
		struct tally t = { 0 };
		char s4[64];

		ASSERT_OK(backend_nft_ops.for_each(b, tally_cb, &t), "listed back");
		ASSERT_EQ(t.ranges, 4 + 1, "every range listed back");
		ASSERT_TRUE(t.seen_range && t.seen_inner, "as prefixes");
		ASSERT_EQ(t.hosts, 0, "hosts are not listed (minutes at 1M)");

		set(b, "198.18.9.11", hour);
		failed = 99;
		ASSERT_OK(backend_nft_ops.commit(b, false, &failed), "a partial pull");
		snprintf(s4, sizeof(s4), "%s-blacklists", t4);
		n = list_set("ip", t4, s4, &v);
		ASSERT_TRUE(n == N_HOSTS + 1 - 4 + 1 && !has(v, "198.18.9.11"),
			    "held before the first full state; the old hosts still drop");
		free_list(v);
		/* the full state: half the hosts (the others were lifted meanwhile) */
		for (int i = 0; i < N_HOSTS / 2; i++) {
			struct cs_prefix p = host4(i);

			backend_nft_ops.set(b, &p, hour, (uint64_t)i + 1, 1);
		}
		ASSERT_OK(backend_nft_ops.commit(b, true, &failed), "the full state");
		ASSERT_EQ(failed, 0, "full state: nothing failed");
		c = drain_notifications();
		ASSERT_EQ(c.gens, 1, "the host sets replaced in one transaction");
		ASSERT_EQ(c.added, N_HOSTS / 2 + 1, "that transaction adds the full state's hosts");
		n = list_set("ip", t4, s4, &v);
		ASSERT_EQ(n, N_HOSTS / 2 + 1, "exactly the full state's hosts (and the held one)");
		ASSERT_TRUE(has(v, "198.18.9.11") && has(v, "198.19.0.0") && !has(v, "198.19.11.183") &&
				    !has(v, "198.18.9.9"),
			    "what the full state does not claim is gone");
		free_list(v);
		n = list_set("ip6", t6, h6, &v);
		ASSERT_EQ(n, 0, "the IPv6 host set replaced too");
		free_list(v);
	}

	/* 3b. a full state with no host at all (every ban lifted while we were away)
	 * still replaces the host sets: a flush with no element after it */
	if (!reopen(&b, &cfg, "reopened again"))
		goto out;
	ASSERT_OK(backend_nft_ops.commit(b, true, &failed), "an empty full state");
	{
		char s4[64];

		snprintf(s4, sizeof(s4), "%s-blacklists", t4);
		n = list_set("ip", t4, s4, &v);
		ASSERT_EQ(n, 0, "an empty full state empties the host set");
		free_list(v);
	}

	/* 4. a refused transaction: the IPv6 table went away under us */
	drop_ip6_table("IPv6 table deleted behind the backend's back");
	read_notifications(1);
	set(b, "2001:db8:2::1", hour);
	set(b, "198.18.9.10", hour);
	set(b, "198.18.9.12", now + 20 * 365 * 86400ULL * 1000000000ULL); /* past nft's range */
	failed = 0;
	backend_nft_ops.commit(b, false, &failed);
	ASSERT_EQ(failed, 1, "only the IPv6 host failed");
	{
		char s4[64];

		snprintf(s4, sizeof(s4), "%s-blacklists", t4);
		n = list_set("ip", t4, s4, &v);
		ASSERT_TRUE(has(v, "198.18.9.10"), "the IPv4 host of the refused transaction went in alone");
		ASSERT_TRUE(has(v, "198.18.9.12"), "a 20-year ban, its timeout cut to what nft takes");
		free_list(v);
	}

	/* 5. a full state refused (the IPv6 table gone again) goes in message by
	 * message without its flush: it must count as failed, so that the fetcher
	 * sends the full state again, and the hosts stay unknown until one is whole */
	if (!reopen(&b, &cfg, "reopened for a refused full state"))
		goto out;
	drop_ip6_table("IPv6 table deleted again");
	set(b, "198.18.9.20", hour);
	failed = 0;
	backend_nft_ops.commit(b, true, &failed);
	ASSERT_TRUE(failed >= 1, "a refused full state counts as failed (resync asked)");
out:
	backend_nft_ops.close(b, false);
	if (mon >= 0)
		close(mon);
	return TEST_SUMMARY();
}
