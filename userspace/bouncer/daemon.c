// SPDX-License-Identifier: MIT
/*
 * The applier: opens the data plane (XDP, or nftables when XDP cannot attach in
 * auto mode), forks the fetcher without privileges, drops its own capabilities to
 * what applying needs, and then only applies validated records (privsep.h).
 * If the fetcher dies it is restarted; the data plane keeps filtering meanwhile.
 */
#include "bouncer/daemon.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "bouncer/backend.h"
#include "bouncer/config.h"
#include "bouncer/fetcher.h"
#include "bouncer/lockout.h"
#include "bouncer/privsep.h"
#include "common/log.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif

struct applier {
	const struct bouncer_config *cfg;
	const struct backend_ops *ops;
	struct backend *be;
	struct lockout *guard;
	bool failing;	    /* sets/clears went unapplied since the last clean full sync */
	size_t unreported;  /* failures the fetcher has not been told of yet */
	uint64_t rejected, refused, failures;
};

static int load_config(const char *path, struct bouncer_config *cfg)
{
	char err[512];

	if (bouncer_config_load(path, cfg, err, sizeof(err))) {
		fprintf(stderr, "Error: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

static int open_backend(struct applier *a)
{
	int err;

	if (a->cfg->mode != BOUNCER_MODE_NFTABLES) {
		err = backend_xdp_ops.open(a->cfg, &a->be);
		if (!err) {
			a->ops = &backend_xdp_ops;
			return 0;
		}
		if (a->cfg->mode == BOUNCER_MODE_XDP) {
			log_error("xdp backend unavailable: %s", strerror(-err));
			return err;
		}
		log_warn("xdp backend unavailable (%s); falling back to nftables", strerror(-err));
	}
	err = backend_nft_ops.open(a->cfg, &a->be);
	if (err) {
		log_error("nftables backend unavailable: %s", strerror(-err));
		return err;
	}
	a->ops = &backend_nft_ops;
	return 0;
}

#define SETID_CAPS (1U << CAP_SETUID | 1U << CAP_SETGID)

/* Keep only what applying needs: map fds are already open; nftables needs NET_ADMIN;
 * stopping the fetcher, which runs under another uid, needs KILL. A program in
 * libxdp's dispatcher is taken out at stop (keep_on_stop: false) through program ids
 * (SYS_ADMIN) and a new dispatcher of extension programs (PERFMON): kept only then. */
static int drop_capabilities(bool dispatched)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	const int keep[] = { CAP_NET_ADMIN, CAP_BPF, CAP_KILL, CAP_SYS_ADMIN, CAP_PERFMON };
	const size_t nkeep = sizeof(keep) / sizeof(keep[0]) - (dispatched ? 0 : 2);

	for (int c = 0; c <= 63; c++) {
		bool k = false;

		for (size_t i = 0; i < nkeep; i++)
			k |= keep[i] == c;
		if (!k)
			prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	}
	for (size_t i = 0; i < nkeep; i++) {
		data[keep[i] / 32].effective |= 1U << (keep[i] % 32);
		data[keep[i] / 32].permitted |= 1U << (keep[i] % 32);
	}
	/* Permitted, not effective: a fetcher started again after it died must still
	 * switch to `user` (raise_setid, in the child only). */
	data[0].permitted |= SETID_CAPS;
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

/* In a fetcher's child: SETUID and SETGID effective again (a no-op before
 * drop_capabilities), for become_unprivileged. */
static int raise_setid(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[0].effective |= data[0].permitted & SETID_CAPS;
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

static int become_unprivileged(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		log_error("fetcher: user '%s' does not exist", user);
		return -ENOENT;
	}
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid))
		return -errno;
	if (setuid(0) == 0)
		return -EPERM; /* must not be able to get root back */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	return 0;
}

/*
 * In the child right after fork: the fetcher must hold nothing of the applier's
 * (BPF maps, program, BTF, links, the pin directory lock, the signalfd, the netlink
 * socket of the lock-out guard): a process in its place could otherwise write the
 * maps directly, past the guard. Keeps stdio and the socketpair end, moved to fd 3.
 */
static int keep_only_socket(int sock)
{
	if (sock != 3) {
		if (dup2(sock, 3) < 0)
			return -errno;
	}
	if (syscall(SYS_close_range, 4U, ~0U, 0U) == 0)
		return 0;
	/* kernels before 5.9: one by one */
	for (long fd = 4, max = sysconf(_SC_OPEN_MAX); fd < max; fd++)
		close((int)fd);
	return 0;
}

static pid_t spawn_fetcher(const struct bouncer_config *cfg, bool plane_empty, int *sock_out)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	/* A startup streams a million records: let the fetcher run ahead of the applier
	 * by a few MB while a map batch is written, instead of waiting on a 200 kB
	 * buffer (FORCE: past wmem_max, we are root here; ignored otherwise). */
	for (int i = 0; i < 2; i++)
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &(int){ 8 << 20 }, sizeof(int));
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (pid == 0) {
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (keep_only_socket(sv[1]) || raise_setid() || become_unprivileged(cfg->user))
			_exit(70);
		_exit(fetcher_main(cfg, 3, plane_empty));
	}
	close(sv[1]);
	*sock_out = sv[0];
	return pid;
}

