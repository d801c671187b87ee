/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Privileges: what nfqd keeps once its queues are bound and its sockets open.
 *
 *	- capabilities: CAP_NET_ADMIN alone in the permitted and effective sets (every message
 *	  to nfnetlink, verdicts included, needs it), nothing inheritable or ambient, the
 *	  bounding set reduced to CAP_NET_ADMIN;
 *	- optionally a system user and its primary group, supplementary groups cleared, with
 *	  CAP_NET_ADMIN kept across the switch;
 *	- PR_SET_NO_NEW_PRIVS;
 *	- a seccomp allowlist of the system calls nfqd makes at run time. A call outside it is
 *	  fatal: the SIGSYS handler writes one line (priority err, through the same stderr
 *	  format as every log line) naming the call, then the process dies of SIGSYS.
 */
#ifndef NFQD_DAEMON_PRIVILEGE_H
#define NFQD_DAEMON_PRIVILEGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The user to switch to, resolved before anything is dropped. */
struct privilege_user {
	uid_t uid;
	gid_t gid;
};

/*
 * Look up user name in the user database (NSS may load libraries and open files, so this runs
 * before the seccomp filter). Returns 0 and *u, -ENOENT when there is no such user, or -errno
 * with err holding one line naming the user and what is wrong.
 */
int privilege_user_lookup(const char *name, struct privilege_user *u, char *err, size_t errlen);

/*
 * Install the seccomp allowlist in every thread of the process (TSYNC) and the SIGSYS handler
 * that reports a denied call. Needs CAP_SYS_ADMIN or no_new_privs already set. The filter
 * cannot be removed: it is inherited by every thread created afterwards. Returns 0, or -errno
 * with err holding one line.
 */
int privilege_seccomp_install(char *err, size_t errlen);

/*
 * Whether the last privilege_seccomp_install() went without TSYNC because the kernel lacks it
 * (the seccomp() system call and its thread synchronisation came in Linux 3.17). The filter
 * then binds the calling thread and every thread it creates afterwards: all of nfqd, as the
 * privileges are dropped while the process has one thread.
 */
bool privilege_seccomp_unsynced(void);

/*
 * Drop to the privileges above: switch to user when not NULL, keep only CAP_NET_ADMIN, set
 * no_new_privs, then install the seccomp filter when seccomp is true.
 *
 * Call it from the only thread of the process: credentials and capabilities are per thread in
 * the kernel, and threads created afterwards inherit them from their creator. It refuses
 * (-EBUSY) when the process has other threads. Returns 0, or -errno with err holding one line
 * that names the step that failed; the process is then in an unspecified state and must exit.
 */
int privilege_drop(const struct privilege_user *user, bool seccomp, char *err, size_t errlen);

/*
 * Set in the environment of an upgrade's new image when the image before had loaded nfqd's
 * filter: privilege_drop() then loads no second one (the first cannot be lifted).
 */
#define PRIVILEGE_FILTER_INHERITED_ENV "NFQD_SECCOMP_INHERITED"

/*
 * Before nfqd re-executes itself (upgrade): as a user other than root, put cap_net_admin into
 * the inheritable and ambient sets, so that the new image keeps it (no_new_privs forbids any
 * other way back). The new image's privilege_drop() then skips the user switch (already that
 * user) and the filter (inherited), and empties the inheritable and ambient sets again. As root
 * there is nothing to do. Returns 0, or -errno with err holding one line.
 */
int privilege_keep_across_exec(char *err, size_t errlen);

/* Undo privilege_keep_across_exec() after an exec that failed. */
void privilege_exec_failed(void);

#endif /* NFQD_DAEMON_PRIVILEGE_H */
