/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c): turning the fuzzer's
 * bytes into what the code under test takes (a C string, a file, two parts).
 * Each harness defines LLVMFuzzerTestOneInput and, when it needs set-up done
 * once, LLVMFuzzerInitialize. A harness never touches the network or files
 * outside its own memfd.
 */
#ifndef CS_FUZZ_H
#define CS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A NUL-terminated copy (a NUL inside the input ends the string early). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * Split at the first "\n": *a gets the head, *b the rest (both NUL-terminated
 * copies; *b empty when there is no "\n"). Returns the length of *b, which may
 * hold NUL bytes.
 */
static inline size_t fuzz_split(const uint8_t *data, size_t size, char **a, char **b)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - data) : size;

	*a = fuzz_cstr(data, n);
	*b = nl ? fuzz_cstr(nl + 1, size - n - 1) : fuzz_cstr(data, 0);
	return nl ? size - n - 1 : 0;
}

/*
 * The input as a file, for loaders that take a path: an anonymous memfd named
 * by /proc/self/fd/N. Returns the fd (close it after use) or aborts.
 */
static inline int fuzz_file(const uint8_t *data, size_t size, char *path, size_t pathlen)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

/* Expected errors would flood the fuzzer's output. */
static inline void fuzz_quiet(void)
{
	log_set_level(LOG_LVL_FATAL);
}

#endif /* CS_FUZZ_H */
