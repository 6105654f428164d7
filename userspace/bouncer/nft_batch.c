// SPDX-License-Identifier: MIT
#include "bouncer/nft_batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "common/log.h"

/* A stream's messages go to pages of this size (libnftnl's batch: one iovec entry
 * each, sent without copying); a page holds ~17 messages. Untouched, a page costs
 * address space only, so a pull of a few changes stays cheap. */
#define PAGE_SIZE_BIG (1U << 20)
/* Room past a page's limit for the message that crosses it. */
#define PAGE_OVERRUN (NFB_MSG_MAX + 4096)
#define RECV_BUF (64 * 1024)
/* How long the kernel may take over one transaction or one listing before we give up. */
#define NL_TIMEOUT_S 60
/* A message's header with the table and set names at most (nft's names: 256 bytes). */
#define NAMES_MAX 1024
/* An element at most: list item, key nest, key, timeout, flags, user data. */
#define ELEM_MAX (4 + 4 + 4 + 16 + 12 + 8 + 12)
/* nft's user data item on an element (its NFTNL_UDATA_SET_ELEM_FLAGS), and the
 * flag marking a range that runs to the end, so that nft lists it as a prefix. */
#define UDATA_ELEM_FLAGS 1
#define UDATA_ELEM_F_INTERVAL_OPEN 1

/* The messages of a stream, then a part of the pending batch. */
struct nfb_block {
	struct nfb_block *next;
	struct nftnl_batch *pages;
	size_t bytes, msgs;
	struct nftnl_set_elem *el; /* reused for each element written (an object each: 30 % more CPU) */
};

struct nfb {
	struct mnl_socket *nl;
	unsigned int portid;
	uint32_t seq;
	struct nfb_block *head, *tail;
	size_t bytes, elems, msgs;
	int sndbuf;
	uint8_t *rbuf;
	int lost; /* -ENOMEM: a stream's last message could not be kept; the commit says so */
};

static uint16_t nfproto(int family)
{
	return family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
}

void nfb_stream_init(struct nfb_stream *s, int family, const char *table, const char *set,
		     enum nfb_op op)
{
	*s = (struct nfb_stream){ .family = family, .op = op, .table = table, .set = set };
}

static void block_free(struct nfb_block *bl)
{
	if (!bl)
		return;
	nftnl_batch_free(bl->pages);
	if (bl->el)
		nftnl_set_elem_free(bl->el);
	free(bl);
}

static void free_blocks(struct nfb_block *bl)
{
	while (bl) {
		struct nfb_block *next = bl->next;

		block_free(bl);
		bl = next;
	}
}

void nfb_stream_reset(struct nfb_stream *s)
{
	block_free(s->block); /* with the message being filled */
	nfb_stream_init(s, s->family, s->table, s->set, s->op);
}

static struct nfb_block *block_new(uint32_t page_size)
{
	struct nfb_block *bl = calloc(1, sizeof(*bl));

	if (bl && !(bl->pages = nftnl_batch_alloc(page_size, PAGE_OVERRUN))) {
		free(bl);
		bl = NULL;
	}
	return bl;
}

/* libnftnl's _free functions do not take NULL */
static void set_free(struct nftnl_set *s)
{
	if (s)
		nftnl_set_free(s);
}

static struct nftnl_set *set_new(int family, const char *table, const char *set)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (s && (nftnl_set_set_str(s, NFTNL_SET_TABLE, table) ||
		  nftnl_set_set_str(s, NFTNL_SET_NAME, set))) {
		nftnl_set_free(s);
		s = NULL;
	}
	if (s)
		nftnl_set_set_u32(s, NFTNL_SET_FAMILY, nfproto(family));
	return s;
}

/* What a message holds before its elements (libmnl leaves attributes' padding
 * as it finds it: zeroed first, nothing uninitialised goes to the kernel). */
