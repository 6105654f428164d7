// SPDX-License-Identifier: MIT
/*
 * Digests and key derivation through OpenSSL's libcrypto (we do not roll our own
 * crypto); the encodings around them (hex, base64url) are plain code.
 */
#include "common/sha2.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

void sha1(const void *data, size_t len, uint8_t out[SHA1_LEN])
{
	EVP_Digest(data, len, out, NULL, EVP_sha1(), NULL);
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

void b64url_encode(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0, i;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64u[v >> 18];
		out[o++] = b64u[(v >> 12) & 63];
		out[o++] = b64u[(v >> 6) & 63];
		out[o++] = b64u[v & 63];
	}
	if (len - i == 1) {
		out[o++] = b64u[in[i] >> 2];
		out[o++] = b64u[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = b64u[v >> 10];
		out[o++] = b64u[(v >> 4) & 63];
		out[o++] = b64u[(v & 15) << 2];
	}
	out[o] = '\0';
}

int b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (len / 4 * 3 + len % 4 * 3 / 4 > (cap < INT_MAX ? cap : INT_MAX))
		return -EMSGSIZE;

	for (size_t i = 0; i < len; i++) {
		const char *p = in[i] ? strchr(b64u, in[i]) : NULL;

		if (!p)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)(p - b64u);
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
