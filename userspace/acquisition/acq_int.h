/* SPDX-License-Identifier: MIT */
/*
 * Inside the acquisition module: the datasource ops table, the line splitter
 * shared by every source, and the registration of fds in acq's private epoll.
 */
#ifndef CS_ACQ_INT_H
#define CS_ACQ_INT_H

#include "acquisition/acq.h"

#include <stdbool.h>
#include <stdint.h>

struct acq_src;

/*
 * A datasource. start() registers its fds (acq_watch_fd); event() is told which of
 * them is readable and only records what needs doing; work() delivers lines until
 * the budget runs out and returns 1 while more work is pending, 0 when idle, or
 * -errno (a callback's stop code included); tick() runs on the periodic timer;
 * stop() releases everything and accepts a source whose start() failed half way.
 */
struct acq_src_ops {
	const char *module;
	int (*start)(struct acq_src *s);
	void (*event)(struct acq_src *s, int fd, uint32_t events);
	int (*work)(struct acq_src *s, unsigned int *budget);
	void (*tick)(struct acq_src *s);
	void (*stop)(struct acq_src *s);
};

extern const struct acq_src_ops acq_file_ops, acq_journal_ops;

/*
 * A datasource's ops from its functions prefix_start ... prefix_stop: the list
 * of operations is written here only, and a source missing one does not build.
 */
#define ACQ_SRC_OPS(prefix, module_name)                                                       \
	const struct acq_src_ops acq_##prefix##_ops = {                                        \
		.module = module_name,                                                         \
		.start = prefix##_start,                                                       \
		.event = prefix##_event,                                                       \
		.work = prefix##_work,                                                         \
		.tick = prefix##_tick,                                                         \
		.stop = prefix##_stop,                                                         \
	}

struct acq_src {
	struct acq *acq;
	const struct acq_src_ops *ops;
	struct acq_source_cfg cfg; /* our own copy */
	const char *type;	   /* cfg labels.type */
	size_t max_line;
	bool done;    /* cat mode: the source reached its end */
	bool pending; /* work() has something to do */
	int index;    /* in acq->srcs, for epoll tags */
	void *priv;
};

/* Accumulates one line across reads; bounded by max_line. */
struct acq_linebuf {
	char *buf; /* max_line + 1 bytes once used */
	size_t len;
	bool discarding; /* a truncated line's tail: drop until "\n" */
};

void acq_linebuf_fini(struct acq_linebuf *lb);
/*
 * Split `data` into lines and deliver them. Stops when *budget reaches 0 or the
 * callback asks; *used says how much of data was consumed (a partial last line is
 * consumed into lb). `data` may be modified (the "\n" becomes a NUL). Returns 0 or
 * the callback's stop code.
 */
int acq_linebuf_feed(struct acq_src *s, struct acq_linebuf *lb, const char *src, char *data,
		     size_t n, size_t *used, unsigned int *budget);
/* Deliver a pending partial line (the file it came from has ended). */
int acq_linebuf_flush(struct acq_src *s, struct acq_linebuf *lb, const char *src,
		      unsigned int *budget);

/* Deliver one line (strips a final "\r", skips empty lines, counts). raw[len] must be writable. */
int acq_deliver(struct acq_src *s, const char *src, char *raw, size_t len, bool truncated,
		unsigned int *budget);

int acq_watch_fd(struct acq_src *s, int fd);
void acq_unwatch_fd(struct acq_src *s, int fd);
struct acq_stats *acq_stats_of(struct acq_src *s);
/* Ask for a faster timer (poll_without_inotify files). */
void acq_want_fast_tick(struct acq_src *s);

int acq_source_cfg_copy(struct acq_source_cfg *dst, const struct acq_source_cfg *src);
void acq_source_cfg_fini(struct acq_source_cfg *sc);

#endif /* CS_ACQ_INT_H */