static size_t head_len(const char *table, const char *set)
{
	return MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)) + 3 * MNL_ATTR_HDRLEN +
	       MNL_ALIGN(strlen(table) + 1) + MNL_ALIGN(strlen(set) + 1);
}

/* Starts a message in buf (room for head_len() and the elements): its header and
 * the table and set names. NULL: out of memory. */
static struct nlmsghdr *msg_head(void *buf, uint16_t type, uint16_t flags, uint32_t seq,
				 int family, const char *table, const char *set)
{
	struct nftnl_set *s = set_new(family, table, set);
	struct nlmsghdr *h;

	if (!s)
		return NULL;
	memset(buf, 0, head_len(table, set));
	h = nftnl_nlmsg_build_hdr(buf, type, nfproto(family), flags, seq);
	nftnl_set_elems_nlmsg_build_payload(h, s); /* without elements: the names */
	nftnl_set_free(s);
	return h;
}

/* Starts a message at the end of the block's pages. */
static struct nlmsghdr *msg_begin(struct nfb_block *bl, uint16_t type, uint16_t flags,
				  int family, const char *table, const char *set)
{
	return msg_head(nftnl_batch_buffer(bl->pages), type, flags | NLM_F_ACK, 0, family, table,
			set);
}

/* The block's last message is complete: it joins its pages. */
static int msg_end(struct nfb_block *bl, const struct nlmsghdr *h)
{
	bl->bytes += h->nlmsg_len;
	bl->msgs++;
	return nftnl_batch_update(bl->pages) ? -ENOMEM : 0;
}

static int end_msg(struct nfb_stream *s)
{
	struct nlmsghdr *h = s->msg;

	if (!h)
		return 0;
	mnl_attr_nest_end(h, s->list);
	s->msg = NULL;
	return msg_end(s->block, h);
}

static int begin_msg(struct nfb_stream *s)
{
	if (head_len(s->table, s->set) > NAMES_MAX)
		return -ENAMETOOLONG;
	if (!s->block && !(s->block = block_new(PAGE_SIZE_BIG)))
		return -ENOMEM;
	s->msg = msg_begin(s->block, s->op == NFB_ADD ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			   s->op == NFB_ADD ? NLM_F_CREATE : 0, s->family, s->table, s->set);
	if (!s->msg)
		return -ENOMEM;
	s->list = mnl_attr_nest_start(s->msg, NFTA_SET_ELEM_LIST_ELEMENTS);
	return 0;
}

static int elem_fill(struct nftnl_set_elem *el, const struct nfb_stream *s,
		     const struct nfb_elem *e)
{
	if (nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, e->key, s->family == AF_INET ? 4 : 16))
		return -ENOMEM;
	if (e->timeout_ms)
		nftnl_set_elem_set_u64(el, NFTNL_SET_ELEM_TIMEOUT, e->timeout_ms);
	else
		nftnl_set_elem_unset(el, NFTNL_SET_ELEM_TIMEOUT);
	if (e->interval_end)
		nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	else
		nftnl_set_elem_unset(el, NFTNL_SET_ELEM_FLAGS);
	nftnl_set_elem_unset(el, NFTNL_SET_ELEM_USERDATA);
	if (e->open) {
		const uint8_t udata[6] = { UDATA_ELEM_FLAGS, sizeof(uint32_t),
					   UDATA_ELEM_F_INTERVAL_OPEN, 0, 0, 0 };

		if (nftnl_set_elem_set(el, NFTNL_SET_ELEM_USERDATA, udata, sizeof(udata)))
			return -ENOMEM;
	}
	return 0;
}

/*
 * The element is written into the message at once (libnftnl's encoding, in the
 * list item the kernel and libnftnl's parser expect: NFTA_LIST_ELEM), so a
 * million elements never exist as objects.
 */
