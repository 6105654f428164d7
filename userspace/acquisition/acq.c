// SPDX-License-Identifier: MIT
/*
 * The acquisition core: a private epoll fd that the daemon polls as one fd, the
 * timer, the "work pending" eventfd, the round-robin over sources, and the line
 * splitter every source shares.
 *
 * Why an eventfd: regular files are always "readable" for poll and cannot be put
 * in epoll at all, so unread file data is invisible to the daemon's loop. Whenever
 * a round ends with work left (budget exhausted, replay not finished), the eventfd
 * is left signalled so acq_fd() stays readable until the work is done.
 */
#include "acquisition/acq.h"
#include "acquisition/acq_int.h"
#include "common/log.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define TICK_SLOW_NS 1000000000LL /* safety net: re-stat followed files */
#define TICK_FAST_NS 250000000LL  /* poll_without_inotify, like nxadm/tail's poll */

/* epoll tags: the high half is the source index + 1, 0 for our own fds */
#define TAG(idx, fd) (((uint64_t)(uint32_t)((idx) + 1) << 32) | (uint32_t)(fd))

struct acq {
	int epfd, kickfd, timerfd;
	bool kicked, fast_tick;
	struct acq_src *srcs;
	size_t nsrcs, rr;
	acq_line_fn fn;
	void *arg;
	struct acq_stats st;
	/* CLOCK_REALTIME as the current acq_process() round began: the read time of
	 * its lines (one clock read a round, not one a line) */
	struct timespec round_time;
};

struct acq_stats *acq_stats_of(struct acq_src *s)
{
	return &s->acq->st;
}

