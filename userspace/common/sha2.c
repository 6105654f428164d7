// SPDX-License-Identifier: MIT
/*
 * Digests and key derivation through OpenSSL's libcrypto (we do not roll our own
 * crypto); the encodings around them (hex, base64 in both alphabets) are plain code.
 */
#include "common/sha2.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

void sha1(const void *data, size_t len, uint8_t out[SHA1_LEN])
{
	EVP_Digest(data, len, out, NULL, EVP_sha1(), NULL);
}

struct sha1_ctx {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

void sha1_ctx_free(struct sha1_ctx *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->ctx);
	EVP_MD_free(c->md);
	free(c);
}

struct sha1_ctx *sha1_ctx_new(void)
{
	struct sha1_ctx *c = calloc(1, sizeof(*c));

	if (c && (!(c->md = EVP_MD_fetch(NULL, "SHA1", NULL)) || !(c->ctx = EVP_MD_CTX_new()))) {
		sha1_ctx_free(c);
		return NULL;
	}
	return c;
}

int sha1_parts(struct sha1_ctx *c, const void *const *parts, const size_t *lens, size_t n,
	       uint8_t out[SHA1_LEN])
{
	bool ok = EVP_DigestInit_ex2(c->ctx, c->md, NULL);

	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(c->ctx, parts[i], lens[i]);
	return ok && EVP_DigestFinal_ex(c->ctx, out, NULL) ? 0 : -ENOMEM;
}

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL);
}

void sha512(const void *data, size_t len, uint8_t out[SHA512_LEN])
{
	EVP_Digest(data, len, out, NULL, EVP_sha512(), NULL);
}

void hmac_sha256(const void *key, size_t klen, const void *data, size_t len,
		 uint8_t out[SHA256_LEN])
{
	unsigned int olen = SHA256_LEN;

	HMAC(EVP_sha256(), key, (int)klen, data, len, out, &olen);
}

void pbkdf2_sha256(const void *pw, size_t pwlen, const void *salt, size_t slen,
		   unsigned iterations, uint8_t *out, size_t outlen)
{
	PKCS5_PBKDF2_HMAC(pw, (int)pwlen, salt, (int)slen, (int)iterations, EVP_sha256(),
			  (int)outlen, out);
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64s[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Both alphabets: standard one padded with '=', URL one unpadded (as Go's encodings). */
static void b64_encode_with(const char *alpha, bool pad, const uint8_t *in, size_t len,
			    char *out)
{
	size_t o = 0, i;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = alpha[v >> 18];
		out[o++] = alpha[(v >> 12) & 63];
		out[o++] = alpha[(v >> 6) & 63];
		out[o++] = alpha[v & 63];
	}
	if (len - i == 1) {
		out[o++] = alpha[in[i] >> 2];
		out[o++] = alpha[(in[i] & 3) << 4];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = alpha[v >> 10];
		out[o++] = alpha[(v >> 4) & 63];
		out[o++] = alpha[(v & 15) << 2];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
}

/* padded: whole groups of four, '=' only in the last two places and only trailing */
static int b64_decode_with(const char *alpha, bool padded, const char *in, size_t len,
			   uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	bool pad = false;

	if (len / 4 * 3 + len % 4 * 3 / 4 > (cap < INT_MAX ? cap : INT_MAX))
		return -EMSGSIZE;
	if (padded && len % 4)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		const char *p;

		if (padded && in[i] == '=' && i + 2 >= len) {
			pad = true;
			continue;
		}
		if (pad || !in[i] || !(p = strchr(alpha, in[i])))
			return -EINVAL;
		acc = acc << 6 | (uint32_t)(p - alpha);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = acc >> bits;
		}
	}
	if (bits >= 6)
		return -EINVAL;
	return (int)o;
}

void b64url_encode(const uint8_t *in, size_t len, char *out)
{
	b64_encode_with(b64u, false, in, len, out);
}

int b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	return b64_decode_with(b64u, false, in, len, out, cap);
}

void b64_encode(const uint8_t *in, size_t len, char *out)
{
	b64_encode_with(b64s, true, in, len, out);
}

int b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	return b64_decode_with(b64s, true, in, len, out, cap);
}

int ct_memeq(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

int random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n, len -= n;
	}
	return 0;
}
