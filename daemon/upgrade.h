/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Upgrade in place: nfqd re-executes its binary (the path resolved at start, so that a new
 * version installed there is what runs), with the same command line, keeping its PID and
 * handing the queue sockets and the control socket to the new image through LISTEN_FDS,
 * LISTEN_FDNAMES and LISTEN_PID, as systemd passes its fd store (handover.h).
 */
#ifndef NFQD_DAEMON_UPGRADE_H
#define NFQD_DAEMON_UPGRADE_H

#include <stddef.h>

/* What a re-exec needs, taken at start. */
struct upgrade {
	char *exe;   /* the binary's path, from /proc/self/exe at start */
	char **argv; /* the command line, as main() got it (not owned) */
};

/* One socket to hand over, and its name (handover.h: queue-N, control). */
struct upgrade_fd {
	int fd;
	const char *name;
};

/* Resolve the binary's path. Returns 0, or -errno with err saying why. */
int upgrade_init(struct upgrade *u, char **argv, char *err, size_t errlen);

/* Free what upgrade_init() took. */
void upgrade_free(struct upgrade *u);

/*
 * Whether u->exe can be executed now: a regular, executable file that starts as an ELF binary
 * or a script does. Returns 0, or -errno with err naming the path and what is wrong (a binary
 * moved away: -ENOENT).
 */
int upgrade_check(const struct upgrade *u, char *err, size_t errlen);

/*
 * Execute u->exe with u->argv and the environment, plus the n sockets of fds as LISTEN_FDS
 * (numbered from 3, close-on-exec cleared), LISTEN_FDNAMES and LISTEN_PID. Returns only when
 * the exec failed: -errno, with err saying why, and every descriptor of the process as it was.
 */
int upgrade_exec(const struct upgrade *u, const struct upgrade_fd *fds, unsigned int n, char *err,
		 size_t errlen);

#endif /* NFQD_DAEMON_UPGRADE_H */
