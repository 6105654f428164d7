// SPDX-License-Identifier: MIT
/*
 * Connection accounting against slow and idle connections; see lapi_int.h. MHD
 * tells us when a connection opens and closes (its fd stays open until after the
 * close notice, so the reaper may shut down any fd still on the list), asks us
 * before accepting one, and hands us its socket context with every request.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/condwait.h"
#include "common/gotime.h"
#include "common/log.h"
#include "lapi/lapi_int.h"

struct lapi_conn {
	struct cs_dlink link; /* in l->conns */
	int fd;
	int64_t opened;
	bool request_seen; /* headers arrived once: the header deadline is met */
	bool cut;
	/* the socket's peer as text, once: two inet_ntop a request were ~3.5k instructions */
	char peer[INET6_ADDRSTRLEN];
	/* the last machine token verified here (used by the connection's thread only) */
	char *jwt;
	char jwt_id[LAPI_MAX_ID];
	int64_t jwt_exp;
};

void lapi_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		      enum MHD_ConnectionNotificationCode code)
{
	struct cs_lapi *l = cls;
	struct lapi_conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		c = calloc(1, sizeof(*c));
		if (!c)
			return; /* untracked: no deadline, counted by MHD's own limit only */
		c->fd = ci ? ci->connect_fd : -1;
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		lapi_sockaddr_str(ci ? ci->client_addr : NULL, c->peer, sizeof(c->peer));
		c->opened = gotime_now();
		pthread_mutex_lock(&l->conn_lock);
		cs_dlist_push_tail(&l->conns, &c->link);
		l->n_conns++;
		pthread_mutex_unlock(&l->conn_lock);
		*socket_context = c;
		return;
	}
	if (!c)
		return;
	pthread_mutex_lock(&l->conn_lock);
	cs_dlist_unlink(&l->conns, &c->link);
	l->n_conns--;
	pthread_mutex_unlock(&l->conn_lock);
	free(c->jwt);
	free(c);
	*socket_context = NULL;
}

enum MHD_Result lapi_conn_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct cs_lapi *l = cls;
	unsigned open_now, limit = l->cfg.max_connections;
	char ip[INET6_ADDRSTRLEN] = "";

	pthread_mutex_lock(&l->conn_lock);
	open_now = l->n_conns;
	pthread_mutex_unlock(&l->conn_lock);
	if (open_now < limit - limit / LAPI_RESERVED_SHARE)
		return MHD_YES;
	lapi_sockaddr_str(addr, ip, sizeof(ip));
	/* the reserve: only for sources that authenticated lately */
	return ratelimit_marked_since(l->known_sources, ip, gotime_now() - LAPI_KNOWN_SOURCE_TTL)
		       ? MHD_YES
		       : MHD_NO;
}

static struct lapi_conn *conn_of(struct req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

void lapi_conn_request(struct req *r)
{
	struct lapi_conn *c = conn_of(r);

	if (c) {
		pthread_mutex_lock(&r->l->conn_lock);
		c->request_seen = true;
		pthread_mutex_unlock(&r->l->conn_lock);
	}
	/* until a credential checks out, an idle connection is not kept long */
	MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT,
				  (unsigned)LAPI_ANON_IDLE_TIMEOUT);
}

void lapi_conn_peer(struct req *r, char *buf, size_t len)
{
	struct lapi_conn *c = conn_of(r);
	const union MHD_ConnectionInfo *ci;

	if (c && *c->peer && strlen(c->peer) < len) {
		strcpy(buf, c->peer);
		return;
	}
	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	lapi_sockaddr_str(ci ? ci->client_addr : NULL, buf, len);
}

void lapi_conn_authenticated(struct req *r)
{
	char peer[INET6_ADDRSTRLEN] = "";

	/* the socket's peer, as the accept policy sees it (r->ip may be X-Forwarded-For) */
	lapi_conn_peer(r, peer, sizeof(peer));
	if (*peer)
		ratelimit_mark(r->l->known_sources, peer, gotime_now());
	MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, r->l->cfg.conn_timeout);
}

bool lapi_conn_jwt_get(struct req *r, const char *tok, int64_t now, char *id, size_t idlen)
{
	struct lapi_conn *c = conn_of(r);

	if (!c || !c->jwt || now > c->jwt_exp || strcmp(c->jwt, tok) || strlen(c->jwt_id) >= idlen)
		return false;
	strcpy(id, c->jwt_id);
	return true;
}

void lapi_conn_jwt_put(struct req *r, const char *tok, const char *id, int64_t exp)
{
	struct lapi_conn *c = conn_of(r);

	if (!c || strlen(id) >= sizeof(c->jwt_id))
		return;
	free(c->jwt);
	c->jwt = strdup(tok);
	strcpy(c->jwt_id, id);
	c->jwt_exp = exp;
}

void *lapi_conn_reaper_main(void *arg)
{
	struct cs_lapi *l = arg;

	pthread_mutex_lock(&l->stop_lock);
	while (!l->stopping) {
		int64_t now = gotime_now();
		unsigned cut = 0;

		pthread_mutex_lock(&l->conn_lock);
		for (struct cs_dlink *k = l->conns.head; k; k = k->next) {
			struct lapi_conn *c = cs_dlist_entry(k, struct lapi_conn, link);

			if (!c->request_seen && !c->cut && c->fd >= 0 &&
			    now - c->opened > LAPI_HEADER_TIMEOUT) {
				/* MHD sees end of stream and closes it the usual way */
				shutdown(c->fd, SHUT_RDWR);
				c->cut = true;
				cut++;
			}
		}
		pthread_mutex_unlock(&l->conn_lock);
		if (cut)
			log_debug("%u connection(s) cut: no request headers within %llds", cut,
				  (long long)(LAPI_HEADER_TIMEOUT / NSEC_PER_SEC));
		cs_cond_wait_ms(&l->stop_cond, &l->stop_lock, 1000);
	}
	pthread_mutex_unlock(&l->stop_lock);
	return NULL;
}
