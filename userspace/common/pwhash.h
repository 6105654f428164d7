/* SPDX-License-Identifier: MIT */
/*
 * Credentials at rest. Bouncer API keys: unsalted SHA-512, lower-case hex (what
 * CrowdSec 1.4.6 stores, so a key hash can be looked up directly). Machine
 * passwords: PBKDF2-HMAC-SHA256 with a random salt, stored as
 * "$pbkdf2-sha256$<iterations>$<salt>$<hash>" (base64url). bcrypt hashes ("$2a$",
 * what Go CrowdSec stores, e.g. after a database import) are verified through
 * libxcrypt loaded at run time (see pwhash.c).
 */
#ifndef CS_PWHASH_H
#define CS_PWHASH_H

#include <stdbool.h>
#include <stddef.h>

#define APIKEY_HASH_LEN 129 /* 128 hex + NUL */
#define PWHASH_LEN 128

void cs_apikey_hash(const char *key, char out[APIKEY_HASH_LEN]);
int cs_pwhash_make(const char *password, char out[PWHASH_LEN]);
bool cs_pwhash_verify(const char *password, const char *stored);
/* n random characters from [a-zA-Z0-9] (hex_only: [0-9a-f]) + NUL into out. */
int cs_random_string(char *out, size_t n, bool hex_only);

#endif /* CS_PWHASH_H */
