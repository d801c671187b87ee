/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqd where io_uring is refused, as a container's seccomp profile refuses it: a filter that
 * fails io_uring_setup() with EPERM, then nfqd itself (NFQD_BIN) with the arguments given.
 * Used as NFQD_TEST_BIN by the tests of the uring transport's fallback.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <seccomp.h>

int main(int argc, char **argv)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

	(void)argc;
	if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_uring_setup), 0) < 0 ||
	    seccomp_load(ctx) < 0) {
		fprintf(stderr, "deny_uring: cannot load the filter\n");
		return 126;
	}
	seccomp_release(ctx);
	execv(NFQD_BIN, argv);
	fprintf(stderr, "deny_uring: cannot execute %s\n", NFQD_BIN);
	return 127;
}
