// SPDX-License-Identifier: MIT
#include "bouncer/nft_batch.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "common/log.h"

/* Messages live in blocks that never move (the batch is sent from them with one
 * iovec entry each): the first of a stream is small, so a pull of a few changes
 * costs little; later ones hold ~17 messages. */
#define BLOCK_FIRST (NFB_MSG_MAX + 512)
#define BLOCK_BIG (1U << 20)
/* An element: list item, key nest, key, timeout, flags, user data (the longest). */
#define ELEM_MAX (4 + 4 + 4 + 16 + 12 + 8 + 12)
#define RECV_BUF (64 * 1024)
/* How long the kernel may take over one transaction or one listing before we give up. */
#define NL_TIMEOUT_S 60

struct nfb_block {
	struct nfb_block *next;
	size_t len, cap;
	size_t msgs;
	_Alignas(8) uint8_t data[];
};

struct nfb {
	int fd;
	uint32_t seq;
	struct nfb_block *head, *tail;
	size_t bytes, elems, msgs;
	int sndbuf;
	uint8_t *rbuf;
};

static void *at(struct nfb_block *bl, size_t off)
{
	return bl->data + off;
}

static void put_attr(struct nfb_block *bl, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = at(bl, bl->len);

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
	memset((uint8_t *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	bl->len += NLA_HDRLEN + NLA_ALIGN(len);
}

static size_t nest_start(struct nfb_block *bl, uint16_t type)
{
	struct nlattr *a = at(bl, bl->len);
	size_t off = bl->len;

	a->nla_type = type | NLA_F_NESTED;
	bl->len += NLA_HDRLEN;
	return off;
}

static void nest_end(struct nfb_block *bl, size_t off)
{
	struct nlattr *a = at(bl, off);

	a->nla_len = (uint16_t)(bl->len - off);
}

void nfb_stream_init(struct nfb_stream *s, int family, const char *table, const char *set,
		     enum nfb_op op)
{
	*s = (struct nfb_stream){ .msg_off = SIZE_MAX, .family = family, .op = op, .table = table,
				  .set = set };
}

static void free_blocks(struct nfb_block *bl)
{
	while (bl) {
		struct nfb_block *next = bl->next;

		free(bl);
		bl = next;
	}
}

void nfb_stream_reset(struct nfb_stream *s)
{
	free_blocks(s->head);
	nfb_stream_init(s, s->family, s->table, s->set, s->op);
}

static void end_msg(struct nfb_stream *s)
{
	struct nlmsghdr *h;

	if (s->msg_off == SIZE_MAX)
		return;
	nest_end(s->tail, s->list_off);
	h = at(s->tail, s->msg_off);
	h->nlmsg_len = (uint32_t)(s->tail->len - s->msg_off);
	s->bytes += h->nlmsg_len;
	s->tail->msgs++;
	s->msg_off = SIZE_MAX;
}

static int begin_msg(struct nfb_stream *s)
{
	struct nfb_block *bl = s->tail;
	struct nlmsghdr *h;
	struct nfgenmsg *g;

	if (!bl || bl->cap - bl->len < NFB_MSG_MAX) {
		size_t cap = s->head ? BLOCK_BIG : BLOCK_FIRST;

		bl = malloc(sizeof(*bl) + cap);
		if (!bl)
			return -ENOMEM;
		*bl = (struct nfb_block){ .cap = cap };
		if (s->tail)
			s->tail->next = bl;
		else
			s->head = bl;
		s->tail = bl;
	}
	s->msg_off = bl->len;
	h = at(bl, bl->len);
	*h = (struct nlmsghdr){
		.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) |
			      (s->op == NFB_ADD ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM),
		.nlmsg_flags = NLM_F_REQUEST | (s->op == NFB_ADD ? NLM_F_CREATE : 0),
	};
	bl->len += NLMSG_HDRLEN;
	g = at(bl, bl->len);
	*g = (struct nfgenmsg){ .nfgen_family = s->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6,
				.version = NFNETLINK_V0 };
	bl->len += NLMSG_ALIGN(sizeof(*g));
	put_attr(bl, NFTA_SET_ELEM_LIST_TABLE, s->table, strlen(s->table) + 1);
	put_attr(bl, NFTA_SET_ELEM_LIST_SET, s->set, strlen(s->set) + 1);
	s->list_off = nest_start(bl, NFTA_SET_ELEM_LIST_ELEMENTS);
	return 0;
}

int nfb_stream_add(struct nfb_stream *s, const struct nfb_elem *e)
{
	size_t keylen = s->family == AF_INET ? 4 : 16, item, key;
	struct nfb_block *bl;
	int err;

	if (s->msg_off != SIZE_MAX && s->tail->len - s->msg_off + ELEM_MAX > NFB_MSG_MAX)
		end_msg(s);
	if (s->msg_off == SIZE_MAX && (err = begin_msg(s)))
		return err;
	bl = s->tail;
	item = nest_start(bl, NFTA_LIST_ELEM);
	key = nest_start(bl, NFTA_SET_ELEM_KEY);
	put_attr(bl, NFTA_DATA_VALUE, e->key, keylen);
	nest_end(bl, key);
	if (e->timeout_ms) {
		uint64_t be = htobe64(e->timeout_ms);

		put_attr(bl, NFTA_SET_ELEM_TIMEOUT, &be, sizeof(be));
	}
	if (e->interval_end) {
		uint32_t be = htobe32(NFT_SET_ELEM_INTERVAL_END);

		put_attr(bl, NFTA_SET_ELEM_FLAGS, &be, sizeof(be));
	}
	if (e->open) {
		/* how nft marks a range that runs to the end, so that it lists it as a
		 * prefix: libnftnl's user data item "element flags" = "interval open" */
		const uint8_t udata[6] = { 1, 4, 1, 0, 0, 0 };

		put_attr(bl, NFTA_SET_ELEM_USERDATA, udata, sizeof(udata));
	}
	nest_end(bl, item);
	s->elems++;
	return 0;
}

int nfb_open(struct nfb **out)
{
	struct nfb *b = calloc(1, sizeof(*b));
	struct timeval tv = { .tv_sec = NL_TIMEOUT_S };
	int err;

	if (!b)
		return -ENOMEM;
	b->rbuf = malloc(RECV_BUF);
	b->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (!b->rbuf || b->fd < 0) {
		err = b->rbuf ? -errno : -ENOMEM;
		if (b->fd >= 0)
			close(b->fd);
		free(b->rbuf);
		free(b);
		return err;
	}
	/* acknowledgements without the request copied in: a failed 60 kB message
	 * answers 36 bytes; room for an answer to every message of a large batch */
	setsockopt(b->fd, SOL_NETLINK, NETLINK_CAP_ACK, &(int){ 1 }, sizeof(int));
	setsockopt(b->fd, SOL_NETLINK, NETLINK_EXT_ACK, &(int){ 1 }, sizeof(int));
	if (setsockopt(b->fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ 8 << 20 }, sizeof(int)))
		setsockopt(b->fd, SOL_SOCKET, SO_RCVBUF, &(int){ 8 << 20 }, sizeof(int));
	setsockopt(b->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	b->seq = (uint32_t)time(NULL);
	*out = b;
	return 0;
}

void nfb_free(struct nfb *b)
{
	if (!b)
		return;
	free_blocks(b->head);
	close(b->fd);
	free(b->rbuf);
	free(b);
}

void nfb_take(struct nfb *b, struct nfb_stream *s)
{
	end_msg(s);
	if (!s->head)
		return;
	if (b->tail)
		b->tail->next = s->head;
	else
		b->head = s->head;
	b->tail = s->tail;
	b->bytes += s->bytes;
	b->elems += s->elems;
	for (struct nfb_block *bl = s->head; bl; bl = bl->next)
		b->msgs += bl->msgs;
	nfb_stream_init(s, s->family, s->table, s->set, s->op);
}

int nfb_flush_first(struct nfb *b, int family, const char *table, const char *set)
{
	struct nfb_stream s;
	struct nlmsghdr *h;
	int err;

	nfb_stream_init(&s, family, table, set, NFB_DEL);
	err = begin_msg(&s);
	if (err)
		return err;
	/* a DELSETELEM without an element list flushes the set: drop the empty list */
	s.tail->len = s.list_off;
	h = at(s.tail, s.msg_off);
	h->nlmsg_len = (uint32_t)(s.tail->len - s.msg_off);
	s.tail->msgs++;
	s.tail->next = b->head;
	b->head = s.head;
	if (!b->tail)
		b->tail = s.tail;
	b->bytes += h->nlmsg_len;
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

static void batch_msg(struct nlmsghdr *h, struct nfgenmsg *g, uint16_t type, uint32_t seq)
{
	*h = (struct nlmsghdr){ .nlmsg_len = NLMSG_LENGTH(sizeof(*g)), .nlmsg_type = type,
				.nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = seq };
	*g = (struct nfgenmsg){ .nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0,
				.res_id = htobe16(NFNL_SUBSYS_NFTABLES) };
}

/*
 * Sends iov[1..n-2] between a BATCH_BEGIN (iov[0]) and a BATCH_END (iov[n-1]) and
 * reads the answers: every message asks for an acknowledgement, and the kernel
 * handles a batch within sendmsg(), so they are all queued when it returns (one
 * error for the whole batch when its commit fails): nothing waits. 0, -EIO
 * (refused, or answers missing) or -errno.
 */
static int send_batch(struct nfb *b, struct iovec *iov, size_t n, uint32_t first, uint32_t last,
		      size_t bytes)
{
	struct { struct nlmsghdr h; struct nfgenmsg g; } begin, end;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	size_t want = last - first + 1, got = 0;
	int failed = 0;

	batch_msg(&begin.h, &begin.g, NFNL_MSG_BATCH_BEGIN, first - 1);
	batch_msg(&end.h, &end.g, NFNL_MSG_BATCH_END, last + 1);
	iov[0] = (struct iovec){ &begin, sizeof(begin) };
	iov[n - 1] = (struct iovec){ &end, sizeof(end) };
	bytes += 2 * sizeof(begin);
	if (bytes + 4096 > (size_t)b->sndbuf) {
		/* the whole batch is one datagram: the send buffer must hold it (FORCE:
		 * past wmem_max, as nft does; we hold CAP_NET_ADMIN) */
		int sz = bytes + 65536 > (size_t)1 << 30 ? 1 << 30 : (int)(bytes + 65536);

		if (setsockopt(b->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) &&
		    setsockopt(b->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)))
			return -errno;
		b->sndbuf = sz;
	}
	mh.msg_name = &kernel;
	mh.msg_namelen = sizeof(kernel);
	if (sendmsg(b->fd, &mh, 0) < 0)
		return -errno;
	while (got < want) {
		ssize_t len = recv(b->fd, b->rbuf, RECV_BUF, MSG_DONTWAIT);

		if (len < 0 && errno == EAGAIN)
			return -EIO; /* answers missing (the kernel stopped early): as refused */
		if (len < 0)
			return -errno;
		for (struct nlmsghdr *h = (void *)b->rbuf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_seq == first - 1) { /* the batch as a whole */
				if (!failed)
					log_debug("nftables: transaction refused: %s", strerror(-e->error));
				return -EIO;
			}
			if (h->nlmsg_seq < first || h->nlmsg_seq > last)
				continue; /* a late answer to an earlier call */
			got++;
			if (e->error) {
				if (!failed)
					log_debug("nftables: message %u of %zu refused: %s",
						  h->nlmsg_seq - first + 1, want, strerror(-e->error));
				failed = 1;
			}
		}
	}
	return failed ? -EIO : 0;
}

