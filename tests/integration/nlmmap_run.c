/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqd over the mmap netlink emulator: NFQD_BIN with the arguments given, with LD_PRELOAD naming
 * the emulator's library (NLMMAP_EMU_SO, tests/support/nlmmap_emu.c) ahead of what it named
 * already. A sanitizer build's runtime would refuse to start when it is not the first library;
 * ASAN_OPTIONS=verify_asan_link_order=0 is appended for it. Used as NFQD_TEST_BIN by the tests
 * that run nfqd with `transport = mmap` against the real kernel's nfqueue.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* name=first[:rest] in the environment; 0 or -1. */
static int env_prepend(const char *name, const char *first, char sep)
{
	const char *rest = getenv(name);
	char *v;
	int r;

	if (!rest || !*rest)
		return setenv(name, first, 1);
	if (asprintf(&v, "%s%c%s", first, sep, rest) < 0)
		return -1;
	r = setenv(name, v, 1);
	free(v);
	return r;
}

int main(int argc, char **argv)
{
	(void)argc;
	if (env_prepend("LD_PRELOAD", NLMMAP_EMU_SO, ':') < 0 ||
	    env_prepend("ASAN_OPTIONS", "verify_asan_link_order=0", ':') < 0) {
		fprintf(stderr, "nlmmap_run: cannot set the environment\n");
		return 126;
	}
	execv(NFQD_BIN, argv);
	fprintf(stderr, "nlmmap_run: cannot execute %s\n", NFQD_BIN);
	return 127;
}
