// SPDX-License-Identifier: MIT
/*
 * Open-loop HTTP/1.1 load at a fixed offered rate, for bench_lapi.sh (b): wrk
 * measures a closed loop (each connection sends once its answer came), so a
 * stalled server sends less and its stall is counted once; here every request
 * has an intended send time (RATE/s spread over CONNS keep-alive connections)
 * and its latency runs from that time to its answer's last byte, sent or not
 * (no coordinated omission). One request in flight per connection; a late
 * answer makes the next requests go at once, each still timed from its slot.
 * Answered/s is over the time to the last answer (a server that falls behind
 * and catches up after the window shows less than offered). The pacer is one
 * thread (~0.3 of a core at 20,000/s): on a busy machine its own delays count.
 *
 *   http_pacer PORT PATH KEYSFILE CONNS RATE SECONDS [WARMUP_SECONDS]
 * GETs PATH on 127.0.0.1:PORT with "X-Api-Key: K", K round-robin over the
 * lines of KEYSFILE. Prints one line:
 *   offered R/s sent S/s answered A/s p50 X ms p99 Y ms p99.9 Z ms max M ms
 *   non2xx N errors E unanswered U
 * Requests intended in the warm-up are not counted. Bounded: answers over
 * 64 KiB are an error, the run ends 10 s after its last slot at most; slots
 * unanswered then count in the percentiles with the time they waited.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PACER_MAX_CONNS 4096
#define PACER_MAX_KEYS 4096
#define PACER_BUF (64 * 1024)
#define PACER_GRACE_NS (10 * 1000000000LL)

struct pconn {
	int fd;
	int64_t due;	   /* intended send time of the next request (ns, monotonic) */
	int64_t inflight;  /* intended time of the request in flight, 0: none */
	size_t len;	   /* bytes of the answer read so far */
	char buf[PACER_BUF];
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int connect_to(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/*
 * Length of the complete answer at the start of b[0..n), 0 while incomplete,
 * -1 if malformed; *status gets its status code.
 */
static long answer_len(const char *b, size_t n, int *status)
{
	const char *end = memmem(b, n, "\r\n\r\n", 4), *h;
	size_t head;

	if (!end)
		return n >= PACER_BUF ? -1 : 0;
	head = (size_t)(end - b) + 4;
	if (sscanf(b, "HTTP/1.%*d %d", status) != 1)
		return -1;
	for (h = b; h && h < end; h = memchr(h, '\n', (size_t)(end - h)), h = h ? h + 1 : h) {
		if (!strncasecmp(h, "content-length:", 15)) {
			long cl = strtol(h + 15, NULL, 10);

			return cl < 0 ? -1 : head + (size_t)cl <= n ? (long)(head + (size_t)cl) : 0;
		}
		if (!strncasecmp(h, "transfer-encoding:", 18)) {
			size_t p = head;

			for (;;) { /* chunked: size CRLF data CRLF ... 0 CRLF CRLF */
				char *e;
				const char *crlf = memmem(b + p, n - p, "\r\n", 2);
				long sz;

				if (!crlf)
					return 0;
				sz = strtol(b + p, &e, 16);
				if (sz < 0 || e == b + p)
					return -1;
				p = (size_t)(crlf - b) + 2 + (size_t)sz + 2;
				if (p > n)
					return 0;
				if (!sz)
					return (long)p;
			}
		}
	}
	return (long)head; /* no body */
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double pct_ms(const int64_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return (double)v[i] / 1e6;
}

int main(int argc, char **argv)
{
	int port, conns, epfd = -1, ret = 1;
	double rate, secs, warm;
	char *keys[PACER_MAX_KEYS], line[512];
	size_t nkeys = 0, nlat = 0, caplat, ki = 0;
	long sent = 0, non2xx = 0, errors = 0, answered = 0, unanswered = 0;
	int64_t *lat = NULL, interval, start, stop, hard_end, t_end;
	struct pconn *pc = NULL;
	FILE *kf;

	if (argc == 7 || argc == 8) {
		port = atoi(argv[1]), conns = atoi(argv[4]);
		rate = atof(argv[5]), secs = atof(argv[6]), warm = argc > 7 ? atof(argv[7]) : 1;
	} else {
		fprintf(stderr, "usage: http_pacer PORT PATH KEYSFILE CONNS RATE SECONDS [WARMUP]\n");
		return 2;
	}
	if (port <= 0 || conns <= 0 || conns > PACER_MAX_CONNS || rate <= 0 || secs <= 0 ||
	    secs > 600 || warm < 0) {
		fprintf(stderr, "http_pacer: bad arguments\n");
		return 2;
	}
	kf = fopen(argv[3], "r");
	if (!kf) {
		perror(argv[3]);
		return 2;
	}
	while (nkeys < PACER_MAX_KEYS && fgets(line, sizeof(line), kf)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (*line && !(keys[nkeys++] = strdup(line)))
			return 1;
	}
	fclose(kf);
	if (!nkeys) {
		fprintf(stderr, "http_pacer: no keys in %s\n", argv[3]);
		return 2;
	}
	caplat = (size_t)(rate * (secs + 1)) + 16;
	lat = malloc(caplat * sizeof(*lat));
	pc = calloc((size_t)conns, sizeof(*pc));
	epfd = epoll_create1(0);
	for (int i = 0; pc && i < conns; i++)
		pc[i].fd = -1;
	if (!lat || !pc || epfd < 0)
		goto out;
	interval = (int64_t)(1e9 * conns / rate); /* per connection */
	start = now_ns() + 100000000LL;
	for (int i = 0; i < conns; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		pc[i].fd = connect_to(port);
		if (pc[i].fd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, pc[i].fd, &ev)) {
			fprintf(stderr, "http_pacer: cannot connect to 127.0.0.1:%d: %s\n", port,
				strerror(errno));
			goto out;
		}
		pc[i].due = start + interval * i / conns; /* spread evenly over the interval */
	}
	start += (int64_t)(warm * 1e9);
	stop = start + (int64_t)(secs * 1e9);
	hard_end = stop + PACER_GRACE_NS;
	for (;;) {
		struct epoll_event evs[256];
		int64_t t = now_ns(), next = hard_end;
		int busy = 0, n;

		if (t >= hard_end)
			break;
		for (int i = 0; i < conns; i++) {
			struct pconn *c = &pc[i];

			if (c->fd < 0)
				continue;
			if (!c->inflight && c->due < stop && c->due <= t) {
				char req[1024];
				int len = snprintf(req, sizeof(req),
						   "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
						   "User-Agent: crowdsec-firewall-bouncer/v0.0.25\r\n"
						   "X-Api-Key: %s\r\n\r\n",
						   argv[2], port, keys[ki++ % nkeys]);

				/* a request this small always fits an empty socket buffer */
				if (len <= 0 || (size_t)len >= sizeof(req) ||
				    write(c->fd, req, (size_t)len) != len) {
					errors++;
					close(c->fd);
					c->fd = -1;
					continue;
				}
				c->inflight = c->due;
				c->due += interval;
				c->len = 0;
				if (c->inflight >= start)
					sent++;
			}
			if (c->inflight)
				busy = 1;
			else if (c->due < stop && c->due < next)
				next = c->due;
		}
		if (!busy && next >= stop)
			break; /* every slot sent and answered */
		n = epoll_wait(epfd, evs, 256,
			       next > t ? (int)((next - t + 999999) / 1000000) : 0);
		for (int e = 0; e < n; e++) {
			struct pconn *c = &pc[evs[e].data.u32];
			ssize_t r = read(c->fd, c->buf + c->len, PACER_BUF - c->len);
			int status = 0;
			long al;

			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0 || !c->inflight) {
				errors++;
				close(c->fd);
				c->fd = -1;
				c->inflight = 0;
				continue;
			}
			c->len += (size_t)r;
			al = answer_len(c->buf, c->len, &status);
			if (al < 0 || (al > 0 && (size_t)al != c->len)) {
				errors++; /* malformed, too large, or more than one answer */
				close(c->fd);
				c->fd = -1;
				c->inflight = 0;
				continue;
			}
			if (!al)
				continue;
			if (c->inflight >= start) {
				if (nlat < caplat)
					lat[nlat++] = now_ns() - c->inflight;
				answered++;
				if (status < 200 || status > 299)
					non2xx++;
			}
			c->inflight = 0;
		}
	}
	/* slots never answered (in flight, or not sent: the connection waited) count with
	 * what they waited so far, a lower bound: dropping them would hide a stall */
	t_end = now_ns();
	for (int i = 0; i < conns; i++) {
		if (pc[i].inflight >= start && nlat < caplat) {
			lat[nlat++] = t_end - pc[i].inflight;
			unanswered++;
		}
		for (int64_t slot = pc[i].due; slot < stop && nlat < caplat; slot += interval) {
			if (slot >= start) {
				lat[nlat++] = t_end - slot;
				unanswered++;
			}
		}
	}
	qsort(lat, nlat, sizeof(*lat), cmp_i64);
	printf("offered %.0f/s sent %.0f/s answered %.0f/s p50 %.2f ms p99 %.2f ms p99.9 %.2f ms "
	       "max %.2f ms non2xx %ld errors %ld unanswered %ld\n",
	       rate, (double)sent / secs, (double)answered * 1e9 / (double)(t_end - start), pct_ms(lat, nlat, 0.50),
	       pct_ms(lat, nlat, 0.99), pct_ms(lat, nlat, 0.999),
	       nlat ? (double)lat[nlat - 1] / 1e6 : 0.0, non2xx, errors, unanswered);
	ret = 0;
out:
	for (int i = 0; pc && i < conns; i++)
		if (pc[i].fd >= 0)
			close(pc[i].fd);
	if (epfd >= 0)
		close(epfd);
	for (size_t k = 0; k < nkeys; k++)
		free(keys[k]);
	free(pc);
	free(lat);
	return ret;
}
