/* SPDX-License-Identifier: MIT */
/*
 * nftables set elements over nfnetlink, without libnftables: libnftables parses
 * text into an object per element (~500 bytes each, and most of the CPU of a 1M
 * load), where a set element on the wire is 28 bytes (IPv4 with a timeout).
 * libnftnl builds and parses the messages (an element object lives only until its
 * message is written), libmnl carries them.
 *
 * A stream collects elements of one operation (add or delete) on one set into
 * messages that the kernel accepts (the element list is one netlink attribute, whose
 * length is 16 bits: NFB_MSG_MAX bytes a message). Streams are appended to the
 * pending batch in the order their operations must apply; nfb_commit() sends the
 * batch as ONE transaction (one sendmsg between BATCH_BEGIN and BATCH_END: all of it
 * or none of it). Only the tables and sets' names come from the configuration; the
 * keys are bytes the caller validated.
 */
#ifndef CS_BOUNCER_NFT_BATCH_H
#define CS_BOUNCER_NFT_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A message at most; the element list attribute inside stays below 64 KiB. */
#define NFB_MSG_MAX 60000

struct nfb_block;
struct nlmsghdr;
struct nlattr;

enum nfb_op { NFB_ADD, NFB_DEL };

struct nfb_stream {
	struct nfb_block *block; /* its messages */
	struct nlmsghdr *msg;	 /* the one being filled, in block; NULL: none */
	struct nlattr *list;	 /* its element list */
	size_t bytes;		 /* of all its elements, encoded */
	size_t elems;
	int family; /* AF_INET, AF_INET6 */
	enum nfb_op op;
	const char *table, *set; /* the caller's, live as long as the stream */
};

struct nfb_elem {
	const uint8_t *key; /* network order, 4 or 16 bytes */
	uint64_t timeout_ms; /* 0: none */
	bool interval_end;   /* the (exclusive) end of a range in an interval set */
	bool open;	     /* a range start with no end (it runs to the last address) */
};

/* An element of a set as the kernel lists it. */
struct nfb_listed {
	uint8_t key[16];
	uint8_t keylen;
	bool interval_end;
	bool has_expiry;
	uint64_t expires_in_ms; /* with has_expiry */
};

struct nfb;

void nfb_stream_init(struct nfb_stream *s, int family, const char *table, const char *set,
		     enum nfb_op op);
int nfb_stream_add(struct nfb_stream *s, const struct nfb_elem *e);
/* Drops what a stream holds (on error paths). */
void nfb_stream_reset(struct nfb_stream *s);

/* A netlink socket to nftables in the caller's network namespace. */
int nfb_open(struct nfb **out);
void nfb_free(struct nfb *b);

/* Moves the stream's messages to the end of the pending batch; the stream is empty
 * after. Out of memory, the next nfb_commit() sends nothing and returns -ENOMEM. */
void nfb_take(struct nfb *b, struct nfb_stream *s);
/* Puts "flush set" (every element out) at the head of the pending batch: with
 * the adds after it, one transaction replaces the set's content, which packets
 * see whole before or whole after. 0 or -ENOMEM. */
int nfb_flush_first(struct nfb *b, int family, const char *table, const char *set);
size_t nfb_pending_bytes(const struct nfb *b);
size_t nfb_pending_elems(const struct nfb *b);

/*
 * Sends the pending batch as one transaction and empties it. If the transaction
 * fails, each message is sent again as a transaction of its own (so a bad element
 * costs only its message; a flush is left out); for each element of a message that
 * still fails, failed() is called (op, family, set name, element). Returns 0, or
 * -EIO (or the socket's -errno) if any message failed.
 */
typedef void (*nfb_failed_fn)(enum nfb_op op, int family, const char *set,
			      const struct nfb_listed *e, void *arg);
int nfb_commit(struct nfb *b, nfb_failed_fn failed, void *arg);

/* Every element of a set, to fn (which returns 0 to go on). -ENOENT: no such set. */
int nfb_list(struct nfb *b, int family, const char *table, const char *set,
	     int (*fn)(const struct nfb_listed *e, void *arg), void *arg);

#endif /* CS_BOUNCER_NFT_BATCH_H */
