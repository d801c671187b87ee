/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c). A broken contract aborts, so that
 * libFuzzer records the input as a finding just as it does a crash or a sanitizer report.
 */
#ifndef NFQD_FUZZ_H
#define NFQD_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Say which contract broke, where, then abort. */
#define FUZZ_FAIL(...)                                                                             \
	do {                                                                                       \
		fprintf(stderr, "%s:%d: contract broken: ", __FILE__, __LINE__);                   \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

/* The input as a NUL-terminated string (it ends at its first NUL, as a file read as text
 * would). The caller frees it. NULL when out of memory. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (text) {
		memcpy(text, data, size);
		text[size] = '\0';
	}
	return text;
}

#endif /* NFQD_FUZZ_H */
