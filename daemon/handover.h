/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hand-over: the sockets one nfqd passes to the next, so that a restart, an upgrade or a crash
 * never unbinds a queue (the kernel destroys a queue, and drops what it holds, when its last
 * socket closes).
 *
 *	- Every queue socket, once bound or adopted, goes into systemd's fd store
 *	  (FDSTORE=1, FDNAME=queue-N), and so does the control socket (FDNAME=control).
 *	- At start, the sockets passed in LISTEN_FDS/LISTEN_FDNAMES (by systemd from its store,
 *	  or by an nfqd that re-executed itself) are taken by name: queue-N for a configured
 *	  queue N is adopted instead of bound; control is served instead of binding the path.
 *	- What is left afterwards is released: a queue-M for a queue no longer configured is
 *	  unbound deliberately and removed from the store; unknown names are logged and closed.
 */
#ifndef NFQD_DAEMON_HANDOVER_H
#define NFQD_DAEMON_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The name of the control socket in the fd store and in LISTEN_FDNAMES. */
#define HANDOVER_CONTROL_NAME "control"

/* Longest fd name (systemd's FDNAME limit is 255). */
#define HANDOVER_NAME_MAX 256

struct handover_fd {
	int fd;
	char name[HANDOVER_NAME_MAX];
	bool taken;
};

/* The sockets passed to this process; empty when none were. */
struct handover {
	struct handover_fd *fds;
	unsigned int n;
};

/*
 * Take the sockets of LISTEN_FDS/LISTEN_FDNAMES (when LISTEN_PID is this process) and unset
 * those variables, so that nothing started later inherits them. Returns their number (>= 0),
 * or -errno with err saying why.
 */
int handover_collect(struct handover *h, char *err, size_t errlen);

/*
 * The queue number of a fd name "queue-N" (N decimal, 0..65535, no sign, no leading zero
 * unless N is 0). Returns 0 and *num, or -EINVAL for any other name. Pure.
 */
int handover_queue_num(const char *name, uint16_t *num);

/* The fd name of queue num: "queue-N", into buf of len bytes. */
void handover_queue_name(uint16_t num, char *buf, size_t len);

/*
 * The socket passed under name, marked taken (the caller owns it now); -ENOENT when none was.
 * h may be NULL (nothing passed).
 */
int handover_take(struct handover *h, const char *name);

/*
 * Release every socket not taken: a queue socket for a queue no longer configured is unbound
 * (its packets are dropped by the kernel), closed and removed from the fd store, with a log
 * line; anything else is logged and closed. Then free h's memory. NULL is accepted.
 */
void handover_release(struct handover *h);

struct nfqd_queue;
struct nfqd_queue_config;

/*
 * Open queue qc->num: adopt the socket passed as queue-N (nfqd_queue_adopt()) when there is
 * one that still has the queue bound, else bind it anew (nfqd_queue_open(); an unusable
 * inherited socket is logged and closed first). Either way the socket goes into the fd store.
 * Returns 0, *out and *adopted, or -errno: nfqd_queue_open()'s, or nfqd_queue_adopt()'s when
 * it failed for another reason than the socket's (no privilege...): the socket then stays open
 * and stored, so that the queue stays bound.
 */
int handover_open_queue(struct handover *h, struct nfqd_queue **out,
			const struct nfqd_queue_config *qc, bool *adopted);

/*
 * Forget the sockets not taken, leaving them open and in the store: for a start that fails
 * before every configured queue was opened (a queue it did not reach is not stale).
 */
void handover_forget(struct handover *h);

/*
 * Put fd into the service manager's fd store under name (FDSTORE=1), so that it outlives this
 * process. Nothing happens outside systemd (no NOTIFY_SOCKET). Logs a failure, once per name.
 */
void handover_store(int fd, const char *name);

/* Remove name from the fd store (FDSTOREREMOVE=1): its socket is closed for good. */
void handover_unstore(const char *name);

/*
 * Whether a SIGTERM is part of a restart, so that the queues must be handed over rather than
 * drained and unbound: asks systemd over D-Bus for this process's unit, its job, and the job's
 * type (restart, try-restart, reload-or-restart, reload-or-try-restart: a successor follows;
 * stop, or no job: none). Outside systemd, or when D-Bus cannot be asked, returns false with
 * why saying so (the caller logs it): a stop that drains is the safe default.
 */
bool handover_successor_follows(char *why, size_t whylen);

/*
 * Whether a service manager holds nfqd's sockets in its fd store (a FDSTORE=1 message was sent):
 * an exit that leaves the queues bound is then picked up by the restart that follows it.
 */
bool handover_stored(void);

#endif /* NFQD_DAEMON_HANDOVER_H */