/*
 * What the backend could not apply (a full map) is counted, said once while it
 * lasts, and reported to the fetcher, which resynchronises later: only a full
 * resynchronisation that goes through ends the failing state.
 */
static void report_failures(struct applier *a, int sock)
{
	struct ps_msg m = { .type = PS_APPLY_FAILED };

	if (!a->unreported)
		return;
	m.ban.decision_id = a->unreported;
	/* never blocks: the fetcher may be busy sending; tried again on the next round */
	if (send(sock, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT) == sizeof(m))
		a->unreported = 0;
}

static void commit(struct applier *a, int sock, bool full_sync)
{
	size_t failed = 0;

	a->ops->commit(a->be, full_sync, &failed);
	if (!failed) {
		if (a->failing && full_sync)
			log_info("every ban is applied again");
		else if (full_sync)
			log_info("full state in the data plane");
		a->failing &= !full_sync;
		return;
	}
	if (!a->failing)
		log_error("%zu ban update%s could not be applied; retrying until they are",
			  failed, failed == 1 ? "" : "s");
	a->failing = true;
	a->failures += failed;
	a->unreported += failed;
	report_failures(a, sock);
}

/* The data plane as it is, to the fetcher (PS_DUMP_REQ): many records a packet. */
struct dump {
	int sock;
	int n;
	struct ps_msg buf[PS_MAX_RECORDS];
};

static int dump_flush(struct dump *d)
{
	ssize_t n;

	if (!d->n)
		return 0;
	n = send(d->sock, d->buf, (size_t)d->n * sizeof(d->buf[0]), MSG_NOSIGNAL);
	d->n = 0;
	return n < 0 ? -errno : 0;
}

static int dump_cb(const struct cs_prefix *p, const struct cs_ban *ban, void *arg)
{
	struct dump *d = arg;
	struct ps_msg *m = &d->buf[d->n++];

	memset(m, 0, sizeof(*m));
	m->type = PS_HAVE;
	m->ban.prefix.family = p->family == AF_INET ? 4 : 6;
	m->ban.prefix.plen = p->plen;
	memcpy(m->ban.prefix.addr, p->addr, 16);
	m->ban.origin = ban->origin;
	m->ban.expires_boot_ns = ban->expires_ns;
	m->ban.decision_id = ban->decision_id;
	return d->n == PS_MAX_RECORDS ? dump_flush(d) : 0;
}

static void dump(struct applier *a, int sock)
{
	static struct dump d;
	int err;

	d.sock = sock;
	d.n = 0;
	/* what is buffered is part of the state; what of it fails is reported as any
	 * commit's (the fetcher takes PS_APPLY_FAILED among the dump's records) */
	commit(a, sock, false);
	err = a->ops->for_each(a->be, dump_cb, &d);
	if (!err)
		err = dump_flush(&d);
	if (err)
		log_warn("listing the data plane for the fetcher failed: %s", strerror(-err));
	d.buf[0] = (struct ps_msg){ .type = PS_DUMP_END };
	d.n = 1;
	dump_flush(&d);
}

