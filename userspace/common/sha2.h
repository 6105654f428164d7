/* SPDX-License-Identifier: MIT */
/*
 * SHA-1 / SHA-256 / SHA-512, HMAC-SHA256 and PBKDF2-HMAC-SHA256 (OpenSSL's
 * libcrypto underneath), plus the encodings around them; used for JWT signatures
 * (HS256), bouncer API key hashes (SHA-512 hex, as CrowdSec stores them), machine
 * password hashes, and CrowdSec's identifiers (bucket keys are SHA-1 hex,
 * scenario hashes SHA-256 hex); the one base64 codec of the tree (both alphabets).
 * Pure functions, thread-safe.
 */
#ifndef CS_SHA2_H
#define CS_SHA2_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20
#define SHA256_LEN 32
#define SHA512_LEN 64

void sha1(const void *data, size_t len, uint8_t out[SHA1_LEN]);
/*
 * A reusable SHA-1 context for hot paths (a bucket's key at every overflow): the
 * algorithm is fetched once, at sha1_ctx_new(), where sha1() looks it up again
 * on every call (two thirds of its time on short inputs). One thread at a time.
 */
struct sha1_ctx;
struct sha1_ctx *sha1_ctx_new(void); /* NULL without memory */
void sha1_ctx_free(struct sha1_ctx *c);
/* SHA-1 of the n parts one after the other (parts[i], lens[i]). 0 or -ENOMEM. */
int sha1_parts(struct sha1_ctx *c, const void *const *parts, const size_t *lens, size_t n,
	       uint8_t out[SHA1_LEN]);
void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
void sha512(const void *data, size_t len, uint8_t out[SHA512_LEN]);
void hmac_sha256(const void *key, size_t klen, const void *data, size_t len,
		 uint8_t out[SHA256_LEN]);
void pbkdf2_sha256(const void *pw, size_t pwlen, const void *salt, size_t slen,
		   unsigned iterations, uint8_t *out, size_t outlen);

/* Lower-case hex; `out` must hold 2*len+1 bytes. */
void hex_encode(const uint8_t *in, size_t len, char *out);
/* Base64url without padding (JWT); `out` must hold 4*((len+2)/3)+1 bytes. */
void b64url_encode(const uint8_t *in, size_t len, char *out);
/* Decodes into `out` (room for `cap` bytes): the decoded length, -EINVAL on a
 * character outside the alphabet, -EMSGSIZE when the result would not fit (the
 * input comes from outside: tokens, stored hashes). */
int b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);
/*
 * Standard base64, padded (Go's base64.StdEncoding: expr's toBase64/fromBase64,
 * MIME): `out` must hold 4*((len+2)/3)+1 bytes. The decoder takes whole groups of
 * four with '=' only at the end, and returns as b64url_decode does.
 */
void b64_encode(const uint8_t *in, size_t len, char *out);
int b64_decode(const char *in, size_t len, uint8_t *out, size_t cap);
/* Constant-time comparison of two equal-length buffers. */
int ct_memeq(const void *a, const void *b, size_t len);
/* Fill with random bytes from getrandom(2): 0 or -errno. */
int random_bytes(void *buf, size_t len);

#endif /* CS_SHA2_H */