int acq_watch_fd(struct acq_src *s, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG(s->index, fd) };

	return epoll_ctl(s->acq->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

void acq_unwatch_fd(struct acq_src *s, int fd)
{
	epoll_ctl(s->acq->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static int set_timer(struct acq *a, long long ns)
{
	struct itimerspec its = {
		.it_interval = { ns / 1000000000LL, ns % 1000000000LL },
		.it_value = { ns / 1000000000LL, ns % 1000000000LL },
	};

	return timerfd_settime(a->timerfd, 0, &its, NULL) ? -errno : 0;
}

void acq_want_fast_tick(struct acq_src *s)
{
	if (!s->acq->fast_tick) {
		s->acq->fast_tick = true;
		set_timer(s->acq, TICK_FAST_NS);
	}
}

static void kick(struct acq *a, bool on)
{
	uint64_t v = 1;

	if (on == a->kicked)
		return;
	if (on) {
		if (write(a->kickfd, &v, sizeof(v)) == sizeof(v))
			a->kicked = true;
	} else {
		if (read(a->kickfd, &v, sizeof(v)) == sizeof(v) || errno == EAGAIN)
			a->kicked = false;
	}
}

/* ---- delivering lines ---------------------------------------------------- */

int acq_deliver(struct acq_src *s, const char *src, char *raw, size_t len, bool truncated,
		unsigned int *budget)
{
	struct acq *a = s->acq;
	const char *nul = memchr(raw, '\0', len);
	struct acq_line l;
	int rc;

	/*
	 * No log writer puts a NUL in a line: what follows one is an attacker's
	 * (a whole fake line that an unanchored grok would match, banning the
	 * address in it). Upstream keeps it; we drop it, counted.
	 */
	if (nul) {
		len = (size_t)(nul - raw);
		a->st.nul_cut++;
	}
	if (len && raw[len - 1] == '\r' && !truncated) /* bufio.ScanLines drops it */
		len--;
	raw[len] = 0;
	if (!len) { /* upstream skips empty lines before they become events */
		a->st.empty++;
		return 0;
	}
	l = (struct acq_line){
		.raw = raw,
		.len = len,
		.src = src,
		.module = s->ops->module,
		.labels = s->cfg.labels,
		.nlabels = s->cfg.nlabels,
		.type = s->type,
		.timemachine = s->cfg.mode == ACQ_MODE_CAT || s->cfg.use_time_machine,
		.truncated = truncated,
		.cfg = &s->cfg,
	};
	l.time = a->round_time;
	if (!l.time.tv_sec)
		clock_gettime(CLOCK_REALTIME, &l.time);
	a->st.lines++;
	if (truncated)
		a->st.truncated++;
	if (*budget)
		(*budget)--;
	rc = a->fn(&l, a->arg);
	return rc > 0 ? -ECANCELED : rc;
}

void acq_linebuf_fini(struct acq_linebuf *lb)
{
	free(lb->buf);
	memset(lb, 0, sizeof(*lb));
}

static int lb_append(struct acq_src *s, struct acq_linebuf *lb, const char *p, size_t n)
{
	if (!lb->buf && !(lb->buf = malloc(s->max_line + 1)))
		return -ENOMEM;
	memcpy(lb->buf + lb->len, p, n);
	lb->len += n;
	return 0;
}

int acq_linebuf_feed(struct acq_src *s, struct acq_linebuf *lb, const char *src, char *data,
		     size_t n, size_t *used, unsigned int *budget)
{
	size_t pos = 0;
	int rc = 0;

	while (pos < n && *budget) {
		char *nl = memchr(data + pos, '\n', n - pos);
		size_t seg = nl ? (size_t)(nl - (data + pos)) : n - pos;

		if (lb->discarding) { /* the tail of a line we already cut */
			pos += seg + (nl ? 1 : 0);
			if (nl)
				lb->discarding = false;
			continue;
		}
		if (lb->len + seg > s->max_line) {
			size_t take = s->max_line - lb->len;

			if ((rc = lb_append(s, lb, data + pos, take)))
				break;
			pos += seg + (nl ? 1 : 0);
			lb->discarding = !nl;
			lb->len = 0;
			log_warn("%s: line longer than %zu bytes, truncated", src, s->max_line);
			rc = acq_deliver(s, src, lb->buf, s->max_line, true, budget);
			if (rc)
				break;
			continue;
		}
		if (!nl) { /* partial line: keep it until its "\n" arrives */
			if ((rc = lb_append(s, lb, data + pos, seg)))
				break;
			pos = n;
			break;
		}
		pos += seg + 1;
		if (lb->len) {
			size_t len;

			if ((rc = lb_append(s, lb, nl - seg, seg)))
				break;
			len = lb->len;
			lb->len = 0;
			rc = acq_deliver(s, src, lb->buf, len, false, budget);
		} else {
			rc = acq_deliver(s, src, nl - seg, seg, false, budget);
		}
		if (rc)
			break;
	}
	*used = pos;
	return rc;
}

int acq_linebuf_flush(struct acq_src *s, struct acq_linebuf *lb, const char *src,
		      unsigned int *budget)
{
	size_t len = lb->len;

	lb->discarding = false;
	if (!len)
		return 0;
	lb->len = 0;
	return acq_deliver(s, src, lb->buf, len, false, budget);
}

/* ---- lifecycle ----------------------------------------------------------- */

static const struct acq_src_ops *ops_for(const char *source)
{
	if (!strcmp(source, "file"))
		return &acq_file_ops;
	if (!strcmp(source, "journalctl"))
		return &acq_journal_ops;
	return NULL;
}

void acq_set_callback(struct acq *a, acq_line_fn fn, void *arg)
{
	a->fn = fn;
	a->arg = arg;
}

void acq_free(struct acq *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nsrcs; i++) {
		a->srcs[i].ops->stop(&a->srcs[i]);
		acq_source_cfg_fini(&a->srcs[i].cfg);
	}
	free(a->srcs);
	if (a->epfd >= 0)
		close(a->epfd);
	if (a->kickfd >= 0)
		close(a->kickfd);
	if (a->timerfd >= 0)
		close(a->timerfd);
	free(a);
}

int acq_new(const struct acq_config *cfg, acq_line_fn fn, void *arg, struct acq **out)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct acq *a;
	int err;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->epfd = a->kickfd = a->timerfd = -1;
	a->fn = fn;
	a->arg = arg;
	a->srcs = calloc(cfg->nsrcs ? cfg->nsrcs : 1, sizeof(*a->srcs));
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	a->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	a->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (!a->srcs) {
		err = -ENOMEM;
		goto fail;
	}
	if (a->epfd < 0 || a->kickfd < 0 || a->timerfd < 0) {
		err = -errno;
		goto fail;
	}
	ev.data.u64 = TAG(-1, a->kickfd);
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->kickfd, &ev)) {
		err = -errno;
		goto fail;
	}
	ev.data.u64 = TAG(-1, a->timerfd);
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->timerfd, &ev)) {
		err = -errno;
		goto fail;
	}

	for (size_t i = 0; i < cfg->nsrcs; i++) {
		const struct acq_source_cfg *sc = &cfg->srcs[i];
		struct acq_src *s = &a->srcs[a->nsrcs];

		if (sc->unsupported || !ops_for(sc->source)) {
			log_warn("%s:%d: datasource '%s' not supported, skipped", sc->file,
				 sc->line, sc->source);
			continue;
		}
		s->acq = a;
		s->ops = ops_for(sc->source);
		s->index = (int)a->nsrcs;
		err = acq_source_cfg_copy(&s->cfg, sc);
		if (err)
			goto fail;
		a->nsrcs++; /* from here acq_free() stops it */
		s->type = acq_label_get(s->cfg.labels, s->cfg.nlabels, "type");
		s->max_line = sc->max_line ? sc->max_line : ACQ_MAX_LINE_DEFAULT;
		err = s->ops->start(s);
		if (err)
			goto fail;
	}
	err = set_timer(a, a->fast_tick ? TICK_FAST_NS : TICK_SLOW_NS);
	if (err)
		goto fail;
	kick(a, true); /* first round: replay sources have work right away */
	*out = a;
	return 0;