int nfb_stream_add(struct nfb_stream *s, const struct nfb_elem *e)
{
	struct nftnl_set_elem *el;
	struct nlattr *item;
	uint32_t before;
	int err = 0;

	if (s->msg && s->msg->nlmsg_len + ELEM_MAX > NFB_MSG_MAX)
		err = end_msg(s);
	if (!err && !s->msg)
		err = begin_msg(s);
	if (!err && !s->block->el && !(s->block->el = nftnl_set_elem_alloc()))
		err = -ENOMEM;
	if (err)
		return err;
	el = s->block->el;
	if ((err = elem_fill(el, s, e)))
		return err;
	before = s->msg->nlmsg_len;
	memset(mnl_nlmsg_get_payload_tail(s->msg), 0, ELEM_MAX);
	item = mnl_attr_nest_start(s->msg, NFTA_LIST_ELEM);
	nftnl_set_elem_nlmsg_build_payload(s->msg, el);
	mnl_attr_nest_end(s->msg, item);
	s->bytes += s->msg->nlmsg_len - before;
	s->elems++;
	return 0;
}

int nfb_open(struct nfb **out)
{
	struct nfb *b = calloc(1, sizeof(*b));
	struct timeval tv = { .tv_sec = NL_TIMEOUT_S };
	int err, fd, one = 1, rcv = 8 << 20;

	if (!b)
		return -ENOMEM;
	b->rbuf = malloc(RECV_BUF);
	if (!b->rbuf)
		err = -ENOMEM;
	else if (!(b->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC)) ||
		 mnl_socket_bind(b->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		err = -errno;
	else
		err = 0;
	if (err) {
		nfb_free(b);
		return err;
	}
	b->portid = mnl_socket_get_portid(b->nl);
	fd = mnl_socket_get_fd(b->nl);
	/* acknowledgements without the request copied in: a failed 60 kB message
	 * answers 36 bytes; room for an answer to every message of a large batch */
	mnl_socket_setsockopt(b->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(b->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	b->seq = (uint32_t)time(NULL);
	*out = b;
	return 0;
}

void nfb_free(struct nfb *b)
{
	if (!b)
		return;
	free_blocks(b->head);
	if (b->nl)
		mnl_socket_close(b->nl);
	free(b->rbuf);
	free(b);
}

void nfb_take(struct nfb *b, struct nfb_stream *s)
{
	struct nfb_block *bl;
	int err = end_msg(s);

	if (err && !b->lost)
		b->lost = err;
	bl = s->block;
	if (bl && bl->msgs) {
		if (b->tail)
			b->tail->next = bl;
		else
			b->head = bl;
		b->tail = bl;
		b->bytes += bl->bytes;
		b->msgs += bl->msgs;
		b->elems += s->elems;
	} else {
		block_free(bl);
	}
	nfb_stream_init(s, s->family, s->table, s->set, s->op);
}

int nfb_flush_first(struct nfb *b, int family, const char *table, const char *set)
{
	/* a DELSETELEM without an element list flushes the set */
	struct nfb_block *bl = head_len(table, set) > NAMES_MAX ? NULL : block_new(4096);
	struct nlmsghdr *h = bl ? msg_begin(bl, NFT_MSG_DELSETELEM, 0, family, table, set) : NULL;

	if (!h || msg_end(bl, h)) {
		block_free(bl);
		return -ENOMEM;
	}
	bl->next = b->head;
	b->head = bl;
	if (!b->tail)
		b->tail = bl;
	b->bytes += bl->bytes;
	b->msgs++;
	b->elems++; /* a transaction to send, even with no element after it */
	return 0;
}

size_t nfb_pending_bytes(const struct nfb *b)
{
	return b->bytes;
}

size_t nfb_pending_elems(const struct nfb *b)
{
	return b->elems;
}

/* The answers to one batch: every message asks for an acknowledgement. */
struct acks {
	uint32_t first, last;
	size_t want, got;
	bool failed, refused;
};

static int ack_cb(const struct nlmsghdr *h, void *arg)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
	struct acks *a = arg;

	if (h->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		return MNL_CB_OK;
	if (h->nlmsg_seq == a->first - 1) { /* the batch as a whole */
		if (!a->failed)
			log_debug("nftables: transaction refused: %s", strerror(-e->error));
		a->refused = true;
		return MNL_CB_STOP;
	}
	if (h->nlmsg_seq < a->first || h->nlmsg_seq > a->last)
		return MNL_CB_OK; /* a late answer to an earlier call */
	a->got++;
	if (e->error) {
		if (!a->failed)
			log_debug("nftables: message %u of %zu refused: %s", h->nlmsg_seq - a->first + 1,
				  a->want, strerror(-e->error));
		a->failed = true;
	}
	return MNL_CB_OK;
}

/*
 * Sends iov[1..n-2] between a BATCH_BEGIN (iov[0]) and a BATCH_END (iov[n-1]) and
 * reads the answers: the kernel handles a batch within sendmsg(), so they are all
 * queued when it returns (one error for the whole batch when its commit fails):
 * nothing waits. 0, -EIO (refused, or answers missing) or -errno.
 */
static int send_batch(struct nfb *b, struct iovec *iov, size_t n, uint32_t first, uint32_t last,
		      size_t bytes)
{
	_Alignas(8) char begin[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg))];
	_Alignas(8) char end[sizeof(begin)];
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = ack_cb };
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct msghdr mh = { .msg_name = &kernel, .msg_namelen = sizeof(kernel), .msg_iov = iov,
			     .msg_iovlen = n };
	struct acks a = { .first = first, .last = last, .want = last - first + 1 };
	int fd = mnl_socket_get_fd(b->nl);
	struct nlmsghdr *hb = nftnl_batch_begin(begin, first - 1);
	struct nlmsghdr *he = nftnl_batch_end(end, last + 1);

	iov[0] = (struct iovec){ hb, hb->nlmsg_len };
	iov[n - 1] = (struct iovec){ he, he->nlmsg_len };
	bytes += hb->nlmsg_len + he->nlmsg_len;
	if (bytes + 4096 > (size_t)b->sndbuf) {
		/* the whole batch is one datagram: the send buffer must hold it (FORCE:
		 * past wmem_max, as nft does; we hold CAP_NET_ADMIN) */
		int sz = bytes + 65536 > (size_t)1 << 30 ? 1 << 30 : (int)(bytes + 65536);

		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)))
			return -errno;
		b->sndbuf = sz;
	}
	if (sendmsg(fd, &mh, 0) < 0)
		return -errno;
	while (a.got < a.want && !a.refused) {
		ssize_t len = recv(fd, b->rbuf, RECV_BUF, MSG_DONTWAIT);

		if (len < 0 && errno == EAGAIN)
			return -EIO; /* answers missing (the kernel stopped early): as refused */
		if (len < 0)
			return -errno;
		if (mnl_cb_run2(b->rbuf, (size_t)len, 0, b->portid, NULL, &a, ctl, NLMSG_MIN_TYPE) < 0)
			return -errno;
	}
	return a.failed || a.refused ? -EIO : 0;
}