/* Calls fn for each element of a NEWSETELEM or DELSETELEM message. */
static int parse_elems(const struct nlmsghdr *h, int (*fn)(const struct nfb_listed *e, void *arg),
		       void *arg)
{
	const uint8_t *p = (const uint8_t *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	const uint8_t *endp = (const uint8_t *)h + h->nlmsg_len;
	int err;

	for (const struct nlattr *a = (const void *)p;
	     (const uint8_t *)a + NLA_HDRLEN <= endp && a->nla_len >= NLA_HDRLEN &&
	     (const uint8_t *)a + a->nla_len <= endp;
	     a = (const void *)((const uint8_t *)a + NLA_ALIGN(a->nla_len))) {
		const uint8_t *lend = (const uint8_t *)a + a->nla_len;

		if ((a->nla_type & NLA_TYPE_MASK) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		for (const struct nlattr *it = (const void *)((const uint8_t *)a + NLA_HDRLEN);
		     (const uint8_t *)it + NLA_HDRLEN <= lend && it->nla_len >= NLA_HDRLEN &&
		     (const uint8_t *)it + it->nla_len <= lend;
		     it = (const void *)((const uint8_t *)it + NLA_ALIGN(it->nla_len))) {
			const uint8_t *iend = (const uint8_t *)it + it->nla_len;
			struct nfb_listed e = { 0 };

			for (const struct nlattr *f = (const void *)((const uint8_t *)it + NLA_HDRLEN);
			     (const uint8_t *)f + NLA_HDRLEN <= iend && f->nla_len >= NLA_HDRLEN &&
			     (const uint8_t *)f + f->nla_len <= iend;
			     f = (const void *)((const uint8_t *)f + NLA_ALIGN(f->nla_len))) {
				const uint8_t *v = (const uint8_t *)f + NLA_HDRLEN;
				size_t vlen = f->nla_len - NLA_HDRLEN;
				uint64_t u64;
				uint32_t u32;

				switch (f->nla_type & NLA_TYPE_MASK) {
				case NFTA_SET_ELEM_KEY: {
					const struct nlattr *k = (const void *)v;

					if (vlen >= NLA_HDRLEN && k->nla_len >= NLA_HDRLEN &&
					    k->nla_len <= vlen && k->nla_len - NLA_HDRLEN <= 16) {
						e.keylen = (uint8_t)(k->nla_len - NLA_HDRLEN);
						memcpy(e.key, v + NLA_HDRLEN, e.keylen);
					}
					break;
				}
				case NFTA_SET_ELEM_FLAGS:
					if (vlen == 4) {
						memcpy(&u32, v, 4);
						e.interval_end = be32toh(u32) & NFT_SET_ELEM_INTERVAL_END;
					}
					break;
				case NFTA_SET_ELEM_EXPIRATION:
					if (vlen == 8) {
						memcpy(&u64, v, 8);
						e.has_expiry = true;
						e.expires_in_ms = be64toh(u64);
					}
					break;
				}
			}
			if (e.keylen && (err = fn(&e, arg)))
				return err;
		}
	}
	return 0;
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

static int count_cb(const struct nfb_listed *e, void *arg)
{
	(void)e;
	++*(size_t *)arg;
	return 0;
}

/* The set name a message of ours carries (its second attribute). */
static const char *msg_set(const struct nlmsghdr *h)
{
	const uint8_t *p = (const uint8_t *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	const struct nlattr *t = (const void *)p;
	const struct nlattr *s = (const void *)(p + NLA_ALIGN(t->nla_len));

	return (const char *)s + NLA_HDRLEN;
}

/*
 * After a refused transaction: every message alone, in order. Not a set's flush:
 * alone, it would let every banned source through until the adds after it; the
 * elements it was to remove stay until their timeouts.
 */
static int salvage(struct nfb *b, nfb_failed_fn failed, void *arg)
{
	int rc = 0;

	for (struct nfb_block *bl = b->head; bl; bl = bl->next) {
		for (size_t off = 0; off < bl->len;) {
			struct nlmsghdr *h = at(bl, off);
			struct iovec iov[3] = { [1] = { h, h->nlmsg_len } };
			uint32_t seq = b->seq += 3;
			size_t elems = 0;
			int err = 0;

			parse_elems(h, count_cb, &elems);
			off += NLMSG_ALIGN(h->nlmsg_len);
			if (!elems)
				continue;
			h->nlmsg_seq = seq;
			err = send_batch(b, iov, 3, seq, seq, h->nlmsg_len);
			if (err) {
				struct nfgenmsg *g = NLMSG_DATA(h);
				struct salvage s = {
					.failed = failed, .arg = arg,
					.op = (h->nlmsg_type & 0xff) == NFT_MSG_NEWSETELEM ? NFB_ADD : NFB_DEL,
					.family = g->nfgen_family == NFPROTO_IPV4 ? AF_INET : AF_INET6,
					.set = msg_set(h),
				};

				parse_elems(h, salvage_cb, &s);
			}
			if (err)
				rc = err == -EIO || !rc ? err : rc;
		}
	}
	return rc;
}

int nfb_commit(struct nfb *b, nfb_failed_fn failed, void *arg)
{
	struct iovec *iov;
	size_t n = 0, nblocks = 0;
	uint32_t first;
	int err;

	if (!b->head)
		return 0;
	for (struct nfb_block *bl = b->head; bl; bl = bl->next)
		nblocks++;
	iov = calloc(nblocks + 2, sizeof(*iov));
	if (!iov) {
		err = -ENOMEM;
		goto out;
	}
	first = b->seq + 2;
	b->seq = first;
	for (struct nfb_block *bl = b->head; bl; bl = bl->next) {
		for (size_t off = 0; off < bl->len;) {
			struct nlmsghdr *h = at(bl, off);

			h->nlmsg_seq = b->seq++;
			h->nlmsg_flags |= NLM_F_ACK;
			off += NLMSG_ALIGN(h->nlmsg_len);
		}
		iov[++n] = (struct iovec){ bl->data, bl->len };
	}
	err = send_batch(b, iov, n + 2, first, b->seq - 1, b->bytes);
	b->seq += 2;
	if (err) /* refused, or too large for the kernel's memory: in small pieces */
		err = salvage(b, failed, arg);
	free(iov);
out:
	free_blocks(b->head);
	b->head = b->tail = NULL;
	b->bytes = b->elems = b->msgs = 0;
	return err;
}

int nfb_list(struct nfb *b, int family, const char *table, const char *set,
	     int (*fn)(const struct nfb_listed *e, void *arg), void *arg)
{
	struct {
		struct nlmsghdr h;
		struct nfgenmsg g;
		uint8_t attrs[2 * (NLA_HDRLEN + 256)];
	} req;
	size_t tl = strlen(table) + 1, sl = strlen(set) + 1, alen;
	uint32_t seq = b->seq += 2;
	int rc = 0;

	if (tl > 256 || sl > 256)
		return -ENAMETOOLONG;
	memset(&req, 0, sizeof(req));
	{
		uint8_t *p = req.attrs;
		struct nlattr *a = (void *)p;

		a->nla_type = NFTA_SET_ELEM_LIST_TABLE;
		a->nla_len = (uint16_t)(NLA_HDRLEN + tl);
		memcpy(p + NLA_HDRLEN, table, tl);
		p += NLA_ALIGN(a->nla_len);
		a = (void *)p;
		a->nla_type = NFTA_SET_ELEM_LIST_SET;
		a->nla_len = (uint16_t)(NLA_HDRLEN + sl);
		memcpy(p + NLA_HDRLEN, set, sl);
		p += NLA_ALIGN(a->nla_len);
		alen = (size_t)(p - req.attrs);
	}
	req.h = (struct nlmsghdr){ .nlmsg_len = (uint32_t)(NLMSG_LENGTH(sizeof(req.g)) + alen),
				   .nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM,
				   .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ACK,
				   .nlmsg_seq = seq };
	req.g = (struct nfgenmsg){ .nfgen_family = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6,
				   .version = NFNETLINK_V0 };
	if (send(b->fd, &req, req.h.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t len = recv(b->fd, b->rbuf, RECV_BUF, 0);

		if (len < 0)
			return -errno;
		for (struct nlmsghdr *h = (void *)b->rbuf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return rc;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				if (e->error)
					return e->error;
				continue;
			}
			/* past a callback's error, read on to the end of the dump */
			if (!rc)
				rc = parse_elems(h, fn, arg);
		}
	}
}
