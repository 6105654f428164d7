// SPDX-License-Identifier: MIT
/*
 * TLS client-certificate authentication (CrowdSec 1.4.6 api.server.tls): the
 * server asks for a client certificate when ca_cert_path is set; a request that
 * presents one is authenticated by it alone (an API key or password beside it is
 * ignored, as in 1.4.6). The chain must verify against the CA (times, CRL,
 * clientAuth purpose) and the leaf must carry one of the allowed OUs of the role;
 * the identity is "<CN>@<client ip>".
 *
 * libmicrohttpd only asks for the certificate (GNUTLS_CERT_REQUEST) and never
 * verifies it; the verification is done here with our own GnuTLS trust list.
 * Differences from Go's crypto/tls: a certificate that does not verify is refused
 * with 403 instead of failing the handshake, and the Require* modes drop the
 * connection at the first request instead of during the handshake.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/log.h"
#include "common/readfile.h"
#include "lapi/lapi_int.h"

#define TLS_MAX_CHAIN 16

/* A PEM file (CA bundle, CRL): NULL when missing, empty or over 4 MiB. */
static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;

	if (cs_read_file(path, 4 << 20, &buf, len))
		return NULL;
	if (!*len) {
		free(buf);
		return NULL;
	}
	return buf;
}

int tlsauth_init(struct cs_lapi *l, char **ca_pem)
{
	const struct cs_lapi_config *c = &l->cfg;
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_datum_t ca = { 0 }, crl = { 0 };
	size_t len = 0;
	int ret;

	*ca_pem = NULL;
	if (!c->tls_cert_file || !c->tls_key_file ||
	    c->tls_client_verification == CS_TLS_NO_CLIENT_CERT)
		return 0;
	if (!c->tls_ca_cert_path || !*c->tls_ca_cert_path) {
		log_debug("api.server.tls: no ca_cert_path, client certificates are not asked for");
		return 0;
	}
	*ca_pem = slurp(c->tls_ca_cert_path, &len);
	if (!*ca_pem) {
		log_error("cannot read the client CA %s: %s", c->tls_ca_cert_path, strerror(errno));
		return -EINVAL;
	}
	ca.data = (unsigned char *)*ca_pem;
	ca.size = (unsigned)len;
	if (c->tls_crl_path && *c->tls_crl_path) {
		crl.data = (unsigned char *)slurp(c->tls_crl_path, &len);
		crl.size = (unsigned)len;
		if (!crl.data)
			log_warn("cannot read the CRL %s: %s, revocation is not checked",
				 c->tls_crl_path, strerror(errno));
	}
	ret = gnutls_x509_trust_list_init(&tl, 0);
	if (ret >= 0)
		ret = gnutls_x509_trust_list_add_trust_mem(tl, &ca, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
	if (ret > 0 && crl.data) {
		int r2 = gnutls_x509_trust_list_add_trust_mem(tl, NULL, &crl, GNUTLS_X509_FMT_PEM,
							      GNUTLS_TL_VERIFY_CRL, 0);
		if (r2 < 0)
			log_warn("CRL %s: %s, revocation is not checked", c->tls_crl_path,
				 gnutls_strerror(r2));
	}
	free(crl.data);
	if (ret <= 0) {
		log_error("client CA %s: %s", c->tls_ca_cert_path,
			  ret < 0 ? gnutls_strerror(ret) : "no certificate");
		if (tl)
			gnutls_x509_trust_list_deinit(tl, 1);
		free(*ca_pem);
		*ca_pem = NULL;
		return -EINVAL;
	}
	l->tls_trust = tl;
	log_info("TLS client certificates: %s, CA %s",
		 c->tls_client_verification == CS_TLS_REQUEST_CLIENT_CERT	     ? "RequestClientCert"
		 : c->tls_client_verification == CS_TLS_REQUIRE_ANY_CLIENT_CERT ? "RequireAnyClientCert"
		 : c->tls_client_verification == CS_TLS_VERIFY_CLIENT_CERT_IF_GIVEN
			 ? "VerifyClientCertIfGiven"
			 : "RequireAndVerifyClientCert",
		 c->tls_ca_cert_path);
	return 0;
}

void tlsauth_free(struct cs_lapi *l)
{
	if (l->tls_trust)
		gnutls_x509_trust_list_deinit(l->tls_trust, 1);
	l->tls_trust = NULL;
}

static const gnutls_datum_t *peer_certs(struct req *r, unsigned *n)
{
	const union MHD_ConnectionInfo *ci;

	*n = 0;
	if (!r->l->tls_trust)
		return NULL;
	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return NULL;
	return gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, n);
}

