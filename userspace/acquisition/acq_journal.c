// SPDX-License-Identifier: MIT
/*
 * The journalctl datasource, done the way upstream does it: run
 * `journalctl --follow -n 0 FILTERS...` (tail) or `journalctl [--since X] FILTERS...`
 * (cat) and read its stdout line by line. No libsystemd: the journal's own tool
 * already handles rotation, vacuuming and the file format. In tail mode a
 * journalctl that exits is restarted after 10 s (upstream's constant backoff);
 * in cat mode its exit is the end of the source. Its stderr is logged.
 */
#include "acquisition/acq.h"
#include "acquisition/acq_int.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define JBUF_SIZE (64 * 1024)
#define RESTART_NS 10000000000LL

extern char **environ;

struct jsrc {
	pid_t pid;
	int out, err; /* read ends, -1 when closed */
	char *src;    /* "journalctl-" + filters joined by "." */
	char *buf;    /* read from stdout, not yet split */
	size_t pos, len;
	bool out_eof;
	struct acq_linebuf lb;
	struct acq_linebuf errlb;
	long long restart_at;
};

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void close_fd(struct acq_src *s, int *fd)
{
	if (*fd < 0)
		return;
	acq_unwatch_fd(s, *fd);
	close(*fd);
	*fd = -1;
}

static void reap(struct acq_src *s, bool kill_it)
{
	struct jsrc *j = s->priv;
	int status;

	if (j->pid <= 0)
		return;
	if (kill_it)
		kill(j->pid, SIGTERM);
	if (waitpid(j->pid, &status, 0) == j->pid && !kill_it &&
	    (!WIFEXITED(status) || WEXITSTATUS(status))) {
		log_error("%s: journalctl exited with status %d", j->src,
			  WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		acq_stats_of(s)->errors++;
	}
	j->pid = 0;
}

static int spawn(struct acq_src *s)
{
	struct jsrc *j = s->priv;
	posix_spawn_file_actions_t fa;
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	size_t n = 0, cap = s->cfg.njournal_filters + 6;
	char **argv;
	int err;

	argv = calloc(cap, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	argv[n++] = "journalctl";
	if (s->cfg.mode == ACQ_MODE_TAIL) {
		argv[n++] = "--follow";
		argv[n++] = "-n";
		argv[n++] = "0";
	}
	if (s->cfg.journal_since) {
		argv[n++] = "--since";
		argv[n++] = s->cfg.journal_since;
	}
	for (size_t i = 0; i < s->cfg.njournal_filters; i++)
		argv[n++] = s->cfg.journal_filters[i];

	/* only our ends are non-blocking: O_NONBLOCK on the write ends is shared with
	 * journalctl's stdout/stderr, and a fast journalctl then died on EAGAIN the
	 * first time the pipe was full (lines lost, a restart 10 s later) */
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC) ||
	    fcntl(po[0], F_SETFL, O_NONBLOCK) || fcntl(pe[0], F_SETFL, O_NONBLOCK)) {
		err = -errno;
		goto out;
	}
	err = -posix_spawn_file_actions_init(&fa);
	if (err)
		goto out;
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	err = -posix_spawnp(&j->pid, "journalctl", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		j->pid = 0;
		goto out;
	}
	log_info("%s: spawned journalctl (pid %d)", j->src, (int)j->pid);
	j->out = po[0];
	j->err = pe[0];
	po[0] = pe[0] = -1;
	j->out_eof = false;
	err = acq_watch_fd(s, j->out);
	if (!err)
		err = acq_watch_fd(s, j->err);
out:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	free(argv);
	return err;
}

static int journal_start(struct acq_src *s)
{
	struct jsrc *j = calloc(1, sizeof(*j));
	size_t len = strlen("journalctl-") + 1;
	int err;

	if (!j)
		return -ENOMEM;
	s->priv = j;
	j->out = j->err = -1;
	for (size_t i = 0; i < s->cfg.njournal_filters; i++)
		len += strlen(s->cfg.journal_filters[i]) + 1;
	j->src = malloc(len);
	j->buf = malloc(JBUF_SIZE);
	if (!j->src || !j->buf)
		return -ENOMEM;
	strcpy(j->src, "journalctl-");
	for (size_t i = 0; i < s->cfg.njournal_filters; i++) {
		if (i)
			strcat(j->src, ".");
		strcat(j->src, s->cfg.journal_filters[i]);
	}
	err = spawn(s);
	if (err && s->cfg.mode == ACQ_MODE_TAIL) {
		/* upstream: a source that cannot run is skipped, not fatal */
		log_error("%s: cannot run journalctl: %s; source disabled", j->src,
			  strerror(-err));
		acq_stats_of(s)->errors++;
		s->done = true;
		return 0;
	}
	return err;
}

static void journal_stop(struct acq_src *s)
{
	struct jsrc *j = s->priv;

	if (!j)
		return;
	close_fd(s, &j->out);
	close_fd(s, &j->err);
	reap(s, true);
	acq_linebuf_fini(&j->lb);
	acq_linebuf_fini(&j->errlb);
	free(j->src);
	free(j->buf);
	free(j);
	s->priv = NULL;
}

static void drain_stderr(struct acq_src *s)
{
	struct jsrc *j = s->priv;
	char buf[4096];
	ssize_t n;

	while ((n = read(j->err, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = 0;
		log_warn("%s: journalctl: %.*s", j->src,
			 (int)(n && buf[n - 1] == '\n' ? n - 1 : n), buf);
	}
	if (n == 0)
		close_fd(s, &j->err);
}

static void journal_event(struct acq_src *s, int fd, uint32_t events)
{
	struct jsrc *j = s->priv;

	if (fd == j->err)
		drain_stderr(s);
	else if (fd == j->out)
		s->pending = true;
}

static int journal_work(struct acq_src *s, unsigned int *budget)
{
	struct jsrc *j = s->priv;
	int rc = 0;

	while (*budget) {
		size_t used;
		ssize_t n;

		if (j->pos < j->len) {
			rc = acq_linebuf_feed(s, &j->lb, j->src, j->buf + j->pos, j->len - j->pos,
					      &used, budget);
			j->pos += used;
			if (rc)
				return rc;
			continue;
		}
		if (j->out < 0)
			return 0;
		n = read(j->out, j->buf, JBUF_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0; /* epoll tells us when there is more */
		if (n > 0) {
			acq_stats_of(s)->bytes += n;
			j->pos = 0;
			j->len = n;
			continue;
		}
		/* EOF (or error): journalctl is gone */
		rc = acq_linebuf_flush(s, &j->lb, j->src, budget);
		close_fd(s, &j->out);
		if (j->err >= 0)
			drain_stderr(s);
		close_fd(s, &j->err);
		reap(s, false);
		if (s->cfg.mode == ACQ_MODE_CAT) {
			s->done = true;
		} else {
			log_info("%s: restarting journalctl in 10s", j->src);
			j->restart_at = mono_ns() + RESTART_NS;
		}
		return rc;
	}
	return j->pos < j->len || j->out >= 0 ? 1 : 0;
}

static void journal_tick(struct acq_src *s)
{
	struct jsrc *j = s->priv;

	if (j->out >= 0 || !j->restart_at || mono_ns() < j->restart_at)
		return;
	j->restart_at = 0;
	if (spawn(s)) {
		j->restart_at = mono_ns() + RESTART_NS;
		acq_stats_of(s)->errors++;
	}
}

ACQ_SRC_OPS(journal, "journalctl");
