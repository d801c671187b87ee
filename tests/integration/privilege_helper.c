/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Restricts itself with privilege_drop(), the very function nfqd calls (same capabilities,
 * same no_new_privs, same seccomp table and SIGSYS handler), then makes the call its argument
 * names. nfqd itself has no way to be told to make a forbidden call, and should not have one;
 * this program is how the tests reach the filter's deny path.
 *
 *	allowed      calls from the allowlist (getpid, a write, malloc/free): exits 0
 *	socket-inet  socket(AF_INET): the call is allowed for AF_UNIX only
 *	rmdir        rmdir: not in the allowlist at all (mkdir is: an upgraded image may
 *	             create the control socket's directory)
 *	leak         loses a block and exits 0: under LeakSanitizer the exit must report it
 *
 * Exit status 2: privilege_drop failed; 3: a denied call returned instead of killing.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "privilege.h"

/* Where the leaked block's address is forgotten: a store the compiler cannot drop. */
void *volatile helper_sink;

int main(int argc, char **argv)
{
	struct rlimit no_core = { 0, 0 };
	char err[512];
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s allowed|socket-inet|rmdir|leak\n", argv[0]);
		return 64;
	}
	/* SIGSYS dumps core by default: none from this test. */
	setrlimit(RLIMIT_CORE, &no_core);

	r = privilege_drop(NULL, true, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "privilege_drop: %s\n", err);
		return 2;
	}
	if (strcmp(argv[1], "allowed") == 0) {
		char *p = malloc(100000);

		if (!p)
			return 4;
		memset(p, 1, 100000);
		free(p);
		fprintf(stderr, "pid %d still running after allowed calls\n", (int)getpid());
		return 0;
	}
	if (strcmp(argv[1], "socket-inet") == 0) {
		r = socket(AF_INET, SOCK_DGRAM, 0);
		fprintf(stderr, "socket(AF_INET) returned %d\n", r);
		return 3;
	}
	if (strcmp(argv[1], "rmdir") == 0) {
		r = rmdir("/nonexistent-dir/nfqd-privilege-helper");
		fprintf(stderr, "rmdir returned %d\n", r);
		return 3;
	}
	if (strcmp(argv[1], "leak") == 0) {
		helper_sink = malloc(4242);
		helper_sink = NULL;
		return 0;
	}
	fprintf(stderr, "unknown call '%s'\n", argv[1]);
	return 64;
}
