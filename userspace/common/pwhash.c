// SPDX-License-Identifier: MIT
/* Credential hashing; see pwhash.h. */
#include "common/pwhash.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha2.h"

#define PW_ITERATIONS 20000
#define PW_SALT 16
#define PW_KEY 32

void cs_apikey_hash(const char *key, char out[APIKEY_HASH_LEN])
{
	uint8_t h[SHA512_LEN];

	sha512(key, strlen(key), h);
	hex_encode(h, sizeof(h), out);
}

int cs_pwhash_make(const char *password, char out[PWHASH_LEN])
{
	uint8_t salt[PW_SALT], key[PW_KEY];
	char s64[32], k64[48];
	int err = random_bytes(salt, sizeof(salt));

	if (err)
		return err;
	pbkdf2_sha256(password, strlen(password), salt, sizeof(salt), PW_ITERATIONS, key,
		      sizeof(key));
	b64url_encode(salt, sizeof(salt), s64);
	b64url_encode(key, sizeof(key), k64);
	snprintf(out, PWHASH_LEN, "$pbkdf2-sha256$%d$%s$%s", PW_ITERATIONS, s64, k64);
	return 0;
}

/* bcrypt ("$2a$"/"$2b$"/"$2y$", what Go CrowdSec stores) through libxcrypt's
 * reentrant crypt_rn. */
static bool bcrypt_verify(const char *password, const char *stored)
{
	struct crypt_data *cd;
	bool ok = false;
	const char *out;
	size_t n = strlen(stored);

	if (n != 60)
		return false;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	out = crypt_rn(password, stored, cd, (int)sizeof(*cd));
	ok = out && out[0] != '*' && strlen(out) == n && ct_memeq(out, stored, n);
	free(cd);
	return ok;
}

bool cs_pwhash_verify(const char *password, const char *stored)
{
	uint8_t salt[64], want[64], got[PW_KEY];
	char s64[96], k64[96];
	unsigned iter;
	int sl, kl;

	if (stored && (!strncmp(stored, "$2a$", 4) || !strncmp(stored, "$2b$", 4) ||
		       !strncmp(stored, "$2y$", 4)))
		return bcrypt_verify(password, stored);
	if (!stored || sscanf(stored, "$pbkdf2-sha256$%u$%95[A-Za-z0-9_-]$%95[A-Za-z0-9_-]",
			      &iter, s64, k64) != 3)
		return false;
	if (iter < 1 || iter > 10000000)
		return false;
	sl = b64url_decode(s64, strlen(s64), salt, sizeof(salt));
	kl = b64url_decode(k64, strlen(k64), want, sizeof(want));
	if (sl <= 0 || kl != PW_KEY)
		return false;
	pbkdf2_sha256(password, strlen(password), salt, (size_t)sl, iter, got, sizeof(got));
	return ct_memeq(got, want, sizeof(got));
}

int cs_random_string(char *out, size_t n, bool hex_only)
{
	static const char alnum[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	const char *set = hex_only ? "0123456789abcdef" : alnum;
	size_t setlen = strlen(set);
	uint8_t b;

	for (size_t i = 0; i < n;) {
		int err = random_bytes(&b, 1);

		if (err)
			return err;
		/* rejection sampling keeps the distribution uniform */
		if (b >= 256 - 256 % setlen)
			continue;
		out[i++] = set[b % setlen];
	}
	out[n] = '\0';
	return 0;
}
