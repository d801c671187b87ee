/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqd as a kernel of 3.10-4.2 would answer it, or a container's: a seccomp filter refuses the
 * socket options such a kernel lacks, with the errors it gives, then runs nfqd itself
 * (NFQD_BIN) with the arguments given. NFQD_OLDKERNEL lists what to refuse, comma-separated:
 *   cap_ack   setsockopt(SOL_NETLINK, NETLINK_CAP_ACK)              ENOPROTOOPT (before 4.3)
 *   meminfo   getsockopt(SOL_SOCKET, SO_MEMINFO)                    ENOPROTOOPT (before 4.12)
 *   bufforce  setsockopt(SOL_SOCKET, SO_RCVBUFFORCE / SO_SNDBUFFORCE) EPERM (no CAP_NET_ADMIN
 *             in the initial user namespace)
 *   syscalls  every system call Linux 3.10 did not have: ENOSYS (x86-64 only: numbers above
 *             finit_module, 313, the last of 3.10)
 *   ambient   prctl(PR_CAP_AMBIENT): EINVAL (before 4.3)
 * Unset or empty: all but syscalls and ambient. Used as NFQD_TEST_BIN by integration.oldkernel.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <seccomp.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Refuse the call when its level and option are these. */
static int refuse(scmp_filter_ctx ctx, int err, int syscall, int level, int opt)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), syscall, 2,
				SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)level, 0),
				SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)opt, 0));
}

/* The last system call number of Linux 3.10 on x86-64 (finit_module), and a bound above every
 * number a later kernel has given so far. */
#define SYSCALL_LAST_3_10 313
#define SYSCALL_BOUND	  512

/* Whether name is one of the comma-separated words of list (empty: the socket options). */
static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	if (!list || !*list)
		return strcmp(name, "syscalls") != 0 && strcmp(name, "ambient") != 0;
	for (const char *p = list; p; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	const char *what = getenv("NFQD_OLDKERNEL");
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r = ctx ? 0 : -ENOMEM;

	(void)argc;
	if (r == 0 && listed(what, "cap_ack"))
		r = refuse(ctx, ENOPROTOOPT, SCMP_SYS(setsockopt), SOL_NETLINK, NETLINK_CAP_ACK);
	if (r == 0 && listed(what, "meminfo"))
		r = refuse(ctx, ENOPROTOOPT, SCMP_SYS(getsockopt), SOL_SOCKET, SO_MEMINFO);
	if (r == 0 && listed(what, "bufforce"))
		r = refuse(ctx, EPERM, SCMP_SYS(setsockopt), SOL_SOCKET, SO_RCVBUFFORCE);
	if (r == 0 && listed(what, "bufforce"))
		r = refuse(ctx, EPERM, SCMP_SYS(setsockopt), SOL_SOCKET, SO_SNDBUFFORCE);
	if (r == 0 && listed(what, "ambient"))
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(prctl), 1,
				     SCMP_A0(SCMP_CMP_EQ, PR_CAP_AMBIENT, 0));
	if (r == 0 && listed(what, "syscalls")) {
#ifdef __x86_64__
		for (int nr = SYSCALL_LAST_3_10 + 1; r == 0 && nr < SYSCALL_BOUND; nr++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
#else
		r = -EOPNOTSUPP;
#endif
	}
	if (r < 0 || seccomp_load(ctx) < 0) {
		fprintf(stderr, "deny_oldkernel: cannot load the filter: %s\n", strerror(-r));
		return 126;
	}
	seccomp_release(ctx);
	execv(NFQD_BIN, argv);
	fprintf(stderr, "deny_oldkernel: cannot execute %s\n", NFQD_BIN);
	return 127;
}