/* The elements of a message, parsed by libnftnl; NULL when out of memory. */
static struct nftnl_set *parse_msg(const struct nlmsghdr *h)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (s && nftnl_set_elems_nlmsg_parse(h, s) < 0) {
		nftnl_set_free(s);
		s = NULL;
	}
	return s;
}

static void listed_of(struct nftnl_set_elem *el, struct nfb_listed *e)
{
	uint32_t keylen = 0;
	const void *key = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &keylen);

	*e = (struct nfb_listed){ 0 };
	if (key && keylen <= sizeof(e->key)) {
		memcpy(e->key, key, keylen);
		e->keylen = (uint8_t)keylen;
	}
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_FLAGS))
		e->interval_end = nftnl_set_elem_get_u32(el, NFTNL_SET_ELEM_FLAGS) &
				  NFT_SET_ELEM_INTERVAL_END;
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_EXPIRATION)) {
		e->has_expiry = true;
		e->expires_in_ms = nftnl_set_elem_get_u64(el, NFTNL_SET_ELEM_EXPIRATION);
	}
}

struct each {
	int (*fn)(const struct nfb_listed *e, void *arg);
	void *arg;
	int rc;
};

static int each_cb(struct nftnl_set_elem *el, void *arg)
{
	struct each *x = arg;
	struct nfb_listed e;

	listed_of(el, &e);
	if (e.keylen && (x->rc = x->fn(&e, x->arg)))
		return -1; /* libnftnl stops on a negative value only */
	return 0;
}