fail:
	acq_free(a);
	return err;
}

int acq_fd(const struct acq *a)
{
	return a->epfd;
}

bool acq_done(const struct acq *a)
{
	for (size_t i = 0; i < a->nsrcs; i++)
		if (!a->srcs[i].done)
			return false;
	return true;
}

void acq_get_stats(const struct acq *a, struct acq_stats *st)
{
	*st = a->st;
}

int acq_process(struct acq *a, unsigned int budget)
{
	struct epoll_event evs[32];
	unsigned int left = budget ? budget : UINT_MAX;
	bool more = false;
	int n, rc = 0;

	/* 1. Collect readiness; sources only take notes here. */
	do {
		n = epoll_wait(a->epfd, evs, 32, 0);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			uint32_t idx = (uint32_t)(evs[i].data.u64 >> 32);
			int fd = (int)(uint32_t)evs[i].data.u64;

			if (idx == 0 && fd == a->timerfd) {
				uint64_t exp;

				if (read(a->timerfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
					log_debug("timerfd: %s", strerror(errno));
				for (size_t j = 0; j < a->nsrcs; j++)
					if (a->srcs[j].ops->tick && !a->srcs[j].done)
						a->srcs[j].ops->tick(&a->srcs[j]);
			} else if (idx == 0) {
				kick(a, false);
			} else if (idx - 1 < a->nsrcs) {
				struct acq_src *s = &a->srcs[idx - 1];

				s->ops->event(s, fd, evs[i].events);
			}
		}
	} while (n == 32);

	/* 2. Work, round-robin so one busy file cannot starve the others. */
	clock_gettime(CLOCK_REALTIME, &a->round_time);
	for (size_t k = 0; k < a->nsrcs; k++) {
		struct acq_src *s = &a->srcs[(a->rr + k) % a->nsrcs];
		int r;

		if (s->done || !s->pending)
			continue;
		if (!left) {
			more = true;
			break;
		}
		r = s->ops->work(s, &left);
		if (r < 0) {
			rc = r;
			more = true; /* the rest is still there */
			a->rr = (a->rr + k) % a->nsrcs;
			break;
		}
		s->pending = r > 0;
		more |= s->pending;
	}
	if (a->nsrcs && !rc)
		a->rr = (a->rr + 1) % a->nsrcs;
	kick(a, more);
	if (rc)
		return rc;
	return (int)((budget ? budget : UINT_MAX) - left);
}

int acq_run(struct acq *a, int timeout_ms)
{
	struct timespec start, now;
	struct pollfd pfd = { .fd = a->epfd, .events = POLLIN };

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!acq_done(a)) {
		int wait = -1, r;

		if (timeout_ms >= 0) {
			long long el;

			clock_gettime(CLOCK_MONOTONIC, &now);
			el = (now.tv_sec - start.tv_sec) * 1000LL +
			     (now.tv_nsec - start.tv_nsec) / 1000000;
			if (el >= timeout_ms)
				return -ETIMEDOUT;
			wait = (int)(timeout_ms - el);
		}
		r = poll(&pfd, 1, wait);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0 && (r = acq_process(a, 4096)) < 0)
			return r;
	}
	return 0;
}