static void send_stats(struct applier *a, int sock)
{
	struct ps_stats_msg m = { .type = PS_STATS };

	a->ops->stats(a->be, m.counters, m.iface_mode, &m.n_ifaces);
	m.backend = a->ops == &backend_nft_ops;
	m.apply_errors = a->rejected;
	m.apply_failures = a->failures;
	send(sock, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void handle(struct applier *a, const struct ps_msg *m, int sock)
{
	struct cs_prefix p;
	char what[128], txt[CS_PREFIX_STRLEN];

	switch (m->type) {
	case PS_SYNC_END:
		commit(a, sock, true);
		return;
	case PS_FLUSH:
		commit(a, sock, false);
		return;
	case PS_DUMP_REQ:
		dump(a, sock);
		return;
	case PS_STATS_REQ:
		send_stats(a, sock);
		return;
	case PS_SET:
	case PS_CLEAR:
		if (ps_decode_ban(m, &p)) {
			a->rejected++;
			return;
		}
		if (m->type == PS_CLEAR) {
			a->ops->clear(a->be, &p);
			return;
		}
		if (lockout_check(a->guard, &p, what, sizeof(what)) > 0) {
			cs_prefix_format(&p, false, txt, sizeof(txt));
			log_warn("not banning %s: it covers %s, an address of this machine", txt, what);
			a->refused++;
			return;
		}
		a->ops->set(a->be, &p, m->ban.expires_boot_ns, m->ban.decision_id, m->ban.origin);
		return;
	default:
		a->rejected++;
	}
}

int bouncer_daemon_run(const char *config_path, bool test_only)
{
	struct bouncer_config cfg;
	struct applier a = { .cfg = &cfg };
	int sfd = -1, sock = -1, rc = 1, err;
	pid_t child = -1;
	sigset_t mask, chld;
	uint64_t restarts = 0;
	bool plane_empty;

	if (load_config(config_path, &cfg))
		return 2;
	log_set_level(cfg.log_level);
	if (test_only) {
		printf("%s: configuration OK\n", config_path);
		bouncer_config_free(&cfg);
		return 0;
	}
	err = lockout_new(&a.guard);
	if (err)
		goto out;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	/* SIGCHLD at once (a fetcher forked before the open must not exit unseen); a stop
	 * asked during the open still ends the process there, as it always did */
	sigprocmask(SIG_BLOCK, &chld, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		goto out;
	/* A data plane that starts empty needs no listing: the fetcher then starts
	 * before the open (map creation and the BPF verifier take ~0.5 s), its first
	 * pull under way meanwhile and its records waiting in the socket; forked now,
	 * it never held a map or program fd. Otherwise it asks for the listing first,
	 * which only an open data plane answers: it starts after the open, as before
	 * (started earlier, its wait for the listing would run while the open waits,
	 * e.g. on the pin lock, and could give up). */
	plane_empty = backend_plane_starts_empty(&cfg);
	if (plane_empty && (child = spawn_fetcher(&cfg, true, &sock)) < 0) {
		log_error("cannot start the fetcher: %s", strerror((int)-child));
		goto out;
	}
	err = open_backend(&a);
	if (err)
		goto out;
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (!plane_empty && (child = spawn_fetcher(&cfg, false, &sock)) < 0) {
		log_error("cannot start the fetcher: %s", strerror((int)-child));
		goto out;
	}
	if (plane_empty && a.ops == &backend_xdp_ops && backend_xdp_reused_pins(a.be)) {
		/* pinned by another process (the ban CLI) between the look and the pin
		 * lock: the fetcher was told the plane is empty; a reported failure makes
		 * it list the plane and pull everything again */
		log_info("the data plane was pinned meanwhile: listing it for the fetcher");
		a.unreported = 1;
	}
	log_info("crowdsec-xdp-bouncer %s: %s backend, pulling %s every %lld ms", BOUNCER_VERSION,
		 a.ops->name, cfg.api_url, (long long)(cfg.update_frequency_ns / 1000000));
	if (geteuid() == 0 &&
	    (err = drop_capabilities(a.ops == &backend_xdp_ops && backend_xdp_dispatched(a.be))))
		log_warn("cannot drop capabilities: %s", strerror(-err));

	for (;;) {
		struct pollfd pfd[2] = { { .fd = sfd, .events = POLLIN }, { .fd = sock, .events = POLLIN } };

		if (poll(pfd, 2, a.unreported ? 200 : -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
				log_info("stopping (%s)", cfg.keep_on_stop ? "the data plane keeps filtering"
									  : "removing the data plane");
				rc = 0;
				break;
			}
			if (si.ssi_signo == SIGCHLD) {
				int status;

				if (waitpid(child, &status, WNOHANG) != child)
					continue;
				log_error("fetcher exited (status %d); restarting it, bans stay in place",
					  status);
				close(sock);
				sock = -1;
				if (++restarts > 1)
					sleep(restarts > 5 ? 5 : (unsigned)restarts);
				child = spawn_fetcher(&cfg, false, &sock);
				if (child < 0)
					break;
				continue;
			}
		}
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			static struct ps_msg buf[PS_MAX_RECORDS];
			ssize_t n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);

			if (n <= 0)
				continue; /* SIGCHLD will tell */
			if (n % (ssize_t)sizeof(struct ps_msg)) {
				a.rejected++;
				continue; /* a torn record: the fetcher is broken, ignore it */
			}
			/* the machine's addresses as they are now, before judging bans */
			lockout_refresh(a.guard);
			for (size_t i = 0; i < (size_t)n / sizeof(buf[0]); i++)
				handle(&a, &buf[i], sock);
		}
		report_failures(&a, sock);
	}
out:
	if (sock >= 0)
		close(sock); /* a fetcher blocked sending to us stops at once */
	if (child > 0) {
		bool reaped = false;

		kill(child, SIGTERM);
		/* waitpid -1: not ours to wait for any more (never SIGKILL a pid reused) */
		for (int i = 0; i < 50 && !(reaped = waitpid(child, NULL, WNOHANG) != 0); i++)
			usleep(100000);
		if (!reaped) {
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
		}
	}
	if (sfd >= 0)
		close(sfd);
	if (a.ops)
		a.ops->close(a.be, cfg.keep_on_stop);
	lockout_free(a.guard);
	bouncer_config_free(&cfg);
	return rc;
}

int bouncer_uninstall(const char *config_path)
{
	struct bouncer_config cfg;
	int err;

	if (load_config(config_path, &cfg))
		return 2;
	err = backend_uninstall(&cfg);
	bouncer_config_free(&cfg);
	if (err) {
		fprintf(stderr, "Error: uninstall: %s\n", strerror(-err));
		return 1;
	}
	printf("uninstalled: XDP program detached, pins and nftables tables removed\n");
	return 0;
}
