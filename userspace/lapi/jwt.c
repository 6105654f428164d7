// SPDX-License-Identifier: MIT
/*
 * HS256 JWTs as CrowdSec's gin-jwt issues them: header {"alg":"HS256","typ":"JWT"},
 * claims {"exp","id","orig_iat"}. Verification checks the signature in constant
 * time before looking at the claims, then the expiry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gotime.h"
#include "common/sha2.h"
#include "lapi/lapi_int.h"

#define JWT_MAX_LEN 4096

int jwt_sign(const uint8_t *secret, size_t slen, const char *id, int64_t now, int64_t lifetime,
	     char **token, int64_t *exp)
{
	static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	int64_t e = (now + lifetime) / NSEC_PER_SEC;
	json_t *claims = json_pack("{s:I,s:s,s:I}", "exp", (json_int_t)e, "id", id, "orig_iat",
				   (json_int_t)(now / NSEC_PER_SEC));
	char *payload = NULL, *out = NULL;
	size_t plen, hl, pl;
	uint8_t mac[SHA256_LEN];
	int err = -ENOMEM;

	if (!claims)
		goto out;
	payload = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
	if (!payload)
		goto out;
	plen = strlen(payload);
	out = malloc(4 * (sizeof(hdr) + plen + SHA256_LEN) / 3 + 16);
	if (!out)
		goto out;
	b64url_encode((const uint8_t *)hdr, sizeof(hdr) - 1, out);
	hl = strlen(out);
	out[hl] = '.';
	b64url_encode((const uint8_t *)payload, plen, out + hl + 1);
	pl = strlen(out);
	hmac_sha256(secret, slen, out, pl, mac);
	out[pl] = '.';
	b64url_encode(mac, sizeof(mac), out + pl + 1);
	*token = out;
	*exp = e * NSEC_PER_SEC;
	out = NULL;
	err = 0;
out:
	free(out);
	free(payload);
	json_decref(claims);
	return err;
}

int jwt_verify(const uint8_t *secret, size_t slen, const char *token, int64_t now,
	       int64_t leeway, char *id, size_t idlen, char *msg, size_t msglen)
{
	int64_t exp;

	return jwt_verify_exp(secret, slen, token, now, leeway, id, idlen, msg, msglen, &exp);
}

int jwt_verify_exp(const uint8_t *secret, size_t slen, const char *token, int64_t now,
		   int64_t leeway, char *id, size_t idlen, char *msg, size_t msglen, int64_t *exp)
{
	const char *d1, *d2;
	uint8_t mac[SHA256_LEN], got[SHA256_LEN], payload[JWT_MAX_LEN];
	json_t *claims = NULL, *jid, *jexp;
	json_error_t jerr;
	size_t tl = strlen(token);
	int64_t exp_ns;
	int n, err = -EACCES;

	d1 = strchr(token, '.');
	d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (tl > JWT_MAX_LEN || !d1 || !d2 || strchr(d2 + 1, '.')) {
		snprintf(msg, msglen, "token contains an invalid number of segments");
		return -EACCES;
	}
	n = b64url_decode(d2 + 1, strlen(d2 + 1), got, sizeof(got));
	hmac_sha256(secret, slen, token, (size_t)(d2 - token), mac);
	if (n != SHA256_LEN || !ct_memeq(mac, got, SHA256_LEN)) {
		snprintf(msg, msglen, "signature is invalid");
		return -EACCES;
	}
	n = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), payload, sizeof(payload));
	if (n < 0) {
		snprintf(msg, msglen, "illegal base64 data");
		return -EACCES;
	}
	claims = json_loadb((const char *)payload, (size_t)n, 0, &jerr);
	if (!claims) {
		snprintf(msg, msglen, "%s", jerr.text);
		return -EACCES;
	}
	jid = json_object_get(claims, "id");
	jexp = json_object_get(claims, "exp");
	if (!json_is_string(jid) || !json_is_integer(jexp)) {
		snprintf(msg, msglen, "invalid claims");
		goto out;
	}
	/* a signed exp past int64 nanoseconds saturates instead of overflowing */
	if (__builtin_mul_overflow((int64_t)json_integer_value(jexp), NSEC_PER_SEC, &exp_ns) ||
	    __builtin_add_overflow(exp_ns, leeway, &exp_ns))
		exp_ns = json_integer_value(jexp) < 0 ? INT64_MIN : INT64_MAX;
	if (exp_ns < now) {
		snprintf(msg, msglen, "Token is expired");
		goto out;
	}
	if (strlen(json_string_value(jid)) >= idlen) {
		snprintf(msg, msglen, "invalid claims");
		goto out;
	}
	strcpy(id, json_string_value(jid));
	*exp = exp_ns - leeway; /* saturated when the claim was */
	err = 0;
out:
	json_decref(claims);
	return err;
}