bool tlsauth_required_missing(struct req *r)
{
	enum cs_tls_client_verify m = r->l->cfg.tls_client_verification;
	unsigned n;

	if (!r->l->tls_trust ||
	    (m != CS_TLS_REQUIRE_ANY_CLIENT_CERT && m != CS_TLS_REQUIRE_AND_VERIFY_CLIENT_CERT))
		return false;
	return !peer_certs(r, &n) || !n;
}

static bool ou_allowed(gnutls_x509_crt_t crt, char **allowed, size_t n_allowed, char *seen,
		       size_t seenlen)
{
	char buf[256];

	*seen = 0;
	for (unsigned idx = 0; idx < 32; idx++) {
		size_t sz = sizeof(buf);

		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, idx,
						  0, buf, &sz) < 0)
			break;
		snprintf(seen + strlen(seen), seenlen - strlen(seen), "%s%s", idx ? " " : "", buf);
		for (size_t i = 0; i < n_allowed; i++)
			if (!strcmp(buf, allowed[i]))
				return true;
	}
	return false;
}

enum tls_peer tlsauth_check(struct req *r, bool bouncer, char *cn, size_t cnlen)
{
	const struct cs_lapi_config *c = &r->l->cfg;
	gnutls_x509_crt_t chain[TLS_MAX_CHAIN];
	unsigned n = 0, cnt = 0, status = 0;
	const gnutls_datum_t *certs = peer_certs(r, &n);
	enum tls_peer res = TLS_PEER_BAD;
	char ous[512];
	size_t sz = cnlen;
	int ret;

	if (!certs || !n)
		return TLS_PEER_NONE;
	if (c->tls_client_verification == CS_TLS_REQUEST_CLIENT_CERT ||
	    c->tls_client_verification == CS_TLS_REQUIRE_ANY_CLIENT_CERT) {
		log_warn("TLS auth from %s: no verified cert in request", r->ip);
		return TLS_PEER_BAD;
	}
	for (; cnt < n && cnt < TLS_MAX_CHAIN; cnt++) {
		if (gnutls_x509_crt_init(&chain[cnt]) < 0)
			goto out;
		if (gnutls_x509_crt_import(chain[cnt], &certs[cnt], GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(chain[cnt]);
			log_warn("TLS auth from %s: unparsable client certificate", r->ip);
			goto out;
		}
	}
	gnutls_typed_vdata_st purpose = { .type = GNUTLS_DT_KEY_PURPOSE_OID,
					  .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT };
	ret = gnutls_x509_trust_list_verify_crt2(r->l->tls_trust, chain, cnt, &purpose, 1, 0,
						 &status, NULL);
	if (ret < 0 || status) {
		gnutls_datum_t txt = { 0 };

		if (ret >= 0)
			gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &txt, 0);
		log_warn("TLS auth from %s: client certificate not verified: %s", r->ip,
			 ret < 0 ? gnutls_strerror(ret) : txt.data ? (char *)txt.data : "?");
		gnutls_free(txt.data);
		goto out;
	}
	if (!ou_allowed(chain[0], bouncer ? c->bouncers_allowed_ou : c->agents_allowed_ou,
			bouncer ? c->n_bouncers_allowed_ou : c->n_agents_allowed_ou, ous,
			sizeof(ous))) {
		log_warn("TLS auth from %s: client certificate OU (%s) doesn't match expected OU "
			 "for %s",
			 r->ip, ous, bouncer ? "bouncers" : "agents");
		goto out;
	}
	if (gnutls_x509_crt_get_dn_by_oid(chain[0], GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &sz) <
		    0 ||
	    !*cn) {
		log_warn("TLS auth from %s: client certificate without CN", r->ip);
		goto out;
	}
	res = TLS_PEER_OK;
out:
	for (unsigned i = 0; i < cnt; i++)
		gnutls_x509_crt_deinit(chain[i]);
	return res;
}