/* Calls fn for each element of the set s (parsed from a message). */
static int for_each_elem(struct nftnl_set *s, int (*fn)(const struct nfb_listed *e, void *arg),
			 void *arg)
{
	struct each x = { fn, arg, 0 };

	nftnl_set_elem_foreach(s, each_cb, &x);
	return x.rc;
}

struct salvage {
	nfb_failed_fn failed;
	void *arg;
	enum nfb_op op;
	int family;
	const char *set;
};

static int salvage_cb(const struct nfb_listed *e, void *arg)
{
	struct salvage *s = arg;

	s->failed(s->op, s->family, s->set, e, s->arg);
	return 0;
}

static int count_cb(struct nftnl_set_elem *el, void *arg)
{
	(void)el;
	++*(size_t *)arg;
	return 0;
}

/* One message of ours alone, as a transaction; for its elements failed() if refused. */
static int salvage_msg(struct nfb *b, struct nlmsghdr *h, nfb_failed_fn failed, void *arg)
{
	struct nftnl_set *s = parse_msg(h);
	struct iovec iov[3] = { [1] = { h, h->nlmsg_len } };
	uint32_t seq = b->seq += 3;
	size_t elems = 0;
	int err;

	if (!s)
		return -ENOMEM;
	nftnl_set_elem_foreach(s, count_cb, &elems);
	if (!elems) { /* the flush */
		nftnl_set_free(s);
		return 0;
	}
	h->nlmsg_seq = seq;
	err = send_batch(b, iov, 3, seq, seq, h->nlmsg_len);
	if (err) {
		uint32_t fam = nftnl_set_get_u32(s, NFTNL_SET_FAMILY);
		struct salvage sv = {
			.failed = failed, .arg = arg,
			.op = (h->nlmsg_type & 0xff) == NFT_MSG_NEWSETELEM ? NFB_ADD : NFB_DEL,
			.family = fam == NFPROTO_IPV4 ? AF_INET : AF_INET6,
			.set = nftnl_set_get_str(s, NFTNL_SET_NAME),
		};

		for_each_elem(s, salvage_cb, &sv);
	}
	nftnl_set_free(s);
	return err;
}

/* The messages of the pending batch, as libnftnl's pages (NULL: out of memory). */
static struct iovec *pending_iov(struct nfb *b, size_t *n)
{
	struct iovec *iov;
	size_t k = 0;

	*n = 0;
	for (struct nfb_block *bl = b->head; bl; bl = bl->next)
		*n += (size_t)nftnl_batch_iovec_len(bl->pages);
	iov = calloc(*n + 2, sizeof(*iov));
	if (!iov)
		return NULL;
	for (struct nfb_block *bl = b->head; bl; bl = bl->next) {
		int len = nftnl_batch_iovec_len(bl->pages);

		nftnl_batch_iovec(bl->pages, iov + 1 + k, (uint32_t)len);
		k += (size_t)len;
	}
	return iov;
}

/*
 * After a refused transaction: every message alone, in order. Not a set's flush:
 * alone, it would let every banned source through until the adds after it; the
 * elements it was to remove stay until their timeouts.
 */
