// SPDX-License-Identifier: MIT
/*
 * The LAPI's JWT check, reached before any authentication. First byte even: the
 * rest is a token as a client sends it. Odd: the rest is a claims payload, signed
 * here with the server's secret, so the claims decoder behind the signature
 * check is fuzzed too.
 */
#include "fuzz.h"

#include "common/sha2.h"
#include "lapi/lapi_int.h"

static const uint8_t secret[] = "fuzz-secret-of-the-lapi-0123456789abcdef";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char id[256], msg[256], *token;
	uint8_t mac[SHA256_LEN];
	size_t n;

	if (!size)
		return 0;
	fuzz_quiet();
	if (!(data[0] & 1)) {
		token = fuzz_cstr(data + 1, size - 1);
	} else {
		token = malloc(4 * (sizeof(hdr) + size + SHA256_LEN) / 3 + 16);
		if (!token)
			abort();
		b64url_encode((const uint8_t *)hdr, sizeof(hdr) - 1, token);
		n = strlen(token);
		token[n] = '.';
		b64url_encode(data + 1, size - 1, token + n + 1);
		n = strlen(token);
		hmac_sha256(secret, sizeof(secret) - 1, token, n, mac);
		token[n] = '.';
		b64url_encode(mac, sizeof(mac), token + n + 1);
	}
	jwt_verify(secret, sizeof(secret) - 1, token, 1733300000LL * 1000000000, 3600LL * 1000000000,
		   id, sizeof(id), msg, sizeof(msg));
	free(token);
	return 0;
}