static int salvage(struct nfb *b, struct iovec *iov, size_t n, nfb_failed_fn failed, void *arg)
{
	int rc = 0;

	for (size_t i = 1; i <= n; i++) {
		int len = (int)iov[i].iov_len;

		for (struct nlmsghdr *h = iov[i].iov_base; mnl_nlmsg_ok(h, len);
		     h = mnl_nlmsg_next(h, &len)) {
			int err = salvage_msg(b, h, failed, arg);

			if (err)
				rc = err == -EIO || !rc ? err : rc;
		}
	}
	return rc;
}

int nfb_commit(struct nfb *b, nfb_failed_fn failed, void *arg)
{
	struct iovec *iov = NULL;
	size_t n = 0;
	uint32_t first;
	int err = b->lost;

	if (!b->head || err)
		goto out;
	iov = pending_iov(b, &n);
	if (!iov) {
		err = -ENOMEM;
		goto out;
	}
	first = b->seq + 2;
	b->seq = first;
	for (size_t i = 1; i <= n; i++) {
		int len = (int)iov[i].iov_len;

		for (struct nlmsghdr *h = iov[i].iov_base; mnl_nlmsg_ok(h, len);
		     h = mnl_nlmsg_next(h, &len))
			h->nlmsg_seq = b->seq++;
	}
	err = send_batch(b, iov, n + 2, first, b->seq - 1, b->bytes);
	b->seq += 2;
	if (err) /* refused, or too large for the kernel's memory: in small pieces */
		err = salvage(b, iov, n, failed, arg);
out:
	free(iov);
	free_blocks(b->head);
	b->head = b->tail = NULL;
	b->bytes = b->elems = b->msgs = 0;
	b->lost = 0;
	return err;
}

/* A listing's answers: the elements of each message to the caller. */
struct dump {
	uint32_t seq;
	int rc, err;
	bool done;
	int (*fn)(const struct nfb_listed *e, void *arg);
	void *arg;
};

static int dump_data_cb(const struct nlmsghdr *h, void *arg)
{
	struct dump *d = arg;
	struct nftnl_set *s;

	if (h->nlmsg_seq != d->seq || d->rc)
		return MNL_CB_OK; /* past a callback's error, read on to the end of the dump */
	s = parse_msg(h);
	if (!s)
		d->rc = -ENOMEM;
	else
		d->rc = for_each_elem(s, d->fn, d->arg);
	set_free(s);
	return MNL_CB_OK;
}

static int dump_ctl_cb(const struct nlmsghdr *h, void *arg)
{
	struct dump *d = arg;

	if (h->nlmsg_seq != d->seq)
		return MNL_CB_OK; /* a late answer to an earlier call */
	if (h->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

		if (h->nlmsg_len < mnl_nlmsg_size(sizeof(*e)) || !e->error)
			return MNL_CB_OK;
		d->err = e->error;
	}
	d->done = true;
	return MNL_CB_STOP;
}

int nfb_list(struct nfb *b, int family, const char *table, const char *set,
	     int (*fn)(const struct nfb_listed *e, void *arg), void *arg)
{
	_Alignas(8) char req[NAMES_MAX];
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = dump_ctl_cb, [NLMSG_DONE] = dump_ctl_cb };
	struct dump d = { .seq = b->seq += 2, .fn = fn, .arg = arg };
	struct nlmsghdr *h;

	if (head_len(table, set) > NAMES_MAX)
		return -ENAMETOOLONG;
	h = msg_head(req, NFT_MSG_GETSETELEM, NLM_F_DUMP, d.seq, family, table, set);
	if (!h)
		return -ENOMEM;
	if (mnl_socket_sendto(b->nl, h, h->nlmsg_len) < 0)
		return -errno;
	while (!d.done) {
		ssize_t len = mnl_socket_recvfrom(b->nl, b->rbuf, RECV_BUF);

		if (len < 0)
			return -errno;
		if (mnl_cb_run2(b->rbuf, (size_t)len, 0, b->portid, dump_data_cb, &d, ctl,
				NLMSG_MIN_TYPE) < 0)
			return -errno;
	}
	return d.err ? d.err : d.rc;
}
